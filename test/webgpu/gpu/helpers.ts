/**
 * Shared by the WebGPU kernel tests (run by `npm run test:webgpu` on lavapipe): the device, a
 * seeded source of awkward inputs, upload/download, and a comparison against the reference
 * backend that records each kernel's largest error (printed at the end of each file as
 * `webgpu max error <kernel>: <value>`).
 */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { GpuStorage, disposeWebGPU, initWebGPU, webgpuKernels } from '../../../src/backend/webgpu/index.js';

export const ctx = await initWebGPU();
export const K = webgpuKernels(ctx);

const errors = new Map<string, number>();
after(() => {
  for (const [k, e] of [...errors].sort()) console.log(`webgpu max error ${k}: ${e.toExponential(2)}`);
  disposeWebGPU();
});

let seed = 12345;
export function reseed(s: number): void {
  seed = s >>> 0;
}
export function next(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}
/** n uniform values in [lo, hi). */
export function rnd(n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

export function up(values: Float32Array | Int32Array): GpuStorage {
  return GpuStorage.from(values, ctx);
}
export function zeros(n: number, dtype: 'float32' | 'int32' = 'float32'): GpuStorage {
  return GpuStorage.zeros(dtype, n, ctx);
}
export async function down(s: GpuStorage): Promise<Float32Array> {
  const v = await s.read();
  assert.ok(v instanceof Float32Array, 'float32 storage reads back a Float32Array');
  return v;
}
export async function downInt(s: GpuStorage): Promise<Int32Array> {
  const v = await s.read();
  assert.ok(v instanceof Int32Array, 'int32 storage reads back an Int32Array');
  return v;
}

/**
 * Asserts got ≈ want element by element: |got − want| ≤ tol·(1 + |want|), NaN only against NaN,
 * infinities only against the same infinity. Records the largest such scaled error under `kernel`.
 */
export function close(kernel: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = ''): void {
  assert.equal(got.length, want.length, `${kernel}${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i],
      w = want[i];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      assert.ok(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) || g === w, `${kernel}${what}: [${i}] is ${g}, expected ${w}`);
      continue;
    }
    const e = Math.abs(g - w) / (1 + Math.abs(w));
    if (!(e <= tol)) assert.fail(`${kernel}${what}: [${i}] is ${g}, expected ${w} (scaled error ${e} > ${tol})`);
    if (e > worst) worst = e;
  }
  errors.set(kernel, Math.max(errors.get(kernel) ?? 0, worst));
}

/** Asserts exact equality (NaN equal to NaN), recording error 0 under `kernel`. */
export function same(kernel: string, got: ArrayLike<number>, want: ArrayLike<number>, what = ''): void {
  assert.equal(got.length, want.length, `${kernel}${what}: length`);
  for (let i = 0; i < want.length; i++)
    if (!(got[i] === want[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i]))))
      assert.fail(`${kernel}${what}: [${i}] is ${got[i]}, expected ${want[i]}`);
  errors.set(kernel, errors.get(kernel) ?? 0);
}
