/**
 * The process's standard streams as the CLI's Io, and what happens when the reader of stdout goes
 * away (`descent train … | head -1`): the command stops at its next line of output, quietly (no
 * message, no stack trace), and the process exits with status 141 (128 + SIGPIPE), as git and other
 * tools do when the pipe they write to is closed. Any other failure to write stdout (ENOSPC) is an
 * error like any other: one line on stderr, exit 1.
 *
 * A write to a closed pipe fails with EPIPE. Node reports that on the stream synchronously
 * (`stream.errored`) and again as an 'error' event on a later tick: `out` checks the former, so a
 * synchronous loop (a training run) stops at its next line instead of computing on, and
 * `exitQuietlyOnClosedPipes` turns the latter (a large write that failed after being queued, or a
 * closed stderr) into the same quiet exit.
 */
import type { Io } from './command.js';

/** stdout's reader has gone; thrown by `processIo.out`, caught by runCli, never shown. */
export class OutputClosed extends Error {
  override name = 'OutputClosed';
  constructor() {
    super('stdout is closed');
  }
}

/** Exit status when stdout or stderr is closed by its reader: 128 + SIGPIPE (13). */
export const EXIT_CLOSED_PIPE = 141;

const closed = (s: NodeJS.WriteStream): boolean => s.errored !== null || s.destroyed;

/** A failure of stdout other than a closed pipe has been thrown to runCli, which prints it. */
let failureThrown = false;

/** Throw if stdout can no longer be written: OutputClosed for a closed pipe, else one clear Error. */
function checkStdout(): void {
  if (!closed(process.stdout)) return;
  const e = process.stdout.errored as NodeJS.ErrnoException | null;
  if (!e || e.code === 'EPIPE') throw new OutputClosed();
  failureThrown = true;
  throw new Error(`cannot write to stdout (${e.code ?? e.message})`);
}

export const processIo: Io = {
  out: (s) => {
    checkStdout();
    process.stdout.write(`${s}\n`);
    checkStdout();
  },
  err: (s) => {
    if (!closed(process.stderr)) process.stderr.write(`${s}\n`);
  },
  raw: (s) => {
    if (!closed(process.stderr)) process.stderr.write(s);
  },
  tty: Boolean(process.stderr.isTTY),
};

/**
 * Listen for the streams' 'error' events: a closed pipe (EPIPE) ends the process at once with
 * EXIT_CLOSED_PIPE and nothing printed. Another failure of stdout (a full disk: ENOSPC) is one line
 * on stderr and exit 1 — printed by runCli when `out` threw it, here when the write failed later.
 */
export function exitQuietlyOnClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT_CLOSED_PIPE);
      if (stream !== process.stdout || failureThrown) return;
      if (!closed(process.stderr)) process.stderr.write(`descent: cannot write to stdout (${e.code ?? e.message})\n`);
      process.exit(1);
    });
  }
}
