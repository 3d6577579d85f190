/**
 * The lab in a real browser: builds lab/ with Vite into a temporary folder, serves it on 127.0.0.1
 * with a tiny static server, and drives Chromium through playwright-core (Debian's if installed,
 * else the one inside the @sparticuz/chromium npm package; test/browser/chromium.ts). Checks:
 *   - the built page is ≤ 300 KB gzipped (the wasm kernels and the data set counted apart);
 *   - every lecture preset runs; a screenshot of each goes to test/lab/screenshots/ (gitignored);
 *   - the trajectory points the page draws equal what the library computes in Node for the same
 *     settings (bit for bit: same code, same float64 arithmetic), noisy runs included;
 *   - the URL round trip restores the same state and the same race;
 *   - a hostile URL gets defaults and a notice, and runs no script;
 *   - 8 optimizers × 500 steps animate; the frame rate is printed (not asserted beyond sanity).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchChromiumContext } from '../browser/chromium.js';
import { buildAndServeLab, repo, type ServedLab } from './serve.js';
import { trajectory, createOptimizer, getOptimizer } from '../../src/index.js';

const shots = join(repo, 'test', 'lab', 'screenshots');

type Page = import('playwright-core').Page;
type Context = import('playwright-core').BrowserContext;

let served: ServedLab;
let outDir = '';
let profile = '';
let base = '';
let ctx: Context;

interface LabRun {
  opt: string;
  label: string;
  noisy: boolean;
  options: Record<string, unknown>;
  xs: number[];
  ys: number[];
  fs: number[];
  cost: number[];
  diverged: boolean;
  error?: string;
}
interface LabState {
  fn: string;
  start: [number, number];
  budget: number;
  noise: number;
  seed: number;
  t: number;
  racers: { opt: string; noisy: boolean; options: Record<string, unknown> }[];
  [k: string]: unknown;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
}

before(async () => {
  served = await buildAndServeLab('descent-lab-');
  ({ outDir, base } = served);
  profile = mkdtempSync(join(tmpdir(), 'descent-lab-profile-'));
  ctx = await launchChromiumContext(profile, { viewport: { width: 1120, height: 1000 } });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await ctx?.close();
  await served?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function open(query = ''): Promise<{ page: Page; errors: string[]; dialogs: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(base + (query ? `?${query}` : ''));
  await page.waitForFunction(() => (window as any).__lab?.ready === true, undefined, { timeout: 30000 });
  return { page, errors, dialogs };
}

const labState = (page: Page) => page.evaluate(() => (window as any).__lab.state as LabState);
const labRuns = (page: Page) => page.evaluate(() => (window as any).__lab.runs as LabRun[]);

/** What the library gives for one racer with the page's settings, cut to the same length. */
function libraryRun(s: LabState, r: LabRun) {
  const run = { start: s.start, steps: s.budget, noise: r.noisy ? s.noise : 0, seed: s.seed };
  // Newton takes the surface's exact Hessian through the runner's context.
  if (getOptimizer(r.opt).options.includes('hessian'))
    return trajectory(s.fn, (params, c) => createOptimizer(r.opt, params, { ...r.options, hessian: () => c.hessian() }), run);
  return trajectory(s.fn, { name: r.opt, options: r.options }, run);
}

/**
 * Optimizers built from + − × ÷ and √ alone (the SGD family) must agree bit for bit between the page
 * and Node: IEEE 754 fixes those operations. Math.pow, exp, log, sin and cos are not pinned to the
 * last bit by ECMAScript, and Chromium's V8 and Node 20's V8 do differ by an ulp (Adam's βᵗ, the
 * Box–Muller noise), so everything else — and every noisy run — is compared to 1e-9 of the view
 * (far below a pixel; an ulp at one step stays an ulp-sized difference on these runs).
 */
const EXACT = new Set(['gd', 'sgd', 'momentum', 'nesterov']);
function same(a: number, b: number, exact: boolean, scale: number, what: string): void {
  if (exact) assert.equal(a, b, what);
  else assert.ok(Math.abs(a - b) <= 1e-9 * scale, `${what}: ${a} vs ${b}`);
}

