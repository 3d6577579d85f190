/**
 * ONNX export: a model as an ONNX file (opset 17, IR version 8) that ONNX Runtime (onnxruntime-web,
 * onnxruntime-node, Python's onnxruntime) or any ONNX reader runs for inference. What the graph
 * computes is the model's evaluation forward (`training: false`): Dropout is the identity, BatchNorm
 * uses its running statistics, DropConnect (mean inference) its whole weights.
 *
 * - The input is [batch, ...inputShape] float32 with a symbolic batch dimension; the output is
 *   [batch, ...] (the logits, or with `softmax` the probabilities over the last dimension). What the
 *   CLI does to a sample before the model can go in front, so the file takes raw samples: NaN
 *   filled by `impute`'s values, (x − mean) / std by `standardize`'s, then `flatten` for a model
 *   whose first layer takes features; `targetStandardize` maps a model trained on standardized
 *   targets back to the targets' units (y · std + mean).
 * - Parameters and buffers become initializers under their PyTorch state names (`0.weight`), in
 *   float32 (a float64 model is narrowed).
 * - Each layer is its ONNX operator (Gemm, Conv, MaxPool, AveragePool, GlobalAveragePool,
 *   BatchNormalization, LayerNormalization, Relu, LeakyRelu, Elu, Sigmoid, Tanh, Flatten, Add; PReLU,
 *   Hardswish, Hardsigmoid, SELU, Hardtanh/ReLU6, Mish, Softmax, LogSoftmax, Identity, Unflatten and
 *   RMSNorm are onnx-more.ts's); the
 *   ones without an operator of their own are written as PyTorch's exporter writes them: GELU as
 *   x·½(1 + erf(x/√2)) (or its tanh form), SiLU as x·σ(x), Softplus with its beta and threshold as
 *   where(βx > threshold, x, softplus(βx)/β), GroupNorm as InstanceNormalization over [N, G, −1] then
 *   the per-channel affine, AdaptiveAvgPool2d as AveragePool when each output cell's bin has the same
 *   size (else refused). Fused layers (`fuse()`) are written as their parts. The sequence layers
 *   (Conv1d, the 1-D pools, Embedding, Transpose, Linear on more than two axes) are onnx-sequence.ts's,
 *   ConvTranspose2d, ConvTranspose1d and Upsample (ConvTranspose, Resize) onnx-upsampling.ts's,
 *   RNN, LSTM and GRU onnx-recurrent.ts's (one ONNX RNN, LSTM or GRU operator per layer), the
 *   attention layers (MultiheadAttention, the Transformer encoder, the positional layers) onnx-attention.ts's.
 * - Refused, naming the layer: FractionalMaxPool2d (pseudo-random regions, no operator), DropConnect with
 *   Gaussian inference (it samples), BatchNorm without running statistics (its evaluation normalises
 *   by the batch), the Transformer decoder and nn.Transformer (two input sequences), and any module
 *   this file does not know (a custom layer).
 *
 * The model's own forward runs once on a zero sample first: an inputShape the model cannot take is
 * refused with the model's message, and every layer's input shape is known while writing.
 */
import type { Tensor } from '../tensor/tensor.js';
import { full } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { Module } from '../nn/module.js';
import { Flatten, Linear, ReLU, Sequential, Sigmoid, Tanh } from '../nn/layers.js';
import { ELU, GELU, LeakyReLU, SiLU, Softplus } from '../nn/activation.js';
import { Conv2d } from '../nn/conv.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../nn/pool.js';
import { BatchNorm } from '../nn/batchnorm.js';
import { LayerNorm } from '../nn/layernorm.js';
import { GroupNorm } from '../nn/groupnorm.js';
import { Dropout, Dropout2d } from '../nn/dropout.js';
import { DropConnect } from '../nn/dropconnect.js';
import { FractionalMaxPool2d } from '../nn/fmp.js';
import { Residual } from '../nn/residual.js';
import { BatchNormReLU, BatchNormReLUMaxPool, Conv2dReLU, Conv2dReLUMaxPool, LinearGELU, LinearReLU, LinearSiLU } from '../nn/fuse.js';
import { checkOptions, spec, str, bool, type SchemaOf } from '../util/options.js';
import { ProtoWriter } from './protobuf.js';
import { emitSequence, isSequenceLayer, sequenceMean } from './onnx-sequence.js';
import { emitRecurrent } from './onnx-recurrent.js';
import { emitUpsampling, isUpsamplingLayer } from './onnx-upsampling.js';
import { emitAttention, isAttentionLayer, twoInputRefusal } from './onnx-attention.js';
import { Recurrent } from '../nn/recurrent.js';
import { SequenceMean } from '../nn/seqmean.js';
import { emitMore, isMoreLayer } from './onnx-more.js';

