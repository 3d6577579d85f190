/**
 * The gate passes of the fused recurrent layers on the device (src/nn/recurrent-device.ts), one
 * thread per element (n, j) of the step's [N, H] state; the products h_{t−1}·W_hhᵀ, dZ·W_hh and
 * dW_hh are the backend's matmul. Forward, after hp = h_{t−1}·W_hhᵀ and with XP's rows of step t:
 *
 *   RNN   h = act(xp + hp)
 *   LSTM  i, f, g, o = σ, σ, tanh, σ of (xp + hp);  c = f·c_{t−1} + i·g;  h = o·tanh(c)
 *   GRU   r, z = σ(xp_r + (hp_r + b_r)), σ(xp_z + (hp_z + b_z));  hn = hp_n + b_n
 *         n = tanh(xp_n + r·hn);  h = n + z·(h_{t−1} − n)
 *
 * (the composed step's association, so the two forms round alike). Backward, with dH = dL/dh_t:
 *
 *   RNN   dz = dH·(1 − h²) (tanh) or dH·[h > 0] (relu)
 *   LSTM  dc += dH·o·(1 − tanh²c);  dz_i, dz_f, dz_g, dz_o = dc·g·i(1−i), dc·c_{t−1}·f(1−f),
 *         dc·i·(1 − g²), dH·tanh(c)·o(1−o);  dc_{t−1} = dc·f
 *   GRU   dn = dH·(1 − z)·(1 − n²);  dz_z = dH·(h_{t−1} − n)·z(1−z);  dz_r = dn·hn·r(1−r);
 *         the x side's n block dn, the h side's dn·r;  the direct part of dL/dh_{t−1}: dH·z
 *
 * Every offset is in elements; NONE (0xffffffff) marks an LSTM step with no final c to write or read.
 */
import type { RecurrentGatesArgs, RecurrentGatesBackwardArgs } from '../backend.js';
import { type GpuContext, type GpuStorage, WGSL_COMMON, grid, wgsl, THREAD_MAIN } from './context.js';
import { READ, WRITE, allOwn, own } from './dense.js';
import { SPECIAL } from './elementwise.js';

const NONE = 0xffffffff;

function kernel(params: string[], bindings: [string, 'r' | 'w'][], body: string): string {
  return /* wgsl */ `
struct Params { n: u32, H: u32, ${params.map((p) => `${p}: u32`).join(', ')} }
@group(0) @binding(0) var<uniform> p: Params;
${bindings.map(([name, mode], i) => (mode === 'r' ? READ(i + 1, name) : WRITE(i + 1, name))).join('\n')}
${WGSL_COMMON}
${SPECIAL}
${THREAD_MAIN}
  let H = p.H;
  let row = i / H;
  let j = i % H;
  ${body}
}
`;
}

const rnnForward = (relu: boolean) =>
  kernel(
    ['xOff', 'hOff', 'yOff'],
    [
      ['xp', 'r'],
      ['hp', 'r'],
      ['hs', 'w'],
      ['h', 'w'],
      ['y', 'w'],
    ],
    `let z = xp[p.xOff + i] + hp[i];
  let v = ${relu ? 'select(0.0, z, z > 0.0)' : 'tanhF(z)'};
  hs[p.hOff + p.n + i] = v; h[i] = v; y[p.yOff + i] = v;`,
  );

const lstmForward = () =>
  kernel(
    ['xOff', 'hOff', 'aOff', 'yOff', 'cLast'],
    [
      ['xp', 'r'],
      ['hp', 'r'],
      ['cs', 'w'],
      ['acts', 'w'],
      ['hs', 'w'],
      ['h', 'w'],
      ['y', 'w'],
    ],
    `let q = row * 4u * H + j;
  let x = p.xOff + q;
  let ig = sigmoidF(xp[x] + hp[q]);
  let fg = sigmoidF(xp[x + H] + hp[q + H]);
  let gg = tanhF(xp[x + 2u * H] + hp[q + 2u * H]);
  let og = sigmoidF(xp[x + 3u * H] + hp[q + 3u * H]);
  let c = fg * cs[p.hOff + i] + ig * gg;
  cs[p.hOff + p.n + i] = c;
  let v = og * tanhF(c);
  let a = p.aOff + q;
  acts[a] = ig; acts[a + H] = fg; acts[a + 2u * H] = gg; acts[a + 3u * H] = og;
  hs[p.hOff + p.n + i] = v; h[i] = v; y[p.yOff + i] = v;
  if (p.cLast != ${NONE}u) { y[p.cLast + i] = c; }`,
  );

