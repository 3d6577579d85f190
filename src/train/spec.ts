/**
 * Models described by a spec: a compact string or JSON, one layer per entry, built into a
 * Sequential whose shapes are inferred from the input shape and checked layer by layer.
 *
 *   conv:32:5:pad=2,relu,maxpool:2,conv:64:5:pad=2,relu,maxpool:2,flatten,linear:128,relu,linear:10
 *
 * Grammar: layers separated by commas; a layer is `name`, then `:`-separated values, positional
 * (in the order the table below lists them) or `key=value`. A pair (kernel, stride, padding,
 * dilation, output size) is `5` or `5x3` (height × width). Booleans are `true` / `false`.
 *
 *   linear[:out]          bias=true init=torch|he|heUniform|glorot|glorotNormal
 *   conv:out:kernel       stride=1 pad=0 dilation=1 groups=1 bias=true init=…
 *                         (Conv2d; groups divides the input and output channels)
 *   convt:out:kernel      stride=1 pad=0 outpad=0 dilation=1 groups=1 bias=true init=…
 *                         (ConvTranspose2d: the output (H − 1)·stride − 2·pad + dilation·(kernel − 1)
 *                         + outpad + 1; outpad smaller than the stride or the dilation)
 *   upsample[:factor]     factor=2 mode=nearest|nearest-exact|bilinear align=false (with bilinear)
 *                         (Upsample by a scale factor: ⌊H·factor⌋ × ⌊W·factor⌋)
 *   maxpool:kernel        stride=kernel pad=0                         (MaxPool2d)
 *   avgpool:kernel        stride=kernel pad=0 countpad=true           (AvgPool2d, count_include_pad)
 *   adaptiveavgpool[:out] out=1 (or HxW)                              (AdaptiveAvgPool2d; gap = out 1,
 *                         global average pooling; the output may be larger than the input)
 *   fmp[:ratio]           ratio=1.41421… seq=pseudorandom|random overlap=true out=HxW kernel=K
 *                         (FractionalMaxPool2d; kernel= selects PyTorch's variant)
 *   dropout[:p]           p=0.5
 *   dropout2d[:p]         p=0.5
 *   dropconnect[:out[:p]] p=0.5 act=none|relu|tanh|sigmoid|leakyrelu|elu|gelu|silu|softplus
 *                         masks=example|batch inference=mean|gaussian samples=100 bias=true init=…
 *                         (the activation's parameters as its layer's: slope= with act=leakyrelu,
 *                         alpha= with elu, approximate= with gelu, beta= threshold= with softplus)
 *   batchnorm             eps=1e-5 momentum=0.1 affine=true track=true
 *                         (BatchNorm1d after a flat layer, BatchNorm2d after an image layer)
 *   layernorm             eps=1e-5 affine=true  (LayerNorm over each sample's whole shape)
 *   groupnorm:groups      eps=1e-5 affine=true  (GroupNorm; groups divides the channels, the first
 *                         dimension of [C, H, W], [C, L] or [F])
 *   rmsnorm               eps=(the dtype's machine epsilon) affine=true  (RMSNorm over each sample's
 *                         whole shape, as layernorm)
 *   leakyrelu[:slope]     slope=0.01                                  (LeakyReLU, negative_slope)
 *   elu[:alpha]           alpha=1
 *   gelu[:approximate]    approximate=none|tanh                       (none: x·Φ(x) through erf)
 *   softplus[:beta[:threshold]]  beta=1 threshold=20                  (identity where beta·x > threshold)
 *   hardtanh[:min[:max]]  min=-1 max=1
 *   prelu[:num]           num=1 init=0.25   (PReLU; num 1, or the channels: the sample's first dimension)
 *   relu, tanh, sigmoid, silu, mish, hardswish, hardsigmoid, selu, relu6, flatten
 *
 * Sequences, each sample [T, F] (steps × features) or [C, L] (channels × length):
 *
 *   embedding:num:dim     pad=index mask=false                        (Embedding: token ids [T] → [T, dim];
 *                         the first layer only; pad is padding_idx, whose row gets no gradient; mask=true:
 *                         the pad steps are padding, which attention does not attend to and seqmean
 *                         leaves out (Keras' mask_zero); the layers up to a seqmean must honour it)
 *   lstm:hidden           layers=1 bidirectional=false dropout=0 seq=false   (LSTM, batch first; seq=false
 *                         gives the last layer's final state [D·hidden] (Keras' default), seq=true every step
 *                         [T, D·hidden]; dropout between layers)
 *   gru:hidden            as lstm (GRU)
 *   rnn:hidden            as lstm, act=tanh|relu                      (RNN, Elman)
 *   conv1d:out:kernel     stride=1 pad=0 dilation=1 groups=1 bias=true init=…  (Conv1d on [C, L])
 *   maxpool1d:kernel      stride=kernel pad=0                         (MaxPool1d)
 *   avgpool1d:kernel      stride=kernel pad=0 countpad=true           (AvgPool1d)
 *   adaptiveavgpool1d[:out]  out=1                                    (AdaptiveAvgPool1d; gap1d = out 1)
 *   transpose             [A, B] → [B, A]: a conv1d's [C, L] into an lstm's [T, F] and back
 *   seqmean               the mean over the steps: [T, F] → [F] (x.mean(dim=1); Keras'
 *                         GlobalAveragePooling1D)
 *   attention:heads       dropout=0 bias=true causal=false            (MultiheadAttention, self-attention
 *                         on [T, F]; heads divides F; causal: step i attends to steps ≤ i)
 *   transformer:heads     ff=4·F dropout=0.1 act=relu|gelu prenorm=false eps=1e-5 layers=1 norm=prenorm
 *                         causal=false
 *                         (TransformerEncoderLayer(F, heads), dimFeedforward ff, normFirst prenorm; layers
 *                         stacked, each with weights of its own; norm: a LayerNorm(F) after the stack)
 *   posembed[:max]        max=T                                       (a learned position embedding
 *                         [max, F], its first T rows added to [T, F])
 *   posenc                Vaswani et al.'s sinusoidal position encoding added to [T, F]
 *
 * linear on a sequence [T, F] acts on each step (→ [T, out]), as PyTorch's Linear on the last axis.
 *
 * A residual block is `res[layers]` or `res[layers;shortcut layers]` (`residual[…]` too): y =
 * body(x) + shortcut(x), nn.Residual, the shortcut the identity when there is no `;`. Brackets and
 * `;` appear nowhere else in the grammar, so a block is one comma-separated entry whatever it
 * holds (blocks nest). The body must end in the shape the shortcut gives (its input, for the
 * identity); every fully-connected layer inside names its size. The ReLU after the sum is the
 * next entry: `res[conv:16:3:pad=1,batchnorm,relu,conv:16:3:pad=1,batchnorm],relu`.
 *
 * The same layers as JSON: an array of objects `{"type": "conv", "out": 32, "kernel": 5, "pad": 2}`
 * (or `{"layers": [...]}`), with the option names above; pairs may be `[5, 3]`; a residual block
 * is `{"type": "residual", "body": [...], "shortcut": [...]}` (shortcut optional).
 *
 * Output size: the last fully-connected layer (linear or dropconnect) may leave out its size; it
 * then has one output per class of the data. Written or not, the model must end in [classes]
 * ([T, classes] when built with perStep: a class per step, as a language model's next tokens).
 *
 * Initialisation draws from the same named generators as the built-in models, under `init`: the
 * k-th conv from `conv{k}`, the k-th FMP layer from `fmp{k}`, and the k-th fully-connected layer
 * from `fc{k}` when the model has a conv layer (as cnn and fmp) and from `layer{k−1}` when it has
 * none (as mlp and logreg). So a spec of a built-in architecture gives the same weights, bit for
 * bit, as the built-in model with the same seed.
 *
 * The model takes flat vectors [N, C·H·W] unless the spec has an image layer (conv, convt, upsample, pools, FMP,
 * adaptive pooling, dropout2d, flatten); then it takes [N, C, H, W]. A spec with a sequence layer
 * (lstm, gru, rnn, conv1d, the 1-D pools, transpose, seqmean, attention, transformer, posembed,
 * posenc) takes [N, T, F]: [N, H, W] of one-channel
 * data ([1, T, F] samples: a grey image's rows, an .npz array (N, T, F)); one that starts with an
 * embedding takes token ids, flat [N, C·H·W].
 */
