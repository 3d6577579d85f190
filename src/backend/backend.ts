/**
 * The kernel interface. Every numeric loop of descent sits behind it, so a faster implementation
 * (WebAssembly SIMD with threads, later WebGPU) can replace the plain TypeScript reference one op at
 * a time. Kernels take raw typed arrays and shapes, never Tensors, and write into `out` (allocated
 * by the caller, zero-filled unless stated), so they know nothing of autograd.
 *
 * The reference backend (reference.ts) is the test oracle: a faster backend is tested op by op
 * against it.
 *
 * `Backend` holds the primitives every backend implements. Anything more (a fused layer, a fused
 * optimizer update, memory of the backend's own) is an *extension*: a named, typed function in
 * `Extensions` that a backend registers beside itself (`registerBackend(b, extensions)`) and that
 * the op or module able to use it looks up with `extension(name)`. An op that finds none composes
 * primitives; so a backend implements the primitives first and each extension when it pays.
 */
import { allocStorage, type DType, type IndexStorage, type Storage } from '../tensor/tensor.js';
import { isDeviceStorage, type DeviceStorage } from '../tensor/device.js';
import type { Shape } from '../tensor/shape.js';

/**
 * `reluGrad` is ReLU's backward from its output b: 0 where b ≤ 0, else a (PyTorch's threshold_backward:
 * a NaN gradient is masked where b ≤ 0, and passes where b is NaN). `relu` is x ≤ 0 ? 0 : x, so NaN stays NaN.
 */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'gt' | 'lt' | 'eq' | 'reluGrad';
/**
 * The activations are PyTorch's CPU kernels formula for formula (ATen's Activation.cpp), each with
 * its derivative f′(x) beside it (their backward is g·f′(x)); those with scalars read them from
 * `unary`'s `p`, under PyTorch's names:
 *
 *   erf             the error function
 *   gelu            x·½·(1 + erf(x/√2))                            geluDeriv       Φ(x) + x·φ(x)
 *   geluTanh        ½x·(1 + tanh(√(2/π)·(x + 0.044715x³)))          geluTanhDeriv   its derivative as PyTorch writes it
 *   silu            x/(1 + e⁻ˣ)                                     siluDeriv       s·(1 + x·(1 − s)), s = 1/(1 + e⁻ˣ)
 *   leakyRelu       x > 0 ? x : x·p[0]  (negative_slope)            leakyReluDeriv  x > 0 ? 1 : p[0]
 *   elu             x ≤ 0 ? (eˣ − 1)·p[0] : x  (alpha)              eluDeriv        x > 0 ? 1 : p[0]·eˣ
 *   softplus        x·p[0] > p[1] ? x : log1p(e^(x·p[0]))/p[0]     softplusDeriv   x·p[0] > p[1] ? 1 : z/(z + 1), z = e^(x·p[0])
 *                   (beta, threshold)
 *   mish            x·tanh(log1p(eˣ))                               mishDeriv       t + x·σ(x)·(1 − t²), t = tanh(log1p(eˣ))
 *   hardswish       x·min(max(x + 3, 0), 6)/6                       hardswishDeriv  x < −3 ? 0 : x ≥ 3 ? 1 : x/3 + ½
 *   hardsigmoid     min(max(x + 3, 0), 6)/6                         hardsigmoidDeriv −3 < x < 3 ? ⅙ (float32's 1.0f/6.0f) : 0
 *   selu            x ≤ 0 ? (eˣ − 1)·p[0] : x·p[1]                  seluDeriv       x > 0 ? p[1] : p[0]·eˣ
 *                   (alpha·scale, scale)
 *   hardtanh        min(p[1], max(p[0], x))  (min_val, max_val)     hardtanhDeriv   p[0] < x < p[1] ? 1 : 0
 *                   (max(a, b) = a ≥ b ? a : b, min(a, b) = a ≤ b ? a : b, the binary ops')
 *
 * Each comparison is written so that NaN takes the branch PyTorch's vectorised kernels take:
 * leakyReluDeriv(NaN) is p[0], hardsigmoidDeriv(NaN) and hardtanhDeriv(NaN) 0 (PyTorch's gradients
 * there are finite); every other op gives NaN (the clamps of hardswish, hardsigmoid and hardtanh pass
 * it, as PyTorch's clamp does).
 */
export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'abs'
  | 'sign'
  | 'relu'
  | 'step'
  | 'sigmoid'
  | 'tanh'
  | 'square'
  | 'recip'
  | ActivationOp;
export type ActivationOp =
  | 'erf'
  | 'gelu'
  | 'geluDeriv'
  | 'geluTanh'
  | 'geluTanhDeriv'
  | 'silu'
  | 'siluDeriv'
  | 'leakyRelu'
  | 'leakyReluDeriv'
  | 'elu'
  | 'eluDeriv'
  | 'softplus'
  | 'softplusDeriv'
  | 'mish'
  | 'mishDeriv'
  | 'hardswish'
  | 'hardswishDeriv'
  | 'hardsigmoid'
  | 'hardsigmoidDeriv'
  | 'selu'
  | 'seluDeriv'
  | 'hardtanh'
  | 'hardtanhDeriv';

/**
 * The activation a fused dense layer (the `linear` extension, the `dense` op) applies to
 * z = x·wᵀ + bias: none, ReLU, GELU (erf form 'gelu', PyTorch's tanh approximation 'geluTanh') or
 * SiLU, each with the formula of its UnaryOp.
 */
export type LinearActivation = 'none' | 'relu' | 'gelu' | 'geluTanh' | 'silu';

