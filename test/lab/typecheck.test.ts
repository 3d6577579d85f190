/**
 * `npm run lab:build` starts with `tsc -p lab/tsconfig.json`: the lab and every library module it
 * reaches must type-check for the browser, without Node's type declarations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

test('the lab type-checks with lab/tsconfig.json (no Node types)', () => {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(repo, 'lab', 'tsconfig.json')], { cwd: repo, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
