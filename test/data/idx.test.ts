import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdx, encodeIdx, DataFormatError } from '../../src/index.js';

/** A 2×2×3 uint8 IDX file written byte by byte, independently of encodeIdx. */
const HAND_MADE = new Uint8Array([
  0x00,
  0x00,
  0x08,
  0x03, // magic: u8, rank 3
  0x00,
  0x00,
  0x00,
  0x02, // N = 2
  0x00,
  0x00,
  0x00,
  0x02, // H = 2
  0x00,
  0x00,
  0x00,
  0x03, // W = 3
  0,
  1,
  2,
  3,
  4,
  5,
  250,
  251,
  252,
  253,
  254,
  255,
]);

test('parseIdx reads a hand-made uint8 file: shape from big-endian dims, payload in order', () => {
  const a = parseIdx(HAND_MADE, 'hand.idx');
  assert.equal(a.dtype, 'uint8');
  assert.deepEqual(a.shape, [2, 2, 3]);
  assert.ok(a.data instanceof Uint8Array);
  assert.deepEqual(Array.from(a.data), [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
});

test('encodeIdx then parseIdx is the identity, and encodeIdx writes the hand-made bytes', () => {
  assert.deepEqual(encodeIdx(parseIdx(HAND_MADE)), HAND_MADE);
  const cases = [
    { dtype: 'int8', shape: [3], data: Int8Array.from([-128, 0, 127]) },
    { dtype: 'int16', shape: [2], data: Int16Array.from([-300, 258]) },
    { dtype: 'int32', shape: [1, 2], data: Int32Array.from([-70000, 16909060]) },
    { dtype: 'float32', shape: [2], data: Float32Array.from([1.5, -0.1]) },
    { dtype: 'float64', shape: [2], data: Float64Array.from([Math.PI, -1e300]) },
  ] as const;
  for (const c of cases) {
    const back = parseIdx(encodeIdx({ ...c, shape: [...c.shape] }));
    assert.equal(back.dtype, c.dtype);
    assert.deepEqual(back.shape, c.shape);
    assert.deepEqual(Array.from(back.data), Array.from(c.data));
  }
});

test('multi-byte payloads are big-endian', () => {
  // int32 258 = 00 00 01 02, int16 -2 = ff fe
  const i32 = parseIdx(new Uint8Array([0, 0, 0x0c, 1, 0, 0, 0, 1, 0, 0, 1, 2]));
  assert.deepEqual(Array.from(i32.data), [258]);
  const i16 = parseIdx(new Uint8Array([0, 0, 0x0b, 1, 0, 0, 0, 1, 0xff, 0xfe]));
  assert.deepEqual(Array.from(i16.data), [-2]);
});

function throwsData(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataFormatError, `expected DataFormatError, got ${e}`);
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('bad magic names the file and the bytes found', () => {
  const bad = HAND_MADE.slice();
  bad[0] = 0x50;
  throwsData(() => parseIdx(bad, 'x.idx'), 'x.idx', /bad magic number 0x50 0x00 0x08 0x03/);
  throwsData(() => parseIdx(new Uint8Array([0x1f, 0x8b, 8, 0, 0]), 'y.gz'), 'y.gz', /bad magic.*gzip/);
  throwsData(() => parseIdx(new Uint8Array([0, 0]), 'short'), 'short', /shorter than the 4-byte magic/);
});

test('unsupported dtype and rank 0 are named', () => {
  const bad = HAND_MADE.slice();
  bad[2] = 0x0a;
  throwsData(() => parseIdx(bad, 'f'), 'f', /unsupported IDX element type 0x0a/);
  throwsData(() => parseIdx(new Uint8Array([0, 0, 8, 0]), 'f'), 'f', /rank is 0/);
});

test('truncated header and truncated payload give expected vs actual byte counts', () => {
  throwsData(() => parseIdx(HAND_MADE.subarray(0, 10), 'h'), 'h', /truncated header: rank 3 needs 16 bytes, got 10/);
  throwsData(
    () => parseIdx(HAND_MADE.subarray(0, HAND_MADE.length - 1), 'p'),
    'p',
    /truncated payload: uint8 \[2, 2, 3\] needs 28 bytes .*got 27/,
  );
});

test('trailing garbage is rejected', () => {
  const long = new Uint8Array(HAND_MADE.length + 3);
  long.set(HAND_MADE);
  throwsData(() => parseIdx(long, 't'), 't', /trailing garbage: .* 28 bytes, but the file has 3 more/);
});
