/**
 * One step of a fused recurrent layer, forward and backward (asm/recurrent.ts), as ONE threaded
 * job: each part takes rows of the batch through the product and the gate pass (asm's *Rows).
 * The forward accumulates h_{t−1}·W_hhᵀ onto the step's input projection, a copy of it unless the
 * caller lets the step write into it (xWritable) and it lies in wasm memory (the GRU, whose
 * n block needs the two apart, into a block of its own), then applies the gates; the backward
 * applies the gates' derivatives, then dh_{t−1} = gx·W_hh (the GRU's added onto its direct path).
 * W_hh is packed once a pass, on its first step. Operands outside WebAssembly memory are copied in
 * and the results out, as every op does.
 */
import type { RecurrentStepArgs, RecurrentStepBackwardArgs } from '../backend.js';
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, PARALLEL_MACS, cut, f32 } from './context.js';
import type { KernelArgs } from './runtime.js';

/** Gate blocks per row of each cell. */
const GATES = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 } as const;
/**
 * Elements of a step's pre-activations from which the step (product and gate pass) is split over
 * the threads by rows: each element takes a σ or a tanh (~2–7 ns on one thread; W5's 128 × 512
 * ~0.3 ms) besides its H multiply-adds.
 */
const ACTIVATION_PARALLEL = 1 << 14;

