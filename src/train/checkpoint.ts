/**
 * Checkpoints: everything a training run needs to continue bit for bit, and its exact byte form.
 * Isomorphic (bytes in, bytes out); writing a folder of them is Node-only (src/io/checkpoints.ts).
 *
 * A checkpoint holds the model's parameters, the optimizer's state, the state of every stateful
 * callback (plateau schedule, SWA/EMA averages, snapshot members, …) under its `key`, every random
 * stream that is not a pure function of the seed and the position (the dropout stream of the epoch
 * in progress, the augmentation stream), the epoch, the position in the epoch's batch order, the
 * records of the finished epochs and the running sums of the epoch in progress.
 *
 * Byte form (all little-endian):
 *
 *   "DCKPT001"                         8-byte magic
 *   u32 header length H, u32 0
 *   H bytes of UTF-8 JSON              the tree, with every typed array replaced by a reference
 *   zero padding to a multiple of 8
 *   raw float data                     each array at its offset (8-byte aligned), exact bits
 *   u32 CRC-32 of every byte before it
 *
 * The JSON tree keeps numbers JSON cannot (NaN, ±Infinity, −0) as {"$n": "…"}, float arrays as
 * {"$f32"|"$f64": [offset, length]} and long plain number arrays as {"$a64": [offset, length]}
 * (decoded back to plain arrays). A file that is shorter or longer than it says, whose checksum does
 * not match or whose header is not what this writes is refused with a CheckpointError naming it.
 */
import { crc32 } from '../util/crc32.js';

export { crc32 };
import type { OptimizerStateDict } from '../optim/optimizer.js';
import type { RngState } from '../tensor/rng.js';

export const CHECKPOINT_VERSION = 1;
const MAGIC = 'DCKPT001';

export interface CheckpointParam {
  shape: number[];
  data: Float32Array | Float64Array;
}

/** The state of a run at a checkpoint (see the module comment). */
export interface Checkpoint {
  version: number;
  /** Epochs the run was asked for when the checkpoint was taken. */
  epochs: number;
  /** 0-based epoch in progress (or the next one when `batch` is 0). */
  epoch: number;
  /** Batches of `epoch` already trained on. */
  batch: number;
  /** Optimizer steps taken so far in the whole run (a skipped one counts; one per group with `accumulate`). */
  step: number;
  /** Steps whose update was not applied (onNonFinite 'skip'). */
  skipped: number;
  model: Record<string, CheckpointParam>;
  /**
   * The weights evaluated, where the optimizer's differ from the trained ones in `model` (Schedule-Free:
   * the average x; `model` holds y, and the optimizer's state z): what an evaluation at this point saw.
   */
  evalModel?: Record<string, CheckpointParam>;
  optimizer: OptimizerStateDict;
  /** States of the callbacks that have a key and state(), by key. */
  callbacks: Record<string, unknown>;
  rng: { masks?: RngState; transform?: RngState };
  /** Records of the finished epochs. */
  records: unknown[];
  /** Running sums of the epoch in progress. */
  partial: { seen: number; lossSum: number; termSums: Record<string, number>; seconds: number };
  /** The divergence rule's reference loss and how many steps fed it. */
  divergence: { reference: number; samples: number };
  /** Anything the caller stores with the run (the CLI: its parsed options). */
  meta?: Record<string, unknown>;
  /** Micro-batches per optimizer step (FitOptions.accumulate); absent means 1. A run resumes with the same. */
  accumulate?: number;
}

/** A checkpoint that cannot be read; the message names its source. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

const pad8 = (n: number) => (n + 7) & ~7;

/** The checkpoint as bytes (exact float bits, with a checksum). */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const blobs: { offset: number; bytes: Uint8Array }[] = [];
  let size = 0;
  const blob = (tag: string, arr: Float32Array | Float64Array): Record<string, [number, number]> => {
    const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).slice();
    const offset = size;
    blobs.push({ offset, bytes });
    size = pad8(size + bytes.length);
    return { [tag]: [offset, arr.length] };
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0) ? v : { $n: Object.is(v, -0) ? '-0' : String(v) };
    if (v instanceof Float32Array) return blob('$f32', v);
    if (v instanceof Float64Array) return blob('$f64', v);
    if (ArrayBuffer.isView(v)) throw new CheckpointError(`encodeCheckpoint: cannot store a ${v.constructor.name}`);
    if (Array.isArray(v)) {
      if (v.length > 16 && v.every((x) => typeof x === 'number')) return blob('$a64', Float64Array.from(v as number[]));
      return v.map(walk);
    }
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const header = new TextEncoder().encode(JSON.stringify(walk(c)));
  const dataStart = pad8(16 + header.length);
  const total = dataStart + size + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  dv.setUint32(8, header.length, true);
  out.set(header, 16);
  for (const b of blobs) out.set(b.bytes, dataStart + b.offset);
  dv.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

