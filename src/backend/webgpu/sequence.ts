/**
 * The kernels sequence and attention models need beyond the dense and elementwise ones:
 *
 *   batchedMatmul   C[z] = op(A[z])·op(B[z]) for z < batch, the tiled product of gemm.ts with the
 *                   batch on the grid's z (its `grouped` form, so a split along K works as for a
 *                   grouped convolution); an operand of batch stride 0 is one matrix shared by all
 *   permute         a strided gather, one thread per output element: the output's shape with the
 *                   input's strides permuted (up to MAX_RANK dimensions once size-1 ones are dropped)
 *   where           cond ≠ 0 ? a : b with the three operands broadcast as `binary` broadcasts two
 *   embeddingGather out[i, :] = w[rows[i], :] (zeros where rows[i] is `skip` and `zeroSkipped`)
 *   embeddingScatter gw[r, :] = Σ g[i, :] over the positions i of row r in ascending order
 *
 * Embedding's backward is deterministic: the host, which holds the ids, sorts the positions by
 * row (a counting sort: `starts`, the offsets of each row's run in `order`, and `order`, the
 * positions) and one thread per (row, column) adds its run in position order. No atomics (WGSL has
 * them on integers only, and a float CAS loop would add in a different order on every run), the
 * same sums in the same order as the host's loop, and O(num·dim + count·dim) work.
 */
import type { DeviceStorage } from '../../tensor/device.js';
import { type Shape, sizeOf } from '../../tensor/shape.js';
import { broadcastStrides } from '../reference.js';
import { type GpuContext, GpuStorage, MAX_GROUPS, WGSL_COMMON, grid, wgsl, THREAD_MAIN } from './context.js';
import { READ, WRITE, allOwn, own } from './dense.js';
import { MAX_RANK } from './elementwise.js';
import { type TileShape, gemmSource, partialStore } from './gemm.js';
import { dispatchProduct } from './tune.js';

/** C[gi] = op(A[gi·sa])·op(B[gi·sb]), gi the grid's z: the batched form of matmulSource. */
export function batchedMatmulSource(transA: boolean, transB: boolean, t: TileShape, split: boolean): string {
  return gemmSource(
    {
      ints: ['groups', 'sa', 'sb'],
      bindings: [READ(1, 'a'), READ(2, 'b'), WRITE(3, 'o')].join('\n'),
      loadA: transA ? 'return a[gi * p.sa + kk * p.M + r];' : 'return a[gi * p.sa + r * p.K + kk];',
      loadB: transB ? 'return b[gi * p.sb + c * p.K + kk];' : 'return b[gi * p.sb + kk * p.N + c];',
      store: split ? partialStore('o') : 'o[gi * p.M * p.N + r * p.N + c] = v;',
      aAlongK: !transA,
      bAlongK: transB,
      grouped: true,
    },
    t,
    split,
  );
}

const dims = [0, 1, 2, 3, 4, 5];

/** out[i] = x[Σ_d coord_d(i)·st_d], the output's coordinates peeled innermost first. */
function permuteSource(): string {
  return /* wgsl */ `
struct Params { n: u32, ${dims.map((d) => `s${d}: u32,`).join(' ')} ${dims.map((d) => `t${d}: u32`).join(', ')} }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'x')}
${WRITE(2, 'o')}
${WGSL_COMMON}
${THREAD_MAIN}
  var rest = i; var at = 0u;
  ${[5, 4, 3, 2, 1, 0].map((d) => `{ let c = rest % p.s${d}; rest = rest / p.s${d}; at += c * p.t${d}; }`).join('\n  ')}
  o[i] = x[at];
}
`;
}

/** out[i] = c ≠ 0 ? a : b, each operand read through its own broadcast strides. */
function whereSource(): string {
  const fields = ['n: u32', ...['s', 'c', 'a', 'b'].flatMap((k) => dims.map((d) => `${k}${d}: u32`))].join(', ');
  return /* wgsl */ `
struct Params { ${fields} }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'c')}
${READ(2, 'a')}
${READ(3, 'b')}
${WRITE(4, 'o')}
${WGSL_COMMON}
${THREAD_MAIN}
  var rest = i; var ic = 0u; var ia = 0u; var ib = 0u;
  ${[5, 4, 3, 2, 1, 0].map((d) => `{ let k = rest % p.s${d}; rest = rest / p.s${d}; ic += k * p.c${d}; ia += k * p.a${d}; ib += k * p.b${d}; }`).join('\n  ')}
  o[i] = select(b[ib], a[ia], c[ic] != 0.0);
}
`;
}

/** out[i·dim + j] = w[rows[i]·dim + j], or 0 where rows[i] = skip (skip −1: none). */
function gatherSource(): string {
  return /* wgsl */ `
struct Params { n: u32, dim: u32, skip: i32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'w')}
${READ(2, 'rows', 'i32')}
${WRITE(3, 'o')}
${WGSL_COMMON}
${THREAD_MAIN}
  let r = rows[i / p.dim];
  o[i] = select(w[u32(r) * p.dim + i % p.dim], 0.0, r == p.skip);
}
`;
}

/** gw[r·dim + j] = Σ_{q ∈ [starts[r], starts[r+1])} g[order[q]·dim + j], q ascending. */
function scatterSource(): string {
  return /* wgsl */ `
struct Params { n: u32, dim: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'g')}
${READ(2, 'starts', 'i32')}
${READ(3, 'order', 'i32')}
${WRITE(4, 'gw')}
${WGSL_COMMON}
${THREAD_MAIN}
  let r = i / p.dim;
  let j = i % p.dim;
  var s = 0.0;
  for (var q = starts[r]; q < starts[r + 1u]; q++) { s += g[u32(order[q]) * p.dim + j]; }
  gw[i] = s;
}
`;
}

