#!/usr/bin/env node
/** The `descent` bin. */
import { processIo, runCli } from './run.js';

runCli(process.argv.slice(2), processIo).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`descent: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