/** The activations whose backward multiplies by f′(z) (ReLU's needs only its output's sign). */
export type SmoothLinearActivation = Exclude<LinearActivation, 'none' | 'relu'>;

/** The UnaryOp of each smooth activation's f′: its backward is gy·f′(z). */
export const LINEAR_ACTIVATION_DERIV: Readonly<Record<SmoothLinearActivation, ActivationOp>> = {
  gelu: 'geluDeriv',
  geluTanh: 'geluTanhDeriv',
  silu: 'siluDeriv',
};

/** True for the activations whose backward multiplies by f′(z) (`deriv` of `linear`). */
export const isSmoothLinearActivation = (a: LinearActivation): a is SmoothLinearActivation => a in LINEAR_ACTIVATION_DERIV;

export interface Conv2dGeometry {
  n: number;
  c: number;
  h: number;
  w: number; // input N, C, H, W
  k: number;
  kh: number;
  kw: number; // output channels, kernel height/width
  oh: number;
  ow: number; // output height/width
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  /** Spacing of the filter taps (PyTorch's dilation, ≥ 1): tap (i, j) reads input row y·strideH − padH + i·dilationH. */
  dilationH: number;
  dilationW: number;
  /**
   * Channel groups (≥ 1, dividing c and k): output channel o reads only the c/groups input channels
   * of its group ⌊o / (k/groups)⌋, and the weight is [k, c/groups, kh, kw].
   */
  groups: number;
}

/** A 2-d pooling window layout over NCHW planes (PyTorch's, ceil_mode false). */
export interface PoolGeometry {
  n: number;
  c: number;
  h: number;
  w: number; // input N, C, H, W
  kh: number;
  kw: number;
  oh: number;
  ow: number; // window height/width, output height/width
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

export interface Backend {
  readonly name: string;
  /** out[m×n] = op(a)·op(b) where op(a) is m×k and op(b) is k×n; a transposed operand is read in place. */
  matmul(a: Storage, b: Storage, out: Storage, m: number, n: number, k: number, transA: boolean, transB: boolean): void;
  /** Elementwise with NumPy broadcasting; outShape = broadcast(aShape, bShape). */
  binary(op: BinaryOp, a: Storage, aShape: Shape, b: Storage, bShape: Shape, out: Storage, outShape: Shape): void;
  /** out = op(a) elementwise; `p` holds the op's scalars (see UnaryOp; the others ignore it). */
  unary(op: UnaryOp, a: Storage, out: Storage, p?: readonly number[]): void;
  /** Sum over `axes`; out has the shape with those axes set to 1 (keepdim layout). */
  sum(a: Storage, shape: Shape, axes: readonly number[], out: Storage): void;
  /** Max over one axis; `arg` (if given) receives the index along the axis of each maximum. */
  max(a: Storage, shape: Shape, axis: number, out: Storage, arg: IndexStorage | null): void;
  /**
   * Row-wise log-softmax of a rows×cols matrix (numerically stable: shifts by the row max); with
   * `probs`, the softmax as well, from the same exponentials (the cross-entropy's backward).
   */
  logSoftmax(a: Storage, rows: number, cols: number, out: Storage, probs?: Storage | null): void;
  /** Cross-correlation, NCHW input, KCHW weight (PyTorch's conv2d). */
  conv2d(x: Storage, w: Storage, out: Storage, g: Conv2dGeometry): void;
  /** Gradient of conv2d with respect to its input, given the output gradient. */
  conv2dBackwardInput(gy: Storage, w: Storage, gx: Storage, g: Conv2dGeometry): void;
  /** Gradient of conv2d with respect to its weight, given the output gradient. */
  conv2dBackwardWeight(x: Storage, gy: Storage, gw: Storage, g: Conv2dGeometry): void;
  /**
   * Max pooling as PyTorch picks the maximum (padding is −∞, the first maximum in row-major order
   * wins, a NaN wins — the last one): `out` gets each window's maximum, `idx` its offset within the
   * input [H, W] plane.
   */
  maxPool2d(x: Storage, out: Storage, idx: IndexStorage, g: PoolGeometry): void;
  /**
   * The adjoint of a gather inside planes (max pooling's backward, and fractional max pooling's):
   * gx[pl·inPlane + idx[pl·outPlane + p]] += gy[pl·outPlane + p] for `planes` planes, into a gx
   * that the kernel zero-fills first.
   */
  scatterPlanes(gy: Storage, idx: IndexStorage, gx: Storage, planes: number, inPlane: number, outPlane: number): void;
  /** PyTorch's avg_pool2d (ceil_mode false): the divisor counts padded cells when `countIncludePad`. */
  avgPool2d(x: Storage, out: Storage, g: PoolGeometry, countIncludePad: boolean): void;
  /** The transpose of avgPool2d (its backward): spreads each gy over its window, into gx (zero-filled by the kernel). */
  avgPool2dBackward(gy: Storage, gx: Storage, g: PoolGeometry, countIncludePad: boolean): void;
}

/** Adam/AdamW hyper-parameters for the adamStep extension; `step` is t ≥ 1 (after increment). */
export interface AdamStepHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: p ← p·(1 − lr·wd) instead of adding wd·p to the gradient. */
  decoupled: boolean;
  maximize: boolean;
  step: number;
}

/** SGD hyper-parameters for the sgdStep extension; `first` means the momentum buffer is set to the gradient. */
export interface SgdStepHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  first: boolean;
}

