/** The workloads run with descent (wasm backend unless --backend reference). */
import {
  Tensor,
  Linear,
  Adam,
  LBFGS,
  Rng,
  crossEntropy,
  trainStep,
  setBackend,
  backend,
  extension,
  noGrad,
  parameter,
} from '../src/index.js';
import { initWasm, wasmInfo, wasmFloat32Array } from '../src/wasm.js';
import { loadFashionMnist } from '../src/node.js';
import { descentInputShape, descentModel } from './models.js';
import {
  type InterleavedWorkload,
  type Measurement,
  type Trainer,
  BATCH,
  STEPS,
  W4_HISTORY,
  batchOrder,
  gather,
  peakMiB,
  warmUp,
} from './common.js';

async function init(backendName: string): Promise<void> {
  if (backendName === 'wasm') {
    const t = process.env.DESCENT_WASM_THREADS;
    await initWasm(t ? { threads: Number(t) } : {});
    setBackend('wasm');
  } else setBackend(backendName);
}

const label = (backendName: string, jsArray = false) =>
  backendName === 'wasm' ? (jsArray ? 'descent (params in a JS array)' : 'descent') : `descent (${backendName})`;

/** W3 and W4: the whole measurement in this process. */
export async function runDescent(w: 'W3' | 'W4', quick: boolean, backendName: string, jsArray = false): Promise<Measurement> {
  await init(backendName);
  const info = backendName === 'wasm' ? wasmInfo() : {};
  const base = { framework: label(backendName, jsArray), workload: w } as const;
  const r = w === 'W3' ? w3(quick, jsArray) : w4(loadFashionMnist().train);
  return { ...base, ...r, extra: { ...r.extra, ...info } };
}

/** An interleaved workload (W1, W2, W5, W6): data loaded, model built and warmed up; child.ts times the steps (serveSegments). */
export async function setupDescent(w: InterleavedWorkload, quick: boolean, backendName: string): Promise<Trainer> {
  await init(backendName);
  const { images, labels } = loadFashionMnist().train;
  const rng = new Rng(1);
  const model = descentModel(w, rng);
  const opt = new Adam(model.namedParameters(), { lr: 1e-3 });
  const B = BATCH[w];
  const shape = descentInputShape(w, B);
  const order = batchOrder(labels.length, 42);
  let at = 0;
  const step = () => {
    const x = new Float32Array(B * 784),
      y = new Int32Array(B);
    gather(images, labels, order, at, B, 784, x, y);
    at += B;
    // one step scope (trainStep), as fit runs its steps
    return trainStep(model, opt, () => {
      const out = model.forward(new Tensor(x, shape), { training: true, rng });
      const l = crossEntropy(out, y);
      // gradients zeroed in place, not dropped: what the PyTorch runner's opt.zero_grad() does
      // (set_to_none defaults to False in PyTorch 1.13)
      opt.zeroGrad({ setToNone: false });
      l.backward();
      opt.step();
      return l.item();
    });
  };
  warmUp(step, STEPS[w].warmup, quick);
  return { framework: label(backendName), workload: w, batch: B, step, finish: () => (backendName === 'wasm' ? wasmInfo() : {}) };
}

/**
 * W3 as a user writes it: `parameter()` (PyTorch's nn.Parameter), which the wasm backend keeps in
 * its memory, with a gradient where backward() keeps it (a buffer beside the parameter). With
 * `jsArray` the parameter and gradient are plain Float32Arrays the user made, copied into wasm
 * memory and back at every step.
 */
function w3(quick: boolean, jsArray: boolean): Omit<Measurement, 'framework' | 'workload'> {
  const N = 10_000_000;
  const rng = new Rng(3);
  const p = jsArray ? new Tensor(new Float32Array(N), [N], true) : parameter([N], 'float32', () => {});
  const g = new Tensor(jsArray ? new Float32Array(N) : (extension('allocLike')?.(p.data) ?? new Float32Array(N)), [N]);
  for (let i = 0; i < N; i++) {
    p.data[i] = rng.uniform() - 0.5;
    g.data[i] = rng.uniform() - 0.5;
  }
  p.name = 'p';
  p.grad = g;
  const opt = new Adam([p], { lr: 1e-3 });
  const s = STEPS.W3;
  for (let i = 0; i < s.warmup; i++) opt.step();
  const n = quick ? s.quick : s.full;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    opt.step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return {
    value: times[Math.floor(times.length / 2)],
    unit: 'ms',
    peakMiB: peakMiB(),
    note: 'median of steps',
    extra: { timesMs: times.map((t) => +t.toFixed(2)) },
  };
}

function w4({ images, labels }: { images: Float32Array; labels: ArrayLike<number> }): Omit<Measurement, 'framework' | 'workload'> {
  const N = 10_000;
  // the data set is a big, long-lived buffer: kept in wasm memory, the kernels read it in place
  const xs = backend().name === 'wasm' ? wasmFloat32Array(N * 784) : new Float32Array(N * 784);
  xs.set(images.subarray(0, N * 784));
  const x = new Tensor(xs, [N, 784]);
  const y = Int32Array.from({ length: N }, (_, i) => labels[i]);
  // zero initial weights: the same starting point as the PyTorch run (the problem is convex)
  const model = new Linear(784, 10, { rng: new Rng(0) });
  model.weight.data.fill(0);
  model.bias!.data.fill(0);
  const opt = new LBFGS(model.namedParameters(), { lr: 1, maxIter: 100, historySize: W4_HISTORY, lineSearchFn: 'strongWolfe' });
  let evals = 0;
  // (ms since the start, loss) at every evaluation: the report finds when the loss first gets
  // within 1e-4 of PyTorch's final loss (float32 trajectories of two libraries drift apart, so the
  // fair question is the time to reach the same loss, not the loss after the same iterations)
  const trace: [number, number][] = [];
  const closure = () => {
    evals++;
    opt.zeroGrad();
    const l = crossEntropy(model.forward(x), y);
    l.backward();
    trace.push([performance.now() - t0, l.data[0]]);
    return l;
  };
  const t0 = performance.now();
  opt.step(closure);
  const dt = performance.now() - t0;
  const evaluations = evals;
  const final = noGrad(() => crossEntropy(model.forward(x), y).data[0]);
  // not timed: up to 100 more iterations (the optimizer keeps its history across steps, as in
  // PyTorch), so the trace shows when descent reaches PyTorch's final loss even if its float32
  // trajectory needs a few more iterations than PyTorch's did
  opt.step(closure);
  return {
    value: dt,
    unit: 'ms',
    peakMiB: peakMiB(),
    note: 'inputs in wasm memory (wasmFloat32Array)',
    extra: { finalLoss: final, evaluations, historySize: W4_HISTORY, trace },
  };
}
