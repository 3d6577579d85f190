import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as d from '../../src/node.js';
import { cli } from '../cli/run-cli.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { registerTrainExtension } from '../../src/cli/extensions.js';

// Keeps the model each `descent train` run ends with, so CLI runs can be compared weight for weight.
const trained: d.Module[] = [];
registerTrainExtension({ name: 'test-capture', options: [], callbacks: () => [{ onTrainEnd: (s) => void trained.push(s.model) }] });

const CNN = 'conv:32:5:pad=2,relu,maxpool:2,conv:64:5:pad=2,relu,maxpool:2,flatten,linear:128,relu,linear:10';
const IMG = [1, 28, 28] as const;

function weights(m: d.Module): number[][] {
  return m.parameters().map((p) => Array.from(p.data));
}

function same(a: d.Module, b: d.Module): void {
  assert.deepEqual(
    a.namedParameters().map(([n, p]) => [n, p.shape]),
    b.namedParameters().map(([n, p]) => [n, p.shape]),
  );
  assert.deepEqual(weights(a), weights(b));
}

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof d.ModelSpecError, `expected ModelSpecError, got ${e}`);
    assert.match(e.message, re);
    return true;
  });
}

const build = (spec: string, extra: Partial<d.ModelOptions> = {}, seed = 1, classes = 10) =>
  d.resolveModel(spec).build({ rng: new d.Rng(seed).fork('model'), inputShape: IMG, classes, ...extra });
const builtin = (name: string, extra: Partial<d.ModelOptions> = {}, seed = 1) =>
  d.getModel(name).build({ rng: new d.Rng(seed).fork('model'), inputShape: IMG, classes: 10, ...extra });

test('a spec of each built-in architecture builds the same weights, bit for bit, as the built-in model', () => {
  for (const seed of [1, 7]) {
    same(build(CNN, {}, seed), builtin('cnn', {}, seed));
    same(build('linear:256,relu,linear:128,relu,linear', {}, seed), builtin('mlp', {}, seed));
    same(build('linear', {}, seed), builtin('logreg', {}, seed));
    same(
      build(
        'conv:16:3:pad=1,relu,fmp,conv:32:3:pad=1,relu,fmp,conv:48:3:pad=1,relu,fmp,conv:64:3:pad=1,relu,fmp,flatten,linear:128,relu,linear',
        {},
        seed,
      ),
      builtin('fmp', {}, seed),
    );
    same(
      build(CNN.replace('linear:128,relu', 'dropconnect:128:0.5:act=relu,dropout:0.5'), {}, seed),
      builtin('cnn', { dropout: 0.5, dropconnect: 0.5 }, seed),
    );
    same(build('dropconnect:256:0.3:act=relu,dropconnect:128:0.3:act=relu,linear', {}, seed), builtin('mlp', { dropconnect: 0.3 }, seed));
  }
  assert.equal(d.resolveModel(CNN).input, 'image');
  assert.equal(d.resolveModel('linear:256,relu,linear').input, 'flat');
  // The FMP layers' own evaluation generators are seeded alike too: the same eval output.
  const x = d.fromData(
    Float32Array.from({ length: 2 * 784 }, (_, i) => ((i * 37) % 101) / 101),
    [2, 1, 28, 28],
  );
  const a = build(
    'conv:16:3:pad=1,relu,fmp,conv:32:3:pad=1,relu,fmp,conv:48:3:pad=1,relu,fmp,conv:64:3:pad=1,relu,fmp,flatten,linear:128,relu,linear',
  );
  assert.deepEqual(Array.from(a.forward(x).data), Array.from(builtin('fmp').forward(x).data));
});

test('a different seed or architecture gives different weights (the comparison above can fail)', () => {
  assert.notDeepEqual(weights(build(CNN, {}, 1)), weights(build(CNN, {}, 2)));
  assert.notDeepEqual(weights(build(CNN.replace('pad=2', 'pad=2:init=he'))), weights(builtin('cnn')));
});

