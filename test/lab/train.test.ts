/**
 * The training page (lab/train.html) in a real browser: builds lab/ with Vite into a temporary
 * folder, serves it on 127.0.0.1 with the COOP/COEP headers (so the page is cross-origin isolated
 * and the worker may use threads), and drives Debian's Chromium through playwright-core. Checks:
 *   - the size budget: the training page's JS + CSS ≤ 300 KB gzipped, the wasm kernels (embedded
 *     in the worker as base64) and the data set counted apart and printed;
 *   - every preset loads, trains steps and draws its charts (a screenshot of each goes to
 *     test/lab/screenshots/, gitignored);
 *   - a short run's per-step losses in the browser equal the same run in Node (TrainSession on the
 *     same data and seed);
 *   - a hostile URL gets defaults and a notice naming each rejected value, and runs no script;
 *   - the main thread keeps ≥ 30 frames/s (requestAnimationFrame count) while a network trains.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { loadEmbedded } from '../../src/node.js';
import { TrainSession, type DropMasks, type StepRecord } from '../../lab/src/train/session.js';
import { DEFAULTS, fromQuery, toQuery, type TrainConfig } from '../../lab/src/train/config.js';
import { TRAIN_PRESETS } from '../../lab/src/train/presets.js';
import { usableLanguage } from '../../lab/src/train/locale.js';
import { launchChromiumContext } from '../browser/chromium.js';
import { buildAndServeLab, type ServedLab } from './serve.js';

const repo = process.env.DESCENT_REPO ?? fileURLToPath(new URL('../../../', import.meta.url));
const shots = join(repo, 'test', 'lab', 'screenshots');

type Page = import('playwright-core').Page;
type Context = import('playwright-core').BrowserContext;

let outDir = '';
let profile = '';
let lab: ServedLab | undefined;
let base = '';
let ctx: Context;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
}

before(async () => {
  lab = await buildAndServeLab('descent-lab-train-');
  outDir = lab.outDir;
  base = lab.base;
  profile = mkdtempSync(join(tmpdir(), 'descent-lab-train-profile-'));
  ctx = await launchChromiumContext(profile, { viewport: { width: 1400, height: 1500 } });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await ctx?.close();
  await lab?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function open(query = '', init?: () => void): Promise<{ page: Page; errors: string[] }> {
  const page = await ctx.newPage();
  if (init) await page.addInitScript(init);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(`${base}train.html${query ? `?${query}` : ''}`);
  await page.waitForFunction(() => (window as any).__train?.ready === true, undefined, { timeout: 60000 });
  return { page, errors };
}

interface PageRun {
  label: string;
  config: TrainConfig;
  steps: StepRecord[];
  epochs: { testAccuracy: number }[];
  done: boolean;
  error?: string;
}
const pageRuns = (page: Page) => page.evaluate(() => (window as any).__train.runs as PageRun[]);

test("size budget: the training page's JS + CSS ≤ 300 KB gzipped (wasm kernels and data counted apart)", () => {
  const assets = walk(outDir).filter((f) => /\.(js|css)$/.test(f) && !/[\\/]index-[^\\/]+$/.test(f));
  let code = 0,
    wasm = 0;
  for (const f of assets) {
    const text = readFileSync(f, 'utf8');
    // The kernels are embedded as base64 strings (kernels.generated.ts); they are the wasm binary, counted apart.
    const b64 = text.match(/["'`][A-Za-z0-9+/]{4096,}={0,2}["'`]/g) ?? [];
    const binary = b64.reduce((a, s) => a + s.length, 0);
    wasm += b64.reduce((a, s) => a + gzipSync(Buffer.from(s.slice(1, -1), 'base64')).length, 0);
    code += gzipSync(text.replace(/["'`][A-Za-z0-9+/]{4096,}={0,2}["'`]/g, '""')).length;
    assert.ok(binary >= 0);
  }
  const data = walk(join(outDir, 'fashion-mnist-subset')).reduce((a, f) => a + statSync(f).size, 0);
  console.log(
    `# training page: JS+CSS ${(code / 1024).toFixed(1)} KB gzipped; wasm kernels ${(wasm / 1024).toFixed(1)} KB gzipped; data ${(data / 1024).toFixed(0)} KB`,
  );
  assert.ok(code > 10 * 1024, `the page's code is only ${code} bytes; the build did not include it`);
  assert.ok(code <= 300 * 1024, `JS+CSS is ${(code / 1024).toFixed(1)} KB gzipped, over the 300 KB budget`);
  assert.ok(wasm > 0, 'no embedded wasm kernels found in the worker bundle');
});

test('URL round trip and validation of the settings', () => {
  const c: TrainConfig = {
    ...DEFAULTS,
    optimizer: 'adam',
    lr: 0.003,
    hidden: 32,
    reg: 'dropout',
    p: 0.25,
    seed: 7,
    arch: 'cnn',
    pool: 'fmp',
    schedule: 'snapshot',
    cycles: 3,
  };
  const back = fromQuery(toQuery(c, 'dropout'));
  assert.deepEqual(back.config, c);
  assert.equal(back.preset, 'dropout');
  assert.deepEqual(back.errors, []);
  const bad = fromQuery('lr=1e400&hidden=3.5&optimizer=sdg&batch=0x10&nope=1');
  assert.deepEqual(bad.config, DEFAULTS);
  assert.equal(bad.errors.length, 5);
  assert.match(bad.errors.join('\n'), /lr: expected a number in \[0.000001, 10\], got 1e400/);
  assert.match(bad.errors.join('\n'), /optimizer: expected one of sgd, momentum/);
  assert.match(bad.errors.join('\n'), /unknown setting "nope"/);
  const bad2 = fromQuery('pool=avg&cycles=0&schedule=cyclic');
  assert.deepEqual(bad2.config, DEFAULTS);
  assert.deepEqual(bad2.errors, [
    'pool: expected one of max, fmp, got "avg"',
    'cycles: expected an integer in [1, 50], got 0',
    'schedule: expected one of constant, exponential, inverse, snapshot, got "cyclic"',
  ]);
});

test("the page starts in a Chromium under the C locale, whose language ('en-US@posix') Intl refuses and uPlot reads as it loads", async () => {
  assert.equal(usableLanguage('en-US@posix'), 'en-US');
  assert.equal(usableLanguage('de-DE'), 'de-DE');
  assert.equal(usableLanguage(''), 'en-US');
  const cProfile = mkdtempSync(join(tmpdir(), 'descent-lab-train-c-locale-'));
  const c = await launchChromiumContext(cProfile, { env: { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', LANGUAGE: '' } });
  try {
    const page = await c.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.addInitScript(() => {
      (window as any).__languageAtStart = navigator.language;
    });
    await page.goto(`${base}train.html`);
    await page.waitForFunction(() => (window as any).__train?.ready === true, undefined, { timeout: 60000 });
    const [atStart, now] = await page.evaluate(() => [(window as any).__languageAtStart as string, navigator.language]);
    console.log(`# Chromium under LANG=C.UTF-8: navigator.language ${JSON.stringify(atStart)}, on the page ${JSON.stringify(now)}`);
    assert.equal(now, usableLanguage(atStart));
    assert.deepEqual(errors, []);
  } finally {
    await c.close();
    rmSync(cProfile, { recursive: true, force: true });
  }
});

test('a short run in the browser gives the losses of the same run in Node', async () => {
  const c: TrainConfig = {
    ...DEFAULTS,
    arch: 'mlp',
    hidden: 16,
    optimizer: 'sgd',
    lr: 0.05,
    batch: 32,
    train: 256,
    test: 100,
    epochs: 2,
    seed: 3,
  };
  const { page, errors } = await open(toQuery(c));
  await page.waitForFunction(() => (window as any).__train.done === true, undefined, { timeout: 120000 });
  const [run] = await pageRuns(page);
  await page.close();
  assert.deepEqual(errors, []);
  assert.equal(run.error, undefined);
  const { train, test: testSet } = loadEmbedded();
  const s = new TrainSession(c, train, testSet);
  const node: StepRecord[] = [];
  for (let r = s.next(); r; r = s.next()) node.push(r.step);
  assert.equal(run.steps.length, node.length);
  assert.equal(node.length, 16);
  let worst = 0;
  for (let i = 0; i < node.length; i++) worst = Math.max(worst, Math.abs(run.steps[i].loss - node[i].loss) / Math.abs(node[i].loss));
  console.log(`# browser vs Node, ${node.length} SGD steps: largest relative loss difference ${worst.toExponential(2)}`);
  // SGD uses + − × ÷ only in its update; the loss (exp/log in cross-entropy) may differ in the last bits between engines.
  assert.ok(worst <= 1e-6, `browser and Node losses differ by ${worst} relative`);
  assert.ok(node[node.length - 1].loss < node[0].loss, 'the run did not train');
});

for (const id of Object.keys(TRAIN_PRESETS)) {
  test(`preset ${id}: loads, trains and draws`, async () => {
    const { page, errors } = await open(`preset=${id}`);
    await page.waitForFunction(
      () => {
        const t = (window as any).__train;
        return t.runs.length > 0 && t.runs[0].steps.length >= 5 && t.runs[0].epochs.length >= 1;
      },
      undefined,
      { timeout: 180000 },
    );
    await page.waitForTimeout(600);
    const runs = await pageRuns(page);
    assert.equal(runs.length, TRAIN_PRESETS[id].runs.length);
    assert.ok(runs[0].steps.every((s) => Number.isFinite(s.loss)));
    const canvases = await page.locator('#chart-step canvas').count();
    assert.ok(canvases >= 1, 'the loss chart was not drawn');
    assert.match(
      (await page.locator('#preset-text').textContent()) ?? '',
      new RegExp(TRAIN_PRESETS[id].text.slice(0, 20).replace(/[()]/g, '.')),
    );
    if (id === 'augment') {
      // 1 row of originals + 3 augmented rows of 8 garments, 62 px per cell.
      await page.waitForFunction(() => (document.getElementById('aug-canvas') as HTMLCanvasElement).height === 4 * 62, undefined, {
        timeout: 30000,
      });
      const ink = await page.evaluate(() => {
        const c = document.getElementById('aug-canvas') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 62, c.width, 62).data;
        let dark = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 128) dark++;
        return dark;
      });
      assert.ok(ink > 500, `the augmented garments row has only ${ink} dark pixels`);
    }
    await page.screenshot({ path: join(shots, `train-${id}.png`), fullPage: true });
    await page.close();
    assert.deepEqual(errors, []);
  });
}

/** A text drawn on a canvas: the canvas's id (else its nearest ancestor's), alignment, and whether its box lies inside the canvas. */
interface CanvasText {
  id: string;
  text: string;
  align: string;
  baseline: string;
  inside: boolean;
}
/** An init script: records every fillText on a canvas in window.__texts (CanvasText). */
function recordCanvasText(): void {
  const texts: CanvasText[] = [];
  (window as any).__texts = texts;
  const fill = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (this: CanvasRenderingContext2D, text: string, x: number, y: number) {
    const m = this.measureText(text);
    const x0 = x - (this.textAlign === 'center' ? m.width / 2 : this.textAlign === 'right' || this.textAlign === 'end' ? m.width : 0);
    const t = this.getTransform();
    const corners = [
      [x0, y - m.actualBoundingBoxAscent],
      [x0 + m.width, y - m.actualBoundingBoxAscent],
      [x0, y + m.actualBoundingBoxDescent],
      [x0 + m.width, y + m.actualBoundingBoxDescent],
    ].map(([a, b]) => t.transformPoint(new DOMPoint(a, b)));
    const c = this.canvas;
    const inside = corners.every((p) => p.x >= -0.5 && p.y >= -0.5 && p.x <= c.width + 0.5 && p.y <= c.height + 0.5);
    texts.push({
      id: c.id || c.parentElement?.closest('[id]')?.id || '',
      text,
      align: this.textAlign,
      baseline: this.textBaseline,
      inside,
    });
    fill.call(this, text, x, y);
  };
}

