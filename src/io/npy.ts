/**
 * NumPy's array files: `.npy` (one array, NumPy's format 1.0, 2.0 and 3.0) and `.npz` (a zip of
 * `.npy` files, stored or deflated, as `np.savez` and `np.savez_compressed` write them, ZIP64
 * entries included). Isomorphic: bytes in, bytes out; `./npy-node.ts` reads and writes files.
 *
 * Read: bool, signed and unsigned integers of 1–8 bytes, float16, float32 and float64, in either
 * byte order; a Fortran-order array's values come back in C (row-major) order. int64 and uint64
 * values come back as float64 and are refused beyond ±2^53, where a float64 stops holding every
 * integer; float16 comes back as float32 (exact). Strings, objects (pickles), structured and complex
 * arrays, dates and timedeltas are refused naming the dtype. Write: float32, float64, int32, int8,
 * uint8, int16, uint16, uint32 and bool, little-endian and C order, the header as `np.save` writes
 * it (format 1.0, or 2.0 for a header of over 65,535 bytes, padded so the data starts at a multiple
 * of 64 bytes).
 */
import { halfToFloat } from './float16.js';

/** A malformed or unsupported NumPy file; the message names the array and what was expected. */
export class NpyError extends Error {
  override name = 'NpyError';
}

export type NpyDType =
  | 'bool'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64';

export type NpyData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** An array read from a `.npy` file: its dtype as the file names it, its shape, and its values in C order. */
export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  /**
   * The values in C (row-major) order: the typed array of the dtype, except int64 and uint64 (a
   * Float64Array, each value exact) and float16 (a Float32Array); bool as a Uint8Array of 0 and 1.
   */
  data: NpyData;
}

/** What `encodeNpy` writes: the values in C order and the shape; `dtype` 'bool' writes a Uint8Array of 0/1 as bool. */
export interface NpyInput {
  data: NpyData;
  shape: readonly number[];
  dtype?: 'bool';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Each dtype code (`descr` without its byte order): the dtype and its bytes per value. */
const CODES: Record<string, { dtype: NpyDType; size: number }> = {
  b1: { dtype: 'bool', size: 1 },
  i1: { dtype: 'int8', size: 1 },
  u1: { dtype: 'uint8', size: 1 },
  i2: { dtype: 'int16', size: 2 },
  u2: { dtype: 'uint16', size: 2 },
  i4: { dtype: 'int32', size: 4 },
  u4: { dtype: 'uint32', size: 4 },
  i8: { dtype: 'int64', size: 8 },
  u8: { dtype: 'uint64', size: 8 },
  f2: { dtype: 'float16', size: 2 },
  f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 },
};

/** What a refused dtype code is, for the message. */
const REFUSED_KINDS: Record<string, string> = {
  U: 'unicode strings',
  S: 'byte strings',
  a: 'byte strings',
  O: 'Python objects (a pickle)',
  V: 'raw or structured records',
  c: 'complex numbers',
  M: 'dates',
  m: 'time deltas',
  f: 'floats of this size',
  i: 'integers of this size',
  u: 'integers of this size',
};

const READABLE = 'bool, int8 … int64, uint8 … uint64, float16, float32 or float64';

// ---------------------------------------------------------------------------------------------
// The header: a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }

type PyValue = string | number | boolean | PyValue[] | { [key: string]: PyValue };

/** Parse the Python literal NumPy writes as the header (strings, ints, True/False, tuples, lists, dicts). */
function parsePyLiteral(text: string, name: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new NpyError(`${name}: the header is not a NumPy header (${what} at character ${i} of ${JSON.stringify(text.trim())})`);
  };
  const space = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (): PyValue => {
    space();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('an unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '{') {
      i++;
      const out: { [key: string]: PyValue } = {};
      for (;;) {
        space();
        if (text[i] === '}') {
          i++;
          return out;
        }
        const key = value();
        if (typeof key !== 'string') fail('a key that is not a string');
        space();
        if (text[i] !== ':') fail('a missing ":"');
        i++;
        out[key as string] = value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail('a missing "," or "}"');
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const out: PyValue[] = [];
      for (;;) {
        space();
        if (text[i] === close) {
          i++;
          return out;
        }
        out.push(value());
        space();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`a missing "," or "${close}"`);
      }
    }
    const m = /^(True|False|-?\d+)L?/.exec(text.slice(i));
    if (!m) return fail('an unexpected character');
    i += m[0].length;
    return m[1] === 'True' ? true : m[1] === 'False' ? false : Number(m[1]);
  };
  const v = value();
  space();
  if (i < text.length) fail('text after the dict');
  return v;
}

