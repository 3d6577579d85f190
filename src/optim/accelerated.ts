/**
 * The acceleration table: fused implementations of update rules, registered beside the rules.
 *
 * A rule (adam.ts, sgd.ts, …) is the mathematics and the oracle; it imports no backend. An entry
 * here says: on a backend that implements extension `extension`, rule `rule` with options and
 * dtypes for which `accepts` holds runs as that fused kernel, which keeps the rule's state
 * (same names, same values up to the kernel's float32 rounding). The Optimizer shell calls
 * `acceleratedStep` for every parameter at every step; where no entry applies, it runs the rule.
 * Each entry has a test that it equals the rule (wasm: test/backend/adam-fused.test.ts, sgd-fused.test.ts;
 * WebGPU: test/webgpu/gpu/updates.test.ts; the device path: test/device/optim-updates.test.ts).
 *
 * `accelerationInfo()` is the one place that says which rules and options are accelerated on the
 * current backend and which fall back, with how many parameter updates took each path.
 */
import type { Storage } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { backend, extension, extensionsOf, kernelsFor, type ExtensionName, type Extensions } from '../backend/index.js';
import type { BaseHyper, ParamState } from './optimizer.js';
import type { AdamOptions, AdamState } from './adam.js';
import type { SGDOptions, SGDState } from './sgd.js';
import type { RMSpropOptions, RMSpropState } from './rmsprop.js';
import type { AdagradOptions, AdagradState } from './adagrad.js';
import type { AdadeltaOptions, AdadeltaState } from './adadelta.js';

export interface Acceleration<H extends BaseHyper, S extends ParamState, K extends ExtensionName> {
  /** The rule's name (UpdateRule.name). */
  readonly rule: string;
  /** The backend extension the fused update runs on. */
  readonly extension: K;
  /** What it covers, in words, for the table (the options and dtypes `accepts` admits). */
  readonly supports: string;
  /** True when the fused update computes this rule for these options and arrays. */
  accepts(h: H, param: Storage, grad: Storage, state: S): boolean;
  /** One update in place, as the rule's apply would; false when the kernel declined (then nothing changed). */
  step(kernel: Extensions[K], param: Storage, grad: Storage, state: S, h: H): boolean;
}

// the table holds entries of every rule's own H and S
type AnyAcceleration = Acceleration<any, any, ExtensionName>;

const table = new Map<string, AnyAcceleration[]>();
/**
 * Parameter updates per rule: how many ran fused, how many ran the rule, and of those how many
 * updated a parameter on a device by its rule on the host (stepAsync's host path).
 */
const counts = new Map<string, { fused: number; pure: number; host: number }>();

function countsOf(rule: string): { fused: number; pure: number; host: number } {
  let c = counts.get(rule);
  if (!c) counts.set(rule, (c = { fused: 0, pure: 0, host: 0 }));
  return c;
}

/** Counts one update of a parameter on a device run by its rule on the host (a pure update too). */
export function countHostUpdate(rule: string): void {
  const c = countsOf(rule);
  c.pure++;
  c.host++;
}

/**
 * True when a fused update of `rule` that the backend with extensions `ext` implements accepts these
 * options, arrays and state (`state` undefined: the state the rule would make there).
 */
export function fusedFor(
  rule: string,
  h: BaseHyper,
  param: Storage,
  grad: Storage,
  state: ParamState | undefined,
  ext: Readonly<Partial<Extensions>>,
): boolean {
  return (table.get(rule) ?? []).some((a) => typeof ext[a.extension] === 'function' && a.accepts(h, param, grad, state ?? {}));
}

export function registerAcceleration<H extends BaseHyper, S extends ParamState, K extends ExtensionName>(a: Acceleration<H, S, K>): void {
  const list = table.get(a.rule) ?? [];
  list.push(a as unknown as AnyAcceleration);
  table.set(a.rule, list);
}

/**
 * Runs the first registered fused update of `rule` that the backend implements (`ext`: the
 * extensions of the backend where the parameter lives; default the current backend's) and that
 * accepts these options and arrays; false (nothing changed) when none does. Counts either way.
 */
