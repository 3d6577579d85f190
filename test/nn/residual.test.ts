/**
 * Residual blocks against PyTorch 1.13 (tools/golden_residual.py: test/fixtures/residual/): a CNN
 * with an identity block and a projection block (stride-2 body, 1×1 conv + BatchNorm shortcut) and
 * an MLP with BatchNorm1d in a block and a Linear shortcut, built from their specs. PyTorch's
 * safetensors file of each (a module whose blocks hold `body` and `shortcut`) loads by name; three
 * SGD-with-momentum steps in training mode then give PyTorch's losses, first-step logits, input
 * gradient (through both paths of each block) and parameter gradients, final parameters and running
 * statistics, and evaluation logits — unfused and through fuse(), on the reference and wasm backends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/node.js';
import { crossEntropy } from '../../src/autograd/cross-entropy.js';
import { specInput } from '../../src/train/spec.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose } from '../helpers.js';

interface Case {
  name: string;
  spec: string;
  inputShape: [number, number, number];
  classes: number;
  lr: number;
  momentum: number;
  batches: { x: number[]; y: number[] }[];
  losses: number[];
  first: { logits: number[]; gx: number[]; grads: Record<string, number[]> };
  final: Record<string, { shape: number[]; data: number[] }>;
  evalX: number[];
  evalLogits: number[];
}
const F: { torch: string; cases: Case[] } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/residual/residual.json', import.meta.url), 'utf8'),
);
const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/residual/residual_${name}.safetensors`, import.meta.url));

// float32 through up to 12 layers and 3 steps: PyTorch and descent sum in different orders
const TOL = 2e-5;

function build(c: Case): d.Sequential {
  return d.resolveModel(c.spec).build({ rng: new d.Rng(1), inputShape: c.inputShape, classes: c.classes }) as d.Sequential;
}

function inputOf(c: Case, data: number[], requiresGrad = false): d.Tensor {
  const [C, H, W] = c.inputShape;
  const shape =
    specInput(d.parseModelSpec(c.spec)) === 'image' ? [data.length / (C * H * W), C, H, W] : [data.length / (C * H * W), C * H * W];
  return d.fromData(new Float32Array(data), shape, { requiresGrad });
}

function replay(c: Case, fused: boolean): void {
  const model = build(c);
  const meta = d.loadSafetensors(model, fixture(c.name));
  assert.equal(meta.spec, c.spec, 'the file names the spec it was made for');
  const net = fused ? d.fuse(model) : model;
  const opt = new d.SGD(model.parameters(), { lr: c.lr, momentum: c.momentum });
  const what = `${c.name}${fused ? ' (fused)' : ''}`;
  c.batches.forEach((b, i) => {
    const x = inputOf(c, b.x, i === 0);
    opt.zeroGrad();
    const logits = net.forward(x, { training: true });
    const loss = crossEntropy(logits, b.y);
    loss.backward();
    assertClose(loss.item(), c.losses[i], TOL, `${what} step ${i + 1} loss`);
    if (i === 0) {
      assertClose(logits.data, c.first.logits, TOL, `${what} logits`);
      assertClose(x.grad!.data, c.first.gx, TOL, `${what} input gradient`);
      const grads = Object.fromEntries(model.namedParameters().map(([n, p]) => [n, p.grad!.data]));
      assert.deepEqual(Object.keys(grads).sort(), Object.keys(c.first.grads).sort(), `${what}: PyTorch's parameter names`);
      for (const [n, g] of Object.entries(c.first.grads)) assertClose(grads[n], g, TOL, `${what} gradient of ${n}`);
    }
    opt.step();
  });
  const sd = model.stateDict();
  assert.deepEqual(Object.keys(sd), Object.keys(c.final), `${what}: PyTorch's state_dict names, in its order`);
  for (const [n, e] of Object.entries(c.final)) assertClose(sd[n].data, e.data, TOL, `${what} final ${n}`);
  const evalLogits = d.noGrad(() => net.forward(inputOf(c, c.evalX), { training: false }));
  assertClose(evalLogits.data, c.evalLogits, TOL, `${what} evaluation logits`);
}

test(`residual blocks train as in PyTorch ${F.torch}: losses, gradients through both paths, running statistics, evaluation`, () => {
  assert.deepEqual(
    F.cases.map((c) => c.name),
    ['cnn', 'mlp'],
  );
  for (const c of F.cases) for (const fused of [false, true]) replay(c, fused);
});

test('the same on the wasm backend (its BatchNorm and fused-layer kernels inside the blocks)', async () => {
  await initWasm();
  d.setBackend('wasm');
  try {
    for (const c of F.cases) for (const fused of [false, true]) replay(c, fused);
  } finally {
    d.setBackend('reference');
  }
});

test('fuse() fuses inside the body and the shortcut and keeps their state names; a block with nothing to fuse is kept', () => {
  const model = build(F.cases[0]);
  const fused = d.fuse(model);
  const block = fused.layers[fused.names.indexOf('3')] as d.Residual;
  assert.ok(block instanceof d.Residual && block !== model.layers[3]);
  assert.ok((block.body as d.Sequential).layers[0] instanceof d.Conv2d, 'a conv before a BatchNorm stays');
  assert.ok((block.body as d.Sequential).layers[1] instanceof d.BatchNormReLU);
  assert.deepEqual(
    fused.namedState().map(([n, t]) => [n, t]),
    model.namedState().map(([n, t]) => [n, t]),
    'the same tensors under the same names',
  );
  const plain = new d.Residual(new d.Sequential(new d.Linear(3, 3, { rng: new d.Rng(1) }), new d.Tanh()));
  assert.equal(d.fuse(plain), plain);
  const top = new d.Residual(new d.Sequential(new d.Linear(3, 3, { rng: new d.Rng(1) }), new d.ReLU()));
  assert.ok((d.fuse(top).body as d.Sequential).layers[0] instanceof d.LinearReLU, 'a Residual given to fuse() directly');
});

test('Residual: identity and projection shortcuts, state names, modes, copies', () => {
  const rng = new d.Rng(3);
  const body = new d.Sequential(new d.Linear(4, 4, { rng: rng.fork('a') }), new d.ReLU(), new d.Linear(4, 4, { rng: rng.fork('b') }));
  const id = new d.Residual(body);
  assert.equal(id.shortcut, null);
  const x = d.randn([3, 4], rng.fork('x'));
  const y = id.forward(x);
  const want = body.forward(x).data.map((v, i) => v + x.data[i]);
  assertClose(y.data, want, 1e-7, 'body(x) + x');
  assert.deepEqual(
    id.namedState().map(([n]) => n),
    ['body.0.weight', 'body.0.bias', 'body.2.weight', 'body.2.bias'],
  );
  const proj = new d.Residual(
    new d.Sequential(new d.Linear(4, 2, { rng: rng.fork('c') })),
    new d.Sequential(new d.Linear(4, 2, { bias: false, rng: rng.fork('d') }), new d.BatchNorm1d(2)),
  );
  const model = new d.Sequential(new d.Flatten(), proj, new d.ReLU());
  assert.deepEqual(
    model.namedState().map(([n]) => n),
    [
      '1.body.0.weight',
      '1.body.0.bias',
      '1.shortcut.0.weight',
      '1.shortcut.1.weight',
      '1.shortcut.1.bias',
      '1.shortcut.1.running_mean',
      '1.shortcut.1.running_var',
      '1.shortcut.1.num_batches_tracked',
    ],
  );
  assert.equal(model.numParameters(), 4 * 2 + 2 + 4 * 2 + 2 + 2);
  // training reaches the BatchNorm in the shortcut; evaluation leaves its statistics alone
  model.forward(x, { training: false });
  assert.equal(model.stateDict()['1.shortcut.1.num_batches_tracked'].data[0], 0);
  model.forward(x, { training: true });
  assert.equal(model.stateDict()['1.shortcut.1.num_batches_tracked'].data[0], 1);
  const copy = new d.Sequential(
    new d.Flatten(),
    new d.Residual(new d.Sequential(new d.Linear(4, 2)), new d.Sequential(new d.Linear(4, 2, { bias: false }), new d.BatchNorm1d(2))),
    new d.ReLU(),
  );
  copy.copyFrom(model);
  assert.deepEqual(copy.stateDict(), model.stateDict());
  const loaded = new d.Sequential(
    new d.Flatten(),
    new d.Residual(new d.Sequential(new d.Linear(4, 2)), new d.Sequential(new d.Linear(4, 2, { bias: false }), new d.BatchNorm1d(2))),
    new d.ReLU(),
  );
  d.loadSafetensors(loaded, d.saveSafetensors(model));
  assert.deepEqual(loaded.stateDict(), model.stateDict());
  assert.deepEqual(Array.from(loaded.forward(x).data), Array.from(model.forward(x).data));
  assert.match(model.toString(), /\(1\): Residual\(projection\)\(\n {4}\(body\): Sequential/);
});

test("Residual: a shape error names the part, the layer and both shapes; the model's layer is named through Sequential", () => {
  const rng = new d.Rng(1);
  const block = new d.Residual(new d.Sequential(new d.Linear(4, 3, { rng })));
  assert.throws(
    () => new d.Sequential(new d.Linear(4, 4, { rng }), block).forward(d.zeros([2, 4])),
    (e: Error) =>
      e instanceof d.ShapeError &&
      /^layer 1 \(Residual\): the body gives \[2, 3\] but the identity shortcut \(the input\) gives \[2, 4\]; the two are added/.test(
        e.message,
      ),
  );
  const proj = new d.Residual(new d.Sequential(new d.Linear(4, 3, { rng })), new d.Linear(4, 2, { rng }));
  assert.throws(() => proj.forward(d.zeros([2, 4])), /^ShapeError: the body gives \[2, 3\] but the shortcut gives \[2, 2\]/);
  assert.throws(
    () => new d.Sequential(block).forward(d.zeros([2, 5])),
    /^ShapeError: layer 0 \(Residual\): body layer 0 \(Linear\(4→3\)\): Linear\(4→3\): expected input \[\*, 4\], got \[2, 5\]/,
  );
  assert.throws(
    () => new d.Residual(new d.Sequential(new d.Linear(5, 2, { rng })), new d.Linear(4, 2, { rng })).forward(d.zeros([2, 5])),
    /^ShapeError: shortcut: Linear\(4→2\): expected input \[\*, 4\], got \[2, 5\]/,
  );
  assert.throws(() => new d.Residual([] as never), /Residual: body must be a Module \(a Sequential\)/);
});

test("saveSafetensors names a DropConnect with an activation inside a block as PyTorch's Linear + activation (indices shift in the body only)", () => {
  const { model } = d.buildFromLayers(d.parseModelSpec('linear:8,res[dropconnect:8:act=relu,linear:8],relu,linear'), {
    rng: new d.Rng(1),
    inputShape: [1, 2, 2],
    classes: 3,
  });
  assert.deepEqual(Object.fromEntries(d.torchParameterNames(model)), {
    '0.weight': '0.weight',
    '0.bias': '0.bias',
    '1.body.0.weight': '1.body.0.weight',
    '1.body.0.bias': '1.body.0.bias',
    '1.body.1.weight': '1.body.2.weight',
    '1.body.1.bias': '1.body.2.bias',
    '3.weight': '3.weight',
    '3.bias': '3.bias',
  });
});
