/**
 * A library program that never mentions a backend against `descent train`, on the same work: the
 * embedded MLP, Adam (lr 1e-3), batch 128, 3 epochs, seed 1, alternating the two for `--rounds`
 * rounds in one run (this VM drifts from minute to minute, so only ratios within one run count).
 *
 *   npm run build --silent && node dist/tools/library_vs_cli.js [--rounds 3]
 *
 * Prints each run's samples/s per epoch and the median over all epochs after the first of each.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'dist/src/cli/main.js');
const i = process.argv.indexOf('--rounds');
const rounds = i >= 0 ? Number(process.argv[i + 1]) : 3;

// The program a user would write: no initWasm, no setBackend.
const program = `
import { loadEmbedded, getModel, fit, Adam, DataLoader, Rng, backend, wasmInfo } from ${JSON.stringify(pathToFileURL(join(root, 'dist/src/node.js')).href)};
const { train, test } = loadEmbedded();
const rng = new Rng(1);
const model = getModel('mlp').build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10 });
const records = fit({
  model, optimizer: new Adam(model.parameters(), { lr: 0.001 }), epochs: 3, rng: rng.fork('train'),
  train: new DataLoader(train, { batchSize: 128, shuffle: true, rng: rng.fork('data'), flatten: true }),
  test: new DataLoader(test, { batchSize: 1000, flatten: true }),
});
console.log(JSON.stringify({ backend: backend().name, threads: wasmInfo().threads, sps: records.map((r) => r.samplesPerSec) }));
`;
const file = join(mkdtempSync(join(tmpdir(), 'descent-libspeed-')), 'program.mjs');
writeFileSync(file, program);

const cli = (): number[] => {
  const r = spawnSync(
    process.execPath,
    [
      bin,
      'train',
      '--data',
      'embedded',
      '--model',
      'mlp',
      '--optimizer',
      'adam',
      '--lr',
      '0.001',
      '--epochs',
      '3',
      '--batch-size',
      '128',
      '--seed',
      '1',
      '--json',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((x) => x.samplesPerSec)
    .map((x) => x.samplesPerSec as number);
};
const lib = (): number[] => {
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const o = JSON.parse(r.stdout) as { backend: string; threads: number; sps: number[] };
  if (o.backend !== 'wasm') throw new Error(`the library program ran on ${o.backend}`);
  return o.sps;
};
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fmt = (a: number[]) => a.map((v) => Math.round(v).toLocaleString('en-US')).join(' / ');
const all = { cli: [] as number[], lib: [] as number[] };
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of [
    ['cli', cli],
    ['lib', lib],
  ] as const) {
    const sps = run();
    all[name].push(...sps.slice(1));
    console.log(`round ${r + 1} ${name === 'cli' ? 'descent train' : 'library     '}: ${fmt(sps)} samples/s`);
  }
}
const c = median(all.cli),
  l = median(all.lib);
console.log(
  `median of epochs 2-3: descent train ${Math.round(c).toLocaleString('en-US')}, library ${Math.round(l).toLocaleString('en-US')} samples/s (library ÷ CLI ${(l / c).toFixed(2)})`,
);
