/**
 * descent eval: a trained model's loss, accuracy, confusion matrix and per-class precision, recall
 * and F1 (scikit-learn's classification_report), with each class's one-vs-rest ROC AUC and average
 * precision (roc_auc_score, average_precision_score) on a data set's test part; for a regression model
 * (trained with --target) its loss and each target's MAE, RMSE and R². The loss is the criterion
 * the model trained with (its --loss, label smoothing and class weights, kept in the weights file),
 * so it equals the test loss train reported.
 */
import type { Command, Io } from '../command.js';
import { UsageError, type Parsed } from '../args.js';
import { Rng, SEED_MAX } from '../../tensor/rng.js';
import { backendOption, selectBackend } from '../backend.js';
import { DataLoader } from '../../data/loader.js';
import { resolveCliModel } from '../model.js';
import { modelSampleShape, type ModelInput } from '../../train/models.js';
import {
  classificationReport,
  evaluateProbabilities,
  evaluateRegression,
  type ClassificationReport,
  type ClassScores,
  type RegressionReport,
} from '../../train/metrics.js';
import { rankingReport, type RankingReport } from '../../train/ranking.js';
import { dataOption, dataOptions, isRegression, limit, loadData, outputsOf, type LoadedData } from '../data.js';
import { readWeights, savedTargets, warnRefused, type SavedLoss, type SavedModel } from '../weights.js';
import { describeLoss, lossOfSaved } from '../loss-flags.js';
import type { RegressionDataset } from '../../data/dataset.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Module } from '../../nn/module.js';
import { fmtInt } from '../progress.js';
import { isCorpus, lmModel } from '../lm.js';

export const weightsOptions = [
  {
    name: 'weights',
    type: 'string' as const,
    metavar: 'FILE|DIR',
    help: 'the trained model: a file written by descent train --save (.safetensors or JSON), a checkpoint file, or a --checkpoint-dir folder (its newest good checkpoint, which the output names); required',
  },
  {
    name: 'model',
    type: 'string' as const,
    metavar: 'NAME|SPEC',
    help: 'the model the weights belong to, by name or spec (default: the one the file names)',
  },
];

/**
 * The model a weights file belongs to, built for `inputShape` and `classes` with its weights in;
 * `input` and `sample` say how it takes each [C, H, W] sample (modelSampleShape).
 */
export function buildSaved(
  o: Parsed,
  saved: SavedModel,
  inputShape: readonly [number, number, number],
  classes: number,
): { model: Module; name: string; input: ModelInput; sample: number[] } {
  const name = o.model ?? saved.model;
  if (name === undefined) throw new UsageError(`--model: ${saved.path} does not say which model it holds; give --model`);
  if (saved.lm) {
    // a language model: its layers up to the per-step logits [T, V] (see lmModel)
    const T = saved.lm.contextLength;
    const { model } = lmModel(name, saved.lm.vectorizer.vocabulary.length, T, new Rng(0).fork('model'));
    saved.loadInto(model);
    return { model, name, input: 'flat', sample: [T] };
  }
  const spec = resolveCliModel(name);
  const model = spec.build({ rng: new Rng(0).fork('model'), inputShape, classes, ...(o.model === undefined ? saved.modelOptions : {}) });
  saved.loadInto(model);
  return { model, name, input: spec.input, sample: modelSampleShape(spec.input, inputShape) };
}

/**
 * scikit-learn's classification_report layout: one row per class, then the two averages; with the
 * ranking, its ROC AUC and average precision as two more columns ("n/a" for a class without samples;
 * all "n/a" when the samples hold one class).
 */