test('training a few steps of the spec and of --model cnn ends with identical weights', async () => {
  await initWasm(); // the CLI's default backend (and minutes faster than the reference one here)
  d.setBackend('wasm');
  const { train } = d.loadEmbedded();
  const run = (model: d.Module) => {
    const rng = new d.Rng(1);
    const opt = d.createOptimizer('adam', model.namedParameters(), { lr: 0.001 }) as d.Optimizer<d.BaseHyper>;
    const loader = new d.DataLoader(train.slice(0, 96), { batchSize: 32, shuffle: true, rng: rng.fork('data') });
    d.fit({ model, optimizer: opt, train: loader, epochs: 1, rng: rng.fork('train') });
    return model;
  };
  try {
    const a = run(build(CNN)),
      b = run(builtin('cnn'));
    same(a, b);
    assert.notDeepEqual(weights(a), weights(build(CNN)), 'the weights moved');
  } finally {
    d.setBackend('reference');
  }
});

test('descent train --model SPEC --seed 3 ends with the same weights and prints the same run as --model cnn --seed 3', async () => {
  const args = [
    '--data',
    'embedded',
    '--limit',
    '128',
    '--test-limit',
    '100',
    '--epochs',
    '2',
    '--batch-size',
    '32',
    '--seed',
    '3',
    '--json',
  ];
  trained.length = 0;
  const a = await cli('train', '--model', CNN, ...args);
  const b = await cli('train', '--model', 'cnn', ...args);
  assert.equal(trained.length, 2);
  same(trained[0], trained[1]);
  assert.notDeepEqual(weights(trained[0]), weights(build(CNN, {}, 3)), 'the weights moved');
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  const strip = (s: string) =>
    s
      .trim()
      .split('\n')
      .map((l) => {
        const r = JSON.parse(l);
        delete r.seconds;
        delete r.samplesPerSec;
        return r;
      });
  assert.equal(strip(a.out).length, 2);
  assert.deepEqual(strip(a.out), strip(b.out));
});

test('parse and format: positional or key=value, pairs, canonical form, and JSON give the same layers', () => {
  const layers = d.parseModelSpec(
    ' conv:out=32:kernel=5x5:pad=2 , ReLU, maxpool:2:stride=2x1, fmp:1.5:seq=random:overlap=false, dropout2d:0.1, avgpool:3x2:countpad=false,flatten,dropconnect:64:act=tanh,sigmoid,dropout,linear:bias=false',
  );
  assert.deepEqual(layers[0], { type: 'conv', out: 32, kernel: 5, pad: 2 });
  assert.deepEqual(layers[2], { type: 'maxpool', kernel: 2, stride: [2, 1] });
  const canon = d.formatModelSpec(layers);
  assert.equal(
    canon,
    'conv:32:5:pad=2,relu,maxpool:2:stride=2x1,fmp:1.5:seq=random:overlap=false,dropout2d:0.1,avgpool:3x2:countpad=false,flatten,dropconnect:64:act=tanh,sigmoid,dropout,linear:bias=false',
  );
  assert.deepEqual(d.parseModelSpec(canon), layers);
  const json = [
    { type: 'conv', out: 32, kernel: [5, 5], pad: 2 },
    { type: 'relu' },
    { type: 'maxpool', kernel: 2, stride: [2, 1] },
    { type: 'fmp', ratio: 1.5, seq: 'random', overlap: false },
    { type: 'dropout2d', p: 0.1 },
    { type: 'avgpool', kernel: '3x2', countpad: false },
    { type: 'flatten' },
    { type: 'dropconnect', out: 64, act: 'tanh' },
    { type: 'sigmoid' },
    { type: 'dropout' },
    { type: 'linear', bias: false },
  ];
  assert.deepEqual(d.layersFromJson(json), layers);
  assert.deepEqual(d.layersFromJson({ layers: json }), layers);
  assert.equal(d.resolveModel(JSON.stringify(json)).name, canon);
  assert.equal(d.resolveModel(canon).name, canon);
  assert.equal(d.getModel(canon).name, canon, 'getModel accepts a spec string');
});

