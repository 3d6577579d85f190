/**
 * descent's command line. Every user error (bad option, bad shape, bad data file) ends as one line on
 * stderr and a non-zero exit, never a stack trace (set DESCENT_DEBUG=1 to see one).
 */
import { commands } from './commands/index.js';
import { helpText, parseArgs, UsageError } from './args.js';
import type { Io } from './command.js';
import { clip, clipMessage, didYouMean, findName } from '../util/names.js';
import { EXIT_CLOSED_PIPE, OutputClosed } from './stdio.js';

export { processIo } from './stdio.js';

const VERSION = '0.1.0';

function mainHelp(): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    `descent ${VERSION} — train neural networks with every optimiser of the lecture, equal to PyTorch.`,
    '',
    'Usage: descent <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run "descent <command> --help" for the options of a command.',
  ].join('\n');
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(VERSION);
    return 0;
  }
  const cmd = commands.find(
    (c) =>
      c.name ===
      findName(
        name,
        commands.map((k) => k.name),
      ),
  );
  if (!cmd) {
    io.err(
      `descent: unknown command "${clip(name)}"; expected one of ${commands.map((c) => c.name).join(', ')}${didYouMean(
        name,
        commands.map((c) => c.name),
      )} (see descent --help)`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(helpText(cmd.name, cmd.summary, cmd.options, cmd.helpExtra, cmd.positional));
    return 0;
  }
  try {
    const opts = parseArgs(rest, cmd.options, cmd.name, cmd.positional !== undefined);
    const code = await cmd.run(opts, io);
    return code ?? 0;
  } catch (e) {
    if (e instanceof OutputClosed) return EXIT_CLOSED_PIPE; // the reader of stdout has gone: stop quietly
    const err = e as Error;
    if (process.env.DESCENT_DEBUG) io.err(err.stack ?? String(err));
    // Every error line passes here: user values echoed in it are clipped (src/util/names.ts).
    else io.err(`descent ${cmd.name}: ${clipMessage(err.message)}`);
    return err instanceof UsageError ? 2 : 1;
  }
}
