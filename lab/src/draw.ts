/**
 * Canvas 2D drawing: the surface as a heat map with log-spaced contour lines, the racers on it, and
 * small line charts (loss against evaluations, Adam's moments, schedules). No chart library.
 */
import type { Surface } from '../../src/surfaces/index.js';
import { indexAt, type Run } from './race.js';

export interface Frame {
  /** canvas pixel ↔ surface coordinates */
  toPx(x: number, y: number): [number, number];
  fromPx(px: number, py: number): [number, number];
  w: number;
  h: number;
}

/** A rectangle of the plane: [x0, x1] × [y0, y1]. */
export interface View {
  x: readonly [number, number] | readonly number[];
  y: readonly [number, number] | readonly number[];
}

export function frameFor(s: Surface, w: number, h: number, view: View = s.view): Frame {
  const [x0, x1] = view.x;
  const [y0, y1] = view.y;
  return {
    w,
    h,
    toPx: (x, y) => [((x - x0) / (x1 - x0)) * w, (1 - (y - y0) / (y1 - y0)) * h],
    fromPx: (px, py) => [x0 + (px / w) * (x1 - x0), y0 + (1 - py / h) * (y1 - y0)],
  };
}

// Low loss dark blue, high loss pale sand; the racers' saturated colours stay visible on both.
const STOPS: [number, number, number][] = [
  [8, 18, 48],
  [22, 52, 102],
  [40, 98, 138],
  [86, 146, 156],
  [158, 190, 168],
  [226, 222, 190],
];
function ramp(u: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, u)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const a = x - i;
  const p = STOPS[i];
  const q = STOPS[i + 1];
  return [p[0] + (q[0] - p[0]) * a, p[1] + (q[1] - p[1]) * a, p[2] + (q[2] - p[2]) * a];
}

/** How the heat map's colours map to loss values (for the colour bar). */
export interface SurfaceImage {
  canvas: HTMLCanvasElement;
  /** colour 0 ↔ lo, colour 1 ↔ hi, in log10(f − ref − base + δ) (logScale) or in f itself */
  lo: number;
  hi: number;
  logScale: boolean;
  base: number;
  delta: number;
}

/**
 * Heat map and contours of log10(f − ref + δ) — of f itself on a surface without a minimum (the
 * saddle), where "above the lowest value in view" has no meaning — rendered once per surface into an
 * offscreen canvas.
 */
export function renderSurface(s: Surface, ref: number, w: number, h: number, view: View = s.view): SurfaceImage {
  const logScale = s.minima.length > 0;
  const fr = frameFor(s, w, h, view);
  const cell = 2;
  const nx = Math.ceil(w / cell) + 1;
  const ny = Math.ceil(h / cell) + 1;
  const z = new Float64Array(nx * ny);
  let lo = Infinity;
  let hi = -Infinity;
  const raw = new Float64Array(nx * ny);
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      const [x, y] = fr.fromPx(i * cell, j * cell);
      raw[j * nx + i] = logScale ? s.f(x, y) - ref : s.f(x, y);
    }
  // δ: a small fraction of the spread keeps the minimum's neighbourhood from being all one colour.
  const sorted = Float64Array.from(raw).sort();
  const spread = sorted[Math.floor(sorted.length * 0.98)] - sorted[0];
  const delta = Math.max(spread * 1e-4, 1e-12);
  const base = Math.min(0, sorted[0]);
  for (let k = 0; k < z.length; k++) {
    z[k] = logScale ? Math.log10(raw[k] - base + delta) : raw[k];
    if (z[k] < lo) lo = z[k];
    if (z[k] > hi) hi = z[k];
  }
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const g = c.getContext('2d')!;
  const img = g.createImageData(w, h);
  for (let py = 0; py < h; py++)
    for (let px = 0; px < w; px++) {
      // bilinear sample of the grid
      const gx = px / cell;
      const gy = py / cell;
      const i = Math.min(nx - 2, Math.floor(gx));
      const j = Math.min(ny - 2, Math.floor(gy));
      const a = gx - i;
      const b = gy - j;
      const v =
        (1 - b) * ((1 - a) * z[j * nx + i] + a * z[j * nx + i + 1]) + b * ((1 - a) * z[(j + 1) * nx + i] + a * z[(j + 1) * nx + i + 1]);
      const [r, gg, bb] = ramp((v - lo) / (hi - lo || 1));
      const o = (py * w + px) * 4;
      img.data[o] = r;
      img.data[o + 1] = gg;
      img.data[o + 2] = bb;
      img.data[o + 3] = 255;
    }
  g.putImageData(img, 0, 0);
  // Contours: levels equally spaced in log10(f − ref + δ), i.e. log-spaced in the loss (in f on the linear scale).
  const levels = 16;
  g.strokeStyle = 'rgba(255,255,255,0.33)';
  g.lineWidth = 1;
  g.beginPath();
  for (let l = 1; l < levels; l++) {
    const level = lo + ((hi - lo) * l) / levels;
    marchingSquares(z, nx, ny, level, (ax, ay, bx, by) => {
      g.moveTo(ax * cell, ay * cell);
      g.lineTo(bx * cell, by * cell);
    });
  }
  g.stroke();
  return { canvas: c, lo, hi, logScale, base, delta };
}