test("the ensemble preset's claims hold for what it draws: above the mean member at every N; its best, at N = 3, above every member; the snapshot ensemble's figures", async () => {
  const { page, errors } = await open('preset=ensemble', recordCanvasText);
  await page.waitForFunction(() => (window as any).__train.done === true, undefined, { timeout: 300000 });
  await page.waitForTimeout(600);
  // the x ticks of the charts against N and k: uPlot draws them centred under the plot
  const xTicks = await page.evaluate(() =>
    ((window as any).__texts as CanvasText[]).filter(
      (t) => (t.id === 'chart-ensemble' || t.id === 'chart-snapshot') && t.align === 'center' && /^[\d.]+$/.test(t.text),
    ),
  );
  const snapSwatch = await page.$$eval('#chart-step .u-series', (els) => {
    const e = els.find((x) => x.textContent?.includes('snapshots taken'))?.querySelector('.u-marker') as HTMLElement | undefined;
    return e ? getComputedStyle(e).backgroundColor : '';
  });
  const ens = await page.evaluate(
    () => (window as any).__train.ensemble as { members: number; memberAccuracy: number; accuracy: number }[],
  );
  const snap = await page.evaluate(
    () => (window as any).__train.snapshots as { at: number[]; report: { at: number[]; members: number[]; average: number } | null },
  );
  const legend = (await page.locator('#chart-step').textContent()) ?? '';
  const snapCaption = (await page.locator('#snapshot-cap').textContent()) ?? '';
  await page.locator('#chart-snapshot').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'train-ensemble-snapshot.png'), fullPage: true });
  await page.close();
  // The snapshot run: 5 snapshots at the ends of its cosine cycles, marked on the loss chart; the text's figures.
  assert.deepEqual(snap.at, [160, 320, 480, 640, 800]);
  assert.ok(snap.report);
  assert.deepEqual(snap.report.at, snap.at);
  assert.match(legend, /snapshots taken/);
  assert.equal(snapSwatch, 'rgb(230, 159, 0)', "the legend swatch has the markers' orange");
  assert.ok(xTicks.length > 4, `x ticks drawn: ${JSON.stringify(xTicks)}`);
  for (const t of xTicks) assert.ok(Number.isInteger(Number(t.text)), `fractional tick ${t.text} on ${t.id}`);
  assert.equal(snap.report.average, 0.785, 'the text says the snapshot ensemble reaches 78.5 %');
  assert.equal(snap.report.members[4], 0.801, 'the text says the last snapshot reaches 80.1 %');
  const meanSnapshot = snap.report.members.reduce((a, b) => a + b, 0) / snap.report.members.length;
  assert.equal(Math.round(meanSnapshot * 1000) / 10, 77.9, 'the text says the snapshots average 77.9 %');
  assert.ok(snap.report.average > meanSnapshot, 'the snapshot ensemble beats the mean snapshot');
  assert.ok(snap.report.average > ens[4].accuracy, 'and the five-member ensemble');
  assert.ok(snap.report.average < snap.report.members[4], 'but not the last snapshot, as the text says');
  assert.match(
    snapCaption,
    /snapshot ensemble 78\.5 %, the run's last snapshot \(the single model\) 80\.1 %, the ensemble of 5 independently trained members 72\.7 %/,
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(
    ens.map((e) => e.members),
    [1, 2, 3, 4, 5],
  );
  for (let n = 2; n <= 5; n++) {
    const members = ens.slice(0, n).map((e) => e.memberAccuracy);
    const mean = members.reduce((a, b) => a + b, 0) / n;
    assert.ok(ens[n - 1].accuracy > mean, `N = ${n}: ensemble ${ens[n - 1].accuracy} ≤ mean member ${mean}`);
  }
  const best = Math.max(...ens.map((e) => e.accuracy));
  assert.equal(ens[2].accuracy, best, 'the text says the ensemble is best at N = 3');
  assert.equal(best, 0.748);
  assert.ok(best > Math.max(...ens.map((e) => e.memberAccuracy)), 'the best ensemble does not beat every member');
  const lo = Math.min(...ens.map((e) => e.memberAccuracy)),
    hi = Math.max(...ens.map((e) => e.memberAccuracy));
  assert.ok(lo >= 0.53 && lo < 0.55 && hi >= 0.71 && hi < 0.72, `members span ${lo}–${hi}, the text says 54 %–71 %`);
});

