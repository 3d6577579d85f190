/**
 * The recurrent layers on the WebGPU backend (run by `npm run test:webgpu` on lavapipe): RNN (tanh,
 * relu), LSTM and GRU moved to 'webgpu' run their fused node on device buffers (one gate pass a
 * step each way) or, with fused: false, their composed step on the op kernels, with nothing read
 * back from the forward to the end of the backward; the outputs, final states and the gradients
 * of the input, the initial states and every parameter equal the same layer's on wasm (its fused
 * node) within float32 noise, for every option: numLayers, bidirectional, dropout between layers
 * (the same mask stream), returnSequences, forwardState with h0/c0, odd sizes. Then
 * an Embedding → LSTM → Linear model trained with Adam by fitAsync on the device follows the same
 * run on wasm, step by step. The device cat (catPiece) is checked on its own first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import * as d from '../../../src/index.js';
import { close, reseed, rnd } from './helpers.js';
import { assertNear } from './setup.js';

await initWasm();

/** Float32 sums in another order: the fused host node against the composed kernels. */
const TOL = 1e-5;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

test('cat and stack on webgpu equal the host: every axis, uneven pieces, a host operand, the backward a slice of the gradient', async () => {
  reseed(31);
  const prev = d.backend().name;
  d.setBackend('wasm');
  try {
    const cases: [number[][], number][] = [
      [
        [
          [2, 3, 4],
          [2, 1, 4],
          [2, 5, 4],
        ],
        1,
      ],
      [
        [
          [3, 2],
          [1, 2],
        ],
        0,
      ],
      [
        [
          [2, 3, 1],
          [2, 3, 4],
        ],
        2,
      ],
      [
        [
          [2, 3, 5],
          [2, 3, 5],
          [2, 3, 5],
        ],
        -1,
      ],
    ];
    for (const [shapes, axis] of cases) {
      const vals = shapes.map((s) => rnd(size(s)));
      const xs = vals.map((v, i) => d.fromData(v, shapes[i], { requiresGrad: true }));
      const y = d.cat(xs, axis);
      const gv = rnd(y.size);
      d.sum(d.mul(y, d.fromData(gv, y.shape))).backward();
      // the last operand stays on the host: cat uploads it
      const xd = await Promise.all(
        vals.map((v, i) =>
          i === vals.length - 1 ? d.fromData(v, shapes[i]) : d.fromData(v, shapes[i], { requiresGrad: true }).to('webgpu'),
        ),
      );
      const before = webgpuInfo().reads;
      const pieces = webgpuInfo().kernels.catPiece ?? 0;
      const yd = d.cat(xd, axis);
      d.sum(d.mul(yd, await d.fromData(gv, y.shape).to('webgpu'))).backward();
      const name = `cat of ${shapes.map((s) => `[${s}]`).join(', ')} on axis ${axis}`;
      assert.equal(webgpuInfo().reads, before, `${name}: nothing read back`);
      assert.equal((webgpuInfo().kernels.catPiece ?? 0) - pieces, shapes.length, `${name}: one catPiece dispatch an operand`);
      assert.equal(yd.device, 'webgpu');
      assert.deepEqual(yd.shape, y.shape);
      assert.deepEqual(Array.from(await yd.read()), Array.from(y.data), `${name}: a copy, exact`);
      for (let i = 0; i < xd.length - 1; i++)
        assert.deepEqual(Array.from(await xd[i].grad!.read()), Array.from(xs[i].grad!.data), `${name}: d${i}`);
    }
    const hs = [0, 1, 2].map(() => rnd(6));
    const s = d.stack(await Promise.all(hs.map((h) => d.fromData(h, [2, 3]).to('webgpu'))), 0);
    assert.deepEqual(s.shape, [3, 2, 3]);
    assert.deepEqual(
      Array.from(await s.read()),
      hs.flatMap((h) => Array.from(h)),
      'stack on axis 0',
    );
  } finally {
    d.setBackend(prev);
  }
});

interface Case {
  name: string;
  make: () => d.Recurrent;
  shape: [number, number, number];
  /** forwardState with initial states (with c for an LSTM), their gradients compared too. */
  state?: boolean;
  /** forward in training mode, dropout masks from Rng(seed). */
  dropoutSeed?: number;
}

