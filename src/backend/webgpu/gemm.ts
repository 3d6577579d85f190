/**
 * The tiled product behind matmul, the fused linear layer and the three convolutions (as implicit
 * GEMMs: the unfolded operand is read through an index function, never materialised).
 *
 * One workgroup of 16×16 threads computes a tile of C = A·B (64×64, or 128×128 for large products):
 * for each slice of the shared dimension it stages A[tile×slice] and B[slice×tile] in workgroup
 * memory (four loads per thread), then each thread accumulates a 4×4 (8×8) register tile, rows
 * ly + 16·i and columns lx + 16·j (strided,
 * so the threads of a row read neighbouring words of workgroup memory and store neighbouring
 * words of C). Each use supplies WGSL functions `loadA(r, kk)`, `loadB(kk, c)` (called only inside the matrix) and `store(r, c, v)`; the flags `aAlongK` / `bAlongK` say which index of the operand is
 * contiguous in memory, so the threads of a warp load consecutive addresses.
 */

/**
 * The two tile shapes: 4×4 outputs per thread in 64×64 tiles over 16-deep slices, and 8×8 per
 * thread in 128×128 tiles over 8-deep slices (twice the multiply-adds per word read from
 * workgroup memory, for products large enough to fill a GPU with the bigger tiles).
 */
export interface TileShape {
  /** Outputs per thread along each side (the tile edge is 16·per). */
  per: 4 | 8;
  /** Depth of a slice of the shared dimension. */
  depth: 8 | 16;
}
export const SMALL: TileShape = { per: 4, depth: 16 };
export const LARGE: TileShape = { per: 8, depth: 8 };
/** Products with at least this many outputs use LARGE tiles (256 workgroups of 128×128 at 2048², about two per SM of a 132-SM GPU; chosen, not yet measured on a GPU). */
export const LARGE_OUTPUTS = 2048 * 2048;

export function tileFor(m: number, n: number): TileShape {
  return m * n >= LARGE_OUTPUTS && m >= 128 && n >= 128 ? LARGE : SMALL;
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
}

export function gemmSource(s: GemmSpec, t: TileShape = SMALL): string {
  const fields = ['M', 'N', 'K', ...(s.ints ?? [])].map((f) => `${f}: u32,`).concat((s.floats ?? []).map((f) => `${f}: f32,`));
  const edge = 16 * t.per;
  const d = t.depth;
  // a slice holds edge·depth words of each operand: `loads` per thread
  const loads = (edge * d) / 256;
  // tile element e of a thread's load: (row or column within the tile, kk)
  const aIdx = s.aAlongK ? `let r = e / ${d}u; let kk = e % ${d}u;` : `let r = e % ${edge}u; let kk = e / ${edge}u;`;
  const bIdx = s.bAlongK ? `let c = e / ${d}u; let kk = e % ${d}u;` : `let c = e % ${edge}u; let kk = e / ${edge}u;`;
  // rows padded by one word, so stores of consecutive kk (the along-K layouts) fall in different banks
  return /* wgsl */ `
struct Params { ${fields.join(' ')} }
@group(0) @binding(0) var<uniform> p: Params;
${s.bindings}
var<workgroup> As: array<array<f32, ${edge + 1}>, ${d}>;
var<workgroup> Bs: array<array<f32, ${edge + 1}>, ${d}>;
fn loadA(r: u32, kk: u32) -> f32 { ${s.loadA} }
fn loadB(kk: u32, c: u32) -> f32 { ${s.loadB} }
fn store(r: u32, c: u32, v: f32) { ${s.store} }
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * ${edge}u;
  let col0 = wid.x * ${edge}u;
  let t = lid.y * 16u + lid.x;
  var acc: array<array<f32, ${t.per}>, ${t.per}>;
  for (var k0 = 0u; k0 < p.K; k0 += ${d}u) {
    for (var i = 0u; i < ${loads}u; i++) {
      let e = t + i * 256u;
      {
        ${aIdx}
        var v = 0.0;
        if (row0 + r < p.M && k0 + kk < p.K) { v = loadA(row0 + r, k0 + kk); }
        As[kk][r] = v;
      }
      {
        ${bIdx}
        var v = 0.0;
        if (col0 + c < p.N && k0 + kk < p.K) { v = loadB(k0 + kk, col0 + c); }
        Bs[kk][c] = v;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${d}u; kk++) {
      var a: array<f32, ${t.per}>;
      var b: array<f32, ${t.per}>;
      for (var i = 0u; i < ${t.per}u; i++) {
        a[i] = As[kk][lid.y + 16u * i];
        b[i] = Bs[kk][lid.x + 16u * i];
      }
      for (var i = 0u; i < ${t.per}u; i++) {
        for (var j = 0u; j < ${t.per}u; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${t.per}u; i++) {
    let r = row0 + lid.y + 16u * i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < ${t.per}u; j++) {
      let c = col0 + lid.x + 16u * j;
      if (c < p.N) { store(r, c, acc[i][j]); }
    }
  }
}
`;
}

/** The workgroup grid of an M×N product: x over columns, y over rows. */
export function gemmGroups(m: number, n: number, t: TileShape = SMALL): [number, number] {
  const edge = 16 * t.per;
  return [Math.ceil(n / edge), Math.ceil(m / edge)];
}
