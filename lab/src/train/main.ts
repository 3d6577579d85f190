/**
 * The training page: settings and presets on the left, uPlot charts on the right, the network
 * training in a Web Worker (worker.ts) so the page stays responsive. A preset's runs are trained
 * one after the other and overlaid. The settings and the preset live in the URL (config.ts).
 */
// before uPlot, which reads navigator.language as it loads
import './locale.js';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './train.css';
import {
  DEFAULTS,
  CHOICES,
  LIMITS,
  HIST_BINS,
  HIST_RANGE,
  checkValue,
  checkConfig,
  fromQuery,
  toQuery,
  type TrainConfig,
} from './config.js';
import { TRAIN_PRESETS } from './presets.js';
import type { FromWorker, ToWorker } from './worker.js';
import type { StepRecord, EpochSummary, Landscape, AugmentSettings, DropMasks, FmpPanel } from './session.js';

/** Okabe–Ito colours (distinguishable with the common colour-vision deficiencies). */
const COLORS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];
const CLASSES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot'];

interface RunData {
  label: string;
  config: TrainConfig;
  steps: StepRecord[];
  epochs: EpochSummary[];
  done: boolean;
  error?: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const parsed = fromQuery(location.search);
let config: TrainConfig = parsed.config;
let preset: string | null = parsed.preset && parsed.preset in TRAIN_PRESETS ? parsed.preset : null;
const notices: string[] = [...parsed.errors];
// A preset's link carries its first run's settings; a link with only the preset gets them from the preset.
if (preset && toQuery({ ...config, backend: DEFAULTS.backend }) === '')
  config = { ...DEFAULTS, ...TRAIN_PRESETS[preset].runs[0].config, backend: config.backend };
if (parsed.preset && !preset) notices.push(`unknown preset "${parsed.preset}"; expected one of ${Object.keys(TRAIN_PRESETS).join(', ')}`);
let runs: RunData[] = [];
let current = -1;
let runId = 0;
let paused = false;
/** The settings of a preset were changed: the one run they train is not the preset's. */
let modified = false;
let rate = 0;
let ready = false;
/** The host backend's line ("backend: wasm, 4 threads"), shown while a run trains on it. */
let hostLine = '';
let land: Landscape | null = null;
/** Loss landscapes received since the last restart (one, at the end of the last run). */
let landscapes = 0;
let ensemble: { members: number; memberAccuracy: number; accuracy: number }[] = [];
let mistakes: NonNullable<Extract<FromWorker, { type: 'progress' }>['mistakes']> = [];
/** The dropout / DropConnect masks of the current run's latest step, as the worker replayed them. */
let masks: DropMasks | null = null;
/** What the network figure drew last: how many units (dropout) or connections (DropConnect) it drew dropped, of how many. */
let netDrawn: { kind: string; step: number; dropped: number; shown: number } | null = null;
/** Steps after which the snapshot run takes its snapshots, and its ensemble's report when it ends. */
let snapshotAt: number[] = [];
let snapshotReport: { at: number[]; members: number[]; average: number } | null = null;
/** The fractional max pooling figure: its draw (seed) and the library's regions and pooled images. */
let fmpSeed = config.seed;
let fmpData: { index: number; seed: number; image: number[]; panels: FmpPanel[] } | null = null;
/** Milliseconds from the start of navigation to the first drawn loss point. */
let firstPointMs: number | null = null;

function showNotice(extra: string[] = []): void {
  const lines = [...notices, ...extra];
  const n = $('notice');
  n.hidden = lines.length === 0;
  n.textContent = lines.join('\n');
}

// ---- settings form ----
const form = $<HTMLFormElement>('settings');
const inputs = new Map<keyof TrainConfig, HTMLInputElement | HTMLSelectElement>();
for (const key of Object.keys(DEFAULTS) as (keyof TrainConfig)[]) {
  const label = document.createElement('label');
  label.textContent = key;
  label.htmlFor = `set-${key}`;
  let el: HTMLInputElement | HTMLSelectElement;
  if (key in CHOICES) {
    el = document.createElement('select');
    for (const c of CHOICES[key as keyof typeof CHOICES]) el.add(new Option(c, c));
  } else {
    el = document.createElement('input');
    el.inputMode = 'decimal';
    const lim = LIMITS[key as keyof typeof LIMITS];
    el.title = `${lim.int ? 'integer' : 'number'} in [${lim.min}, ${lim.max}]`;
  }
  el.id = `set-${key}`;
  el.name = key;
  el.addEventListener('change', () => {
    // a preset's runs end when its settings change: the modified settings train as one run at once
    const from = preset;
    if (readForm() && from && !preset) restart();
  });
  inputs.set(key, el);
  form.append(label, el);
}

function fillForm(): void {
  for (const [k, el] of inputs) {
    el.value = String(config[k]);
    el.classList.remove('bad');
  }
}

/** Reads the form; invalid fields are outlined and named in the notice, and keep the last valid value in the run. */
function readForm(): boolean {
  const next = { ...config } as Record<string, unknown>;
  const errors: string[] = [];
  for (const [k, el] of inputs) {
    const r = checkValue(k, el.value);
    el.classList.toggle('bad', 'error' in r);
    if ('error' in r) errors.push(r.error);
    else next[k] = r.value;
  }
  const rule = checkConfig(next as unknown as TrainConfig);
  if (rule) errors.push(rule.replace(/; using.*/, ''));
  notices.length = 0;
  showNotice(errors);
  if (errors.length) return false;
  const changed = (Object.keys(DEFAULTS) as (keyof TrainConfig)[]).some((k) => next[k] !== config[k]);
  config = next as unknown as TrainConfig;
  if (changed && preset) {
    preset = null;
    modified = true;
  }
  history.replaceState(null, '', `?${toQuery(config, preset)}`);
  return true;
}

// ---- presets ----
const presetBox = $('presets');
for (const [id, p] of Object.entries(TRAIN_PRESETS)) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = p.title;
  b.dataset.preset = id;
  b.addEventListener('click', () => choosePreset(id));
  presetBox.append(b);
}
function markPreset(): void {
  for (const b of presetBox.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.preset === preset));
}
function runsFor(): RunData[] {
  if (!preset) return [{ label: 'run', config: { ...config }, steps: [], epochs: [], done: false }];
  return TRAIN_PRESETS[preset].runs.map((r) => ({
    label: r.label,
    config: { ...DEFAULTS, ...r.config, seed: r.config.seed ?? config.seed, backend: config.backend },
    steps: [],
    epochs: [],
    done: false,
  }));
}
/** A preset click starts the preset afresh and playing, paused or not. */
function choosePreset(id: string): void {
  preset = id;
  modified = false;
  paused = false;
  $('pause').textContent = 'pause';
  config = { ...DEFAULTS, ...TRAIN_PRESETS[id].runs[0].config, seed: config.seed, backend: config.backend };
  fillForm();
  history.replaceState(null, '', `?${toQuery(config, preset)}`);
  restart();
}
function describe(): void {
  markPreset();
  $('augment').hidden = preset !== 'augment';
  if (preset === 'augment') requestAugment();
  $('net').hidden = preset !== 'dropout' && preset !== 'dropconnect';
  $('fmp').hidden = preset !== 'fmp';
  if (preset === 'fmp') requestFmp();
  $('preset-text').textContent = preset
    ? TRAIN_PRESETS[preset].text
    : modified
      ? "Modified settings: one run with the values below (a preset's text no longer applies)."
      : "One run with the settings below. Pick a preset for one of the lecture's figures.";
}

