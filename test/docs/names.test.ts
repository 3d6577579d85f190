/**
 * The flat namespace's convention (docs/library.md, "Names"): names that differ only in case are a
 * class (layer or object) and the lower-case op or factory it runs, as PyTorch's nn.ReLU and F.relu;
 * the one pair that breaks it (the `linear` schedule next to the `Linear` layer) and the schedules and
 * 2-D surfaces with generic names have aliases that are the same objects. A new pair differing only
 * in case fails here until it is documented.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lib from '../../src/node.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const guide = readFileSync(join(repo, 'docs/library.md'), 'utf8').replace(/\s+/g, ' ');

test('names that differ only in case are the documented class / op pairs', () => {
  const byLower = new Map<string, string[]>();
  for (const n of Object.keys(lib)) byLower.set(n.toLowerCase(), [...(byLower.get(n.toLowerCase()) ?? []), n]);
  const pairs = [...byLower.values()]
    .filter((v) => v.length > 1)
    .map((v) => v.sort().join(' / '))
    .sort();
  assert.deepEqual(pairs, [
    'AdaptiveAvgPool2d / adaptiveAvgPool2d',
    'AvgPool2d / avgPool2d',
    'Conv2d / conv2d',
    'ConvTranspose1d / convTranspose1d',
    'ConvTranspose2d / convTranspose2d',
    'ELU / elu',
    'Embedding / embedding',
    'GELU / gelu',
    'Hardsigmoid / hardsigmoid',
    'Hardswish / hardswish',
    'Hardtanh / hardtanh',
    'HuberLoss / huberLoss',
    'L1Loss / l1Loss',
    'LeakyReLU / leakyRelu',
    'Linear / linear',
    'LogSoftmax / logSoftmax',
    'MSELoss / mseLoss',
    'MaxPool2d / maxPool2d',
    'Mish / mish',
    'NLLLoss / nllLoss',
    'PReLU / prelu',
    'RMSNorm / rmsNorm',
    'ReLU / relu',
    'ReLU6 / relu6',
    'SELU / selu',
    'SiLU / silu',
    'Sigmoid / sigmoid',
    'SmoothL1Loss / smoothL1Loss',
    'Softmax / softmax',
    'Softplus / softplus',
    'Tanh / tanh',
    'Tensor / tensor',
    'Transpose / transpose',
  ]);
  for (const p of pairs) {
    const [cls, fn] = p.split(' / ');
    assert.ok(
      guide.includes(`\`${cls}\` / \`${fn}\``) || (p === 'Linear / linear' && guide.includes('`linearSchedule`')),
      `docs/library.md names ${p}`,
    );
  }
});

test('the aliases are the same objects as the short names', () => {
  const aliases: [unknown, unknown][] = [
    [lib.linearSchedule, lib.linear],
    [lib.constantSchedule, lib.constant],
    [lib.exponentialSchedule, lib.exponential],
    [lib.cosineSchedule, lib.cosine],
    [lib.polynomialSchedule, lib.polynomial],
    [lib.joinSchedules, lib.join],
    [lib.rosenbrockSurface, lib.rosenbrock],
    [lib.bealeSurface, lib.beale],
    [lib.himmelblauSurface, lib.himmelblau],
    [lib.rastriginSurface, lib.rastrigin],
    [lib.bowlSurface, lib.bowl],
    [lib.saddleSurface, lib.saddle],
    [lib.twowellsSurface, lib.twowells],
  ];
  for (const [alias, name] of aliases) {
    assert.equal(typeof alias, typeof name);
    assert.equal(alias, name);
  }
  for (const a of ['linearSchedule', 'joinSchedules', 'rosenbrockSurface', 'twowellsSurface'])
    assert.ok(guide.includes(`\`${a}\``), `docs/library.md lists ${a}`);
});