const gruForward = () =>
  kernel(
    ['xOff', 'hOff', 'aOff', 'yOff', 'bias'],
    [
      ['xp', 'r'],
      ['hp', 'r'],
      ['b', 'r'],
      ['hs', 'w'],
      ['acts', 'w'],
      ['h', 'w'],
      ['y', 'w'],
    ],
    `let q = row * 3u * H + j;
  let x = p.xOff + q;
  var br = 0.0; var bz = 0.0; var bn = 0.0;
  if (p.bias != 0u) { br = b[j]; bz = b[H + j]; bn = b[2u * H + j]; }
  let r = sigmoidF(xp[x] + (hp[q] + br));
  let z = sigmoidF(xp[x + H] + (hp[q + H] + bz));
  let hn = hp[q + 2u * H] + bn;
  let nv = tanhF(xp[x + 2u * H] + r * hn);
  let v = nv + z * (hs[p.hOff + i] - nv);
  let a = p.aOff + row * 4u * H + j;
  acts[a] = r; acts[a + H] = z; acts[a + 2u * H] = nv; acts[a + 3u * H] = hn;
  hs[p.hOff + p.n + i] = v; h[i] = v; y[p.yOff + i] = v;`,
  );

const rnnBackward = (relu: boolean) =>
  kernel(
    ['yOff', 'hOff', 'zOff', 'xOff'],
    [
      ['gy', 'r'],
      ['dh', 'r'],
      ['hs', 'r'],
      ['dz', 'w'],
      ['dzs', 'w'],
      ['dxp', 'w'],
    ],
    `let v = hs[p.hOff + p.n + i];
  let dH = gy[p.yOff + i] + dh[i];
  let d = ${relu ? 'select(0.0, dH, v > 0.0)' : 'dH * (1.0 - v * v)'};
  dz[p.zOff + i] = d; dzs[i] = d; dxp[p.xOff + i] = d;`,
  );

const lstmBackward = () =>
  kernel(
    ['yOff', 'cLast', 'aOff', 'hOff', 'zOff', 'xOff'],
    [
      ['gy', 'r'],
      ['dh', 'r'],
      ['acts', 'r'],
      ['cs', 'r'],
      ['carry', 'w'],
      ['dz', 'w'],
      ['dzs', 'w'],
      ['dxp', 'w'],
    ],
    `let q = row * 4u * H + j;
  let a = p.aOff + q;
  let ig = acts[a]; let fg = acts[a + H]; let gg = acts[a + 2u * H]; let og = acts[a + 3u * H];
  let dH = gy[p.yOff + i] + dh[i];
  var dc = carry[i];
  if (p.cLast != ${NONE}u) { dc = dc + gy[p.cLast + i]; }
  let tc = tanhF(cs[p.hOff + p.n + i]);
  dc = dc + dH * og * (1.0 - tc * tc);
  carry[i] = dc * fg;
  let zi = dc * gg * (ig * (1.0 - ig));
  let zf = dc * cs[p.hOff + i] * (fg * (1.0 - fg));
  let zg = dc * ig * (1.0 - gg * gg);
  let zo = dH * tc * (og * (1.0 - og));
  let o = p.zOff + q;
  dz[o] = zi; dz[o + H] = zf; dz[o + 2u * H] = zg; dz[o + 3u * H] = zo;
  dzs[q] = zi; dzs[q + H] = zf; dzs[q + 2u * H] = zg; dzs[q + 3u * H] = zo;
  let x = p.xOff + q;
  dxp[x] = zi; dxp[x + H] = zf; dxp[x + 2u * H] = zg; dxp[x + 3u * H] = zo;`,
  );

const gruBackward = () =>
  kernel(
    ['yOff', 'aOff', 'hOff', 'zOff', 'xOff'],
    [
      ['gy', 'r'],
      ['dh', 'r'],
      ['acts', 'r'],
      ['hs', 'r'],
      ['carry', 'w'],
      ['dz', 'w'],
      ['dzs', 'w'],
      ['dxp', 'w'],
    ],
    `let a = p.aOff + row * 4u * H + j;
  let r = acts[a]; let z = acts[a + H]; let nv = acts[a + 2u * H]; let hn = acts[a + 3u * H];
  let dH = gy[p.yOff + i] + dh[i] + carry[i];
  carry[i] = dH * z;
  let dn = dH * (1.0 - z) * (1.0 - nv * nv);
  let zz = dH * (hs[p.hOff + i] - nv) * (z * (1.0 - z));
  let zr = dn * hn * (r * (1.0 - r));
  let q = row * 3u * H + j;
  let o = p.zOff + q;
  dz[o] = zr; dz[o + H] = zz; dz[o + 2u * H] = dn * r;
  dzs[q] = zr; dzs[q + H] = zz; dzs[q + 2u * H] = dn * r;
  let x = p.xOff + q;
  dxp[x] = zr; dxp[x + H] = zz; dxp[x + 2u * H] = dn;`,
  );

const GATES = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 } as const;

