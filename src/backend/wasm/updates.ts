/**
 * Fused optimizer updates (asm/optim.ts): Adam/AdamW and SGD in one pass over parameter, gradient
 * and state. Inside batchUpdates, the updates of all parameters whose arrays live in WebAssembly
 * memory run as one threaded job.
 */
import type { AdamStepHyper, SgdStepHyper } from '../backend.js';
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, cut, f32 } from './context.js';
import { MAX_PARTS } from './protocol.js';
import type { KernelArgs } from './runtime.js';

type UpdateFn = 'adam' | 'sgd';

/**
 * A fused update over arrays at `ptrs` (parameter first; every other address moves with it, 0
 * stays 0): `args(ptrs, n)` is the kernel's argument list for n floats from those addresses.
 */
type Update = { [F in UpdateFn]: { fn: F; ptrs: number[]; n: number; args: (ptrs: number[], n: number) => KernelArgs<F> } }[UpdateFn];

export function updateOps({ rt, partsFor }: WasmContext): Pick<WasmOps, 'adamStep' | 'sgdStep' | 'batchUpdates'> {
  /** Updates queued by batchUpdates (null outside it). */
  let queued: Update[] | null = null;

  /** Runs updates as one job: each cut into parts of about the same size, over the threads. */
  function runUpdates(list: Update[]): void {
    for (const fn of ['adam', 'sgd'] as const) {
      const us = list.filter((u) => u.fn === fn);
      const total = us.reduce((s, u) => s + u.n, 0);
      if (!total) continue;
      // parts of ~1/4 of the whole per thread (the threads claim them dynamically), at least 4096 floats
      const count = partsFor(total * 8, Math.ceil(total / 4096), 4);
      const size = Math.max(4096, Math.ceil(total / count / 16) * 16);
      const parts: KernelArgs<UpdateFn>[] = [];
      for (const u of us) {
        const pieces = Math.max(1, Math.round(u.n / size));
        for (let t = 0; t < pieces; t++) {
          const [lo, hi] = cut(u.n, pieces, t, 16);
          parts.push(
            u.args(
              u.ptrs.map((q) => (q ? q + lo * 4 : 0)),
              hi - lo,
            ),
          );
        }
      }
      // in the parameters' order: the caller updates the low rows of each big parameter, the same
      // rows it computes in the products (protocol.ts), and the worker starts from the small last ones
      for (let at = 0; at < parts.length; at += MAX_PARTS) rt.parallel(fn, parts.slice(at, at + MAX_PARTS));
    }
  }

  /** Queues the update when inside batchUpdates and every array lives in wasm memory (no copies), else runs it now. */
  function update(u: Update, arrays: (Storage | null)[], take: (ptrs: number[]) => void): void {
    if (queued && arrays.every((a) => a === null || rt.owns(a as Float32Array))) {
      queued.push(u);
      return;
    }
    runUpdates([u]);
    take(u.ptrs);
  }

  function batchUpdates(run: () => void): void {
    if (queued) return run();
    queued = [];
    try {
      run();
    } finally {
      const list = queued;
      queued = null;
      runUpdates(list);
    }
  }

  function adamStep(p: Storage, g: Storage, m: Storage, v: Storage, vMax: Storage | null, h: AdamStepHyper): boolean {
    if (!f32(p, g, m, v, vMax)) return false;
    rt.reset();
    const ptrs = [
      rt.put(p as Float32Array),
      rt.put(g as Float32Array),
      rt.put(m as Float32Array),
      rt.put(v as Float32Array),
      vMax ? rt.put(vMax as Float32Array) : 0,
    ];
    const stepSize = h.lr / (1 - h.beta1 ** h.step);
    const bc2Sqrt = Math.sqrt(1 - h.beta2 ** h.step);
    const args = ([pp, pg, pm, pv, pvm]: number[], n: number): KernelArgs<'adam'> => [
      pp,
      pg,
      pm,
      pv,
      pvm,
      n,
      h.lr,
      h.beta1,
      h.beta2,
      h.eps,
      h.weightDecay,
      +h.decoupled,
      +h.maximize,
      stepSize,
      bc2Sqrt,
    ];
    update({ fn: 'adam', ptrs, n: p.length, args }, [p, g, m, v, vMax], ([pp, , pm, pv, pvm]) => {
      rt.take(pp, p as Float32Array);
      rt.take(pm, m as Float32Array);
      rt.take(pv, v as Float32Array);
      if (vMax) rt.take(pvm, vMax as Float32Array);
    });
    return true;
  }

  function sgdStep(p: Storage, g: Storage, buf: Storage | null, h: SgdStepHyper): boolean {
    if (!f32(p, g, buf)) return false;
    rt.reset();
    const ptrs = [rt.put(p as Float32Array), rt.put(g as Float32Array), buf ? rt.put(buf as Float32Array) : 0];
    const args = ([pp, pg, pb]: number[], n: number): KernelArgs<'sgd'> => [
      pp,
      pg,
      pb,
      n,
      h.lr,
      h.momentum,
      h.dampening,
      h.weightDecay,
      +h.nesterov,
      +h.maximize,
      +h.first,
    ];
    update({ fn: 'sgd', ptrs, n: p.length, args }, [p, g, buf], ([pp, , pb]) => {
      rt.take(pp, p as Float32Array);
      if (buf) rt.take(pb, buf as Float32Array);
    });
    return true;
  }

  return { adamStep, sgdStep, batchUpdates };
}
