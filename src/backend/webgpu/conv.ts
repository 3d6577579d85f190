/**
 * Convolution and its two gradients as implicit GEMMs on the tiled product (gemm.ts); the
 * unfolded input (im2col) is read through index arithmetic in the loaders, never stored.
 * With P = oh·ow output pixels and Q = c·kh·kw weights per output channel:
 *   conv2d               out[b, o, p] = Σ_q w[o, q]·cols_b[q, p]          M = k, N = n·P, K = Q
 *   conv2dBackwardWeight gw[o, q]     = Σ_(b,p) gy[b, o, p]·cols_b[q, p] M = k, N = Q,   K = n·P
 *   conv2dBackwardInput  gx[b, ci, y, x] = Σ_(o,i,j) w[o, ci, i, j]·gy[b, o, oy, ox] over the (i, j)
 *                        with y + padH − i = oy·strideH (and the same along x) inside the output:
 *                        a gather, so no two threads add into one element   M = c, N = n·h·w, K = k·kh·kw
 * With dilation or channel groups (a "general" geometry) the kernels are variants of their own
 * (family suffix `g`, five more uniforms): tap (i, j) sits at i·dh, j·dw from the window's corner,
 * and one dispatch runs the product of every group gi, gi the grid's z (gemmSource's `grouped`;
 * z = slice·groups + gi when a weight gradient runs split along K): group gi's workgroups read
 * its slices, c → cg = c/groups input channels from gi·cg and k → kg = k/groups output channels
 * (and weight rows) from gi·kg, so the dimensions above read cg and kg for c and k, and write its
 * slice of the output, with `=`; together they write all of it. At dilation 1 and groups 1 the
 * kernels are the plain ones, as before either existed.
 */
import type { Conv2dGeometry } from '../backend.js';
import type { DeviceStorage } from '../../tensor/device.js';
import { type GpuContext, type GpuStorage, MAX_GROUPS, WG, wgsl } from './context.js';
import { type KWalk, type TileShape, gemmSource, partialStore } from './gemm.js';
import { dispatchProduct } from './tune.js';
import { READ, WRITE, allOwn, own } from './dense.js';

const GEOMETRY = ['n', 'c', 'h', 'w', 'k', 'kh', 'kw', 'oh', 'ow', 'sh', 'sw', 'ph', 'pw'] as const;
/** A general geometry's uniforms: the plain ones, the dilations, the channels per group (input, output) and the number of groups. */
const GENERAL = [...GEOMETRY, 'dh', 'dw', 'cg', 'kg', 'groups'] as const;

/** Both strides 1: the input gradient's kernel without the stride divisions. */
const unit = (g: Conv2dGeometry) => g.strideH === 1 && g.strideW === 1;
/** Dilation or groups: the kernels' general variants, every group in one dispatch. */
const general = (g: Conv2dGeometry) => g.dilationH !== 1 || g.dilationW !== 1 || g.groups !== 1;

function geometryInts(g: Conv2dGeometry): number[] {
  return [g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.oh, g.ow, g.strideH, g.strideW, g.padH, g.padW];
}

/** A product's uniforms over `g` after M, N, K: the plain ones, or for a general geometry GENERAL's. */
function convInts(g: Conv2dGeometry): number[] {
  if (!general(g)) return geometryInts(g);
  return [...geometryInts(g), g.dilationH, g.dilationW, g.c / g.groups, g.k / g.groups, g.groups];
}

/** WGSL prefixes of the workgroup's group's first input and output channel ('' in the plain kernels; gi from the grid's z, see gemmSource). */
const C0 = (gen: boolean) => (gen ? 'gi * p.cg + ' : '');
const K0 = (gen: boolean) => (gen ? 'gi * p.kg + ' : '');
/** WGSL: a tap's offset i (or j) along the height (width), times the dilation in the general kernels. */
const TAP = (gen: boolean, v: string, axis: 'h' | 'w') => (gen ? `${v} * p.d${axis}` : v);

/** WGSL: x[b, ci, iy, ix] at window position (i, j) of output pixel (oy, ox): an element of image b's unfolded input, 0 in the padding. */
const IM2COL = (gen: boolean) => /* wgsl */ `
fn im2colAt(b: u32, ci: u32, i: u32, j: u32, oy: u32, ox: u32) -> f32 {
  let iy = i32(oy * p.sh + ${TAP(gen, 'i', 'h')}) - i32(p.ph);
  let ix = i32(ox * p.sw + ${TAP(gen, 'j', 'w')}) - i32(p.pw);
  if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) { return 0.0; }
  return x[((b * p.c + ci) * p.h + u32(iy)) * p.w + u32(ix)];
}`;

