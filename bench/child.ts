/** Runs one workload with one JS framework in this process and prints its Measurement as JSON. */
import { runDescent } from './descent.js';
import { runTfjs } from './tfjs.js';
import type { WorkloadId } from './common.js';

const [framework, workload, ...rest] = process.argv.slice(2);
const quick = rest.includes('--quick');
const w = workload as WorkloadId;
const m =
  framework === 'descent' ? await runDescent(w, quick, 'wasm')
  : framework === 'descent-wasm-memory' ? await runDescent(w, quick, 'wasm', true)
  : framework === 'descent-reference' ? await runDescent(w, quick, 'reference')
  : framework === 'tfjs-cpu' ? await runTfjs(w, quick, 'cpu')
  : framework === 'tfjs-wasm' ? await runTfjs(w, quick, 'wasm')
  : null;
if (!m) throw new Error(`bench child: unknown framework "${framework}"`);
process.stdout.write(JSON.stringify(m) + '\n');
process.exit(0);