function reportTable(r: ClassificationReport, ranking: RankingReport | undefined): string[] {
  const lw = Math.max(12, ...r.perClass.map((c) => c.name.length));
  const fig = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : v.toFixed(4)).padStart(10);
  const row = (name: string, s: ClassScores, rank: { rocAuc: number | null; averagePrecision: number | null } | undefined) =>
    `${name.padEnd(lw)} ${[s.precision, s.recall, s.f1].map((v) => v.toFixed(4).padStart(10)).join('')}${String(s.support).padStart(9)}${fig(rank?.rocAuc)}${fig(rank?.averagePrecision)}`;
  return [
    `${''.padEnd(lw)} ${['precision', 'recall', 'f1'].map((h) => h.padStart(10)).join('')}${'support'.padStart(9)}${'ROC AUC'.padStart(10)}${'avg prec'.padStart(10)}`,
    ...r.perClass.map((c, i) => row(c.name, c, ranking?.perClass[i])),
    row('macro avg', r.macro, ranking?.macro),
    row('weighted avg', r.weighted, ranking?.weighted),
  ];
}

/** The lines under the report that say what its ranking columns are, and the binary figures of two classes. */
function rankingNotes(ranking: RankingReport | undefined, names: readonly string[], labels: Int32Array): string[] {
  if (!ranking) {
    const only = labels.length ? names[labels[0]] : undefined;
    return [
      `ROC AUC and average precision: undefined, ${only === undefined ? 'there are no test samples' : `every test sample is of class ${JSON.stringify(only)}`}`,
    ];
  }
  const lines: string[] = [];
  if (ranking.perClass.some((c) => c.support === 0))
    lines.push('n/a: no test sample of the class, so no ROC AUC or average precision; the averages leave it out');
  if (ranking.binary)
    lines.push(
      `binary, class ${JSON.stringify(ranking.binary.positive)} positive (its probability as the score): ROC AUC ${ranking.binary.rocAuc.toFixed(4)}  average precision ${ranking.binary.averagePrecision.toFixed(4)}`,
    );
  return lines;
}

/** One row per target (MAE, RMSE, R²), then the figures over every target when there are several. */
function regressionTable(r: RegressionReport): string[] {
  const lw = Math.max(12, ...r.perTarget.map((c) => c.name.length));
  const row = (name: string, s: { mae: number; rmse: number; r2: number }) =>
    `${name.padEnd(lw)} ${[s.mae, s.rmse, s.r2].map((v) => v.toPrecision(5).padStart(12)).join('')}`;
  return [
    `${''.padEnd(lw)} ${['MAE', 'RMSE', 'R²'].map((h) => h.padStart(12)).join('')}`,
    ...r.perTarget.map((c) => row(c.name, c)),
    ...(r.perTarget.length > 1 ? [row('all targets', r.overall)] : []),
  ];
}

/**
 * The fields every eval JSON record opens with, in this order: the file read (for a checkpoint
 * folder, its newest good checkpoint), the model, the data, the samples evaluated, their loss and
 * the loss the model trained with when eval reports it.
 */
function recordHead(
  saved: SavedModel,
  model: string,
  data: LoadedData,
  samples: number,
  loss: number,
  criterion: SavedLoss | undefined,
): Record<string, unknown> {
  return { weights: saved.path, model, data: data.source, samples, loss, ...(criterion ? { criterion } : {}) };
}

/** The first line of eval's text output: the weights, the model and its size, the data and the samples evaluated. */
function headLine(saved: SavedModel, name: string, model: Module, data: LoadedData, samples: number): string {
  return `weights: ${saved.path} (model ${name}, ${fmtInt(model.numParameters())} parameters); data: ${data.source}, ${fmtInt(samples)} test samples`;
}

