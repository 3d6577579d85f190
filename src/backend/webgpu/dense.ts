/**
 * Dense products: matmul (transpose flags read in place) and the fused linear layer with its
 * backward (bias and ReLU in the product's epilogue; the ReLU mask of the backward applied while
 * loading the output gradient, so gz is never stored). The smooth activations (GELU, SiLU) are
 * declined: the op composes them from the product and the activation kernels.
 */
import type { LinearActivation } from '../backend.js';
import type { DeviceStorage } from '../../tensor/device.js';
import { type GpuContext, GpuStorage, WG, grid, wgsl } from './context.js';
import { type TileShape, gemmSource, partialStore } from './gemm.js';
import { dispatchProduct } from './tune.js';

/** The GPU storage behind `s`, checked to be float32 (or int32) storage of this context with `length` elements. */
export function own(
  ctx: GpuContext,
  op: string,
  what: string,
  s: DeviceStorage | unknown,
  length: number,
  dtype: 'float32' | 'int32' = 'float32',
): GpuStorage {
  if (!(s instanceof GpuStorage) || s.ctx !== ctx)
    throw new Error(`webgpu backend: ${op}: ${what} must be WebGPU storage of this device, got ${describe(s)}`);
  if (s.dtype !== dtype) throw new Error(`webgpu backend: ${op}: ${what} must be ${dtype} storage, got ${s.dtype}`);
  if (s.length < length) throw new Error(`webgpu backend: ${op}: ${what} has ${s.length} elements, expected ${length}`);
  return s;
}

/** True when every non-null argument is this context's float32 storage (the extensions decline otherwise). */
export function allOwn(ctx: GpuContext, ...xs: (DeviceStorage | unknown | null)[]): boolean {
  return xs.every((s) => s === null || (s instanceof GpuStorage && s.ctx === ctx && s.dtype === 'float32'));
}

function describe(s: unknown): string {
  if (s instanceof GpuStorage) return 'storage of another WebGPU device';
  if (ArrayBuffer.isView(s)) return `a ${s.constructor.name}`;
  return s === null ? 'null' : typeof s;
}

const READ = (i: number, name: string, type = 'f32') => `@group(0) @binding(${i}) var<storage, read> ${name}: array<${type}>;`;
const WRITE = (i: number, name: string, type = 'f32') => `@group(0) @binding(${i}) var<storage, read_write> ${name}: array<${type}>;`;
export { READ, WRITE };

/** The plain product o = op(a)·op(b) over tile `t` (exported for tools/webgpu-tiles.ts, which times the tile shapes). */
export function matmulSource(transA: boolean, transB: boolean, t: TileShape, split: boolean): string {
  return gemmSource(
    {
      bindings: [READ(1, 'a'), READ(2, 'b'), WRITE(3, 'o')].join('\n'),
      loadA: transA ? 'return a[kk * p.M + r];' : 'return a[r * p.K + kk];',
      loadB: transB ? 'return b[c * p.K + kk];' : 'return b[kk * p.N + c];',
      store: split ? partialStore('o') : 'o[r * p.N + c] = v;',
      aAlongK: !transA,
      bAlongK: transB,
    },
    t,
    split,
  );
}

function linearSource(bias: boolean, relu: boolean, t: TileShape): string {
  const epilogue = `${bias ? 'let z = v + bias[c];' : 'let z = v;'} o[r * p.N + c] = ${relu ? 'select(z, 0.0, z <= 0.0)' : 'z'};`;
  return gemmSource(
    {
      bindings: [READ(1, 'x'), READ(2, 'w'), ...(bias ? [READ(3, 'bias')] : []), WRITE(bias ? 4 : 3, 'o')].join('\n'),
      loadA: 'return x[r * p.K + kk];',
      loadB: 'return w[c * p.K + kk];',
      store: epilogue,
      aAlongK: true,
      bAlongK: true,
    },
    t,
  );
}

/** gz(i, j) of an m×n output gradient, masked by the forward output when `relu` (PyTorch's threshold_backward). */
function gz(relu: boolean, i: string, j: string): string {
  return relu ? `gzAt(${i}, ${j})` : `gy[(${i}) * p.n + (${j})]`;
}
const GZ_FN = 'fn gzAt(i: u32, j: u32) -> f32 { let at = i * p.n + j; return select(gy[at], 0.0, y[at] <= 0.0); }';

/** The bindings of a linear layer's backward product: gy, the other operand, y when `relu`, the output; and gzAt. */
function gradBindings(relu: boolean, operand: string, out: string): string {
  return (
    [READ(1, 'gy'), READ(2, operand), ...(relu ? [READ(3, 'y')] : []), WRITE(relu ? 4 : 3, out)].join('\n') + (relu ? `\n${GZ_FN}` : '')
  );
}

/** gx[m×k] = gz[m×n]·w[n×k]. */
function linearGxSource(relu: boolean, t: TileShape): string {
  return gemmSource(
    {
      ints: ['n'],
      bindings: gradBindings(relu, 'w', 'gx'),
      loadA: `return ${gz(relu, 'r', 'kk')};`,
      loadB: 'return w[kk * p.N + c];',
      store: 'gx[r * p.N + c] = v;',
      aAlongK: true,
      bAlongK: false,
    },
    t,
  );
}

