/**
 * The workloads with TensorFlow.js 4.22 (devDependencies): backend 'cpu' (plain JS), 'wasm'
 * (@tensorflow/tfjs-backend-wasm, SIMD; it loads its .wasm from node_modules, no download) or
 * 'webgpu' (@tensorflow/tfjs-backend-webgpu on Dawn, the npm `webgpu` package that descent's own
 * WebGPU backend uses: the same adapter, so descent-webgpu and tfjs-webgpu compare on one GPU).
 * Imported by name at run time so the library build does not depend on tfjs.
 */
import { createRequire } from 'node:module';
// the data loaders alone, not src/node.js (its file readers import npm packages a bare GPU machine lacks)
import { loadEmbedded, loadFashionMnist } from '../src/data/node.js';
import { describeAdapter } from '../src/backend/webgpu/index.js';
import { type InterleavedWorkload, type Measurement, type Trainer, BATCH, STEPS, batchOrder, gather, peakMiB, warmUp } from './common.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type TF = any;
export type TfBackend = 'cpu' | 'wasm' | 'webgpu';

/**
 * TensorFlow.js on WebGPU under Node: Dawn's GPU object as navigator.gpu (with its constants, such
 * as GPUBufferUsage, as globals), and the three packages the webgpu backend needs — core, layers,
 * backend-webgpu — instead of the @tensorflow/tfjs bundle, so a bare GPU machine needs only their
 * Node bundles (tools/gpu-peers.sh packs them). Returns the module and the adapter's description.
 */
async function loadTfWebGPU(require: NodeJS.Require): Promise<{ tf: TF; adapter: string; software: boolean }> {
  const dawn = require('webgpu') as { create(o: string[]): GPU; globals: object };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) g.navigator = {};
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const core = require('@tensorflow/tfjs-core');
  const layers = require('@tensorflow/tfjs-layers');
  require('@tensorflow/tfjs-backend-webgpu');
  const tf: TF = { ...core, layers: layers.layers, sequential: layers.sequential };
  if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js could not start its webgpu backend');
  await tf.ready();
  const { description, software } = describeAdapter(adapter);
  return { tf, adapter: description, software };
}

async function loadTf(backendName: 'cpu' | 'wasm'): Promise<TF> {
  const require = createRequire(import.meta.url);
  const tf: TF = require('@tensorflow/tfjs');
  if (backendName === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const dir = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm').replace(/[^/\\]+$/, '');
    wasm.setWasmPaths(dir); // the local files: never fetched from a CDN
  }
  await tf.setBackend(backendName);
  await tf.ready();
  return tf;
}

/** W3 and W4: the whole measurement in this process. */
export async function runTfjs(w: 'W3' | 'W4', quick: boolean, backendName: 'cpu' | 'wasm'): Promise<Measurement> {
  const tf = await loadTf(backendName);
  const base = { framework: `tfjs-${backendName}`, workload: w } as const;
  if (w === 'W4') return { ...base, value: null, unit: 'ms', peakMiB: null, note: 'TensorFlow.js has no L-BFGS' };
  const N = 10_000_000;
  const p = tf.variable(tf.randomUniform([N], -0.5, 0.5), true, 'p');
  const g = tf.randomUniform([N], -0.5, 0.5);
  const opt = tf.train.adam(1e-3);
  const s = STEPS.W3;
  const n = quick ? s.quick : s.full;
  const times: number[] = [];
  for (let i = 0; i < s.warmup + n; i++) {
    const t0 = performance.now();
    opt.applyGradients({ p: g });
    p.dataSync(); // wait for the step (and pay one read-back, as an in-place update would not)
    if (i >= s.warmup) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return {
    ...base,
    value: times[Math.floor(n / 2)],
    unit: 'ms',
    peakMiB: peakMiB(),
    note: 'median of steps; includes one read-back of the parameters',
    extra: { timesMs: times.map((t) => +t.toFixed(1)) },
  };
}

/** The full training set, or the embedded subset where it is not installed (a bare GPU machine: a step's work does not depend on the pixels). */
function trainImages(): { images: Float32Array; labels: Int32Array; embedded: boolean } {
  try {
    return { ...loadFashionMnist().train, embedded: false };
  } catch {
    return { ...loadEmbedded().train, embedded: true };
  }
}

/** The model of an interleaved workload, as descent's (bench/models.ts) and PyTorch's (torch_bench.py) with Keras layers. */
function tfModel(tf: TF, w: InterleavedWorkload): TF {
  const model = tf.sequential();
  if (w === 'W2') {
    model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 5, padding: 'same', activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 128, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 10 }));
  } else if (w === 'W5') {
    // returnSequences false (Keras' default): the last step's hidden state [N, 128]
    model.add(tf.layers.lstm({ inputShape: [28, 28], units: 128 }));
    model.add(tf.layers.dense({ units: 10 }));
  } else {
    model.add(tf.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 128, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 10 }));
  }
  return model;
}

