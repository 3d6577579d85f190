/**
 * AdaptiveAvgPool2d and adaptiveAvgPool2d against PyTorch (fixtures from tools/golden_pool_norm.py)
 * on the reference and wasm backends, float32 and float64: bins that divide the input and bins that
 * overlap, an output larger than the input, global average pooling, [C, H, W] input and a null side;
 * second derivatives; the ops each case runs; the spec tokens; errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { adaptiveBins } from '../../src/autograd/adaptive.js';
import { specInput } from '../../src/train/spec.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose, gradCheck, randT } from '../helpers.js';

await initWasm({ threads: 2 });
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/poolnorm/adaptive_avg_pool.json', import.meta.url), 'utf8'));

/** The names of the ops in y's graph. */
function opsOf(y: d.Tensor): Set<string> {
  const seen = new Set<string>();
  const walk = (t: d.Tensor) => {
    if (!t.node) return;
    seen.add(t.node.op);
    t.node.inputs.forEach(walk);
  };
  walk(y);
  return seen;
}

test('AdaptiveAvgPool2d equals PyTorch: output and input gradient (reference and wasm, float32 and float64)', () => {
  assert.ok(F.cases.length >= 10);
  try {
    for (const backend of ['reference', 'wasm']) {
      d.setBackend(backend);
      for (const c of F.cases) {
        const dtype = c.dtype as d.DType;
        const tol = dtype === 'float64' ? 1e-12 : 1e-6;
        const what = `${backend} AdaptiveAvgPool2d(${JSON.stringify(c.outputSize)}) on [${c.shape}] ${dtype}`;
        for (const pool of [
          (x: d.Tensor) => new d.AdaptiveAvgPool2d(c.outputSize).forward(x),
          (x: d.Tensor) => d.adaptiveAvgPool2d(x, c.outputSize),
        ]) {
          const x = d.fromData(c.x, c.shape, { dtype, requiresGrad: true });
          const y = pool(x);
          assert.deepEqual(y.shape, c.outShape, `${what} shape`);
          assert.equal(y.dtype, dtype);
          assertClose(y.data, c.y, tol, `${what} y`);
          d.backward(y, { gradient: d.fromData(c.gy, c.outShape, { dtype }) });
          assertClose(x.grad!.data, c.gx, tol, `${what} dx`);
        }
      }
    }
  } finally {
    d.setBackend('wasm');
  }
});

test("adaptive bins are PyTorch's [⌊i·n/o⌋, ⌈(i+1)·n/o⌉): overlapping when o does not divide n, repeated when o > n", () => {
  // 7 into 3: [0, 7/3) → [0, 3), [7/3, 14/3) → [2, 5), [14/3, 7) → [4, 7)
  assert.deepEqual(adaptiveBins(7, 3), [
    [0, 3],
    [2, 5],
    [4, 7],
  ]);
  // 3 into 5: steps of 0.6 → [0, 1), [0, 2), [1, 2), [1, 3), [2, 3)
  assert.deepEqual(adaptiveBins(3, 5), [
    [0, 1],
    [0, 2],
    [1, 2],
    [1, 3],
    [2, 3],
  ]);
  assert.deepEqual(adaptiveBins(6, 3), [
    [0, 2],
    [2, 4],
    [4, 6],
  ]);
  // by hand: x = 0..34 as [1, 1, 7, 5] into 3×2; rows [2, 5) and columns [2, 5) (5 into 2: [0, 3), [2, 5)) hold
  // 12, 13, 14 / 17, 18, 19 / 22, 23, 24, whose mean is 18
  const y = d.adaptiveAvgPool2d(d.arange(35).reshape([1, 1, 7, 5]), [3, 2]);
  assert.equal(y.data[3], 18);
});

test('global average pooling is a mean over H and W, divisible bins are avgPool2d, the rest one mm and a broadcast product', () => {
  const x = randT([2, 3, 6, 4], 5);
  const global = opsOf(d.adaptiveAvgPool2d(x, 1));
  assert.ok(global.has('sum') && !global.has('mm') && !global.has('avgPool2d'), [...global].join(' '));
  assert.ok(opsOf(d.adaptiveAvgPool2d(x, [3, 2])).has('avgPool2d'));
  const general = opsOf(d.adaptiveAvgPool2d(x, [4, 3]));
  assert.ok(general.has('mm') && !general.has('avgPool2d'), [...general].join(' '));
  // the three forms agree where two apply: 1×1 is also a divisible case
  assertClose(d.adaptiveAvgPool2d(x, 1).data, d.avgPool2d(x, [6, 4]).data, 1e-15, '1×1 = avgPool2d(H×W)');
});

