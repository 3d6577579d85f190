/**
 * The wasm backend's recurrent step (extensions recurrentStep and recurrentStepBackward,
 * src/backend/wasm/recurrent.ts on asm/recurrent.ts): the fused layers call it for float32, once
 * per layer, direction and step in each pass, and give what recurrent-fused.ts's JavaScript loops
 * give on the same backend without it (a backend registered with the same kernels less those two),
 * to float32 precision: outputs, final states and the gradients of the input, the initial states
 * and every parameter, for RNN tanh and ReLU, LSTM and GRU, bidirectional and two layers deep,
 * with and without initial states, at sizes with H not a multiple of 4, N = 1, and a step big
 * enough for the threads to split its gate pass. For float64 the extension declines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';
import { setBackend, registerBackend, extensionsOf, type Extensions } from '../../src/backend/backend.js';
import * as d from '../../src/index.js';
import { assertClose, floatSource } from '../helpers.js';

const wasm = await initWasm({ threads: 2 });
setWasmThreads(2);
const ext = extensionsOf('wasm');
const STEP = ['recurrentStep', 'recurrentStepBackward'] as const;
/** Calls of each step extension, and how many of them it handled (returned true). */
const calls: Record<string, { called: number; handled: number }> = {};
const spied: Partial<Extensions> = { ...ext };
for (const name of STEP) {
  const f = ext[name] as (s: unknown) => boolean;
  assert.equal(typeof f, 'function', `wasm offers ${name}`);
  (spied as Record<string, unknown>)[name] = (s: unknown) => {
    const c = (calls[name] ??= { called: 0, handled: 0 });
    c.called++;
    const r = f(s);
    if (r) c.handled++;
    return r;
  };
}
registerBackend({ ...wasm, name: 'wasm-step-counted' }, spied);
const without: Partial<Extensions> = { ...ext };
for (const name of STEP) delete without[name];
registerBackend({ ...wasm, name: 'wasm-step-js' }, without);

type Kind = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

function build(kind: Kind, inputSize: number, H: number, opts: d.RNNOptions): d.Recurrent {
  const o = { ...opts, rng: new d.Rng(11) };
  if (kind === 'LSTM') return new d.LSTM(inputSize, H, o);
  if (kind === 'GRU') return new d.GRU(inputSize, H, o);
  return new d.RNN(inputSize, H, { ...o, nonlinearity: kind === 'RNN_TANH' ? 'tanh' : 'relu' });
}

/** Outputs and gradients of one run on `backend`: y, h_n (c_n), then the gradients of x, h0 (c0) and every parameter. */
function run(
  backend: string,
  kind: Kind,
  sizes: { N: number; T: number; I: number; H: number },
  opts: d.RNNOptions,
  states: boolean,
): d.HostStorage[] {
  setBackend(backend);
  try {
    const { N, T, I, H } = sizes;
    const layers = (opts.numLayers ?? 1) * (opts.bidirectional ? 2 : 1);
    const src = floatSource(N * 1000 + H);
    const rnd = (n: number, lo = -1, hi = 1) => (opts.dtype === 'float64' ? Float64Array.from(src(n, lo, hi)) : src(n, lo, hi));
    const m = build(kind, I, H, opts);
    const x = d.fromData(rnd(N * T * I, -2, 2), [N, T, I], { requiresGrad: true });
    const h0 = states ? d.fromData(rnd(layers * N * H), [layers, N, H], { requiresGrad: true }) : undefined;
    const c0 = states && kind === 'LSTM' ? d.fromData(rnd(layers * N * H), [layers, N, H], { requiresGrad: true }) : undefined;
    const r = m.forwardState(x, { h: h0, c: c0 });
    const R = (t: d.Tensor) => d.fromData(rnd(t.size), t.shape);
    let loss = d.add(d.sum(d.mul(r.output, R(r.output))), d.sum(d.mul(r.h, R(r.h))));
    if (r.c) loss = d.add(loss, d.sum(d.mul(r.c, R(r.c))));
    loss.backward();
    const out = [r.output.data, r.h.data, ...(r.c ? [r.c.data] : []), x.grad!.data];
    if (h0) out.push(h0.grad!.data);
    if (c0) out.push(c0.grad!.data);
    for (const p of m.parameters()) out.push(p.grad!.data);
    return out as d.HostStorage[];
  } finally {
    setBackend('reference');
  }
}

