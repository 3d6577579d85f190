/**
 * Full-batch L-BFGS on logistic regression (784→10 softmax), the first N Fashion-MNIST training
 * images, zero initial weights, historySize 10, strong Wolfe, exactly ITERS iterations (tolerances
 * 0, maxEval 10·ITERS) — in descent and in PyTorch, in the same run, so the final losses and wall
 * times can be compared. Each side repeats the whole run and reports every time (the machine is
 * shared: look at the minimum and the spread, not one number).
 *
 *   npx tsc -p tsconfig.json && node dist/tools/lbfgs_fmnist.js [--n 10000] [--iters 100]
 *        [--history 10] [--dtype float32|float64] [--repeats 3] [--backend wasm|reference]
 *
 * PyTorch runs tools/lbfgs_fmnist.py with /usr/bin/python3, torch.set_num_threads(2) and
 * LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { LBFGS, Tensor, crossEntropy, mm, add, noGrad, setBackend, type DType } from '../src/index.js';
import { loadFashionMnist } from '../src/data/node.js';
import { initWasm } from '../src/backend/wasm/index.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const n = Number(opt('n', '10000'));
const iters = Number(opt('iters', '100'));
const history = Number(opt('history', '10'));
const dtype = opt('dtype', 'float32') as DType;
const repeats = Number(opt('repeats', '3'));
const backendName = opt('backend', 'wasm');

async function descent() {
  if (backendName === 'wasm') await initWasm();
  setBackend(backendName);
  const { train } = await loadFashionMnist();
  const all = train.slice(0, n);
  const px = all.images;
  // The data set stores float32 px/255; in float64 recompute px/255 exactly, as PyTorch's side does.
  const data =
    dtype === 'float64'
      ? Float64Array.from(px.subarray(0, n * 784), (v) => Math.round(v * 255) / 255)
      : Float32Array.from(px.subarray(0, n * 784));
  const x = new Tensor(data, [n, 784]);
  const y = Int32Array.from(all.labels.subarray(0, n));
  const times: number[] = [];
  let result = { finalLoss: NaN, funcEvals: 0, nIter: 0 };
  let evalLosses: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const W = new Tensor(dtype === 'float64' ? new Float64Array(7840) : new Float32Array(7840), [10, 784], true);
    const b = new Tensor(dtype === 'float64' ? new Float64Array(10) : new Float32Array(10), [10], true);
    const o = new LBFGS(
      [
        ['weight', W],
        ['bias', b],
      ],
      {
        lr: 1,
        maxIter: iters,
        maxEval: iters * 10,
        historySize: history,
        lineSearchFn: 'strongWolfe',
        toleranceGrad: 0,
        toleranceChange: 0,
      },
    );
    const closure = () => {
      o.zeroGrad();
      const loss = crossEntropy(add(mm(x, W, false, true), b), y);
      loss.backward();
      evalLosses.push(loss.item());
      return loss;
    };
    evalLosses = [];
    const t0 = performance.now();
    o.step(closure);
    times.push((performance.now() - t0) / 1000);
    const finalLoss = noGrad(() => crossEntropy(add(mm(x, W, false, true), b), y).item());
    result = { finalLoss, funcEvals: o.funcEvals, nIter: o.nIter };
  }
  return { framework: `descent (${backendName})`, ...result, seconds: times, evalLosses };
}

function torch() {
  const here = dirname(fileURLToPath(import.meta.url));
  const script = join(here, '..', '..', 'tools', 'lbfgs_fmnist.py');
  const r = spawnSync('/usr/bin/python3', [script, String(n), String(iters), String(history), dtype, String(repeats)], {
    env: { ...process.env, LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`PyTorch side failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

const d = await descent();
const t = torch();
console.log(
  `full-batch L-BFGS, logistic regression, ${n} Fashion-MNIST images, ${dtype}, historySize ${history}, strong Wolfe, ${iters} iterations`,
);
for (const r of [d, t]) {
  const s = r.seconds as number[];
  console.log(
    `${r.framework.padEnd(22)} final loss ${r.finalLoss.toFixed(8)}  evals ${r.funcEvals}  iters ${r.nIter}  wall s: ${s.map((v: number) => v.toFixed(2)).join(' ')} (min ${Math.min(...s).toFixed(2)})`,
  );
}
const diff = Math.abs(d.finalLoss - t.finalLoss);
console.log(
  `|Δ final loss| = ${diff.toExponential(2)} (${diff <= 1e-4 ? 'within' : 'NOT within'} 1e-4); time ratio descent/PyTorch (min/min) ${(Math.min(...d.seconds) / Math.min(...t.seconds)).toFixed(2)}`,
);
// Where the two runs part: the first closure evaluation whose losses differ by more than 1e-12 (relative).
const first = d.evalLosses.findIndex((v: number, i: number) => !(Math.abs(v - t.evalLosses[i]) <= 1e-12 * Math.abs(v)));
console.log(
  `closure losses agree to 1e-12 for the first ${first < 0 ? Math.min(d.evalLosses.length, t.evalLosses.length) : first} evaluations`,
);
if (args.includes('--json')) console.log(JSON.stringify({ descent: d, pytorch: t }));
