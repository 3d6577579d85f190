/**
 * Muon, Adan, Prodigy, D-Adaptation Adam and SOAP: against their reference algorithms (fixtures from
 * tools/golden_modern_a.py, the authors' code re-expressed in torch ops, float64) to 1e-9 relative,
 * first steps derived by hand, and the named pitfalls of test/optim/properties.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Tensor, fromData, tanh, add, sub, mm, mul, sum, mean, square } from '../../src/index.js';
import {
  createOptimizer,
  pureUpdate,
  adanRule,
  muonRule,
  muonParamGroups,
  newtonSchulz5,
  soapRule,
  prodigyStep,
  prodigyRule,
  dadaptAdamStep,
  dadaptAdamRule,
  MATRIX_ONLY,
  cloneState,
  type Optimizer,
  type BaseHyper,
  type OptimizerStateDict,
  type ParamState,
} from '../../src/optim/index.js';
import { symEig, qrQ, matmul, modeProduct, modeGram } from '../../src/optim/linalg.js';
import { trajectory } from '../../src/surfaces/index.js';
import { assertClose, floatSource } from '../helpers.js';

const fx = JSON.parse(readFileSync(new URL('../../../test/fixtures/optim/modern_a.json', import.meta.url), 'utf8'));
const TOL = 1e-9;
type Named = [string, Tensor][];

// ---- goldens: the network ----------------------------------------------------------------------
const net = fx.net;
function netParams(): Named {
  return (net.names as string[]).map((n) => {
    const t = fromData(new Float64Array(net.init[n]), net.shapes[n], { requiresGrad: true });
    t.name = n;
    return [n, t];
  });
}
const X = fromData(new Float64Array(net.x), [8, 4]);
const Y = fromData(new Float64Array(net.y), [8, 3]);
const K = fromData(new Float64Array(net.k), net.kShape);
/** Squared error on inputs scaled by 1 + 0.1 t at step t (no gradient repeats: see the script's header). */
function netLoss(ps: Map<string, Tensor>, t: number): Tensor {
  const h1 = tanh(add(mm(mul(X, 1 + 0.1 * t), ps.get('w1')!, false, true), ps.get('b1')!));
  const h2 = tanh(add(mm(h1, ps.get('w2')!, false, true), ps.get('b2')!));
  const mse = mean(square(sub(add(mm(h2, ps.get('w3')!, false, true), ps.get('b3')!), Y)));
  return add(mse, mul(sum(mul(tanh(ps.get('c')!), K)), 0.1));
}

const covered = new Set<string>();
for (const c of fx.cases) {
  covered.add(c.key);
  const label = `${c.key} ${JSON.stringify(c.options)}${c.groups ? ` groups ${JSON.stringify(c.groups)}` : ''}`;
  test(`${label} on the network: parameters after every step and final state equal the reference's`, () => {
    const named = netParams();
    const byName = new Map(named);
    const input = c.groups
      ? c.groups.map((g: { params: string[] }) => ({ ...g, params: g.params.map((n) => [n, byName.get(n)!] as [string, Tensor]) }))
      : named;
    const opt = createOptimizer(c.key, input, c.options) as Optimizer<BaseHyper>;
    for (let t = 0; t < c.steps; t++) {
      opt.zeroGrad();
      const loss = netLoss(byName, t);
      loss.backward();
      assertClose(loss.item(), c.loss[t], TOL, `${label} loss before step ${t + 1}`);
      opt.step();
      for (const [n, p] of named) assertClose(p.data, c.params[t][n], TOL, `${label} ${n} after step ${t + 1}`);
    }
    const sd = opt.stateDict();
    for (const [n, e] of Object.entries(c.state as Record<string, Record<string, number | number[]>>)) {
      for (const [k, v] of Object.entries(e)) {
        const mine = sd.state[n]?.[k];
        assert.ok(mine !== undefined, `${label}: state "${n}".${k} missing`);
        assertClose(typeof mine === 'number' ? [mine] : mine, typeof v === 'number' ? [v] : v, TOL, `${label} state ${n}.${k}`);
      }
    }
    for (const [k, v] of Object.entries((c.shared ?? {}) as Record<string, number>)) {
      for (const g of sd.paramGroups) assertClose(g[k] as number, v, TOL, `${label} shared ${k}`);
    }
  });
}

