/**
 * bench/run.ts checks where it will write its results before the first measurement: a bad --out
 * ends the run at once with one line, and nothing is created.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { changes, snapshot } from '../io/snapshot.js';

const bench = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

test('bench --out that cannot hold the results is refused before any measurement', () => {
  const root = mkdtempSync(join(tmpdir(), 'descent-bench-out-'));
  writeFileSync(join(root, 'file'), 'x');
  symlinkSync(join(root, 'file'), join(root, 'link'));
  const before = snapshot(root);
  for (const [out, re] of [
    [join(root, 'file'), /^bench --out .*file: is a regular file, not a folder$/],
    [join(root, 'link'), /^bench --out .*link: is a symbolic link that does not lead to a folder$/],
    [join(root, 'missing', 'deeper'), /^bench --out .*deeper: folder .*missing does not exist$/],
  ] as const) {
    // --peers none: should the check ever let a run through, it measures nothing and ends fast.
    const r = spawnSync(process.execPath, [bench, '--quick', '--only', 'W3', '--peers', 'none', '--out', out], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr.trim(), re);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(changes(before, snapshot(root)), []);
  rmSync(root, { recursive: true });
});
