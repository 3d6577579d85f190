/**
 * Sampling from a language model: the next token from logits (sampleNext) and autoregressive
 * generation (generate), as nanoGPT's GPT.generate and Hugging Face's logits warpers do it.
 *
 * sampleNext, per row of logits [B, V], in float64 on the host, in HF's warper order:
 *   1. temperature τ: logits / τ; τ = 0 is greedy, the arg-max (the first of equal maxima, as
 *      torch.argmax), with no draw.
 *   2. topK k: keep the logits ≥ the k-th largest (ties with it stay, as nanoGPT's
 *      `logits[logits < v[:, [-1]]] = -inf` and HF's TopKLogitsWarper); k > V keeps all.
 *   3. topP p (HF's TopPLogitsWarper): sort the kept logits ascending, drop those whose cumulative
 *      softmax probability is ≤ 1 − p, never the largest: what is left is the smallest set of
 *      largest logits whose probability is ≥ p, at least one token.
 *   4. one draw u ~ U[0, 1) from `rng` against the softmax of what is kept (cumulative, in index
 *      order): one uniform per row (none where logit / τ overflows to +∞: that id has all the
 *      mass), so same seed ⇒ same ids. (torch.multinomial draws differently: the same seed
 *      gives other ids than PyTorch, from the same distribution.)
 *
 * generate(model, prompt, opts), nanoGPT's loop: crop the ids to the last contextLength, run the
 * model in evaluation mode without a graph (noGrad, training false), take the last position's
 * logits (output [B, T, V]; an output [B, V] is taken as the last position's already), sampleNext,
 * append; maxNewTokens times. The model reads ids as a float tensor [B, T] in its parameters'
 * dtype (what Embedding takes). generate runs a model on the host; generateAsync runs one on any
 * backend, reading back the last position's logits once per token.
 */
import { Tensor } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { isDeviceStorage } from '../tensor/device.js';
import { nextDefaultRng, type Rng } from '../tensor/rng.js';
import { noGrad } from '../autograd/engine.js';
import { narrow } from '../autograd/indexing.js';
import { reshape } from '../autograd/ops.js';
import { evaluationScope } from './async.js';
import { hostScoped } from './step-scope.js';
import type { Module } from '../nn/module.js';
import { checkOptions, int, num, rng as rngSpec, type SchemaOf } from '../util/options.js';

export interface SampleOptions {
  /** τ ≥ 0, the logits are divided by it; 0 takes the arg-max. Default 1. */
  temperature?: number;
  /** Keep only the k largest logits (an integer ≥ 1; ties with the k-th stay). Default: all. */
  topK?: number;
  /** p in [0, 1]: keep the smallest set of largest logits whose probability is ≥ p (nucleus sampling). Default 1 (all). */
  topP?: number;
  /** Where the draws come from; default: the global generator (manualSeed). */
  rng?: Rng;
}

export interface GenerateOptions extends SampleOptions {
  /** Tokens to append, an integer ≥ 0. Required. */
  maxNewTokens: number;
  /**
   * The most ids the model sees (≥ 1): the context is cropped to its last contextLength ids (a
   * Transformer's PositionalEmbedding maxLength, nanoGPT's block_size). Default: all of it (a
   * recurrent model).
   */
  contextLength?: number;
}

const sampleSchema: SchemaOf<SampleOptions> = { temperature: num, topK: int, topP: num, rng: rngSpec };
const generateSchema: SchemaOf<GenerateOptions> = { ...sampleSchema, maxNewTokens: int, contextLength: int };

interface SampleSettings {
  temperature: number;
  topK: number;
  topP: number;
  rng: Rng | null;
}

