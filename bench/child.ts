/**
 * Runs one workload with one JS framework in this process and prints its Measurement as JSON.
 * W3/W4: the whole run, then the Measurement. The interleaved workloads (W1, W2, W5, W6): set up and warm up, then the segment protocol
 * on stdin/stdout driven by run.ts (serveSegments in common.ts), then the Measurement.
 */
// each framework's module is imported for its own run only: on a bare GPU machine
// (tools/gpu-measure.sh) descent-webgpu and tfjs-webgpu run with the npm packages `webgpu` and
// TensorFlow.js's core, layers and webgpu bundles (tools/gpu-peers.sh) alone
import { WORKLOADS, isGpuWorkload, isInterleaved, serveSegments, type Measurement, type Trainer, type WorkloadId } from './common.js';
import type { TfBackend } from './tfjs.js';

const [framework, workload, ...rest] = process.argv.slice(2);
const quick = rest.includes('--quick');
const batchAt = rest.indexOf('--batch');
const batch = batchAt >= 0 ? Number(rest[batchAt + 1]) : undefined;
const w = workload as WorkloadId;
const backends: Record<string, [string, boolean?]> = {
  descent: ['wasm'],
  'descent-js-array': ['wasm', true],
  'descent-reference': ['reference'],
  'descent-webgpu': ['webgpu'],
  'descent-webgpu-autotune': ['webgpu'],
  'tfjs-cpu': ['cpu'],
  'tfjs-wasm': ['wasm'],
  'tfjs-webgpu': ['webgpu'],
};
const [backendName, jsArray] = backends[framework] ?? [];
if (!backendName) throw new Error(`bench child: unknown framework "${framework}"`);
const tfjs = framework.startsWith('tfjs');
let m: Measurement;
// a workload the framework has no model for: a row saying why
const cannot =
  backendName === 'webgpu' && !isGpuWorkload(w)
    ? `${framework} runs W1 and W2 (the MLP and the CNN)`
    : tfjs && w === 'W6'
      ? 'TensorFlow.js 4.22 has no attention layer among tf.layers'
      : null;
if (cannot !== null) m = { framework, workload: w, value: null, unit: WORKLOADS[w].unit, peakMiB: null, note: cannot };
else if (isInterleaved(w)) {
  const t: Trainer | Measurement = tfjs
    ? await (await import('./tfjs.js')).setupTfjs(w, quick, backendName as TfBackend, batch)
    : backendName === 'webgpu' && isGpuWorkload(w)
      ? await (await import('./descent-webgpu.js')).setupDescentWebGPU(w, quick, batch, framework === 'descent-webgpu-autotune')
      : await (await import('./descent.js')).setupDescent(w, quick, backendName);
  m = 'step' in t ? await serveSegments(t) : t;
} else
  m = tfjs
    ? await (await import('./tfjs.js')).runTfjs(w, quick, backendName as 'cpu' | 'wasm')
    : await (await import('./descent.js')).runDescent(w, quick, backendName, jsArray);
process.stdout.write(`${JSON.stringify(m)}\n`);
process.exit(0);
