/**
 * The lab's page: wires the state (state.ts, mirrored in the URL), the race (race.ts, computed by the
 * library) and the drawing (draw.ts). All text that may come from the URL is set with textContent.
 */
import { registerBackend } from '../../src/backend/backend.js';
import { referenceBackend } from '../../src/backend/reference.js';
import { getSurface, surfaceNames, type Surface } from '../../src/surfaces/index.js';
import { optimizerNames, getOptimizer, MATRIX_ONLY } from '../../src/optim/index.js';
import {
  defaultState,
  fromQuery,
  toQuery,
  optimizerDefaults,
  choicesOf,
  checkRacerOptions,
  fmt,
  SPEEDS,
  LIMITS,
  type LabState,
  type Racer,
  type OptValue,
} from './state.js';
import { computeRuns, indexAt, fRef, labelOf, LAB_DEFAULTS, OWN_STEP, type Run } from './race.js';
import {
  renderSurface,
  drawMap,
  drawChart,
  drawColorBar,
  frameFor,
  type Frame,
  type RacerStyle,
  type Series,
  type SurfaceImage,
  type View,
} from './draw.js';
import { PRESETS, presetIds, presetState } from './presets.js';
import { buildSchedulesView, scheduleParams, sampleSchedule, scheduleNames, racerSpec } from './schedules.js';
import { EQUATIONS } from './equations.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// The plain-TS kernels are all a 2-D race needs (src/backend/index.js would also pull in the WASM build).
registerBackend(referenceBackend);

// ---- colours: the Okabe–Ito palette (distinct under the common colour-vision deficiencies), one per
// racer in table order; noisy racers are dashed, and past eight racers the colours repeat dotted.
export const PALETTE = ['#D55E00', '#0072B2', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
function styleOf(run: Run, i: number): RacerStyle {
  const color = PALETTE[i % PALETTE.length];
  const dash = run.racer.noisy ? [7, 4] : i >= PALETTE.length ? [2, 3] : [];
  const mu = run.racer.opt === 'nesterov' ? Number(run.options.momentum ?? optimizerDefaults('nesterov').momentum) : undefined;
  return { color, dash, lookAhead: mu };
}

// ---- state ----------------------------------------------------------------------------------------
let state: LabState;
let runs: Run[] = [];
let styles: RacerStyle[] = [];
let surface: Surface;
let ref = 0;
let bg: SurfaceImage | undefined;
/** The part of the plane the map shows: the surface's view, or (zoom on) the box around the paths. */
let view: View;
let zoomOn = true;
let dragging = false;
let bgKey = '';
let playing = false;
let lastComputeMs = 0;
const perf = { frames: 0, since: 0, fps: 0, drawMs: 0 };
/** Milliseconds of each recent recompute, runs and redraw together (the drag measurement reads them). */
const computeTimes: number[] = [];

/**
 * Canvas widths in CSS pixels: at most 560 (map) and 460 (charts), at most the page's width, so a
 * canvas is drawn at the size it is shown and its 11 px text stays 11 px on a phone.
 */
let mapW = 560;
let sideW = 460;
let mapH = 400;
let frame: Frame;
const mapCanvas = $<HTMLCanvasElement>('map');
const lossCanvas = $<HTMLCanvasElement>('loss');
const momCanvas = $<HTMLCanvasElement>('moments');
const barCanvas = $<HTMLCanvasElement>('cbar');
const stepCanvas = $<HTMLCanvasElement>('steps');
const dpr = Math.min(2, window.devicePixelRatio || 1);

function sizeCanvas(c: HTMLCanvasElement, w: number, h: number): CanvasRenderingContext2D {
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.width = `${w}px`;
    c.style.height = `${h}px`;
  }
  const g = c.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  return g;
}

function notify(lines: string[]): void {
  const box = $('notice');
  if (!lines.length) {
    box.hidden = true;
    return;
  }
  box.replaceChildren();
  const head = document.createElement('strong');
  head.textContent = 'Some values in the address were not valid and were replaced by defaults: ';
  box.append(head);
  const ul = document.createElement('ul');
  for (const l of lines.slice(0, 12)) {
    const li = document.createElement('li');
    li.textContent = l;
    ul.append(li);
  }
  if (lines.length > 12) {
    const li = document.createElement('li');
    li.textContent = `+${lines.length - 12} more`;
    ul.append(li);
  }
  box.append(ul);
  const close = document.createElement('button');
  close.textContent = 'dismiss';
  close.onclick = () => (box.hidden = true);
  box.append(close);
  box.hidden = false;
}

let urlTimer = 0;
function syncUrl(now = false): void {
  const write = () => {
    urlTimer = 0;
    history.replaceState(null, '', `${location.pathname}?${toQuery(state)}`);
    $<HTMLAnchorElement>('share').href = location.href;
  };
  if (now) write();
  else if (!urlTimer) urlTimer = window.setTimeout(write, 150);
}

// ---- computing ----------------------------------------------------------------------------------------
function recompute(rebuildTable = true): void {
  const t0 = performance.now();
  surface = getSurface(state.fn);
  ref = fRef(surface);
  runs = computeRuns(state, state.moments);
  styles = runs.map(styleOf);
  lastComputeMs = performance.now() - t0;
  [mapW, sideW] = fitWidths();
  // the surface's aspect within 260…620 px at the full width, scaled with the width
  const aspect = (surface.view.y[1] - surface.view.y[0]) / (surface.view.x[1] - surface.view.x[0]);
  mapH = Math.round(Math.max(260, Math.min(620, 560 * aspect)) * (mapW / 560));
  // While the start is dragged the view holds still, so the map does not move under the pointer.
  if (!dragging || !view) view = zoomOn ? zoomView() : surface.view;
  frame = frameFor(surface, mapW, mapH, view);
  const key = `${state.fn}|${mapW}x${mapH}|${dpr}|${view.x.join()}|${view.y.join()}`;
  if (key !== bgKey) {
    bg = renderSurface(surface, ref, Math.round(mapW * dpr), Math.round(mapH * dpr), view);
    bgKey = key;
  }
  if (rebuildTable) buildTable();
  syncControls();
  draw();
  syncUrl();
  computeTimes.push(performance.now() - t0);
  if (computeTimes.length > 200) computeTimes.shift();
}

