/**
 * Where the time of one training step goes: runs W1, W2 or W5 steps with every backend kernel wrapped
 * in a timer (and its multiply-adds counted), then prints ms/step per kernel, GFLOP/s of the
 * products, and the rest (autograd, allocation, pooling and other JS outside the backend).
 * W4 times L-BFGS iterations instead (one `LBFGS.step` of maxIter 1 each: its evaluations of the
 * full-batch closure and its own vector work).
 *   node --experimental-wasm-relaxed-simd dist/bench/profile.js [W1|W2|W4|W5] [steps] [backend]
 */
import {
  Tensor,
  Adam,
  LBFGS,
  Linear,
  Rng,
  crossEntropy,
  trainStep,
  setBackend,
  registerBackend,
  backend,
  extensionsOf,
  type Backend,
  type Conv2dGeometry,
} from '../src/index.js';
import { initWasm, wasmInfo, wasmFloat32Array } from '../src/wasm.js';
import { loadFashionMnist } from '../src/node.js';
import { BATCH, W4_HISTORY, batchOrder, gather, isInterleaved, median } from './common.js';
import { descentInputShape, descentModel } from './models.js';

const [w = 'W1', stepsArg = '30', which = 'wasm'] = process.argv.slice(2);
const t = process.env.DESCENT_WASM_THREADS;
await initWasm(t ? { threads: Number(t) } : {});
setBackend(which);
// the primitives and the extensions, each timed under its name
const inner: Record<string, unknown> = { ...backend(), ...extensionsOf(backend().name) };
const time = new Map<string, { ms: number; calls: number; flops: number; perStep: number[]; cur: number }>();
const macsOf = (name: string, a: unknown[]): number => {
  if (name === 'matmul') return (a[3] as number) * (a[4] as number) * (a[5] as number);
  if (name === 'linear') return (a[4] as number) * (a[5] as number) * (a[6] as number);
  if (name === 'linearBackward') return (a[7] as number) * (a[8] as number) * (a[9] as number) * (+(a[4] !== null) + +(a[5] !== null));
  if (name.startsWith('conv2d')) {
    const g = a[3] as Conv2dGeometry;
    return g.n * g.k * g.c * g.kh * g.kw * g.oh * g.ow;
  }
  return 0;
};
const timed: Record<string, unknown> = { name: 'timed' };
const without = new Set((process.env.DESCENT_PROFILE_WITHOUT ?? '').split(',').filter(Boolean));
for (const [k, f] of Object.entries(inner)) {
  if (typeof f !== 'function' || without.has(k)) continue;
  timed[k] = (...a: unknown[]) => {
    const key = k.startsWith('convPool')
      ? `${k} c=${(a[k.endsWith('Backward') ? 8 : 5] as Conv2dGeometry).c}`
      : k === 'matmul'
        ? `matmul ${a[3]}x${a[4]}x${a[5]}${a[6] ? ' tA' : ''}${a[7] ? ' tB' : ''}`
        : k === 'binary' || k === 'unary'
          ? `${k} ${a[0]}`
          : k;
    const t0 = performance.now();
    const r = (f as (...x: unknown[]) => unknown)(...a);
    const e = time.get(key) ?? { ms: 0, calls: 0, flops: 0, perStep: [], cur: 0 };
    const dt = performance.now() - t0;
    e.ms += dt;
    e.cur += dt;
    e.calls++;
    e.flops += 2 * macsOf(k, a);
    time.set(key, e);
    return r;
  };
}
registerBackend(timed as unknown as Backend, timed);
setBackend('timed');

