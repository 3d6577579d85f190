/**
 * Data files a hostile or clumsy user might hand over: a gzip bomb is refused after inflating no
 * more than its IDX header announces, an unreadable folder says "permission denied" (not "not
 * found"), and train and test images of different sizes are refused when loaded, before training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip, gzipSync, constants } from 'node:zlib';
import { once } from 'node:events';
import { encodeIdx } from '../../src/data/idx.js';
import { fsErrorReason, loadFashionMnist, readIdxFile } from '../../src/data/node.js';
import { runWithRss } from '../cli/rss.js';
import { tempDir } from '../tmp-dir.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const NAMES = { ti: 'train-images-idx3-ubyte', tl: 'train-labels-idx1-ubyte', vi: 't10k-images-idx3-ubyte', vl: 't10k-labels-idx1-ubyte' };

function images(n: number, h: number, w: number): Uint8Array {
  return encodeIdx({ dtype: 'uint8', shape: [n, h, w], data: Uint8Array.from({ length: n * h * w }, (_, i) => (i * 7) % 256) });
}
function labels(n: number): Uint8Array {
  return encodeIdx({ dtype: 'uint8', shape: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
}

/** A folder of the four files, with `ti` and `vi` images of the given sizes. */
function dataDir(train: [number, number], test: [number, number]): string {
  const dir = tempDir('descent-data-');
  writeFileSync(join(dir, NAMES.ti), images(20, ...train));
  writeFileSync(join(dir, NAMES.tl), labels(20));
  writeFileSync(join(dir, NAMES.vi), images(10, ...test));
  writeFileSync(join(dir, NAMES.vl), labels(10));
  return dir;
}

test('a 1 MB gzip that expands to 1 GiB is refused after inflating only what its header announces', async () => {
  const dir = dataDir([28, 28], [28, 28]);
  const bomb = join(dir, `${NAMES.ti}.gz`);
  // A valid header and 2 images (1584 bytes), then 1 GiB of zeros: about 1 MB compressed.
  const gz = createGzip({ level: 1, chunkSize: 1 << 20 });
  const out = createWriteStream(bomb);
  gz.pipe(out);
  gz.write(images(2, 28, 28));
  const zeros = Buffer.alloc(1 << 22);
  for (let i = 0; i < 256; i++) if (!gz.write(zeros)) await once(gz, 'drain');
  gz.end();
  await once(out, 'close');
  const r = runWithRss(['train', '--data', dir, '--epochs', '1']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /train-images-idx3-ubyte\.gz: the gzip data expands past the 1584 bytes its IDX header announces/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.ok(r.maxRssMB < 150, `peak ${r.maxRssMB.toFixed(0)} MB (the whole file inflated is 1 GiB)`);
});

test('gzipped IDX files (stored, fast, Huffman-only) read as before; a non-IDX gzip gets the header error', () => {
  const dir = tempDir('descent-gz-');
  const data = images(50, 28, 28);
  for (const level of [0, 1, 9]) {
    const p = join(dir, `l${level}.gz`);
    writeFileSync(p, gzipSync(data, { level, strategy: level === 9 ? constants.Z_HUFFMAN_ONLY : constants.Z_DEFAULT_STRATEGY }));
    assert.deepEqual(readIdxFile(p).shape, [50, 28, 28]);
  }
  // A gzip holding no IDX header: the header's own error, not a zlib one.
  const bad = join(dir, 'bad.gz');
  writeFileSync(bad, gzipSync(Buffer.from('hello world, not an idx file')));
  assert.throws(() => readIdxFile(bad), /bad magic number 0x68 0x65 0x6c 0x6c/);
  // Trailing bytes past the announced size inside the gzip: refused without reading them all.
  const extra = join(dir, 'extra.gz');
  writeFileSync(extra, gzipSync(Buffer.concat([data, Buffer.alloc(10)])));
  assert.throws(() => readIdxFile(extra), /expands past the 39216 bytes its IDX header announces/);
});

test('file-system errors are named by their cause: EACCES is "permission denied", only ENOENT is "not found"', () => {
  const err = (code: string) => Object.assign(new Error(`${code}: x`), { code });
  assert.equal(fsErrorReason(err('ENOENT'), 'folder'), 'folder not found');
  assert.match(fsErrorReason(err('EACCES'), 'folder'), /^permission denied: cannot read this folder/);
  assert.match(fsErrorReason(err('EPERM'), 'file'), /^permission denied: cannot read this file/);
  assert.equal(fsErrorReason(err('ENOTDIR'), 'folder'), 'not a directory');
  assert.equal(fsErrorReason(err('EISDIR'), 'file'), 'is a directory, expected a file');
});

test('an unreadable data folder is reported as permission denied (run as an unprivileged user)', () => {
  // Tests run as root, who reads everything; setpriv runs the bin as nobody (uid 65534).
  const root = tempDir('descent-perm-');
  chmodSync(root, 0o755);
  const dir = join(root, 'data');
  mkdirSync(dir);
  for (const [k, f] of Object.entries(NAMES)) writeFileSync(join(dir, f), k.endsWith('i') ? images(2, 28, 28) : labels(2));
  chmodSync(dir, 0o700);
  const r = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, 'train', '--data', dir, '--epochs', '1'],
    { encoding: 'utf8' },
  );
  assert.equal(r.error, undefined, 'setpriv (util-linux) runs');
  assert.equal(r.status, 1, r.stderr);
  const line = r.stderr.trim();
  assert.equal(line.split('\n').length, 1, line);
  assert.ok(line.startsWith(`descent train: ${dir}: `), line);
  assert.match(line, /permission denied/);
  assert.doesNotMatch(line, /not found/);
  // Loading as root works (the same folder), so the message is about permissions, not the files.
  assert.equal(loadFashionMnist({ dir }).train.length, 2);
});

test('train and test images of different sizes are refused when loaded, before any training', () => {
  const dir = dataDir([28, 28], [14, 14]);
  assert.throws(
    () => loadFashionMnist({ dir }),
    /t10k-images-idx3-ubyte: test images are 1×14×14 \(channels×height×width\) but the training images are 1×28×28/,
  );
  const r = spawnSync(process.execPath, [bin, 'train', '--data', dir, '--epochs', '1', '--model', 'logreg'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /test images are 1×14×14 .* training images are 1×28×28/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.doesNotMatch(r.stdout, /epoch/);
});