/** eval of a regression model: its loss (the --loss it trained with) and regressionReport. */
function evalRegression(o: Parsed, io: Io, saved: SavedModel, data: LoadedData, test: RegressionDataset): void {
  const targets = savedTargets(saved);
  if (targets === undefined)
    throw new UsageError(
      `--data: the model ${saved.path} is a classifier; the data holds regression targets (${test.targetNames.join(', ')})`,
    );
  if (targets.length !== test.targetNames.length)
    throw new UsageError(
      `--data: the model ${saved.path} predicts ${targets.length} target(s) (${targets.join(', ')}); the data has ${test.targetNames.length} (${test.targetNames.join(', ')})`,
    );
  const { model, name, sample } = buildSaved(o, saved, test.shape, outputsOf(test));
  const loss = lossOfSaved(saved.loss, true) as (x: Tensor, y: Tensor) => Tensor;
  const criterion = saved.loss ?? { name: 'mse' };
  const lossName = describeLoss(criterion);
  const r = evaluateRegression(
    model,
    new DataLoader(test, { batchSize: 1000, sampleShape: sample }),
    test.targetNames,
    loss,
    data.targetPreprocess,
  );
  if (o.json) {
    io.out(JSON.stringify({ ...recordHead(saved, name, data, r.report.samples, r.loss, criterion), report: r.report }));
    return;
  }
  io.out(headLine(saved, name, model, data, r.report.samples));
  io.out(
    `test loss ${r.loss.toPrecision(5)} (${lossName}${data.targetPreprocess ? ' on the standardized targets' : ''}, as trained)  test mae ${r.report.overall.mae.toPrecision(5)}  test rmse ${r.report.overall.rmse.toPrecision(5)}  R² ${r.report.overall.r2.toPrecision(5)}`,
  );
  io.out('per target (R²: 1 − residual / total sum of squares over these samples)');
  for (const line of regressionTable(r.report)) io.out(line);
}

function confusionTable(m: Int32Array, names: readonly string[]): string[] {
  const k = names.length;
  const short = names.map((n) => n.slice(0, 6).trim());
  const w = Math.max(5, ...Array.from(m, (v) => String(v).length)) + 1;
  const corner = 'true \\ predicted';
  const lw = Math.max(corner.length, ...names.map((n) => n.length));
  const lines = [`${corner.padEnd(lw)} ${short.map((s) => s.padStart(Math.max(w, s.length + 1))).join('')}`];
  for (let i = 0; i < k; i++) {
    const row = Array.from(m.subarray(i * k, (i + 1) * k), (v, j) => String(v).padStart(Math.max(w, short[j].length + 1)));
    lines.push(`${names[i].padEnd(lw)} ${row.join('')}`);
  }
  return lines;
}

