/**
 * The fingerprint of users' own data that a checkpoint stores and --resume checks: computed once
 * per run (the resume check and the checkpoints the resumed run writes share it); an image folder's
 * covers the files' contents, so an image edited in place with its size and time kept is found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { dataFingerprint, fingerprintsComputed } from '../../src/cli/data.js';
import { readCheckpoint } from '../../src/io/checkpoints.js';
import { encodeCheckpoint } from '../../src/train/checkpoint.js';
import { tempDir } from '../tmp-dir.js';

const tmp = () => tempDir('descent-fp-');

function csvFile(dir: string): string {
  const rows = ['x,y,label'];
  for (let i = 0; i < 60; i++) rows.push(`${(i % 7) / 7},${(i % 5) / 5},${i % 3}`);
  const path = join(dir, 'd.csv');
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

/** The fingerprints computed while `run` runs. */
async function hashes(run: () => Promise<{ code: number; err: string }>): Promise<number> {
  const before = fingerprintsComputed.count;
  const r = await run();
  assert.equal(r.code, 0, r.err);
  return fingerprintsComputed.count - before;
}

test('a run hashes each data file once: a resumed run checks the data and stores the same fingerprint in its checkpoints', async () => {
  const dir = tmp();
  const csv = csvFile(dir);
  const testCsv = join(dir, 't.csv');
  writeFileSync(testCsv, `x,y,label\n0.5,0.5,1\n0.25,0.75,2\n0,1,0\n`);
  const ck = join(dir, 'ck');
  const args = ['--data', csv, '--test-data', testCsv, '--batch-size', '20', '--checkpoint-dir', ck, '--json'];
  assert.equal(await hashes(() => cli('train', ...args, '--epochs', '1')), 2, 'the first run: --data and --test-data');
  assert.equal(
    await hashes(() => cli('train', '--resume', ck, '--epochs', '2', '--json')),
    2,
    'resumed: each file once, not once to check and again to store',
  );
  // through the averaging path (--swa goes through runEnsembleTrain) likewise
  const ck2 = join(dir, 'ck2');
  const swa = ['--data', csv, '--val-split', '0.25', '--batch-size', '20', '--swa', '1', '--checkpoint-dir', ck2, '--json'];
  assert.equal(await hashes(() => cli('train', ...swa, '--epochs', '1')), 1);
  assert.equal(await hashes(() => cli('train', '--resume', ck2, '--epochs', '2', '--json')), 1);
  // --ensemble N stores nothing (it takes no --checkpoint-dir): its members hash nothing
  assert.equal(
    await hashes(() =>
      cli('train', '--data', csv, '--val-split', '0.25', '--batch-size', '20', '--epochs', '1', '--ensemble', '3', '--json'),
    ),
    0,
  );
});

function greyPng(px: Uint8Array): Buffer {
  const png = new PNG({ width: 4, height: 4, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(px);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

const STAMP = 1_700_000_000;

/** 3 classes of 12 grey 4×4 images; each class a brightness. */
function imageFolder(dir: string): string {
  for (let c = 0; c < 3; c++) {
    mkdirSync(join(dir, `c${c}`), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const px = new Uint8Array(16).map((_, k) => (c * 80 + ((i * 7 + k * 3) % 40)) & 255);
      const file = join(dir, `c${c}`, `${i}.png`);
      writeFileSync(file, greyPng(px));
      utimesSync(file, STAMP, STAMP); // a whole second, which utimes sets exactly
    }
  }
  return dir;
}

/** Another valid PNG of exactly `file`'s size (one pixel changed), written over it with its times kept. */
function editInPlace(file: string): void {
  const before = statSync(file);
  const px = PNG.sync.read(readFileSync(file)).data.filter((_, k) => k % 4 === 0); // the grey channel of RGBA
  for (let v = 0; v < 256; v++) {
    if (v === px[5]) continue;
    const edited = px.slice();
    edited[5] = v;
    const bytes = greyPng(edited);
    if (bytes.length !== before.size) continue;
    writeFileSync(file, bytes);
    utimesSync(file, before.atimeMs / 1000, before.mtimeMs / 1000);
    return;
  }
  assert.fail(`no same-size edit of ${file}`);
}

test('an image edited in place (same size, same modification time) refuses --resume, naming the folder; a checkpoint without the contents hash is checked by names and sizes', async () => {
  const dir = tmp();
  const images = imageFolder(join(dir, 'images'));
  const ck = join(dir, 'ck');
  const first = await cli(
    'train',
    '--data',
    images,
    '--val-split',
    '0.25',
    '--batch-size',
    '9',
    '--epochs',
    '1',
    '--checkpoint-dir',
    ck,
    '--json',
  );
  assert.equal(first.code, 0, first.err);
  const file = join(images, 'c1', '4.png');
  const { size, mtimeMs } = statSync(file);
  const names = dataFingerprint(images)!.sha256;
  editInPlace(file);
  assert.equal(statSync(file).size, size, 'the same size');
  assert.equal(statSync(file).mtimeMs, mtimeMs, 'the same modification time');
  assert.equal(dataFingerprint(images)!.sha256, names, 'the names and sizes alone do not see the edit');
  const r = await cli('train', '--resume', ck, '--epochs', '2', '--json');
  assert.equal(r.code, 2);
  assert.equal(
    r.err,
    `descent train: --data ${images}: changed since the run checkpointed in ${ck} began (a file's content differs (same names and sizes; SHA-256 of the contents)); resume with the data it was trained on, or start a new run`,
  );
  assert.equal(r.out, '', 'refused before training');
  // a checkpoint whose fingerprint has no contents hash: names and sizes are compared, and they match
  const last = join(
    ck,
    readdirSync(ck)
      .filter((n) => n.endsWith('.dckpt'))
      .sort()
      .pop()!,
  );
  const c = readCheckpoint(last);
  delete (c.meta as { fingerprints: { data: { contentSha256?: string } } }).fingerprints.data.contentSha256;
  writeFileSync(last, encodeCheckpoint(c));
  const old = await cli('train', '--resume', ck, '--epochs', '2', '--json');
  assert.equal(old.code, 0, old.err);
});
