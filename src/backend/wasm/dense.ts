/**
 * Products on the packed GEMM (asm/gemm.ts): matmul, a batch of products (batchedMatmul), and a
 * dense layer's forward (x·wᵀ + bias, then its activation) and backward, each on one copy of its
 * operands.
 */
import { referenceBackend } from '../reference.js';
import type { LinearActivation } from '../backend.js';
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, PARALLEL_MACS, SMALL_ELEMENTWISE, cut, f32 } from './context.js';
import { BIN_MUL, BIN_RELU_GRAD, UN_RELU, UN_GELU, UN_GELU_TANH, UN_SILU } from './abi.generated.js';
import type { KernelArgs } from './runtime.js';

/** Below this many multiply-adds a matmul stays in plain JS. */
const SMALL_MATMUL = 1 << 10;
/** Rows per unit when threads split a product along m: a multiple of both micro-kernel heights (4 and 6). */
const MR_UNIT = 12;
/**
 * Columns per unit when threads split a product along n: 16 floats, one 64-byte cache line of a C
 * row, so two threads never write the same line (the 8-column micro-tiles of two parts would
 * otherwise share a line at every part boundary, which then moves between the cores on each k block).
 */
const NC_UNIT = 16;
/**
 * Most parts a pre-packed product is cut into (equalCut), a tuned constant: more parts let a slower
 * thread fall less behind, and each part costs a claim on the control block (protocol.ts).
 */
const PRODUCT_PARTS = 16;
/** Largest shared operand that a threaded product packs once before its parts run (else each part packs its own). */
const PREPACK_BYTES = 16 * 2 ** 20;
/**
 * Elements from which a smooth activation (and its derivative) is split over the threads: 10 to 30
 * float32 operations an element, an exp or a tanh among them (asm/activations.ts).
 */
const ACTIVATION_PARALLEL = 1 << 14;
/** The kernels' codes of the smooth activations (asm/activations.ts: SIMD, the unary ops' bits). */
const SMOOTH: Partial<Record<LinearActivation, number>> = { gelu: UN_GELU, geluTanh: UN_GELU_TANH, silu: UN_SILU };

/**
 * `total` items (in multiples of `unit`) cut into equal parts, PRODUCT_PARTS at most, in order: the
 * caller claims them from the front and the workers from the back (protocol.ts), so each thread
 * keeps the same end of the operands from one call to the next, and the two meet wherever their
 * speeds put them (two cores are not always equally fast).
 */
function equalCut(total: number, unit: number): [number, number][] {
  const parts = Math.min(PRODUCT_PARTS, Math.ceil(total / unit));
  return Array.from({ length: parts }, (_, t) => cut(total, parts, t, unit));
}