/** `shape`'s dimensions of size > 1 with the matching entries of each stride list, or null past MAX_RANK. */
function dropOnes(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } | null {
  const keep = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  if (keep.length > MAX_RANK) return null;
  const pad = (xs: number[], fill: number) => [...new Array<number>(MAX_RANK - xs.length).fill(fill), ...xs];
  return {
    shape: pad(
      keep.map((d) => shape[d]),
      1,
    ),
    strides: strides.map((st) =>
      pad(
        keep.map((d) => st[d]),
        0,
      ),
    ),
  };
}

export function sequenceOps(ctx: GpuContext) {
  const isIndex = (s: DeviceStorage) => s instanceof GpuStorage && s.ctx === ctx && s.dtype === 'int32';

  function batchedMatmul(
    a: DeviceStorage,
    b: DeviceStorage,
    out: DeviceStorage,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
  ): boolean {
    if (!allOwn(ctx, a, b, out)) return false;
    const op = 'batchedMatmul';
    const ga = own(ctx, op, 'a', a, strideA * (batch - 1) + m * k);
    const gb = own(ctx, op, 'b', b, strideB * (batch - 1) + k * n);
    const go = own(ctx, op, 'out', out, batch * m * n);
    if (batch * m * n === 0) return true;
    if (batch > MAX_GROUPS)
      throw new Error(`webgpu backend: batchedMatmul: a batch of ${batch} products, over the grid's ${MAX_GROUPS} along z`);
    if (k === 0) {
      ctx.clear(go);
      return true;
    }
    dispatchProduct(ctx, {
      name: op,
      family: `batchedMatmul${+transA}${+transB}`,
      source: (t, split) => batchedMatmulSource(transA, transB, t, split),
      ints: [m, n, k, batch, strideA, strideB],
      storage: [ga, gb, go],
      m,
      n,
      k,
      splittable: true,
      accumulate: false,
      groups: batch,
    });
    return true;
  }

  function permute(x: DeviceStorage, shape: Shape, perm: readonly number[], out: DeviceStorage): boolean {
    if (!allOwn(ctx, x, out)) return false;
    const size = sizeOf(shape);
    const gx = own(ctx, 'permute', 'x', x, size);
    const go = own(ctx, 'permute', 'out', out, size);
    if (size === 0) return true;
    const inStrides = broadcastStrides(shape, shape);
    const m = dropOnes(
      perm.map((a) => shape[a]),
      [perm.map((a) => inStrides[a])],
    );
    if (!m) return false;
    ctx.dispatch({
      name: 'permute',
      full: true,
      code: wgsl('permute', permuteSource),
      ints: [size, ...m.shape, ...m.strides[0]],
      storage: [gx, go],
      groups: grid(size),
    });
    return true;
  }

  function where(
    cond: DeviceStorage,
    cShape: Shape,
    a: DeviceStorage,
    aShape: Shape,
    b: DeviceStorage,
    bShape: Shape,
    out: DeviceStorage,
    outShape: Shape,
  ): boolean {
    if (!allOwn(ctx, cond, a, b, out)) return false;
    const n = sizeOf(outShape);
    const st = [
      own(ctx, 'where', 'cond', cond, sizeOf(cShape)),
      own(ctx, 'where', 'a', a, sizeOf(aShape)),
      own(ctx, 'where', 'b', b, sizeOf(bShape)),
    ];
    const go = own(ctx, 'where', 'out', out, n);
    // WebGPU refuses a buffer bound both read-only and writable: an in-place where declines
    if (st.some((s) => s.buffer === go.buffer)) return false;
    if (n === 0) return true;
    const m = dropOnes(
      outShape,
      [cShape, aShape, bShape].map((s) => broadcastStrides(s, outShape)),
    );
    if (!m) return false;
    ctx.dispatch({
      name: 'where',
      full: true,
      code: wgsl('where', whereSource),
      ints: [n, ...m.shape, ...m.strides.flat()],
      storage: [...st, go],
      groups: grid(n),
    });
    return true;
  }

  function embeddingGather(w: DeviceStorage, rows: DeviceStorage, out: DeviceStorage, count: number, dim: number, skip: number): boolean {
    if (!allOwn(ctx, w, out) || !isIndex(rows)) return false;
    const n = count * dim;
    const go = own(ctx, 'embeddingGather', 'out', out, n);
    const gw = own(ctx, 'embeddingGather', 'w', w, dim);
    const gr = own(ctx, 'embeddingGather', 'rows', rows, count, 'int32');
    if (n === 0) return true;
    ctx.dispatch({
      name: 'embeddingGather',
      full: true,
      code: wgsl('embeddingGather', gatherSource),
      ints: [n, dim, skip],
      storage: [gw, gr, go],
      groups: grid(n),
    });
    return true;
  }

  function embeddingScatter(
    g: DeviceStorage,
    starts: DeviceStorage,
    order: DeviceStorage,
    gw: DeviceStorage,
    num: number,
    dim: number,
  ): boolean {
    if (!allOwn(ctx, g, gw) || !isIndex(starts) || !isIndex(order)) return false;
    const n = num * dim;
    const op = 'embeddingScatter';
    const st = [own(ctx, op, 'g', g, 0), own(ctx, op, 'starts', starts, num + 1, 'int32'), own(ctx, op, 'order', order, 0, 'int32')];
    const go = own(ctx, op, 'gw', gw, n);
    if (n === 0) return true;
    ctx.dispatch({
      name: op,
      full: true,
      code: wgsl(op, scatterSource),
      ints: [n, dim],
      storage: [...st, go],
      groups: grid(n),
    });
    return true;
  }

  return { batchedMatmul, permute, where, embeddingGather, embeddingScatter };
}