import type { DType } from '../tensor/tensor.js';
import type { Rng } from '../tensor/rng.js';
import { fmtShape, shapeEq, ShapeError } from '../tensor/shape.js';
import { Linear, ReLU, Sigmoid, Tanh, Flatten, Sequential, maskAfter } from '../nn/layers.js';
import { ELU, GELU, LeakyReLU, SiLU, Softplus } from '../nn/activation.js';
import { Hardsigmoid, Hardswish, Hardtanh, Mish, PReLU, ReLU6, SELU } from '../nn/activation-more.js';
import { RMSNorm } from '../nn/rmsnorm.js';
import type { Module } from '../nn/module.js';
import {
  AdaptiveAvgPool1d,
  AvgPool1d,
  Conv1d,
  Embedding,
  GRU,
  LSTM,
  MaxPool1d,
  MultiheadAttention,
  PositionalEmbedding,
  RNN,
  SequenceMean,
  SinusoidalPositionalEncoding,
  TransformerEncoderLayer,
  Transpose,
} from '../nn/index.js';
import { Conv2d } from '../nn/conv.js';
import { ConvTranspose2d } from '../nn/conv-transpose.js';
import { transposedOutSize } from '../autograd/conv-transpose.js';
import { Upsample } from '../nn/upsample.js';
import { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from '../nn/pool.js';
import { Dropout, Dropout2d } from '../nn/dropout.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/batchnorm.js';
import { LayerNorm } from '../nn/layernorm.js';
import { GroupNorm } from '../nn/groupnorm.js';
import { DropConnect, type DropConnectActivation } from '../nn/dropconnect.js';
import { FractionalMaxPool2d } from '../nn/fmp.js';
import { Residual } from '../nn/residual.js';
import { initializers, type InitName } from '../nn/init.js';
import { modelSampleShape, models, type ModelInput, type ModelOptions, type ModelSpec } from './models.js';

/** A spec that cannot be parsed or built; the message names the layer (position and token). */
export class ModelSpecError extends RangeError {
  override name = 'ModelSpecError';
}

export type LayerType =
  | 'linear'
  | 'conv'
  | 'convt'
  | 'upsample'
  | 'maxpool'
  | 'avgpool'
  | 'adaptiveavgpool'
  | 'fmp'
  | 'dropout'
  | 'dropout2d'
  | 'dropconnect'
  | 'batchnorm'
  | 'layernorm'
  | 'groupnorm'
  | 'relu'
  | 'tanh'
  | 'sigmoid'
  | 'leakyrelu'
  | 'elu'
  | 'gelu'
  | 'silu'
  | 'softplus'
  | 'mish'
  | 'hardswish'
  | 'hardsigmoid'
  | 'selu'
  | 'relu6'
  | 'hardtanh'
  | 'prelu'
  | 'rmsnorm'
  | 'flatten'
  | 'embedding'
  | 'lstm'
  | 'gru'
  | 'rnn'
  | 'conv1d'
  | 'maxpool1d'
  | 'avgpool1d'
  | 'adaptiveavgpool1d'
  | 'transpose'
  | 'seqmean'
  | 'attention'
  | 'transformer'
  | 'posembed'
  | 'posenc';

export type SpecValue = number | boolean | string | [number, number];

/** One layer: its type and options (normalised: numbers, booleans, strings, [h, w] pairs). */
export interface PlainLayerSpec {
  /** The layer kind, as written in a spec string (linear, conv, maxpool, …). */
  type: LayerType;
  [option: string]: SpecValue | undefined;
}

/**
 * A residual block, y = body(x) + shortcut(x): `res[body]` (the identity shortcut) or
 * `res[body;shortcut]` in a spec string, `{"type": "residual", "body": [...], "shortcut": [...]}` in JSON.
 */
export interface ResidualLayerSpec {
  type: 'residual';
  body: LayerSpec[];
  /** The shortcut's layers; absent for the identity. */
  shortcut?: LayerSpec[];
}

/** One entry of a model spec: a layer, or a residual block of layers. */
export type LayerSpec = PlainLayerSpec | ResidualLayerSpec;

type Kind =
  | { t: 'int'; min: number }
  | { t: 'pair'; min: number }
  | { t: 'prob' }
  | { t: 'ratio' }
  | { t: 'real'; lo?: number; hi?: number; nonZero?: boolean }
  | { t: 'bool' }
  | { t: 'enum'; choices: readonly string[] };

interface LayerDef {
  positional: readonly string[];
  required: readonly string[];
  options: Record<string, Kind>;
  /** Options that apply only with another option's value: option → [that option, its value]. */
  only?: Record<string, readonly [string, string]>;
  help: string;
}

const INT1: Kind = { t: 'int', min: 1 };
const PAIR1: Kind = { t: 'pair', min: 1 };
const PAIR0: Kind = { t: 'pair', min: 0 };
const INT0: Kind = { t: 'int', min: 0 };
const BOOL: Kind = { t: 'bool' };
const PROB: Kind = { t: 'prob' };
const INIT: Kind = { t: 'enum', choices: Object.keys(initializers) };
const REAL: Kind = { t: 'real', nonZero: false };

/** lstm, gru and rnn: the hidden size; stacked layers, both directions, dropout between layers, and every step or the last state. */
function recurrent(name: string, extra: Record<string, Kind> = {}, extraHelp = ''): LayerDef {
  return {
    positional: ['hidden'],
    required: ['hidden'],
    options: { hidden: INT1, ...extra, layers: INT1, bidirectional: BOOL, dropout: PROB, seq: BOOL },
    help: `${name}:hidden (${extraHelp}layers=1, bidirectional=false, dropout=0, seq=false: the last state; seq=true: every step)`,
  };
}

const LAYERS: Record<LayerType, LayerDef> = {
  linear: { positional: ['out'], required: [], options: { out: INT1, bias: BOOL, init: INIT }, help: 'linear[:out] (bias=, init=)' },
  conv: {
    positional: ['out', 'kernel'],
    required: ['out', 'kernel'],
    options: { out: INT1, kernel: PAIR1, stride: PAIR1, pad: PAIR0, dilation: PAIR1, groups: INT1, bias: BOOL, init: INIT },
    help: 'conv:out:kernel (stride=, pad=, dilation=, groups=, bias=, init=)',
  },
  convt: {
    positional: ['out', 'kernel'],
    required: ['out', 'kernel'],
    options: {
      out: INT1,
      kernel: PAIR1,
      stride: PAIR1,
      pad: PAIR0,
      outpad: PAIR0,
      dilation: PAIR1,
      groups: INT1,
      bias: BOOL,
      init: INIT,
    },
    help: 'convt:out:kernel (stride=, pad=, outpad=, dilation=, groups=, bias=, init=; ConvTranspose2d)',
  },
  upsample: {
    positional: ['factor'],
    required: [],
    options: {
      factor: { t: 'real', lo: 0, hi: Infinity, nonZero: true },
      mode: { t: 'enum', choices: ['nearest', 'nearest-exact', 'bilinear'] },
      align: BOOL,
    },
    only: { align: ['mode', 'bilinear'] },
    help: 'upsample[:factor] (factor=2, mode=nearest|nearest-exact|bilinear, align=false with bilinear)',
  },
  maxpool: {
    positional: ['kernel'],
    required: ['kernel'],
    options: { kernel: PAIR1, stride: PAIR1, pad: PAIR0 },
    help: 'maxpool:kernel (stride=, pad=)',
  },
  avgpool: {
    positional: ['kernel'],
    required: ['kernel'],
    options: { kernel: PAIR1, stride: PAIR1, pad: PAIR0, countpad: BOOL },
    help: 'avgpool:kernel (stride=, pad=, countpad=)',
  },
  adaptiveavgpool: {
    positional: ['out'],
    required: [],
    options: { out: PAIR1 },
    help: 'adaptiveavgpool[:out] (out=1 or HxW; gap is adaptiveavgpool:1, global average pooling)',
  },
  fmp: {
    positional: ['ratio'],
    required: [],
    options: { ratio: { t: 'ratio' }, seq: { t: 'enum', choices: ['pseudorandom', 'random'] }, overlap: BOOL, out: PAIR1, kernel: PAIR1 },
    help: "fmp[:ratio] (ratio=1.4142, seq=pseudorandom|random, overlap=true, out=HxW, kernel=K for PyTorch's variant)",
  },
  dropout: { positional: ['p'], required: [], options: { p: PROB }, help: 'dropout[:p] (p=0.5)' },
  dropout2d: { positional: ['p'], required: [], options: { p: PROB }, help: 'dropout2d[:p] (p=0.5)' },
  dropconnect: {
    positional: ['out', 'p'],
    required: [],
    options: {
      out: INT1,
      p: PROB,
      act: { t: 'enum', choices: ['none', 'relu', 'tanh', 'sigmoid', 'leakyrelu', 'elu', 'gelu', 'silu', 'softplus'] },
      masks: { t: 'enum', choices: ['example', 'batch'] },
      inference: { t: 'enum', choices: ['mean', 'gaussian'] },
      samples: INT1,
      bias: BOOL,
      init: INIT,
      // the activation's parameters, named as its own layer names them
      slope: REAL,
      alpha: REAL,
      approximate: { t: 'enum', choices: ['none', 'tanh'] },
      beta: { t: 'real', nonZero: true },
      threshold: REAL,
    },
    only: {
      slope: ['act', 'leakyrelu'],
      alpha: ['act', 'elu'],
      approximate: ['act', 'gelu'],
      beta: ['act', 'softplus'],
      threshold: ['act', 'softplus'],
    },
    help: 'dropconnect[:out[:p]] (p=0.5, act=none|relu|tanh|sigmoid|leakyrelu|elu|gelu|silu|softplus, masks=example|batch, inference=mean|gaussian, samples=, bias=, init=; slope= with act=leakyrelu, alpha= with elu, approximate= with gelu, beta= and threshold= with softplus)',
  },
  batchnorm: {
    positional: [],
    required: [],
    options: { eps: { t: 'real', lo: 0, hi: Infinity }, momentum: { t: 'real', lo: 0, hi: 1 }, affine: BOOL, track: BOOL },
    help: 'batchnorm (eps=1e-5, momentum=0.1, affine=true, track=true)',
  },
  layernorm: {
    positional: [],
    required: [],
    options: { eps: { t: 'real', lo: 0, hi: Infinity }, affine: BOOL },
    help: 'layernorm (eps=1e-5, affine=true)',
  },
  groupnorm: {
    positional: ['groups'],
    required: ['groups'],
    options: { groups: INT1, eps: { t: 'real', lo: 0, hi: Infinity }, affine: BOOL },
    help: 'groupnorm:groups (eps=1e-5, affine=true; groups divides the channels)',
  },
  relu: { positional: [], required: [], options: {}, help: 'relu' },
  tanh: { positional: [], required: [], options: {}, help: 'tanh' },
  sigmoid: { positional: [], required: [], options: {}, help: 'sigmoid' },
  leakyrelu: { positional: ['slope'], required: [], options: { slope: REAL }, help: 'leakyrelu[:slope] (slope=0.01)' },
  elu: { positional: ['alpha'], required: [], options: { alpha: REAL }, help: 'elu[:alpha] (alpha=1)' },
  gelu: {
    positional: ['approximate'],
    required: [],
    options: { approximate: { t: 'enum', choices: ['none', 'tanh'] } },
    help: 'gelu[:approximate] (approximate=none|tanh)',
  },
  silu: { positional: [], required: [], options: {}, help: 'silu' },
  softplus: {
    positional: ['beta', 'threshold'],
    required: [],
    options: { beta: { t: 'real', nonZero: true }, threshold: REAL },
    help: 'softplus[:beta[:threshold]] (beta=1, threshold=20)',
  },
  mish: { positional: [], required: [], options: {}, help: 'mish' },
  hardswish: { positional: [], required: [], options: {}, help: 'hardswish' },
  hardsigmoid: { positional: [], required: [], options: {}, help: 'hardsigmoid' },
  selu: { positional: [], required: [], options: {}, help: 'selu' },
  relu6: { positional: [], required: [], options: {}, help: 'relu6' },
  hardtanh: { positional: ['min', 'max'], required: [], options: { min: REAL, max: REAL }, help: 'hardtanh[:min[:max]] (min=-1, max=1)' },
  prelu: {
    positional: ['num'],
    required: [],
    options: { num: INT1, init: REAL },
    help: 'prelu[:num] (num=1 slope, or one per channel: the first dimension of the sample; init=0.25)',
  },
  rmsnorm: {
    positional: [],
    required: [],
    options: { eps: { t: 'real', lo: 0, hi: Infinity }, affine: BOOL },
    help: "rmsnorm (eps= the dtype's machine epsilon, affine=true; over each sample's whole shape, as layernorm)",
  },
  flatten: { positional: [], required: [], options: {}, help: 'flatten' },
  embedding: {
    positional: ['num', 'dim'],
    required: ['num', 'dim'],
    options: { num: INT1, dim: INT1, pad: INT0, mask: BOOL },
    help: 'embedding:num:dim (pad=index, mask=false: mask=true makes the pad steps padding; token ids in [0, num), the first layer)',
  },
  lstm: recurrent('lstm'),
  gru: recurrent('gru'),
  rnn: recurrent('rnn', { act: { t: 'enum', choices: ['tanh', 'relu'] } }, 'act=tanh|relu, '),
  conv1d: {
    positional: ['out', 'kernel'],
    required: ['out', 'kernel'],
    options: { out: INT1, kernel: INT1, stride: INT1, pad: INT0, dilation: INT1, groups: INT1, bias: BOOL, init: INIT },
    help: 'conv1d:out:kernel (stride=, pad=, dilation=, groups=, bias=, init=; on [C, L])',
  },
  maxpool1d: {
    positional: ['kernel'],
    required: ['kernel'],
    options: { kernel: INT1, stride: INT1, pad: INT0 },
    help: 'maxpool1d:kernel (stride=, pad=)',
  },
  avgpool1d: {
    positional: ['kernel'],
    required: ['kernel'],
    options: { kernel: INT1, stride: INT1, pad: INT0, countpad: BOOL },
    help: 'avgpool1d:kernel (stride=, pad=, countpad=)',
  },
  adaptiveavgpool1d: {
    positional: ['out'],
    required: [],
    options: { out: INT1 },
    help: 'adaptiveavgpool1d[:out] (out=1; gap1d is adaptiveavgpool1d:1)',
  },
  transpose: { positional: [], required: [], options: {}, help: 'transpose' },
  seqmean: { positional: [], required: [], options: {}, help: 'seqmean' },
  attention: {
    positional: ['heads'],
    required: ['heads'],
    options: { heads: INT1, dropout: PROB, bias: BOOL, causal: BOOL },
    help: 'attention:heads (dropout=0, bias=true, causal=false; self-attention on [T, F], heads divides F)',
  },
  transformer: {
    positional: ['heads'],
    required: ['heads'],
    options: {
      heads: INT1,
      ff: INT1,
      dropout: PROB,
      act: { t: 'enum', choices: ['relu', 'gelu'] },
      prenorm: BOOL,
      eps: { t: 'real', lo: 0, hi: Infinity },
      layers: INT1,
      norm: BOOL,
      causal: BOOL,
    },
    help: 'transformer:heads (ff=4·F, dropout=0.1, act=relu|gelu, prenorm=false, eps=1e-5, layers=1, norm=prenorm: a final layernorm, causal=false)',
  },
  posembed: {
    positional: ['max'],
    required: [],
    options: { max: INT1 },
    help: 'posembed[:max] (max=T; a learned position embedding added to [T, F])',
  },
  posenc: { positional: [], required: [], options: {}, help: 'posenc' },
};

const ALIASES: Record<string, LayerType> = {
  conv2d: 'conv',
  maxpool2d: 'maxpool',
  avgpool2d: 'avgpool',
  adaptiveavgpool2d: 'adaptiveavgpool',
  gap: 'adaptiveavgpool',
  fc: 'linear',
  dense: 'linear',
  fractionalmaxpool2d: 'fmp',
  bn: 'batchnorm',
  embed: 'embedding',
  simplernn: 'rnn',
  gap1d: 'adaptiveavgpool1d',
  multiheadattention: 'attention',
  mha: 'attention',
  transformerencoderlayer: 'transformer',
  positionembedding: 'posembed',
  positionalembedding: 'posembed',
  positionalencoding: 'posenc',
  globalaveragepooling1d: 'seqmean',
};

/** A convolution's groups divide its input channels `c` (of the layer's input `shape`) and its output channels `out`. */
function groupsDivide(at: string, groups: number, c: number, out: number, shape: readonly number[]): void {
  if (c % groups || out % groups)
    throw new ModelSpecError(
      `${at}: groups=${groups} must divide the input channels (${c}, of ${fmtShape(shape)}) and the output channels (${out})`,
    );
}

const IMAGE_LAYERS = new Set<LayerType>([
  'conv',
  'convt',
  'upsample',
  'maxpool',
  'avgpool',
  'adaptiveavgpool',
  'fmp',
  'dropout2d',
  'flatten',
]);
const SEQUENCE_LAYERS = new Set<LayerType>([
  'lstm',
  'gru',
  'rnn',
  'conv1d',
  'maxpool1d',
  'avgpool1d',
  'adaptiveavgpool1d',
  'transpose',
  'seqmean',
  'attention',
  'transformer',
  'posembed',
  'posenc',
]);

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}