/** Advances a window position (c, i, j), kk = (c·kh + i)·kw + j, by DEPTH without dividing by a variable. */
const WINDOW_NEXT = `let khw = p.kh * p.kw; let dc = DEPTH / khw; let dr = DEPTH - dc * khw; let di = dr / p.kw;
  var r = s; r.j += dr - di * p.kw; r.i += di; r.c += dc;
  if (r.j >= p.kw) { r.j -= p.kw; r.i += 1u; }
  if (r.i >= p.kh) { r.i -= p.kh; r.c += 1u; }
  return r;`;

/** Advances an output pixel (b, oy, ox), kk = (b·oh + oy)·ow + ox, by DEPTH likewise. */
const PIXEL_NEXT = `let dy = DEPTH / p.ow; var r = s; r.ox += DEPTH - dy * p.ow; r.oy += dy;
  if (r.ox >= p.ow) { r.ox -= p.ow; r.oy += 1u; }
  while (r.oy >= p.oh) { r.oy -= p.oh; r.b += 1u; }
  return r;`;

/** WGSL lets of a window position c, i, j from the index v = (c·kh + i)·kw + j. */
const WINDOW_OF = (v: string) =>
  `let khw = p.kh * p.kw; let c = ${v} / khw; let rem = ${v} - c * khw; let i = rem / p.kw; let j = rem - i * p.kw;`;
/** WGSL lets of an output pixel b, oy, ox from the index v = (b·oh + oy)·ow + ox. */
const OUTPUT_PIXEL_OF = (v: string) =>
  `let P = p.oh * p.ow; let b = ${v} / P; let pix = ${v} - b * P; let oy = pix / p.ow; let ox = pix - oy * p.ow;`;

/** The forward's B: kk a window position (c, i, j) walked, the column an output pixel (b, oy, ox) fixed. */
const FORWARD_B: KWalk = {
  fields: 'c: u32, i: u32, j: u32, b: u32, oy: u32, ox: u32',
  init: `${WINDOW_OF('kk')} ${OUTPUT_PIXEL_OF('rc')} return State(c, i, j, b, oy, ox);`,
  next: WINDOW_NEXT,
};

/** The weight gradient's A: kk an output pixel (b, oy, ox) walked. */
const GW_A: KWalk = {
  fields: 'b: u32, oy: u32, ox: u32',
  init: `${OUTPUT_PIXEL_OF('kk')} return State(b, oy, ox);`,
  next: PIXEL_NEXT,
};

/** The weight gradient's B: kk an output pixel walked, the column a window position (c, i, j) fixed. */
const GW_B: KWalk = {
  fields: 'b: u32, oy: u32, ox: u32, c: u32, i: u32, j: u32',
  init: `${OUTPUT_PIXEL_OF('kk')} ${WINDOW_OF('rc')} return State(b, oy, ox, c, i, j);`,
  next: PIXEL_NEXT,
};

/** The input gradient's A: kk = o·kh·kw + rem, an output channel and a window offset, walked. */
const GX_A: KWalk = {
  fields: 'o: u32, rem: u32',
  init: 'let khw = p.kh * p.kw; let o = kk / khw; return State(o, kk - o * khw);',
  next: `let khw = p.kh * p.kw; let dO = DEPTH / khw; var r = s; r.rem += DEPTH - dO * khw; r.o += dO;
  if (r.rem >= khw) { r.rem -= khw; r.o += 1u; }
  return r;`,
};

/** The input gradient's B: kk a window position (c = the output channel, i, j) walked, the column an input pixel (b, y, x) fixed. */
const GX_B: KWalk = {
  fields: 'c: u32, i: u32, j: u32, b: u32, y: u32, x: u32',
  init: `${WINDOW_OF('kk')} let hw = p.h * p.w; let b = rc / hw; let pix = rc - b * hw; let y = pix / p.w; return State(c, i, j, b, y, pix - y * p.w);`,
  next: WINDOW_NEXT,
};