// ---- worker ----
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (m: ToWorker) => worker.postMessage(m);
worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  if (m.type === 'ready') {
    ready = true;
    const threads = m.threads > 1 ? `${m.threads} threads` : 'one thread';
    hostLine = `backend: ${m.backend}, ${threads}${m.relaxedSimd ? ', relaxed SIMD' : ''}`;
    $('backend').textContent = hostLine;
    if (!m.isolated)
      notices.push(
        'This page is not cross-origin isolated (no COOP/COEP headers), so training runs on one thread. `npm run lab` and the hosting headers in docs/lab-training.md make it use all cores.',
      );
    if (m.note) notices.push(m.note);
    showNotice();
    restart();
    return;
  }
  if (m.type === 'augmented') {
    drawAugmented(m.images, m.count);
    return;
  }
  if (m.type === 'fmp') {
    fmpData = m;
    drawFmp();
    return;
  }
  if (m.run !== runId) return;
  if (m.type === 'backend') {
    $('backend').textContent = m.device ? `backend: ${m.device} (${m.adapter})` : hostLine;
    if (m.note && !notices.includes(m.note)) notices.push(m.note);
    showNotice();
    return;
  }
  const r = runs[current];
  if (m.type === 'error') {
    r.error = m.message;
    notices.push(`${r.label}: ${m.message}`);
    showNotice();
    nextRun();
    return;
  }
  r.steps.push(...m.steps);
  r.epochs.push(...m.epochs);
  rate = m.samplesPerSec;
  if (m.mistakes) mistakes = m.mistakes;
  if (m.landscape) {
    land = m.landscape;
    landscapes++;
  }
  if (m.ensemble) ensemble.push(m.ensemble);
  if (m.masks) masks = m.masks;
  if (m.snapshotAt) snapshotAt = m.snapshotAt;
  if (m.snapshots) snapshotReport = m.snapshots;
  if (m.done) {
    r.done = true;
    nextRun();
  }
  dirty = true;
};

function startRun(i: number): void {
  current = i;
  runId++;
  masks = null;
  const member = preset !== null && TRAIN_PRESETS[preset].ensemble === true && runs[i].config.schedule !== 'snapshot';
  send({ type: 'start', config: runs[i].config, run: runId, paused, ensemble: member, last: i === runs.length - 1 });
}
function nextRun(): void {
  if (current + 1 < runs.length) startRun(current + 1);
  else dirty = true;
}
function restart(): void {
  if (!ready) return;
  describe();
  runs = runsFor();
  charts.forEach((c) => c.chart.destroy());
  charts.clear();
  mistakes = [];
  land = null;
  landscapes = 0;
  ensemble = [];
  snapshotAt = [];
  snapshotReport = null;
  startRun(0);
  dirty = true;
}

