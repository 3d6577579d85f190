/**
 * Products on the packed GEMM (asm/gemm.ts): matmul, and a dense layer's forward (x·wᵀ + bias,
 * then ReLU) and backward, each on one copy of its operands.
 */
import { referenceBackend } from '../reference.js';
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, cut, f32 } from './context.js';
import { BIN_RELU_GRAD, UN_RELU } from './abi.generated.js';
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
 * `total` items (in multiples of `unit`) cut into equal parts, PRODUCT_PARTS at most, in order: the
 * caller claims them from the front and the workers from the back (protocol.ts), so each thread
 * keeps the same end of the operands from one call to the next, and the two meet wherever their
 * speeds put them (two cores are not always equally fast).
 */
function equalCut(total: number, unit: number): [number, number][] {
  const parts = Math.min(PRODUCT_PARTS, Math.ceil(total / unit));
  return Array.from({ length: parts }, (_, t) => cut(total, parts, t, unit));
}

export function denseOps({ rt, partsFor }: WasmContext): Pick<WasmOps, 'matmul' | 'linear' | 'linearBackward'> {
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

  /** x·wᵀ + bias (+ ReLU): the bias rows are written into C first and the product accumulates onto them. */
  function linear(x: Storage, w: Storage, bias: Storage | null, out: Storage, m: number, n: number, k: number, relu: boolean): boolean {
    if (!f32(x, w, bias, out) || m * n * k < SMALL_MATMUL) return false;
    rt.reset();
    const px = rt.put(x as Float32Array),
      pw = rt.put(w as Float32Array),
      po = rt.outPtr(out as Float32Array);
    if (bias) {
      // the first row, then copies of the rows written so far (doubling): a TypedArray.set per row
      // cost 0.16 ms for 10,000 rows of 10, the doubling 0.015
      const o = po >> 2;
      rt.f32.set(bias as Float32Array, o);
      for (let r = 1; r < m; r *= 2) rt.f32.copyWithin(o + r * n, o, o + Math.min(r, m - r) * n);
    }
    gemmInto(px, pw, po, m, n, k, false, true, bias !== null);
    if (relu) rt.k.unary(UN_RELU, po, po, m * n, 0, 0);
    rt.take(po, out as Float32Array);
    return true;
  }

  /** linear's backward: the ReLU mask, both products and the bias sums on one copy of gy (and of x). */
  function linearBackward(
    gy: Storage,
    x: Storage,
    w: Storage,
    y: Storage | null,
    gx: Storage | null,
    gw: Storage | null,
    gb: Storage | null,
    m: number,
    n: number,
    k: number,
    accumulateGw: boolean,
  ): boolean {
    if (!f32(gy, x, w, y, gx, gw, gb) || m * n * k < SMALL_MATMUL) return false;
    rt.reset();
    let pg = rt.put(gy as Float32Array);
    if (y) {
      const py = rt.put(y as Float32Array),
        pz = rt.alloc(m * n * 4);
      rt.k.binary(BIN_RELU_GRAD, pg, 0, 1, py, 0, 1, pz, 1, m * n);
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

  return { matmul, linear, linearBackward };
}
