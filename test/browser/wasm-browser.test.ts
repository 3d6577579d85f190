/**
 * The wasm backend in a real browser (Chromium through playwright-core: Debian's if installed, else
 * the one inside the @sparticuz/chromium npm package; test/browser/chromium.ts). The built dist/ is
 * served as plain ES modules on 127.0.0.1 by a tiny static server, once with the cross-origin isolation headers (COOP same-origin + COEP require-corp) and once
 * without. Checks:
 *   - isolated page, module Web Worker: `initWasm({ threads: 2 })` starts a kernel Web Worker on
 *     shared memory; a matmul with a transposed operand, conv2d (forward and both backward
 *     passes) and Adam steps, all big enough to be cut into parts for the threads, equal the
 *     reference backend computed in the same worker (float32 tolerance);
 *   - a window's main thread (isolated or not) and a worker on a non-isolated page fall back to
 *     one thread on unshared memory and still compute the same matmul;
 *   - `await ready()` from descent/wasm, the one line, gives wasm with threads in an isolated
 *     page's worker and one thread in a window, where importing the entry started nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.js';
import { PARALLEL_MACS } from '../../src/backend/wasm/context.js';

/** dist/ (this file runs as dist/test/browser/wasm-browser.test.js). */
const dist = fileURLToPath(new URL('../../', import.meta.url)).replace(/[\\/]$/, '');

/** The isomorphic entry and descent/wasm, as the page imports them. */
type Lib = typeof import('../../src/index.js') & typeof import('../../src/wasm.js');

interface Comparison {
  name: string;
  length: number;
  /** max over i of |got − want| / max(scale, |want|), scale 1 (lr for Adam); Infinity if a value is NaN */
  worst: number;
  at: number;
  got: number;
  want: number;
  /** max |got| and how many outputs are non-zero: a kernel that wrote nothing must fail */
  maxAbs: number;
  nonZero: number;
}

interface BrowserReport {
  crossOriginIsolated: boolean;
  sharedArrayBuffer: boolean;
  inWindow: boolean;
  info: ReturnType<Lib['wasmInfo']>;
  /** wasmInfo() after the checks: how many kernel parts the worker ran */
  infoAfter: ReturnType<Lib['wasmInfo']>;
  results: Comparison[];
  fusedAdamCalls: number;
  sizes: { matmulMacs: number; convMacs: number; adamElements: number };
  /** printed only */
  ms: { init: number; checks: number };
}

const MM = { m: 96, n: 80, k: 200 };
const CONV = {
  n: 4,
  c: 8,
  h: 16,
  w: 16,
  k: 16,
  kh: 3,
  kw: 3,
  oh: 16,
  ow: 16,
  strideH: 1,
  strideW: 1,
  padH: 1,
  padW: 1,
  dilationH: 1,
  dilationW: 1,
  groups: 1,
};
const ADAM_N = 200_000;

/**
 * Runs in the browser (serialised with toString, served as a module): it must not refer to
 * anything outside itself. Compares the wasm backend with the reference backend in the calling
 * thread and returns the numbers for Node to judge.
 */