test("the dropout preset's claim holds: lower test loss and higher train loss at the last epoch with dropout; one loss landscape, after the last run", async () => {
  const { page, errors } = await open('preset=dropout');
  await page.waitForFunction(() => (window as any).__train.done === true, undefined, { timeout: 300000 });
  const runs = await pageRuns(page);
  const landscapes = await page.evaluate(() => (window as any).__train.landscapes as number);
  await page.close();
  assert.deepEqual(errors, []);
  assert.equal(landscapes, 1, 'the loss landscape is computed once, when the last run ends');
  const last = (r: PageRun) => r.epochs[r.epochs.length - 1] as unknown as { testLoss: number; trainLoss: number };
  const [plain, drop] = runs.map(last);
  const firstTest = Math.min(...runs[0].epochs.map((e) => (e as unknown as { testLoss: number }).testLoss));
  assert.ok(plain.testLoss > firstTest + 0.1, `without dropout the test loss should turn up: best ${firstTest}, last ${plain.testLoss}`);
  assert.ok(drop.testLoss < plain.testLoss, `test loss with dropout ${drop.testLoss} ≥ without ${plain.testLoss}`);
  assert.ok(drop.trainLoss > plain.trainLoss, `train loss with dropout ${drop.trainLoss} ≤ without ${plain.trainLoss}`);
});

