/** What the WebGPU measuring tools share: timing queued work on the device, checking an n × n product. */
import type { GpuContext } from '../src/backend/webgpu/index.js';
import type { Rng } from '../src/index.js';

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
