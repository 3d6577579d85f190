/**
 * descent sweep: optimizers × a search space × seeds on one or more workloads, each trial a training
 * run to a target test accuracy; results appended to a JSONL file that the next run reuses; scored
 * by steps and time to target with performance profiles (src/sweep/).
 */
import { isCorpus } from '../lm.js';
import { availableParallelism } from 'node:os';
import { checkWritableFile, writeFileAtomic } from '../../io/files.js';
import type { Command, Io } from '../command.js';
import { UsageError, type OptSpec, type Parsed } from '../args.js';
import { fmtDuration } from '../progress.js';
import { LECTURE_OPTIMIZERS } from './compare.js';
import { SAMPLERS, SweepSpecError } from '../../sweep/space.js';
import { WORKLOADS, checkSweepData, loadSweepData } from '../../sweep/workloads.js';
import { classWeightsOf, parseClassWeights } from '../loss-flags.js';
import { checkSweepSpec, planTrials, sweepHash, type SweepSpec } from '../../sweep/plan.js';
import { ResultsFile, ResultsFileError } from '../../sweep/results.js';
import { runPool } from '../../sweep/pool.js';
import { scoreSweep } from '../../sweep/score.js';
import { buildReport, reportHtml, reportTable } from '../../sweep/report.js';
import { trialId, type TrialResult } from '../../sweep/trial.js';
import { parseRedisUrl } from '../redis-url.js';

export const MAX_TRIALS = 100_000;

const sweepOptions: OptSpec[] = [
  {
    name: 'workloads',
    type: 'string',
    default: 'mlp',
    metavar: 'A,B,…',
    help: `workloads: ${WORKLOADS.map((w) => `${w.name} (${w.summary})`).join('; ')}`,
  },
  { name: 'optimizers', type: 'string', default: LECTURE_OPTIMIZERS, metavar: 'A,B,…', help: 'optimizers to compare' },
  {
    name: 'space',
    type: 'string',
    default: 'lr=log:1e-4:1',
    metavar: 'NAME=RANGE,…',
    help: 'search space: lr=log:1e-4:1 (log-uniform), momentum=0.8:0.99 (uniform), weightDecay=0|1e-4 (choice), beta1, beta2, schedule=constant|cosine',
  },
  {
    name: 'sampler',
    type: 'string',
    default: 'halton',
    choices: SAMPLERS,
    help: 'how points are drawn: grid (every combination), random, or halton (scrambled quasi-random, as AlgoPerf)',
  },
  { name: 'points', type: 'int', min: 1, max: 1000, default: 6, help: 'points per optimizer (grid: values per range)' },
  {
    name: 'seeds',
    type: 'int',
    min: 1,
    max: 100,
    default: 1,
    help: "studies: every point is trained with seeds 1..N; scores are the median over studies of each study's best trial",
  },
  {
    name: 'first-seed',
    type: 'int',
    min: 1,
    max: 1_000_000,
    help: 'seed of the first study (default 1): --first-seed 2 --seeds 2 trains seeds 2 and 3, e.g. more studies of the best points of an earlier sweep',
  },
  {
    name: 'tuning',
    type: 'string',
    default: 'external',
    choices: ['external', 'self'],
    help: "external: best of the search space's points; self: each optimizer's defaults only",
  },
  {
    name: 'data',
    type: 'string',
    default: 'embedded',
    metavar: 'embedded|full|DIR',
    help: 'embedded (the packaged 10k/2k subset), full (Fashion-MNIST installed in /usr/share/datasets/fashion-mnist) or a folder of its IDX files',
  },
  { name: 'limit', type: 'int', min: 1, help: 'use only the first N training images' },
  { name: 'test-limit', type: 'int', min: 1, help: 'use only the first N test images' },
  {
    name: 'label-smoothing',
    type: 'number',
    min: 0,
    max: 1,
    metavar: 'ε',
    help: "every trial trains on and is evaluated with cross-entropy smoothed by ε (PyTorch's label_smoothing), as descent train --label-smoothing",
  },
  {
    name: 'class-weights',
    type: 'string',
    metavar: 'W1,W2,…|balanced',
    help: "every trial trains on and is evaluated with cross-entropy weighted by class (PyTorch's weight=…): one weight ≥ 0 per class in label order, or balanced over each trial's training data, as descent train --class-weights",
  },
  {
    name: 'mixup',
    type: 'number',
    gt: 0,
    metavar: 'ALPHA',
    help: 'every trial mixes its training batches with MixUp, λ ~ Beta(ALPHA, ALPHA) per batch, as descent train --mixup (mini-batch workloads only)',
  },
  {
    name: 'cutmix',
    type: 'number',
    gt: 0,
    metavar: 'ALPHA',
    help: 'every trial mixes its training batches with CutMix, as descent train --cutmix; with --mixup, one of the two per batch (mini-batch workloads only)',
  },
  {
    name: 'accumulate',
    type: 'int',
    min: 1,
    metavar: 'N',
    help: "every trial's step sums the gradients of N batches, as descent train --accumulate; budgets and --eval-every count steps (mini-batch workloads only)",
  },
  { name: 'target', type: 'number', gt: 0, max: 1, help: "target test accuracy of every workload (default: each workload's own)" },
  { name: 'budget', type: 'int', min: 1, max: 1_000_000, help: "step budget of every workload (default: each workload's own)" },
  { name: 'eval-every', type: 'int', min: 1, help: "steps between evaluations (default: each workload's own)" },
  {
    name: 'out',
    type: 'string',
    default: 'sweep-results.jsonl',
    metavar: 'FILE',
    help: 'results file (JSON Lines); an interrupted sweep given the same file resumes, finished trials are not rerun',
  },
  { name: 'workers', type: 'int', min: 1, max: 256, help: 'trial processes on this machine (default: one per core)' },
  {
    name: 'queue',
    type: 'string',
    metavar: 'redis://HOST:PORT[/DB]',
    help: 'put the trials on a BullMQ queue in Redis for `descent worker` processes on any machines, and collect their results',
  },
  {
    name: 'html',
    type: 'string',
    metavar: 'FILE',
    help: 'write a self-contained HTML report (curves and performance profiles drawn with uPlot)',
  },
  { name: 'json', type: 'boolean', help: 'print the report as one JSON object instead of the table' },
];

