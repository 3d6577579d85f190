/**
 * The system suite (npm run test:system): tools/make-embedded-data.ts rebuilds
 * data/fashion-mnist-subset byte for byte from the full Fashion-MNIST in
 * /usr/share/datasets/fashion-mnist (`apt-get install dataset-fashion-mnist`), writing each file with
 * writeFileAtomic (no temporary file left).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
