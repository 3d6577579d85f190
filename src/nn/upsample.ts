/**
 * PyTorch's nn.Upsample: F.interpolate as a layer, with no parameters (autograd/interpolate.ts).
 * The options are checked when the layer is built, as far as they do not depend on the input.
 */
import type { Tensor } from '../tensor/tensor.js';
import { checkOptions } from '../util/options.js';
import {
  checkInterpolateArgs,
  interpolateSchema,
  interpolateWith,
  type InterpolateMode,
  type InterpolateOptions,
} from '../autograd/interpolate.js';
import { Module } from './module.js';

export interface UpsampleOptions {
  /** The output's spatial size: one number for every spatial axis, or [H, W] ([L] for sequences). */
  size?: number | readonly number[];
  /** Multiplier of each spatial size (one for all, or one per axis); the output is ⌊size·scaleFactor⌋. */
  scaleFactor?: number | readonly number[];
  /** Default 'nearest' (PyTorch's legacy nearest); 'linear' for [N, C, L], 'bilinear' for [N, C, H, W]. */
  mode?: InterpolateMode;
  /** Linear modes only (default false): corner pixels' centres map onto each other. */
  alignCorners?: boolean;
  /** With a scaleFactor: place source positions by the output size instead of 1/scaleFactor (default false). */
  recomputeScaleFactor?: boolean;
}

export class Upsample extends Module {
  readonly size: number | readonly number[] | null;
  readonly scaleFactor: number | readonly number[] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | null;
  readonly recomputeScaleFactor: boolean;

  constructor(opts: UpsampleOptions) {
    super();
    checkOptions('Upsample', opts, interpolateSchema);
    this.size = opts.size ?? null;
    this.scaleFactor = opts.scaleFactor ?? null;
    this.mode = opts.mode ?? 'nearest';
    this.alignCorners = opts.alignCorners ?? null;
    this.recomputeScaleFactor = opts.recomputeScaleFactor ?? false;
    checkInterpolateArgs(this.interpolateArgs(), 'Upsample');
  }

  /** The options as interpolate takes them. */
  interpolateArgs(): InterpolateOptions {
    return {
      size: this.size,
      scaleFactor: this.scaleFactor,
      mode: this.mode,
      alignCorners: this.alignCorners,
      recomputeScaleFactor: this.recomputeScaleFactor,
    };
  }

  forward(x: Tensor): Tensor {
    return interpolateWith(x, this.interpolateArgs(), this.describe());
  }

  override describe(): string {
    const show = (v: number | readonly number[]) => (typeof v === 'number' ? `${v}` : v.join('×'));
    const what = this.size !== null ? `size ${show(this.size)}` : this.scaleFactor !== null ? `scaleFactor ${show(this.scaleFactor)}` : '';
    const align = this.alignCorners !== null ? `, alignCorners ${this.alignCorners}` : '';
    return `Upsample(${what}, ${this.mode}${align})`;
  }
}