/** The candidate nearest to `s` (ties: the first), as ` (did you mean "x"?)`, or '' when none is close. */
export function didYouMean(s: string, candidates: readonly string[]): string {
  let best = '',
    bd = Infinity;
  for (const c of candidates) {
    const dd = distance(s.toLowerCase(), c.toLowerCase());
    if (dd < bd) {
      bd = dd;
      best = c;
    }
  }
  if (best && bd <= Math.max(2, Math.floor(best.length / 2))) return ` (did you mean "${best}"?)`;
  const pre =
    s.length >= 2
      ? candidates.find((c) => c.toLowerCase().startsWith(s.toLowerCase()) || s.toLowerCase().startsWith(c.toLowerCase()))
      : undefined;
  return pre ? ` (did you mean "${pre}"?)` : '';
}

function fmtValue(v: SpecValue): string {
  return Array.isArray(v) ? (v[0] === v[1] ? String(v[0]) : `${v[0]}x${v[1]}`) : String(v);
}

/** A layer as its compact token (the canonical form: positional values while they are given, then key=value). */
export function formatLayer(l: LayerSpec): string {
  if (l.type === 'residual') return `res[${formatModelSpec(l.body)}${l.shortcut ? `;${formatModelSpec(l.shortcut)}` : ''}]`;
  const def = LAYERS[l.type];
  const parts: string[] = [l.type];
  const used = new Set<string>();
  for (const k of def.positional) {
    if (l[k] === undefined) break;
    parts.push(fmtValue(l[k]!));
    used.add(k);
  }
  for (const k of Object.keys(def.options)) if (!used.has(k) && l[k] !== undefined) parts.push(`${k}=${fmtValue(l[k]!)}`);
  return parts.join(':');
}