/** Forward; with `bias` / `relu` the fused layer's epilogue (out = relu(conv + bias[o])); `gen` the general variant. */
function convSource(bias: boolean, relu: boolean, t: TileShape, gen: boolean): string {
  const z = bias ? `v + bias[${K0(gen)}r]` : 'v';
  return gemmSource(
    {
      ints: gen ? GENERAL : GEOMETRY,
      bindings: [READ(1, 'x'), READ(2, 'wt'), ...(bias ? [READ(3, 'bias')] : []), WRITE(bias ? 4 : 3, 'o')].join('\n') + IM2COL(gen),
      loadA: `return wt[${gen ? '(gi * p.kg + r)' : 'r'} * p.K + kk];`,
      loadB: `return im2colAt(s.b, ${C0(gen)}s.c, s.i, s.j, s.oy, s.ox);`,
      store: `let P = p.oh * p.ow; let b = c / P; let z = ${z}; o[(b * p.k + ${K0(gen)}r) * P + (c - b * P)] = ${relu ? 'select(z, 0.0, z <= 0.0)' : 'z'};`,
      aAlongK: true,
      bAlongK: false,
      bWalk: FORWARD_B,
      grouped: gen,
    },
    t,
  );
}

/** gz at a flat index of the output gradient: masked by the forward output when `relu` (PyTorch's threshold_backward). */
const GZ_FN = 'fn gzAt(i: u32) -> f32 { return select(gy[i], 0.0, y[i] <= 0.0); }';
const gz = (relu: boolean, i: string) => (relu ? `gzAt(${i})` : `gy[${i}]`);

function convGwSource(accumulate: boolean, relu: boolean, t: TileShape, split: boolean, gen: boolean): string {
  const at = `${gen ? '(gi * p.kg + r)' : 'r'} * p.N + c`;
  return gemmSource(
    {
      ints: gen ? GENERAL : GEOMETRY,
      bindings:
        [READ(1, 'x'), READ(2, 'gy'), ...(relu ? [READ(3, 'y')] : []), WRITE(relu ? 4 : 3, 'gw')].join('\n') +
        IM2COL(gen) +
        (relu ? `\n${GZ_FN}` : ''),
      loadA: `return ${gz(relu, `((s.b * p.k + ${K0(gen)}r) * p.oh + s.oy) * p.ow + s.ox`)};`,
      loadB: `return im2colAt(s.b, ${C0(gen)}s.c, s.i, s.j, s.oy, s.ox);`,
      // split: the partials of a slice lie as gw does (zBase holds the group's offset, see gemmSource)
      store: split ? partialStore('gw') : accumulate ? `gw[${at}] += v;` : `gw[${at}] = v;`,
      aAlongK: true,
      bAlongK: true,
      aWalk: GW_A,
      bWalk: GW_B,
      grouped: gen,
    },
    t,
    split,
  );
}

/** The input gradient; `unitStride` (both strides 1, the common case) drops the divisions by the stride. */
function convGxSource(relu: boolean, unitStride: boolean, t: TileShape, gen: boolean): string {
  const onGrid = unitStride
    ? 'let oy = u32(ty); let ox = u32(tx); if (oy >= p.oh || ox >= p.ow) { return 0.0; }'
    : 'let oy = u32(ty) / p.sh; let ox = u32(tx) / p.sw; if (oy * p.sh != u32(ty) || ox * p.sw != u32(tx) || oy >= p.oh || ox >= p.ow) { return 0.0; }';
  return gemmSource(
    {
      ints: gen ? GENERAL : GEOMETRY,
      bindings:
        [READ(1, 'gy'), READ(2, 'wt'), ...(relu ? [READ(3, 'y')] : []), WRITE(relu ? 4 : 3, 'gx')].join('\n') + (relu ? `\n${GZ_FN}` : ''),
      // A(ci, (o, i, j)) = w[o, ci, i, j] (the general one: o of the group, w [k, cg, kh, kw])
      loadA: gen ? 'return wt[((gi * p.kg + s.o) * p.cg + r) * p.kh * p.kw + s.rem];' : 'return wt[(s.o * p.c + r) * p.kh * p.kw + s.rem];',
      // B((o, i, j), (b, y, x)) = gy[b, o, oy, ox] where y + ph − i·dh = oy·sh, x + pw − j·dw = ox·sw
      loadB: `let ty = i32(s.y + p.ph) - i32(${TAP(gen, 's.i', 'h')}); let tx = i32(s.x + p.pw) - i32(${TAP(gen, 's.j', 'w')});
    if (ty < 0 || tx < 0) { return 0.0; }
    ${onGrid}
    return ${gz(relu, `((s.b * p.k + ${K0(gen)}s.c) * p.oh + oy) * p.ow + ox`)};`,
      store: `let hw = p.h * p.w; let b = c / hw; gx[(b * p.c + ${C0(gen)}r) * hw + (c - b * hw)] = v;`,
      aAlongK: false,
      bAlongK: false,
      aWalk: GX_A,
      bWalk: GX_B,
      grouped: gen,
    },
    t,
  );
}

