/**
 * Times the WebGPU matmul's tile shapes one by one on n × n products, so a GPU run says which
 * shape `tileFor` (src/backend/webgpu/gemm.ts) should pick at each size:
 *
 *   node dist/tools/webgpu-tiles.js [sizes=4096,2048,1024] [seconds=1]
 *
 * For each size and shape: the plain product (no transposes, unsplit) of two seeded random
 * matrices queued for `seconds` after 2 untimed ones, the device waited for, and one JSON line
 * printed: the shape (its name, rows × columns, slice depth, threads), n, TFLOP/s (2n³ per
 * product), whether `tileFor` picks it at this size, and the largest error of 32 sampled entries
 * against a float64 dot product, scaled by the row and column norms (a shape whose loads or
 * stores were wrong shows there). The shapes are the backend's square ones and four more it does
 * tileFor does not pick (TILE_SHAPES in gemm.ts, less the thin ones); one that needs more workgroup
 * memory than the device has is reported as skipped. It measures; it asserts nothing.
 */
import { GpuStorage, disposeWebGPU, initWebGPU, webgpuInfo } from '../src/backend/webgpu/index.js';
import { wgsl } from '../src/backend/webgpu/context.js';
import { matmulSource } from '../src/backend/webgpu/dense.js';
import { TILE_SHAPES, gemmGroups, tileBytes, tileEdges, tileFor } from '../src/backend/webgpu/gemm.js';
import { Rng } from '../src/index.js';
import { sampledError, timeQueued } from './webgpu-timing.js';

const sizes = (process.argv[2] ?? '4096,2048,1024').split(',').map(Number);
const budget = Number(process.argv[3] ?? 1);
if (!sizes.every((n) => Number.isInteger(n) && n >= 1) || !(budget > 0)) {
  process.stderr.write(`webgpu-tiles: expected sizes n ≥ 1 (comma-separated) and seconds > 0, got ${process.argv.slice(2).join(' ')}\n`);
  process.exit(2);
}
// the square and near-square shapes (the thin ones are for products of at most 32 rows or columns)
const SHAPES = TILE_SHAPES.filter((t) => !['w', 't', 'x'].includes(t.name));

const ctx = await initWebGPU({ powerPreference: 'high-performance' });
const rng = new Rng(11);
for (const n of sizes) {
  const ha = Float32Array.from({ length: n * n }, () => 2 * rng.uniform() - 1);
  const hb = Float32Array.from({ length: n * n }, () => 2 * rng.uniform() - 1);
  const a = GpuStorage.from(ha, ctx),
    b = GpuStorage.from(hb, ctx),
    c = GpuStorage.zeros('float32', n * n, ctx);
  for (const t of SHAPES) {
    const { rows, cols } = tileEdges(t);
    const bytes = tileBytes(t);
    const limit = ctx.device.limits.maxComputeWorkgroupStorageSize;
    if (bytes > limit) {
      process.stdout.write(`${JSON.stringify({ tile: t.name, rows, cols, depth: t.depth, n, skipped: `needs ${bytes} bytes of workgroup memory, the device has ${limit}` })}
`);
      continue;
    }
    const code = wgsl(`tiles.matmul00.${t.name}`, () => matmulSource(false, false, t, false));
    const run = () =>
      ctx.dispatch({ name: `matmul.${t.name}`, code, ints: [n, n, n], storage: [a, b, c], groups: gemmGroups(n, n, t), full: true });
    const { calls: reps, seconds } = await timeQueued(ctx, run, budget);
    const maxError = sampledError(ha, hb, (await c.read()) as Float32Array, n, 32, rng);
    process.stdout.write(
      `${JSON.stringify({ tile: t.name, rows, cols, depth: t.depth, threads: t.tx * t.ty, n, tflops: +((2 * n ** 3 * reps) / seconds / 1e12).toFixed(3), picked: tileFor(n, n).name === t.name, maxError: +maxError.toExponential(2) })}\n`,
    );
  }
  for (const s of [a, b, c]) s.destroy();
}
process.stdout.write(`${JSON.stringify({ adapter: webgpuInfo().adapter, software: webgpuInfo().software })}\n`);
disposeWebGPU();
