/**
 * ONNX export of the recurrent layers (nn/recurrent.ts): each layer of an RNN, LSTM or GRU is one
 * ONNX RNN, LSTM or GRU operator (opset 17), as PyTorch's exporter writes them.
 *
 * - ONNX's operators read X time-major, [T, N, F]: the batch-first input is transposed in front, and
 *   each layer's Y [T, D, N, H] becomes the next layer's [T, N, D·H] (Transpose, Reshape), the last
 *   layer's output [N, T, D·H]; with returnSequences false the output is Y_h [D, N, H] as [N, D·H],
 *   forward then reverse.
 * - Gate rows are reordered: PyTorch's LSTM rows are i, f, g, o and ONNX's i, o, f, c; PyTorch's GRU
 *   rows are r, z, n and ONNX's z, r, h, with linear_before_reset = 1 (PyTorch's n gate multiplies
 *   r by W_hn h + b_hn). B is [b_ih, b_hh] per direction; without biases it is left out (zeros).
 * - The initial states are zeros (left out): the graph is the layer's forward(x), not forwardState.
 * - Under a padding mask (At.mask, an Embedding with maskPadding before) each direction is its own
 *   forward node over the steps reordered as Recurrent.forward reorders them (emitMasked).
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Recurrent } from '../nn/recurrent.js';
import { ProtoWriter } from './protobuf.js';

/** What onnx.ts's graph builder offers (its Graph), as this file uses it. */
interface GraphWriter {
  readonly nodes: ProtoWriter[];
  fresh(base: string): string;
  constant(base: string, dims: readonly number[], data: ArrayLike<number>, type?: 'float' | 'int64'): string;
  node(path: string, op: string, inputs: readonly string[], attrs?: Record<string, number | number[]>): string;
}

/** Where a layer's input is: its value name and the input's shape for one sample (onnx.ts's At). */
interface At {
  x: string;
  probe: Tensor;
  /** The bool [N, T] padding mask of x's steps, if any (onnx.ts's At.mask). */
  mask?: string;
}

// onnx.proto's AttributeProto types
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_STRINGS = 8;
// onnx.proto's TensorProto data types (Cast's `to`)
const FLOAT = 1;
const INT64 = 7;

/** PyTorch's gate blocks in ONNX's order. */
const ONNX_GATES: Record<Recurrent['mode'], number[]> = {
  RNN_TANH: [0],
  RNN_RELU: [0],
  LSTM: [0, 3, 1, 2],
  GRU: [1, 0, 2],
};

/** The rows of `t` ([G·H] or [G·H, cols]) with its gate blocks in `order`, appended to `out`. */
function reorder(t: Tensor, order: number[], H: number, out: number[]): void {
  const cols = t.ndim === 2 ? t.shape[1] : 1;
  for (const g of order) for (let i = g * H * cols; i < (g + 1) * H * cols; i++) out.push(t.data[i]);
}

/**
 * One ONNX RNN/LSTM/GRU node for layer k of `m` over the directions `dirs` (0 forward, 1 reverse;
 * both: 'bidirectional'): X time-major [T, N, in]; returns Y [T, D, N, H] and/or Y_h [D, N, H] by
 * what is asked ('' where not).
 */
function layerNode(
  g: GraphWriter,
  m: Recurrent,
  path: string,
  k: number,
  dirs: readonly number[],
  x: string,
  want: { y: boolean; yh: boolean },
): { y: string; yh: string } {
  const H = m.hiddenSize;
  const order = ONNX_GATES[m.mode];
  const G = order.length;
  const D = dirs.length;
  const op = m.mode === 'LSTM' ? 'LSTM' : m.mode === 'GRU' ? 'GRU' : 'RNN';
  const at0 = (name: string) => `${path ? `${path}.` : ''}${name}`;
  const inK = k === 0 ? m.inputSize : m.numDirections * H;
  const W: number[] = [];
  const R: number[] = [];
  const B: number[] = [];
  for (const d of dirs) {
    const w = m.weights[k][d];
    reorder(w.wIh, order, H, W);
    reorder(w.wHh, order, H, R);
    if (w.bIh && w.bHh) {
      reorder(w.bIh, order, H, B);
      reorder(w.bHh, order, H, B);
    }
  }
  const suffix = D === 1 && dirs[0] === 1 ? '_reverse' : '';
  const inputs = [x, g.constant(at0(`W_l${k}${suffix}`), [D, G * H, inK], W), g.constant(at0(`R_l${k}${suffix}`), [D, G * H, H], R)];
  if (m.bias) inputs.push(g.constant(at0(`B_l${k}${suffix}`), [D, 2 * G * H], B));
  const attrs: ProtoWriter[] = [
    attr('hidden_size', (a) => a.int(3, H).int(20, ATTR_INT)),
    attr('direction', (a) => a.string(4, D === 2 ? 'bidirectional' : 'forward').int(20, ATTR_STRING)),
  ];
  if (m.mode === 'GRU') attrs.push(attr('linear_before_reset', (a) => a.int(3, 1).int(20, ATTR_INT)));
  if (m.mode === 'RNN_RELU')
    attrs.push(
      attr('activations', (a) => {
        for (let d = 0; d < D; d++) a.string(9, 'Relu');
        a.int(20, ATTR_STRINGS);
      }),
    );
  const y = want.y ? g.fresh(`${path}/${op}_l${k}/Y`) : '';
  const yh = want.yh ? g.fresh(`${path}/${op}_l${k}/Y_h`) : '';
  const node = new ProtoWriter();
  for (const i of inputs) node.string(1, i);
  node.string(2, y);
  if (yh) node.string(2, yh);
  node.string(3, g.fresh(`${path}/${op}_l${k}`)).string(4, op);
  for (const a of attrs) node.bytes(5, a.finish());
  g.nodes.push(node);
  return { y, yh };
}

