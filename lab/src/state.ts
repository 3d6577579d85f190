/**
 * The lab's whole state, and its round trip through the URL.
 *
 * Everything a view depends on is here, so a link reproduces it. Reading is defensive: every value
 * from the URL is parsed into a number, a boolean or one of a fixed set of names, checked against its
 * range, and otherwise replaced by the default with a line in `notices` (shown with textContent —
 * URL text never reaches innerHTML).
 *
 * Racers are encoded one per `r` parameter: `name[~n][;key=value]*`, e.g. `adam;lr=0.1;betas=0.9_0.99`
 * (`~n` = noisy gradients, arrays joined by `_`, booleans 1/0).
 */
import { optimizerNames, getOptimizer, createOptimizer, MATRIX_ONLY } from '../../src/optim/index.js';
import { surfaceNames, getSurface } from '../../src/surfaces/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { findName } from '../../src/util/names.js';
import { decimal } from '../../src/util/decimal.js';
import { parseSchedule } from '../../src/schedule/index.js';

export type OptValue = number | boolean | number[] | string | null;

export interface Racer {
  opt: string;
  /** Gradients of this racer get the seeded noise (GD → SGD). */
  noisy: boolean;
  /** Only the options set away from the optimizer's defaults (lr included when set by hand). */
  options: Record<string, OptValue>;
  /** A learning-rate schedule for this racer, in the CLI's `--schedule` spec language (one segment). */
  sched?: string;
}

export interface LabState {
  view: 'race' | 'schedules';
  fn: string;
  start: [number, number];
  /** Evaluations shown (the fair step count). */
  budget: number;
  /** Evaluations per animation frame. */
  speed: number;
  /** Timeline position, in evaluations. */
  t: number;
  /** 'each': every racer its own lr (hand-set, else tuned); 'one': `lr` for all. */
  lrMode: 'each' | 'one';
  lr: number;
  noise: number;
  /** Mini-batch size B of the noisy racers: their gradient noise is σ/√B (noise ∝ 1/√B). */
  batch: number;
  seed: number;
  preset: string;
  /** Plot the first Adam-like racer's m, v, m̂, v̂ (bias correction). */
  moments: boolean;
  racers: Racer[];
  /** Schedules view: parameters per schedule name, as the short tokens of the spec language. */
  sched: Record<string, Record<string, string>>;
}

export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16];
export const LIMITS = { budget: [1, 5000], noise: [0, 1e3], batch: [1, 4096], lr: [0, 1e3], seed: [0, 2 ** 31 - 1] } as const;

export function defaultRacers(): Racer[] {
  return optimizerNames()
    .filter((n) => n !== 'sgd') // `gd` is SGD without momentum; with noise on it is SGD
    .filter((n) => !MATRIX_ONLY.has(n)) // Muon, SOAP: added by hand, they show why a point is not their domain
    .map((opt) => ({ opt, noisy: false, options: {} }));
}

export function defaultState(): LabState {
  const fn = 'rosenbrock';
  return {
    view: 'race',
    fn,
    start: [...getSurface(fn).start] as [number, number],
    budget: 300,
    speed: 2,
    t: 0,
    lrMode: 'each',
    lr: 0.01,
    noise: 0,
    batch: 1,
    seed: 0,
    preset: '',
    moments: false,
    racers: defaultRacers(),
    sched: {},
  };
}

/**
 * Options the lab does not expose: callbacks (`hessian`, which the runner supplies), the CLI's
 * alternative spellings (`lineSearch` of L-BFGS, `hessianFree`), and Newton's Hessian-free mode
 * (it needs a loss Tensor with its graph; the surfaces give exact Hessians instead).
 */
const HIDDEN = new Set(['hessian', 'hessianFree', 'lbfgs.lineSearch', 'newton.mode', 'maximize']);
/** The allowed values of the string-valued options. */
export const CHOICES: Record<string, (string | null)[]> = {
  lineSearchFn: ['strongWolfe', null],
  'newton.lineSearch': ['armijo', 'strongWolfe', null],
};
export const choicesOf = (opt: string, key: string) => CHOICES[`${opt}.${key}`] ?? CHOICES[key];

