/**
 * Fused optimizer updates, one thread per parameter element, in place (the equations of
 * src/optim/adam.ts, sgd.ts, rmsprop.ts, adagrad.ts and adadelta.ts, in float32 like the wasm
 * kernels of asm/optim.ts; the step-dependent and derived scalars — step size, √(1 − β₂ᵗ),
 * 1 − lr·wd, 1 − α, Adagrad's decayed rate — are computed on the host in float64).
 * Every update is queued like any kernel; batchUpdates submits the queue when the step's updates
 * are in, so the GPU starts on them while the host goes on.
 */
import type { AdadeltaStepHyper, AdagradStepHyper, AdamStepHyper, RmspropStepHyper, SgdStepHyper } from '../backend.js';
import type { DeviceStorage } from '../../tensor/device.js';
import { type GpuContext, GpuStorage, WGSL_COMMON, grid, wgsl, THREAD_MAIN } from './context.js';
import { READ, WRITE, allOwn } from './dense.js';

/** gv: the gradient, negated when maximizing, plus the coupled weight decay λθ (SGD's, RMSprop's, Adagrad's and Adadelta's first lines). */
const DECAYED_GRAD = `  let pv = param[i];
  var gv = g[i];
  if (p.maximize == 1u) { gv = -gv; }
  gv = gv + p.wd * pv;`;

function adamSource(amsgrad: boolean): string {
  return /* wgsl */ `
struct Params { n: u32, maximize: u32, decoupled: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, decay: f32, stepSize: f32, bc2Sqrt: f32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'g')}
${WRITE(2, 'param')}
${WRITE(3, 'm')}
${WRITE(4, 'v')}
${amsgrad ? WRITE(5, 'vmax') : ''}
${WGSL_COMMON}
${THREAD_MAIN}
  var pv = param[i];
  var gv = g[i];
  if (p.maximize == 1u) { gv = -gv; }
  if (p.decoupled == 1u) { pv = pv * p.decay; } else { gv = gv + pv * p.wd; }
  let mv = m[i] * p.beta1 + gv * (1.0 - p.beta1);
  var vv = v[i] * p.beta2 + gv * gv * (1.0 - p.beta2);
  m[i] = mv;
  v[i] = vv;
  ${amsgrad ? 'if (vmax[i] > vv) { vv = vmax[i]; } else { vmax[i] = vv; }' : ''}
  let denom = sqrt(vv) / p.bc2Sqrt + p.eps;
  param[i] = pv - p.stepSize * (mv / denom);
}
`;
}

function sgdSource(momentum: boolean): string {
  return /* wgsl */ `
struct Params { n: u32, maximize: u32, nesterov: u32, first: u32, lr: f32, momentum: f32, dampening: f32, wd: f32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'g')}
${WRITE(2, 'param')}
${momentum ? WRITE(3, 'buf') : ''}
${WGSL_COMMON}
${THREAD_MAIN}
${DECAYED_GRAD}
  var d = gv;
  ${
    momentum
      ? `var b = d;
  if (p.first == 0u) { b = buf[i] * p.momentum + d * (1.0 - p.dampening); }
  buf[i] = b;
  if (p.nesterov == 1u) { d = d + b * p.momentum; } else { d = b; }`
      : ''
  }
  param[i] = pv - p.lr * d;
}
`;
}