/** The map's and the charts' widths for the space the race view has now (its full sizes while hidden). */
function fitWidths(): [number, number] {
  const room = $('stage').clientWidth || Infinity;
  return [Math.floor(Math.min(560, room)), Math.floor(Math.min(460, room))];
}

/** Recompute at the widths the page now has room for, if they changed (a resize, a view shown again). */
function refit(): void {
  const [w, s] = fitWidths();
  if (state.view === 'race' && (w !== mapW || s !== sideW)) recompute(false);
}

/**
 * The box around the start, the drawn paths (the parts inside the surface's view) and the minima they
 * reach, padded by a tenth and widened to the map's aspect; never larger than the surface's view.
 */
function zoomView(): View {
  const V = surface.view;
  let x0 = state.start[0];
  let x1 = x0;
  let y0 = state.start[1];
  let y1 = y0;
  const inView = (x: number, y: number) => x >= V.x[0] && x <= V.x[1] && y >= V.y[0] && y <= V.y[1];
  for (const run of runs)
    for (let i = 0; i < run.xs.length; i++) {
      const x = run.xs[i];
      const y = run.ys[i];
      if (!inView(x, y)) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  const W = V.x[1] - V.x[0];
  const H = V.y[1] - V.y[0];
  let w = Math.max(x1 - x0, W * 0.15) * 1.2;
  let h = Math.max(y1 - y0, H * 0.15) * 1.2;
  // keep the surface's aspect (the map's pixel size follows it)
  if (w / h > W / H) h = (w * H) / W;
  else w = (h * W) / H;
  if (w >= W || h >= H) return V;
  const cx = Math.min(V.x[1] - w / 2, Math.max(V.x[0] + w / 2, (x0 + x1) / 2));
  const cy = Math.min(V.y[1] - h / 2, Math.max(V.y[0] + h / 2, (y0 + y1) / 2));
  const r = (v: number) => Number(v.toPrecision(6));
  return { x: [r(cx - w / 2), r(cx + w / 2)], y: [r(cy - h / 2), r(cy + h / 2)] };
}

// ---- drawing -----------------------------------------------------------------------------------------
function draw(): void {
  const t0 = performance.now();
  const k = state.t;
  const g = sizeCanvas(mapCanvas, mapW, mapH);
  drawMap(g, bg!.canvas, surface, frame, runs, styles, k, state.start);
  drawColorBar(
    sizeCanvas(barCanvas, mapW, 48),
    mapW,
    48,
    bg!,
    surface.minima.length ? 'map colour: loss above the global minimum, f − f* (log)' : 'map colour: f',
  );
  drawLoss(k);
  drawMoments(k);
  drawStepSizes(k);
  $<HTMLInputElement>('timeline').value = String(k);
  // Text in the table and the label relayouts the page: while playing, ten times a second is enough.
  if (!playing || perf.frames % 6 === 0) {
    updateTableCells(k);
    describeCharts(k);
    $('tlabel').textContent = `${Math.floor(k)} / ${state.budget} evaluations`;
  }
  perf.drawMs = performance.now() - t0;
}

function drawLoss(k: number): void {
  const g = sizeCanvas(lossCanvas, sideW, state.moments ? 250 : 360);
  const hasMin = surface.minima.length > 0;
  const series: Series[] = runs.map((run, i) => {
    const ys = new Float64Array(run.fs.length);
    for (let j = 0; j < ys.length; j++) ys[j] = hasMin ? run.fs[j] - ref : Math.max(run.fs[j], ref - 10);
    return { label: run.label, color: darker(styles[i].color), dash: styles[i].dash, xs: run.cost, ys, upto: indexAt(run, k) };
  });
  drawChart(g, sideW, state.moments ? 250 : 360, series, {
    title: hasMin ? 'loss above the global minimum, f − f*' : `loss f (clipped at ${fmt(ref - 10)})`,
    xLabel: 'function/gradient evaluations',
    yLabel: hasMin ? 'f − f* (log)' : 'f',
    xMax: state.budget,
    logY: hasMin,
    headroom: hasMin ? 1 : undefined,
    cursor: k,
  });
}

/** Chart colours a touch darker than on the map (the chart is white). */
function darker(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const f = 0.78;
  const c = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => Math.round(v * f));
  return `rgb(${c.join(',')})`;
}

/**
 * AdaGrad's and RMSProp's step size per coordinate, η_t / (√s + ε), against the step (log axis): AdaGrad's
 * only shrinks (s sums every g²), RMSProp's settles (s is a decaying average). x solid, y dashed.
 */
function drawStepSizes(k: number): void {
  const with_ = runs.map((run, i) => ({ run, i })).filter(({ run }) => run.stepSizes && run.stepSizes.length);
  stepCanvas.hidden = with_.length === 0;
  if (!with_.length) return;
  const W = sideW;
  const H = 250;
  const g = sizeCanvas(stepCanvas, W, H);
  const series: Series[] = [];
  let n = 1;
  for (const { run, i } of with_) {
    const ss = run.stepSizes!;
    n = Math.max(n, ss.length);
    const xs = ss.map((_, t) => t + 1);
    const upto = Math.max(0, indexAt(run, k) - 1);
    series.push({ label: `${run.label}: x`, color: darker(styles[i].color), xs, ys: ss.map((e) => e[0]), upto });
    series.push({ label: `${run.label}: y`, color: darker(styles[i].color), dash: [5, 3], xs, ys: ss.map((e) => e[1]), upto });
  }
  drawChart(g, W, H, series, {
    title: 'step size per coordinate, η / (√s + ε)',
    xLabel: 'step t',
    yLabel: 'step size (log)',
    xMax: n,
    logY: true,
    legend: true,
  });
}