test('conv dilation= and groups=: parsed, formatted, built as Conv2d with them, shapes as PyTorch', () => {
  const spec = 'conv:8:3:dilation=2,relu,conv:16:3:pad=2:dilation=2x1:groups=4,conv:16:3:pad=1:groups=16,flatten,linear';
  const layers = d.parseModelSpec(spec);
  assert.deepEqual(layers[0], { type: 'conv', out: 8, kernel: 3, dilation: 2 });
  assert.deepEqual(layers[2], { type: 'conv', out: 16, kernel: 3, pad: 2, dilation: [2, 1], groups: 4 });
  assert.equal(d.formatModelSpec(layers), spec);
  assert.deepEqual(
    d.layersFromJson([
      { type: 'conv', out: 8, kernel: 3, dilation: 2 },
      { type: 'relu' },
      { type: 'conv', out: 16, kernel: 3, pad: 2, dilation: [2, 1], groups: 4 },
      { type: 'conv', out: 16, kernel: 3, pad: 1, groups: 16 },
      { type: 'flatten' },
      { type: 'linear' },
    ]),
    layers,
  );
  const { model, shapes } = d.buildFromLayers(layers, { rng: new d.Rng(4), inputShape: IMG, classes: 10 });
  // 28 + 0 − 2·2 − 1 + 1 = 24; then height 24 + 4 − 2·2 − 1 + 1 = 24, width 24 + 4 − 2 − 1 + 1 = 26
  assert.deepEqual(shapes.slice(0, 4), [
    [8, 24, 24],
    [8, 24, 24],
    [16, 24, 26],
    [16, 24, 26],
  ]);
  const [c1, , c2, c3] = model.layers as d.Conv2d[];
  assert.deepEqual([c1.dilation, c1.groups, c1.weight.shape], [[2, 2], 1, [8, 1, 3, 3]]);
  assert.deepEqual([c2.dilation, c2.groups, c2.weight.shape], [[2, 1], 4, [16, 2, 3, 3]]);
  assert.deepEqual([c3.groups, c3.weight.shape], [16, [16, 1, 3, 3]], 'depthwise');
  const y = model.forward(d.zeros([2, 1, 28, 28]));
  assert.deepEqual(y.shape, [2, 10]);
  rejects(
    () => build('conv:8:3,conv:12:3:groups=3,flatten,linear'),
    /^layer 1 \(conv:12:3:groups=3\): groups=3 must divide the input channels \(8, of \[8, 26, 26\]\) and the output channels \(12\)/,
  );
  rejects(
    () => build('conv:6:3:groups=2,flatten,linear'),
    /^layer 0 \(conv:6:3:groups=2\): groups=2 must divide the input channels \(1, of \[1, 28, 28\]\)/,
  );
  rejects(
    () => build('conv:8:5:dilation=7,flatten,linear'),
    /^layer 0 \(conv:8:5:dilation=7\): input \[1, 28, 28\] with padding 0×0 is smaller than the kernel 5×5 dilated by 7×7 \(spanning 29×29\)/,
  );
  rejects(() => d.parseModelSpec('conv:8:3:groups=0'), /groups: expected an integer ≥ 1, got "0"/);
  rejects(() => d.parseModelSpec('conv:8:3:dilation=0'), /dilation: expected an integer ≥ 1 or HxW, got "0"/);
});

test('every layer builds; the inferred shapes are the shapes the layers produce', () => {
  const layers = d.parseModelSpec(
    'conv:6:3:stride=2:pad=1,tanh,dropout2d:0.2,maxpool:3:stride=1:pad=1,avgpool:2,fmp:1.5,conv:8:2,sigmoid,fmp:kernel=2:out=2,dropout:0.3,flatten,dropconnect:20:0.25:act=relu:masks=batch,dropconnect:12:inference=gaussian:samples=5,relu,linear',
  );
  const { model, shapes } = d.buildFromLayers(layers, { rng: new d.Rng(4), inputShape: IMG, classes: 10 });
  assert.deepEqual(shapes, [
    [6, 14, 14],
    [6, 14, 14],
    [6, 14, 14],
    [6, 14, 14],
    [6, 7, 7],
    [6, 4, 4],
    [8, 3, 3],
    [8, 3, 3],
    [8, 2, 2],
    [8, 2, 2],
    [32],
    [20],
    [12],
    [12],
    [10],
  ]);
  const x = d.fromData(
    Float32Array.from({ length: 3 * 784 }, (_, i) => Math.sin(i)),
    [3, 1, 28, 28],
  );
  for (const training of [false, true]) {
    let h = x;
    const rng = new d.Rng(9);
    model.layers.forEach((m, i) => {
      h = m.forward(h, { training, rng });
      assert.deepEqual(h.shape.slice(1), shapes[i], `layer ${i} (${m.describe()}), training ${training}`);
    });
    assert.deepEqual(model.forward(x, { training, rng }).shape, [3, 10]);
  }
  assert.ok(model.layers[11] instanceof d.DropConnect && model.layers[11].masks === 'batch' && model.layers[11].activation === 'relu');
  assert.ok(model.layers[5] instanceof d.FractionalMaxPool2d && model.layers[5].sequence === 'pseudorandom');
  assert.deepEqual((model.layers[8] as d.FractionalMaxPool2d).kernelSize, [2, 2]);
  assert.equal((model.layers[4] as d.AvgPool2d).countIncludePad, true);
  // PyTorch names: the DropConnect with its ReLU takes two slots.
  assert.deepEqual(
    [...d.torchParameterNames(model).values()].filter((n) => n.endsWith('weight')),
    ['0.weight', '6.weight', '11.weight', '13.weight', '15.weight'],
  );
});

