/**
 * Penalties, proximal steps, constraints and decoupled decay on parameters the host cannot read
 * synchronously (the emulated device: the reference kernels behind a DeviceStorage): each device
 * form (src/regularize/device.ts) against its host loop, and fitAsync with the regularizer
 * callbacks against fit on the host. On the host, fitAsync with callbacks that edit the
 * parameters gives fit's records to the bit: the edits run in onUpdate, inside the step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SGD,
  Tensor,
  decoupledDecayCallback,
  fit,
  fitAsync,
  l1ProximalCallback,
  maxNorm,
  maxNormCallback,
  nearZeroFraction,
  penaltyCallback,
  selectParameters,
  setBackend,
  softThreshold,
  type Callback,
  type Module,
} from '../../src/index.js';
import { toDevice } from '../../src/autograd/device.js';
import {
  addScaledInPlace,
  l1NormOn,
  maxNormOn,
  nearZeroFractionOn,
  negatedCopyInto,
  softThresholdOn,
} from '../../src/regularize/device.js';
import { DEVICE, registerEmulatedDevice } from './emulated-device.js';
import { figures, mlp, runOptions, sample } from './setup.js';

setBackend('reference');
registerEmulatedDevice();
/** The largest |a − b| / (1 + |b|). */
function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return e;
}

const onDevice = (values: Float32Array, shape: number[]): Promise<Tensor> => toDevice(new Tensor(values.slice(), shape), DEVICE);

test('each device form equals its host loop', async () => {
  const w = sample(12 * 7, 1, 0.4);
  w[3] = 0;
  // τ a float32 value, so that both sides compare against the same threshold; w[5] exactly at it
  const tau = 0.0625;
  w[5] = tau;

  const soft = await onDevice(w, [12, 7]);
  softThresholdOn(soft, tau);
  const hostSoft = w.slice();
  softThreshold(hostSoft, tau);
  const gotSoft = await soft.read();
  assert.ok(maxError(gotSoft, hostSoft) < 1e-7, `soft-threshold error ${maxError(gotSoft, hostSoft)}`);
  assert.equal(gotSoft.filter((v) => v === 0).length, hostSoft.filter((v) => v === 0).length);
  assert.ok(hostSoft.filter((v) => v === 0).length > 10, 'the sample has weights thresholded to 0');

  // rows longer and shorter than c: the short ones stay exactly as they were
  const c = 0.7;
  const mn = await onDevice(w, [12, 7]);
  maxNormOn(mn, c);
  const host = new Tensor(w.slice(), [12, 7]);
  maxNorm(host, c);
  const gotMn = await mn.read();
  assert.ok(maxError(gotMn, host.data) < 1e-6, `max-norm error ${maxError(gotMn, host.data)}`);
  let kept = 0;
  for (let r = 0; r < 12; r++) {
    const row = Array.from(w.subarray(r * 7, r * 7 + 7));
    const norm = Math.hypot(...row);
    const got = Array.from(gotMn.subarray(r * 7, r * 7 + 7));
    if (norm <= c) {
      kept++;
      assert.deepEqual(got, row, `row ${r} (norm ${norm} ≤ c) unchanged`);
    } else assert.ok(Math.abs(Math.hypot(...got) - c) < 1e-6, `row ${r} rescaled to c`);
  }
  assert.ok(kept > 0 && kept < 12, `rows on both sides of c (${kept} of 12 within it)`);

  // w ← w − k·w_prev, through −w_prev kept on the device
  const dd = await onDevice(w, [12, 7]);
  const prev = negatedCopyInto(dd);
  addScaledInPlace(dd, 0.1, prev);
  const hostDd = Float32Array.from(w, (v) => v - 0.1 * v);
  assert.ok(maxError(await dd.read(), hostDd) < 1e-7);

  const a = await onDevice(w, [12, 7]);
  const b = await onDevice(sample(10, 2), [10]);
  let l1 = 0;
  for (const v of [...w, ...(await b.read())]) l1 += Math.abs(v);
  const gotL1 = (await l1NormOn([a, b]).read())[0];
  assert.ok(Math.abs(gotL1 - l1) / l1 < 1e-6, `Σ|w| ${gotL1} vs ${l1}`);
  const hostA = new Tensor(w.slice(), [12, 7]);
  for (const tol of [0, 1e-3, 0.2]) assert.equal(await nearZeroFractionOn([a], tol), nearZeroFraction([hostA], tol), `tol ${tol}`);
});

