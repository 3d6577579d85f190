/**
 * The fused optimizer updates on the GPU against the library's reference optimizers
 * (src/optim/adam.ts, sgd.ts, rmsprop.ts, adagrad.ts, adadelta.ts) over several steps: Adam and
 * AdamW with weight decay, amsgrad and maximize; SGD with momentum, dampening, Nesterov, weight
 * decay and maximize (the first step sets the buffer to the gradient); RMSprop, Adagrad and
 * Adadelta over every combination of their boolean options with non-default numbers, parameter
 * and every state array compared; plus zero, allocLike and batchUpdates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type AdamOptions, type AdamState, adamStep } from '../../../src/optim/adam.js';
import { type SGDOptions, type SGDState, sgdRule } from '../../../src/optim/sgd.js';
import { type RMSpropOptions, type RMSpropState, rmspropRule } from '../../../src/optim/rmsprop.js';
import { type AdagradOptions, adagradRule } from '../../../src/optim/adagrad.js';
import { type AdadeltaOptions, adadeltaRule } from '../../../src/optim/adadelta.js';
import { GpuStorage } from '../../../src/backend/webgpu/index.js';
import { K, close, ctx, down, rnd, up, zeros } from './helpers.js';

const STEPS = 4;
const N = 1000 + 37;

test('adamStep equals Adam / AdamW over several steps (weight decay, amsgrad, maximize)', async () => {
  for (const decoupled of [false, true])
    for (const amsgrad of [false, true])
      for (const maximize of [false, true])
        for (const weightDecay of [0, 0.1]) {
          const h: AdamOptions = { lr: 0.01, betas: [0.9, 0.99], eps: 1e-8, weightDecay, amsgrad, maximize, epsInsideSqrt: false };
          const p = rnd(N);
          const s: AdamState = {
            step: 0,
            expAvg: new Float32Array(N),
            expAvgSq: new Float32Array(N),
            maxExpAvgSq: amsgrad ? new Float32Array(N) : undefined,
          };
          const gp = up(p),
            gm = zeros(N),
            gv = zeros(N),
            gvm = amsgrad ? zeros(N) : null;
          for (let t = 1; t <= STEPS; t++) {
            const g = rnd(N);
            adamStep(p, g, s, h, decoupled);
            const ok = K.adamStep(gp, up(g), gm, gv, gvm, {
              lr: h.lr,
              beta1: h.betas[0],
              beta2: h.betas[1],
              eps: h.eps,
              weightDecay,
              decoupled,
              maximize,
              step: t,
            });
            assert.ok(ok, 'adamStep declined GPU storage');
          }
          const what = ` decoupled=${decoupled} amsgrad=${amsgrad} maximize=${maximize} wd=${weightDecay}`;
          close('adamStep', await down(gp), p, 1e-6, what);
          close('adamStep.m', await down(gm), s.expAvg, 1e-6, what);
          close('adamStep.v', await down(gv), s.expAvgSq, 1e-6, what);
          if (gvm) close('adamStep.vMax', await down(gvm), s.maxExpAvgSq!, 1e-6, what);
        }
});

test('sgdStep equals SGD over several steps (momentum, dampening, Nesterov, weight decay, maximize)', async () => {
  const variants: Partial<SGDOptions>[] = [
    { momentum: 0 },
    { momentum: 0, weightDecay: 0.1, maximize: true },
    { momentum: 0.9 },
    { momentum: 0.9, dampening: 0.3, weightDecay: 0.05 },
    { momentum: 0.8, nesterov: true, maximize: true },
    { momentum: 0.8, nesterov: true, weightDecay: 0.1 },
  ];
  for (const v of variants) {
    const h: SGDOptions = { ...sgdRule.defaults, lr: 0.05, ...v };
    const p = rnd(N);
    const s: SGDState = {};
    const gp = up(p);
    const buf = h.momentum ? zeros(N) : null;
    for (let t = 1; t <= STEPS; t++) {
      const g = rnd(N);
      sgdRule.apply(p, g, s, h);
      const ok = K.sgdStep(gp, up(g), buf, {
        lr: h.lr,
        momentum: h.momentum,
        dampening: h.dampening,
        weightDecay: h.weightDecay,
        nesterov: h.nesterov,
        maximize: h.maximize,
        first: t === 1,
      });
      assert.ok(ok, 'sgdStep declined GPU storage');
    }
    close('sgdStep', await down(gp), p, 1e-6, ` ${JSON.stringify(v)}`);
    if (buf) close('sgdStep.buffer', await down(buf), s.momentumBuffer!, 1e-6, ` ${JSON.stringify(v)}`);
  }
});

const bools = [false, true];

test('rmspropStep equals RMSprop over several steps (centered, momentum, maximize, weight decay, both Keras forms)', async () => {
  let runs = 0;
  for (const centered of bools)
    for (const momentum of [0, 0.8])
      for (const maximize of bools)
        for (const epsInsideSqrt of bools)
          for (const lrInsideMomentum of bools)
            for (const weightDecay of [0, 0.1]) {
              const h: RMSpropOptions = {
                lr: 0.01,
                alpha: 0.9,
                eps: 1e-4,
                weightDecay,
                momentum,
                centered,
                maximize,
                epsInsideSqrt,
                lrInsideMomentum,
              };
              const p = rnd(N);
              const s: RMSpropState = rmspropRule.init(p, h, [N]);
              const gp = up(p),
                gv = zeros(N),
                gga = centered ? zeros(N) : null,
                gb = momentum ? zeros(N) : null;
              for (let t = 1; t <= STEPS; t++) {
                const g = rnd(N);
                rmspropRule.apply(p, g, s, h);
                const ok = K.rmspropStep(gp, up(g), gv, gga, gb, {
                  lr: h.lr,
                  alpha: h.alpha,
                  eps: h.eps,
                  weightDecay,
                  momentum,
                  maximize,
                  epsInsideSqrt,
                  lrInsideMomentum,
                });
                assert.ok(ok, 'rmspropStep declined GPU storage');
              }
              const what = ` ${JSON.stringify(h)}`;
              close('rmspropStep', await down(gp), p, 1e-6, what);
              close('rmspropStep.squareAvg', await down(gv), s.squareAvg, 1e-6, what);
              if (gga) close('rmspropStep.gradAvg', await down(gga), s.gradAvg!, 1e-6, what);
              // each step adds g/d to the buffer, up to 1/√(1 − α) ≈ 3.2 in size, with a few float32
              // ulps of error (WGSL's division and sqrt are within 2.5 ulps): the bound scales with it
              if (gb) close('rmspropStep.momentumBuffer', await down(gb), s.momentumBuffer!, 1e-6 * (1 + 1 / Math.sqrt(1 - h.alpha)), what);
              runs++;
            }
  assert.equal(runs, 64);
});

test('adagradStep equals Adagrad over several steps (lr decay, weight decay, initial accumulator, maximize, ε inside the root)', async () => {
  let runs = 0;
  for (const maximize of bools)
    for (const epsInsideSqrt of bools)
      for (const weightDecay of [0, 0.1])
        for (const lrDecay of [0, 0.05])
          for (const initialAccumulatorValue of [0, 0.1]) {
            const h: AdagradOptions = { lr: 0.05, lrDecay, weightDecay, initialAccumulatorValue, eps: 1e-6, maximize, epsInsideSqrt };
            const p = rnd(N);
            const s = adagradRule.init(p, h, [N]);
            const gp = up(p),
              gs = up(s.sum as Float32Array);
            for (let t = 1; t <= STEPS; t++) {
              const g = rnd(N);
              adagradRule.apply(p, g, s, h);
              const ok = K.adagradStep(gp, up(g), gs, { lr: h.lr, lrDecay, weightDecay, eps: h.eps, maximize, epsInsideSqrt, step: t });
              assert.ok(ok, 'adagradStep declined GPU storage');
            }
            const what = ` ${JSON.stringify(h)}`;
            close('adagradStep', await down(gp), p, 1e-6, what);
            close('adagradStep.sum', await down(gs), s.sum, 1e-6, what);
            runs++;
          }
  assert.equal(runs, 32);
});

test('adadeltaStep equals Adadelta over several steps (ρ, ε, lr, weight decay, maximize)', async () => {
  let runs = 0;
  for (const maximize of bools)
    for (const weightDecay of [0, 0.1])
      for (const [rho, eps, lr] of [
        [0.9, 1e-6, 1],
        [0.5, 1e-3, 0.3],
      ]) {
        const h: AdadeltaOptions = { lr, rho, eps, weightDecay, maximize };
        const p = rnd(N);
        const s = adadeltaRule.init(p, h, [N]);
        const gp = up(p),
          gv = zeros(N),
          gu = zeros(N);
        for (let t = 1; t <= STEPS; t++) {
          const g = rnd(N);
          adadeltaRule.apply(p, g, s, h);
          assert.ok(K.adadeltaStep(gp, up(g), gv, gu, h), 'adadeltaStep declined GPU storage');
        }
        const what = ` ${JSON.stringify(h)}`;
        close('adadeltaStep', await down(gp), p, 1e-6, what);
        close('adadeltaStep.squareAvg', await down(gv), s.squareAvg, 1e-6, what);
        close('adadeltaStep.accDelta', await down(gu), s.accDelta, 1e-6, what);
        runs++;
      }
  assert.equal(runs, 8);
});

test('updates inside batchUpdates are submitted together when it returns', async () => {
  const p = up(new Float32Array([1, 2, 3])),
    q = up(new Float32Array([4, 5]));
  const before = ctx.counters.submits;
  K.batchUpdates(() => {
    K.sgdStep(p, up(new Float32Array([1, 1, 1])), null, {
      lr: 0.5,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      first: true,
    });
    K.sgdStep(q, up(new Float32Array([2, 2])), null, {
      lr: 0.5,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      first: true,
    });
  });
  assert.equal(ctx.counters.submits, before + 1, 'one submit for the batch');
  assert.deepEqual([...(await down(p))], [0.5, 1.5, 2.5]);
  assert.deepEqual([...(await down(q))], [3, 4]);
});

test('the updates decline typed arrays and mismatched lengths', () => {
  const h = { lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, first: true };
  assert.equal(K.sgdStep(new Float32Array(3) as unknown as GpuStorage, up(new Float32Array(3)), null, h), false);
  assert.equal(K.sgdStep(up(new Float32Array(3)), up(new Float32Array(2)), null, h), false);
  const r = {
    lr: 0.1,
    alpha: 0.9,
    eps: 1e-8,
    weightDecay: 0,
    momentum: 0.9,
    maximize: false,
    epsInsideSqrt: false,
    lrInsideMomentum: false,
  };
  assert.equal(
    K.rmspropStep(up(new Float32Array(3)), up(new Float32Array(3)), up(new Float32Array(3)), null, up(new Float32Array(2)), r),
    false,
  );
  assert.equal(
    K.rmspropStep(up(new Float32Array(3)), up(new Float32Array(3)), new Float32Array(3) as unknown as GpuStorage, null, null, r),
    false,
  );
  const a = { lr: 0.1, lrDecay: 0, weightDecay: 0, eps: 1e-10, maximize: false, epsInsideSqrt: false, step: 1 };
  assert.equal(K.adagradStep(up(new Float32Array(3)), up(new Float32Array(3)), up(new Float32Array(4)), a), false);
  const d = { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false };
  assert.equal(K.adadeltaStep(up(new Float32Array(3)), up(new Float32Array(3)), up(new Float32Array(3)), up(new Int32Array(3)), d), false);
});

test('zero clears storage in queue order; allocLike gives zeroed storage of the same type and length', async () => {
  const a = up(new Float32Array([1, 2, 3]));
  const b = zeros(3);
  K.unary('neg', a, b);
  assert.equal(K.zero(a), true);
  assert.deepEqual([...(await down(a))], [0, 0, 0]);
  assert.deepEqual([...(await down(b))], [-1, -2, -3]);
  const like = K.allocLike(up(new Int32Array([7, 8])));
  assert.ok(like instanceof GpuStorage);
  assert.equal(like.dtype, 'int32');
  assert.deepEqual([...(await like.read())], [0, 0]);
  assert.equal(K.allocLike(new Float32Array(2) as unknown as GpuStorage), null);
  assert.equal(K.zero(new Float32Array(2) as unknown as GpuStorage), false);
});