/**
 * RMSprop hyper-parameters for the rmspropStep extension (see src/optim/rmsprop.ts). Centering is
 * on when the kernel gets a gradAvg buffer, momentum when it gets a momentumBuffer.
 */
export interface RmspropStepHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  maximize: boolean;
  /** Keras/TF: d ← √(v − ḡ² + ε) or √(v + ε). */
  epsInsideSqrt: boolean;
  /** Keras/TF: b ← μ b + η g / d;  θ ← θ − b. */
  lrInsideMomentum: boolean;
}

/** Adagrad hyper-parameters for the adagradStep extension (see src/optim/adagrad.ts); `step` is t ≥ 1 (after increment). */
export interface AdagradStepHyper {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  eps: number;
  maximize: boolean;
  /** TensorFlow.js: θ ← θ − η g / √(s + ε). */
  epsInsideSqrt: boolean;
  step: number;
}

/** Adadelta hyper-parameters for the adadeltaStep extension (see src/optim/adadelta.ts). */
export interface AdadeltaStepHyper {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

/** The cells of the recurrent layers: Elman with tanh or ReLU, LSTM (gates i, f, g, o), GRU (r, z, n). */
export type RecurrentCell = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

/** One operand of an attention call: its storage, where its first value is (floats), and its strides in floats between sequences, heads and positions (a head's values contiguous). */
export interface AttentionOperand {
  readonly data: Storage;
  readonly offset: number;
  readonly strides: readonly [number, number, number];
}

/**
 * Scaled dot-product attention of N sequences of `heads` heads (extensions attention and
 * attentionBackward): queries q (lq positions of dk values), keys k (lk of dk) and values v (lk of
 * dv), each at its own strides, so MultiheadAttention's packed projection [N, L, 3, H, D] is read
 * in place as three operands of one storage. Scores scale·(q_i·k_j), with `causal` no weight on
 * keys after the query (j > i); the softmax's weights times `mask` [N, H, lq, lk] (the dropout
 * mask, null for none) weight the values; the output is written at `outStrides` from offset 0.
 */
export interface AttentionArgs {
  readonly q: AttentionOperand;
  readonly k: AttentionOperand;
  readonly v: AttentionOperand;
  readonly outStrides: readonly [number, number, number];
  readonly mask: Storage | null;
  readonly n: number;
  readonly heads: number;
  readonly lq: number;
  readonly lk: number;
  readonly dk: number;
  readonly dv: number;
  readonly scale: number;
  readonly causal: boolean;
}

/**
 * One step of a fused recurrent layer's forward (extension recurrentStep), on a batch of N rows
 * with H hidden units and G gate blocks per row (RNN 1, LSTM 4, GRU 3; G·H columns, PyTorch's
 * order). Inputs: x [N, G·H] the step's input projection x_t·W_ihᵀ + b_ih (+ b_hh but for the GRU),
 * hPrev [N, H] (null: zeros, and the product h_{t−1}·W_hhᵀ is skipped), w = W_hh [G·H, H], bHh the
 * GRU's b_hh [G·H] (null: none), cPrev the LSTM's c_{t−1} [N, H] (null: zeros). Outputs: acts
 * [N, G·H] the gate activations (RNN h_t; LSTM σ(i), σ(f), tanh(g), σ(o); GRU r, z, n), h [N, H]
 * h_t, and the LSTM's c [N, H] c_t and tc [N, H] tanh(c_t), the GRU's hn [N, H] W_hn h_{t−1} + b_hn.
 * `firstStep` is true on the first step of a pass: the steps after it, up to the next first step,
 * come at once with the same w, so the backend may keep what it derives from w (a packed copy).
 * `xWritable`: nothing reads x after the step, so the backend may accumulate the product into it
 * in place.
 */
export interface RecurrentStepArgs {
  cell: RecurrentCell;
  N: number;
  H: number;
  x: Storage;
  hPrev: Storage | null;
  w: Storage;
  bHh: Storage | null;
  cPrev: Storage | null;
  acts: Storage;
  h: Storage;
  c: Storage | null;
  tc: Storage | null;
  hn: Storage | null;
  firstStep: boolean;
  xWritable?: boolean;
}

/**
 * One step of a fused recurrent layer's backward through time (extension recurrentStepBackward),
 * from what the forward step wrote (acts, the LSTM's tc and cPrev, the GRU's hn and hPrev; a null
 * cPrev or hPrev: zeros) and dH = dh + gy, dh the gradient of h_t from later steps, gy the output's:
 * gx [N, G·H] ← the gradient of the step's pre-activations (that of x); the GRU's ghp [N, G·H] ←
 * that of h_{t−1}·W_hhᵀ + b_hh (its n block is gx's times r); the LSTM's dc [N, H], dL/dc_t on
 * entry, ← dL/dc_{t−1}; dh ← dL/dh_{t−1}: the GRU's direct path dH ∘ z, plus (when `prev`) the
 * product's part gx·W_hh (GRU: ghp·W_hh). Without `prev` (no gradient asked for h_{t−1}) the
 * product is skipped. `firstStep` as in RecurrentStepArgs.
 */
export interface RecurrentStepBackwardArgs {
  cell: RecurrentCell;
  N: number;
  H: number;
  acts: Storage;
  tc: Storage | null;
  cPrev: Storage | null;
  hn: Storage | null;
  hPrev: Storage | null;
  w: Storage;
  gy: Storage;
  dh: Storage;
  dc: Storage | null;
  gx: Storage;
  ghp: Storage | null;
  prev: boolean;
  firstStep: boolean;
}

/**
 * One step of a fused recurrent layer on a device (extension recurrentGates), after the product
 * hp = h_{t−1}·W_hhᵀ: the gate pass, reading and writing the layer's buffers at element offsets
 * (a device buffer has no subarray views). Step s of the processing order is time t (t = s, or
 * T − 1 − s in reverse). Writes h_t into hs at hOff + N·H, into `h` (alone, the next product's
 * operand) and into y at yOff; the LSTM reads c_{t−1} from cs at hOff and writes c_t at hOff + N·H
 * (and into y at cLast when cLast ≥ 0: the final c after the T rows of h); the GRU reads h_{t−1}
 * from hs at hOff. The gate activations the backward reads go to acts at aOff: [N, 4H] per step,
 * the LSTM's i, f, g, o, the GRU's r, z, n and W_hn h_{t−1} + b_hn; the RNN keeps none (its
 * backward reads h_t from hs).
 */
export interface RecurrentGatesArgs {
  cell: RecurrentCell;
  N: number;
  H: number;
  /** XP [T·N, G·H] time-major; the step's rows from xOff. */
  xp: Storage;
  xOff: number;
  /** h_{t−1}·W_hhᵀ [N, G·H]. */
  hp: Storage;
  /** The GRU's b_hh [G·H] (inside r ∘ (W_hn h + b_hn)), or null. */
  bHh: Storage | null;
  /** [(T + 1)·N·H], processing order: the initial state, then h after each step. */
  hs: Storage;
  hOff: number;
  /** The LSTM's cell states, as hs; null for the other cells. */
  cs: Storage | null;
  acts: Storage | null;
  aOff: number;
  h: Storage;
  y: Storage;
  yOff: number;
  cLast: number;
}

/**
 * A step of the backward through time on a device (extension recurrentGatesBackward), from the
 * forward's buffers: dL/dh_t = gy at yOff (the output's) + dh (dZ_{t+1}·W_hh) + the GRU's carry
 * (z_{t+1} ∘ dL/dh_{t+1}); the LSTM's carry is dL/dc_t on entry (plus gy at cLast when cLast ≥ 0,
 * the final c's) and dL/dc_{t−1} on exit; the GRU's carry becomes z_t ∘ dL/dh_t. Writes the
 * gradient of the step's pre-activations: into dxp at xOff (time order, that of XP) and, as the
 * gradient of h_{t−1}·W_hhᵀ (+ b_hh) — the GRU's n block times r — into dz at zOff (processing
 * order, for dW_hh = dZᵀ·hs as one product) and into dzs [N, G·H] alone (the next product's operand).
 */
export interface RecurrentGatesBackwardArgs {
  cell: RecurrentCell;
  N: number;
  H: number;
  gy: Storage;
  yOff: number;
  cLast: number;
  dh: Storage;
  acts: Storage | null;
  aOff: number;
  hs: Storage;
  hOff: number;
  cs: Storage | null;
  carry: Storage | null;
  dz: Storage;
  zOff: number;
  dzs: Storage;
  dxp: Storage;
  xOff: number;
}

/**
 * The extensions a backend may register (all optional). Each one that can decline returns false
 * when it does not handle its arguments (a dtype, a size, memory it does not own) and has then
 * written nothing; the caller composes primitives instead.
 */
export interface Extensions {
  /**
   * Fused fully connected layer: out[m×n] = act(z), z = x[m×k]·w[n×k]ᵀ + bias, in one call (the
   * bias and the activation applied while the result is still in the backend's memory). With a
   * smooth activation (gelu, geluTanh, silu) and `deriv` not null, f′(z) is written to `deriv`
   * [m×n] too: the factor of linearBackward (null when no gradient will be asked for); `deriv` is
   * null with the others. A backend that does not implement `act` declines.
   */
  linear(
    x: Storage,
    w: Storage,
    bias: Storage | null,
    out: Storage,
    m: number,
    n: number,
    k: number,
    act: LinearActivation,
    deriv: Storage | null,
  ): boolean;
  /**
   * Backward of `linear` in one call: gz = gy where y > 0 (relu; `saved` is the forward's output
   * y), gy·f′(z) (gelu, geluTanh, silu; `saved` is f′(z), the forward's `deriv`) or gy (none;
   * `saved` is null), then gx = gz·w, gw = gzᵀ·x and gb = the column sums of gz, for those of gx,
   * gw, gb that are not null. With `accumulateGw`, gw += gzᵀ·x (gw is a parameter's gradient buffer).
   */
  linearBackward(
    gy: Storage,
    x: Storage,
    w: Storage,
    saved: Storage | null,
    gx: Storage | null,
    gw: Storage | null,
    gb: Storage | null,
    m: number,
    n: number,
    k: number,
    act: LinearActivation,
    accumulateGw: boolean,
  ): boolean;
  /** Fused convolution layer: out = conv2d(x, w) + bias per output channel (+ ReLU when `relu`), like `linear`. */
  convLayer(x: Storage, w: Storage, bias: Storage | null, out: Storage, g: Conv2dGeometry, relu: boolean): boolean;
  /**
   * Backward of `convLayer` in one call, like `linearBackward`: gz = relu ? gy where y > 0 : gy,
   * then gx (conv2dBackwardInput of gz), gw (conv2dBackwardWeight of gz; with `accumulateGw` added
   * into gw) and gb (the sums of gz over images and pixels), for those that are not null.
   */
  convLayerBackward(
    gy: Storage,
    x: Storage,
    w: Storage,
    y: Storage | null,
    gx: Storage | null,
    gw: Storage | null,
    gb: Storage | null,
    g: Conv2dGeometry,
    accumulateGw: boolean,
  ): boolean;
  /**
   * Fused convolution layer followed by max pooling (PyTorch's Conv2d, ReLU, MaxPool2d): out and
   * idx are what maxPool2d gives on convLayer's output, which is never materialised.
   */
  convPoolLayer(
    x: Storage,
    w: Storage,
    bias: Storage | null,
    out: Storage,
    idx: IndexStorage,
    g: Conv2dGeometry,
    pg: PoolGeometry,
    relu: boolean,
  ): boolean;
  /**
   * Backward of `convPoolLayer` from the pooled output's gradient gp: gz = gp scattered to `idx`
   * (kept where `pooled` > 0 when relu), then gx, gw, gb as convLayerBackward.
   */
  convPoolLayerBackward(
    gp: Storage,
    pooled: Storage,
    idx: IndexStorage,
    x: Storage,
    w: Storage,
    gx: Storage | null,
    gw: Storage | null,
    gb: Storage | null,
    g: Conv2dGeometry,
    pg: PoolGeometry,
    relu: boolean,
    accumulateGw: boolean,
  ): boolean;
  /**
   * Batch normalisation over x laid out [n, c, inner], per channel (the middle dimension): with
   * `batchStats` each channel's mean and biased variance are computed into `mean` and `variance`
   * (float64), else read from them; out = (x − mean)/√(variance + eps)·weight + bias (weight and
   * bias null: 1 and 0), then ReLU (v ≤ 0 ? 0 : v) when `relu`.
   */
  batchNorm(
    x: Storage,
    out: Storage,
    n: number,
    c: number,
    inner: number,
    mean: Float64Array,
    variance: Float64Array,
    eps: number,
    batchStats: boolean,
    weight: Storage | null,
    bias: Storage | null,
    relu: boolean,
  ): boolean;
  /**
   * Backward of `batchNorm` given the channels' mean and invstd = 1/√(variance + eps): gz = relu ?
   * gy where y > 0 or NaN : gy; sums[c] = Σ gz and sums[C + c] = Σ gz·(x − mean)·invstd (the bias'
   * and weight's gradients); gx = k·(gz − sums[c]/count − (x − mean)·invstd·sums[C + c]/count) with
   * batch statistics (PyTorch's batch_norm_backward), else k·gz, where k = invstd·weight.
   */
  batchNormBackward(
    gy: Storage,
    x: Storage,
    y: Storage | null,
    gx: Storage,
    n: number,
    c: number,
    inner: number,
    mean: Float64Array,
    invstd: Float64Array,
    weight: Storage | null,
    batchStats: boolean,
    sums: Float64Array,
  ): boolean;
  /**
   * `batchNorm` with ReLU (when `relu`) followed by max pooling over x [pg.n, pg.c, pg.h, pg.w]:
   * out and idx are what maxPool2d gives on batchNorm's output, which is never a tensor of its own.
   */
  batchNormPool(
    x: Storage,
    out: Storage,
    idx: IndexStorage,
    pg: PoolGeometry,
    mean: Float64Array,
    variance: Float64Array,
    eps: number,
    batchStats: boolean,
    weight: Storage | null,
    bias: Storage | null,
    relu: boolean,
  ): boolean;
  /**
   * Backward of `batchNormPool` from the pooled output's gradient gp: gz = gp scattered to `idx`
   * (kept where `pooled` > 0 or NaN when relu), then gx and sums as batchNormBackward.
   */
  batchNormPoolBackward(
    gp: Storage,
    pooled: Storage,
    idx: IndexStorage,
    x: Storage,
    gx: Storage,
    pg: PoolGeometry,
    mean: Float64Array,
    invstd: Float64Array,
    weight: Storage | null,
    batchStats: boolean,
    relu: boolean,
    sums: Float64Array,
  ): boolean;
  /**
   * A batch of products in one call: out[z] (m×n, at z·m·n) = op(a[z])·op(b[z]) for z < batch,
   * operand z of a at z·strideA (of b at z·strideB), op transposing an operand read in place as
   * `matmul` does; a stride of 0 shares one matrix among the batch (a broadcast operand).
   */
  batchedMatmul(
    a: Storage,
    b: Storage,
    out: Storage,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
  ): boolean;
  /** out = x of shape `shape` with its dimensions reordered: output dimension i is x's dimension perm[i] (torch.permute, a copy). */
  permute(x: Storage, shape: Shape, perm: readonly number[], out: Storage): boolean;
  /** torch.where: out = cond ≠ 0 ? a : b elementwise, the three broadcast to outShape as `binary` broadcasts. */
  where(cond: Storage, cShape: Shape, a: Storage, aShape: Shape, b: Storage, bShape: Shape, out: Storage, outShape: Shape): boolean;
  /** An embedding lookup: out[i, :] = w[rows[i], :] for `count` rows of `dim`, or zeros where rows[i] is `skip` (−1: none). */
  embeddingGather(w: Storage, rows: IndexStorage, out: Storage, count: number, dim: number, skip: number): boolean;
  /**
   * Fractional max pooling's arg-max (Graham's variants): for x [n, c, h, w], idx[p][i][j] = the
   * offset within plane p of the maximum over rows [r0[i], r1[i]) × columns [c0[j], c1[j]) of image
   * p / c's windows; `rows` holds per image its oh starts then its oh ends, `cols` its ow starts
   * then ow ends. The first maximum in row-major order wins, a NaN wins (the last one), and an all
   * −∞ window gives its first cell (src/nn/fmp.ts's loop, which runs where this returns false).
   */
  fmpArgmax(
    x: Storage,
    idx: Int32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    rows: Int32Array,
    cols: Int32Array,
    oh: number,
    ow: number,
  ): boolean;
  /**
   * The lookup's backward as a sorted scatter-add: gw[r, :] = Σ g[order[q], :] for q from starts[r]
   * to starts[r + 1] − 1 in that order, for the `num` rows of gw [num, dim] (`starts` has num + 1
   * entries; the host sorts the positions by row, so the sums are deterministic).
   */
  embeddingScatter(g: Storage, starts: IndexStorage, order: IndexStorage, gw: Storage, num: number, dim: number): boolean;
  /**
   * One operand of a concatenation written into its place (torch.cat, one operand at a time): seen
   * as `outer` rows, x's row o (`row` elements) goes to offset `at` of out's row o (`outRow`
   * elements); the rest of out keeps what it holds. Device backends implement it; the host's cat
   * copies blocks itself.
   */
  catPiece(x: Storage, out: Storage, outer: number, row: number, outRow: number, at: number): boolean;
  /**
   * One step of a fused recurrent layer's forward: the product h_{t−1}·W_hhᵀ and the gate pass
   * (see RecurrentStepArgs). The wasm backend runs it for float32 (SIMD σ and tanh with the bits
   * of its unary kernels); elsewhere recurrent-fused.ts runs the same step in JavaScript. Optional
   * here, as the next: the fused recurrent layers run on host backends only, so a device backend
   * need not even decline them.
   */
  recurrentStep?(s: RecurrentStepArgs): boolean;
  /** One step of a fused recurrent layer's backward through time: the gate pass and the product for dh_{t−1} (see RecurrentStepBackwardArgs). */
  recurrentStepBackward?(s: RecurrentStepBackwardArgs): boolean;
  /** A fused recurrent layer's gate pass on a device (see RecurrentGatesArgs); device backends implement it. */
  recurrentGates(s: RecurrentGatesArgs): boolean;
  /** Its backward (see RecurrentGatesBackwardArgs). */
  recurrentGatesBackward(s: RecurrentGatesBackwardArgs): boolean;
  /**
   * Layer normalisation of `rows` contiguous rows of `features` values, with the affine:
   * out = (x − μ)·invstd·w + b per row (w, b per feature; null: 1 and 0), μ and invstd =
   * 1/√(biased variance + eps) of each row written to `mean` and `invstd`. Optional: a host
   * backend's op (a device normalises with composed ops).
   */
  layerNorm?(
    x: Storage,
    w: Storage | null,
    b: Storage | null,
    out: Storage,
    rows: number,
    features: number,
    eps: number,
    mean: Float64Array,
    invstd: Float64Array,
  ): boolean;
  /**
   * layerNorm's backward from the forward's `mean` and `invstd`: with x̂ = (x − μ)·invstd and
   * ĝ = g·w, gx = invstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) over each row; gw = Σ_rows g·x̂ and
   * gb = Σ_rows g (each written, not accumulated; null: not wanted).
   */
  layerNormBackward?(
    g: Storage,
    x: Storage,
    w: Storage | null,
    mean: Float64Array,
    invstd: Float64Array,
    gx: Storage,
    gw: Storage | null,
    gb: Storage | null,
    rows: number,
    features: number,
  ): boolean;
  /**
   * RMS normalisation of `rows` contiguous rows of `features` values (src/nn/rmsnorm.ts):
   * out = x·r·w per row (w per feature; null: 1), r = 1/√(mean(x²) + eps) of each row written to
   * `r`. Optional: a host backend's op (the reference's is the JavaScript loop of rmsnorm.ts, a
   * device normalises with composed ops).
   */
  rmsNorm?(x: Storage, w: Storage | null, out: Storage, rows: number, features: number, eps: number, r: Float64Array): boolean;
  /**
   * rmsNorm's backward from the forward's `r`: with ĝ = g·w, gx = r·ĝ − x·r³·mean(ĝ·x) over each
   * row; gw = Σ_rows g·x·r (written, not accumulated; null: not wanted).
   */
  rmsNormBackward?(
    g: Storage,
    x: Storage,
    w: Storage | null,
    r: Float64Array,
    gx: Storage,
    gw: Storage | null,
    rows: number,
    features: number,
  ): boolean;
  /**
   * Scaled dot-product attention (see AttentionArgs) into `out`, the softmax P [N, H, lq, lk]
   * before dropout into `probs`. Optional: a host backend's op (the reference's, and a device's,
   * is the composition of src/autograd/attention.ts).
   */
  attention?(a: AttentionArgs, out: Storage, probs: Storage): boolean;
  /** attention's backward from its `probs`: the gradients of q, k and v for the output's gradient `g` (at g's own operand's offset and strides; one storage may take several; every element written). */
  attentionBackward?(a: AttentionArgs, g: Storage, probs: Storage, gq: Storage, gk: Storage, gv: Storage): boolean;
  /**
   * A dropout mask drawn as src/autograd/dropout-mask.ts draws it in JavaScript: mask[i] = keep
   * where the i-th nextU32() of the generator whose four words are `words` is ≥ threshold, else 0;
   * `words` is advanced in place past the last draw, so the masks equal the JavaScript ones bit
   * for bit (same seed, same masks on every backend). Optional: a mask is drawn into a host array,
   * so a device backend need not even decline it.
   */
  dropoutMask?(mask: Storage, threshold: number, keep: number, words: Int32Array): boolean;
  /** dropoutMask's mask into `mask` and out = x·mask, in one call (a dropout's forward). Optional, as dropoutMask. */
  dropout?(x: Storage, out: Storage, mask: Storage, threshold: number, keep: number, words: Int32Array): boolean;
  /** a.fill(0) for an array in the backend's own memory (wasm: memset, where TypedArray.fill on shared memory is an element loop). */
  zero(a: Storage): boolean;
  /**
   * Zeroed storage like `p` in the backend's own memory, for arrays that live as long as a model
   * (parameters, gradient buffers, optimizer state), so fused kernels read them in place; null
   * means "keep a plain typed array".
   */
  allocLike(p: Storage): Storage | null;
  /** One fused Adam/AdamW update in place (PyTorch's equations, see src/optim/adam.ts); the optimizer's acceleration table decides when it applies. */
  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, vMax: Storage | null, h: AdamStepHyper): boolean;
  /** One fused SGD update in place (see src/optim/sgd.ts). */
  sgdStep(param: Storage, grad: Storage, momentumBuffer: Storage | null, h: SgdStepHyper): boolean;
  /** One fused RMSprop update in place (see src/optim/rmsprop.ts): centered with `gradAvg`, with momentum with `momentumBuffer`. */
  rmspropStep(
    param: Storage,
    grad: Storage,
    squareAvg: Storage,
    gradAvg: Storage | null,
    momentumBuffer: Storage | null,
    h: RmspropStepHyper,
  ): boolean;
  /** One fused Adagrad update in place (see src/optim/adagrad.ts); `sum` is the accumulator. */
  adagradStep(param: Storage, grad: Storage, sum: Storage, h: AdagradStepHyper): boolean;
  /** One fused Adadelta update in place (see src/optim/adadelta.ts): squareAvg is E[g²], accDelta E[Δθ²]. */
  adadeltaStep(param: Storage, grad: Storage, squareAvg: Storage, accDelta: Storage, h: AdadeltaStepHyper): boolean;
  /**
   * Runs `run`, during which fused updates may be queued instead of run at once; all of them are
   * done when this returns (PyTorch's multi-tensor "foreach" updates). The optimizer wraps one step
   * over all its parameters in it (wasm: one threaded call for every parameter).
   */
  batchUpdates(run: () => void): void;
  /**
   * Zero-filled storage of `length` elements on the backend's device. A backend whose tensors live
   * in storage the host cannot read synchronously (WebGPU) registers it: its presence is what makes
   * a backend a *device* backend, whose kernels ops call whenever an operand lives there (see
   * `kernelsFor`).
   */
  allocDevice(dtype: 'float32' | 'int32', length: number): DeviceStorage;
  /**
   * Starts recording the device storage allocated from now on; the returned function frees every
   * recorded storage not in `keep` (and stops recording). The training loop wraps each step in it,
   * keeping the parameters, their gradients and the optimizer state, so a step's activations and
   * gradients go back to the device at once instead of whenever the garbage collector reclaims
   * their wrappers. `keep` may be a function giving the set: it is called only when the scope
   * recorded something (finding what to keep is not free, and a step may allocate nothing there).
   */
  beginStep(): (keep: ReadonlySet<Storage> | (() => ReadonlySet<Storage>)) => void;
}