/** Writes `m`'s evaluation forward from `at`; returns where its output is. */
export function emitRecurrent(g: GraphWriter, m: Recurrent, path: string, at: At): At {
  const D = m.numDirections;
  const at0 = (name: string) => `${path ? `${path}.` : ''}${name}`;
  const probe = m.forward(at.probe, { training: false });
  if (at.mask) return { x: emitMasked(g, m, path, at.x, at.mask, at.probe.shape[1]), probe, mask: m.returnSequences ? at.mask : undefined };
  let x = g.node(path, 'Transpose', [at.x], { perm: [1, 0, 2] });
  // Reshape's target [0, 0, −1]: the first two dimensions kept, the rest merged
  let merge = '';
  const keep = () => (merge ||= g.constant(at0('shape'), [3], [0, 0, -1], 'int64'));
  const dirs = D === 2 ? [0, 1] : [0];
  for (let k = 0; k < m.numLayers; k++) {
    const last = k === m.numLayers - 1;
    const { y, yh } = layerNode(g, m, path, k, dirs, x, { y: !last || m.returnSequences, yh: last && !m.returnSequences });
    if (last && !m.returnSequences) {
      // Y_h [D, N, H] → [N, D, H] → [N, D·H]
      const nd = g.node(path, 'Transpose', [yh], { perm: [1, 0, 2] });
      x = g.node(path, 'Reshape', [nd, g.constant(at0('shape'), [2], [0, -1], 'int64')]);
    } else if (last) {
      // Y [T, D, N, H] → [N, T, D, H] → [N, T, D·H]
      x = g.node(path, 'Reshape', [g.node(path, 'Transpose', [y], { perm: [2, 0, 1, 3] }), keep()]);
    } else {
      // Y [T, D, N, H] → [T, N, D, H] → [T, N, D·H], the next layer's X
      x = g.node(path, 'Reshape', [g.node(path, 'Transpose', [y], { perm: [0, 2, 1, 3] }), keep()]);
    }
  }
  return { x, probe };
}

/** A node with several outputs (TopK's values and indices); returns their names. */
function multi(g: GraphWriter, path: string, op: string, inputs: readonly string[], outputs: number, attrs: ProtoWriter[]): string[] {
  const names = Array.from({ length: outputs }, (_, i) => g.fresh(`${path}/${op}/${i}`));
  const node = new ProtoWriter();
  for (const i of inputs) node.string(1, i);
  for (const o of names) node.string(2, o);
  node.string(3, g.fresh(`${path}/${op}`)).string(4, op);
  for (const a of attrs) node.bytes(5, a.finish());
  g.nodes.push(node);
  return names;
}

/**
 * `m` under the padding mask `mask` (bool [N, T], true = padding), as Recurrent.forward runs it:
 * each direction reads each sample's real steps moved to the front (GatherElements by the
 * ascending order of mask·T + t; the reverse direction's of its real steps last first) and runs
 * as a forward ONNX node; its outputs are moved back (the inverse order, by a second TopK) and
 * zeroed at the padding, and its final state is its output after the last real step (a sample
 * all padding: zero). x is batch-first [N, T, in]; returns [N, T, D·H] or, with returnSequences
 * false, [N, D·H].
 */
