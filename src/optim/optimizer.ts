/**
 * The optimizer contract.
 *
 * Pure core: an UpdateRule<H, S> holds an optimizer's mathematics and nothing else —
 *   init(param, h, shape) → S      fresh, named, serialisable state for one parameter of this shape
 *   apply(param, grad, state, h)   one step, in place on param and state
 *   pureUpdate(rule, ...)          the same step as a pure function (copies, then apply)
 * A rule imports no backend: it reads and writes plain typed arrays and is the oracle.
 * State S is a type alias of named numbers and typed arrays keyed by PyTorch's names (camel-cased;
 * a type alias, not an interface, so it is a ParamState), so it round-trips through JSON and can be
 * compared with torch's optimizer.state_dict().
 *
 * Acceleration: a backend's fused update for a rule is registered in accelerated.ts, keyed by the
 * rule's name and a predicate on the options and dtypes it supports. `step()` asks that table, per
 * parameter and step, whether a fused update applies; else it runs the rule. State arrays the rule
 * allocates are moved into the backend's own memory (extension `allocLike`) once, after init.
 *
 * Familiar shell: Optimizer is the PyTorch-like class (step, zeroGrad, stateDict, loadStateDict,
 * parameter groups). It keys state by parameter *name*, never by position, so reordering the
 * parameters cannot mix state (the tfjs bug). A name is the one given in a [name, Tensor] pair, else
 * the Tensor's own (Module.namedParameters stamps it), else its position; own names that several
 * parameters share (two modules' "weight") get their position appended ("weight#2"), so they stay
 * unique and the same for the same list. Its options, a parameter group's and a loaded state's
 * hyper-parameters are checked against the rule's schema (util/options): an unknown name is a
 * RangeError naming the nearest valid one (`learningRate` → lr, `weight_decay` → weightDecay), a
 * wrong type a TypeError, before the rule's own range checks.
 */
import { Tensor, allocStorage, type HostStorage, type Storage, type DType } from '../tensor/tensor.js';
import { noGrad, withGrad, keepGradBuffer, isGradBuffer } from '../autograd/engine.js';
import { extension, kernelsFor, type Extensions } from '../backend/index.js'; // index: the reference backend is registered even when nothing else imported it
import { isDeviceStorage, type DeviceStorage } from '../tensor/device.js';
import { bool, checkOptions, showValue, type SchemaOf } from '../util/options.js';
import { acceleratedStep, countHostUpdate, deviceRulesText, fusedFor, hasAcceleration } from './accelerated.js';

/**
 * One entry of a parameter's optimizer state: a count or a buffer of the parameter's length. A rule
 * reads host arrays (its state type says HostStorage); the state of a parameter on a device lives
 * there too (DeviceStorage), where only the acceleration table's fused updates touch it.
 */
export type StateValue = number | Storage;
/** The shape every rule's state has (optional entries are created when first needed). */
export type ParamState = Record<string, StateValue | undefined>;

/** Hyper-parameters every rule has; the rest are its own. */
export interface BaseHyper {
  lr: number;
}

/** A method's name and options: what every optimizer declares, first-order rule or closure method. */
export interface Method<H extends BaseHyper> {
  readonly name: string;
  readonly defaults: H;
  /** Every option the method takes and its type: the constructor refuses other names and wrong types (util/options). */
  readonly schema: SchemaOf<H>;
  /** Throws a RangeError naming the option and its accepted range. */
  validate(h: H): void;
}

/**
 * A first-order optimizer's mathematics: one update of one parameter from its gradient. `S` is
 * the rule's state type (e.g. AdamState); it defaults to the untyped ParamState.
 */
export interface UpdateRule<H extends BaseHyper, S extends ParamState = ParamState> extends Method<H> {
  /**
   * `shape` is the parameter's (its Tensor's shape; `[param.length]` for a plain vector): most rules
   * ignore it, a rule whose state is not elementwise (Adafactor's factors, Muon's matrix, SOAP's
   * modes) sizes and records its state from it.
   */
  init(param: HostStorage, h: H, shape: readonly number[]): S;
  apply(param: HostStorage, grad: HostStorage, state: S, h: H): void;
}

