/**
 * W1 and W2 with descent's model on the GPU (framework 'descent-webgpu'; 'descent-webgpu-autotune' with
 * initWebGPU({ autotune: true }), each product's tile timed on the device first): the same fused model,
 * Adam and batches as bench/descent.ts, moved to 'webgpu' with Module.to; the host backend (wasm)
 * gathers the batches. A step queues its kernels with no read-back and returns the loss of the
 * step before, read while this one runs (PyTorch's `.item()` rule), so the timed step is paced by
 * the device, and runs in the step scope fitAsync uses (its storage goes back to the pool at its end).
 * The row's extra hostMsMedian is the median host time of a timed step (up to its await): where it
 * comes near the step's time, the host, not the device, limits the row.
 * On a software adapter (lavapipe, llvmpipe, SwiftShader) the figure is the CPU's, not a GPU's: the
 * row's note says "software adapter". `batch` overrides the workload's batch (the GPU criteria are at
 * 1024 for the MLP and 512 for the CNN). Without the installed Fashion-MNIST (a bare GPU machine) the
 * steps draw from the embedded 10k subset: a step's work does not depend on the pixels.
 */
import { Adam, crossEntropy, Rng, setBackend, Tensor } from '../src/index.js';
import { initWasm } from '../src/wasm.js';
// the data loaders alone, not src/node.js (its file readers import npm packages a bare GPU machine lacks)
import { loadEmbedded, loadFashionMnist } from '../src/data/node.js';
import { deviceStepScope } from '../src/train/async.js';
import { disposeWebGPU, initWebGPU, webgpuInfo } from '../src/backend/webgpu/index.js';
import { descentInputShape, descentModel } from './models.js';
import { type GpuWorkload, type Measurement, type Trainer, BATCH, STEPS, batchOrder, gather, median } from './common.js';

/** The row's note: the adapter, marked when it is a software one. */
function adapterNote(embedded: boolean): string {
  const i = webgpuInfo();
  const data = embedded ? '; batches from the embedded subset (Fashion-MNIST is not installed)' : '';
  return (i.software ? `software adapter (${i.adapter}): correctness only, not a GPU's speed` : `GPU adapter: ${i.adapter}`) + data;
}

/** The full training set, or the embedded subset where it is not installed. */
function trainImages(): { images: Float32Array; labels: Int32Array; embedded: boolean } {
  try {
    return { ...loadFashionMnist().train, embedded: false };
  } catch {
    return { ...loadEmbedded().train, embedded: true };
  }
}

export async function setupDescentWebGPU(w: GpuWorkload, quick: boolean, batch?: number, autotune = false): Promise<Trainer | Measurement> {
  const framework = autotune ? 'descent-webgpu-autotune' : 'descent-webgpu';
  await initWasm();
  setBackend('wasm');
  try {
    await initWebGPU();
  } catch (e) {
    return { framework, workload: w, value: null, unit: 'samples/s', peakMiB: null, note: (e as Error).message };
  }
  const { images, labels, embedded } = trainImages();
  const rng = new Rng(1);
  const model = descentModel(w, rng);
  await model.to('webgpu');
  const opt = new Adam(model.namedParameters(), { lr: 1e-3 });
  const B = batch ?? BATCH[w];
  const shape = descentInputShape(w, B);
  const order = batchOrder(labels.length, 42);
  let at = 0;
  let pending: Promise<ArrayLike<number>> | null = null;
  const openStep = deviceStepScope(model, opt);
  // one host batch for every step (as tfjs-webgpu's): the upload (queue.writeBuffer) copies it when
  // the step's first kernel is queued, so the next gather cannot reach the step before. A fresh
  // 3.2 MB batch (1024 images) cost ~2 ms of a step's host time here, a GPU step's order of time.
  const x = new Float32Array(B * 784),
    y = new Int32Array(B);
  // each step's host time: from its start to its await, everything the host does for it (the
  // gather, the upload, queuing the kernels): the device paces the loop while this is below a step's time
  const hostMs: number[] = [];
  const step = async (): Promise<number> => {
    const t0 = performance.now();
    gather(images, labels, order, at, B, 784, x, y);
    at += B;
    const end = openStep();
    const before = pending;
    try {
      const out = model.forward(new Tensor(x, shape), { training: true, rng });
      const l = crossEntropy(out, y);
      opt.zeroGrad({ setToNone: false });
      l.backward();
      opt.step();
      pending = l.read();
    } finally {
      end();
    }
    hostMs.push(performance.now() - t0);
    return before ? (await before)[0] : NaN;
  };
  // warm-up as warmUp() in common.ts: the steps, or one when a step outlasts the budget
  const end = performance.now() + (quick ? 5_000 : 20_000);
  for (let i = 0; i < STEPS[w].warmup && (i < 1 || performance.now() < end); i++) await step();
  return {
    framework,
    workload: w,
    batch: B,
    step,
    note: (batch !== undefined ? `batch ${B} (--gpu-batch); ` : '') + (autotune ? 'autotune; ' : '') + adapterNote(embedded),
    // autotune from here, alone on the device: the step's products are noted as it is queued and
    // timed under every tile shape when its loss is read
    prepare: autotune
      ? async () => {
          await initWebGPU({ autotune: true });
          await step();
          await pending;
        }
      : undefined,
    finish: () => {
      const i = webgpuInfo();
      const extra = {
        hostMsMedian: +median(hostMs.length > STEPS[w].warmup ? hostMs.slice(STEPS[w].warmup) : hostMs).toFixed(3),
        adapter: i.adapter,
        software: i.software,
        pipelines: i.pipelines,
        submits: i.submits,
        buffers: i.buffers,
        reused: i.reused,
        // with autotune: each product's sizes, tileFor's shape → the one chosen, and its time against tileFor's
        ...(i.autotune
          ? { tiles: i.autotune.map((p) => `${p.kernel} ${p.m}×${p.n}×${p.k} ${p.base}→${p.tile} ${p.ms[p.tile]}/${p.ms[p.base]} ms`) }
          : {}),
      };
      // the last step's loss is never awaited: disposing the device rejects its read, which is
      // then no error (unhandled, it ended a process with an AbortError after its output)
      pending?.catch(() => undefined);
      disposeWebGPU();
      return extra;
    },
  };
}
