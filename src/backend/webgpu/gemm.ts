/**
 * The tiled product behind matmul, the fused linear layer and the three convolutions (as implicit
 * GEMMs: the unfolded operand is read through an index function, never materialised).
 *
 * One workgroup computes a tile of C = A·B (64×64; 128×128 for large products, 32×128, 128×32
 * or 32×32 for products of at most 32 rows or columns, see tileFor; with autotune, whichever shape
 * of TILE_SHAPES was timed fastest, see tune.ts): for each slice of the shared dimension it stages
 * A[tile×slice] and B[slice×tile] in workgroup memory, then each thread accumulates a 4×4 (8×8)
 * register tile from vec4 reads of workgroup memory (see gemmSource). Each use supplies WGSL functions `loadA(r, kk)`, `loadB(kk, c)` (called only inside the matrix) and `store(r, c, v)`; the flags `aAlongK` / `bAlongK` say which index of the operand is
 * contiguous in memory, so the threads of a warp load consecutive addresses.
 *
 * Split-K: a product with few output tiles and a deep shared dimension (a weight gradient, whose
 * K is the batch times the output pixels: a 5×5 convolution's 32×25 gradient at batch 512 is one
 * tile over K = 401,408) would run on a handful of workgroups while the rest of the GPU idles.
 * `dispatchProduct` (tune.ts) then splits K into S slices: workgroup z of the grid's third dimension sums
 * its slice into partial tile z of a scratch buffer, and a second kernel adds the S partials of
 * each output in slice order (so the result is deterministic) into the output, set or accumulated.
 */
import { type GpuContext, GpuStorage, MAX_GROUPS, WGSL_COMMON, grid, wgsl, THREAD_MAIN } from './context.js';

/**
 * A tile of C computed by one workgroup of ty·tx threads, `ty` along its rows and `tx` along its
 * columns, each thread owning `gm` × `gn` blocks of 4×4 outputs: the tile is 4·ty·gm × 4·tx·gn.
 */
export interface TileShape {
  /** The shape's name in pipeline keys. */
  name: string;
  ty: number;
  tx: number;
  /** Blocks of 4 rows (columns) per thread. */
  gm: 1 | 2;
  gn: 1 | 2;
  /** Depth of a slice of the shared dimension. */
  depth: 8 | 16;
}
/** 64×64 over 16-deep slices: 4×4 outputs per thread. */
export const SMALL: TileShape = { name: 's', ty: 16, tx: 16, gm: 1, gn: 1, depth: 16 };
/** 128×128 over 8-deep slices: 8×8 per thread, twice the multiply-adds per word read from workgroup memory, for products large enough to fill a GPU with them. */
export const LARGE: TileShape = { name: 'l', ty: 16, tx: 16, gm: 2, gn: 2, depth: 8 };
/** 32×128 over 16-deep slices: for products of at most 32 rows (a convolution with 32 channels, a layer's 10 outputs), which would leave half of a 64-row tile or more idle. */
export const WIDE: TileShape = { name: 'w', ty: 8, tx: 32, gm: 1, gn: 1, depth: 16 };
/** 128×32, the same for products of at most 32 columns (a batch times 10 classes). */
export const TALL: TileShape = { name: 't', ty: 32, tx: 8, gm: 1, gn: 1, depth: 16 };
/** 32×32 with 64 threads, for products of at most 32 rows and 64 columns (the first convolution's 32×25 weight gradient, split along K). */
export const TINY: TileShape = { name: 'x', ty: 8, tx: 8, gm: 1, gn: 1, depth: 16 };
/** Products with at least this many outputs use LARGE tiles (256 workgroups of 128×128 at 2048², about two per SM of a 132-SM GPU; chosen, not yet measured on a GPU). */
export const LARGE_OUTPUTS = 2048 * 2048;

/**
 * Every shape a product may take: the five above, then 128×128 over 16-deep slices, 128×64, 64×128,
 * and 64×128 with 128 threads (tried by the tile tuner, tune.ts, and the measuring tools; tileFor
 * picks only the first five).
 */