function drawMoments(k: number): void {
  const run = runs.find((r) => r.moments && r.moments.m.length);
  momCanvas.hidden = !state.moments;
  if (!state.moments) return;
  const W = sideW;
  const H = 330;
  const g = sizeCanvas(momCanvas, W, H);
  if (!run || !run.moments) {
    g.fillStyle = '#fff';
    g.fillRect(0, 0, W, H);
    g.fillStyle = '#444';
    g.font = '12px system-ui';
    g.fillText('add an Adam-family racer to see its moments', 20, 40);
    return;
  }
  const M = run.moments;
  const n = Math.min(M.m.length, 60);
  if (n > 0 && (!playing || perf.frames % 6 === 0)) {
    const r = (v: number) => v.toPrecision(3);
    $('moments-text').textContent =
      `${run.label}, x coordinate, steps 1 to ${n}: m from ${r(M.m[0][0])} to ${r(M.m[n - 1][0])}, m̂ from ${r(M.mHat[0][0])} to ${r(M.mHat[n - 1][0])} (gradient ${r(M.g[0][0])} at t = 1); v from ${r(M.v[0][0])} to ${r(M.v[n - 1][0])}, v̂ from ${r(M.vHat[0][0])} to ${r(M.vHat[n - 1][0])} (g² ${r(M.g[0][0] ** 2)} at t = 1).`;
  }
  const xs = Array.from({ length: n }, (_, i) => i + 1);
  const upto = Math.max(0, indexAt(run, k) - 1);
  const col = (a: number[][], c: number) => a.slice(0, n).map((e) => e[c]);
  // x coordinate: m beside m̂, v beside v̂ (v on a log axis: it spans decades in the first steps)
  drawChart(
    g,
    W,
    H / 2,
    [
      { label: 'gradient gₓ', color: '#999', xs, ys: col(M.g, 0), upto },
      { label: 'm (x)', color: '#1f6feb', dash: [5, 3], xs, ys: col(M.m, 0), upto },
      { label: 'm̂ (x)', color: '#1f6feb', xs, ys: col(M.mHat, 0), upto },
    ],
    { title: `first moment, β₁ = ${M.beta1}`, xLabel: 'step t', yLabel: 'x-component', xMax: n, legend: true },
  );
  g.save();
  g.translate(0, H / 2);
  drawChart(
    g,
    W,
    H / 2,
    [
      { label: 'gₓ²', color: '#999', xs, ys: col(M.g, 0).map((g) => g * g), upto },
      { label: 'v (x)', color: '#d1242f', dash: [5, 3], xs, ys: col(M.v, 0), upto },
      { label: 'v̂ (x)', color: '#d1242f', xs, ys: col(M.vHat, 0), upto },
    ],
    { title: `second moment, β₂ = ${M.beta2}`, xLabel: 'step t', yLabel: 'x-component (log)', xMax: n, logY: true, legend: true },
  );
  g.restore();
}

/** A short line in the racer's colour and dash: the key that names a line on the map and the chart. */
function swatch(st: RacerStyle): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '28');
  svg.setAttribute('height', '10');
  svg.setAttribute('aria-hidden', 'true');
  svg.classList.add('swatch');
  const line = document.createElementNS(ns, 'line');
  line.setAttribute('x1', '2');
  line.setAttribute('x2', '26');
  line.setAttribute('y1', '5');
  line.setAttribute('y2', '5');
  line.setAttribute('stroke', st.color);
  line.setAttribute('stroke-width', '3');
  if (st.dash.length) line.setAttribute('stroke-dasharray', st.dash.join(' '));
  svg.append(line);
  return svg;
}

/** The legend under the loss chart: one entry per racer, the same key as on the map. */
function buildLegend(): void {
  const ul = $('legend');
  ul.replaceChildren();
  runs.forEach((run, i) => {
    const li = document.createElement('li');
    li.append(swatch(styles[i]), ` ${run.label}`);
    if (styles[i].lookAhead) li.append(' (ring: look-ahead point)');
    ul.append(li);
  });
}

/** The update rule of each optimizer in the race, beside it, in the racer's colour. */
function buildEquations(): void {
  const box = $('equations');
  box.replaceChildren();
  const seen = new Set<string>();
  runs.forEach((run, i) => {
    const key = run.racer.opt;
    if (seen.has(key)) return;
    seen.add(key);
    const eq = EQUATIONS[key];
    const div = document.createElement('div');
    div.className = 'eq';
    const h = document.createElement('h4');
    h.append(swatch(styles[i]), ` ${getOptimizer(key).name}`);
    div.append(h);
    for (const line of eq?.lines ?? [getOptimizer(key).summary ?? '']) {
      const code = document.createElement('code');
      code.textContent = line;
      div.append(code);
    }
    if (eq?.note) {
      const n = document.createElement('small');
      n.textContent = eq.note;
      div.append(n);
    }
    box.append(div);
  });
}

/** Text equivalents of the map and the loss chart (read by screen readers; kept with the drawing). */
function describeCharts(k: number): void {
  const hasMin = surface.minima.length > 0;
  const parts = runs.map((run) => {
    const j = indexAt(run, k);
    if (j < 0) return `${run.label}: ${run.error ?? 'no points'}`;
    const st = statusOf(run, j).text;
    return `${run.label} at (${fmt(run.xs[j])}, ${fmt(run.ys[j])})${st ? `, ${st}` : ''}`;
  });
  $('map-text').textContent =
    `Map of ${surface.title} over x ${fmt(view.x[0])} to ${fmt(view.x[1])}, y ${fmt(view.y[0])} to ${fmt(view.y[1])}; start (${fmt(state.start[0])}, ${fmt(state.start[1])}); after ${Math.floor(k)} evaluations: ${parts.join('; ')}.`;
  const loss = runs.map((run) => {
    const j = indexAt(run, k);
    if (j < 0) return `${run.label}: none`;
    const v = (i: number) => (hasMin ? run.fs[i] - ref : run.fs[i]);
    return `${run.label} from ${v(0).toPrecision(3)} to ${v(j).toPrecision(3)}`;
  });
  const steps = runs
    .filter((r) => r.stepSizes && r.stepSizes.length)
    .map((r) => {
      const ss = r.stepSizes!;
      const j = Math.max(0, Math.min(ss.length - 1, indexAt(r, k) - 1));
      return `${r.label} x from ${ss[0][0].toPrecision(3)} to ${ss[j][0].toPrecision(3)}, y from ${ss[0][1].toPrecision(3)} to ${ss[j][1].toPrecision(3)}`;
    });
  $('steps-text').textContent = steps.length ? `Step size per coordinate against the step: ${steps.join('; ')}.` : '';
  $('loss-text').textContent =
    `Loss chart, ${hasMin ? 'f − f* on a log axis' : 'f'} against evaluations 0 to ${state.budget}: ${loss.join('; ')}.`;
}

