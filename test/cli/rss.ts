/**
 * Run the built `descent` bin in a child process and measure its peak memory: the child is started
 * with rss-preload.js, which writes `maxrss <kilobytes>` (process.resourceUsage().maxRSS) to stderr
 * as the process exits. stdout goes to /dev/null, so a large output costs the test nothing.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const preload = new URL('./rss-preload.js', import.meta.url).href;

export interface RssRun {
  code: number | null;
  stderr: string;
  /** Peak resident set size of the child, MB. */
  maxRssMB: number;
  seconds: number;
}

export function runWithRss(args: string[], opts: { stdout?: 'ignore' | 'pipe' } = {}): RssRun & { stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', preload, main, ...args], {
    stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const seconds = (performance.now() - t0) / 1000;
  const m = /maxrss (\d+)\s*$/.exec(r.stderr ?? '');
  if (!m) throw new Error(`child reported no maxrss (status ${r.status}, signal ${r.signal}): ${(r.stderr ?? '').slice(-500)}`);
  return {
    code: r.status,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '').replace(/\n?maxrss \d+\s*$/, ''),
    maxRssMB: Number(m[1]) / 1024,
    seconds,
  };
}