/** Parse bytes written by encodeCheckpoint; `source` (a file name) goes into every error message. */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const bad = (why: string) => new CheckpointError(`${source}: not a usable checkpoint (${why})`);
  for (let i = 0; i < Math.min(8, bytes.length); i++) if (bytes[i] !== MAGIC.charCodeAt(i)) throw bad('wrong magic bytes');
  if (bytes.length < 20) throw bad(`${bytes.length} bytes, truncated`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = dv.getUint32(8, true);
  if (16 + hlen + 4 > bytes.length) throw bad(`header of ${hlen} bytes runs past the end of the ${bytes.length}-byte file, truncated`);
  const stored = dv.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes.subarray(0, bytes.length - 4));
  if (stored !== actual)
    throw bad(
      `checksum mismatch: stored ${stored.toString(16).padStart(8, '0')}, contents give ${actual.toString(16).padStart(8, '0')}; truncated or corrupt`,
    );
  let tree: unknown;
  try {
    tree = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + hlen)));
  } catch (e) {
    throw bad(`header is not JSON: ${(e as Error).message}`);
  }
  const dataStart = pad8(16 + hlen);
  const dataEnd = bytes.length - 4;
  const ref = (tag: string, r: unknown, width: number): { offset: number; n: number } => {
    if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isInteger(x) && x >= 0)) throw bad(`malformed ${tag} reference`);
    const [offset, n] = r as [number, number];
    if (offset % 8 !== 0 || dataStart + offset + n * width > dataEnd) throw bad(`${tag} data [${offset}, +${n * width}) past the end`);
    return { offset: dataStart + offset, n };
  };
  const copy = (at: number, nbytes: number) => {
    const buf = new ArrayBuffer(nbytes);
    new Uint8Array(buf).set(bytes.subarray(at, at + nbytes));
    return buf;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === '$n') {
        const s = o.$n;
        if (s === '-0') return -0;
        if (s === 'NaN' || s === 'Infinity' || s === '-Infinity') return Number(s);
        throw bad(`unknown number ${JSON.stringify(s)}`);
      }
      if (keys.length === 1 && keys[0] === '$f32') {
        const { offset, n } = ref('$f32', o.$f32, 4);
        return new Float32Array(copy(offset, n * 4));
      }
      if (keys.length === 1 && (keys[0] === '$f64' || keys[0] === '$a64')) {
        const { offset, n } = ref(keys[0], o[keys[0]], 8);
        const a = new Float64Array(copy(offset, n * 8));
        return keys[0] === '$a64' ? Array.from(a) : a;
      }
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const c = walk(tree) as Checkpoint;
  if (!c || typeof c !== 'object' || c.version !== CHECKPOINT_VERSION)
    throw bad(`version ${JSON.stringify((c as { version?: unknown })?.version)}, expected ${CHECKPOINT_VERSION}`);
  for (const k of ['epochs', 'epoch', 'batch', 'step', 'skipped'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw bad(`field ${k} is ${JSON.stringify(c[k])}, expected an integer ≥ 0`);
  }
  if (
    !c.model ||
    typeof c.model !== 'object' ||
    !c.optimizer ||
    !Array.isArray(c.records) ||
    !c.partial ||
    !c.divergence ||
    !c.rng ||
    !c.callbacks
  )
    throw bad('missing fields');
  if (c.accumulate !== undefined && !(Number.isInteger(c.accumulate) && c.accumulate >= 1))
    throw bad(`field accumulate is ${JSON.stringify(c.accumulate)}, expected an integer ≥ 1`);
  return c;
}
