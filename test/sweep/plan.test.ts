/** A sweep's spec: checked names, the trials of each tuning rule, and a hash that changes with every setting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSweepSpec, planTrials, sweepHash, type SweepSpec } from '../../src/sweep/plan.js';
import { SweepSpecError } from '../../src/sweep/space.js';

const base: SweepSpec = {
  workloads: ['mlp'],
  optimizers: ['sgd', 'adam'],
  space: 'lr=log:1e-3:1e-1,momentum=0.8:0.95,beta1=0.85:0.95',
  sampler: 'halton',
  points: 4,
  seeds: 2,
  tuning: 'external',
  data: 'embedded',
};

test('external tuning: points × seeds per optimizer, each optimizer given only the names it reads', () => {
  const trials = planTrials(checkSweepSpec(base));
  assert.equal(trials.length, 2 * 4 * 2);
  const sgd = trials.filter((t) => t.optimizer === 'sgd');
  const adam = trials.filter((t) => t.optimizer === 'adam');
  for (const t of sgd) assert.deepEqual(Object.keys(t.options).sort(), ['lr', 'momentum']);
  for (const t of adam) {
    assert.deepEqual(Object.keys(t.options).sort(), ['betas', 'lr']);
    assert.equal((t.options.betas as number[])[1], 0.999);
  }
  assert.deepEqual(
    sgd.map((t) => t.seed),
    [1, 2, 1, 2, 1, 2, 1, 2],
  );
  // The workload's own budget and target unless overridden.
  assert.deepEqual([trials[0].budget, trials[0].target, trials[0].evalEvery], [400, 0.83, 20]);
  const over = planTrials(checkSweepSpec({ ...base, budget: 50, target: 0.5, evalEvery: 5 }));
  assert.deepEqual([over[0].budget, over[0].target, over[0].evalEvery], [50, 0.5, 5]);
});

test('self tuning: the defaults, one trial per optimizer and seed', () => {
  const trials = planTrials(checkSweepSpec({ ...base, space: '', tuning: 'self', points: 1 }));
  assert.deepEqual(
    trials.map((t) => [t.optimizer, t.seed, t.options]),
    [
      ['sgd', 1, {}],
      ['sgd', 2, {}],
      ['adam', 1, {}],
      ['adam', 2, {}],
    ],
  );
  assert.throws(() => checkSweepSpec({ ...base, tuning: 'self' }), /self-tuning rule trains each optimizer with its defaults/);
});

test('bad names are one error each', () => {
  assert.throws(
    () => checkSweepSpec({ ...base, optimizers: ['adma'] }),
    (e: Error) => e instanceof SweepSpecError && /unknown optimizer "adma".*adam/.test(e.message),
  );
  assert.throws(() => checkSweepSpec({ ...base, optimizers: ['lbfgs'] }), /lbfgs takes closure steps/);
  assert.throws(() => checkSweepSpec({ ...base, workloads: ['resnet'] }), /unknown workload "resnet"/);
  assert.throws(() => checkSweepSpec({ ...base, optimizers: ['sgd'], space: 'beta2=0.9:0.99' }), /beta2 is read by none of sgd/);
});

test('the sweep hash changes with every setting and not with the order of keys', () => {
  const h = sweepHash(base);
  assert.equal(sweepHash({ ...base }), h);
  const changed = [
    { seeds: 3 },
    { points: 5 },
    { sampler: 'grid' as const },
    { data: 'full' },
    { limit: 100 },
    { labelSmoothing: 0.1 },
    { classWeights: 'balanced' as const },
    { classWeights: [1, 2, 1, 1, 1, 1, 1, 1, 1, 1] },
    { mixup: 0.2 },
    { cutmix: 1 },
    { accumulate: 2 },
    { space: 'lr=log:1e-3:1' },
    { optimizers: ['adam', 'sgd'] },
  ];
  for (const c of changed) assert.notEqual(sweepHash({ ...base, ...c }), h, JSON.stringify(c));
});

test('labelSmoothing and classWeights reach every trial; absent, the trial specs hold no such keys (their ids as before)', () => {
  for (const t of planTrials(checkSweepSpec(base))) {
    assert.equal('labelSmoothing' in t, false);
    assert.equal('classWeights' in t, false);
  }
  const weights = [1, 2, 1, 1, 1, 1, 1, 1, 1, 1];
  for (const classWeights of ['balanced' as const, weights]) {
    const trials = planTrials(checkSweepSpec({ ...base, labelSmoothing: 0.1, classWeights }));
    assert.equal(trials.length, 2 * 4 * 2);
    for (const t of trials) assert.deepEqual([t.labelSmoothing, t.classWeights], [0.1, classWeights]);
  }
});

test('mixup, cutmix and accumulate reach every trial; absent, or accumulate 1, the trial specs hold no such keys', () => {
  const plain = planTrials(checkSweepSpec(base));
  for (const t of plain) for (const k of ['mixup', 'cutmix', 'accumulate']) assert.equal(k in t, false, k);
  const one = checkSweepSpec({ ...base, accumulate: 1 });
  assert.equal('accumulate' in one, false);
  assert.equal(sweepHash(one), sweepHash(checkSweepSpec(base)), 'accumulate 1 is the plain sweep');
  assert.deepEqual(planTrials(one), plain);
  const trials = planTrials(checkSweepSpec({ ...base, mixup: 0.2, cutmix: 1, accumulate: 2 }));
  assert.equal(trials.length, plain.length);
  for (const t of trials) assert.deepEqual([t.mixup, t.cutmix, t.accumulate], [0.2, 1, 2]);
});

test('mixup, cutmix and accumulate are refused for a full-batch workload, and accumulate for an optimizer that re-evaluates its loss', () => {
  for (const k of ['mixup', 'cutmix', 'accumulate'] as const)
    assert.throws(
      () => checkSweepSpec({ ...base, workloads: ['mlp', 'logreg'], [k]: 2 }),
      new RegExp(
        `--${k}: workload logreg takes full-batch steps, and --${k} (mixes|sums the gradients of) mini-batches; leave logreg out of --workloads`,
      ),
    );
  // one batch per step is what a full-batch workload takes anyway
  checkSweepSpec({ ...base, workloads: ['logreg'], accumulate: 1 });
  assert.throws(
    () => checkSweepSpec({ ...base, optimizers: ['adam', 'sam'], space: 'lr=log:1e-3:1e-1', accumulate: 2 }),
    /--accumulate 2: sam re-evaluates the loss inside its step \(a closure over one batch\), so gradients cannot be summed over batches; leave it out of --optimizers/,
  );
  checkSweepSpec({ ...base, optimizers: ['adam', 'lookahead'], space: 'lr=log:1e-3:1e-1', accumulate: 2 });
});

test("a wrapper's base in the space: a first-order optimizer to wrap, passed to the wrapper's trials only", () => {
  const spec = checkSweepSpec({ ...base, optimizers: ['sam', 'adam'], space: 'lr=0.01,base=momentum', points: 1, seeds: 1 });
  assert.deepEqual(
    planTrials(spec).map((t) => [t.optimizer, t.options]),
    [
      ['sam', { lr: 0.01, base: 'momentum' }],
      ['adam', { lr: 0.01 }],
    ],
  );
  assert.throws(
    () => checkSweepSpec({ ...base, optimizers: ['sam'], space: 'base=adma' }),
    (e: Error) => e instanceof SweepSpecError && /base=adma: expected a first-order optimizer to wrap.*did you mean adam/.test(e.message),
  );
  assert.throws(() => checkSweepSpec({ ...base, optimizers: ['lookahead'], space: 'base=lbfgs' }), /base=lbfgs: expected a first-order/);
  assert.throws(() => checkSweepSpec({ ...base, optimizers: ['adam'], space: 'base=sgd' }), /unknown name "base"/);
});

test('firstSeed: studies firstSeed..firstSeed+seeds−1, the same trials as those seeds of a sweep from 1', () => {
  const from1 = planTrials(checkSweepSpec({ ...base, seeds: 3 }));
  const later = planTrials(checkSweepSpec({ ...base, seeds: 2, firstSeed: 2 }));
  assert.deepEqual(
    later.map((t) => t.seed),
    later.map((_, i) => 2 + (i % 2)),
  );
  assert.deepEqual(
    later,
    from1.filter((t) => t.seed >= 2),
  );
  // Leaving firstSeed out hashes as the spec without the field, so results files written without it resume.
  assert.equal(sweepHash(base), sweepHash({ ...base, firstSeed: undefined }));
  assert.notEqual(sweepHash(base), sweepHash({ ...base, firstSeed: 2 }));
});