function sweepSpecOf(o: Parsed): SweepSpec {
  const list = (s: string) =>
    String(s)
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x);
  return checkSweepSpec({
    workloads: list(o.workloads),
    optimizers: list(o.optimizers),
    space: o.tuning === 'self' && o.space === 'lr=log:1e-4:1' ? '' : String(o.space),
    sampler: o.sampler,
    points: o.tuning === 'self' ? 1 : o.points,
    seeds: o.seeds,
    ...(o.firstSeed !== undefined ? { firstSeed: o.firstSeed } : {}),
    tuning: o.tuning,
    data: o.data,
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    ...(o.testLimit !== undefined ? { testLimit: o.testLimit } : {}),
    ...(o.labelSmoothing !== undefined ? { labelSmoothing: o.labelSmoothing } : {}),
    ...(o.classWeights !== undefined ? { classWeights: parseClassWeights(String(o.classWeights)) } : {}),
    ...(o.mixup !== undefined ? { mixup: o.mixup } : {}),
    ...(o.cutmix !== undefined ? { cutmix: o.cutmix } : {}),
    ...(o.accumulate !== undefined ? { accumulate: o.accumulate } : {}),
    ...(o.target !== undefined ? { target: o.target } : {}),
    ...(o.budget !== undefined ? { budget: o.budget } : {}),
    ...(o.evalEvery !== undefined ? { evalEvery: o.evalEvery } : {}),
  });
}

