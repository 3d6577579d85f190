/**
 * The schedules added for PyTorch 2 parity against torch 2.6 (fixture from
 * tools/golden_torch2_schedules.py): ConstantLR, LambdaLR, SequentialLR (join), ChainedScheduler
 * (chain), SWALR, and OneCycleLR's cycle_momentum — its rate and its momentum/β₁ per step, through
 * the driver on a real SGD and Adam.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertClose } from '../helpers.js';
import { fromData, type Tensor } from '../../src/index.js';
import { createOptimizer, type Optimizer, type BaseHyper } from '../../src/optim/index.js';
import * as S from '../../src/schedule/index.js';

interface Case {
  name: string;
  params: Record<string, any>;
  lr: number;
  steps: number;
  torch: number[];
  momentum?: number[];
  optimizer?: string;
}
const golden = JSON.parse(readFileSync(new URL('../../../test/fixtures/schedule/torch2_schedules.json', import.meta.url), 'utf8')) as {
  torch: string;
  cases: Case[];
};

/** The lambdas of tools/golden_torch2_schedules.py, written again. */
const LAMBDAS: Record<string, (t: number) => number> = {
  'inverse-sqrt': (t) => 1 / (1 + 0.1 * t) ** 0.5,
  'warmup-then-decay': (t) => (t < 4 ? (t + 1) / 5 : 0.9 ** (t - 4)),
};

function part(kind: string, p: Record<string, any>, lr: number): S.Schedule {
  switch (kind) {
    case 'constantlr':
      return S.constantFactor({ lr, ...(p as any) });
    case 'expgamma':
      return S.exponentialGamma({ lr, gamma: p.gamma });
    case 'linear':
      return S.linear({ lr, ...(p as any) });
    case 'step':
      return S.stepDecay({ lr, ...(p as any) });
    case 'multistep':
      return S.multiStep({ lr, ...(p as any) });
    case 'cosine':
      return S.cosine({ lr, ...(p as any) });
    case 'polynomial':
      return S.polynomial({ lr, ...(p as any) });
    default:
      throw new Error(`no part ${kind}`);
  }
}

function build(c: Case): S.Schedule {
  const p = c.params;
  switch (c.name) {
    case 'constantlr':
      return S.constantFactor({ lr: c.lr, ...p });
    case 'lambda':
      return S.lambdaFactor({ lr: c.lr, lrLambda: LAMBDAS[p.lambda] });
    case 'sequential':
      return S.join(
        p.parts.map(([k, q]: [string, any]) => part(k, q, c.lr)),
        p.milestones,
      );
    case 'chain':
      return S.chain(
        p.parts.map(([k, q]: [string, any]) => part(k, q, 1)),
        { lr: c.lr },
      );
    case 'swalr':
      return S.swalr({ lr: c.lr, ...p } as any);
    case 'onecycle':
      return S.oneCycle(p as any);
    default:
      throw new Error(`no builder for ${c.name}`);
  }
}

const counts = new Map<string, number>();
for (const c of golden.cases) {
  counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
  test(`${c.name} ${JSON.stringify(c.params)}: rates equal torch ${golden.torch}'s`, () => {
    assertClose(S.sample(build(c), c.steps), c.torch, 1e-12, `${c.name} rates`);
  });
}

for (const c of golden.cases.filter((c) => c.momentum)) {
  test(`onecycle ${JSON.stringify(c.params)} through the driver on ${c.optimizer}: lr and ${c.optimizer === 'adam' ? 'β₁' : 'momentum'} before every step equal torch ${golden.torch}'s`, () => {
    const p = fromData(new Float64Array([0.5]), [1], { requiresGrad: true });
    const opt = createOptimizer(
      c.optimizer === 'adam' ? 'adam' : 'sgd',
      [['p', p as Tensor]],
      c.optimizer === 'adam' ? { lr: c.lr } : { lr: c.lr, momentum: 0.9 },
    ) as Optimizer<BaseHyper>;
    const cb = S.scheduleCallback(build(c));
    const lrs: number[] = [];
    const ms: number[] = [];
    for (let t = 0; t < c.steps; t++) {
      cb.onStepBegin({ optimizer: opt, step: t, epoch: 1 });
      const g = opt.paramGroups[0] as unknown as { lr: number; momentum?: number; betas?: number[] };
      lrs.push(g.lr);
      ms.push(c.optimizer === 'adam' ? g.betas![0] : g.momentum!);
      p.grad = fromData(new Float64Array([1]), [1]);
      opt.step();
    }
    assertClose(lrs, c.torch, 1e-12, 'lr');
    assertClose(ms, c.momentum!, 1e-12, 'momentum');
    if (c.optimizer === 'adam') assert.equal((opt.paramGroups[0] as any).betas[1], 0.999, 'β₂ untouched');
  });
}