test("changing a setting during a preset ends the preset's runs: the modified settings train as one run, as the text says", async () => {
  const { page, errors } = await open('preset=dropout');
  await page.waitForFunction(() => (window as any).__train.runs[0]?.steps.length > 0, undefined, { timeout: 60000 });
  await page.fill('#set-lr', '0.03');
  await page.dispatchEvent('#set-lr', 'change');
  await page.waitForFunction(() => (window as any).__train.runs[0]?.steps.length > 0, undefined, { timeout: 60000 });
  const runs = await pageRuns(page);
  const preset = await page.evaluate(() => (window as any).__train.preset as string | null);
  const text = (await page.locator('#preset-text').textContent()) ?? '';
  const pressed = await page.$$eval('#presets button', (els) => els.map((e) => e.getAttribute('aria-pressed')));
  await page.close();
  assert.deepEqual(errors, []);
  assert.equal(preset, null);
  assert.equal(runs.length, 1);
  assert.equal(runs[0].config.lr, 0.03);
  assert.equal(runs[0].config.hidden, 256, "the preset's first run's other settings stay");
  assert.match(text, /^Modified settings: one run with the values below/);
  assert.ok(
    pressed.every((p) => p === 'false'),
    String(pressed),
  );
});

test('a preset clicked while paused starts afresh and plays', async () => {
  const { page, errors } = await open();
  await page.waitForFunction(() => (window as any).__train.runs[0]?.steps.length > 0, undefined, { timeout: 60000 });
  await page.click('#pause');
  assert.equal(await page.textContent('#pause'), 'resume');
  await page.click('#presets button[data-preset="decay"]');
  assert.equal(await page.textContent('#pause'), 'pause');
  await page.waitForFunction(() => (window as any).__train.runs[0]?.steps.length > 20, undefined, { timeout: 60000 });
  assert.equal(await page.evaluate(() => (window as any).__train.preset), 'decay');
  await page.close();
  assert.deepEqual(errors, []);
});

