/**
 * Pooling over NCHW planes (PyTorch's windows, ceil_mode false), one thread per output element
 * for the forward passes and one per input element for avg pooling's backward (a gather over the
 * windows that contain it, so no two threads add into one element). scatterPlanes, whose indices
 * may repeat anywhere in a plane, runs one thread per plane: it zeroes its plane of gx, then adds
 * in the reference's order.
 */
import type { PoolGeometry } from '../backend.js';
import type { DeviceStorage } from '../../tensor/device.js';
import { type GpuContext, WG, WGSL_COMMON, grid, wgsl } from './context.js';
import { READ, WRITE, own } from './dense.js';

const FIELDS = 'n: u32, planes: u32, h: u32, w: u32, kh: u32, kw: u32, oh: u32, ow: u32, sh: u32, sw: u32, ph: u32, pw: u32, inclPad: u32';

function poolInts(total: number, g: PoolGeometry, inclPad = false): number[] {
  return [total, g.n * g.c, g.h, g.w, g.kh, g.kw, g.oh, g.ow, g.strideH, g.strideW, g.padH, g.padW, +inclPad];
}

const HEAD = (bindings: string) => /* wgsl */ `
struct Params { ${FIELDS} }
@group(0) @binding(0) var<uniform> p: Params;
${bindings}
${WGSL_COMMON}
/** The window of output (y, x), clipped to the input, and its divisor: [y0, y1, x0, x1, div]. */
fn window(y: u32, xx: u32) -> array<i32, 5> {
  var y0 = i32(y * p.sh) - i32(p.ph);
  var x0 = i32(xx * p.sw) - i32(p.pw);
  var y1 = min(y0 + i32(p.kh), i32(p.h + p.ph));
  var x1 = min(x0 + i32(p.kw), i32(p.w + p.pw));
  let padded = (y1 - y0) * (x1 - x0);
  y0 = max(y0, 0);
  x0 = max(x0, 0);
  y1 = min(y1, i32(p.h));
  x1 = min(x1, i32(p.w));
  return array<i32, 5>(y0, y1, x0, x1, select((y1 - y0) * (x1 - x0), padded, p.inclPad == 1u));
}
`;

/** The first output row (column) whose window reaches past input row (column) `at`. */
const FIRST_OUT = /* wgsl */ `
fn firstOut(at: i32, pad: u32, k: u32, s: u32) -> i32 {
  // the least o with o·s − pad + k > at, i.e. o > (at + pad − k) / s
  let lo = at + i32(pad) - i32(k);
  if (lo < 0) { return 0; }
  return lo / i32(s) + 1;
}`;

/**
 * The head of a gather over the windows that contain input element t = (pl, iy, ix): the outputs
 * (y, xx) in row-major order, `ob` the plane's first output, `s` the sum; the body follows, then
 * the two closing braces.
 */
const OVER_WINDOWS = /* wgsl */ `  let hw = p.h * p.w;
  let pl = t / hw;
  let q = t - pl * hw;
  let iy = i32(q / p.w);
  let ix = i32(q) - iy * i32(p.w);
  let yEnd = min((iy + i32(p.ph)) / i32(p.sh) + 1, i32(p.oh));
  let xEnd = min((ix + i32(p.pw)) / i32(p.sw) + 1, i32(p.ow));
  let ob = pl * p.oh * p.ow;
  var s = 0.0;
  for (var y = firstOut(iy, p.ph, p.kh, p.sh); y < yEnd; y++) {
    for (var xx = firstOut(ix, p.pw, p.kw, p.sw); xx < xEnd; xx++) {`;

const MAIN = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = flatGroup(wid, nwg) * ${WG}u + li;
  if (t >= p.n) { return; }`;

function maxPoolSource(): string {
  return `${HEAD([READ(1, 'x'), WRITE(2, 'o'), WRITE(3, 'idx', 'i32')].join('\n'))}
