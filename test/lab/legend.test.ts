/**
 * A chart's legend names every series without covering the curves: its entries sit between the title
 * and the plot, inside the chart's width. Runs the lab's own drawing code in Node on a stand-in canvas
 * that records the text drawn and the plot's clip rectangle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawChart, type Series } from '../../lab/src/draw.js';

interface Drawn {
  texts: { text: string; x: number; y: number }[];
  rects: number[][];
}

/** A 2-D context that keeps fillText and rect calls, measures text at 6 px a character, ignores the rest. */
function recordingContext(d: Drawn): CanvasRenderingContext2D {
  const target = {
    fillText: (text: string, x: number, y: number) => d.texts.push({ text, x, y }),
    rect: (...r: number[]) => d.rects.push(r),
    measureText: (t: string) => ({ width: 6 * t.length }),
    getTransform: () => ({ a: 1 }),
  };
  return new Proxy(target, {
    get: (o, k) => (k in o ? o[k as keyof typeof o] : () => {}),
    set: () => true,
  }) as unknown as CanvasRenderingContext2D;
}

function draw(w: number, h: number, labels: string[]): Drawn {
  const d: Drawn = { texts: [], rects: [] };
  const g = globalThis as { document?: unknown };
  const saved = g.document;
  g.document = { createElement: () => ({ getContext: () => recordingContext(d) }) };
  try {
    const xs = Array.from({ length: 60 }, (_, i) => i + 1);
    const series: Series[] = labels.map((label, k) => ({ label, color: '#000', xs, ys: xs.map((x) => (k + 1) * x) }));
    drawChart(recordingContext(d), w, h, series, { title: 'title', xLabel: 'x', yLabel: 'y', xMax: 60, legend: true });
    return d;
  } finally {
    g.document = saved;
  }
}

test('the legend sits between the title and the plot, never over the curves, and wraps to the width', () => {
  for (const [w, labels] of [
    [460, ['gradient gₓ', 'm (x)', 'm̂ (x)']],
    [460, ['Adagrad: x', 'Adagrad: y', 'RMSprop: x', 'RMSprop: y']],
    [300, ['Adagrad: x', 'Adagrad: y', 'RMSprop: x', 'RMSprop: y', 'RMSprop + noise: x', 'RMSprop + noise: y']],
  ] as const) {
    const d = draw(w, 250, [...labels]);
    assert.equal(d.rects.length, 1, 'one clip rectangle: the plot');
    const [px, py, pw] = d.rects[0];
    const keys = d.texts.filter((t) => (labels as readonly string[]).includes(t.text));
    assert.deepEqual(
      keys.map((t) => t.text),
      labels,
    );
    for (const t of keys) {
      // a label is 11 px tall, centred on y; its key line starts 26 px left of it
      assert.ok(t.y + 6 <= py, `${t.text} at y ${t.y} reaches into the plot, which starts at ${py}`);
      assert.ok(t.y - 6 >= 17, `${t.text} at y ${t.y} overlaps the title`);
      assert.ok(t.x - 26 >= px && t.x + 6 * t.text.length <= px + pw, `${t.text} at x ${t.x} leaves the plot's width`);
    }
  }
});