export function acceleratedStep(
  rule: string,
  param: Storage,
  grad: Storage,
  state: ParamState,
  h: BaseHyper,
  ext?: Readonly<Partial<Extensions>>,
): boolean {
  const c = countsOf(rule);
  const list = table.get(rule);
  if (list) {
    for (const a of list) {
      const kernel = ext ? ext[a.extension] : extension(a.extension);
      if (kernel && a.accepts(h, param, grad, state) && a.step(kernel, param, grad, state, h)) {
        c.fused++;
        return true;
      }
    }
  }
  c.pure++;
  return false;
}

/** True when some fused update of `rule` runs on a backend with extensions `ext` (for some options). */
export function hasAcceleration(rule: string, ext: Readonly<Partial<Extensions>>): boolean {
  return (table.get(rule) ?? []).some((a) => typeof ext[a.extension] === 'function');
}

/** The rules with a fused update on a backend with extensions `ext`, and what each covers, as text. */
export function deviceRulesText(ext: Readonly<Partial<Extensions>>): string {
  const rows: string[] = [];
  for (const list of table.values())
    for (const a of list) if (typeof ext[a.extension] === 'function') rows.push(`${a.rule} (${a.supports})`);
  return rows.length ? rows.join('; ') : 'none';
}

export interface AccelerationRow {
  rule: string;
  extension: string;
  supports: string;
  /** Whether the current backend implements the extension. */
  available: boolean;
}

/**
 * Which rules run fused on the current backend and under which options; every rule not listed,
 * and a listed rule outside `supports`, runs its own loop. `updates` counts parameter updates per
 * rule since the process started (fused vs pure; `host`: the pure updates of parameters on a device,
 * read back and written by Optimizer.stepAsync), so a test or a log can see which path ran.
 */
export function accelerationInfo(): {
  backend: string;
  accelerated: AccelerationRow[];
  updates: Record<string, { fused: number; pure: number; host: number }>;
} {
  const name = backend().name;
  const ext = extensionsOf(name);
  const accelerated: AccelerationRow[] = [];
  for (const list of table.values()) {
    for (const a of list)
      accelerated.push({ rule: a.rule, extension: a.extension, supports: a.supports, available: typeof ext[a.extension] === 'function' });
  }
  const updates: Record<string, { fused: number; pure: number; host: number }> = {};
  for (const [r, c] of counts) updates[r] = { ...c };
  return { backend: name, accelerated, updates };
}

/** The table as text, one line per entry (the CLI's --verbose prints it). */
export function formatAccelerationInfo(): string {
  const { backend: name, accelerated } = accelerationInfo();
  const on = accelerated.filter((r) => r.available);
  if (!on.length) return `acceleration (${name}): none; every optimizer runs its rule`;
  return `acceleration (${name}): ${on.map((r) => `${r.rule} via ${r.extension} (${r.supports})`).join('; ')}; other rules and options run the rule`;
}

// ---- the fused updates of this library --------------------------------------------------------

const f32 = (...xs: (Storage | null | undefined)[]): boolean =>
  xs.every((x) => x == null || x instanceof Float32Array || (isDeviceStorage(x) && x.dtype === 'float32'));

/** A zeroed buffer like `p`, on its device or in the backend's memory when it keeps `p` there. */
function stateLike(p: Storage): Storage {
  if (isDeviceStorage(p)) return kernelsFor(p).alloc('float32', p.length);
  return extension('allocLike')?.(p) ?? (p instanceof Float64Array ? new Float64Array(p.length) : new Float32Array(p.length));
}

function adamLike(rule: string, decoupled: boolean): Acceleration<AdamOptions, AdamState, 'adamStep'> {
  return {
    rule,
    extension: 'adamStep',
    supports: 'float32, ε outside the root (not epsInsideSqrt); amsgrad, maximize, weightDecay included',
    accepts: (h, p, g, s) => !h.epsInsideSqrt && f32(p, g, s.expAvg, s.expAvgSq, s.maxExpAvgSq),
    step(kernel, p, g, s, h) {
      const t = s.step + 1;
      const created = h.amsgrad && !s.maxExpAvgSq;
      // state of a parameter on a device is device storage under the rule's (host) state type
      const vMax = h.amsgrad ? (s.maxExpAvgSq ??= stateLike(p) as AdamState['expAvg']) : null;
      const [beta1, beta2] = h.betas;
      if (
        !kernel(p, g, s.expAvg, s.expAvgSq, vMax, {
          lr: h.lr,
          beta1,
          beta2,
          eps: h.eps,
          weightDecay: h.weightDecay,
          decoupled,
          maximize: h.maximize,
          step: t,
        })
      ) {
        if (created) s.maxExpAvgSq = undefined;
        return false;
      }
      s.step = t;
      return true;
    },
  };
}

