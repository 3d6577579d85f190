/**
 * The one source of randomness in descent.
 *
 * xoshiro128** (Blackman & Vigna) on 32-bit integers, seeded through splitmix32. It is fast in JS
 * (no BigInt) and has a 2^128 period. `fork(name)` derives an independent stream from this
 * generator's *seed* and the name, not from its current position: the shuffling stream is the same
 * whatever the initialisation consumed, so adding a layer does not change the batch order.
 */

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of a name. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The largest seed: seeds are 32-bit (the generator's state is seeded from one 32-bit word), so
 * larger ones are refused rather than wrapped (4294967297 would otherwise be seed 1).
 */
export const SEED_MAX = 0xffffffff;

export class Rng {
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed = 0) {
    if (!Number.isInteger(seed) || seed < 0 || seed > SEED_MAX)
      throw new RangeError(`Rng seed: expected an integer from 0 to ${SEED_MAX}, got ${seed}`);
    this.seed = seed >>> 0;
    const st = { s: this.seed };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** An independent generator named `name`, a pure function of (seed, name). */
  fork(name: string): Rng {
    const st = { s: (this.seed ^ Math.imul(hashName(name), 0x27d4eb2d)) >>> 0 };
    splitmix32(st);
    return new Rng((splitmix32(st) ^ hashName(`${name}#${this.seed}`)) >>> 0);
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0) || n > 0x100000000) throw new RangeError(`Rng.int: n must be in (0, 2^32], got ${n}`);
    // Rejection sampling removes the modulo bias.
    const limit = 0x100000000 - (0x100000000 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Standard normal (Box–Muller, the second value is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /**
   * log of a Gamma(shape, 1) draw, shape > 0: Marsaglia & Tsang's squeeze method for shape ≥ 1; for
   * shape < 1, Gamma(shape + 1)·U^(1/shape) taken in logs, so tiny draws (shape 0.1 gives values
   * below 1e-300) do not underflow to 0.
   */
  logGamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`Rng.gamma: shape must be a finite number > 0, got ${shape}`);
    if (shape < 1) return this.logGamma(shape + 1) + Math.log(1 - this.uniform()) / shape;
    const d = shape - 1 / 3,
      c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      const t = 1 + c * x;
      if (t <= 0) continue;
      const v = t * t * t,
        u = 1 - this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return Math.log(d * v);
    }
  }

  /** A Gamma(shape, 1) draw (mean and variance `shape`). */
  gamma(shape: number): number {
    return Math.exp(this.logGamma(shape));
  }

  /** A Beta(a, b) draw in [0, 1] (mean a/(a + b)), as X/(X + Y) for X ~ Gamma(a), Y ~ Gamma(b). */
  beta(a: number, b: number): number {
    for (const [name, v] of [
      ['a', a],
      ['b', b],
    ] as const)
      if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`Rng.beta: ${name} must be a finite number > 0, got ${v}`);
    const lx = this.logGamma(a),
      ly = this.logGamma(b);
    return 1 / (1 + Math.exp(ly - lx));
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: any }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** The generator's exact position; `Rng.fromState` continues from it draw for draw. */
  getState(): RngState {
    return { seed: this.seed, words: [this.a, this.b, this.c, this.d], spare: this.spare };
  }

  /** A generator at a position taken by `getState()` (forks depend on the seed, which it keeps). */
  static fromState(st: RngState): Rng {
    checkState(st, 'Rng.fromState');
    const r = new Rng(st.seed);
    r.restore(st);
    return r;
  }

  /**
   * Moves this generator to the words and spare of a position taken by `getState()`, keeping its
   * seed (and so its forks): how a kernel that drew on its behalf (the wasm dropout masks) hands
   * the position after its last draw back.
   */
  restore(st: RngState): void {
    checkState(st, 'Rng.restore');
    [this.a, this.b, this.c, this.d] = st.words.map((w) => w | 0) as [number, number, number, number];
    this.spare = st.spare;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

/** The exact position of a generator: its seed, its four words and the spare normal (checkpoints). */
export interface RngState {
  seed: number;
  words: [number, number, number, number];
  spare: number | null;
}

function checkState(st: RngState, what: string): void {
  const ok =
    st &&
    Number.isInteger(st.seed) &&
    Array.isArray(st.words) &&
    st.words.length === 4 &&
    st.words.every((w) => Number.isInteger(w)) &&
    (st.spare === null || typeof st.spare === 'number');
  if (!ok) throw new RangeError(`${what}: expected { seed, words: [4 integers], spare }`);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

let globalRng = new Rng(0);

/** Reset the default generator used by layers built without an explicit `rng` (torch.manual_seed). */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

/** A fresh generator drawn from the default one: deterministic for a given seed and build order. */
export function nextDefaultRng(): Rng {
  return new Rng(globalRng.nextU32());
}
