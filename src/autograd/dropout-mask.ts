/**
 * The inverted-dropout mask every dropout in descent multiplies by (Dropout, the attention weights'
 * dropout, the recurrent layers' and DropConnect's): keep = 1/(1 − p) where the element is kept,
 * with probability 1 − p, and 0 where it is dropped (everywhere for p = 1). One 32-bit draw of
 * `rng` per element, kept when it is ≥ p·2³². The current backend's `dropoutMask` extension (wasm)
 * draws the same numbers from the generator's words in one kernel call and hands the words back,
 * so a mask and the generator's position after it are the same on every backend.
 */
import type { Rng } from '../tensor/rng.js';
import { extension } from '../backend/index.js';

/** Fill `mask` with 1/(1−p) where kept (probability 1 − p) and 0 where dropped (everywhere for p = 1). */
export function fillDropMask(mask: Float32Array | Float64Array, p: number, rng: Rng): void {
  const threshold = p * 4294967296;
  const keep = p < 1 ? 1 / (1 - p) : 0;
  const fast = extension('dropoutMask');
  if (fast) {
    const st = rng.getState();
    const words = Int32Array.from(st.words);
    if (fast(mask, threshold, keep, words)) {
      rng.restore({ ...st, words: [words[0], words[1], words[2], words[3]] });
      return;
    }
  }
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() >= threshold ? keep : 0;
}