// ---- goldens: 2-D surfaces ---------------------------------------------------------------------
for (const c of fx.surfaces) {
  test(`${c.key} ${JSON.stringify(c.options)} on ${c.problem}: trajectory equals the reference's`, () => {
    const r = trajectory(c.problem, c.key, { start: c.start, steps: c.steps, options: c.options });
    assert.equal(r.trace.length, c.x.length);
    r.trace.forEach((s, t) => {
      assertClose(s.x, c.x[t], TOL, `${c.key} x at t=${t}`);
      assertClose([s.f], [c.f[t]], TOL, `${c.key} f at t=${t}`);
    });
  });
}

test('the fixtures cover every method of this file', () => {
  assert.deepEqual([...covered].sort(), ['adan', 'dadaptadam', 'muon', 'prodigy', 'soap']);
});

// ---- hand-derived first steps ------------------------------------------------------------------
function param(name: string, values: number[], shape = [values.length]): Tensor {
  const t = fromData(new Float64Array(values), shape, { requiresGrad: true });
  t.name = name;
  return t;
}
const setGrad = (p: Tensor, g: number[]) => (p.grad = fromData(new Float64Array(g), p.shape));

test('Adan, first step: the difference term is zero and the step is lr·g/(|g| + ε), then the proximal decay', () => {
  // k = 1: m = (1−β1)g, d = 0 (g_0 = g_1), n = (1−β3)g², denominator √(n/(1−β3)) + ε = |g| + ε;
  // θ ← (θ − (lr/(1−β1))·m/(|g| + ε)) / (1 + lr λ).
  const p = param('p', [1, -2]);
  const o = createOptimizer('adan', [['p', p]], { lr: 0.1, weightDecay: 0.5 });
  setGrad(p, [0.5, -3]);
  o.step();
  assertClose(p.data, [(1 - (0.1 * 0.5) / (0.5 + 1e-8)) / 1.05, (-2 + (0.1 * 3) / (3 + 1e-8)) / 1.05], 1e-15, 'Adan θ1');
});

test('Muon, first step on a diagonal matrix: each singular value follows the quintic polynomial', () => {
  // G = diag(3, 4): the momentum and Nesterov blend only rescale G, normalisation gives diag(0.6, 0.8),
  // and the iteration maps each singular value σ ↦ aσ + bσ³ + cσ⁵ five times. θ ← θ(1 − lr λ) − lr·O.
  const [a, b, c] = [3.4445, -4.775, 2.0315];
  const phi = (s: number) => {
    for (let i = 0; i < 5; i++) s = a * s + b * s ** 3 + c * s ** 5;
    return s;
  };
  const w = param('w', [1, 2, 3, 4], [2, 2]);
  const o = createOptimizer('muon', [{ params: [['w', w]] }] as never, { lr: 0.1, weightDecay: 0.5 });
  setGrad(w, [3, 0, 0, 4]);
  o.step();
  const shrink = 1 - 0.1 * 0.5;
  assertClose(w.data, [1 * shrink - 0.1 * phi(0.6), 2 * shrink, 3 * shrink, 4 * shrink - 0.1 * phi(0.8)], 1e-12, 'Muon θ1');
  assert.ok(phi(0.6) > 0.6 && phi(0.6) < 1.3 && phi(0.8) > 0.6 && phi(0.8) < 1.3, 'singular values pushed towards 1');
});