export const TILE_SHAPES: readonly TileShape[] = [
  SMALL,
  LARGE,
  WIDE,
  TALL,
  TINY,
  { name: 'l16', ty: 16, tx: 16, gm: 2, gn: 2, depth: 16 },
  { name: 'r8', ty: 16, tx: 16, gm: 2, gn: 1, depth: 8 },
  { name: 'c8', ty: 16, tx: 16, gm: 1, gn: 2, depth: 8 },
  { name: 'w8', ty: 8, tx: 16, gm: 2, gn: 2, depth: 8 },
];

/** Bytes of workgroup memory a product over `t` holds: a slice of A and of B, rows of vec4 padded by one. */
export function tileBytes(t: TileShape): number {
  const { rows, cols } = tileEdges(t);
  return t.depth * (rows / 4 + 1 + cols / 4 + 1) * 16;
}

/** The rows and columns of a tile. */
export function tileEdges(t: TileShape): { rows: number; cols: number } {
  return { rows: 4 * t.ty * t.gm, cols: 4 * t.tx * t.gn };
}

/** A choice that replaces tileFor's and the tuner's (set by tools/webgpu-kernels.ts to time a product under each shape, and by tests). */
let tileChoice: ((m: number, n: number) => TileShape) | null = null;

/**
 * Makes `choose` pick every product's tile from now on, as the tuner would (a split product keeps
 * tileFor's slices); null restores tileFor's rule. For measuring tools and tests.
 */
export function setTileChoice(choose: ((m: number, n: number) => TileShape) | null): void {
  tileChoice = choose;
}

/** The tile setTileChoice imposes on an M×N product, if any. */
export function imposedTile(m: number, n: number): TileShape | null {
  return tileChoice ? tileChoice(m, n) : null;
}

/** The tile of an M×N product: LARGE for large ones, the 32-row or 32-column shapes for thin ones, else SMALL. */
export function tileFor(m: number, n: number): TileShape {
  if (m * n >= LARGE_OUTPUTS && m >= 128 && n >= 128) return LARGE;
  if (m <= 32) return n <= 64 ? TINY : WIDE;
  if (n <= 32) return TALL;
  return SMALL;
}

/**
 * A walk of kk for a loader whose indices decompose by division (a convolution's (channel, i, j),
 * (image, output row, output column), (image, pixel)): each of a thread's loads sits at the same
 * row (A) or column (B) and the same kk within every slice, so its state is made once from both
 * with `init` and advanced by the slice depth (the WGSL constant DEPTH) with `next` after each
 * slice: the divisions run once per load slot, not at every load.
 */
export interface KWalk {
  /** The state's WGSL struct fields, e.g. 'c: u32, i: u32, j: u32'. */
  fields: string;
  /**
   * Body of `fn init(kk: u32, rc: u32) -> State`, rc the load's row of A or column of B (either may
   * lie past the matrix; only arithmetic, no reads); the struct is called State in both bodies.
   */
  init: string;
  /** Body of `fn next(s: State) -> State`: the state of kk + DEPTH. */
  next: string;
}

export interface GemmSpec {
  /** Extra u32 uniforms after M, N, K (names), then f32 ones. */
  ints?: readonly string[];
  floats?: readonly string[];
  /** Storage declarations, bindings 1… in the order the dispatch passes them. */
  bindings: string;
  /** Bodies of `fn loadA(r: u32, kk: u32) -> f32`, `fn loadB(kk: u32, c: u32) -> f32`, `fn store(r: u32, c: u32, v: f32)`; each is called only with indices inside the matrix. */
  loadA: string;
  loadB: string;
  store: string;
  /** True when A's consecutive kk are adjacent in memory (row-major A), false when consecutive r are. */
  aAlongK: boolean;
  /** True when B's consecutive kk are adjacent in memory (B read transposed), false when consecutive c are. */
  bAlongK: boolean;
  /** With a walk, `loadA` (`loadB`) takes its state as a third argument `s` (a WalkA, WalkB). */
  aWalk?: KWalk;
  bWalk?: KWalk;
  /**
   * One product per channel group in one dispatch (a grouped convolution): `ints` includes
   * `groups`, the grid's z is the group (slice·groups + group when split), and the functions read
   * the workgroup's group as the private `gi`.
   */
  grouped?: boolean;
}

