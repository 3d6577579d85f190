/**
 * ONNX forms of the attention layers, for exportOnnx (onnx.ts), in opset-17 operators:
 *
 * - MultiheadAttention (its forward: self-attention): one MatMul of x [N, L, E] with
 *   in_proj_weightᵀ (a Transpose of the initializer, which runtimes fold) and Add of in_proj_bias;
 *   Reshape [0, 0, 3, H, D] and Transpose to [3, N, H, L, D], Gather of q, k and v; q·(1/√D)·kᵀ by
 *   MatMul, plus −∞ where a key is padding (At.mask, by Where) and above the diagonal when causal (a
 *   constant [L, L]), Softmax over the last axis (with a mask: NaN, a query with no key left, → 0,
 *   as forward's emptyRows 'zero'), MatMul with v; Transpose and Reshape back to [N, L, E] and
 *   the output projection as MatMul and Add.
 * - TransformerEncoderLayer: that attention, the feed-forward block as MatMul/Add with Relu or GELU
 *   (x·½(1 + erf(x/√2)), as onnx.ts writes GELU), LayerNormalization for norm1 and norm2, Add for the
 *   residual sums, in the post-norm or pre-norm order; dropout is the identity (evaluation).
 * - TransformerEncoder: its layers in order, then LayerNormalization for the final norm.
 * - PositionalEmbedding: Add of Slice(weight, 0, L) (L is the sample's, fixed by inputShape).
 * - SinusoidalPositionalEncoding: Add of the [L, dim] table as a constant.
 *
 * The decoder side (TransformerDecoderLayer, TransformerDecoder, Transformer) reads two sequences,
 * and exportOnnx writes a graph of one input: twoInputRefusal names why they are refused.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { LayerNorm } from '../nn/layernorm.js';
import { MultiheadAttention } from '../nn/attention.js';
import { TransformerEncoder, TransformerEncoderLayer } from '../nn/transformer.js';
import { Transformer, TransformerDecoder, TransformerDecoderLayer } from '../nn/decoder.js';
import { PositionalEmbedding, SinusoidalPositionalEncoding, sinusoidalTable } from '../nn/positional.js';
import type { At, Graph } from './onnx.js';

/** Whether emitAttention writes `m`. */
export function isAttentionLayer(m: Module): boolean {
  return (
    m instanceof MultiheadAttention ||
    m instanceof TransformerEncoderLayer ||
    m instanceof TransformerEncoder ||
    m instanceof PositionalEmbedding ||
    m instanceof SinusoidalPositionalEncoding
  );
}

/** Why exportOnnx cannot write `m` as the model, or null: the decoder side takes two sequences. */
export function twoInputRefusal(m: Module): string | null {
  const inputs =
    m instanceof Transformer
      ? 'src and tgt'
      : m instanceof TransformerDecoder || m instanceof TransformerDecoderLayer
        ? 'tgt and memory'
        : null;
  if (!inputs) return null;
  return `exportOnnx: the model (${m.describe()}) reads two sequences (${inputs}); exportOnnx writes a graph of one input, so it has no ONNX form for it`;
}

const sub = (path: string, name: string) => (path ? `${path}.${name}` : name);

/** x·Wᵀ (+ b) over the last axis of x, with W [out, in] under its state name. */
function linear(g: Graph, path: string, x: string, weight: Tensor, bias: Tensor | null): string {
  const y = g.node(path, 'MatMul', [x, g.node(path, 'Transpose', [g.tensor(weight)], { perm: [1, 0] })]);
  return bias ? g.node(path, 'Add', [y, g.tensor(bias)]) : y;
}

function layerNorm(g: Graph, path: string, x: string, m: LayerNorm): string {
  const ones = new Float32Array(m.normalizedShape.reduce((a, b) => a * b, 1)).fill(1);
  const scale = m.weight ? g.tensor(m.weight) : g.constant(`${path}.weight`, m.normalizedShape, ones);
  const inputs = m.bias ? [x, scale, g.tensor(m.bias)] : [x, scale];
  return g.node(path, 'LayerNormalization', inputs, { axis: -m.normalizedShape.length, epsilon: { float: m.eps } });
}

function gelu(g: Graph, path: string, x: string): string {
  const inner = g.node(path, 'Erf', [g.node(path, 'Div', [x, g.scalar(`${path}.sqrt2`, Math.SQRT2)])]);
  const half = g.node(path, 'Mul', [x, g.scalar(`${path}.half`, 0.5)]);
  return g.node(path, 'Mul', [half, g.node(path, 'Add', [inner, g.scalar(`${path}.one`, 1)])]);
}

