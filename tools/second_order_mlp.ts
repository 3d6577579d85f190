/**
 * Full-batch GD, L-BFGS and Newton (exact and Hessian-free) on a small tanh MLP, Fashion-MNIST:
 * the training loss against evaluations, as a Markdown table for the README.
 *
 * Cost is counted in gradient-equivalent evaluations: closure calls (forward + backward; Newton's
 * Armijo trials are forward only, still counted as 1) plus Hessian-vector products (each one
 * backward pass through the gradient's graph). L-BFGS runs maxIter 1 per step, which re-evaluates
 * at the start of each step the point its line search just accepted; that repeat is not charged,
 * so the count equals one step(closure) with maxIter = the number of iterations.
 *
 *   npx tsc -p tsconfig.json && node dist/tools/second_order_mlp.js [--n 1000] [--pool 2] [--hidden 16]
 *        [--budget 300] [--exact-steps 12] [--backend reference|wasm]
 */
import { Sequential, Linear, Tanh, SGD, LBFGS, Newton, Rng, Tensor, fitFullBatch, setBackend, type AnyOptimizer } from '../src/index.js';
import { loadFashionMnist } from '../src/data/node.js';
import { initWasm } from '../src/backend/wasm/index.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const n = Number(opt('n', '1000'));
const pool = Number(opt('pool', '2'));
const hidden = Number(opt('hidden', '16'));
const budget = Number(opt('budget', '300'));
const exactSteps = Number(opt('exact-steps', '12'));
const backendName = opt('backend', 'reference');
const gdLr = Number(opt('gd-lr', '0.5'));

if (backendName === 'wasm') await initWasm();
setBackend(backendName);
const { train } = await loadFashionMnist();
const side = 28 / pool;
const d = side * side;
const x = new Tensor(new Float64Array(n * d), [n, d]);
for (let s = 0; s < n; s++) {
  for (let i = 0; i < side; i++) {
    for (let j = 0; j < side; j++) {
      let v = 0;
      for (let a = 0; a < pool; a++) for (let b = 0; b < pool; b++) v += train.images[s * 784 + (i * pool + a) * 28 + j * pool + b];
      x.data[s * d + i * side + j] = v / (pool * pool);
    }
  }
}
const y = Int32Array.from(train.labels.subarray(0, n));
const makeModel = () =>
  new Sequential(
    new Linear(d, hidden, { dtype: 'float64', rng: new Rng(1) }),
    new Tanh(),
    new Linear(hidden, 10, { dtype: 'float64', rng: new Rng(2) }),
  );
const nParams = makeModel().numParameters();

interface Curve {
  name: string;
  points: { cost: number; loss: number }[];
  seconds: number;
}

/** cost(k, evals, hvps): what step k is charged, given its closure calls and Hessian-vector products. */
function run(
  name: string,
  make: (m: Sequential) => AnyOptimizer,
  steps: number,
  cost: (k: number, evals: number, hvps: number) => number,
): Curve {
  const model = makeModel();
  const o = make(model);
  const t0 = performance.now();
  const start = fitFullBatch({ model, optimizer: o, x, y, steps: 0, recordStart: true })[0];
  const points = [{ cost: 0, loss: start.loss }];
  let hvpsBefore = 0;
  for (let k = 1; k <= steps; k++) {
    const r = fitFullBatch({ model, optimizer: o, x, y, steps: 1 })[0];
    const stepCost = cost(k, r.evals, r.hvps - hvpsBefore);
    // A free step made no move (L-BFGS returns at once when its tolerances are met): stop there.
    if (stepCost <= 0) break;
    const c = points[points.length - 1].cost + stepCost;
    hvpsBefore = r.hvps;
    points.push({ cost: c, loss: r.loss });
    if (c >= budget && steps === Infinity) break;
  }
  return { name, points, seconds: (performance.now() - t0) / 1000 };
}

const curves: Curve[] = [];
curves.push(
  run(
    `GD (lr ${gdLr})`,
    (m) => new SGD(m.namedParameters(), { lr: gdLr }),
    Infinity,
    (_k, e) => e,
  ),
);
// Not charged: the re-evaluation at the start of steps 2, 3, … (see the header).
curves.push(
  run(
    'L-BFGS (strong Wolfe, history 10)',
    (m) => new LBFGS(m.namedParameters(), { lineSearchFn: 'strongWolfe', historySize: 10, maxIter: 1 }),
    Infinity,
    (k, e) => e - (k > 1 ? 1 : 0),
  ),
);
curves.push(
  run(
    'Newton, Hessian-free (CG ≤ 50)',
    (m) => new Newton(m.namedParameters(), { mode: 'hessianFree', cgMaxIter: 50 }),
    Infinity,
    (_k, e, h) => e + h,
  ),
);
if (exactSteps > 0)
  curves.push(
    run(
      'Newton, exact Hessian',
      (m) => new Newton(m.namedParameters()),
      exactSteps,
      (_k, e, h) => e + h,
    ),
  );

const budgets = [1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000, 20000, 50000].filter(
  (b) => b <= Math.max(...curves.map((c) => c.points[c.points.length - 1].cost)),
);
const at = (c: Curve, b: number) => {
  // Blank when the run ended before spending b (exact Newton's steps are few and costly).
  if (c.points[c.points.length - 1].cost < b) return undefined;
  let best: number | undefined;
  for (const p of c.points) if (p.cost <= b) best = p.loss;
  return best;
};
console.log(
  `MLP ${d}-${hidden}-10 (tanh, ${nParams} parameters, float64), ${n} Fashion-MNIST images${pool > 1 ? ` average-pooled ${pool}×${pool} to ${side}×${side}` : ''}, full batch, mean cross-entropy.`,
);
console.log('Training loss after at most B gradient-equivalent evaluations (closure calls + Hessian-vector products):\n');
console.log(`| B | ${curves.map((c) => c.name).join(' | ')} |`);
console.log(`|---:|${curves.map(() => '---:').join('|')}|`);
for (const b of budgets)
  console.log(`| ${b} | ${curves.map((c) => (at(c, b) === undefined ? '' : (at(c, b) as number).toFixed(4))).join(' | ')} |`);
console.log('');
for (const c of curves) {
  const last = c.points[c.points.length - 1];
  console.log(
    `${c.name}: ${c.points.length - 1} steps, ${last.cost} evaluations, final loss ${last.loss.toFixed(5)}, ${c.seconds.toFixed(1)} s`,
  );
}
