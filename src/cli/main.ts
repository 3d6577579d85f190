#!/usr/bin/env node
/** The `descent` bin. */
// First: turns on relaxed SIMD on Node 20 before any kernel compiles (see the module).
import '../backend/wasm/node-flags.js';
import { processIo, runCli } from './run.js';
import { EXIT_CLOSED_PIPE, OutputClosed, exitQuietlyOnClosedPipes } from './stdio.js';

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