const data = loadFashionMnist();
const rng = new Rng(1);
const phases = { forward: [] as number[], backward: [] as number[], step: [] as number[], total: [] as number[] };
const record = (t: number[]) => {
  phases.forward.push(t[1] - t[0]);
  phases.backward.push(t[2] - t[1]);
  phases.step.push(t[3] - t[2]);
  phases.total.push(t[3] - t[0]);
  for (const e of time.values()) {
    e.perStep.push(e.cur);
    e.cur = 0;
  }
};
let B: number;
/** W4: closure evaluations so far (an L-BFGS iteration evaluates once, or more in its line search). */
let evals = 0;
let step: (rec: boolean) => void;
if (w === 'W4') {
  // bench/descent.ts's W4: logistic regression on 10k images in wasm memory, L-BFGS from zero
  const N = 10_000;
  B = N;
  const xs = which === 'wasm' ? wasmFloat32Array(N * 784) : new Float32Array(N * 784);
  xs.set(data.train.images.subarray(0, N * 784));
  const x = new Tensor(xs, [N, 784]);
  const y = Int32Array.from({ length: N }, (_, i) => data.train.labels[i]);
  const model = new Linear(784, 10, { rng });
  model.weight.data.fill(0);
  model.bias!.data.fill(0);
  const opt = new LBFGS(model.namedParameters(), { lr: 1, maxIter: 1, historySize: W4_HISTORY, lineSearchFn: 'strongWolfe' });
  // forward and backward summed over the iteration's evaluations; "optimizer" is the rest of the step
  let fwd = 0,
    bwd = 0;
  const closure = () => {
    evals++;
    const t0 = performance.now();
    opt.zeroGrad();
    const l = crossEntropy(model.forward(x), y);
    const t1 = performance.now();
    l.backward();
    fwd += t1 - t0;
    bwd += performance.now() - t1;
    return l;
  };
  step = (rec) => {
    fwd = bwd = 0;
    const t0 = performance.now();
    opt.step(closure);
    const t3 = performance.now();
    if (rec) record([t0, t0 + fwd, t0 + fwd + bwd, t3]);
  };
} else {
  if (!isInterleaved(w)) throw new Error(`bench/profile: expected W1, W2, W4 or W5, got "${w}"`);
  const model = descentModel(w, rng);
  const opt = new Adam(model.namedParameters(), { lr: 1e-3 });
  const b = BATCH[w];
  B = b;
  const order = batchOrder(data.train.labels.length, 42);
  let at = 0;
  step = (rec) => {
    const x = new Float32Array(b * 784),
      y = new Int32Array(b);
    gather(data.train.images, data.train.labels, order, at, b, 784, x, y);
    at += b;
    // as bench/descent.ts: one trainStep (a step scope, as fit's steps)
    trainStep(model, opt, () => {
      const t0 = performance.now();
      const l = crossEntropy(model.forward(new Tensor(x, descentInputShape(w, b)), { training: true, rng }), y);
      const t1 = performance.now();
      // gradients zeroed in place, not dropped, as in the bench and PyTorch 1.13's opt.zero_grad()
      // (set_to_none defaults to False there)
      opt.zeroGrad({ setToNone: false });
      l.backward();
      const t2 = performance.now();
      opt.step();
      if (rec) record([t0, t1, t2, performance.now()]);
    });
  };
}
for (let i = 0; i < 5; i++) step(false);
time.clear();
const n = Number(stepsArg);
const copied0 = wasmInfo().copiedBytes;
for (let i = 0; i < n; i++) step(true);
const copiedPerStep = (wasmInfo().copiedBytes - copied0) / n;
// medians, not means: the machine is shared and preemption spikes would dominate a mean
const total = median(phases.total);
let inKernels = 0;
console.log(
  `${w} on ${which} (${JSON.stringify(wasmInfo())}): median ${total.toFixed(2)} ms/step = ` +
    (w === 'W4'
      ? `an L-BFGS iteration, ${(evals / (n + 5)).toFixed(2)} evaluations each on average`
      : `${Math.round((B * 1000) / total)} samples/s`),
);
console.log(
  `median ms/step: forward ${median(phases.forward).toFixed(2)}, backward ${median(phases.backward).toFixed(2)}, optimizer ${median(phases.step).toFixed(2)} (excluding batch assembly)`,
);
console.log('kernel (median ms per step)         ms/step  calls/step  GFLOP/s');
for (const [k, e] of [...time].sort((a, b) => median(b[1].perStep) - median(a[1].perStep))) {
  const ms = median(e.perStep);
  inKernels += ms;
  const flopsPerStep = e.flops / n;
  console.log(
    `${k.padEnd(36)}${ms.toFixed(3).padStart(8)}${(e.calls / n).toFixed(1).padStart(10)}${e.flops ? (flopsPerStep / ms / 1e6).toFixed(1).padStart(10) : ''}`,
  );
}
console.log(`copied between JS arrays and wasm memory: ${(copiedPerStep / 2 ** 20).toFixed(2)} MiB/step`);
console.log(`${'outside the backend (autograd, JS ops, pooling)'.padEnd(36)}${(total - inKernels).toFixed(3).padStart(8)}`);
