/**
 * The README's optimizer table, from the results files (JSON Lines) of `descent sweep` runs made
 * with an unreachable target (`--target 1`, so every trial spends its whole budget).
 *
 * A row is a method: an optimizer with the options that are not the learning rate (a wrapper's base,
 * a schedule, Muon's AdamW rate, SOAP's maxPrecondDim). For each workload of a row:
 *
 *   final accuracy of a trial   its test accuracy at the end of the budget (the last evaluation);
 *                               a diverged trial has none, and a rate with a diverged seed ranks last
 *   best lr                     the rate with the highest median final accuracy over the seeds that
 *                               every rate of the grid ran (a grid run with seed 1, then more seeds
 *                               at its best rate, is chosen by seed 1: a rate is not favoured for
 *                               having fewer seeds); ties: the fewer median epochs to the target
 *   accuracy                    the median final accuracy over every seed run at the best rate
 *   epochs to the target        per seed at the best lr, the first evaluation at or above the target,
 *                               in epochs (steps / ⌈train size / batch⌉); the median over the seeds,
 *                               where a seed that never reached it counts as infinite ("—")
 *   target                      per workload, the rule of docs/sweep.md over every trial read: the
 *                               best test accuracy of any trial, floored to 0.005, minus 0.01
 *                               (--targets mlp=0.87,cnn=0.85 sets it instead)
 *
 *   node dist/tools/optimizer-table.js DIR|FILE.jsonl… [--targets W=T,…] [--write DIR] [--json]
 *
 * Every *.jsonl of a folder is read; a trial found in two files counts once (trials are keyed by the
 * hash of their spec). --write DIR writes DIR/summary.json and DIR/table.md (atomically); the table
 * is a pure function of the summary (`renderTable`), so README figures can be redrawn from the
 * committed summary alone. --json prints the summary instead of the table.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/files.js';
import { getOptimizer, optimizerNames } from '../src/optim/registry.js';
import type { TrialResult } from '../src/sweep/trial.js';
import { getWorkload } from '../src/sweep/workloads.js';
import { targetOf } from './sweep-targets.js';

/** One learning rate of a row on one workload. */
export interface LrSummary {
  lr: number;
  /** Per seed (ascending): final test accuracy (null: diverged), and epochs to the target (null: not reached). */
  seeds: { seed: number; accuracy: number | null; epochs: number | null }[];
  /** Median over the seeds of the final accuracy (null when a seed diverged). */
  accuracy: number | null;
  /** Median final accuracy over the seeds every rate of the grid ran: what the best rate is chosen by (null when a seed diverged). */
  rankAccuracy: number | null;
  /** Median over the seeds of the epochs to the target (null: the median is infinite). */
  epochs: number | null;
}

export interface CellSummary {
  /** Epochs of the budget, and the steps one epoch takes. */
  epochs: number;
  stepsPerEpoch: number;
  lrs: LrSummary[];
  /** The best rate (null when every rate diverged). */
  best: number | null;
}

export interface RowSummary {
  /** Stable key: optimizer, then the other options and the schedule. */
  key: string;
  label: string;
  optimizer: string;
  options: Record<string, unknown>;
  schedule?: string;
  cells: Record<string, CellSummary>;
}

export interface TableSummary {
  format: 'descent-optimizer-table';
  version: 1;
  workloads: { name: string; target: number; epochs: number; stepsPerEpoch: number; bestAccuracy: number; testSize: number | 'all' }[];
  rows: RowSummary[];
}

/** Every finished trial of the given files and folders (a folder: its *.jsonl), each id once. */
export function readResults(paths: readonly string[]): TrialResult[] {
  const files = paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.jsonl'))
          .sort()
          .map((f) => join(p, f))
      : [p],
  );
  if (files.length === 0) throw new Error(`optimizer-table: no .jsonl results in ${paths.join(', ')}`);
  const seen = new Map<string, TrialResult>();
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let v: { format?: string; id?: string; spec?: unknown };
      try {
        v = JSON.parse(line);
      } catch {
        continue; // a last line cut short by an interrupted sweep (the sweep removes it on its next run)
      }
      if (v.format === 'descent-sweep' || typeof v.id !== 'string' || !v.spec) continue;
      if (!seen.has(v.id)) seen.set(v.id, v as TrialResult);
    }
  }
  return [...seen.values()];
}

