import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  readIdxFile,
  loadFashionMnist,
  loadEmbedded,
  embeddedDataDir,
  encodeIdx,
  DataFormatError,
  DEFAULT_FASHION_MNIST_DIR,
  EMBEDDED_TRAIN_SIZE,
  EMBEDDED_TEST_SIZE,
  EMBEDDED_TRAIN_PER_CLASS,
  EMBEDDED_TEST_PER_CLASS,
  FASHION_MNIST_FILES,
  fetchFashionMnist,
} from '../../src/node.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'descent-data-'));

const IMG = encodeIdx({ dtype: 'uint8', shape: [3, 2, 2], data: Uint8Array.from({ length: 12 }, (_, i) => i * 20) });
const _LAB = encodeIdx({ dtype: 'uint8', shape: [3], data: Uint8Array.from([1, 0, 9]) });

test('readIdxFile detects gzip by its magic bytes, not by the file name', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'plain.gz'), IMG); // misleading name, plain content
  writeFileSync(join(dir, 'zipped.idx'), gzipSync(IMG)); // misleading name, gzip content
  for (const f of ['plain.gz', 'zipped.idx']) {
    const a = readIdxFile(join(dir, f));
    assert.deepEqual(a.shape, [3, 2, 2]);
    assert.deepEqual(
      Array.from(a.data),
      Array.from({ length: 12 }, (_, i) => i * 20),
    );
  }
});

test('truncated gzip, corrupt gzip and missing files name the file and the problem', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gz = gzipSync(IMG);
  const truncated = join(dir, 'truncated.gz');
  writeFileSync(truncated, gz.subarray(0, gz.length - 10));
  const corrupt = join(dir, 'corrupt.gz');
  const bad = Buffer.from(gz);
  for (let i = 12; i < bad.length - 8; i++) bad[i] ^= 0x5a;
  writeFileSync(corrupt, bad);
  const check = (path: string, re: RegExp) =>
    assert.throws(
      () => readIdxFile(path),
      (e: unknown) => e instanceof DataFormatError && e.file === path && re.test(e.message),
    );
  check(truncated, /truncated gzip data/);
  check(corrupt, /corrupt gzip data/);
  check(join(dir, 'nope.gz'), /file not found/);
  // a gzip stream whose content is a truncated IDX file: the IDX check still names the file
  const short = join(dir, 'short-payload.gz');
  writeFileSync(short, gzipSync(IMG.subarray(0, IMG.length - 2)));
  check(short, /truncated payload: uint8 \[3, 2, 2\] needs 28 bytes .*got 26/);
});

function writeSet(dir: string, gz: boolean, n = 3) {
  mkdirSync(dir, { recursive: true });
  const F = FASHION_MNIST_FILES;
  const img = encodeIdx({ dtype: 'uint8', shape: [n, 2, 2], data: new Uint8Array(n * 4).fill(255) });
  const lab = encodeIdx({ dtype: 'uint8', shape: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
  for (const [name, bytes] of [
    [F.trainImages, img],
    [F.trainLabels, lab],
    [F.testImages, img],
    [F.testLabels, lab],
  ] as const) {
    writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  }
}

test('loadFashionMnist reads a given directory of gzipped or plain files', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeSet(join(dir, 'gz'), true, 3);
  writeSet(join(dir, 'plain'), false, 4);
  const a = loadFashionMnist({ dir: join(dir, 'gz') });
  assert.equal(a.train.length, 3);
  assert.deepEqual(a.train.shape, [1, 2, 2]);
  assert.equal(a.train.images[0], 1);
  const b = loadFashionMnist({ dir: join(dir, 'plain') });
  assert.equal(b.test.length, 4);
  assert.deepEqual(Array.from(b.test.labels), [0, 1, 2, 3]);
});

test('an incomplete directory names the missing file; a count mismatch names both files', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeSet(dir, true);
  rmSync(join(dir, `${FASHION_MNIST_FILES.testLabels}.gz`));
  assert.throws(() => loadFashionMnist({ dir }), /t10k-labels-idx1-ubyte: file not found .* incomplete/);
  writeFileSync(join(dir, FASHION_MNIST_FILES.testLabels), encodeIdx({ dtype: 'uint8', shape: [2], data: new Uint8Array(2) }));
  assert.throws(
    () => loadFashionMnist({ dir }),
    (e: unknown) =>
      e instanceof DataFormatError &&
      e.message.includes('t10k-images-idx3-ubyte.gz') &&
      e.message.includes('t10k-labels-idx1-ubyte') &&
      /image\/label count mismatch: 3 images but 2 labels/.test(e.message),
  );
});

