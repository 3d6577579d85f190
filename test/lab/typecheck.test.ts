/**
 * `npm run lab:build`, the README's command, succeeds: `tsc -p lab/tsconfig.json` (the lab and every
 * library module it reaches type-check for the browser, without Node's type declarations), then
 * Vite writes lab/dist (gitignored) with the page and its script.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

test('npm run lab:build type-checks the lab (no Node types) and writes lab/dist', () => {
  const started = Date.now();
  const r = spawnSync('npm', ['run', 'lab:build', '--silent'], { cwd: repo, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const dist = join(repo, 'lab', 'dist');
  assert.ok(existsSync(join(dist, 'index.html')), 'lab/dist/index.html');
  assert.ok(statSync(join(dist, 'index.html')).mtimeMs >= started - 1000, 'written by this run');
  assert.ok(
    readdirSync(join(dist, 'assets')).some((f) => f.endsWith('.js')),
    'the bundled script',
  );
});