/** RMSprop with the centered average ḡ (`centered`) and the momentum buffer (`momentum`) as variants; the Keras forms as uniforms. */
function rmspropSource(centered: boolean, momentum: boolean): string {
  return /* wgsl */ `
struct Params { n: u32, maximize: u32, epsInside: u32, lrInside: u32, lr: f32, alpha: f32, oneMinusAlpha: f32, eps: f32, wd: f32, mu: f32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'g')}
${WRITE(2, 'param')}
${WRITE(3, 'v')}
${centered ? WRITE(4, 'ga') : ''}
${momentum ? WRITE(centered ? 5 : 4, 'buf') : ''}
${WGSL_COMMON}
${THREAD_MAIN}
${DECAYED_GRAD}
  let vv = v[i] * p.alpha + p.oneMinusAlpha * gv * gv;
  v[i] = vv;
  var sq = vv;
  ${
    centered
      ? `let gav = ga[i] * p.alpha + p.oneMinusAlpha * gv;
  ga[i] = gav;
  sq = vv - gav * gav;`
      : ''
  }
  var d = sqrt(sq) + p.eps;
  if (p.epsInside == 1u) { d = sqrt(sq + p.eps); }
  ${
    momentum
      ? `if (p.lrInside == 1u) {
    let b = buf[i] * p.mu + (p.lr * gv) / d;
    buf[i] = b;
    param[i] = pv - b;
  } else {
    let b = buf[i] * p.mu + gv / d;
    buf[i] = b;
    param[i] = pv - p.lr * b;
  }`
      : 'param[i] = pv - (p.lr * gv) / d;'
  }
}
`;
}

function adagradSource(): string {
  return /* wgsl */ `
struct Params { n: u32, maximize: u32, epsInside: u32, clr: f32, wd: f32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'g')}
${WRITE(2, 'param')}
${WRITE(3, 'sum')}
${WGSL_COMMON}
${THREAD_MAIN}
${DECAYED_GRAD}
  let sv = sum[i] + gv * gv;
  sum[i] = sv;
  var den = sqrt(sv) + p.eps;
  if (p.epsInside == 1u) { den = sqrt(sv + p.eps); }
  param[i] = pv - (p.clr * gv) / den;
}
`;
}

function adadeltaSource(): string {
  return /* wgsl */ `
struct Params { n: u32, maximize: u32, lr: f32, rho: f32, oneMinusRho: f32, eps: f32, wd: f32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'g')}
${WRITE(2, 'param')}
${WRITE(3, 'v')}
${WRITE(4, 'u')}
${WGSL_COMMON}
${THREAD_MAIN}
${DECAYED_GRAD}
  let vv = v[i] * p.rho + p.oneMinusRho * gv * gv;
  v[i] = vv;
  let uv = u[i];
  let delta = (sqrt(uv + p.eps) / sqrt(vv + p.eps)) * gv;
  u[i] = uv * p.rho + p.oneMinusRho * delta * delta;
  param[i] = pv - p.lr * delta;
}
`;
}

