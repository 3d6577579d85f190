/**
 * The training page on WebGPU in a real browser: the lab built by Vite and served cross-origin
 * isolated (serve.ts), Chromium (test/browser/chromium.ts finds it) launched with
 * --enable-unsafe-webgpu, which gives its SwiftShader software adapter. With `backend=webgpu` the
 * worker trains on the GPU: the run's steps have finite losses that fall, and the page names the
 * WebGPU backend and its adapter; with the default `backend=auto` the software adapter is passed
 * over and the page shows the wasm line. A bad value of the setting is named in the notice. A
 * screenshot of the WebGPU run goes to test/lab/screenshots/train-webgpu.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findChromium } from '../browser/chromium.js';
import { buildAndServeLab, type ServedLab } from './serve.js';
import type { StepRecord } from '../../lab/src/train/session.js';

type Browser = import('playwright-core').Browser;
type Page = import('playwright-core').Page;

/** A screenshot of the page trained on WebGPU goes here (gitignored), as the other lab tests' do. */
const repo = process.env.DESCENT_REPO ?? fileURLToPath(new URL('../../../', import.meta.url));
const shots = join(repo, 'test', 'lab', 'screenshots');

let lab: ServedLab | undefined;
let browser: Browser | undefined;

before(async () => {
  lab = await buildAndServeLab('descent-lab-webgpu-');
  const { chromium } = await import('playwright-core');
  const found = await findChromium();
  browser = await chromium.launch({
    executablePath: found.executablePath,
    env: found.env,
    headless: true,
    // no --disable-gpu here: WebGPU's SwiftShader adapter is what this test runs on
    args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--enable-unsafe-webgpu', ...found.args],
  });
});

after(async () => {
  await browser?.close();
  await lab?.close();
});

interface PageState {
  backend: string;
  notice: string;
  runs: { steps: StepRecord[]; error?: string; done: boolean }[];
}

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${lab!.base}train.html?${query}`);
  await page.waitForFunction(() => (window as any).__train?.ready === true, undefined, { timeout: 60000 });
  return { page, errors };
}

const state = (page: Page): Promise<PageState> =>
  page.evaluate(() => ({
    backend: (window as any).__train.backend as string,
    notice: document.getElementById('notice')?.textContent ?? '',
    runs: (window as any).__train.runs,
  }));

const settings = 'arch=mlp&hidden=16&optimizer=adam&lr=0.003&batch=32&train=192&test=64&epochs=1';

test('backend=webgpu: the training view runs its steps on WebGPU and names the backend and adapter', async () => {
  const { page, errors } = await open(`${settings}&backend=webgpu`);
  await page.waitForFunction(() => (window as any).__train.done === true, undefined, { timeout: 120000 });
  const s = await state(page);
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, 'train-webgpu.png'), fullPage: true });
  await page.close();
  assert.deepEqual(errors, []);
  assert.equal(s.runs[0].error, undefined);
  console.log(`# ${s.backend}`);
  assert.match(s.backend, /^backend: webgpu \(.+\)$/);
  assert.doesNotMatch(s.notice, /backend=webgpu/);
  const losses = s.runs[0].steps.map((r) => r.loss);
  assert.equal(losses.length, 6);
  for (const l of losses) assert.ok(Number.isFinite(l) && l > 0, `loss ${l}`);
  assert.ok(losses[5] < losses[0], `the loss falls: ${losses.join(', ')}`);
});

test('backend=auto passes over the software adapter (wasm line); a bad backend value is named', async () => {
  const { page, errors } = await open(`${settings}&backend=auto`);
  await page.waitForFunction(() => (window as any).__train.runs[0]?.steps.length > 0, undefined, { timeout: 120000 });
  const s = await state(page);
  await page.close();
  assert.deepEqual(errors, []);
  assert.match(s.backend, /^backend: (wasm|reference), /);
  const bad = await open(`${settings}&backend=cuda`);
  const b = await state(bad.page);
  await bad.page.close();
  assert.match(b.notice, /backend: expected one of auto, webgpu, wasm, got "cuda"/);
});