test('Prodigy, first two steps by hand: a step of size d0 first, then d from ⟨g, θ0 − θ⟩', () => {
  const d0 = 1e-6;
  const [b1, b2] = [0.9, 0.999];
  const b3 = Math.sqrt(b2);
  const p = param('p', [1]);
  const o = createOptimizer('prodigy', [['p', p]], { lr: 1 }) as Optimizer<BaseHyper>;
  setGrad(p, [0.5]);
  o.step();
  // step 1: θ0 = p0, so r = 0, d̂ = 0 and d stays d0; m = d0(1−β1)g, v = d0²(1−β2)g², step d0·m/(√v + d0 ε)
  const theta1 = 1 - (d0 * (d0 * (1 - b1) * 0.5)) / (d0 * Math.sqrt(1 - b2) * 0.5 + d0 * 1e-8);
  assertClose(p.data, [theta1], 1e-15, 'Prodigy θ1');
  setGrad(p, [0.5]);
  o.step();
  // step 2: r = β3·0 + (d/d0)·d0·⟨0.5, 1 − θ1⟩;  s = β3·(d0·0.5) + d0·0.5;  d̂ = r/|s|; d = max(d0, d̂) (d was d0)
  const r = d0 * 0.5 * (1 - theta1);
  const s = b3 * d0 * 0.5 + d0 * 0.5;
  const dHat = r / s;
  const d = Math.max(d0, dHat);
  const sd = o.stateDict().paramGroups[0];
  assertClose([sd.dHat as number, sd.d as number, sd.k as number], [dHat, d, 2], 1e-15, 'Prodigy d̂, d, k');
  // the first estimate jumps past growthRate: d = max(d0, d̂) while d is still d0, bounded by growth only later
  assert.ok(dHat > 1.1 * d0, `d̂ ${dHat} must exceed 1.1·d0 for this check`);
  const q = param('q', [1]);
  const o2 = createOptimizer('prodigy', [['q', q]], { lr: 1, growthRate: 1.1 }) as Optimizer<BaseHyper>;
  for (let k = 0; k < 2; k++) {
    setGrad(q, [0.5]);
    o2.step();
  }
  assertClose(o2.stateDict().paramGroups[0].d as number, dHat, 1e-15, 'Prodigy first jump with growthRate 1.1');
});

test('D-Adapt Adam, first step: m carries dη, so the step is d0·lr·(1−β1)g/(√((1−β2)g²) + ε) and d stays d0', () => {
  const p = param('p', [1, 2]);
  const o = createOptimizer('dadaptadam', [['p', p]], { lr: 2 }) as Optimizer<BaseHyper>;
  setGrad(p, [0.5, -1]);
  o.step();
  const step = (g: number) => (1e-6 * 2 * 0.1 * g) / (Math.sqrt(0.001 * g * g) + 1e-8);
  assertClose(p.data, [1 - step(0.5), 2 - step(-1)], 1e-15, 'D-Adapt θ1');
  assert.equal(o.stateDict().paramGroups[0].d, 1e-6);
});

test('SOAP: the first step only gathers statistics; the second is Adam in the eigenbasis (a diagonal G: a permutation)', () => {
  // G = diag(3, 4): L = (1−βs)G Gᵀ and R = (1−βs)GᵀG are diagonal, their eigenbases permutations, so
  // G' = diag(4, 3) and Adam acts entry by entry: a step lr·√(1−β2)/(1−β1)·(1−β1)g'/(√(1−β2)|g'| + ε)
  // on the diagonal, 0 off it; then θ ← θ − lr λ θ.
  const w = param('w', [1, 2, 3, 4], [2, 2]);
  const b = param('b', [1]);
  const o = createOptimizer(
    'soap',
    [
      ['w', w],
      ['b', b],
    ],
    { lr: 0.1, weightDecay: 0.5 },
  ) as Optimizer<BaseHyper>;
  setGrad(w, [3, 0, 0, 4]);
  setGrad(b, [2]);
  o.step();
  assert.deepEqual(Array.from(w.data), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(b.data), [1]);
  setGrad(w, [3, 0, 0, 4]);
  setGrad(b, [2]);
  o.step();
  const stepSize = (0.1 * Math.sqrt(1 - 0.95)) / (1 - 0.95);
  const move = (g: number) => (stepSize * ((1 - 0.95) * g)) / (Math.sqrt(1 - 0.95) * Math.abs(g) + 1e-8);
  const decay = (x: number) => x - 0.1 * 0.5 * x;
  assertClose(w.data, [decay(1 - move(3)), decay(2), decay(3), decay(4 - move(4))], 1e-14, 'SOAP w after step 2');
  assertClose(b.data, [decay(1 - move(2))], 1e-14, 'SOAP b (1-D: plain Adam) after step 2');
});

