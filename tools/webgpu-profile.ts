/**
 * Where a training step's time goes on the GPU, kernel by kernel: W1 (the MLP) or W2 (the CNN) set
 * up as the benchmark's descent-webgpu row (bench/descent-webgpu.ts: the same model, Adam, batches
 * and step), timed unprofiled, then the same number of steps with initWebGPU({ profile: true }):
 *
 *   node dist/tools/webgpu-profile.js [W1|W2] [batch] [steps=20] [autotune]
 *
 * Prints one JSON line per kernel (dispatches and device milliseconds per step, share of the
 * step's device time), most time first, then a summary line: the step's wall time unprofiled and
 * profiled, the device time the kernels add up to, and the median host time of a step (the part
 * before its await). A step whose device time is far below its wall time is limited by the host
 * or by the gaps between dispatches, not by the kernels. `autotune` turns tile autotuning on first
 * (the bench's descent-webgpu-autotune). It measures; it asserts nothing.
 */
import { initWebGPU, webgpuProfile } from '../src/backend/webgpu/index.js';
import { setupDescentWebGPU } from '../bench/descent-webgpu.js';
import type { Trainer } from '../bench/common.js';

const [w = 'W1', batchArg, stepsArg = '20', tune] = process.argv.slice(2);
const steps = Number(stepsArg);
const batch = batchArg === undefined ? undefined : Number(batchArg);
if (
  (w !== 'W1' && w !== 'W2') ||
  (batch !== undefined && !(Number.isInteger(batch) && batch >= 1)) ||
  !(Number.isInteger(steps) && steps >= 1) ||
  (tune !== undefined && tune !== 'autotune')
) {
  process.stderr.write(`webgpu-profile: expected W1|W2 [batch ≥ 1] [steps ≥ 1] [autotune], got ${process.argv.slice(2).join(' ')}\n`);
  process.exit(2);
}
const setup = await setupDescentWebGPU(w, true, batch, tune === 'autotune');
if (!('step' in setup)) {
  process.stderr.write(`webgpu-profile: ${setup.note}\n`);
  process.exit(1);
}
const trainer: Trainer = setup;
await trainer.prepare?.();

/** Milliseconds per step of `steps` steps queued back to back (each awaits the loss of the step before). */
async function timeSteps(): Promise<number> {
  await trainer.step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step();
  return (performance.now() - t0) / steps;
}

const plainMs = await timeSteps();
await initWebGPU({ profile: true });
await webgpuProfile({ reset: true });
const profiledMs = await timeSteps();
const kernels = await webgpuProfile();
await initWebGPU({ profile: false });
// the profiled steps, plus the one step whose loss timeSteps awaited first
const perStep = steps + 1;
const deviceMs = kernels.reduce((s, k) => s + k.ms, 0) / perStep;
for (const k of kernels)
  console.log(
    JSON.stringify({
      workload: w,
      batch: trainer.batch,
      kernel: k.kernel,
      callsPerStep: +(k.calls / perStep).toFixed(2),
      msPerStep: +(k.ms / perStep).toFixed(4),
      share: +(k.ms / perStep / deviceMs).toFixed(4),
    }),
  );
const extra = trainer.finish?.() ?? {};
console.log(
  JSON.stringify({
    workload: w,
    batch: trainer.batch,
    steps,
    autotune: tune === 'autotune',
    stepMs: +plainMs.toFixed(3),
    profiledStepMs: +profiledMs.toFixed(3),
    deviceMsPerStep: +deviceMs.toFixed(3),
    ...extra,
  }),
);