/** The rule as a pure function: inputs are left untouched, new values are returned. */
export function pureUpdate<H extends BaseHyper, S extends ParamState>(
  rule: UpdateRule<H, S>,
  param: HostStorage,
  grad: HostStorage,
  state: S,
  h: H,
): { param: HostStorage; state: S } {
  const p = param.slice() as HostStorage;
  const s = cloneState(state);
  rule.apply(p, grad, s, h);
  return { param: p, state: s };
}

export function cloneState<S extends ParamState>(s: S): S {
  const out: ParamState = {};
  for (const [k, v] of Object.entries(s)) if (v !== undefined) out[k] = typeof v === 'number' ? v : (hostState(v).slice() as HostStorage);
  return out as S;
}

/** A state array as host values (a rule's state); state on a device is read with readStateDict(). */
function hostState(v: Storage): HostStorage {
  if (isDeviceStorage(v)) throw new Error(`optimizer state lives on ${v.device}; read it with await optimizer.readStateDict()`);
  return v;
}

/** Validation helpers: every message names the optimizer, the option, the range and the value. */
export function check(opt: string, name: string, value: unknown, ok: boolean, range: string): void {
  if (!ok) throw new RangeError(`${opt}: invalid ${name} ${showValue(value)}; expected ${range}`);
}
export const checkNonNeg = (opt: string, name: string, v: number) =>
  check(opt, name, v, typeof v === 'number' && Number.isFinite(v) && v >= 0, '≥ 0');
export const checkUnit = (opt: string, name: string, v: number) =>
  check(opt, name, v, typeof v === 'number' && v >= 0 && v < 1, 'in [0, 1)');

/** The loss, recomputed: zero the gradients, forward, backward, return the loss (a number or a one-element Tensor). */
export type Closure = () => number | Tensor;

/** A closure's result as a number; anything but a number or a one-element Tensor is a TypeError naming `owner`. */
export function lossValue(owner: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof Tensor && v.size === 1) return v.data[0];
  throw new TypeError(
    `${owner}: the closure must return the loss (a number or a one-element Tensor), got ${v instanceof Tensor ? v.toString() : typeof v}`,
  );
}

const zeroGradSchema = { setToNone: bool };

/** An optimizer of any kind (a rule's or a closure method's), for code that only steps, zeroes, saves and reads the learning rate. */
export type AnyOptimizer = OptimizerBase<BaseHyper>;

export type ParamGroup<H> = H & { params: Tensor[] };
export type ParamsInput<H> = Tensor[] | [string, Tensor][] | (Partial<H> & { params: Tensor[] | [string, Tensor][] })[];

export interface OptimizerStateDict {
  optimizer: string;
  state: Record<string, Record<string, number | number[]>>;
  paramGroups: Record<string, unknown>[];
}

/** A parameter as listed: a [name, Tensor] pair (`given`), else a Tensor under its own name or, unnamed, its position. */
function named(item: Tensor | [string, Tensor], position: number): { name: string; tensor: Tensor; given: boolean } {
  if (Array.isArray(item)) return { name: item[0], tensor: item[1], given: true };
  return { name: item?.name ?? String(position), tensor: item, given: false };
}

function isNamedList(x: unknown[]): x is [string, Tensor][] {
  return x.length > 0 && Array.isArray(x[0]) && typeof (x[0] as unknown[])[0] === 'string';
}

/**
 * What every optimizer has: parameter groups with their options (checked against the method's
 * schema), parameter names, zeroGrad, the learning rate. `Optimizer` adds per-parameter state and a
 * rule's step; `ClosureOptimizer` is the base of methods whose step re-evaluates the objective.
 */
export abstract class OptimizerBase<H extends BaseHyper> {
  readonly paramGroups: ParamGroup<H>[] = [];
  protected readonly names = new Map<Tensor, string>();