/** gw[n×k] (+)= gzᵀ·x, x m×k. */
function linearGwSource(relu: boolean, accumulate: boolean, t: TileShape, split: boolean): string {
  return gemmSource(
    {
      ints: ['n'],
      bindings: gradBindings(relu, 'x', 'gw'),
      loadA: `return ${gz(relu, 'kk', 'r')};`,
      loadB: 'return x[kk * p.N + c];',
      store: split ? partialStore('gw') : accumulate ? 'gw[r * p.N + c] += v;' : 'gw[r * p.N + c] = v;',
      aAlongK: false,
      bAlongK: false,
    },
    t,
    split,
  );
}

/** gb[j] = Σ_i gz(i, j): one thread per column, rows in order. */
function columnSumSource(relu: boolean): string {
  return /* wgsl */ `
struct Params { m: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'gy')}
${relu ? READ(2, 'y') : ''}
${WRITE(relu ? 3 : 2, 'gb')}
${relu ? GZ_FN : ''}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let j = (wid.y * nwg.x + wid.x) * ${WG}u + li;
  if (j >= p.n) { return; }
  var s = 0.0;
  for (var i = 0u; i < p.m; i++) { s += ${gz(relu, 'i', 'j')}; }
  gb[j] = s;
}
`;
}

export function denseOps(ctx: GpuContext) {
  function matmul(
    a: DeviceStorage,
    b: DeviceStorage,
    out: DeviceStorage,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
  ): void {
    const ga = own(ctx, 'matmul', 'a', a, m * k);
    const gb = own(ctx, 'matmul', 'b', b, k * n);
    const go = own(ctx, 'matmul', 'out', out, m * n);
    if (m * n === 0) return;
    if (k === 0) return ctx.clear(go);
    dispatchProduct(ctx, {
      name: 'matmul',
      family: `matmul${+transA}${+transB}`,
      source: (t, split) => matmulSource(transA, transB, t, split),
      ints: [m, n, k],
      storage: [ga, gb, go],
      m,
      n,
      k,
      splittable: true,
      accumulate: false,
    });
  }

  function linear(
    x: DeviceStorage,
    w: DeviceStorage,
    bias: DeviceStorage | null,
    out: DeviceStorage,
    m: number,
    n: number,
    k: number,
    act: LinearActivation,
    deriv: DeviceStorage | null,
  ): boolean {
    if ((act !== 'none' && act !== 'relu') || deriv !== null || !allOwn(ctx, x, w, bias, out) || k === 0) return false;
    const relu = act === 'relu';
    const st = [own(ctx, 'linear', 'x', x, m * k), own(ctx, 'linear', 'w', w, n * k)];
    if (bias) st.push(own(ctx, 'linear', 'bias', bias, n));
    st.push(own(ctx, 'linear', 'out', out, m * n));
    if (m * n === 0) return true;
    dispatchProduct(ctx, {
      name: 'linear',
      family: `linear${+(bias !== null)}${+relu}`,
      source: (t) => linearSource(bias !== null, relu, t),
      ints: [m, n, k],
      storage: st,
      m,
      n,
      k,
      splittable: false,
      accumulate: false,
    });
    return true;
  }

  function linearBackward(
    gy: DeviceStorage,
    x: DeviceStorage,
    w: DeviceStorage,
    y: DeviceStorage | null,
    gx: DeviceStorage | null,
    gw: DeviceStorage | null,
    gb: DeviceStorage | null,
    m: number,
    n: number,
    k: number,
    act: LinearActivation,
    accumulateGw: boolean,
  ): boolean {
    if ((act !== 'none' && act !== 'relu') || (act === 'relu') !== (y !== null) || !allOwn(ctx, gy, x, w, y, gx, gw, gb)) return false;
    const relu = act === 'relu';
    const op = 'linearBackward';
    const ggy = own(ctx, op, 'gy', gy, m * n);
    const gyy = relu ? [own(ctx, op, 'y', y, m * n)] : [];
    if (gx) {
      const ggx = own(ctx, op, 'gx', gx, m * k);
      if (n === 0) ctx.clear(ggx);
      else if (m * k)
        dispatchProduct(ctx, {
          name: 'linearBackward.gx',
          family: `linearGx${+relu}`,
          source: (t) => linearGxSource(relu, t),
          ints: [m, k, n, n],
          storage: [ggy, own(ctx, op, 'w', w, n * k), ...gyy, ggx],
          m,
          n: k,
          k: n,
          splittable: false,
          accumulate: false,
        });
    }
    if (gw) {
      const ggw = own(ctx, op, 'gw', gw, n * k);
      if (m === 0) {
        if (!accumulateGw) ctx.clear(ggw);
      } else if (n * k) {
        dispatchProduct(ctx, {
          name: 'linearBackward.gw',
          family: `linearGw${+relu}${+accumulateGw}`,
          source: (t, split) => linearGwSource(relu, accumulateGw, t, split),
          ints: [n, k, m, n],
          storage: [ggy, own(ctx, op, 'x', x, m * k), ...gyy, ggw],
          m: n,
          n: k,
          k: m,
          splittable: true,
          accumulate: accumulateGw,
        });
      }
    }
    if (gb && n) {
      ctx.dispatch({
        name: 'linearBackward.gb',
        full: true,
        code: wgsl(`columnSum${+relu}`, () => columnSumSource(relu)),
        ints: [m, n],
        storage: [ggy, ...gyy, own(ctx, op, 'gb', gb, n)],
        groups: grid(n),
      });
    }
    return true;
  }

  return { matmul, linear, linearBackward };
}