test('float64 models: dtype reaches every parameter', () => {
  const m = build(CNN, { dtype: 'float64' });
  assert.ok(m.parameters().every((p) => p.dtype === 'float64'));
});

test('activation tokens: leakyrelu[:slope], elu[:alpha], gelu[:approximate], silu, softplus[:beta[:threshold]] parse, format, build and refuse bad values', () => {
  const layers = d.parseModelSpec(
    'linear:32,leakyrelu,linear:32,leakyrelu:0.2,linear:32,elu:alpha=0.5,linear:32,gelu,linear:32,gelu:tanh,linear:32,silu,linear:32,softplus:2:10,linear:32,softplus:threshold=5,linear',
  );
  assert.deepEqual(
    layers.filter((l) => l.type !== 'linear'),
    [
      { type: 'leakyrelu' },
      { type: 'leakyrelu', slope: 0.2 },
      { type: 'elu', alpha: 0.5 },
      { type: 'gelu' },
      { type: 'gelu', approximate: 'tanh' },
      { type: 'silu' },
      { type: 'softplus', beta: 2, threshold: 10 },
      { type: 'softplus', threshold: 5 },
    ],
  );
  const canon = d.formatModelSpec(layers);
  assert.equal(
    canon,
    'linear:32,leakyrelu,linear:32,leakyrelu:0.2,linear:32,elu:0.5,linear:32,gelu,linear:32,gelu:tanh,linear:32,silu,linear:32,softplus:2:10,linear:32,softplus:threshold=5,linear',
  );
  assert.deepEqual(d.parseModelSpec(canon), layers);
  assert.deepEqual(
    d.layersFromJson([{ type: 'elu', alpha: -1 }, { type: 'gelu', approximate: 'none' }, { type: 'linear' }]),
    d.parseModelSpec('elu:-1,gelu:none,linear'),
  );
  const { model } = d.buildFromLayers(layers, { rng: new d.Rng(1), inputShape: IMG, classes: 10 });
  assert.deepEqual(
    model.layers.filter((_, i) => i % 2 === 1).map((m) => m.describe()),
    [
      'LeakyReLU(negativeSlope=0.01)',
      'LeakyReLU(negativeSlope=0.2)',
      'ELU(alpha=0.5)',
      "GELU(approximate='none')",
      "GELU(approximate='tanh')",
      'SiLU',
      'Softplus(beta=2, threshold=10)',
      'Softplus(beta=1, threshold=5)',
    ],
  );
  assert.deepEqual(model.forward(d.zeros([2, 784])).shape, [2, 10]);
  rejects(() => d.parseModelSpec('gelu:exact'), /^layer 0 \(gelu:exact\): approximate: expected one of none, tanh, got "exact"/);
  rejects(() => d.parseModelSpec('leakyrelu:slope=abc'), /^layer 0 \(leakyrelu:slope=abc\): slope: expected a number, got "abc"/);
  rejects(() => d.parseModelSpec('softplus:0'), /^layer 0 \(softplus:0\): beta: expected a non-zero number, got "0"/);
  rejects(() => d.parseModelSpec('elu:1e999'), /alpha: expected a number, got "1e999"/);
  rejects(() => d.parseModelSpec('silu:1'), /^layer 0 \(silu:1\): silu takes no values, got 1/);
  rejects(() => d.parseModelSpec('leakyrelu:negative_slope=0.1'), /leakyrelu has no option "negative_slope".*its options are slope/);
});