$('restart').addEventListener('click', () => {
  if (readForm()) restart();
});
$('pause').addEventListener('click', () => {
  paused = !paused;
  send({ type: paused ? 'pause' : 'resume' });
  $('pause').textContent = paused ? 'resume' : 'pause';
});
$('step').addEventListener('click', () => {
  paused = true;
  $('pause').textContent = 'resume';
  send({ type: 'step' });
});
$('share').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(location.href);
    $('progress').textContent = 'link copied';
  } catch {
    $('progress').textContent = `copy this link: ${location.href}`;
  }
});

// ---- charts ----
const charts = new Map<string, { key: string; chart: uPlot }>();
let dirty = false;

function width(id: string): number {
  return Math.max(280, Math.min(900, $(id).clientWidth || 600));
}

/** Draws or updates a chart: a chart with the same series keeps its canvas and only takes the new data. */
function lineChart(
  id: string,
  title: string,
  xLabel: string,
  yLabel: string,
  tables: [number[], ...(number | null)[][]],
  series: uPlot.Series[],
  log = false,
  intX = false,
): void {
  const el = $(id);
  const key = [title, xLabel, log, intX, ...series.map((s) => String(s.label))].join('|');
  const old = charts.get(id);
  if (old && old.key === key) {
    old.chart.setData(tables as uPlot.AlignedData);
    return;
  }
  old?.chart.destroy();
  el.textContent = '';
  const opts: uPlot.Options = {
    title,
    width: width(id),
    height: 200,
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    // intX: x counts things (members, snapshots), so its ticks are whole numbers
    axes: [intX ? { label: xLabel, incrs: [1, 2, 5, 10, 20, 50, 100] } : { label: xLabel }, { label: yLabel }],
    series: [{ label: xLabel }, ...series],
    // a series drawn as points only (width 0) gets a swatch filled like its points
    legend: {
      markers: {
        fill: (u, i) => {
          const q = u.series[i];
          const f = q.width === 0 && q.points?.fill ? q.points.fill : q.fill;
          return (typeof f === 'function' ? f(u, i) : f) as string;
        },
      },
    },
  };
  charts.set(id, { key, chart: new uPlot(opts, tables as uPlot.AlignedData, el) });
}

function joined(cols: [number[], number[]][]): uPlot.AlignedData {
  if (cols.length === 0) return [[]];
  return uPlot.join(cols.map(([x, y]) => [x, y] as uPlot.AlignedData));
}