export function recurrentOps(cx: WasmContext): Pick<WasmOps, 'recurrentStep' | 'recurrentStepBackward'> {
  const { rt, partsFor } = cx;

  /** A fresh copy of `a` in the arena (never `a` in place: the caller writes into it). */
  function copyIn(a: Float32Array): number {
    const p = rt.alloc(a.length * 4);
    if (rt.owns(a)) rt.f32.copyWithin(p >> 2, a.byteOffset >> 2, (a.byteOffset >> 2) + a.length);
    else {
      rt.f32.set(a, p >> 2);
      rt.copiedBytes += a.length * 4;
    }
    return p;
  }
  const put = (a: Storage | null): number => (a ? rt.put(a as Float32Array) : 0);
  const outPtr = (a: Storage | null): number => (a ? rt.outPtr(a as Float32Array) : 0);
  const take = (p: number, a: Storage | null): void => {
    if (a) rt.take(p, a as Float32Array);
  };

  /**
   * W_hh packed for the product of the current pass (packBAll's layout), kept between its steps:
   * its address and size as numbers, since growing an unshared memory detaches the view (which
   * only keeps the block alive).
   */
  let packed: Float32Array | null = null;
  let packedAt = 0;
  let packedFloats = 0;
  let packedFor = '';

  /**
   * Makes room for op(W) packed as [k×n] and forgets the last packing on a pass's first step (W
   * changes in place between passes). Before rt.reset(): a persistent block is cut where the
   * arena starts.
   */
  function reservePacked(n: number, k: number, first: boolean): void {
    const floats = Math.ceil(n / 8) * 8 * k;
    if (packedFloats < floats) {
      packed = rt.persistent(floats);
      packedAt = packed.byteOffset;
      packedFloats = floats;
      packedFor = '';
    }
    if (first) packedFor = '';
  }

  /** Address of op(W) packed for the pass: packed on its first product, or when another matrix or orientation comes. */
  function packW(w: Float32Array, n: number, k: number, trans: boolean): number {
    const pw = rt.put(w);
    const key = rt.owns(w) ? `${w.byteOffset} ${w.length} ${n} ${k} ${trans}` : '';
    if (!key || key !== packedFor) {
      rt.k.packBAll(pw, n, k, +trans, 0, n, packedAt);
      packedFor = key;
    }
    return packedAt;
  }

  /** Row ranges [n0, n1) of a step's parts, starting at multiples of the GEMM's panel height, and each part's packing scratch. */
  function rowParts(N: number, GH: number, H: number): [number, number, number][] {
    const mr = rt.k.gemmMR();
    const T = N * GH >= ACTIVATION_PARALLEL ? partsFor(Math.max(N * GH * H, PARALLEL_MACS), Math.ceil(N / mr), 2) : 1;
    const bytes = rt.k.gemmPackedScratchBytes(0);
    return Array.from({ length: T }, (_, t) => [...cut(N, T, t, mr), rt.alloc(bytes)] as [number, number, number]);
  }

  function recurrentStep(s: RecurrentStepArgs): boolean {
    const { cell, N, H } = s;
    if (!f32(s.x, s.hPrev, s.w, s.bHh, s.cPrev, s.acts, s.h, s.c, s.tc, s.hn)) return false;
    const GH = GATES[cell] * H;
    reservePacked(GH, H, s.firstStep);
    rt.reset();
    const ph = put(s.hPrev),
      pw = ph ? packW(s.w as Float32Array, GH, H, true) : 0;
    const pActs = outPtr(s.acts),
      pH = outPtr(s.h);
    const parts = rowParts(N, GH, H);
    if (cell === 'GRU') {
      const px = rt.put(s.x as Float32Array),
        pb = put(s.bHh),
        php = ph ? rt.alloc(N * GH * 4) : 0,
        pHn = outPtr(s.hn);
      rt.parallel(
        'gruRows',
        parts.map(([n0, n1, sc]): KernelArgs<'gruRows'> => [px, ph, pw, php, pb, pActs, pHn, pH, N, n0, n1, H, sc]),
      );
      take(pHn, s.hn);
    } else {
      // x itself where the caller lets the step write into it and it lies in wasm memory
      const pre = s.xWritable && rt.owns(s.x as Float32Array) ? rt.put(s.x as Float32Array) : copyIn(s.x as Float32Array);
      if (cell === 'LSTM') {
        const pc = put(s.cPrev),
          pC = outPtr(s.c),
          pTc = outPtr(s.tc);
        rt.parallel(
          'lstmRows',
          parts.map(([n0, n1, sc]): KernelArgs<'lstmRows'> => [ph, pw, pre, pc, pActs, pC, pTc, pH, N, n0, n1, H, sc]),
        );
        take(pC, s.c);
        take(pTc, s.tc);
      } else {
        const relu = +(cell === 'RNN_RELU');
        rt.parallel(
          'rnnRows',
          parts.map(([n0, n1, sc]): KernelArgs<'rnnRows'> => [ph, pw, pre, pActs, pH, N, n0, n1, H, relu, sc]),
        );
      }
    }
    take(pActs, s.acts);
    take(pH, s.h);
    return true;
  }

  function recurrentStepBackward(s: RecurrentStepBackwardArgs): boolean {
    const { cell, N, H } = s;
    if (!f32(s.acts, s.tc, s.cPrev, s.hn, s.hPrev, s.w, s.gy, s.dh, s.dc, s.gx, s.ghp)) return false;
    const GH = GATES[cell] * H;
    reservePacked(H, GH, s.firstStep);
    rt.reset();
    const pw = s.prev ? packW(s.w as Float32Array, H, GH, false) : 0;
    const pActs = rt.put(s.acts as Float32Array),
      pgy = rt.put(s.gy as Float32Array),
      pdh = rt.put(s.dh as Float32Array),
      pgx = rt.outPtr(s.gx as Float32Array);
    const parts = rowParts(N, GH, H);
    const prev = +s.prev;
    if (cell === 'LSTM') {
      const pTc = put(s.tc),
        pc = put(s.cPrev),
        pdc = put(s.dc);
      rt.parallel(
        'lstmBackRows',
        parts.map(([n0, n1, sc]): KernelArgs<'lstmBackRows'> => [pActs, pTc, pc, pdh, pgy, pdc, pgx, pw, N, n0, n1, H, prev, sc]),
      );
      take(pdc, s.dc);
    } else if (cell === 'GRU') {
      const pHn = put(s.hn),
        ph = put(s.hPrev),
        pghp = outPtr(s.ghp);
      rt.parallel(
        'gruBackRows',
        parts.map(([n0, n1, sc]): KernelArgs<'gruBackRows'> => [pActs, pHn, ph, pdh, pgy, pgx, pghp, pw, N, n0, n1, H, prev, sc]),
      );
      take(pghp, s.ghp);
    } else {
      const relu = +(cell === 'RNN_RELU');
      rt.parallel(
        'rnnBackRows',
        parts.map(([n0, n1, sc]): KernelArgs<'rnnBackRows'> => [pActs, pdh, pgy, pgx, pw, N, n0, n1, H, relu, prev, sc]),
      );
    }
    take(pgx, s.gx);
    take(pdh, s.dh);
    return true;
  }

  return { recurrentStep, recurrentStepBackward };
}