/** The progress line: trials done, running, ETA from the mean time per trial so far. */
function progressText(p: { done: number; running?: number; total: number; elapsed: number }, reused: number): string {
  const fresh = p.done - reused;
  const eta = fresh > 0 ? ((p.total - p.done) * p.elapsed) / fresh : NaN;
  return `trials ${p.done}/${p.total} done${p.running !== undefined ? `, ${p.running} running` : ''}, ${fmtDuration(p.elapsed)} elapsed, ETA ${fmtDuration(eta)}`;
}

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'tune optimizers on workloads with the same budget and score them by steps and time to a target accuracy',
  options: sweepOptions,
  helpExtra: [
    'Example (4 optimizers × 6 learning rates × 2 seeds on the embedded MLP):',
    '  descent sweep --workloads mlp --optimizers sgd,momentum,rmsprop,adam --space lr=log:1e-3:1 --sampler grid --points 6 --seeds 2 --out mlp.jsonl --html mlp.html',
    'On many machines: descent worker --queue redis://HOST:6379 on each, and descent sweep ... --queue redis://HOST:6379 once.',
  ].join('\n'),
  async run(o: Parsed, io: Io) {
    if (isCorpus(o.data))
      throw new UsageError(
        `--data ${o.data}: plain text trains a language model; sweep tunes optimizers on its Fashion-MNIST workloads; a language model trains with descent train --data ${o.data}`,
      );
    let spec: SweepSpec;
    try {
      spec = sweepSpecOf(o);
    } catch (e) {
      if (e instanceof SweepSpecError) throw new UsageError(e.message);
      throw e;
    }
    if (o.out === '') throw new UsageError('--out: empty file name');
    checkWritableFile(o.out, '--out');
    if (o.html !== undefined) checkWritableFile(o.html, '--html');
    const target =
      o.queue !== undefined
        ? (() => {
            try {
              return parseRedisUrl(o.queue);
            } catch (e) {
              throw new UsageError((e as Error).message);
            }
          })()
        : undefined;
    if (target && o.workers !== undefined)
      throw new UsageError('--workers applies to the local pool; with --queue, start descent worker processes instead');
    const trials = planTrials(spec);
    if (trials.length > MAX_TRIALS) throw new UsageError(`the sweep has ${trials.length} trials; at most ${MAX_TRIALS}`);
    // the data before the results file, which a failed sweep would leave behind naming its spec; with
    // --queue the workers read the data, on their machines
    if (!target) {
      checkSweepData(spec.data);
      // the weights against the trials' training data (with --queue, a worker's trial meets a mismatch)
      if (spec.classWeights !== undefined) {
        const train = loadSweepData(spec.data).train;
        classWeightsOf(spec.classWeights, spec.limit !== undefined && spec.limit < train.length ? train.slice(0, spec.limit) : train);
      }
    }
    const hash = sweepHash(spec);
    let file: ResultsFile;
    try {
      file = ResultsFile.open(o.out, { format: 'descent-sweep', version: 1, sweep: hash, spec });
    } catch (e) {
      if (e instanceof ResultsFileError) throw new UsageError(e.message);
      throw e;
    }
    if (file.repaired) io.err(`descent sweep: ${o.out}: removed a last line cut short (${file.repaired} bytes) by an interrupted run`);
    const todo = trials.filter((t) => !file.has(trialId(t)));
    const reused = trials.length - todo.length;
    const log = (s: string) => (o.json ? io.err : io.out)(s);
    log(
      `sweep ${hash}: ${trials.length} trials (${spec.workloads.join(', ')} × ${spec.optimizers.length} optimizer(s) × ${spec.points} point(s) × ${spec.seeds} seed(s)), ${reused} already in ${o.out}`,
    );
    let lastLine = 0;
    const progress = (p: { done: number; running?: number; total: number; elapsed: number }) => {
      const text = progressText({ ...p, done: p.done + reused, total: trials.length }, reused);
      if (io.tty) io.raw(`\r${text}\x1b[K`);
      else if (Date.now() - lastLine > 5000 || p.done === p.total) {
        lastLine = Date.now();
        io.err(text);
      }
    };
    const onResult = (r: TrialResult) => {
      file.append(r);
    };
    if (todo.length && target) {
      const { runQueue } = await import('../../sweep/queue.js');
      await runQueue(target, hash, todo, { onResult, onProgress: progress });
    } else if (todo.length) {
      await runPool(todo, { workers: o.workers ?? availableParallelism(), onResult, onProgress: progress });
    }
    if (io.tty && todo.length) io.raw('\r\x1b[K');
    const results = trials.map((t) => file.results.get(trialId(t))!).filter((r) => r);
    const report = buildReport(
      hash,
      spec,
      trials.length,
      results,
      scoreSweep(results, spec.workloads, spec.optimizers, spec.seeds, spec.firstSeed),
    );
    if (o.html !== undefined) {
      writeFileAtomic(o.html, reportHtml(report, results), '--html');
      log(`wrote the report to ${o.html}`);
    }
    if (o.json) io.out(JSON.stringify(report));
    else for (const line of reportTable(report)) io.out(line);
  },
};