/** The operator set the file imports (ONNX's default domain); ONNX Runtime reads it from version 1.12 on. */
export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17. */
const IR_VERSION = 8;

export interface ExportOnnxOptions {
  /** One sample's shape without the batch: [F] for F features (an MLP), [C, H, W] for images (a CNN). */
  inputShape: readonly number[];
  /** The graph input's name; default 'input'. */
  inputName?: string;
  /** The graph output's name; default 'output'. */
  outputName?: string;
  /** Append a Softmax over the last dimension, so the file gives probabilities instead of logits; default false. */
  softmax?: boolean;
  /** Fill a NaN input value with the value at its place (∏inputShape values), as the CLI's --impute; before `standardize`. */
  impute?: ArrayLike<number>;
  /** (x − mean) / std in front of the model, per input value (arrays of ∏inputShape values), as the CLI's --standardize. */
  standardize?: { mean: ArrayLike<number>; std: ArrayLike<number> };
  /** Flatten each sample to one row after the preprocessing, for a model whose first layer takes features (an MLP on images); default false. */
  flatten?: boolean;
  /** y · std + mean per output, after the model: a model trained on standardized targets (--standardize-targets) then gives values in the targets' units. */
  targetStandardize?: { mean: ArrayLike<number>; std: ArrayLike<number> };
  /** Key/value strings stored in the file's metadata_props. */
  metadata?: Record<string, string>;
  /** The graph's name; default 'descent'. */
  name?: string;
}

const schema: SchemaOf<ExportOnnxOptions> = {
  inputShape: spec('an array of positive integers', (v) => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 1)),
  inputName: str,
  outputName: str,
  softmax: bool,
  impute: spec('an array of numbers', (v) => typeof v === 'object' && v !== null && typeof (v as { length: unknown }).length === 'number'),
  standardize: spec('{ mean, std } arrays of numbers', isMeanStd),
  flatten: bool,
  targetStandardize: spec('{ mean, std } arrays of numbers', isMeanStd),
  metadata: spec(
    'an object of strings',
    (v) => typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string'),
  ),
  name: str,
};

function isMeanStd(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const { mean, std } = v as { mean?: { length?: unknown }; std?: { length?: unknown } };
  return typeof mean?.length === 'number' && typeof std?.length === 'number';
}

// ONNX enums (onnx.proto)
const FLOAT = 1;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

type Attr = number | number[] | { float: number } | { string: string };

export class Graph {
  readonly nodes: ProtoWriter[] = [];
  readonly initializers: ProtoWriter[] = [];
  private readonly used = new Set<string>();
  private count = 0;

  constructor(private readonly stateNames: Map<Tensor, string>) {}