// ---- linear algebra ----------------------------------------------------------------------------
test('linalg: symEig reconstructs A with orthonormal vectors, values descending; qrQ is orthogonal with Qᵀ A upper triangular', () => {
  const n = 5;
  const B = Array.from({ length: n * n }, (_, i) => Math.sin(1.7 * i + 0.3));
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) A[i * n + j] += B[i * n + k] * B[j * n + k];
  const { values, vectors: V } = symEig(A, n);
  for (let i = 1; i < n; i++) assert.ok(values[i - 1] >= values[i]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let vtv = 0;
      let rec = 0;
      for (let k = 0; k < n; k++) {
        vtv += V[k * n + i] * V[k * n + j];
        rec += V[i * n + k] * values[k] * V[j * n + k];
      }
      assert.ok(Math.abs(vtv - (i === j ? 1 : 0)) < 1e-13, `VᵀV[${i}][${j}] = ${vtv}`);
      assert.ok(Math.abs(rec - A[i * n + j]) < 1e-12, `V Λ Vᵀ[${i}][${j}] = ${rec} vs ${A[i * n + j]}`);
    }
  }
  const Q = qrQ(B, n);
  const QtB = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) QtB[i * n + j] += Q[k * n + i] * B[k * n + j];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let qtq = 0;
      for (let k = 0; k < n; k++) qtq += Q[k * n + i] * Q[k * n + j];
      assert.ok(Math.abs(qtq - (i === j ? 1 : 0)) < 1e-13);
      if (i > j) assert.ok(Math.abs(QtB[i * n + j]) < 1e-13, `R[${i}][${j}] = ${QtB[i * n + j]}`);
    }
  }
});

test('linalg: mode products and Gram matrices of a 3-d tensor agree with the matrix forms', () => {
  const dims = [2, 3, 4];
  const t = Float64Array.from({ length: 24 }, (_, i) => Math.cos(0.9 * i));
  const Q = qrQ(
    Float64Array.from({ length: 9 }, (_, i) => Math.sin(i + 1)),
    3,
  );
  // forward then back along mode 1 is the identity (Q orthogonal)
  const there = modeProduct(t, dims, 1, Q, false);
  assertClose(modeProduct(there, dims, 1, Q, true), t, 1e-14, 'back ∘ forward');
  // mode 0 Gram = unfolding (2 × 12) times its transpose
  const g0 = modeGram(t, dims, 0);
  const unf = t; // mode-0 unfolding of a row-major tensor is the tensor itself as 2 × 12
  const ref = matmul(
    unf,
    Float64Array.from({ length: 24 }, (_, i) => unf[(i % 2) * 12 + Math.floor(i / 2)]),
    2,
    12,
    2,
  );
  assertClose(g0, ref, 1e-14, 'mode-0 Gram');
});

test('Newton–Schulz: the result of a random 6 × 10 matrix has singular values near 1 (O Oᵀ ≈ I within the quintic band)', () => {
  const rows = 6;
  const cols = 10;
  const u = Float64Array.from(floatSource(5)(rows * cols));
  const O = newtonSchulz5(u, rows, cols, muonRule.defaults);
  const OOt = matmul(
    O,
    Float64Array.from({ length: rows * cols }, (_, i) => O[(i % rows) * cols + Math.floor(i / rows)]),
    rows,
    cols,
    rows,
  );
  const { values } = symEig(OOt, rows);
  for (const v of values) assert.ok(Math.sqrt(v) > 0.6 && Math.sqrt(v) < 1.25, `singular value ${Math.sqrt(v)}`);
  // tall input: transposed inside, the same as the transpose of the wide result
  const ut = Float64Array.from({ length: rows * cols }, (_, i) => u[(i % rows) * cols + Math.floor(i / rows)]);
  const Ot = newtonSchulz5(ut, cols, rows, muonRule.defaults);
  for (let i = 0; i < cols; i++) for (let j = 0; j < rows; j++) assert.ok(Math.abs(Ot[i * rows + j] - O[j * cols + i]) < 1e-14);
});

