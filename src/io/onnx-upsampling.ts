/**
 * ONNX forms of the layers that scale an image or a sequence up, for exportOnnx (onnx.ts):
 *
 * - ConvTranspose2d, ConvTranspose1d: ConvTranspose, whose weight layout [in, out/groups, ...k],
 *   pads, strides, dilations, group and output_padding are PyTorch's. ONNX Runtime runs only an
 *   output_padding below the stride; a larger one (PyTorch allows it below the dilation) is written
 *   as the end's padding reduced by it, and refused where it exceeds the padding.
 * - Upsample: Resize over the spatial axes. The source positions are interpolate's: legacy nearest
 *   is coordinate_transformation_mode 'asymmetric' with nearest_mode 'floor' (src = ⌊dst/scale⌋);
 *   nearest-exact 'half_pixel' with 'round_prefer_ceil' (⌊(dst + ½)/scale − ½ + ½⌋); the linear
 *   modes 'align_corners', or 'half_pixel' (ONNX's edge padding gives PyTorch's clamp at 0 and at
 *   n − 1). A scaleFactor goes in as Resize's scales — the output ⌊n·scale⌋ and positions by the
 *   scale, as PyTorch's — and a size (or recomputeScaleFactor) as its sizes, N and C taken from the
 *   input's Shape. ONNX computes scales in float32 where PyTorch takes 1/scaleFactor in float64, so
 *   a nearest source index on an exact boundary may differ for scale factors that are not powers of 2.
 */
import type { Module } from '../nn/module.js';
import { ConvTranspose1d, ConvTranspose2d } from '../nn/conv-transpose.js';
import { Upsample } from '../nn/upsample.js';
import type { At, Graph } from './onnx.js';

function refuse(path: string, m: Module, why: string): never {
  throw new RangeError(`exportOnnx: layer ${path || '(the model)'} (${m.describe()}) ${why}`);
}

/** Whether emitUpsampling writes `m`. */
export function isUpsamplingLayer(m: Module): boolean {
  return m instanceof ConvTranspose2d || m instanceof ConvTranspose1d || m instanceof Upsample;
}

/** Writes `m` (isUpsamplingLayer) from `at`; returns where its output is. */
export function emitUpsampling(g: Graph, m: Module, path: string, at: At): At {
  const { x, probe } = at;
  const next = (y: string): At => ({ x: y, probe: m.forward(probe, { training: false }), mask: at.mask });
  if (m instanceof ConvTranspose2d || m instanceof ConvTranspose1d) {
    const inputs = [x, g.tensor(m.weight)];
    if (m.bias) inputs.push(g.tensor(m.bias));
    const axes = (v: number | readonly number[]) => (typeof v === 'number' ? [v] : [...v]);
    const pads = axes(m.padding),
      op = axes(m.outputPadding),
      stride = axes(m.stride);
    // ONNX Runtime refuses an output_padding ≥ stride (which PyTorch allows below the dilation); the
    // same output is the uncropped one cropped by p at the start and p − outputPadding at the end
    const byPads = op.map((v, i) => v >= stride[i]);
    if (byPads.some((b, i) => b && op[i] > pads[i]))
      refuse(
        path,
        m,
        `has outputPadding ${op.join('×')} ≥ stride ${stride.join('×')} and > padding ${pads.join('×')}, which ONNX Runtime's ConvTranspose cannot run; expected outputPadding < stride, or ≤ padding`,
      );
    return next(
      g.node(path, 'ConvTranspose', inputs, {
        kernel_shape: axes(m.kernelSize),
        strides: stride,
        pads: [...pads, ...pads.map((p, i) => (byPads[i] ? p - op[i] : p))],
        dilations: axes(m.dilation),
        output_padding: op.map((v, i) => (byPads[i] ? 0 : v)),
        group: m.groups,
      }),
    );
  }
  const u = m as Upsample;
  const spatial = probe.ndim - 2;
  const attrs =
    u.mode === 'nearest'
      ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
      : u.mode === 'nearest-exact'
        ? { mode: 'nearest', coordinate_transformation_mode: 'half_pixel', nearest_mode: 'round_prefer_ceil' }
        : { mode: 'linear', coordinate_transformation_mode: u.alignCorners ? 'align_corners' : 'half_pixel' };
  const strings = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { string: v }]));
  const perAxis = (v: number | readonly number[]) => (typeof v === 'number' ? Array<number>(spatial).fill(v) : [...v]);
  if (u.scaleFactor !== null && !u.recomputeScaleFactor) {
    const scales = g.constant(`${path}.scales`, [spatial + 2], [1, 1, ...perAxis(u.scaleFactor)]);
    return next(g.node(path, 'Resize', [x, '', scales], strings));
  }
  // the output's spatial size, as the layer computes it for this input (size, or ⌊n·scaleFactor⌋)
  const size = m.forward(probe, { training: false }).shape.slice(2);
  const nc = g.node(path, 'Slice', [
    g.node(path, 'Shape', [x]),
    g.constant(`${path}.start`, [1], [0], 'int64'),
    g.constant(`${path}.end`, [1], [2], 'int64'),
  ]);
  const sizes = g.node(path, 'Concat', [nc, g.constant(`${path}.size`, [spatial], size, 'int64')], { axis: 0 });
  return next(g.node(path, 'Resize', [x, '', '', sizes], strings));
}