  /** A value name not taken yet. */
  fresh(base: string): string {
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.count}`;
    this.used.add(name);
    return name;
  }

  constant(base: string, dims: readonly number[], data: ArrayLike<number>, type: 'float' | 'int64' = 'float'): string {
    const name = this.fresh(base);
    const w = new ProtoWriter();
    for (const d of dims) w.int(1, d);
    w.int(2, type === 'float' ? FLOAT : INT64);
    w.string(8, name);
    const bytes = new Uint8Array(data.length * (type === 'float' ? 4 : 8));
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < data.length; i++)
      if (type === 'float') view.setFloat32(4 * i, data[i], true);
      else view.setBigInt64(8 * i, BigInt(data[i]), true);
    w.bytes(9, bytes);
    this.initializers.push(w);
    return name;
  }

  /** A parameter or buffer of the model, under its state name, in the shape `dims` (default its own). */
  tensor(t: Tensor, dims: readonly number[] = t.shape): string {
    const name = this.stateNames.get(t);
    if (name === undefined) throw new Error('exportOnnx: a layer holds a tensor that is not in the model state'); // never: layers register theirs
    return this.constant(name, dims, t.data);
  }

  scalar(base: string, v: number): string {
    return this.constant(base, [], [v]);
  }

  node(path: string, op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    const out = this.fresh(`${path}/${op}`);
    const w = new ProtoWriter();
    for (const i of inputs) w.string(1, i);
    w.string(2, out);
    w.string(3, out);
    w.string(4, op);
    for (const [k, v] of Object.entries(attrs))
      w.message(5, (a) => {
        a.string(1, k);
        if (typeof v === 'number') a.int(3, v).int(20, ATTR_INT);
        else if (Array.isArray(v)) {
          for (const x of v) a.int(8, x);
          a.int(20, ATTR_INTS);
        } else if ('string' in v) a.string(4, v.string).int(20, ATTR_STRING);
        else a.float(2, v.float).int(20, ATTR_FLOAT);
      });
    this.nodes.push(w);
    return out;
  }
}

/** What one layer's walk knows: the value holding its input and that input's shape (batch 1). */
export interface At {
  x: string;
  probe: Tensor;
  /** The bool [N, T] padding mask of x's steps (true = padding), from an Embedding with maskPadding, until a SequenceMean ends it. */
  mask?: string;
}

/**
 * The model as the bytes of an ONNX file. The model's parameters must live on the host (`await
 * model.to('cpu')` first for a model on the GPU).
 */
export function exportOnnx(model: Module, options: ExportOnnxOptions): Uint8Array {
  if (!(model instanceof Module)) throw new TypeError(`exportOnnx: model must be a Module, got ${String(model)}`);
  const o = checkOptions('exportOnnx', options, schema, { required: ['inputShape'] });
  const twoInputs = twoInputRefusal(model);
  if (twoInputs) throw new RangeError(twoInputs);
  const state = model.namedState();
  const onDevice = state.find(([, t]) => t.device !== 'cpu');
  if (onDevice)
    throw new Error(
      `exportOnnx: the model's parameters live on ${onDevice[1].device} ("${onDevice[0]}"); export reads them on the host: await model.to('cpu') first`,
    );
  const inputShape = [...o.inputShape];
  const size = inputShape.reduce((a, b) => a * b, 1);
  const modelShape = o.flatten ? [size] : inputShape;
  let probe = full([1, ...modelShape], 0, { dtype: state[0]?.[1].dtype });
  let out: Tensor;
  try {
    out = model.forward(probe, { training: false });
  } catch (e) {
    if (e instanceof ShapeError)
      throw new RangeError(
        `exportOnnx: inputShape ${fmtShape(inputShape)}${o.flatten ? ` flattened to ${fmtShape(modelShape)}` : ''} does not fit the model: ${e.message}`,
      );
    throw e;
  }
  const sized = (what: string, v: ArrayLike<number>, n: number, of: string) => {
    if (v.length !== n) throw new RangeError(`exportOnnx: ${what} has ${v.length} values; ${of} has ${n}`);
  };
  const g = new Graph(new Map(state.map(([n, t]) => [t, n])));
  const inputName = o.inputName ?? 'input';
  const outputName = o.outputName ?? 'output';
  if (inputName === outputName) throw new RangeError(`exportOnnx: inputName and outputName are both "${inputName}"; expected two names`);
  g.fresh(inputName);
  g.fresh(outputName);
  let x = inputName;
  if (o.impute) {
    sized('impute', o.impute, size, `the input ${fmtShape(inputShape)}`);
    x = g.node('impute', 'Where', [g.node('impute', 'IsNaN', [x]), g.constant('impute.values', inputShape, o.impute), x]);
  }
  if (o.standardize) {
    const { mean, std } = o.standardize;
    sized('standardize.mean', mean, size, `the input ${fmtShape(inputShape)}`);
    sized('standardize.std', std, size, `the input ${fmtShape(inputShape)}`);
    x = g.node('standardize', 'Sub', [x, g.constant('standardize.mean', inputShape, mean)]);
    x = g.node('standardize', 'Div', [x, g.constant('standardize.std', inputShape, std)]);
  }
  if (o.flatten) x = g.node('flatten', 'Flatten', [x], { axis: 1 });
  const end = emit(g, model, '', { x, probe });
  probe = end.probe;
  x = end.x;
  const outputs = out.size;
  if (o.targetStandardize) {
    const { mean, std } = o.targetStandardize;
    const shape = out.shape.slice(1);
    sized('targetStandardize.mean', mean, outputs, `the output ${fmtShape(shape)}`);
    sized('targetStandardize.std', std, outputs, `the output ${fmtShape(shape)}`);
    x = g.node('targets', 'Mul', [x, g.constant('targetStandardize.std', shape, std)]);
    x = g.node('targets', 'Add', [x, g.constant('targetStandardize.mean', shape, mean)]);
  }
  if (o.softmax) x = g.node('softmax', 'Softmax', [x], { axis: -1 });
  // the graph's output is a named value: an Identity gives it the name asked for
  g.nodes.push(new ProtoWriter().string(1, x).string(2, outputName).string(3, `${outputName}/Identity`).string(4, 'Identity'));

  const valueInfo = (w: ProtoWriter, name: string, dims: readonly (number | string)[]) => {
    w.string(1, name);
    w.message(2, (t) =>
      t.message(1, (tt) => {
        tt.int(1, FLOAT);
        tt.message(2, (s) => {
          for (const d of dims) s.message(1, (dim) => (typeof d === 'string' ? dim.string(2, d) : dim.int(1, d)));
        });
      }),
    );
  };
  const graph = new ProtoWriter();
  for (const n of g.nodes) graph.bytes(1, n.finish());
  graph.string(2, o.name ?? 'descent');
  for (const i of g.initializers) graph.bytes(5, i.finish());
  graph.message(11, (w) => valueInfo(w, inputName, ['batch', ...inputShape]));
  graph.message(12, (w) => valueInfo(w, outputName, ['batch', ...probe.shape.slice(1)]));

  const file = new ProtoWriter();
  file.int(1, IR_VERSION);
  file.string(2, 'descent');
  file.bytes(7, graph.finish());
  file.message(8, (w) => w.string(1, '').int(2, ONNX_OPSET));
  for (const [k, v] of Object.entries(o.metadata ?? {})) file.message(14, (w) => w.string(1, k).string(2, v));
  return file.finish();
}