export type ExtensionName = keyof Extensions;

/** What a backend module hands over: its primitives and, beside them, the extensions it implements. */
export type KernelSet = Partial<Backend> & Partial<Extensions>;

/** Every extension's name, checked against `Extensions` by the compiler (a missing or extra name fails to build). */
const EXTENSION_NAMES = {
  linear: true,
  linearBackward: true,
  convLayer: true,
  convLayerBackward: true,
  convPoolLayer: true,
  convPoolLayerBackward: true,
  batchNorm: true,
  batchNormBackward: true,
  batchNormPool: true,
  batchNormPoolBackward: true,
  batchedMatmul: true,
  permute: true,
  where: true,
  embeddingGather: true,
  embeddingScatter: true,
  fmpArgmax: true,
  catPiece: true,
  recurrentStep: true,
  recurrentStepBackward: true,
  recurrentGates: true,
  recurrentGatesBackward: true,
  layerNorm: true,
  layerNormBackward: true,
  attention: true,
  attentionBackward: true,
  rmsNorm: true,
  rmsNormBackward: true,
  dropoutMask: true,
  dropout: true,
  zero: true,
  allocLike: true,
  adamStep: true,
  sgdStep: true,
  rmspropStep: true,
  adagradStep: true,
  adadeltaStep: true,
  batchUpdates: true,
  allocDevice: true,
  beginStep: true,
} satisfies Record<ExtensionName, true>;