// ---- named pitfalls ----------------------------------------------------------------------------
const KEYS = ['muon', 'adan', 'prodigy', 'dadaptadam', 'soap'];
const RICH: Record<string, Record<string, unknown>> = {
  muon: { lr: 0.02, adamLr: 0.01, weightDecay: 0.1 },
  adan: { lr: 0.01, weightDecay: 0.02 },
  prodigy: { lr: 1, weightDecay: 0.01, useBiasCorrection: true },
  dadaptadam: { lr: 1, weightDecay: 0.01, decouple: true },
  soap: { lr: 0.01, preconditionFrequency: 2, weightDecay: 0.01 },
};
/** Four parameters the matrix methods split: a first 2×3 matrix, a hidden 3×4 one, a bias, a last 2×3 matrix. */
function trio(): Tensor[] {
  return [
    param('in', [0.5, -1.5, 2, 0.3, 0.1, -0.7], [2, 3]),
    param(
      'hidden',
      Array.from({ length: 12 }, (_, i) => Math.sin(i + 0.5)),
      [3, 4],
    ),
    param('bias', [3, -0.25]),
    param('out', [0.2, -0.4, 0.6, 1.1, -0.9, 0.05], [2, 3]),
  ];
}
function gradFor(name: string, k: number, p: Tensor): Tensor {
  const g = new Float64Array(p.size);
  for (let i = 0; i < p.size; i++) g[i] = Math.sin(1.3 * k + 0.7 * i + name.length) + 0.3 * p.data[i];
  return fromData(g, p.shape);
}
function run(opt: Optimizer<BaseHyper>, ps: Tensor[], from: number, to: number): void {
  for (let k = from; k < to; k++) {
    opt.zeroGrad();
    for (const p of ps) p.grad = gradFor(p.name!, k, p);
    opt.step();
  }
}
const make = (key: string, ps: Tensor[], extra: Record<string, unknown> = {}) =>
  createOptimizer(
    key,
    ps.map((p) => [p.name!, p] as [string, Tensor]),
    { ...RICH[key], ...extra },
  ) as Optimizer<BaseHyper>;

for (const key of KEYS) {
  test(`${key}: lr = 0 leaves parameters unchanged`, () => {
    const ps = trio();
    const before = ps.map((p) => Array.from(p.data));
    // Muon's AdamW groups take their own lr (adamLr): both at 0
    run(make(key, ps, { lr: 0, ...(key === 'muon' ? { adamLr: 0 } : {}) }), ps, 0, 5);
    assert.deepEqual(
      ps.map((p) => Array.from(p.data)),
      before,
    );
  });

  test(`${key}: state is keyed by name and survives reordering parameters`, () => {
    const [a1, b1, c1, d1] = trio();
    const o1 = make(key, [a1, b1, c1, d1]);
    run(o1, [a1, b1, c1, d1], 0, 4);
    // the same parameters listed the other way round; Muon's automatic groups go by position (first
    // and last matrix), so it gets the same groups explicitly, each listing its parameters in another order
    const rev = trio().reverse();
    const o2 =
      key === 'muon'
        ? (createOptimizer(
            'muon',
            [
              { params: [['hidden', rev[2]]] },
              {
                params: [
                  ['out', rev[0]],
                  ['bias', rev[1]],
                  ['in', rev[3]],
                ],
                useMuon: false,
                lr: 0.01,
                weightDecay: 0,
              },
            ] as never,
            RICH.muon,
          ) as Optimizer<BaseHyper>)
        : make(key, rev);
    o2.loadStateDict(JSON.parse(JSON.stringify(o1.stateDict())) as OptimizerStateDict);
    for (const p of rev) p.data.set(([a1, b1, c1, d1].find((q) => q.name === p.name) as Tensor).data);
    run(o1, [a1, b1, c1, d1], 4, 8);
    run(o2, rev, 4, 8);
    for (const p of rev)
      assert.deepEqual(
        Array.from(p.data),
        Array.from(([a1, b1, c1, d1].find((q) => q.name === p.name) as Tensor).data),
        `${key} ${p.name}`,
      );
  });

  test(`${key}: state survives a JSON round trip`, () => {
    const ps = trio();
    const o = make(key, ps);
    run(o, ps, 0, 3);
    const json = JSON.stringify(o.stateDict());
    const ps2 = trio();
    ps2.forEach((p, i) => p.data.set(ps[i].data));
    const o2 = make(key, ps2, { lr: 123 }); // the hyper-parameters come back from the state too
    o2.loadStateDict(JSON.parse(json) as OptimizerStateDict);
    assert.deepEqual(JSON.parse(JSON.stringify(o2.stateDict())), JSON.parse(json));
    run(o, ps, 3, 7);
    run(o2, ps2, 3, 7);
    ps.forEach((p, i) => assert.deepEqual(Array.from(ps2[i].data), Array.from(p.data), `${key} ${p.name}`));
  });

  test(`${key}: a state with typed arrays (the form fit()'s checkpoints keep) loads and continues the same`, () => {
    const ps = trio();
    const o = make(key, ps);
    run(o, ps, 0, 3);
    const sd = o.stateDict();
    const typed = {
      ...sd,
      state: Object.fromEntries(
        Object.entries(sd.state).map(([n, e]) => [
          n,
          Object.fromEntries(Object.entries(e).map(([k, v]) => [k, typeof v === 'number' ? v : Float64Array.from(v)])),
        ]),
      ),
    };
    const ps2 = trio();
    ps2.forEach((p, i) => p.data.set(ps[i].data));
    const o2 = make(key, ps2);
    o2.loadStateDict(typed as never);
    run(o, ps, 3, 6);
    run(o2, ps2, 3, 6);
    ps.forEach((p, i) => assert.deepEqual(Array.from(ps2[i].data), Array.from(p.data), `${key} ${p.name}`));
  });
}

