/**
 * A sweep's search space and how points are drawn from it.
 *
 * The space is one string, `name=range` pairs separated by commas:
 *
 *   lr=log:1e-4:1          log-uniform on [1e-4, 1]
 *   momentum=0.8:0.99      uniform on [0.8, 0.99]
 *   weightDecay=0|1e-4     a choice (also the only way to give text values: schedule=constant|cosine)
 *   beta2=0.999            a fixed value
 *   base=momentum|adam     a wrapper's base optimizer (SAM, ASAM, Lookahead): names, not numbers
 *
 * Names are the optimizers' option names (PyTorch's, camel-cased: lr, momentum, weightDecay, eps,
 * dampening, alpha, …) plus `beta1` and `beta2` (the two halves of `betas`) and `schedule` (a
 * learning-rate schedule of src/schedule by name, over the trial's step budget). A dimension applies
 * to the optimizers that read it; one that no optimizer of the sweep reads is an error.
 *
 * Samplers (per optimizer, the same for every seed):
 *   grid     every combination; a range gives `points` values (log- or evenly spaced, ends included)
 *   random   `points` independent uniform draws of a seeded generator
 *   halton   the first `points` points of a scrambled Halton sequence (AlgoPerf draws its tuning
 *            trials quasi-randomly, so few trials still cover the space evenly): dimension d uses
 *            the d-th prime as base, and each digit is passed through a permutation drawn from
 *            Rng(seed).fork('halton:d'), which breaks the correlation between the high bases.
 */
import { Rng } from '../tensor/rng.js';
import { decimal } from '../util/decimal.js';
import { clip, didYouMean } from '../util/names.js';
import { scheduleTable } from '../schedule/parse.js';

/** A mistake in a search space or sweep option: one line naming the part and what was expected. */
export class SweepSpecError extends RangeError {
  override name = 'SweepSpecError';
}

export type Dimension =
  | { name: string; kind: 'log' | 'uniform'; lo: number; hi: number }
  | { name: string; kind: 'choice'; values: (number | string)[] };

export type Point = Record<string, number | string>;

export const SAMPLERS = ['grid', 'random', 'halton'] as const;
export type Sampler = (typeof SAMPLERS)[number];

/** The space's names besides the optimizers' own options. */
export const EXTRA_NAMES = ['beta1', 'beta2', 'schedule'] as const;

/** Options whose values are names, not numbers: a wrapper's base optimizer (SAM, ASAM, Lookahead). */
export const TEXT_NAMES: readonly string[] = ['base'];

function number(text: string, where: string): number {
  const v = decimal(text);
  if (v === undefined || !Number.isFinite(v))
    throw new SweepSpecError(`search space: ${where}: expected a decimal number, got "${clip(text)}"`);
  return v;
}

/** Parse the space string; `known` lists the names an optimizer of the sweep reads (besides EXTRA_NAMES). */
export function parseSpace(text: string, known: readonly string[]): Dimension[] {
  const dims: Dimension[] = [];
  const names = [...known, ...EXTRA_NAMES];
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new SweepSpecError(
        `search space: "${clip(part)}" is not name=range (like lr=log:1e-4:1, momentum=0.8:0.99 or schedule=constant|cosine)`,
      );
    const name = part.slice(0, eq).trim();
    const range = part.slice(eq + 1).trim();
    if (!names.includes(name))
      throw new SweepSpecError(
        `search space: unknown name "${clip(name)}"; the sweep's optimizers read ${names.join(', ')}${didYouMean(name, names)}`,
      );
    if (dims.some((d) => d.name === name)) throw new SweepSpecError(`search space: ${name} is given twice`);
    const where = `${name}=${range}`;
    if (name === 'schedule') {
      const values = range.split('|').map((s) => s.trim());
      for (const v of values) {
        const kind = v.split(':')[0];
        if (!(kind in scheduleTable))
          throw new SweepSpecError(
            `search space: ${where}: unknown schedule "${clip(v)}"; expected names from ${Object.keys(scheduleTable).join(', ')}${didYouMean(kind, Object.keys(scheduleTable))}`,
          );
      }
      dims.push({ name, kind: 'choice', values });
      continue;
    }
    if (TEXT_NAMES.includes(name)) {
      dims.push({ name, kind: 'choice', values: range.split('|').map((s) => s.trim().toLowerCase()) });
      continue;
    }
    if (range.includes('|') || !range.includes(':')) {
      dims.push({ name, kind: 'choice', values: range.split('|').map((s) => number(s.trim(), where)) });
      continue;
    }
    const bits = range.split(':');
    const log = bits[0] === 'log';
    if (log) bits.shift();
    if (bits.length !== 2) throw new SweepSpecError(`search space: ${where}: a range is LO:HI or log:LO:HI`);
    const lo = number(bits[0], where),
      hi = number(bits[1], where);
    if (!(lo < hi)) throw new SweepSpecError(`search space: ${where}: the low end must be below the high end`);
    if (log && !(lo > 0)) throw new SweepSpecError(`search space: ${where}: a log range needs a positive low end`);
    dims.push({ name, kind: log ? 'log' : 'uniform', lo, hi });
  }
  return dims;
}

