/**
 * Scaled dot-product attention (asm/attention.ts): the attention and attentionBackward extensions,
 * which src/autograd/attention.ts asks before composing batched products, softmax, dropout and (for
 * MultiheadAttention) the heads' split and merge. The (sequence, head) pairs are split over the
 * threads, each part with its own scratch (a transposed head and rows). An operand's storage is
 * copied in once however many operands it holds (the packed q, k, v), and so is a gradient's out.
 */
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, cut, f32 } from './context.js';
import type { KernelArgs } from './runtime.js';
import type { AttentionArgs } from '../backend.js';
import { ATT_DK, ATT_DV, ATT_H, ATT_INTS, ATT_K, ATT_LK, ATT_LQ, ATT_O, ATT_Q, ATT_V } from './abi.generated.js';

export function attentionOps({ rt, partsFor }: WasmContext): Pick<WasmOps, 'attention' | 'attentionBackward'> {
  /** The layout block (asm/geometry.ts ATT_*) in the arena; its address. */
  function layout(a: AttentionArgs): number {
    const p = rt.alloc(ATT_INTS * 4);
    const i32 = rt.i32,
      at = p >> 2;
    i32[at + ATT_LQ] = a.lq;
    i32[at + ATT_LK] = a.lk;
    i32[at + ATT_H] = a.heads;
    i32[at + ATT_DK] = a.dk;
    i32[at + ATT_DV] = a.dv;
    for (const [slot, s] of [
      [ATT_Q, a.q.strides],
      [ATT_K, a.k.strides],
      [ATT_V, a.v.strides],
      [ATT_O, a.outStrides],
    ] as const)
      i32.set(s, at + slot);
    return p;
  }

  /** [t0, t1) of each part and a scratch block for each. */
  function parts(a: AttentionArgs, lay: number, backward: boolean): { range: [number, number]; scratch: number }[] {
    const tasks = a.n * a.heads;
    const macs = tasks * a.lq * a.lk * (a.dk + a.dv) * (backward ? 2 : 1);
    const T = partsFor(macs, tasks, 2);
    const floats = rt.k.attnScratchFloats(lay, backward ? 1 : 0);
    return Array.from({ length: T }, (_, t) => cut(tasks, T, t, 1))
      .filter(([lo, hi]) => hi > lo)
      .map((range) => ({ range, scratch: rt.alloc(floats * 4) }));
  }

  /** Addresses of q, k and v, each storage copied in once. */
  function operands(a: AttentionArgs): [number, number, number] {
    const at = new Map<Storage, number>();
    const put = (o: AttentionArgs['q']) => {
      let p = at.get(o.data);
      if (p === undefined) at.set(o.data, (p = rt.put(o.data as Float32Array)));
      return p + 4 * o.offset;
    };
    return [put(a.q), put(a.k), put(a.v)];
  }

  const declined = (a: AttentionArgs, ...more: Storage[]) => !f32(a.q.data, a.k.data, a.v.data, a.mask, ...more) || a.lk < 1;

  function attention(a: AttentionArgs, out: Storage, probs: Storage): boolean {
    if (declined(a, out, probs)) return false;
    rt.reset();
    const [pq, pk, pv] = operands(a);
    const pm = a.mask ? rt.put(a.mask as Float32Array) : 0,
      po = rt.outPtr(out as Float32Array),
      pp = rt.outPtr(probs as Float32Array),
      lay = layout(a);
    rt.parallel(
      'attnForward',
      parts(a, lay, false).map(
        ({ range: [t0, t1], scratch }): KernelArgs<'attnForward'> => [
          pq,
          pk,
          pv,
          po,
          pp,
          pm,
          lay,
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

  function attentionBackward(a: AttentionArgs, g: Storage, probs: Storage, gq: Storage, gk: Storage, gv: Storage): boolean {
    if (declined(a, g, probs, gq, gk, gv)) return false;
    rt.reset();
    const [pq, pk, pv] = operands(a);
    const pm = a.mask ? rt.put(a.mask as Float32Array) : 0,
      pg = rt.put(g as Float32Array),
      pp = rt.put(probs as Float32Array);
    // each gradient storage gets one block, however many operands' gradients it takes
    const outs = new Map<Storage, number>();
    const out = (s: Storage, o: AttentionArgs['q']) => {
      let p = outs.get(s);
      if (p === undefined) outs.set(s, (p = rt.outPtr(s as Float32Array)));
      return p + 4 * o.offset;
    };
    const pgq = out(gq, a.q),
      pgk = out(gk, a.k),
      pgv = out(gv, a.v);
    const lay = layout(a);
    rt.parallel(
      'attnBackward',
      parts(a, lay, true).map(
        ({ range: [t0, t1], scratch }): KernelArgs<'attnBackward'> => [
          pq,
          pk,
          pv,
          pg,
          pgq,
          pgk,
          pgv,
          pp,
          pm,
          lay,
          a.scale,
          a.causal ? 1 : 0,
          scratch,
          t0,
          t1,
        ],
      ),
    );
    for (const [s, p] of outs) rt.take(p, s as Float32Array);
    rt.attentions++;
    return true;
  }

  return { attention, attentionBackward };
}
