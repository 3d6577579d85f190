/** Random draws in WebAssembly memory (asm/random.ts): dropout masks (and dropout itself), the generator's words passed in and back. */
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, SMALL_ELEMENTWISE, f32 } from './context.js';

export function randomOps({ rt }: WasmContext): Pick<WasmOps, 'dropoutMask' | 'dropout'> {
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

  /** The mask and x·mask in one pass, on one copy of x. */
  function dropout(x: Storage, out: Storage, mask: Storage, threshold: number, keep: number, words: Int32Array): boolean {
    if (!f32(x, out, mask) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const ps = rt.alloc(16),
      px = rt.put(x as Float32Array),
      py = rt.outPtr(out as Float32Array),
      pm = rt.outPtr(mask as Float32Array);
    rt.i32.set(words, ps >> 2);
    rt.k.dropoutApply(ps, px, py, pm, x.length, threshold, keep);
    words.set(rt.i32.subarray(ps >> 2, (ps >> 2) + 4));
    rt.take(py, out as Float32Array);
    rt.take(pm, mask as Float32Array);
    return true;
  }

  return { dropoutMask, dropout };
}
