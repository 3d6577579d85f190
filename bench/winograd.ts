/**
 * Winograd F(4×4, r×r) against im2col + GEMM on one convolution layer with bias and ReLU, by
 * default W2's second (64 images of 32 × 14 × 14, 64 filters 5 × 5, padding 2): the layer's
 * forward (`convLayer`), its input and weight gradients (`convLayerBackward`), on one thread and
 * on two. The two paths alternate call by call (a slow phase of the machine hits both alike); each
 * figure is the best and the median of the rounds.
 *   node --experimental-wasm-relaxed-simd dist/bench/winograd.js [rounds] [C K H r]
 * e.g. `20 32 48 14 3`: 32 → 48 channels on 14 × 14, 3 × 3 filters, padding 1 (padding (r − 1)/2).
 */
import { extensionsOf, Rng, conv2dGeometry } from '../src/index.js';
import { initWasm, setWasmThreads, setWinogradEnabled } from '../src/wasm.js';
import { median } from './common.js';

const [rounds, C, K, H, r] = [20, 32, 64, 14, 5].map((d, i) => Number(process.argv[2 + i] ?? d));
const W = { ...(await initWasm()), ...extensionsOf('wasm') };
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