// ---- racer table --------------------------------------------------------------------------------------
const statusCells: HTMLElement[] = [];
const evalCells: HTMLElement[] = [];
const lossCells: HTMLElement[] = [];

function buildTable(): void {
  buildLegend();
  buildEquations();
  const body = document.querySelector('#racers tbody')!;
  body.replaceChildren();
  statusCells.length = evalCells.length = lossCells.length = 0;
  state.racers.forEach((racer, i) => {
    const run = runs[i];
    const tr = document.createElement('tr');
    const sw = document.createElement('td');
    sw.append(swatch(styles[i]));
    const name = document.createElement('td');
    name.textContent = labelOf(racer);
    name.title = getOptimizer(racer.opt).summary ?? '';
    const lrTd = document.createElement('td');
    const spec = getOptimizer(racer.opt);
    if (spec.options.includes('lr') && !MATRIX_ONLY.has(racer.opt)) {
      const lr = document.createElement('input');
      lr.type = 'number';
      lr.step = 'any';
      lr.min = '0';
      lr.className = 'lr';
      lr.value = String(run.options.lr ?? '');
      lr.disabled = state.lrMode === 'one' && run.lrSource === 'one';
      lr.setAttribute('aria-label', `${labelOf(racer)} learning rate`);
      lr.addEventListener('change', () => {
        const v = readNumber(lr, `${labelOf(racer)} lr`, 0, LIMITS.lr[1], String(run.options.lr ?? ''));
        if (v !== undefined) setOption(i, 'lr', v);
      });
      const src = document.createElement('small');
      src.textContent = run.lrSource === 'tuned' ? ' tuned' : run.lrSource === 'one' ? ' (all)' : run.lrSource === 'default' ? ' step' : '';
      if (run.lrSource === 'default')
        src.title =
          racer.opt === 'lbfgs' || racer.opt === 'newton'
            ? 'a step-length multiplier (1 = the full step), not a learning rate: kept in "one for all"'
            : 'scales the step size the method estimates itself, not a learning rate: kept in "one for all"';
      lrTd.append(lr, src);
    } else lrTd.textContent = '—';
    const optTd = document.createElement('td');
    optTd.append(optionControls(i, racer));
    const ev = document.createElement('td');
    const loss = document.createElement('td');
    const status = document.createElement('td');
    const rm = document.createElement('td');
    const noisy = document.createElement('label');
    const nb = document.createElement('input');
    nb.type = 'checkbox';
    nb.checked = racer.noisy;
    nb.addEventListener('change', () => {
      state.racers[i] = { ...racer, noisy: nb.checked };
      if (nb.checked && state.noise === 0) state.noise = 1;
      changed();
    });
    noisy.append(nb, ' noise');
    noisy.title = 'gradient noise for this racer';
    const del = document.createElement('button');
    del.textContent = '×';
    del.title = 'remove';
    del.addEventListener('click', () => {
      state.racers.splice(i, 1);
      changed();
    });
    rm.append(noisy, del);
    if (run.error) {
      // one line in the table; the library's whole message on hover
      status.textContent = MATRIX_ONLY.has(racer.opt) ? 'not run: for weight matrices, not a point' : run.error;
      status.title = run.error;
    }
    tr.append(sw, name, lrTd, optTd, ev, loss, status, rm);
    body.append(tr);
    statusCells.push(status);
    evalCells.push(ev);
    lossCells.push(loss);
  });
}