/**
 * The colour bar under the map: the ramp from low to high loss with ticks in loss units (f − f*,
 * log-spaced, or f on a surface without a minimum).
 */
export function drawColorBar(g: CanvasRenderingContext2D, w: number, h: number, img: SurfaceImage, label: string): void {
  const L = 8;
  const R = 8;
  const barH = 12;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, w, h);
  for (let px = L; px < w - R; px++) {
    const [r, gg, b] = ramp((px - L) / (w - L - R));
    g.fillStyle = `rgb(${r | 0},${gg | 0},${b | 0})`;
    g.fillRect(px, 2, 1, barH);
  }
  g.fillStyle = '#333';
  g.font = '11px system-ui, sans-serif';
  g.textBaseline = 'top';
  g.textAlign = 'center';
  const X = (z: number) => L + ((z - img.lo) / (img.hi - img.lo || 1)) * (w - L - R);
  if (img.logScale) {
    // z = log10(v − base + δ); a tick at loss value 10^e sits at z = log10(10^e − base + δ)
    const e0 = Math.ceil(img.lo);
    const e1 = Math.floor(img.hi);
    const every = Math.max(1, Math.ceil((e1 - e0 + 1) / 8));
    for (let e = e0; e <= e1; e += every) {
      const x = X(Math.log10(10 ** e - img.base + img.delta));
      g.fillRect(x, 2 + barH, 1, 3);
      g.fillText(`1e${e}`, x, barH + 6);
    }
  } else {
    for (const v of niceTicks(img.lo, img.hi, 6)) {
      const x = X(v);
      g.fillRect(x, 2 + barH, 1, 3);
      g.fillText(short(v), x, barH + 6);
    }
  }
  g.textAlign = 'right';
  g.fillText(label, w - R, barH + 20);
}

/** Tick labels along the map's bottom and left edges, drawn inside the map with a light backing. */
function drawAxes(g: CanvasRenderingContext2D, fr: Frame): void {
  const [x0] = fr.fromPx(0, 0);
  const [x1] = fr.fromPx(fr.w, 0);
  const [, y1] = fr.fromPx(0, 0);
  const [, y0] = fr.fromPx(0, fr.h);
  g.font = '11px system-ui, sans-serif';
  g.lineWidth = 1;
  const label = (text: string, x: number, y: number, align: CanvasTextAlign, base: CanvasTextBaseline) => {
    g.textAlign = align;
    g.textBaseline = base;
    const m = g.measureText(text).width;
    const left = align === 'center' ? x - m / 2 : align === 'right' ? x - m : x;
    const top = base === 'bottom' ? y - 13 : base === 'middle' ? y - 7 : y;
    g.fillStyle = 'rgba(255,255,255,0.75)';
    g.fillRect(left - 2, top, m + 4, 14);
    g.fillStyle = '#111';
    g.fillText(text, x, y);
  };
  g.strokeStyle = 'rgba(255,255,255,0.9)';
  for (const v of niceTicks(x0, x1, 6)) {
    const [px] = fr.toPx(v, 0);
    if (px < 24 || px > fr.w - 24) continue;
    g.beginPath();
    g.moveTo(px, fr.h);
    g.lineTo(px, fr.h - 6);
    g.stroke();
    label(short(v), px, fr.h - 7, 'center', 'bottom');
  }
  for (const v of niceTicks(y0, y1, 5)) {
    const [, py] = fr.toPx(0, v);
    if (py < 14 || py > fr.h - 24) continue;
    g.beginPath();
    g.moveTo(0, py);
    g.lineTo(6, py);
    g.stroke();
    label(short(v), 8, py, 'left', 'middle');
  }
  label('x', fr.w - 6, fr.h - 7, 'right', 'bottom');
  label('y', 8, 10, 'left', 'top');
}

