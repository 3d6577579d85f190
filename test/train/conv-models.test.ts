import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { getModel } from '../../src/train/models.js';
import { runCli } from '../../src/cli/run.js';
import type { Io } from '../../src/cli/command.js';

const base = { inputShape: [1, 28, 28] as const, classes: 10 };

test('cnn and fmp models: architecture, output shape, seeded and deterministic in evaluation', () => {
  const cnn = getModel('cnn').build({ ...base, rng: new d.Rng(1), dropout: 0.5 });
  assert.equal(getModel('cnn').input, 'image');
  const kinds = (m: d.Module) => (m as d.Sequential).layers.map((l) => l.describe());
  assert.deepEqual(kinds(cnn), [
    'Conv2d(1→32, 5×5, padding 2×2)',
    'ReLU',
    'MaxPool2d(2×2)',
    'Conv2d(32→64, 5×5, padding 2×2)',
    'ReLU',
    'MaxPool2d(2×2)',
    'Flatten',
    'Linear(3136→128)',
    'ReLU',
    'Dropout(p=0.5)',
    'Linear(128→10)',
  ]);
  assert.equal(cnn.numParameters(), 32 * 25 + 32 + 64 * 32 * 25 + 64 + 3136 * 128 + 128 + 128 * 10 + 10);
  const x = d.rand([2, 1, 28, 28], new d.Rng(2));
  assert.deepEqual(cnn.forward(x).shape, [2, 10]);
  const fmp = getModel('fmp').build({ ...base, rng: new d.Rng(3), dropconnect: 0.5 });
  assert.ok(kinds(fmp).includes('FractionalMaxPool2d(α=1.4142, pseudorandom, overlapping)'));
  assert.ok(kinds(fmp).includes('DropConnect(2304→128, p=0.5, relu)'), kinds(fmp).join(', '));
  const y1 = fmp.forward(x),
    y2 = fmp.forward(x);
  assert.deepEqual(Array.from(y1.data), Array.from(y2.data));
  const t1 = fmp.forward(x, { training: true, rng: new d.Rng(4) });
  assert.deepEqual(t1.shape, [2, 10]);
  assert.notDeepEqual(Array.from(t1.data), Array.from(y1.data));
  // Without the flags the mlp is the lead's plain one (same parameters for the same seed).
  const plain = getModel('mlp').build({ ...base, rng: new d.Rng(5) });
  const dc = getModel('mlp').build({ ...base, rng: new d.Rng(5), dropconnect: 0.3 });
  assert.ok(kinds(dc).includes('DropConnect(784→256, p=0.3, relu)'));
  assert.ok(!kinds(plain).some((k) => k.startsWith('Drop')));
});

test('descent train flags: --dropout/--dropconnect/--augment errors name the option', async () => {
  const run = async (...args: string[]) => {
    const err: string[] = [];
    const io: Io = { out: () => {}, err: (s) => err.push(s), raw: () => {}, tty: false };
    const code = await runCli(
      ['train', '--data', 'embedded', '--limit', '64', '--test-limit', '64', '--epochs', '1', '--backend', 'reference', ...args],
      io,
    );
    return { code, err: err.join('\n') };
  };
  let r = await run('--dropout', '1');
  assert.equal(r.code, 2);
  assert.match(r.err, /--dropout: the drop probability must be in \[0, 1\), got 1/);
  r = await run('--model', 'logreg', '--dropconnect', '0.5');
  assert.match(r.err, /--dropconnect applies to models mlp, cnn and fmp, not logreg/);
  r = await run('--augment', 'flip,twist');
  assert.match(r.err, /--augment: unknown transform "twist"/);
  r = await run('--dropconnect-masks', 'batch');
  assert.match(r.err, /need --dropconnect P/);
});