test('the built lab is at most 300 KB gzipped, the wasm kernels and the data set counted apart', () => {
  // The embedded Fashion-MNIST subset is copied into the build for the training page; it is data,
  // not page weight, so it is reported beside the budget rather than in it. The wasm kernels are
  // embedded in the training worker as base64 strings (kernels.generated.ts): the binary, counted
  // apart as in train.test.ts's budget of the training page.
  const all = walk(outDir);
  const isData = (f: string) => f.includes(`${sep}fashion-mnist-subset${sep}`);
  const files = all.filter((f) => !isData(f));
  const BASE64 = /["'`][A-Za-z0-9+/]{4096,}={0,2}["'`]/g;
  let gz = 0,
    wasm = 0;
  for (const f of files) {
    const text = readFileSync(f, 'latin1');
    const b64 = /\.js$/.test(f) ? (text.match(BASE64) ?? []) : [];
    wasm += b64.reduce((a, x) => a + gzipSync(Buffer.from(x.slice(1, -1), 'base64'), { level: 9 }).length, 0);
    gz += gzipSync(b64.length ? text.replace(BASE64, '""') : readFileSync(f), { level: 9 }).length;
  }
  const data = all.filter(isData);
  const dataGz = data.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
  console.log(
    `lab build: ${files.length} files, ${(gz / 1024).toFixed(1)} KB gzipped; wasm kernels apart: ${(wasm / 1024).toFixed(1)} KB; data set apart: ${data.length} files, ${(dataGz / 1024).toFixed(1)} KB`,
  );
  // The race page alone (the figure docs/lab.md and the README quote): index.html and the assets it loads.
  const html = readFileSync(join(outDir, 'index.html'), 'utf8');
  const page = [join(outDir, 'index.html'), ...[...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => join(outDir, m[1]))];
  const kb = (re: RegExp) => page.filter((f) => re.test(f)).reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0) / 1024;
  console.log(
    `race page: ${page.length} files, ${kb(/./).toFixed(1)} KB gzipped (JS ${kb(/\.js$/).toFixed(1)} KB, CSS ${kb(/\.css$/).toFixed(1)} KB, HTML ${kb(/\.html$/).toFixed(1)} KB)`,
  );
  assert.ok(page.some((f) => f.endsWith('.js')) && page.some((f) => f.endsWith('.css')), `race page files: ${page.join(', ')}`);
  assert.ok(
    files.some((f) => f.endsWith('index.html')),
    'index.html built',
  );
  assert.ok(wasm > 0, 'the wasm kernels were found in the build (as base64)');
  assert.ok(gz <= 300 * 1024, `built page is ${gz} bytes gzipped; budget 300 KB`);
});

