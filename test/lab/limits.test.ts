/**
 * The lab's URL cannot ask for unbounded work: L-BFGS options past the library's bounds become a
 * notice and the defaults, and the largest accepted ones run within the evaluation budget (the page
 * once froze computing 5000 steps of maxIter iterations each). Runs the lab's own modules in Node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromQuery, LIMITS } from '../../lab/src/state.js';
import { runRacer } from '../../lab/src/race.js';

const parse = (q: string) => fromQuery(q, [], () => undefined);

test('L-BFGS counts from the URL past the bounds are refused with a notice naming the bound', () => {
  for (const [k, max] of [
    ['maxIter', 100000],
    ['maxEval', 125000],
    ['historySize', 1000],
  ] as const) {
    const { state, notices } = parse(`r=lbfgs;${k}=1000000000`);
    assert.deepEqual(state.racers[0].options, {}, 'defaults used');
    assert.ok(
      notices.some((n) => n.includes(`invalid ${k} 1000000000; expected an integer from 1 to ${max}`)),
      notices.join(' | '),
    );
  }
});

test('the largest accepted L-BFGS options run within the evaluation budget, in bounded time', () => {
  const { state, notices } = parse(
    'n=5000&r=lbfgs;maxIter=100000;maxEval=125000;historySize=1000;toleranceGrad=0;toleranceChange=0;lr=0.0001;lineSearchFn=null',
  );
  assert.deepEqual(notices, []);
  assert.equal(state.budget, LIMITS.budget[1]);
  const t0 = performance.now();
  const run = runRacer(
    { fn: state.fn, start: state.start, budget: state.budget, noise: 0, seed: 0 },
    state.racers[0],
    state.racers[0].options,
    false,
  );
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 10, `${seconds.toFixed(1)} s`);
  assert.ok(run.xs.length >= 1);
});

test('function and optimizer names in the URL match ignoring case, as in the CLI', () => {
  const { state, notices } = parse('fn=Himmelblau&r=ADAM;lr=0.1');
  assert.deepEqual(notices, []);
  assert.equal(state.fn, 'himmelblau');
  assert.equal(state.racers[0].opt, 'adam');
});

test('numbers in the URL are decimal only, as in the CLI: 0x10 is not 16', () => {
  const { state, notices } = parse('n=0x10&lr=1e-2&lrm=one&r=adam;lr=0x1');
  assert.equal(state.budget, 300, 'default budget');
  assert.equal(state.lr, 0.01);
  assert.ok(notices.includes('bad value for "n": default used'), notices.join(' | '));
  assert.ok(notices.includes('adam: bad value for lr ignored'), notices.join(' | '));
});

test('a batch size from the URL must be a power of two, as the slider offers: b=3 is refused with a notice', () => {
  assert.equal(parse('b=4').state.batch, 4);
  assert.deepEqual(parse('b=4096').notices, []);
  const { state, notices } = parse('b=3');
  assert.equal(state.batch, 1);
  assert.deepEqual(notices, ['batch size b=3 is not a power of two (1, 2, 4 … 4096): default used']);
  assert.equal(parse('b=8192').state.batch, 1);
});

test('every refused URL value is named in the notice, a start given with an unknown surface included', () => {
  const bad = parse('fn=nosuch&x=1e999&y=2');
  assert.equal(bad.state.fn, 'rosenbrock');
  assert.deepEqual(bad.notices, ['bad value for "fn": default used', 'bad value for "x/y": default used']);
  const lost = parse('fn=nosuch&x=1&y=2');
  assert.deepEqual(lost.state.start, [-1.2, 1]);
  assert.deepEqual(lost.notices, [
    'bad value for "fn": default used',
    'start (1, 2) was for the refused "fn": the start of rosenbrock used',
  ]);
});
