/**
 * `descent train` flags for gradient clipping (--clip-grad-norm, --clip-grad-value) and early
 * stopping (--early-stop, --early-stop-monitor, --early-stop-baseline, --min-delta, --restore-best):
 * the library's callbacks (src/train/callbacks.ts), on every backend.
 */
import { UsageError, type Parsed } from '../args.js';
import { registerTrainExtension } from '../extensions.js';
import type { Callback, EpochRecord } from '../../train/trainer.js';
import { clipGradNormCallback, clipGradValueCallback, earlyStopping } from '../../train/callbacks.js';
import { hasEvalWeights } from '../../optim/schedule-free.js';

/** The record field --early-stop-monitor names, and how the CLI prints it. */
export const MONITORS: Record<string, { key: string; label: string }> = {
  loss: { key: 'testLoss', label: 'test loss' },
  accuracy: { key: 'testAccuracy', label: 'test accuracy' },
  mae: { key: 'testMae', label: 'test MAE' },
};

registerTrainExtension({
  name: 'stopping',
  options: [
    {
      name: 'clip-grad-norm',
      type: 'number',
      gt: 0,
      metavar: 'MAX',
      help: "after each backward pass, scale the gradients (all of them as one vector) down to L2 norm ≤ MAX (PyTorch's clip_grad_norm_)",
    },
    {
      name: 'clip-grad-value',
      type: 'number',
      gt: 0,
      metavar: 'C',
      help: "after each backward pass, clamp every gradient component to [−C, C] (PyTorch's clip_grad_value_)",
    },
    {
      name: 'early-stop',
      type: 'int',
      min: 0,
      metavar: 'PATIENCE',
      help: "stop once the monitored test figure has not improved for PATIENCE epochs (Keras' EarlyStopping; 0 stops at the first epoch that does not improve)",
    },
    {
      name: 'early-stop-monitor',
      type: 'string',
      choices: Object.keys(MONITORS),
      default: 'loss',
      help: 'what --early-stop watches: the test loss (lower is better), the test accuracy (higher is better) or, for a --target regression, the test MAE (lower is better)',
    },
    {
      name: 'early-stop-baseline',
      type: 'number',
      metavar: 'B',
      help: "with --early-stop: the monitored test figure must beat B (by more than --min-delta) within PATIENCE epochs, or the run stops; an improvement that falls short of B does not restart the count (Keras' baseline)",
    },
    {
      name: 'min-delta',
      type: 'number',
      min: 0,
      metavar: 'D',
      help: 'with --early-stop: a change of the monitored figure counts as an improvement only when larger than D (default 0)',
    },
    {
      name: 'restore-best',
      type: 'boolean',
      help: 'with --early-stop: when training ends, put back the weights of the best epoch (what --save then writes and the final accuracy reports)',
    },
  ],
  callbacks(o, setup) {
    if (o.earlyStop === undefined) {
      for (const [flag, given] of [
        ['--min-delta', o.minDelta !== undefined],
        ['--early-stop-baseline', o.earlyStopBaseline !== undefined],
        ['--restore-best', o.restoreBest === true],
        ['--early-stop-monitor', o.earlyStopMonitor !== 'loss'],
      ] as const)
        if (given) throw new UsageError(`${flag} needs --early-stop PATIENCE`);
    }
    const clipping = o.clipGradNorm !== undefined || o.clipGradValue !== undefined;
    if (clipping && String(o.optimizer).toLowerCase() === 'newton')
      throw new UsageError(
        `--${o.clipGradNorm !== undefined ? 'clip-grad-norm' : 'clip-grad-value'}: newton differentiates the loss inside its step (gradient and Hessian), so clipping cannot apply; drop it or use another optimizer`,
      );
    if (o.restoreBest && hasEvalWeights(setup.optimizer))
      throw new UsageError(
        `--restore-best: ${o.optimizer} is evaluated at weights of its own (its average), which early stopping cannot put back; drop --restore-best`,
      );
    const cbs: Callback[] = [];
    if (o.clipGradNorm !== undefined) cbs.push(clipGradNormCallback({ maxNorm: o.clipGradNorm }));
    if (o.clipGradValue !== undefined) cbs.push(clipGradValueCallback({ clipValue: o.clipGradValue }));
    if (o.earlyStop !== undefined)
      cbs.push(
        earlyStopping({
          monitor: MONITORS[o.earlyStopMonitor].key,
          patience: o.earlyStop,
          minDelta: o.minDelta ?? 0,
          restoreBest: o.restoreBest === true,
          ...(o.earlyStopBaseline !== undefined ? { baseline: o.earlyStopBaseline } : {}),
        }),
      );
    return cbs;
  },
  summary(o, records) {
    if (o.earlyStop === undefined) return [];
    return earlyStopLines(o, records);
  },
});

/** What the end of a run with --early-stop says: where it stopped, and whose weights it kept. */
function earlyStopLines(o: Parsed, records: readonly EpochRecord[]): string[] {
  const m = MONITORS[o.earlyStopMonitor];
  const lines: string[] = [];
  const at = (epoch: number) => records.find((r) => r.epoch === epoch);
  const stopped = records.find((r) => r.stoppedEarly === true);
  const restored = records[records.length - 1]?.restoredEpoch;
  if (stopped) {
    const by = o.minDelta ? ` by more than ${o.minDelta}` : '';
    const span = o.earlyStop <= 1 ? 'an epoch' : `${o.earlyStop} epochs`;
    lines.push(
      o.earlyStopBaseline === undefined
        ? `stopped early after epoch ${stopped.epoch}: the ${m.label} did not improve for ${span}${by}`
        : `stopped early after epoch ${stopped.epoch}: the ${m.label} had not beaten both its best and the baseline ${o.earlyStopBaseline}${by} for ${span}`,
    );
  }
  if (typeof restored === 'number') {
    const best = at(restored)?.[m.key];
    lines.push(
      `restored the weights of epoch ${restored}${typeof best === 'number' ? ` (${m.label} ${best.toFixed(4)})` : ''}, the best of the run`,
    );
  }
  return lines;
}
