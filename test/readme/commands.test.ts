/**
 * Every command in README.md's ```sh blocks runs, in the README's order, in one scratch folder (so
 * `--save cnn.safetensors` comes before the `eval` and `predict` that read it). The files the
 * commands name (iris.csv, flowers.csv, train.csv, test.csv, houses.csv, new-houses.csv, reviews.csv, corpus.txt, other.txt, mnist.npz, digits.npy, reviews.npz, pixels.npz, photos/, shoe.png,
 * bag.jpg) are made here first.
 *
 * Reductions, applied to `npx descent train|compare|eval|lr-find` so the whole file runs in minutes:
 * without `--data`, `--data embedded` (the README's default is the full data set when installed,
 * else the same embedded subset); `--test-limit` 128; for train, compare and lr-find `--limit` at
 * most 256; for train and compare `--epochs` at most 2 (5 with `--snapshots 5`, one snapshot per epoch); `--epochs 3` for `--resume`,
 * one more than the run it resumes. `npx descent sweep` runs 2 points and 1 seed of its grid on 256
 * training and 128 test images with a 20-step budget. The test checks that each command it runs is the README's with only these changes.
 *
 * The commands not run here say where they are exercised: `npm install` (.ci/run's `npm ci`),
 * `npm test` (this suite), `npm start` (test/readme/figures.test.ts reruns its command), `npm run
 * lab` (a dev server: test/lab/lab.test.ts builds the same config and drives it in Chromium), and
 * tools/compare_torch.py (PyTorch: test/system/compare-torch.test.ts). `npm run lab:build` runs.
 * The `$ npx descent …` lines of the README's output blocks are test/readme/figures.test.ts's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { saveNpy, saveNpz } from '../../src/io/npy-node.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'dist', 'src', 'cli', 'main.js');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

/** The lines of the ```sh blocks, comments and blank lines removed. */
function shCommands(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    // a line ending in a backslash continues on the next, as in the shell
    for (const line of m[1].replace(/\s*\\\n\s*/g, ' ').split('\n')) {
      const cmd = line.replace(/\s+#\s.*$/, '').trim();
      if (cmd) out.push(cmd);
    }
  }
  return out;
}