/** The radical inverse of i in `base`, each digit passed through `perm` (a permutation of 0..base−1 with perm[0] = 0 kept). */
function radicalInverse(i: number, base: number, perm: number[]): number {
  let f = 1 / base,
    r = 0;
  while (i > 0) {
    r += perm[i % base] * f;
    i = Math.floor(i / base);
    f /= base;
  }
  return r;
}

const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53];

/** n points of the scrambled Halton sequence in [0,1)^dims, from index 1 (index 0 is the origin). */
export function halton(n: number, dims: number, seed: number): number[][] {
  if (dims > PRIMES.length) throw new SweepSpecError(`search space: at most ${PRIMES.length} dimensions, got ${dims}`);
  const perms = PRIMES.slice(0, dims).map((b, d) => {
    // Digit 0 stays 0 (so the sequence stays in [0, 1)); the others are shuffled (Fisher–Yates).
    const p = Array.from({ length: b }, (_, k) => k);
    const r = new Rng(seed).fork(`halton:${d}`);
    for (let k = b - 1; k > 1; k--) {
      const j = 1 + r.int(k);
      [p[k], p[j]] = [p[j], p[k]];
    }
    return p;
  });
  return Array.from({ length: n }, (_, i) => perms.map((p, d) => radicalInverse(i + 1, PRIMES[d], p)));
}

function place(d: Dimension, u: number): number | string {
  if (d.kind === 'choice') return d.values[Math.min(d.values.length - 1, Math.floor(u * d.values.length))];
  return d.kind === 'log' ? Math.exp(Math.log(d.lo) + u * (Math.log(d.hi) - Math.log(d.lo))) : d.lo + u * (d.hi - d.lo);
}

/** Evenly spaced values of a range, ends included (one value: the middle). */
function gridValues(d: Dimension, points: number): (number | string)[] {
  if (d.kind === 'choice') return d.values;
  if (points === 1) return [place(d, 0.5)];
  return Array.from({ length: points }, (_, k) => (k === points - 1 ? d.hi : k === 0 ? d.lo : place(d, k / (points - 1))));
}

/** The points of the space the sampler draws (`points`: see the header); no dimensions gives one empty point. */
export function samplePoints(dims: readonly Dimension[], sampler: Sampler, points: number, seed: number): Point[] {
  if (!Number.isInteger(points) || points < 1) throw new SweepSpecError(`sweep: points must be a positive integer, got ${points}`);
  if (dims.length === 0) return [{}];
  if (sampler === 'grid') {
    let out: Point[] = [{}];
    for (const d of dims) out = out.flatMap((p) => gridValues(d, points).map((v) => ({ ...p, [d.name]: v })));
    return out;
  }
  const us =
    sampler === 'halton'
      ? halton(points, dims.length, seed)
      : (() => {
          const r = new Rng(seed).fork('random-search');
          return Array.from({ length: points }, () => dims.map(() => r.uniform()));
        })();
  return us.map((u) => Object.fromEntries(dims.map((d, k) => [d.name, place(d, u[k])])));
}

/**
 * A point as one optimizer's options and schedule: `beta1`/`beta2` fill `betas` (the other half
 * from the optimizer's preset or default), and dimensions the optimizer does not read are left out.
 */
export function pointFor(
  point: Point,
  accepts: readonly string[],
  defaults: { betas?: [number, number] } = {},
): { options: Record<string, unknown>; schedule?: string } {
  const options: Record<string, unknown> = {};
  let schedule: string | undefined;
  for (const [k, v] of Object.entries(point)) {
    if (k === 'schedule') schedule = String(v);
    else if ((k === 'beta1' || k === 'beta2') && accepts.includes('betas')) {
      const b = (options.betas as [number, number] | undefined) ?? [...(defaults.betas ?? [0.9, 0.999])];
      b[k === 'beta1' ? 0 : 1] = v as number;
      options.betas = b;
    } else if (accepts.includes(k)) options[k] = v;
  }
  return schedule === undefined ? { options } : { options, schedule };
}
