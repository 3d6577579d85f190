/** Arrays that live in WebAssembly memory: optimizer state allocated there, and zeroing them with memset. */
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, SMALL_ELEMENTWISE } from './context.js';

/** Most bytes allocLike keeps in WebAssembly memory (parameters and optimizer state). */
const PERSISTENT_CAP = 384 * 2 ** 20;

export function memoryOps({ rt }: WasmContext): Pick<WasmOps, 'allocLike' | 'zero'> {
  /** a.fill(0) with memset for arrays in wasm memory (TypedArray.fill on shared memory is an element loop). */
  function zero(a: Storage): boolean {
    if (!(a instanceof Float32Array) || !rt.owns(a)) return false;
    rt.k.zero(a.byteOffset, a.length);
    return true;
  }

  /**
   * Optimizer state (float32, ≥ SMALL_ELEMENTWISE elements) lives in WebAssembly memory, so a fused
   * step copies only the parameter and its gradient; the block is freed with the state array.
   */
  function allocLike(p: Storage): Storage | null {
    if (!(p instanceof Float32Array) || !(p.length >= SMALL_ELEMENTWISE || rt.owns(p))) return null;
    // Only shared memory: growing an unshared memory detaches every view made before, which would
    // empty a long-lived array. And at most PERSISTENT_CAP bytes: blocks return only when the JS
    // array is collected by a major GC, so past the cap new arrays stay plain JS arrays.
    if (!rt.shared || rt.persistentBytes() + p.length * 4 > PERSISTENT_CAP) return null;
    return rt.persistent(p.length);
  }

  return { allocLike, zero };
}