/** Shell words: single-quoted strings and bare words (what the README uses). */
function words(cmd: string): string[] {
  return [...cmd.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

const NOT_RUN: Record<string, string> = {
  'npm install': ".ci/run's npm ci installs from the lock file",
  'npm start': 'test/readme/figures.test.ts reruns its command',
  'npm test': 'this suite',
  'npm run lab': 'a dev server; test/lab/lab.test.ts builds the same Vite config and drives it in Chromium',
  '/usr/bin/python3 tools/compare_torch.py --from runs/s1': 'needs PyTorch: test/system/compare-torch.test.ts (npm run test:system)',
  'npx descent sweep --workloads logreg,mlp,cnn,fmp --optimizers sgd,momentum,rmsprop,adam --space lr=log:1e-3:1e-1 --sampler grid --points 3 --data full --test-limit 2000 --target 1 --out full.jsonl':
    'needs the full data set; the same code runs on the embedded data in the sweep command above and test/cli/sweep.test.ts',
  'node dist/tools/sweep-targets.js full.jsonl --score --html full.html':
    'reads the full-data sweep; test/sweep/ tests the target rule and scoring',
  'redis-server --bind 0.0.0.0 --protected-mode no':
    'a server: the queue tests start redis-server themselves (test/system, npm run test:system)',
  'npx descent worker --queue redis://HOST:6379': 'needs Redis on HOST: test/system runs workers against a local redis-server',
  'npx descent sweep --workloads mlp ... --queue redis://HOST:6379 --out mlp.jsonl':
    'an elided sweep through Redis on HOST: test/system runs it against a local redis-server',
};

const option = (args: string[], name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

function set(args: string[], name: string, value: string): void {
  const i = args.indexOf(name);
  if (i >= 0) args[i + 1] = value;
  else args.push(name, value);
}

/** The README's descent arguments with the reductions the header lists. */
function reduce(readmeArgs: string[]): string[] {
  const args = [...readmeArgs];
  const command = args[0];
  if (command === 'sweep' && !args.includes('--help')) {
    // two points and one seed of the README's grid, on 256 images with a 20-step budget
    for (const [name, v] of [
      ['--points', '2'],
      ['--seeds', '1'],
      ['--limit', '256'],
      ['--test-limit', '128'],
      ['--budget', '20'],
    ] as const)
      set(args, name, v);
    return args;
  }
  if (!['train', 'compare', 'eval', 'lr-find'].includes(command) || args.includes('--help')) return args;
  if (args.includes('--resume')) {
    set(args, '--epochs', '3');
    return args;
  }
  if (option(args, '--data') === undefined) set(args, '--data', 'embedded');
  set(args, '--test-limit', '128');
  if (command !== 'eval') set(args, '--limit', String(Math.min(Number(option(args, '--limit') ?? 256), 256)));
  if (command === 'train' || command === 'compare') {
    const epochs = option(args, '--snapshots') !== undefined ? 5 : Math.min(Number(option(args, '--epochs') ?? 2), 2);
    set(args, '--epochs', String(epochs));
  }
  return args;
}

/** Only the reductions' options differ between the README's arguments and the ones run. */
function onlyReduced(readmeArgs: string[], run: string[]): boolean {
  const reducible = new Set([
    '--data',
    '--limit',
    '--test-limit',
    '--epochs',
    ...(readmeArgs[0] === 'sweep' ? ['--points', '--seeds', '--budget'] : []),
  ]);
  const strip = (a: string[]) => {
    const out: string[] = [];
    for (let i = 0; i < a.length; i++) {
      if (reducible.has(a[i]) && !(a[i] === '--data' && option(readmeArgs, '--data') !== undefined)) i++;
      else out.push(a[i]);
    }
    return out;
  };
  return JSON.stringify(strip(readmeArgs)) === JSON.stringify(strip(run));
}

function png(path: string, w: number, h: number, seed: number): void {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    const v = (i * 37 + seed * 91) % 256;
    p.data.set([v, (v * 3) % 256, 255 - v, 255], i * 4);
  }
  writeFileSync(path, PNG.sync.write(p));
}

function jpg(path: string, w: number, h: number): void {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([(i * 5) % 256, (i * 11) % 256, (i * 17) % 256, 255], i * 4);
  writeFileSync(path, jpeg.encode({ data, width: w, height: h }, 90).data);
}

/** Deterministic values in [0, 1) for the made-up tables. */
const value = (i: number, j: number) => ((i * 7919 + j * 104729) % 1000) / 1000;

function makeFiles(dir: string): void {
  const species = ['setosa', 'versicolor', 'virginica'];
  const iris = ['sepal_length,sepal_width,petal_length,petal_width,species'];
  for (let i = 0; i < 150; i++) {
    const k = i % 3;
    iris.push([...[0, 1, 2, 3].map((j) => (k * 1.5 + j + value(i, j)).toFixed(2)), species[k]].join(','));
  }
  writeFileSync(join(dir, 'iris.csv'), `${iris.join('\n')}\n`);
  // new rows to predict: no label column, the features in another order
  const flowers = ['petal_width,petal_length,sepal_width,sepal_length'];
  for (let i = 0; i < 12; i++) flowers.push([3, 2, 1, 0].map((j) => ((i % 3) * 1.5 + j + value(i + 500, j)).toFixed(2)).join(','));
  writeFileSync(join(dir, 'flowers.csv'), `${flowers.join('\n')}\n`);
  for (const [name, n] of [
    ['train.csv', 120],
    ['test.csv', 40],
  ] as const) {
    const rows = ['label,f0,f1,f2,f3,f4,f5'];
    for (let i = 0; i < n; i++)
      rows.push([i % 4, ...[0, 1, 2, 3, 4, 5].map((j) => (value(i, j) + (j === i % 4 ? 1 : 0)).toFixed(3))].join(','));
    writeFileSync(join(dir, name), `${rows.join('\n')}\n`);
  }
  // a price linear in the area and rooms, plus a bounded wobble; new houses without the price column
  const houses = ['area,rooms,age,price'];
  for (let i = 0; i < 160; i++) {
    const [area, rooms, age] = [40 + 160 * value(i, 0), 1 + (i % 5), 50 * value(i, 2)];
    houses.push([area.toFixed(1), rooms, age.toFixed(1), (2.5 * area + 20 * rooms - age + 10 * value(i, 3)).toFixed(2)].join(','));
  }
  writeFileSync(join(dir, 'houses.csv'), `${houses.join('\n')}\n`);
  const fresh = ['rooms,area,age'];
  for (let i = 0; i < 5; i++) fresh.push([1 + i, (60 + 30 * i).toFixed(1), (5 * i).toFixed(1)].join(','));
  writeFileSync(join(dir, 'new-houses.csv'), `${fresh.join('\n')}\n`);
  // free text and a label: two classes told apart by their words, some punctuation and case
  const words = [
    ['great', 'loved', 'wonderful', 'fun'],
    ['boring', 'awful', 'bad', 'dull'],
  ];
  const reviews = ['review,label'];
  for (let i = 0; i < 60; i++)
    reviews.push(`"The film was ${words[i % 2][i % 4]}, really ${words[i % 2][(i + 1) % 4]}!",${i % 2 ? 'neg' : 'pos'}`);
  writeFileSync(join(dir, 'reviews.csv'), `${reviews.join('\n')}\n`);
  // plain text for the language model: the corpus of test/cli/lm.test.ts, and its second half as other text
  const corpus = readFileSync(join(repo, 'test', 'fixtures', 'text', 'corpus.txt'), 'utf8');
  writeFileSync(join(dir, 'corpus.txt'), corpus);
  writeFileSync(join(dir, 'other.txt'), corpus.slice(corpus.length >> 1));
  for (const part of ['train', 'test']) {
    for (const cls of ['bag', 'shoe']) {
      mkdirSync(join(dir, 'photos', part, cls), { recursive: true });
      for (let i = 0; i < (part === 'train' ? 10 : 4); i++)
        png(join(dir, 'photos', part, cls, `${i}.png`), 24, 20, i + (cls === 'bag' ? 0 : 50));
    }
  }
  png(join(dir, 'shoe.png'), 40, 30, 7);
  jpg(join(dir, 'bag.jpg'), 32, 32);
  // Keras' mnist.npz layout: uint8 (N, 28, 28) images and uint8 labels, a train and a test pair
  const digits = (n: number, from: number) => Uint8Array.from({ length: n * 28 * 28 }, (_, k) => ((from + k) * 37) % 256);
  const labels = (n: number, from: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) % 10);
  saveNpz(join(dir, 'mnist.npz'), {
    x_train: { data: digits(60, 0), shape: [60, 28, 28] },
    y_train: { data: labels(60, 0), shape: [60] },
    x_test: { data: digits(20, 60), shape: [20, 28, 28] },
    y_test: { data: labels(20, 60), shape: [20] },
  });
  saveNpy(join(dir, 'digits.npy'), { data: digits(3, 100), shape: [3, 28, 28] });
  // an autoencoder's data: uint8 images (N, 1, 28, 28) and their pixels ÷255 as float targets (N, 784)
  const pixels = (n: number, from: number) => Float32Array.from(digits(n, from), (v) => v / 255);
  saveNpz(join(dir, 'pixels.npz'), {
    x_train: { data: digits(40, 0), shape: [40, 1, 28, 28] },
    y_train: { data: pixels(40, 0), shape: [40, 784] },
    x_test: { data: digits(10, 40), shape: [10, 1, 28, 28] },
    y_test: { data: pixels(10, 40), shape: [10, 784] },
  });
  // token ids (N, 40) over a vocabulary of 5000, 0 the padding, and two classes
  const ids = (n: number, from: number) =>
    Int32Array.from({ length: n * 40 }, (_, k) => (k % 40 < 30 ? 1 + (((from * 40 + k) * 7919) % 4999) : 0));
  saveNpz(join(dir, 'reviews.npz'), {
    x_train: { data: ids(60, 0), shape: [60, 40] },
    y_train: { data: Int32Array.from({ length: 60 }, (_, i) => i % 2), shape: [60] },
    x_test: { data: ids(20, 60), shape: [20, 40] },
    y_test: { data: Int32Array.from({ length: 20 }, (_, i) => i % 2), shape: [20] },
  });
}

/** Before the README's second image-folder command: photos/CLASS/… without a test folder. */
function flattenPhotos(dir: string): void {
  const photos = join(dir, 'photos');
  renameSync(photos, join(dir, 'photos-split'));
  for (const cls of ['bag', 'shoe']) {
    mkdirSync(join(photos, cls), { recursive: true });
    for (const part of ['train', 'test']) {
      for (let i = 0; i < (part === 'train' ? 10 : 4); i++) {
        renameSync(join(dir, 'photos-split', part, cls, `${i}.png`), join(photos, cls, `${part}-${i}.png`));
      }
    }
  }
}

test('README.md lists the commands this test knows how to run', () => {
  const cmds = shCommands(readme);
  assert.ok(cmds.length >= 30, `${cmds.length} commands`);
  for (const cmd of cmds) {
    const parts = cmd.split(/\s*&&\s*/);
    for (const p of parts) {
      const known = p.startsWith('npx descent ') || p in NOT_RUN || p === 'npm run lab:build';
      assert.ok(known, `README command not handled by test/readme/commands.test.ts: ${p}`);
    }
  }
});

test('every command of README.md runs (with the reductions the header lists)', { timeout: 1_800_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-readme-'));
  makeFiles(dir);
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  let ran = 0;
  for (const cmd of shCommands(readme)) {
    for (const part of cmd.split(/\s*&&\s*/)) {
      if (part in NOT_RUN) {
        const script = /^npm (?:run )?([\w:]+)$/.exec(part)?.[1];
        if (script && script !== 'install') assert.ok(pkg.scripts[script], `package.json has no script "${script}" (${part})`);
        continue;
      }
      if (part === 'npm run lab:build') {
        const r = spawnSync('npm', ['run', 'lab:build', '--silent'], { cwd: repo, encoding: 'utf8', timeout: 600_000 });
        assert.equal(r.status, 0, `npm run lab:build: ${r.stdout}\n${r.stderr}`);
        assert.ok(existsSync(join(repo, 'lab', 'dist', 'index.html')), 'lab/dist/index.html');
        ran++;
        continue;
      }
      const readmeArgs = words(part).slice(2);
      const args = reduce(readmeArgs);
      assert.ok(onlyReduced(readmeArgs, args), `${part}: runs as ${args.join(' ')}`);
      if (readmeArgs.includes('--val-split') && readmeArgs.includes('photos/')) flattenPhotos(dir);
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
      assert.equal(r.status, 0, `descent ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
      assert.notEqual(r.stdout.trim(), '', `descent ${args.join(' ')} printed something`);
      ran++;
    }
  }
  // What the commands were to leave behind.
  for (const f of ['cnn.safetensors', 'iris.json', 'w.safetensors', 'grid.png', 'runs/s1/manifest.json'])
    assert.ok(existsSync(join(dir, f)), f);
  assert.ok(ran >= 30, `${ran} commands ran`);
  rmSync(dir, { recursive: true, force: true });
});
