/**
 * compare --export-run DIR: DIR is checked before training (a folder with files is refused, not
 * mixed with the new export), the export is built beside DIR and renamed into place, so a failed
 * or interrupted export never appears at DIR. That tools/compare_torch.py --from DIR reads it needs
 * PyTorch and the full data set: test/system/compare-torch.test.ts (npm run test:system).
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli } from './run-cli.js';
import { changes, snapshot } from '../io/snapshot.js';

const SMALL = [
  '--limit',
  '64',
  '--test-limit',
  '32',
  '--epochs',
  '1',
  '--batch-size',
  '32',
  '--backend',
  'reference',
  '--optimizers',
  'sgd,adam',
];

test('--export-run into a folder with files is refused in one line before training, leaving it as it was', async () => {
  const root = mkdtempSync(join(tmpdir(), 'descent-export-'));
  const dir = join(root, 'run');
  mkdirSync(join(dir, 'init'), { recursive: true });
  writeFileSync(join(dir, 'init', 'stale.f32'), 'from an earlier run');
  writeFileSync(join(dir, 'manifest.json'), '{"stale": true}');
  const before = snapshot(root);
  const r = await cli('compare', '--data', 'embedded', ...SMALL, '--export-run', dir);
  assert.equal(r.code, 1);
  assert.equal(r.err, `descent compare: --export-run ${dir}: folder is not empty (2 entries, e.g. init); give a new or empty folder`);
  assert.equal(r.out, '', 'nothing trained');
  assert.deepEqual(changes(before, snapshot(root)), []);
  rmSync(root, { recursive: true });
});

test('--export-run below a file or an unreachable folder is refused in one line before training', async () => {
  const root = mkdtempSync(join(tmpdir(), 'descent-export-'));
  writeFileSync(join(root, 'file'), '');
  const before = snapshot(root);
  const r = await cli('compare', '--data', 'embedded', ...SMALL, '--export-run', join(root, 'file', 'run'));
  assert.equal(r.code, 1);
  assert.match(r.err, /^descent compare: --export-run .*file\/run: .*file is not a folder$/);
  assert.equal(r.out, '');
  assert.deepEqual(changes(before, snapshot(root)), []);
  rmSync(root, { recursive: true });
});

test('a failed export leaves neither DIR nor a temporary folder, and says why in one line', async () => {
  const root = mkdtempSync(join(tmpdir(), 'descent-export-'));
  const dir = join(root, 'runs', 's1');
  const real = fs.writeSync;
  let calls = 0;
  type Fn = (...args: unknown[]) => unknown;
  const m = mock.method(fs as unknown as Record<string, Fn>, 'writeSync', ((...args: Parameters<typeof fs.writeSync>) => {
    if (++calls === 3) throw Object.assign(new Error('ENOSPC: simulated'), { code: 'ENOSPC' });
    return (real as Fn)(...args);
  }) as Fn);
  syncBuiltinESMExports();
  let r;
  try {
    r = await cli('compare', '--data', 'embedded', ...SMALL, '--export-run', dir, '--json');
  } finally {
    m.mock.restore();
    syncBuiltinESMExports();
  }
  assert.ok(calls >= 3, 'the export was being written');
  assert.equal(r.code, 1);
  assert.match(r.err, /^descent compare: --export-run .*: cannot be written \(ENOSPC\)$/);
  assert.equal(existsSync(dir), false, 'no partial export at DIR');
  assert.deepEqual(readdirSync(join(root, 'runs')), [], 'no temporary folder left');
  rmSync(root, { recursive: true });
});

test('an export into a new folder (parents created) or an empty one is complete', async () => {
  const root = mkdtempSync(join(tmpdir(), 'descent-export-'));
  const empty = join(root, 'empty');
  mkdirSync(empty);
  for (const dir of [join(root, 'runs', 's1'), empty]) {
    const r = await cli('compare', '--data', 'embedded', ...SMALL, '--export-run', dir, '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(readdirSync(dir).sort(), ['init', 'manifest.json', 'order', 'results.json']);
  }
  assert.deepEqual(readdirSync(join(root, 'runs')), ['s1'], 'no temporary folder left');
  rmSync(root, { recursive: true });
});

test('an export killed at any moment is either complete at DIR or absent from it', async () => {
  const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const args = [bin, 'compare', '--data', 'embedded', ...SMALL, '--json'];
  const root = mkdtempSync(join(tmpdir(), 'descent-export-kill-'));
  const run = (dir: string, killAfterMs?: number): Promise<number> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, [...args, '--export-run', dir], { stdio: 'ignore' });
      const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      });
    });
  const full = await run(join(root, 'whole'));
  assert.deepEqual(readdirSync(join(root, 'whole')).sort(), ['init', 'manifest.json', 'order', 'results.json']);
  const outcomes: string[] = [];
  for (let k = 1; k <= 8; k++) {
    const dir = join(root, `k${k}`);
    await run(dir, (full * k) / 8);
    if (!existsSync(dir)) {
      outcomes.push('absent');
      continue;
    }
    assert.deepEqual(readdirSync(dir).sort(), ['init', 'manifest.json', 'order', 'results.json'], `kill ${k}/8: complete`);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    assert.deepEqual(
      manifest.optimizers.map((o: { key: string }) => o.key),
      ['sgd', 'adam'],
      `kill ${k}/8: every run in the manifest`,
    );
    assert.equal(results.results.length, 2, `kill ${k}/8: every run in the results`);
    outcomes.push('complete');
  }
  // Only the runs' folders and, for a kill during the last milliseconds of writing, a temporary folder.
  for (const name of readdirSync(root)) assert.match(name, /^(whole|k\d|\.k\d\.[0-9a-f]{12}\.tmp)$/);
  assert.ok(outcomes.includes('absent'), `some kills came before the export: ${outcomes.join(', ')}`);
  rmSync(root, { recursive: true });
});
