/**
 * One step of a fused recurrent layer, forward and backward (asm/recurrent.ts), with its product
 * on the packed GEMM: the forward accumulates h_{t−1}·W_hhᵀ onto a copy of the step's input
 * projection (the GRU, whose n block needs the two apart, into a block of its own), then the gate
 * pass; the backward runs the gate pass, then dh_{t−1} = gx·W_hh (the GRU's added onto its direct
 * path). Operands outside WebAssembly memory are copied in and the results out, as every op does;
 * the gate pass is split over the threads by rows from ACTIVATION_PARALLEL elements.
 */
import type { RecurrentStepArgs, RecurrentStepBackwardArgs } from '../backend.js';
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, PARALLEL_MACS, cut, f32 } from './context.js';
import type { GemmInto } from './dense.js';
import type { KernelArgs } from './runtime.js';

/** Gate blocks per row of each cell. */
const GATES = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 } as const;
/**
 * Elements of a step's pre-activations from which its gate pass is split over the threads: each
 * element takes a σ or a tanh (~2–5 ns on one thread), a step of W5 (128 × 512) ~0.2 ms.
 */
const ACTIVATION_PARALLEL = 1 << 14;

export function recurrentOps(cx: WasmContext, gemmInto: GemmInto): Pick<WasmOps, 'recurrentStep' | 'recurrentStepBackward'> {
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

  /** Row ranges [n0, n1) of the gate pass: one, or two per thread when the step is big enough. */
  function rowParts(N: number, elements: number): [number, number][] {
    const T = elements >= ACTIVATION_PARALLEL ? partsFor(PARALLEL_MACS, N, 2) : 1;
    return Array.from({ length: T }, (_, t) => cut(N, T, t, 1));
  }

  function recurrentStep(s: RecurrentStepArgs): boolean {
    const { cell, N, H } = s;
    if (!f32(s.x, s.hPrev, s.w, s.bHh, s.cPrev, s.acts, s.h, s.c, s.tc, s.hn)) return false;
    const GH = GATES[cell] * H;
    rt.reset();
    const pw = rt.put(s.w as Float32Array),
      ph = put(s.hPrev);
    const pActs = outPtr(s.acts),
      pH = outPtr(s.h);
    const rows = rowParts(N, N * GH);
    if (cell === 'GRU') {
      const px = rt.put(s.x as Float32Array),
        pb = put(s.bHh),
        php = ph ? rt.alloc(N * GH * 4) : 0,
        pHn = outPtr(s.hn);
      if (ph) gemmInto(ph, pw, php, N, GH, H, false, true, false);
      rt.parallel(
        'gruStep',
        rows.map(([n0, n1]): KernelArgs<'gruStep'> => [px, php, pb, ph, pActs, pHn, pH, n0, n1, H]),
      );
      take(pHn, s.hn);
    } else {
      const pre = copyIn(s.x as Float32Array);
      if (ph) gemmInto(ph, pw, pre, N, GH, H, false, true, true);
      if (cell === 'LSTM') {
        const pc = put(s.cPrev),
          pC = outPtr(s.c),
          pTc = outPtr(s.tc);
        rt.parallel(
          'lstmStep',
          rows.map(([n0, n1]): KernelArgs<'lstmStep'> => [pre, pc, pActs, pC, pTc, pH, n0, n1, H]),
        );
        take(pC, s.c);
        take(pTc, s.tc);
      } else {
        const relu = +(cell === 'RNN_RELU');
        rt.parallel(
          'rnnStep',
          rows.map(([n0, n1]): KernelArgs<'rnnStep'> => [pre, pActs, pH, n0 * H, n1 * H, relu]),
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
    rt.reset();
    const pActs = rt.put(s.acts as Float32Array),
      pgy = rt.put(s.gy as Float32Array),
      pdh = rt.put(s.dh as Float32Array),
      pgx = rt.outPtr(s.gx as Float32Array);
    // the gate pass has no transcendental: memory-bound, one part per thread at most
    const rows = rowParts(N, (N * GH) / 2);
    let pg = pgx;
    if (cell === 'LSTM') {
      const pTc = put(s.tc),
        pc = put(s.cPrev),
        pdc = put(s.dc);
      rt.parallel(
        'lstmBack',
        rows.map(([n0, n1]): KernelArgs<'lstmBack'> => [pActs, pTc, pc, pdh, pgy, pdc, pgx, n0, n1, H]),
      );
      take(pdc, s.dc);
    } else if (cell === 'GRU') {
      const pHn = put(s.hn),
        ph = put(s.hPrev),
        pghp = outPtr(s.ghp);
      rt.parallel(
        'gruBack',
        rows.map(([n0, n1]): KernelArgs<'gruBack'> => [pActs, pHn, ph, pdh, pgy, pgx, pghp, n0, n1, H]),
      );
      take(pghp, s.ghp);
      pg = pghp;
    } else {
      const relu = +(cell === 'RNN_RELU');
      rt.parallel(
        'rnnBack',
        rows.map(([n0, n1]): KernelArgs<'rnnBack'> => [pActs, pdh, pgy, pgx, n0 * H, n1 * H, relu]),
      );
    }
    // dh_{t−1}: the GRU's direct path (written by its gate pass) plus the product; the others' product alone
    if (s.prev) gemmInto(pg, rt.put(s.w as Float32Array), pdh, N, H, GH, false, false, cell === 'GRU');
    else if (cell !== 'GRU') rt.k.zero(pdh, N * H);
    take(pgx, s.gx);
    take(pdh, s.dh);
    return true;
  }

  return { recurrentStep, recurrentStepBackward };
}