${MAIN}
  let ohw = p.oh * p.ow;
  let pl = t / ohw;
  let q = t - pl * ohw;
  let y = q / p.ow;
  let xx = q - y * p.ow;
  let y0 = max(i32(y * p.sh) - i32(p.ph), 0);
  let y1 = min(i32(y * p.sh) - i32(p.ph) + i32(p.kh), i32(p.h));
  let x0 = max(i32(xx * p.sw) - i32(p.pw), 0);
  let x1 = min(i32(xx * p.sw) - i32(p.pw) + i32(p.kw), i32(p.w));
  let xb = pl * p.h * p.w;
  var best = -infF();
  var bi = y0 * i32(p.w) + x0;
  for (var i = y0; i < y1; i++) {
    for (var j = x0; j < x1; j++) {
      let v = x[xb + u32(i * i32(p.w) + j)];
      if (v > best || isNan(v)) {
        best = v;
        bi = i * i32(p.w) + j;
      }
    }
  }
  o[t] = best;
  idx[t] = bi;
}
`;
}

function avgPoolSource(): string {
  return `${HEAD([READ(1, 'x'), WRITE(2, 'o')].join('\n'))}
${MAIN}
  let ohw = p.oh * p.ow;
  let pl = t / ohw;
  let q = t - pl * ohw;
  let y = q / p.ow;
  let win = window(y, q - y * p.ow);
  let xb = pl * p.h * p.w;
  var s = 0.0;
  for (var i = win[0]; i < win[1]; i++) {
    for (var j = win[2]; j < win[3]; j++) { s += x[xb + u32(i * i32(p.w) + j)]; }
  }
  o[t] = s / f32(win[4]);
}
`;
}

/** gx[pl, iy, ix] = Σ gy[pl, y, x] / div(y, x) over the windows (y, x) that contain (iy, ix), in row-major order. */
function avgPoolBackwardSource(): string {
  return `${HEAD([READ(1, 'gy'), WRITE(2, 'gx')].join('\n'))}
${FIRST_OUT}
${MAIN}
${OVER_WINDOWS}
      let win = window(u32(y), u32(xx));
      if (iy >= win[0] && iy < win[1] && ix >= win[2] && ix < win[3]) {
        s += gy[ob + u32(y) * p.ow + u32(xx)] / f32(win[4]);
      }
    }
  }
  gx[t] = s;
}
`;
}

/**
 * Max pooling's backward as a gather: gx[pl, iy, ix] = Σ gy[pl, y, x] over the windows (y, x)
 * that contain (iy, ix) and whose arg-max is it, in row-major order — the sums scatterPlanes
 * makes, in its order, with one thread per input element instead of one per plane. With `relu`,
 * gy is taken only where the pooled output is positive (the fused layer's ReLU).
 */
function maxPoolBackwardSource(relu: boolean): string {
  return `${HEAD([READ(1, 'gy'), READ(2, 'idx', 'i32'), ...(relu ? [READ(3, 'pooled')] : []), WRITE(relu ? 4 : 3, 'gx')].join('\n'))}
${FIRST_OUT}
${MAIN}
${OVER_WINDOWS}
      let o = ob + u32(y) * p.ow + u32(xx);
      if (idx[o] == i32(q)) { s += ${relu ? 'select(gy[o], 0.0, pooled[o] <= 0.0)' : 'gy[o]'}; }
    }
  }
  gx[t] = s;
}
`;
}

function scatterSource(): string {
  return /* wgsl */ `
