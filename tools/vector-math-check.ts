/**
 * The SIMD transcendental ops and activations of asm/activations.ts against their scalar code on
 * every float32 input (2³² of them; about half an hour a variant on two cores), or every `stride`-th:
 * exp, sigmoid, tanh, erf, the GELUs, SiLU and their derivatives through the kernels' `unary`, and
 * activationForward's f and f′, bit for bit. The scalar reference is the same source compiled
 * beside it: a module whose loop calls the scalar functions for every element.
 *   node dist/tools/vector-math-check.js [stride] [simd|relaxed]
 * (test/backend/vector-math.test.ts checks a sample of the inputs with the kernels' own scalar tail.)
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import type { KernelExports } from '../src/backend/wasm/abi.generated.js';
import { ACTIVATION_PAIRS, VECTOR_OPS } from './vector-math-ops.js';

if (Number(process.versions.node.split('.')[0]) < 22) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const stride = Number(process.argv[2] ?? 1);
const variant = process.argv[3] ?? 'relaxed';
if (!Number.isInteger(stride) || stride < 1 || !['simd', 'relaxed'].includes(variant)) {
  console.error('usage: node dist/tools/vector-math-check.js [stride ≥ 1] [simd|relaxed]');
  process.exit(2);
}
const repo = fileURLToPath(new URL('../..', import.meta.url));

/** The scalar loop: the same switch as asm/elementwise.ts's `unary` for these ops, without its SIMD loop. */
const ENTRY = `
import { activation, sigmoid } from './asm/activations';
import { UN_EXP, UN_SIGMOID, UN_TANH } from './asm/opcodes';
export { unary } from './asm/elementwise';
export { activationForward } from './asm/activations';
export function scalar(op: i32, a: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const x = load<f32>(a + <usize>i * 4);
    store<f32>(out + <usize>i * 4, op == UN_EXP ? Mathf.exp(x) : op == UN_SIGMOID ? sigmoid(x) : op == UN_TANH ? Mathf.tanh(x) : activation(op, x, 0, 0));
  }
}
`;

const { default: asc } = await import('assemblyscript/asc');
const dir = mkdtempSync(join(tmpdir(), 'descent-vector-math-'));
let bytes: Uint8Array;
try {
  symlinkSync(join(repo, 'asm'), join(dir, 'asm'));
  writeFileSync(join(dir, 'check.ts'), ENTRY);
  const flags = ['-O3', '--runtime', 'stub', '--importMemory', '--initialMemory', '4096', '--maximumMemory', '16384', '--enable', 'simd'];
  if (variant === 'relaxed') flags.push('--enable', 'relaxed-simd');
  const { error } = await asc.main([join(dir, 'check.ts'), ...flags, '--noAssert', '-o', join(dir, 'check.wasm')], {
    stdout: process.stdout,
    stderr: process.stderr,
  });
  if (error) throw error;
  bytes = readFileSync(join(dir, 'check.wasm'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

type Check = Pick<KernelExports, 'unary' | 'activationForward'> & { scalar(op: number, a: number, out: number, n: number): void };
const memory = new WebAssembly.Memory({ initial: 4096, maximum: 16384 });
const k = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { memory, abort: () => {} } })
  .exports as unknown as Check;

const CHUNK = 1 << 22,
  base = 1 << 20;
const at = (slot: number) => new Uint32Array(memory.buffer, base + slot * CHUNK * 4, CHUNK);
const [xs, simd, scalar, y, d] = [0, 1, 2, 3, 4].map(at);
const wrong = new Map<string, number>();
const report = (what: string, x: number, want: number, got: number) => {
  const n = (wrong.get(what) ?? 0) + 1;
  wrong.set(what, n);
  if (n <= 5) console.log(`${what}(0x${x.toString(16)}): 0x${got.toString(16)}, scalar 0x${want.toString(16)}`);
};
const t0 = performance.now();
const total = Math.ceil(2 ** 32 / stride);
for (let done = 0; done < total; ) {
  const n = Math.min(CHUNK, total - done);
  for (let i = 0; i < n; i++) xs[i] = (done + i) * stride;
  const px = xs.byteOffset;
  for (const [name, op] of VECTOR_OPS) {
    k.unary(op, px, simd.byteOffset, n, 0, 0);
    k.scalar(op, px, scalar.byteOffset, n);
    for (let i = 0; i < n; i++) if (simd[i] !== scalar[i]) report(name, xs[i], scalar[i], simd[i]);
    for (const [pair, f, df] of ACTIVATION_PAIRS) {
      if (op !== df) continue;
      k.activationForward(f, px, y.byteOffset, d.byteOffset, n);
      for (let i = 0; i < n; i++) if (d[i] !== scalar[i]) report(`activationForward ${pair} f′`, xs[i], scalar[i], d[i]);
      k.scalar(f, px, scalar.byteOffset, n);
      for (let i = 0; i < n; i++) if (y[i] !== scalar[i]) report(`activationForward ${pair} f`, xs[i], scalar[i], y[i]);
    }
  }
  done += n;
  if ((done / CHUNK) % 64 === 0 || done === total)
    console.log(
      `${done} of ${total} inputs, ${((performance.now() - t0) / 1000).toFixed(0)} s, ${wrong.size ? 'differences' : 'no difference'}`,
    );
}
console.log(
  wrong.size
    ? `${variant}: differences in ${[...wrong].map(([w, n]) => `${w} (${n})`).join(', ')}`
    : `${variant}: the SIMD results are the scalar ones on all ${total} inputs`,
);
process.exit(wrong.size ? 1 : 0);
