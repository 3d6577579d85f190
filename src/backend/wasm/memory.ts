/**
 * Arrays that live in WebAssembly memory: optimizer state allocated there, a training step's
 * intermediates (step scopes), and zeroing them with memset.
 */
import { setStorageArena, type Storage, type Tensor } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, SMALL_ELEMENTWISE } from './context.js';

/** Most bytes allocLike keeps in WebAssembly memory (parameters and optimizer state). */
const PERSISTENT_CAP = 384 * 2 ** 20;

export function memoryOps({ rt }: WasmContext): Pick<WasmOps, 'allocLike' | 'zero' | 'beginStep'> {
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

  /**
   * A step scope: while it is open, allocStorage takes float32 arrays (of at least its minimum
   * size) from this memory, so the kernels read operands and write results in place and the step
   * makes no garbage for the collector to chase; the returned function frees them, but the blocks
   * `keep` holds a view into, and marks the tensors built on freed arrays released. Only with
   * shared memory (growing an unshared one detaches every view).
   */
  function beginStep(): (keep: ReadonlySet<Storage> | (() => ReadonlySet<Storage>)) => void {
    if (!rt.shared) return () => {};
    const end = rt.beginScope();
    const tensors: Tensor[] = [];
    const outer = setStorageArena({
      alloc: (n) => rt.scopedArray(n),
      owns: (a) => rt.inScope(a),
      track: (t) => tensors.push(t),
    });
    return (keep) => {
      setStorageArena(outer);
      const freed = end(keep);
      for (const t of tensors) if (freed.has(t.storage as Float32Array)) t._release();
    };
  }

  return { allocLike, zero, beginStep };
}