function sampleSettings(owner: string, o: SampleOptions): SampleSettings {
  const temperature = o.temperature ?? 1;
  if (!(temperature >= 0 && Number.isFinite(temperature)))
    throw new RangeError(`${owner}: temperature must be a finite number ≥ 0, got ${temperature}`);
  if (o.topK !== undefined && o.topK < 1) throw new RangeError(`${owner}: topK must be an integer ≥ 1, got ${o.topK}`);
  const topP = o.topP ?? 1;
  if (!(topP >= 0 && topP <= 1)) throw new RangeError(`${owner}: topP must be in [0, 1], got ${topP}`);
  // greedy decoding draws nothing: the global generator is left as it is
  return { temperature, topK: o.topK ?? Infinity, topP, rng: temperature === 0 ? null : (o.rng ?? nextDefaultRng()) };
}

/** One row's id: see the header. `z` is scratch of V values. */
function sampleRow(logits: ArrayLike<number>, at: number, V: number, s: SampleSettings, z: Float64Array, order: Int32Array): number {
  let best = 0;
  for (let c = 0; c < V; c++) {
    const v = logits[at + c];
    if (Number.isNaN(v)) throw new RangeError(`sampleNext: logit ${c} of row ${at / V} is NaN`);
    if (v > logits[at + best]) best = c;
  }
  if (s.rng === null) return best;
  for (let c = 0; c < V; c++) z[c] = logits[at + c] / s.temperature;
  const max = z[best];
  if (max === -Infinity) throw new RangeError(`sampleNext: every logit of row ${at / V} is −∞; nothing can be drawn`);
  if (max === Infinity) return best; // τ so small the largest logit overflowed: all its mass
  if (s.topK < V) {
    const kth = Float64Array.from(z).sort()[V - s.topK];
    for (let c = 0; c < V; c++) if (z[c] < kth) z[c] = -Infinity;
  }
  // p = exp(z − max), the softmax unnormalised; removed logits are 0
  let total = 0;
  for (let c = 0; c < V; c++) total += z[c] = Math.exp(z[c] - max);
  if (s.topP < 1) {
    for (let c = 0; c < V; c++) order[c] = c;
    // ascending probability; equal ones by index, so the cut does not depend on the sort's stability
    order.sort((a, b) => z[a] - z[b] || a - b);
    let cum = 0;
    // the last (largest) is never dropped
    for (let r = 0; r < V - 1; r++) {
      const c = order[r];
      cum += z[c];
      if (cum / total > 1 - s.topP) break;
      z[c] = 0;
    }
    total = 0;
    for (let c = 0; c < V; c++) total += z[c];
  }
  let u = (s.rng as Rng).uniform() * total;
  let last = best;
  for (let c = 0; c < V; c++) {
    if (z[c] === 0) continue;
    last = c;
    u -= z[c];
    if (u < 0) return c;
  }
  return last; // u within rounding of the total: the last kept id
}

/**
 * The next token of each row of logits [B, V] (or one row [V]): an Int32Array of B ids, drawn as
 * the header says (temperature, then topK, then topP; temperature 0 is the arg-max).
 */
export function sampleNext(logits: Tensor, opts: SampleOptions = {}): Int32Array {
  const o = checkOptions('sampleNext', opts, sampleSchema);
  if (!(logits instanceof Tensor)) throw new TypeError(`sampleNext: logits must be a Tensor [B, V], got ${typeof logits}`);
  if (logits.ndim !== 1 && logits.ndim !== 2)
    throw new ShapeError(`sampleNext: expected logits [B, V] or [V], got ${fmtShape(logits.shape)}`);
  if (isDeviceStorage(logits.storage))
    throw new TypeError(`sampleNext: the logits live on ${logits.storage.device}; give them on the host (await logits.to('cpu'))`);
  const V = logits.shape[logits.ndim - 1];
  if (V === 0) throw new ShapeError(`sampleNext: logits ${fmtShape(logits.shape)} have no classes`);
  return sampleRows(logits, sampleSettings('sampleNext', o));
}

function sampleRows(logits: Tensor, s: SampleSettings): Int32Array {
  const V = logits.shape[logits.ndim - 1];
  const B = logits.size / V;
  const out = new Int32Array(B);
  const z = new Float64Array(V),
    order = new Int32Array(V);
  for (let b = 0; b < B; b++) out[b] = sampleRow(logits.data, b * V, V, s, z, order);
  return out;
}