test('dropconnect act= takes the newer activations, with their parameters as their own tokens name them', () => {
  const layers = d.parseModelSpec(
    'dropconnect:16:0.25:act=leakyrelu:slope=0.2,dropconnect:16:act=elu,dropconnect:16:act=gelu:approximate=tanh,dropconnect:16:act=silu,dropconnect:16:act=softplus:beta=2:threshold=10:inference=gaussian,linear',
  );
  assert.deepEqual(layers.slice(0, 5), [
    { type: 'dropconnect', out: 16, p: 0.25, act: 'leakyrelu', slope: 0.2 },
    { type: 'dropconnect', out: 16, act: 'elu' },
    { type: 'dropconnect', out: 16, act: 'gelu', approximate: 'tanh' },
    { type: 'dropconnect', out: 16, act: 'silu' },
    { type: 'dropconnect', out: 16, act: 'softplus', inference: 'gaussian', beta: 2, threshold: 10 },
  ]);
  const canon = d.formatModelSpec(layers);
  assert.equal(
    canon,
    'dropconnect:16:0.25:act=leakyrelu:slope=0.2,dropconnect:16:act=elu,dropconnect:16:act=gelu:approximate=tanh,dropconnect:16:act=silu,dropconnect:16:act=softplus:inference=gaussian:beta=2:threshold=10,linear',
  );
  assert.deepEqual(d.parseModelSpec(canon), layers);
  assert.deepEqual(
    d.layersFromJson([{ type: 'dropconnect', out: 16, act: 'elu', alpha: 0.5 }, { type: 'linear' }]),
    d.parseModelSpec('dropconnect:16:act=elu:alpha=0.5,linear'),
  );
  const { model } = d.buildFromLayers(layers, { rng: new d.Rng(1), inputShape: IMG, classes: 10 });
  assert.deepEqual(
    model.layers.slice(0, 5).map((m) => m.describe()),
    [
      'DropConnect(784→16, p=0.25, leakyrelu(negativeSlope=0.2))',
      'DropConnect(16→16, p=0.5, elu(alpha=1))',
      'DropConnect(16→16, p=0.5, gelu(approximate=tanh))',
      'DropConnect(16→16, p=0.5, silu)',
      'DropConnect(16→16, p=0.5, softplus(beta=2, threshold=10))',
    ],
  );
  const x = d.rand([3, 784], new d.Rng(2));
  assert.deepEqual(model.forward(x).shape, [3, 10]);
  assert.deepEqual(model.forward(x, { training: true, rng: new d.Rng(3) }).shape, [3, 10]);
  rejects(
    () => d.parseModelSpec('dropconnect:16:act=relu:slope=0.2'),
    /^layer 0 \(dropconnect:16:act=relu:slope=0\.2\): option "slope" applies to act=leakyrelu, not act=relu/,
  );
  rejects(() => d.parseModelSpec('dropconnect:16:beta=2'), /option "beta" applies to act=softplus, not act=none/);
  rejects(() => d.parseModelSpec('dropconnect:16:act=softplus:beta=0'), /beta: expected a non-zero number, got "0"/);
  rejects(() => d.parseModelSpec('dropconnect:16:act=gelu:approximate=exact'), /approximate: expected one of none, tanh, got "exact"/);
});

test("descent train --model 'dropconnect:32:0.3:act=leakyrelu:slope=0.2:inference=gaussian,linear' trains and evaluates", async () => {
  const spec = 'dropconnect:32:0.3:act=leakyrelu:inference=gaussian:samples=5:slope=0.2,linear';
  const ok = await cli('train', '--model', spec, '--data', 'embedded', '--limit', '64', '--test-limit', '50', '--epochs', '1');
  assert.equal(ok.code, 0, ok.err);
  assert.ok(ok.out.includes(`model: ${spec}`), ok.out);
  assert.match(ok.out, /final test accuracy/);
  const bad = await cli(
    'train',
    '--model',
    'dropconnect:32:act=elu:slope=0.2,linear',
    '--data',
    'embedded',
    '--limit',
    '64',
    '--epochs',
    '1',
  );
  assert.equal(bad.code, 2);
  assert.match(bad.err, /option "slope" applies to act=leakyrelu, not act=elu/);
});

test("descent train --model 'linear:64,gelu,linear' trains; --help lists the activation tokens", async () => {
  const ok = await cli(
    'train',
    '--model',
    'linear:64,gelu,linear',
    '--data',
    'embedded',
    '--limit',
    '64',
    '--test-limit',
    '50',
    '--epochs',
    '1',
  );
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /model: linear:64,gelu,linear/);
  assert.match(ok.out, /final test accuracy/);
  const help = await cli('train', '--help');
  for (const usage of [
    'leakyrelu[:slope] (slope=0.01)',
    'gelu[:approximate] (approximate=none|tanh)',
    'softplus[:beta[:threshold]]',
    'silu',
  ])
    assert.ok(help.out.includes(usage), `--help lists ${usage}`);
});