function draw(): void {
  const xKey = preset ? TRAIN_PRESETS[preset].x : 'step';
  const xName = xKey === 'gradEpochs' ? 'gradient evaluations (passes over the data)' : 'step';
  const ser = (label: string, i: number, dash = false): uPlot.Series => ({
    label,
    stroke: COLORS[i % COLORS.length],
    width: 1.5,
    spanGaps: true,
    ...(dash ? { dash: [5, 4] } : {}),
  });
  const visible = runs.filter((r) => r.steps.length > 0);
  const snapRun = visible.find((r) => r.config.schedule === 'snapshot' && snapshotAt.length > 0 && snapshotAt[0] <= r.steps.length);
  const idx = (r: RunData) => runs.indexOf(r);
  // loss per step (thinned to at most 600 points per run)
  const thin = (r: RunData) => {
    const every = Math.max(1, Math.ceil(r.steps.length / 600));
    return r.steps.filter((_, i) => i % every === 0 || i === r.steps.length - 1);
  };
  lineChart(
    'chart-step',
    'training loss per step',
    xName,
    'loss',
    joined([
      ...visible.map((r) => {
        const s = thin(r);
        return [s.map((p) => (xKey === 'gradEpochs' ? p.gradEpochs : p.step)), s.map((p) => p.loss + p.penalty)] as [number[], number[]];
      }),
      ...(snapRun ? [snapshotMarks(snapRun, xKey)] : []),
    ]) as never,
    [
      ...visible.map((r) => ser(r.label, idx(r))),
      ...(snapRun
        ? [{ label: 'snapshots taken', stroke: '#e69f00', width: 0, points: { show: true, size: 11, fill: '#e69f00', stroke: '#000' } }]
        : []),
    ],
    true,
  );
  if (visible.length && firstPointMs === null) firstPointMs = performance.now();
  lineChart(
    'chart-lr',
    'learning rate',
    'step',
    'lr',
    joined(
      visible.map((r) => {
        const s = thin(r);
        return [s.map((p) => p.step), s.map((p) => p.lr)];
      }),
    ) as never,
    visible.map((r) => ser(r.label, idx(r))),
  );
  const ep = runs.filter((r) => r.epochs.length > 0);
  const epochSeries = ep.flatMap((r) => [ser(`${r.label} test`, idx(r)), ser(`${r.label} train`, idx(r), true)]);
  lineChart(
    'chart-epoch-loss',
    'loss per epoch',
    'epoch',
    'loss',
    joined(
      ep.flatMap((r) => {
        const x = r.epochs.map((e) => e.epoch);
        return [
          [x, r.epochs.map((e) => e.testLoss)],
          [x, r.epochs.map((e) => e.trainLoss)],
        ] as [number[], number[]][];
      }),
    ) as never,
    epochSeries,
  );
  lineChart(
    'chart-epoch-acc',
    'accuracy per epoch',
    'epoch',
    'accuracy',
    joined(
      ep.flatMap((r) => {
        const x = r.epochs.map((e) => e.epoch);
        return [
          [x, r.epochs.map((e) => e.testAccuracy)],
          [x, r.epochs.map((e) => e.trainAccuracy)],
        ] as [number[], number[]][];
      }),
    ) as never,
    epochSeries,
  );
  const last = runs[current];
  if (last && last.epochs.length) {
    const names = last.epochs[0].norms.map((n) => n.name);
    const x = last.epochs.map((e) => e.epoch);
    lineChart(
      'chart-norms',
      `${last.label}: per-layer norms (solid: weights, dashed: last gradient)`,
      'epoch',
      'L2 norm',
      joined(
        names.flatMap(
          (_, j) =>
            [
              [x, last.epochs.map((e) => e.norms[j].weight)],
              [x, last.epochs.map((e) => e.norms[j].grad)],
            ] as [number[], number[]][],
        ),
      ) as never,
      names.flatMap((n, j) => [ser(`${n} |w|`, j), ser(`${n} |g|`, j, true)]),
      true,
    );
    drawConfusion(last.epochs[last.epochs.length - 1].confusion);
  }
  lineChart(
    'chart-nearzero',
    'fraction of weights with |w| < 0.001',
    'epoch',
    'fraction',
    joined(ep.map((r) => [r.epochs.map((e) => e.epoch), r.epochs.map((e) => e.nearZero)])) as never,
    ep.map((r) => ser(r.label, idx(r))),
  );
  const hx = Array.from({ length: HIST_BINS }, (_, i) => -HIST_RANGE + ((i + 0.5) * 2 * HIST_RANGE) / HIST_BINS);
  lineChart(
    'chart-hist',
    'histogram of the weights (latest epoch; end bins hold everything beyond ±0.3)',
    'weight',
    'count',
    joined(ep.map((r) => [hx, r.epochs[r.epochs.length - 1].hist])) as never,
    ep.map((r) => ({ ...ser(r.label, idx(r)), paths: uPlot.paths.stepped!({ align: 1 }) })),
    true,
  );
  $('chart-ensemble').hidden = ensemble.length === 0;
  if (ensemble.length) {
    const n = ensemble.map((e) => e.members);
    lineChart(
      'chart-ensemble',
      'test accuracy against ensemble size N',
      'members N',
      'accuracy',
      [n, ensemble.map((e) => e.memberAccuracy), ensemble.map((e) => e.accuracy)],
      [
        { ...ser('member N alone', 1), width: 0, points: { show: true, size: 8 } },
        { ...ser('ensemble of members 1..N', 0), points: { show: true, size: 6 } },
      ],
      false,
      true,
    );
  }
  drawSnapshots();
  drawNet();
  drawMistakes();
  drawLandscape();
  const r = runs[current];
  if (r) {
    const e = r.epochs[r.epochs.length - 1];
    const all = runs.every((q) => q.done || q.error);
    $('progress').textContent =
      `${all ? 'done' : paused ? 'paused' : 'training'} · run ${current + 1}/${runs.length} (${r.label}) · epoch ${Math.min(r.config.epochs, r.steps.at(-1)?.epoch ?? 1)}/${r.config.epochs}` +
      ` · step ${r.steps.length} · ${Math.round(rate).toLocaleString('en')} samples/s${e ? ` · test accuracy ${(100 * e.testAccuracy).toFixed(1)}%` : ''}`;
  }
}

/** The snapshot run's loss at the steps its snapshots were taken (those reached so far). */
function snapshotMarks(r: RunData, xKey: 'gradEpochs' | 'step'): [number[], number[]] {
  const at = snapshotAt.filter((a) => a <= r.steps.length).map((a) => r.steps[a - 1]);
  return [at.map((p) => (xKey === 'gradEpochs' ? p.gradEpochs : p.step)), at.map((p) => p.loss + p.penalty)];
}