const CASES: { sizes: { N: number; T: number; I: number; H: number }; opts: d.RNNOptions; states: boolean }[] = [
  // H not a multiple of 4 (the kernels' scalar columns), one row
  { sizes: { N: 1, T: 4, I: 3, H: 5 }, opts: { numLayers: 2, bidirectional: true }, states: true },
  { sizes: { N: 3, T: 5, I: 4, H: 7 }, opts: { numLayers: 2, bidirectional: true }, states: false },
  // no biases
  { sizes: { N: 2, T: 3, I: 4, H: 8 }, opts: { bias: false }, states: true },
  // a step of 64 × 4·66 pre-activations: the gate pass split over the two threads (and H mod 4 = 2)
  { sizes: { N: 64, T: 6, I: 10, H: 66 }, opts: { bidirectional: true }, states: true },
];

for (const kind of ['RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU'] as const) {
  test(`${kind}: the wasm step kernels run every step of both passes and give the JavaScript loops' values to float32 precision`, () => {
    for (const { sizes, opts, states } of CASES) {
      const what = `${kind} ${JSON.stringify(sizes)} ${JSON.stringify(opts)}${states ? ' with initial states' : ''}`;
      for (const k of Object.keys(calls)) delete calls[k];
      const fast = run('wasm-step-counted', kind, sizes, opts, states);
      const passes = (opts.numLayers ?? 1) * (opts.bidirectional ? 2 : 1) * sizes.T;
      for (const name of STEP) assert.deepEqual(calls[name], { called: passes, handled: passes }, `${what}: ${name} calls`);
      const slow = run('wasm-step-js', kind, sizes, opts, states);
      assert.equal(fast.length, slow.length);
      fast.forEach((v, i) => {
        assert.ok(v instanceof Float32Array, `${what} [${i}] is float32`);
        assertClose(v, slow[i], 3e-5, `${what} [${i}]`);
      });
    }
  });
}

test('float64: the step extensions decline and the JavaScript loops run (equal to the run without them)', () => {
  for (const k of Object.keys(calls)) delete calls[k];
  const sizes = { N: 2, T: 3, I: 3, H: 5 };
  const opts: d.RNNOptions = { dtype: 'float64', bidirectional: true };
  const fast = run('wasm-step-counted', 'LSTM', sizes, opts, true);
  const slow = run('wasm-step-js', 'LSTM', sizes, opts, true);
  for (const name of STEP) assert.deepEqual(calls[name], { called: 6, handled: 0 }, name);
  fast.forEach((v, i) => assert.deepEqual(v, slow[i], `[${i}]`));
});

test('what the forward saves lives in reused blocks of wasm memory: a second backward through one graph works until a later forward reuses them, then throws naming fused: false', () => {
  setBackend('wasm-step-counted');
  try {
    const m = new d.LSTM(3, 6, { rng: new d.Rng(2) });
    const src = floatSource(9);
    const x = d.fromData(src(2 * 4 * 3), [2, 4, 3], { requiresGrad: true });
    const loss = () => d.sum(d.mul(m.forward(x), d.fromData(src(2 * 4 * 6), [2, 4, 6])));
    const l1 = loss();
    l1.backward();
    const g1 = Float32Array.from(x.grad!.data);
    x.grad = null;
    l1.backward();
    assert.deepEqual(Float32Array.from(x.grad!.data), g1, 'the same gradient from a second backward');
    const before = wasmInfo().memoryBytes;
    // steps of a training loop reuse the same block: the memory does not grow with them
    for (let i = 0; i < 20; i++) loss().backward();
    assert.equal(wasmInfo().memoryBytes, before, 'no memory grown by 20 more passes');
    assert.throws(() => l1.backward(), /LSTM.*later forward reused.*fused: false/);
  } finally {
    setBackend('reference');
  }
});

test('training: Adam steps that change W_hh in place between passes give the JavaScript loops’ trajectory (W_hh is packed anew each pass)', () => {
  const losses = (backend: string) => {
    setBackend(backend);
    try {
      const m = new d.LSTM(5, 40, { rng: new d.Rng(4) });
      const opt = new d.Adam(m.parameters(), { lr: 0.05 });
      const src = floatSource(21);
      const x = d.fromData(src(16 * 6 * 5), [16, 6, 5]);
      const r = d.fromData(src(16 * 6 * 40), [16, 6, 40]);
      const out: number[] = [];
      for (let i = 0; i < 4; i++) {
        opt.zeroGrad();
        const l = d.sum(d.mul(m.forward(x), r));
        l.backward();
        opt.step();
        out.push(l.data[0]);
      }
      return out;
    } finally {
      setBackend('reference');
    }
  };
  for (const k of Object.keys(calls)) delete calls[k];
  const fast = losses('wasm-step-counted');
  assert.equal(calls.recurrentStep.handled, 4 * 6);
  assertClose(fast, losses('wasm-step-js'), 1e-4, 'losses');
  assert.ok(Math.abs(fast[3] - fast[0]) > 0.1, `the steps change the loss: ${fast}`);
});

