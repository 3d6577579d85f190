/**
 * NumPy files (src/io/npy.ts): every array NumPy wrote in test/fixtures/npy/ (tools/golden_npy.py,
 * NumPy's own np.save, np.savez and np.savez_compressed) reads back as NumPy's tolist() gives it;
 * encodeNpy writes the bytes np.save writes; the files descent refuses are refused naming the dtype.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, encodeNpz, NpyError, parseNpy, parseNpz, readNpy, readNpz, saveNpy, saveNpz, type NpyArray } from '../../src/node.js';

const dir = fileURLToPath(new URL('../../../test/fixtures/npy/', import.meta.url));
const fixture = (name: string) => new Uint8Array(readFileSync(join(dir, name)));

interface Expected {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, Expected | Record<string, Expected>>;

function value(v: number | string): number {
  return v === 'nan' ? Number.NaN : v === 'inf' ? Number.POSITIVE_INFINITY : v === '-inf' ? Number.NEGATIVE_INFINITY : (v as number);
}

function assertArray(got: NpyArray, want: Expected, what: string): void {
  assert.equal(got.dtype, want.dtype, `${what} dtype`);
  assert.deepEqual(got.shape, want.shape, `${what} shape`);
  assert.equal(got.data.length, want.values.length, `${what} length`);
  want.values.forEach((v, k) => assert.ok(Object.is(got.data[k], value(v)), `${what}[${k}]: got ${got.data[k]}, want ${v}`));
}

test('every array NumPy saved reads back as NumPy lists it: dtypes, byte orders, Fortran order, 0-d, empty, format 2.0', () => {
  const files = Object.keys(expected).filter((f) => f.endsWith('.npy'));
  assert.ok(files.length >= 20, `${files.length} fixtures`);
  for (const f of files) assertArray(parseNpy(fixture(f), f), expected[f] as Expected, f);
});

test('npz files NumPy wrote, stored and deflated (ZIP64 entries), read by name in the order saved', () => {
  for (const f of ['stored.npz', 'compressed.npz', 'keras-style.npz']) {
    const arrays = parseNpz(fixture(f), f);
    const want = expected[f] as Record<string, Expected>;
    assert.deepEqual([...arrays.keys()], Object.keys(want), f);
    for (const [k, a] of arrays) assertArray(a, want[k], `${f}["${k}"]`);
  }
});

test('encodeNpy writes the bytes np.save writes', () => {
  for (const f of ['f4.npy', 'f8.npy', 'u1.npy', 'i1.npy', 'i4.npy', 'u2.npy', 'bool.npy', 'scalar.npy', 'empty.npy']) {
    const a = parseNpy(fixture(f), f);
    const bytes = encodeNpy({ data: a.data, shape: a.shape, ...(a.dtype === 'bool' ? { dtype: 'bool' as const } : {}) }, f);
    assert.deepEqual(bytes, fixture(f), f);
  }
});

test('a header over 65,535 bytes is written as format 2.0 and reads back', () => {
  const shape = Array.from({ length: 30000 }, () => 1);
  const bytes = encodeNpy({ data: new Float32Array([7]), shape });
  assert.equal(bytes[6], 2);
  assert.equal((bytes.length - 4) % 64, 0, 'the data starts at a multiple of 64 bytes');
  const back = parseNpy(bytes);
  assert.deepEqual(back.shape, shape);
  assert.deepEqual(Array.from(back.data), [7]);
});

test('encodeNpz and parseNpz round-trip, stored and compressed, with the same bytes for the same arrays', () => {
  const arrays = {
    x: { data: new Float32Array([1.5, -2, 3]), shape: [3, 1] },
    y: { data: new Int32Array([4, 5, 6]), shape: [3] },
    m: { data: new Uint8Array([1, 0]), shape: [2], dtype: 'bool' as const },
  };
  for (const compress of [false, true]) {
    const bytes = encodeNpz(arrays, { compress });
    assert.deepEqual(encodeNpz(arrays, { compress }), bytes, 'deterministic');
    const back = parseNpz(bytes);
    assert.deepEqual([...back.keys()], ['x', 'y', 'm']);
    assert.deepEqual(back.get('x'), { dtype: 'float32', shape: [3, 1], data: arrays.x.data });
    assert.deepEqual(back.get('y'), { dtype: 'int32', shape: [3], data: arrays.y.data });
    assert.deepEqual(back.get('m'), { dtype: 'bool', shape: [2], data: arrays.m.data });
  }
});

test('refused: strings, objects, structured and complex arrays, an int64 beyond 2^53, each naming what it is', () => {
  const cases: [string, RegExp][] = [
    ['refused-unicode.npy', /refused-unicode\.npy: dtype '<U2' \(unicode strings\) cannot be read; descent reads bool, int8/],
    ['refused-object.npy', /dtype '\|O' \(Python objects \(a pickle\)\) cannot be read/],
    ['refused-structured.npy', /a structured array \(fields .*"a".*\) cannot be read/],
    ['refused-complex.npy', /dtype '<c8' \(complex numbers\) cannot be read/],
    ['refused-int64-range.npy', /int64 value 9007199254740993 \(item 0\) is beyond ±2\^53/],
  ];
  for (const [f, re] of cases)
    assert.throws(
      () => parseNpy(fixture(f), f),
      (e: Error) => e instanceof NpyError && re.test(e.message),
      f,
    );
});

test('malformed files: the message says what is wrong', () => {
  const good = fixture('f4.npy');
  assert.throws(() => parseNpy(new Uint8Array([1, 2, 3]), 'x.npy'), /x\.npy: not a NumPy \.npy file/);
  assert.throws(() => parseNpy(good.subarray(0, 60), 'x.npy'), /x\.npy: the file ends inside its header/);
  assert.throws(
    () => parseNpy(good.subarray(0, good.length - 4), 'x.npy'),
    /the file ends inside its data \(shape \(3, 5\) of <f4 needs 60 bytes, 56 present\)/,
  );
  const v9 = good.slice();
  v9[6] = 9;
  assert.throws(() => parseNpy(v9, 'x.npy'), /NumPy format 9\.0 is not one descent reads/);
  assert.throws(() => parseNpz(good, 'x.npz'), /x\.npz: not a NumPy \.npz file/);
});

/** A .npy file with a header written by hand (as other writers and NumPy's older versions write them). */
function handWritten(dict: string, data: Uint8Array, major = 1): Uint8Array {
  const header = new TextEncoder().encode(dict);
  const prefix = major === 1 ? 10 : 12;
  const out = new Uint8Array(prefix + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(header, prefix);
  out.set(data, prefix + header.length);
  return out;
}

test("other writers' headers: Python 2's long sizes, keys in any order, double quotes, format 3.0", () => {
  const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const a = parseNpy(handWritten("{'shape': (2L, 3L), 'fortran_order': False, 'descr': '<f4'}\n", data));
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual(Array.from(a.data), [1, 2, 3, 4, 5, 6]);
  const b = parseNpy(handWritten('{"descr": "<f4", "fortran_order": True, "shape": (2, 3)}', data, 3));
  assert.deepEqual(Array.from(b.data), [1, 3, 5, 2, 4, 6]);
  assert.throws(() => parseNpy(handWritten("{'descr': '<f4', 'shape': (6,)}", data), 'h.npy'), /h\.npy: the header has no 'fortran_order'/);
  assert.throws(
    () => parseNpy(handWritten("{'descr': '<f4', 'fortran_order': False, 'shape': (6,) junk", data), 'h.npy'),
    /not a NumPy header/,
  );
});

test('saveNpy/saveNpz write atomically; readNpy/readNpz name the file in their errors', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'descent-npy-'));
  try {
    const p = join(tmp, 'a.npy');
    saveNpy(p, { data: new Float64Array([0.1, 0.2]), shape: [2] });
    assert.deepEqual(Array.from(readNpy(p).data), [0.1, 0.2]);
    const z = join(tmp, 'a.npz');
    saveNpz(z, { w: { data: new Int8Array([-1]), shape: [1] } }, { compress: true });
    assert.deepEqual(Array.from(readNpz(z).get('w')?.data ?? []), [-1]);
    assert.throws(() => readNpy(join(tmp, 'missing.npy')), /missing\.npy: file not found/);
    assert.throws(() => readNpz(p), /a\.npy: not a NumPy \.npz file/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
