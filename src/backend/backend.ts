/**
 * The kernel interface. Every numeric loop of descent sits behind it, so a faster implementation
 * (WebAssembly SIMD with threads, later WebGPU) can replace the plain TypeScript reference one op at
 * a time. Kernels take raw typed arrays and shapes, never Tensors, and write into `out` (allocated
 * by the caller, zero-filled unless stated), so they know nothing of autograd.
 *
 * The reference backend (reference.ts) is the test oracle: a faster backend is tested op by op
 * against it.
 */
import type { Storage } from '../tensor/tensor.js';
import type { Shape } from '../tensor/shape.js';

/** `reluGrad` is ReLU's backward: a where b > 0, else 0 (PyTorch's threshold_backward: a NaN gradient is masked too). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'gt' | 'lt' | 'eq' | 'reluGrad';
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'relu' | 'step' | 'sigmoid' | 'tanh' | 'square' | 'recip';

export interface Conv2dGeometry {
  n: number; c: number; h: number; w: number; // input N, C, H, W
  k: number; kh: number; kw: number; // output channels, kernel height/width
  oh: number; ow: number; // output height/width
  strideH: number; strideW: number; padH: number; padW: number;
}

/** A 2-d pooling window layout over NCHW planes (PyTorch's, ceil_mode false). */
export interface PoolGeometry {
  n: number; c: number; h: number; w: number; // input N, C, H, W
  kh: number; kw: number; oh: number; ow: number; // window height/width, output height/width
  strideH: number; strideW: number; padH: number; padW: number;
}