test('pure update: Adan, Muon and SOAP rules leave their inputs untouched and equal the in-place step', () => {
  const shape = [2, 3];
  const cases: [
    string,
    (p: Float64Array) => ParamState,
    Record<string, unknown>,
    (p: Float64Array, g: Float64Array, s: ParamState, h: any) => void,
  ][] = [
    ['Adan', (p) => adanRule.init(p, adanRule.defaults, shape), { ...adanRule.defaults, lr: 0.05, weightDecay: 0.1 }, adanRule.apply],
    ['Muon', (p) => muonRule.init(p, muonRule.defaults, shape), { ...muonRule.defaults, lr: 0.05 }, muonRule.apply],
    [
      'Muon AdamW path',
      (p) => muonRule.init(p, { ...muonRule.defaults, useMuon: false }, shape),
      { ...muonRule.defaults, useMuon: false },
      muonRule.apply,
    ],
    [
      'SOAP',
      (p) => soapRule.init(p, soapRule.defaults, shape),
      { ...soapRule.defaults, lr: 0.05, preconditionFrequency: 2 },
      soapRule.apply,
    ],
  ];
  const snap = (s: ParamState) => JSON.stringify(s, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v));
  for (const [name, init, h, apply] of cases) {
    const p = new Float64Array([0.5, -1.5, 2, 0.3, -0.2, 0.9]);
    let state = init(p);
    let cur: Float64Array = p.slice();
    const inPlace = p.slice();
    const inPlaceState = init(inPlace);
    for (let k = 0; k < 4; k++) {
      const g = Float64Array.from({ length: 6 }, (_, i) => Math.sin(k + 0.4 * i));
      const pSnap = cur.slice();
      const sSnap = snap(state);
      const gSnap = g.slice();
      const rule = name === 'Adan' ? adanRule : name === 'SOAP' ? soapRule : muonRule;
      const out = pureUpdate(rule as never, cur, g, state, h as never);
      assert.deepEqual(cur, pSnap, `${name}: param mutated`);
      assert.deepEqual(g, gSnap, `${name}: grad mutated`);
      assert.equal(snap(state), sSnap, `${name}: state mutated`);
      apply(inPlace, g, inPlaceState, h);
      assert.deepEqual(out.param, inPlace, `${name} step ${k}`);
      cur = out.param as Float64Array;
      state = out.state;
    }
  }
});

test('pure group steps: prodigyStep and dadaptAdamStep on copies leave the originals as they were', () => {
  for (const [step, rule, shared] of [
    [prodigyStep, prodigyRule, { d: 1e-6, dMax: 1e-6, dNumerator: 0, dDenom: 0, dHat: 0, k: 0 }],
    [dadaptAdamStep, dadaptAdamRule, { d: 1e-6, numeratorWeighted: 0, k: 0 }],
  ] as const) {
    const h = { ...rule.defaults } as never;
    const p = new Float64Array([0.5, -1.5, 2]);
    const s = rule.init(p, h, [3]);
    const g = new Float64Array([0.3, -0.2, 0.9]);
    const before = [
      p.slice(),
      g.slice(),
      JSON.stringify(cloneState(s), (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)),
      JSON.stringify(shared),
    ];
    const pc = p.slice();
    const sc = cloneState(s);
    const shc = { ...shared };
    (step as (gr: unknown, sh: unknown) => void)([{ h, params: [{ p: pc, g, s: sc }] }], shc);
    assert.deepEqual(
      [p, g, JSON.stringify(s, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)), JSON.stringify(shared)],
      before,
    );
    assert.notDeepEqual(Array.from(pc), Array.from(p), `${rule.name}: the copy moved`);
  }
});

