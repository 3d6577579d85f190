/**
 * `descent train --ensemble N`: train N models from seeds seed, seed+1, …, seed+N−1 and report each
 * member's test accuracy and the ensemble's (averaged probabilities, and majority vote).
 * `descent train --snapshots M`: one run with the snapshot-ensemble schedule (M cosine cycles from
 * --lr, per step), a snapshot at the end of each cycle; reports each snapshot and their ensemble.
 * `--swa START` / `--ema β` (with either or a plain run): also report the averaged weights' accuracy;
 * `--save-average FILE` writes that average (of one of the two) as --save writes the final weights.
 * The training itself is the library's (fitEnsemble, fit's snapshots/swa/ema options); this file
 * parses the flags and prints.
 */
import { UsageError, type Parsed } from '../args.js';
import type { Io } from '../command.js';
import { registerTrainExtension, trainExtensions } from '../extensions.js';
import { batchNormLoader, prepareTrain, preflight, runTrain, type PreparedTrain } from '../commands/train.js';
import { writeSavedModel, type SavedModelInfo } from '../weights.js';
import { checkWritableFile } from '../../io/files.js';
import { FingerprintCache, classificationOnly, loadData, limit } from '../data.js';
import { selectBackend } from '../backend.js';
import { isDeviceBackend } from '../../backend/index.js';
import { DataLoader } from '../../data/loader.js';
import { Rng, SEED_MAX } from '../../tensor/rng.js';
import type { Module } from '../../nn/module.js';
import { updateBatchNorm } from '../../nn/batchnorm.js';
import { resolveCliModel } from '../model.js';
import { modelSampleShape } from '../../train/models.js';
import { evaluate, type FitResult } from '../../train/trainer.js';
import { fitEnsemble } from '../../train/ensemble-fit.js';
import type { Checkpoint } from '../../train/checkpoint.js';
import { evaluateEnsemble, restoreWeights, type EnsembleReport } from '../../ensemble/index.js';

/** Most members of an ensemble (--ensemble, --snapshots): each is a copy of the weights kept until the end. */
export const MAX_MEMBERS = 100;

registerTrainExtension({
  name: 'ensemble',
  options: [
    {
      name: 'ensemble',
      type: 'int',
      min: 2,
      max: MAX_MEMBERS,
      metavar: 'N',
      help: "train N models (seeds seed…seed+N−1) and report each one's and the averaged ensemble's test accuracy",
    },
    {
      name: 'snapshots',
      type: 'int',
      min: 2,
      max: MAX_MEMBERS,
      metavar: 'M',
      help: "snapshot ensemble from one run: M cosine cycles per step from --lr, a snapshot at each cycle's end (Huang et al. 2017)",
    },
    {
      name: 'swa',
      type: 'int',
      min: 1,
      metavar: 'EPOCH',
      help: 'also report stochastic weight averaging of the weights at every epoch end from EPOCH on',
    },
    {
      name: 'ema',
      type: 'number',
      min: 0,
      max: 0.999999,
      metavar: 'β',
      help: 'also report an exponential moving average of the weights, updated every step',
    },
    {
      name: 'save-average',
      type: 'string',
      metavar: 'FILE',
      help: 'write the averaged weights of --swa or --ema (one of the two) to FILE, as --save writes the final ones (.safetensors or .json)',
    },
  ],
});

/** Whether `descent train` must go through runEnsembleTrain instead of a single runTrain. */
export function wantsEnsemble(o: Parsed): boolean {
  return o.ensemble !== undefined || o.snapshots !== undefined || o.swa !== undefined || o.ema !== undefined || o.saveAverage !== undefined;
}

async function testLoaderAndFactory(o: Parsed) {
  const spec = resolveCliModel(o.model);
  const data = classificationOnly(await loadData(o.data, o), '--ensemble, --snapshots, --swa and --ema');
  const trainSet = limit(data.train, o.limit);
  const testSet = limit(data.test, o.testLimit);
  const sampleShape = modelSampleShape(spec.input, trainSet.shape);
  const test = new DataLoader(testSet, { batchSize: 1000, sampleShape });
  const extras = Object.assign({}, ...trainExtensions.map((x) => x.modelOptions?.(o) ?? {}));
  const build = (): Module =>
    spec.build({ rng: new Rng(0).fork('model'), inputShape: trainSet.shape, classes: trainSet.classes.length, ...extras });
  // the batches an averaged model's BatchNorm statistics are recomputed from (PyTorch's update_bn over the training loader)
  const trainBatches = () => batchNormLoader(trainSet, o, sampleShape).epoch(0);
  return { test, build, data, trainBatches };
}