/**
 * The layer on wasm and a copy of it on 'webgpu', fed the same x (and h0, c0): Σ of each result
 * times a random weight, backward, and the results and every gradient compared.
 */
async function compare(c: Case): Promise<void> {
  const host = c.make();
  const dev = c.make();
  dev.loadStateDict(host.stateDict());
  await dev.to('webgpu');
  const [N] = c.shape;
  const L = host.numLayers * host.numDirections;
  const lstm = host.mode === 'LSTM';
  const inputs: [Float32Array, number[]][] = [[rnd(size(c.shape), -2, 2), c.shape]];
  if (c.state) {
    inputs.push([rnd(L * N * host.hiddenSize), [L, N, host.hiddenSize]]);
    if (lstm) inputs.push([rnd(L * N * host.hiddenSize), [L, N, host.hiddenSize]]);
  }
  const run = (m: d.Recurrent, xs: d.Tensor[]): d.Tensor[] => {
    const opts = c.dropoutSeed === undefined ? undefined : { training: true, rng: new d.Rng(c.dropoutSeed) };
    if (!c.state) return [m.forward(xs[0], opts)];
    const r = m.forwardState(xs[0], { h: xs[1], c: xs[2] }, opts);
    return r.c ? [r.output, r.h, r.c] : [r.output, r.h];
  };
  const xs = inputs.map(([v, s]) => d.fromData(v, s, { requiresGrad: true }));
  const ys = run(host, xs);
  const gys = ys.map((y) => rnd(y.size));
  const total = (y: d.Tensor[], g: d.Tensor[]) => y.map((t, i) => d.sum(d.mul(t, g[i]))).reduce((a, b) => d.add(a, b));
  total(
    ys,
    gys.map((g, i) => d.fromData(g, ys[i].shape)),
  ).backward();

  const xd = await Promise.all(inputs.map(([v, s]) => d.fromData(v, s, { requiresGrad: true }).to('webgpu')));
  const gd = await Promise.all(gys.map((g, i) => d.fromData(g, ys[i].shape).to('webgpu')));
  const before = webgpuInfo().reads;
  const count = (kernel: string) => webgpuInfo().kernels[kernel] ?? 0;
  const [gates, gatesBack] = [count('recurrentGates'), count('recurrentGatesBackward')];
  const yd = run(dev, xd);
  total(yd, gd).backward();
  assert.equal(webgpuInfo().reads, before, `${c.name}: nothing is read back from the forward to the end of the backward`);
  // the fused node: one gate pass a step, layer and direction, each way; the composed step: none
  const passes = host.fused ? c.shape[1] * L : 0;
  assert.equal(count('recurrentGates') - gates, passes, `${c.name}: gate passes`);
  assert.equal(count('recurrentGatesBackward') - gatesBack, passes, `${c.name}: backward gate passes`);
  for (const [i, y] of yd.entries()) {
    assert.equal(y.device, 'webgpu', `${c.name}: result ${i} lives on the device`);
    assert.deepEqual(y.shape, ys[i].shape, `${c.name}: result ${i}'s shape`);
    close(c.name, await y.read(), ys[i].data, TOL, ` result ${i}`);
  }
  for (const [i, x] of xd.entries()) close(c.name, await x.grad!.read(), xs[i].grad!.data, TOL, ` d(input ${i})`);
  const hp = new Map(host.namedParameters());
  for (const [k, p] of dev.namedParameters()) {
    assert.equal(p.device, 'webgpu');
    close(c.name, await p.grad!.read(), hp.get(k)!.grad!.data, TOL, ` d${k}`);
  }
}