export interface Backend {
  readonly name: string;
  /** out[m×n] = op(a)·op(b) where op(a) is m×k and op(b) is k×n; a transposed operand is read in place. */
  matmul(a: Storage, b: Storage, out: Storage, m: number, n: number, k: number, transA: boolean, transB: boolean): void;
  /** Elementwise with NumPy broadcasting; outShape = broadcast(aShape, bShape). */
  binary(op: BinaryOp, a: Storage, aShape: Shape, b: Storage, bShape: Shape, out: Storage, outShape: Shape): void;
  unary(op: UnaryOp, a: Storage, out: Storage): void;
  /** Sum over `axes`; out has the shape with those axes set to 1 (keepdim layout). */
  sum(a: Storage, shape: Shape, axes: readonly number[], out: Storage): void;
  /** Max over one axis; `arg` (if given) receives the index along the axis of each maximum. */
  max(a: Storage, shape: Shape, axis: number, out: Storage, arg: Int32Array | null): void;
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
  maxPool2d(x: Storage, out: Storage, idx: Int32Array, g: PoolGeometry): void;
  /**
   * The adjoint of a gather inside planes (max pooling's backward, and fractional max pooling's):
   * gx[pl·inPlane + idx[pl·outPlane + p]] += gy[pl·outPlane + p] for `planes` planes, into a gx
   * that the kernel zero-fills first.
   */
  scatterPlanes(gy: Storage, idx: Int32Array, gx: Storage, planes: number, inPlane: number, outPlane: number): void;
  /** PyTorch's avg_pool2d (ceil_mode false): the divisor counts padded cells when `countIncludePad`. */
  avgPool2d(x: Storage, out: Storage, g: PoolGeometry, countIncludePad: boolean): void;
  /** The transpose of avgPool2d (its backward): spreads each gy over its window, into gx (zero-filled by the kernel). */
  avgPool2dBackward(gy: Storage, gx: Storage, g: PoolGeometry, countIncludePad: boolean): void;
  /**
   * Optional fused fully connected layer: out[m×n] = x[m×k]·w[n×k]ᵀ + bias (+ ReLU when `relu`), in
   * one call (the bias and the activation applied while the result is still in the backend's
   * memory). Returns false when it does not handle the arguments; the op then composes matmul,
   * the bias and the ReLU itself.
   */
  linear?(x: Storage, w: Storage, bias: Storage | null, out: Storage, m: number, n: number, k: number, relu: boolean): boolean;
  /**
   * Optional backward of `linear` in one call: gz = relu ? gy where y > 0 : gy, then gx = gz·w,
   * gw = gzᵀ·x and gb = the column sums of gz, for those of gx, gw, gb that are not null. `y` is
   * the forward's output (only read when relu). With `accumulateGw`, gw += gzᵀ·x (gw is a
   * parameter's gradient buffer). Returns false when it does not handle the arguments (then it
   * has written nothing).
   */
  linearBackward?(gy: Storage, x: Storage, w: Storage, y: Storage | null, gx: Storage | null, gw: Storage | null, gb: Storage | null,
    m: number, n: number, k: number, accumulateGw: boolean): boolean;
  /**
   * Optional fused convolution layer: out = conv2d(x, w) + bias per output channel (+ ReLU when
   * `relu`), in one call, like `linear`. Returns false when it does not handle the arguments.
   */
  convLayer?(x: Storage, w: Storage, bias: Storage | null, out: Storage, g: Conv2dGeometry, relu: boolean): boolean;
  /**
   * Optional backward of `convLayer` in one call, like `linearBackward`: gz = relu ? gy where y > 0
   * : gy, then gx (conv2dBackwardInput of gz), gw (conv2dBackwardWeight of gz; with `accumulateGw`
   * added into gw) and gb (the sums of gz over images and pixels), for those that are not null.
   * Returns false when it does not handle the arguments (then it has written nothing).
   */
  convLayerBackward?(gy: Storage, x: Storage, w: Storage, y: Storage | null, gx: Storage | null, gw: Storage | null, gb: Storage | null,
    g: Conv2dGeometry, accumulateGw: boolean): boolean;
  /**
   * Optional fused convolution layer followed by max pooling (PyTorch's Conv2d, ReLU, MaxPool2d):
   * out and idx are what maxPool2d gives on convLayer's output, which is never materialised.
   * Returns false when it does not handle the arguments.
   */
  convPoolLayer?(x: Storage, w: Storage, bias: Storage | null, out: Storage, idx: Int32Array, g: Conv2dGeometry, pg: PoolGeometry, relu: boolean): boolean;
  /**
   * Backward of `convPoolLayer` from the pooled output's gradient gp: gz = gp scattered to `idx`
   * (kept where `pooled` > 0 when relu), then gx, gw, gb as convLayerBackward. Returns false when
   * it does not handle the arguments (then it has written nothing).
   */
  convPoolLayerBackward?(gp: Storage, pooled: Storage, idx: Int32Array, x: Storage, w: Storage, gx: Storage | null, gw: Storage | null, gb: Storage | null,
    g: Conv2dGeometry, pg: PoolGeometry, relu: boolean, accumulateGw: boolean): boolean;
  /**
   * Optional: a.fill(0), for arrays in the backend's own memory (on shared wasm memory
   * TypedArray.fill is an element-by-element loop, 10× slower than memset). Returns false when it
   * does not handle `a`; the caller fills it itself.
   */
  zero?(a: Storage): boolean;
  /**
   * Optional fused optimizer updates (one pass over parameter, gradient and state, in place).
   * They return false when they do not handle the arguments (e.g. float64): the rule then runs
   * its own loop. The equations are PyTorch's (see src/optim/adam.ts and asm/optim.ts).
   */
  adamStep?(param: Storage, grad: Storage, m: Storage, v: Storage, vMax: Storage | null, h: AdamStepHyper): boolean;
  sgdStep?(param: Storage, grad: Storage, momentumBuffer: Storage | null, h: SgdStepHyper): boolean;
  /**
   * Optional: runs `run`, during which the fused updates above may be queued instead of run at
   * once; all of them are done when this returns (PyTorch's multi-tensor "foreach" updates). The
   * optimizer wraps one step over all its parameters in it, so a backend can run the whole step as
   * one job: on wasm, one threaded call for every parameter instead of one call per parameter.
   */
  batchUpdates?(run: () => void): void;
  /**
   * Optional: zeroed storage for optimizer state of parameter `p`, in the backend's own memory when
   * `p` lives there (so fused steps need no copies); null means "allocate a plain typed array".
   */
  allocLike?(p: Storage): Storage | null;
}

/** Adam/AdamW hyper-parameters for Backend.adamStep; `step` is t ≥ 1 (after increment). */
export interface AdamStepHyper {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** AdamW: p ← p·(1 − lr·wd) instead of adding wd·p to the gradient. */
  decoupled: boolean;
  maximize: boolean;
  step: number;
}

/** SGD hyper-parameters for Backend.sgdStep; `first` means the momentum buffer is set to the gradient. */
export interface SgdStepHyper {
  lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; maximize: boolean; first: boolean;
}

let current: Backend | null = null;
const registry = new Map<string, Backend>();

export function registerBackend(b: Backend): void {
  registry.set(b.name, b);
  current ??= b;
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

export function setBackend(name: string): Backend {
  const b = registry.get(name);
  if (!b && hints.has(name)) throw new Error(`setBackend: backend "${name}" is not initialised yet; ${hints.get(name)}`);
  if (!b) throw new Error(`setBackend: unknown backend "${name}"; available: ${[...registry.keys()].join(', ')}`);
  current = b;
  return b;
}

export function backendNames(): string[] {
  return [...registry.keys()];
}