/** Refuse a layer with no ONNX form, naming it. */
function refuse(path: string, m: Module, why: string): never {
  throw new RangeError(`exportOnnx: layer ${path || '(the model)'} (${m.describe()}) ${why}`);
}

/** Writes `m`'s evaluation forward from `at`; returns where its output is. */
function emit(g: Graph, m: Module, path: string, at: At): At {
  const next = (x: string): At => ({ x, probe: m.forward(at.probe, { training: false }), mask: at.mask });
  const { x } = at;
  if (m instanceof Sequential) {
    let cur = at;
    m.layers.forEach((layer, i) => {
      cur = emit(g, layer, path ? `${path}.${m.names[i]}` : m.names[i], cur);
    });
    return cur;
  }
  if (m instanceof Residual) {
    const body = emit(g, m.body, `${path ? `${path}.` : ''}body`, at);
    const short = m.shortcut ? emit(g, m.shortcut, `${path ? `${path}.` : ''}shortcut`, at).x : x;
    return { x: g.node(path, 'Add', [body.x, short]), probe: body.probe };
  }
  if (isSequenceLayer(m, at.probe)) return emitSequence(g, m, path, at);
  if (isUpsamplingLayer(m)) return emitUpsampling(g, m, path, at);
  if (m instanceof LinearReLU) return next(g.node(path, 'Relu', [gemm(g, m.linear, path, x)]));
  if (m instanceof LinearGELU) return next(gelu(g, path, gemm(g, m.linear, path, x), m.gelu.approximate));
  if (m instanceof LinearSiLU) return next(silu(g, path, gemm(g, m.linear, path, x)));
  if (m instanceof Conv2dReLUMaxPool) return next(maxPool(g, m.pool, path, g.node(path, 'Relu', [conv(g, m.conv, path, x)])));
  if (m instanceof Conv2dReLU) return next(g.node(path, 'Relu', [conv(g, m.conv, path, x)]));
  if (m instanceof BatchNormReLUMaxPool) return next(maxPool(g, m.pool, path, g.node(path, 'Relu', [batchNorm(g, m.bn, path, x)])));
  if (m instanceof BatchNormReLU) return next(g.node(path, 'Relu', [batchNorm(g, m.bn, path, x)]));
  if (m instanceof Linear) return next(gemm(g, m, path, x));
  if (m instanceof Recurrent) return emitRecurrent(g, m, path, at);
  if (isAttentionLayer(m)) return emitAttention(g, m, path, at);
  if (m instanceof DropConnect) {
    if (m.inference === 'gaussian' && m.p > 0 && m.activation !== 'none')
      refuse(path, m, "evaluates by sampling (inference 'gaussian'); ONNX has no such operator: train with inference 'mean' to export");
    const y = gemm(g, m, path, x);
    const a = m.activationOptions;
    switch (m.activation) {
      case 'none':
        return next(y);
      case 'relu':
        return next(g.node(path, 'Relu', [y]));
      case 'tanh':
        return next(g.node(path, 'Tanh', [y]));
      case 'sigmoid':
        return next(g.node(path, 'Sigmoid', [y]));
      case 'leakyrelu':
        return next(g.node(path, 'LeakyRelu', [y], { alpha: { float: a.negativeSlope ?? 0.01 } }));
      case 'elu':
        return next(g.node(path, 'Elu', [y], { alpha: { float: a.alpha ?? 1 } }));
      case 'gelu':
        return next(gelu(g, path, y, a.approximate ?? 'none'));
      case 'silu':
        return next(silu(g, path, y));
      case 'softplus':
        return next(softplus(g, path, y, a.beta ?? 1, a.threshold ?? 20));
    }
  }
  if (m instanceof Conv2d) return next(conv(g, m, path, x));
  if (m instanceof MaxPool2d) return next(maxPool(g, m, path, x));
  if (m instanceof AvgPool2d)
    return next(
      g.node(path, 'AveragePool', [x], {
        kernel_shape: m.kernelSize,
        strides: m.stride,
        pads: [...m.padding, ...m.padding],
        ceil_mode: m.ceilMode ? 1 : 0,
        count_include_pad: m.countIncludePad ? 1 : 0,
      }),
    );
  if (m instanceof AdaptiveAvgPool2d) {
    const [h, w] = at.probe.shape.slice(-2);
    const [oh, ow] = [m.outputSize[0] ?? h, m.outputSize[1] ?? w];
    if (oh === 1 && ow === 1) return next(g.node(path, 'GlobalAveragePool', [x]));
    if (h % oh || w % ow)
      refuse(
        path,
        m,
        `pools ${h}×${w} into ${oh}×${ow} with bins of unequal sizes, which ONNX's AveragePool cannot express; expected sizes that divide the input's`,
      );
    return next(g.node(path, 'AveragePool', [x], { kernel_shape: [h / oh, w / ow], strides: [h / oh, w / ow] }));
  }
  if (m instanceof BatchNorm) return next(batchNorm(g, m, path, x));
  if (m instanceof LayerNorm) {
    const k = m.normalizedShape.length;
    const scale = m.weight ? g.tensor(m.weight) : g.constant(`${path}.weight`, m.normalizedShape, ones(m.normalizedShape));
    const inputs = m.bias ? [x, scale, g.tensor(m.bias)] : [x, scale];
    return next(g.node(path, 'LayerNormalization', inputs, { axis: -k, epsilon: { float: m.eps } }));
  }
  if (m instanceof GroupNorm) {
    const groups = m.numGroups;
    const shape = g.node(path, 'Shape', [x]);
    const r = g.node(path, 'Reshape', [x, g.constant(`${path}.groups`, [3], [0, groups, -1], 'int64')]);
    const n = g.node(
      path,
      'InstanceNormalization',
      [r, g.constant(`${path}.ones`, [groups], ones([groups])), g.constant(`${path}.zeros`, [groups], new Float32Array(groups))],
      {
        epsilon: { float: m.eps },
      },
    );
    let y = n;
    if (m.weight && m.bias) {
      const c = m.numChannels;
      y = g.node(path, 'Reshape', [n, g.constant(`${path}.channels`, [3], [0, c, -1], 'int64')]);
      y = g.node(path, 'Mul', [y, g.tensor(m.weight, [c, 1])]);
      y = g.node(path, 'Add', [y, g.tensor(m.bias, [c, 1])]);
    }
    return next(g.node(path, 'Reshape', [y, shape]));
  }
  if (m instanceof ReLU) return next(g.node(path, 'Relu', [x]));
  if (m instanceof Sigmoid) return next(g.node(path, 'Sigmoid', [x]));
  if (m instanceof Tanh) return next(g.node(path, 'Tanh', [x]));
  if (m instanceof LeakyReLU) return next(g.node(path, 'LeakyRelu', [x], { alpha: { float: m.negativeSlope } }));
  if (m instanceof ELU) return next(g.node(path, 'Elu', [x], { alpha: { float: m.alpha } }));
  if (m instanceof GELU) return next(gelu(g, path, x, m.approximate));
  if (m instanceof SiLU) return next(silu(g, path, x));
  if (m instanceof Softplus) return next(softplus(g, path, x, m.beta, m.threshold));
  if (m instanceof Flatten) return next(g.node(path, 'Flatten', [x], { axis: 1 }));
  if (isMoreLayer(m)) return emitMore(g, m, path, at, (why) => refuse(path, m, why));
  if (m instanceof SequenceMean) return { x: sequenceMean(g, path, x, at.mask), probe: m.forward(at.probe) };
  if (m instanceof Dropout || m instanceof Dropout2d) return next(x);
  if (m instanceof FractionalMaxPool2d) refuse(path, m, 'pools over pseudo-random regions, which no ONNX operator expresses');
  refuse(path, m, `is a ${m.constructor.name}, which exportOnnx has no ONNX form for`);
}