/** Each snapshot's test accuracy, the snapshot ensemble's, and the member ensemble's at its largest N. */
function drawSnapshots(): void {
  $('snapshot').hidden = snapshotReport === null;
  if (!snapshotReport) return;
  const rep = snapshotReport;
  const k = rep.members.map((_, i) => i + 1);
  const members = ensemble.at(-1);
  lineChart(
    'chart-snapshot',
    'snapshot ensemble: test accuracy of each snapshot, of their average, and of the N-member ensemble',
    'snapshot k',
    'accuracy',
    [k, rep.members, k.map(() => rep.average), k.map(() => members?.accuracy ?? null)],
    [
      { label: 'snapshot k alone', stroke: COLORS[1], width: 0, points: { show: true, size: 8 } },
      { label: `ensemble of the ${k.length} snapshots`, stroke: COLORS[0], width: 2 },
      { label: `ensemble of ${members?.members ?? 0} members`, stroke: COLORS[2], width: 2, dash: [6, 4] },
    ],
    false,
    true,
  );
  const last = rep.members[rep.members.length - 1];
  $('snapshot-cap').textContent =
    `Snapshots after steps ${rep.at.join(', ')}. Test accuracy: snapshot ensemble ${pct(rep.average)}, the run's last snapshot (the single model) ${pct(last)}` +
    (members ? `, the ensemble of ${members.members} independently trained members ${pct(members.accuracy)}.` : '.');
}
const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/**
 * A slice of the network: 8 input pixels, the hidden units the masks name, the 10 outputs. Dropout: the
 * units dropped for the batch's first example are grey and crossed out, and send nothing on. DropConnect:
 * the dropped connections are drawn dashed in light red, the kept ones solid.
 */
function drawNet(): void {
  if ($('net').hidden) return;
  const { g, h } = hidpi($<HTMLCanvasElement>('net-canvas'));
  const m = masks;
  const r = runs[current];
  const nIn = m?.inputs.length || 8,
    nHid = m?.units.length || 16;
  const col = [70, 280, 490];
  const ys = (n: number) => Array.from({ length: n }, (_, i) => 20 + ((h - 40) * (i + 0.5)) / n);
  const yi = ys(nIn),
    yh = ys(nHid),
    yo = ys(10);
  const keepUnit = (u: number) => (m?.kind === 'dropout' ? m.keep[u] === 1 : true);
  let dropped = 0;
  g.lineWidth = 1;
  // input → hidden
  for (let u = 0; u < nHid; u++)
    for (let i = 0; i < nIn; i++) {
      const cut = m?.kind === 'dropconnect' && m.keep[u * nIn + i] === 0;
      if (cut) dropped++;
      g.strokeStyle = cut ? 'rgba(213, 94, 0, 0.8)' : keepUnit(u) ? 'rgba(0, 114, 178, 0.45)' : 'rgba(150, 150, 150, 0.2)';
      g.setLineDash(cut ? [2, 5] : []);
      g.beginPath();
      g.moveTo(col[0], yi[i]);
      g.lineTo(col[1], yh[u]);
      g.stroke();
    }
  g.setLineDash([]);
  // hidden → output: a dropped unit sends nothing
  for (let u = 0; u < nHid; u++) {
    if (!keepUnit(u)) continue;
    for (let o = 0; o < 10; o++) {
      g.strokeStyle = 'rgba(0, 114, 178, 0.25)';
      g.beginPath();
      g.moveTo(col[1], yh[u]);
      g.lineTo(col[2], yo[o]);
      g.stroke();
    }
  }
  const node = (x: number, y: number, on: boolean) => {
    g.beginPath();
    g.arc(x, y, 6, 0, 2 * Math.PI);
    g.fillStyle = on ? '#0072b2' : '#ccc';
    g.fill();
    g.strokeStyle = '#333';
    g.stroke();
    if (!on) {
      g.strokeStyle = '#d55e00';
      g.lineWidth = 2;
      g.beginPath();
      g.moveTo(x - 7, y - 7);
      g.lineTo(x + 7, y + 7);
      g.moveTo(x + 7, y - 7);
      g.lineTo(x - 7, y + 7);
      g.stroke();
      g.lineWidth = 1;
    }
  };
  yi.forEach((y) => node(col[0], y, true));
  yh.forEach((y, u) => {
    const on = keepUnit(u);
    if (!on) dropped++;
    node(col[1], y, on);
  });
  yo.forEach((y) => node(col[2], y, true));
  g.fillStyle = '#222';
  g.font = '11px sans-serif';
  g.fillText('input pixels', col[0] - 60, 12);
  g.fillText(`hidden units (${nHid} of ${m?.total ?? r?.config.hidden ?? '…'})`, col[1] - 60, 12);
  g.fillText('outputs', col[2] - 20, 12);
  (yo as number[]).forEach((y, o) => g.fillText(CLASSES[o], col[2] + 10, y + 4));
  const shown = m ? (m.kind === 'dropout' ? nHid : nHid * nIn) : 0;
  netDrawn = m ? { kind: m.kind, step: m.step, dropped, shown } : null;
  $('net-title').textContent =
    r?.config.reg === 'dropconnect'
      ? "DropConnect: the connections the library's DropConnect dropped in the latest batch (dashed)"
      : "dropout: the hidden units the library's Dropout dropped in the latest batch (crossed out)";
  $('net-cap').textContent = !m
    ? `${r ? `${r.label}: ` : ''}this run has neither dropout nor DropConnect: every unit and connection is used.`
    : m.kind === 'dropout'
      ? `${r.label}, step ${m.step}: ${dropped} of the ${nHid} hidden units shown dropped (p = ${m.p}) for the batch's first example — units 0–${nHid - 1} of ${m.total}; inputs: 8 pixels of the middle row. The masks change with every batch (step one batch to see it).`
      : `${r.label}, step ${m.step}: ${dropped} of the ${shown} connections shown dropped (p = ${m.p}): from pixels ${m.inputs[0] % 28}–${(m.inputs.at(-1) ?? 0) % 28} of row 14 to hidden units 0–${nHid - 1} of ${m.total}; one mask for the whole batch, a new one each batch.`;
}

