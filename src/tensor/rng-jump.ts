/**
 * The xoshiro128** state k draws ahead, without drawing: Rng.nextU32's state update is linear over
 * GF(2) (xors, a shift and a rotation of the four words), so k steps are the product of a 128×128
 * bit matrix A^k with the state. A^k is the product of the powers A^(2^i) for the bits of k, each
 * built once by squaring (128 columns of four words, 2 KiB a power). This lets threads draw
 * consecutive parts of one stream, each part from the state its first draw sees, so a mask drawn
 * in parts is the one drawn serially, draw for draw.
 */

/** One step of the state [a, b, c, d] in place: Rng.nextU32's update. */
function step(s: Uint32Array): void {
  const t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 11) | (s[3] >>> 21);
}

/** m·s for m as 128 columns of four words (column j: the image of bit j of s, word j >> 5, bit j & 31). */
function apply(m: Uint32Array, s: Uint32Array): Uint32Array {
  const out = new Uint32Array(4);
  for (let w = 0; w < 4; w++) {
    let bits = s[w];
    while (bits !== 0) {
      const low = bits & -bits;
      const at = (w * 32 + 31 - Math.clz32(low)) * 4;
      out[0] ^= m[at];
      out[1] ^= m[at + 1];
      out[2] ^= m[at + 2];
      out[3] ^= m[at + 3];
      bits ^= low;
    }
  }
  return out;
}

/** powers[i] = A^(2^i), built as far as asked. */
const powers: Uint32Array[] = [];

function power(i: number): Uint32Array {
  while (powers.length <= i) {
    const m = new Uint32Array(512);
    const prev = powers[powers.length - 1];
    for (let j = 0; j < 128; j++) {
      let col: Uint32Array;
      if (!prev) {
        col = new Uint32Array(4);
        col[j >> 5] = 1 << (j & 31);
        step(col);
      } else col = apply(prev, prev.slice(j * 4, j * 4 + 4));
      m.set(col, j * 4);
    }
    powers.push(m);
  }
  return powers[i];
}

/** The four state words (as Rng's getState().words or a kernel's int32 words) after `k` draws from `words`; k a non-negative integer below 2⁵³. */
export function xoshiroJump(words: ArrayLike<number>, k: number): Int32Array {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`xoshiroJump: expected a non-negative integer number of draws, got ${k}`);
  let s: Uint32Array = Uint32Array.from(words, (w) => w >>> 0);
  for (let i = 0; k > 0; i++, k = Math.floor(k / 2)) if (k % 2 === 1) s = apply(power(i), s);
  return new Int32Array(s.buffer);
}
