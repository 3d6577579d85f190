import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { readCheckpoint } from '../../src/io/checkpoints.js';
import { encodeCheckpoint } from '../../src/train/checkpoint.js';
import { tempDir } from '../tmp-dir.js';
import { rankingReport, rocAuc, averagePrecision } from '../../src/train/ranking.js';

const dir = tempDir('descent-eval-');
const weights = join(dir, 'mlp.json');

test('descent eval reproduces the accuracy train reported, with a confusion matrix that sums to it', async () => {
  const t = await cli(
    'train',
    '--data',
    'embedded',
    '--model',
    'mlp',
    '--limit',
    '1000',
    '--test-limit',
    '500',
    '--epochs',
    '1',
    '--seed',
    '3',
    '--json',
    '--save',
    weights,
  );
  assert.equal(t.code, 0, t.err);
  const record = JSON.parse(
    t.out
      .split('\n')
      .filter((l) => l.startsWith('{"epoch"'))
      .pop()!,
  );
  const e = await cli('eval', '--weights', weights, '--data', 'embedded', '--test-limit', '500', '--json');
  assert.equal(e.code, 0, e.err);
  const r = JSON.parse(e.out);
  assert.equal(r.samples, 500);
  assert.equal(r.accuracy, record.testAccuracy);
  assert.ok(Math.abs(r.loss - record.testLoss) < 1e-12, `${r.loss} vs ${record.testLoss}`);
  assert.equal(r.confusion.length, 10);
  const total = r.confusion.flat().reduce((a: number, b: number) => a + b, 0);
  const diagonal = r.confusion.reduce((a: number, row: number[], i: number) => a + row[i], 0);
  assert.equal(total, 500);
  assert.equal(diagonal / total, r.accuracy);
  // the per-class report is the confusion matrix's: recall = diagonal / row sum, precision = diagonal / column sum
  assert.equal(r.report.perClass.length, 10);
  r.report.perClass.forEach((c: { name: string; precision: number; recall: number; support: number }, i: number) => {
    const row = r.confusion[i].reduce((a: number, b: number) => a + b, 0);
    const column = r.confusion.reduce((a: number, rw: number[]) => a + rw[i], 0);
    assert.equal(c.name, r.classes[i]);
    assert.equal(c.support, row);
    assert.equal(c.recall, row ? r.confusion[i][i] / row : 0);
    assert.equal(c.precision, column ? r.confusion[i][i] / column : 0);
  });
  assert.equal(r.report.accuracy, r.accuracy);
  // one-vs-rest ROC AUC and average precision of every class (all 10 are among the 500 samples)
  assert.equal(r.ranking.perClass.length, 10);
  r.ranking.perClass.forEach((c: { name: string; rocAuc: number; averagePrecision: number; support: number }, i: number) => {
    assert.equal(c.name, r.classes[i]);
    assert.equal(c.support, r.report.perClass[i].support);
    assert.ok(c.rocAuc > 0.5 && c.rocAuc <= 1 && c.averagePrecision > 0 && c.averagePrecision <= 1, JSON.stringify(c));
  });
  assert.equal(r.ranking.binary, undefined);
  const text = await cli('eval', '--weights', weights, '--data', 'embedded', '--test-limit', '500');
  assert.equal(text.code, 0);
  assert.match(text.out, /test accuracy 0\.\d{4}/);
  assert.match(text.out, /^Ankle boot +\d+/m);
  assert.match(text.out, /^ +precision +recall +f1 +support +ROC AUC +avg prec$/m);
  assert.match(text.out, /^Ankle boot +0\.\d{4} +[01]\.\d{4} +[01]\.\d{4} +\d+ +[01]\.\d{4} +[01]\.\d{4}$/m);
  const fixed = (v: number) => v.toFixed(4).replace('.', '\\.');
  assert.match(
    text.out,
    new RegExp(
      `^weighted avg +[01]\\.\\d{4} +[01]\\.\\d{4} +[01]\\.\\d{4} +500 +${fixed(r.ranking.weighted.rocAuc)} +${fixed(r.ranking.weighted.averagePrecision)}$`,
      'm',
    ),
  );
});

