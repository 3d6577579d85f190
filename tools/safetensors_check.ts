/**
 * descent's side of the safetensors round trip with PyTorch (tools/safetensors_torch.py is the other).
 *
 *   npm run build --silent
 *   node dist/tools/safetensors_check.js export DIR [--epochs 1] [--seed 1] [--backend wasm|reference]
 *        [--logits-backend wasm|reference]
 *       trains mlp and cnn on the embedded data (Adam, lr 1e-3, batch 64) and writes
 *       DIR/descent_{mlp,cnn}.safetensors and their logits on the 2,000 embedded test images
 *       (DIR/descent_{mlp,cnn}_logits.safetensors) for `safetensors_torch.py check DIR`.
 *   node dist/tools/safetensors_check.js import DIR
 *       loads DIR/torch_{mlp,cnn}.safetensors (written by `safetensors_torch.py train DIR`) into
 *       descent's mlp and cnn and compares the logits and test accuracy with PyTorch's.
 *       Exits 1 when a logit differs by more than 1e-5.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import {
  Rng,
  DataLoader,
  fit,
  getModel,
  createOptimizer,
  noGrad,
  setBackend,
  argmax,
  encodeSafetensors,
  decodeSafetensors,
  type Module,
  type Optimizer,
  type BaseHyper,
  type Dataset,
} from '../src/index.js';
import { loadEmbedded, saveSafetensorsFile, loadSafetensorsFile } from '../src/node.js';
import { writeFileAtomic } from '../src/io/files.js';
import { initWasm } from '../src/backend/wasm/index.js';

const [cmd, dir, ...rest] = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : def;
};
const MODELS = ['mlp', 'cnn'] as const;

function logits(model: Module, test: Dataset, flatten: boolean): { out: Float32Array; acc: number } {
  const loader = new DataLoader(test, { batchSize: 1000, flatten });
  const out = new Float32Array(test.length * 10);
  let at = 0,
    correct = 0;
  noGrad(() => {
    for (const b of loader.epoch(0)) {
      const y = model.forward(b.x, { training: false });
      out.set(y.data, at * 10);
      argmax(y, -1).forEach((p, i) => void (correct += +(p === b.y[i])));
      at += b.y.length;
    }
  });
  return { out, acc: correct / test.length };
}

async function main() {
  if (!dir || !['export', 'import'].includes(cmd)) {
    console.error('usage: node dist/tools/safetensors_check.js export|import DIR [--epochs N] [--seed S]');
    process.exit(2);
  }
  await initWasm();
  setBackend(opt('backend', 'wasm'));
  const { train, test } = loadEmbedded();
  let worst = 0;
  for (const name of MODELS) {
    const spec = getModel(name);
    const model = spec.build({ rng: new Rng(Number(opt('seed', '1'))).fork('model'), inputShape: train.shape, classes: 10 });
    const flatten = spec.input === 'flat';
    if (cmd === 'export') {
      const rng = new Rng(Number(opt('seed', '1')));
      const t0 = performance.now();
      const optimizer = createOptimizer('adam', model.namedParameters(), { lr: 0.001 }) as Optimizer<BaseHyper>;
      fit({
        model,
        optimizer,
        train: new DataLoader(train, { batchSize: 64, shuffle: true, rng: rng.fork('data'), flatten }),
        epochs: Number(opt('epochs', '1')),
        rng: rng.fork('train'),
      });
      setBackend(opt('logits-backend', opt('backend', 'wasm')));
      const { out, acc } = logits(model, test, flatten);
      setBackend(opt('backend', 'wasm'));
      saveSafetensorsFile(join(dir, `descent_${name}.safetensors`), model, { metadata: { model: name, test_accuracy: acc.toFixed(6) } });
      writeFileAtomic(
        join(dir, `descent_${name}_logits.safetensors`),
        encodeSafetensors({ logits: { dtype: 'F32', shape: [test.length, 10], data: out } }),
      );
      console.log(
        `${name}: descent trained ${opt('epochs', '1')} epoch(s) in ${((performance.now() - t0) / 1000).toFixed(1)}s; test accuracy ${acc.toFixed(4)}; wrote descent_${name}.safetensors (${model.numParameters()} parameters) and its logits on ${test.length} test images`,
      );
    } else {
      const meta = loadSafetensorsFile(join(dir, `torch_${name}.safetensors`), model);
      const refs = decodeSafetensors(readFileSync(join(dir, `torch_${name}_logits.safetensors`))).tensors;
      const ref = refs.get('logits')!.data,
        exact = refs.get('logits64')?.data;
      const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
        let m = 0;
        for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
      };
      const { out, acc } = logits(model, test, flatten);
      let diff = 0,
        same = 0;
      for (let i = 0; i < out.length; i++) diff = Math.max(diff, Math.abs(out[i] - ref[i]));
      for (let i = 0; i < test.length; i++) {
        const am = (a: ArrayLike<number>) => {
          let k = 0;
          for (let j = 1; j < 10; j++) if (a[i * 10 + j] > a[i * 10 + k]) k = j;
          return k;
        };
        same += +(am(out) === am(ref));
      }
      worst = Math.max(worst, diff);
      console.log(
        `${name}: descent loaded torch_${name}.safetensors (PyTorch ${meta.torch}); test accuracy ${acc.toFixed(4)} (PyTorch ${Number(meta.test_accuracy).toFixed(4)}); max |descent - PyTorch| logit ${diff.toExponential(3)}; same argmax on ${same}/${test.length}${exact ? `; vs float64 logits: PyTorch float32 ${maxDiff(ref, exact).toExponential(3)}, descent ${maxDiff(out, exact).toExponential(3)}` : ''}`,
      );
    }
  }
  if (cmd === 'import') {
    console.log(`${worst <= 1e-5 ? 'OK' : 'FAIL'}: worst logit difference ${worst.toExponential(3)} (tolerance 1e-5)`);
    process.exit(worst <= 1e-5 ? 0 : 1);
  }
  process.exit(0);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
