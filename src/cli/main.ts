#!/usr/bin/env node
/** The `descent` bin. */
import v8 from 'node:v8';
import { processIo, runCli } from './run.js';
import { EXIT_CLOSED_PIPE, OutputClosed, exitQuietlyOnClosedPipes } from './stdio.js';

// Node 20 ships WebAssembly relaxed SIMD (fused multiply-add: ~20–35% faster GEMM) behind a flag;
// flags set before the kernels are compiled apply to the whole process, workers included. Node 22+
// has it on by default and no longer knows the flag.
if (Number(process.versions.node.split('.')[0]) < 22) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

exitQuietlyOnClosedPipes();
runCli(process.argv.slice(2), processIo).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    if (e instanceof OutputClosed) {
      process.exitCode = EXIT_CLOSED_PIPE;
      return;
    }
    process.stderr.write(`descent: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
