/**
 * Recurrent layers — RNN (Elman), LSTM (Hochreiter & Schmidhuber 1997, with a forget gate) and GRU
 * (Cho et al. 2014) — as PyTorch's nn.RNN, nn.LSTM and nn.GRU with batch_first=True. For each layer
 * k and time step t, with x_t the layer's input and h_{t−1} its previous hidden state:
 *
 *   RNN   h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)                 act = tanh or relu
 *   LSTM  i, f, g, o = σ, σ, tanh, σ of (W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), in that row order
 *         c_t = f ∘ c_{t−1} + i ∘ g,   h_t = o ∘ tanh(c_t)
 *   GRU   r, z = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr), σ(… z rows …)
 *         n = tanh(W_in x_t + b_in + r ∘ (W_hn h_{t−1} + b_hn))        (PyTorch's form: b_hn inside r ∘ ·)
 *         h_t = (1 − z) ∘ n + z ∘ h_{t−1}
 *
 * Conventions (PyTorch's): parameters weight_ih_l{k} [G·H, in_k], weight_hh_l{k} [G·H, H], bias_ih_l{k},
 * bias_hh_l{k} [G·H], then the same with `_reverse` for the reverse direction, registered in that
 * order so stateDict() is PyTorch's state_dict; every parameter starts U(−1/√H, 1/√H), drawn in
 * registration order. A bidirectional layer's output is [forward, reverse] on the feature axis, and
 * the next layer reads it whole. Dropout (inverted) applies to every layer's output but the last,
 * only while training. States are [L·D, N, H], layer-major, forward before reverse.
 *
 * The input projection of all T steps is one product ([T·N, in] × W_ihᵀ). By default (`fused`) each
 * layer and direction then runs as one autograd node with a hand-written backward through time
 * (recurrent-fused.ts); with `fused: false` each step is composed of autograd ops — h × W_hhᵀ and
 * the gate arithmetic — whose backward is the engine's and can itself be differentiated.
 * A zero initial state is never built: the first step leaves out the terms it would zero. On a
 * device (parameters moved with `await model.to('webgpu')`) the fused node is recurrent-device.ts,
 * the same algorithm on device buffers (the backend's products and its gate kernels, extension
 * recurrentGates); a device backend without those runs the composed step, each of whose ops
 * (products, elementwise gates, narrow's row gather, cat's piece kernel, permute) has a device
 * kernel. Either way a training step queues kernels only and reads nothing back.
 *
 * A padding mask (ForwardOptions.mask [N, T], 1 = padding, which a Sequential carries from an
 * Embedding with maskPadding) makes each sample skip its padding steps, as Keras' masking does: the
 * state passes over them unchanged, which for post-padded samples is PyTorch's packed sequences.
 * It is done by moving rows, not by changing the step: each sample's real steps are gathered to the
 * front (for the reverse direction, in reverse order, so it too runs forward from a zero state),
 * the layer runs over all T positions — those after a sample's real steps come after everything
 * that is read and take no gradient — and its outputs are gathered back to their steps, zero at
 * the padding (PyTorch's pad_packed_sequence); a final state is the one after the last real step.
 */
import { Tensor, allocStorage, type DType } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { fmtShape, shapeEq, ShapeError } from '../tensor/shape.js';
import { add, dense, mul, permute, relu, reshape, sigmoid, sub, tanh } from '../autograd/ops.js';
import { cat, narrow, split, stack } from '../autograd/indexing.js';
import { embedding as gatherRows } from '../autograd/embedding.js';
import { Module, parameter, type ForwardOptions, type MaskSupport } from './module.js';
import { initializers, weightOptionSpecs, type InitName } from './init.js';
import { fillDropMask, needRng } from './dropout.js';
import { type FusedArgs, fusedRecurrent } from './recurrent-fused.js';
import { deviceRecurrent } from './recurrent-device.js';
import { bool, checkOptions, int, num, oneOf, type SchemaOf } from '../util/options.js';