/** Segments of the level set z = level on a grid (cell corners at integer coordinates). */
export function marchingSquares(
  z: Float64Array,
  nx: number,
  ny: number,
  level: number,
  seg: (ax: number, ay: number, bx: number, by: number) => void,
): void {
  const t = (a: number, b: number) => (level - a) / (b - a);
  for (let j = 0; j < ny - 1; j++)
    for (let i = 0; i < nx - 1; i++) {
      const v0 = z[j * nx + i]; // top-left
      const v1 = z[j * nx + i + 1]; // top-right
      const v2 = z[(j + 1) * nx + i + 1]; // bottom-right
      const v3 = z[(j + 1) * nx + i]; // bottom-left
      const code = (v0 > level ? 8 : 0) | (v1 > level ? 4 : 0) | (v2 > level ? 2 : 0) | (v3 > level ? 1 : 0);
      if (code === 0 || code === 15) continue;
      // edge crossing points
      const top = (): [number, number] => [i + t(v0, v1), j];
      const right = (): [number, number] => [i + 1, j + t(v1, v2)];
      const bottom = (): [number, number] => [i + t(v3, v2), j + 1];
      const left = (): [number, number] => [i, j + t(v0, v3)];
      const pairs: [() => [number, number], () => [number, number]][] = [];
      switch (code) {
        case 1:
        case 14:
          pairs.push([left, bottom]);
          break;
        case 2:
        case 13:
          pairs.push([bottom, right]);
          break;
        case 3:
        case 12:
          pairs.push([left, right]);
          break;
        case 4:
        case 11:
          pairs.push([top, right]);
          break;
        case 6:
        case 9:
          pairs.push([top, bottom]);
          break;
        case 7:
        case 8:
          pairs.push([left, top]);
          break;
        case 5:
          pairs.push([left, top], [bottom, right]);
          break;
        case 10:
          pairs.push([top, right], [left, bottom]);
          break;
      }
      for (const [p, q] of pairs) {
        const a = p();
        const b = q();
        seg(a[0], a[1], b[0], b[1]);
      }
    }
}

export interface RacerStyle {
  color: string;
  dash: number[];
  /**
   * NAG's momentum μ: the look-ahead point x + μ(x − x_prev), where (in PyTorch's form of Nesterov)
   * the next gradient is effectively taken, is drawn as a hollow ring joined to the racer.
   */
  lookAhead?: number;
}

/** Background, critical points, the racers' paths up to timeline position k, the start. */
export function drawMap(
  g: CanvasRenderingContext2D,
  bg: HTMLCanvasElement,
  s: Surface,
  fr: Frame,
  runs: Run[],
  styles: RacerStyle[],
  k: number,
  start: [number, number],
): void {
  g.drawImage(bg, 0, 0, fr.w, fr.h);
  g.lineJoin = 'round';
  g.lineCap = 'round';
  // the first racer (the preset's subject, usually GD) is drawn last, on top
  for (let r = runs.length - 1; r >= 0; r--) {
    const run = runs[r];
    const last = indexAt(run, k);
    if (last < 0) continue;
    g.setLineDash(styles[r].dash);
    g.beginPath();
    for (let i = 0; i <= last; i++) {
      const [px, py] = clampPx(fr.toPx(run.xs[i], run.ys[i]));
      if (i === 0) g.moveTo(px, py);
      else g.lineTo(px, py);
    }
    // a light halo under the colour keeps every palette colour visible on the dark, low-loss part of the map
    g.strokeStyle = 'rgba(255,255,255,0.7)';
    g.lineWidth = 5;
    g.stroke();
    g.strokeStyle = styles[r].color;
    g.lineWidth = 2.2;
    g.stroke();
    g.setLineDash([]);
    const [px, py] = clampPx(fr.toPx(run.xs[last], run.ys[last]));
    g.fillStyle = styles[r].color;
    g.strokeStyle = '#000';
    g.lineWidth = 1.5;
    g.beginPath();
    g.arc(px, py, 5, 0, 2 * Math.PI);
    g.fill();
    g.stroke();
    const mu = styles[r].lookAhead;
    if (mu && last >= 1) {
      const lx = run.xs[last] + mu * (run.xs[last] - run.xs[last - 1]);
      const ly = run.ys[last] + mu * (run.ys[last] - run.ys[last - 1]);
      const [qx, qy] = clampPx(fr.toPx(lx, ly));
      g.strokeStyle = styles[r].color;
      g.lineWidth = 1.5;
      g.setLineDash([3, 3]);
      g.beginPath();
      g.moveTo(px, py);
      g.lineTo(qx, qy);
      g.stroke();
      g.setLineDash([]);
      g.beginPath();
      g.arc(qx, qy, 4, 0, 2 * Math.PI);
      g.stroke();
    }
  }
  drawCritical(g, s, fr);
  drawAxes(g, fr);
  // the start: a white ring with a cross
  const [sx, sy] = fr.toPx(start[0], start[1]);
  g.strokeStyle = '#fff';
  g.lineWidth = 2;
  g.beginPath();
  g.arc(sx, sy, 7, 0, 2 * Math.PI);
  g.moveTo(sx - 11, sy);
  g.lineTo(sx + 11, sy);
  g.moveTo(sx, sy - 11);
  g.lineTo(sx, sy + 11);
  g.stroke();
}