/** The compact string of a list of layers; parseModelSpec(formatModelSpec(x)) equals x. */
export function formatModelSpec(layers: readonly LayerSpec[]): string {
  return layers.map(formatLayer).join(',');
}

/**
 * The most numbers one weight tensor of a built layer may hold: the largest typed array V8 allocates
 * (2^32 elements). A larger layer is refused by name before anything is allocated.
 */
export const MAX_LAYER_WEIGHTS = 2 ** 32;

function where(i: number, token: string): string {
  return `layer ${i} (${token})`;
}

/** How an error names a layer: its token, or `res` for a residual block (its parts are named after it). */
function label(l: LayerSpec): string {
  return l.type === 'residual' ? 'res' : formatLayer(l);
}

/** The names of a residual block: `res[…]` in a spec string, type "residual" (or "res") in JSON. */
const RESIDUAL_NAMES = ['res', 'residual'];
const RESIDUAL_USAGE = 'res[layers] or res[layers;shortcut layers], e.g. res[conv:16:3:pad=1,batchnorm,relu,conv:16:3:pad=1,batchnorm]';

/** Check and normalise one option value (from the string grammar or from JSON). */
function convert(raw: unknown, kind: Kind, what: string): SpecValue {
  const num = (v: unknown): number => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw new ModelSpecError(`${what}: expected a number, got ${JSON.stringify(v)}`);
    return n;
  };
  switch (kind.t) {
    case 'int': {
      const n = num(raw);
      if (!Number.isInteger(n) || n < kind.min)
        throw new ModelSpecError(`${what}: expected an integer ≥ ${kind.min}, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'pair': {
      const parts = Array.isArray(raw) ? raw : typeof raw === 'string' && /x/i.test(raw) ? raw.split(/x/i) : [raw];
      const bad = () => new ModelSpecError(`${what}: expected an integer ≥ ${kind.min} or HxW, got ${JSON.stringify(raw)}`);
      if (parts.length < 1 || parts.length > 2) throw bad();
      const ns = parts.map((p) => {
        const n = typeof p === 'number' ? p : typeof p === 'string' && p.trim() !== '' ? Number(p) : NaN;
        if (!Number.isInteger(n) || n < kind.min) throw bad();
        return n;
      });
      return ns.length === 1 || ns[0] === ns[1] ? ns[0] : [ns[0], ns[1]];
    }
    case 'prob': {
      const n = num(raw);
      if (!(n >= 0 && n < 1)) throw new ModelSpecError(`${what}: the drop probability must be in [0, 1), got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'ratio': {
      const n = num(raw);
      if (!(n > 1 && n < 2)) throw new ModelSpecError(`${what}: the pooling ratio α must be in (1, 2), got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'real': {
      const n = num(raw);
      const lo = kind.lo ?? -Infinity,
        hi = kind.hi ?? Infinity;
      if (!(n >= lo && n <= hi))
        throw new ModelSpecError(`${what}: expected a number in [${lo}, ${hi === Infinity ? '∞)' : `${hi}]`}, got ${JSON.stringify(raw)}`);
      if (kind.nonZero && n === 0) throw new ModelSpecError(`${what}: expected a non-zero number, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'bool':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      throw new ModelSpecError(`${what}: expected true or false, got ${JSON.stringify(raw)}`);
    case 'enum':
      if (typeof raw === 'string' && kind.choices.includes(raw)) return raw;
      throw new ModelSpecError(
        `${what}: expected one of ${kind.choices.join(', ')}, got ${JSON.stringify(raw)}${typeof raw === 'string' ? didYouMean(raw, kind.choices) : ''}`,
      );
  }
}

function layerType(name: string, at: string): LayerType {
  const n = name.toLowerCase();
  if (n in LAYERS) return n as LayerType;
  if (n in ALIASES) return ALIASES[n];
  if (RESIDUAL_NAMES.includes(n)) throw new ModelSpecError(`${at}: a residual block holds its layers in brackets: ${RESIDUAL_USAGE}`);
  const all = [...Object.keys(LAYERS), ...Object.keys(ALIASES), ...RESIDUAL_NAMES];
  throw new ModelSpecError(
    `${at}: unknown layer "${name}"${didYouMean(name, all)}; expected one of ${Object.keys(LAYERS).join(', ')}, or res[…]`,
  );
}

/** Build one LayerSpec from positional values and key → value options, checking every name and value. */
function makeLayer(type: LayerType, positional: unknown[], keyed: [string, unknown][], at: string): LayerSpec {
  const def = LAYERS[type];
  const layer: LayerSpec = { type };
  if (positional.length > def.positional.length) {
    throw new ModelSpecError(
      `${at}: ${type} takes ${def.positional.length ? `at most ${def.positional.length} positional value(s) (${def.positional.join(', ')})` : 'no values'}, got ${positional.length}; usage: ${def.help}`,
    );
  }
  positional.forEach((v, i) => {
    const k = def.positional[i];
    layer[k] = convert(v, def.options[k], `${at}: ${k}`);
  });
  for (const [k, v] of keyed) {
    const names = Object.keys(def.options);
    if (!names.includes(k)) {
      throw new ModelSpecError(
        `${at}: ${type} has no option "${k}"${didYouMean(k, names)}; ${names.length ? `its options are ${names.join(', ')}` : 'it takes no options'}`,
      );
    }
    if (layer[k] !== undefined) throw new ModelSpecError(`${at}: option "${k}" is given twice`);
    layer[k] = convert(v, def.options[k], `${at}: ${k}`);
  }
  for (const k of def.required) if (layer[k] === undefined) throw new ModelSpecError(`${at}: ${type} needs ${k}; usage: ${def.help}`);
  for (const [k, [on, value]] of Object.entries(def.only ?? {}))
    if (layer[k] !== undefined && layer[on] !== value)
      throw new ModelSpecError(`${at}: option "${k}" applies to ${on}=${value}, not ${on}=${layer[on] ?? 'none'}`);
  return layer;
}

const isFc = (l: LayerSpec): l is PlainLayerSpec => l.type === 'linear' || l.type === 'dropconnect';

/** Check the rules that involve several layers (only the last fully-connected layer may omit its size). */
function checkLayers(layers: LayerSpec[], token: (i: number) => string): LayerSpec[] {
  if (!layers.length) throw new ModelSpecError('the model spec has no layers');
  const fc = layers.map((l, i) => [l, i] as const).filter(([l]) => isFc(l));
  for (const [l, i] of fc.slice(0, -1)) {
    if ((l as PlainLayerSpec).out === undefined)
      throw new ModelSpecError(
        `${where(i, token(i))}: needs its output size (e.g. ${l.type}:128); only the last fully-connected layer may leave it out, to get one output per class`,
      );
  }
  return layers;
}

/** The rules for one part of the residual block `at`: some layers, and every fully-connected one with its size. */
function checkPart(layers: LayerSpec[], at: string, part: 'body' | 'shortcut'): LayerSpec[] {
  if (!layers.length)
    throw new ModelSpecError(
      part === 'body'
        ? `${at}: the body has no layers; usage: ${RESIDUAL_USAGE}`
        : `${at}: the shortcut has no layers; leave it out for the identity`,
    );
  layers.forEach((l, i) => {
    if (isFc(l) && l.out === undefined)
      throw new ModelSpecError(
        `${at} ${part} ${where(i, label(l))}: needs its output size (e.g. ${l.type}:128); inside a residual block every fully-connected layer names it`,
      );
  });
  return layers;
}

/**
 * `text` cut at each `sep` outside brackets. The caller has checked that the brackets balance
 * (parseModelSpec does, once, for the whole string).
 */
function splitTop(text: string, sep: ',' | ';'): string[] {
  const out: string[] = [];
  let depth = 0,
    from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === sep && depth === 0) {
      out.push(text.slice(from, i).trim());
      from = i + 1;
    }
  }
  out.push(text.slice(from).trim());
  return out;
}

/** Refuse a `]` without its `[` and a `[` without its `]`, naming the character. */
function checkBrackets(spec: string): void {
  const open: number[] = [];
  for (let i = 0; i < spec.length; i++) {
    if (spec[i] === '[') open.push(i);
    else if (spec[i] === ']' && open.pop() === undefined)
      throw new ModelSpecError(`the "]" at character ${i + 1} closes no "["; a residual block is ${RESIDUAL_USAGE}`);
  }
  if (open.length)
    throw new ModelSpecError(`the "[" at character ${open[open.length - 1] + 1} has no "]"; a residual block is ${RESIDUAL_USAGE}`);
}

/** The layers of a comma-separated list; `path` names the block they are in ('' at the top). */
function parseList(text: string, path: string): LayerSpec[] {
  return splitTop(text, ',').map((tok, i) => {
    const group = /^([A-Za-z0-9_]+)\s*\[([\s\S]*)\]$/.exec(tok);
    if (group) {
      const at = `${path}${where(i, group[1])}`;
      if (!RESIDUAL_NAMES.includes(group[1].toLowerCase()))
        throw new ModelSpecError(`${at}: only a residual block takes layers in brackets: ${RESIDUAL_USAGE}`);
      const parts = splitTop(group[2], ';');
      if (parts.length > 2)
        throw new ModelSpecError(
          `${at}: a residual block has a body and at most one shortcut, separated by one ";"; got ${parts.length} parts`,
        );
      const block: ResidualLayerSpec = {
        type: 'residual',
        body: checkPart(parts[0] ? parseList(parts[0], `${at} body `) : [], at, 'body'),
      };
      if (parts.length === 2) block.shortcut = checkPart(parts[1] ? parseList(parts[1], `${at} shortcut `) : [], at, 'shortcut');
      return block;
    }
    const at = `${path}${where(i, tok || '<empty>')}`;
    if (tok === '') throw new ModelSpecError(`${at}: empty layer (two commas in a row?)`);
    if (/[[\]]/.test(tok))
      throw new ModelSpecError(`${at}: brackets enclose a residual block's layers and end its token: ${RESIDUAL_USAGE}`);
    if (tok.includes(';'))
      throw new ModelSpecError(
        `${at}: ";" separates a residual block's body from its shortcut, inside res[…]; layers are separated by commas`,
      );
    const [name, ...rest] = tok.split(':').map((s) => s.trim());
    const type = layerType(name, at);
    const positional: string[] = [];
    const keyed: [string, string][] = [];
    for (const r of rest) {
      if (r === '') throw new ModelSpecError(`${at}: empty value (two colons in a row?)`);
      const eq = r.indexOf('=');
      if (eq < 0) {
        if (keyed.length)
          throw new ModelSpecError(
            `${at}: positional value "${r}" after a key=value option; write ${LAYERS[type].positional[positional.length] ?? 'it'}=${r}`,
          );
        positional.push(r);
      } else keyed.push([r.slice(0, eq).trim(), r.slice(eq + 1).trim()]);
    }
    return makeLayer(type, positional, keyed, at);
  });
}

/** Parse the compact string form. */
export function parseModelSpec(spec: string): LayerSpec[] {
  if (typeof spec !== 'string' || spec.trim() === '') throw new ModelSpecError('the model spec is empty');
  checkBrackets(spec);
  const layers = parseList(spec, '');
  return checkLayers(layers, (i) => label(layers[i]));
}

/** The layers of a JSON array; `path` names the block they are in ('' at the top), `source` the file. */
function jsonList(arr: unknown[], source: string, path: string): LayerSpec[] {
  return arr.map((o, i) => {
    const raw = JSON.stringify(o) ?? String(o);
    if (typeof o !== 'object' || o === null || Array.isArray(o))
      throw new ModelSpecError(`${source}: ${path}${where(i, raw)}: expected an object with a "type"`);
    const { type, ...rest } = o as Record<string, unknown>;
    if (typeof type !== 'string')
      throw new ModelSpecError(`${source}: ${path}${where(i, raw)}: needs "type" (one of ${Object.keys(LAYERS).join(', ')}, residual)`);
    if (RESIDUAL_NAMES.includes(type.toLowerCase())) return jsonResidual(rest, source, `${path}${where(i, type)}`);
    const at = `${source}: ${path}${where(i, type)}`;
    return makeLayer(layerType(type, at), [], Object.entries(rest), at);
  });
}

/** `{"type": "residual", "body": [...], "shortcut": [...]}` without its type. */
function jsonResidual(o: Record<string, unknown>, source: string, at: string): ResidualLayerSpec {
  for (const k of Object.keys(o))
    if (k !== 'body' && k !== 'shortcut')
      throw new ModelSpecError(
        `${source}: ${at}: a residual block has no option "${k}"${didYouMean(k, ['body', 'shortcut'])}; it holds "body" and "shortcut" (arrays of layers)`,
      );
  const part = (k: 'body' | 'shortcut'): LayerSpec[] => {
    const v = o[k];
    if (!Array.isArray(v))
      throw new ModelSpecError(`${source}: ${at}: "${k}" must be an array of layers, got ${JSON.stringify(v)?.slice(0, 60)}`);
    try {
      return checkPart(jsonList(v, source, `${at} ${k} `), at, k);
    } catch (e) {
      if (e instanceof ModelSpecError && !e.message.startsWith(`${source}: `)) e.message = `${source}: ${e.message}`;
      throw e;
    }
  };
  const block: ResidualLayerSpec = { type: 'residual', body: part('body') };
  if (o.shortcut !== undefined) block.shortcut = part('shortcut');
  return block;
}

/** The JSON form: an array of {type, ...options}, or {layers: [...]}. `source` names it in errors. */
export function layersFromJson(value: unknown, source = 'model JSON'): LayerSpec[] {
  const arr = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null && Array.isArray((value as { layers?: unknown }).layers)
      ? (value as { layers: unknown[] }).layers
      : null;
  if (!arr)
    throw new ModelSpecError(
      `${source}: expected an array of layers ({"type": "conv", ...}) or {"layers": [...]}, got ${JSON.stringify(value)?.slice(0, 60)}`,
    );
  const layers = jsonList(arr, source, '');
  try {
    return checkLayers(layers, (i) => (layers[i].type === 'residual' ? 'residual' : layers[i].type));
  } catch (e) {
    if (e instanceof ModelSpecError) e.message = `${source}: ${e.message}`;
    throw e;
  }
}

/** Whether `test` holds for a layer of `layers`, those inside residual blocks included. */
function someLayer(layers: readonly LayerSpec[], test: (l: PlainLayerSpec) => boolean): boolean {
  return layers.some((l) => (l.type === 'residual' ? someLayer(l.body, test) || someLayer(l.shortcut ?? [], test) : test(l)));
}

/**
 * How the model takes each sample: token ids, flat, when it starts with an embedding; 'sequence'
 * ([T, F]) if any layer is a sequence layer; 'image' if any needs [C, H, W] (or flattens it); else 'flat'.
 */
export function specInput(layers: readonly LayerSpec[]): ModelInput {
  if (layers[0]?.type === 'embedding') return 'flat';
  if (someLayer(layers, (l) => SEQUENCE_LAYERS.has(l.type))) return 'sequence';
  return someLayer(layers, (l) => IMAGE_LAYERS.has(l.type)) ? 'image' : 'flat';
}

export interface BuildSpecOptions {
  /** Draws the initial weights. */
  rng: Rng;
  /** [C, H, W] of one input. */
  inputShape: readonly number[];
  /** The data's class count: the size of a last fully-connected layer without one, and the output the model must end in. */
  classes: number;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /**
   * The model gives classes per step, ending in [T, classes] (a language model's next-token logits
   * at every position), not [classes]. Default false.
   */
  perStep?: boolean;
}

export interface BuiltSpec {
  /** The layers in order. */
  model: Sequential;
  /** The shape of one example after each layer ([C, H, W] or [F], without the batch). */
  shapes: number[][];
}

/** A shortcut that maps `from` to `to`, as a hint (res[…;conv:32:1:stride=2,batchnorm]), or '' when none is simple. */
function projection(from: readonly number[], to: readonly number[]): string {
  const hint = (layers: string) => ` (res[…;${layers}])`;
  if (from.length === 1 && to.length === 1) return hint(`linear:${to[0]}`);
  if (from.length !== 3 || to.length !== 3) return '';
  // a 1×1 conv with stride s gives ceil(H/s) × ceil(W/s)
  for (let st = 1; st <= Math.max(from[1], from[2]); st++)
    if (Math.ceil(from[1] / st) === to[1] && Math.ceil(from[2] / st) === to[2])
      return hint(`conv:${to[0]}:1${st > 1 ? `:stride=${st}` : ''},batchnorm`);
  return '';
}

const pairOf = (v: SpecValue | undefined, dflt: number | [number, number]): [number, number] => {
  const x = v === undefined ? dflt : (v as number | [number, number]);
  return typeof x === 'number' ? [x, x] : x;
};

/**
 * Build the model and infer every layer's output shape, checking that each layer fits the shape it
 * receives; an error names the layer (position and token; inside a residual block, the block and
 * the part first: "layer 3 (res) body layer 2 (conv:16:3)") and the shapes. The layers of a block
 * draw their weights in the order they are written, body then shortcut (the k-th conv of the
 * whole spec from `conv{k}`).
 */
export function buildFromLayers(layers: readonly LayerSpec[], o: BuildSpecOptions): BuiltSpec {
  const [C, H, W] = o.inputShape;
  const input = specInput(layers);
  if (input === 'sequence' && C !== 1) {
    const first = layers.findIndex((l) => someLayer([l], (x) => SEQUENCE_LAYERS.has(x.type)));
    throw new ModelSpecError(
      `${where(first, label(layers[first]))}: a sequence model reads one-channel samples [1, T, F] as [T, F] (a grey image's rows, an .npz array (N, T, F)); these samples are ${C}×${H}×${W} (C×H×W)`,
    );
  }
  let shape: number[] = modelSampleShape(input, o.inputShape);
  const root = o.rng.fork('init');
  const hasConv = someLayer(layers, (l) => l.type === 'conv');
  let convs = 0,
    fcs = 0,
    fmps = 0,
    conv1ds = 0,
    rnns = 0,
    attns = 0,
    posembeds = 0;
  /** Whether the output so far carries the embedding's padding mask (mask=true, until a layer ends it). */
  let masked = false;
  const dtype = o.dtype;
  /** The modules of `layers` and the shape after each, from the current `shape` on; `path` names the block ('' at the top). */
  const list = (layers: readonly LayerSpec[], path: string): { modules: Module[]; shapes: number[][] } => {
    const modules: Module[] = [];
    const shapes: number[][] = [];
    layers.forEach((l, i) => {
      const at = path + where(i, label(l));
      const flatIn = (): number => {
        if (shape.length !== 1)
          throw new ModelSpecError(`${at}: takes flat features [F] but gets ${fmtShape(shape)}; put flatten before it`);
        return shape[0];
      };
      /** A sequence [T, F] (or [C, L], as `what` names it). */
      const seqIn = (what = 'sequences [T, F]'): [number, number] => {
        if (shape.length !== 2)
          throw new ModelSpecError(
            `${at}: takes ${what} but gets ${fmtShape(shape)}${shape.length === 1 && i > 0 ? ' (a flat output; an lstm, gru or rnn with seq=true keeps every step)' : ''}`,
          );
        return shape as [number, number];
      };
      /** The length a 1-D window of `k` (spanning `span`), stride `s` and padding `p` leaves of `L`. */
      const window1d = (L: number, k: number, s: number, p: number, span = k): number => {
        const out = Math.floor((L + 2 * p - span) / s) + 1;
        if (out < 1)
          throw new ModelSpecError(
            `${at}: input ${fmtShape(shape)} with padding ${p} is shorter than the kernel ${k}${span === k ? '' : ` (spanning ${span} when dilated)`}`,
          );
        return out;
      };
      const imageIn = (): [number, number, number] => {
        if (shape.length !== 3)
          throw new ModelSpecError(
            `${at}: takes images [C, H, W] but gets ${fmtShape(shape)}${path === '' && i === 0 ? '' : ' (a flattened or fully-connected output)'}`,
          );
        return shape as [number, number, number];
      };
      const window = (h: number, w: number, k: [number, number], s: [number, number], p: [number, number]): [number, number] => {
        const oh = Math.floor((h + 2 * p[0] - k[0]) / s[0]) + 1,
          ow = Math.floor((w + 2 * p[1] - k[1]) / s[1]) + 1;
        if (oh < 1 || ow < 1)
          throw new ModelSpecError(`${at}: input ${fmtShape(shape)} with padding ${p.join('×')} is smaller than the kernel ${k.join('×')}`);
        return [oh, ow];
      };
      /** Refuse a weight tensor of shape `w` (plus `bias` biases) larger than MAX_LAYER_WEIGHTS. */
      const fits = (w: number[], bias: number): void => {
        const n = w.reduce((a, b) => a * b, 1);
        if (n <= MAX_LAYER_WEIGHTS) return;
        const int = (x: number) => x.toLocaleString('en-US');
        throw new ModelSpecError(
          `${at}: ${int(n + bias)} parameters (weights ${w.join('×')}${bias ? ` and ${int(bias)} biases` : ''}); a layer's weights hold at most ${int(MAX_LAYER_WEIGHTS)} numbers (2^32)`,
        );
      };
      let m: Module;
      switch (l.type) {
        case 'residual': {
          const input = shape;
          const body = list(l.body, `${at} body `);
          const out = shape;
          shape = input;
          const shortcut = l.shortcut ? list(l.shortcut, `${at} shortcut `) : null;
          if (!shapeEq(out, shape))
            throw new ModelSpecError(
              shortcut
                ? `${at}: the body ends in ${fmtShape(out)} but the shortcut in ${fmtShape(shape)}; the two are added, so they must be equal`
                : `${at}: the body ends in ${fmtShape(out)} but its input, which the identity shortcut adds, is ${fmtShape(shape)}; keep the shape in the body or give a shortcut that changes it the same way${projection(shape, out)}`,
            );
          m = new Residual(new Sequential(...body.modules), shortcut && new Sequential(...shortcut.modules));
          break;
        }
        case 'linear':
        case 'dropconnect': {
          // both are fully connected: the same input, width, parameter count and init stream;
          // a linear layer acts on each step of a sequence [T, F], as PyTorch's on the last axis
          const steps = l.type === 'linear' && shape.length === 2 ? shape[0] : undefined;
          const inF = steps === undefined ? flatIn() : shape[1];
          fcs++;
          const out = (l.out as number | undefined) ?? o.classes;
          fits([out, inF], l.bias === false ? 0 : out);
          const fc = {
            bias: l.bias as boolean | undefined,
            init: l.init as InitName | undefined,
            dtype,
            rng: root.fork(hasConv ? `fc${fcs}` : `layer${fcs - 1}`),
          };
          m =
            l.type === 'linear'
              ? new Linear(inF, out, fc)
              : new DropConnect(inF, out, {
                  p: l.p as number | undefined,
                  activation: l.act as DropConnectActivation | undefined,
                  negativeSlope: l.slope as number | undefined,
                  alpha: l.alpha as number | undefined,
                  approximate: l.approximate as 'none' | 'tanh' | undefined,
                  beta: l.beta as number | undefined,
                  threshold: l.threshold as number | undefined,
                  masks: l.masks as 'example' | 'batch' | undefined,
                  inference: l.inference as 'mean' | 'gaussian' | undefined,
                  samples: l.samples as number | undefined,
                  ...fc,
                });
          shape = steps === undefined ? [out] : [steps, out];
          break;
        }
        case 'embedding': {
          if (path !== '' || i !== 0) throw new ModelSpecError(`${at}: reads token ids, so it must be the model's first layer`);
          const num = l.num as number,
            dim = l.dim as number,
            pad = l.pad as number | undefined;
          if (pad !== undefined && pad >= num) throw new ModelSpecError(`${at}: pad=${pad} must be a token id in [0, ${num})`);
          if (l.mask === true && pad === undefined)
            throw new ModelSpecError(`${at}: mask=true makes the steps whose id is pad= padding; give pad= (the padding token's id)`);
          fits([num, dim], 0);
          m = new Embedding(num, dim, { paddingIdx: pad, maskPadding: l.mask === true, dtype, rng: root.fork('embedding') });
          masked = l.mask === true;
          shape = [...shape, dim];
          break;
        }
        case 'lstm':
        case 'gru':
        case 'rnn': {
          const [T, F] = seqIn();
          rnns++;
          const hidden = l.hidden as number,
            numLayers = (l.layers as number | undefined) ?? 1,
            D = l.bidirectional === true ? 2 : 1;
          if (l.dropout && numLayers === 1)
            throw new ModelSpecError(
              `${at}: dropout=${l.dropout} acts between stacked layers, and there is one; give layers=2 or more, or put a dropout layer after it`,
            );
          const gates = l.type === 'lstm' ? 4 : l.type === 'gru' ? 3 : 1;
          fits([gates * hidden, Math.max(F, D * hidden)], 0);
          const opts = {
            numLayers,
            bidirectional: D === 2,
            dropout: l.dropout as number | undefined,
            returnSequences: l.seq === true,
            dtype,
            rng: root.fork(`rnn${rnns}`),
          };
          m =
            l.type === 'lstm'
              ? new LSTM(F, hidden, opts)
              : l.type === 'gru'
                ? new GRU(F, hidden, opts)
                : new RNN(F, hidden, { ...opts, nonlinearity: (l.act as 'tanh' | 'relu' | undefined) ?? 'tanh' });
          shape = l.seq === true ? [T, D * hidden] : [D * hidden];
          break;
        }
        case 'conv1d': {
          const [c, L] = seqIn('sequences [C, L]');
          conv1ds++;
          const k = l.kernel as number,
            d = (l.dilation as number | undefined) ?? 1,
            groups = (l.groups as number | undefined) ?? 1,
            out = l.out as number;
          groupsDivide(at, groups, c, out, shape);
          const length = window1d(L, k, (l.stride as number | undefined) ?? 1, (l.pad as number | undefined) ?? 0, d * (k - 1) + 1);
          fits([out, c / groups, k], l.bias === false ? 0 : out);
          m = new Conv1d(c, out, k, {
            stride: l.stride as number | undefined,
            padding: l.pad as number | undefined,
            dilation: d,
            groups,
            bias: l.bias as boolean | undefined,
            init: l.init as InitName | undefined,
            dtype,
            rng: root.fork(`conv1d${conv1ds}`),
          });
          shape = [out, length];
          break;
        }
        case 'maxpool1d':
        case 'avgpool1d': {
          const [c, L] = seqIn('sequences [C, L]');
          const k = l.kernel as number,
            s = (l.stride as number | undefined) ?? k,
            p = (l.pad as number | undefined) ?? 0;
          if (2 * p > k) throw new ModelSpecError(`${at}: padding ${p} must be at most half the kernel ${k}`);
          const length = window1d(L, k, s, p);
          m =
            l.type === 'maxpool1d'
              ? new MaxPool1d(k, { stride: s, padding: p })
              : new AvgPool1d(k, { stride: s, padding: p, countIncludePad: l.countpad as boolean | undefined });
          shape = [c, length];
          break;
        }
        case 'adaptiveavgpool1d': {
          const [c] = seqIn('sequences [C, L]');
          const out = (l.out as number | undefined) ?? 1;
          m = new AdaptiveAvgPool1d(out);
          shape = [c, out];
          break;
        }
        case 'transpose': {
          const [a, b] = seqIn('[A, B] (a sequence [T, F] or [C, L])');
          m = new Transpose(-2, -1);
          shape = [b, a];
          break;
        }
        case 'seqmean': {
          // the mean over the steps, x.mean(dim=1): [T, F] → [F] (Keras' GlobalAveragePooling1D)
          const [, F] = seqIn();
          m = new SequenceMean();
          shape = [F];
          break;
        }
        case 'attention':
        case 'transformer': {
          const [, F] = seqIn();
          const heads = l.heads as number;
          if (F % heads)
            throw new ModelSpecError(
              `${at}: heads=${heads} must divide the features (${F}, of ${fmtShape(shape)}): each head takes F / heads of them`,
            );
          attns++;
          const rng = root.fork(`attention${attns}`);
          if (l.type === 'attention') {
            fits([3 * F, F], 3 * F);
            m = new MultiheadAttention(F, heads, {
              dropout: l.dropout as number | undefined,
              bias: l.bias as boolean | undefined,
              causal: l.causal as boolean | undefined,
              dtype,
              rng,
            });
            break;
          }
          const ff = (l.ff as number | undefined) ?? 4 * F,
            numLayers = (l.layers as number | undefined) ?? 1,
            prenorm = l.prenorm === true,
            eps = l.eps as number | undefined;
          fits([ff, F], ff);
          // each stacked layer draws its own weights (PyTorch's TransformerEncoder copies one layer's)
          const stack: Module[] = Array.from(
            { length: numLayers },
            (_, k) =>
              new TransformerEncoderLayer(F, heads, {
                dimFeedforward: ff,
                dropout: (l.dropout as number | undefined) ?? 0.1,
                activation: (l.act as 'relu' | 'gelu' | undefined) ?? 'relu',
                normFirst: prenorm,
                layerNormEps: eps,
                causal: l.causal as boolean | undefined,
                dtype,
                rng: numLayers === 1 ? rng : rng.fork(`layer${k}`),
              }),
          );
          if ((l.norm as boolean | undefined) ?? prenorm) stack.push(new LayerNorm(F, { eps, dtype }));
          m = stack.length === 1 ? stack[0] : new Sequential(...stack);
          break;
        }
        case 'posembed': {
          const [T, F] = seqIn();
          const max = (l.max as number | undefined) ?? T;
          if (max < T) throw new ModelSpecError(`${at}: max=${max} positions, but the sequences have ${T} steps (${fmtShape(shape)})`);
          fits([max, F], 0);
          posembeds++;
          m = new PositionalEmbedding(max, F, { dtype, rng: root.fork(`posembed${posembeds}`) });
          break;
        }
        case 'posenc': {
          const [T, F] = seqIn();
          m = new SinusoidalPositionalEncoding(F, { maxLength: Math.max(T, 5000) });
          break;
        }
        case 'conv': {
          const [c, h, w] = imageIn();
          convs++;
          const k = pairOf(l.kernel, 1),
            s = pairOf(l.stride, 1),
            p = pairOf(l.pad, 0),
            d = pairOf(l.dilation, 1),
            groups = (l.groups as number | undefined) ?? 1;
          const out = l.out as number;
          groupsDivide(at, groups, c, out, shape);
          // the dilated kernel spans d·(k − 1) + 1 pixels: PyTorch's output size floor((H + 2p − d·(k − 1) − 1)/s) + 1
          const span: [number, number] = [d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1];
          const oh = Math.floor((h + 2 * p[0] - span[0]) / s[0]) + 1,
            ow = Math.floor((w + 2 * p[1] - span[1]) / s[1]) + 1;
          if (oh < 1 || ow < 1)
            throw new ModelSpecError(
              `${at}: input ${fmtShape(shape)} with padding ${p.join('×')} is smaller than the kernel ${k.join('×')}` +
                (d[0] === 1 && d[1] === 1 ? '' : ` dilated by ${d.join('×')} (spanning ${span.join('×')})`),
            );
          fits([out, c / groups, ...k], l.bias === false ? 0 : out);
          m = new Conv2d(c, out, k, {
            stride: s,
            padding: p,
            dilation: d,
            groups,
            bias: l.bias as boolean | undefined,
            init: l.init as InitName | undefined,
            dtype,
            rng: root.fork(`conv${convs}`),
          });
          shape = [out, oh, ow];
          break;
        }
        case 'convt': {
          const [c, h, w] = imageIn();
          convs++;
          const k = pairOf(l.kernel, 1),
            s = pairOf(l.stride, 1),
            p = pairOf(l.pad, 0),
            op = pairOf(l.outpad, 0),
            d = pairOf(l.dilation, 1),
            groups = (l.groups as number | undefined) ?? 1;
          const out = l.out as number;
          groupsDivide(at, groups, c, out, shape);
          // the layer's own output size and checks (outpad below the stride or the dilation, a non-empty output)
          const outSize = (i: 0 | 1, n: number) => {
            try {
              return transposedOutSize(n, k[i], s[i], p[i], op[i], d[i], at, i === 0 ? 'height' : 'width');
            } catch (e) {
              throw e instanceof RangeError || e instanceof ShapeError ? new ModelSpecError(e.message) : e;
            }
          };
          const oh = outSize(0, h),
            ow = outSize(1, w);
          fits([c, out / groups, ...k], l.bias === false ? 0 : out);
          m = new ConvTranspose2d(c, out, k, {
            stride: s,
            padding: p,
            outputPadding: op,
            dilation: d,
            groups,
            bias: l.bias as boolean | undefined,
            init: l.init as InitName | undefined,
            dtype,
            rng: root.fork(`conv${convs}`),
          });
          shape = [out, oh, ow];
          break;
        }
        case 'upsample': {
          const [c, h, w] = imageIn();
          const f = (l.factor as number | undefined) ?? 2;
          const oh = Math.floor(h * f),
            ow = Math.floor(w * f);
          if (oh < 1 || ow < 1) throw new ModelSpecError(`${at}: factor ${f} leaves ${fmtShape(shape)} empty (${oh}×${ow})`);
          m = new Upsample({
            scaleFactor: f,
            mode: (l.mode as 'nearest' | 'nearest-exact' | 'bilinear' | undefined) ?? 'nearest',
            ...(l.align !== undefined ? { alignCorners: l.align as boolean } : {}),
          });
          shape = [c, oh, ow];
          break;
        }
        case 'maxpool':
        case 'avgpool': {
          const [c, h, w] = imageIn();
          const k = pairOf(l.kernel, 1),
            s = pairOf(l.stride, k),
            p = pairOf(l.pad, 0);
          if (2 * p[0] > k[0] || 2 * p[1] > k[1])
            throw new ModelSpecError(`${at}: padding ${p.join('×')} must be at most half the kernel ${k.join('×')}`);
          const [oh, ow] = window(h, w, k, s, p);
          m =
            l.type === 'maxpool'
              ? new MaxPool2d(k, { stride: s, padding: p })
              : new AvgPool2d(k, { stride: s, padding: p, countIncludePad: l.countpad as boolean | undefined });
          shape = [c, oh, ow];
          break;
        }
        case 'adaptiveavgpool': {
          const [c] = imageIn();
          const out = pairOf(l.out, 1);
          m = new AdaptiveAvgPool2d(out);
          shape = [c, ...out];
          break;
        }
        case 'fmp': {
          const [c, h, w] = imageIn();
          fmps++;
          const fmp = new FractionalMaxPool2d({
            ratio: l.ratio as number | undefined,
            sequence: l.seq as 'random' | 'pseudorandom' | undefined,
            overlapping: l.overlap as boolean | undefined,
            outputSize: l.out as number | [number, number] | undefined,
            kernelSize: l.kernel as number | [number, number] | undefined,
            rng: root.fork(`fmp${fmps}`),
          });
          const [oh, ow] = fmp.outShape(h, w);
          if (fmp.kernelSize) {
            const [kh, kw] = fmp.kernelSize;
            if (oh < 1 || ow < 1 || oh + kh - 1 > h || ow + kw - 1 > w)
              throw new ModelSpecError(
                `${at}: output ${oh}×${ow} with kernel ${kh}×${kw} does not fit the input ${fmtShape(shape)} (need output + kernel − 1 ≤ input)`,
              );
          } else if (!(oh <= h && h <= 2 * oh && ow <= w && w <= 2 * ow)) {
            throw new ModelSpecError(
              `${at}: cannot pool ${h}×${w} into ${oh}×${ow} with steps of 1 or 2 (the output must be between half the input and the input)`,
            );
          }
          m = fmp;
          shape = [c, oh, ow];
          break;
        }
        case 'dropout':
          m = new Dropout((l.p as number | undefined) ?? 0.5);
          break;
        case 'dropout2d':
          if (shape.length < 2)
            throw new ModelSpecError(`${at}: drops whole channels of [C, H, W] (or [C, L]) but gets ${fmtShape(shape)}`);
          m = new Dropout2d((l.p as number | undefined) ?? 0.5);
          break;
        case 'batchnorm': {
          // statistics per feature of a flat [F] (or per channel of [C, L]), per channel of an image [C, H, W]
          if (shape.length > 3) throw new ModelSpecError(`${at}: normalises [F], [C, L] or [C, H, W] but gets ${fmtShape(shape)}`);
          const o = {
            eps: l.eps as number | undefined,
            momentum: l.momentum as number | undefined,
            affine: l.affine as boolean | undefined,
            trackRunningStats: l.track as boolean | undefined,
            dtype,
          };
          m = shape.length === 3 ? new BatchNorm2d(shape[0], o) : new BatchNorm1d(shape[0], o);
          break;
        }
        case 'layernorm':
          m = new LayerNorm(shape, { eps: l.eps as number | undefined, elementwiseAffine: l.affine as boolean | undefined, dtype });
          break;
        case 'groupnorm': {
          const groups = l.groups as number;
          if (shape[0] % groups)
            throw new ModelSpecError(
              `${at}: groups=${groups} must divide the channels (${shape[0]}, the first dimension of ${fmtShape(shape)})`,
            );
          m = new GroupNorm(groups, shape[0], { eps: l.eps as number | undefined, affine: l.affine as boolean | undefined, dtype });
          break;
        }
        case 'rmsnorm':
          m = new RMSNorm(shape, { eps: l.eps as number | undefined, elementwiseAffine: l.affine as boolean | undefined, dtype });
          break;
        case 'prelu': {
          const num = (l.num as number | undefined) ?? 1;
          if (num !== 1 && num !== shape[0])
            throw new ModelSpecError(
              `${at}: num=${num} must be 1 or the channels (${shape[0]}, the first dimension of ${fmtShape(shape)})`,
            );
          m = new PReLU({ numParameters: num, init: l.init as number | undefined, dtype });
          break;
        }
        case 'mish':
          m = new Mish();
          break;
        case 'hardswish':
          m = new Hardswish();
          break;
        case 'hardsigmoid':
          m = new Hardsigmoid();
          break;
        case 'selu':
          m = new SELU();
          break;
        case 'relu6':
          m = new ReLU6();
          break;
        case 'hardtanh': {
          const min = (l.min as number | undefined) ?? -1;
          const max = (l.max as number | undefined) ?? 1;
          if (!(min <= max)) throw new ModelSpecError(`${at}: min=${min} must be ≤ max=${max}`);
          m = new Hardtanh(min, max);
          break;
        }
        case 'flatten':
          m = new Flatten();
          shape = [shape.reduce((a, b) => a * b, 1)];
          break;
        case 'relu':
          m = new ReLU();
          break;
        case 'tanh':
          m = new Tanh();
          break;
        case 'sigmoid':
          m = new Sigmoid();
          break;
        case 'leakyrelu':
          m = new LeakyReLU((l.slope as number | undefined) ?? 0.01);
          break;
        case 'elu':
          m = new ELU((l.alpha as number | undefined) ?? 1);
          break;
        case 'gelu':
          m = new GELU((l.approximate as 'none' | 'tanh' | undefined) ?? 'none');
          break;
        case 'silu':
          m = new SiLU();
          break;
        case 'softplus':
          m = new Softplus((l.beta as number | undefined) ?? 1, (l.threshold as number | undefined) ?? 20);
          break;
      }
      if (masked && path === '' && !(m instanceof Embedding)) {
        const after = maskAfter(m);
        if (after === null)
          throw new ModelSpecError(
            `${at}: takes no padding mask, and the embedding's mask=true gives one; end the steps before it with seqmean or an lstm, gru or rnn without seq=true, or leave mask=true out`,
          );
        masked = after;
      }
      modules.push(m);
      shapes.push([...shape]);
    });
    return { modules, shapes };
  };
  const { modules, shapes } = list(layers, '');
  if (o.perStep) {
    if (shape.length !== 2 || shape[1] !== o.classes) {
      const last = layers.length - 1;
      throw new ModelSpecError(
        `${where(last, label(layers[last]))}: the model ends in ${fmtShape(shape)}, and a model with ${o.classes} classes at every step must end in [T, ${o.classes}]${shape.length === 1 ? ' (a recurrent layer gives every step with seq=true, e.g. lstm:256:seq=true; seqmean and flatten end the steps)' : ''}`,
      );
    }
  } else if (shape.length !== 1 || shape[0] !== o.classes) {
    const last = layers.length - 1;
    throw new ModelSpecError(
      `${where(last, label(layers[last]))}: the model ends in ${fmtShape(shape)} but the data has ${o.classes} classes, so it must end in [${o.classes}]${shape.length === 1 ? ` (write the last linear layer as linear:${o.classes}, or as linear to take the class count)` : shape.length === 2 ? ' (end a sequence with an lstm, gru or rnn without seq=true, with seqmean (the mean over its steps) or with flatten, then a linear layer)' : ' (end with flatten and a linear layer)'}`,
    );
  }
  return { model: new Sequential(...modules), shapes };
}

/** A ModelSpec (the interface of the built-in models) for a list of layers; its name is the canonical spec string. */
export function modelFromLayers(layers: LayerSpec[]): ModelSpec {
  const spec = formatModelSpec(layers);
  return {
    name: spec,
    summary: `custom model ${spec}`,
    input: specInput(layers),
    build: (o: ModelOptions) => {
      // The built-in models' dropout / dropconnect options have no place to go in a spec: say so.
      for (const k of ['dropout', 'dropconnect'] as const) {
        if (o[k])
          throw new ModelSpecError(
            `the ${k} option applies to the built-in models; write ${k} layers in the spec instead (e.g. ${k === 'dropout' ? 'linear:128,relu,dropout:0.5' : 'dropconnect:128:0.5:act=relu'})`,
          );
      }
      return buildFromLayers(layers, o).model;
    },
  };
}

export interface ResolveModelOptions {
  /** Reads a `.json` model file (the Node CLI passes fs.readFileSync); without it such paths are refused. */
  readFile?: (path: string) => string;
}

/**
 * The model `arg` names: a built-in model's name (mlp, logreg, cnn, fmp, lstm, transformer), a spec string, inline
 * JSON (starting with `[` or `{`), or the path of a `.json` file of layers. The ModelSpec of a spec
 * or a file is named by its canonical spec string, which rebuilds the same model.
 */
export function resolveModel(arg: string, opts: ResolveModelOptions = {}): ModelSpec {
  const s = String(arg).trim();
  const named = models.get(s);
  if (named) return named;
  if (/\.json$/i.test(s)) {
    if (!opts.readFile) throw new ModelSpecError(`${s}: reading a model file needs a readFile function (resolveModel(path, { readFile }))`);
    let text: string;
    try {
      text = opts.readFile(s);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new ModelSpecError(`${s}: ${code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? (e as Error).message})`}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new ModelSpecError(`${s}: not valid JSON (${(e as Error).message})`);
    }
    return modelFromLayers(layersFromJson(value, s));
  }
  if (s.startsWith('[') || s.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(s);
    } catch (e) {
      throw new ModelSpecError(`model JSON is not valid JSON (${(e as Error).message})`);
    }
    return modelFromLayers(layersFromJson(value));
  }
  const word = /^[A-Za-z0-9_]+$/.test(s);
  if (word && !(s.toLowerCase() in LAYERS) && !(s.toLowerCase() in ALIASES) && !RESIDUAL_NAMES.includes(s.toLowerCase())) {
    const names = [...models.keys()];
    throw new ModelSpecError(
      `unknown model "${s}"${didYouMean(s, [...names, ...Object.keys(LAYERS)])}; expected one of ${names.join(', ')}, a layer spec such as linear:128,relu,linear, or a .json file of layers`,
    );
  }
  return modelFromLayers(parseModelSpec(s));
}

/** The grammar in a few lines, for `--help`. */
export function modelSpecHelp(): string[] {
  return [
    'Model spec (--model): layers separated by commas, each name[:value…][:key=value…]; pairs are K or HxW.',
    ...Object.values(LAYERS)
      .filter((d) => d.positional.length || Object.keys(d.options).length)
      .map((d) => `  ${d.help}`),
    '  relu, tanh, sigmoid, silu, mish, hardswish, hardsigmoid, selu, relu6, flatten, transpose (a sequence [T, F] to [F, T]: between conv1d and lstm)',
    '  seqmean (the mean over the steps, [T, F] to [F]), posenc (sinusoidal position encoding)',
    "  A model with lstm, gru, rnn, conv1d, 1-D pools, attention, transformer or position layers reads one-channel samples [1, T, F] (a grey image's rows, an .npz (N, T, F)) as sequences [T, F].",
    '  res[layers] or res[layers;shortcut layers]: a residual block, body(x) + shortcut(x) (the identity when left out);',
    '    its layers are separated by commas, the shortcut follows one ";"; a ReLU after the sum is a layer after the block.',
    '    e.g. res[conv:16:3:pad=1,batchnorm,relu,conv:16:3:pad=1,batchnorm],relu',
    '    or res[conv:32:3:stride=2:pad=1,batchnorm,relu,conv:32:3:pad=1,batchnorm;conv:32:1:stride=2,batchnorm],relu',
    '  The last linear may omit its size (one output per class). A .json file holds the same layers: [{"type": "conv", "out": 32, "kernel": 5, "pad": 2}, ...];',
    '    a residual block is {"type": "residual", "body": [...], "shortcut": [...]}.',
    '  Example: --model conv:32:5:pad=2,relu,maxpool:2,conv:64:5:pad=2,relu,maxpool:2,flatten,linear:128,relu,linear:10 (the cnn model, bit for bit)',
  ];
}
