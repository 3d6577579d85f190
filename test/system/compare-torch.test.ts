/**
 * The system suite (`npm run test:system`; `.ci/run` installs what it needs as root): checks that
 * need software besides Node — PyTorch 1.13 (`python3-torch`) and the full Fashion-MNIST
 * (`dataset-fashion-mnist`). `npm test` needs neither.
 *
 * `compare --export-run DIR` on the full data, then `tools/compare_torch.py --from DIR`: PyTorch
 * trains from the exported start (same weights, same batches) and prints descent − PyTorch; on 64
 * images for one epoch the two test accuracies are equal (+0.0000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli } from '../cli/run-cli.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const PYTHON = '/usr/bin/python3';
const FULL = '/usr/share/datasets/fashion-mnist';

test('the system suite has what it needs: PyTorch 1.13 and the full Fashion-MNIST', () => {
  assert.ok(existsSync(FULL), `${FULL} is missing: apt-get install dataset-fashion-mnist`);
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${PYTHON} cannot import torch: apt-get install python3-torch (${r.stderr ?? r.error})`);
  assert.match(r.stdout, /^1\.13\./);
});

test('compare_torch.py --from reads a compare --export-run folder and trains PyTorch from the same start', async () => {
  const root = mkdtempSync(join(tmpdir(), 'descent-system-'));
  const dir = join(root, 'run');
  const small = [
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
  const r = await cli('compare', '--data', FULL, ...small, '--export-run', dir, '--json');
  assert.equal(r.code, 0, r.err);
  const py = spawnSync(PYTHON, [join(repo, 'tools', 'compare_torch.py'), '--from', dir, '--json', join(root, 'torch.json')], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.equal(py.status, 0, py.stderr);
  assert.match(py.stdout, /^sgd .*\+0\.0000$/m);
  assert.match(py.stdout, /^adam .*\+0\.0000$/m);
  const written = JSON.parse(readFileSync(join(root, 'torch.json'), 'utf8'));
  assert.equal(written.results.length, 2, 'one PyTorch row per optimizer in --json OUT');
  rmSync(root, { recursive: true });
});