export function recurrentOps(ctx: GpuContext) {
  /** The storages' lengths are checked against what the offsets address. */
  function recurrentGates(s: RecurrentGatesArgs): boolean {
    const { cell, N, H } = s;
    if (!allOwn(ctx, s.xp, s.hp, s.bHh, s.hs, s.cs, s.acts, s.h, s.y)) return false;
    const op = 'recurrentGates';
    const NH = N * H,
      GH = GATES[cell] * H;
    const xp = own(ctx, op, 'xp', s.xp, s.xOff + N * GH);
    const hp = own(ctx, op, 'hp', s.hp, N * GH);
    const hs = own(ctx, op, 'hs', s.hs, s.hOff + 2 * NH);
    const h = own(ctx, op, 'h', s.h, NH);
    const y = own(ctx, op, 'y', s.y, Math.max(s.yOff, s.cLast) + NH);
    if (NH === 0) return true;
    let code: string;
    let ints: number[];
    let storage: GpuStorage[];
    if (cell === 'LSTM') {
      const cs = own(ctx, op, 'cs', s.cs, s.hOff + 2 * NH);
      const acts = own(ctx, op, 'acts', s.acts, s.aOff + N * 4 * H);
      code = wgsl('recurrentGates.lstm', lstmForward);
      ints = [NH, H, s.xOff, s.hOff, s.aOff, s.yOff, s.cLast < 0 ? NONE : s.cLast];
      storage = [xp, hp, cs, acts, hs, h, y];
    } else if (cell === 'GRU') {
      const acts = own(ctx, op, 'acts', s.acts, s.aOff + N * 4 * H);
      // without a bias hp stands in for b (a second read-only binding, never read)
      const b = s.bHh ? own(ctx, op, 'bHh', s.bHh, GH) : hp;
      code = wgsl('recurrentGates.gru', gruForward);
      ints = [NH, H, s.xOff, s.hOff, s.aOff, s.yOff, s.bHh ? 1 : 0];
      storage = [xp, hp, b, hs, acts, h, y];
    } else {
      const relu = cell === 'RNN_RELU';
      code = wgsl(`recurrentGates.${cell}`, () => rnnForward(relu));
      ints = [NH, H, s.xOff, s.hOff, s.yOff];
      storage = [xp, hp, hs, h, y];
    }
    const reads = cell === 'GRU' ? 3 : 2;
    ctx.dispatch({ name: op, code, ints, storage, writes: storage.length - reads, groups: grid(NH) });
    return true;
  }

  function recurrentGatesBackward(s: RecurrentGatesBackwardArgs): boolean {
    const { cell, N, H } = s;
    if (!allOwn(ctx, s.gy, s.dh, s.acts, s.hs, s.cs, s.carry, s.dz, s.dzs, s.dxp)) return false;
    const op = 'recurrentGatesBackward';
    const NH = N * H,
      GH = GATES[cell] * H;
    const gy = own(ctx, op, 'gy', s.gy, Math.max(s.yOff, s.cLast) + NH);
    const dh = own(ctx, op, 'dh', s.dh, NH);
    const hs = own(ctx, op, 'hs', s.hs, s.hOff + 2 * NH);
    const dz = own(ctx, op, 'dz', s.dz, s.zOff + N * GH);
    const dzs = own(ctx, op, 'dzs', s.dzs, N * GH);
    const dxp = own(ctx, op, 'dxp', s.dxp, s.xOff + N * GH);
    if (NH === 0) return true;
    let code: string;
    let ints: number[];
    let storage: GpuStorage[];
    let writes = 3;
    if (cell === 'LSTM') {
      const acts = own(ctx, op, 'acts', s.acts, s.aOff + N * 4 * H);
      const cs = own(ctx, op, 'cs', s.cs, s.hOff + 2 * NH);
      const carry = own(ctx, op, 'carry', s.carry, NH);
      code = wgsl('recurrentGatesBackward.lstm', lstmBackward);
      ints = [NH, H, s.yOff, s.cLast < 0 ? NONE : s.cLast, s.aOff, s.hOff, s.zOff, s.xOff];
      storage = [gy, dh, acts, cs, carry, dz, dzs, dxp];
      writes = 4;
    } else if (cell === 'GRU') {
      const acts = own(ctx, op, 'acts', s.acts, s.aOff + N * 4 * H);
      const carry = own(ctx, op, 'carry', s.carry, NH);
      code = wgsl('recurrentGatesBackward.gru', gruBackward);
      ints = [NH, H, s.yOff, s.aOff, s.hOff, s.zOff, s.xOff];
      storage = [gy, dh, acts, hs, carry, dz, dzs, dxp];
      writes = 4;
    } else {
      const relu = cell === 'RNN_RELU';
      code = wgsl(`recurrentGatesBackward.${cell}`, () => rnnBackward(relu));
      ints = [NH, H, s.yOff, s.hOff, s.zOff, s.xOff];
      storage = [gy, dh, hs, dz, dzs, dxp];
    }
    ctx.dispatch({ name: op, code, ints, storage, writes, groups: grid(NH) });
    return true;
  }

  return { recurrentGates, recurrentGatesBackward };
}