function optionControls(i: number, racer: Racer): HTMLElement {
  const d = document.createElement('details');
  const s = document.createElement('summary');
  const set = Object.entries(racer.options).filter(([k]) => k !== 'lr');
  const parts = set.map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('/') : v}`);
  if (racer.sched) parts.push(`schedule ${racer.sched.split(':')[0]}`);
  s.textContent = parts.length ? parts.join(' ') : 'defaults';
  d.append(s);
  const defaults = { ...optimizerDefaults(racer.opt), ...LAB_DEFAULTS[racer.opt] };
  for (const [k, def] of Object.entries(defaults)) {
    if (k === 'lr') continue;
    const cur = racer.options[k] ?? def;
    const row = document.createElement('label');
    row.className = 'opt';
    row.append(`${k} `);
    if (typeof def === 'boolean') {
      const c = document.createElement('input');
      c.type = 'checkbox';
      c.checked = cur === true;
      c.addEventListener('change', () => setOption(i, k, c.checked));
      row.append(c);
    } else if (typeof def === 'number') {
      const n = document.createElement('input');
      n.type = 'number';
      n.step = 'any';
      n.value = String(cur);
      n.addEventListener('change', () => {
        const v = readNumber(n, `${labelOf(racer)} ${k}`, -Infinity, Infinity, String(cur));
        if (v !== undefined) setOption(i, k, v, n, String(cur));
      });
      row.append(n);
    } else if (Array.isArray(def)) {
      const vals = [...(cur as number[])];
      vals.forEach((v, j) => {
        const n = document.createElement('input');
        n.type = 'number';
        n.step = 'any';
        n.value = String(v);
        n.addEventListener('change', () => {
          const x = readNumber(n, `${labelOf(racer)} ${k}[${j}]`, -Infinity, Infinity, String(v));
          if (x === undefined) return;
          vals[j] = x;
          setOption(i, k, [...vals], n, String(v));
        });
        row.append(n);
      });
    } else if (choicesOf(racer.opt, k)) {
      const sel = document.createElement('select');
      for (const c of choicesOf(racer.opt, k)) {
        const o = document.createElement('option');
        o.value = c === null ? 'null' : c;
        o.textContent = c === null ? 'none' : c;
        sel.append(o);
      }
      sel.value = cur === null ? 'null' : String(cur);
      sel.addEventListener('change', () => setOption(i, k, sel.value === 'null' ? null : sel.value));
      row.append(sel);
    } else continue;
    d.append(row);
  }
  // a learning-rate schedule for this racer (from its own lr, over the budget)
  if (getOptimizer(racer.opt).options.includes('lr') && !['lbfgs', 'newton'].includes(racer.opt)) {
    const row = document.createElement('label');
    row.className = 'opt';
    row.append('schedule ');
    const sel = document.createElement('select');
    for (const n of ['', ...scheduleNames()]) {
      const o = document.createElement('option');
      o.value = n;
      o.textContent = n || 'none (constant)';
      sel.append(o);
    }
    sel.value = racer.sched?.split(':')[0] ?? '';
    sel.addEventListener('change', () => {
      const next: Racer = { ...racer };
      if (sel.value) next.sched = racerSpec(sel.value);
      else delete next.sched;
      state.racers[i] = next;
      changed();
    });
    row.append(sel);
    if (racer.sched) {
      const code = document.createElement('code');
      code.textContent = racer.sched;
      row.append(' ', code);
    }
    d.append(row);
  }
  const err = document.createElement('div');
  err.className = 'opt-error';
  d.append(err);
  return d;
}

/**
 * The number in a field, or undefined after saying why not: an empty field, text that is not a
 * finite number (1e400 overflows to Infinity; a number field then reports an empty value) or a value
 * outside [lo, hi] is refused with a message naming the field, and the field shows the kept value again.
 */
function readNumber(el: HTMLInputElement, name: string, lo: number, hi: number, kept: string, integer = false): number | undefined {
  const raw = el.value.trim();
  const v = raw === '' ? NaN : Number(raw);
  let why = '';
  if (raw === '') why = el.validity.badInput ? 'not a number' : 'empty or not a finite number';
  else if (!Number.isFinite(v)) why = `${raw} is not a finite number`;
  else if (integer && !Number.isInteger(v)) why = `${raw} is not an integer`;
  else if (v < lo || v > hi) why = `${raw} is outside ${lo} … ${hi}`;
  if (!why) {
    inputMessage('');
    return v;
  }
  el.value = kept;
  inputMessage(`${name}: ${why}; kept ${kept === '' ? 'the previous value' : kept}.`);
  return undefined;
}

/** One line under the controls for the last refused input (role=status: read out when it changes). */
function inputMessage(text: string): void {
  const box = $('input-msg');
  box.textContent = text;
  box.hidden = !text;
}

function setOption(i: number, key: string, value: OptValue, field?: HTMLInputElement, kept?: string): void {
  const racer = state.racers[i];
  const options = { ...racer.options, [key]: value };
  try {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError(`${key}: not a number`);
    checkRacerOptions(racer.opt, { ...LAB_DEFAULTS[racer.opt], ...options });
  } catch (e) {
    // the field goes back to the value in force; the message says what was refused and why
    if (field && kept !== undefined) field.value = kept;
    inputMessage(`${labelOf(racer)}: ${(e as Error).message}; kept ${key} = ${kept ?? String(racer.options[key] ?? 'default')}.`);
    return;
  }
  inputMessage('');
  state.racers[i] = { ...racer, options };
  changed();
}

function updateTableCells(k: number): void {
  runs.forEach((run, i) => {
    if (!statusCells[i] || run.error) return;
    const j = indexAt(run, k);
    if (j < 0) return;
    evalCells[i].textContent = String(run.cost[j]);
    const f = run.fs[j];
    lossCells[i].textContent = Number.isFinite(f) ? f.toPrecision(4) : String(f);
    const st = statusOf(run, j);
    if (statusCells[i].textContent !== st.text) {
      statusCells[i].textContent = st.text;
      statusCells[i].className = `badge ${st.cls}`;
    }
  });
}

/**
 * Badge for a racer at its point j: converged (which minimum), diverged, at a saddle, left the view.
 * One rule for "diverged": the runner's verdict at the run's last point, or, on a surface without a
 * minimum, leaving the view. There either reads "diverged (f → −∞)" where f is below its value at the
 * start (the loss falls without bound), else "diverged"; with a minimum it reads "diverged".
 */
function statusOf(run: Run, j: number): { text: string; cls: string } {
  const x = run.xs[j];
  const y = run.ys[j];
  const outside = !(x >= surface.view.x[0] && x <= surface.view.x[1] && y >= surface.view.y[0] && y <= surface.view.y[1]);
  const hasMin = surface.minima.length > 0;
  if ((run.diverged && j === run.xs.length - 1) || (outside && !hasMin))
    return { text: !hasMin && run.fs[j] < run.fs[0] ? 'diverged (f → −∞)' : 'diverged', cls: 'bad' };
  const span = Math.max(surface.view.x[1] - surface.view.x[0], surface.view.y[1] - surface.view.y[0]);
  const [gx, gy] = surface.grad(x, y);
  const gn = Math.hypot(gx, gy);
  for (const m of surface.minima) {
    if (Math.hypot(x - m.x[0], y - m.x[1]) < 2e-3 * span && gn < 1e-2)
      return { text: m.global ? 'converged · global min' : 'converged · local min', cls: m.global ? 'good' : 'warn' };
  }
  // noisy racers never settle exactly: say which minimum they are jittering around
  for (const m of surface.minima) {
    if (Math.hypot(x - m.x[0], y - m.x[1]) < 0.04 * span)
      return { text: m.global ? 'near the global min' : 'near a local min', cls: m.global ? 'good' : 'warn' };
  }
  if (outside) return { text: 'left the view', cls: 'warn' };
  for (const sd of surface.saddles) {
    if (Math.hypot(x - sd.x[0], y - sd.x[1]) < 0.05 * span) return { text: 'at a saddle', cls: 'warn' };
  }
  return { text: '', cls: '' };
}

// ---- controls -----------------------------------------------------------------------------------------
function changed(rebuild = true): void {
  recompute(rebuild);
}

function syncControls(): void {
  $<HTMLSelectElement>('fn').value = state.fn;
  $('start-label').textContent = `start (${fmt(state.start[0])}, ${fmt(state.start[1])})`;
  $<HTMLInputElement>('budget').value = String(state.budget);
  const tl = $<HTMLInputElement>('timeline');
  tl.max = String(state.budget);
  tl.step = String(Math.min(1, state.speed));
  $<HTMLSelectElement>('speed').value = String(state.speed);
  for (const el of document.querySelectorAll<HTMLInputElement>('input[name=lrm]')) el.checked = el.value === state.lrMode;
  const lr = $<HTMLInputElement>('lr');
  lr.value = String(state.lr);
  lr.disabled = state.lrMode !== 'one';
  $<HTMLInputElement>('noise-on').checked = state.racers.length > 0 && state.racers.every((r) => r.noisy);
  $<HTMLInputElement>('sigma').value = String(state.noise);
  $<HTMLInputElement>('seed').value = String(state.seed);
  $<HTMLInputElement>('show-moments').checked = state.moments;
  const p = PRESETS.find((x) => x.id === state.preset);
  const modified = !!p && isModified(p);
  for (const b of document.querySelectorAll<HTMLButtonElement>('#presets button')) {
    const on = b.dataset.preset === state.preset;
    b.classList.toggle('active', on);
    b.classList.toggle('modified', on && modified);
    b.setAttribute('aria-pressed', String(on));
    b.textContent = PRESETS.find((q) => q.id === b.dataset.preset)!.title + (on && modified ? ' (modified)' : '');
  }
  // An edited preset no longer shows its text: the claims were checked for the preset's own settings only.
  $('explain').textContent = !p
    ? 'Pick a lecture figure above, or play: choose a surface, click or drag on the map to set the start, change learning rates in the table.'
    : modified
      ? `${p.title} — modified. You changed the preset's settings, so its description (which holds for the preset as given) is hidden; “reset preset” brings both back.`
      : `${p.title}. ${p.text}`;
  $('reset-preset').hidden = !modified;
  $<HTMLInputElement>('batch').value = String(Math.round(Math.log2(state.batch)));
  $('batch-label').textContent = `B = ${state.batch} (σ/√B = ${fmt(state.noise / Math.sqrt(state.batch))})`;
  $('surface-desc').textContent =
    `${surface.title}: f(x, y) = ${surface.formula} — ${surface.description}. ★ global minimum, ○ local minimum, × saddle or maximum.`;
  $('play').textContent = playing ? '❚❚ pause' : '▶ play';
  for (const b of document.querySelectorAll<HTMLButtonElement>('#tabs button')) {
    b.classList.toggle('active', b.dataset.view === state.view);
    b.setAttribute('aria-selected', String(b.dataset.view === state.view));
    b.tabIndex = b.dataset.view === state.view ? 0 : -1;
  }
  $('race-view').hidden = state.view !== 'race';
  $('schedules-view').hidden = state.view !== 'schedules';
}