struct Params { planes: u32, inPlane: u32, outPlane: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'gy')}
${READ(2, 'idx', 'i32')}
${WRITE(3, 'gx')}
${WGSL_COMMON}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let pl = flatGroup(wid, nwg) * 64u + li;
  if (pl >= p.planes) { return; }
  let ib = pl * p.inPlane;
  let ob = pl * p.outPlane;
  for (var i = 0u; i < p.inPlane; i++) { gx[ib + i] = 0.0; }
  for (var q = 0u; q < p.outPlane; q++) {
    let i = idx[ob + q];
    if (i >= 0 && u32(i) < p.inPlane) { gx[ib + u32(i)] += gy[ob + q]; }
  }
}
`;
}

export function poolOps(ctx: GpuContext) {
  const sizes = (g: PoolGeometry) => ({ x: g.n * g.c * g.h * g.w, y: g.n * g.c * g.oh * g.ow });

  function maxPool2d(x: DeviceStorage, out: DeviceStorage, idx: DeviceStorage, g: PoolGeometry): void {
    const s = sizes(g);
    const st = [
      own(ctx, 'maxPool2d', 'x', x, s.x),
      own(ctx, 'maxPool2d', 'out', out, s.y),
      own(ctx, 'maxPool2d', 'idx', idx, s.y, 'int32'),
    ];
    if (s.y === 0) return;
    ctx.dispatch({
      name: 'maxPool2d',
      full: true,
      code: wgsl('maxPool2d', maxPoolSource),
      ints: poolInts(s.y, g),
      storage: st,
      writes: 2,
      groups: grid(s.y),
    });
  }

  function avgPool2d(x: DeviceStorage, out: DeviceStorage, g: PoolGeometry, countIncludePad: boolean): void {
    const s = sizes(g);
    const st = [own(ctx, 'avgPool2d', 'x', x, s.x), own(ctx, 'avgPool2d', 'out', out, s.y)];
    if (s.y === 0) return;
    ctx.dispatch({
      name: 'avgPool2d',
      full: true,
      code: wgsl('avgPool2d', avgPoolSource),
      ints: poolInts(s.y, g, countIncludePad),
      storage: st,
      groups: grid(s.y),
    });
  }

  function avgPool2dBackward(gy: DeviceStorage, gx: DeviceStorage, g: PoolGeometry, countIncludePad: boolean): void {
    const s = sizes(g);
    const st = [own(ctx, 'avgPool2dBackward', 'gy', gy, s.y), own(ctx, 'avgPool2dBackward', 'gx', gx, s.x)];
    if (s.x === 0) return;
    ctx.dispatch({
      name: 'avgPool2dBackward',
      full: true,
      code: wgsl('avgPool2dBackward', avgPoolBackwardSource),
      ints: poolInts(s.x, g, countIncludePad),
      storage: st,
      groups: grid(s.x),
    });
  }

  function scatterPlanes(
    gy: DeviceStorage,
    idx: DeviceStorage,
    gx: DeviceStorage,
    planes: number,
    inPlane: number,
    outPlane: number,
  ): void {
    const st = [
      own(ctx, 'scatterPlanes', 'gy', gy, planes * outPlane),
      own(ctx, 'scatterPlanes', 'idx', idx, planes * outPlane, 'int32'),
      own(ctx, 'scatterPlanes', 'gx', gx, planes * inPlane),
    ];
    if (planes * inPlane === 0) return;
    ctx.dispatch({
      name: 'scatterPlanes',
      full: true,
      code: wgsl('scatterPlanes', scatterSource),
      ints: [planes, inPlane, outPlane],
      storage: st,
      groups: grid(planes, 64),
    });
  }

  /** gx (every element written) from the pooled gradient `gy` and the arg-max offsets of maxPool2d; with `pooled`, gy masked where it is not positive. */
  function maxPool2dBackward(
    gy: DeviceStorage,
    idx: DeviceStorage,
    pooled: DeviceStorage | null,
    gx: DeviceStorage,
    g: PoolGeometry,
  ): void {
    const s = sizes(g);
    const op = 'maxPool2dBackward';
    const st = [
      own(ctx, op, 'gy', gy, s.y),
      own(ctx, op, 'idx', idx, s.y, 'int32'),
      ...(pooled ? [own(ctx, op, 'pooled', pooled, s.y)] : []),
      own(ctx, op, 'gx', gx, s.x),
    ];
    if (s.x === 0) return;
    ctx.dispatch({
      name: op,
      full: true,
      code: wgsl(`maxPool2dBackward${+(pooled !== null)}`, () => maxPoolBackwardSource(pooled !== null)),
      ints: poolInts(s.x, g),
      storage: st,
      groups: grid(s.x),
    });
  }

  return { maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, scatterPlanes };
}
