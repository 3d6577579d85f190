/**
 * Part 1 of the lab as a teacher uses it, in real Chromium (playwright-core, the Chromium test/browser/chromium.ts finds)
 * at 1400×900 and at a phone's 390×844: every preset's claims hold for what the page draws, every line
 * is named, input is refused with a message, the keyboard and the phone work. Screenshots go to
 * test/lab/screenshots/part1-*.png (gitignored). The drag recompute time is measured and printed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PRESETS, checkClaim } from '../../lab/src/presets.js';
import { fRef } from '../../lab/src/race.js';
import { getSurface } from '../../src/surfaces/index.js';
import { launchChromium } from '../browser/chromium.js';
import { buildAndServeLab, repo, type ServedLab } from './serve.js';

const shots = join(repo, 'test', 'lab', 'screenshots');

type Page = import('playwright-core').Page;
type Browser = import('playwright-core').Browser;

let served: ServedLab;
let base = '';
let browser: Browser;

before(async () => {
  served = await buildAndServeLab('descent-lab1-');
  base = served.base;
  browser = await launchChromium();
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await served?.close();
});

const DESKTOP = { width: 1400, height: 900 };
const PHONE = { width: 390, height: 844 };

async function open(query = '', size = DESKTOP, phone = false, clipboard = true): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: size, hasTouch: phone, isMobile: phone, deviceScaleFactor: 1 });
  if (clipboard) await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base.slice(0, -1) });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(base + (query ? `?${query}` : ''));
  await page.waitForFunction(() => (window as any).__lab?.ready === true, undefined, { timeout: 30000 });
  return { page, errors };
}
const lab = <T>(page: Page, expr: string) => page.evaluate(`window.__lab.${expr}`) as Promise<T>;
interface PageRun {
  label: string;
  xs: number[];
  ys: number[];
  fs: number[];
  cost: number[];
  opt: string;
}

test('every preset at 1400×900: its claims hold for the runs the page draws; every line is named; screenshot', async () => {
  const { page, errors } = await open();
  for (const p of PRESETS) {
    await page.click(`#presets button[data-preset="${p.id}"]`);
    await lab(page, 'pause()');
    await lab(page, `setT(${p.budget})`);
    const runs = await lab<PageRun[]>(page, 'runs');
    const s = getSurface(p.fn);
    const failed = p.claims.map((c) => checkClaim(c, runs, fRef(s), s.minima.length > 0)).filter(Boolean);
    assert.deepEqual(failed, [], p.id);
    // the legend names every line, in the racer's colour, and the colours differ (up to eight racers)
    const legend = await page.$$eval('#legend li', (els) =>
      els.map((e) => ({
        text: e.textContent ?? '',
        color: e.querySelector('line')?.getAttribute('stroke'),
        dash: e.querySelector('line')?.getAttribute('stroke-dasharray') ?? '',
      })),
    );
    assert.deepEqual(
      legend.map((l) => l.text.replace(/ \(ring: look-ahead point\)$/, '').trim()),
      runs.map((r) => r.label),
      p.id,
    );
    assert.equal(new Set(legend.map((l) => `${l.color}|${l.dash}`)).size, legend.length, `${p.id}: two lines drawn alike`);
    // the update rule of every optimizer in the race is beside it
    const eqs = await page.$$eval('#equations h4', (els) => els.map((e) => (e.textContent ?? '').trim()));
    assert.deepEqual(
      eqs,
      [...new Set(runs.map((r) => r.label.replace(/ \+ noise$|^SGD \(noisy GD\)$/, (m) => (m.startsWith('SGD') ? 'GD' : ''))))],
      p.id,
    );
    // the step-size panel shows exactly when AdaGrad or RMSProp races, with its text equivalent
    const adaptive = runs.some((r) => r.opt === 'adagrad' || r.opt === 'rmsprop');
    assert.equal(await page.isVisible('#steps'), adaptive, p.id);
    if (adaptive) assert.match((await page.textContent('#steps-text')) ?? '', /Step size per coordinate/);
    // text equivalents name every racer
    const mapText = (await page.textContent('#map-text')) ?? '';
    const lossText = (await page.textContent('#loss-text')) ?? '';
    for (const r of runs) assert.ok(mapText.includes(r.label) && lossText.includes(r.label), `${p.id}: ${r.label} in the text equivalents`);
    assert.match((await page.textContent('#explain')) ?? '', new RegExp(p.title.replace(/[+()]/g, '.')));
    await page.screenshot({ path: join(shots, `part1-${p.id}-1400.png`), fullPage: false });
  }
  // the moments chart's text equivalent: v̂ equals g² at t = 1 (bias correction)
  await page.click('#presets button[data-preset="bias-correction"]');
  assert.match((await page.textContent('#moments-text')) ?? '', /v from [\d.e-]+ to .*v̂ from ([\d.e+-]+) to .*\(g² \1 at t = 1\)/);
  // the errata are on the page: Adam's second moment decays with β₂
  await page.click('#presets button[data-preset="adam"]');
  assert.match((await page.textContent('#equations')) ?? '', /v ← β₂ v \+ \(1 − β₂\) g².*β₁ there, which is wrong/s);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('zoom to the paths: on Beale the map shows the box around the paths, not the whole view', async () => {
  const { page } = await open();
  await page.click('#presets button[data-preset="adam"]');
  const view = await lab<{ x: number[]; y: number[] }>(page, 'view');
  const full = getSurface('beale').view;
  assert.ok(view.x[1] - view.x[0] < 0.6 * (full.x[1] - full.x[0]), JSON.stringify(view));
  const runs = await lab<PageRun[]>(page, 'runs');
  for (const r of runs)
    for (let i = 0; i < r.xs.length; i++)
      if (r.xs[i] >= full.x[0] && r.xs[i] <= full.x[1] && r.ys[i] >= full.y[0] && r.ys[i] <= full.y[1])
        assert.ok(
          r.xs[i] >= view.x[0] && r.xs[i] <= view.x[1] && r.ys[i] >= view.y[0] && r.ys[i] <= view.y[1],
          `${r.label} point ${i} outside the zoom`,
        );
  await page.uncheck('#zoom');
  assert.deepEqual(await lab(page, 'view'), { x: [...full.x], y: [...full.y] });
  await page.context().close();
});

test('an edited preset is marked modified and its text is withdrawn; reset brings both back', async () => {
  const { page } = await open();
  await page.click('#presets button[data-preset="convex"]');
  await lab(page, 'pause()');
  const p = PRESETS.find((q) => q.id === 'convex')!;
  assert.ok(((await page.textContent('#explain')) ?? '').includes(p.text));
  const lr = page.locator('#racers tbody tr').first().locator('input.lr');
  await lr.fill('0.02');
  await lr.dispatchEvent('change');
  assert.match((await page.textContent('#presets button.active')) ?? '', /\(modified\)/);
  const text = (await page.textContent('#explain')) ?? '';
  assert.ok(!text.includes(p.text) && /modified/.test(text), text);
  await page.click('#reset-preset');
  assert.ok(((await page.textContent('#explain')) ?? '').includes(p.text));
  assert.doesNotMatch((await page.textContent('#presets button.active')) ?? '', /modified/);
  await page.context().close();
});

test('batch-size slider: B = 2^k scales the noise by 1/√B and goes into the URL', async () => {
  const { page } = await open();
  await page.click('#presets button[data-preset="sgd-vs-gd"]');
  await lab(page, 'pause()');
  const before = (await lab<PageRun[]>(page, 'runs'))[1];
  await page.locator('#batch').fill('6');
  assert.equal((await lab<{ batch: number }>(page, 'state')).batch, 64);
  assert.match((await page.textContent('#batch-label')) ?? '', /B = 64/);
  const after = (await lab<PageRun[]>(page, 'runs'))[1];
  // σ/8: the noisy path ends much nearer the minimum (0, 0) than with B = 1
  const end = (r: PageRun) => Math.hypot(r.xs[r.xs.length - 1], r.ys[r.ys.length - 1]);
  assert.ok(end(after) < end(before) / 2, `${end(after)} vs ${end(before)}`);
  await page.waitForFunction(() => location.search.includes('b=64'));
  await page.context().close();
});

test('input: empty and overflowing rates are refused with a message and the field shows the kept value', async () => {
  const { page } = await open();
  await page.click('#presets button[data-preset="momentum"]');
  await lab(page, 'pause()');
  const lr = page.locator('#racers tbody tr').first().locator('input.lr');
  for (const typed of ['', '1e400']) {
    await lr.fill(typed);
    await lr.dispatchEvent('change');
    const st = await lab<{ racers: { options: { lr: number } }[] }>(page, 'state');
    assert.equal(st.racers[0].options.lr, 0.001, `after "${typed}"`);
    assert.equal(await lr.inputValue(), '0.001');
    assert.match((await page.textContent('#input-msg')) ?? '', /GD lr: .*kept 0\.001/);
  }
  // an option the library refuses: the message is the library's, the field goes back
  await page.locator('#racers tbody tr').nth(1).locator('details summary').click();
  const mom = page.locator('#racers tbody tr').nth(1).getByRole('spinbutton', { name: 'momentum', exact: true });
  await mom.fill('-1');
  await mom.dispatchEvent('change');
  assert.equal(await mom.inputValue(), '0.9');
  assert.match((await page.textContent('#input-msg')) ?? '', /momentum/);
  await page.context().close();
});

test('a surface change re-tunes the rates set for the previous surface, says so, and the URL follows', async () => {
  const { page, errors } = await open('fn=bowl&n=120&r=momentum;lr=0.05;momentum=0.9&r=nesterov;lr=0.05;momentum=0.9&r=lbfgs;lr=0.5');
  for (const fn of ['rosenbrock', 'beale', 'himmelblau']) {
    await page.selectOption('#fn', fn);
    const st = await lab<{ racers: { opt: string; options: Record<string, unknown> }[] }>(page, 'state');
    // the hand-set rates go, the other settings stay; L-BFGS's step multiplier is not a tuned rate and stays
    assert.deepEqual(
      st.racers.map((r) => r.options),
      [{ momentum: 0.9 }, { momentum: 0.9 }, { lr: 0.5 }],
    );
    const lr = await page.$$eval('#racers tbody tr td:nth-child(3)', (els) => els.map((e) => e.textContent));
    assert.deepEqual(lr.slice(0, 2), [' tuned', ' tuned'], fn);
    assert.deepEqual(await lab<boolean[]>(page, 'runs.map((r) => r.diverged)'), [false, false, false], fn);
    assert.doesNotMatch(await lab<string>(page, 'query()'), /momentum%3Blr/);
  }
  assert.match((await page.textContent('#retune-msg')) ?? '', /^$/, 'nothing hand-set was left to re-tune');
  await page.goto(`${base}?fn=bowl&r=momentum;lr=0.05;momentum=0.9`);
  await page.waitForFunction(() => (window as any).__lab?.ready === true);
  await page.selectOption('#fn', 'rosenbrock');
  assert.equal(await page.textContent('#retune-msg'), 'Rates set by hand for Ill-conditioned bowl re-tuned for Rosenbrock: SGD+momentum.');
  await page.screenshot({ path: join(shots, 'part1-retune-1400.png') });
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('input: the runaway racer on the saddle is "diverged", not "escaped"; the URL notice counts what it leaves out', async () => {
  const { page } = await open('preset=sgd-saddle');
  await lab(page, 'pause()');
  await lab(page, 'setT(200)');
  const status = await page.$$eval('#racers tbody tr td:nth-child(7)', (els) =>
    els.map((e) => ({ text: e.textContent, cls: e.className })),
  );
  assert.equal(status[2].text, 'diverged (f → −∞)');
  assert.match(status[2].cls, /bad/);
  assert.equal(status.length, 3);
  assert.ok(status.every((s) => !/escaped/.test(s.text ?? '')));
  await page.context().close();
  // one rule: racers the runner stops (|y| > 1e8) on the saddle read the same as those that leave the view
  const { page: p1 } = await open('fn=saddle&n=120&t=120&r=momentum;lr=0.05;momentum=0.9&r=nesterov;lr=0.05;momentum=0.9');
  const stopped = await p1.$$eval('#racers tbody tr td:nth-child(7)', (els) => els.map((e) => e.textContent));
  assert.deepEqual(await lab<boolean[]>(p1, 'runs.map((r) => r.diverged)'), [true, true]);
  assert.deepEqual(stopped, ['diverged (f → −∞)', 'diverged (f → −∞)']);
  await p1.context().close();
  const bad = Array.from({ length: 15 }, (_, i) => `r=nosuch${i}`).join('&');
  const { page: p2 } = await open(bad);
  const items = await p2.$$eval('#notice li', (els) => els.map((e) => e.textContent));
  assert.equal(items.length, 13);
  assert.equal(items[12], '+3 more');
  await p2.context().close();
});

test('input: Muon and SOAP added from the menu say in one line why they do not run, with no tuned rate', async () => {
  const { page, errors } = await open('fn=bowl&r=gd');
  for (const opt of ['muon', 'soap']) {
    await page.selectOption('#add-opt', opt);
    assert.match((await page.$eval('#add-opt', (e) => (e as HTMLSelectElement).selectedOptions[0].textContent)) ?? '', /not run here/);
    await page.click('#add');
  }
  const rows = await page.$$eval('#racers tbody tr', (els) =>
    els.map((e) => ({
      lr: e.querySelector('td:nth-child(3)')?.textContent ?? '',
      status: e.querySelector('td:nth-child(7)')?.textContent ?? '',
      why: e.querySelector('td:nth-child(7)')?.getAttribute('title') ?? '',
      height: e.getBoundingClientRect().height,
    })),
  );
  assert.equal(rows.length, 3);
  for (const r of rows.slice(1)) {
    assert.equal(r.status, 'not run: for weight matrices, not a point');
    assert.match(r.why, /use it on a network/);
    assert.doesNotMatch(r.lr, /tuned/);
  }
  assert.match(rows[0].lr, /tuned/);
  // one line of status: the rows are no taller than GD's
  assert.ok(rows[1].height <= rows[0].height + 1 && rows[2].height <= rows[0].height + 1, JSON.stringify(rows));
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('input: a start far off the map is refused with a message naming the allowed box', async () => {
  const { page } = await open('fn=rosenbrock&x=100000&y=3');
  const st = await lab<{ start: number[] }>(page, 'state');
  assert.deepEqual(st.start, [...getSurface('rosenbrock').start]);
  assert.match((await page.textContent('#notice')) ?? '', /start \(100000, 3\) is off the map of rosenbrock: expected x in \[/);
  await page.context().close();
});

test('share link copies the address and says so', async () => {
  const { page } = await open('preset=momentum');
  await page.click('#share');
  await page.waitForFunction(() => document.getElementById('share-msg')?.textContent === 'Link copied.');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, page.url());
  assert.match(copied, /preset=momentum/);
  await page.context().close();
  // where the clipboard is closed, the link is shown selected with a message saying how to copy it
  const { page: p2 } = await open('preset=momentum', DESKTOP, false, false);
  await p2.evaluate(() => {
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: () => Promise.reject(new Error('denied')) } });
  });
  await p2.click('#share');
  await p2.waitForFunction(() => /Copying is blocked/.test(document.getElementById('share-msg')?.textContent ?? ''));
  assert.equal(await p2.inputValue('#share-url'), p2.url());
  assert.equal(await p2.evaluate(() => document.activeElement?.id), 'share-url');
  await p2.context().close();
});

test('keyboard: the map takes focus and the arrows move the start; Space after a preset click pauses; tabs carry ARIA roles', async () => {
  const { page } = await open('preset=convex');
  await lab(page, 'pause()');
  const s0 = (await lab<{ start: number[] }>(page, 'state')).start;
  await page.focus('#map');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowUp');
  const s1 = (await lab<{ start: number[] }>(page, 'state')).start;
  assert.ok(s1[0] > s0[0] && s1[1] > s0[1], `${s0} → ${s1}`);
  await page.click('#presets button[data-preset="momentum"]');
  assert.equal(await lab(page, 'playing'), true);
  await page.keyboard.press(' ');
  assert.equal(await lab(page, 'playing'), false);
  const t = (await lab<{ t: number }>(page, 'state')).t;
  assert.ok(t > 0, 'Space did not re-apply the preset (which would reset the timeline to 0)');
  assert.equal(await page.getAttribute('#tabs', 'role'), 'tablist');
  assert.deepEqual(await page.$$eval('#tabs button', (els) => els.map((e) => [e.getAttribute('role'), e.getAttribute('aria-selected')])), [
    ['tab', 'true'],
    ['tab', 'false'],
  ]);
  await page.click('#tabs button[data-view="schedules"]');
  assert.equal(await page.getAttribute('#tabs button[data-view="schedules"]', 'aria-selected'), 'true');
  assert.equal(await page.getAttribute('#schedules-view', 'role'), 'tabpanel');
  for (const id of ['map', 'loss']) assert.ok(await page.getAttribute(`#${id}`, 'aria-describedby'));
  await page.context().close();
});

test('hover read-out names the point under the pointer and its loss', async () => {
  const { page } = await open('preset=momentum');
  const box = (await page.locator('#map').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  assert.match((await page.textContent('#readout')) ?? '', /^x = -?[\d.]+, y = -?[\d.]+, f = [\d.e+-]+, f − f\* = /);
  await page.context().close();
});

test('phone 390×844: no sideways scroll, the map lets a vertical swipe scroll the page; screenshots', async () => {
  const { page, errors } = await open('preset=so-far', PHONE, true);
  await lab(page, 'pause()');
  for (const id of ['so-far', 'sgd-saddle', 'bias-correction']) {
    await page.tap(`#presets button[data-preset="${id}"]`);
    await lab(page, 'pause()');
    const wide = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(wide[0] <= wide[1], `${id}: page is ${wide[0]} px wide in a ${wide[1]} px window`);
    await page.screenshot({ path: join(shots, `part1-${id}-390.png`), fullPage: true });
  }
  const touch = await page.evaluate(() => getComputedStyle(document.getElementById('map')!).touchAction);
  assert.match(touch, /pan-y/);
  // every canvas is drawn at the width it is shown, so its 11 px labels are 11 px, not shrunk to fit
  const scales = await page.evaluate(() =>
    Array.from(document.querySelectorAll('canvas'))
      .filter((c) => c.getClientRects().length)
      .map((c) => `${c.id} ${(c.getBoundingClientRect().width / c.width).toFixed(2)}`),
  );
  assert.ok(scales.length >= 4, scales.join(', '));
  for (const s of scales) assert.match(s, / 1\.00$/);
  // a radio stays on the line of its label
  const lines = await page.$$eval('#controls label', (els) => els.map((e) => e.getClientRects().length));
  assert.ok(
    lines.every((n) => n === 1),
    `labels over ${lines} lines`,
  );
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('dragging the start: time per recompute and redraw in Chromium (printed) and the start follows the pointer', async () => {
  const { page } = await open(); // the default race: every optimizer on Rosenbrock, 300 evaluations
  const box = (await page.locator('#map').boundingBox())!;
  const n0 = (await lab<{ computeTimes: number[] }>(page, 'perf')).computeTimes.length;
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) {
    await page.mouse.move(box.x + box.width * (0.3 + i * 0.02), box.y + box.height * 0.3);
    await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => ok(null))));
  }
  await page.mouse.up();
  const times = (await lab<{ computeTimes: number[] }>(page, 'perf')).computeTimes.slice(n0);
  const sorted = [...times].sort((a, b) => a - b);
  const racers = (await lab<unknown[]>(page, 'runs')).length;
  console.log(
    `# drag: ${times.length} recomputes of ${racers} racers, median ${sorted[sorted.length >> 1].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms; in order: ${times.map((v) => v.toFixed(0)).join(' ')} (the last is the release, which re-renders the zoomed map)`,
  );
  assert.ok(times.length >= 2);
  const st = await lab<{ start: number[] }>(page, 'state');
  const [x] = await page.evaluate(() => (window as any).__lab.view.x);
  assert.ok(st.start[0] > x, 'the start moved with the pointer');
  await page.context().close();
});

test('schedules: one applied to a racer from its row; the schedules view overlays the ticked ones on shared axes', async () => {
  const { page, errors } = await open('preset=momentum');
  await lab(page, 'pause()');
  const row = page.locator('#racers tbody tr').first();
  await row.locator('details summary').click();
  await row.locator('label.opt', { hasText: 'schedule' }).locator('select').selectOption('cosine');
  const st = await lab<{ racers: { sched?: string }[] }>(page, 'state');
  assert.match(st.racers[0].sched ?? '', /^cosine/);
  assert.match((await page.textContent('#legend')) ?? '', /GD · cosine/);
  const runs = await lab<PageRun[]>(page, 'runs');
  assert.equal(runs[0].label, 'GD · cosine');
  await page.waitForFunction(() => decodeURIComponent(location.search).includes('sched=cosine'));
  await page.click('#tabs button[data-view="schedules"]');
  const text = () => page.textContent('#sched-overlay-text').then((t) => t ?? '');
  assert.match(await text(), /step from 0\.1 to .*cosine from 0\.1 to/);
  assert.match(await text(), /onecycle from 0\.004 to/);
  for (const v of (await text()).match(/\d[\d.e-]*/g) ?? [])
    assert.equal(Number(Number(v).toPrecision(3)), Number(v), `${v}: rounded to 3 significant digits`);
  // every parameter input and overlay box is named with its schedule
  const names = await page.$$eval('.sched-card input', (els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
  assert.ok(names.length > 20 && names.every((n) => /^(overlay )?[a-z]+[ :]/.test(n)), names.join(' | '));
  assert.ok(names.includes('overlay cosine') && names.some((n) => n.startsWith('cosine totalSteps: ')), names.join(' | '));
  // every schedule card's chart has a text equivalent
  const labels = await page.$$eval('.sched-card canvas[role=img]:not(#sched-overlay)', (els) =>
    els.map((e) => e.getAttribute('aria-label') ?? ''),
  );
  assert.ok(labels.length >= 10 && labels.every((l) => /lr [\d.e-]+ at step 0/.test(l)), labels.join(' | '));
  await page.uncheck('input.overlay[data-schedule="cosine"]');
  assert.doesNotMatch(await text(), /cosine/);
  await page.check('input.overlay[data-schedule="sgdr"]');
  assert.match(await text(), /sgdr from 0\.1/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, 'part1-schedules-1400.png') });
  await page.setViewportSize(PHONE);
  const wide = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(wide[0] <= wide[1], `schedules view ${wide[0]} px wide in ${wide[1]}`);
  assert.deepEqual(errors, []);
  await page.context().close();
  // a schedule value the library refuses: its message once, not prefixed twice
  const { page: p2 } = await open('view=schedules&s=cosine;minLr=abc');
  const notice = (await p2.textContent('#notice')) ?? '';
  assert.match(notice, /schedule cosine: minLr=abc is not a number — defaults used/);
  assert.doesNotMatch(notice, /schedule cosine: schedule cosine/);
  await p2.context().close();
});
