/**
 * Times the WebGPU products of the CNN's training step (W2: conv 5×5×32, pool, conv 5×5×64, pool,
 * fc 128, fc 10) one kernel at a time, at a batch (default 512, the issue's):
 *
 *   node dist/tools/webgpu-kernels.js [batch=512] [seconds=1] [shapes=picked|all]
 *
 * For each kernel: queued repeatedly for `seconds` after 2 untimed calls, the device waited for,
 * and one JSON line printed with its tile shape (the one `tileFor` picks), milliseconds per call
 * and GFLOP/s (2·M·N·K useful multiply-adds per call), beside a plain matmul of the same M, N, K —
 * so a GPU run shows which kernel falls short of the product's speed (the index arithmetic of an
 * implicit GEMM, idle tile rows, a split). With `all`, each kernel is then timed with every other
 * shape of TILE_SHAPES (gemm.ts) that fits the device's workgroup memory, one line each,
 * so the run also says which shape each product should take. The operands hold arbitrary values:
 * only the time is of interest. It measures; it asserts nothing.
 */
import type { Conv2dGeometry } from '../src/backend/backend.js';
import { GpuStorage, disposeWebGPU, initWebGPU, webgpuInfo, webgpuKernels } from '../src/backend/webgpu/index.js';
import { TILE_SHAPES, setTileChoice, tileBytes, tileFor } from '../src/backend/webgpu/gemm.js';
import { timeQueued } from './webgpu-timing.js';

const n = Number(process.argv[2] ?? 512);
const budget = Number(process.argv[3] ?? 1);
const sweep = process.argv[4] ?? 'picked';
if (!Number.isInteger(n) || n < 1 || !(budget > 0) || !['picked', 'all'].includes(sweep)) {
  process.stderr.write(`webgpu-kernels: expected a batch ≥ 1, seconds > 0 and picked or all, got ${process.argv.slice(2).join(' ')}\n`);
  process.exit(2);
}
const ctx = await initWebGPU({ powerPreference: 'high-performance' });
const K = webgpuKernels(ctx);
const filled = (len: number) =>
  GpuStorage.from(
    Float32Array.from({ length: len }, (_, i) => Math.sin(i) * 0.5),
    ctx,
  );

async function time(name: string, f: () => void, m: number, nn: number, k: number, tile = tileFor(m, nn).name): Promise<number> {
  const { calls, seconds } = await timeQueued(ctx, f, budget);
  const ms = (seconds * 1000) / calls;
  const gflops = (2 * m * nn * k) / (ms / 1000) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ kernel: name, batch: n, tile, m, n: nn, k, ms: +ms.toFixed(4), gflops: +gflops.toFixed(1) })}\n`,
  );
  return ms;
}

/** With `all`: the kernel again under every other shape the device can hold, each forced for all its products. */
async function otherShapes(name: string, f: () => void, m: number, nn: number, k: number): Promise<void> {
  if (sweep !== 'all') return;
  const picked = tileFor(m, nn).name;
  for (const t of TILE_SHAPES) {
    if (t.name === picked || tileBytes(t) > ctx.device.limits.maxComputeWorkgroupStorageSize) continue;
    setTileChoice(() => t);
    try {
      await time(name, f, m, nn, k, t.name);
    } finally {
      setTileChoice(null);
    }
  }
}

/** A product's three kernels (forward, input gradient, weight gradient) and a matmul of each shape. */
async function conv(layer: string, g: Conv2dGeometry, inputGrad: boolean): Promise<void> {
  const x = filled(g.n * g.c * g.h * g.w),
    w = filled(g.k * g.c * g.kh * g.kw),
    b = filled(g.k),
    y = filled(g.n * g.k * g.oh * g.ow),
    gx = filled(g.n * g.c * g.h * g.w),
    gw = filled(g.k * g.c * g.kh * g.kw);
  const P = g.oh * g.ow,
    Q = g.c * g.kh * g.kw;
  const shapes: [string, () => void, number, number, number][] = [
    [`${layer} forward (convLayer, bias + ReLU)`, () => K.convLayer(x, w, b, y, g, true), g.k, g.n * P, Q],
    [`${layer} weight gradient`, () => K.conv2dBackwardWeight(x, y, gw, g), g.k, Q, g.n * P],
    ...(inputGrad
      ? ([[`${layer} input gradient`, () => K.conv2dBackwardInput(y, w, gx, g), g.c, g.n * g.h * g.w, g.k * g.kh * g.kw]] as [
          string,
          () => void,
          number,
          number,
          number,
        ][])
      : []),
  ];
  for (const [name, f, m, nn, k] of shapes) {
    await time(name, f, m, nn, k);
    await otherShapes(name, f, m, nn, k);
    const a = filled(m * k),
      bb = filled(k * nn),
      c = filled(m * nn);
    await time(`  matmul of the same M, N, K`, () => K.matmul(a, bb, c, m, nn, k, false, false), m, nn, k);
    for (const s of [a, bb, c]) s.destroy();
  }
  for (const s of [x, w, b, y, gx, gw]) s.destroy();
}

const geo = (c: number, h: number, k: number): Conv2dGeometry => ({
  n,
  c,
  h,
  w: h,
  k,
  kh: 5,
  kw: 5,
  oh: h,
  ow: h,
  strideH: 1,
  strideW: 1,
  padH: 2,
  padW: 2,
  dilationH: 1,
  dilationW: 1,
  groups: 1,
});
// the first layer's input needs no gradient
await conv('conv1 (1→32, 28×28)', geo(1, 28, 32), false);
await conv('conv2 (32→64, 14×14)', geo(32, 14, 64), true);
// the dense layers: fc1 3136→128 forward, then the gradients of its weights and input
const fc = async (name: string, m: number, nn: number, k: number) => {
  const a = filled(m * k),
    bb = filled(k * nn),
    c = filled(m * nn);
  const f = () => K.matmul(a, bb, c, m, nn, k, false, false);
  await time(name, f, m, nn, k);
  await otherShapes(name, f, m, nn, k);
  for (const s of [a, bb, c]) s.destroy();
};
await fc('fc1 forward (matmul)', n, 128, 3136);
await fc('fc1 weight gradient (matmul)', 128, 3136, n);
await fc('fc1 input gradient (matmul)', n, 3136, 128);
process.stdout.write(`${JSON.stringify({ adapter: webgpuInfo().adapter, software: webgpuInfo().software })}\n`);
disposeWebGPU();