/** The WGSL of a walk named `name` (WalkA, WalkB): the struct and its init and next functions. */
function walkSource(name: string, w: KWalk | undefined): string {
  if (!w) return '';
  const named = (body: string) => body.replace(/\bState\b/g, name);
  return `struct ${name} { ${w.fields} }
fn ${name}Init(kk: u32, rc: u32) -> ${name} { ${named(w.init)} }
fn ${name}Next(s: ${name}) -> ${name} { ${named(w.next)} }`;
}

/** The store of a split product's partial tiles: output (r, c) of slice z at z·M·N + r·N + c of binding `out`. */
export const partialStore = (out: string) => `${out}[zBase + r * p.N + c] = v;`;

/**
 * The product's WGSL. With `split`, the uniform block ends its u32 words with kChunk, workgroup z
 * sums kk in [z·kChunk, min(K, (z + 1)·kChunk)), and `store` (then `partialStore`) sees zBase = z·M·N.
 * With `grouped` as well, z = slice·groups + gi: slice z / groups, and zBase = z·M·N puts a
 * slice's partials of all groups side by side, group gi's M×N at gi·M·N as in the output.
 *
 * Workgroup memory holds each slice as rows of vec4 along the tile's edge: row kk of As is A's
 * rows row0 … row0 + rows − 1 at that kk, padded by one vec4 (so stores of consecutive kk, the
 * along-K layouts, start 4 banks apart). A thread's rows are 4·ly … 4·ly + 3 in each group of
 * 4·ty rows, its columns likewise with lx, so each kk reads one vec4 of As and one of Bs per
 * group: a warp's column threads read consecutive vec4 and its row threads share theirs, a
 * quarter of the workgroup-memory reads of scalar rows.
 */