  constructor(
    readonly rule: Method<H>,
    params: ParamsInput<H>,
    options: Partial<H> = {},
  ) {
    checkOptions(rule.name, options, rule.schema);
    const defaults = { ...rule.defaults, ...stripUndefined(options) } as H;
    rule.validate(defaults);
    const list = params as unknown[];
    if (!Array.isArray(list) || list.length === 0) throw new RangeError(`${rule.name}: got an empty parameter list`);
    const groups: { params: Tensor[] | [string, Tensor][] }[] =
      list[0] instanceof Tensor || isNamedList(list) ? [{ params: list as Tensor[] }] : (list as { params: Tensor[] }[]);
    if ((groups as unknown[]) === list)
      for (const [gi, g] of groups.entries()) checkOptions(`${rule.name} parameter group ${gi}`, g, rule.schema, { allowed: ['params'] });
    let position = 0;
    const entries = groups.map((g) => (g.params as (Tensor | [string, Tensor])[]).map((item) => named(item, position++)));
    const implicit = new Map<string, number>();
    for (const ps of entries) for (const e of ps) if (!e.given) implicit.set(e.name, (implicit.get(e.name) ?? 0) + 1);
    const given = new Set(entries.flat().flatMap((e) => (e.given ? [e.name] : [])));
    const used = new Set<string>();
    let index = 0;
    for (const [gi, g] of groups.entries()) {
      const { params: _ps, ...over } = g;
      const h = { ...defaults, ...stripUndefined(over as Partial<H>) } as H;
      rule.validate(h);
      const tensors: Tensor[] = [];
      for (const e of entries[gi]) {
        const t = e.tensor;
        // a Tensor's own name that others share (layers of separate modules are all "weight") is
        // made unique by the parameter's position in the list; a name given in a pair is kept as is
        const name = !e.given && ((implicit.get(e.name) ?? 0) > 1 || given.has(e.name)) ? `${e.name}#${index}` : e.name;
        if (!(t instanceof Tensor)) throw new TypeError(`${rule.name}: parameter ${name} is not a Tensor`);
        if (this.names.has(t)) throw new RangeError(`${rule.name}: parameter "${e.name}" appears twice`);
        if (used.has(name)) throw new RangeError(`${rule.name}: two parameters are named "${name}"`);
        used.add(name);
        this.names.set(t, name);
        tensors.push(t);
        index++;
      }
      this.paramGroups.push({ ...h, params: tensors });
    }
  }

  nameOf(p: Tensor): string {
    return this.names.get(p) as string;
  }

  /** One update; see the subclasses. */
  abstract step(closure?: Closure): number | undefined;

  /** Hyper-parameters as plain JSON (state: the subclass's). */
  stateDict(): OptimizerStateDict {
    const paramGroups = this.paramGroups.map(({ params, ...h }) => ({ ...h, params: params.map((p) => this.nameOf(p)) }));
    return { optimizer: this.rule.name, state: {}, paramGroups };
  }

  abstract loadStateDict(sd: OptimizerStateDict): void;

  /** stateDict() for state on any backend: state on a device is read back first (asynchronously). */
  async readStateDict(): Promise<OptimizerStateDict> {
    return this.stateDict();
  }

  /**
   * Forget gradients: PyTorch's zero_grad(set_to_none=True), its default since 2.0. With
   * `{ setToNone: false }` (PyTorch 1.x's default) each existing `.grad` is kept and zeroed, and
   * later backward passes add into it in place — so a step allocates no gradient tensors, and on
   * the wasm backend the buffers live in WebAssembly memory, where the fused dense layer writes
   * its weight gradient directly and the fused update reads it without a copy.
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    zeroGrads(this.rule.name, this.paramGroups, opts);
  }

  /** The learning rate of the first group. */
  get lr(): number {
    return this.paramGroups[0].lr;
  }

  /** Set the learning rate of every group (schedules use this). */
  setLr(lr: number | ((group: ParamGroup<H>, i: number) => number)): void {
    this.paramGroups.forEach((g, i) => {
      const v = typeof lr === 'number' ? lr : lr(g, i);
      checkNonNeg(this.rule.name, 'lr', v);
      g.lr = v;
    });
  }
}

