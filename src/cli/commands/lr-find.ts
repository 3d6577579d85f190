/**
 * descent lr-find: the learning-rate range test (lrFind, src/train/lr-find.ts) on the model, data,
 * optimizer and regularisation `descent train` would use, given by train's own flags. It trains
 * --steps batches at rates growing from --start-lr to --end-lr, prints the curve and the suggested
 * --lr, and writes nothing: the flags about the length of a run, its schedule, its outputs and its
 * averages are not among its options (the parser refuses them by name). It runs where train would
 * run (--backend, deviceRefusal): on the host with lrFind, or with the model moved to the device and
 * lrFindAsync (losses read a step late, the same curve).
 */
import { lrFind, lrFindAsync, type LrFindOptions, type LrFindResult } from '../../train/lr-find.js';
import { UsageError, type OptSpec, type Parsed } from '../args.js';
import type { Command, Io } from '../command.js';
import { deviceRefusal, runLabel, selectTrainBackend } from '../backend.js';
import { loadData } from '../data.js';
import { prepareTrain, preflight, trainCommand } from './train.js';

/** train's flags that mean nothing to a range test: the run's length and steps, its schedule, what it writes, its averages and stops. */
const NOT_HERE = new Set([
  'epochs',
  'accumulate',
  'full-batch',
  'gpu-autotune',
  'save',
  'save-best',
  'save-best-monitor',
  'save-best-threshold',
  'save-average',
  'checkpoint-dir',
  'checkpoint-every',
  'keep',
  'resume',
  'on-nan',
  'schedule',
  'schedule-unit',
  'ensemble',
  'snapshots',
  'swa',
  'ema',
  'early-stop',
  'early-stop-monitor',
  'early-stop-baseline',
  'min-delta',
  'restore-best',
]);

const ownOptions: OptSpec[] = [
  { name: 'start-lr', type: 'number', gt: 0, default: 1e-7, help: 'the rate of the first step' },
  { name: 'end-lr', type: 'number', gt: 0, default: 10, help: 'the rate of the last step (larger than --start-lr)' },
  {
    name: 'steps',
    type: 'int',
    min: 2,
    max: 100000,
    default: 100,
    help: 'batches to train (the training set is cycled through as needed)',
  },
  { name: 'linear', type: 'boolean', help: 'grow the rate by equal differences instead of equal ratios' },
  {
    name: 'smoothing',
    type: 'number',
    gt: 0,
    max: 1,
    default: 0.05,
    help: 'weight of each new loss in the running average the curve and the suggestion use (1: the raw losses)',
  },
];

const fmtLr = (lr: number) => lr.toExponential(2);
const camelCase = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** About `rows` lines of the curve: every k-th step and the last, each with a bar of its smoothed loss between the curve's lowest and highest. */
function curveLines(r: LrFindResult, rows = 24): string[] {
  const n = r.lrs.length;
  const every = Math.max(1, Math.ceil(n / rows));
  const finite = r.smoothed.filter(Number.isFinite);
  const lo = Math.min(...finite),
    hi = Math.max(...finite);
  const lines = ['        lr        loss    smoothed'];
  for (let i = 0; i < n; i++) {
    if (i % every !== 0 && i !== n - 1) continue;
    const s = r.smoothed[i];
    const width = Number.isFinite(s) && hi > lo ? Math.round(((s - lo) / (hi - lo)) * 40) : 40;
    lines.push(
      `  ${fmtLr(r.lrs[i]).padStart(8)}  ${r.losses[i].toFixed(4).padStart(10)}  ${s.toFixed(4).padStart(10)}  ${'█'.repeat(width)}`,
    );
  }
  return lines;
}

async function run(o: Parsed, io: Io): Promise<void> {
  if (!(o.endLr > o.startLr)) throw new UsageError(`--end-lr ${o.endLr} must be larger than --start-lr ${o.startLr}`);
  if (['lbfgs', 'newton'].includes(String(o.optimizer).toLowerCase()))
    throw new UsageError(`--optimizer ${o.optimizer} re-evaluates the loss within its step; the range test takes one loss per step`);
  preflight(o);
  // the backend train would take: the device where it can run the steps (see runTrain)
  const refusal = deviceRefusal(o, o.backend === 'webgpu');
  if (o.backend === 'webgpu' && refusal !== null)
    throw new UsageError(`--backend webgpu: ${refusal} runs on the host (it reads values inside a step); use --backend wasm`);
  const sel = await selectTrainBackend(o.backend, refusal ?? true, false);
  o = { ...o, backend: sel.runs };
  const label = runLabel(sel, o);
  try {
    const data = await loadData(o.data, o);
    // train's flags left out take their defaults, as train's own checks expect them
    const defaults = Object.fromEntries(
      trainCommand.options.filter((x) => NOT_HERE.has(x.name) && x.default !== undefined).map((x) => [camelCase(x.name), x.default]),
    );
    const p = prepareTrain({ ...defaults, ...o, epochs: 1, json: true }, io, data, [], undefined, label);
    const { model, optimizer, train, loss, rng, callbacks } = p.fit;
    if (!o.json)
      io.out(
        `lr range test: ${o.steps} steps of ${o.batchSize} samples, lr from ${o.startLr} to ${o.endLr} (${o.linear ? 'linear' : 'exponential'}), ${optimizer.rule.name}, ${p.model}, backend ${label}`,
      );
    const options: LrFindOptions = {
      model,
      optimizer,
      train,
      loss,
      rng,
      callbacks,
      startLr: o.startLr,
      endLr: o.endLr,
      steps: o.steps,
      mode: o.linear ? 'linear' : 'exp',
      smoothing: o.smoothing,
    };
    // on a device the model moves there (in place: the optimizer keeps its tensors); nothing is saved, so it stays
    if (sel.device) await model.to(sel.device);
    const r = sel.device ? await lrFindAsync(options) : lrFind(options);
    if (o.json) {
      io.out(JSON.stringify(r));
      return;
    }
    for (const line of curveLines(r)) io.out(line);
    if (r.diverged)
      io.out(`stopped at step ${r.lrs.length} (lr ${fmtLr(r.lrs[r.lrs.length - 1])}): the smoothed loss passed 5× its lowest`);
    io.out(
      r.suggestion === null
        ? `too few steps for a suggestion (the first 10 and last 5 are left out); lowest smoothed loss at lr ${fmtLr(r.minLossLr)}`
        : `suggested --lr ${fmtLr(r.suggestion)} (where the smoothed loss falls fastest); lowest smoothed loss at lr ${fmtLr(r.minLossLr)}`,
    );
  } finally {
    sel.release();
  }
}

export const lrFindCommand: Command = {
  name: 'lr-find',
  summary: "the learning-rate range test: train a few batches at growing rates and suggest --lr (Smith's, fastai's lr_find)",
  get options() {
    return [...trainCommand.options.filter((x) => !NOT_HERE.has(x.name)), ...ownOptions];
  },
  helpExtra: [
    'The model, data, optimizer and regularisation are given as to descent train; the model and optimizer are not kept.',
    'Example: descent lr-find --model cnn --optimizer sgd --momentum 0.9 --limit 5000',
  ].join('\n'),
  run,
};
