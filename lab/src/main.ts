/**
 * The lab's page: wires the state (state.ts, mirrored in the URL), the race (race.ts, computed by the
 * library) and the drawing (draw.ts). All text that may come from the URL is set with textContent.
 */
import { registerBackend } from '../../src/backend/backend.js';
import { referenceBackend } from '../../src/backend/reference.js';
import { getSurface, surfaceNames, type Surface } from '../../src/surfaces/index.js';
import { optimizerNames, getOptimizer, MATRIX_ONLY } from '../../src/optim/index.js';
import { defaultState, fromQuery, toQuery, optimizerDefaults, choicesOf, checkRacerOptions, fmt, SPEEDS, LIMITS, type LabState, type Racer, type OptValue } from './state.js';
import { computeRuns, indexAt, fRef, labelOf, LAB_DEFAULTS, type Run } from './race.js';
import { renderSurface, drawMap, drawChart, frameFor, type Frame, type RacerStyle, type Series } from './draw.js';
import { PRESETS, presetIds, presetState } from './presets.js';
import { buildSchedulesView, scheduleParams, sampleSchedule } from './schedules.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// The plain-TS kernels are all a 2-D race needs (src/backend/index.js would also pull in the WASM build).
registerBackend(referenceBackend);

// ---- colours: one per optimizer (stable across presets); noisy racers dashed in a second colour ----
const COLORS: Record<string, string> = {
  gd: '#ff453a', sgd: '#ff8a80', momentum: '#32d74b', nesterov: '#ff9f0a', adagrad: '#bf5af2', rmsprop: '#64d2ff',
  adadelta: '#ff375f', adam: '#ffd60a', adamw: '#ac8e68', adamax: '#5e5ce6', nadam: '#f9a8ff', radam: '#a8ff60',
  lion: '#00c7be', lbfgs: '#ffffff', newton: '#ff00ff',
};
const SPARE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe', '#008080'];
const NOISY = '#ffa8f0';
function styleOf(r: Racer): RacerStyle {
  const base = COLORS[r.opt] ?? SPARE[optimizerNames().indexOf(r.opt) % SPARE.length];
  return r.noisy ? { color: r.opt === 'gd' ? NOISY : base, dash: [7, 4] } : { color: base, dash: [] };
}

// ---- state ----------------------------------------------------------------------------------------
let state: LabState;
let runs: Run[] = [];
let styles: RacerStyle[] = [];
let surface: Surface;
let ref = 0;
let bg: HTMLCanvasElement | undefined;
let bgKey = '';
let playing = false;
let lastComputeMs = 0;
const perf = { frames: 0, since: 0, fps: 0, drawMs: 0 };

const MAP_W = 560;
let mapH = 400;
let frame: Frame;
const mapCanvas = $<HTMLCanvasElement>('map');
const lossCanvas = $<HTMLCanvasElement>('loss');
const momCanvas = $<HTMLCanvasElement>('moments');
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
  styles = state.racers.map(styleOf);
  lastComputeMs = performance.now() - t0;
  mapH = Math.round((MAP_W * (surface.view.y[1] - surface.view.y[0])) / (surface.view.x[1] - surface.view.x[0]));
  mapH = Math.max(260, Math.min(620, mapH));
  frame = frameFor(surface, MAP_W, mapH);
  const key = `${state.fn}|${MAP_W}x${mapH}|${dpr}`;
  if (key !== bgKey) {
    bg = renderSurface(surface, ref, Math.round(MAP_W * dpr), Math.round(mapH * dpr));
    bgKey = key;
  }
  if (rebuildTable) buildTable();
  syncControls();
  draw();
  syncUrl();
}

// ---- drawing -----------------------------------------------------------------------------------------
function draw(): void {
  const t0 = performance.now();
  const k = state.t;
  const g = sizeCanvas(mapCanvas, MAP_W, mapH);
  drawMap(g, bg!, surface, frame, runs, styles, k, state.start);
  drawLoss(k);
  drawMoments(k);
  $<HTMLInputElement>('timeline').value = String(k);
  // Text in the table and the label relayouts the page: while playing, ten times a second is enough.
  if (!playing || perf.frames % 6 === 0) {
    updateTableCells(k);
    $('tlabel').textContent = `${Math.floor(k)} / ${state.budget} evaluations`;
  }
  perf.drawMs = performance.now() - t0;
}

