/** What a CLI command is: its options (which drive parsing and --help) and its run function. */
import type { OptSpec, Parsed } from './args.js';

export interface Io {
  out: (s: string) => void; // stdout, a line at a time (newline added)
  err: (s: string) => void; // stderr
  /** stderr is a terminal: progress bars are drawn there. */
  tty: boolean;
  /** Write raw text to stderr (no newline), for progress bars. */
  raw: (s: string) => void;
}

export interface Command {
  name: string;
  summary: string;
  options: OptSpec[];
  /** Extra --help text after the option list (examples, value syntax). */
  helpExtra?: string;
  /** Metavar of the arguments that are not options (e.g. "IMAGE..."); absent: none are taken. */
  positional?: string;
  run(opts: Parsed, io: Io): Promise<number | void>;
}