function ones(shape: readonly number[]): Float32Array {
  return new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1);
}

function gemm(g: Graph, m: { weight: Tensor; bias: Tensor | null }, path: string, x: string): string {
  const inputs = [x, g.tensor(m.weight)];
  if (m.bias) inputs.push(g.tensor(m.bias));
  return g.node(path, 'Gemm', inputs, { transB: 1 });
}

function conv(g: Graph, m: Conv2d, path: string, x: string): string {
  const inputs = [x, g.tensor(m.weight)];
  if (m.bias) inputs.push(g.tensor(m.bias));
  return g.node(path, 'Conv', inputs, {
    kernel_shape: m.kernelSize,
    strides: m.stride,
    pads: [...m.padding, ...m.padding],
    dilations: m.dilation,
    group: m.groups,
  });
}

function maxPool(g: Graph, m: MaxPool2d, path: string, x: string): string {
  return g.node(path, 'MaxPool', [x], {
    kernel_shape: m.kernelSize,
    strides: m.stride,
    pads: [...m.padding, ...m.padding],
    ceil_mode: m.ceilMode ? 1 : 0,
  });
}

function batchNorm(g: Graph, m: BatchNorm, path: string, x: string): string {
  if (!m.runningMean || !m.runningVar)
    refuse(
      path,
      m,
      'has no running statistics (trackRunningStats false), so its evaluation normalises by the batch; ONNX export needs them',
    );
  const c = [m.numFeatures];
  const scale = m.weight ? g.tensor(m.weight) : g.constant(`${path}.weight`, c, ones(c));
  const shift = m.bias ? g.tensor(m.bias) : g.constant(`${path}.bias`, c, new Float32Array(m.numFeatures));
  return g.node(path, 'BatchNormalization', [x, scale, shift, g.tensor(m.runningMean), g.tensor(m.runningVar)], {
    epsilon: { float: m.eps },
  });
}

