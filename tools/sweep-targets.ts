/**
 * The target-setting rule of the sweep's workloads (docs/sweep.md), applied to the results file of
 * a sweep run with an unreachable target (--target 1, so every trial spends its whole budget):
 *
 *   target = the best test accuracy of any trial within the budget, floored to a multiple of
 *            0.005, minus 0.01 — a level the best tuned runs reach with a margin, so the score
 *            measures how soon, not which run squeezed out the last digit
 *
 * It prints each workload's best accuracy per optimizer and the target, then (with --score) the
 * sweep's report scored at those targets. Scoring a full-budget run at a lower target is exact for
 * steps: a trial is a pure function of its spec, so the run that would have stopped at the target is
 * this run's prefix, and its first evaluation at or above the target is where it would have stopped.
 *
 *   node dist/tools/sweep-targets.js RESULTS.jsonl [--score] [--html FILE] [--targets mlp=0.83,...]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { TrialResult } from '../src/sweep/trial.js';
import type { SweepSpec } from '../src/sweep/plan.js';
import { scoreSweep } from '../src/sweep/score.js';
import { buildReport, reportHtml, reportTable } from '../src/sweep/report.js';

export function targetOf(best: number): number {
  return Math.round((Math.floor(best / 0.005 + 1e-9) * 0.005 - 0.01) * 1000) / 1000;
}

/** The result as a run with `target` would have recorded it (its curve cut at the first point at or above the target). */
export function atTarget(r: TrialResult, target: number): TrialResult {
  const i = r.curve.findIndex((p) => p.testAccuracy >= target);
  if (i < 0) return { ...r, spec: { ...r.spec, target } };
  const p = r.curve[i];
  return {
    ...r,
    spec: { ...r.spec, target },
    status: 'reached',
    curve: r.curve.slice(0, i + 1),
    stepsToTarget: p.step,
    secondsToTarget: p.seconds,
    steps: p.step,
    seconds: p.seconds,
    evaluations: i + 1,
  };
}

function main(args: string[]): void {
  const path = args[0];
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const header = JSON.parse(lines[0]) as { sweep: string; spec: SweepSpec };
  const results: TrialResult[] = lines.slice(1).map((l) => JSON.parse(l));
  const given = new Map<string, number>();
  const ti = args.indexOf('--targets');
  if (ti >= 0) for (const kv of args[ti + 1].split(',')) given.set(kv.split('=')[0], Number(kv.split('=')[1]));
  const targets = new Map<string, number>();
  for (const w of header.spec.workloads) {
    const mine = results.filter((r) => r.spec.workload === w);
    if (!mine.length) continue;
    const best = Math.max(...mine.map((r) => r.bestAccuracy));
    const byOpt = header.spec.optimizers.map((o) => {
      const top = mine.filter((r) => r.spec.optimizer === o).reduce((a, b) => (b.bestAccuracy > a.bestAccuracy ? b : a));
      return `${o} ${top.bestAccuracy.toFixed(4)} (lr ${Number((top.spec.options.lr as number)?.toPrecision(3))})`;
    });
    targets.set(w, given.get(w) ?? targetOf(best));
    console.log(`${w}: budget ${mine[0].spec.budget} steps; best accuracy per optimizer: ${byOpt.join(', ')}; target ${targets.get(w)}`);
  }
  if (!args.includes('--score')) return;
  const scored = results.map((r) => atTarget(r, targets.get(r.spec.workload)!));
  const spec = header.spec;
  const report = buildReport(
    header.sweep,
    spec,
    scored.length,
    scored,
    scoreSweep(scored, spec.workloads, spec.optimizers, spec.seeds, spec.firstSeed),
  );
  console.log('');
  for (const l of reportTable(report)) console.log(l);
  const hi = args.indexOf('--html');
  if (hi >= 0) writeFileSync(args[hi + 1], reportHtml(report, scored));
}

if (process.argv[1]?.endsWith('sweep-targets.js')) main(process.argv.slice(2));
