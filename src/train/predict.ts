/**
 * predict and predictAsync: a model's outputs for every sample of a tensor or a source, in
 * evaluation mode without a graph — Keras' `model.predict(x, batch_size=…)`, PyTorch's loop over a
 * DataLoader under `torch.no_grad()` with `torch.cat` of the outputs.
 */
import { Tensor } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { isDeviceStorage } from '../tensor/device.js';
import { noGrad } from '../autograd/engine.js';
import { narrow } from '../autograd/indexing.js';
import type { Module } from '../nn/module.js';
import { fuse } from '../nn/fuse.js';
import { checkOptions, int, type SchemaOf } from '../util/options.js';
import type { BatchSource } from './trainer.js';
import { hostOnly } from './host-only.js';
import { hostScoped } from './step-scope.js';
import { evaluationScope } from './async.js';

export interface PredictOptions {
  /** Samples per forward pass when the inputs are a tensor (default 256); a source's batches are its own. */
  batchSize?: number;
}

const predictSchema: SchemaOf<PredictOptions> = { batchSize: int };

/** Samples per forward pass when predict is given a tensor and no batchSize. */
export const PREDICT_BATCH = 256;

/**
 * The model's outputs [N, …] for the N samples of `inputs`, in order, computed in evaluation mode
 * (no dropout, BatchNorm's running statistics) without a graph: `inputs` is a tensor [N, …] run
 * `batchSize` samples at a time, or a source (a DataLoader) whose batches' inputs are run as they
 * come (their labels are not read). The model runs fused, as fit and evaluate run it, and each
 * batch in a step scope (evaluate's). The outputs are plain host arrays. For a model on a device,
 * predictAsync.
 */
export function predict(model: Module, inputs: Tensor | BatchSource, options: PredictOptions = {}): Tensor {
  hostOnly(model, 'predict', 'predictAsync');
  const batches = batchesOf('predict', inputs, options);
  const net = fuse(model);
  const parts: Tensor[] = [];
  noGrad(() => {
    for (const x of batches)
      parts.push(
        hostScoped(
          model,
          () => [model, net],
          () => hostCopy(net.forward(x, { training: false })),
        ),
      );
  });
  return joined('predict', parts);
}

/**
 * predict for a model on any backend, a device included (`await model.to('webgpu')`): each batch
 * runs where the parameters live and its outputs are read back once every batch is queued, each
 * batch's device memory freed once its read is issued (as evaluateAsync does). On the host it is
 * predict.
 */
export async function predictAsync(model: Module, inputs: Tensor | BatchSource, options: PredictOptions = {}): Promise<Tensor> {
  if (!model.parameters().some((p) => isDeviceStorage(p.storage))) return predict(model, inputs, options);
  const batches = batchesOf('predictAsync', inputs, options);
  const net = fuse(model);
  const openBatch = evaluationScope(model);
  const reads: { shape: readonly number[]; values: Promise<ArrayLike<number>> | Tensor }[] = [];
  noGrad(() => {
    for (const x of batches) {
      const end = openBatch();
      try {
        const out = net.forward(x, { training: false });
        reads.push({ shape: out.shape, values: isDeviceStorage(out.storage) ? out.read() : hostCopy(out) });
      } finally {
        end();
      }
    }
  });
  const parts: Tensor[] = [];
  for (const r of reads) parts.push(r.values instanceof Tensor ? r.values : new Tensor(Float32Array.from(await r.values), r.shape));
  return joined('predictAsync', parts);
}

/** The batches' inputs: a tensor cut along its first axis, or a source's epoch 0. */
function batchesOf(who: string, inputs: Tensor | BatchSource, options: PredictOptions): Iterable<Tensor> {
  const o = checkOptions(who, options, predictSchema);
  const size = o.batchSize ?? PREDICT_BATCH;
  if (!(size >= 1)) throw new RangeError(`${who}: batchSize must be a positive integer, got ${size}`);
  if (inputs instanceof Tensor) {
    if (inputs.ndim === 0) throw new ShapeError(`${who}: expected inputs [N, …] (a batch of samples), got a scalar`);
    const n = inputs.shape[0];
    if (n <= size) return [inputs];
    return Array.from({ length: Math.ceil(n / size) }, (_, i) => narrow(inputs, 0, i * size, Math.min(size, n - i * size)));
  }
  if (inputs !== null && typeof inputs === 'object' && typeof (inputs as BatchSource).epoch === 'function') {
    const source = inputs as BatchSource;
    return {
      *[Symbol.iterator]() {
        for (const b of source.epoch(0)) yield b.x;
      },
    };
  }
  throw new TypeError(
    `${who}: expected the inputs as a Tensor [N, …] or a source of batches (a DataLoader), got ${inputs === null ? 'null' : typeof inputs}`,
  );
}

/** A host tensor's values in an array of their own (what a step scope frees is not kept). */
function hostCopy(t: Tensor): Tensor {
  if (isDeviceStorage(t.storage)) throw new TypeError(`predict: the model's output lives on ${t.storage.device}; use predictAsync`);
  return t.clone();
}

/** The batches' outputs joined along the first axis. */
function joined(who: string, parts: Tensor[]): Tensor {
  if (parts.length === 0) throw new RangeError(`${who}: the source gave no batches`);
  const rest = parts[0].shape.slice(1);
  const n = parts.reduce((s, p) => {
    if (p.ndim === 0 || p.shape.slice(1).join() !== rest.join())
      throw new ShapeError(
        `${who}: the model's outputs differ in shape from batch to batch: ${fmtShape(parts[0].shape)} and ${fmtShape(p.shape)}`,
      );
    return s + p.shape[0];
  }, 0);
  if (parts.length === 1) return parts[0];
  const per = rest.reduce((a, b) => a * b, 1);
  const data = parts[0].dtype === 'float64' ? new Float64Array(n * per) : new Float32Array(n * per);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.size;
  }
  return new Tensor(data, [n, ...rest]);
}
