/**
 * Weights in the safetensors format (Hugging Face's, read by PyTorch, JAX, Candle, transformers):
 *
 *   [8 bytes]  N, the header's length, unsigned 64-bit little-endian
 *   [N bytes]  a UTF-8 JSON object {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}
 *   [rest]     the tensors' raw little-endian bytes; data_offsets count from the start of this part
 *
 * Isomorphic (bytes in, bytes out): nothing here touches fs, so the browser lab can use it; the
 * Node helpers that take a path are in ./safetensors-node.ts.
 *
 * Reading is strict, as the reference implementation is: every tensor's byte range must match its
 * dtype and shape, the ranges must tile the data part exactly (no overlap, no gap, nothing past the
 * end), and dtypes must be known. `loadSafetensors` checks the whole file against the whole module
 * (names, shapes, dtypes) before it copies a single value, so a refused file leaves the module as
 * it was.
 *
 * Names are PyTorch's `state_dict()` names for the same architecture (see `torchParameterNames`),
 * so `model.load_state_dict(safetensors.torch.load_file(f))` works on descent's files and the other
 * way round.
 */
import type { Module, StateDict } from '../nn/module.js';
import { Sequential } from '../nn/layers.js';
import { DropConnect } from '../nn/dropconnect.js';
import type { DType, Tensor } from '../tensor/tensor.js';
import { fmtShape } from '../tensor/shape.js';
import { checkOptions, spec } from '../util/options.js';
import { halfToFloat } from './float16.js';

/** The dtypes of the format, with their sizes in bytes. */
export const SAFETENSORS_DTYPES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;

export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPES;

/**
 * One tensor. `data` is a Float32Array for F32, a Float64Array for F64, and the raw little-endian
 * bytes (a Uint8Array) for every other dtype.
 */
export interface SafetensorsTensor {
  /** The file's dtype name (F32, F64, F16, BF16, …). */
  dtype: SafetensorsDType;
  /** Dimensions, outermost first ([] for a scalar). */
  shape: number[];
  /** The values in row-major order (see above for which array type). */
  data: Float32Array | Float64Array | Uint8Array;
}

export interface SafetensorsFile {
  /** By name, in file order. */
  tensors: Map<string, SafetensorsTensor>;
  /** The header's __metadata__ (string → string; empty when absent). */
  metadata: Record<string, string>;
}

/** A file that is not valid safetensors, or that does not fit the module; `tensor` names the culprit. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    message: string,
    readonly tensor?: string,
  ) {
    super(message);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAX_HEADER = 100_000_000; // the reference implementation's limit

function isDType(s: unknown): s is SafetensorsDType {
  return typeof s === 'string' && Object.hasOwn(SAFETENSORS_DTYPES, s);
}

function nearestDType(s: string): string {
  const up = s.toUpperCase();
  return isDType(up) ? ` (dtypes are upper case: "${up}")` : '';
}

function q(name: string): string {
  return JSON.stringify(name);
}

// ---------------------------------------------------------------------------------------------
// Encoding

function bytesOf(t: SafetensorsTensor, name: string): Uint8Array {
  const { dtype, data } = t;
  if (dtype === 'F32' && !(data instanceof Float32Array))
    throw new SafetensorsError(`tensor ${q(name)}: dtype F32 needs a Float32Array`, name);
  if (dtype === 'F64' && !(data instanceof Float64Array))
    throw new SafetensorsError(`tensor ${q(name)}: dtype F64 needs a Float64Array`, name);
  if (dtype !== 'F32' && dtype !== 'F64' && !(data instanceof Uint8Array)) {
    throw new SafetensorsError(`tensor ${q(name)}: dtype ${dtype} takes its raw little-endian bytes as a Uint8Array`, name);
  }
  if (data instanceof Uint8Array || LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  else data.forEach((v, i) => dv.setFloat64(8 * i, v, true));
  return out;
}

/**
 * The bytes of a safetensors file holding `tensors` (in the order given) and `metadata`. The
 * header is padded with spaces to a multiple of 8 bytes, so every tensor starts 8-byte aligned.
 */