async function browserCheck(
  lib: Lib,
  opts: { threads: number; full: boolean; mm: typeof MM; conv: typeof CONV; adamN: number },
): Promise<BrowserReport> {
  const g = globalThis as { crossOriginIsolated?: boolean; window?: unknown };
  const t0 = performance.now();
  await lib.initWasm({ threads: opts.threads });
  const t1 = performance.now();
  const info = lib.wasmInfo();
  const wasm = lib.setBackend('wasm');
  lib.setBackend('reference');
  const ref = lib.referenceBackend;
  let s = 20261127;
  const rnd = (n: number) => Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
  const results: Comparison[] = [];
  const compare = (name: string, got: ArrayLike<number>, want: ArrayLike<number>, scale = 1) => {
    const c: Comparison = {
      name,
      length: got.length === want.length ? got.length : -1,
      worst: 0,
      at: -1,
      got: 0,
      want: 0,
      maxAbs: 0,
      nonZero: 0,
    };
    for (let i = 0; i < Math.min(got.length, want.length); i++) {
      const err = Math.abs(got[i] - want[i]) / Math.max(scale, Math.abs(want[i]));
      const e = Number.isNaN(err) ? Infinity : err;
      if (e > c.worst || c.at < 0) Object.assign(c, { worst: e, at: i, got: got[i], want: want[i] });
      c.maxAbs = Math.max(c.maxAbs, Math.abs(got[i]));
      if (got[i] !== 0) c.nonZero++;
    }
    results.push(c);
  };
  const { m, n, k } = opts.mm;
  for (const [transA, transB] of [
    [false, true],
    [true, false],
  ]) {
    const a = rnd(m * k),
      b = rnd(k * n);
    const run = (be: typeof ref) => {
      const out = new Float32Array(m * n);
      be.matmul(a, b, out, m, n, k, transA, transB);
      return out;
    };
    compare(`matmul ${m}x${n}x${k}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`, run(wasm), run(ref));
  }
  let fusedAdamCalls = 0;
  if (opts.full) {
    const cg = opts.conv;
    const x = rnd(cg.n * cg.c * cg.h * cg.w),
      w = rnd(cg.k * cg.c * cg.kh * cg.kw),
      gy = rnd(cg.n * cg.k * cg.oh * cg.ow);
    const conv = (be: typeof ref) => {
      const y = new Float32Array(gy.length),
        gx = new Float32Array(x.length),
        gw = new Float32Array(w.length);
      be.conv2d(x, w, y, cg);
      be.conv2dBackwardInput(gy, w, gx, cg);
      be.conv2dBackwardWeight(x, gy, gw, cg);
      return [y, gx, gw];
    };
    const [cw, cr] = [conv(wasm), conv(ref)];
    ['conv2d forward', 'conv2d backward input', 'conv2d backward weight'].forEach((name, i) => compare(name, cw[i], cr[i]));

    // Adam through the optimizer, on the wasm backend with a spy on its fused step
    const ext = lib.extensionsOf('wasm');
    lib.registerBackend({ ...wasm, name: 'wasm-spy' }, { ...ext, adamStep: (...args) => (fusedAdamCalls++, ext.adamStep!(...args)) });
    const lr = 1e-2;
    const p0 = [rnd(opts.adamN), rnd(3001)];
    const grads = [0, 1, 2].map(() => p0.map((p) => rnd(p.length)));
    const adam = (name: string) => {
      lib.setBackend(name);
      const ps = p0.map((p) => new lib.Tensor(Float32Array.from(p), [p.length], true));
      ps.forEach((p, i) => (p.name = `p${i}`));
      const opt = new lib.Adam(ps, { lr, weightDecay: 0.01 });
      for (const gs of grads) {
        ps.forEach((p, i) => (p.grad = new lib.Tensor(Float32Array.from(gs[i]), [gs[i].length])));
        opt.step();
      }
      lib.setBackend('reference');
      // the parameter moved by the steps (so an Adam that did nothing differs from the reference)
      return ps.map((p, i) => Float32Array.from(p.data, (v, j) => v - p0[i][j]));
    };
    const [aw, ar] = [adam('wasm-spy'), adam('reference')];
    // updates are O(lr): measured relative to lr, not to 1
    aw.forEach((d, i) => compare(`Adam update of ${d.length} parameters`, d, ar[i], lr));
  }
  const cg = opts.conv;
  return {
    crossOriginIsolated: g.crossOriginIsolated === true,
    sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
    inWindow: g.window !== undefined,
    info,
    infoAfter: lib.wasmInfo(),
    results,
    fusedAdamCalls,
    sizes: { matmulMacs: m * n * k, convMacs: cg.n * cg.k * cg.c * cg.kh * cg.kw * cg.oh * cg.ow, adamElements: opts.adamN },
    ms: { init: t1 - t0, checks: performance.now() - t1 },
  };
}

/** The host Web Worker: imports the library and the check, runs it on request. */
const HOST_WORKER = `import * as core from '/src/index.js';
import * as wasm from '/src/wasm.js';
const lib = { ...core, ...wasm };
import { browserCheck } from '/__test/check.js';
self.onmessage = async (e) => {
  try { self.postMessage({ ok: true, report: await browserCheck(lib, e.data) }); }
  catch (err) { self.postMessage({ ok: false, error: String((err && err.stack) || err) }); }
};`;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };

