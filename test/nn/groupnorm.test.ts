/**
 * GroupNorm against PyTorch (fixtures from tools/golden_pool_norm.py) on the reference and wasm
 * backends, float32 and float64: one group, one group per channel and in between, on [N, C] up to
 * [N, C, D, H, W]; second derivatives; its relation to LayerNorm; the spec token; errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose, gradCheck, randT } from '../helpers.js';

await initWasm({ threads: 2 });
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/poolnorm/group_norm.json', import.meta.url), 'utf8'));

test('GroupNorm equals PyTorch: output and the gradients of the input, weight and bias (reference and wasm, float32 and float64)', () => {
  assert.ok(F.cases.length >= 10);
  assert.ok(F.cases.some((c: { groups: number; channels: number }) => c.groups === c.channels));
  assert.ok(F.cases.some((c: { groups: number }) => c.groups === 1));
  try {
    for (const backend of ['reference', 'wasm']) {
      d.setBackend(backend);
      for (const c of F.cases) {
        const dtype = c.dtype as d.DType;
        const tol = dtype === 'float64' ? 1e-10 : 2e-5;
        const what = `${backend} GroupNorm(${c.groups}, ${c.channels}) on [${c.shape}] ${dtype}`;
        const m = new d.GroupNorm(c.groups, c.channels, { eps: c.eps, affine: c.affine, dtype });
        assert.deepEqual(Object.keys(m.stateDict()), Object.keys(c.state), `${what}: state names`);
        m.loadStateDict(c.state);
        const x = d.fromData(c.x, c.shape, { dtype, requiresGrad: true });
        const y = m.forward(x);
        assert.equal(y.dtype, dtype);
        assertClose(y.data, c.y, tol, `${what} y`);
        d.backward(y, { gradient: d.fromData(c.gy, c.shape, { dtype }) });
        assertClose(x.grad!.data, c.gx, tol * 10, `${what} dx`);
        if (c.affine) {
          assertClose(m.weight!.grad!.data, c.gweight, tol * 10, `${what} dweight`);
          assertClose(m.bias!.grad!.data, c.gbias, tol * 10, `${what} dbias`);
        }
      }
    }
  } finally {
    d.setBackend('wasm');
  }
});

test('GroupNorm: second derivatives by central differences; one group is LayerNorm over [C, *] without affine; a batch of one; the same in training and evaluation', () => {
  const m = new d.GroupNorm(2, 4, { dtype: 'float64' });
  m.weight!.data.set([1.5, -0.5, 0.75, 2]);
  m.bias!.data.set([0.1, 0.2, -0.3, 0]);
  gradCheck((x) => d.sum(d.square(d.grad(d.sum(d.pow(m.forward(x), 3)), [x], { createGraph: true })[0]!)), [randT([2, 4, 3], 2)]);
  const x = d.cast(d.randn([3, 4, 2, 5], new d.Rng(1)), 'float64');
  const one = new d.GroupNorm(1, 4, { affine: false, dtype: 'float64' }).forward(x);
  assertClose(one.data, new d.LayerNorm([4, 2, 5], { elementwiseAffine: false, dtype: 'float64' }).forward(x).data, 1e-12, 'G = 1');
  const single = m.forward(d.narrow(x, 0, 1, 1));
  assertClose(single.data, d.narrow(m.forward(x), 0, 1, 1).data, 1e-14, 'a sample alone and in a batch');
  assert.deepEqual(Array.from((m as d.Module).forward(x, { training: true }).data), Array.from(m.forward(x).data));
});

test('the spec: groupnorm:G normalises the channels of images and of flat features; errors name expected and actual', () => {
  const { model } = d.buildFromLayers(
    d.parseModelSpec('conv:6:3,groupnorm:3,relu,flatten,linear:8,groupnorm:2:eps=0.001:affine=false,linear'),
    {
      rng: new d.Rng(1),
      inputShape: [1, 6, 6],
      classes: 3,
    },
  );
  const [, a, , , , b] = model.layers as d.GroupNorm[];
  assert.ok(a instanceof d.GroupNorm && a.numGroups === 3 && a.numChannels === 6 && a.eps === 1e-5 && a.weight !== null);
  assert.ok(b instanceof d.GroupNorm && b.numGroups === 2 && b.numChannels === 8 && b.eps === 0.001 && b.weight === null);
  assert.deepEqual(model.forward(d.zeros([5, 1, 6, 6])).shape, [5, 3]);
  assert.equal(d.formatModelSpec(d.parseModelSpec('groupnorm:groups=4:affine=false')), 'groupnorm:4:affine=false');
  assert.throws(() => d.parseModelSpec('groupnorm'), /layer 0 \(groupnorm\): groupnorm needs groups; usage: groupnorm:groups/);
  assert.throws(
    () =>
      d.buildFromLayers(d.parseModelSpec('conv:6:3,groupnorm:4,flatten,linear'), { rng: new d.Rng(1), inputShape: [1, 6, 6], classes: 3 }),
    /layer 1 \(groupnorm:4\): groups=4 must divide the channels \(6, the first dimension of \[6, 4, 4\]\)/,
  );
});

test('GroupNorm: errors name the layer with expected and actual; parameters are PyTorch-named', () => {
  assert.throws(() => new d.GroupNorm(4, 6), /GroupNorm: numChannels \(6\) must be divisible by numGroups \(4\)/);
  assert.throws(() => new d.GroupNorm(0, 6), /GroupNorm: numGroups must be a positive integer, got 0/);
  assert.throws(() => new d.GroupNorm(2, 6, { eps: -1 }), /GroupNorm: invalid eps -1; expected ≥ 0/);
  assert.throws(() => new d.GroupNorm(2, 6).forward(d.zeros([2, 4, 3])), /GroupNorm\(2, 6\): expected input \[N, 6, \*\], got \[2, 4, 3\]/);
  assert.throws(() => new d.GroupNorm(2, 6).forward(d.zeros([6])), /expected input \[N, 6, \*\], got \[6\]/);
  assert.deepEqual(Object.keys(new d.GroupNorm(2, 6).stateDict()), ['weight', 'bias']);
  assert.deepEqual(Object.keys(new d.GroupNorm(2, 6, { affine: false }).stateDict()), []);
});