/**
 * A method whose step needs the objective re-evaluated (L-BFGS, Newton): step(closure) is
 * required, and `evaluations` counts the objective evaluations made so far (Steppable's counter,
 * which trajectories record as `optimizerEvals`).
 */
export abstract class ClosureOptimizer<H extends BaseHyper> extends OptimizerBase<H> {
  abstract override step(closure: Closure): number;
  /** Objective evaluations so far (closure calls; Newton adds its Hessian-vector products). */
  abstract get evaluations(): number;
}

/** A first-order optimizer: a rule applied to every parameter that has a gradient, with per-parameter state. */
export class Optimizer<H extends BaseHyper, S extends ParamState = ParamState> extends OptimizerBase<H> {
  /** Per-parameter state, keyed by parameter name. */
  readonly state = new Map<string, S>();
  declare readonly rule: UpdateRule<H, S>;

  constructor(rule: UpdateRule<H, S>, params: ParamsInput<H>, options: Partial<H> = {}) {
    super(rule, params, options);
  }

  /**
   * One update of every parameter that has a gradient. With a closure (PyTorch's: zero the
   * gradients, compute the loss, backward, return the loss as a number or a one-element Tensor) it is
   * called first, with grad on, and its loss returned as a number.
   */
  step(closure?: Closure): number | undefined {
    const loss = closure ? lossValue(this.rule.name, withGrad(true, closure)) : undefined;
    const rule = this.rule;
    const onHost = this.hostValues;
    let where = this.paramGroups[0].params[0].storage;
    const all = () => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          const name = this.nameOf(p);
          const read = onHost?.get(p);
          if (read) {
            // stepAsync's host path: the rule on the values read back, its state on the host, the parameter written back
            let s = this.state.get(name);
            if (!s) this.state.set(name, (s = rule.init(read.param, g, p.shape)));
            else followParameter(rule.name, name, s, read.param);
            rule.apply(read.param, read.grad, s, g);
            (p.storage as DeviceStorage).write(read.param);
            countHostUpdate(rule.name);
            continue;
          }
          const device = isDeviceStorage(p.storage) ? kernelsFor(p.storage) : null;
          // a parameter on a device runs a fused update there or nothing: no silent host path
          if (device && !hasAcceleration(rule.name, device.ext))
            throw new Error(deviceRuleError(rule.name, name, device.device!, device.ext));
          let s = this.state.get(name);
          if (!s) {
            // the rule sizes its state from a zero host array of the parameter's length; homeState moves it
            s = homeState(rule.init(device ? allocStorage(p.dtype, p.size) : p.data, g, p.shape), p.storage);
            this.state.set(name, s);
          } else followParameter(rule.name, name, s, p.storage);
          // a fused update where one is registered for this rule, these options and dtypes; else the rule
          if (acceleratedStep(rule.name, p.storage, p.grad.storage, s, g, device?.ext)) continue;
          if (device) throw new Error(deviceRuleError(rule.name, name, device.device!, device.ext));
          rule.apply(p.data, p.grad.data, s, g);
        }
      }
    };
    for (const g of this.paramGroups) for (const p of g.params) if (p.grad) where = p.storage;
    // every parameter's update in one backend job where the backend can (wasm: one threaded call)
    const batch = kernelsFor(where).ext.batchUpdates;
    noGrad(() => (batch ? batch(all) : all()));
    return loss;
  }

  /** Inside stepAsync: the values read back of the parameters on a device that its host path updates. */
  private hostValues: Map<Tensor, { param: Float32Array; grad: Float32Array }> | null = null;

  /**
   * step() for parameters on any backend, as fitAsync takes it. A parameter on a device that no
   * fused update there takes (this rule, these options) is updated by the rule on the host: its
   * values and gradient are read back (one wait for the device), its state lives on the host (state
   * on the device is read back once), and the updated values are written to the device, counted as
   * `host` in accelerationInfo().updates. Every other parameter updates as step() does. An optimizer
   * whose step() is its own (wrappers, the group-adaptive ones) runs step().
   */
  async stepAsync(): Promise<void> {
    const rule = this.rule.name;
    const fallback: Tensor[] = [];
    for (const g of this.paramGroups)
      for (const p of g.params) {
        if (!p.grad || !isDeviceStorage(p.storage)) continue;
        if (!fusedFor(rule, g, p.storage, p.grad.storage, this.state.get(this.nameOf(p)), kernelsFor(p.storage).ext)) fallback.push(p);
      }
    if (fallback.length === 0 || this.step !== Optimizer.prototype.step) {
      this.step();
      return;
    }
    const reads = await Promise.all(
      fallback.map(async (p) => {
        const s = this.state.get(this.nameOf(p));
        const onDevice = Object.entries(s ?? {}).filter(([, v]) => v !== undefined && typeof v !== 'number' && isDeviceStorage(v));
        const [param, grad, ...state] = await Promise.all([
          (p.storage as DeviceStorage).read(),
          (p.grad as Tensor).read(),
          ...onDevice.map(([, v]) => (v as DeviceStorage).read()),
        ]);
        onDevice.forEach(([k], i) => ((s as ParamState)[k] = state[i] as Float32Array));
        return [p, { param: param as Float32Array, grad: grad as Float32Array }] as const;
      }),
    );
    this.hostValues = new Map(reads);
    try {
      this.step();
    } finally {
      this.hostValues = null;
    }
  }

  override async readStateDict(): Promise<OptimizerStateDict> {
    const sd = this.stateDictWith((v) => (isDeviceStorage(v) ? null : Array.from(v)));
    for (const [name, s] of this.state) {
      for (const [k, v] of Object.entries(s)) if (v !== undefined && isDeviceStorage(v)) sd.state[name][k] = Array.from(await v.read());
    }
    return sd;
  }

  /** State and hyper-parameters as plain JSON, keyed by parameter name. */
  override stateDict(): OptimizerStateDict {
    return this.stateDictWith((v) => Array.from(hostState(v)));
  }

  private stateDictWith(array: (v: Storage) => number[] | null): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    for (const [name, s] of this.state) {
      const e: Record<string, number | number[]> = {};
      for (const [k, v] of Object.entries(s)) {
        if (v === undefined) continue;
        const a = typeof v === 'number' ? v : array(v);
        if (a !== null) e[k] = a;
      }
      state[name] = e;
    }
    return { ...super.stateDict(), state };
  }

  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.optimizer !== this.rule.name)
      throw new Error(`loadStateDict: state is for ${sd.optimizer}, this optimizer is ${this.rule.name}`);
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw new Error(`loadStateDict: ${sd.paramGroups.length} parameter groups in state, ${this.paramGroups.length} here`);
    // hyper-parameters by name and type first, before anything is replaced
    sd.paramGroups.forEach((g, i) =>
      checkOptions(`${this.rule.name}: loadStateDict: parameter group ${i}`, g, this.rule.schema, { allowed: ['params'] }),
    );
    const groupOf = new Map<string, [Tensor, ParamGroup<H>]>();
    for (const g of this.paramGroups) for (const p of g.params) groupOf.set(this.nameOf(p), [p, g]);
    const loaded = new Map<string, S>();
    for (const [name, e] of Object.entries(sd.state)) {
      const found = groupOf.get(name);
      if (!found) throw new Error(`loadStateDict: state names unknown parameter "${name}"`);
      const [p, g] = found;
      // an array the rule's init sizes (Adafactor's factors) has that length; any other, the parameter's
      const fresh: ParamState = this.rule.init(isDeviceStorage(p.storage) ? allocStorage(p.dtype, p.size) : p.data, g, p.shape);
      const s: ParamState = {};
      for (const [k, v] of Object.entries(e)) {
        if (typeof v === 'number') s[k] = v;
        else {
          const model = fresh[k];
          const len = model !== undefined && typeof model !== 'number' ? model.length : p.size;
          if (v.length !== len)
            throw new Error(`loadStateDict: "${name}".${k} has ${v.length} values, a parameter of shape [${p.shape}] needs ${len}`);
          const arr = allocStorage(p.dtype as DType, v.length);
          arr.set(v);
          s[k] = arr;
        }
      }
      // the entries are the rule's own names (stateDict wrote them from an S); the rule reads them
      loaded.set(name, homeState(s as S, p.storage));
    }
    this.state.clear();
    for (const [name, s] of loaded) this.state.set(name, s);
    sd.paramGroups.forEach((g, i) => {
      const { params: _names, ...h } = g as Record<string, unknown>;
      Object.assign(this.paramGroups[i], h);
      this.rule.validate(this.paramGroups[i]);
    });
  }
}

