/**
 * The figures in README.md that depend on the code, rewritten by rerunning what produces them.
 *
 *   npm run readme:figures                 # every block but the long ones
 *   npm run readme:figures -- --long       # all of them (the long ones need the full data and PyTorch)
 *   npm run readme:figures -- compare      # the named blocks only
 *
 * Each such figure sits in README.md (or the doc a block names) between `<!-- figures:NAME -->` and
 * `<!-- /figures -->`, and NAME is one of the blocks below, which reruns the command the text shows
 * beside it and formats its output. test/readme/figures.test.ts checks that every marked block has
 * a block here (and every block here a marker), and that the cheap blocks equal what they give now,
 * timings aside.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../src/io/files.js';
import { renderTable, type TableSummary } from './optimizer-table.js';

/** The repository root (this file runs as dist/tools/readme-figures.js). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const PYTHON = '/usr/bin/python3';
const FULL_DATA = '/usr/share/datasets/fashion-mnist';

export interface Block {
  /** cheap: seconds, checked by the test; long: minutes to hours, or needs the full data and PyTorch. */
  cost: 'cheap' | 'long';
  /** The block's text as it goes between the markers (no leading or trailing newline). */
  make(): string;
  /** The text with what varies from run to run (times, speeds) replaced, for the test's comparison. */
  stable?(text: string): string;
  /** The file that holds the block: README.md unless given. */
  file?: string;
}

/** Run the CLI; `cwd` defaults to a fresh temporary folder, so relative paths in the README's commands stay there. */
function descent(args: string[], cwd?: string): { status: number | null; out: string; err: string } {
  const dir = cwd ?? mkdtempSync(join(tmpdir(), 'descent-figures-'));
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (cwd === undefined) rmSync(dir, { recursive: true, force: true });
  return { status: r.status, out: r.stdout.trimEnd(), err: r.stderr.trimEnd() };
}

function ok(args: string[], cwd?: string): string {
  const r = descent(args, cwd);
  if (r.status !== 0) throw new Error(`descent ${args.join(' ')}: exit ${r.status}: ${r.err}`);
  return r.out;
}

