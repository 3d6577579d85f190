/**
 * Independent ensembles as a library call: train M models (each its own fit, typically the same run
 * with seeds seed … seed+M−1), then report every member's test accuracy and the ensemble's
 * (averaged probabilities and majority vote; src/ensemble). fitEnsembleAsync trains each member
 * with fitRunAsync, so members may live on a device (WebGPU), one after the other.
 */
import type { Module } from '../nn/module.js';
import { evaluateEnsemble, evaluateEnsembleAsync, type EnsembleReport, type LabelledSource } from '../ensemble/ensemble.js';
import { fitRun, type FitOptions, type FitResult } from './trainer.js';
import { fitRunAsync } from './async.js';
import { checkOptions, fn, num, spec, type SchemaOf } from '../util/options.js';

const ensembleSchema: SchemaOf<EnsembleFitOptions> = {
  members: num,
  member: fn,
  onMemberEnd: fn,
  test: spec(
    'a labelled source (a DataLoader)',
    (v) => typeof v === 'object' && v !== null && typeof (v as { epoch?: unknown }).epoch === 'function',
  ),
};

export interface EnsembleFitOptions {
  /** Number of members, ≥ 1. */
  members: number;
  /** The fit options of member i (0-based), called just before it trains. */
  member(i: number): FitOptions;
  /** Evaluate the members and the ensemble on this source. */
  test?: LabelledSource;
  /** After member i has trained. */
  onMemberEnd?(i: number, result: FitResult, model: Module): void;
}

export interface EnsembleFit {
  models: Module[];
  results: FitResult[];
  report?: EnsembleReport;
}

function checkEnsemble(who: string, o: EnsembleFitOptions | EnsembleFitAsyncOptions): void {
  checkOptions(who, o, ensembleSchema, { required: ['members', 'member'] });
  if (!(Number.isInteger(o.members) && o.members >= 1))
    throw new RangeError(`${who}: members must be a positive integer, got ${o.members}`);
}

export function fitEnsemble(o: EnsembleFitOptions): EnsembleFit {
  checkEnsemble('fitEnsemble', o);
  const models: Module[] = [];
  const results: FitResult[] = [];
  for (let i = 0; i < o.members; i++) {
    const f = o.member(i);
    const r = fitRun(f);
    models.push(f.model);
    results.push(r);
    o.onMemberEnd?.(i, r, f.model);
  }
  return { models, results, report: o.test ? evaluateEnsemble(models, o.test) : undefined };
}

export interface EnsembleFitAsyncOptions extends Omit<EnsembleFitOptions, 'member'> {
  /** The fit options of member i (0-based), called just before it trains; may move its model to a device first. */
  member(i: number): FitOptions | Promise<FitOptions>;
}

/**
 * fitEnsemble for members on any backend: each member trains with fitRunAsync (its model may live
 * on a device), and the report comes from evaluateEnsembleAsync. On a host backend the members,
 * their results and the report equal fitEnsemble's.
 */
export async function fitEnsembleAsync(o: EnsembleFitAsyncOptions): Promise<EnsembleFit> {
  checkEnsemble('fitEnsembleAsync', o);
  const models: Module[] = [];
  const results: FitResult[] = [];
  for (let i = 0; i < o.members; i++) {
    const f = await o.member(i);
    const r = await fitRunAsync(f);
    models.push(f.model);
    results.push(r);
    o.onMemberEnd?.(i, r, f.model);
  }
  return { models, results, report: o.test ? await evaluateEnsembleAsync(models, o.test) : undefined };
}