/** A kernel set split into the primitives that override another backend's and the extensions registered beside them. */
export function splitKernels(set: KernelSet): { primitives: Partial<Backend>; extensions: Partial<Extensions> } {
  const primitives: Record<string, unknown> = {};
  const extensions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(set)) (k in EXTENSION_NAMES ? extensions : primitives)[k] = v;
  return { primitives: primitives as Partial<Backend>, extensions: extensions as Partial<Extensions> };
}

let current: Backend | null = null;
let currentExt: Partial<Extensions> = {};
const registry = new Map<string, Backend>();
const extensionsByBackend = new Map<string, Partial<Extensions>>();

/** Registers `b` (the first one registered becomes current) with the extensions it implements. */
export function registerBackend(b: Backend, extensions: Partial<Extensions> = {}): void {
  const own: Partial<Extensions> = {};
  for (const [k, f] of Object.entries(extensions)) if (typeof f === 'function') (own as Record<string, unknown>)[k] = f;
  registry.set(b.name, b);
  extensionsByBackend.set(b.name, own);
  deviceKernelCache.delete(b.name);
  currentKernels = null;
  if (!current) current = b;
  if (current === b || current.name === b.name) {
    current = b;
    currentExt = own;
  }
}

/** The current backend's implementation of extension `name`, or undefined (then compose primitives). */
export function extension<K extends ExtensionName>(name: K): Extensions[K] | undefined {
  return currentExt[name];
}

