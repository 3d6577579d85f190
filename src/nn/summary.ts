/**
 * A model's layers with their output shapes and parameter counts, as Keras' `model.summary()` and
 * torchinfo print them. The shapes come from one forward pass of a zero sample in evaluation mode,
 * without a graph; the batch dimension is left out of every shape, as Keras shows it as None.
 */
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import { Sequential } from './layers.js';
import type { Module } from './module.js';

export interface LayerSummary {
  /** The layer's name in the model (its parameters are `name.weight`, …). */
  name: string;
  /** The layer as `describe()` gives it, e.g. `Linear(784 → 256)`. */
  layer: string;
  /** Its output shape for one sample (no batch dimension). */
  outputShape: number[];
  /** Its trained values. */
  params: number;
}

export interface ModelSummary {
  /** One sample's shape as the model takes it (no batch dimension). */
  inputShape: number[];
  /** The layers of a Sequential in order (those of a Sequential inside it too); any other model is one row. */
  layers: LayerSummary[];
  /** Trained values of the whole model. */
  params: number;
  /** Values kept but not trained (BatchNorm's running statistics). */
  buffers: number;
  /** The table: one line per layer, then the totals. */
  toString(): string;
}

const count = (ts: readonly Tensor[]) => ts.reduce((a, t) => a + t.size, 0);
const fmt = (n: number) => n.toLocaleString('en-US');
const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** The layers of `model` with their output shapes for a sample of `inputShape` (no batch dimension) and their parameter counts. */
export function summary(model: Module, inputShape: readonly number[]): ModelSummary {
  if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d >= 1))
    throw new RangeError(
      `summary: invalid inputShape ${JSON.stringify(inputShape)}; expected the shape of one sample, such as [1, 28, 28]`,
    );
  const dtype = model.parameters()[0]?.dtype ?? 'float32';
  // a Sequential inside a Sequential (a spec's stacked encoder layers, its seqmean) lists its own
  // layers, named as their parameters are ("2.0", "2.1")
  const rows = (s: Sequential, prefix: string): [string, Module][] =>
    s.layers.flatMap((m, i): [string, Module][] =>
      m instanceof Sequential ? rows(m, `${prefix}${s.names[i]}.`) : [[`${prefix}${s.names[i]}`, m]],
    );
  const steps: [string, Module][] = model instanceof Sequential ? rows(model, '') : [['', model]];
  const layers: LayerSummary[] = [];
  noGrad(() => {
    const size = inputShape.reduce((a, d) => a * d, 1);
    let x = new Tensor(dtype === 'float64' ? new Float64Array(size) : new Float32Array(size), [1, ...inputShape]);
    for (const [name, m] of steps) {
      x = m.forward(x, { training: false });
      layers.push({ name, layer: m.describe(), outputShape: x.shape.slice(1), params: count(m.parameters()) });
    }
  });
  const params = count(model.parameters());
  const buffers = count(model.buffers());
  return {
    inputShape: [...inputShape],
    layers,
    params,
    buffers,
    toString() {
      // the names padded to one width, so the layers start in one column ("2" and "2.1")
      const nameWidth = Math.max(...layers.map((l) => l.name.length));
      const rows = [
        ['layer', 'output shape', 'parameters'],
        ...layers.map((l) => [`${l.name ? `${l.name.padEnd(nameWidth)}  ` : ''}${l.layer}`, shapeText(l.outputShape), fmt(l.params)]),
      ];
      const w = [0, 1].map((c) => Math.max(...rows.map((r) => r[c].length)));
      const lines = rows.map((r) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padStart(10)}`);
      lines.splice(1, 0, '-'.repeat(lines[0].length));
      lines.push(`input ${shapeText(inputShape)}; ${fmt(params)} parameters${buffers ? `, ${fmt(buffers)} buffer values` : ''}`);
      return lines.join('\n');
    },
  };
}
