/**
 * The training page measured in Chromium (not a test: it takes minutes and its figures depend on
 * the machine).
 *   - `speed`: builds lab/ with Vite and serves it cross-origin isolated (the COOP/COEP headers `npm
 *     run lab` sends, test/lab/serve.ts), so the page's worker trains with wasm threads — the run
 *     stops with an error if the page reports one thread. Trains the same model (the default MLP
 *     784-64-10, batch 64, the 10,000 embedded training samples) in the page and then in Node for
 *     --seconds each, and prints samples/s of both and their ratio (Node with the wasm backend's
 *     default threads, and with one thread), with the load average before and after.
 *   - `firstpoint`: what a new user sees after `npm run lab`: starts the Vite dev server with
 *     lab/vite.config.ts (as `npm run lab` does), opens train.html in a new browser profile (nothing
 *     cached) --runs times (default 3), and prints the time from navigation to the first drawn loss
 *     point each time (the first run also pays the dev server's first transform of the modules).
 *   - `shots`: runs every preset (or those named by --only a,b) to its end (or --seconds per preset) and writes a full-page
 *     screenshot of each to test/lab/screenshots/train-<preset>-full.png.
 * Run: npm run build --silent && node dist/tools/lab-train-browser.js speed|firstpoint|shots [--seconds N] [--runs N] [--only PRESETS]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backend, loadEmbedded, setWasmThreads, wasmInfo } from '../src/node.js';
import { TrainSession } from '../lab/src/train/session.js';
import { DEFAULTS, toQuery, type TrainConfig } from '../lab/src/train/config.js';
import { TRAIN_PRESETS } from '../lab/src/train/presets.js';
import { launchChromiumContext } from '../test/browser/chromium.js';
import { buildAndServeLab } from '../test/lab/serve.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const mode = process.argv[2];
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const seconds = Number(arg('--seconds') ?? (mode === 'speed' ? 20 : 240));
const runsArg = Number(arg('--runs') ?? 3);
if (mode !== 'speed' && mode !== 'shots' && mode !== 'firstpoint') {
  console.error('usage: node dist/tools/lab-train-browser.js speed|firstpoint|shots [--seconds N] [--runs N] [--only PRESETS]');
  process.exit(2);
}
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

/** A new browser profile per context, deleted afterwards. */
async function withContext<T>(f: (ctx: import('playwright-core').BrowserContext) => Promise<T>): Promise<T> {
  const profile = mkdtempSync(join(tmpdir(), 'descent-lab-train-tool-profile-'));
  const ctx = await launchChromiumContext(profile, { viewport: { width: 1400, height: 1500 } });
  try {
    return await f(ctx);
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

if (mode === 'firstpoint') {
  const { createServer } = await import('vite');
  // Its own dependency cache, empty, as on a fresh checkout (and nothing written into the shared node_modules).
  const cacheDir = mkdtempSync(join(tmpdir(), 'descent-lab-vite-cache-'));
  const server = await createServer({
    configFile: join(repo, 'lab', 'vite.config.ts'),
    cacheDir,
    logLevel: 'warn',
    server: { port: 0, strictPort: false },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0] ?? '';
  try {
    for (let r = 1; r <= runsArg; r++) {
      const t = await withContext(async (ctx) => {
        const page = await ctx.newPage();
        await page.goto(`${url}train.html`);
        await page.waitForFunction(() => (window as any).__train?.firstPointMs != null, undefined, { timeout: 120000 });
        return page.evaluate(() => ({
          ms: (window as any).__train.firstPointMs as number,
          backend: (window as any).__train.backend as string,
        }));
      });
      console.log(`run ${r}: first drawn loss point ${(t.ms / 1000).toFixed(2)} s after navigation (${t.backend}; load ${load()})`);
    }
  } finally {
    await server.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
  process.exit(0);
}

const lab = await buildAndServeLab('descent-lab-train-tool-');
const base = `${lab.base}train.html`;
try {
  if (mode === 'speed') {
    const c: TrainConfig = { ...DEFAULTS, epochs: 200, train: 10000, batch: 64 };
    console.log(
      `model ${c.arch} hidden ${c.hidden}, batch ${c.batch}, ${c.train} samples, ${seconds} s each; load average before: ${load()}`,
    );
    const { browser, where } = await withContext(async (ctx) => {
      const page = await ctx.newPage();
      await page.goto(`${base}?${toQuery(c)}`);
      await page.waitForFunction(() => (window as any).__train?.runs?.[0]?.steps.length > 20, undefined, { timeout: 120000 });
      const where = await page.evaluate(() => (window as any).__train.backend as string);
      const threads = Number(/(\d+) threads/.exec(where)?.[1] ?? 1);
      if (threads < 2) throw new Error(`the page trains on one thread (${where}); the speed figure is for Chromium with threads`);
      const s0 = await page.evaluate(() => ({ n: (window as any).__train.runs[0].steps.at(-1).samples as number, t: performance.now() }));
      await page.waitForTimeout(seconds * 1000);
      const s1 = await page.evaluate(() => ({ n: (window as any).__train.runs[0].steps.at(-1).samples as number, t: performance.now() }));
      return { browser: ((s1.n - s0.n) / (s1.t - s0.t)) * 1000, where };
    });
    const { train, test } = loadEmbedded();
    const node = (threads: number) => {
      setWasmThreads(threads);
      const s = new TrainSession(c, train, test);
      for (let i = 0; i < 20; i++) s.next();
      const n0 = s.samples,
        t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000) s.next();
      return ((s.samples - n0) / (performance.now() - t0)) * 1000;
    };
    const maxThreads = wasmInfo().threads;
    const nodeAll = node(maxThreads),
      node1 = node(1);
    console.log(`Chromium (${where}): ${browser.toFixed(0)} samples/s`);
    console.log(
      `Node (backend ${backend().name}), ${maxThreads} threads: ${nodeAll.toFixed(0)} samples/s; one thread: ${node1.toFixed(0)} samples/s`,
    );
    console.log(
      `ratio Chromium / Node (${maxThreads} threads): ${(browser / nodeAll).toFixed(2)}; Chromium / Node (one thread): ${(browser / node1).toFixed(2)}; load average after: ${load()}`,
    );
  } else {
    const shots = join(repo, 'test', 'lab', 'screenshots');
    mkdirSync(shots, { recursive: true });
    const only = arg('--only')?.split(',') ?? Object.keys(TRAIN_PRESETS);
    await withContext(async (ctx) => {
      for (const id of only.filter((k) => k in TRAIN_PRESETS)) {
        const page = await ctx.newPage();
        await page.goto(`${base}?preset=${id}`);
        await page
          .waitForFunction(() => (window as any).__train?.done === true, undefined, { timeout: seconds * 1000 })
          .catch(() => console.log(`${id}: not finished after ${seconds} s`));
        await page.waitForTimeout(800);
        await page.screenshot({ path: join(shots, `train-${id}-full.png`), fullPage: true });
        console.log(`${id}: ${join(shots, `train-${id}-full.png`)}`);
        await page.close();
      }
    });
  }
} finally {
  await lab.close();
}
process.exit(0);
