/**
 * Self-attention on the packed projections (asm/attention.ts): the attention and attentionBackward
 * extensions, which packedSelfAttention (src/autograd/attention.ts) asks before composing the
 * heads' split, two batched products, softmax, dropout and the heads' merge. The (sequence, head)
 * pairs are split over the threads, each part with its own scratch (a transposed head and rows).
 */
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, cut, f32 } from './context.js';
import type { KernelArgs } from './runtime.js';
import type { AttentionArgs } from '../backend.js';

export function attentionOps({ rt, partsFor }: WasmContext): Pick<WasmOps, 'attention' | 'attentionBackward'> {
  /** [t0, t1) of each part, and a scratch block for each, for `tasks` (sequence, head) pairs. */
  function parts(a: AttentionArgs, backward: boolean): { range: [number, number]; scratch: number }[] {
    const tasks = a.n * a.heads;
    const macs = tasks * a.length * a.length * a.headDim * (backward ? 4 : 2);
    const T = partsFor(macs, tasks, 2);
    const floats = rt.k.attnScratchFloats(a.length, a.headDim, backward ? 1 : 0);
    return Array.from({ length: T }, (_, t) => cut(tasks, T, t, 1))
      .filter(([lo, hi]) => hi > lo)
      .map((range) => ({ range, scratch: rt.alloc(floats * 4) }));
  }

  function attention(a: AttentionArgs, out: Storage, probs: Storage): boolean {
    if (!f32(a.qkv, a.mask, out, probs)) return false;
    rt.reset();
    const pq = rt.put(a.qkv as Float32Array),
      pm = a.mask ? rt.put(a.mask as Float32Array) : 0,
      po = rt.outPtr(out as Float32Array),
      pp = rt.outPtr(probs as Float32Array);
    rt.parallel(
      'attnForward',
      parts(a, false).map(
        ({ range: [t0, t1], scratch }): KernelArgs<'attnForward'> => [
          pq,
          po,
          pp,
          pm,
          a.length,
          a.heads,
          a.headDim,
          a.scale,
          a.causal ? 1 : 0,
          scratch,
          t0,
          t1,
        ],
      ),
    );
    rt.take(po, out as Float32Array);
    rt.take(pp, probs as Float32Array);
    rt.attentions++;
    return true;
  }

  function attentionBackward(a: AttentionArgs, g: Storage, probs: Storage, gqkv: Storage): boolean {
    if (!f32(a.qkv, a.mask, g, probs, gqkv)) return false;
    rt.reset();
    const pq = rt.put(a.qkv as Float32Array),
      pm = a.mask ? rt.put(a.mask as Float32Array) : 0,
      pg = rt.put(g as Float32Array),
      pp = rt.put(probs as Float32Array),
      pgq = rt.outPtr(gqkv as Float32Array);
    rt.parallel(
      'attnBackward',
      parts(a, true).map(
        ({ range: [t0, t1], scratch }): KernelArgs<'attnBackward'> => [
          pq,
          pg,
          pp,
          pm,
          pgq,
          a.length,
          a.heads,
          a.headDim,
          a.scale,
          a.causal ? 1 : 0,
          scratch,
          t0,
          t1,
        ],
      ),
    );
    rt.take(pgq, gqkv as Float32Array);
    rt.attentions++;
    return true;
  }

  return { attention, attentionBackward };
}
