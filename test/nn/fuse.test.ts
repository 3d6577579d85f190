/**
 * fuse(model): the fused model computes what the unfused one computes (values and gradients,
 * bit for bit on the reference backend in float64), holds the same parameter tensors under the
 * same names, and leaves alone what it must not fuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Conv2d,
  Conv2dReLU,
  Conv2dReLUMaxPool,
  Dropout,
  Flatten,
  GELU,
  Linear,
  LinearGELU,
  LinearReLU,
  LinearSiLU,
  MaxPool2d,
  ReLU,
  Rng,
  Sequential,
  SiLU,
  Tanh,
  Tensor,
  crossEntropy,
  fuse,
  grad,
  mul,
  setBackend,
  sum,
  summary,
  type Module,
} from '../../src/index.js';
import { assertClose, floatSource } from '../helpers.js';

setBackend('reference');

const cnn = (rng: Rng) =>
  new Sequential(
    new Conv2d(1, 3, 3, { padding: 1, rng, dtype: 'float64' }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(3, 4, 3, { rng, dtype: 'float64' }),
    new ReLU(),
    new Flatten(),
    new Linear(4 * 2 * 2, 6, { rng, dtype: 'float64' }),
    new ReLU(),
    new Dropout(0.5),
    new Linear(6, 3, { rng, dtype: 'float64' }),
  );

function lossAndGrads(model: Module, x: Tensor, y: Int32Array): { loss: number; grads: number[][] } {
  for (const p of model.parameters()) p.grad = null;
  const l = crossEntropy(model.forward(x, { training: true, rng: new Rng(5) }), y);
  l.backward();
  return { loss: l.item(), grads: model.parameters().map((p) => Array.from(p.grad!.data)) };
}

test("fuse: Conv2d+ReLU+MaxPool2d, Conv2d+ReLU and Linear+ReLU become fused layers under their first part's name", () => {
  const model = cnn(new Rng(1));
  const fused = fuse(model) as Sequential;
  assert.deepEqual(fused.names, ['0', '3', '5', '6', '8', '9']);
  assert.ok(fused.layers[0] instanceof Conv2dReLUMaxPool && fused.layers[1] instanceof Conv2dReLU && fused.layers[3] instanceof LinearReLU);
  assert.ok(fused.layers[2] instanceof Flatten && fused.layers[4] instanceof Dropout && fused.layers[5] instanceof Linear);
  assert.deepEqual(
    fused.namedParameters().map(([n]) => n),
    model.namedParameters().map(([n]) => n),
    'the same names',
  );
  fused.namedParameters().forEach(([, p], i) => assert.equal(p, model.parameters()[i], 'the same tensors'));
  assert.deepEqual(Object.keys(fused.stateDict()), Object.keys(model.stateDict()));
  assert.equal(fused.layers[0].describe(), 'Conv2d(1→3, 3×3, padding 1×1)+ReLU+MaxPool2d(2×2)');
});

test('fuse: the fused model gives the same loss and the same gradients as the unfused one (float64, exactly)', () => {
  const model = cnn(new Rng(2));
  const rnd = floatSource(3);
  const x = new Tensor(Float64Array.from(rnd(5 * 8 * 8)), [5, 1, 8, 8]);
  const y = Int32Array.from([0, 1, 2, 1, 0]);
  const a = lossAndGrads(model, x, y);
  const b = lossAndGrads(fuse(model), x, y);
  assert.equal(b.loss, a.loss);
  assert.deepEqual(b.grads, a.grads);
  assert.ok(
    a.grads.every((g) => g.some((v) => v !== 0)),
    'every parameter got a gradient',
  );
});

test('fuse: an MLP, a nested Sequential, and what stays as it is', () => {
  const rng = new Rng(4);
  const inner = new Sequential(new Linear(4, 4, { rng }), new ReLU());
  const model = new Sequential(new Linear(3, 4, { rng }), new Tanh(), inner, new Linear(4, 2, { rng }), new ReLU());
  const fused = fuse(model) as Sequential;
  assert.ok(fused.layers[0] instanceof Linear && fused.layers[1] instanceof Tanh, 'Linear + Tanh is not fused');
  assert.ok((fused.layers[2] as Sequential).layers[0] instanceof LinearReLU, 'inside a nested Sequential');
  assert.ok(fused.layers[3] instanceof LinearReLU);
  assert.deepEqual(
    fused.namedParameters().map(([n]) => n),
    model.namedParameters().map(([n]) => n),
  );
  const x = new Tensor(floatSource(8)(6), [2, 3]);
  assert.deepEqual(Array.from(fused.forward(x).data), Array.from(model.forward(x).data));
  // a subclass may override forward: left alone; a model with nothing to fuse is returned as it is
  class MyLinear extends Linear {}
  const own = new Sequential(new MyLinear(3, 2, { rng }), new ReLU());
  assert.equal(fuse(own), own);
  const lin = new Linear(3, 2, { rng });
  assert.equal(fuse(lin), lin);
});

test('fused layers name the part an error comes from, and Sequential the layer', () => {
  const fused = fuse(new Sequential(new Linear(784, 10), new ReLU())) as Sequential;
  assert.throws(
    () => fused.forward(new Tensor(new Float32Array(400), [4, 100])),
    /layer 0 \(Linear\(784→10\)\+ReLU\): Linear\(784→10\): expected input \[\*, 784\], got \[4, 100\]$/,
  );
  assert.throws(
    () => new LinearReLU(new Linear(5, 2)).forward(new Tensor(new Float32Array(3), [1, 3])),
    /Linear\(5→2\): expected input \[\*, 5\]/,
  );
  assert.throws(
    () =>
      Sequential.named([
        ['a', new ReLU()],
        ['a', new ReLU()],
      ]),
    /two layers are named "a"/,
  );
});

/** Linear + GELU / GELU('tanh') / SiLU MLPs in float64, with and without biases. */
const smoothMlp = (act: () => Module, bias: boolean, rng: Rng) =>
  new Sequential(
    new Linear(5, 7, { rng, dtype: 'float64', bias }),
    act(),
    new Linear(7, 6, { rng, dtype: 'float64', bias }),
    act(),
    new Linear(6, 3, { rng, dtype: 'float64' }),
  );