/** The optimizer's defaults (its first parameter group without `params`), read from the library. */
const defaultsCache = new Map<string, Record<string, OptValue>>();
export function optimizerDefaults(opt: string): Record<string, OptValue> {
  let d = defaultsCache.get(opt);
  if (!d) {
    // the matrix optimizers refuse a lone vector: three 1×1 matrices give Muon a hidden one (its first group)
    const probe = (n: string): [string, Tensor] => [
      n,
      new Tensor(new Float64Array(MATRIX_ONLY.has(opt) ? 1 : 2), MATRIX_ONLY.has(opt) ? [1, 1] : [2], true),
    ];
    const params = MATRIX_ONLY.has(opt) ? ['a', 'b', 'c'].map(probe) : [probe('xy')];
    const o = getOptimizer(opt).create(params, {}) as unknown as { paramGroups?: Record<string, unknown>[] };
    const g = o.paramGroups?.[0] ?? {};
    d = {};
    for (const k of getOptimizer(opt).options) {
      if (HIDDEN.has(k) || HIDDEN.has(`${opt}.${k}`)) continue;
      const v = g[k];
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' || v === null) d[k] = v;
      else if (Array.isArray(v) && v.every((e) => typeof e === 'number')) d[k] = [...v];
    }
    defaultsCache.set(opt, d);
  }
  return d;
}

/** Throws the library's own message when the combination is invalid. */
export function checkRacerOptions(opt: string, options: Record<string, OptValue>): void {
  const p = new Tensor(new Float64Array(2), [2], true);
  createOptimizer(opt, [['xy', p]], options as Record<string, unknown>);
}

// ---- URL ------------------------------------------------------------------------------------

/** A decimal number from the URL (src/util/decimal.ts: not 0x10, Infinity or " 1"), else undefined. */
const num = (s: string | null): number | undefined => (s === null || s.length > 40 ? undefined : decimal(s));

function encodeValue(v: OptValue): string {
  if (Array.isArray(v)) return v.map(String).join('_');
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v === null) return 'null';
  return String(v);
}

function decodeValue(text: string, like: OptValue, choices?: (string | null)[]): OptValue | undefined {
  if (typeof like === 'boolean') return text === '1' || text === 'true' ? true : text === '0' || text === 'false' ? false : undefined;
  if (typeof like === 'number') return num(text);
  if (Array.isArray(like)) {
    const parts = text.split('_').map((e) => num(e));
    return parts.length === like.length && parts.every((e) => e !== undefined) ? (parts as number[]) : undefined;
  }
  // string | null options (e.g. L-BFGS lineSearchFn): only one of the listed values.
  const v = text === 'null' ? null : text;
  return choices?.includes(v) ? v : undefined;
}

export function encodeRacer(r: Racer): string {
  let s = r.opt + (r.noisy ? '~n' : '');
  for (const [k, v] of Object.entries(r.options)) s += `;${k}=${encodeValue(v)}`;
  if (r.sched) s += `;sched=${r.sched}`;
  return s;
}

