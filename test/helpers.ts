/** Test helpers: central-difference gradient checks in float64, closeness assertions. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  type DType,
  type ForwardOptions,
  type KLDivReduction,
  type Storage,
  type Tensor,
  fromData,
  grad,
  Module,
  zeros,
} from '../src/index.js';

export function assertClose(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, tol = 1e-9, what = 'value'): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  assert.equal(a.length, e.length, `${what}: length ${a.length} vs ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - e[i]);
    const scale = Math.max(1, Math.abs(e[i]));
    if (!(err <= tol * scale)) assert.fail(`${what}[${i}]: got ${a[i]}, expected ${e[i]} (|diff| ${err} > ${tol}·${scale})`);
  }
}

/**
 * A seeded source of random Float32Arrays with entries in [lo, hi) (an LCG; deterministic), for the
 * kernel tests: `const rnd = floatSource(7); rnd(100)`.
 */
export function floatSource(seed: number): (n: number, lo?: number, hi?: number) => Float32Array {
  let s = seed >>> 0 || 1;
  return (n, lo = -1, hi = 1) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[i] = lo + ((hi - lo) * s) / 4294967296;
    }
    return a;
  };
}

/** Random float64 tensor with requiresGrad, values in [lo, hi). Deterministic (simple LCG). */
export function randT(shape: number[], seed = 1, lo = -1, hi = 1): Tensor {
  let s = seed >>> 0 || 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = lo + ((hi - lo) * s) / 4294967296;
  }
  return fromData(v, shape, { requiresGrad: true });
}

/**
 * Check d(sum(f(inputs) * w))/d(inputs) by central differences in float64, where w is a fixed
 * random weighting so every output element matters.
 */
export function gradCheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], tol = 1e-6, h = 1e-6): void {
  const y0 = f(...inputs);
  const w = randT([...y0.shape], 99);
  w.requiresGrad = false;
  const scalarOf = () => {
    const y = f(...inputs);
    let s = 0;
    for (let i = 0; i < y.size; i++) s += y.data[i] * w.data[i];
    return s;
  };
  const analytic = grad([y0], inputs, { gradOutputs: [w], allowUnused: true });
  inputs.forEach((x, k) => {
    const d: Storage = x.data;
    const numeric = new Float64Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const old = d[i];
      d[i] = old + h;
      const fp = scalarOf();
      d[i] = old - h;
      const fm = scalarOf();
      d[i] = old;
      numeric[i] = (fp - fm) / (2 * h);
    }
    const a = analytic[k] ? analytic[k]!.data : new Float64Array(x.size);
    assertClose(a, numeric, tol, `gradient of input ${k}`);
  });
}

/**
 * `net` beside a parameter `spare` (3 zeros) that its forward never reads: a NaN put there leaves
 * the loss finite, which is what the trainers' epoch-end scan of the parameters is for (ReLU keeps
 * NaN, so a NaN in a weight the forward reads reaches the loss).
 */
export class WithSpare extends Module {
  readonly spare: Tensor;
  constructor(readonly net: Module) {
    super();
    this.registerModule('net', net);
    this.spare = this.registerParameter('spare', zeros([3]));
  }
  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    return this.net.forward(x, opts);
  }
}

/**
 * One case of the golden loss fixture (test/fixtures/loss/losses.json; tools/golden_losses.py
 * describes each field): a torch.nn.functional loss of `x` and target `t` (options in descent's
 * names), its value `y` (null where PyTorch gives NaN), and for the output gradient `gy` the
 * gradients of the input `gx` and of the target `gt` (null where not asked).
 */
export interface LossCase {
  fn: string;
  options: { beta?: number; delta?: number; weight?: number[]; posWeight?: number[]; ignoreIndex?: number; logTarget?: boolean };
  reduction: KLDivReduction;
  dtype: DType;
  shape: number[];
  x: number[];
  t: number[];
  y: (number | null)[];
  gy: number[];
  gx: number[];
  gt: number[] | null;
}

/** The golden loss cases, read from the source tree (this file runs as dist/test/helpers.js). */
export function lossCases(): LossCase[] {
  return JSON.parse(readFileSync(new URL('../../test/fixtures/loss/losses.json', import.meta.url), 'utf8')).cases;
}