export const evalCommand: Command = {
  name: 'eval',
  summary:
    'loss, accuracy, confusion matrix and per-class precision, recall, F1, ROC AUC and average precision of trained weights on a test set (a regression: loss, MAE, RMSE and R² per target)',
  options: [
    ...weightsOptions,
    dataOption,
    // the model's own standardization, target columns, imputation and one-hot categories apply
    ...dataOptions.filter(
      (d) =>
        !['standardize', 'standardize-targets', 'target', 'impute', 'one-hot', 'text', 'max-tokens', 'sequence-length'].includes(d.name),
    ),
    {
      name: 'seed',
      type: 'int',
      min: 0,
      max: SEED_MAX,
      default: 1,
      help: 'the seed of --val-split (the one training used holds out the same samples)',
    },
    { name: 'test-limit', type: 'int', min: 1, help: 'use only the first N test images' },
    backendOption,
    { name: 'json', type: 'boolean', help: 'print one JSON object instead of text' },
  ],
  helpExtra: 'Example: descent train --model mlp --epochs 3 --save mlp.json && descent eval --weights mlp.json --data embedded',
  async run(o: Parsed, io: Io) {
    if (!o.weights) throw new UsageError('--weights: the weights file is required (write one with descent train --save FILE)');
    await selectBackend(o.backend);
    const saved = readWeights(o.weights);
    warnRefused(saved, 'eval', io.err);
    if (saved.lm) return (await import('../lm-eval.js')).evalLm(o, io, saved);
    if (isCorpus(o.data))
      throw new UsageError(
        `--data ${o.data}: plain text is scored by a language model (trained with descent train --data FILE.txt); ${saved.path} is ${savedTargets(saved) ? 'a regression model' : 'a classifier'} of ${saved.inputShape ? saved.inputShape.join('×') : 'its'} inputs`,
      );
    // a source without a test set is evaluated whole; CSV rows are read in the model's columns and classes
    const data = await loadData(o.data, {
      ...o,
      preprocess: saved.preprocess,
      targetPreprocess: saved.targetPreprocess,
      trainedImpute: saved.impute,
      evaluate: true,
      trained: { classes: saved.classes, csv: saved.csv },
    });
    const whole = limit(data.test, o.testLimit);
    if (saved.inputShape && saved.inputShape.join('x') !== whole.shape.join('x')) {
      throw new UsageError(
        `--data: the model takes inputs of shape ${saved.inputShape.join('×')}, the test images are ${whole.shape.join('×')}`,
      );
    }
    if (isRegression(whole)) return evalRegression(o, io, saved, data, whole);
    if (savedTargets(saved))
      throw new UsageError(
        `--data: the model ${saved.path} is a regression of ${savedTargets(saved)?.length} target(s); give data with its targets (CSV: its target columns; NumPy: a float array)`,
      );
    const test = whole;
    if (saved.classes && saved.classes.join('\u0000') !== test.classes.join('\u0000')) {
      const show = (c: readonly string[]) => (c.length <= 6 ? c.join(', ') : `${c.slice(0, 5).join(', ')}, … (${c.length})`);
      throw new UsageError(`--data: the model was trained on classes ${show(saved.classes)}; the data has ${show(test.classes)}`);
    }
    const { model, name, sample } = buildSaved(o, saved, test.shape, test.classes.length);
    // the loss the model was trained and tested with (Keras' evaluate reports the compiled loss)
    const criterion = saved.loss && (saved.loss.labelSmoothing !== undefined || saved.loss.weight !== undefined) ? saved.loss : undefined;
    if (criterion?.weight && criterion.weight.length !== test.classes.length)
      throw new UsageError(
        `--weights: ${saved.path} trained with ${criterion.weight.length} class weights; the data has ${test.classes.length} classes`,
      );
    const r = evaluateProbabilities(
      model,
      new DataLoader(test, { batchSize: 1000, sampleShape: sample }),
      test.classes.length,
      lossOfSaved(criterion, false),
    );
    const k = test.classes.length;
    const report = classificationReport(r.confusion, test.classes);
    // one-vs-rest ROC AUC and average precision of the softmax probabilities; undefined (null) when the samples hold one class
    const ranking = new Set(r.labels).size >= 2 ? rankingReport(r.probabilities, r.labels, test.classes) : undefined;
    const rows = Array.from({ length: k }, (_, i) => Array.from(r.confusion.subarray(i * k, (i + 1) * k)));
    if (o.json) {
      io.out(
        JSON.stringify({
          ...recordHead(saved, name, data, r.samples, r.loss, criterion),
          accuracy: r.accuracy,
          classes: test.classes,
          confusion: rows,
          report,
          ranking: ranking ?? null,
        }),
      );
      return;
    }
    io.out(headLine(saved, name, model, data, r.samples));
    io.out(
      `test loss ${r.loss.toFixed(4)}  test accuracy ${r.accuracy.toFixed(4)}${criterion ? `  (loss: ${describeLoss(criterion)}, as trained)` : ''}`,
    );
    io.out('confusion matrix (rows: true class, columns: predicted class)');
    for (const line of confusionTable(r.confusion, test.classes)) io.out(line);
    io.out(
      'per class (precision: of the samples predicted as the class; recall: of the samples of the class; ROC AUC and average precision: its probability as the score, its samples against the rest)',
    );
    for (const line of reportTable(report, ranking)) io.out(line);
    for (const line of rankingNotes(ranking, test.classes, r.labels)) io.out(line);
  },
};