const regularizers: [string, (m: Module) => Callback[]][] = [
  ['L1 + L2 penalties', (m) => [penaltyCallback({ params: selectParameters(m), l1: 1e-4, l2: 1e-3 })]],
  ['L1 by soft-thresholding', (m) => [l1ProximalCallback({ params: selectParameters(m), lambda: 2e-3 })]],
  [
    'max-norm 0.5 and decoupled decay 0.05',
    (m) => [
      maxNormCallback({ params: selectParameters(m), maxNorm: 0.5 }),
      decoupledDecayCallback({ params: m.parameters(), weightDecay: 0.05 }),
    ],
  ],
];

const options = (model: Module, seed: number, callbacks: Callback[]) =>
  runOptions(model, new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }), seed, { callbacks });

for (const [name, make] of regularizers) {
  test(`fitAsync with ${name}: fit's records to the bit on the host, within float32 rounding on the device`, async () => {
    const ref = mlp(4);
    const want = fit(options(ref, 6, make(ref)));

    const host = mlp(4);
    const hostRecords = await fitAsync(options(host, 6, make(host)));
    assert.deepEqual(figures(hostRecords), figures(want));
    assert.deepEqual(
      host.parameters().map((p) => Array.from(p.data)),
      ref.parameters().map((p) => Array.from(p.data)),
    );

    const dev = mlp(4);
    await dev.to(DEVICE);
    const devRecords = await fitAsync(options(dev, 6, make(dev)));
    assert.equal(devRecords.length, want.length);
    for (const [i, r] of devRecords.entries()) {
      const w = want[i];
      assert.deepEqual(Object.keys(r.terms).sort(), Object.keys(w.terms).sort());
      for (const k of ['trainLoss', 'testLoss', 'testAccuracy', 'nearZero', 'zeros'] as const) {
        assert.equal(typeof r[k], typeof w[k], `${k} present on both`);
        if (typeof w[k] === 'number')
          assert.ok(Math.abs((r[k] as number) - (w[k] as number)) < 2e-5, `epoch ${i + 1} ${k}: ${r[k]} vs ${w[k]}`);
      }
      for (const [k, v] of Object.entries(w.terms))
        assert.ok(Math.abs(r.terms[k] - v) <= 2e-5 * (1 + Math.abs(v)), `epoch ${i + 1} term ${k}: ${r.terms[k]} vs ${v}`);
    }
    const got = await Promise.all(dev.parameters().map((p) => p.read()));
    ref.parameters().forEach((p, i) => assert.ok(maxError(got[i], p.data) < 1e-5, `parameter ${i}: error ${maxError(got[i], p.data)}`));
  });
}

test('L1 by soft-thresholding on a device: a settled step waits for its own term, not for a later step', async () => {
  const m = mlp(3);
  await m.to(DEVICE);
  const params = selectParameters(m);
  const optimizer = new SGD(m.parameters(), { lr: 0.1 });
  const cb = l1ProximalCallback({ params, lambda: 0.5 });
  const s = { optimizer } as never;
  const l1 = async () => (await l1NormOn(params).read())[0];
  cb.onEpochBegin();
  // fitAsync's order: step 1 queued, step 2 queued, then step 1 settled while step 2 runs
  cb.onUpdate(s);
  const after1 = await l1();
  cb.onUpdate(s);
  const after2 = await l1();
  await cb.onStepEnd();
  assert.deepEqual(cb.state(), { sum: 0.5 * after1, n: 1 }, 'the first settle counts the first step only');
  await cb.onStepEnd();
  assert.deepEqual(cb.state(), { sum: 0.5 * after1 + 0.5 * after2, n: 2 });
  assert.ok(after2 < after1, `the second step thresholds further (${after2} < ${after1})`);
  // a read still pending at the epoch's end is counted there
  cb.onUpdate(s);
  const after3 = await l1();
  const r = { terms: {} as Record<string, number> } as never as { terms: Record<string, number>; nearZero?: number };
  await cb.onEpochEnd(undefined, r as never);
  const want = (0.5 * (after1 + after2 + after3)) / 3;
  assert.ok(Math.abs(r.terms.l1 - want) < 1e-12 * want, `epoch term ${r.terms.l1} vs ${want}`);
});
