/** What the WebGPU measuring tools share: timing queued work on the device, checking an n × n product, the tile shapes to try. */
import type { GpuContext } from '../src/backend/webgpu/index.js';
import { LARGE, SMALL, TALL, TINY, type TileShape, WIDE, tileEdges } from '../src/backend/webgpu/gemm.js';
import type { Rng } from '../src/index.js';

/** The backend's tile shapes and four it does not use yet (128×128 over 16-deep slices, 128×64, 64×128, 64×128 with 128 threads). */
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

/**
 * Calls `f` (which queues work) `warm` times untimed, then in groups of `group` until `seconds`
 * have passed, waiting for the device after each group so the host never runs far ahead of it;
 * the time runs up to the last group done. Returns the calls timed and the seconds.
 */
export async function timeQueued(
  ctx: GpuContext,
  f: () => void,
  seconds: number,
  warm = 2,
  group = 4,
): Promise<{ calls: number; seconds: number }> {
  for (let i = 0; i < warm; i++) f();
  await ctx.sync();
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < group; i++) f();
    calls += group;
    await ctx.sync();
  }
  return { calls, seconds: (performance.now() - t0) / 1000 };
}

/**
 * The largest error of `samples` entries (i, j) of `got` = a·b (row-major n × n) drawn with `rng`,
 * against float64 dot products, scaled by the norms of a's row i and b's column j.
 */
export function sampledError(a: Float32Array, b: Float32Array, got: Float32Array, n: number, samples: number, rng: Rng): number {
  let maxError = 0;
  for (let s = 0; s < samples; s++) {
    const i = Math.floor(rng.uniform() * n),
      j = Math.floor(rng.uniform() * n);
    let dot = 0,
      ra = 0,
      cb = 0;
    for (let k = 0; k < n; k++) {
      dot += a[i * n + k] * b[k * n + j];
      ra += a[i * n + k] ** 2;
      cb += b[k * n + j] ** 2;
    }
    maxError = Math.max(maxError, Math.abs(got[i * n + j] - dot) / Math.sqrt(ra * cb));
  }
  return maxError;
}
