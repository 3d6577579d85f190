/**
 * A trial process: the local pool and `descent worker` fork one and send it trials over IPC, one
 * at a time ({ trial } in, { id, result } or { id, error } out). It runs the wasm kernels on one
 * thread — the pool's parallelism is its processes, one per core — so every trial runs the same
 * code with the same threads wherever it runs, and curves agree bit for bit.
 */
import '../backend/wasm/node-flags.js';
import { initWasm } from '../backend/wasm/index.js';
import { setBackend } from '../backend/index.js';
import { runTrial, type TrialSpec } from './trial.js';

interface Request {
  id: string;
  trial: TrialSpec;
}

const started = initWasm({ threads: 1 }).then(() => setBackend('wasm'));

process.on('message', (m: Request) => {
  started
    .then(() => {
      const result = runTrial(m.trial);
      process.send!({ id: m.id, result });
    })
    .catch((e: Error) => process.send!({ id: m.id, error: e.message }));
});
process.on('disconnect', () => process.exit(0));
