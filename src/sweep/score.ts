/**
 * Scoring a sweep (AlgoPerf's rules):
 *
 *   per study (one seed): the best trial of an optimizer on a workload is the one that reaches the
 *     target in the fewest steps (ties: less time); its steps and seconds to target are the study's
 *   per workload and optimizer: the median over studies (a study that never reached the target
 *     counts as infinite, so the median is finite only if most studies reached it)
 *   performance profile over workloads: for optimizer o, ρ_o(τ) = the fraction of workloads whose
 *     score is within τ times the best optimizer's score on that workload (Dolan & Moré 2002);
 *     ρ_o(1) is the share of workloads o wins, and a curve that reaches 1 sooner is better
 *
 * Both steps (exact, the same on every machine) and training seconds (what a user waits) are scored.
 */
import type { TrialResult } from './trial.js';

export type Metric = 'steps' | 'seconds';

export interface StudyBest {
  seed: number;
  /** The best trial's id (null: no trial of the study reached the target). */
  trial: string | null;
  steps: number | null;
  seconds: number | null;
}

export interface Score {
  workload: string;
  optimizer: string;
  trials: number;
  /** Trials that reached the target. */
  reached: number;
  studies: StudyBest[];
  /** Medians over studies (null: not solved). */
  steps: number | null;
  seconds: number | null;
  /** The best trial over all studies (for its hyper-parameters and curve). */
  best: TrialResult | null;
}

export interface Profile {
  metric: Metric;
  workloads: string[];
  /** Per optimizer: its score over the best score, per workload (null: not solved). */
  ratios: Record<string, (number | null)[]>;
  /** ρ(τ) at the taus below, per optimizer. */
  taus: number[];
  rho: Record<string, number[]>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const better = (a: TrialResult, b: TrialResult) =>
  a.stepsToTarget! < b.stepsToTarget! || (a.stepsToTarget === b.stepsToTarget && a.secondsToTarget! < b.secondsToTarget!);

export function scoreSweep(
  results: readonly TrialResult[],
  workloads: readonly string[],
  optimizers: readonly string[],
  seeds: number,
  firstSeed = 1,
): Score[] {
  const out: Score[] = [];
  for (const w of workloads) {
    for (const o of optimizers) {
      const mine = results.filter((r) => r.spec.workload === w && r.spec.optimizer === o);
      const studies: StudyBest[] = [];
      let best: TrialResult | null = null;
      for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
        let b: TrialResult | null = null;
        for (const r of mine) if (r.spec.seed === seed && r.stepsToTarget !== null && (!b || better(r, b))) b = r;
        studies.push({ seed, trial: b?.id ?? null, steps: b?.stepsToTarget ?? null, seconds: b?.secondsToTarget ?? null });
        if (b && (!best || better(b, best))) best = b;
      }
      if (!best) best = mine.reduce<TrialResult | null>((m, r) => (!m || r.bestAccuracy > m.bestAccuracy ? r : m), null);
      const med = (k: Metric) => {
        const v = median(studies.map((s) => s[k] ?? Infinity));
        return Number.isFinite(v) ? v : null;
      };
      out.push({
        workload: w,
        optimizer: o,
        trials: mine.length,
        reached: mine.filter((r) => r.stepsToTarget !== null).length,
        studies,
        steps: med('steps'),
        seconds: med('seconds'),
        best,
      });
    }
  }
  return out;
}

/** The performance profile of `metric` over the workloads, ρ sampled at taus from 1 to tauMax. */
export function performanceProfile(scores: readonly Score[], metric: Metric, tauMax = 4, samples = 61): Profile {
  const workloads = [...new Set(scores.map((s) => s.workload))];
  const optimizers = [...new Set(scores.map((s) => s.optimizer))];
  const ratios: Record<string, (number | null)[]> = {};
  for (const o of optimizers) ratios[o] = [];
  for (const w of workloads) {
    const row = scores.filter((s) => s.workload === w);
    const bestV = Math.min(...row.map((s) => s[metric] ?? Infinity));
    for (const o of optimizers) {
      const v = row.find((s) => s.optimizer === o)?.[metric] ?? null;
      ratios[o].push(v === null || !Number.isFinite(bestV) ? null : v / bestV);
    }
  }
  const taus = Array.from({ length: samples }, (_, i) => 1 + ((tauMax - 1) * i) / (samples - 1));
  const rho: Record<string, number[]> = {};
  for (const o of optimizers) rho[o] = taus.map((t) => ratios[o].filter((r) => r !== null && r <= t + 1e-12).length / workloads.length);
  return { metric, workloads, ratios, taus, rho };
}