export function decodeRacer(text: string, notices: string[]): Racer | undefined {
  const [head, ...pairs] = text.split(';');
  const noisy = head.endsWith('~n');
  const opt = (noisy ? head.slice(0, -2) : head).toLowerCase();
  if (!optimizerNames().includes(opt)) {
    notices.push(`unknown optimizer ${quote(opt)} dropped`);
    return undefined;
  }
  const defaults = optimizerDefaults(opt);
  const options: Record<string, OptValue> = {};
  let sched: string | undefined;
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    const k = i < 0 ? pair : pair.slice(0, i);
    const v = i < 0 ? '' : pair.slice(i + 1);
    if (k === 'sched') {
      const why = scheduleError(v, 0.1, 100);
      if (why) notices.push(`${opt}: schedule ${quote(v)} ignored: ${why}`);
      else sched = v;
      continue;
    }
    if (!Object.hasOwn(defaults, k)) {
      notices.push(`${opt}: unknown option ${quote(k)} ignored`);
      continue;
    }
    const parsed = decodeValue(v, defaults[k], choicesOf(opt, k));
    if (parsed === undefined) notices.push(`${opt}: bad value for ${k} ignored`);
    else options[k] = parsed;
  }
  try {
    checkRacerOptions(opt, options);
  } catch (e) {
    notices.push(`${opt}: ${(e as Error).message} — defaults used`);
    return { opt, noisy, options: {} };
  }
  return sched ? { opt, noisy, options, sched } : { opt, noisy, options };
}

/** Why a racer's schedule spec is refused (a short token the library's parser accepts), or ''. */
export function scheduleError(spec: string, lr: number, total: number): string {
  if (!/^[A-Za-z0-9_.:,=/+-]{1,120}$/.test(spec)) return 'expected a schedule spec such as cosine:totalSteps=100';
  try {
    const p = parseSchedule(spec, { lr, total });
    return p.kind === 'schedule' ? '' : 'not a function of the step';
  } catch (e) {
    return (e as Error).message;
  }
}

/** Short, printable form of a URL fragment for a notice (never HTML). */
function quote(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 24 ? `${clean.slice(0, 24)}…` : clean);
}

export function toQuery(s: LabState): string {
  const q = new URLSearchParams();
  if (s.view !== 'race') q.set('view', s.view);
  if (s.preset) q.set('preset', s.preset);
  q.set('fn', s.fn);
  q.set('x', fmt(s.start[0]));
  q.set('y', fmt(s.start[1]));
  q.set('n', String(s.budget));
  q.set('t', String(s.t));
  q.set('speed', String(s.speed));
  q.set('lrm', s.lrMode);
  if (s.lrMode === 'one') q.set('lr', String(s.lr));
  if (s.noise > 0) q.set('noise', String(s.noise));
  if (s.batch !== 1) q.set('b', String(s.batch));
  if (s.seed) q.set('seed', String(s.seed));
  if (s.moments) q.set('mom', '1');
  for (const r of s.racers) q.append('r', encodeRacer(r));
  for (const [name, params] of Object.entries(s.sched)) {
    q.append(
      's',
      name +
        Object.entries(params)
          .map(([k, v]) => `;${k}=${v}`)
          .join(''),
    );
  }
  return q.toString();
}

/** Round to 6 significant digits for the URL (the state keeps the rounded value, so it round-trips). */
export function fmt(v: number): string {
  return String(Number(v.toPrecision(6)));
}

export interface Parsed {
  state: LabState;
  notices: string[];
}

/**
 * Where a start may lie: the surface's view widened by its own width and height on each side. A start
 * farther out would show nothing of the race on the map.
 */
export function startBounds(fn: string): [number, number, number, number] {
  const v = getSurface(fn).view;
  const w = v.x[1] - v.x[0];
  const h = v.y[1] - v.y[0];
  return [v.x[0] - w, v.x[1] + w, v.y[0] - h, v.y[1] + h];
}