/** Training images per epoch: the limit, else the size of the data set the trial names. */
function stepsPerEpoch(r: TrialResult): number {
  const w = getWorkload(r.spec.workload);
  const n = Math.min(r.spec.limit ?? Infinity, r.spec.data === 'embedded' ? 10_000 : 60_000);
  return w.batchSize === 'full' ? 1 : Math.ceil(n / w.batchSize);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A short decimal: 3 significant digits, trailing zeros dropped. */
export function short(x: number): string {
  return String(Number(x.toPrecision(3)));
}

function methodKey(r: TrialResult): { key: string; options: Record<string, unknown> } {
  const { lr: _lr, ...options } = r.spec.options;
  const sorted = Object.fromEntries(Object.entries(options).sort(([a], [b]) => a.localeCompare(b)));
  return { key: `${r.spec.optimizer} ${JSON.stringify(sorted)} ${r.spec.schedule ?? ''}`.trim(), options: sorted };
}

function labelOf(optimizer: string, options: Record<string, unknown>, schedule: string | undefined): string {
  const name = (k: string) => (optimizerNames().includes(k) ? getOptimizer(k).name : k);
  let label = name(optimizer);
  const extra = Object.entries(options)
    .filter(([k]) => k !== 'base')
    .map(([k, v]) => `${k} ${typeof v === 'number' ? short(v) : JSON.stringify(v)}`);
  if (options.base !== undefined) label += ` over ${name(String(options.base))}`;
  if (extra.length) label += ` (${extra.join(', ')})`;
  if (schedule !== undefined) label += `, ${schedule} schedule`;
  return label;
}

/** Summarise trials into rows; `targets` overrides a workload's target (else the rule of the header). */
export function summarize(results: readonly TrialResult[], targets: ReadonlyMap<string, number> = new Map()): TableSummary {
  const byWorkload = new Map<string, TrialResult[]>();
  for (const r of results) byWorkload.set(r.spec.workload, [...(byWorkload.get(r.spec.workload) ?? []), r]);
  const workloadOrder = ['logreg', 'mlp', 'cnn', 'fmp'];
  const workloads = [...byWorkload.keys()]
    .sort((a, b) => workloadOrder.indexOf(a) - workloadOrder.indexOf(b))
    .map((name) => {
      const mine = byWorkload.get(name)!;
      const budgets = new Set(mine.map((r) => r.spec.budget));
      const per = new Set(mine.map(stepsPerEpoch));
      const tests = new Set<number | 'all'>(mine.map((r) => r.spec.testLimit ?? 'all'));
      if (budgets.size > 1 || per.size > 1 || tests.size > 1)
        throw new Error(
          `optimizer-table: the ${name} trials differ in budget (${[...budgets].join(', ')}), epoch (${[...per].join(', ')} steps) or test set (${[...tests].join(', ')}); a table compares one protocol`,
        );
      const bestAccuracy = Math.max(...mine.map((r) => r.bestAccuracy));
      const spe = [...per][0];
      return {
        name,
        target: targets.get(name) ?? targetOf(bestAccuracy),
        epochs: [...budgets][0] / spe,
        stepsPerEpoch: spe,
        bestAccuracy,
        testSize: [...tests][0],
      };
    });
  const rows = new Map<string, RowSummary>();
  const rank = (o: string) => {
    const i = optimizerNames().indexOf(o);
    return i < 0 ? Infinity : i;
  };
  for (const r of results) {
    const { key, options } = methodKey(r);
    if (!rows.has(key))
      rows.set(key, {
        key,
        label: labelOf(r.spec.optimizer, options, r.spec.schedule),
        optimizer: r.spec.optimizer,
        options,
        ...(r.spec.schedule !== undefined ? { schedule: r.spec.schedule } : {}),
        cells: {},
      });
  }
  for (const row of rows.values()) {
    for (const w of workloads) {
      const mine = results.filter((r) => r.spec.workload === w.name && methodKey(r).key === row.key);
      if (!mine.length) continue;
      const lrs = [...new Set(mine.map((r) => r.spec.options.lr as number))].sort((a, b) => a - b);
      const seedsAt = lrs.map((lr) => new Set(mine.filter((r) => r.spec.options.lr === lr).map((r) => r.spec.seed)));
      const common = [...seedsAt[0]].filter((seed) => seedsAt.every((set) => set.has(seed)));
      const lrSummaries: LrSummary[] = lrs.map((lr) => {
        const seeds = mine
          .filter((r) => r.spec.options.lr === lr)
          .sort((a, b) => a.spec.seed - b.spec.seed)
          .map((r) => {
            const hit = r.curve.find((p) => p.testAccuracy >= w.target);
            const last = r.curve[r.curve.length - 1];
            return {
              seed: r.spec.seed,
              accuracy: r.status === 'diverged' || !last ? null : last.testAccuracy,
              epochs: hit ? hit.step / w.stepsPerEpoch : null,
            };
          });
        const accs = seeds.map((s) => s.accuracy);
        const ranked = (common.length ? seeds.filter((s) => common.includes(s.seed)) : seeds).map((s) => s.accuracy);
        const ep = median(seeds.map((s) => s.epochs ?? Infinity));
        return {
          lr,
          seeds,
          accuracy: accs.some((a) => a === null) ? null : median(accs as number[]),
          rankAccuracy: accs.some((a) => a === null) ? null : median(ranked as number[]),
          epochs: Number.isFinite(ep) ? ep : null,
        };
      });
      let best: LrSummary | null = null;
      for (const s of lrSummaries) {
        if (s.rankAccuracy === null) continue;
        if (
          !best ||
          s.rankAccuracy > best.rankAccuracy! ||
          (s.rankAccuracy === best.rankAccuracy && (s.epochs ?? Infinity) < (best.epochs ?? Infinity))
        )
          best = s;
      }
      row.cells[w.name] = { epochs: w.epochs, stepsPerEpoch: w.stepsPerEpoch, lrs: lrSummaries, best: best?.lr ?? null };
    }
  }
  const ordered = [...rows.values()].sort(
    (a, b) =>
      rank(a.optimizer) - rank(b.optimizer) ||
      (a.schedule === undefined ? 0 : 1) - (b.schedule === undefined ? 0 : 1) ||
      a.key.localeCompare(b.key),
  );
  return { format: 'descent-optimizer-table', version: 1, workloads, rows: ordered };
}

const WORKLOAD_NAMES: Record<string, string> = { logreg: 'logreg', mlp: 'MLP', cnn: 'CNN', fmp: 'FMP' };

/** The epochs of a budget or a result: an integer as is, else to 2 decimals. */
function epochText(e: number): string {
  return Number.isInteger(e) ? String(e) : e.toFixed(2);
}

/**
 * The markdown table of a summary: per workload, the best lr (and the grid it was chosen from), the
 * median test accuracy at the end of the budget and the median epochs to the target; a cell's
 * accuracy carries ¹ when a single seed ran at its best lr (the other cells are medians of 2 or more).
 */
export function renderTable(s: TableSummary): string[] {
  const head = ['optimizer'];
  for (const w of s.workloads) {
    const n = WORKLOAD_NAMES[w.name] ?? w.name;
    head.push(`${n} lr: best (grid)`, `${n} test acc. after ${epochText(w.epochs)} ep.`, `${n} epochs to ${w.target}`);
  }
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  let fewer = false;
  for (const r of s.rows) {
    const cells = [r.label];
    for (const w of s.workloads) {
      const c = r.cells[w.name];
      if (!c) {
        cells.push('not run', '', '');
        continue;
      }
      const grid = c.lrs.length > 1 ? `${short(c.lrs[0].lr)}…${short(c.lrs[c.lrs.length - 1].lr)}, ${c.lrs.length}` : `${c.lrs.length}`;
      if (c.best === null) {
        cells.push(`— (${grid})`, 'diverged', '—');
        continue;
      }
      const b = c.lrs.find((l) => l.lr === c.best)!;
      const mark = b.seeds.length < 2 ? '¹' : '';
      if (mark) fewer = true;
      cells.push(`${short(c.best)} (${grid})`, `${b.accuracy!.toFixed(4)}${mark}`, b.epochs === null ? '—' : epochText(b.epochs));
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (fewer) lines.push('', '¹ one seed at the best lr; the other cells are medians over 2 or more (see the summary for each seed).');
  return lines;
}

function main(args: string[]): void {
  const paths: string[] = [];
  const targets = new Map<string, number>();
  let write: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--targets') {
      for (const kv of (args[++i] ?? '').split(',')) {
        const [w, t] = kv.split('=');
        const v = Number(t);
        if (!w || !(v > 0 && v <= 1)) throw new Error(`optimizer-table: --targets: expected WORKLOAD=ACCURACY,…, got "${kv}"`);
        targets.set(w, v);
      }
    } else if (a === '--write') write = args[++i];
    else if (a === '--json') json = true;
    else paths.push(a);
  }
  if (!paths.length) throw new Error('optimizer-table: expected results files or folders (descent sweep --out …)');
  const summary = summarize(readResults(paths), targets);
  const table = renderTable(summary).join('\n');
  if (write !== undefined) {
    writeFileAtomic(join(write, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`, '--write');
    writeFileAtomic(join(write, 'table.md'), `${table}\n`, '--write');
  }
  console.log(json ? JSON.stringify(summary) : table);
}

if (process.argv[1]?.endsWith('optimizer-table.js')) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
