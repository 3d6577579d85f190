/**
 * The workloads with TensorFlow.js 4.22 (devDependencies): backend 'cpu' (plain JS) or 'wasm'
 * (@tensorflow/tfjs-backend-wasm, SIMD; it loads its .wasm from node_modules, no download).
 * Imported by name at run time so the library build does not depend on tfjs.
 */
import { createRequire } from 'node:module';
import { loadFashionMnist } from '../src/node.js';
import { type Measurement, type Trainer, STEPS, batchOrder, gather, peakMiB, warmUp } from './common.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type TF = any;

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

/**
 * W1 and W2: data loaded, model built and warmed up; child.ts times the steps (serveSegments).
 * A backend that fails in the warm-up (tfjs-wasm has no Conv2DBackpropFilter) gets its final
 * Measurement with value null instead.
 */
export async function setupTfjs(w: 'W1' | 'W2', quick: boolean, backendName: 'cpu' | 'wasm'): Promise<Trainer | Measurement> {
  const tf = await loadTf(backendName);
  const framework = `tfjs-${backendName}`;
  const { images, labels } = loadFashionMnist().train;
  const cnn = w === 'W2';
  tf.util.seedrandom?.('1');
  const model = tf.sequential();
  if (cnn) {
    model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 5, padding: 'same', activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 128, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 10 }));
  } else {
    model.add(tf.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 128, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 10 }));
  }
  const opt = tf.train.adam(1e-3);
  const B = cnn ? 64 : 128;
  const order = batchOrder(labels.length, 42);
  let at = 0;
  const step = () => {
    const x = new Float32Array(B * 784),
      y = new Int32Array(B);
    gather(images, labels, order, at, B, 784, x, y);
    at += B;
    const l = tf.tidy(() => {
      const xs = tf.tensor(x, cnn ? [B, 28, 28, 1] : [B, 784]); // NHWC: tfjs's only conv layout on CPU
      const ys = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
      return opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs)), true);
    });
    const loss = l.dataSync()[0];
    l.dispose();
    return loss;
  };
  try {
    warmUp(step, STEPS[w].warmup, quick);
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
  return { framework, workload: w, batch: B, step };
}
