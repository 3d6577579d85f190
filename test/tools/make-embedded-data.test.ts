/**
 * tools/make-embedded-data.ts rebuilds data/fashion-mnist-subset byte for byte, writing each file
 * with writeFileAtomic (no temporary file left), and checks its output folder before reading the
 * source: a bad place fails at once with one line, creating nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { changes, snapshot } from '../io/snapshot.js';

const tool = fileURLToPath(new URL('../../tools/make-embedded-data.js', import.meta.url));
const repo = fileURLToPath(new URL('../../..', import.meta.url));
const SUBSET = 'data/fashion-mnist-subset';

test('make-embedded-data rebuilds the embedded subset byte for byte with nothing left beside it', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'descent-embed-'));
  mkdirSync(join(cwd, 'data'));
  const r = spawnSync(process.execPath, [tool], { cwd, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const names = readdirSync(join(repo, SUBSET)).sort();
  assert.deepEqual(readdirSync(join(cwd, SUBSET)).sort(), names);
  for (const n of names) assert.ok(readFileSync(join(cwd, SUBSET, n)).equals(readFileSync(join(repo, SUBSET, n))), `${n} differs`);
  rmSync(cwd, { recursive: true });
});

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