export function gemmSource(s: GemmSpec, t: TileShape = SMALL, split = false): string {
  const ints = ['M', 'N', 'K', ...(s.ints ?? []), ...(split ? ['kChunk'] : [])];
  const fields = ints.map((f) => `${f}: u32,`).concat((s.floats ?? []).map((f) => `${f}: f32,`));
  const { rows, cols } = tileEdges(t);
  const d = t.depth;
  const perM = 4 * t.gm,
    perN = 4 * t.gn;
  // vec4 per row of workgroup memory, one of them padding
  const strideA = rows / 4 + 1,
    strideB = cols / 4 + 1;
  // a slice holds rows·depth words of A and depth·cols of B: loads per thread of each
  const threads = t.tx * t.ty;
  const aLoads = (rows * d) / threads,
    bLoads = (cols * d) / threads;
  // tile element e of a thread's load: (row or column within the tile, kk)
  const aIdx = s.aAlongK ? `let r = e / ${d}u; let kk = e % ${d}u;` : `let r = e % ${rows}u; let kk = e / ${rows}u;`;
  const bIdx = s.bAlongK ? `let c = e / ${d}u; let kk = e % ${d}u;` : `let c = e % ${cols}u; let kk = e / ${cols}u;`;
  // one operand's loads into workgroup memory: A's rows r or B's columns c of the tile at kk of the
  // slice (0 outside the matrix and past kEnd), and the walks' state of each load slot
  const operand = (isA: boolean) => {
    const [X, w, n, idx, walk, rc, at, stride] = isA
      ? (['A', 'wa', aLoads, aIdx, s.aWalk, 'r', 'row0 + r', strideA] as const)
      : (['B', 'wb', bLoads, bIdx, s.bWalk, 'c', 'col0 + c', strideB] as const);
    const loop = (body: string) => `for (var i = 0u; i < ${n}u; i++) { let e = t + i * ${threads}u; ${idx} ${body} }`;
    const args = `${isA ? `${at}, k0 + kk` : `k0 + kk, ${at}`}${walk ? `, ${w}[i]` : ''}`;
    return {
      init: walk ? `var ${w}: array<Walk${X}, ${n}>; ${loop(`${w}[i] = Walk${X}Init(kBegin + kk, ${at});`)}` : '',
      load: loop(
        `var v = 0.0; if (${at} < p.${isA ? 'M' : 'N'} && k0 + kk < kEnd) { v = load${X}(${args}); } ${X}s[kk * ${stride}u + ${rc} / 4u][${rc} % 4u] = v; ${walk ? `${w}[i] = Walk${X}Next(${w}[i]);` : ''}`,
      ),
    };
  };
  const opA = operand(true),
    opB = operand(false);
  return /* wgsl */ `
struct Params { ${fields.join(' ')} }
@group(0) @binding(0) var<uniform> p: Params;
${s.bindings}
${split ? 'var<private> zBase: u32;' : ''}${s.grouped ? '\nvar<private> gi: u32;' : ''}
var<workgroup> As: array<vec4<f32>, ${d * strideA}>;
var<workgroup> Bs: array<vec4<f32>, ${d * strideB}>;
const DEPTH = ${d}u;
${walkSource('WalkA', s.aWalk)}
${walkSource('WalkB', s.bWalk)}
fn loadA(r: u32, kk: u32${s.aWalk ? ', s: WalkA' : ''}) -> f32 { ${s.loadA} }
fn loadB(kk: u32, c: u32${s.bWalk ? ', s: WalkB' : ''}) -> f32 { ${s.loadB} }
fn store(r: u32, c: u32, v: f32) { ${s.store} }
@compute @workgroup_size(${t.tx}, ${t.ty})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * ${rows}u;
  let col0 = wid.x * ${cols}u;
  let t = lid.y * ${t.tx}u + lid.x;
  var acc: array<array<f32, ${perN}>, ${perM}>;
  let kBegin = ${split ? (s.grouped ? '(wid.z / p.groups) * p.kChunk' : 'wid.z * p.kChunk') : '0u'};
  let kEnd = ${split ? 'min(p.K, kBegin + p.kChunk)' : 'p.K'};
  ${split ? 'zBase = wid.z * p.M * p.N;' : ''}${s.grouped ? `\n  gi = ${split ? 'wid.z % p.groups' : 'wid.z'};` : ''}
  ${opA.init}
  ${opB.init}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${d}u) {
    ${opA.load}
    ${opB.load}
    workgroupBarrier();
    for (var kk = 0u; kk < ${d}u; kk++) {
      var a: array<vec4<f32>, ${t.gm}>;
      var b: array<vec4<f32>, ${t.gn}>;
      for (var g = 0u; g < ${t.gm}u; g++) { a[g] = As[kk * ${strideA}u + g * ${t.ty}u + lid.y]; }
      for (var g = 0u; g < ${t.gn}u; g++) { b[g] = Bs[kk * ${strideB}u + g * ${t.tx}u + lid.x]; }
      for (var i = 0u; i < ${perM}u; i++) {
        let ai = a[i / 4u][i % 4u];
        for (var j = 0u; j < ${perN}u; j++) {
          acc[i][j] = fma(ai, b[j / 4u][j % 4u], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${perM}u; i++) {
    let r = row0 + (i / 4u) * ${4 * t.ty}u + lid.y * 4u + i % 4u;
    if (r >= p.M) { break; }
    for (var j = 0u; j < ${perN}u; j++) {
      let c = col0 + (j / 4u) * ${4 * t.tx}u + lid.x * 4u + j % 4u;
      if (c < p.N) { store(r, c, acc[i][j]); }
    }
  }
}
`;
}

/** The workgroup grid of an M×N product: x over columns, y over rows. */
export function gemmGroups(m: number, n: number, t: TileShape = SMALL): [number, number] {
  const { rows, cols } = tileEdges(t);
  return [Math.ceil(n / cols), Math.ceil(m / rows)];
}

/** Workgroups a product should keep busy before its depth is split: about two per SM of a 132-SM GPU (chosen, not yet measured on a GPU). */
export const SPLIT_TARGET_GROUPS = 256;
/** The shallowest slice of K a workgroup of a split product sums (16 slices of the small tile). */
export const SPLIT_MIN_DEPTH = 256;
/** At most this many slices (the partials then hold 256 copies of the output). */
export const SPLIT_MAX = 256;

/**
 * How an M×N product over depth K is split along K: `slices` slices of `chunk` (1 slice: not
 * split). With `groups` products in one dispatch (a grouped convolution's), their tiles count
 * together, and slices·groups stays within the grid's z.
 */