/** The extensions a registered backend implements (empty for an unknown name). */
export function extensionsOf(backendName: string): Readonly<Partial<Extensions>> {
  return extensionsByBackend.get(backendName) ?? {};
}

/** The backend every op dispatches to. */
export function backend(): Backend {
  if (!current) throw new Error('no backend registered');
  return current;
}

const hints = new Map<string, string>();

/** Names a backend that exists but must be initialised before use; setBackend says how. */
export function registerBackendHint(name: string, howToInit: string): void {
  hints.set(name, howToInit);
}

/** How to initialise backend `name` when it is known but not registered yet (registerBackendHint), else undefined. */
export function backendHint(name: string): string | undefined {
  return registry.has(name) ? undefined : hints.get(name);
}

export function setBackend(name: string): Backend {
  const b = registry.get(name);
  if (!b && hints.has(name)) throw new Error(`setBackend: backend "${name}" is not initialised yet; ${hints.get(name)}`);
  if (!b) throw new Error(`setBackend: unknown backend "${name}"; available: ${[...registry.keys()].join(', ')}`);
  current = b;
  currentExt = extensionsByBackend.get(name) ?? {};
  currentKernels = null;
  return b;
}

export function backendNames(): string[] {
  return [...registry.keys()];
}

/** True when `name` is a registered backend with device storage (extension `allocDevice`). */
export function isDeviceBackend(name: string): boolean {
  return typeof extensionsByBackend.get(name)?.allocDevice === 'function';
}