function serve(isolated: boolean): Promise<{ server: Server; base: string }> {
  const headers: Record<string, string> = isolated
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
    : {};
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const send = (type: string, body: string | Buffer) =>
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', ...headers }).end(body);
    if (path === '/')
      return send(
        'text/html',
        '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>descent wasm</title><p>wasm backend test</p>',
      );
    if (path === '/__test/check.js') return send('text/javascript', `export const browserCheck = ${browserCheck.toString()};\n`);
    if (path === '/__test/host.js') return send('text/javascript', HOST_WORKER);
    const file = resolve(dist, `.${path}`);
    if (!file.startsWith(dist + sep) || !existsSync(file) || statSync(file).isDirectory()) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    send(TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      ok({ server, base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/` });
    }),
  );
}

type Browser = import('playwright-core').Browser;
type Page = import('playwright-core').Page;
let browser: Browser;
const servers: Server[] = [];
const bases = { isolated: '', plain: '' };

before(async () => {
  for (const kind of ['isolated', 'plain'] as const) {
    const { server, base } = await serve(kind === 'isolated');
    servers.push(server);
    bases[kind] = base;
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
});

async function open(kind: 'isolated' | 'plain'): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(bases[kind]);
  return { page, errors };
}

const opts = (threads: number, full: boolean) => ({ threads, full, mm: MM, conv: CONV, adamN: ADAM_N });

/** Runs the check in a module Web Worker of the page. */
async function inWorker(page: Page, o: ReturnType<typeof opts>): Promise<BrowserReport> {
  const r = await page.evaluate(
    (o) =>
      new Promise<{ ok: boolean; report?: BrowserReport; error?: string }>((done) => {
        const w = new Worker('/__test/host.js', { type: 'module' });
        w.onmessage = (e) => done(e.data);
        w.onerror = (e) => done({ ok: false, error: `host worker failed: ${e.message}` });
        w.postMessage(o);
      }),
    o,
  );
  if (!r.ok) assert.fail(`in the Web Worker: ${r.error}`);
  return r.report!;
}

/** Runs the check on the window's main thread. */
async function inWindow(page: Page, o: ReturnType<typeof opts>): Promise<BrowserReport> {
  return page.evaluate(async (o) => {
    const [core, wasm, { browserCheck }] = await Promise.all([
      import('/src/index.js' as string),
      import('/src/wasm.js' as string),
      import('/__test/check.js' as string),
    ]);
    return browserCheck({ ...core, ...wasm }, o) as Promise<BrowserReport>;
  }, o);
}

/** Prints what ran (not asserted: timings on a loaded machine are noise). */
function note(what: string, r: BrowserReport, t0: number): void {
  const { threads, workers, sharedMemory, relaxedSimd } = r.info;
  console.log(
    `# ${what}: threads ${threads}, workers ${workers}, shared ${sharedMemory}, relaxed SIMD ${relaxedSimd}; ` +
      `initWasm ${r.ms.init.toFixed(0)} ms, checks ${r.ms.checks.toFixed(0)} ms, whole evaluate ${(performance.now() - t0).toFixed(0)} ms; ` +
      `worst relative errors: ${r.results.map((c) => `${c.name} ${c.worst.toExponential(1)}`).join(', ')}`,
  );
}

function assertMatches(r: BrowserReport, names: string[]): void {
  assert.deepEqual(
    r.results.map((c) => c.name.replace(/ of \d+ parameters$/, '')),
    names,
  );
  for (const c of r.results) {
    assert.ok(c.length > 0, `${c.name}: wasm and reference outputs have the same length`);
    assert.ok(c.worst <= 1e-4, `${c.name}: wasm ${c.got} vs reference ${c.want} at [${c.at}] (relative error ${c.worst} > 1e-4)`);
    assert.ok(
      c.maxAbs > 1e-3 && c.nonZero > 0.9 * c.length,
      `${c.name}: the output is (mostly) zero (max |x| ${c.maxAbs}, ${c.nonZero}/${c.length} non-zero)`,
    );
  }
}

const MATMULS = [`matmul ${MM.m}x${MM.n}x${MM.k} Bᵀ`, `matmul ${MM.m}x${MM.n}x${MM.k} Aᵀ`];

test('cross-origin isolated page, module Web Worker: 2 threads on shared memory; matmul, conv2d and Adam equal the reference', async () => {
  const { page, errors } = await open('isolated');
  try {
    const t0 = performance.now();
    const r = await inWorker(page, opts(2, true));
    note('isolated worker', r, t0);
    assert.equal(r.crossOriginIsolated, true, 'the worker is cross-origin isolated');
    assert.equal(r.inWindow, false);
    assert.equal(r.sharedArrayBuffer, true);
    assert.equal(r.info.threads, 2, 'two threads');
    assert.equal(r.info.workers, 1, 'one kernel Web Worker started');
    assert.equal(r.info.sharedMemory, true, 'shared WebAssembly memory');
    // big enough that the kernels are cut into parts for the two threads (context.ts partsFor)
    assert.ok(
      r.sizes.matmulMacs >= PARALLEL_MACS &&
        r.sizes.convMacs >= PARALLEL_MACS &&
        r.sizes.adamElements * 8 >= PARALLEL_MACS &&
        r.sizes.adamElements > 65536,
    );
    assertMatches(r, [...MATMULS, 'conv2d forward', 'conv2d backward input', 'conv2d backward weight', 'Adam update', 'Adam update']);
    assert.equal(r.fusedAdamCalls, 6, 'Adam took the fused wasm step (2 parameters × 3 steps)');
    assert.ok(r.infoAfter.threadedCalls > 0, 'kernels were split over the threads');
    assert.ok(r.infoAfter.workerParts > 0, `the kernel Web Worker ran none of the ${r.infoAfter.threadedCalls} split calls' parts`);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

for (const [kind, where] of [
  ['plain', 'window'],
  ['isolated', 'window'],
  ['plain', 'worker'],
] as const) {
  test(`${kind === 'plain' ? 'not isolated' : 'cross-origin isolated'} page, ${where === 'window' ? "the window's main thread" : 'module Web Worker'}: one thread on unshared memory, same matmul as the reference`, async () => {
    const { page, errors } = await open(kind);
    try {
      const t0 = performance.now();
      const r = where === 'window' ? await inWindow(page, opts(2, false)) : await inWorker(page, opts(2, false));
      note(`${kind} ${where}`, r, t0);
      assert.equal(r.crossOriginIsolated, kind === 'isolated');
      assert.equal(r.inWindow, where === 'window');
      assert.equal(r.sharedArrayBuffer, kind === 'isolated', 'SharedArrayBuffer exists only when cross-origin isolated');
      assert.equal(r.info.initialised, true);
      assert.equal(r.info.threads, 1, 'asked for 2 threads, fell back to 1');
      assert.equal(r.info.workers, 0, 'no kernel worker');
      assert.equal(r.info.sharedMemory, false, 'unshared WebAssembly memory');
      assertMatches(r, MATMULS);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
}

/** What `await ready()` gives in a window's main thread or a module Web Worker of the page. */
async function readyIn(
  page: Page,
  where: 'window' | 'worker',
): Promise<{ before: string; after: string; threads: number; relaxedSimd: boolean; oracle: string }> {
  return page.evaluate(async (where) => {
    const probe = `const lib = { ...(await import(${JSON.stringify(`${location.origin}/src/index.js`)})), ...(await import(${JSON.stringify(`${location.origin}/src/wasm.js`)})) };
      const before = lib.backend().name;
      await lib.ready();
      const after = lib.backend().name, info = lib.wasmInfo();
      return { before, after, threads: info.threads, relaxedSimd: info.relaxedSimd, oracle: lib.setBackend('reference').name };`;
    if (where === 'window') return new Function(`return (async () => { ${probe} })()`)();
    const src = `self.onmessage = async () => { try { self.postMessage(await (async () => { ${probe} })()); } catch (e) { self.postMessage({ error: String(e) }); } };`;
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
    return new Promise((done) => {
      w.onmessage = (e) => done(e.data);
      w.postMessage(null);
    });
  }, where);
}

test("await ready(): wasm with threads in an isolated page's worker, one thread in a window; the reference backend stays one call away", async () => {
  for (const [kind, where, threads] of [
    ['isolated', 'worker', 2],
    ['plain', 'window', 1],
  ] as const) {
    const { page, errors } = await open(kind);
    try {
      const r = await readyIn(page, where);
      console.log(`# ready() in a ${kind} ${where}: ${JSON.stringify(r)}`);
      assert.equal(r.before, 'reference', 'nothing starts on import of descent or descent/wasm');
      assert.equal(r.after, 'wasm');
      // one thread per core up to 8; the CI machine has at least 2
      if (threads === 1) assert.equal(r.threads, 1);
      else assert.ok(r.threads >= 2, `threads ${r.threads}`);
      assert.equal(r.relaxedSimd, true, 'Chromium validates relaxed SIMD');
      assert.equal(r.oracle, 'reference');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  }
});