registerAcceleration(adamLike('Adam', false));
registerAcceleration(adamLike('AdamW', true));

registerAcceleration<SGDOptions, SGDState, 'sgdStep'>({
  rule: 'SGD',
  extension: 'sgdStep',
  supports: 'float32, η outside the velocity (not lrInsideMomentum); momentum, dampening, nesterov, weightDecay, maximize included',
  accepts: (h, p, g, s) => !h.lrInsideMomentum && f32(p, g, s.momentumBuffer),
  step(kernel, p, g, s, h) {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = h;
    if (momentum === 0) return kernel(p, g, null, { lr, momentum: 0, dampening, weightDecay, nesterov, maximize, first: false });
    const first = !s.momentumBuffer;
    const b = s.momentumBuffer ?? stateLike(p);
    if (!kernel(p, g, b, { lr, momentum, dampening, weightDecay, nesterov, maximize, first })) return false;
    s.momentumBuffer = b as SGDState['momentumBuffer'];
    return true;
  },
});

registerAcceleration<RMSpropOptions, RMSpropState, 'rmspropStep'>({
  rule: 'RMSprop',
  extension: 'rmspropStep',
  supports: 'float32; every option: alpha, eps, weightDecay, momentum, centered, maximize, epsInsideSqrt, lrInsideMomentum',
  accepts: (h, p, g, s) => f32(p, g, s.squareAvg, s.gradAvg, s.momentumBuffer),
  step(kernel, p, g, s, h) {
    // the rule creates ḡ and the buffer (zero) when centering or momentum is switched on after the first step
    const madeAvg = h.centered && !s.gradAvg;
    const madeBuf = h.momentum > 0 && !s.momentumBuffer;
    const ga = h.centered ? (s.gradAvg ??= stateLike(p) as RMSpropState['squareAvg']) : null;
    const b = h.momentum > 0 ? (s.momentumBuffer ??= stateLike(p) as RMSpropState['squareAvg']) : null;
    const { lr, alpha, eps, weightDecay, momentum, maximize, epsInsideSqrt, lrInsideMomentum } = h;
    if (!kernel(p, g, s.squareAvg, ga, b, { lr, alpha, eps, weightDecay, momentum, maximize, epsInsideSqrt, lrInsideMomentum })) {
      if (madeAvg) s.gradAvg = undefined;
      if (madeBuf) s.momentumBuffer = undefined;
      return false;
    }
    s.step = s.step + 1;
    return true;
  },
});

registerAcceleration<AdagradOptions, AdagradState, 'adagradStep'>({
  rule: 'Adagrad',
  extension: 'adagradStep',
  supports: 'float32; every option: lrDecay, weightDecay, initialAccumulatorValue, eps, maximize, epsInsideSqrt',
  accepts: (h, p, g, s) => f32(p, g, s.sum),
  step(kernel, p, g, s, h) {
    const t = s.step + 1;
    const { lr, lrDecay, weightDecay, eps, maximize, epsInsideSqrt } = h;
    if (!kernel(p, g, s.sum, { lr, lrDecay, weightDecay, eps, maximize, epsInsideSqrt, step: t })) return false;
    s.step = t;
    return true;
  },
});

registerAcceleration<AdadeltaOptions, AdadeltaState, 'adadeltaStep'>({
  rule: 'Adadelta',
  extension: 'adadeltaStep',
  supports: 'float32; every option: rho, eps, weightDecay, maximize',
  accepts: (h, p, g, s) => f32(p, g, s.squareAvg, s.accDelta),
  step(kernel, p, g, s, h) {
    const { lr, rho, eps, weightDecay, maximize } = h;
    if (!kernel(p, g, s.squareAvg, s.accDelta, { lr, rho, eps, weightDecay, maximize })) return false;
    s.step = s.step + 1;
    return true;
  },
});