function drawLoss(k: number): void {
  const g = sizeCanvas(lossCanvas, 460, state.moments ? 250 : 360);
  const hasMin = surface.minima.length > 0;
  const series: Series[] = runs.map((run, i) => {
    const ys = new Float64Array(run.fs.length);
    for (let j = 0; j < ys.length; j++) ys[j] = hasMin ? run.fs[j] - ref : Math.max(run.fs[j], ref - 10);
    return { label: run.label, color: styles[i].color === '#ffffff' ? '#555' : darker(styles[i].color), dash: styles[i].dash, xs: run.cost, ys, upto: indexAt(run, k) };
  });
  drawChart(g, 460, state.moments ? 250 : 360, series, {
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

function drawMoments(k: number): void {
  const run = runs.find((r) => r.moments && r.moments.m.length);
  momCanvas.hidden = !state.moments;
  if (!state.moments) return;
  const W = 460;
  const H = 300;
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
  const xs = Array.from({ length: n }, (_, i) => i + 1);
  const upto = Math.max(0, indexAt(run, k) - 1);
  const col = (a: number[][], c: number) => a.slice(0, n).map((e) => e[c]);
  // x coordinate: m beside m̂, v beside v̂ (v on a log axis: it spans decades in the first steps)
  drawChart(g, W, H / 2, [
    { label: 'gradient gₓ', color: '#999', xs, ys: col(M.g, 0), upto },
    { label: 'm (x)', color: '#1f6feb', dash: [5, 3], xs, ys: col(M.m, 0), upto },
    { label: 'm̂ (x)', color: '#1f6feb', xs, ys: col(M.mHat, 0), upto },
  ], { title: `first moment, β₁ = ${M.beta1}`, xLabel: 'step t', yLabel: 'x-component', xMax: n, legend: true });
  g.save();
  g.translate(0, H / 2);
  drawChart(g, W, H / 2, [
    { label: 'gₓ²', color: '#999', xs, ys: col(M.g, 0).map((g) => g * g), upto },
    { label: 'v (x)', color: '#d1242f', dash: [5, 3], xs, ys: col(M.v, 0), upto },
    { label: 'v̂ (x)', color: '#d1242f', xs, ys: col(M.vHat, 0), upto },
  ], { title: `second moment, β₂ = ${M.beta2}`, xLabel: 'step t', yLabel: 'x-component (log)', xMax: n, logY: true, legend: true });
  g.restore();
}

// ---- racer table --------------------------------------------------------------------------------------
const statusCells: HTMLElement[] = [];
const evalCells: HTMLElement[] = [];
const lossCells: HTMLElement[] = [];

function buildTable(): void {
  const body = document.querySelector('#racers tbody')!;
  body.replaceChildren();
  statusCells.length = evalCells.length = lossCells.length = 0;
  state.racers.forEach((racer, i) => {
    const run = runs[i];
    const tr = document.createElement('tr');
    const sw = document.createElement('td');
    const dot = document.createElement('span');
    dot.className = 'swatch';
    dot.style.background = styles[i].color;
    if (racer.noisy) dot.style.outline = '2px dashed #333';
    sw.append(dot);
    const name = document.createElement('td');
    name.textContent = labelOf(racer);
    name.title = getOptimizer(racer.opt).summary ?? '';
    const lrTd = document.createElement('td');
    const spec = getOptimizer(racer.opt);
    if (spec.options.includes('lr')) {
      const lr = document.createElement('input');
      lr.type = 'number';
      lr.step = 'any';
      lr.min = '0';
      lr.className = 'lr';
      lr.value = String(run.options.lr ?? '');
      lr.disabled = state.lrMode === 'one' && run.lrSource === 'one';
      lr.setAttribute('aria-label', `${labelOf(racer)} learning rate`);
      lr.addEventListener('change', () => setOption(i, 'lr', Number(lr.value)));
      const src = document.createElement('small');
      src.textContent = run.lrSource === 'tuned' ? ' tuned' : run.lrSource === 'one' ? ' (all)' : run.lrSource === 'default' ? ' step' : '';
      if (run.lrSource === 'default') src.title = 'a step-length multiplier (1 = the full step), not a learning rate: kept in "one for all"';
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
    if (run.error) status.textContent = run.error;
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
  s.textContent = set.length ? set.map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('/') : v}`).join(' ') : 'defaults';
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
      n.addEventListener('change', () => setOption(i, k, Number(n.value)));
      row.append(n);
    } else if (Array.isArray(def)) {
      const vals = [...(cur as number[])];
      vals.forEach((v, j) => {
        const n = document.createElement('input');
        n.type = 'number';
        n.step = 'any';
        n.value = String(v);
        n.addEventListener('change', () => {
          vals[j] = Number(n.value);
          setOption(i, k, [...vals]);
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
  const err = document.createElement('div');
  err.className = 'opt-error';
  d.append(err);
  return d;
}

function setOption(i: number, key: string, value: OptValue): void {
  const racer = state.racers[i];
  const options = { ...racer.options, [key]: value };
  try {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError(`${key}: not a number`);
    checkRacerOptions(racer.opt, { ...LAB_DEFAULTS[racer.opt], ...options });
  } catch (e) {
    const row = document.querySelectorAll('#racers tbody tr')[i];
    const cell = row?.querySelectorAll('td')[6];
    if (cell) cell.textContent = (e as Error).message;
    return;
  }
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

/** Badge for a racer at its point j: converged (which minimum), diverged, at a saddle, escaped. */
function statusOf(run: Run, j: number): { text: string; cls: string } {
  const last = run.xs.length - 1;
  if (run.diverged && j === last) return surface.minima.length ? { text: 'diverged', cls: 'bad' } : { text: 'escaped (unbounded)', cls: 'good' };
  const x = run.xs[j];
  const y = run.ys[j];
  const span = Math.max(surface.view.x[1] - surface.view.x[0], surface.view.y[1] - surface.view.y[0]);
  const [gx, gy] = surface.grad(x, y);
  const gn = Math.hypot(gx, gy);
  for (const m of surface.minima) {
    if (Math.hypot(x - m.x[0], y - m.x[1]) < 2e-3 * span && gn < 1e-2) return { text: m.global ? 'converged · global min' : 'converged · local min', cls: m.global ? 'good' : 'warn' };
  }
  // noisy racers never settle exactly: say which minimum they are jittering around
  for (const m of surface.minima) {
    if (Math.hypot(x - m.x[0], y - m.x[1]) < 0.04 * span) return { text: m.global ? 'near the global min' : 'near a local min', cls: m.global ? 'good' : 'warn' };
  }
  const outside = x < surface.view.x[0] || x > surface.view.x[1] || y < surface.view.y[0] || y > surface.view.y[1];
  if (outside) return surface.minima.length ? { text: 'left the view', cls: 'warn' } : { text: 'escaped', cls: 'good' };
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
  for (const b of document.querySelectorAll<HTMLButtonElement>('#presets button')) b.classList.toggle('active', b.dataset.preset === state.preset);
  const p = PRESETS.find((x) => x.id === state.preset);
  $('explain').textContent = p ? `${p.title}. ${p.text}` : 'Pick a lecture figure above, or play: choose a surface, click or drag on the map to set the start, change learning rates in the table.';
  $('surface-desc').textContent = `${surface.title}: f(x, y) = ${surface.formula} — ${surface.description}. ★ global minimum, ○ local minimum, × saddle or maximum.`;
  $('play').textContent = playing ? '❚❚ pause' : '▶ play';
  for (const b of document.querySelectorAll<HTMLButtonElement>('#tabs button')) b.classList.toggle('active', b.dataset.view === state.view);
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
  const fn = $<HTMLSelectElement>('fn');
  for (const n of surfaceNames) {
    const o = document.createElement('option');
    o.value = n;
    o.textContent = getSurface(n).title;
    fn.append(o);
  }
  fn.addEventListener('change', () => {
    state.fn = fn.value;
    state.start = [...getSurface(fn.value).start] as [number, number];
    state.preset = '';
    state.t = 0;
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
    const v = Math.round(Number((e.target as HTMLInputElement).value));
    if (Number.isFinite(v)) state.budget = Math.min(LIMITS.budget[1], Math.max(LIMITS.budget[0], v));
    state.t = Math.min(state.t, state.budget);
    changed();
  });
  for (const el of document.querySelectorAll<HTMLInputElement>('input[name=lrm]'))
    el.addEventListener('change', () => {
      state.lrMode = el.value === 'one' ? 'one' : 'each';
      changed();
    });
  $<HTMLInputElement>('lr').addEventListener('change', (e) => {
    const v = Number((e.target as HTMLInputElement).value);
    if (Number.isFinite(v) && v >= 0 && v <= LIMITS.lr[1]) state.lr = v;
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
    const v = Number((e.target as HTMLInputElement).value);
    if (Number.isFinite(v) && v >= 0 && v <= LIMITS.noise[1]) state.noise = v;
    changed(false);
  });
  $<HTMLInputElement>('seed').addEventListener('change', (e) => {
    const v = Number((e.target as HTMLInputElement).value);
    if (Number.isInteger(v) && v >= 0 && v <= LIMITS.seed[1]) state.seed = v;
    changed(false);
  });
  $<HTMLInputElement>('show-moments').addEventListener('change', (e) => {
    state.moments = (e.target as HTMLInputElement).checked;
    changed(false);
  });
  const add = $<HTMLSelectElement>('add-opt');
  for (const n of optimizerNames()) {
    const o = document.createElement('option');
    o.value = n;
    o.textContent = getOptimizer(n).name;
    add.append(o);
  }
  $('add').addEventListener('click', () => {
    state.racers.push({ opt: add.value, noisy: false, options: {} });
    changed();
  });
  $('add-all').addEventListener('click', () => {
    const have = new Set(state.racers.map((r) => r.opt));
    for (const n of optimizerNames()) if (n !== 'sgd' && !MATRIX_ONLY.has(n) && !have.has(n)) state.racers.push({ opt: n, noisy: false, options: {} });
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
  let dragging = false;
  let pending: [number, number] | undefined;
  const toXY = (ev: PointerEvent): [number, number] => {
    const rect = mapCanvas.getBoundingClientRect();
    const [x, y] = frame.fromPx(((ev.clientX - rect.left) / rect.width) * MAP_W, ((ev.clientY - rect.top) / rect.height) * mapH);
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
    buildTable();
    draw();
  };
  mapCanvas.addEventListener('pointerup', end);
  mapCanvas.addEventListener('pointercancel', end);
  // keyboard: space plays / pauses, → and ← step one evaluation (not while typing in a field)
  document.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement;
    if (state.view !== 'race' || ['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(t.tagName)) return;
    if (ev.key === ' ') {
      ev.preventDefault();
      playing ? pause() : play();
    } else if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
      pause();
      setT(Math.floor(state.t) + (ev.key === 'ArrowRight' ? 1 : -1));
    }
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>('#tabs button'))
    b.addEventListener('click', () => {
      state.view = b.dataset.view === 'schedules' ? 'schedules' : 'race';
      if (state.view === 'schedules') redrawSchedules();
      syncControls();
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
      parsed.notices.push(`schedule ${name}: ${r.error} — defaults used`);
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
      return runs.map((r) => ({ opt: r.racer.opt, label: r.label, noisy: r.racer.noisy, options: r.options, xs: [...r.xs], ys: [...r.ys], fs: [...r.fs], cost: [...r.cost], diverged: r.diverged, error: r.error, moments: r.moments }));
    },
    get perf() {
      return { ...perf, lastComputeMs };
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
