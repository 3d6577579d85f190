/**
 * Schedules view: the learning rate against the step for every schedule of the library, drawn from
 * the library's own spec parser (src/schedule/parse.ts — the same text the CLI's --schedule takes),
 * with each schedule's parameters as controls. Reduce-on-plateau is left out: it follows a metric,
 * not the step.
 */
import { scheduleTable, parseSchedule } from '../../src/schedule/index.js';
import { drawChart } from './draw.js';

export const SCHED_LR = 0.1;
export const SCHED_STEPS = 100;

/** Starting values that show each schedule's shape within 100 steps (α₀ = 0.1). */
const START: Record<string, Record<string, string>> = {
  step: { stepSize: '25', gamma: '0.5' },
  multistep: { milestones: '30/60/80', gamma: '0.5' },
  exponential: { k: '0.03' },
  expgamma: { gamma: '0.97' },
  inverse: { k: '0.1' },
  polynomial: { totalSteps: '100', power: '2' },
  linear: { totalSteps: '50', startFactor: '0.1', endFactor: '1' },
  cosine: { totalSteps: '100', minLr: '0.001' },
  sgdr: { t0: '10', tMult: '2', minLr: '0' },
  cyclic: { maxLr: '0.5', stepSizeUp: '15', mode: 'triangular2' },
  onecycle: { totalSteps: '100', pctStart: '0.3' },
  snapshot: { totalSteps: '100', cycles: '4' },
  swalr: { swaLr: '0.02', annealSteps: '30' },
};

export function scheduleNames(): string[] {
  return Object.keys(scheduleTable);
}

export function scheduleParams(name: string): string[] | undefined {
  const e = scheduleTable[name];
  return e ? Object.keys(e.params) : undefined;
}

/**
 * The spec a racer gets when a schedule is picked for it: the starting parameters without the ones
 * that fix a length (the race's budget is the schedule's length instead).
 */
export function racerSpec(name: string): string {
  const p = startParams(name);
  delete p.totalSteps;
  return specOf(name, p);
}

export function startParams(name: string): Record<string, string> {
  return { ...(START[name] ?? {}) };
}

/** A value from a control or the URL: a short token of digits, letters, '.', '/', '+', '-', '_'. */
export const SAFE_VALUE = /^[A-Za-z0-9_./+-]{1,30}$/;

export function specOf(name: string, params: Record<string, string>): string {
  const body = Object.entries(params)
    .filter(([, v]) => v !== '' && SAFE_VALUE.test(v))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return body ? `${name}:${body}` : name;
}