test('every lecture preset runs, and its drawn points equal the library trajectory', async () => {
  const { page, errors } = await open('preset=local-global');
  const ids = await page.evaluate(() => (window as any).__lab.presets as string[]);
  assert.ok(ids.length >= 11, `expected the 11 lecture presets, got ${ids.length}`);
  let exactRuns = 0;
  for (const id of ids) {
    await page.evaluate((p) => {
      (window as any).__lab.applyPreset(p, false);
      (window as any).__lab.setT((window as any).__lab.state.budget);
    }, id);
    const s = await labState(page);
    const runs = await labRuns(page);
    assert.equal(s.preset, id);
    assert.ok(runs.length >= 1, `${id}: no racers`);
    for (const r of runs) {
      assert.equal(r.error, undefined, `${id}/${r.label}: ${r.error}`);
      const lib = libraryRun(s, r);
      const n = r.xs.length;
      assert.ok(n >= 2, `${id}/${r.label}: fewer than 2 points`);
      // every first-order step costs one evaluation: the page holds budget + 1 points unless the run stopped
      if (r.cost[n - 1] === n - 1 && !lib.diverged) assert.equal(n, s.budget + 1, `${id}/${r.label}: points`);
      if (EXACT.has(r.opt) && !r.noisy) exactRuns++;
      for (let i = 0; i < n; i++) {
        const exact = EXACT.has(r.opt) && !r.noisy;
        same(r.xs[i], lib.trace[i].x[0], exact, 10, `${id}/${r.label}: x at step ${i}`);
        same(r.ys[i], lib.trace[i].x[1], exact, 10, `${id}/${r.label}: y at step ${i}`);
      }
      assert.equal(r.diverged, lib.diverged && n === lib.trace.length, `${id}/${r.label}: diverged flag`);
    }
    await page.screenshot({ path: join(shots, `preset-${id}.png`), fullPage: false });
  }
  assert.ok(exactRuns >= 10, `bit-exact comparisons: ${exactRuns}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('noisy gradients: same seed, same path; SGD differs from GD', async () => {
  const { page } = await open('preset=sgd-vs-gd');
  const s = await labState(page);
  const runs = await labRuns(page);
  const gd = runs.find((r) => !r.noisy)!;
  const sgd = runs.find((r) => r.noisy)!;
  assert.ok(gd && sgd, 'GD and SGD racers');
  assert.ok(s.noise > 0);
  const lib = libraryRun(s, sgd);
  sgd.xs.forEach((x, i) => same(x, lib.trace[i].x[0], false, 10, `SGD x at step ${i}`));
  // a different seed gives a different path; the same seed in a new page the same one
  const other = trajectory(
    s.fn,
    { name: sgd.opt, options: sgd.options },
    { start: s.start, steps: s.budget, noise: s.noise, seed: s.seed + 1 },
  );
  assert.notEqual(other.trace[5].x[0], sgd.xs[5]);
  const { page: again } = await open('preset=sgd-vs-gd');
  assert.deepEqual(
    (await labRuns(again)).map((r) => r.xs),
    runs.map((r) => r.xs),
  );
  await again.close();
  assert.notDeepEqual(sgd.xs, gd.xs);
  await page.close();
});

test('the URL holds the whole state: a copied link reproduces the race', async () => {
  const { page } = await open('preset=momentum-nag');
  await page.evaluate(() => {
    (window as any).__lab.setStart(-3.25, 1.5);
    (window as any).__lab.setT(37);
  });
  // one racer's option changed by hand in the table
  await page.locator('#racers tbody tr').nth(1).locator('input.lr').fill('0.021');
  await page.locator('#racers tbody tr').nth(1).locator('input.lr').dispatchEvent('change');
  await page.waitForTimeout(300); // the URL is written 150 ms after the last change
  const url = page.url();
  const s1 = await labState(page);
  const r1 = await labRuns(page);
  assert.equal(s1.racers[1].options.lr, 0.021);
  const { page: p2, errors } = await open(url.split('?')[1]);
  const s2 = await labState(p2);
  const r2 = await labRuns(p2);
  assert.deepEqual(s2, s1);
  assert.deepEqual(
    r2.map((r) => r.xs),
    r1.map((r) => r.xs),
  );
  assert.deepEqual(await p2.evaluate(() => (window as any).__lab.notices), []);
  assert.deepEqual(errors, []);
  await page.close();
  await p2.close();
});

test('a hostile or broken URL gets defaults and a notice, never a script', async () => {
  const q = new URLSearchParams();
  q.set('fn', '<script>alert(1)</script>');
  q.set('lr', 'NaN');
  q.set('lrm', 'one');
  q.set('x', '1e999');
  q.set('n', '-5');
  q.set('preset', '"><img src=x onerror=alert(2)>');
  q.append('r', '<img src=x onerror="window.__xss=1">');
  q.append('r', 'adam;lr=-1');
  q.append('r', 'momentum;momentum=0.5;evil=<b>x</b>');
  q.append('s', 'cosine;totalSteps=<svg/onload=alert(3)>');
  const { page, dialogs, errors } = await open(q.toString());
  const s = await labState(page);
  assert.equal(s.fn, 'rosenbrock');
  assert.equal(s.lr, 0.01);
  assert.equal(s.budget, 300);
  assert.equal(s.preset, '');
  // the bad racers are dropped or reset; the good option survives
  assert.deepEqual(
    s.racers.map((r) => r.opt),
    ['adam', 'momentum'],
  );
  assert.deepEqual(s.racers[0].options, {});
  assert.deepEqual(s.racers[1].options, { momentum: 0.5 });
  const notice = page.locator('#notice');
  assert.equal(await notice.isVisible(), true);
  const text = (await notice.textContent()) ?? '';
  assert.match(text, /fn/);
  assert.match(text, /lr/);
  assert.match(text, /"x\/y"/);
  assert.equal(await page.evaluate(() => (window as any).__xss), undefined);
  assert.equal(await page.locator('img').count(), 0);
  assert.equal(await page.locator('#notice script, #notice b, #explain *').count(), 0);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(
    errors.filter((e) => !/favicon/.test(e)),
    [],
  );
  // and the page still works
  const runs = await labRuns(page);
  assert.equal(runs.length, 2);
  assert.ok(runs.every((r) => r.xs.length > 1));
  await page.close();
});

test('8 optimizers × 500 steps animate (frame rate printed)', async () => {
  const { page } = await open('fn=beale&r=gd');
  const names = await page.evaluate(() => {
    const want = ['gd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'adamw', 'nadam', 'radam', 'adamax', 'lion'];
    const have = (window as any).__lab.optimizers as string[];
    return want.filter((w) => have.includes(w)).slice(0, 8);
  });
  assert.equal(names.length, 8, `8 optimizers available: ${names.join(', ')}`);
  // The browser's own ceiling right now: an empty requestAnimationFrame loop for one second (on a
  // loaded machine this, not the lab, bounds the frame rate).
  const ceiling = await page.evaluate(
    () =>
      new Promise<number>((done) => {
        let n = 0;
        const t0 = performance.now();
        const loop = (now: number) => {
          n++;
          if (now - t0 < 1000) requestAnimationFrame(loop);
          else done((n * 1000) / (now - t0));
        };
        requestAnimationFrame(loop);
      }),
  );
  await page.evaluate((ns) => {
    (window as any).__lab.setRacers(
      ns.map((opt: string) => ({ opt, noisy: false, options: {} })),
      500,
    );
    (window as any).__lab.setSpeed(4);
    (window as any).__lab.setT(0);
    (window as any).__lab.play();
  }, names);
  await page.waitForFunction(() => !(window as any).__lab.playing, undefined, { timeout: 60000 });
  const perf = await page.evaluate(() => (window as any).__lab.perf);
  const runs = await labRuns(page);
  assert.equal(runs.length, 8);
  assert.ok(
    runs.every((r) => r.xs.length === 501 || r.diverged),
    'every racer has 500 steps',
  );
  console.log(
    `lab animation: 8 optimizers × 500 steps, ${perf.frames} frames at ${perf.fps.toFixed(1)} frames/s (last frame ${perf.drawMs.toFixed(2)} ms to draw; race computed in ${perf.lastComputeMs.toFixed(0)} ms); an empty requestAnimationFrame loop ran at ${ceiling.toFixed(1)} frames/s just before`,
  );
  assert.ok(perf.frames >= 100, `frames drawn: ${perf.frames}`);
  assert.ok(perf.fps > 1, 'sanity: the animation advanced');
  await page.screenshot({ path: join(shots, 'race-8x500.png') });
  await page.close();
});

test('schedules view draws every schedule of the library; edited parameters live in the URL', async () => {
  const { page, errors } = await open('view=schedules&r=gd&s=cosine;totalSteps=40');
  const cards = await page.locator('.sched-card').count();
  assert.ok(cards >= 10, `schedule cards: ${cards}`);
  const errs = await page.locator('.sched-error').allTextContents();
  assert.deepEqual(
    errs.filter((e) => e),
    [],
  );
  assert.deepEqual((await labState(page)).sched, { cosine: { totalSteps: '40' } });
  // edit another schedule's parameter, reload the written URL, and it is still there
  const k = page.locator('.sched-card', { hasText: 'exponential' }).locator('input[data-param=k]');
  await k.fill('0.07');
  await k.dispatchEvent('change');
  await page.waitForTimeout(300);
  const { page: again } = await open(page.url().split('?')[1]);
  assert.deepEqual((await labState(again)).sched, { cosine: { totalSteps: '40' }, exponential: { k: '0.07' } });
  assert.equal(await again.locator('.sched-card', { hasText: 'exponential' }).locator('input[data-param=k]').inputValue(), '0.07');
  await again.close();
  await page.screenshot({ path: join(shots, 'schedules.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