test('AdaptiveAvgPool2d: first and second derivatives by central differences, each form', () => {
  for (const size of [1, [2, 2], [3, 2], [4, 7]] as d.AdaptiveSize[]) {
    gradCheck((x) => d.adaptiveAvgPool2d(x, size), [randT([2, 2, 4, 5], 6)]);
    gradCheck(
      (x) => {
        const [gx] = d.grad(d.sum(d.pow(d.adaptiveAvgPool2d(x, size), 3)), [x], { createGraph: true });
        return d.sum(d.mul(gx!, gx!));
      },
      [randT([1, 2, 4, 5], 7)],
    );
  }
});

test('the spec: adaptiveavgpool[:out] and gap build AdaptiveAvgPool2d and infer its shape; errors name expected and actual', () => {
  const layers = d.parseModelSpec('conv:4:3,relu,adaptiveavgpool:3x2,conv:2:1,gap,flatten,linear');
  assert.equal(d.formatModelSpec(layers), 'conv:4:3,relu,adaptiveavgpool:3x2,conv:2:1,adaptiveavgpool,flatten,linear');
  assert.equal(specInput(d.parseModelSpec('adaptiveavgpool:2,flatten,linear')), 'image');
  const { model, shapes } = d.buildFromLayers(layers, { rng: new d.Rng(1), inputShape: [1, 9, 7], classes: 3 });
  assert.deepEqual(shapes.slice(2, 5), [
    [4, 3, 2],
    [2, 3, 2],
    [2, 1, 1],
  ]);
  const gap = model.layers[4] as d.AdaptiveAvgPool2d;
  assert.ok(gap instanceof d.AdaptiveAvgPool2d);
  assert.deepEqual(gap.outputSize, [1, 1]);
  assert.deepEqual(model.forward(d.zeros([5, 1, 9, 7])).shape, [5, 3]);
  // larger than the input, as PyTorch allows
  assert.deepEqual(
    d.buildFromLayers(d.parseModelSpec('adaptiveavgpool:6x5,flatten,linear'), { rng: new d.Rng(1), inputShape: [2, 3, 2], classes: 4 })
      .shapes[0],
    [2, 6, 5],
  );
  assert.throws(() => d.parseModelSpec('adaptiveavgpool:0'), /layer 0 \(adaptiveavgpool:0\): out: expected an integer ≥ 1 or HxW, got "0"/);
  assert.throws(
    () => d.buildFromLayers(d.parseModelSpec('flatten,gap,linear'), { rng: new d.Rng(1), inputShape: [1, 4, 4], classes: 2 }),
    /layer 1 \(adaptiveavgpool\): takes images \[C, H, W\] but gets \[16\]/,
  );
});

test('AdaptiveAvgPool2d: a null side keeps the input size; errors name the layer with expected and actual', () => {
  assert.deepEqual(new d.AdaptiveAvgPool2d([null, 2]).forward(d.zeros([1, 2, 5, 7])).shape, [1, 2, 5, 2]);
  assert.equal(new d.AdaptiveAvgPool2d([null, 2]).describe(), 'AdaptiveAvgPool2d(H×2)');
  assert.throws(
    () => new d.AdaptiveAvgPool2d([3, 2]).forward(d.zeros([4, 6])),
    /AdaptiveAvgPool2d\(3×2\): expected input \[N, C, H, W\] or \[C, H, W\] with H, W ≥ 1, got \[4, 6\]/,
  );
  assert.throws(
    () => new d.AdaptiveAvgPool2d(0),
    /AdaptiveAvgPool2d: outputSize must be an integer ≥ 1 or a pair of them \(null keeps the input's size\), got 0/,
  );
  assert.throws(() => new d.AdaptiveAvgPool2d([2, 1.5]), /got \[2,1\.5\]/);
  assert.throws(() => d.adaptiveAvgPool2d(d.zeros([1, 1, 2, 2]), [2] as never), /adaptiveAvgPool2d: outputSize .* got \[2\]/);
});