/** Minima (★ global, ○ local) and saddles (×), drawn over the paths so they stay visible. */
function drawCritical(g: CanvasRenderingContext2D, s: Surface, fr: Frame): void {
  // minima: ★ global, ○ local; saddles ×
  g.lineWidth = 2;
  for (const m of s.minima) {
    const [px, py] = fr.toPx(m.x[0], m.x[1]);
    g.strokeStyle = '#ffffff';
    g.fillStyle = '#ffffff';
    if (m.global) star(g, px, py, 9);
    else {
      g.beginPath();
      g.arc(px, py, 6, 0, 2 * Math.PI);
      g.stroke();
    }
  }
  g.strokeStyle = '#ffffff';
  for (const sd of s.saddles) {
    const [px, py] = fr.toPx(sd.x[0], sd.x[1]);
    g.beginPath();
    g.moveTo(px - 5, py - 5);
    g.lineTo(px + 5, py + 5);
    g.moveTo(px - 5, py + 5);
    g.lineTo(px + 5, py - 5);
    g.stroke();
  }
}

/** Keep far-away (diverging) points drawable: canvas paths misbehave near ±1e9 px. */
function clampPx([x, y]: [number, number]): [number, number] {
  const L = 1e5;
  return [Math.max(-L, Math.min(L, x)), Math.max(-L, Math.min(L, y))];
}

function star(g: CanvasRenderingContext2D, x: number, y: number, r: number): void {
  g.beginPath();
  for (let i = 0; i < 10; i++) {
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    const rr = i % 2 ? r * 0.45 : r;
    const px = x + rr * Math.cos(a);
    const py = y + rr * Math.sin(a);
    if (i) g.lineTo(px, py);
    else g.moveTo(px, py);
  }
  g.closePath();
  g.fill();
  g.strokeStyle = '#000';
  g.lineWidth = 1;
  g.stroke();
}

// ---- line charts ---------------------------------------------------------------------------------

export interface Series {
  label: string;
  color: string;
  dash?: number[];
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  /** draw only points with index ≤ upto */
  upto?: number;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xMax: number;
  logY?: boolean;
  /** Upper end of the y axis at most this far (in axis units) above the highest first value: a diverging run is clipped instead of flattening the others. */
  headroom?: number;
  /** marker at this x (the timeline) */
  cursor?: number;
  /** Name every series in rows under the title (the plot moves down to make room). */
  legend?: boolean;
}

const layers = new Map<string, HTMLCanvasElement>();