test('the confusion matrix, mistakes and landscape canvases: whole class names inside the canvas, sharp at devicePixelRatio 2', async () => {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Emulation.setDeviceMetricsOverride', { width: 1400, height: 1500, deviceScaleFactor: 2, mobile: false });
  await page.addInitScript(recordCanvasText);
  await page.goto(`${base}train.html?epochs=2&train=1000`);
  await page.waitForFunction(() => (window as any).__train?.done === true, undefined, { timeout: 120000 });
  await page.waitForTimeout(600);
  const texts = await page.evaluate(() => (window as any).__texts as CanvasText[]);
  const sizes = await page.$$eval('#confusion, #mistakes, #land-random, #land-pca', (els) =>
    els.map((e) => ({ id: e.id, backing: (e as HTMLCanvasElement).width, css: e.getBoundingClientRect().width })),
  );
  await page.close();
  assert.deepEqual(errors, []);
  const on = (id: string) => texts.filter((t) => t.id === id);
  const classes = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot'];
  for (const name of classes) assert.ok(on('confusion').filter((t) => t.text === name).length >= 2, `confusion: ${name} as row and column`);
  assert.ok(
    on('mistakes').length > 0 &&
      on('mistakes').every((t) =>
        /^is (.+)$/.test(t.text) ? classes.includes(t.text.slice(3)) : classes.includes(t.text.replace(/ \d+%$/, '')),
      ),
  );
  assert.match(on('land-random').at(-1)?.text ?? '', /^loss .* \(dark\) – .* \(yellow\)$/);
  const clipped = texts.filter((t) => ['confusion', 'mistakes', 'land-random', 'land-pca'].includes(t.id) && !t.inside);
  assert.deepEqual(clipped, [], 'text drawn past a canvas edge');
  for (const c of sizes) assert.equal(c.backing, 2 * Math.round(c.css - 2), `${c.id}: backing store ${c.backing} px for ${c.css} CSS px`);
});

