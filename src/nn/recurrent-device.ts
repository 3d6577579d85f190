/**
 * One direction of one recurrent layer as ONE autograd node on a device: recurrent-fused.ts's
 * algorithm with every array in device buffers and nothing read back. Per step, one product
 * hp = h_{t−1}·W_hhᵀ (the backend's matmul) and one gate pass (extension recurrentGates); the
 * backward through time per step one gate pass (recurrentGatesBackward) and one product dZ·W_hh
 * for dL/dh_{t−1}, then dW_hh = dZᵀ·H_prev as one product over all steps (and the GRU's
 * db_hh = 1ᵀ·dZ). What the backward reads stays in the buffers the forward wrote: every h
 * (and c) in processing order, the gate activations.
 *
 * Same node as the host's: input XP [T·N, G·H] (time-major, the biases but the GRU's b_hh in it),
 * W_hh, the GRU's b_hh, the initial states; output [T (+ 1 for the LSTM's final c), N, H] in time
 * order. The hand-written backward is not differentiable: under createGraph it throws, naming
 * `fused: false`, as on the host.
 */
import { Tensor } from '../tensor/tensor.js';
import { isGradEnabled, record } from '../autograd/engine.js';
import { add } from '../autograd/ops.js';
import { kernelsFor, type Kernels } from '../backend/backend.js';
import type { Storage } from '../tensor/tensor.js';
import type { FusedArgs } from './recurrent-fused.js';

const GATES = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 } as const;

/** Copies `src` (n elements) into `dst` at offset `at` with the device's cat kernel. */
function copyInto(k: Kernels, src: Storage, dst: Storage, n: number, dstLength: number, at: number): void {
  if (!k.ext.catPiece?.(src, dst, 1, n, dstLength, at)) throw new Error(`recurrent layer on ${k.device}: no catPiece kernel`);
}

/** The layer direction on the device of its operands, or null where that backend lacks the gate kernels. */
export function deviceRecurrent(a: FusedArgs): Tensor | null {
  const { cell, xp, wHh, bHh, h0, c0, reverse, T, N, H } = a;
  const k = kernelsFor(wHh.storage, xp.storage);
  const gates = k.ext.recurrentGates;
  const gatesBackward = k.ext.recurrentGatesBackward;
  if (!k.device || !gates || !gatesBackward) return null;
  const lstm = cell === 'LSTM';
  const gru = cell === 'GRU';
  const GH = GATES[cell] * H;
  const NH = N * H;
  // the LSTM's i, f, g, o and the GRU's r, z, n, W_hn h + b_hn per step; the RNN keeps only its h
  const A = lstm || gru ? 4 * H : 0;
  const alloc = (n: number) => k.alloc('float32', n);
  const xpS = k.on(xp.storage);
  const w = k.on(wHh.storage);
  const b = bHh ? k.on(bHh.storage) : null;
  const hs = alloc((T + 1) * NH);
  const cs = lstm ? alloc((T + 1) * NH) : null;
  const acts = A ? alloc(T * N * A) : null;
  const rows = T + (lstm ? 1 : 0);
  const y = alloc(rows * NH);
  let hPrev = h0 ? k.on(h0.storage) : alloc(NH);
  if (h0) copyInto(k, hPrev, hs, NH, (T + 1) * NH, 0);
  if (c0 && cs) copyInto(k, k.on(c0.storage), cs, NH, (T + 1) * NH, 0);
  const hp = alloc(N * GH);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    k.backend.matmul(hPrev, w, hp, N, GH, H, false, true);
    const h = alloc(NH);
    const ok = gates({
      cell,
      N,
      H,
      xp: xpS,
      xOff: t * N * GH,
      hp,
      bHh: b,
      hs,
      hOff: s * NH,
      cs,
      acts,
      aOff: s * N * A,
      h,
      y,
      yOff: t * NH,
      cLast: lstm && s === T - 1 ? T * NH : -1,
    });
    if (!ok) throw new Error(`${a.what}: the ${k.device} backend declined the recurrent gate pass`);
    hPrev = h;
  }
  const inputs: Tensor[] = [xp, wHh];
  if (bHh) inputs.push(bHh);
  if (h0) inputs.push(h0);
  if (c0) inputs.push(c0);
  const out = new Tensor(y, [rows, N, H]);
  record(`${cell.toLowerCase()}Sequence`, inputs, out, (gy) => {
    if (isGradEnabled())
      throw new Error(
        `${a.what}: the fused layer's backward is not differentiable (createGraph); build the layer with { fused: false } for gradients of gradients`,
      );
    const g = k.on(gy.storage);
    let dh = alloc(NH);
    const carry = lstm || gru ? alloc(NH) : null;
    const dz = alloc(T * N * GH);
    const dxp = alloc(T * N * GH);
    for (let s = T - 1; s >= 0; s--) {
      const t = reverse ? T - 1 - s : s;
      const dzs = alloc(N * GH);
      const ok = gatesBackward({
        cell,
        N,
        H,
        gy: g,
        yOff: t * NH,
        cLast: lstm && s === T - 1 ? T * NH : -1,
        dh,
        acts,
        aOff: s * N * A,
        hs,
        hOff: s * NH,
        cs,
        carry,
        dz,
        zOff: s * N * GH,
        dzs,
        dxp,
        xOff: t * N * GH,
      });
      if (!ok) throw new Error(`${a.what}: the ${k.device} backend declined the recurrent gate pass's backward`);
      dh = alloc(NH);
      k.backend.matmul(dzs, w, dh, N, H, GH, false, false);
    }
    const dW = alloc(GH * H);
    k.backend.matmul(dz, hs, dW, GH, H, T * N, true, false);
    const grads: Tensor[] = [new Tensor(dxp, xp.shape), new Tensor(dW, wHh.shape)];
    if (bHh) {
      const ones = k.on(new Float32Array(T * N).fill(1));
      const db = alloc(GH);
      k.backend.matmul(ones, dz, db, 1, GH, T * N, false, false);
      grads.push(new Tensor(db, bHh.shape));
    }
    if (h0) {
      const dh0 = new Tensor(dh, h0.shape);
      // the GRU's direct path z_0 ∘ dL/dh_0 is still in carry
      grads.push(gru && carry ? add(dh0, new Tensor(carry, h0.shape)) : dh0);
    }
    if (c0 && carry) grads.push(new Tensor(carry, c0.shape));
    return grads;
  });
  return out;
}