/** A terminal session as the README shows it: `$ npx descent …` and what the command printed (stdout and stderr). */
function session(commands: string[][], cwd?: string): string {
  const lines: string[] = [];
  for (const args of commands) {
    const r = descent(args, cwd);
    lines.push(`$ npx descent ${args.map(shellWord).join(' ')}`);
    if (r.out) lines.push(r.out);
    if (r.err) lines.push(r.err);
  }
  return ['```', ...lines, '```'].join('\n');
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const fixed = (x: number, digits = 4) => x.toFixed(digits);
const signed = (x: number) => `${x < 0 ? '−' : '+'}${Math.abs(x).toFixed(4)}`;
const stableTimes = (s: string) => s.replace(/\d+(\.\d+)?s {2}[\d,]+ samples\/s/g, 'T s  N samples/s');

/** npm start's command line, read from package.json so the figure follows the script. */
export function startArgs(): string[] {
  const script: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const m = /node dist\/src\/cli\/main\.js (.*)$/.exec(script);
  if (!m) throw new Error(`package.json scripts.start does not end with "node dist/src/cli/main.js ARGS": ${script}`);
  return m[1].split(/\s+/);
}

const COMPARE_SEEDS = [1, 2, 3];

export interface CompareRow {
  optimizer: string;
  options: Record<string, unknown>;
  /** PyTorch's, from the exported start. */
  testAccuracy: number;
  trainLoss: number;
  descentTestAccuracy: number;
  descentTrainLoss: number;
}

let compareCache: CompareRow[][] | undefined;

/** descent compare --epochs 3 on the full data from seeds 1–3, and PyTorch from each exported start (one run per process). */
function compareRuns(): CompareRow[][] {
  if (compareCache) return compareCache;
  if (!existsSync(FULL_DATA))
    throw new Error(`compare: needs the full Fashion-MNIST in ${FULL_DATA} (apt-get install dataset-fashion-mnist)`);
  const dir = mkdtempSync(join(tmpdir(), 'descent-figures-compare-'));
  const runs: CompareRow[][] = [];
  try {
    for (const seed of COMPARE_SEEDS) {
      const run = join(dir, `s${seed}`);
      const mine = JSON.parse(ok(['compare', '--data', FULL_DATA, '--epochs', '3', '--seed', String(seed), '--export-run', run, '--json']));
      const out = join(dir, `torch-s${seed}.json`);
      const py = spawnSync(PYTHON, [join(ROOT, 'tools', 'compare_torch.py'), '--from', run, '--json', out], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      if (py.status !== 0) throw new Error(`tools/compare_torch.py --from ${run}: exit ${py.status}: ${py.stderr.trim()}`);
      const theirs: CompareRow[] = JSON.parse(readFileSync(out, 'utf8')).results;
      runs.push(
        theirs.map((r) => ({ ...r, options: mine.results.find((m: { optimizer: string }) => m.optimizer === r.optimizer).options })),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  compareCache = runs;
  return runs;
}

/** The compare table: per seed descent, PyTorch and their difference, then the means; `settings` adds a row of hyper-parameters. */
export function compareTable(runs: CompareRow[][], settings: boolean): string {
  const names = runs[0].map((r) => r.optimizer);
  const lines = [`| seed | | ${names.join(' | ')} |`, `|---|---|${names.map(() => '---|').join('')}`];
  const row = (seed: string, who: string, cells: string[]) => lines.push(`|${seed ? ` ${seed} ` : ' '}| ${who} | ${cells.join(' | ')} |`);
  if (settings)
    row(
      '',
      'settings',
      runs[0].map((r) => describeOptions(r.options)),
    );
  runs.forEach((rows, k) => {
    row(
      String(COMPARE_SEEDS[k]),
      'descent',
      rows.map((r) => fixed(r.descentTestAccuracy)),
    );
    row(
      String(COMPARE_SEEDS[k]),
      'PyTorch',
      rows.map((r) => fixed(r.testAccuracy)),
    );
    row(
      String(COMPARE_SEEDS[k]),
      'difference',
      rows.map((r) => signed(r.descentTestAccuracy - r.testAccuracy)),
    );
  });
  const mean = (f: (r: CompareRow) => number) => names.map((_, j) => runs.reduce((s, rows) => s + f(rows[j]), 0) / runs.length);
  const md = mean((r) => r.descentTestAccuracy),
    mt = mean((r) => r.testAccuracy);
  row(
    'mean',
    'descent',
    md.map((x) => (settings ? fixed(x) : `**${fixed(x)}**`)),
  );
  row(
    'mean',
    'PyTorch',
    mt.map((x) => fixed(x)),
  );
  row(
    'mean',
    'difference',
    md.map((x, j) => signed(x - mt[j])),
  );
  return lines.join('\n');
}

export function compareSummary(runs: CompareRow[][]): string {
  const all = runs.flat();
  const lowest = Math.min(...all.map((r) => r.descentTestAccuracy));
  const widest = Math.max(...all.map((r) => Math.abs(r.descentTestAccuracy - r.testAccuracy)));
  return `Every descent run reaches ${fixed(lowest)} or more, and from the same start descent and PyTorch differ by at most ${fixed(widest)}.`;
}

export function compareLosses(runs: CompareRow[][]): string {
  const seed1 = runs[0];
  const pairs = seed1.map((r) => `${r.optimizer} ${fixed(r.descentTrainLoss)} / ${fixed(r.trainLoss)}`);
  const widest = Math.max(...seed1.map((r) => Math.abs(r.descentTrainLoss - r.trainLoss)));
  return `Final train loss (mean over the last epoch), descent / PyTorch, seed ${COMPARE_SEEDS[0]}: ${pairs.join(', ')}: at most ${fixed(widest)} apart.`;
}

/** `lr 0.05, μ 0.9, Nesterov`: the hyper-parameters a compare run gave one optimizer. */
function describeOptions(o: Record<string, unknown>): string {
  const num = (x: number) =>
    x !== 0 && Math.abs(x) < 0.01
      ? x
          .toExponential()
          .replace(/\.?0*e/, 'e')
          .replace('e-', 'e-')
      : Number.isInteger(x)
        ? x.toFixed(1)
        : String(x);
  const parts = [`lr ${num(o.lr as number)}`];
  if (typeof o.momentum === 'number' && o.momentum !== 0) parts.push(`μ ${num(o.momentum)}`);
  if (o.nesterov === true) parts.push('Nesterov');
  return parts.join(', ');
}

/** The newest benchmark result, as bench/run.ts printed it. */
export function newestBench(): { file: string; text: string } {
  const dir = join(ROOT, 'bench', 'results');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort();
  if (files.length === 0) throw new Error(`bench: no result in ${dir}; run npm run bench`);
  const file = files[files.length - 1];
  return { file, text: readFileSync(join(dir, file), 'utf8').trim() };
}

/** The newest optimizer table: bench/results/optimizers-<UTC>/summary.json (tools/optimizer-table.ts --write), drawn by renderTable. */
export function newestOptimizerTable(): { dir: string; text: string } {
  const root = join(ROOT, 'bench', 'results');
  const dirs = readdirSync(root)
    .filter((f) => f.startsWith('optimizers-') && existsSync(join(root, f, 'summary.json')))
    .sort();
  if (dirs.length === 0) throw new Error(`optimizer-table: no optimizers-*/summary.json in ${root}; see tools/optimizer-table.ts`);
  const dir = dirs[dirs.length - 1];
  const summary = JSON.parse(readFileSync(join(root, dir, 'summary.json'), 'utf8')) as TableSummary;
  return { dir, text: renderTable(summary).join('\n') };
}

/** A ragged CSV: a header of 785 names (label and 784 pixels) and, on line 17, a row one field short. */
function raggedCsv(dir: string): void {
  const header = ['label', ...Array.from({ length: 784 }, (_, i) => `p${i}`)].join(',');
  const row = (n: number) => ['3', ...Array.from({ length: n }, () => '0')].join(',');
  const lines = [header, ...Array.from({ length: 15 }, () => row(784)), row(783), row(784)];
  writeFileSync(join(dir, 'data.csv'), `${lines.join('\n')}\n`);
}

function inFolder<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'descent-figures-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const BLOCKS: Record<string, Block> = {
  start: {
    cost: 'cheap',
    make() {
      const records = ok([...startArgs(), '--json'])
        .split('\n')
        .map((l) => JSON.parse(l));
      const seconds = records.reduce((s: number, r: { seconds: number }) => s + r.seconds, 0);
      const last = records[records.length - 1];
      return `\`npm start\` trains ${records.length} epochs (${seconds.toFixed(0)} s of training on the machine that wrote this line) and ends at test accuracy ${fixed(last.testAccuracy, 3)}.`;
    },
    stable: (s) => s.replace(/\(\d+ s of training/, '(T s of training'),
  },
  'train-sample': {
    cost: 'cheap',
    make: () => session([['train', '--data', 'embedded', '--limit', '2000', '--test-limit', '500', '--epochs', '2']]),
    stable: stableTimes,
  },
  'error-csv': {
    cost: 'cheap',
    make: () =>
      inFolder((dir) => {
        raggedCsv(dir);
        return session([['train', '--data', 'data.csv']], dir);
      }),
  },
  'error-model': {
    cost: 'cheap',
    make: () => session([['train', '--data', 'embedded', '--model', 'conv:8:5,relu,linear']]),
  },
  'error-diverge': {
    cost: 'cheap',
    make: () =>
      session([['train', '--data', 'embedded', '--limit', '2000', '--optimizer', 'sgd', '--lr', '1e6', '--checkpoint-dir', 'ck']]),
  },
  'error-usage': {
    cost: 'cheap',
    make: () =>
      session([
        ['train', '--lr', '-1'],
        ['train', '--optimizer', 'adma'],
      ]),
  },
  compare: { cost: 'long', make: () => `${compareTable(compareRuns(), false)}\n\n${compareSummary(compareRuns())}` },
  'compare-detail': {
    cost: 'long',
    make: () => `${compareTable(compareRuns(), true)}\n\n${compareLosses(compareRuns())}`,
    file: 'docs/optimizers.md',
  },
  'optimizer-table': {
    cost: 'cheap',
    make() {
      const { dir, text } = newestOptimizerTable();
      return `From \`bench/results/${dir}/summary.json\` (the newest), drawn by \`tools/optimizer-table.ts\`.\n\n${text}`;
    },
  },
  bench: {
    cost: 'cheap',
    make() {
      const { file, text } = newestBench();
      return `The table is \`bench/results/${file}\`, the newest result, printed as is.\n\n${text}`;
    },
  },
};

const OPEN = /<!-- figures:([\w-]+) -->/g;
const CLOSE = '<!-- /figures -->';

export interface Marked {
  name: string;
  /** Offsets of the text between the markers. */
  start: number;
  end: number;
  text: string;
}

/** The marked blocks of a README, in order; a marker without its close is an error. */
export function markedBlocks(readme: string): Marked[] {
  const out: Marked[] = [];
  for (const m of readme.matchAll(OPEN)) {
    const start = m.index + m[0].length;
    const end = readme.indexOf(CLOSE, start);
    const next = readme.slice(start).search(/<!-- figures:/);
    if (end < 0 || (next >= 0 && start + next < end))
      throw new Error(`README.md: <!-- figures:${m[1]} --> has no ${CLOSE} before the next block`);
    out.push({ name: m[1], start, end, text: readme.slice(start, end).replace(/^\n/, '').replace(/\n$/, '') });
  }
  return out;
}

/** Put `text` between a block's markers, keeping a block that spans lines on lines of its own. */
export function replaceBlock(readme: string, block: Marked, text: string): string {
  const multiline = readme.slice(block.start, block.end).includes('\n');
  return readme.slice(0, block.start) + (multiline ? `\n${text}\n` : text) + readme.slice(block.end);
}

function main(argv: string[]): void {
  const long = argv.includes('--long');
  const names = argv.filter((a) => !a.startsWith('--'));
  for (const n of names)
    if (!(n in BLOCKS)) throw new Error(`readme-figures: no block "${n}"; the blocks are ${Object.keys(BLOCKS).join(', ')}`);
  const wanted = names.length > 0 ? names : Object.keys(BLOCKS).filter((n) => long || BLOCKS[n].cost === 'cheap');
  const texts = new Map<string, string>();
  for (const name of wanted) {
    const file = blockFile(name);
    if (!texts.has(file)) texts.set(file, readFileSync(join(ROOT, file), 'utf8'));
    const t0 = performance.now();
    const text = BLOCKS[name].make();
    const found = markedBlocks(texts.get(file)!).filter((b) => b.name === name);
    if (found.length === 0) throw new Error(`${file} has no <!-- figures:${name} --> block`);
    // Replace from the last so the earlier offsets stay valid.
    for (const b of found.reverse()) texts.set(file, replaceBlock(texts.get(file)!, b, text));
    process.stderr.write(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  for (const [file, text] of texts) writeFileAtomic(join(ROOT, file), text, file);
}

/** The file that holds a block (README.md unless the block names another). */
export function blockFile(name: string): string {
  return BLOCKS[name].file ?? 'README.md';
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