test('Prodigy and D-Adapt: lr = 0 freezes the parameters and the estimate d alike; the update rule alone refuses to run', () => {
  for (const key of ['prodigy', 'dadaptadam']) {
    const ps = trio();
    const o = make(key, ps, { lr: 0 });
    run(o, ps, 0, 3);
    assert.equal(o.stateDict().paramGroups[0].d, 1e-6, `${key}: d moved with lr 0`);
    assert.equal(o.stateDict().paramGroups[0].k, 0, `${key}: k counts only steps taken`);
  }
  assert.throws(
    () => prodigyRule.apply(new Float64Array(1), new Float64Array(1), {}, prodigyRule.defaults),
    /Prodigy: one step-size estimate is shared by all parameters/,
  );
});

test('Prodigy: groups may differ only by lr 0', () => {
  const [a, b] = trio();
  const o = createOptimizer('prodigy', [{ params: [['in', a]] }, { params: [['hidden', b]], lr: 0.5 }] as never) as Optimizer<BaseHyper>;
  a.grad = gradFor('in', 0, a);
  b.grad = gradFor('hidden', 0, b);
  assert.throws(() => o.step(), /Prodigy: parameter group 1 has lr 0.5, group lr 1 elsewhere/);
});

test('muonParamGroups: hidden matrices (conv filters too) to Muon; biases and the first and last weight matrix to AdamW', () => {
  const t = (shape: number[]) => fromData(new Float64Array(shape.reduce((x, y) => x * y, 1)), shape, { requiresGrad: true });
  const named: Named = [
    ['conv1.weight', t([4, 1, 3, 3])],
    ['conv1.bias', t([4])],
    ['conv2.weight', t([8, 4, 3, 3])],
    ['conv2.bias', t([8])],
    ['fc1.weight', t([16, 32])],
    ['fc1.bias', t([16])],
    ['fc2.weight', t([10, 16])],
    ['fc2.bias', t([10])],
  ];
  const groups = muonParamGroups(named, { adamLr: 0.002 });
  assert.deepEqual(
    groups.map((g) => [g.useMuon, g.params.map(([n]) => n)]),
    [
      [true, ['conv2.weight', 'fc1.weight']],
      [false, ['conv1.weight', 'conv1.bias', 'conv2.bias', 'fc1.bias', 'fc2.weight', 'fc2.bias']],
    ],
  );
  assert.equal(groups[1].lr, 0.002);
  const o = createOptimizer('muon', named, { lr: 0.02 }) as Optimizer<BaseHyper>;
  assert.deepEqual(
    o.paramGroups.map((g) => g.params.length),
    [2, 6],
  );
});

test('Muon refuses a vector in a Muon group, naming it; the surfaces refuse Muon and SOAP with the reason', () => {
  assert.throws(
    () => createOptimizer('muon', [{ params: [['bias', param('bias', [1, 2])]] }] as never),
    /Muon: parameter "bias" has shape \[2\]; Muon orthogonalises matrices/,
  );
  assert.throws(() => trajectory('rosenbrock', 'muon', { steps: 3 }), /Muon orthogonalises the update of a weight matrix/);
  assert.throws(() => trajectory('rosenbrock', 'soap', { steps: 3 }), /SOAP runs Adam in the eigenbasis/);
  // with precondition1d SOAP has a 2×2 preconditioner on the point, a meaningful method in 2-D
  const r = trajectory('bowl', 'soap', { steps: 30, options: { precondition1d: true, lr: 0.05 } });
  assert.ok(r.final.f < r.trace[0].f);
  assert.deepEqual([...MATRIX_ONLY.keys()], ['muon', 'soap']);
});