function gelu(g: Graph, path: string, x: string, approximate: 'none' | 'tanh'): string {
  let inner: string;
  if (approximate === 'tanh') {
    // tanh(√(2/π)·(x + 0.044715·x³))
    const cube = g.node(path, 'Mul', [x, g.node(path, 'Mul', [x, x])]);
    const sum = g.node(path, 'Add', [x, g.node(path, 'Mul', [cube, g.scalar(`${path}.c`, 0.044715)])]);
    inner = g.node(path, 'Tanh', [g.node(path, 'Mul', [sum, g.scalar(`${path}.k`, Math.sqrt(2 / Math.PI))])]);
  } else inner = g.node(path, 'Erf', [g.node(path, 'Div', [x, g.scalar(`${path}.sqrt2`, Math.SQRT2)])]);
  const half = g.node(path, 'Mul', [x, g.scalar(`${path}.half`, 0.5)]);
  return g.node(path, 'Mul', [half, g.node(path, 'Add', [inner, g.scalar(`${path}.one`, 1)])]);
}

function silu(g: Graph, path: string, x: string): string {
  return g.node(path, 'Mul', [x, g.node(path, 'Sigmoid', [x])]);
}

function softplus(g: Graph, path: string, x: string, beta: number, threshold: number): string {
  const bx = beta === 1 ? x : g.node(path, 'Mul', [x, g.scalar(`${path}.beta`, beta)]);
  let sp = g.node(path, 'Softplus', [bx]);
  if (beta !== 1) sp = g.node(path, 'Div', [sp, g.scalar(`${path}.beta`, beta)]);
  const over = g.node(path, 'Greater', [bx, g.scalar(`${path}.threshold`, threshold)]);
  return g.node(path, 'Where', [over, x, sp]);
}
