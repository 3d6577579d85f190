/**
 * Winograd F(4×4, r×r) against im2col + GEMM on one convolution layer with bias and ReLU, by
 * default W2's second (64 images of 32 × 14 × 14, 64 filters 5 × 5, padding 2): the layer's
 * forward (`convLayer`), its input and weight gradients (`convLayerBackward`), on one thread and
 * on two. The two paths alternate call by call (a slow phase of the machine hits both alike); each
 * figure is the best and the median of the rounds.
 *   node --experimental-wasm-relaxed-simd dist/bench/winograd.js [rounds] [C K H r]
 * e.g. `20 32 48 14 3`: 32 → 48 channels on 14 × 14, 3 × 3 filters, padding 1 (padding (r − 1)/2).
 * With `--model NAME` (a built-in image model: cnn, fmp), whole training steps of that model
 * instead (batch 64, Adam, fused as fit() fuses it, two threads), the paths alternating step by step.
 */
import { Adam, crossEntropy, extensionsOf, fuse, getModel, Rng, Tensor, conv2dGeometry, setBackend } from '../src/index.js';
import { initWasm, setWasmThreads, setWinogradEnabled } from '../src/wasm.js';
import { median } from './common.js';

const args = process.argv.slice(2);
const modelAt = args.indexOf('--model');
const modelName = modelAt >= 0 ? args.splice(modelAt, 2)[1] : null;
const [rounds, C, K, H, r] = [20, 32, 64, 14, 5].map((d, i) => Number(args[i] ?? d));
const W = { ...(await initWasm()), ...extensionsOf('wasm') };
if (modelName) {
  setBackend('wasm');
  const model = fuse(getModel(modelName).build({ rng: new Rng(1), inputShape: [1, 28, 28], classes: 10 }));
  const opt = new Adam(model.namedParameters(), { lr: 1e-3 });
  const data = new Rng(2),
    drops = new Rng(3);
  const xb = new Tensor(
    Float32Array.from({ length: 64 * 784 }, () => data.uniform()),
    [64, 1, 28, 28],
  );
  const yb = Int32Array.from({ length: 64 }, () => Math.floor(data.uniform() * 10));
  const step = () => {
    const t0 = performance.now();
    opt.zeroGrad();
    crossEntropy(model.forward(xb, { training: true, rng: drops }), yb).backward();
    opt.step();
    return performance.now() - t0;
  };
  const t: Record<string, number[]> = { im2col: [], winograd: [] };
  for (let i = -3; i < rounds; i++) {
    for (const on of [false, true]) {
      setWinogradEnabled(on);
      const ms = step();
      if (i >= 0) t[on ? 'winograd' : 'im2col'].push(ms);
    }
  }
  setWinogradEnabled(true);
  console.log(`${modelName}, batch 64, two threads, ${rounds} steps each:`);
  for (const [k, v] of Object.entries(t))
    console.log(`${k.padEnd(9)} best ${Math.min(...v).toFixed(1)} ms, median ${median(v).toFixed(1)} ms a step of 64`);
  process.exit(0);
}
const N = 64;
const g = conv2dGeometry([N, C, H, H], [K, C, r, r], { padding: (r - 1) / 2 });
const rng = new Rng(3);
const fill = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
const x = fill(N * C * H * H, -0.5, 1),
  w = fill(K * C * r * r, -0.07, 0.07),
  b = fill(K, -0.1, 0.1),
  gy = fill(N * K * H * H, -1, 1);
const y = new Float32Array(gy.length),
  gx = new Float32Array(x.length),
  gw = new Float32Array(w.length),
  gb = new Float32Array(K);

const time = (f: () => void): number => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};
const forward = () => W.convLayer!(x, w, b, y, g, true);
const backward = () => W.convLayerBackward!(gy, x, w, y, gx, gw, gb, g, false);

console.log(`conv ${r}×${r}, ${C} → ${K} channels, ${H}×${H}, padding ${(r - 1) / 2}, batch ${N}; ${rounds} rounds, best / median ms`);
console.log('threads  pass                  im2col + GEMM      Winograd');
for (const threads of [1, 2]) {
  setWasmThreads(threads);
  const t: Record<string, number[]> = {};
  for (let r = -2; r < rounds; r++) {
    for (const on of [false, true]) {
      setWinogradEnabled(on);
      const f = time(forward),
        bw = time(backward);
      if (r < 0) continue;
      (t[`f${on}`] ??= []).push(f);
      (t[`b${on}`] ??= []).push(bw);
    }
  }
  setWinogradEnabled(true);
  const cell = (k: string) => `${Math.min(...t[k]).toFixed(1)} / ${median(t[k]).toFixed(1)}`.padStart(14);
  console.log(`${String(threads).padEnd(9)}forward            ${cell('ffalse')}${cell('ftrue')}`);
  console.log(`${String(threads).padEnd(9)}input + weight grad${cell('bfalse')}${cell('btrue')}`);
}
process.exit(0);