// ---- fractional max pooling ----
function requestFmp(): void {
  if (ready) send({ type: 'fmp', index: 0, seed: fmpSeed });
}
function newFmpDraw(): void {
  fmpSeed = (fmpSeed + 1) >>> 0;
  requestFmp();
}
$('fmp-redraw').addEventListener('click', newFmpDraw);
$('fmp-canvas').addEventListener('click', newFmpDraw);

/**
 * Four variants in a 2 × 2 grid. Each: the garment with the region boundaries drawn over it, a strip
 * above and beside it showing each step of the boundary sequence (orange: 2 pixels, pale: 1), a 3 × 3
 * block of regions in the middle filled (overlapping ones share a pixel row or column), and the
 * pooled image beside it.
 */
function drawFmp(): void {
  const d = fmpData;
  const { g } = hidpi($<HTMLCanvasElement>('fmp-canvas'));
  if (!d) return;
  const px = 8,
    big = 28 * px,
    strip = 8,
    cellW = 410,
    cellH = 280;
  const gray = (v: number) => {
    const k = 255 - Math.round(Math.min(1, Math.max(0, v)) * 255);
    return `rgb(${k}, ${k}, ${k})`;
  };
  g.font = '11px sans-serif';
  d.panels.forEach((p, k) => {
    const ox = (k % 2) * cellW + strip + 2,
      oy = Math.floor(k / 2) * cellH + 16 + strip + 2;
    g.fillStyle = '#222';
    g.fillText(`${p.sequence}, ${p.overlapping ? 'overlapping' : 'disjoint'}`, ox - strip - 2, oy - strip - 6);
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        g.fillStyle = gray(d.image[y * 28 + x]);
        g.fillRect(ox + x * px, oy + y * px, px, px);
      }
    const oh = p.rows[0].length,
      ow = p.cols[0].length;
    // the steps of the boundary sequences: columns above, rows on the left
    for (let j = 0; j < ow; j++) {
      const w = (j + 1 < ow ? p.cols[0][j + 1] : 28) - p.cols[0][j];
      g.fillStyle = w === 2 ? '#e69f00' : '#f3e3c0';
      g.fillRect(ox + p.cols[0][j] * px + 1, oy - strip - 1, w * px - 2, strip);
    }
    for (let i = 0; i < oh; i++) {
      const h = (i + 1 < oh ? p.rows[0][i + 1] : 28) - p.rows[0][i];
      g.fillStyle = h === 2 ? '#e69f00' : '#f3e3c0';
      g.fillRect(ox - strip - 1, oy + p.rows[0][i] * px + 1, strip, h * px - 2);
    }
    // region starts
    g.strokeStyle = 'rgba(0, 114, 178, 0.6)';
    g.lineWidth = 1;
    g.beginPath();
    for (const r of p.rows[0]) {
      g.moveTo(ox, oy + r * px + 0.5);
      g.lineTo(ox + big, oy + r * px + 0.5);
    }
    for (const q of p.cols[0]) {
      g.moveTo(ox + q * px + 0.5, oy);
      g.lineTo(ox + q * px + 0.5, oy + big);
    }
    g.stroke();
    // a 3 × 3 block of regions in the middle
    const mid = Math.floor(oh / 2) - 1;
    for (let i = mid; i < mid + 3; i++)
      for (let j = mid; j < mid + 3; j++) {
        const x0 = ox + p.cols[0][j] * px,
          y0 = oy + p.rows[0][i] * px,
          w = (p.cols[1][j] - p.cols[0][j]) * px,
          h = (p.rows[1][i] - p.rows[0][i]) * px;
        g.fillStyle = (i + j) % 2 === 0 ? 'rgba(213, 94, 0, 0.35)' : 'rgba(0, 158, 115, 0.35)';
        g.fillRect(x0, y0, w, h);
        g.strokeStyle = (i + j) % 2 === 0 ? '#d55e00' : '#009e73';
        g.lineWidth = 2;
        g.strokeRect(x0 + 1, y0 + 1, w - 2, h - 2);
        g.lineWidth = 1;
      }
    const q = 8,
      qx = ox + big + 12;
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        g.fillStyle = gray(p.pooled[i * ow + j]);
        g.fillRect(qx + j * q, oy + i * q, q, q);
      }
    // the block's pooled pixels
    g.strokeStyle = '#d55e00';
    g.lineWidth = 2;
    g.strokeRect(qx + mid * q, oy + mid * q, 3 * q, 3 * q);
    g.lineWidth = 1;
    g.strokeStyle = '#999';
    g.strokeRect(qx, oy, ow * q, oh * q);
    g.fillStyle = '#222';
    g.fillText(`pools to ${oh} × ${ow}`, qx, oy + oh * q + 14);
  });
  $('fmp-cap').textContent =
    `Draw ${d.seed} of the library's FractionalMaxPool2d (α = √2), 28 × 28 → ${d.panels[0].rows[0].length} × ${d.panels[0].cols[0].length}. ` +
    'Blue lines: where the regions start; the strips above and left: each step, orange where it is 2 pixels. Random boundaries bunch the 2-pixel steps anywhere; pseudorandom ones spread them evenly. ' +
    'Nine regions in the middle are filled: disjoint ones tile the image, overlapping ones reach one pixel into the next. Each pooled pixel (right; the nine outlined) is the maximum of its region. Click for a new draw.';
}