function emitMasked(g: GraphWriter, m: Recurrent, path: string, x: string, mask: string, T: number): string {
  const H = m.hiddenSize;
  const at0 = (name: string) => `${path ? `${path}.` : ''}${name}`;
  const i64 = (name: string, dims: number[], v: number[]) => g.constant(at0(name), dims, v, 'int64');
  const steps = Array.from({ length: T }, (_, t) => t);
  const padF = g.node(path, 'Cast', [mask], { to: FLOAT });
  const topK = (key: string) =>
    multi(g, path, 'TopK', [key, i64('k', [1], [T])], 2, [
      attr('axis', (a) => a.int(3, 1).int(20, ATTR_INT)),
      attr('largest', (a) => a.int(3, 0).int(20, ATTR_INT)),
    ])[1];
  // forward: mask·T + t; reverse: T − 1 − t for a real step, T + t for padding (= T − 1 − t + mask·(2t + 1))
  const forwardKey = g.node(path, 'Add', [
    g.node(path, 'Mul', [padF, g.constant(at0('T'), [], [T])]),
    g.constant(at0('steps'), [1, T], steps),
  ]);
  const reverseKey = g.node(path, 'Add', [
    g.constant(
      at0('stepsReversed'),
      [1, T],
      steps.map((t) => T - 1 - t),
    ),
    g.node(path, 'Mul', [
      padF,
      g.constant(
        at0('twiceSteps'),
        [1, T],
        steps.map((t) => 2 * t + 1),
      ),
    ]),
  ]);
  const orders = [topK(forwardKey), topK(reverseKey)];
  const inverse = orders.map((o) => topK(g.node(path, 'Cast', [o], { to: FLOAT })));
  const axis2 = i64('axis2', [1], [2]);
  /** t [N, T, C] gathered along the steps by the [N, T] order `o`. */
  const gatherSteps = (t: string, o: string) =>
    g.node(path, 'GatherElements', [t, g.node(path, 'Expand', [g.node(path, 'Unsqueeze', [o, axis2]), g.node(path, 'Shape', [t])])], {
      axis: 1,
    });
  const keep = g.node(path, 'Unsqueeze', [g.node(path, 'Sub', [g.constant(at0('one'), [], [1]), padF]), axis2]);
  const lengths = g.node(path, 'ReduceSum', [g.node(path, 'Sub', [g.constant(at0('one'), [], [1]), padF]), i64('axis1', [1], [1])], {
    keepdims: 1,
  });
  const lastStep = g.node(
    path,
    'Cast',
    [g.node(path, 'Max', [g.node(path, 'Sub', [lengths, g.constant(at0('one'), [], [1])]), g.constant(at0('zero'), [], [0])])],
    { to: INT64 },
  );
  const any = g.node(path, 'Unsqueeze', [g.node(path, 'Min', [lengths, g.constant(at0('one'), [], [1])]), axis2]);
  const lastIndex = g.node(path, 'Expand', [g.node(path, 'Unsqueeze', [lastStep, axis2]), i64('lastShape', [3], [1, 1, H])]);
  const axis1 = i64('axis1', [1], [1]);
  const toBatchFirst = (y: string) => g.node(path, 'Transpose', [g.node(path, 'Squeeze', [y, axis1])], { perm: [1, 0, 2] });
  let seq = x;
  let finals: string[] = [];
  for (let k = 0; k < m.numLayers; k++) {
    const outs: string[] = [];
    finals = [];
    for (let d = 0; d < m.numDirections; d++) {
      const moved = g.node(path, 'Transpose', [gatherSteps(seq, orders[d])], { perm: [1, 0, 2] });
      // Y [T, 1, N, H] → [N, T, H], in the moved order
      const { y } = layerNode(g, m, path, k, [d], moved, { y: true, yh: false });
      const yb = toBatchFirst(y);
      outs.push(g.node(path, 'Mul', [gatherSteps(yb, inverse[d]), keep]));
      finals.push(g.node(path, 'Mul', [g.node(path, 'GatherElements', [yb, lastIndex], { axis: 1 }), any]));
    }
    seq = outs.length === 1 ? outs[0] : g.node(path, 'Concat', outs, { axis: 2 });
  }
  if (m.returnSequences) return seq;
  // each direction's final state [N, 1, H], concatenated and flattened to [N, D·H]
  const joined = finals.length === 1 ? finals[0] : g.node(path, 'Concat', finals, { axis: 2 });
  return g.node(path, 'Reshape', [joined, i64('flat', [2], [0, -1])]);
}

function attr(name: string, fill: (a: ProtoWriter) => void): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  fill(a);
  return a;
}
