import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { crc32, encodePng } from '../../src/cli/png.js';
import type { Io } from '../../src/cli/command.js';
import { tempDir } from '../tmp-dir.js';

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [],
    stderr: string[] = [];
  return { stdout, stderr, out: (s) => stdout.push(s), err: (s) => stderr.push(s), raw: () => {}, tty: false };
}

/** Parse our own PNGs back (unfiltered scanlines), checking every chunk's CRC. */
function decodePng(buf: Uint8Array): { width: number; height: number; type: number; pixels: Uint8Array } {
  assert.deepEqual(Array.from(buf.subarray(0, 8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 8,
    width = 0,
    height = 0,
    type = 0;
  const idat: Uint8Array[] = [];
  while (off < buf.length) {
    const len = view.getUint32(off);
    const name = String.fromCharCode(...buf.subarray(off + 4, off + 8));
    assert.equal(view.getUint32(off + 8 + len), crc32(buf.subarray(off + 4, off + 8 + len)), `${name} CRC`);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (name === 'IHDR') {
      width = view.getUint32(off + 8);
      height = view.getUint32(off + 12);
      type = data[9];
    }
    if (name === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const ch = type === 0 ? 1 : 3;
  const pixels = new Uint8Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width * ch + 1)], 0, 'filter type 0');
    pixels.set(raw.subarray(y * (width * ch + 1) + 1, (y + 1) * (width * ch + 1)), y * width * ch);
  }
  return { width, height, type, pixels };
}

test('PNG encoder: standard CRC-32, round trip of grey and RGB pixels', () => {
  assert.equal(crc32(new TextEncoder().encode('IEND')), 0xae426082);
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const grey = Uint8Array.from({ length: 5 * 3 }, (_, i) => i * 17);
  const g = decodePng(encodePng(grey, 5, 3, 1));
  assert.deepEqual([g.width, g.height, g.type], [5, 3, 0]);
  assert.deepEqual(Array.from(g.pixels), Array.from(grey));
  const rgb = Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => 255 - i * 20);
  const c = decodePng(encodePng(rgb, 2, 2, 3));
  assert.equal(c.type, 2);
  assert.deepEqual(Array.from(c.pixels), Array.from(rgb));
  assert.throws(() => encodePng(grey, 4, 4, 1), /4×4×1 needs 16 bytes, got 15/);
});

test('descent augment writes a grid: the original then augmented copies; zero strength copies the original', async () => {
  const dir = tempDir('descent-augment-');
  const file = join(dir, 'grid.png');
  const io = capture();
  assert.equal(
    await runCli(['augment', '--out', file, '--rows', '3', '--per', '2', '--zoom', '1', '--augment', 'flip:0,crop:0'], io),
    0,
    io.stderr.join('\n'),
  );
  assert.match(io.stdout.join('\n'), /wrote .*grid\.png: 3 garments/);
  const png = decodePng(readFileSync(file));
  // width = gap + 28 + bigGap + 2·(28 + gap), height = gap + 3·(28 + gap)
  assert.deepEqual([png.width, png.height, png.type], [2 + 28 + 6 + 2 * 30, 2 + 3 * 30, 0]);
  const cell = (r: number, col: number) => {
    const x0 = col === 0 ? 2 : 2 + 28 + 6 + (col - 1) * 30,
      y0 = 2 + r * 30;
    return Array.from({ length: 28 * 28 }, (_, i) => png.pixels[(y0 + Math.floor(i / 28)) * png.width + x0 + (i % 28)]);
  };
  for (let r = 0; r < 3; r++) {
    assert.ok(
      cell(r, 0).some((v) => v > 100),
      'a garment is drawn',
    );
    assert.deepEqual(cell(r, 1), cell(r, 0));
    assert.deepEqual(cell(r, 2), cell(r, 0));
  }
  const bad = capture();
  assert.equal(await runCli(['augment', '--out', file, '--augment', 'spin'], bad), 2);
  assert.match(bad.stderr.join('\n'), /--augment: unknown transform "spin"/);
  const noOut = capture();
  assert.equal(await runCli(['augment'], noOut), 2);
  assert.match(noOut.stderr.join('\n'), /--out: the PNG file to write is required/);
});

test("descent augment --cutmix pastes a box of another row's garment into each copy; --mixup blends them", async () => {
  const dir = tempDir('descent-augment-mix-');
  const file = join(dir, 'grid.png');
  const io = capture();
  const args = ['augment', '--rows', '3', '--per', '4', '--zoom', '1', '--augment', 'none', '--seed', '4'];
  assert.equal(await runCli([...args, '--out', file, '--cutmix', '1'], io), 0, io.stderr.join('\n'));
  assert.match(io.stdout.join('\n'), /original then 4 × identity, each then mixed with another garment by cutmix\(alpha=1\)/);
  const png = decodePng(readFileSync(file));
  const cell = (r: number, col: number) => {
    const x0 = col === 0 ? 2 : 2 + 28 + 6 + (col - 1) * 30,
      y0 = 2 + r * 30;
    return Array.from({ length: 28 * 28 }, (_, i) => png.pixels[(y0 + Math.floor(i / 28)) * png.width + x0 + (i % 28)]);
  };
  let pasted = 0;
  for (let r = 0; r < 3; r++)
    for (let k = 0; k < 4; k++) {
      const own = cell(r, 0),
        other = cell((r + 1 + (k % 2)) % 3, 0),
        copy = cell(r, k + 1);
      assert.ok(
        copy.every((v, i) => v === own[i] || v === other[i]),
        `row ${r} copy ${k}: every pixel is its own garment's or the other's`,
      );
      pasted += copy.filter((v, i) => v !== own[i]).length;
    }
  assert.ok(pasted > 28 * 28, `${pasted} pixels pasted over 12 copies`);
  const blend = capture();
  assert.equal(await runCli([...args, '--mixup', '0.4', '--out', join(dir, 'mixup.png')], blend), 0, blend.stderr.join('\n'));
  assert.ok(!readFileSync(join(dir, 'mixup.png')).equals(readFileSync(file)));
});

test('descent augment: an image folder without a test set is drawn whole; a CSV file is refused in one line', async () => {
  const dir = tempDir('descent-augment-folder-');
  for (const cls of ['cat', 'dog']) {
    mkdirSync(join(dir, 'photos', cls), { recursive: true });
    for (let i = 0; i < 2; i++)
      writeFileSync(join(dir, 'photos', cls, `${i}.png`), encodePng(new Uint8Array(36).fill(cls === 'cat' ? 40 + i : 200 - i), 6, 6, 1));
  }
  const file = join(dir, 'grid.png');
  const io = capture();
  assert.equal(
    await runCli(['augment', '--data', join(dir, 'photos'), '--out', file, '--rows', '2', '--per', '1', '--augment', 'flip'], io),
    0,
    io.stderr.join('\n'),
  );
  assert.match(io.stdout.join('\n'), /wrote .*grid\.png: 2 garments \(images from .*photos: 2 classes \(cat, dog\), .*4 samples\)/);
  assert.ok(existsSync(file));
  const csv = join(dir, 'iris.csv');
  writeFileSync(csv, 'a,b,species\n1,2,x\n3,4,y\n');
  const bad = capture();
  assert.equal(await runCli(['augment', '--data', csv, '--out', join(dir, 'csv.png')], bad), 2);
  assert.equal(bad.stderr.length, 1);
  assert.match(bad.stderr[0], /--data .*iris\.csv: augment draws images; a CSV file holds none/);
  assert.ok(!existsSync(join(dir, 'csv.png')));
});
