/**
 * `descent … | head -1`: when the reader of stdout goes away, every command stops quietly — no
 * message, no stack trace — with exit status 141 (128 + SIGPIPE, like git), soon after, not at the
 * end of the work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Ended {
  status: number | null;
  signal: NodeJS.Signals | null;
  first: string;
  stderr: string;
  ms: number;
}

/** Run the CLI with stdout piped; read up to the first newline (or the first chunk) and close the pipe. */
function readThenClose(args: string[], upTo: 'line' | 'chunk'): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let first = '',
      stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      if (child.stdout.destroyed) return;
      first += b.toString('utf8');
      if (upTo === 'chunk' || first.includes('\n')) {
        first = upTo === 'line' ? first.slice(0, first.indexOf('\n')) : first;
        child.stdout.destroy();
      }
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, first, stderr, ms: performance.now() - t0 }));
  });
}

/**
 * Run the CLI with stdout on a pipe whose reader is already gone, so the very first write fails,
 * whatever the command prints and however fast. POSIX sh makes it: a FIFO opened read-write (fd 3)
 * lets the write end (fd 4) open without blocking; closing fd 3 leaves a FIFO with no reader, where
 * every write gets EPIPE. A process ended by a signal reports 1000 + the signal's number.
 */
function closedFromStart(args: string[], cwd?: string): { status: number | null; stderr: string } {
  const sh = 'd=$(mktemp -d) && mkfifo "$d/p" && exec 3<>"$d/p" 4>"$d/p" && exec 3<&- && rm -r "$d" && exec "$@" >&4 4>&-';
  const r = spawnSync('/bin/sh', ['-c', sh, 'sh', process.execPath, bin, ...args], { encoding: 'utf8', cwd, timeout: 120_000 });
  return { status: r.signal ? 1000 + (constants.signals[r.signal] ?? 0) : r.status, stderr: r.stderr };
}

const TRAIN = ['--data', 'embedded', '--limit', '256', '--test-limit', '64', '--backend', 'reference'];

test('train | head -1 stops at the next epoch, quietly, with status 141', async () => {
  // 2000 epochs take minutes; stopping at the next line takes well under that.
  const r = await readThenClose(['train', ...TRAIN, '--epochs', '2000'], 'line');
  assert.match(r.first, /^data: /);
  assert.equal(r.stderr, '');
  assert.deepEqual([r.status, r.signal], [141, null]);
  assert.ok(r.ms < 60_000, `ended after ${r.ms} ms`);
});

test('schedule | head -1 and surface --json | head -c stop quietly with status 141', async () => {
  const s = await readThenClose(['schedule', '--name', 'exponential:k=0.05', '--steps', '1000000'], 'line');
  assert.equal(s.first, '0\t0.1');
  assert.equal(s.stderr, '');
  assert.deepEqual([s.status, s.signal], [141, null]);
  const f = await readThenClose(['surface', '--fn', 'rosenbrock', '--optimizer', 'adam', '--steps', '100000', '--json'], 'chunk');
  assert.match(f.first, /^\{"fn":"rosenbrock"/);
  assert.equal(f.stderr, '');
  assert.deepEqual([f.status, f.signal], [141, null]);
});

test('every command, help and version included, ends quietly with 141 when stdout is closed from the start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-pipe-'));
  const runs: string[][] = [
    ['--help'],
    ['--version'],
    ['train', '--help'],
    ['train', ...TRAIN, '--epochs', '1'],
    ['train', ...TRAIN, '--epochs', '1', '--json'],
    ['compare', ...TRAIN, '--epochs', '1', '--optimizers', 'sgd,adam'],
    ['surface', '--steps', '50'],
    ['surface', '--steps', '50', '--json'],
    ['schedule', '--name', 'cosine', '--steps', '5'],
    ['augment', '--rows', '2', '--per', '1', '--out', join(dir, 'grid.png')],
  ];
  for (const args of runs) {
    const r = closedFromStart(args, dir);
    assert.equal(r.stderr, '', `${args.join(' ')}: nothing on stderr`);
    assert.equal(r.status, 141, `${args.join(' ')}: status`);
  }
  // The augment grid was written before its one line of output, and nothing else was left.
  assert.deepEqual(readdirSync(dir), ['grid.png']);
  rmSync(dir, { recursive: true });
});

test('a user error still prints its one line when stdout is closed', () => {
  const r = closedFromStart(['train', '--lr', '-1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^descent train: --lr/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('stdout on a full disk (/dev/full) is an error, not a closed pipe: one line, exit 1', () => {
  const full = openSync('/dev/full', 'w');
  try {
    for (const args of [['schedule', '--name', 'cosine', '--steps', '5'], ['surface', '--steps', '10000', '--json'], ['--help']]) {
      const r = spawnSync(process.execPath, [bin, ...args], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, /^descent( \w+)?: cannot write to stdout \(ENOSPC\)\n$/);
    }
  } finally {
    closeSync(full);
  }
});
