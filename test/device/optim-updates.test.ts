/**
 * RMSprop, Adagrad and Adadelta on a device parameter, proved on the emulated device
 * (emulated-device.ts: its rmspropStep/adagradStep/adadeltaStep run the pure rules on hidden
 * arrays): each step takes the acceleration table's fused path (counted in
 * `accelerationInfo().updates`, no host read inside a step) and gives the host run's parameters and
 * state to the bit, under the rule's own state names (readStateDict, and a host optimizer loaded
 * from it goes on as the host run does). An optimizer still without a device update stops at its
 * first step with the message naming these.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adadelta,
  Adagrad,
  Lion,
  RMSprop,
  Tensor,
  accelerationInfo,
  setBackend,
  type Optimizer,
  type OptimizerStateDict,
} from '../../src/index.js';
import { floatSource } from '../helpers.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';

setBackend('reference');
registerEmulatedDevice();

const SHAPES = [[40, 13], [33]];
const STEPS = 4;

type Make = (ps: Tensor[]) => Optimizer<any, any>;

const cases: [string, string, Make][] = [
  ['RMSprop', 'RMSprop', (ps) => new RMSprop(ps, { lr: 0.01 })],
  [
    'RMSprop centered, momentum, weight decay, maximize',
    'RMSprop',
    (ps) => new RMSprop(ps, { lr: 0.01, alpha: 0.9, eps: 1e-4, centered: true, momentum: 0.8, weightDecay: 0.1, maximize: true }),
  ],
  [
    'RMSprop with ε inside the root and η inside the momentum (Keras)',
    'RMSprop',
    (ps) => new RMSprop(ps, { lr: 0.02, centered: true, momentum: 0.5, epsInsideSqrt: true, lrInsideMomentum: true }),
  ],
  [
    'Adagrad with lr decay, weight decay, an initial accumulator',
    'Adagrad',
    (ps) => new Adagrad(ps, { lr: 0.05, lrDecay: 0.05, weightDecay: 0.1, initialAccumulatorValue: 0.1, eps: 1e-6 }),
  ],
  ['Adagrad maximize, ε inside the root', 'Adagrad', (ps) => new Adagrad(ps, { lr: 0.05, maximize: true, epsInsideSqrt: true })],
  ['Adadelta', 'Adadelta', (ps) => new Adadelta(ps)],
  [
    'Adadelta ρ, ε, lr, weight decay, maximize',
    'Adadelta',
    (ps) => new Adadelta(ps, { lr: 0.5, rho: 0.8, eps: 1e-5, weightDecay: 0.1, maximize: true }),
  ],
];

/** Parameters of SHAPES with seeded values, on the host or moved to the device. */
async function params(device: boolean): Promise<Tensor[]> {
  const rnd = floatSource(7);
  const ps: Tensor[] = [];
  for (const shape of SHAPES) {
    const t = new Tensor(rnd(shape.reduce((a, b) => a * b, 1)), shape, true);
    ps.push(device ? await t.to(DEVICE) : t);
  }
  return ps;
}

/**
 * `steps` steps of `opt` with seeded gradients (`from` on: the same gradients as a run from step 0
 * reaches there); the fused and pure counts of `rule` those steps added, and the host reads inside them.
 */
async function run(opt: Optimizer<any, any>, ps: Tensor[], rule: string, steps: number, from = 0) {
  const rnd = floatSource(11);
  for (let t = 0; t < from; t++) for (const p of ps) rnd(p.size);
  const before = accelerationInfo().updates[rule] ?? { fused: 0, pure: 0 };
  let reads = 0;
  for (let t = 0; t < steps; t++) {
    for (const p of ps) {
      const g = new Tensor(rnd(p.size), p.shape);
      p.grad = p.device === 'cpu' ? g : await g.to(p.device);
    }
    const r = counters.reads;
    opt.step();
    reads += counters.reads - r;
  }
  const after = accelerationInfo().updates[rule];
  return { fused: after.fused - before.fused, pure: after.pure - before.pure, reads };
}

const values = async (ps: Tensor[]) => Promise.all(ps.map(async (p) => Array.from(await p.read())));

for (const [what, rule, make] of cases) {
  test(`${what}: a device parameter takes the fused update and equals the host run`, async () => {
    const host = await params(false);
    const hostOpt = make(host);
    const h = await run(hostOpt, host, rule, STEPS);
    assert.deepEqual([h.fused, h.pure], [0, STEPS * SHAPES.length], 'the host (reference) runs the rule');

    const dev = await params(true);
    assert.equal(dev[0].device, DEVICE);
    const devOpt = make(dev);
    const d = await run(devOpt, dev, rule, STEPS);
    assert.deepEqual([d.fused, d.pure], [STEPS * SHAPES.length, 0], 'every device update ran fused');
    assert.equal(d.reads, 0, 'no host read inside a step');

    assert.deepEqual(await values(dev), await values(host));
    const sd = await devOpt.readStateDict();
    assert.deepEqual(sd, hostOpt.stateDict());

    // the state carried back to the host (the rule's names) goes on as the host run does
    const back = await params(false);
    for (const [i, p] of back.entries()) (p.data as Float32Array).set(await dev[i].read());
    const backOpt = make(back);
    backOpt.loadStateDict(sd as OptimizerStateDict);
    await run(backOpt, back, rule, 2, STEPS);
    await run(hostOpt, host, rule, 2, STEPS);
    assert.deepEqual(await values(back), await values(host));
    assert.deepEqual(backOpt.stateDict(), hostOpt.stateDict());
  });
}

test('RMSprop: centering and momentum switched on after the first steps create their state on the device, as the rule does on the host', async () => {
  const runs = [];
  for (const device of [false, true]) {
    const ps = await params(device);
    const opt = new RMSprop(ps, { lr: 0.01 });
    const a = await run(opt, ps, 'RMSprop', 2);
    Object.assign(opt.paramGroups[0], { centered: true, momentum: 0.9 });
    const b = await run(opt, ps, 'RMSprop', 2, 2);
    runs.push({ fused: a.fused + b.fused, values: await values(ps), state: await opt.readStateDict() });
  }
  const [host, dev] = runs;
  assert.deepEqual([host.fused, dev.fused], [0, 4 * SHAPES.length]);
  assert.deepEqual(Object.keys(dev.state.state['0']).sort(), ['gradAvg', 'momentumBuffer', 'squareAvg', 'step']);
  assert.deepEqual(dev.values, host.values);
  assert.deepEqual(dev.state, host.state);
});

test('an optimizer without a device update stops at its first step, naming RMSprop, Adagrad and Adadelta among those that run there', async () => {
  const dev = await params(true);
  const opt = new Lion(dev, { lr: 1e-3 });
  for (const p of dev) p.grad = await new Tensor(new Float32Array(p.size).fill(0.5), p.shape).to(DEVICE);
  const before = await values(dev);
  assert.throws(
    () => opt.step(),
    /^Error: Lion: parameter "0" lives on emulated, where Lion with these options has no fused update \(its rule runs on the host: await optimizer\.stepAsync\(\), as fitAsync steps, reads the parameter back and writes its update\); optimizers that run on emulated: Adam \(.*\); AdamW \(.*\); SGD \(.*\); RMSprop \(float32; every option: .*centered.*lrInsideMomentum\); Adagrad \(float32; every option: .*initialAccumulatorValue.*\); Adadelta \(float32; every option: rho, .*\)$/,
  );
  assert.deepEqual(await values(dev), before, 'nothing changed');
});