/**
 * A canvas's 2-D context drawing in CSS pixels on a backing store devicePixelRatio times larger (sharp
 * at any zoom); the CSS size is the one its width and height attributes gave first. Cleared.
 */
function hidpi(c: HTMLCanvasElement): { g: CanvasRenderingContext2D; w: number; h: number } {
  c.dataset.w ??= String(c.width);
  c.dataset.h ??= String(c.height);
  const w = Number(c.dataset.w),
    h = Number(c.dataset.h),
    dpr = window.devicePixelRatio || 1;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    // the height follows the aspect ratio, so a max-width that narrows the canvas keeps its shape
    c.style.width = `${w}px`;
  }
  const g = c.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  return { g, w, h };
}

function drawConfusion(conf: number[]): void {
  const { g } = hidpi($<HTMLCanvasElement>('confusion'));
  // off: room for the longest class name ("Pullover") beside the rows and, slanted, above the columns
  const cell = 22,
    off = 56;
  g.font = '10px sans-serif';
  for (let t = 0; t < 10; t++) {
    let row = 0;
    for (let p = 0; p < 10; p++) row += conf[t * 10 + p];
    g.fillStyle = '#222';
    g.fillText(CLASSES[t], 0, off + t * cell + 14);
    for (let p = 0; p < 10; p++) {
      const f = row ? conf[t * 10 + p] / row : 0;
      g.fillStyle = `rgba(0, 114, 178, ${f})`;
      g.fillRect(off + p * cell, off + t * cell, cell - 1, cell - 1);
      g.fillStyle = f > 0.5 ? '#fff' : '#222';
      if (conf[t * 10 + p]) g.fillText(String(conf[t * 10 + p]), off + p * cell + 2, off + t * cell + 14);
    }
  }
  g.fillStyle = '#222';
  for (let p = 0; p < 10; p++) {
    g.save();
    g.translate(off + p * cell + 8, off - 3);
    g.rotate(-Math.PI / 3);
    g.fillText(CLASSES[p], 0, 0);
    g.restore();
  }
}

/** Viridis-like ramp, dark (low loss) to yellow (high), on log loss. */
function ramp(f: number): string {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(0.9999, Math.max(0, f)) * (stops.length - 1),
    i = Math.floor(x),
    t = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * t));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function heat(id: string, z: number[][], path?: [number, number][]): void {
  const { g, w, h } = hidpi($<HTMLCanvasElement>(id));
  if (!z.length) return;
  const n = z.length,
    cell = w / n;
  const flat = z.flat().filter(Number.isFinite);
  const lo = Math.log(Math.min(...flat)),
    hi = Math.log(Math.max(...flat));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      g.fillStyle = ramp((Math.log(z[i][j]) - lo) / (hi - lo || 1));
      g.fillRect(j * cell, (n - 1 - i) * cell, cell + 0.5, cell + 0.5);
    }
  // the legend on a dark band: readable over the yellow (high-loss) corners too
  const legend = `loss ${Math.exp(lo).toPrecision(3)} (dark) – ${Math.exp(hi).toPrecision(3)} (yellow)`;
  g.font = '10px sans-serif';
  g.fillStyle = 'rgba(0, 0, 0, 0.65)';
  g.fillRect(0, 0, g.measureText(legend).width + 8, 16);
  g.fillStyle = '#fff';
  g.fillText(legend, 4, 12);
  const at = (a: number) => ((a + 1) / 2) * (w - cell) + cell / 2;
  const atY = (b: number) => h - at(b);
  if (path) {
    g.strokeStyle = '#fff';
    g.lineWidth = 1.5;
    g.beginPath();
    path.forEach(([a, b], k) => (k ? g.lineTo(at(a), atY(b)) : g.moveTo(at(a), atY(b))));
    g.stroke();
    g.fillStyle = '#d55e00';
    for (const [a, b] of path) g.fillRect(at(a) - 2, atY(b) - 2, 4, 4);
  }
  g.strokeStyle = '#fff';
  g.strokeRect(at(0) - 4, atY(0) - 4, 8, 8);
}

function drawLandscape(): void {
  heat('land-random', land?.random ?? []);
  heat('land-pca', land?.pca ?? [], land?.path);
  $('land-pca-cap').textContent = land
    ? `the path's two principal directions (${(100 * land.explained).toFixed(0)}% of its variance), path in white, one dot per epoch; square: final weights`
    : 'computed when the last run ends';
}