/** Self-attention of x [N, L, E] (MultiheadAttention.forward), with the padding mask (bool [N, L]) if any. */
function selfAttention(
  g: Graph,
  m: MultiheadAttention,
  path: string,
  x: string,
  l: number,
  mask: string | undefined,
  causal: boolean,
): string {
  const e = m.embedDim,
    h = m.numHeads,
    d = m.headDim;
  const qkv = linear(g, path, x, m.inProjWeight!, m.inProjBias);
  const split = g.node(path, 'Transpose', [g.node(path, 'Reshape', [qkv, g.constant(`${path}.heads`, [5], [0, 0, 3, h, d], 'int64')])], {
    perm: [2, 0, 3, 1, 4],
  });
  const part = (i: number) => g.node(path, 'Gather', [split, g.constant(`${path}.index`, [], [i], 'int64')], { axis: 0 });
  const q = g.node(path, 'Mul', [part(0), g.scalar(`${path}.scale`, 1 / Math.sqrt(d))]);
  const kT = g.node(path, 'Transpose', [part(1)], { perm: [0, 1, 3, 2] });
  let scores = g.node(path, 'MatMul', [q, kT]);
  if (mask) {
    const padding = g.node(path, 'Where', [mask, g.scalar(`${path}.minusInf`, -Infinity), g.scalar(`${path}.zero`, 0)]);
    const perKey = g.node(path, 'Unsqueeze', [padding, g.constant(`${path}.axes`, [2], [1, 2], 'int64')]);
    scores = g.node(path, 'Add', [scores, perKey]);
  }
  if (causal) {
    const above = Float32Array.from({ length: l * l }, (_, i) => (i % l > Math.floor(i / l) ? -Infinity : 0));
    scores = g.node(path, 'Add', [scores, g.constant(`${path}.causal`, [l, l], above)]);
  }
  let weights = g.node(path, 'Softmax', [scores], { axis: -1 });
  if (mask) weights = g.node(path, 'Where', [g.node(path, 'IsNaN', [weights]), g.scalar(`${path}.zero`, 0), weights]);
  const heads = g.node(path, 'Transpose', [g.node(path, 'MatMul', [weights, part(2)])], { perm: [0, 2, 1, 3] });
  const joined = g.node(path, 'Reshape', [heads, g.constant(`${path}.joined`, [3], [0, 0, e], 'int64')]);
  return linear(g, sub(path, 'out_proj'), joined, m.outProj.weight, m.outProj.bias);
}

function encoderLayer(g: Graph, m: TransformerEncoderLayer, path: string, x: string, l: number, mask: string | undefined): string {
  const sa = (h: string) => selfAttention(g, m.selfAttn, sub(path, 'self_attn'), h, l, mask, m.causal);
  const ff = (h: string) => {
    const p1 = sub(path, 'linear1');
    const z = linear(g, p1, h, m.linear1.weight, m.linear1.bias);
    const a = m.activation === 'gelu' ? gelu(g, p1, z) : g.node(p1, 'Relu', [z]);
    return linear(g, sub(path, 'linear2'), a, m.linear2.weight, m.linear2.bias);
  };
  const n1 = (h: string) => layerNorm(g, sub(path, 'norm1'), h, m.norm1);
  const n2 = (h: string) => layerNorm(g, sub(path, 'norm2'), h, m.norm2);
  if (m.normFirst) {
    const h = g.node(path, 'Add', [x, sa(n1(x))]);
    return g.node(path, 'Add', [h, ff(n2(h))]);
  }
  const h = n1(g.node(path, 'Add', [x, sa(x)]));
  return n2(g.node(path, 'Add', [h, ff(h)]));
}

/** Writes the attention layer `m` (isAttentionLayer) from `at`; returns where its output is. */
export function emitAttention(g: Graph, m: Module, path: string, at: At): At {
  const { x, probe, mask } = at;
  const next = (y: string): At => ({ x: y, probe: m.forward(probe, { training: false }), mask });
  const l = probe.shape[1];
  if (m instanceof MultiheadAttention) return next(selfAttention(g, m, path, x, l, mask, m.causal));
  if (m instanceof TransformerEncoderLayer) return next(encoderLayer(g, m, path, x, l, mask));
  if (m instanceof TransformerEncoder) {
    let y = x;
    m.layers.layers.forEach((layer, i) => {
      y = encoderLayer(g, layer as TransformerEncoderLayer, sub(path, `layers.${i}`), y, l, mask);
    });
    return next(m.norm ? layerNorm(g, sub(path, 'norm'), y, m.norm) : y);
  }
  if (m instanceof PositionalEmbedding) {
    const rows = g.node(path, 'Slice', [
      g.tensor(m.weight),
      g.constant(`${path}.starts`, [1], [0], 'int64'),
      g.constant(`${path}.ends`, [1], [l], 'int64'),
      g.constant(`${path}.axes`, [1], [0], 'int64'),
    ]);
    return next(g.node(path, 'Add', [x, rows]));
  }
  const s = m as SinusoidalPositionalEncoding;
  return next(g.node(path, 'Add', [x, g.constant(`${path}.table`, [l, s.dim], sinusoidalTable(l, s.dim, s.base, 'float64'))]));
}
