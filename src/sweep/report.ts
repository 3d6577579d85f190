/**
 * A sweep's report: the terminal table, the JSON object (`--json`) and a self-contained HTML page
 * whose charts are drawn by uPlot (MIT), whose script and style are read from its package and
 * inlined, so the file opens anywhere without a network.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { SweepSpec } from './plan.js';
import { performanceProfile, type Profile, type Score } from './score.js';
import type { TrialResult } from './trial.js';

export interface SweepReport {
  sweep: string;
  spec: SweepSpec;
  trials: { total: number; done: number };
  scores: (Omit<Score, 'best'> & { bestTrial: string | null; bestOptions: Record<string, unknown> | null; bestSchedule?: string })[];
  profiles: { steps: Profile; seconds: Profile };
}

export function buildReport(
  sweep: string,
  spec: SweepSpec,
  total: number,
  results: readonly TrialResult[],
  scores: readonly Score[],
): SweepReport {
  return {
    sweep,
    spec,
    trials: { total, done: results.length },
    scores: scores.map(({ best, ...s }) => ({
      ...s,
      bestTrial: best?.id ?? null,
      bestOptions: best?.spec.options ?? null,
      ...(best?.spec.schedule ? { bestSchedule: best.spec.schedule } : {}),
    })),
    profiles: { steps: performanceProfile(scores, 'steps'), seconds: performanceProfile(scores, 'seconds') },
  };
}

function fmtOptions(o: Record<string, unknown> | null, schedule?: string): string {
  if (!o) return '-';
  const parts = Object.entries(o).map(
    ([k, v]) =>
      `${k} ${Array.isArray(v) ? v.map((x) => Number((x as number).toPrecision(3))).join('/') : typeof v === 'number' ? Number(v.toPrecision(3)) : v}`,
  );
  if (schedule) parts.push(schedule);
  return parts.join(', ') || 'defaults';
}

/** The table for the terminal: one row per workload and optimizer, then the profile at a few τ. */
export function reportTable(r: SweepReport): string[] {
  const rows = r.scores.map((s) => [
    s.workload,
    s.optimizer,
    `${s.studies.filter((x) => x.trial).length}/${s.studies.length}`,
    `${s.reached}/${s.trials}`,
    s.steps === null ? '-' : String(s.steps),
    s.seconds === null ? '-' : `${s.seconds.toFixed(2)} s`,
    fmtOptions(s.bestOptions, s.bestSchedule),
  ]);
  const head = ['workload', 'optimizer', 'studies', 'trials', 'steps', 'time', 'best trial'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (x: string[]) =>
    x
      .map((c, i) => (i >= 4 && i <= 5 ? c.padStart(w[i]) : c.padEnd(w[i])))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...rows.map(line)];
  const taus = [1, 1.5, 2, 4];
  for (const p of [r.profiles.steps, r.profiles.seconds]) {
    out.push(
      '',
      `performance profile (${p.metric} to target), ρ(τ) over ${p.workloads.length} workload(s): ${taus.map((t) => `τ=${t}`).join('  ')}`,
    );
    const ow = Math.max(...Object.keys(p.rho).map((k) => k.length));
    for (const [o, rho] of Object.entries(p.rho)) {
      const at = (t: number) => rho[p.taus.findIndex((x) => x >= t - 1e-9)];
      out.push(`  ${o.padEnd(ow)}  ${taus.map((t) => at(t).toFixed(2).padStart(`τ=${t}`.length)).join('  ')}`);
    }
  }
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function uplotAssets(): { js: string; css: string } {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  return { js: readFileSync(join(dir, 'uPlot.iife.min.js'), 'utf8'), css: readFileSync(join(dir, 'uPlot.min.css'), 'utf8') };
}

/** The HTML report: the table, each workload's best curves (test accuracy against steps, the target dashed) and both profiles. */
export function reportHtml(r: SweepReport, results: readonly TrialResult[]): string {
  const { js, css } = uplotAssets();
  const byId = new Map(results.map((x) => [x.id, x]));
  const curves = [...new Set(r.scores.map((s) => s.workload))].map((w) => ({
    workload: w,
    target: r.scores.find((s) => s.workload === w && s.bestTrial)?.bestTrial
      ? byId.get(r.scores.find((s) => s.workload === w && s.bestTrial)!.bestTrial!)!.spec.target
      : null,
    series: r.scores
      .filter((s) => s.workload === w && s.bestTrial)
      .map((s) => {
        const t = byId.get(s.bestTrial!)!;
        return { optimizer: s.optimizer, steps: t.curve.map((p) => p.step), acc: t.curve.map((p) => p.testAccuracy) };
      }),
  }));
  const data = { curves, profiles: [r.profiles.steps, r.profiles.seconds] };
  const table = reportTable(r).join('\n');
  // Data goes in as JSON inside a script element: "<" is escaped so no value can close the element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>descent sweep ${escapeHtml(r.sweep)}</title>
<style>${css}
body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
pre{background:#f6f6f6;padding:12px;overflow:auto;font-size:12px}.charts{display:flex;flex-wrap:wrap;gap:16px}</style>
</head><body>
<h1>descent sweep — which optimizer reaches the target first</h1>
<p>Sweep ${escapeHtml(r.sweep)}: ${r.trials.done} of ${r.trials.total} trials; optimizers ${escapeHtml(r.spec.optimizers.join(', '))};
workloads ${escapeHtml(r.spec.workloads.join(', '))}; data ${escapeHtml(r.spec.data)}; tuning ${escapeHtml(r.spec.tuning)}
(${escapeHtml(r.spec.sampler)}, ${r.spec.points} point(s), ${r.spec.seeds} seed(s)${r.spec.space ? `, space ${escapeHtml(r.spec.space)}` : ''}).</p>
<pre>${escapeHtml(table)}</pre>
<h2>Performance profiles</h2><div class="charts" id="profiles"></div>
<h2>Best trial of each optimizer: test accuracy against steps</h2><div class="charts" id="curves"></div>
<script>${js}</script>
<script id="data" type="application/json">${json}</script>
<script>
const D = JSON.parse(document.getElementById('data').textContent);
const COLORS = ['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#17becf','#7f7f7f','#bcbd22'];
function chart(el, title, xLabel, yLabel, xs, series, extra) {
  const opts = { title, width: 520, height: 300, scales: { x: { time: false } },
    axes: [{ label: xLabel }, { label: yLabel }],
    series: [{ label: xLabel }, ...series.map((s, i) => ({ label: s.label, stroke: s.color || COLORS[i % COLORS.length], width: 2, dash: s.dash, paths: s.paths, spanGaps: true }))] };
  Object.assign(opts, extra || {});
  new uPlot(opts, [xs, ...series.map((s) => s.ys)], el);
}
for (const p of D.profiles) {
  const names = Object.keys(p.rho);
  chart(document.getElementById('profiles'), 'ρ(τ): ' + p.metric + ' to target, ' + p.workloads.length + ' workload(s)', 'τ', 'fraction of workloads', p.taus,
    names.map((n) => ({ label: n, ys: p.rho[n], paths: uPlot.paths.stepped({ align: 1 }) })), { scales: { x: { time: false }, y: { range: [0, 1.05] } } });
}
for (const c of D.curves) {
  const xs = [...new Set(c.series.flatMap((s) => s.steps))].sort((a, b) => a - b);
  const series = c.series.map((s) => ({ label: s.optimizer, ys: xs.map((x) => { const i = s.steps.indexOf(x); return i < 0 ? null : s.acc[i]; }) }));
  if (c.target !== null) series.push({ label: 'target', ys: xs.map(() => c.target), color: '#444', dash: [6, 4] });
  chart(document.getElementById('curves'), c.workload, 'step', 'test accuracy', xs, series, { scales: { x: { time: false } } });
}
</script>
</body></html>
`;
}