export function splitFor(m: number, n: number, k: number, t: TileShape = SMALL, groups = 1): Split {
  const [gx, gy] = gemmGroups(m, n, t);
  const want = Math.min(
    Math.ceil(SPLIT_TARGET_GROUPS / (gx * gy * groups)),
    Math.floor(k / SPLIT_MIN_DEPTH),
    SPLIT_MAX,
    Math.floor(MAX_GROUPS / groups),
  );
  if (want < 2) return { slices: 1, chunk: k };
  const chunk = Math.ceil(k / want / t.depth) * t.depth;
  return { slices: Math.ceil(k / chunk), chunk };
}

/** out[i] (+)= Σ_z part[z·n + i], z = 0 … slices − 1 in order. */
function splitReduceSource(accumulate: boolean): string {
  return /* wgsl */ `
struct Params { n: u32, slices: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${WGSL_COMMON}
${THREAD_MAIN}
  var s = 0.0;
  for (var z = 0u; z < p.slices; z++) { s += part[z * p.n + i]; }
  out[i] ${accumulate ? '+=' : '='} s;
}
`;
}

/** The product's split along K: `slices` slices of `chunk` (one slice: not split). */
export type Split = { slices: number; chunk: number };

/** One product of the backend (a matmul, a fused layer, a convolution or one of their gradients), as the tile tuner (tune.ts) sees it. */
export interface Product {
  name: string;
  /** The WGSL cache key of the kernel without its tile (the key adds ".<tile name>", and ".split" when split). */
  family: string;
  /** The kernel's source under tile `t`, whole or split (`gemmSource(…, t, split)` with `partialStore` as its store when split). */
  source: (t: TileShape, split: boolean) => string;
  /** M, N, K, then the use's own u32 words. */
  ints: readonly number[];
  /** Its bindings, the output last. */
  storage: readonly GpuStorage[];
  m: number;
  n: number;
  k: number;
  /** Whether its store is `out[r·N + c] (+)= v`, so that it may run split along K (a weight gradient, a matmul). */
  splittable: boolean;
  /** Whether the product adds into its output (else it writes every element of it). */
  accumulate: boolean;
  /**
   * How many products of these sizes one dispatch runs, one per channel group along the grid's z
   * (a grouped convolution's, whose kernel is `grouped`, see GemmSpec); default 1. Their outputs
   * lie side by side, group gi's M×N at gi·M·N of the output binding.
   */
  groups?: number;
}

/** Queues the product under tile `t`, whole or split as `split` says (see the module comment). */
export function queueProduct(ctx: GpuContext, p: Product, t: TileShape, split: Split): void {
  if (split.slices > 1 && split.chunk % t.depth)
    throw new Error(`webgpu backend: ${p.name} split in slices of ${split.chunk} cannot run ${t.depth}-deep tiles`);
  const [gx, gy] = gemmGroups(p.m, p.n, t);
  const groups = p.groups ?? 1;
  const key = `${p.family}.${t.name}`;
  if (split.slices === 1) {
    ctx.dispatch({
      name: p.name,
      code: wgsl(key, () => p.source(t, false)),
      ints: p.ints,
      storage: p.storage,
      groups: groups > 1 ? [gx, gy, groups] : [gx, gy],
      full: !p.accumulate,
    });
    return;
  }
  // every group's outputs: the partials of a slice are laid out as the output (see gemmSource)
  const outputs = p.m * p.n * groups;
  const part = GpuStorage.scratch(split.slices * outputs, ctx);
  ctx.dispatch({
    name: p.name,
    code: wgsl(`${key}.split`, () => p.source(t, true)),
    ints: [...p.ints, split.chunk],
    storage: [...p.storage.slice(0, -1), part],
    groups: [gx, gy, split.slices * groups],
    // every slice stores its whole tile of partials
    full: true,
  });
  ctx.dispatch({
    name: `${p.name}.reduce`,
    code: wgsl(`splitReduce${+p.accumulate}`, () => splitReduceSource(p.accumulate)),
    ints: [outputs, split.slices],
    storage: [part, p.storage[p.storage.length - 1]],
    groups: grid(outputs),
    full: !p.accumulate,
  });
  part.destroy();
}