/**
 * The kernels an op runs on, chosen by where its operands live: the backend of the first operand
 * on a device, else the current backend. On a device every output is allocated there and a host
 * operand (a lifted scalar, a dropout mask, a batch of data) is uploaded; on the host every
 * operand is a typed array.
 */
export interface Kernels {
  readonly backend: Backend;
  readonly ext: Readonly<Partial<Extensions>>;
  /** null on the host, else the device backend's name. */
  readonly device: string | null;
  /** Zero-filled storage for an output of `n` elements, where this op runs. */
  alloc(dtype: DType, n: number): Storage;
  /** Zero-filled index storage of `n` elements, where this op runs. */
  allocIndex(n: number): IndexStorage;
  /** `s` where this op runs: itself, or a host array uploaded to the device. */
  on(s: Storage): Storage;
  /** Index storage where this op runs (an Int32Array uploaded to the device). */
  onIndex(s: IndexStorage): IndexStorage;
}

const hostKernels = (b: Backend, ext: Partial<Extensions>): Kernels => ({
  backend: b,
  ext,
  device: null,
  alloc: allocStorage,
  allocIndex: (n) => new Int32Array(n),
  on(s) {
    if (isDeviceStorage(s)) throw new Error(`${b.name}: an operand lives on ${s.device}; move it with await t.to('cpu')`);
    return s;
  },
  onIndex(s) {
    if (isDeviceStorage(s)) throw new Error(`${b.name}: indices live on ${s.device}`);
    return s;
  },
});

