/**
 * The inverted-dropout mask every dropout in descent multiplies by (Dropout, the attention weights'
 * dropout, the recurrent layers' and DropConnect's): keep = 1/(1 − p) where the element is kept,
 * with probability 1 − p, and 0 where it is dropped (everywhere for p = 1). One 32-bit draw of
 * `rng` per element, kept when it is ≥ p·2³². The current backend's `dropoutMask` extension (wasm)
 * draws the same numbers from the generator's words in one kernel call and hands the words back,
 * so a mask and the generator's position after it are the same on every backend; its `dropout`
 * extension also multiplies x by the mask in that call (applyDropout).
 */
import type { Rng } from '../tensor/rng.js';
import { Tensor, allocStorage } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { extension } from '../backend/index.js';
import { record } from './engine.js';
import { mul } from './ops.js';

/** The threshold a draw must reach to keep its element, and the kept elements' factor. */
const limits = (p: number) => ({ threshold: p * 4294967296, keep: p < 1 ? 1 / (1 - p) : 0 });

/** Runs `draw` on a copy of rng's words; where it draws (returns true) rng continues after its draws. */
function drawWith(rng: Rng, draw: (words: Int32Array) => boolean): boolean {
  const st = rng.getState();
  const words = Int32Array.from(st.words);
  if (!draw(words)) return false;
  rng.restore({ ...st, words: [words[0], words[1], words[2], words[3]] });
  return true;
}

/** Fill `mask` with 1/(1−p) where kept (probability 1 − p) and 0 where dropped (everywhere for p = 1). */
export function fillDropMask(mask: Float32Array | Float64Array, p: number, rng: Rng): void {
  const { threshold, keep } = limits(p);
  const fast = extension('dropoutMask');
  if (fast && drawWith(rng, (words) => fast(mask, threshold, keep, words))) return;
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() >= threshold ? keep : 0;
}

/**
 * x · mask with the mask of fillDropMask (the same draws), the gradient g · mask: a dropout's
 * forward while training. On a backend with the `dropout` extension the mask and the product come
 * from one kernel call; else the mask is drawn, then multiplied as an op.
 */
export function applyDropout(x: Tensor, p: number, rng: Rng): Tensor {
  const mask = allocStorage(x.dtype, x.size);
  const fused = isDeviceStorage(x.storage) ? undefined : extension('dropout');
  if (fused) {
    const { threshold, keep } = limits(p);
    const out = allocStorage(x.dtype, x.size);
    if (drawWith(rng, (words) => fused(x.data, out, mask, threshold, keep, words))) {
      const m = new Tensor(mask, x.shape);
      return record('dropout', [x], new Tensor(out, x.shape), (g) => [mul(g, m)]);
    }
  }
  fillDropMask(mask, p, rng);
  return mul(x, new Tensor(mask, x.shape));
}