export function denseOps({ rt, partsFor }: WasmContext): Pick<WasmOps, 'matmul' | 'linear' | 'linearBackward' | 'batchedMatmul'> {
  /**
   * C (+)= op(A)·op(B) on operands already in linear memory. Split over the threads along the
   * dimension whose other operand is the cheaper one to pack, and that other operand is packed
   * once, before the parts run (PREPACK_BYTES at most), so the product can be cut into many parts
   * (equalCut) — a late or slower thread then costs a small part — without packing it again for
   * each part.
   */
  function gemmInto(
    pa: number,
    pb: number,
    pc: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    acc: boolean,
  ): void {
    const splitN = m <= n;
    const mr = rt.k.gemmMR();
    const packedBytes = (splitN ? Math.ceil(m / mr) * mr : Math.ceil(n / 8) * 8) * k * 4;
    const prepack = k > 0 && packedBytes <= PREPACK_BYTES;
    // pre-packed, this only decides whether to split (equalCut cuts the parts); else T parts that each pack both operands
    const T = partsFor(m * n * k, Math.ceil(splitN ? n / NC_UNIT : m / MR_UNIT), 2);
    if (T > 1 && prepack) {
      const shared = rt.alloc(packedBytes);
      if (splitN) {
        rt.k.packAAll(pa, m, k, +transA, 0, m, shared);
        const parts: KernelArgs<'gemmPackedA'>[] = [];
        for (const [lo, hi] of equalCut(n, NC_UNIT)) {
          parts.push([shared, pb, pc, m, n, k, +transB, +acc, lo, hi, rt.alloc(rt.k.gemmPackedScratchBytes(hi - lo))]);
        }
        rt.parallel('gemmPackedA', parts);
      } else {
        rt.k.packBAll(pb, n, k, +transB, 0, n, shared);
        const parts: KernelArgs<'gemmPackedB'>[] = [];
        for (const [lo, hi] of equalCut(m, MR_UNIT)) {
          parts.push([pa, shared, pc, m, n, k, +transA, +acc, lo, hi, rt.alloc(rt.k.gemmPackedScratchBytes(0))]);
        }
        rt.parallel('gemmPackedB', parts);
      }
      return;
    }
    const parts: KernelArgs<'gemm'>[] = [];
    for (let t = 0; t < T; t++) {
      const [lo, hi] = splitN ? cut(n, T, t, NC_UNIT) : cut(m, T, t, MR_UNIT);
      const [m0, m1, n0, n1] = splitN ? [0, m, lo, hi] : [lo, hi, 0, n];
      parts.push([pa, pb, pc, m, n, k, +transA, +transB, +acc, m0, m1, n0, n1, rt.alloc(rt.gemmScratch)]);
    }
    rt.parallel('gemm', parts);
  }

  function matmul(a: Storage, b: Storage, out: Storage, m: number, n: number, k: number, transA: boolean, transB: boolean): void {
    if (!f32(a, b, out) || m * n * k < SMALL_MATMUL) return referenceBackend.matmul(a, b, out, m, n, k, transA, transB);
    rt.reset();
    const pa = rt.put(a as Float32Array),
      pb = rt.put(b as Float32Array),
      pc = rt.outPtr(out as Float32Array);
    gemmInto(pa, pb, pc, m, n, k, transA, transB, false);
    rt.take(pc, out as Float32Array);
  }

  /**
   * The batchedMatmul extension: every product of the batch in one kernel call (gemmBatch) on one
   * copy of each operand, the batch cut over the threads, where one backend matmul per matrix
   * costs a copy in and out and a call each (1,024 products of 28×16×28 per attention product
   * in W6). Declines (the caller then runs one matmul per matrix) for float64, for a batch too
   * small to be worth a call, and for a batch of fewer matrices than threads whose products are
   * each big enough to be split over the threads by matmul.
   */
  function batchedMatmul(
    a: Storage,
    b: Storage,
    out: Storage,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
  ): boolean {
    const macs = m * n * k;
    if (!f32(a, b, out) || batch * macs < SMALL_MATMUL) return false;
    if (batch < rt.threads && partsFor(macs, Math.ceil(Math.max(m / MR_UNIT, n / NC_UNIT)), 2) > 1) return false;
    rt.reset();
    const pa = rt.put(a as Float32Array),
      pb = rt.put(b as Float32Array),
      pc = rt.outPtr(out as Float32Array);
    const T = partsFor(batch * macs, batch, 2);
    const parts: KernelArgs<'gemmBatch'>[] = [];
    for (let t = 0; t < T; t++) {
      const [z0, z1] = cut(batch, T, t, 1);
      parts.push([pa, pb, pc, m, n, k, +transA, +transB, strideA, strideB, z0, z1, rt.alloc(rt.gemmScratch)]);
    }
    rt.parallel('gemmBatch', parts);
    rt.take(pc, out as Float32Array);
    rt.batchedProducts++;
    return true;
  }

  /** The activations linear takes: all of LinearActivation. */
  const known = (act: LinearActivation): boolean => act === 'none' || act === 'relu' || SMOOTH[act] !== undefined;

  /**
   * Elementwise work on `len` floats cut into whole SIMD vectors, two parts per thread past
   * ACTIVATION_PARALLEL: each part's [offset, count) in elements.
   */
  function elementParts(len: number): [number, number][] {
    const T = len >= ACTIVATION_PARALLEL ? partsFor(PARALLEL_MACS, Math.ceil(len / 4), 2) : 1;
    return Array.from({ length: T }, (_, t) => {
      const [lo, hi] = cut(len, T, t, 4);
      return [lo, hi - lo];
    });
  }

  /**
   * act(x·wᵀ + bias): the bias rows are written into C first and the product accumulates onto
   * them; ReLU then runs in place, a smooth activation from z into `out` (and f′(z) into `deriv`)
   * while z is still in the arena.
   */
  function linear(
    x: Storage,
    w: Storage,
    bias: Storage | null,
    out: Storage,
    m: number,
    n: number,
    k: number,
    act: LinearActivation,
    deriv: Storage | null,
  ): boolean {
    const smooth = SMOOTH[act];
    if (!f32(x, w, bias, out, deriv) || m * n * k < SMALL_MATMUL || !known(act) || (deriv !== null && smooth === undefined)) return false;
    // below SMALL_ELEMENTWISE outputs the unary ops run on the reference, and so does the composed
    // layer then, so that it gives what Linear and the activation module give
    if (smooth !== undefined && m * n < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const px = rt.put(x as Float32Array),
      pw = rt.put(w as Float32Array),
      pz = smooth === undefined ? rt.outPtr(out as Float32Array) : rt.alloc(m * n * 4);
    if (bias) {
      // the first row, then copies of the rows written so far (doubling): a TypedArray.set per row
      // cost 0.16 ms for 10,000 rows of 10, the doubling 0.015
      const o = pz >> 2;
      rt.f32.set(bias as Float32Array, o);
      for (let r = 1; r < m; r *= 2) rt.f32.copyWithin(o + r * n, o, o + Math.min(r, m - r) * n);
    }
    gemmInto(px, pw, pz, m, n, k, false, true, bias !== null);
    if (act === 'relu') rt.k.unary(UN_RELU, pz, pz, m * n, 0, 0);
    if (smooth === undefined) {
      rt.take(pz, out as Float32Array);
      return true;
    }
    const py = rt.outPtr(out as Float32Array),
      pd = deriv ? rt.outPtr(deriv as Float32Array) : 0;
    rt.parallel(
      'activationForward',
      elementParts(m * n).map(([at, len]): KernelArgs<'activationForward'> => [smooth, pz + at * 4, py + at * 4, pd && pd + at * 4, len]),
    );
    rt.take(py, out as Float32Array);
    if (deriv) rt.take(pd, deriv as Float32Array);
    return true;
  }

  /** linear's backward: the activation's gradient (ReLU's mask, or gy·f′(z)), both products and the bias sums on one copy of gy (and of x). */
  function linearBackward(
    gy: Storage,
    x: Storage,
    w: Storage,
    saved: Storage | null,
    gx: Storage | null,
    gw: Storage | null,
    gb: Storage | null,
    m: number,
    n: number,
    k: number,
    act: LinearActivation,
    accumulateGw: boolean,
  ): boolean {
    if (!f32(gy, x, w, saved, gx, gw, gb) || m * n * k < SMALL_MATMUL || !known(act) || (act === 'none') !== !saved) return false;
    rt.reset();
    let pg = rt.put(gy as Float32Array);
    if (saved) {
      const ps = rt.put(saved as Float32Array),
        pz = rt.alloc(m * n * 4);
      rt.k.binary(act === 'relu' ? BIN_RELU_GRAD : BIN_MUL, pg, 0, 1, ps, 0, 1, pz, 1, m * n);
      pg = pz;
    }
    if (gx) {
      const po = rt.outPtr(gx as Float32Array);
      gemmInto(pg, rt.put(w as Float32Array), po, m, k, n, false, false, false);
      rt.take(po, gx as Float32Array);
    }
    if (gw) {
      const po = accumulateGw ? rt.put(gw as Float32Array) : rt.outPtr(gw as Float32Array);
      gemmInto(pg, rt.put(x as Float32Array), po, n, k, m, true, false, accumulateGw);
      rt.take(po, gw as Float32Array);
    }
    if (gb) {
      const po = rt.outPtr(gb as Float32Array);
      rt.k.sum(pg, 1, m, n, po, rt.alloc(n * 8));
      rt.take(po, gb as Float32Array);
    }
    return true;
  }

  return { matmul, linear, linearBackward, batchedMatmul };
}
