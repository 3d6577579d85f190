/**
 * The fused optimizer updates on the GPU against the library's reference optimizers
 * (src/optim/adam.ts, src/optim/sgd.ts) over several steps: Adam and AdamW with weight decay,
 * amsgrad and maximize; SGD with momentum, dampening, Nesterov, weight decay and maximize (the
 * first step sets the buffer to the gradient); plus zero, allocLike and batchUpdates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type AdamOptions, type AdamState, adamStep } from '../../../src/optim/adam.js';
import { type SGDOptions, type SGDState, sgdRule } from '../../../src/optim/sgd.js';
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