test('descent eval names what is wrong with its inputs', async () => {
  const cases: [string[], RegExp, number][] = [
    [[], /--weights: the weights file is required/, 2],
    [['--weights', join(dir, 'absent.json')], /absent\.json: file not found/, 1],
    [['--weights', dir], /is a folder without a usable checkpoint .*expected a weights file or a --checkpoint-dir folder/, 1],
    [['--weights', weights, '--model', 'logreg'], /mlp\.json: does not fit the model/, 1],
    [['--weights', weights, '--model', 'resnet'], /--model: unknown model "resnet"/, 2],
  ];
  const junk = join(dir, 'junk.json');
  writeFileSync(junk, 'not json');
  cases.push([['--weights', junk], /junk\.json: not a weights file/, 1]);
  for (const [args, re, code] of cases) {
    const r = await cli('eval', '--data', 'embedded', ...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.split('\n').length, 1);
  }
  assert.deepEqual(readdirSync(dir).sort(), ['junk.json', 'mlp.json']);
});

test('eval reads a .safetensors --save, a checkpoint file and a checkpoint folder, with no --model, for a model whose layers depend on --dropout', async () => {
  const st = join(dir, 'drop.safetensors');
  const ck = join(dir, 'ck');
  const t = await cli(
    'train',
    '--data',
    'embedded',
    '--model',
    'mlp',
    '--dropout',
    '0.5',
    '--limit',
    '600',
    '--test-limit',
    '300',
    '--epochs',
    '2',
    '--seed',
    '4',
    '--json',
    '--save',
    st,
    '--checkpoint-dir',
    ck,
  );
  assert.equal(t.code, 0, t.err);
  const record = JSON.parse(
    t.out
      .split('\n')
      .filter((l) => l.startsWith('{"epoch"'))
      .pop()!,
  );
  const ckFile = join(
    ck,
    readdirSync(ck)
      .filter((f) => f.endsWith('.dckpt'))
      .sort()
      .pop()!,
  );
  for (const weights of [st, ck, ckFile]) {
    const e = await cli('eval', '--weights', weights, '--data', 'embedded', '--test-limit', '300', '--json');
    assert.equal(e.code, 0, `${weights}: ${e.err}`);
    const r = JSON.parse(e.out);
    assert.equal(r.model, 'mlp');
    assert.equal(r.accuracy, record.testAccuracy, weights);
    assert.equal(r.weights, weights === ck ? ckFile : weights, 'the file read');
    assert.equal(e.err, '');
  }
  // A damaged newest checkpoint: the folder's previous one is read, said on stderr and named in the output.
  const names = readdirSync(ck)
    .filter((f) => f.endsWith('.dckpt'))
    .sort();
  assert.equal(names.length, 2);
  const damaged = join(dir, 'ck-damaged');
  mkdirSync(damaged);
  copyFileSync(join(ck, names[0]), join(damaged, names[0]));
  writeFileSync(join(damaged, names[1]), 'not a checkpoint');
  const warning = `${join(damaged, names[1])}: not a usable checkpoint (wrong magic bytes); using the previous good one, ${join(damaged, names[0])}`;
  const j = await cli('eval', '--weights', damaged, '--data', 'embedded', '--test-limit', '300', '--json');
  assert.equal(j.code, 0, j.err);
  assert.equal(j.err, `descent eval: ${warning}`);
  assert.equal(JSON.parse(j.out).weights, join(damaged, names[0]));
  const text = await cli('eval', '--weights', damaged, '--data', 'embedded', '--test-limit', '300');
  assert.equal(text.code, 0, text.err);
  assert.ok(text.out.startsWith(`weights: ${join(damaged, names[0])} (model mlp,`), text.out);
  const p = await cli('predict', '--weights', damaged, join(dir, 'absent.png'));
  assert.equal(p.err.split('\n')[0], `descent predict: ${warning}`);
  // The file is safetensors under PyTorch's names (a Dropout after each hidden Linear+ReLU shifts them).
  const bytes = readFileSync(st);
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)))),
  );
  assert.deepEqual(
    Object.keys(header)
      .filter((k) => k !== '__metadata__')
      .sort(),
    ['0.bias', '0.weight', '3.bias', '3.weight', '6.bias', '6.weight'],
  );
  assert.equal(header.__metadata__['descent.model'], 'mlp');
  assert.equal(header.__metadata__['descent.inputShape'], '[1,28,28]');
  // cut short: said to be truncated or corrupt, not a mismatch with the model
  const cut = join(dir, 'cut.safetensors');
  writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
  const c = await cli('eval', '--weights', cut, '--data', 'embedded', '--test-limit', '10');
  assert.equal(c.code, 1);
  assert.match(
    c.err,
    /^descent eval: \S+cut\.safetensors: truncated or corrupt safetensors file: tensor "\S+": data_offsets \[\d+, \d+\] run past the end of the data \(\d+ bytes after the header\)$/,
  );
});

