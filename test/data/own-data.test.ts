/**
 * Users' own data, library level: CSV tables, PNG/JPEG decoding, bilinear resizing (against
 * PyTorch), channel conversion, standardisation and the seeded split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import {
  readCsvTable,
  readCsvColumns,
  CsvColumnsError,
  loadCsv,
  readImageFile,
  decodeImage,
  listImageFolder,
  resizeBilinear,
  convertChannels,
  parseImageSize,
  fitStandardize,
  applyPreprocess,
  checkPreprocess,
  preprocessDataset,
  randomSplit,
  Dataset,
  DataFormatError,
  Rng,
} from '../../src/node.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'descent-own-'));

function pngBytes(width: number, height: number, rgba: (x: number, y: number) => [number, number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = 4 * (y * width + x);
      const [r, g, b, a] = rgba(x, y);
      png.data[o] = r;
      png.data[o + 1] = g;
      png.data[o + 2] = b;
      png.data[o + 3] = a;
    }
  return PNG.sync.write(png);
}

function greyPng(width: number, height: number, v: (x: number, y: number) => number): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(Array.from({ length: width * height }, (_, i) => v(i % width, Math.floor(i / width))));
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

test('resizeBilinear equals PyTorch F.interpolate(bilinear, align_corners=False) (fixture from tools/golden_resize.py)', () => {
  const fx = JSON.parse(readFileSync(new URL('../../../test/fixtures/data/resize.json', import.meta.url), 'utf8'));
  assert.ok(fx.cases.length >= 6);
  for (const c of fx.cases) {
    const y = resizeBilinear(Float32Array.from(c.x), c.shape, c.size[0], c.size[1]);
    assert.equal(y.length, c.y.length, c.name);
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - c.y[i]));
    // One float32 rounding of a value in [0, 1]: at most 2^-25.
    assert.ok(worst <= 2 ** -25, `${c.name}: max |descent − torch| = ${worst}`);
  }
  const same = Float32Array.from([1, 2, 3, 4]);
  assert.equal(resizeBilinear(same, [1, 2, 2], 2, 2), same, 'no resize when the size matches');
});

test('convertChannels: grey → RGB repeats the plane, RGB → grey is the ITU-R 601-2 luma', () => {
  const g = Float32Array.from([0.1, 0.5]);
  assert.deepEqual(Array.from(convertChannels(g, [1, 1, 2], 3)), Array.from(Float32Array.from([0.1, 0.5, 0.1, 0.5, 0.1, 0.5])));
  const rgb = Float32Array.from([1, 0, 0, 1, 0, 0]);
  assert.deepEqual(Array.from(convertChannels(rgb, [3, 1, 2], 1)), Array.from(Float32Array.from([0.299, 0.587])));
  assert.deepEqual(parseImageSize('28x32'), [28, 32]);
  assert.deepEqual(parseImageSize('64'), [64, 64]);
  assert.equal(parseImageSize('28x'), null);
  assert.equal(parseImageSize('0x5'), null);
});

test('readImageFile: grey and colour PNG, alpha dropped, channel conversion and resize', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const grey = join(dir, 'grey.png');
  writeFileSync(
    grey,
    greyPng(3, 2, (x, y) => 40 * x + 100 * y + 1),
  );
  const g = readImageFile(grey);
  assert.deepEqual(g.shape, [1, 2, 3]);
  assert.deepEqual(Array.from(g.data), Array.from(Float32Array.from([1, 41, 81, 101, 141, 181].map((v) => v / 255))));
  const g3 = readImageFile(grey, { channels: 3 });
  assert.deepEqual(g3.shape, [3, 2, 3]);
  assert.deepEqual(Array.from(g3.data.subarray(6, 12)), Array.from(g.data));

  const colour = join(dir, 'colour.png');
  writeFileSync(
    colour,
    pngBytes(2, 1, (x) => (x === 0 ? [255, 0, 10, 0] : [0, 255, 20, 128])),
  );
  const c = readImageFile(colour);
  assert.deepEqual(c.shape, [3, 1, 2]);
  assert.deepEqual(
    Array.from(c.data),
    Array.from(Float32Array.from([255, 0, 0, 255, 10, 20].map((v) => v / 255))),
    'CHW planes, alpha ignored',
  );
  const c1 = readImageFile(colour, { channels: 1 });
  assert.deepEqual(c1.shape, [1, 1, 2]);
  assert.ok(Math.abs(c1.data[0] - (0.299 * 255 + 0.114 * 10) / 255) < 1e-6);

  const r = readImageFile(grey, { size: [4, 6] });
  assert.deepEqual(r.shape, [1, 4, 6]);
  assert.deepEqual(Array.from(r.data), Array.from(resizeBilinear(g.data, [1, 2, 3], 4, 6)));
});

test('readImageFile decodes JPEG (jpeg-js); a grey JPEG has one channel', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const w = 16;
  const h = 8;
  const make = (colour: boolean) => {
    const data = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      const v = 8 * (i % w) + 4 * Math.floor(i / w);
      data[4 * i] = v;
      data[4 * i + 1] = colour ? 255 - v : v;
      data[4 * i + 2] = colour ? 128 : v;
      data[4 * i + 3] = 255;
    }
    return jpeg.encode({ data, width: w, height: h }, 100).data;
  };
  writeFileSync(join(dir, 'c.jpg'), make(true));
  writeFileSync(join(dir, 'g.jpeg'), make(false));
  const c = readImageFile(join(dir, 'c.jpg'));
  assert.deepEqual(c.shape, [3, h, w]);
  const g = readImageFile(join(dir, 'g.jpeg'));
  assert.deepEqual(g.shape, [1, h, w]);
  for (let i = 0; i < w * h; i++) {
    const v = (8 * (i % w) + 4 * Math.floor(i / w)) / 255;
    assert.ok(Math.abs(g.data[i] - v) < 4 / 255, `grey pixel ${i}: ${g.data[i]} vs ${v}`);
    assert.ok(Math.abs(c.data[w * h + i] - (1 - v)) < 8 / 255, `green pixel ${i}`);
  }
});

test('undecodable images are refused with the path and the problem', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = join(dir, 'text.png');
  writeFileSync(text, 'hello');
  assert.throws(
    () => readImageFile(text),
    (e: Error) => e instanceof DataFormatError && /text\.png: not a PNG or JPEG image \(it starts with 68 65 6c 6c\)/.test(e.message),
  );
  const cut = join(dir, 'cut.png');
  writeFileSync(cut, greyPng(8, 8, () => 7).subarray(0, 40));
  assert.throws(() => readImageFile(cut), /cut\.png: corrupt or unsupported PNG image \(pngjs: /);
  const cutJpeg = join(dir, 'cut.jpg');
  writeFileSync(cutJpeg, jpeg.encode({ data: Buffer.alloc(8 * 8 * 4, 200), width: 8, height: 8 }, 90).data.subarray(0, 100));
  assert.throws(() => readImageFile(cutJpeg), /cut\.jpg: corrupt or unsupported JPEG image \(jpeg-js: /);
  assert.throws(() => readImageFile(join(dir, 'none.png')), /none\.png: cannot be read: file not found/);
  assert.throws(() => decodeImage(new Uint8Array(0), 'x'), /x: not a PNG or JPEG image \(the file is empty\)/);
  assert.throws(() => readImageFile(text, { channels: 2 as 1 }), /channels must be 1 or 3, got 2/);
});

test('CSV: label column by name, index or negative index; string labels in sorted order; quotes, BOM, CRLF, blank lines', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'd.csv');
  writeFileSync(p, '\ufeffx, y ,species\r\n1.5,-2e-1,setosa\r\n\r\n"3",.25,"vir,ginica"\r\n0,7,setosa\r\n');
  const t1 = await readCsvTable(p, { labelColumn: 'species' });
  assert.deepEqual(t1.header, ['x', 'y', 'species']);
  assert.equal(t1.rows, 3);
  assert.deepEqual(Array.from(t1.features), Array.from(Float32Array.from([1.5, -0.2, 3, 0.25, 0, 7])));
  assert.deepEqual(t1.labels, ['setosa', 'vir,ginica', 'setosa']);
  assert.deepEqual(Array.from(t1.lines), [2, 4, 5]);
  for (const spec of [2, -1, '2', '-1']) assert.equal((await readCsvTable(p, { labelColumn: spec })).labelColumn, 2, String(spec));
  const d = await loadCsv(p, { labelColumn: 'species' });
  assert.equal(d.labelKind, 'string');
  assert.deepEqual(d.classes, ['setosa', 'vir,ginica']);
  assert.deepEqual(Array.from(d.train.labels), [0, 1, 0]);
  assert.deepEqual(d.train.shape, [1, 1, 2]);
  // Label in the middle: the features keep their order around it.
  const q = join(dir, 'q.csv');
  writeFileSync(q, 'a,label,b\n1,x,2\n3,y,4\n');
  assert.deepEqual(Array.from((await loadCsv(q)).train.images), [1, 2, 3, 4]);
});

test('CSV: integer labels sort numerically; the test file takes the classes of the training file and adds none', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'tr.csv'), 'label,f\n10,1\n9,2\n2,3\n');
  writeFileSync(join(dir, 'te.csv'), 'label,f\n2,1\n10,2\n');
  const d = await loadCsv(join(dir, 'tr.csv'), { testPath: join(dir, 'te.csv') });
  assert.equal(d.labelKind, 'integer');
  assert.deepEqual(d.classes, ['2', '9', '10']);
  assert.deepEqual(Array.from(d.train.labels), [2, 1, 0]);
  assert.deepEqual(Array.from(d.test!.labels), [0, 2]);
  writeFileSync(join(dir, 'te-new.csv'), 'label,f\n2,1\n\n11,2\n');
  await assert.rejects(
    loadCsv(join(dir, 'tr.csv'), { testPath: join(dir, 'te-new.csv') }),
    /te-new\.csv:4: class "11" is not a class of .*tr\.csv \("2", "9", "10"\); a test file may lack a class but not add one/,
  );
  writeFileSync(join(dir, 's-tr.csv'), 'species,f\nsetosa,1\nvirginica,2\n');
  writeFileSync(join(dir, 's-te.csv'), 'species,f\nsetosa,1\nbird,2\n');
  await assert.rejects(
    loadCsv(join(dir, 's-tr.csv'), { labelColumn: 'species', testPath: join(dir, 's-te.csv') }),
    /s-te\.csv:3: class "bird" is not a class of .*s-tr\.csv/,
  );
  writeFileSync(join(dir, 'other.csv'), 'label,g\n2,1\n');
  await assert.rejects(
    loadCsv(join(dir, 'tr.csv'), { testPath: join(dir, 'other.csv') }),
    /other\.csv: header differs from the one of .*tr\.csv: column 1 is "g" here, "f" there/,
  );
});

test('fitStandardize: mean and population std per feature, of the given samples only; constant features keep std 1', () => {
  const images = Float32Array.from([1, 5, 3, 5, 8, 5]); // 3 samples × 2 features; feature 1 constant
  const ds = new Dataset({ images, labels: Int32Array.from([0, 1, 0]), shape: [1, 1, 2], classes: ['a', 'b'] });
  const p = fitStandardize(ds);
  const m = (1 + 3 + 8) / 3;
  assert.deepEqual(p.mean, [m, 5]);
  assert.equal(p.std[0], Math.sqrt(((1 - m) ** 2 + (3 - m) ** 2 + (8 - m) ** 2) / 3));
  assert.equal(p.std[1], 1);
  const z = preprocessDataset(p, ds).images;
  assert.deepEqual(Array.from(z), Array.from(applyPreprocess(p, images)));
  assert.equal(z[0], Math.fround((1 - m) / p.std[0]));
  assert.equal(z[1], 0);
  // It survives JSON, the way a saved model keeps it.
  assert.deepEqual(checkPreprocess(JSON.parse(JSON.stringify(p)), 2), p);
  assert.throws(() => checkPreprocess(p, 3), /fitted on 2 features, but the samples have 3/);
  assert.throws(() => checkPreprocess({ kind: 'standardize', mean: [0], std: [0] }), /std\[0\] is 0/);
  assert.throws(() => checkPreprocess({ kind: 'minmax' }), /unknown kind "minmax"/);
  assert.throws(() => applyPreprocess(p, new Float32Array(3)), /3 values are not a whole number of samples of 2 features/);
});

test('randomSplit: a pure function of the seed; disjoint parts that keep the data order', () => {
  const n = 101;
  const ds = new Dataset({
    images: Float32Array.from({ length: n }, (_, i) => i),
    labels: new Int32Array(n),
    shape: [1, 1, 1],
    classes: ['a'],
  });
  const a = randomSplit(ds, 0.3, new Rng(7).fork('val-split'));
  const b = randomSplit(ds, 0.3, new Rng(7).fork('val-split'));
  const c = randomSplit(ds, 0.3, new Rng(8).fork('val-split'));
  assert.equal(a.val.length, 30);
  assert.equal(a.train.length, 71);
  assert.deepEqual(Array.from(a.val.images), Array.from(b.val.images));
  assert.notDeepEqual(Array.from(a.val.images), Array.from(c.val.images));
  const all = [...a.train.images, ...a.val.images].sort((x, y) => x - y);
  assert.deepEqual(
    all,
    Array.from({ length: n }, (_, i) => i),
  );
  const inc = (v: Float32Array) => v.every((x, i) => i === 0 || v[i - 1] < x);
  assert.ok(inc(a.train.images) && inc(a.val.images), 'both parts in data order');
  assert.throws(() => randomSplit(ds, 0.001, new Rng(1)), /leaves 0 to validate/);
  assert.throws(() => randomSplit(ds, 1, new Rng(1)), /fraction must be in \(0, 1\)/);
});

test('CSV: a folder, or a header with nothing but the label column, is refused with the path', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    readCsvTable(dir),
    (e: Error) => e instanceof DataFormatError && e.message === `${dir}: cannot be read: is a folder, expected a CSV file`,
  );
  writeFileSync(join(dir, 'l.csv'), 'label\n1\n');
  await assert.rejects(readCsvTable(join(dir, 'l.csv')), /l\.csv:1: the header has only the label column "label"/);
});

test('readCsvColumns: named columns in the order asked, in batches of consecutive rows; the errors of readCsvTable', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'r.csv');
  writeFileSync(p, 'id,y,label,x\nr1,1,a,10\n\nr2,2,b,20\nr3,3,,30\nr4,4e1,a,-4\nr5,.5,a,5\n');
  const batches = [];
  for await (const b of readCsvColumns(p, ['x', 'y'], { batchRows: 2 })) batches.push({ ...b, values: [...b.values], lines: [...b.lines] });
  assert.deepEqual(batches, [
    { values: [10, 1, 20, 2], rows: 2, start: 0, lines: [2, 4] },
    { values: [30, 3, -4, 40], rows: 2, start: 2, lines: [5, 6] },
    { values: [5, 0.5], rows: 1, start: 4, lines: [7] },
  ]);
  const all = async (path: string, names: string[]) => {
    for await (const _ of readCsvColumns(path, names)) {
      // read to the end
    }
  };
  await assert.rejects(
    all(p, ['x', 'z', 'w']),
    (e: Error) =>
      e instanceof CsvColumnsError &&
      e.message === `${p}:1: no columns "z", "w" (columns: "id", "y", "label", "x")` &&
      e.missing.join() === 'z,w',
  );
  writeFileSync(join(dir, 'bad.csv'), 'x,y\n1,2\n3,\n');
  await assert.rejects(
    all(join(dir, 'bad.csv'), ['y']),
    /bad\.csv:3: column 1 \("y"\): is empty, a missing value; every feature needs a number/,
  );
  // a column not asked for is not read: "3," passes when only x is read
  await all(join(dir, 'bad.csv'), ['x']);
  writeFileSync(join(dir, 'empty.csv'), '');
  await assert.rejects(all(join(dir, 'empty.csv'), ['x']), /empty\.csv: empty file: expected a header row/);
  await assert.rejects(all(dir, ['x']), /cannot be read: is a folder, expected a CSV file/);
  await assert.rejects(all(p, []), /readCsvColumns: no column names given/);
});

test('listImageFolder: sorted classes, files by folder then name at any depth, a link loop entered once', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const png = greyPng(2, 2, () => 0);
  for (const f of ['b/2.png', 'b/10.png', 'b/sub/1.jpg', 'a/x.PNG', 'a/notes.txt', '.hidden/0.png']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), png);
  }
  symlinkSync('.', join(dir, 'a', 'self'));
  const l = listImageFolder(dir);
  assert.deepEqual(l.classes, ['a', 'b']);
  assert.deepEqual(
    l.files.map((f) => [f.path.slice(dir.length + 1), f.label]),
    [
      ['a/x.PNG', 0],
      ['b/10.png', 1],
      ['b/2.png', 1],
      ['b/sub/1.jpg', 1],
    ],
  );
});