test('errors name the layer (position and token), the shapes, and the nearest valid name', () => {
  rejects(
    () => d.parseModelSpec('conv:32:5,relu,lienar:10'),
    /^layer 2 \(lienar:10\): unknown layer "lienar" \(did you mean "linear"\?\); expected one of linear, conv/,
  );
  rejects(
    () => d.parseModelSpec('conv:32:5:padding=2'),
    /^layer 0 \(conv:32:5:padding=2\): conv has no option "padding" \(did you mean "pad"\?\); its options are out, kernel, stride, pad, dilation, groups, bias, init/,
  );
  rejects(() => d.parseModelSpec('conv:32:5:strid=2'), /option "strid" \(did you mean "stride"\?\)/);
  rejects(() => d.parseModelSpec('relu:3'), /^layer 0 \(relu:3\): relu takes no values, got 1/);
  rejects(() => d.parseModelSpec('linear:10:20'), /linear takes at most 1 positional value\(s\) \(out\), got 2/);
  rejects(() => d.parseModelSpec('conv:32'), /^layer 0 \(conv:32\): conv needs kernel; usage: conv:out:kernel/);
  rejects(() => d.parseModelSpec('conv:32:0'), /layer 0 \(conv:32:0\): kernel: expected an integer ≥ 1 or HxW, got "0"/);
  rejects(() => d.parseModelSpec('dropout:1.5'), /dropout:1\.5\): p: the drop probability must be in \[0, 1\), got "1\.5"/);
  rejects(() => d.parseModelSpec('fmp:2.5'), /ratio: the pooling ratio α must be in \(1, 2\)/);
  rejects(() => d.parseModelSpec('linear:bias=maybe'), /bias: expected true or false, got "maybe"/);
  rejects(
    () => d.parseModelSpec('dropconnect:64:act=rleu'),
    /act: expected one of none, relu, tanh, sigmoid, leakyrelu, elu, gelu, silu, softplus, got "rleu" \(did you mean "relu"\?\)/,
  );
  rejects(() => d.parseModelSpec('linear:10,,relu'), /^layer 1 \(<empty>\): empty layer/);
  rejects(() => d.parseModelSpec('linear:out=10:5'), /positional value "5" after a key=value option/);
  rejects(() => d.parseModelSpec('linear:out=10:out=5'), /option "out" is given twice/);
  rejects(() => d.parseModelSpec('linear,relu,linear'), /^layer 0 \(linear\): needs its output size/);
  rejects(() => d.parseModelSpec(''), /the model spec is empty/);
  rejects(
    () => build('conv:32:5,relu,linear:10'),
    /^layer 2 \(linear:10\): takes flat features \[F\] but gets \[32, 24, 24\]; put flatten before it/,
  );
  rejects(() => build('flatten,linear:64,relu,conv:8:3,flatten,linear'), /^layer 3 \(conv:8:3\): takes images \[C, H, W\] but gets \[64\]/);
  rejects(
    () => build('conv:8:3,maxpool:2,conv:8:3,maxpool:2,conv:8:7,flatten,linear'),
    /^layer 4 \(conv:8:7\): input \[8, 5, 5\] with padding 0×0 is smaller than the kernel 7×7/,
  );
  rejects(() => build('maxpool:2:pad=2,flatten,linear'), /^layer 0 \(maxpool:2:pad=2\): padding 2×2 must be at most half the kernel 2×2/);
  rejects(() => build('flatten,linear:128,relu,linear:5'), /^layer 3 \(linear:5\): the model ends in \[5\] but the data has 10 classes/);
  rejects(
    () => build('conv:10:3'),
    /^layer 0 \(conv:10:3\): the model ends in \[10, 26, 26\] but the data has 10 classes.*end with flatten and a linear layer/,
  );
  rejects(
    () => build('flatten,dropout2d,linear'),
    /^layer 1 \(dropout2d\): drops whole channels of \[C, H, W\] \(or \[C, L\]\) but gets \[784\]/,
  );
  rejects(() => build('fmp:out=10,flatten,linear'), /^layer 0 \(fmp:out=10\): cannot pool 28×28 into 10×10/);
  rejects(
    () => build('fmp:kernel=20:out=10,flatten,linear'),
    /^layer 0 \(fmp:out=10:kernel=20\): output 10×10 with kernel 20×20 does not fit the input \[1, 28, 28\]/,
  );
  rejects(
    () => build('linear', { dropout: 0.5 }),
    /the dropout option applies to the built-in models; write dropout layers in the spec instead/,
  );
  rejects(() => d.resolveModel('resnt'), /^unknown model "resnt"; expected one of mlp, logreg, cnn, fmp, lstm, transformer, a layer spec/);
  rejects(() => d.resolveModel('cnnn'), /^unknown model "cnnn" \(did you mean "cnn"\?\)/);
  rejects(() => d.layersFromJson([{ type: 'conv', out: 8 }], 'net.json'), /^net\.json: layer 0 \(conv\): conv needs kernel/);
  rejects(() => d.layersFromJson([{ out: 8 }], 'net.json'), /^net\.json: layer 0 \(\{"out":8\}\): needs "type"/);
  rejects(() => d.layersFromJson({ type: 'conv' }, 'net.json'), /^net\.json: expected an array of layers/);
  rejects(() => d.resolveModel('net.json'), /net\.json: reading a model file needs a readFile function/);
});