/** OptimizerBase.zeroGrad over `groups`; `owner` names the optimizer in option errors. */
function zeroGrads(owner: string, groups: readonly { params: Tensor[] }[], opts: { setToNone?: boolean }): void {
  checkOptions(`${owner}.zeroGrad`, opts, zeroGradSchema);
  const setToNone = opts.setToNone ?? true;
  for (const g of groups) {
    for (const p of g.params) {
      if (setToNone || !p.grad) {
        p.grad = null;
        continue;
      }
      const k = isDeviceStorage(p.storage) ? kernelsFor(p.storage) : null;
      if (p.grad.node || !isGradBuffer(p.grad) || (k && !k.ext.zero?.(p.grad.storage))) {
        // first time (or a device without `zero`): a buffer of our own, where the parameter lives
        const data = k ? k.alloc(p.dtype, p.size) : (hostHome(p.data) ?? allocStorage(p.dtype, p.size));
        p.grad = new Tensor(data, p.shape);
        keepGradBuffer(p.grad);
      } else if (!k && !extension('zero')?.(p.grad.data)) p.grad.data.fill(0);
    }
  }
}

/**
 * State arrays moved to where the parameter lives. On a device every array goes there (the
 * fused update reads them there). On the host, arrays of the parameter's length go into the
 * backend's own memory where it keeps the parameter there (extension `allocLike`; wasm: a fused
 * update then copies no state). Values are unchanged; the rule itself allocates plain typed arrays.
 */