export interface LSTMOptions {
  /** Stacked layers, each reading the previous one's output sequence; default 1. */
  numLayers?: number;
  /** Biases b_ih and b_hh; default true. */
  bias?: boolean;
  /** A second pass from the last step to the first, its outputs beside the forward's; default false. */
  bidirectional?: boolean;
  /** Dropout probability on each layer's output but the last's, while training; default 0. */
  dropout?: number;
  /** forward(x) gives the whole output sequence [N, T, D·H] (true, default) or the last layer's final hidden states [N, D·H]. */
  returnSequences?: boolean;
  /** Weight initialiser; default 'torch': every parameter U(±1/√H), PyTorch's. Another name initialises the weights so (biases stay U(±1/√H)). */
  init?: InitName;
  /**
   * Each layer and direction runs as one autograd node with a hand-written backward through time
   * (true, default: fast); false composes each step of autograd ops, whose backward is itself
   * differentiable: needed for gradients of gradients (createGraph), which the fused backward refuses.
   * On a device both run on device kernels.
   */
  fused?: boolean;
  rng?: Rng;
  dtype?: DType;
}
export type GRUOptions = LSTMOptions;
export interface RNNOptions extends LSTMOptions {
  /** The activation of the hidden state; default 'tanh'. */
  nonlinearity?: 'tanh' | 'relu';
}

/** Initial states for forwardState, PyTorch's h_0 and c_0: [L·D, N, H]; zeros when left out. */
export interface RecurrentState {
  h?: Tensor;
  c?: Tensor;
}

/** forwardState's result: the output sequence and the final states, PyTorch's (output, h_n[, c_n]). */
export interface RecurrentResult {
  /** [N, T, D·H]: the last layer's hidden state at each step, forward then reverse direction. */
  output: Tensor;
  /** [L·D, N, H]: every layer's and direction's hidden state after the whole sequence. */
  h: Tensor;
  /** [L·D, N, H]: the LSTM's cell states after the whole sequence (LSTM only). */
  c?: Tensor;
}

/** The cell a Recurrent layer runs, in PyTorch's mode names (RNN with tanh or ReLU, LSTM, GRU). */
export type RecurrentMode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
type Cell = RecurrentMode;
const GATES: Record<Cell, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

const lstmSchema: SchemaOf<LSTMOptions> = {
  numLayers: int,
  bias: bool,
  bidirectional: bool,
  dropout: num,
  returnSequences: bool,
  fused: bool,
  ...weightOptionSpecs,
};
const rnnSchema: SchemaOf<RNNOptions> = { ...lstmSchema, nonlinearity: oneOf('tanh', 'relu') };

/** One direction of one layer: its parameters, biases null without `bias`. */
export interface RecurrentWeights {
  wIh: Tensor;
  wHh: Tensor;
  bIh: Tensor | null;
  bHh: Tensor | null;
}

/** One direction's state between steps: h [N, H] and, for an LSTM, c; null where it is still zero. */
interface Carry {
  h: Tensor | null;
  c: Tensor | null;
}

/**
 * `x` cut into `n` equal blocks of rows, by halving: a slice's gradient is the whole of what it was
 * cut from (zeros outside it), so cutting T blocks at once would make the backward add T tensors the
 * size of x, O(T²·N·G·H); halving adds two per level, O(T·log T·N·G·H).
 */
function rowBlocks(x: Tensor, n: number): Tensor[] {
  if (n === 1) return [x];
  const rows = x.shape[0] / n;
  const half = n >> 1;
  const [a, b] = split(x, [half * rows, (n - half) * rows], 0);
  return [...rowBlocks(a, half), ...rowBlocks(b, n - half)];
}

