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
}

// onnx.proto's AttributeProto types
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_STRINGS = 8;

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

/** Writes `m`'s evaluation forward from `at`; returns where its output is. */
export function emitRecurrent(g: GraphWriter, m: Recurrent, path: string, at: At): At {
  const H = m.hiddenSize;
  const D = m.numDirections;
  const order = ONNX_GATES[m.mode];
  const G = order.length;
  const op = m.mode === 'LSTM' ? 'LSTM' : m.mode === 'GRU' ? 'GRU' : 'RNN';
  const at0 = (name: string) => `${path ? `${path}.` : ''}${name}`;
  let x = g.node(path, 'Transpose', [at.x], { perm: [1, 0, 2] });
  // Reshape's target [0, 0, −1]: the first two dimensions kept, the rest merged
  let merge = '';
  const keep = () => (merge ||= g.constant(at0('shape'), [3], [0, 0, -1], 'int64'));
  for (let k = 0; k < m.numLayers; k++) {
    const inK = k === 0 ? m.inputSize : D * H;
    const W: number[] = [];
    const R: number[] = [];
    const B: number[] = [];
    for (const w of m.weights[k]) {
      reorder(w.wIh, order, H, W);
      reorder(w.wHh, order, H, R);
      if (w.bIh && w.bHh) {
        reorder(w.bIh, order, H, B);
        reorder(w.bHh, order, H, B);
      }
    }
    const inputs = [x, g.constant(at0(`W_l${k}`), [D, G * H, inK], W), g.constant(at0(`R_l${k}`), [D, G * H, H], R)];
    if (m.bias) inputs.push(g.constant(at0(`B_l${k}`), [D, 2 * G * H], B));
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
    const last = k === m.numLayers - 1;
    const y = last && !m.returnSequences ? '' : g.fresh(`${path}/${op}_l${k}/Y`);
    const yh = last && !m.returnSequences ? g.fresh(`${path}/${op}_l${k}/Y_h`) : '';
    const node = new ProtoWriter();
    for (const i of inputs) node.string(1, i);
    node.string(2, y);
    if (yh) node.string(2, yh);
    node.string(3, g.fresh(`${path}/${op}_l${k}`)).string(4, op);
    for (const a of attrs) node.bytes(5, a.finish());
    g.nodes.push(node);
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
  return { x, probe: m.forward(at.probe, { training: false }) };
}

function attr(name: string, fill: (a: ProtoWriter) => void): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  fill(a);
  return a;
}