export function drawChart(g: CanvasRenderingContext2D, w: number, h: number, series: Series[], o: ChartOptions): void {
  const L = 56;
  const R = 10;
  const B = 34;
  // The legend's entries flow in rows between the title and the plot, never over the curves.
  g.save();
  g.font = '11px system-ui, sans-serif';
  const keys: { q: Series; x: number; y: number }[] = [];
  let rows = 0;
  if (o.legend && series.length) {
    rows = 1;
    let x = L;
    for (const q of series) {
      const wide = 26 + g.measureText(q.label).width;
      if (x > L && x + wide > w - R) {
        rows++;
        x = L;
      }
      keys.push({ q, x, y: 26 + (rows - 1) * 15 });
      x += wide + 14;
    }
  }
  g.restore();
  const T = 24 + rows * 15;
  const tr = (v: number) => (o.logY ? Math.log10(Math.max(v, 1e-300)) : v);
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series)
    for (let i = 0; i < s.ys.length; i++) {
      const v = tr(s.ys[i]);
      if (Number.isFinite(v) && Math.abs(v) < 1e12) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  if (!Number.isFinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (o.headroom !== undefined) {
    let first = -Infinity;
    for (const s of series) if (s.ys.length && Number.isFinite(tr(s.ys[0]))) first = Math.max(first, tr(s.ys[0]));
    if (Number.isFinite(first)) hi = Math.min(hi, first + o.headroom);
  }
  if (o.logY) lo = Math.max(lo, hi - 16); // at most 16 decades
  if (hi - lo < 1e-9) {
    hi += 0.5;
    lo -= 0.5;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const X = (x: number) => L + (x / (o.xMax || 1)) * (w - L - R);
  const Y = (v: number) => T + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (h - T - B);
  // Axes, grid, labels and legend depend only on the ranges and the series' names: drawn once into a
  // cached layer, so a frame of the animation only blits it and strokes the curves.
  const a = g.getTransform().a || 1;
  const legendKey = keys.map(({ q }) => `${q.label}:${q.color}:${q.dash ?? ''}`).join('|');
  const key = `${w}x${h}@${a}|${lo}|${hi}|${o.xMax}|${o.title}|${o.xLabel}|${o.yLabel}|${!!o.logY}|${legendKey}`;
  let layer = layers.get(key);
  if (!layer) {
    layer = document.createElement('canvas');
    layer.width = Math.round(w * a);
    layer.height = Math.round(h * a);
    const c = layer.getContext('2d')!;
    c.setTransform(a, 0, 0, a, 0, 0);
    drawFrame(c);
    if (layers.size > 24) layers.clear();
    layers.set(key, layer);
  }
  g.drawImage(layer, 0, 0, w, h);

  function drawFrame(g: CanvasRenderingContext2D): void {
    g.fillStyle = '#fff';
    g.fillRect(0, 0, w, h);
    g.strokeStyle = '#ccc';
    g.fillStyle = '#444';
    g.font = '11px system-ui, sans-serif';
    g.lineWidth = 1;
    // y ticks
    const ticks = o.logY ? logTicks(lo, hi) : niceTicks(lo, hi, 5);
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (const tv of ticks) {
      const y = Y(tv);
      g.beginPath();
      g.moveTo(L, y);
      g.lineTo(w - R, y);
      g.stroke();
      g.fillText(o.logY ? `1e${tv}` : short(tv), L - 4, y);
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    for (const xv of niceTicks(0, o.xMax, 6)) {
      const x = X(xv);
      g.beginPath();
      g.moveTo(x, T);
      g.lineTo(x, h - B);
      g.stroke();
      g.fillText(short(xv), x, h - B + 3);
    }
    g.fillText(o.xLabel, (L + w - R) / 2, h - 14);
    g.font = 'bold 12px system-ui, sans-serif';
    g.textAlign = 'left';
    g.fillText(o.title, L, 5);
    g.save();
    g.translate(12, (T + h - B) / 2);
    g.rotate(-Math.PI / 2);
    g.textAlign = 'center';
    g.font = '11px system-ui, sans-serif';
    g.fillText(o.yLabel, 0, 0);
    g.restore();
    g.font = '11px system-ui, sans-serif';
    g.textAlign = 'left';
    g.textBaseline = 'middle';
    for (const { q, x, y } of keys) {
      g.strokeStyle = q.color;
      g.setLineDash(q.dash ?? []);
      g.lineWidth = 2;
      g.beginPath();
      g.moveTo(x, y);
      g.lineTo(x + 22, y);
      g.stroke();
      g.setLineDash([]);
      g.fillStyle = '#222';
      g.fillText(q.label, x + 26, y);
    }
  }

  g.save();
  g.beginPath();
  g.rect(L, T, w - L - R, h - T - B);
  g.clip();
  for (const s of series) {
    const n = Math.min(s.xs.length, (s.upto ?? Infinity) + 1);
    g.strokeStyle = s.color;
    g.setLineDash(s.dash ?? []);
    g.lineWidth = 2;
    g.beginPath();
    let pen = false;
    for (let i = 0; i < n; i++) {
      const v = tr(s.ys[i]);
      if (!Number.isFinite(v)) {
        pen = false;
        continue;
      }
      const x = X(s.xs[i]);
      const y = Y(v);
      if (pen) g.lineTo(x, y);
      else g.moveTo(x, y);
      pen = true;
    }
    g.stroke();
  }
  g.setLineDash([]);
  g.restore();
  if (o.cursor !== undefined) {
    g.strokeStyle = '#e33';
    g.beginPath();
    g.moveTo(X(o.cursor), T);
    g.lineTo(X(o.cursor), h - B);
    g.stroke();
  }
}

function short(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

function niceTicks(lo: number, hi: number, n: number): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const a = Math.ceil(lo);
  const b = Math.floor(hi);
  const every = Math.max(1, Math.ceil((b - a + 1) / 7));
  const out: number[] = [];
  for (let e = a; e <= b; e += every) out.push(e);
  return out;
}
