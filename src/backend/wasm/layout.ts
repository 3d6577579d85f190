/**
 * Layout copies in WebAssembly memory (asm/layout.ts): the permute extension, which the host
 * permute op (src/autograd/ops.ts) asks before its JavaScript loop. Attention's heads split and
 * merge are permutes of whole activations ([N, L, 3, H, D] → [3, N, H, L, D] for the packed q, k
 * and v, [N, H, L, D] → [N, L, H, D] after the products) whose runs of D floats the JavaScript
 * loop copied at several nanoseconds a float; here they are one copy in, a SIMD run copy and one
 * copy out.
 */
import type { Shape } from '../../tensor/shape.js';
import { mergeDims, stridesOf } from '../../tensor/shape.js';
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, SMALL_ELEMENTWISE } from './context.js';

export function layoutOps({ rt }: WasmContext): Pick<WasmOps, 'permute'> {
  /** out = x of `shape` with output dimension i read from x's dimension perm[i]; declines float64 and small tensors. */
  function permute(x: Storage, shape: Shape, perm: readonly number[], out: Storage): boolean {
    if (!(x instanceof Float32Array) || !(out instanceof Float32Array) || x.length < SMALL_ELEMENTWISE) return false;
    const st = stridesOf(shape);
    const { dims, strides } = mergeDims(
      perm.map((a) => shape[a]),
      perm.map((a) => st[a]),
    );
    if (dims.length === 0) return false;
    const r = dims.length;
    rt.reset();
    const px = rt.put(x),
      po = rt.outPtr(out),
      pi = rt.alloc(12 * r);
    const i32 = rt.i32,
      at = pi >> 2;
    for (let d = 0; d < r; d++) {
      i32[at + d] = dims[d];
      i32[at + r + d] = strides[d];
    }
    rt.k.permute(px, po, r, pi, pi + 4 * r, pi + 8 * r);
    rt.take(po, out);
    rt.permutes++;
    return true;
  }

  return { permute };
}