/** The common body of RNN, LSTM and GRU; the cell's step is the only difference. */
export abstract class Recurrent extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly bidirectional: boolean;
  readonly dropout: number;
  readonly returnSequences: boolean;
  /** One autograd node per layer and direction (see LSTMOptions.fused). */
  readonly fused: boolean;
  /** Directions: 2 when bidirectional, else 1. */
  readonly numDirections: number;
  /** weights[layer][direction]: the parameters weight_ih_l{k}[_reverse], … of that layer and direction. */
  readonly weights: RecurrentWeights[][] = [];
  private readonly kind: string;

  protected constructor(
    private readonly cell: Cell,
    readonly inputSize: number,
    readonly hiddenSize: number,
    opts: RNNOptions,
  ) {
    super();
    this.kind = cell === 'LSTM' || cell === 'GRU' ? cell : 'RNN';
    for (const [k, v] of [
      ['inputSize', inputSize],
      ['hiddenSize', hiddenSize],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${this.kind}: ${k} must be a positive integer, got ${v}`);
    const numLayers = opts.numLayers ?? 1;
    if (numLayers < 1) throw new RangeError(`${this.kind}: numLayers must be a positive integer, got ${numLayers}`);
    this.numLayers = numLayers;
    this.bias = opts.bias ?? true;
    this.bidirectional = opts.bidirectional ?? false;
    this.numDirections = this.bidirectional ? 2 : 1;
    const dropout = opts.dropout ?? 0;
    if (!(dropout >= 0 && dropout <= 1)) throw new RangeError(`${this.kind}: dropout must be in [0, 1], got ${dropout}`);
    this.dropout = dropout;
    this.returnSequences = opts.returnSequences ?? true;
    this.fused = opts.fused ?? true;
    const rng = opts.rng ?? nextDefaultRng();
    const dtype = opts.dtype ?? 'float32';
    const initName = opts.init ?? 'torch';
    const b = 1 / Math.sqrt(hiddenSize);
    const uniform = (t: Tensor) => {
      for (let i = 0; i < t.size; i++) t.data[i] = -b + 2 * b * rng.uniform();
    };
    // PyTorch's U(±1/√H) for everything unless another initialiser is named for the weights
    const weightInit = initName === 'torch' ? uniform : (t: Tensor) => initializers[initName](t, rng);
    const rows = GATES[cell] * hiddenSize;
    for (let k = 0; k < numLayers; k++) {
      const inK = k === 0 ? inputSize : this.numDirections * hiddenSize;
      const layer: RecurrentWeights[] = [];
      for (let d = 0; d < this.numDirections; d++) {
        const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
        const p = (name: string, shape: number[], init: (t: Tensor) => void) =>
          this.registerParameter(name + sfx, parameter(shape, dtype, init));
        const wIh = p('weight_ih', [rows, inK], weightInit);
        const wHh = p('weight_hh', [rows, hiddenSize], weightInit);
        const bIh = this.bias ? p('bias_ih', [rows], uniform) : null;
        const bHh = this.bias ? p('bias_hh', [rows], uniform) : null;
        layer.push({ wIh, wHh, bIh, bHh });
      }
      this.weights.push(layer);
    }
  }

  /** The parameters' dtype, which the input must have. */
  get dtype(): DType {
    return this.weights[0][0].wIh.dtype;
  }

  /**
   * x [N, T, inputSize] → returnSequences ? output [N, T, D·H] : the last layer's final hidden state
   * of each direction, forward then reverse, [N, D·H] (Keras' return_sequences=False).
   */
  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    const r = this.run(x, undefined, opts, this.returnSequences, false);
    if (this.returnSequences) return r.output!;
    return this.bidirectional ? cat(r.last, 1) : r.last[0];
  }

  /** Padding steps are skipped (see the file's header); every step's output keeps the mask, a final state ends it. */
  override get maskSupport(): MaskSupport {
    return this.returnSequences ? 'keep' : 'own';
  }

  /** The output sequence and the final states, from initial states `state` (zeros where left out); opts.mask as forward's. */
  forwardState(x: Tensor, state?: RecurrentState, opts?: ForwardOptions): RecurrentResult {
    const r = this.run(x, state, opts, true, true);
    const L = this.numLayers * this.numDirections;
    const [N, H] = [x.shape[0], this.hiddenSize];
    const out: RecurrentResult = { output: r.output!, h: L === 1 ? reshape(r.hN[0], [1, N, H]) : stack(r.hN, 0) };
    if (this.cell === 'LSTM') out.c = L === 1 ? reshape(r.cN[0], [1, N, H]) : stack(r.cN, 0);
    return out;
  }

  private checkInput(x: Tensor): void {
    if (x.ndim !== 3 || x.shape[2] !== this.inputSize)
      throw new ShapeError(`${this.kind}: expected input [N, T, ${this.inputSize}], got ${fmtShape(x.shape)}`);
    if (x.shape[1] < 1) throw new ShapeError(`${this.kind}: expected at least one time step, got input ${fmtShape(x.shape)}`);
    if (x.dtype !== this.dtype)
      throw new TypeError(`${this.kind}: input is ${x.dtype}, the parameters are ${this.dtype}; convert one of them`);
    // an input on the host is uploaded by the first op; one on a device the parameters are not on
    // would make every op upload a parameter and leave device gradients on host parameters
    const where = this.paramDevice();
    if (x.device !== 'cpu' && x.device !== where)
      throw new Error(
        `${this.kind}: the input lives on ${x.device} and the parameters on ${where}; move the model with await model.to('${x.device}')`,
      );
  }

  /** Where the parameters live: 'cpu' or a device backend's name (all of them, as Module.to moves them together). */
  private paramDevice(): string {
    const ps = this.parameters();
    const where = ps[0].device;
    const other = ps.find((p) => p.device !== where);
    if (other)
      throw new Error(`${this.kind}: its parameters live on ${where} and ${other.device}; move the model with await model.to(device)`);
    return where;
  }

  /** The initial states of each layer and direction, split from [L·D, N, H] (null: zeros). */
  private initial(t: Tensor | undefined, name: 'h' | 'c', N: number): (Tensor | null)[] {
    const L = this.numLayers * this.numDirections;
    if (!t) return new Array<Tensor | null>(L).fill(null);
    const want = [L, N, this.hiddenSize];
    if (!(t instanceof Tensor) || !shapeEq(t.shape, want))
      throw new ShapeError(
        `${this.kind}: expected initial state ${name} ${fmtShape(want)}, got ${t instanceof Tensor ? fmtShape(t.shape) : String(t)}`,
      );
    if (t.dtype !== this.dtype) throw new TypeError(`${this.kind}: initial state ${name} is ${t.dtype}, the parameters are ${this.dtype}`);
    return L === 1 ? [reshape(t, [N, this.hiddenSize])] : split(t, 1, 0).map((s) => reshape(s, [N, this.hiddenSize]));
  }

  private run(
    x: Tensor,
    state: RecurrentState | undefined,
    opts: ForwardOptions | undefined,
    wantOutput: boolean,
    wantC: boolean,
  ): { output: Tensor | null; hN: Tensor[]; cN: Tensor[]; last: Tensor[] } {
    this.checkInput(x);
    if (state !== undefined && (typeof state !== 'object' || state === null))
      throw new TypeError(`${this.kind}: state must be { h, c } (initial states), got ${String(state)}`);
    if (state?.c && this.cell !== 'LSTM') throw new RangeError(`${this.kind}: has no cell state; state takes h only`);
    const [N, T] = x.shape;
    const H = this.hiddenSize;
    const D = this.numDirections;
    const h0 = this.initial(state?.h, 'h', N);
    const c0 = this.initial(state?.c, 'c', N);
    const onDevice = this.paramDevice() !== 'cpu';
    const training = !!opts?.training && this.dropout > 0;
    const rng = training ? needRng(opts, this.describe()) : null;
    const plan = opts?.mask ? maskPlan(opts.mask, N, T, this.kind, x.dtype) : null;
    // time-major rows: step t is the contiguous block of rows [t·N, (t + 1)·N)
    let seq = reshape(permute(x, [1, 0, 2]), [T * N, this.inputSize]);
    const hN: Tensor[] = [];
    const cN: Tensor[] = [];
    let last: Tensor[] = [];
    let output: Tensor | null = null;
    for (let k = 0; k < this.numLayers; k++) {
      const top = k === this.numLayers - 1;
      const outs: Tensor[] = [];
      last = [];
      for (let d = 0; d < D; d++) {
        const w = this.weights[k][d];
        // b_hh joins b_ih in the input projection, except the GRU's, whose n rows sit inside r ∘ (W_hn h + b_hn)
        const inner = this.cell === 'GRU';
        const bias = w.bIh && w.bHh && !inner ? add(w.bIh, w.bHh) : w.bIh;
        // under a mask every direction runs forward over its order of the real steps (see the header)
        const order = plan && (d === 0 ? plan.forward : plan.reverse);
        // the fused node gives the LSTM's c after the last position only: a masked c_n is the composed step's
        const composed = !this.fused || (order !== null && wantC && this.cell === 'LSTM');
        // the fused node on the host computes the projection itself, unless a mask reorders its rows
        const inside = !composed && !onDevice && !order;
        const projected = inside ? null : dense(seq, w.wIh, bias);
        const xp = order ? gatherRows(projected!, order.rows) : projected;
        const args: Omit<FusedArgs, 'xp'> = {
          cell: this.cell,
          wHh: w.wHh,
          bHh: inner ? w.bHh : null,
          h0: h0[k * D + d],
          c0: c0[k * D + d],
          reverse: d === 1 && !order,
          T,
          N,
          H,
          what: this.kind,
        };
        // [T (+ 1), N, H]: h_t in time order, then the LSTM's final c; null: the composed step
        const y = composed
          ? null
          : inside
            ? fusedRecurrent({ ...args, xp: { x: seq, w: w.wIh, b: bias } })
            : onDevice
              ? deviceRecurrent({ ...args, xp: xp! })
              : fusedRecurrent({ ...args, xp: xp! });
        if (y && order) {
          const hs = reshape(narrow(y, 0, 0, T), [T * N, H]);
          const hLast = plan!.final(hs, h0[k * D + d], H);
          hN.push(hLast);
          last.push(hLast);
          if (!top || wantOutput) outs.push(reshape(plan!.back(hs, order), [T, N, H]));
          continue;
        }
        if (y) {
          const lstm = this.cell === 'LSTM';
          const hLast = reshape(narrow(y, 0, d === 0 ? T - 1 : 0, 1), [N, H]);
          hN.push(hLast);
          if (lstm) cN.push(reshape(narrow(y, 0, T, 1), [N, H]));
          last.push(hLast);
          if (!top || wantOutput) outs.push(lstm ? narrow(y, 0, 0, T) : y);
          continue;
        }
        const steps = rowBlocks(xp!, T);
        const hs = new Array<Tensor>(T);
        const cs = new Array<Tensor>(T);
        const carry: Carry = { h: h0[k * D + d], c: c0[k * D + d] };
        for (let s = 0; s < T; s++) {
          const t = d === 0 || order ? s : T - 1 - s;
          this.step(steps[t], w.wHh, inner ? w.bHh : null, carry);
          hs[t] = carry.h!;
          if (carry.c) cs[t] = carry.c;
        }
        if (order) {
          const rows = (ts: Tensor[]) => reshape(stack(ts, 0), [T * N, H]);
          const hLast = plan!.final(rows(hs), h0[k * D + d], H);
          hN.push(hLast);
          if (this.cell === 'LSTM') cN.push(plan!.final(rows(cs), c0[k * D + d], H));
          last.push(hLast);
          if (!top || wantOutput) outs.push(reshape(plan!.back(rows(hs), order), [T, N, H]));
          continue;
        }
        hN.push(carry.h!);
        if (carry.c) cN.push(carry.c);
        last.push(carry.h!);
        if (!top || wantOutput) outs.push(stack(hs, 0));
      }
      if (top && !wantOutput) break;
      let y = D === 1 ? outs[0] : cat(outs, 2);
      if (top) {
        output = permute(y, [1, 0, 2]);
        break;
      }
      if (rng) {
        const mask = allocStorage(y.dtype, y.size);
        fillDropMask(mask, this.dropout, rng);
        y = mul(y, new Tensor(mask, y.shape));
      }
      seq = reshape(y, [T * N, D * H]);
    }
    return { output, hN, cN, last };
  }

  /**
   * One time step: `xp` is the step's input projection W_ih x_t + its bias [N, G·H], `bHh` the GRU's
   * b_hh (the other cells' is in xp); updates `carry`.
   */
  private step(xp: Tensor, wHh: Tensor, bHh: Tensor | null, carry: Carry): void {
    const H = this.hiddenSize;
    const h = carry.h;
    switch (this.cell) {
      case 'RNN_TANH':
      case 'RNN_RELU': {
        const z = h ? add(xp, dense(h, wHh)) : xp;
        carry.h = this.cell === 'RNN_TANH' ? tanh(z) : relu(z);
        return;
      }
      case 'LSTM': {
        const [i, f, g, o] = split(h ? add(xp, dense(h, wHh)) : xp, H, 1);
        const ig = mul(sigmoid(i), tanh(g));
        carry.c = carry.c ? add(mul(sigmoid(f), carry.c), ig) : ig;
        carry.h = mul(sigmoid(o), tanh(carry.c));
        return;
      }
      case 'GRU': {
        // W_hh h + b_hh; while h is zero only the bias (or nothing) is left
        const hp = h ? dense(h, wHh, bHh) : bHh;
        const xrz = narrow(xp, 1, 0, 2 * H);
        const [r, z] = split(sigmoid(hp ? add(xrz, narrow(hp, -1, 0, 2 * H)) : xrz), H, 1);
        const xn = narrow(xp, 1, 2 * H, H);
        const n = tanh(hp ? add(xn, mul(r, narrow(hp, -1, 2 * H, H))) : xn);
        // (1 − z) ∘ n + z ∘ h = n + z ∘ (h − n)
        carry.h = h ? add(n, mul(z, sub(h, n))) : mul(sub(1, z), n);
        return;
      }
    }
  }

  override describe(): string {
    const extra = [
      this.numLayers > 1 ? `numLayers=${this.numLayers}` : '',
      this.cell === 'RNN_RELU' ? "nonlinearity='relu'" : '',
      this.bidirectional ? 'bidirectional' : '',
      this.bias ? '' : 'bias=false',
      this.dropout ? `dropout=${this.dropout}` : '',
      this.returnSequences ? '' : 'returnSequences=false',
      this.fused ? '' : 'fused=false',
    ].filter(Boolean);
    return `${this.kind}(${this.inputSize}→${this.hiddenSize}${extra.length ? `, ${extra.join(', ')}` : ''})`;
  }

  /** The cell: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU' (PyTorch's mode names; ONNX export reads it). */
  get mode(): RecurrentMode {
    return this.cell;
  }
}

/** One direction's order of the rows under a mask: position p·N + n reads step rows[p·N + n] of sample n; `back` undoes it. */
interface MaskOrder {
  rows: Tensor;
  back: Tensor;
}

interface MaskPlan {
  forward: MaskOrder;
  reverse: MaskOrder;
  /** Each position's output back at its step (time-major [T·N, H]), zero at the padding steps. */
  back(hs: Tensor, order: MaskOrder): Tensor;
  /** The state after each sample's last real step ([N, H]); a sample all padding keeps its initial state (zero without one). */
  final(hs: Tensor, initial: Tensor | null, H: number): Tensor;
}

/**
 * The row orders of a padding mask [N, T] (1 = padding; see the file's header). Rows are time-major
 * (step t of sample n is row t·N + n). Forward order: a sample's real steps in order, then its
 * padding steps; reverse order: its real steps last to first, then its padding steps.
 */
function maskPlan(mask: Tensor, N: number, T: number, what: string, dtype: DType): MaskPlan {
  if (!(mask instanceof Tensor) || mask.ndim !== 2 || mask.shape[0] !== N || mask.shape[1] !== T)
    throw new ShapeError(
      `${what}: expected a padding mask [${N}, ${T}] ([N, T]), got ${mask instanceof Tensor ? fmtShape(mask.shape) : String(mask)}`,
    );
  if (mask.device !== 'cpu')
    throw new Error(`${what}: the padding mask lives on ${mask.device}; the steps are ordered on the host (keep the mask on the cpu)`);
  const m = mask.data;
  const lengths = new Int32Array(N);
  const order = (reverse: boolean): MaskOrder => {
    const rows = allocStorage(dtype, T * N);
    const back = allocStorage(dtype, T * N);
    for (let n = 0; n < N; n++) {
      const real: number[] = [];
      const pad: number[] = [];
      for (let t = 0; t < T; t++) (m[n * T + t] !== 0 ? pad : real).push(t);
      lengths[n] = real.length;
      if (reverse) real.reverse();
      [...real, ...pad].forEach((t, p) => {
        rows[p * N + n] = t * N + n;
        back[t * N + n] = p * N + n;
      });
    }
    return { rows: new Tensor(rows, [T * N]), back: new Tensor(back, [T * N]) };
  };
  const forward = order(false);
  const reverse = order(true);
  const keep = allocStorage(dtype, T * N);
  for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) keep[t * N + n] = m[n * T + t] !== 0 ? 0 : 1;
  const lastRow = allocStorage(dtype, N);
  const empty = allocStorage(dtype, N);
  for (let n = 0; n < N; n++) {
    lastRow[n] = Math.max(lengths[n] - 1, 0) * N + n;
    empty[n] = lengths[n] === 0 ? 1 : 0;
  }
  const anyEmpty = empty.some((v) => v !== 0);
  const keepT = new Tensor(keep, [T * N, 1]);
  const emptyT = new Tensor(empty, [N, 1]);
  const lastT = new Tensor(lastRow, [N]);
  return {
    forward,
    reverse,
    back: (hs, o) => mul(gatherRows(hs, o.back), keepT),
    final(hs, initial, H) {
      const at = gatherRows(hs, lastT);
      if (!anyEmpty) return at;
      const kept = mul(at, sub(1, emptyT));
      return initial ? add(kept, mul(reshape(initial, [N, H]), emptyT)) : kept;
    },
  };
}

/** Elman RNN, PyTorch's nn.RNN(batch_first=True): h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh). */
export class RNN extends Recurrent {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    const o = checkOptions('RNN', opts, rnnSchema);
    super(o.nonlinearity === 'relu' ? 'RNN_RELU' : 'RNN_TANH', inputSize, hiddenSize, o);
    this.nonlinearity = o.nonlinearity ?? 'tanh';
  }
}

/** Long short-term memory, PyTorch's nn.LSTM(batch_first=True): gates i, f, g, o; forwardState also gives c. */
export class LSTM extends Recurrent {
  constructor(inputSize: number, hiddenSize: number, opts: LSTMOptions = {}) {
    super('LSTM', inputSize, hiddenSize, checkOptions('LSTM', opts, lstmSchema));
  }
}

/** Gated recurrent unit, PyTorch's nn.GRU(batch_first=True): gates r, z, n with b_hn inside r ∘ (W_hn h + b_hn). */
export class GRU extends Recurrent {
  constructor(inputSize: number, hiddenSize: number, opts: GRUOptions = {}) {
    super('GRU', inputSize, hiddenSize, checkOptions('GRU', opts, lstmSchema));
  }
}