function homeState<S extends ParamState>(s: S, p: Storage): S {
  const out: ParamState = s;
  if (isDeviceStorage(p)) {
    const k = kernelsFor(p);
    for (const [key, v] of Object.entries(s)) if (v !== undefined && typeof v !== 'number') out[key] = k.on(v);
    return s;
  }
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined || typeof v === 'number' || v.length !== p.length) continue;
    const home = hostHome(p);
    if (home) {
      home.set(hostState(v));
      out[k] = home;
    }
  }
  return s;
}

/** Zeroed storage like host array `p` in the current host backend's own memory (extension `allocLike`), or null. */
function hostHome(p: HostStorage): HostStorage | null {
  const home = kernelsFor().device ? null : extension('allocLike')?.(p);
  return home && !isDeviceStorage(home) ? home : null;
}

/**
 * State made before its parameter moved (Module.to): state on the host follows a parameter to its
 * device (an upload); state on a device cannot come back synchronously, so a host parameter with
 * device state is an error naming the way out.
 */
function followParameter(rule: string, name: string, s: ParamState, p: Storage): void {
  const device = isDeviceStorage(p) ? p.device : null;
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined || typeof v === 'number') continue;
    const at = isDeviceStorage(v) ? v.device : null;
    if (at === device) continue;
    if (device && !at) s[k] = kernelsFor(p).on(v);
    else
      throw new Error(
        `${rule}: the state of parameter "${name}" lives on ${at} but the parameter on ${device ?? 'the host'}; move the model back, or carry the state over with loadStateDict(await optimizer.readStateDict())`,
      );
  }
}

/** The message of a rule asked to update a parameter on a device where it has no fused update. */
function deviceRuleError(rule: string, param: string, device: string, ext: Readonly<Partial<Extensions>>): string {
  return `${rule}: parameter "${param}" lives on ${device}, where ${rule} with these options has no fused update (its rule runs on the host: await optimizer.stepAsync(), as fitAsync steps, reads the parameter back and writes its update); optimizers that run on ${device}: ${deviceRulesText(ext)}`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