export function updateOps(ctx: GpuContext) {
  function adamStep(
    param: DeviceStorage,
    grad: DeviceStorage,
    m: DeviceStorage,
    v: DeviceStorage,
    vMax: DeviceStorage | null,
    h: AdamStepHyper,
  ): boolean {
    if (!allOwn(ctx, param, grad, m, v, vMax)) return false;
    const n = param.length;
    if ([grad, m, v, vMax].some((s) => s !== null && s.length !== n)) return false;
    if (n === 0) return true;
    const decoupled = h.decoupled && h.weightDecay !== 0;
    const st = [grad, param, m, v, ...(vMax ? [vMax] : [])] as GpuStorage[];
    ctx.dispatch({
      name: 'adamStep',
      code: wgsl(`adam${+!!vMax}`, () => adamSource(!!vMax)),
      ints: [n, +h.maximize, +decoupled],
      floats: [
        h.lr,
        h.beta1,
        h.beta2,
        h.eps,
        h.decoupled ? 0 : h.weightDecay,
        1 - h.lr * h.weightDecay,
        h.lr / (1 - h.beta1 ** h.step),
        Math.sqrt(1 - h.beta2 ** h.step),
      ],
      storage: st,
      writes: st.length - 1,
      groups: grid(n),
    });
    return true;
  }

  function sgdStep(param: DeviceStorage, grad: DeviceStorage, momentumBuffer: DeviceStorage | null, h: SgdStepHyper): boolean {
    if (!allOwn(ctx, param, grad, momentumBuffer)) return false;
    const n = param.length;
    if (grad.length !== n || (momentumBuffer && momentumBuffer.length !== n)) return false;
    if (n === 0) return true;
    const st = [grad, param, ...(momentumBuffer ? [momentumBuffer] : [])] as GpuStorage[];
    ctx.dispatch({
      name: 'sgdStep',
      code: wgsl(`sgd${+!!momentumBuffer}`, () => sgdSource(!!momentumBuffer)),
      ints: [n, +h.maximize, +h.nesterov, +h.first],
      floats: [h.lr, h.momentum, h.dampening, h.weightDecay],
      storage: st,
      writes: st.length - 1,
      groups: grid(n),
    });
    return true;
  }

  function rmspropStep(
    param: DeviceStorage,
    grad: DeviceStorage,
    squareAvg: DeviceStorage,
    gradAvg: DeviceStorage | null,
    momentumBuffer: DeviceStorage | null,
    h: RmspropStepHyper,
  ): boolean {
    if (!allOwn(ctx, param, grad, squareAvg, gradAvg, momentumBuffer)) return false;
    const n = param.length;
    if ([grad, squareAvg, gradAvg, momentumBuffer].some((s) => s !== null && s.length !== n)) return false;
    if (n === 0) return true;
    const centered = gradAvg !== null,
      momentum = momentumBuffer !== null;
    const st = [grad, param, squareAvg, ...(gradAvg ? [gradAvg] : []), ...(momentumBuffer ? [momentumBuffer] : [])] as GpuStorage[];
    ctx.dispatch({
      name: 'rmspropStep',
      code: wgsl(`rmsprop${+centered}${+momentum}`, () => rmspropSource(centered, momentum)),
      ints: [n, +h.maximize, +h.epsInsideSqrt, +h.lrInsideMomentum],
      floats: [h.lr, h.alpha, 1 - h.alpha, h.eps, h.weightDecay, h.momentum],
      storage: st,
      writes: st.length - 1,
      groups: grid(n),
    });
    return true;
  }

  function adagradStep(param: DeviceStorage, grad: DeviceStorage, sum: DeviceStorage, h: AdagradStepHyper): boolean {
    if (!allOwn(ctx, param, grad, sum)) return false;
    const n = param.length;
    if (grad.length !== n || sum.length !== n) return false;
    if (n === 0) return true;
    const st = [grad, param, sum] as GpuStorage[];
    ctx.dispatch({
      name: 'adagradStep',
      code: wgsl('adagrad', adagradSource),
      ints: [n, +h.maximize, +h.epsInsideSqrt],
      floats: [h.lr / (1 + (h.step - 1) * h.lrDecay), h.weightDecay, h.eps],
      storage: st,
      writes: 2,
      groups: grid(n),
    });
    return true;
  }

  function adadeltaStep(
    param: DeviceStorage,
    grad: DeviceStorage,
    squareAvg: DeviceStorage,
    accDelta: DeviceStorage,
    h: AdadeltaStepHyper,
  ): boolean {
    if (!allOwn(ctx, param, grad, squareAvg, accDelta)) return false;
    const n = param.length;
    if ([grad, squareAvg, accDelta].some((s) => s.length !== n)) return false;
    if (n === 0) return true;
    const st = [grad, param, squareAvg, accDelta] as GpuStorage[];
    ctx.dispatch({
      name: 'adadeltaStep',
      code: wgsl('adadelta', adadeltaSource),
      ints: [n, +h.maximize],
      floats: [h.lr, h.rho, 1 - h.rho, h.eps, h.weightDecay],
      storage: st,
      writes: 3,
      groups: grid(n),
    });
    return true;
  }

  function zero(a: DeviceStorage): boolean {
    if (!(a instanceof GpuStorage) || a.ctx !== ctx) return false;
    ctx.clear(a);
    return true;
  }

  /** Zeroed storage of p's type and length on this device, for a p that lives here (else null: the caller keeps a typed array). */
  function allocLike(p: DeviceStorage): DeviceStorage | null {
    if (!(p instanceof GpuStorage) || p.ctx !== ctx) return null;
    return GpuStorage.zeros(p.dtype, p.length, ctx);
  }

  let depth = 0;
  function batchUpdates(run: () => void): void {
    depth++;
    try {
      run();
    } finally {
      depth--;
      if (depth === 0) ctx.flush();
    }
  }

  return { adamStep, sgdStep, rmspropStep, adagradStep, adadeltaStep, zero, allocLike, batchUpdates };
}