test('eval refuses weights holding NaN or Infinity in every format, naming the file and the tensor', async () => {
  const ck = join(dir, 'nan-ck');
  const st = join(dir, 'nan-src.safetensors');
  const t = await cli(
    'train',
    ...['--data', 'embedded', '--limit', '200', '--test-limit', '100', '--epochs', '1'],
    ...['--checkpoint-dir', ck, '--save', st, '--json'],
  );
  assert.equal(t.code, 0, t.err);
  const bad: [string, string][] = [];
  // JSON: NaN and Infinity are written as null, and 1e400 overflows to Infinity
  const doc = JSON.parse(readFileSync(weights, 'utf8'));
  doc.state['2.bias'].data[0] = null;
  writeFileSync(join(dir, 'nan.json'), JSON.stringify(doc).replace(/("2\.bias".*?"data":\[null,)[^,]*/, '$11e400'));
  bad.push([join(dir, 'nan.json'), 'tensor "2.bias" holds 2 non-finite values']);
  const bytes = readFileSync(st);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
  bytes.writeFloatLE(Number.NEGATIVE_INFINITY, 8 + n + header['4.weight'].data_offsets[0]);
  writeFileSync(join(dir, 'nan.safetensors'), bytes);
  bad.push([join(dir, 'nan.safetensors'), 'tensor "4.weight" holds 1 non-finite value']);
  const name = readdirSync(ck).find((f) => f.endsWith('.dckpt'))!;
  const c = readCheckpoint(join(ck, name));
  c.model['0.weight'].data[7] = Number.NaN;
  writeFileSync(join(dir, 'nan.dckpt'), encodeCheckpoint(c));
  bad.push([join(dir, 'nan.dckpt'), 'tensor "0.weight" holds 1 non-finite value']);
  for (const [file, why] of bad) {
    for (const cmd of ['eval', 'predict']) {
      const args = cmd === 'eval' ? ['--data', 'embedded', '--test-limit', '10'] : [join(dir, 'absent.png')];
      const r = await cli(cmd, '--weights', file, ...args);
      assert.equal(r.code, 1, `${cmd} ${file}: ${r.out}`);
      assert.equal(r.err, `descent ${cmd}: ${file}: ${why}`);
      assert.equal(r.out, '');
    }
  }
});

test('eval applies the standardisation a CSV model was trained with, on the same --val-split', async () => {
  const csv = join(dir, 'points.csv');
  const rows = ['a,b,c,kind'];
  let s = 7;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 240; i++) {
    const k = i % 3;
    rows.push([100 + 40 * k + 30 * rnd(), -5 + 2 * rnd(), 1000 * k + 900 * rnd(), ['north', 'south', 'west'][k]].join(','));
  }
  writeFileSync(csv, `${rows.join('\n')}\n`);
  const st = join(dir, 'points.safetensors');
  const flags = ['--data', csv, '--label-column', 'kind', '--val-split', '0.25', '--seed', '2'];
  const t = await cli(
    'train',
    ...flags,
    '--standardize',
    '--model',
    'logreg',
    '--optimizer',
    'sgd',
    '--lr',
    '0.5',
    '--epochs',
    '3',
    '--batch-size',
    '16',
    '--json',
    '--save',
    st,
  );
  assert.equal(t.code, 0, t.err);
  const record = JSON.parse(
    t.out
      .split('\n')
      .filter((l) => l.startsWith('{"epoch"'))
      .pop()!,
  );
  const e = await cli('eval', '--weights', st, ...flags, '--json');
  assert.equal(e.code, 0, e.err);
  const r = JSON.parse(e.out);
  assert.equal(r.accuracy, record.testAccuracy);
  assert.deepEqual(r.classes, ['north', 'south', 'west']);
  // Without the saved statistics the raw features (hundreds) would give another accuracy; with a
  // data set of other classes the model is refused by name.
  const other = join(dir, 'other.csv');
  writeFileSync(other, `${rows.map((l, i) => (i === 0 ? l : l.replace(/west$/, 'east'))).join('\n')}\n`);
  const bad = await cli('eval', '--weights', st, '--data', other, '--label-column', 'kind', '--val-split', '0.25');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /other\.csv:4: label "east" is not a class of the model \("north", "south", "west"\)/);
  const p = await cli('predict', '--weights', st, join(dir, 'img0.png'));
  assert.equal(p.code, 2);
  assert.match(
    p.err,
    /img0\.png: the model \S+points\.safetensors was trained on CSV data and takes CSV rows with the feature columns "a", "b", "c", not images/,
  );

  // A file of its own is evaluated whole, in the model's label column and classes (this one lacks
  // "west"), with the saved statistics; its columns must be the model's.
  const test2 = join(dir, 'points-test.csv');
  writeFileSync(test2, `${rows.filter((l, i) => i === 0 || !l.endsWith('west')).join('\n')}\n`);
  const whole = await cli('eval', '--weights', st, '--data', test2, '--json');
  assert.equal(whole.code, 0, whole.err);
  const w = JSON.parse(whole.out);
  assert.equal(w.samples, 160);
  assert.deepEqual(w.classes, ['north', 'south', 'west']);
  assert.deepEqual(w.confusion[2], [0, 0, 0]);
  assert.match(w.data, /label column "kind".*160 samples, all evaluated, standardized with the saved statistics/);
  const cols = (f: (cells: string[]) => string[]) => `${rows.map((l) => f(l.split(',')).join(',')).join('\n')}\n`;
  for (const [name, text, re] of [
    ['drop.csv', cols((c) => [c[0], c[1], c[3]]), /this file lacks "c"$/],
    ['extra.csv', cols((c) => [...c, c[0] === 'a' ? 'd' : c[0]]), /this file has "d" besides \(--ignore-columns d leaves it out\)$/],
    [
      'renamed.csv',
      cols((c) => [c[0] === 'a' ? 'x' : c[0], c[1], c[2], c[3]]),
      /this file lacks "a" and has "x" besides \(--ignore-columns x leaves it out\)$/,
    ],
    ['swapped.csv', cols((c) => [c[1], c[0], c[2], c[3]]), /another order \(feature 0 is "b" here, "a" in training\)$/],
  ] as const) {
    writeFileSync(join(dir, name), text);
    const r = await cli('eval', '--weights', st, '--data', join(dir, name));
    assert.ok(r.code !== 0, `${name}: refused`);
    assert.equal(r.err.split('\n').length, 1, r.err);
    assert.match(r.err, re, `${name}: ${r.err}`);
    assert.match(r.err, /the model was trained on the feature columns "a", "b", "c" \(label "kind"\)/);
  }
  const img = await cli('eval', '--weights', st, '--data', 'embedded');
  assert.equal(img.code, 2);
  assert.match(
    img.err,
    /--data: the model was trained on the CSV columns "a", "b", "c" \(label "kind"\); give a CSV file with them, not the embedded Fashion-MNIST/,
  );
});

