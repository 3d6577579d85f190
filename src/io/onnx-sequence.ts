/**
 * ONNX forms of the sequence layers, for exportOnnx (onnx.ts), which hands them the layers
 * `isSequenceLayer` names:
 *
 * - Conv1d, MaxPool1d, AvgPool1d: Conv, MaxPool, AveragePool with 1-D attributes (kernel_shape [k],
 *   pads [p, p]) on [N, C, L], the weight [out, in/groups, k] as it is stored.
 * - AdaptiveAvgPool1d: GlobalAveragePool for an output of 1, AveragePool when the output size
 *   divides the length (every bin the same size); other sizes are refused, as for the 2-D form.
 * - Embedding: the ids arrive as floats (a graph's input is float32), so Cast to int64, then Gather
 *   of the weight's rows (axis 0); with maskPadding also the padding mask, Equal(ids, paddingIdx),
 *   which the attention layers and SequenceMean after it read (At.mask).
 * - SequenceMean: ReduceMean over axis 1; with a padding mask, ReduceSum of x·w over axis 1 with
 *   w = (1 − mask) / max(1, the sample's count of other steps), as SequenceMean computes it.
 * - Transpose: Transpose with the permutation that swaps its two axes.
 * - Linear (and the fused LinearReLU, LinearSiLU) on an input of more than two axes: MatMul with
 *   the transposed weight, then Add of the bias, over the last axis (Gemm takes 2-D inputs only).
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { Conv1d } from '../nn/conv1d.js';
import { AdaptiveAvgPool1d, AvgPool1d, MaxPool1d } from '../nn/pool1d.js';
import { Embedding } from '../nn/embedding.js';
import { Transpose } from '../nn/transpose.js';
import { LinearGELU, LinearReLU, LinearSiLU } from '../nn/fuse.js';
import type { At, Graph } from './onnx.js';

/** ONNX's TensorProto.DataType for int64 (Cast's `to`). */
const INT64 = 7;
/** … and for float32. */
const FLOAT = 1;

/** Whether emitSequence writes `m` for an input shaped like `probe`. */
export function isSequenceLayer(m: Module, probe: Tensor): boolean {
  if (m instanceof Linear || m instanceof LinearReLU || m instanceof LinearSiLU || m instanceof LinearGELU) return probe.ndim > 2;
  return (
    m instanceof Conv1d ||
    m instanceof MaxPool1d ||
    m instanceof AvgPool1d ||
    m instanceof AdaptiveAvgPool1d ||
    m instanceof Embedding ||
    m instanceof Transpose
  );
}

/** SequenceMean of x [N, T, F] → [N, F], over the steps `mask` (bool [N, T], true = padding) does not set. */
export function sequenceMean(g: Graph, path: string, x: string, mask: string | undefined): string {
  if (!mask) return g.node(path, 'ReduceMean', [x], { axes: [1], keepdims: 0 });
  const axis1 = g.constant(`${path}.axis1`, [1], [1], 'int64');
  const keep = g.node(path, 'Cast', [g.node(path, 'Not', [mask])], { to: FLOAT });
  const count = g.node(path, 'Max', [g.node(path, 'ReduceSum', [keep, axis1], { keepdims: 1 }), g.scalar(`${path}.one`, 1)]);
  const w = g.node(path, 'Unsqueeze', [g.node(path, 'Div', [keep, count]), g.constant(`${path}.axis2`, [1], [2], 'int64')]);
  return g.node(path, 'ReduceSum', [g.node(path, 'Mul', [x, w]), axis1], { keepdims: 0 });
}

function refuse(path: string, m: Module, why: string): never {
  throw new RangeError(`exportOnnx: layer ${path || '(the model)'} (${m.describe()}) ${why}`);
}

/** Writes the sequence layer `m` (isSequenceLayer) from `at`; returns where its output is. */
export function emitSequence(g: Graph, m: Module, path: string, at: At): At {
  const { x, probe } = at;
  const next = (y: string): At => ({ x: y, probe: m.forward(probe, { training: false }), mask: at.mask });
  if (m instanceof Conv1d) {
    const inputs = [x, g.tensor(m.weight)];
    if (m.bias) inputs.push(g.tensor(m.bias));
    return next(
      g.node(path, 'Conv', inputs, {
        kernel_shape: [m.kernelSize],
        strides: [m.stride],
        pads: [m.padding, m.padding],
        dilations: [m.dilation],
        group: m.groups,
      }),
    );
  }
  if (m instanceof MaxPool1d)
    return next(g.node(path, 'MaxPool', [x], { kernel_shape: [m.kernelSize], strides: [m.stride], pads: [m.padding, m.padding] }));
  if (m instanceof AvgPool1d)
    return next(
      g.node(path, 'AveragePool', [x], {
        kernel_shape: [m.kernelSize],
        strides: [m.stride],
        pads: [m.padding, m.padding],
        count_include_pad: m.countIncludePad ? 1 : 0,
      }),
    );
  if (m instanceof AdaptiveAvgPool1d) {
    const l = probe.shape[2],
      o = m.outputSize;
    if (o === 1) return next(g.node(path, 'GlobalAveragePool', [x]));
    if (l % o)
      refuse(
        path,
        m,
        `pools a length of ${l} into ${o} with bins of unequal sizes, which ONNX's AveragePool cannot express; expected an output size that divides the length`,
      );
    return next(g.node(path, 'AveragePool', [x], { kernel_shape: [l / o], strides: [l / o] }));
  }
  if (m instanceof Embedding) {
    const ids = g.node(path, 'Cast', [x], { to: INT64 });
    const y = g.node(path, 'Gather', [g.tensor(m.weight), ids], { axis: 0 });
    if (!m.maskPadding) return next(y);
    const pad = g.node(path, 'Equal', [ids, g.constant(`${path}.pad`, [], [m.paddingIdx!], 'int64')]);
    return { x: y, probe: m.forward(probe), mask: at.mask ? g.node(path, 'Or', [at.mask, pad]) : pad };
  }
  if (m instanceof Transpose) return next(g.node(path, 'Transpose', [x], { perm: m.perm(probe.ndim) }));
  if (m instanceof Linear) return next(matMul(g, m, path, x));
  if (m instanceof LinearReLU) return next(g.node(path, 'Relu', [matMul(g, m.linear, path, x)]));
  if (m instanceof LinearSiLU) {
    const y = matMul(g, m.linear, path, x);
    return next(g.node(path, 'Mul', [y, g.node(path, 'Sigmoid', [y])]));
  }
  refuse(
    path,
    m,
    `takes an input of ${probe.ndim} axes, which exportOnnx writes for Linear, LinearReLU and LinearSiLU only: export the unfused model`,
  );
}

/** x · Wᵀ + b over the last axis of an input of any rank. */
function matMul(g: Graph, m: Linear, path: string, x: string): string {
  const wt = g.node(path, 'Transpose', [g.tensor(m.weight)], { perm: [1, 0] });
  const y = g.node(path, 'MatMul', [x, wt]);
  return m.bias ? g.node(path, 'Add', [y, g.tensor(m.bias)]) : y;
}