test('resolveModel reads a .json file of layers; its name is the canonical spec that rebuilds it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-spec-'));
  try {
    const path = join(dir, 'net.json');
    writeFileSync(path, JSON.stringify([{ type: 'flatten' }, { type: 'linear', out: 32 }, { type: 'relu' }, { type: 'linear' }]));
    const spec = d.resolveModel(path, { readFile: (p) => readFileSync(p, 'utf8') });
    assert.equal(spec.name, 'flatten,linear:32,relu,linear');
    same(
      spec.build({ rng: new d.Rng(1), inputShape: IMG, classes: 10 }),
      d.resolveModel(spec.name).build({ rng: new d.Rng(1), inputShape: IMG, classes: 10 }),
    );
    writeFileSync(path, '[{"type": "linear",');
    rejects(() => d.resolveModel(path, { readFile: (p) => readFileSync(p, 'utf8') }), /net\.json: not valid JSON/);
    rejects(() => d.resolveModel(join(dir, 'none.json'), { readFile: (p) => readFileSync(p, 'utf8') }), /none\.json: file not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI: --model FILE.json trains (also with --ensemble), a bad spec is one line and exit 2, --help documents the grammar', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-spec-cli-'));
  try {
    const path = join(dir, 'net.json');
    writeFileSync(path, JSON.stringify([{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'linear' }]));
    const ok = await cli('train', '--model', path, '--data', 'embedded', '--limit', '64', '--test-limit', '50', '--epochs', '1');
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /final test accuracy/);
    const ens = await cli(
      'train',
      '--model',
      path,
      '--ensemble',
      '2',
      '--data',
      'embedded',
      '--limit',
      '64',
      '--test-limit',
      '50',
      '--epochs',
      '1',
    );
    assert.equal(ens.code, 0, ens.err);
    assert.match(ens.out, /ensemble, averaged probabilities/);
    const bad = await cli('train', '--model', 'conv:8:3,relu,linear', '--data', 'embedded', '--limit', '64', '--epochs', '1');
    assert.equal(bad.code, 2);
    assert.equal(bad.err.trim().split('\n').length, 1);
    assert.match(
      bad.err,
      /^descent train: --model: layer 2 \(linear\): takes flat features \[F\] but gets \[8, 26, 26\]; put flatten before it$/,
    );
    const unknown = await cli('train', '--model', 'conv:8:3,rleu,flatten,linear', '--data', 'embedded');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /--model: layer 1 \(rleu\): unknown layer "rleu" \(did you mean "relu"\?\)/);
    const help = await cli('train', '--help');
    assert.match(help.out, /Model spec \(--model\)/);
    assert.match(help.out, /conv:out:kernel \(stride=, pad=/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rmsnorm, prelu[:num], hardtanh[:min[:max]], mish, hardswish, hardsigmoid, selu, relu6: parse, format, build and refuse bad values', () => {
  const spec =
    'conv:4:3:pad=1,rmsnorm,prelu:4:init=0.1,hardswish,conv:4:3:pad=1,prelu,mish,flatten,linear:16,rmsnorm:eps=0.001:affine=false,hardtanh:-2:2,linear:16,hardsigmoid,linear:16,selu,linear:16,relu6,linear';
  const layers = d.parseModelSpec(spec);
  assert.deepEqual(d.parseModelSpec(d.formatModelSpec(layers)), layers);
  assert.deepEqual(
    layers.find((l) => l.type === 'hardtanh'),
    { type: 'hardtanh', min: -2, max: 2 },
  );
  const { model } = d.buildFromLayers(layers, { rng: new d.Rng(1), inputShape: IMG, classes: 10 });
  const described = model.layers.map((m) => m.describe());
  for (const want of [
    'RMSNorm(4×28×28)',
    'PReLU(numParameters=4)',
    'Hardswish',
    'PReLU(numParameters=1)',
    'Mish',
    'RMSNorm(16, eps 0.001, no affine)',
    'Hardtanh(minVal=-2, maxVal=2)',
    'Hardsigmoid',
    'SELU',
    'ReLU6',
  ])
    assert.ok(described.includes(want), `${want} in ${described.join(' | ')}`);
  const prelu = model.layers.find((m) => m instanceof d.PReLU) as d.PReLU;
  assert.deepEqual(Array.from(prelu.weight.data), Array(4).fill(Math.fround(0.1)));
  assert.deepEqual(model.forward(d.zeros([2, 1, 28, 28])).shape, [2, 10]);
  const build = (s: string) => d.buildFromLayers(d.parseModelSpec(s), { rng: new d.Rng(1), inputShape: IMG, classes: 10 });
  rejects(
    () => build('conv:4:3,prelu:3,flatten,linear'),
    /^layer 1 \(prelu:3\): num=3 must be 1 or the channels \(4, the first dimension of \[4, 26, 26\]\)/,
  );
  rejects(() => build('flatten,hardtanh:1:-1,linear'), /^layer 1 \(hardtanh:1:-1\): min=1 must be ≤ max=-1/);
  rejects(() => d.parseModelSpec('mish:1'), /^layer 0 \(mish:1\): mish takes no values, got 1/);
  rejects(() => d.parseModelSpec('rmsnorm:eps=-1'), /eps/);
});

