/**
 * Residual blocks in the model spec: `res[body]` and `res[body;shortcut]` parse, format back to
 * the canonical string, equal their JSON form and build nn.Residual with the shapes inferred; errors
 * name the block and the layer inside it; `descent train` runs a ResNet-style spec, saves it, and
 * `descent eval` rebuilds it from the file alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as d from '../../src/node.js';
import { cli } from '../cli/run-cli.js';

const RESNET =
  'conv:8:3:pad=1:bias=false,batchnorm,relu,res[conv:8:3:pad=1:bias=false,batchnorm,relu,conv:8:3:pad=1:bias=false,batchnorm],relu,res[conv:16:3:stride=2:pad=1:bias=false,batchnorm,relu,conv:16:3:pad=1:bias=false,batchnorm;conv:16:1:stride=2:bias=false,batchnorm],relu,gap,flatten,linear';

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof d.ModelSpecError, `expected ModelSpecError, got ${e}`);
    assert.match(e.message, re);
    return true;
  });
}

const build = (spec: string, inputShape: readonly number[] = [1, 8, 8], classes = 10) =>
  d.buildFromLayers(d.parseModelSpec(spec), { rng: new d.Rng(1).fork('model'), inputShape, classes });

test('res[…] parses, formats back canonically, and equals its JSON form; blocks nest', () => {
  const layers = d.parseModelSpec(
    ' conv:4:3:pad=1 , residual[ conv:4:3:pad=1, bn ,relu ; conv:4:kernel=1 ], relu, res[res[relu]],flatten,linear',
  );
  assert.deepEqual(layers[1], {
    type: 'residual',
    body: [{ type: 'conv', out: 4, kernel: 3, pad: 1 }, { type: 'batchnorm' }, { type: 'relu' }],
    shortcut: [{ type: 'conv', out: 4, kernel: 1 }],
  });
  const canon = d.formatModelSpec(layers);
  assert.equal(canon, 'conv:4:3:pad=1,res[conv:4:3:pad=1,batchnorm,relu;conv:4:1],relu,res[res[relu]],flatten,linear');
  assert.deepEqual(d.parseModelSpec(canon), layers);
  assert.equal(d.resolveModel(canon).name, canon, 'the name that saved files keep rebuilds the model');
  const json = [
    { type: 'conv', out: 4, kernel: 3, pad: 1 },
    {
      type: 'residual',
      body: [{ type: 'conv', out: 4, kernel: 3, pad: 1 }, { type: 'bn' }, { type: 'relu' }],
      shortcut: [{ type: 'conv', out: 4, kernel: 1 }],
    },
    { type: 'relu' },
    { type: 'res', body: [{ type: 'residual', body: [{ type: 'relu' }] }] },
    { type: 'flatten' },
    { type: 'linear' },
  ];
  assert.deepEqual(d.layersFromJson(json), layers);
  assert.deepEqual(d.parseModelSpec(RESNET), d.parseModelSpec(d.formatModelSpec(d.parseModelSpec(RESNET))));
});

test('a block builds nn.Residual of Sequentials with the shapes inferred; its convs draw the next init streams, body before shortcut', () => {
  const { model, shapes } = build(RESNET, [1, 8, 8], 10);
  assert.deepEqual(shapes, [[8, 8, 8], [8, 8, 8], [8, 8, 8], [8, 8, 8], [8, 8, 8], [16, 4, 4], [16, 4, 4], [16, 1, 1], [16], [10]]);
  const [id, proj] = [model.layers[3], model.layers[5]] as d.Residual[];
  assert.ok(id instanceof d.Residual && id.shortcut === null && id.body instanceof d.Sequential);
  assert.ok(
    proj.shortcut instanceof d.Sequential &&
      proj.shortcut.layers[0] instanceof d.Conv2d &&
      proj.shortcut.layers[1] instanceof d.BatchNorm2d,
  );
  assert.deepEqual(model.forward(d.zeros([2, 1, 8, 8]), { training: true }).shape, [2, 10]);
  assert.ok(model.namedState().some(([n]) => n === '5.shortcut.1.running_var'));
  // the k-th conv of the whole spec takes stream conv{k}: the same weights as the spec without the block
  const flat = build('conv:4:3:pad=1,conv:4:3:pad=1,conv:4:1,flatten,linear').model;
  const res = build('conv:4:3:pad=1,res[conv:4:3:pad=1;conv:4:1],flatten,linear').model;
  assert.deepEqual(
    res.parameters().map((p) => Array.from(p.data)),
    flat.parameters().map((p) => Array.from(p.data)),
  );
  // a block of image layers makes the model take images; a flat one keeps flat vectors
  assert.equal(d.resolveModel('res[conv:1:3:pad=1],flatten,linear').input, 'image');
  assert.equal(d.resolveModel('linear:8,res[linear:8,relu,linear:8],linear').input, 'flat');
  assert.deepEqual(build('linear:8,res[linear:8,batchnorm,relu,linear:8;linear:8],linear').shapes, [[8], [8], [10]]);
});

test('spec errors name the block, the part and the layer inside it, and both shapes', () => {
  const img = [1, 8, 8];
  const cases: [string, RegExp][] = [
    [
      'conv:4:3,res[conv:4:3:pad=1,relu,conv:8:3:pad=1]',
      /^layer 1 \(res\): the body ends in \[8, 6, 6\] but its input, which the identity shortcut adds, is \[4, 6, 6\]; .*\(res\[…;conv:8:1,batchnorm\]\)$/,
    ],
    [
      'conv:4:3,res[conv:8:3:stride=2:pad=1;conv:8:1]',
      /^layer 1 \(res\): the body ends in \[8, 3, 3\] but the shortcut in \[8, 6, 6\]; the two are added, so they must be equal$/,
    ],
    [
      'conv:4:3,res[conv:4:3:pad=1,relu,linear:4]',
      /^layer 1 \(res\) body layer 2 \(linear:4\): takes flat features \[F\] but gets \[4, 6, 6\]; put flatten before it$/,
    ],
    [
      'conv:4:3,res[relu;maxpool:3,conv:4:3]',
      /^layer 1 \(res\) shortcut layer 1 \(conv:4:3\): input \[4, 2, 2\] with padding 0×0 is smaller than the kernel 3×3$/,
    ],
    [
      'conv:4:3,res[relu,res[conv:4:7]]',
      /^layer 1 \(res\) body layer 1 \(res\) body layer 0 \(conv:4:7\): input \[4, 6, 6\] with padding 0×0/,
    ],
  ];
  for (const [spec, re] of cases) rejects(() => build(spec, img), re);
  const parse: [string, RegExp][] = [
    ['res[]', /^layer 0 \(res\): the body has no layers; usage: res\[layers\] or res\[layers;shortcut layers\]/],
    ['res[relu;]', /^layer 0 \(res\): the shortcut has no layers; leave it out for the identity$/],
    ['res[relu;relu;relu]', /^layer 0 \(res\): a residual block has a body and at most one shortcut, separated by one ";"; got 3 parts$/],
    [
      'res[relu,linear],linear',
      /^layer 0 \(res\) body layer 1 \(linear\): needs its output size \(e\.g\. linear:128\); inside a residual block/,
    ],
    ['res[relu,rleu]', /^layer 0 \(res\) body layer 1 \(rleu\): unknown layer "rleu" \(did you mean "relu"\?\)/],
    ['res[conv:4:3:pad=x]', /^layer 0 \(res\) body layer 0 \(conv:4:3:pad=x\): pad: expected an integer ≥ 0 or HxW, got "x"$/],
    ['relu,res[relu', /^the "\[" at character 9 has no "\]"/],
    ['relu],linear', /^the "\]" at character 5 closes no "\["/],
    ['res:2', /^layer 0 \(res:2\): a residual block holds its layers in brackets: res\[layers\]/],
    ['conv[relu]', /^layer 0 \(conv\): only a residual block takes layers in brackets/],
    ['res[relu]x,linear', /^layer 0 \(res\[relu\]x\): brackets enclose a residual block's layers and end its token/],
    ['relu;linear', /^layer 0 \(relu;linear\): ";" separates a residual block's body from its shortcut, inside res\[…\]/],
    ['res[relu,,relu]', /^layer 0 \(res\) body layer 1 \(<empty>\): empty layer \(two commas in a row\?\)$/],
  ];
  for (const [spec, re] of parse) rejects(() => d.parseModelSpec(spec), re);
  rejects(() => d.resolveModel('res'), /^layer 0 \(res\): a residual block holds its layers in brackets/);
  const json: [unknown, RegExp][] = [
    [[{ type: 'residual' }], /^model JSON: layer 0 \(residual\): "body" must be an array of layers, got undefined$/],
    [[{ type: 'residual', body: [] }], /^model JSON: layer 0 \(residual\): the body has no layers/],
    [[{ type: 'residual', body: [{ type: 'relu' }], shortcut: [] }], /^model JSON: layer 0 \(residual\): the shortcut has no layers/],
    [
      [{ type: 'residual', body: [{ type: 'relu' }], shortcutt: [] }],
      /^model JSON: layer 0 \(residual\): a residual block has no option "shortcutt" \(did you mean "shortcut"\?\)/,
    ],
    [
      [{ type: 'residual', body: [{ type: 'conv', out: 0, kernel: 3 }] }],
      /^model JSON: layer 0 \(residual\) body layer 0 \(conv\): out: expected an integer ≥ 1, got 0$/,
    ],
    [
      [{ type: 'residual', body: [{ type: 'linear' }] }, { type: 'linear' }],
      /^model JSON: layer 0 \(residual\) body layer 0 \(linear\): needs its output size/,
    ],
  ];
  for (const [value, re] of json) rejects(() => d.layersFromJson(value), re);
});

test('descent train --model with res blocks trains, saves (safetensors and JSON), and eval rebuilds the model from the file; --help documents the grammar', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-res-'));
  try {
    const common = ['--data', 'embedded', '--limit', '500', '--test-limit', '200', '--epochs', '1', '--seed', '2', '--json'];
    const file = join(dir, 'resnet.json');
    // a parsed spec written as JSON is its JSON form
    writeFileSync(file, JSON.stringify({ layers: d.parseModelSpec(RESNET) }));
    for (const [model, weights] of [
      [RESNET, join(dir, 'r.safetensors')],
      [file, join(dir, 'r.json')],
    ]) {
      const t = await cli('train', '--model', model, ...common, '--save', weights);
      assert.equal(t.code, 0, t.err);
      const last = JSON.parse(
        t.out
          .split('\n')
          .filter((l) => l.startsWith('{"epoch"'))
          .pop()!,
      );
      const e = await cli('eval', '--weights', weights, '--data', 'embedded', '--test-limit', '200', '--json');
      assert.equal(e.code, 0, e.err);
      const r = JSON.parse(e.out);
      assert.equal(r.accuracy, last.testAccuracy);
      assert.ok(Math.abs(r.loss - last.testLoss) < 1e-12, `${r.loss} vs ${last.testLoss}`);
    }
    // the file's names are PyTorch's for a module whose blocks hold body and shortcut
    const names = [...d.decodeSafetensors(readFileSync(join(dir, 'r.safetensors'))).tensors.keys()];
    assert.ok(names.includes('3.body.0.weight') && names.includes('5.shortcut.1.num_batches_tracked'), names.join(' '));
    const bad = await cli(
      'train',
      '--model',
      'conv:4:3,res[conv:8:3:pad=1],flatten,linear',
      '--data',
      'embedded',
      '--limit',
      '64',
      '--epochs',
      '1',
    );
    assert.equal(bad.code, 2);
    assert.match(
      bad.err,
      /--model: layer 1 \(res\): the body ends in \[8, 26, 26\] but its input, which the identity shortcut adds, is \[4, 26, 26\]/,
    );
    const help = await cli('train', '--help');
    assert.match(help.out, /res\[layers\] or res\[layers;shortcut layers\]: a residual block/);
    assert.match(help.out, /\{"type": "residual", "body": \[\.\.\.\], "shortcut": \[\.\.\.\]\}/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
