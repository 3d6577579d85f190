/**
 * ONNX forms of the layers of nn/activation-more.ts, nn/rmsnorm.ts, nn/softmax.ts and
 * nn/unflatten.ts (opset 17): PReLU as PRelu (its slopes as [C, 1, …] so they broadcast over
 * dim 1), Hardswish as HardSwish, Hardsigmoid as HardSigmoid (alpha ⅙, beta ½), SELU as Selu with
 * PyTorch's α and λ, Hardtanh and ReLU6 as Clip, Mish as x·tanh(softplus(x)) (opset 18's Mish is
 * past the file's opset), Softmax and LogSoftmax as themselves on their axis, Identity as nothing,
 * Unflatten as Reshape to its output shape with the batch copied (refused when it splits the batch
 * dimension itself), and RMSNorm as its ops: x / √(ReduceMean(x·x) + eps) · weight, eps None
 * written as float32's machine epsilon, the file's dtype.
 */
import type { Module } from '../nn/module.js';
import { Hardsigmoid, Hardswish, Hardtanh, Mish, PReLU, ReLU6, SELU } from '../nn/activation-more.js';
import { SELU_ALPHA, SELU_SCALE } from '../autograd/activations-more.js';
import { RMSNorm, machineEps } from '../nn/rmsnorm.js';
import { LogSoftmax, Softmax } from '../nn/softmax.js';
import { Identity, Unflatten } from '../nn/unflatten.js';
import { normAxis } from '../tensor/shape.js';
import type { At, Graph } from './onnx.js';

/** Whether `m` is one of the layers emitMore writes. */
export function isMoreLayer(m: Module): boolean {
  return [PReLU, Hardswish, Hardsigmoid, SELU, Hardtanh, ReLU6, Mish, Softmax, LogSoftmax, Identity, Unflatten, RMSNorm].some(
    (k) => m instanceof k,
  );
}

/**
 * Writes `m`'s forward from `at` (m one of isMoreLayer's); `refuse` throws naming the layer.
 * Returns where its output is.
 */
export function emitMore(g: Graph, m: Module, path: string, at: At, refuse: (why: string) => never): At {
  const { x } = at;
  const next = (y: string): At => ({ x: y, probe: m.forward(at.probe, { training: false }), mask: at.mask });
  const clip = (lo: number, hi: number) => g.node(path, 'Clip', [x, g.scalar(`${path}.min`, lo), g.scalar(`${path}.max`, hi)]);
  if (m instanceof PReLU) {
    const c = m.weight.size;
    const dims = c === 1 ? [1] : [c, ...at.probe.shape.slice(2).map(() => 1)];
    return next(g.node(path, 'PRelu', [x, g.tensor(m.weight, dims)]));
  }
  if (m instanceof Hardswish) return next(g.node(path, 'HardSwish', [x]));
  if (m instanceof Hardsigmoid) return next(g.node(path, 'HardSigmoid', [x], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } }));
  if (m instanceof SELU) return next(g.node(path, 'Selu', [x], { alpha: { float: SELU_ALPHA }, gamma: { float: SELU_SCALE } }));
  if (m instanceof Hardtanh) return next(clip(m.minVal, m.maxVal));
  if (m instanceof ReLU6) return next(clip(0, 6));
  if (m instanceof Mish) return next(g.node(path, 'Mul', [x, g.node(path, 'Tanh', [g.node(path, 'Softplus', [x])])]));
  if (m instanceof Softmax) return next(g.node(path, 'Softmax', [x], { axis: m.dim }));
  if (m instanceof LogSoftmax) return next(g.node(path, 'LogSoftmax', [x], { axis: m.dim }));
  if (m instanceof Identity) return next(x);
  if (m instanceof Unflatten) {
    if (normAxis(m.dim, at.probe.ndim, 'Unflatten dim') === 0)
      refuse('splits the batch dimension, whose size the file leaves free; expected a dim after the batch');
    const out = m.forward(at.probe);
    return next(g.node(path, 'Reshape', [x, g.constant(`${path}.shape`, [out.ndim], [0, ...out.shape.slice(1)], 'int64')]));
  }
  if (m instanceof RMSNorm) {
    const k = m.normalizedShape.length;
    const axes = Array.from({ length: k }, (_, i) => i - k);
    const ms = g.node(path, 'ReduceMean', [g.node(path, 'Mul', [x, x])], { axes, keepdims: 1 });
    const rms = g.node(path, 'Sqrt', [g.node(path, 'Add', [ms, g.scalar(`${path}.eps`, m.eps ?? machineEps('float32'))])]);
    const y = g.node(path, 'Div', [x, rms]);
    return next(m.weight ? g.node(path, 'Mul', [y, g.tensor(m.weight)]) : y);
  }
  refuse(`is a ${m.constructor.name}, which exportOnnx has no ONNX form for`);
}
