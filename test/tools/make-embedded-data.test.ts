/**
 * tools/make-embedded-data.ts checks its output folder before reading the source: a bad place fails
 * at once with one line, creating nothing. That it rebuilds data/fashion-mnist-subset byte for byte
 * from the full data set is test/system/make-embedded-data.test.ts (npm run test:system).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { changes, snapshot } from '../io/snapshot.js';

const tool = fileURLToPath(new URL('../../tools/make-embedded-data.js', import.meta.url));

test('make-embedded-data refuses an output folder it cannot use before reading the source', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'descent-embed-'));
  writeFileSync(join(cwd, 'data'), 'a file where the folder should be');
  const before = snapshot(cwd);
  const r = spawnSync(process.execPath, [tool, join(cwd, 'no-such-source')], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^make-embedded-data: output folder .*fashion-mnist-subset: .*data is not a folder\n$/);
  assert.deepEqual(changes(before, snapshot(cwd)), []);
  rmSync(cwd, { recursive: true });
});