function setupControls(): void {
  const presets = $('presets');
  for (const p of PRESETS) {
    const b = document.createElement('button');
    b.textContent = p.title;
    b.dataset.preset = p.id;
    b.addEventListener('click', () => applyPreset(p.id, true));
    presets.append(b);
  }
  window.addEventListener('resize', () => requestAnimationFrame(refit));
  const fn = $<HTMLSelectElement>('fn');
  for (const n of surfaceNames) {
    const o = document.createElement('option');
    o.value = n;
    o.textContent = getSurface(n).title;
    fn.append(o);
  }
  let retuneTimer = 0;
  fn.addEventListener('change', () => {
    const was = surface.title;
    state.fn = fn.value;
    state.start = [...getSurface(fn.value).start] as [number, number];
    state.preset = '';
    state.t = 0;
    // A hand-set rate was chosen for the surface it was set on: on a new surface each racer takes the
    // rate tuned there, as a fresh race does. L-BFGS, Newton, Prodigy and D-Adapt Adam (OWN_STEP) keep
    // theirs: it scales a step the method sizes itself, and is never tuned.
    const handSet = state.racers.filter((r) => r.options.lr !== undefined && !OWN_STEP.has(r.opt));
    state.racers = state.racers.map((r) => {
      if (!handSet.includes(r)) return r;
      const { lr: _lr, ...rest } = r.options;
      return { ...r, options: rest };
    });
    const msg = $('retune-msg');
    msg.textContent = handSet.length
      ? `Rates set by hand for ${was} re-tuned for ${getSurface(fn.value).title}: ${handSet.map(labelOf).join(', ')}.`
      : '';
    window.clearTimeout(retuneTimer);
    if (handSet.length) retuneTimer = window.setTimeout(() => (msg.textContent = ''), 8000);
    changed();
  });
  const sp = $<HTMLSelectElement>('speed');
  for (const v of SPEEDS) {
    const o = document.createElement('option');
    o.value = String(v);
    o.textContent = `${v}× eval/frame`;
    sp.append(o);
  }
  sp.addEventListener('change', () => {
    state.speed = Number(sp.value);
    syncUrl();
  });
  $<HTMLInputElement>('budget').addEventListener('change', (e) => {
    const v = readNumber(e.target as HTMLInputElement, 'budget', LIMITS.budget[0], LIMITS.budget[1], String(state.budget), true);
    if (v === undefined) return;
    state.budget = v;
    state.t = Math.min(state.t, state.budget);
    changed();
  });
  for (const el of document.querySelectorAll<HTMLInputElement>('input[name=lrm]'))
    el.addEventListener('change', () => {
      state.lrMode = el.value === 'one' ? 'one' : 'each';
      changed();
    });
  $<HTMLInputElement>('lr').addEventListener('change', (e) => {
    const v = readNumber(e.target as HTMLInputElement, 'learning rate for all', LIMITS.lr[0], LIMITS.lr[1], String(state.lr));
    if (v === undefined) return;
    state.lr = v;
    changed();
  });
  $('retune').addEventListener('click', () => {
    state.lrMode = 'each';
    state.racers = state.racers.map((r) => {
      const { lr: _lr, ...rest } = r.options;
      return { ...r, options: rest };
    });
    changed();
  });
  $<HTMLInputElement>('noise-on').addEventListener('change', (e) => {
    const on = (e.target as HTMLInputElement).checked;
    state.racers = state.racers.map((r) => ({ ...r, noisy: on }));
    if (on && state.noise === 0) state.noise = 1;
    changed();
  });
  $<HTMLInputElement>('sigma').addEventListener('change', (e) => {
    const v = readNumber(e.target as HTMLInputElement, 'noise σ', LIMITS.noise[0], LIMITS.noise[1], String(state.noise));
    if (v === undefined) return;
    state.noise = v;
    changed(false);
  });
  $<HTMLInputElement>('seed').addEventListener('change', (e) => {
    const v = readNumber(e.target as HTMLInputElement, 'seed', LIMITS.seed[0], LIMITS.seed[1], String(state.seed), true);
    if (v === undefined) return;
    state.seed = v;
    changed(false);
  });
  // batch size on a log slider: B = 2^k, k = 0 … 12
  $<HTMLInputElement>('batch').addEventListener('input', (e) => {
    state.batch = 2 ** Math.round(Number((e.target as HTMLInputElement).value));
    changed(false);
  });
  $<HTMLInputElement>('zoom').addEventListener('change', (e) => {
    zoomOn = (e.target as HTMLInputElement).checked;
    changed(false);
  });
  $('share').addEventListener('click', (ev) => {
    ev.preventDefault();
    syncUrl(true);
    shareLink(location.href);
  });
  $('reset-preset').addEventListener('click', () => applyPreset(state.preset, false));
  $<HTMLInputElement>('show-moments').addEventListener('change', (e) => {
    state.moments = (e.target as HTMLInputElement).checked;
    changed(false);
  });
  const add = $<HTMLSelectElement>('add-opt');
  for (const n of optimizerNames()) {
    const o = document.createElement('option');
    o.value = n;
    o.textContent = MATRIX_ONLY.has(n) ? `${getOptimizer(n).name} (weight matrices only: not run here)` : getOptimizer(n).name;
    add.append(o);
  }
  $('add').addEventListener('click', () => {
    state.racers.push({ opt: add.value, noisy: false, options: {} });
    changed();
  });
  $('add-all').addEventListener('click', () => {
    const have = new Set(state.racers.map((r) => r.opt));
    for (const n of optimizerNames())
      if (n !== 'sgd' && !MATRIX_ONLY.has(n) && !have.has(n)) state.racers.push({ opt: n, noisy: false, options: {} });
    changed();
  });
  // transport
  $('play').addEventListener('click', () => (playing ? pause() : play()));
  $('step').addEventListener('click', () => {
    pause();
    setT(Math.floor(state.t) + 1);
  });
  $('restart').addEventListener('click', () => {
    pause();
    setT(0);
  });
  $<HTMLInputElement>('timeline').addEventListener('input', (e) => {
    pause();
    setT(Number((e.target as HTMLInputElement).value));
  });
  // start point: click or drag on the map
  let pending: [number, number] | undefined;
  const toXY = (ev: PointerEvent): [number, number] => {
    const rect = mapCanvas.getBoundingClientRect();
    const [x, y] = frame.fromPx(((ev.clientX - rect.left) / rect.width) * mapW, ((ev.clientY - rect.top) / rect.height) * mapH);
    return [Number(x.toPrecision(4)), Number(y.toPrecision(4))];
  };
  const move = (p: [number, number]) => {
    pending = p;
    requestAnimationFrame(() => {
      if (!pending) return;
      state.start = pending;
      pending = undefined;
      state.preset = state.preset && PRESETS.find((q) => q.id === state.preset) ? state.preset : '';
      state.t = state.budget; // while dragging, show the whole race from the new start
      changed(false);
    });
  };
  mapCanvas.addEventListener('pointerdown', (ev) => {
    dragging = true;
    mapCanvas.setPointerCapture(ev.pointerId);
    pause();
    move(toXY(ev));
  });
  mapCanvas.addEventListener('pointermove', (ev) => {
    if (dragging) move(toXY(ev));
  });
  const end = () => {
    if (!dragging) return;
    dragging = false;
    recompute();
  };
  // hover read-out: where the pointer is and the loss there
  mapCanvas.addEventListener('pointermove', (ev) => {
    if (dragging) return;
    const [x, y] = toXY(ev);
    const f = surface.f(x, y);
    const hasMin = surface.minima.length > 0;
    $('readout').textContent =
      `x = ${fmt(x)}, y = ${fmt(y)}, f = ${f.toPrecision(4)}${hasMin ? `, f − f* = ${(f - ref).toPrecision(3)}` : ''}`;
  });
  mapCanvas.addEventListener('pointerleave', () => ($('readout').textContent = ''));
  // keyboard: with the map focused the arrows move the start (Shift: ten times further)
  mapCanvas.addEventListener('keydown', (ev) => {
    const d: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    const dir = d[ev.key];
    if (!dir) return;
    ev.preventDefault();
    ev.stopPropagation();
    pause();
    const f = ev.shiftKey ? 0.1 : 0.02;
    const nx = state.start[0] + dir[0] * f * (view.x[1] - view.x[0]);
    const ny = state.start[1] + dir[1] * f * (view.y[1] - view.y[0]);
    const V = surface.view;
    state.start = [
      Number(Math.min(V.x[1], Math.max(V.x[0], nx)).toPrecision(4)),
      Number(Math.min(V.y[1], Math.max(V.y[0], ny)).toPrecision(4)),
    ];
    state.t = state.budget;
    changed();
  });
  mapCanvas.addEventListener('pointerup', end);
  mapCanvas.addEventListener('pointercancel', end);
  // keyboard: space plays / pauses, → and ← step one evaluation (not while typing in a field)
  document.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement;
    // A preset button keeps the focus after a click; Space there plays / pauses instead of re-applying it.
    const onPreset = t.tagName === 'BUTTON' && t.parentElement?.id === 'presets' && ev.key === ' ';
    if (state.view !== 'race' || (!onPreset && ['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(t.tagName))) return;
    if (ev.key === ' ') {
      ev.preventDefault();
      playing ? pause() : play();
    } else if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
      pause();
      setT(Math.floor(state.t) + (ev.key === 'ArrowRight' ? 1 : -1));
    }
  });
  // a preset button must not also activate on the Space that pauses
  for (const b of document.querySelectorAll<HTMLButtonElement>('#presets button'))
    b.addEventListener('keyup', (ev) => {
      if (ev.key === ' ') ev.preventDefault();
    });
  for (const b of document.querySelectorAll<HTMLButtonElement>('#tabs button'))
    b.addEventListener('click', () => {
      state.view = b.dataset.view === 'schedules' ? 'schedules' : 'race';
      if (state.view === 'schedules') redrawSchedules();
      syncControls();
      refit();
      syncUrl();
    });
}