test('SOAP: a loaded state with a statistic of the wrong size is refused, naming it', () => {
  const ps = trio();
  const o = make('soap', ps);
  run(o, ps, 0, 2);
  const sd = JSON.parse(JSON.stringify(o.stateDict())) as OptimizerStateDict;
  (sd.state.hidden.gg0 as number[]).pop();
  assert.throws(() => make('soap', trio()).loadStateDict(sd), /"hidden".gg0 must hold 9 values, has 8/);
});

const BAD: [string, Record<string, unknown>, RegExp][] = [
  ['muon', { lr: -1 }, /Muon: invalid lr -1; expected ≥ 0/],
  ['muon', { momentum: 1 }, /Muon: invalid momentum 1; expected in \[0, 1\)/],
  ['muon', { nsSteps: 2.5 }, /Muon: invalid nsSteps 2.5; expected an integer in \[0, 100\]/],
  ['muon', { nsCoefficients: [1, 2] }, /Muon: invalid nsCoefficients \[1,2\]; expected three finite numbers/],
  ['muon', { adjustLrFn: 'match_rms' }, /Muon: invalid adjustLrFn "match_rms".*did you mean 'match_rms_adamw'/],
  ['muon', { momentumForm: 'keras' }, /Muon: invalid momentumForm/],
  ['muon', { eps: 0 }, /Muon: invalid eps 0; expected > 0/],
  ['muon', { learningRate: 0.1 }, /Muon: unknown option "learningRate" \(did you mean "lr"\?\)/],
  ['adan', { betas: [0.98, 0.92] }, /Adan: invalid betas \[0.98,0.92\]; expected three numbers/],
  ['adan', { betas: [0.98, 1, 0.99] }, /Adan: invalid betas\[1\] 1; expected in \[0, 1\)/],
  ['adan', { weightDecay: -1 }, /Adan: invalid weightDecay -1/],
  ['adan', { noProx: 'yes' }, /Adan: invalid noProx "yes"; expected true or false/],
  ['prodigy', { d0: 0 }, /Prodigy: invalid d0 0; expected > 0/],
  ['prodigy', { beta3: 1 }, /Prodigy: invalid beta3 1; expected null or in \[0, 1\)/],
  ['prodigy', { growthRate: 0.5 }, /Prodigy: invalid growthRate 0.5; expected null \(∞\) or ≥ 1/],
  ['prodigy', { dCoef: -1 }, /Prodigy: invalid dCoef -1/],
  ['prodigy', { d: 1 }, /Prodigy: unknown option "d"/],
  ['dadaptadam', { layerScale: 0 }, /DAdaptAdam: invalid layerScale 0; expected > 0/],
  ['dadaptadam', { d0: -1 }, /DAdaptAdam: invalid d0 -1/],
  ['dadaptadam', { betas: [0.9, 1] }, /DAdaptAdam: invalid betas\[1\] 1/],
  ['soap', { preconditionFrequency: 0 }, /SOAP: invalid preconditionFrequency 0; expected an integer ≥ 1/],
  ['soap', { maxPrecondDim: 1.5 }, /SOAP: invalid maxPrecondDim 1.5/],
  ['soap', { shampooBeta: 1 }, /SOAP: invalid shampooBeta 1; expected null \(betas\[1\]\) or in \[0, 1\)/],
  ['soap', { mergeDims: true }, /SOAP: unknown option "mergeDims"/],
];
test('every invalid hyper-parameter of these methods is rejected with a message naming it', () => {
  for (const [key, bad, msg] of BAD) {
    assert.throws(
      () =>
        createOptimizer(
          key,
          [
            ['w', param('w', [1, 2, 3, 4], [2, 2])],
            ['v', param('v', [1, 2, 3, 4, 5, 6], [2, 3])],
            ['u', param('u', [1, 2], [2, 1])],
          ],
          bad,
        ),
      msg,
      `${key} ${JSON.stringify(bad)}`,
    );
  }
});

test('Prodigy/D-Adapt: a loaded state without the shared scalars is refused, naming them', () => {
  const ps = trio();
  const o = make('prodigy', ps);
  run(o, ps, 0, 1);
  const sd = o.stateDict();
  delete (sd.paramGroups[0] as Record<string, unknown>).dMax;
  assert.throws(() => make('prodigy', trio()).loadStateDict(sd), /Prodigy state has no "dMax"/);
});