test('every new schedule has golden cases', () => {
  for (const [k, n] of [
    ['constantlr', 2],
    ['lambda', 2],
    ['sequential', 3],
    ['chain', 3],
    ['swalr', 5],
    ['onecycle', 5],
  ] as const) {
    assert.ok((counts.get(k) ?? 0) >= n, `${k}: ${counts.get(k)} cases`);
  }
});

test('a momentum cycle on an optimizer with neither momentum nor betas is named; combinators refuse to drop it', () => {
  const p = fromData(new Float64Array([0.5]), [1], { requiresGrad: true });
  const opt = createOptimizer('adagrad', [['p', p as Tensor]], { lr: 0.1 }) as Optimizer<BaseHyper>;
  const s = S.oneCycle({ maxLr: 0.1, totalSteps: 10, cycleMomentum: true });
  const cb = S.scheduleCallback(s);
  assert.throws(
    () => cb.onStepBegin({ optimizer: opt, step: 0, epoch: 1 }),
    /cycles the momentum, but the optimizer has neither momentum nor betas/,
  );
  assert.throws(() => S.join([s, S.constant({ lr: 0.1 })], [5]), /join schedule: schedule 0 cycles the momentum/);
  assert.throws(() => S.warmup(s, { steps: 2 }), /warmup schedule: schedule 0 cycles the momentum/);
  assert.throws(() => S.chain([s], { lr: 1 }), /chain schedule: schedule 0 cycles the momentum/);
  assert.equal(S.oneCycle({ maxLr: 0.1, totalSteps: 10 }).momentum, undefined, 'off by default');
});

test('invalid options of the new schedules are named', () => {
  const bad: [() => unknown, RegExp][] = [
    [() => S.constantFactor({ lr: 0.1, factor: 1.5 }), /constant-factor schedule: invalid factor 1.5; expected in \[0, 1\]/],
    [() => S.constantFactor({ lr: 0.1, totalSteps: 2.5 }), /constant-factor schedule: invalid totalSteps 2.5/],
    [() => S.lambdaFactor({ lr: 0.1, lrLambda: 3 as any }), /lambda schedule.*lrLambda/],
    [
      () => S.lambdaFactor({ lr: 0.1, lrLambda: (t) => (t < 2 ? 1 : NaN) })(2),
      /lambda schedule: lrLambda\(2\) returned NaN; expected a finite number ≥ 0/,
    ],
    [() => S.chain([], { lr: 0.1 }), /chain schedule: invalid schedules/],
    [() => S.chain([S.constant({ lr: 1 })], { lr: -1 }), /chain schedule: invalid lr -1/],
    [() => S.swalr({ lr: 0.1, swaLr: -1 }), /swalr schedule: invalid swaLr -1/],
    [() => S.swalr({ lr: 0.1, swaLr: 0.01, annealSteps: -2 }), /swalr schedule: invalid annealSteps -2/],
    [() => S.swalr({ lr: 0.1, swaLr: 0.01, anneal: 'cosine' as any }), /swalr schedule.*anneal/],
    [() => S.swalr({ lr: 0.1 } as any), /swalr schedule.*swaLr/],
    [
      () => S.oneCycle({ maxLr: 0.1, totalSteps: 10, cycleMomentum: true, maxMomentum: 1 }),
      /onecycle schedule: invalid maxMomentum 1; expected in \[0, 1\)/,
    ],
    [() => S.oneCycle({ maxLr: 0.1, totalSteps: 10, baseMomentum: -0.1 }), /onecycle schedule: invalid baseMomentum -0.1/],
  ];
  for (const [f, msg] of bad) assert.throws(f, msg);
});

test('SWALR and ConstantLR by hand', () => {
  // SWALR cos, α₀ = 0.1 → 0.01 over 4 steps: t = 2 is halfway, a = (1 − cos(π/2))/2 = ½ → 0.055; from t = 4 on, 0.01.
  const s = S.swalr({ lr: 0.1, swaLr: 0.01, annealSteps: 4 });
  assert.equal(s(0), 0.1);
  assertClose([s(2)], [0.055], 1e-15);
  assert.deepEqual([s(4), s(100)], [0.01, 0.01]);
  // ConstantLR's defaults: α₀/3 for 5 steps.
  assertClose(S.sample(S.constantFactor({ lr: 0.3 }), 7), [0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 0.3], 1e-15);
});