function setT(k: number): void {
  state.t = Math.max(0, Math.min(state.budget, k));
  draw();
  syncUrl();
}

function play(): void {
  if (state.t >= state.budget) state.t = 0;
  playing = true;
  perf.frames = 0;
  perf.since = performance.now();
  $('play').textContent = '❚❚ pause';
  requestAnimationFrame(tick);
}

function pause(): void {
  playing = false;
  $('play').textContent = '▶ play';
  syncUrl();
}

function tick(now: number): void {
  if (!playing) return;
  state.t = Math.min(state.budget, state.t + state.speed);
  draw();
  perf.frames++;
  const el = now - perf.since;
  if (el > 0) perf.fps = (perf.frames * 1000) / el;
  if (state.t >= state.budget) {
    pause();
    draw();
    return;
  }
  requestAnimationFrame(tick);
}

/** Whether the race differs from the preset's own (timeline, speed and view aside). */
function isModified(p: (typeof PRESETS)[number]): boolean {
  const strip = (q: string) => {
    const u = new URLSearchParams(q);
    for (const k of ['t', 'speed', 'view', 's']) u.delete(k);
    return u.toString();
  };
  return strip(toQuery(state)) !== strip(toQuery(presetState(p, state)));
}

/** Copy the link; say whether it worked, and where the clipboard is closed, show the link selected. */
function shareLink(url: string): void {
  const msg = $('share-msg');
  const fallback = () => {
    const box = $<HTMLInputElement>('share-url');
    box.hidden = false;
    box.value = url;
    box.focus();
    box.select();
    msg.textContent = 'Copying is blocked here: the link is selected, press Ctrl+C (⌘C).';
  };
  try {
    navigator.clipboard.writeText(url).then(() => {
      msg.textContent = 'Link copied.';
      window.setTimeout(() => (msg.textContent = ''), 4000);
    }, fallback);
  } catch {
    fallback();
  }
}