export function encodeSafetensors(
  tensors: Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`metadata ${q(k)}: values must be strings, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new SafetensorsError('a tensor cannot be named "__metadata__"', name);
    if (!isDType(t.dtype))
      throw new SafetensorsError(
        `tensor ${q(name)}: unknown dtype ${q(String(t.dtype))}; expected one of ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`,
        name,
      );
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0))
      throw new SafetensorsError(`tensor ${q(name)}: shape must be a list of integers ≥ 0, got ${JSON.stringify(t.shape)}`, name);
    const b = bytesOf(t, name);
    const need = t.shape.reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPES[t.dtype];
    if (b.byteLength !== need)
      throw new SafetensorsError(
        `tensor ${q(name)}: shape ${fmtShape(t.shape)} of ${t.dtype} needs ${need} bytes, the data has ${b.byteLength}`,
        name,
      );
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + need] };
    parts.push(b);
    offset += need;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.byteLength + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.byteLength, true);
  dv.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const b of parts) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Parse and check the header; nothing is copied yet. */
function readHeader(bytes: Uint8Array): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.byteLength < 8)
    throw new SafetensorsError(`the file is ${bytes.byteLength} bytes; a safetensors file starts with an 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true),
    hi = dv.getUint32(4, true);
  const n = hi * 4294967296 + lo;
  if (n > bytes.byteLength - 8)
    throw new SafetensorsError(
      `the header length ${n} runs past the end of the file (${bytes.byteLength} bytes, so at most ${bytes.byteLength - 8})`,
    );
  if (n > MAX_HEADER) throw new SafetensorsError(`the header length ${n} is over the format's limit of ${MAX_HEADER} bytes`);
  if (n < 2) throw new SafetensorsError(`the header length ${n} is too short for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new SafetensorsError('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError(
      `the header must be a JSON object of tensors, got ${Array.isArray(header) ? 'an array' : JSON.stringify(header)}`,
    );
  }
  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new SafetensorsError(`__metadata__ must be an object of strings, got ${JSON.stringify(v)}`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw new SafetensorsError(`__metadata__ ${q(k)}: values must be strings, got ${JSON.stringify(s)}`);
        metadata[k] = s;
      }
      continue;
    }
    const what = `tensor ${q(name)}`;
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new SafetensorsError(`${what}: expected {dtype, shape, data_offsets}, got ${JSON.stringify(v)}`, name);
    const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
    if (!isDType(dtype)) {
      throw new SafetensorsError(
        `${what}: unknown dtype ${JSON.stringify(dtype)}${typeof dtype === 'string' ? nearestDType(dtype) : ''}; expected one of ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`,
        name,
      );
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new SafetensorsError(`${what}: shape must be a list of integers ≥ 0, got ${JSON.stringify(shape)}`, name);
    }
    if (!Array.isArray(off) || off.length !== 2 || off.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new SafetensorsError(`${what}: data_offsets must be [begin, end] with integers ≥ 0, got ${JSON.stringify(off)}`, name);
    }
    const [begin, end] = off as number[];
    if (end < begin) throw new SafetensorsError(`${what}: data_offsets [${begin}, ${end}] end before they begin`, name);
    const need = (shape as number[]).reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPES[dtype];
    if (end - begin !== need) {
      throw new SafetensorsError(
        `${what}: shape ${fmtShape(shape as number[])} of ${dtype} needs ${need} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`,
        name,
      );
    }
    if (end > dataLength) {
      throw new SafetensorsError(
        `${what}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes after the header)`,
        name,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // The ranges must tile [0, dataLength): sorted by start, each begins where the one before ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev: Entry | null = null;
  for (const e of sorted) {
    if (e.begin < at) {
      throw new SafetensorsError(
        `tensor ${q(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap tensor ${q(prev!.name)} [${prev!.begin}, ${prev!.end}]`,
        e.name,
      );
    }
    if (e.begin > at) {
      throw new SafetensorsError(
        `tensor ${q(e.name)}: data_offsets [${e.begin}, ${e.end}] leave bytes [${at}, ${e.begin}) of the data to no tensor (ranges must be contiguous)`,
        e.name,
      );
    }
    at = e.end;
    prev = e;
  }
  if (at !== dataLength) {
    throw new SafetensorsError(
      prev
        ? `the data part is ${dataLength} bytes but the tensors end at ${at} (after tensor ${q(prev.name)}): ${dataLength - at} bytes belong to no tensor`
        : `the header lists no tensors but ${dataLength} bytes of data follow it`,
    );
  }
  return { entries, metadata, dataStart };
}

function copyOut(bytes: Uint8Array, start: number, e: Entry): SafetensorsTensor['data'] {
  const src = bytes.subarray(start + e.begin, start + e.end);
  const count = e.shape.reduce((a, d) => a * d, 1);
  if (e.dtype === 'F32' || e.dtype === 'F64') {
    const size = SAFETENSORS_DTYPES[e.dtype];
    const out = e.dtype === 'F32' ? new Float32Array(count) : new Float64Array(count);
    if (LITTLE_ENDIAN) {
      new Uint8Array(out.buffer).set(src);
    } else {
      const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      for (let i = 0; i < count; i++) out[i] = size === 4 ? dv.getFloat32(4 * i, true) : dv.getFloat64(8 * i, true);
    }
    return out;
  }
  return new Uint8Array(src); // a copy (Buffer#slice, on a Node Buffer, would be a view of the file)
}

/** Check a safetensors file's header against the file (every tensor's bytes inside it, none overlapping) without copying; its metadata. */
export function checkSafetensors(bytes: Uint8Array): Record<string, string> {
  return readHeader(bytes).metadata;
}

/** Parse a safetensors file. Throws SafetensorsError on any inconsistency (see the header of this file). */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  const { entries, metadata, dataStart } = readHeader(bytes);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: copyOut(bytes, dataStart, e) });
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------------
// Floating-point conversion

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The values of a floating-point tensor (F64, F32, F16 or BF16) as numbers, written into `out`
 * (a Float32Array rounds F64 to nearest, as PyTorch's copy_ does); with `integers`, also of an
 * integer tensor (I64, I32, I16, I8, U8: PyTorch's num_batches_tracked is I64). Other dtypes throw.
 */
export function readFloats(t: SafetensorsTensor, out: Float32Array | Float64Array, name = '?', integers = false): void {
  const n = out.length;
  const d = t.data;
  if (t.dtype === 'F32' || t.dtype === 'F64') {
    out.set(d as Float32Array | Float64Array);
    return;
  }
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  if (t.dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
  } else if (t.dtype === 'BF16') {
    for (let i = 0; i < n; i++) {
      u32[0] = dv.getUint16(2 * i, true) << 16;
      out[i] = f32[0];
    }
  } else if (integers && t.dtype in INTEGER_READERS) {
    const [size, get] = INTEGER_READERS[t.dtype];
    for (let i = 0; i < n; i++) out[i] = get(dv, size * i);
  } else {
    throw new SafetensorsError(
      `tensor ${q(name)}: dtype ${t.dtype} is not a floating-point type; parameters load from F32, F64, F16 or BF16`,
      name,
    );
  }
}

/** The integer dtypes a buffer loads from: each one's size and reader. */
const INTEGER_READERS: Record<string, [number, (dv: DataView, at: number) => number]> = {
  I64: [8, (dv, at) => Number(dv.getBigInt64(at, true))],
  I32: [4, (dv, at) => dv.getInt32(at, true)],
  I16: [2, (dv, at) => dv.getInt16(at, true)],
  I8: [1, (dv, at) => dv.getInt8(at)],
  U8: [1, (dv, at) => dv.getUint8(at)],
};

// ---------------------------------------------------------------------------------------------
// Modules

/**
 * descent's parameter and buffer names → PyTorch's `state_dict()` names for the same architecture. They are
 * the same except inside a Sequential holding a DropConnect with its own activation: PyTorch has no
 * DropConnect, and its equivalent is an nn.Linear followed by the activation module, two entries
 * of the nn.Sequential, so every later index there is one higher.
 */
export function torchParameterNames(module: Module): Map<string, string> {
  const prefixes = new Map<string, string>(); // descent's dotted prefix → PyTorch's
  const walk = (m: Module, mine: string, theirs: string) => {
    prefixes.set(mine, theirs);
    let j = 0;
    for (const [n, c] of m.children()) {
      walk(c, `${mine}${n}.`, `${theirs}${m instanceof Sequential ? String(j) : n}.`);
      j += c instanceof DropConnect && c.activation !== 'none' ? 2 : 1;
    }
  };
  walk(module, '', '');
  const map = new Map<string, string>();
  for (const [name] of module.namedState()) {
    const cut = name.lastIndexOf('.') + 1;
    map.set(name, `${prefixes.get(name.slice(0, cut)) ?? name.slice(0, cut)}${name.slice(cut)}`);
  }
  return map;
}

function toSafeDType(d: DType): SafetensorsDType {
  return d === 'float64' ? 'F64' : 'F32';
}

export interface SaveSafetensorsOptions {
  /** String → string pairs stored in the header's __metadata__ (descent adds format: "pt" unless given). */
  metadata?: Record<string, string>;
  /**
   * The values to write instead of the module's own, by its parameter and buffer names (every one,
   * each of its shape, nothing else): a copy taken earlier, or `await module.readStateDict()` of a
   * module on a device, whose values cannot be read synchronously.
   */
  state?: StateDict;
}

/** `state`'s entry for each of the module's tensors, checked against it (all present, same shapes, nothing else). */
function stateValues(module: Module, state: StateDict): Map<string, ArrayLike<number>> {
  const named = module.namedState();
  const out = new Map<string, ArrayLike<number>>();
  for (const [n, p] of named) {
    const e = state[n];
    if (!e) throw new RangeError(`saveSafetensors: state has no entry "${n}" (the module's ${fmtShape(p.shape)} tensor)`);
    if (e.shape.length !== p.shape.length || e.shape.some((d, i) => d !== p.shape[i]) || e.data.length !== p.size)
      throw new RangeError(
        `saveSafetensors: state "${n}" has shape ${fmtShape(e.shape)} and ${e.data.length} values; the module's is ${fmtShape(p.shape)}`,
      );
    out.set(n, e.data);
  }
  const extra = Object.keys(state).filter((k) => !out.has(k));
  if (extra.length) throw new RangeError(`saveSafetensors: state has entries the module does not: ${extra.join(', ')}`);
  return out;
}

/**
 * The module's parameters and buffers (or `opts.state`'s values for them) as a safetensors file,
 * under PyTorch's state_dict names, each in its own dtype (a buffer as a float too: PyTorch's load_state_dict converts it to its integer
 * num_batches_tracked).
 */
export function saveSafetensors(module: Module, opts: SaveSafetensorsOptions = {}): Uint8Array {
  checkOptions('saveSafetensors', opts, {
    metadata: spec(
      'an object of strings',
      (v) => typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string'),
    ),
    state: spec('a state dict { name: { shape, data } }', (v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
  });
  const names = torchParameterNames(module);
  const given = opts.state ? stateValues(module, opts.state) : undefined;
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, p] of module.namedState()) {
    const values = given ? given.get(name)! : p.data;
    const data = p.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
    tensors.set(names.get(name)!, { dtype: toSafeDType(p.dtype), shape: [...p.shape], data });
  }
  return encodeSafetensors(tensors, { format: 'pt', ...opts.metadata });
}

/**
 * Load a safetensors file into `module`'s parameters and buffers and return the file's metadata.
 * Every parameter and buffer must be in the file under its PyTorch name, with the same shape and a
 * floating-point dtype (F64/F32/F16/BF16, converted to the module's dtype; a buffer also an integer
 * one, as PyTorch's I64 num_batches_tracked); the file may hold nothing else.
 * All of that is checked before the first value is copied: on error the module is unchanged.
 */
export function loadSafetensors(module: Module, bytes: Uint8Array): Record<string, string> {
  const { entries, metadata, dataStart } = readHeader(bytes);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const names = torchParameterNames(module);
  const plan: [Tensor, Entry, boolean][] = [];
  const buffers = new Set(module.buffers());
  for (const [name, p] of module.namedState()) {
    const buffer = buffers.has(p);
    const what = buffer ? 'buffer' : 'parameter';
    const tname = names.get(name)!;
    const e = byName.get(tname);
    const alias = tname === name ? '' : ` (descent's ${q(name)})`;
    if (!e) {
      throw new SafetensorsError(
        `tensor ${q(tname)}${alias} is missing from the file; the module needs it with shape ${fmtShape(p.shape)} (the file has ${entries.length ? entries.map((x) => x.name).join(', ') : 'no tensors'})`,
        tname,
      );
    }
    if (e.shape.length !== p.shape.length || e.shape.some((d, i) => d !== p.shape[i])) {
      throw new SafetensorsError(
        `tensor ${q(tname)}${alias}: shape ${fmtShape(e.shape)} in the file, the module's ${what} is ${fmtShape(p.shape)}`,
        tname,
      );
    }
    if (!['F32', 'F64', 'F16', 'BF16'].includes(e.dtype) && !(buffer && e.dtype in INTEGER_READERS)) {
      throw new SafetensorsError(
        `tensor ${q(tname)}${alias}: dtype ${e.dtype} cannot be loaded into a ${p.dtype} ${what}; expected F32, F64, F16 or BF16${buffer ? ` (or an integer type: ${Object.keys(INTEGER_READERS).join(', ')})` : ''}`,
        tname,
      );
    }
    plan.push([p, e, buffer]);
  }
  const wanted = new Set(names.values());
  const extra = entries.filter((e) => !wanted.has(e.name));
  if (extra.length) {
    throw new SafetensorsError(
      `tensor ${q(extra[0].name)} in the file is not a parameter or buffer of the module${
        extra.length > 1
          ? ` (nor ${extra
              .slice(1)
              .map((e) => q(e.name))
              .join(', ')})`
          : ''
      }; the module has ${[...wanted].join(', ')}`,
      extra[0].name,
    );
  }
  for (const [p, e, buffer] of plan) {
    readFloats({ dtype: e.dtype, shape: e.shape, data: copyOut(bytes, dataStart, e) }, p.data, e.name, buffer);
  }
  return metadata;
}