test('convt:out:kernel and upsample[:factor]: parsed, formatted, built as ConvTranspose2d and Upsample, shapes as PyTorch, bad values refused', () => {
  const spec =
    'conv:8:3:stride=2:pad=1,relu,convt:4:3:stride=2:pad=1:outpad=1,upsample,upsample:0.5:mode=bilinear:align=true,flatten,linear';
  const layers = d.parseModelSpec(spec);
  assert.deepEqual(d.parseModelSpec(d.formatModelSpec(layers)), layers);
  const { model, shapes } = d.buildFromLayers(layers, { rng: new d.Rng(1), inputShape: IMG, classes: 10 });
  // 28 → conv stride 2 → 14 → convt stride 2: (14 − 1)·2 − 2 + 2 + 1 + 1 = 28 → ×2 → 56 → ×0.5 → 28
  assert.deepEqual(shapes.slice(0, 5), [
    [8, 14, 14],
    [8, 14, 14],
    [4, 28, 28],
    [4, 56, 56],
    [4, 28, 28],
  ]);
  const convt = model.layers[2] as d.ConvTranspose2d;
  assert.ok(convt instanceof d.ConvTranspose2d);
  assert.deepEqual(convt.weight.shape, [8, 4, 3, 3]);
  assert.deepEqual(
    model.layers.slice(3, 5).map((m) => m.describe()),
    ['Upsample(scaleFactor 2, nearest)', 'Upsample(scaleFactor 0.5, bilinear, alignCorners true)'],
  );
  assert.deepEqual(model.forward(d.zeros([2, 1, 28, 28])).shape, [2, 10]);
  const build = (s: string) => d.buildFromLayers(d.parseModelSpec(s), { rng: new d.Rng(1), inputShape: IMG, classes: 10 });
  rejects(
    () => build('convt:4:3:stride=2:outpad=2,flatten,linear'),
    /^layer 0 \(convt:4:3:stride=2:outpad=2\): outputPadding 2 \(height\) must be smaller than the stride 2 or the dilation 1/,
  );
  rejects(() => build('conv:4:3,convt:4:3:pad=20,flatten,linear'), /^layer 1 \(convt:4:3:pad=20\): output height .* expected ≥ 1/);
  rejects(
    () => build('conv:4:3,convt:6:3:groups=4,flatten,linear'),
    /groups=4 must divide the input channels \(4, of \[4, 26, 26\]\) and the output channels \(6\)/,
  );
  rejects(() => d.parseModelSpec('upsample:2:align=true'), /align/);
  rejects(() => d.parseModelSpec('upsample:0'), /factor: expected a non-zero number/);
});