/** gb[o] = Σ over images and pixels of gz[b, o, p]: one workgroup per channel, a tree in workgroup memory. */
function convBiasSource(relu: boolean): string {
  return /* wgsl */ `
struct Params { n: u32, k: u32, P: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'gy')}
${relu ? READ(2, 'y') : ''}
${WRITE(relu ? 3 : 2, 'gb')}
${relu ? GZ_FN : ''}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = wid.x;
  var s = 0.0;
  for (var e = li; e < p.n * p.P; e += ${WG}u) {
    let b = e / p.P;
    s += ${gz(relu, '(b * p.k + o) * p.P + (e - b * p.P)')};
  }
  part[li] = s;
  workgroupBarrier();
  for (var half = ${WG / 2}u; half > 0u; half >>= 1u) {
    if (li < half) { part[li] += part[li + half]; }
    workgroupBarrier();
  }
  if (li == 0u) { gb[o] = part[0]; }
}
`;
}

export function convOps(ctx: GpuContext) {
  const sizes = (g: Conv2dGeometry) => ({
    x: g.n * g.c * g.h * g.w,
    w: g.k * (g.c / g.groups) * g.kh * g.kw,
    y: g.n * g.k * g.oh * g.ow,
  });
  /** A group's input and output channels (all of them with one group). */
  const perGroup = (g: Conv2dGeometry) => ({ cg: g.c / g.groups, kg: g.k / g.groups });
  /** The kernel family's suffix of a general geometry. */
  const gsuf = (g: Conv2dGeometry) => (general(g) ? 'g' : '');

  function conv2d(x: DeviceStorage, w: DeviceStorage, out: DeviceStorage, g: Conv2dGeometry): void {
    const s = sizes(g);
    const st = [own(ctx, 'conv2d', 'x', x, s.x), own(ctx, 'conv2d', 'w', w, s.w), own(ctx, 'conv2d', 'out', out, s.y)];
    const { cg, kg } = perGroup(g);
    const M = kg,
      N = g.n * g.oh * g.ow,
      K = cg * g.kh * g.kw;
    if (M * N === 0) return;
    if (K === 0) return ctx.clear(st[2]);
    const gen = general(g);
    dispatchProduct(ctx, {
      name: 'conv2d',
      family: `conv00${gsuf(g)}`,
      source: (t) => convSource(false, false, t, gen),
      ints: [M, N, K, ...convInts(g)],
      groups: g.groups,
      storage: st,
      m: M,
      n: N,
      k: K,
      splittable: false,
      accumulate: false,
    });
  }

  function convLayer(
    x: DeviceStorage,
    w: DeviceStorage,
    bias: DeviceStorage | null,
    out: DeviceStorage,
    g: Conv2dGeometry,
    relu: boolean,
  ): boolean {
    if (!allOwn(ctx, x, w, bias, out)) return false;
    const s = sizes(g);
    const { cg, kg } = perGroup(g);
    const M = kg,
      N = g.n * g.oh * g.ow,
      K = cg * g.kh * g.kw;
    if (K === 0) return false;
    const st = [own(ctx, 'convLayer', 'x', x, s.x), own(ctx, 'convLayer', 'w', w, s.w)];
    if (bias) st.push(own(ctx, 'convLayer', 'bias', bias, g.k));
    st.push(own(ctx, 'convLayer', 'out', out, s.y));
    if (M * N === 0) return true;
    const gen = general(g);
    dispatchProduct(ctx, {
      name: 'convLayer',
      family: `conv${+!!bias}${+relu}${gsuf(g)}`,
      source: (t) => convSource(!!bias, relu, t, gen),
      ints: [M, N, K, ...convInts(g)],
      groups: g.groups,
      storage: st,
      m: M,
      n: N,
      k: K,
      splittable: false,
      accumulate: false,
    });
    return true;
  }

  /** The weight gradient's product (every group in one dispatch), gw set or accumulated; gz masked by y when relu. */
  function weightGrad(op: string, g: Conv2dGeometry, storage: GpuStorage[], relu: boolean, accumulate: boolean): void {
    const { cg, kg } = perGroup(g);
    const M = kg,
      N = cg * g.kh * g.kw,
      K = g.n * g.oh * g.ow;
    if (M * N === 0) return;
    if (K === 0) {
      if (!accumulate) ctx.clear(storage[storage.length - 1]);
      return;
    }
    const gen = general(g);
    dispatchProduct(ctx, {
      name: op,
      family: `convGw${+accumulate}${+relu}${gsuf(g)}`,
      source: (t, split) => convGwSource(accumulate, relu, t, split, gen),
      ints: [M, N, K, ...convInts(g)],
      groups: g.groups,
      storage,
      m: M,
      n: N,
      k: K,
      splittable: true,
      accumulate,
    });
  }

  /** The input gradient's product (every group in one dispatch); gz masked by y when relu. */
  function inputGrad(op: string, g: Conv2dGeometry, storage: GpuStorage[], relu: boolean): void {
    const { cg, kg } = perGroup(g);
    const M = cg,
      N = g.n * g.h * g.w,
      K = kg * g.kh * g.kw;
    if (K === 0) return ctx.clear(storage[storage.length - 1]);
    if (M * N === 0) return;
    const gen = general(g);
    dispatchProduct(ctx, {
      name: op,
      family: `convGx${+relu}${+unit(g)}${gsuf(g)}`,
      source: (t) => convGxSource(relu, unit(g), t, gen),
      ints: [M, N, K, ...convInts(g)],
      groups: g.groups,
      storage,
      m: M,
      n: N,
      k: K,
      splittable: false,
      accumulate: false,
    });
  }

  function conv2dBackwardWeight(x: DeviceStorage, gy: DeviceStorage, gw: DeviceStorage, g: Conv2dGeometry, accumulate = false): void {
    const s = sizes(g);
    const st = [
      own(ctx, 'conv2dBackwardWeight', 'x', x, s.x),
      own(ctx, 'conv2dBackwardWeight', 'gy', gy, s.y),
      own(ctx, 'conv2dBackwardWeight', 'gw', gw, s.w),
    ];
    weightGrad('conv2dBackwardWeight', g, st, false, accumulate);
  }

  function conv2dBackwardInput(gy: DeviceStorage, w: DeviceStorage, gx: DeviceStorage, g: Conv2dGeometry): void {
    const s = sizes(g);
    const st = [
      own(ctx, 'conv2dBackwardInput', 'gy', gy, s.y),
      own(ctx, 'conv2dBackwardInput', 'w', w, s.w),
      own(ctx, 'conv2dBackwardInput', 'gx', gx, s.x),
    ];
    inputGrad('conv2dBackwardInput', g, st, false);
  }

  function convLayerBackward(
    gy: DeviceStorage,
    x: DeviceStorage,
    w: DeviceStorage,
    y: DeviceStorage | null,
    gx: DeviceStorage | null,
    gw: DeviceStorage | null,
    gb: DeviceStorage | null,
    g: Conv2dGeometry,
    accumulateGw: boolean,
  ): boolean {
    if (!allOwn(ctx, gy, x, w, y, gx, gw, gb) || g.k > MAX_GROUPS) return false;
    const s = sizes(g);
    const op = 'convLayerBackward';
    const relu = y !== null;
    const ggy = own(ctx, op, 'gy', gy, s.y);
    const gyy: GpuStorage[] = relu ? [own(ctx, op, 'y', y, s.y)] : [];
    if (gx) inputGrad(`${op}.gx`, g, [ggy, own(ctx, op, 'w', w, s.w), ...gyy, own(ctx, op, 'gx', gx, s.x)], relu);
    if (gw) weightGrad(`${op}.gw`, g, [own(ctx, op, 'x', x, s.x), ggy, ...gyy, own(ctx, op, 'gw', gw, s.w)], relu, accumulateGw);
    if (gb && g.k)
      ctx.dispatch({
        name: `${op}.gb`,
        full: true,
        code: wgsl(`convBias${+relu}`, () => convBiasSource(relu)),
        ints: [g.n, g.k, g.oh * g.ow],
        storage: [ggy, ...gyy, own(ctx, op, 'gb', gb, g.k)],
        groups: [g.k, 1],
      });
    return true;
  }

  return { conv2d, convLayer, convLayerBackward, conv2dBackwardWeight, conv2dBackwardInput };
}
