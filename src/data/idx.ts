/**
 * IDX, the file format of MNIST and its family (Fashion-MNIST, KMNIST, EMNIST).
 *
 *   bytes 0-1   zero
 *   byte  2     element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
 *   byte  3     rank r
 *   4·r bytes   dimensions, big-endian u32
 *   payload     prod(dims) elements, big-endian, row-major
 *
 * Isomorphic: works on a Uint8Array, no fs/zlib (gzip is handled by the callers). Every check
 * names the file, because "truncated payload" alone does not tell a user which of four files is bad.
 */

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: IdxData;
}

/** A missing, truncated or corrupt data file; `file` names it. */
export class DataFormatError extends Error {
  override name = 'DataFormatError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

const CODES: Record<number, { dtype: IdxDType; bytes: number }> = {
  8: { dtype: 'uint8', bytes: 1 },
  9: { dtype: 'int8', bytes: 1 },
  11: { dtype: 'int16', bytes: 2 },
  12: { dtype: 'int32', bytes: 4 },
  13: { dtype: 'float32', bytes: 4 },
  14: { dtype: 'float64', bytes: 8 },
};

const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;

/** Parse an IDX file held in memory. Throws DataFormatError naming `name` on any inconsistency. */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxArray {
  if (bytes.length < 4) {
    throw new DataFormatError(name, `not an IDX file: ${bytes.length} bytes, shorter than the 4-byte magic number`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), hex).join(' ');
    const hint = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (this is gzip data: decompress it first)' : '';
    throw new DataFormatError(name, `bad magic number ${magic}: an IDX file starts with 0x00 0x00${hint}`);
  }
  const code = CODES[bytes[2]];
  if (!code) {
    throw new DataFormatError(name, `unsupported IDX element type ${hex(bytes[2])} (expected one of 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)`);
  }
  const rank = bytes[3];
  if (rank === 0) throw new DataFormatError(name, 'IDX rank is 0: expected at least one dimension');
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) {
    throw new DataFormatError(name, `truncated header: rank ${rank} needs ${headerLen} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const expected = headerLen + count * code.bytes;
  const dims = `[${shape.join(', ')}]`;
  if (bytes.length < expected) {
    throw new DataFormatError(
      name,
      `truncated payload: ${code.dtype} ${dims} needs ${expected} bytes (header ${headerLen} + ${count * code.bytes}), got ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    throw new DataFormatError(
      name,
      `trailing garbage: ${code.dtype} ${dims} takes ${expected} bytes, but the file has ${bytes.length - expected} more`,
    );
  }
  return { dtype: code.dtype, shape, data: readPayload(view, headerLen, count, code.dtype) };
}

function readPayload(view: DataView, off: number, n: number, dtype: IdxDType): IdxData {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer, view.byteOffset + off, n).slice();
    case 'int8':
      return new Int8Array(view.buffer, view.byteOffset + off, n).slice();
    case 'int16': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(off + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(off + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(off + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(off + 8 * i, false);
      return out;
    }
  }
}

/** Serialise to IDX bytes (used by the embedded-data tool and by tests that build small files). */
export function encodeIdx(arr: IdxArray): Uint8Array {
  const entry = Object.entries(CODES).find(([, c]) => c.dtype === arr.dtype);
  if (!entry) throw new RangeError(`encodeIdx: unknown dtype ${arr.dtype}`);
  const code = Number(entry[0]);
  const size = entry[1].bytes;
  const n = arr.shape.reduce((a, b) => a * b, 1);
  if (arr.data.length !== n) {
    throw new RangeError(`encodeIdx: data has ${arr.data.length} elements but shape [${arr.shape.join(', ')}] needs ${n}`);
  }
  const headerLen = 4 + 4 * arr.shape.length;
  const out = new Uint8Array(headerLen + n * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = arr.shape.length;
  arr.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const d = arr.data;
  for (let i = 0; i < n; i++) {
    const o = headerLen + i * size;
    switch (arr.dtype) {
      case 'uint8':
        view.setUint8(o, d[i]);
        break;
      case 'int8':
        view.setInt8(o, d[i]);
        break;
      case 'int16':
        view.setInt16(o, d[i], false);
        break;
      case 'int32':
        view.setInt32(o, d[i], false);
        break;
      case 'float32':
        view.setFloat32(o, d[i], false);
        break;
      case 'float64':
        view.setFloat64(o, d[i], false);
        break;
    }
  }
  return out;
}
