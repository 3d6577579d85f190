/** Random draws in WebAssembly memory (asm/random.ts): dropout masks, the generator's words passed in and back. */
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, SMALL_ELEMENTWISE } from './context.js';

export function randomOps({ rt }: WasmContext): Pick<WasmOps, 'dropoutMask'> {
  /**
   * One serial pass (each draw depends on the last, so the mask is not split over threads): about
   * a nanosecond a draw, where the JavaScript generator took several.
   */
  function dropoutMask(mask: Storage, threshold: number, keep: number, words: Int32Array): boolean {
    if (!(mask instanceof Float32Array) || mask.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const ps = rt.alloc(16),
      po = rt.outPtr(mask);
    // after every alloc: growing the memory replaces the views
    rt.i32.set(words, ps >> 2);
    rt.k.dropoutMask(ps, po, mask.length, threshold, keep);
    words.set(rt.i32.subarray(ps >> 2, (ps >> 2) + 4));
    rt.take(po, mask);
    return true;
  }

  return { dropoutMask };
}
