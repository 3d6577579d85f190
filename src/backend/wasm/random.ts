/**
 * Random draws in WebAssembly memory (asm/random.ts): dropout masks (and dropout itself), the
 * generator's words passed in and back. Each draw depends on the last, so a long mask is cut into
 * consecutive parts whose starting states are the serial stream's at their first element
 * (xoshiroJump: the state update is linear), drawn on the threads at once: the mask is the serial
 * one, draw for draw, and the words handed back are those after the last part's last draw.
 */
import type { Storage } from '../../tensor/tensor.js';
import { xoshiroJump } from '../../tensor/rng-jump.js';
import { type WasmContext, type WasmOps, PARALLEL_MACS, SMALL_ELEMENTWISE, cut, f32 } from './context.js';

/** Elements per part at the least: a part is about a nanosecond a draw, a thread's hand-off tens of microseconds. */
const MIN_PART = 1 << 16;

export function randomOps({ rt, partsFor }: WasmContext): Pick<WasmOps, 'dropoutMask' | 'dropout'> {
  /**
   * [lo, hi) of each part of n draws and the address of its state (four words, 64 bytes apart so
   * no two threads write one cache line), written from `words`.
   */
  function parts(n: number, words: Int32Array): { lo: number; hi: number; state: number }[] {
    // one part per thread, none shorter than MIN_PART (the product threshold PARALLEL_MACS does not apply to draws)
    const T = n >= 2 * MIN_PART ? partsFor(PARALLEL_MACS, Math.floor(n / MIN_PART), 1) : 1;
    const ps = rt.alloc(64 * T);
    return Array.from({ length: T }, (_, t) => {
      const [lo, hi] = cut(n, T, t, 16);
      const state = ps + 64 * t;
      // after every alloc (growing the memory replaces the views)
      rt.i32.set(t === 0 ? words : xoshiroJump(words, lo), state >> 2);
      return { lo, hi, state };
    });
  }

  /** The words after the last part's draws back into `words`. */
  const handBack = (ps: { state: number }[], words: Int32Array) => {
    const last = ps[ps.length - 1].state >> 2;
    words.set(rt.i32.subarray(last, last + 4));
  };

  function dropoutMask(mask: Storage, threshold: number, keep: number, words: Int32Array): boolean {
    if (!(mask instanceof Float32Array) || mask.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const po = rt.outPtr(mask);
    const ps = parts(mask.length, words);
    rt.parallel(
      'dropoutMask',
      ps.map(({ lo, hi, state }) => [state, po + 4 * lo, hi - lo, threshold, keep]),
    );
    handBack(ps, words);
    rt.take(po, mask);
    return true;
  }

  /** The mask and x·mask in one pass, on one copy of x. */
  function dropout(x: Storage, out: Storage, mask: Storage, threshold: number, keep: number, words: Int32Array): boolean {
    if (!f32(x, out, mask) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const px = rt.put(x as Float32Array),
      py = rt.outPtr(out as Float32Array),
      pm = rt.outPtr(mask as Float32Array);
    const ps = parts(x.length, words);
    rt.parallel(
      'dropoutApply',
      ps.map(({ lo, hi, state }) => [state, px + 4 * lo, py + 4 * lo, pm + 4 * lo, hi - lo, threshold, keep]),
    );
    handBack(ps, words);
    rt.take(py, out as Float32Array);
    rt.take(pm, mask as Float32Array);
    return true;
  }

  return { dropoutMask, dropout };
}