function fmtReport(label: string, names: string[], r: EnsembleReport): string[] {
  const best = Math.max(...r.members);
  return [
    `${label}: test accuracy of each member and of the ensemble (${r.samples} test images)`,
    ...names.map((n, i) => `  ${n}  ${r.members[i].toFixed(4)}${r.members[i] === best ? '  (best member)' : ''}`),
    `  ensemble, averaged probabilities  ${r.average.toFixed(4)}  (${r.average > best ? '+' : ''}${((r.average - best) * 100).toFixed(2)} points vs best member; NLL ${r.averageLoss.toFixed(4)})`,
    `  ensemble, majority vote           ${r.vote.toFixed(4)}`,
  ];
}

export async function runEnsembleTrain(o: Parsed, io: Io, resume?: Checkpoint, fingerprints = new FingerprintCache()): Promise<void> {
  if (o.ensemble !== undefined && o.snapshots !== undefined)
    throw new UsageError('--ensemble N and --snapshots M are two different ensembles; give one');
  if (o.snapshots !== undefined && o.schedule !== undefined)
    throw new UsageError('--snapshots M sets its own cyclic cosine schedule; drop --schedule');
  if (o.ensemble !== undefined && o.save !== undefined)
    throw new UsageError(
      '--save writes one model; with --ensemble N each member would overwrite it (train the members one by one to save them)',
    );
  if (o.ensemble !== undefined && o.saveBest !== undefined)
    throw new UsageError(
      '--save-best writes one model; with --ensemble N each member would overwrite it (train the members one by one to save them)',
    );
  if (o.ensemble !== undefined && o.checkpointDir !== undefined)
    throw new UsageError('--checkpoint-dir checkpoints one run; with --ensemble N train the members one by one to checkpoint them');
  if (o.snapshots !== undefined && o.fullBatch) throw new UsageError('--snapshots needs mini-batch steps; drop --full-batch');
  if (o.saveAverage !== undefined) {
    if ((o.swa === undefined) === (o.ema === undefined))
      throw new UsageError(
        `--save-average ${o.saveAverage} writes one average: give --swa EPOCH or --ema β, ${o.swa === undefined ? 'got neither' : 'not both'}`,
      );
    if (o.ensemble !== undefined)
      throw new UsageError("--save-average writes one run's average; with --ensemble N train the members one by one to save them");
    checkWritableFile(o.saveAverage, '--save-average');
  }
  preflight(o);
  // each run trains where runTrain puts it (--backend auto and webgpu: on a GPU when there is one);
  // the members and averages are evaluated on the host backend, wasm unless reference is asked for
  const device = o.backend === 'webgpu' || isDeviceBackend(o.backend);
  await selectBackend(o.backend === 'auto' || device ? 'wasm' : o.backend);
  const { test, build, data, trainBatches } = await testLoaderAndFactory(o);
  const reportAverages = (r: FitResult, final: Module, seed: number, saved?: SavedModelInfo) => {
    const tag = o.ensemble !== undefined ? ` (seed ${seed})` : '';
    const averages = [
      ...(r.swa ? [{ name: `SWA from epoch ${o.swa}`, avg: r.swa }] : []),
      ...(r.ema ? [{ name: `EMA β=${o.ema}`, avg: r.ema }] : []),
    ];
    for (const a of averages) {
      if (a.avg.n === 0) {
        io.out(`${a.name}${tag}: no samples (the run ended before epoch ${o.swa})`);
        continue;
      }
      const m = build();
      a.avg.copyTo(m);
      updateBatchNorm(m, trainBatches(), { rng: new Rng(seed).fork('update-bn') });
      const acc = evaluate(m, test).testAccuracy;
      const fin = evaluate(final, test).testAccuracy;
      if (o.json) io.out(JSON.stringify({ average: a.name, seed, testAccuracy: acc, finalAccuracy: fin, samples: a.avg.n }));
      else io.out(`${a.name}${tag}: test accuracy ${acc.toFixed(4)} (final weights ${fin.toFixed(4)}, ${a.avg.n} samples)`);
      if (o.saveAverage !== undefined && saved) {
        writeSavedModel(o.saveAverage, m, saved, '--save-average');
        if (!o.json) io.out(`saved the ${a.name} weights to ${o.saveAverage}`);
      }
    }
  };

  const memberLine = (i: number, seed: number) => {
    if (!o.json) io.out(`— member ${i + 1}/${o.ensemble}, seed ${seed} —`);
  };
  // on a host backend: the library's fitEnsemble, every member through fitRun
  const hostEnsemble = (seeds: number[]): EnsembleReport => {
    let current: PreparedTrain | undefined;
    return fitEnsemble({
      members: seeds.length,
      test,
      member: (i) => {
        memberLine(i, seeds[i]);
        current = prepareTrain({ ...o, seed: seeds[i] }, io, data, [], undefined, o.backend, fingerprints);
        return current.fit;
      },
      onMemberEnd: (i, r, model) => {
        current!.finish(r);
        reportAverages(r, model, seeds[i]);
      },
    }).report!;
  };
  // auto or a device: each member is a runTrain (on the GPU through fitRunAsync where it runs there), back on the host for the report
  const ensembleByRuns = async (seeds: number[]): Promise<EnsembleReport> => {
    const models: Module[] = [];
    for (const [i, seed] of seeds.entries()) {
      memberLine(i, seed);
      // the data loaded once, as for fitEnsemble: every member holds out the same --val-split rows
      const run = await runTrain({ ...o, seed }, io, [], undefined, data, fingerprints);
      reportAverages(run.result, run.model, seed);
      models.push(run.model);
    }
    return evaluateEnsemble(models, test);
  };

  if (o.ensemble !== undefined) {
    if (o.seed + o.ensemble - 1 > SEED_MAX)
      throw new UsageError(
        `--ensemble ${o.ensemble} with --seed ${o.seed}: the members' seeds ${o.seed}…${o.seed + o.ensemble - 1} pass the largest seed ${SEED_MAX}`,
      );
    const seeds = Array.from({ length: o.ensemble as number }, (_, i) => o.seed + i);
    const r = o.backend === 'wasm' || o.backend === 'reference' ? hostEnsemble(seeds) : await ensembleByRuns(seeds);
    if (o.json)
      io.out(
        JSON.stringify({
          ensemble: 'independent',
          seeds,
          members: r.members,
          average: r.average,
          vote: r.vote,
          averageLoss: r.averageLoss,
        }),
      );
    else
      for (const line of fmtReport(
        `ensemble of ${o.ensemble} (seeds ${seeds.join(', ')})`,
        seeds.map((s) => `seed ${s}`.padEnd(33)),
        r,
      ))
        io.out(line);
    return;
  }

  if (o.snapshots !== undefined) {
    const cycles = o.snapshots as number;
    if (!o.json && !resume)
      io.out(`snapshot ensemble: ${cycles} cosine cycles from lr ${o.lr ?? "the optimizer's default"}, seed ${o.seed}`);
    const result = await runTrain(o, io, [], resume, data, fingerprints);
    reportAverages(result.result, result.model, o.seed, result.saved);
    const run = result.result.snapshots!;
    const members = run.snapshots.map((snap) => {
      const m = build();
      restoreWeights(m, snap);
      return m;
    });
    const r = evaluateEnsemble(members, test);
    const names = run.at.map((step, i) => `snapshot ${i + 1} (step ${step})`.padEnd(33));
    // As in Huang et al.'s figure 4: the ensemble of the last k snapshots, k = 1 … M.
    const lastK = members.map((_, i) => (i === 0 ? r.average : evaluateEnsemble(members.slice(i), test).average)).reverse();
    if (o.json)
      io.out(
        JSON.stringify({
          ensemble: 'snapshots',
          seed: o.seed,
          at: run.at,
          members: r.members,
          average: r.average,
          vote: r.vote,
          averageLoss: r.averageLoss,
          finalAccuracy: result.finalAccuracy,
          lastK,
        }),
      );
    else {
      for (const line of fmtReport(`snapshot ensemble of ${members.length} (seed ${o.seed})`, names, r)) io.out(line);
      io.out(
        `  the run's final model              ${result.finalAccuracy.toFixed(4)}  (ensemble ${r.average > result.finalAccuracy ? '+' : ''}${((r.average - result.finalAccuracy) * 100).toFixed(2)} points)`,
      );
      io.out(`  ensemble of the last k snapshots   ${lastK.map((a, k) => `k=${k + 1}: ${a.toFixed(4)}`).join('  ')}`);
    }
    return;
  }

  const result = await runTrain(o, io, [], resume, data, fingerprints);
  reportAverages(result.result, result.model, o.seed, result.saved);
}