test('a hostile URL gets the defaults and a notice, and runs no script', async () => {
  const { page, errors } = await open('arch=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&lr=1e400&epochs=-1');
  const notice = (await page.locator('#notice').textContent()) ?? '';
  const config = await page.evaluate(() => (window as any).__train.config as TrainConfig);
  await page.close();
  assert.match(notice, /arch: expected one of logreg, mlp, cnn, got "<img src=x onerror=alert\(1\)>"/);
  assert.match(notice, /lr: expected/);
  assert.match(notice, /epochs: expected an integer in \[1, 200\], got -1/);
  assert.equal(config.arch, DEFAULTS.arch);
  assert.deepEqual(errors, []);
});

test('the main thread keeps ≥ 30 frames/s while a network trains', async () => {
  const { page, errors } = await open(toQuery({ ...DEFAULTS, epochs: 50 }));
  await page.waitForFunction(() => (window as any).__train.runs[0]?.steps.length > 10, undefined, { timeout: 60000 });
  const fps = await page.evaluate(
    () =>
      new Promise<number>((ok) => {
        let n = 0;
        const t0 = performance.now();
        const tick = (t: number) => {
          n++;
          if (t - t0 < 3000) requestAnimationFrame(tick);
          else ok((n * 1000) / (t - t0));
        };
        requestAnimationFrame(tick);
      }),
  );
  const stepsDuring = (await pageRuns(page))[0].steps.length;
  await page.close();
  console.log(`# main thread while training: ${fps.toFixed(1)} frames/s (${stepsDuring} steps so far)`);
  assert.deepEqual(errors, []);
  assert.ok(fps >= 30, `${fps.toFixed(1)} frames/s`);
});

type Masks = DropMasks;
const pageMasks = (page: Page) =>
  page.evaluate(() => {
    const t = (window as any).__train;
    return { masks: t.masks as Masks | null, drawn: t.netDrawn as { kind: string; step: number; dropped: number; shown: number } | null };
  });

for (const [id, run] of [
  ['dropout', 1],
  ['dropconnect', 1],
] as const) {
  test(`preset ${id}: the drawn network greys exactly the mask's zeros, the masks change with each batch and are the ones Node's session replays at that step`, async () => {
    const { page, errors } = await open(`preset=${id}`);
    await page.waitForFunction((r) => (window as any).__train.runs[r]?.steps.length >= 3, run, { timeout: 240000 });
    await page.locator('#step').click();
    // Let the slices sent before the pause arrive; then each click is one batch.
    await page.waitForTimeout(1500);
    const seen: Masks[] = [];
    for (let k = 0; k < 3; k++) {
      const before = seen.length ? seen[seen.length - 1].step : -1;
      if (k > 0) await page.locator('#step').click();
      await page.waitForFunction(
        (b) => {
          const t = (window as any).__train;
          return (
            t.masks &&
            t.netDrawn &&
            (b < 0 || t.masks.step === b + 1) &&
            t.netDrawn.step === t.masks.step &&
            !document.getElementById('net')!.hidden
          );
        },
        before,
        { timeout: 30000 },
      );
      await page.waitForTimeout(300);
      const { masks, drawn } = await pageMasks(page);
      assert.ok(masks && drawn);
      assert.equal(drawn.step, masks.step);
      assert.equal(drawn.dropped, masks.keep.filter((v) => v === 0).length, 'greyed / dashed = the mask zeros');
      assert.equal(drawn.shown, masks.keep.length);
      seen.push(masks);
    }
    const runConfig = (await pageRuns(page))[run].config;
    const caption = (await page.locator('#net-cap').textContent()) ?? '';
    await page.screenshot({ path: join(shots, `train-${id}-net.png`), fullPage: false, clip: { x: 340, y: 0, width: 1060, height: 700 } });
    await page.close();
    assert.deepEqual(errors, []);
    const kind = id === 'dropout' ? 'dropout' : 'dropconnect';
    assert.ok(seen.every((m) => m.kind === kind));
    assert.equal(seen[1].step, seen[0].step + 1, 'one batch per click');
    assert.equal(seen[2].step, seen[1].step + 1);
    assert.notDeepEqual(seen[1].keep, seen[0].keep, 'the masks change with each batch');
    assert.match(caption, new RegExp(`step ${seen[2].step}: ${seen[2].keep.filter((v) => v === 0).length} of the`));
    // Same seed in Node: the masks at the same steps.
    const { train, test: testSet } = loadEmbedded();
    const s = new TrainSession(runConfig, train, testSet);
    for (const m of seen) {
      while (s.step < m.step) s.next();
      assert.deepEqual(s.masks(m.units.length, m.inputs.length ? m.inputs : undefined), m, `step ${m.step}`);
    }
  });
}