interface Header {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataStart: number;
}

function readHeader(bytes: Uint8Array, name: string): Header {
  if (bytes.length < 10 || MAGIC.some((b, k) => bytes[k] !== b))
    throw new NpyError(`${name}: not a NumPy .npy file (expected the bytes "\\x93NUMPY" at its start)`);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new NpyError(`${name}: NumPy format ${major}.${bytes[7]} is not one descent reads (1.0, 2.0 or 3.0)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new NpyError(`${name}: the file ends inside its header`);
  const headerLength = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lengthBytes;
  if (bytes.length < start + headerLength)
    throw new NpyError(`${name}: the file ends inside its header (${headerLength} bytes announced, ${bytes.length - start} present)`);
  const raw = bytes.subarray(start, start + headerLength);
  const text = major === 3 ? new TextDecoder('utf-8').decode(raw) : String.fromCharCode(...raw);
  const dict = parsePyLiteral(text, name);
  if (typeof dict !== 'object' || Array.isArray(dict)) throw new NpyError(`${name}: the header is not a dict`);
  const { descr, fortran_order: fortran, shape } = dict;
  if (Array.isArray(descr) || (typeof descr === 'object' && descr !== null))
    throw new NpyError(`${name}: a structured array (fields ${JSON.stringify(descr)}) cannot be read; descent reads ${READABLE} arrays`);
  if (typeof descr !== 'string') throw new NpyError(`${name}: the header has no 'descr' (the dtype)`);
  if (typeof fortran !== 'boolean') throw new NpyError(`${name}: the header has no 'fortran_order' (True or False)`);
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || d < 0))
    throw new NpyError(`${name}: the header's 'shape' is not a tuple of sizes (${JSON.stringify(shape)})`);
  return { descr, fortranOrder: fortran, shape: shape as number[], dataStart: start + headerLength };
}

/** The typed array each dtype read byte for byte comes back in. */
const ARRAYS = {
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

/** The DataView getter of each multi-byte dtype read byte for byte (a big-endian file's values). */
const GETTERS = {
  int16: 'getInt16',
  uint16: 'getUint16',
  int32: 'getInt32',
  uint32: 'getUint32',
  float32: 'getFloat32',
  float64: 'getFloat64',
} as const;

/** The values of `n` items of `code` from `bytes` at `offset`, in file order. */
function readValues(bytes: Uint8Array, offset: number, n: number, code: string, little: boolean, name: string): NpyData {
  const { dtype, size } = CODES[code];
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, n * size);
  if (dtype === 'float16') {
    const out = new Float32Array(n);
    for (let k = 0; k < n; k++) out[k] = halfToFloat(dv.getUint16(2 * k, little));
    return out;
  }
  if (dtype === 'int64' || dtype === 'uint64') {
    const out = new Float64Array(n);
    const limit = 2n ** 53n;
    for (let k = 0; k < n; k++) {
      const v = dtype === 'int64' ? dv.getBigInt64(8 * k, little) : dv.getBigUint64(8 * k, little);
      if (v > limit || v < -limit)
        throw new NpyError(
          `${name}: ${dtype} value ${v} (item ${k}) is beyond ±2^53, where float64 stops holding every integer; descent reads ${dtype} values within ±9007199254740992`,
        );
      out[k] = Number(v);
    }
    return out;
  }
  // A little-endian file's values are the typed array's own bytes: one (aligned) copy.
  if (little || size === 1) return new ARRAYS[dtype](bytes.slice(offset, offset + n * size).buffer);
  const out = new ARRAYS[dtype](n);
  const get = dv[GETTERS[dtype as keyof typeof GETTERS]].bind(dv);
  for (let k = 0; k < n; k++) out[k] = get(k * size, false);
  return out;
}

/** A Fortran-order array's values (the first index fastest) reordered to C order (the last index fastest). */
function fortranToC<T extends NpyData>(values: T, shape: readonly number[]): T {
  if (shape.length < 2) return values;
  const out = new (values.constructor as new (n: number) => T)(values.length);
  const strides: number[] = [];
  let s = 1;
  for (const d of shape) {
    strides.push(s);
    s *= d;
  }
  const index = new Array<number>(shape.length).fill(0);
  let src = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = values[src];
    // advance the C-order index (last dimension fastest), tracking the Fortran-order offset
    for (let j = shape.length - 1; j >= 0; j--) {
      index[j]++;
      src += strides[j];
      if (index[j] < shape[j]) break;
      src -= strides[j] * shape[j];
      index[j] = 0;
    }
  }
  return out;
}