test("eval's ROC AUC and average precision are rankingReport's of the model's own probabilities (predict --json), with a class absent, one class, and two classes", async () => {
  let s = 11;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const write = (name: string, kinds: string[], rows: number) => {
    const lines = ['a,b,kind'];
    for (let i = 0; i < rows; i++) {
      const k = i % kinds.length;
      lines.push([(k + 2 * rnd()).toFixed(3), (rnd() - 0.3 * k).toFixed(3), kinds[k]].join(','));
    }
    const file = join(dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return { file, lines };
  };
  const kinds = ['north', 'south', 'west'];
  const three = write('ranking3.csv', kinds, 150);
  const w3 = join(dir, 'ranking3.json');
  const train = (data: string, out: string) =>
    cli(
      'train',
      '--data',
      data,
      '--label-column',
      'kind',
      '--val-split',
      '0.2',
      '--standardize',
      '--model',
      'logreg',
      '--epochs',
      '3',
      '--save',
      out,
    );
  const t = await train(three.file, w3);
  assert.equal(t.code, 0, t.err);
  // the probabilities predict gives each row, and its label, then the report the test computes of them
  const expected = async (weights: string, file: string, lines: string[], classes: string[]) => {
    const p = await cli('predict', '--weights', weights, file, '--json');
    assert.equal(p.code, 0, p.err);
    const records = p.out.split('\n').map((l) => JSON.parse(l) as { probabilities: Record<string, number> });
    const probabilities = records.flatMap((rec) => classes.map((c) => rec.probabilities[c]));
    const labels = lines.slice(1).map((l) => classes.indexOf(l.split(',')[2]));
    return { probabilities, labels };
  };
  const e = await cli('eval', '--weights', w3, '--data', three.file, '--label-column', 'kind', '--json');
  assert.equal(e.code, 0, e.err);
  const r = JSON.parse(e.out);
  assert.equal(r.samples, 150);
  const x = await expected(w3, three.file, three.lines, kinds);
  assert.deepEqual(r.ranking, rankingReport(x.probabilities, x.labels, kinds));
  assert.equal(
    r.ranking.perClass[1].rocAuc,
    rocAuc(
      x.labels.map((_, i) => x.probabilities[i * 3 + 1]),
      x.labels.map((y) => (y === 1 ? 1 : 0)),
    ),
  );
  const text = await cli('eval', '--weights', w3, '--data', three.file, '--label-column', 'kind');
  assert.equal(text.code, 0, text.err);
  assert.ok(
    text.out
      .split('\n')
      .some(
        (l) =>
          l.startsWith('macro avg') &&
          l.endsWith(` ${r.ranking.macro.rocAuc.toFixed(4)}    ${r.ranking.macro.averagePrecision.toFixed(4)}`),
      ),
    text.out,
  );

  // a test file without "west": its row says n/a and the averages are over north and south
  const two = join(dir, 'ranking3-no-west.csv');
  const kept = three.lines.filter((l) => !l.endsWith(',west'));
  writeFileSync(two, `${kept.join('\n')}\n`);
  const a = JSON.parse((await cli('eval', '--weights', w3, '--data', two, '--label-column', 'kind', '--json')).out);
  const y = await expected(w3, two, kept, kinds);
  assert.deepEqual(a.ranking, rankingReport(y.probabilities, y.labels, kinds));
  assert.deepEqual(a.ranking.perClass[2], { name: 'west', rocAuc: null, averagePrecision: null, support: 0 });
  const at = await cli('eval', '--weights', w3, '--data', two, '--label-column', 'kind');
  assert.match(at.out, /^west +0\.0000 +0\.0000 +0\.0000 +0 +n\/a +n\/a$/m);
  assert.match(at.out, /^n\/a: no test sample of the class, so no ROC AUC or average precision; the averages leave it out$/m);

  // one class only: no ranking (JSON null), said in a line
  const one = join(dir, 'ranking3-south.csv');
  writeFileSync(one, `${three.lines.filter((l, i) => i === 0 || l.endsWith(',south')).join('\n')}\n`);
  const o = await cli('eval', '--weights', w3, '--data', one, '--label-column', 'kind', '--json');
  assert.equal(o.code, 0, o.err);
  assert.equal(JSON.parse(o.out).ranking, null);
  const ot = await cli('eval', '--weights', w3, '--data', one, '--label-column', 'kind');
  assert.match(ot.out, /^ROC AUC and average precision: undefined, every test sample is of class "south"$/m);
  assert.match(ot.out, /^south +1\.0000 +0\.\d{4} +0\.\d{4} +50 +n\/a +n\/a$/m);

  // two classes: the binary figures of class 1 ("yes") as roc_auc_score(y, p[:, 1]) gives them
  const yesNo = write('ranking2.csv', ['no', 'yes'], 120);
  const w2 = join(dir, 'ranking2.json');
  assert.equal((await train(yesNo.file, w2)).code, 0);
  const b = JSON.parse((await cli('eval', '--weights', w2, '--data', yesNo.file, '--label-column', 'kind', '--json')).out);
  const z = await expected(w2, yesNo.file, yesNo.lines, ['no', 'yes']);
  const p1 = z.labels.map((_, i) => z.probabilities[i * 2 + 1]);
  assert.deepEqual(b.ranking.binary, { positive: 'yes', rocAuc: rocAuc(p1, z.labels), averagePrecision: averagePrecision(p1, z.labels) });
  const bt = await cli('eval', '--weights', w2, '--data', yesNo.file, '--label-column', 'kind');
  assert.ok(
    bt.out.includes(
      `binary, class "yes" positive (its probability as the score): ROC AUC ${b.ranking.binary.rocAuc.toFixed(4)}  average precision ${b.ranking.binary.averagePrecision.toFixed(4)}`,
    ),
    bt.out,
  );
});
