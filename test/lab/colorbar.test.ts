/**
 * The map's colour bar labels its ticks in the units its title names: f − f* (log) on a surface with a
 * minimum, f itself on the saddle. Runs the lab's own drawing code in Node on a stand-in canvas that
 * records the text drawn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawColorBar, renderSurface } from '../../lab/src/draw.js';
import { fRef } from '../../lab/src/race.js';
import { getSurface } from '../../src/surfaces/index.js';

/** A 2-D context that keeps the text drawn with fillText and ignores everything else. */
function recordingContext(texts: string[]): CanvasRenderingContext2D {
  const target = {
    fillText: (t: string) => texts.push(t),
    createImageData: (w: number, h: number) => ({ data: new Uint8ClampedArray(w * h * 4) }),
  };
  return new Proxy(target, {
    get: (o, k) => (k in o ? o[k as keyof typeof o] : () => {}),
    set: () => true,
  }) as unknown as CanvasRenderingContext2D;
}

function colourBarTicks(fn: string): number[] {
  const g = globalThis as { document?: unknown };
  const saved = g.document;
  g.document = { createElement: () => ({ getContext: () => recordingContext([]) }) };
  try {
    const s = getSurface(fn);
    const img = renderSurface(s, fRef(s), 60, 60);
    const texts: string[] = [];
    drawColorBar(recordingContext(texts), 400, 48, img, 'title');
    return texts.filter((t) => t !== 'title').map(Number);
  } finally {
    g.document = saved;
  }
}

test('saddle: the colour bar ticks are values of f, spanning the f seen on the map', () => {
  const s = getSurface('saddle');
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i <= 40; i++)
    for (let j = 0; j <= 40; j++) {
      const f = s.f(s.view.x[0] + ((s.view.x[1] - s.view.x[0]) * i) / 40, s.view.y[0] + ((s.view.y[1] - s.view.y[0]) * j) / 40);
      lo = Math.min(lo, f);
      hi = Math.max(hi, f);
    }
  const ticks = colourBarTicks('saddle');
  assert.ok(ticks.length >= 3 && ticks.every(Number.isFinite), String(ticks));
  assert.ok(Math.min(...ticks) < 0 && Math.max(...ticks) > 0, `ticks ${ticks} straddle f = 0 at the saddle`);
  for (const t of ticks) assert.ok(t >= lo - 1e-9 && t <= hi + 1e-9, `tick ${t} within f's range ${lo}…${hi}`);
});

test('a surface with a minimum: the colour bar ticks are powers of ten of f − f*', () => {
  const ticks = colourBarTicks('rosenbrock');
  assert.ok(ticks.length >= 3, String(ticks));
  for (const t of ticks) assert.equal(Math.log10(t), Math.round(Math.log10(t)), String(t));
});
