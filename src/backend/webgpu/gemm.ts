/**
 * The tiled product behind matmul, the fused linear layer and the three convolutions (as implicit
 * GEMMs: the unfolded operand is read through an index function, never materialised).
 *
 * One workgroup of 16×16 threads computes a 64×64 tile of C = A·B: for each 16-deep slice of the
 * shared dimension it stages A[64×16] and B[16×64] in workgroup memory (four loads per thread),
 * then each thread accumulates a 4×4 register tile, rows ly + 16·i and columns lx + 16·j (strided,
 * so the threads of a row read neighbouring words of workgroup memory and store neighbouring
 * words of C). Each use supplies WGSL functions `loadA(r, kk)`, `loadB(kk, c)` (called only inside the matrix) and `store(r, c, v)`; the flags `aAlongK` / `bAlongK` say which index of the operand is
 * contiguous in memory, so the threads of a warp load consecutive addresses.
 */

/** Output tile edge and shared-dimension slice of one workgroup. */
export const TILE = 64;
export const SLICE = 16;

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

export function gemmSource(s: GemmSpec): string {
  const fields = ['M', 'N', 'K', ...(s.ints ?? [])].map((f) => `${f}: u32,`).concat((s.floats ?? []).map((f) => `${f}: f32,`));
  // tile element e (0…1023) of thread t's i-th load: (row or column within the tile, kk)
  const aIdx = s.aAlongK ? 'let r = e / 16u; let kk = e % 16u;' : 'let r = e % 64u; let kk = e / 64u;';
  const bIdx = s.bAlongK ? 'let c = e / 16u; let kk = e % 16u;' : 'let c = e % 64u; let kk = e / 64u;';
  return /* wgsl */ `
struct Params { ${fields.join(' ')} }
@group(0) @binding(0) var<uniform> p: Params;
${s.bindings}
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
fn loadA(r: u32, kk: u32) -> f32 { ${s.loadA} }
fn loadB(kk: u32, c: u32) -> f32 { ${s.loadB} }
fn store(r: u32, c: u32, v: f32) { ${s.store} }
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let t = lid.y * 16u + lid.x;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    for (var i = 0u; i < 4u; i++) {
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
    for (var kk = 0u; kk < 16u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = As[kk][lid.y + 16u * i];
        b[i] = Bs[kk][lid.x + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y + 16u * i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x + 16u * j;
      if (c < p.N) { store(r, c, acc[i][j]); }
    }
  }
}
`;
}

/** The workgroup grid of an M×N product: x over columns, y over rows. */
export function gemmGroups(m: number, n: number): [number, number] {
  return [Math.ceil(n / TILE), Math.ceil(m / TILE)];
}