/** The prompt as B rows of T0 ids: number[] (B = 1), number[][] (rows of one length) or a Tensor [B, T0] of ids. */
function promptIds(owner: string, prompt: unknown): { ids: number[][] } {
  let rows: ArrayLike<number>[];
  if (prompt instanceof Tensor) {
    if (prompt.ndim !== 2) throw new ShapeError(`${owner}: a prompt Tensor must be ids [B, T0], got ${fmtShape(prompt.shape)}`);
    if (isDeviceStorage(prompt.storage)) throw new TypeError(`${owner}: the prompt lives on ${prompt.storage.device}; give it on the host`);
    const [B, T0] = prompt.shape;
    rows = Array.from({ length: B }, (_, b) => prompt.data.subarray(b * T0, (b + 1) * T0));
  } else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((r) => Array.isArray(r) || ArrayBuffer.isView(r)))
    rows = prompt as ArrayLike<number>[];
  else if (Array.isArray(prompt) || prompt instanceof Int32Array) rows = [prompt as ArrayLike<number>];
  else
    throw new TypeError(
      `${owner}: prompt must be token ids: a number[] or Int32Array (one sequence), a number[][] or a Tensor [B, T0], got ${prompt === null ? 'null' : typeof prompt}`,
    );
  const T0 = rows[0].length;
  if (T0 === 0) throw new RangeError(`${owner}: the prompt is empty; give at least one id (a start token)`);
  rows.forEach((r, b) => {
    if (r.length !== T0) throw new ShapeError(`${owner}: prompt rows must have one length; row 0 has ${T0} ids, row ${b} ${r.length}`);
    for (let t = 0; t < T0; t++)
      if (!Number.isInteger(r[t]) || r[t] < 0) throw new RangeError(`${owner}: prompt[${b}][${t}] is ${r[t]}, expected a token id ≥ 0`);
  });
  return { ids: rows.map((r) => Array.from(r)) };
}

/** What generate and generateAsync check and set up before their loops. */
function generationSetup(
  owner: string,
  model: Module,
  prompt: ArrayLike<number> | number[][] | Tensor,
  opts: GenerateOptions,
): { o: GenerateOptions; s: SampleSettings; ids: number[][]; dtype: string } {
  const o = checkOptions(owner, opts, generateSchema);
  if (o.maxNewTokens === undefined) throw new TypeError(`${owner}: maxNewTokens is required (the tokens to append)`);
  if (o.maxNewTokens < 0) throw new RangeError(`${owner}: maxNewTokens must be an integer ≥ 0, got ${o.maxNewTokens}`);
  if (o.contextLength !== undefined && o.contextLength < 1)
    throw new RangeError(`${owner}: contextLength must be an integer ≥ 1, got ${o.contextLength}`);
  const s = sampleSettings(owner, o);
  const { ids } = promptIds(owner, prompt);
  return { o, s, ids, dtype: model.parameters()[0]?.dtype ?? 'float32' };
}

/** The model's input for the next token: the last contextLength ids of each row, as floats [B, Tc] on the host. */
function contextInput(ids: number[][], contextLength: number | undefined, dtype: string): Tensor {
  const B = ids.length;
  const T = ids[0].length;
  const from = contextLength === undefined ? 0 : Math.max(0, T - contextLength);
  const Tc = T - from;
  const x = new Tensor(dtype === 'float64' ? new Float64Array(B * Tc) : new Float32Array(B * Tc), [B, Tc]);
  for (let b = 0; b < B; b++) x.data.set(ids[b].slice(from), b * Tc);
  return x;
}

/** The last position's logits [B, V] of the model's output for input x [B, Tc] (an output [B, V] is taken as they are), where the output lives. */
function lastLogits(owner: string, x: Tensor, out: Tensor): Tensor {
  const [B, Tc] = x.shape;
  if (out.ndim === 3 && out.shape[0] === B && out.shape[1] === Tc) return reshape(narrow(out, 1, Tc - 1, 1), [B, out.shape[2]]);
  if (out.ndim === 2 && out.shape[0] === B) return out;
  throw new ShapeError(
    `${owner}: the model maps ids ${fmtShape(x.shape)} to ${fmtShape(out.shape)}; expected logits [${B}, ${Tc}, V] (or the last position's, [${B}, V])`,
  );
}

