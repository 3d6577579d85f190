/**
 * The WebGPU kernels in a browser: headless Chromium (test/browser/chromium.ts finds it) with
 * --enable-unsafe-webgpu, which gives its SwiftShader software adapter, loads the built modules
 * from a local static server, acquires the device through navigator.gpu (initWebGPU's browser
 * path) and runs matmul with a transposed operand and logSoftmax, compared in the page with the
 * reference backend.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findChromium } from '../../browser/chromium.js';

/** dist/ (this file runs as dist/test/webgpu/gpu/chromium.test.js). */
const dist = fileURLToPath(new URL('../../../', import.meta.url)).replace(/[\\/]$/, '');

let server: Server;
let base = '';

before(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>webgpu</title>');
      return;
    }
    const file = resolve(dist, `.${path}`);
    if (!file.startsWith(dist + sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
});

after(() => server?.close());

interface PageReport {
  adapter: string;
  software: boolean;
  matmul: { worst: number; maxAbs: number };
  logSoftmax: { worst: number; maxAbs: number };
}

test('Chromium with --enable-unsafe-webgpu gets an adapter and runs matmul and logSoftmax equal to the reference', async () => {
  const { chromium } = await import('playwright-core');
  const found = await findChromium();
  const browser = await chromium.launch({
    executablePath: found.executablePath,
    env: found.env,
    headless: true,
    args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--enable-unsafe-webgpu', ...found.args],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(base);
    const r: PageReport = await page.evaluate(async () => {
      const gpu = await import('/src/backend/webgpu/index.js' as string);
      const { referenceBackend: ref } = await import('/src/backend/reference.js' as string);
      const ctx = await gpu.initWebGPU();
      const k = gpu.webgpuKernels(ctx);
      let s = 99;
      const rnd = (n: number) =>
        Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
      const compare = (got: Float32Array, want: Float32Array) => {
        let worst = 0;
        let maxAbs = 0;
        for (let i = 0; i < want.length; i++) {
          const e = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
          worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.max(worst, e);
          maxAbs = Math.max(maxAbs, Math.abs(got[i]));
        }
        return { worst, maxAbs };
      };
      const [m, n, kk] = [70, 50, 90];
      const a = rnd(m * kk),
        b = rnd(n * kk);
      const want = new Float32Array(m * n);
      ref.matmul(a, b, want, m, n, kk, false, true);
      const out = gpu.GpuStorage.zeros('float32', m * n);
      k.matmul(gpu.GpuStorage.from(a), gpu.GpuStorage.from(b), out, m, n, kk, false, true);
      const mm = compare(await out.read(), want);
      const x = rnd(33 * 10);
      const wantLs = new Float32Array(330);
      ref.logSoftmax(x, 33, 10, wantLs, null);
      const ls = gpu.GpuStorage.zeros('float32', 330);
      k.logSoftmax(gpu.GpuStorage.from(x), 33, 10, ls, null);
      const lsr = compare(await ls.read(), wantLs);
      const info = gpu.webgpuInfo();
      gpu.disposeWebGPU();
      return { adapter: info.adapter, software: info.software, matmul: mm, logSoftmax: lsr };
    });
    assert.deepEqual(errors, []);
    console.log(
      `chromium webgpu adapter: ${r.adapter}; matmul max error ${r.matmul.worst.toExponential(2)}, logSoftmax ${r.logSoftmax.worst.toExponential(2)}`,
    );
    assert.ok(r.adapter.length > 0, 'an adapter description');
    assert.ok(r.matmul.maxAbs > 1, 'matmul wrote its output');
    assert.ok(r.matmul.worst < 1e-5, `matmul error ${r.matmul.worst}`);
    assert.ok(r.logSoftmax.maxAbs > 1, 'logSoftmax wrote its output');
    assert.ok(r.logSoftmax.worst < 1e-5, `logSoftmax error ${r.logSoftmax.worst}`);
  } finally {
    await browser.close();
  }
});