function deviceKernels(name: string): Kernels {
  const b = registry.get(name);
  const ext = extensionsByBackend.get(name) ?? {};
  const allocDevice = ext.allocDevice;
  if (!b || !allocDevice) throw new Error(`an operand lives on ${name}, which is not a registered device backend`);
  const upload = (s: Float32Array | Int32Array, dtype: 'float32' | 'int32'): DeviceStorage => {
    const d = allocDevice(dtype, s.length);
    d.write(s);
    return d;
  };
  return {
    backend: b,
    ext,
    device: name,
    alloc(dtype, n) {
      if (dtype !== 'float32') throw new TypeError(`${name} holds float32 tensors, not ${dtype}; convert with .to('float32')`);
      return allocDevice('float32', n);
    },
    allocIndex: (n) => allocDevice('int32', n),
    on(s) {
      if (!isDeviceStorage(s)) {
        if (!(s instanceof Float32Array)) throw new TypeError(`${name} holds float32 tensors, not float64; convert with .to('float32')`);
        return upload(s, 'float32');
      }
      if (s.device !== name) throw new Error(`operands live on ${name} and ${s.device}; move one of them`);
      return s;
    },
    onIndex(s) {
      if (!isDeviceStorage(s)) return upload(s, 'int32');
      if (s.device !== name) throw new Error(`operands live on ${name} and ${s.device}; move one of them`);
      return s;
    },
  };
}

let currentKernels: Kernels | null = null;
const deviceKernelCache = new Map<string, Kernels>();

/** See `Kernels`: the device of the first operand on one, else the current backend. */
export function kernelsFor(...operands: (Storage | IndexStorage | null | undefined)[]): Kernels {
  for (const s of operands) {
    if (s && isDeviceStorage(s)) {
      let k = deviceKernelCache.get(s.device);
      if (!k) deviceKernelCache.set(s.device, (k = deviceKernels(s.device)));
      return k;
    }
  }
  const b = backend();
  if (currentKernels?.backend !== b) {
    currentKernels = isDeviceBackend(b.name) ? deviceKernels(b.name) : hostKernels(b, currentExt);
  }
  return currentKernels;
}