/** The ids [B, T] of the rows, row-major, as generate returns them. */
function flatIds(ids: number[][]): { ids: Int32Array; shape: [number, number] } {
  const B = ids.length;
  const T = ids[0].length;
  const flat = new Int32Array(B * T);
  for (let b = 0; b < B; b++) flat.set(ids[b], b * T);
  return { ids: flat, shape: [B, T] };
}

/**
 * nanoGPT's generate (see the header): the prompt's ids [B, T0] — a number[] or Int32Array for one
 * sequence, a number[][] or a Tensor [B, T0] — extended by maxNewTokens sampled ids. Returns ids
 * [B, T0 + maxNewTokens], row-major, prompt included, as TextVectorizer.transform returns ids
 * (`vectorizer.decode(out.ids)` for B = 1). The model runs on the host; for one on a device, generateAsync.
 */
export function generate(
  model: Module,
  prompt: ArrayLike<number> | number[][] | Tensor,
  opts: GenerateOptions,
): { ids: Int32Array; shape: [number, number] } {
  const owner = 'generate';
  const onDevice = model.parameters().find((t) => isDeviceStorage(t.storage));
  if (onDevice)
    throw new Error(
      `${owner}: the model's parameters live on ${onDevice.device}; generate waits for each token's logits: use await generateAsync(model, prompt, options), or await model.to('cpu') first`,
    );
  const { o, s, ids, dtype } = generationSetup(owner, model, prompt, opts);
  noGrad(() => {
    for (let n = 0; n < o.maxNewTokens; n++) {
      const x = contextInput(ids, o.contextLength, dtype);
      // a token's arrays end with it (hostScoped); the draws are numbers
      const next = hostScoped(
        model,
        () => [model],
        () => {
          const last = lastLogits(owner, x, model.forward(x, { training: false }));
          if (isDeviceStorage(last.storage))
            throw new TypeError(`${owner}: the model's output lives on ${last.storage.device}; use generateAsync for a model on a device`);
          return sampleRows(last, s);
        },
      );
      for (let b = 0; b < ids.length; b++) ids[b].push(next[b]);
    }
  });
  return flatIds(ids);
}

/**
 * generate for a model on any backend, a device included (`await model.to('webgpu')`), as PyTorch
 * generates with a model on CUDA: each token's forward runs where the parameters live, and only the
 * last position's logits [B, V] are read back (the one wait per token); the draws are generate's,
 * so the same seed gives the same ids from equal logits. On a device each token's storage is freed
 * once its logits are read.
 */
export async function generateAsync(
  model: Module,
  prompt: ArrayLike<number> | number[][] | Tensor,
  opts: GenerateOptions,
): Promise<{ ids: Int32Array; shape: [number, number] }> {
  const owner = 'generateAsync';
  const { o, s, ids, dtype } = generationSetup(owner, model, prompt, opts);
  const openToken = evaluationScope(model);
  for (let n = 0; n < o.maxNewTokens; n++) {
    const x = contextInput(ids, o.contextLength, dtype);
    const end = openToken();
    let read: Promise<Float32Array | Float64Array> | Tensor;
    let shape: readonly number[];
    try {
      const last = noGrad(() => lastLogits(owner, x, model.forward(x, { training: false })));
      shape = last.shape;
      read = isDeviceStorage(last.storage) ? (last.storage.read() as Promise<Float32Array | Float64Array>) : last;
    } finally {
      end();
    }
    const last = read instanceof Tensor ? read : new Tensor(await read, shape);
    const next = sampleRows(last, s);
    for (let b = 0; b < ids.length; b++) ids[b].push(next[b]);
  }
  return flatIds(ids);
}