test('W_hh changed in place between two forwards (no backward between them): the second forward reads the new values', () => {
  const outputs = (backend: string) => {
    setBackend(backend);
    try {
      const m = new d.LSTM(5, 40, { rng: new d.Rng(4) });
      const x = d.fromData(floatSource(22)(8 * 3 * 5), [8, 3, 5]);
      const first = d.noGrad(() => m.forward(x)).data.slice();
      const w = m.namedParameters().find(([n]) => n === 'weight_hh_l0')![1];
      for (let i = 0; i < w.data.length; i++) w.data[i] *= -1.5;
      return [first, d.noGrad(() => m.forward(x)).data.slice()];
    } finally {
      setBackend('reference');
    }
  };
  const [a1, a2] = outputs('wasm-step-counted');
  const [b1, b2] = outputs('wasm-step-js');
  assertClose(a1, b1, 3e-5, 'first forward');
  assertClose(a2, b2, 3e-5, 'second forward');
  assert.ok(Math.abs(a2[100] - a1[100]) > 1e-3, 'the change shows');
});

/** |got − exact| in float32 ulps of the exact value (a normal float32 here). */
function ulps(got: number, exact: number): number {
  const e = Math.fround(Math.abs(exact));
  const next = new Float32Array(new Uint32Array([new Uint32Array(new Float32Array([e]).buffer)[0] + 1]).buffer)[0];
  return Math.abs(got - exact) / (next - e);
}

test('the step kernels’ σ and tanh (float32 operations only, tools/recurrent_activations.py) are within 2.5 and 1.5 ulp of the exact values (its largest errors), with their limits, ±0, ±∞ and NaN', () => {
  // an LSTM's first step without initial states: acts = σ(i), σ(f), tanh(g), σ(o) of the input
  // projection as given; an RNN's: h = tanh(x). H = 7 runs 4 columns in lanes and 3 alone.
  const H = 7;
  const xs: number[] = [0, -0, Infinity, -Infinity, Number.NaN, 1e-40, -1e-40, 1e-30, 200, -200, 88.7, -88.7, 0.5493, -0.5493];
  for (let v = -30; v <= 30; v += 0.0137) xs.push(v);
  for (let e = -20; e <= 1; e += 0.25) xs.push(2 ** e, -(2 ** e), 0.5493 * (1 + 2 ** e / 64));
  const N = Math.ceil(xs.length / H);
  const x = new Float32Array(N * 4 * H);
  // every value in every gate block: σ reads blocks 0, 1, 3, tanh block 2
  for (let n = 0; n < N; n++)
    for (let g = 0; g < 4; g++) for (let j = 0; j < H; j++) x[n * 4 * H + g * H + j] = xs[(n * H + j) % xs.length];
  const acts = new Float32Array(N * 4 * H);
  const buf = () => new Float32Array(N * H);
  const handled = ext.recurrentStep!({
    cell: 'LSTM',
    N,
    H,
    x,
    hPrev: null,
    w: new Float32Array(4 * H * H),
    bHh: null,
    cPrev: null,
    acts,
    h: buf(),
    c: buf(),
    tc: buf(),
    hn: null,
    firstStep: true,
  });
  assert.ok(handled, 'the wasm step handles float32');
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  let worst = 0;
  let checked = 0;
  for (let e = 0; e < x.length; e++) {
    const v = x[e];
    const got = acts[e];
    const exact = Math.floor(e / H) % 4 === 2 ? Math.tanh(v) : sigmoid(v);
    const what = `${Math.floor(e / H) % 4 === 2 ? 'tanh' : 'σ'}(${v})`;
    if (Number.isNaN(v)) assert.ok(Number.isNaN(got), `${what} = ${got}`);
    else if (v === 0) assert.ok(Object.is(got, Math.floor(e / H) % 4 === 2 ? v : 0.5), `${what} = ${got}`);
    else if (Math.abs(exact) < 1.1754944e-38) assert.ok(Math.abs(got - exact) < 1.2e-38, `${what} = ${got}`);
    else {
      worst = Math.max(worst, ulps(got, exact));
      const bound = Math.floor(e / H) % 4 === 2 ? 1.5 : 2.5;
      assert.ok(ulps(got, exact) <= bound, `${what} = ${got}, exact ${exact}: ${ulps(got, exact)} ulp`);
      checked++;
    }
  }
  assert.ok(checked > 4000, `${checked} values checked`);
  console.log(`step kernels' σ and tanh: ${checked} values, largest error ${worst.toFixed(3)} ulp`);
});
