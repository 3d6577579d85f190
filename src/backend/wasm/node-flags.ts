/**
 * Node-only, imported for its effect before anything compiles WebAssembly (first in src/node.ts):
 * Node 20 ships WebAssembly relaxed SIMD (fused multiply-add, which the GEMM micro-kernel uses) behind
 * --experimental-wasm-relaxed-simd. V8 flags set at run time apply to modules compiled afterwards,
 * in this thread and in workers started later, so setting it here, before the wasm backend
 * compiles its kernels, gives a library user what the command line would. Node 22+ has relaxed
 * SIMD on by default and no longer knows the flag, so it is set only below 22.
 */
import v8 from 'node:v8';

if (Number(process.versions.node.split('.')[0]) < 22) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