test('RNN, LSTM and GRU on webgpu equal wasm: outputs, final states and every gradient, for every option', async () => {
  reseed(32);
  const prev = d.backend().name;
  d.setBackend('wasm');
  try {
    const rng = (s: number) => new d.Rng(s);
    const cases: Case[] = [
      { name: 'LSTM, H = 5, N = 1', make: () => new d.LSTM(3, 5, { rng: rng(1) }), shape: [1, 4, 3] },
      { name: 'GRU (PyTorch gate order), H = 7', make: () => new d.GRU(4, 7, { rng: rng(2) }), shape: [3, 5, 4] },
      { name: 'RNN tanh, 2 layers', make: () => new d.RNN(3, 6, { numLayers: 2, rng: rng(3) }), shape: [2, 4, 3] },
      {
        name: 'RNN relu, bidirectional',
        make: () => new d.RNN(3, 5, { nonlinearity: 'relu', bidirectional: true, rng: rng(4) }),
        shape: [2, 3, 3],
      },
      {
        name: 'LSTM, 2 layers, bidirectional, returnSequences false',
        make: () => new d.LSTM(4, 6, { numLayers: 2, bidirectional: true, returnSequences: false, rng: rng(5) }),
        shape: [3, 4, 4],
      },
      {
        name: 'GRU, 2 layers, bidirectional, no bias, returnSequences false',
        make: () => new d.GRU(3, 5, { numLayers: 2, bidirectional: true, bias: false, returnSequences: false, rng: rng(6) }),
        shape: [2, 3, 3],
      },
      {
        name: 'LSTM forwardState with h0 and c0, 2 layers, bidirectional',
        make: () => new d.LSTM(3, 5, { numLayers: 2, bidirectional: true, rng: rng(7) }),
        shape: [2, 4, 3],
        state: true,
      },
      { name: 'GRU forwardState with h0', make: () => new d.GRU(3, 6, { rng: rng(8) }), shape: [1, 3, 3], state: true },
      {
        name: 'RNN tanh forwardState with h0, bidirectional',
        make: () => new d.RNN(2, 3, { bidirectional: true, rng: rng(9) }),
        shape: [2, 2, 2],
        state: true,
      },
      {
        name: 'LSTM, 3 layers, dropout 0.4 between them, training',
        make: () => new d.LSTM(3, 5, { numLayers: 3, dropout: 0.4, rng: rng(10) }),
        shape: [2, 3, 3],
        dropoutSeed: 11,
      },
      {
        name: 'GRU, 2 layers, bidirectional, dropout 0.5, training',
        make: () => new d.GRU(3, 4, { numLayers: 2, bidirectional: true, dropout: 0.5, rng: rng(12) }),
        shape: [2, 3, 3],
        dropoutSeed: 13,
      },
    ];
    // the composed step (fused: false) runs on the device's op kernels, every cell and option
    for (const c of [...cases])
      cases.push({
        ...c,
        name: `${c.name}, fused false`,
        make: () => {
          const m = c.make();
          const o = { rng: rng(20) };
          const opts = {
            numLayers: m.numLayers,
            bidirectional: m.bidirectional,
            bias: m.bias,
            dropout: m.dropout,
            returnSequences: m.returnSequences,
            fused: false,
            ...o,
          };
          return m.mode === 'LSTM'
            ? new d.LSTM(m.inputSize, m.hiddenSize, opts)
            : m.mode === 'GRU'
              ? new d.GRU(m.inputSize, m.hiddenSize, opts)
              : new d.RNN(m.inputSize, m.hiddenSize, { ...opts, nonlinearity: m.mode === 'RNN_RELU' ? 'relu' : 'tanh' });
        },
      });
    for (const c of cases) await compare(c);
  } finally {
    d.setBackend(prev);
  }
});

test('the fused backward on webgpu refuses createGraph, naming fused: false, as on the host', async () => {
  const m = await new d.GRU(3, 4, { rng: new d.Rng(1) }).to('webgpu');
  const x = await d.rand([2, 3, 3], new d.Rng(2)).to('webgpu');
  const y = d.sum(m.forward(x));
  assert.throws(
    () => d.grad(y, m.parameters(), { createGraph: true }),
    /GRU: the fused layer's backward is not differentiable \(createGraph\); build the layer with \{ fused: false \}/,
  );
});

test('a recurrent layer refuses an input on webgpu while its parameters are on the host, naming the move', async () => {
  const m = new d.LSTM(3, 4, { rng: new d.Rng(1) });
  const x = await d.rand([2, 3, 3], new d.Rng(2)).to('webgpu');
  assert.throws(
    () => m.forward(x),
    /LSTM: the input lives on webgpu and the parameters on cpu; move the model with await model\.to\('webgpu'\)/,
  );
});