/** lr(t) for t = 0..steps, or the library's error message (which names the schedule). */
export function sampleSchedule(name: string, params: Record<string, string>): { lrs: number[] } | { error: string } {
  try {
    const p = parseSchedule(specOf(name, params), { lr: SCHED_LR, total: SCHED_STEPS });
    if (p.kind !== 'schedule') return { error: `schedule ${name}: not a function of the step` };
    const lrs: number[] = [];
    for (let t = 0; t < SCHED_STEPS; t++) lrs.push(p.schedule(t));
    return { lrs };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Okabe–Ito, as the race uses. */
const OVERLAY_COLORS = ['#D55E00', '#0072B2', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];

/**
 * Build the cards once; `onChange(name, params)` is called when a control changes. Above them, the
 * schedules ticked "overlay" share one pair of axes (step, lr) so their decays can be compared.
 */
export function buildSchedulesView(
  host: HTMLElement,
  current: Record<string, Record<string, string>>,
  onChange: (name: string, params: Record<string, string>) => void,
): () => void {
  host.replaceChildren();
  const redraws: (() => void)[] = [];
  const overlay = new Set(['step', 'exponential', 'cosine', 'onecycle']);
  const ov = document.createElement('div');
  ov.className = 'sched-card sched-overlay';
  const ovCanvas = document.createElement('canvas');
  ovCanvas.id = 'sched-overlay';
  ovCanvas.setAttribute('role', 'img');
  ovCanvas.setAttribute('aria-describedby', 'sched-overlay-text');
  const ovText = document.createElement('p');
  ovText.id = 'sched-overlay-text';
  ovText.className = 'sr-only';
  const OW = 720;
  const OH = 280;
  const odpr = window.devicePixelRatio || 1;
  ovCanvas.width = OW * odpr;
  ovCanvas.height = OH * odpr;
  ovCanvas.style.width = `${OW}px`;
  ovCanvas.style.height = `${OH}px`;
  ov.append(ovCanvas, ovText);
  host.append(ov);
  const redrawOverlay = () => {
    const names = scheduleNames().filter((n) => overlay.has(n));
    const series = names.flatMap((n, i) => {
      const r = sampleSchedule(n, current[n] ?? startParams(n));
      return 'lrs' in r
        ? [
            {
              label: n,
              color: OVERLAY_COLORS[i % OVERLAY_COLORS.length],
              dash: i >= OVERLAY_COLORS.length ? [2, 3] : [],
              xs: r.lrs.map((_, t) => t),
              ys: r.lrs,
            },
          ]
        : [];
    });
    const g = ovCanvas.getContext('2d')!;
    g.setTransform(odpr, 0, 0, odpr, 0, 0);
    drawChart(g, OW, OH, series, {
      title: 'schedules ticked "overlay", on shared axes',
      xLabel: 'step t',
      yLabel: 'lr',
      xMax: SCHED_STEPS,
      legend: series.length > 0,
    });
    const r3 = (v: number) => Number(v.toPrecision(3));
    ovText.textContent = `Overlay of ${series.map((q) => `${q.label} from ${r3(q.ys[0])} to ${r3(q.ys[q.ys.length - 1])}`).join('; ') || 'no schedule'}.`;
  };
  for (const name of scheduleNames()) {
    const entry = scheduleTable[name];
    const card = document.createElement('div');
    card.className = 'sched-card';
    const h = document.createElement('h3');
    h.textContent = `${name} — ${entry.help}`;
    card.append(h);
    const canvas = document.createElement('canvas');
    canvas.setAttribute('role', 'img');
    const W = 360;
    const H = 180;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = W * dpr;
    canvas.height = H * dpr;
    canvas.style.width = `${W}px`;
    canvas.style.height = `${H}px`;
    const err = document.createElement('div');
    err.className = 'sched-error';
    const spec = document.createElement('code');
    const row = document.createElement('div');
    row.className = 'sched-params';
    const params = (): Record<string, string> => current[name] ?? startParams(name);
    const redraw = () => {
      const p = params();
      spec.textContent = `--schedule ${specOf(name, p)}  (α₀ = ${SCHED_LR}, ${SCHED_STEPS} steps)`;
      const r = sampleSchedule(name, p);
      const g = canvas.getContext('2d')!;
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      const lrs = 'lrs' in r ? r.lrs : [];
      err.textContent = 'error' in r ? r.error : '';
      drawChart(g, W, H, [{ label: name, color: '#0072B2', xs: lrs.map((_, i) => i), ys: lrs }], {
        title: 'learning rate',
        xLabel: 'step t',
        yLabel: 'lr',
        xMax: SCHED_STEPS,
      });
      // the chart's text equivalent: the values at a few steps
      const at = [0, 25, 50, 75, SCHED_STEPS - 1].filter((t) => t < lrs.length);
      canvas.setAttribute(
        'aria-label',
        lrs.length
          ? `${name}: lr ${at.map((t) => `${Number(lrs[t].toPrecision(3))} at step ${t}`).join(', ')}`
          : `${name}: ${err.textContent}`,
      );
    };
    for (const [field, q] of Object.entries(entry.params)) {
      const label = document.createElement('label');
      label.title = q.help;
      const input = document.createElement('input');
      input.dataset.param = field;
      input.setAttribute('aria-label', `${name} ${field}: ${q.help}`);
      if (q.kind === 'boolean') {
        input.type = 'checkbox';
        input.checked = params()[field] === 'true';
      } else {
        input.type = q.kind === 'number' || q.kind === 'int' ? 'number' : 'text';
        if (input.type === 'number') input.step = q.kind === 'int' ? '1' : 'any';
        input.value = params()[field] ?? '';
        input.placeholder = q.help;
        input.size = 8;
      }
      input.addEventListener('change', () => {
        const next = { ...params() };
        const v = input.type === 'checkbox' ? String(input.checked) : input.value.trim();
        if (v === '' || v === 'false') delete next[field];
        else next[field] = v;
        onChange(name, next);
        redraw();
        redrawOverlay();
      });
      label.append(`${q.keys[0]} `, input);
      row.append(label);
    }
    const pick = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'overlay';
    box.dataset.schedule = name;
    box.setAttribute('aria-label', `overlay ${name}`);
    box.checked = overlay.has(name);
    box.addEventListener('change', () => {
      if (box.checked) overlay.add(name);
      else overlay.delete(name);
      redrawOverlay();
    });
    pick.append(box, ' overlay');
    row.append(pick);
    card.append(row, canvas, spec, err);
    host.append(card);
    redraws.push(redraw);
  }
  redraws.push(redrawOverlay);
  return () => redraws.forEach((r) => r());
}
