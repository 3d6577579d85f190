/**
 * A test-only device backend: its storage implements DeviceStorage and keeps its values private,
 * so only its own kernels (which run the reference kernels on them) and `read()` see them — the
 * host cannot read a tensor on it except through `await t.read()`, as with a GPU. It counts host
 * reads and uploads, so a test can assert that a training step reads nothing back.
 *
 * Its optimizer extensions run the pure rules (adam.ts, sgd.ts, rmsprop.ts, adagrad.ts,
 * adadelta.ts) on the hidden arrays, so a run on it does the reference backend's arithmetic exactly.
 */
import { adamStep as adamRuleStep } from '../../src/optim/adam.js';
import {
  adadeltaRule,
  adagradRule,
  referenceBackend,
  rmspropRule,
  registerBackend,
  sgdRule,
  type AdadeltaStepHyper,
  type AdagradStepHyper,
  type AdamStepHyper,
  type Backend,
  type DeviceStorage,
  type Extensions,
  type RmspropStepHyper,
  type SgdStepHyper,
} from '../../src/index.js';

export const DEVICE = 'emulated';

/** What crossed between the host and the emulated device. */
export const counters = { reads: 0, writes: 0, allocs: 0 };

const hidden = new WeakMap<EmulatedStorage, Float32Array | Int32Array>();

class EmulatedStorage implements DeviceStorage {
  readonly device = DEVICE;
  constructor(
    readonly dtype: 'float32' | 'int32',
    readonly length: number,
  ) {
    hidden.set(this, dtype === 'float32' ? new Float32Array(length) : new Int32Array(length));
    counters.allocs++;
  }
  read(): Promise<Float32Array | Int32Array> {
    counters.reads++;
    return Promise.resolve(hidden.get(this)!.slice());
  }
  write(values: Float32Array | Int32Array): void {
    if (values.length !== this.length) throw new RangeError(`write: ${values.length} values for ${this.length}`);
    counters.writes++;
    hidden.get(this)!.set(values);
  }
}

/** The values behind a kernel operand: only emulated storage is accepted (ops upload host operands first). */
function open(s: unknown): any {
  if (s === null || s === undefined) return s;
  if (!(s instanceof EmulatedStorage))
    throw new TypeError(`emulated kernel got ${Object.prototype.toString.call(s)}, expected emulated storage`);
  return hidden.get(s)!;
}

/** Every primitive of the reference backend, on the hidden arrays (non-storage arguments pass through). */
function wrap<F extends (...args: any[]) => unknown>(f: F): F {
  return ((...args: unknown[]) =>
    f(...args.map((a) => (a instanceof EmulatedStorage ? open(a) : ArrayBuffer.isView(a) ? open(a) : a)))) as F;
}

const primitives = Object.fromEntries(
  Object.entries(referenceBackend)
    .filter(([, v]) => typeof v === 'function')
    .map(([k, v]) => [k, wrap(v as (...a: unknown[]) => unknown)]),
);
export const emulatedBackend: Backend = { ...(primitives as unknown as Backend), name: DEVICE };

export const emulatedExtensions: Partial<Extensions> = {
  allocDevice: (dtype, length) => new EmulatedStorage(dtype, length),
  zero(a) {
    open(a).fill(0);
    return true;
  },
  adamStep(param, grad, m, v, vMax, h: AdamStepHyper) {
    const s = { step: h.step - 1, expAvg: open(m), expAvgSq: open(v), maxExpAvgSq: vMax ? open(vMax) : undefined };
    const o = {
      lr: h.lr,
      betas: [h.beta1, h.beta2] as [number, number],
      eps: h.eps,
      weightDecay: h.weightDecay,
      amsgrad: vMax !== null,
      maximize: h.maximize,
      epsInsideSqrt: false,
    };
    adamRuleStep(open(param), open(grad), s, o, h.decoupled);
    return true;
  },
  sgdStep(param, grad, buf, h: SgdStepHyper) {
    const s: { momentumBuffer?: Float32Array } = {};
    if (buf && !h.first) s.momentumBuffer = open(buf);
    sgdRule.apply(open(param), open(grad), s, { ...h, lrInsideMomentum: false } as never);
    if (buf && h.first) open(buf).set(s.momentumBuffer!);
    return true;
  },
  rmspropStep(param, grad, squareAvg, gradAvg, buf, h: RmspropStepHyper) {
    const s = { step: 0, squareAvg: open(squareAvg), gradAvg: open(gradAvg) ?? undefined, momentumBuffer: open(buf) ?? undefined };
    rmspropRule.apply(open(param), open(grad), s, { ...h, centered: gradAvg !== null, momentum: buf ? h.momentum : 0 });
    return true;
  },
  adagradStep(param, grad, sum, h: AdagradStepHyper) {
    const { step, ...o } = h;
    adagradRule.apply(open(param), open(grad), { step: step - 1, sum: open(sum) }, { ...o, initialAccumulatorValue: 0 });
    return true;
  },
  adadeltaStep(param, grad, squareAvg, accDelta, h: AdadeltaStepHyper) {
    adadeltaRule.apply(open(param), open(grad), { step: 0, squareAvg: open(squareAvg), accDelta: open(accDelta) }, h);
    return true;
  },
  batchUpdates(run) {
    run();
  },
};

/** Registers the emulated device (idempotent); the current backend is left as it is. */
export function registerEmulatedDevice(): void {
  registerBackend(emulatedBackend, emulatedExtensions);
}