/** A batch of `b` images as the workload's model reads it: NHWC for W2 (tfjs's only conv layout on CPU), rows as time steps for W5. */
const tfInputShape = (w: InterleavedWorkload, b: number): number[] => (w === 'W1' ? [b, 784] : w === 'W2' ? [b, 28, 28, 1] : [b, 28, 28]);

/**
 * An interleaved workload (W1, W2, W5; W6 has no tfjs model): data loaded, model built and warmed up; child.ts times the steps (serveSegments).
 * A backend that fails in the warm-up (tfjs-wasm has no Conv2DBackpropFilter) gets its final
 * Measurement with value null instead. On webgpu a step returns the loss of the step before (read
 * with `data()`: WebGPU has no synchronous read-back), as descent-webgpu's does, and `batch` overrides the workload's (the GPU criteria's batches, as for
 * descent-webgpu); the note names the adapter, marked when it is a software one.
 */
export async function setupTfjs(
  w: InterleavedWorkload,
  quick: boolean,
  backendName: TfBackend,
  batch?: number,
): Promise<Trainer | Measurement> {
  const framework = `tfjs-${backendName}`;
  let tf: TF;
  let note: string | undefined;
  if (backendName === 'webgpu') {
    try {
      const r = await loadTfWebGPU(createRequire(import.meta.url));
      tf = r.tf;
      note = r.software ? `software adapter (${r.adapter}): correctness only, not a GPU's speed` : `GPU adapter: ${r.adapter}`;
    } catch (e) {
      return { framework, workload: w, value: null, unit: 'samples/s', peakMiB: null, note: (e as Error).message.split('\n')[0] };
    }
  } else tf = await loadTf(backendName);
  const { images, labels, embedded } = trainImages();
  if (embedded && backendName !== 'webgpu')
    throw new Error('bench: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)');
  if (embedded) note += '; batches from the embedded subset (Fashion-MNIST is not installed)';
  if (batch !== undefined) note = `batch ${batch} (--gpu-batch); ${note}`;
  tf.util.seedrandom?.('1');
  const model = tfModel(tf, w);
  const opt = tf.train.adam(1e-3);
  const B = batch ?? BATCH[w];
  const shape = tfInputShape(w, B);
  const order = batchOrder(labels.length, 42);
  let at = 0;
  // on webgpu one host batch serves every step, as for descent-webgpu (its values are uploaded by the
  // step's first kernel that uses them, inside the step); the CPU rows keep a fresh one per step
  const reused = backendName === 'webgpu' ? { x: new Float32Array(B * 784), y: new Int32Array(B) } : null;
  const queue = () => {
    const x = reused?.x ?? new Float32Array(B * 784),
      y = reused?.y ?? new Int32Array(B);
    gather(images, labels, order, at, B, 784, x, y);
    at += B;
    return tf.tidy(() => {
      const xs = tf.tensor(x, shape);
      const ys = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
      return opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs)), true);
    });
  };
  const syncStep = () => {
    const l = queue();
    const loss = l.dataSync()[0];
    l.dispose();
    return loss;
  };
  // as descent-webgpu's step: it queues its kernels and returns the loss of the step before, read
  // while this one runs, so the device paces the loop and is never left idle by a read
  let pending: Promise<number> | null = null;
  const asyncStep = async () => {
    const l = queue();
    const before = pending;
    pending = l.data().then((v: Float32Array) => {
      l.dispose();
      return v[0];
    });
    return before ? await before : Number.NaN;
  };
  try {
    if (backendName === 'webgpu') {
      const end = performance.now() + (quick ? 5_000 : 20_000);
      for (let i = 0; i < STEPS[w].warmup && (i < 1 || performance.now() < end); i++) await asyncStep();
    } else warmUp(syncStep, STEPS[w].warmup, quick);
  } catch (e) {
    return {
      framework,
      workload: w,
      value: null,
      unit: 'samples/s',
      peakMiB: null,
      note: `cannot train: ${String((e as Error).message)
        .split('\n')[0]
        .slice(0, 120)}`,
    };
  }
  return { framework, workload: w, batch: B, step: backendName === 'webgpu' ? asyncStep : syncStep, note };
}
