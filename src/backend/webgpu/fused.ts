/**
 * The convolution + max pooling layer and its backward, composed from the kernels on the device
 * (the intermediate lives in a transient GPU buffer, released once the queue that uses it is
 * submitted): forward convLayer then maxPool2d; backward the pooled gradient masked where the
 * pooled output is positive (when relu: a pooled value is positive exactly where the ReLU passed
 * its window's maximum) and gathered to the arg-max positions in one kernel (maxPool2dBackward),
 * then convLayerBackward without a mask.
 */
import type { Conv2dGeometry, PoolGeometry } from '../backend.js';
import type { DeviceStorage } from '../../tensor/device.js';
import { type GpuContext, GpuStorage } from './context.js';
import { allOwn } from './dense.js';
import type { convOps } from './conv.js';
import type { elementwiseOps } from './elementwise.js';
import type { poolOps } from './pool.js';

type Parts = ReturnType<typeof convOps> & ReturnType<typeof elementwiseOps> & ReturnType<typeof poolOps>;

export function fusedOps(ctx: GpuContext, k: Parts) {
  const isIndex = (s: DeviceStorage) => s instanceof GpuStorage && s.ctx === ctx && s.dtype === 'int32';
  const samePlanes = (g: Conv2dGeometry, pg: PoolGeometry) => pg.n === g.n && pg.c === g.k && pg.h === g.oh && pg.w === g.ow;

  function convPoolLayer(
    x: DeviceStorage,
    w: DeviceStorage,
    bias: DeviceStorage | null,
    out: DeviceStorage,
    idx: DeviceStorage,
    g: Conv2dGeometry,
    pg: PoolGeometry,
    relu: boolean,
  ): boolean {
    if (!allOwn(ctx, x, w, bias, out) || !isIndex(idx) || !samePlanes(g, pg)) return false;
    const y = GpuStorage.zeros('float32', g.n * g.k * g.oh * g.ow, ctx);
    try {
      if (!k.convLayer(x, w, bias, y, g, relu)) return false;
      k.maxPool2d(y, out, idx, pg);
    } finally {
      y.destroy();
    }
    return true;
  }

  function convPoolLayerBackward(
    gp: DeviceStorage,
    pooled: DeviceStorage,
    idx: DeviceStorage,
    x: DeviceStorage,
    w: DeviceStorage,
    gx: DeviceStorage | null,
    gw: DeviceStorage | null,
    gb: DeviceStorage | null,
    g: Conv2dGeometry,
    pg: PoolGeometry,
    relu: boolean,
    accumulateGw: boolean,
  ): boolean {
    if (!allOwn(ctx, gp, pooled, x, w, gx, gw, gb) || !isIndex(idx) || !samePlanes(g, pg)) return false;
    const gz = GpuStorage.scratch(g.n * g.k * g.oh * g.ow, ctx);
    try {
      k.maxPool2dBackward(gp, idx, relu ? pooled : null, gz, pg);
      return k.convLayerBackward(gz, x, w, null, gx, gw, gb, g, accumulateGw);
    } finally {
      gz.destroy();
    }
  }

  return { convPoolLayer, convPoolLayerBackward };
}