const SMOOTH: [string, () => Module, new (...a: never[]) => Module, string][] = [
  ['GELU', () => new GELU(), LinearGELU, "Linear(5→7)+GELU(approximate='none')"],
  ['GELU tanh', () => new GELU('tanh'), LinearGELU, "Linear(5→7)+GELU(approximate='tanh')"],
  ['SiLU', () => new SiLU(), LinearSiLU, 'Linear(5→7)+SiLU'],
];

test('fuse: Linear+GELU (either form) becomes LinearGELU, Linear+SiLU LinearSiLU; describe() and summary() name them', () => {
  for (const [name, act, cls, described] of SMOOTH) {
    const model = smoothMlp(act, true, new Rng(1));
    const fused = fuse(model) as Sequential;
    assert.deepEqual(fused.names, ['0', '2', '4'], name);
    assert.ok(fused.layers[0] instanceof cls && fused.layers[1] instanceof cls && fused.layers[2] instanceof Linear, name);
    assert.equal(fused.layers[0].describe(), described);
    fused.namedParameters().forEach(([n, p], i) => {
      assert.equal(n, model.namedParameters()[i][0], `${name}: the same names`);
      assert.equal(p, model.parameters()[i], `${name}: the same tensors`);
    });
    const rows = summary(fused, [5]).layers;
    assert.deepEqual(
      rows.map((r) => [r.name, r.layer, r.outputShape, r.params]),
      [
        ['0', described, [7], 42],
        ['2', described.replace('5→7', '7→6'), [6], 48],
        ['4', 'Linear(6→3)', [3], 21],
      ],
      name,
    );
  }
});

test('fuse: LinearGELU and LinearSiLU give the loss, gradients and second derivatives of the unfused model (float64, exactly)', () => {
  const rnd = floatSource(11);
  const x = new Tensor(Float64Array.from(rnd(4 * 5, -3, 3)), [4, 5]);
  const y = Int32Array.from([0, 2, 1, 2]);
  for (const [name, act] of SMOOTH)
    for (const bias of [true, false]) {
      const model = smoothMlp(act, bias, new Rng(2));
      const fused = fuse(model);
      const a = lossAndGrads(model, x, y);
      const b = lossAndGrads(fused, x, y);
      assert.equal(b.loss, a.loss, `${name} bias=${bias}`);
      assert.deepEqual(b.grads, a.grads, `${name} bias=${bias}`);
      // createGraph: the gradient's own gradient (here of Σ gᵢ·vᵢ, a Hessian-vector product) reaches the first layer's weight
      // through GELU″ / SiLU″; the fused op's recorded backward recomputes z as an op of its own, so the engine adds the
      // same terms in another order (a float64 rounding apart)
      const hvp = (m: Module) => {
        const ps = m.parameters();
        const gs = grad(crossEntropy(m.forward(x), y), ps, { createGraph: true });
        const dot = gs.reduce<Tensor | null>((acc, g, i) => {
          const t = sum(mul(g!, new Tensor(Float64Array.from(floatSource(20 + i)(ps[i].size)), ps[i].shape)));
          return acc ? acc.add(t) : t;
        }, null)!;
        return grad(dot, ps).map((g) => Array.from(g!.data));
      };
      const ha = hvp(model),
        hb = hvp(fused);
      hb.forEach((h, i) => assertClose(h, ha[i], 1e-14, `${name} bias=${bias}: Hessian-vector product, parameter ${i}`));
      assert.ok(
        ha[0].some((v) => v !== 0),
        'the second derivative reached the first layer',
      );
    }
});
