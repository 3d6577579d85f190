/**
 * The wasm boundary as asm/build.mjs generates it (src/backend/wasm/abi.generated.ts) against the
 * compiled modules themselves: the declared exports are the modules' exports with the same
 * parameter counts, every kernel the worker protocol runs fits its argument block, and the shared
 * layouts (geometry slots, op codes) are consistent, and the build refuses a constant it cannot copy.
 */
import '../../src/backend/wasm/node-flags.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as bins from '../../src/backend/wasm/kernels.generated.js';
import * as abi from '../../src/backend/wasm/abi.generated.js';
import { KERNEL_FNS, MAX_ARGS } from '../../src/backend/wasm/protocol.js';

const variants = { simd: bins.simd, simdShared: bins.simdShared, relaxed: bins.relaxed, relaxedShared: bins.relaxedShared };

test('every variant exports exactly the declared functions, each with its declared parameter count', () => {
  const memory = (shared: boolean) => new WebAssembly.Memory({ initial: 64, maximum: 16384, shared } as WebAssembly.MemoryDescriptor);
  let checked = 0;
  for (const [name, b64] of Object.entries(variants)) {
    const bytes = Buffer.from(b64, 'base64');
    if (name.startsWith('relaxed') && !WebAssembly.validate(bytes)) continue; // an engine without relaxed SIMD
    const module = new WebAssembly.Module(bytes);
    const fns = WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name);
    assert.deepEqual([...fns].sort(), Object.keys(abi.KERNEL_ARITY).sort(), name);
    const inst = new WebAssembly.Instance(module, { env: { memory: memory(name.endsWith('Shared')), abort: () => {} } });
    for (const [fn, arity] of Object.entries(abi.KERNEL_ARITY)) {
      assert.equal((inst.exports[fn] as (...a: number[]) => unknown).length, arity, `${name}.${fn}`);
    }
    checked++;
  }
  assert.ok(checked >= 2, 'the SIMD128 variants at least');
});

test('the kernels a worker runs are exports whose arguments fit the control block', () => {
  for (const fn of KERNEL_FNS) {
    assert.ok(fn in abi.KERNEL_ARITY, fn);
    assert.ok(abi.KERNEL_ARITY[fn] <= MAX_ARGS, `${fn}: ${abi.KERNEL_ARITY[fn]} arguments, the protocol carries ${MAX_ARGS}`);
  }
});

test('the geometry slots are distinct and fill the block; a conv + pool block holds both and the flag after them', () => {
  const slots = [
    abi.GEO_N,
    abi.GEO_C,
    abi.GEO_H,
    abi.GEO_W,
    abi.GEO_K,
    abi.GEO_KH,
    abi.GEO_KW,
    abi.GEO_OH,
    abi.GEO_OW,
    abi.GEO_SH,
    abi.GEO_SW,
    abi.GEO_PH,
    abi.GEO_PW,
    abi.GEO_DH,
    abi.GEO_DW,
    abi.GEO_G,
  ];
  assert.deepEqual(
    [...slots].sort((a, b) => a - b),
    Array.from({ length: abi.GEO_INTS }, (_, i) => i),
  );
  assert.ok(abi.GEO_POOL >= abi.GEO_INTS, 'the pooling block starts after the convolution block');
  assert.ok(abi.GEO_RELU >= abi.GEO_POOL + abi.GEO_INTS, 'the ReLU flag comes after the pooling block');
  assert.equal(abi.CONV_POOL_INTS, abi.GEO_RELU + 1);
});

test('the op codes of each kind are distinct', () => {
  for (const prefix of ['BIN_', 'UN_']) {
    const codes = Object.entries(abi)
      .filter(([k]) => k.startsWith(prefix))
      .map(([, v]) => v as number);
    assert.ok(codes.length >= 11, prefix);
    assert.equal(new Set(codes).size, codes.length, prefix);
  }
});

test('asm/build.mjs stops, naming the line, at a shared constant it cannot copy, and writes nothing', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const tmp = mkdtempSync(join(tmpdir(), 'descent-abi-'));
  try {
    mkdirSync(join(tmp, 'asm'));
    mkdirSync(join(tmp, 'src', 'backend', 'wasm'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(tmp, 'node_modules'));
    for (const f of readdirSync(join(root, 'asm'))) copyFileSync(join(root, 'asm', f), join(tmp, 'asm', f));
    const geometry = join(tmp, 'asm', 'geometry.ts');
    writeFileSync(geometry, `${readFileSync(geometry, 'utf8')}@inline export const GEO_EXTRA: i32 = GEO_INTS + 1;\n`);
    const r = spawnSync(process.execPath, [join(tmp, 'asm', 'build.mjs')], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /asm\/geometry\.ts:\d+: a shared constant must read .*GEO_EXTRA/);
    assert.deepEqual(readdirSync(join(tmp, 'src', 'backend', 'wasm')), []);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