test('the embedded default set loads with its documented counts and exact class balance', () => {
  const d = loadEmbedded();
  assert.equal(EMBEDDED_TRAIN_SIZE, 10000);
  assert.equal(EMBEDDED_TEST_SIZE, 2000);
  assert.equal(d.train.length, EMBEDDED_TRAIN_SIZE);
  assert.equal(d.test.length, EMBEDDED_TEST_SIZE);
  assert.deepEqual(d.train.shape, [1, 28, 28]);
  assert.deepEqual(d.train.classCounts(), new Array(10).fill(EMBEDDED_TRAIN_PER_CLASS));
  assert.deepEqual(d.test.classCounts(), new Array(10).fill(EMBEDDED_TEST_PER_CLASS));
  assert.equal(d.source, embeddedDataDir());
  // real images: pixels span [0, 1], and a typical image is neither blank nor saturated
  let min = Infinity,
    max = -Infinity,
    sum = 0;
  for (const v of d.train.images) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  const mean = sum / d.train.images.length;
  assert.ok(mean > 0.2 && mean < 0.4, `mean pixel ${mean} (Fashion-MNIST's is 0.286)`);
});

test('the embedded files can also be read with fetch + DecompressionStream (the browser path)', async () => {
  const dir = embeddedDataDir();
  const seen: string[] = [];
  const fetchFile = (async (url: URL) => {
    seen.push(url.href);
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    try {
      return new Response(readFileSync(fileURLToPath(url)));
    } catch {
      return new Response(null, { status: 404 });
    }
  }) as unknown as typeof fetch;
  const d = await fetchFashionMnist(new URL(`file://${dir}/`), fetchFile);
  const ref = loadEmbedded();
  assert.equal(d.test.length, EMBEDDED_TEST_SIZE);
  assert.deepEqual(d.test.labels, ref.test.labels);
  assert.deepEqual(d.test.images.subarray(0, 784 * 5), ref.test.images.subarray(0, 784 * 5));
  assert.ok(seen.every((u) => u.endsWith('.gz')));
});

if (existsSync(DEFAULT_FASHION_MNIST_DIR)) {
  test(`the full Fashion-MNIST in ${DEFAULT_FASHION_MNIST_DIR} loads with 60000/10000 samples`, () => {
    const d = loadFashionMnist();
    assert.equal(d.train.length, 60000);
    assert.equal(d.test.length, 10000);
    assert.deepEqual(d.train.shape, [1, 28, 28]);
    assert.deepEqual(d.train.classCounts(), new Array(10).fill(6000));
    assert.deepEqual(d.test.classCounts(), new Array(10).fill(1000));
    assert.equal(d.source, DEFAULT_FASHION_MNIST_DIR);
  });
} else {
  test(`without ${DEFAULT_FASHION_MNIST_DIR}, loading gives the not-found error listing where it looked`, () => {
    assert.throws(
      () => loadFashionMnist(),
      (e: unknown) =>
        e instanceof DataFormatError &&
        e.message.includes(DEFAULT_FASHION_MNIST_DIR) &&
        /apt-get install dataset-fashion-mnist/.test(e.message),
    );
  });
}

test('a directory without the data set gives a not-found error listing where it looked', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(
    () => loadFashionMnist({ dir }),
    (e: unknown) => e instanceof DataFormatError && e.message.includes(`looked for train-images-idx3-ubyte[.gz] in ${dir}`),
  );
});
