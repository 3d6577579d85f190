/**
 * The system suite (PyTorch 1.13, see compare-torch.test.ts): a ResNet-style spec trained by
 * `descent train` and saved as safetensors loads into PyTorch's module of the same structure (its
 * blocks with attributes `body` and `shortcut`, tools/golden_residual.py) with
 * load_state_dict(strict=True), and gives descent's evaluation logits on 20 test images to 1e-5.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as d from '../../src/node.js';
import { cli } from '../cli/run-cli.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const PYTHON = '/usr/bin/python3';

test("descent's safetensors file of a residual CNN loads strictly into PyTorch's module and gives descent's logits", async () => {
  // the golden CNN case's spec: golden_residual.py's cnn() is its PyTorch module
  const spec: string = JSON.parse(readFileSync(join(repo, 'test/fixtures/residual/residual.json'), 'utf8')).cases[0].spec;
  const dir = mkdtempSync(join(tmpdir(), 'descent-residual-torch-'));
  try {
    const weights = join(dir, 'model.safetensors');
    const t = await cli(
      'train',
      '--model',
      spec,
      '--data',
      'embedded',
      '--limit',
      '500',
      '--epochs',
      '1',
      '--backend',
      'reference',
      '--save',
      weights,
    );
    assert.equal(t.code, 0, t.err);
    const model = d.resolveModel(spec).build({ rng: new d.Rng(0), inputShape: [1, 28, 28], classes: 10 });
    d.loadSafetensorsFile(weights, model);
    const images = d.loadEmbedded().test.slice(0, 20);
    const x = new d.DataLoader(images, { batchSize: 20 }).epoch(0).next().value!.x;
    const logits = d.noGrad(() => model.forward(x, { training: false }));
    writeFileSync(
      join(dir, 'inputs.safetensors'),
      d.encodeSafetensors({
        images: { dtype: 'F32', shape: [...x.shape], data: Float32Array.from(x.data) },
        logits: { dtype: 'F32', shape: [...logits.shape], data: Float32Array.from(logits.data) },
      }),
    );
    const py = spawnSync(PYTHON, [join(repo, 'tools', 'golden_residual.py'), 'check', dir], { cwd: repo, encoding: 'utf8' });
    assert.equal(py.status, 0, py.stdout + py.stderr);
    assert.match(py.stdout, /^OK: PyTorch 1\.13.* loaded 39 tensors .*3\.body\.0\.weight.*5\.shortcut\.1\.num_batches_tracked/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
