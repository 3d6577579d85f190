/**
 * The training page measured in Chromium (not a test: it takes minutes and its figures depend on
 * the machine). Builds lab/ with Vite, serves it with COOP/COEP headers, then
 *   - `speed`: trains the same model (the default MLP 784-64-10 unless --arch/--hidden, batch 64)
 *     in the page and in Node for --seconds each, and prints samples/s of both and their ratio
 *     (Node with the wasm backend's default threads, and with one thread);
 *   - `shots`: runs every preset (or those named by --only a,b) to its end (or --seconds per preset) and writes a full-page
 *     screenshot of each to test/lab/screenshots/train-<preset>-full.png.
 * Run: npx tsc -p tsconfig.json && node dist/tools/lab-train-browser.js speed|shots [--seconds N] [--only PRESETS]
 */
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEmbedded, setWasmThreads, wasmInfo } from '../src/node.js';
import { TrainSession } from '../lab/src/train/session.js';
import { DEFAULTS, toQuery, type TrainConfig } from '../lab/src/train/config.js';
import { TRAIN_PRESETS } from '../lab/src/train/presets.js';
import { findChromium } from '../test/browser/chromium.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const mode = process.argv[2];
const secIdx = process.argv.indexOf('--seconds');
const seconds = secIdx > 0 ? Number(process.argv[secIdx + 1]) : mode === 'speed' ? 20 : 240;
if (mode !== 'speed' && mode !== 'shots') {
  console.error('usage: node dist/tools/lab-train-browser.js speed|shots [--seconds N]');
  process.exit(2);
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };
const outDir = mkdtempSync(join(tmpdir(), 'descent-lab-train-tool-'));
const { build } = await import('vite');
await build({ configFile: join(repo, 'lab', 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const file = resolve(outDir, `.${path}`);
  if (!file.startsWith(outDir + sep) || !existsSync(file) || statSync(file).isDirectory()) return void res.writeHead(404).end();
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
  });
  res.end(readFileSync(file));
});
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
const addr = server.address();
const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/train.html`;
const profile = mkdtempSync(join(tmpdir(), 'descent-lab-train-tool-profile-'));
const { chromium } = await import('playwright-core');
const found = await findChromium();
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: found.executablePath,
  env: found.env,
  headless: true,
  viewport: { width: 1400, height: 1500 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', ...found.args],
});

try {
  if (mode === 'speed') {
    const c: TrainConfig = { ...DEFAULTS, epochs: 200, train: 10000, batch: 64 };
    const page = await ctx.newPage();
    await page.goto(`${base}?${toQuery(c)}`);
    await page.waitForFunction(() => (window as any).__train?.runs?.[0]?.steps.length > 20, undefined, { timeout: 120000 });
    const s0 = await page.evaluate(() => ({ n: (window as any).__train.runs[0].steps.at(-1).samples as number, t: performance.now() }));
    await page.waitForTimeout(seconds * 1000);
    const s1 = await page.evaluate(() => ({ n: (window as any).__train.runs[0].steps.at(-1).samples as number, t: performance.now() }));
    const where = await page.evaluate(() => (window as any).__train.backend as string);
    const browser = ((s1.n - s0.n) / (s1.t - s0.t)) * 1000;
    await page.close();
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
    console.log(`model ${c.arch} hidden ${c.hidden}, batch ${c.batch}, ${seconds} s each`);
    console.log(`Chromium (${where}): ${browser.toFixed(0)} samples/s`);
    console.log(`Node, wasm ${maxThreads} threads: ${nodeAll.toFixed(0)} samples/s; one thread: ${node1.toFixed(0)} samples/s`);
    console.log(
      `ratio Chromium / Node (${maxThreads} threads): ${(browser / nodeAll).toFixed(2)}; Chromium / Node (one thread): ${(browser / node1).toFixed(2)}`,
    );
  } else {
    const shots = join(repo, 'test', 'lab', 'screenshots');
    mkdirSync(shots, { recursive: true });
    const onlyIdx = process.argv.indexOf('--only');
    const only = onlyIdx > 0 ? process.argv[onlyIdx + 1].split(',') : Object.keys(TRAIN_PRESETS);
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
  }
} finally {
  await ctx.close();
  server.close();
  rmSync(outDir, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}
process.exit(0);