test("preset fmp: the library's regions cover the garment as it says, each drawn pooled pixel is its region's maximum, a click draws anew", async () => {
  const { page, errors } = await open('preset=fmp');
  await page.waitForFunction(() => (window as any).__train.fmp !== null, undefined, { timeout: 60000 });
  type Fmp = {
    seed: number;
    image: number[];
    panels: { sequence: string; overlapping: boolean; rows: number[][]; cols: number[][]; pooled: number[] }[];
  };
  const first = await page.evaluate(() => (window as any).__train.fmp as Fmp);
  const ink = await page.evaluate(() => {
    const c = document.getElementById('fmp-canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let orange = 0,
      dark = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 0 && d[i] > 180 && d[i + 2] < 120) orange++;
      if (d[i + 3] > 0 && d[i] < 100 && d[i + 1] < 100 && d[i + 2] < 100) dark++;
    }
    return { orange, dark };
  });
  await page.screenshot({ path: join(shots, 'train-fmp-regions.png'), clip: { x: 340, y: 0, width: 1060, height: 700 } });
  await page.locator('#fmp-canvas').click();
  await page.waitForFunction((s) => (window as any).__train.fmp.seed !== s, first.seed, { timeout: 30000 });
  const second = await page.evaluate(() => (window as any).__train.fmp as Fmp);
  await page.close();
  assert.deepEqual(errors, []);
  assert.ok(ink.orange > 2000 && ink.dark > 2000, `the regions and the garment are drawn (${ink.orange} orange, ${ink.dark} dark pixels)`);
  assert.deepEqual(
    first.panels.map((p) => `${p.sequence} ${p.overlapping}`),
    ['random false', 'random true', 'pseudorandom false', 'pseudorandom true'],
  );
  for (const p of first.panels) {
    const cover = new Int32Array(784);
    const ow = p.cols[0].length;
    for (let i = 0; i < p.rows[0].length; i++)
      for (let j = 0; j < ow; j++) {
        let m = -Infinity;
        for (let r = p.rows[0][i]; r < p.rows[1][i]; r++)
          for (let q = p.cols[0][j]; q < p.cols[1][j]; q++) {
            cover[r * 28 + q]++;
            m = Math.max(m, first.image[r * 28 + q]);
          }
        assert.equal(p.pooled[i * ow + j], m);
      }
    assert.ok(p.overlapping ? cover.every((v) => v >= 1) : cover.every((v) => v === 1), `${p.sequence} ${p.overlapping}: coverage`);
  }
  assert.equal(second.seed, first.seed + 1);
  assert.notDeepEqual(second.panels[0].rows, first.panels[0].rows, 'a click draws new regions');
});

test('a new user sees a network train within seconds: time from navigation to the first drawn loss point (measured, not asserted)', async () => {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}train.html`);
  await page.waitForFunction(() => (window as any).__train?.firstPointMs != null, undefined, { timeout: 60000 });
  const t = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    return {
      first: (window as any).__train.firstPointMs as number,
      loaded: nav.loadEventEnd,
      backend: (window as any).__train.backend as string,
    };
  });
  const canvases = await page.locator('#chart-step canvas').count();
  await page.close();
  console.log(
    `# first drawn loss point ${(t.first / 1000).toFixed(2)} s after navigation (load event at ${(t.loaded / 1000).toFixed(2)} s; ${t.backend})`,
  );
  assert.deepEqual(errors, []);
  assert.ok(canvases >= 1);
  assert.ok(t.first > 0);
});
