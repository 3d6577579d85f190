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

/** The last JSON record of a `--json` output without its timings (seconds, samplesPerSec), which equal runs share. */
export function lastRecord(out: string): Record<string, unknown> {
  const { seconds: _s, samplesPerSec: _r, ...rest } = JSON.parse(out.trim().split('\n').pop() as string);
  return rest;
}

/**
 * `descent train ARGS --epochs 3` run whole, and run for 1 epoch into a checkpoint folder `ck` then
 * resumed to 3: the last JSON record of each without its timings (seconds, samplesPerSec), which a
 * bit-for-bit resume makes equal.
 */
export async function wholeAndResumed(
  args: readonly string[],
  ck: string,
): Promise<{ whole: Record<string, unknown>; resumed: Record<string, unknown> }> {
  const end = (r: { code: number; out: string; err: string }) => {
    if (r.code !== 0) throw new Error(`descent train exited ${r.code}: ${r.err}`);
    return lastRecord(r.out);
  };
  const whole = end(await cli('train', ...args, '--epochs', '3', '--json'));
  end(await cli('train', ...args, '--epochs', '1', '--checkpoint-dir', ck, '--json'));
  return { whole, resumed: end(await cli('train', '--resume', ck, '--epochs', '3', '--json')) };
}