function applyPreset(id: string, autoplay: boolean): void {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) return;
  pause();
  state = presetState(p, state);
  changed();
  if (autoplay) play();
}

// ---- schedules -------------------------------------------------------------------------------------
let redrawSchedules = () => {};

// ---- boot ------------------------------------------------------------------------------------------
function boot(): void {
  const parsed = fromQuery(location.search.slice(1), presetIds, scheduleParams);
  state = parsed.state;
  // Schedule parameters from the URL must also be accepted by the library's parser.
  for (const [name, p] of Object.entries(state.sched)) {
    const r = sampleSchedule(name, p);
    if ('error' in r) {
      parsed.notices.push(`${r.error} — defaults used`);
      delete state.sched[name];
    }
  }
  // A URL that names only a preset gets the preset's settings.
  const q = new URLSearchParams(location.search);
  if (state.preset && !q.has('fn')) state = presetState(PRESETS.find((p) => p.id === state.preset)!, state);
  setupControls();
  redrawSchedules = buildSchedulesView($('sched-list'), state.sched, (name, params) => {
    state.sched[name] = params;
    syncUrl();
  });
  notify(parsed.notices);
  recompute();
  if (state.view === 'schedules') redrawSchedules();
  syncUrl(true);
  // For the browser tests and the curious: the drawn points and the settings that produced them.
  (window as unknown as { __lab: unknown }).__lab = {
    get state() {
      return JSON.parse(JSON.stringify(state));
    },
    get runs() {
      return runs.map((r) => ({
        opt: r.racer.opt,
        label: r.label,
        noisy: r.racer.noisy,
        options: r.options,
        xs: [...r.xs],
        ys: [...r.ys],
        fs: [...r.fs],
        cost: [...r.cost],
        diverged: r.diverged,
        error: r.error,
        moments: r.moments,
      }));
    },
    get perf() {
      return { ...perf, lastComputeMs, computeTimes: computeTimes.slice() };
    },
    get view() {
      return { x: [...view.x], y: [...view.y] };
    },
    get notices() {
      return parsed.notices.slice();
    },
    get playing() {
      return playing;
    },
    presets: presetIds,
    optimizers: optimizerNames(),
    applyPreset: (id: string, autoplay = false) => applyPreset(id, autoplay),
    setT,
    play,
    pause,
    setSpeed: (v: number) => {
      state.speed = v;
      syncControls();
    },
    setStart: (x: number, y: number) => {
      state.start = [x, y];
      changed();
    },
    setRacers: (rs: Racer[], budget?: number) => {
      state.racers = rs;
      if (budget) state.budget = budget;
      changed();
    },
    query: () => toQuery(state),
    ready: true,
  };
  document.body.dataset.ready = '1';
}

boot();
export { defaultState };