export function fromQuery(query: string, presetIds: readonly string[], scheduleParams: (name: string) => string[] | undefined): Parsed {
  const q = new URLSearchParams(query.length > 20000 ? '' : query);
  const notices: string[] = [];
  if (query.length > 20000) notices.push('address too long: ignored');
  const s = defaultState();
  const bad = (key: string) => notices.push(`bad value for "${key}": default used`);

  const view = q.get('view');
  if (view !== null) view === 'race' || view === 'schedules' ? (s.view = view) : bad('view');
  const preset = q.get('preset');
  if (preset !== null) presetIds.includes(preset) ? (s.preset = preset) : bad('preset');

  const fn = q.get('fn');
  let fnOk = true;
  if (fn !== null) {
    // Names match ignoring case, as everywhere in descent (src/util/names.ts).
    const known = findName(fn, surfaceNames);
    if (known !== undefined) s.fn = known;
    else {
      fnOk = false;
      bad('fn');
    }
  }
  s.start = [...getSurface(s.fn).start] as [number, number];
  if (q.has('x') || q.has('y')) {
    const x = num(q.get('x'));
    const y = num(q.get('y'));
    const [ax, bx, ay, by] = startBounds(s.fn);
    if (x === undefined || y === undefined) bad('x/y');
    // a start is a point of the surface it was chosen on: with the surface refused, it is refused too
    else if (!fnOk) notices.push(`start (${fmt(x)}, ${fmt(y)}) was for the refused "fn": the start of ${s.fn} used`);
    else if (x < ax || x > bx || y < ay || y > by) {
      notices.push(
        `start (${fmt(x)}, ${fmt(y)}) is off the map of ${s.fn}: expected x in [${fmt(ax)}, ${fmt(bx)}] and y in [${fmt(ay)}, ${fmt(by)}]; the surface's start used`,
      );
    } else s.start = [x, y];
  }
  const int = (key: string, lo: number, hi: number, set: (v: number) => void) => {
    if (!q.has(key)) return;
    const v = num(q.get(key));
    if (v !== undefined && Number.isInteger(v) && v >= lo && v <= hi) set(v);
    else bad(key);
  };
  const real = (key: string, lo: number, hi: number, set: (v: number) => void) => {
    if (!q.has(key)) return;
    const v = num(q.get(key));
    if (v !== undefined && v >= lo && v <= hi) set(v);
    else bad(key);
  };
  int('n', LIMITS.budget[0], LIMITS.budget[1], (v) => (s.budget = v));
  real('t', 0, s.budget, (v) => (s.t = v));
  real('speed', 0, 100, (v) => (SPEEDS.includes(v) ? (s.speed = v) : bad('speed')));
  const lrm = q.get('lrm');
  if (lrm !== null) lrm === 'each' || lrm === 'one' ? (s.lrMode = lrm) : bad('lrm');
  real('lr', LIMITS.lr[0], LIMITS.lr[1], (v) => (s.lr = v));
  real('noise', LIMITS.noise[0], LIMITS.noise[1], (v) => (s.noise = v));
  // the batch slider steps through powers of two: any other B would be drawn as its neighbour
  int('b', LIMITS.batch[0], LIMITS.batch[1], (v) => {
    if ((v & (v - 1)) === 0) s.batch = v;
    else notices.push(`batch size b=${v} is not a power of two (1, 2, 4 … ${LIMITS.batch[1]}): default used`);
  });
  int('seed', LIMITS.seed[0], LIMITS.seed[1], (v) => (s.seed = v));
  int('mom', 0, 1, (v) => (s.moments = v === 1));

  const rs = q.getAll('r');
  if (rs.length) {
    const racers = rs
      .slice(0, 40)
      .map((r) => decodeRacer(r, notices))
      .filter((r): r is Racer => !!r);
    if (rs.length > 40) notices.push('more than 40 racers: the rest dropped');
    if (racers.length) s.racers = racers;
  }
  for (const entry of q.getAll('s').slice(0, 50)) {
    const [name, ...pairs] = entry.split(';');
    const known = scheduleParams(name);
    if (!known) {
      notices.push(`unknown schedule ${quote(name)} ignored`);
      continue;
    }
    const p: Record<string, string> = {};
    for (const pair of pairs) {
      const [k, v] = pair.split('=');
      if (known.includes(k) && v !== undefined && /^[A-Za-z0-9_./+-]{1,30}$/.test(v)) p[k] = v;
      else notices.push(`schedule ${name}: bad parameter ignored`);
    }
    s.sched[name] = p;
  }
  return { state: s, notices };
}