/** Token sequences whose class is which of two marker tokens comes first (ids stored as floats). */
function tokens(n: number, T: number, rng: d.Rng): d.TensorDataset {
  const ids = new Float32Array(n * T);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < T; t++) ids[i * T + t] = 2 + Math.floor(rng.uniform() * 8);
    const [a, b] = [Math.floor(rng.uniform() * T), Math.floor(rng.uniform() * T)];
    labels[i] = rng.uniform() < 0.5 ? 0 : 1;
    ids[i * T + a] = labels[i];
    if (b !== a) ids[i * T + b] = 1 - labels[i];
  }
  return new d.TensorDataset(d.fromData(ids, [n, T]), labels);
}

test('Embedding → LSTM (or GRU) → Linear trained with Adam by fitAsync on webgpu follows the same run on wasm', async () => {
  const prev = d.backend().name;
  d.setBackend('wasm');
  try {
    for (const gru of [false, true]) await fitBoth(gru);
  } finally {
    d.setBackend(prev);
  }
});

async function fitBoth(gru: boolean): Promise<void> {
  const run = async (device: boolean) => {
    const model = new d.Sequential(
      new d.Embedding(10, 6, { rng: new d.Rng(1) }),
      gru
        ? new d.GRU(6, 7, { returnSequences: false, rng: new d.Rng(2) })
        : new d.LSTM(6, 7, { numLayers: 2, bidirectional: true, dropout: 0.2, returnSequences: false, rng: new d.Rng(2) }),
      new d.Linear(gru ? 7 : 14, 2, { rng: new d.Rng(3) }),
    );
    if (device) await model.to('webgpu');
    const rng = new d.Rng(4);
    const losses: number[] = [];
    const o: d.FitOptions = {
      model,
      optimizer: new d.Adam(model.parameters(), { lr: 0.01 }),
      train: new d.DataLoader(tokens(48, 6, new d.Rng(5)), { batchSize: 16, shuffle: true, rng: rng.fork('data') }),
      epochs: 2,
      rng,
      now: () => 0,
      callbacks: [{ onStepEnd: (_s, loss) => void losses.push(loss) }],
    };
    const records = device ? await d.fitAsync(o) : d.fit(o);
    const params = await Promise.all(model.parameters().map((p) => p.read()));
    return { records, losses, params };
  };
  const want = await run(false);
  const reads = webgpuInfo().reads;
  const got = await run(true);
  assert.equal(got.losses.length, 6);
  assertNear(`${gru ? 'GRU' : 'LSTM'} step loss`, got.losses, want.losses, 1e-5);
  for (const [i, p] of got.params.entries()) assertNear(`parameter ${i}`, p, want.params[i], 1e-4);
  // one read a step (its loss), the epoch end's finite check, and the parameters read above
  assert.ok(webgpuInfo().reads - reads <= got.losses.length + 2 * 2 + got.params.length, `reads: ${webgpuInfo().reads - reads}`);
}

test('descent train --backend webgpu trains LSTM and GRU models on the GPU, with the losses of the wasm run', () => {
  const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
  const args = ['train', '--data', 'embedded', '--limit', '64', '--test-limit', '32', '--batch-size', '32', '--epochs', '1'];
  const losses = (out: string) =>
    out
      .match(/^epoch 1\/1 {2}train loss (\S+) {2}test loss (\S+)/m)
      ?.slice(1)
      .map(Number);
  for (const model of ['lstm:16:bidirectional=true,linear', 'gru:12,linear']) {
    const gpu = spawnSync(process.execPath, [main, ...args, '--model', model, '--backend', 'webgpu'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(gpu.status, 0, `${model}: exit status ${gpu.status}: ${gpu.stderr}`);
    assert.match(gpu.stdout, /backend webgpu \(/, model);
    const host = spawnSync(process.execPath, [main, ...args, '--model', model, '--backend', 'wasm'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(host.status, 0, host.stderr);
    const [a, b] = [losses(gpu.stdout), losses(host.stdout)];
    assert.ok(a && b, gpu.stdout);
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(a[i] - b[i]) <= 2e-4 * (1 + Math.abs(b[i])), `${model}: ${a} on webgpu, ${b} on wasm`);
  }
});