/** The array of a `.npy` file's bytes; `name` (the file, or the npz entry) starts every error message. */
export function parseNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  const h = readHeader(bytes, name);
  const order = h.descr[0];
  const code = '<>|='.includes(order) ? h.descr.slice(1) : h.descr;
  if (!(code in CODES)) {
    const kind = REFUSED_KINDS[code[0]];
    throw new NpyError(`${name}: dtype '${h.descr}'${kind ? ` (${kind})` : ''} cannot be read; descent reads ${READABLE} arrays`);
  }
  const n = h.shape.reduce((a, b) => a * b, 1);
  const size = CODES[code].size;
  if (bytes.length - h.dataStart < n * size)
    throw new NpyError(
      `${name}: the file ends inside its data (shape (${h.shape.join(', ')}) of ${h.descr} needs ${n * size} bytes, ${bytes.length - h.dataStart} present)`,
    );
  const little = order !== '>';
  const values = readValues(bytes, h.dataStart, n, code, little, name);
  return { dtype: CODES[code].dtype, shape: h.shape, data: h.fortranOrder ? fortranToC(values, h.shape) : values };
}

/** The `descr` of each typed array descent writes (little-endian). */
function descrOf(a: NpyInput, name: string): string {
  if (a.dtype === 'bool') {
    if (!(a.data instanceof Uint8Array)) throw new NpyError(`${name}: dtype 'bool' is written from a Uint8Array of 0 and 1`);
    return '|b1';
  }
  const d = a.data;
  if (d instanceof Float32Array) return '<f4';
  if (d instanceof Float64Array) return '<f8';
  if (d instanceof Int32Array) return '<i4';
  if (d instanceof Uint8Array) return '|u1';
  if (d instanceof Int8Array) return '|i1';
  if (d instanceof Int16Array) return '<i2';
  if (d instanceof Uint16Array) return '<u2';
  if (d instanceof Uint32Array) return '<u4';
  throw new NpyError(`${name}: expected a Float32Array, Float64Array or an integer typed array`);
}

/** The bytes of a `.npy` file holding `a`, as `np.save` writes them. */
export function encodeNpy(a: NpyInput, name = 'array'): Uint8Array {
  const n = a.shape.reduce((x, y) => x * y, 1);
  if (a.shape.some((d) => !Number.isInteger(d) || d < 0) || n !== a.data.length)
    throw new NpyError(`${name}: shape [${a.shape.join(', ')}] holds ${n} values, the data ${a.data.length}`);
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  const dict = `{'descr': '${descrOf(a, name)}', 'fortran_order': False, 'shape': ${shape}, }`;
  // The header (magic, version, length, dict, spaces, '\n') ends at a multiple of 64 bytes.
  const v1 = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10 <= 0xffff;
  const prefix = v1 ? 10 : 12;
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const headerLength = padded - prefix;
  const out = new Uint8Array(padded + a.data.byteLength);
  out.set(MAGIC);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (v1) dv.setUint16(8, headerLength, true);
  else dv.setUint32(8, headerLength, true);
  for (let k = 0; k < headerLength - 1; k++) out[prefix + k] = k < dict.length ? dict.charCodeAt(k) : 0x20;
  out[padded - 1] = 0x0a;
  out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), padded);
  return out;
}
