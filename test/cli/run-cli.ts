/** Run the CLI in-process with captured output: { code, out, err }. */
import { runCli } from '../../src/cli/run.js';
import type { Io } from '../../src/cli/command.js';

export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Io = { out: (s) => stdout.push(s), err: (s) => stderr.push(s), raw: () => {}, tty: false };
  const code = await runCli(args, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n') };
}
