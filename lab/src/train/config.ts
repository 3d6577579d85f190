/**
 * The training view's settings: one flat record, its limits, and its URL form. Every value read
 * from a URL is checked against the same limits as the form; a bad one falls back to the default
 * and is named in the notice, so a shared link reproduces the run it names or says why not.
 * Isomorphic (the Node test builds sessions from the same records).
 */
export const ARCHS = ['logreg', 'mlp', 'cnn'] as const;
export const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adam', 'rmsprop', 'adagrad', 'lbfgs'] as const;
export const SCHEDULES = ['constant', 'exponential', 'inverse', 'snapshot'] as const;
export const REGS = ['none', 'dropout', 'dropconnect'] as const;
export const PENALTIES = ['none', 'l1', 'l2', 'elastic'] as const;
export const AUGMENTS = ['none', 'flipcrop', 'mixup'] as const;
export const POOLS = ['max', 'fmp'] as const;
/** Where the network trains (backend-choice.ts): auto (WebGPU on a hardware adapter, else wasm), webgpu or wasm. */
export const BACKENDS = ['auto', 'webgpu', 'wasm'] as const;

export interface TrainConfig {
  arch: (typeof ARCHS)[number];
  /** Units of the hidden layer (mlp, cnn's fully-connected layer). */
  hidden: number;
  /** The cnn's two pooling layers: max pooling 2×2, or the library's fractional max pooling (α = √2, pseudorandom, overlapping). */
  pool: (typeof POOLS)[number];
  reg: (typeof REGS)[number];
  /** Drop probability of dropout or DropConnect. */
  p: number;
  penalty: (typeof PENALTIES)[number];
  /** Penalty strength λ (elastic: λ for both L1 and L2). */
  lambda: number;
  /** Training-batch augmentation: none, the library's random flip (p = 0.5) and crop after 2-pixel padding, or MixUp (α = 0.4). */
  augment: (typeof AUGMENTS)[number];
  optimizer: (typeof OPTIMIZERS)[number];
  lr: number;
  schedule: (typeof SCHEDULES)[number];
  /** Decay rate k of exponential (lr·e^(−k·t)) and 1/t (lr/(1 + k·t)) schedules, t in steps. */
  k: number;
  /** Cycles of the snapshot schedule (cosine with restarts over the whole run); a snapshot of the weights ends each. */
  cycles: number;
  /** Samples per batch; equal to `train` for full-batch gradient descent. L-BFGS always uses the full batch. */
  batch: number;
  /** Training samples used (the first n of the embedded subset's 10,000). */
  train: number;
  /** Test samples evaluated after each epoch (the first n of the 2,000). */
  test: number;
  epochs: number;
  seed: number;
  /** Where the network trains; the arithmetic is the same on each (within float32 noise on the GPU). */
  backend: (typeof BACKENDS)[number];
}

export const DEFAULTS: TrainConfig = Object.freeze({
  arch: 'mlp',
  hidden: 64,
  pool: 'max',
  reg: 'none',
  p: 0.5,
  penalty: 'none',
  lambda: 1e-4,
  augment: 'none',
  optimizer: 'sgd',
  lr: 0.05,
  schedule: 'constant',
  k: 1e-3,
  cycles: 5,
  batch: 64,
  train: 2000,
  test: 1000,
  epochs: 10,
  seed: 1,
  backend: 'auto',
}) as TrainConfig;

type NumKey = { [K in keyof TrainConfig]: TrainConfig[K] extends number ? K : never }[keyof TrainConfig];
type ChoiceKey = Exclude<keyof TrainConfig, NumKey>;

/** Inclusive limits of each number, and whether it must be an integer. */
export const LIMITS: Record<NumKey, { min: number; max: number; int: boolean }> = {
  hidden: { min: 4, max: 512, int: true },
  p: { min: 0, max: 0.9, int: false },
  lambda: { min: 0, max: 1, int: false },
  lr: { min: 1e-6, max: 10, int: false },
  k: { min: 0, max: 1, int: false },
  cycles: { min: 1, max: 50, int: true },
  batch: { min: 1, max: 10000, int: true },
  train: { min: 10, max: 10000, int: true },
  test: { min: 10, max: 2000, int: true },
  epochs: { min: 1, max: 200, int: true },
  seed: { min: 0, max: 2 ** 32 - 1, int: true },
};

export const CHOICES: Record<ChoiceKey, readonly string[]> = {
  arch: ARCHS,
  pool: POOLS,
  reg: REGS,
  penalty: PENALTIES,
  augment: AUGMENTS,
  optimizer: OPTIMIZERS,
  schedule: SCHEDULES,
  backend: BACKENDS,
};

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The error for one value, or null when it is valid. */
export function checkValue(key: keyof TrainConfig, raw: string): { value: number | string } | { error: string } {
  if (key in CHOICES) {
    const c = CHOICES[key as ChoiceKey];
    const v = raw.toLowerCase();
    return c.includes(v) ? { value: v } : { error: `${key}: expected one of ${c.join(', ')}, got "${raw.slice(0, 40)}"` };
  }
  const lim = LIMITS[key as NumKey];
  if (!DECIMAL.test(raw.trim())) return { error: `${key}: expected a decimal number, got "${raw.slice(0, 40)}"` };
  const v = Number(raw);
  if (!Number.isFinite(v) || v < lim.min || v > lim.max || (lim.int && !Number.isInteger(v))) {
    return { error: `${key}: expected ${lim.int ? 'an integer' : 'a number'} in [${lim.min}, ${lim.max}], got ${raw.slice(0, 40)}` };
  }
  return { value: v };
}

/** Settings from a query string; every rejected value is one line of `errors`. */
export function fromQuery(q: string): { config: TrainConfig; preset: string | null; errors: string[] } {
  const params = new URLSearchParams(q);
  const config: TrainConfig = { ...DEFAULTS };
  const errors: string[] = [];
  let preset: string | null = null;
  for (const [k, raw] of params) {
    if (k === 'preset') {
      preset = raw.slice(0, 40);
      continue;
    }
    if (!(k in DEFAULTS)) {
      errors.push(`unknown setting "${k.slice(0, 40)}"`);
      continue;
    }
    const r = checkValue(k as keyof TrainConfig, raw);
    if ('error' in r) errors.push(r.error);
    else (config as unknown as Record<string, unknown>)[k] = r.value;
  }
  const fix = checkConfig(config);
  if (fix) {
    errors.push(fix);
    config.batch = Math.min(config.batch, config.train);
  }
  return { config, preset, errors };
}

/** A rule between settings, or null. */
export function checkConfig(c: TrainConfig): string | null {
  return c.batch > c.train ? `batch: ${c.batch} is more than the ${c.train} training samples; using ${c.train}` : null;
}

/** The query string of the settings that differ from the defaults (and the preset, if any). */
export function toQuery(c: TrainConfig, preset?: string | null): string {
  const p = new URLSearchParams();
  if (preset) p.set('preset', preset);
  for (const k of Object.keys(DEFAULTS) as (keyof TrainConfig)[]) if (c[k] !== DEFAULTS[k]) p.set(k, String(c[k]));
  return p.toString();
}

/** The weight histogram's bins over [−HIST_RANGE, HIST_RANGE] (session.ts fills it, main.ts draws it). */
export const HIST_BINS = 60;
export const HIST_RANGE = 0.3;