// ---- crop examples ----
const AUG_SLIDERS: [keyof AugmentSettings, string, number, number, number][] = [
  ['flip', 'flip probability', 0, 1, 0.5],
  ['pad', 'crop padding (px)', 0, 6, 2],
  ['scale', 'scale ±', 0, 0.4, 0.15],
  ['brightness', 'brightness ±', 0, 0.8, 0.3],
  ['contrast', 'contrast ±', 0, 0.8, 0.3],
  ['mixup', 'MixUp α (0 off)', 0, 2, 0],
  ['cutmix', 'CutMix α (0 off)', 0, 2, 0],
];
const augValues: AugmentSettings = {
  flip: 0.5,
  pad: 2,
  scale: 0.15,
  brightness: 0.3,
  contrast: 0.3,
  mixup: 0,
  cutmix: 0,
  count: 8,
  variants: 3,
  seed: config.seed,
};
for (const [key, label, min, max, value] of AUG_SLIDERS) {
  const l = document.createElement('label');
  const input = document.createElement('input');
  Object.assign(input, { type: 'range', min: String(min), max: String(max), step: String((max - min) / 20), value: String(value) });
  input.setAttribute('aria-label', label);
  const out = document.createElement('output');
  out.textContent = String(value);
  input.addEventListener('input', () => {
    augValues[key] = Number(input.value);
    out.textContent = input.value;
    requestAugment();
  });
  l.append(label, input, out);
  $('aug-controls').append(l);
}
function requestAugment(): void {
  if (ready) send({ type: 'augment', settings: { ...augValues, seed: config.seed } });
}
function drawAugmented(images: Float32Array[], count: number): void {
  const c = $<HTMLCanvasElement>('aug-canvas');
  const scale = 2,
    gap = 6,
    cellW = 28 * scale + gap;
  c.width = count * cellW;
  c.height = images.length * cellW;
  const g = c.getContext('2d')!;
  g.imageSmoothingEnabled = false;
  const img = g.createImageData(28, 28);
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = 28;
  const tg = tmp.getContext('2d')!;
  images.forEach((data, row) => {
    for (let k = 0; k < count; k++) {
      for (let j = 0; j < 784; j++) {
        const v = 255 - Math.round(Math.min(1, Math.max(0, data[k * 784 + j])) * 255);
        img.data.set([v, v, v, 255], j * 4);
      }
      tg.putImageData(img, 0, 0);
      g.drawImage(tmp, k * cellW, row * cellW, 28 * scale, 28 * scale);
    }
  });
}

function drawMistakes(): void {
  const { g } = hidpi($<HTMLCanvasElement>('mistakes'));
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = 28;
  const tg = tmp.getContext('2d')!;
  const img = tg.createImageData(28, 28);
  g.imageSmoothingEnabled = false;
  g.font = '9px sans-serif';
  mistakes.slice(0, 8).forEach((m, i) => {
    for (let j = 0; j < 784; j++) {
      const v = 255 - Math.round(m.pixels[j] * 255);
      img.data.set([v, v, v, 255], j * 4);
    }
    tg.putImageData(img, 0, 0);
    // a 66-pixel column holds the longest label, "Pullover 100%"
    const x = (i % 4) * 66,
      y = Math.floor(i / 4) * 60;
    g.drawImage(tmp, x + 19, y);
    g.fillStyle = '#d55e00';
    g.fillText(`${CLASSES[m.predicted]} ${(100 * m.p).toFixed(0)}%`, x, y + 40);
    g.fillStyle = '#222';
    g.fillText(`is ${CLASSES[m.label]}`, x, y + 51);
  });
  $('mistakes-cap').textContent = mistakes.length
    ? 'most confidently wrong test images: predicted (probability), true class'
    : 'most confidently wrong test images (after the first epoch)';
}

// Charts are redrawn at most every 250 ms, from requestAnimationFrame, so the page keeps its frame rate while the worker streams steps.
let lastDraw = 0;
function frame(t: number): void {
  if (dirty && t - lastDraw > 250) {
    dirty = false;
    lastDraw = t;
    draw();
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

fillForm();
describe();
showNotice();
send({ type: 'init', dataUrl: new URL('fashion-mnist-subset/', document.baseURI).href });

/** For tests and the console: the runs as drawn. */
(globalThis as { __train?: unknown }).__train = {
  get runs() {
    return runs;
  },
  get config() {
    return config;
  },
  get preset() {
    return preset;
  },
  get done() {
    return runs.length > 0 && runs.every((r) => r.done || r.error);
  },
  get ready() {
    return ready;
  },
  /** The ensemble preset's accuracy against N, as drawn. */
  get ensemble() {
    return ensemble;
  },
  /** The network figure's masks and what it drew from them. */
  get masks() {
    return masks;
  },
  get netDrawn() {
    return netDrawn;
  },
  get landscapes() {
    return landscapes;
  },
  get snapshots() {
    return { at: snapshotAt, report: snapshotReport };
  },
  get fmp() {
    return fmpData;
  },
  /** Milliseconds from the start of navigation to the first drawn loss point (null before it). */
  get firstPointMs() {
    return firstPointMs;
  },
  /** The worker's smoothed samples/s. */
  get rate() {
    return rate;
  },
  get backend() {
    return $('backend').textContent;
  },
};
