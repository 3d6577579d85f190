/**
 * docs/library.md is true: every TypeScript block type-checks under `strict` as a user's module
 * importing the published declarations of `descent`, `descent/wasm` and `descent/node` (ES2022 + Node's types), then
 * runs in its own Node process (in a fresh temporary folder, for the files it writes) against the
 * built package, and every line `EXPR; // → VALUE` must give VALUE (JSON; `≈ VALUE` compares each
 * number to the decimals it is written with). The five everyday tasks, each marked
 * `<!-- task: NAME, at most N lines -->`, must fit in N lines (PyTorch's count; blank lines and lines
 * that are only a comment do not count).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const doc = readFileSync(join(repo, 'docs/library.md'), 'utf8');

interface Block {
  code: string;
  /** 1-based line of the page where the code starts. */
  line: number;
  task?: { name: string; max: number };
}

const blocks: Block[] = [];
for (const m of doc.matchAll(/(?:<!-- task: ([^,]+), at most (\d+) lines -->\n)?```ts\n([\s\S]*?)```/g)) {
  const line = doc.slice(0, m.index).split('\n').length + (m[1] ? 2 : 1);
  blocks.push({ code: m[3], line, task: m[1] ? { name: m[1], max: Number(m[2]) } : undefined });
}

/** A line that shows a value: `EXPR; // → VALUE`. */
const ARROW = /^(\s*)(.*?);\s*\/\/ → (.*)$/;

test('docs/library.md: the five tasks are there, each within its line budget', () => {
  const tasks = blocks
    .filter((b) => b.task)
    .map((b) => {
      const lines = b.code.split('\n').filter((l) => l.trim() !== '' && !/^\s*\/\//.test(l)).length;
      assert.ok(lines <= b.task!.max, `task ${b.task!.name} (line ${b.line}) has ${lines} lines, at most ${b.task!.max}`);
      return b.task!.name;
    });
  assert.deepEqual(tasks.sort(), ['fashion-mnist', 'hvp-lbfgs', 'regression', 'save-load', 'xor']);
});

test('docs/library.md: one section per task of the library, each with a checked example', () => {
  const sections = [...doc.matchAll(/^## (.+)$/gm)].map((m) => ({ title: m[1], at: m.index }));
  assert.deepEqual(
    sections.map((x) => x.title),
    [
      'Five everyday tasks',
      'Tensors and autograd',
      'Models',
      'Data',
      'Training with fit',
      'Language models',
      'Optimizers and schedules',
      'Regularisation',
      'Ensembles and weight averages',
      'Second-order methods',
      'Saving and loading',
      'Backends',
      'Names',
    ],
  );
  sections.forEach((sec, i) => {
    const text = doc.slice(sec.at, sections[i + 1]?.at ?? doc.length);
    assert.match(text, /```ts\n[\s\S]*?\/\/ → /, `section "${sec.title}" has a block with a checked value`);
  });
});

/** A consumer's folder with descent installed as node_modules/descent (the repository itself). */
function consumerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'descent-guide-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repo, join(dir, 'node_modules', 'descent'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

test('docs/library.md: every block type-checks under strict against the published declarations', () => {
  assert.ok(blocks.length >= 15, `the guide has ${blocks.length} TypeScript blocks`);
  const dir = consumerDir();
  try {
    const files = blocks.map((b, k) => {
      const f = join(dir, `block${k}.ts`);
      writeFileSync(f, `${b.code}\nexport {};\n`);
      return f;
    });
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      typeRoots: [join(repo, 'node_modules', '@types')],
    });
    const diags = ts.getPreEmitDiagnostics(program).map((d) => {
      const k = d.file ? files.indexOf(d.file.fileName) : -1;
      const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
      const where = k >= 0 && pos ? `docs/library.md:${blocks[k].line + pos.line}` : (d.file?.fileName ?? '');
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    assert.deepEqual(diags, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const MARK = '\u001eshow ';
const prelude = `const __show = (line, value) => { process.stdout.write(${JSON.stringify(MARK)} + JSON.stringify({ line, value }) + '\\n'); return value; };\n`;

/** The block as a runnable module: imports of the package point at the built files, arrow lines report their value. */
function runnable(b: Block): string {
  const body = b.code
    .replace(/from 'descent'/g, `from ${JSON.stringify(pathToFileURL(join(repo, 'dist/src/index.js')).href)}`)
    .replace(/from 'descent\/node'/g, `from ${JSON.stringify(pathToFileURL(join(repo, 'dist/src/node.js')).href)}`)
    .replace(/from 'descent\/wasm'/g, `from ${JSON.stringify(pathToFileURL(join(repo, 'dist/src/wasm.js')).href)}`)
    .split('\n')
    .map((l, n) => {
      const m = ARROW.exec(l);
      return m ? `${m[1]}__show(${b.line + n}, (${m[2]}));` : l;
    })
    .join('\n');
  const js = ts.transpileModule(body, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
  return prelude + js;
}

function run(file: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `value` as shown: exact JSON, or with `≈` each number within half a unit of its last written decimal. */
function matches(value: unknown, shown: string): boolean {
  if (!shown.startsWith('≈ ')) return JSON.stringify(value) === JSON.stringify(JSON.parse(shown));
  const text = shown.slice(2);
  const numbers = [...text.matchAll(/-?\d+(?:\.(\d+))?(?:e-?\d+)?/g)].map((m) => ({
    v: Number(m[0]),
    tol: 0.5 * 10 ** -(m[1]?.length ?? 0),
  }));
  const got: number[] = [];
  const flat = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(flat);
    else got.push(Number(v));
  };
  flat(value);
  return got.length === numbers.length && got.every((g, i) => Math.abs(g - numbers[i].v) <= numbers[i].tol * (1 + 1e-9));
}

test('docs/library.md: every block runs and every `// →` line gives the value it shows', async () => {
  const results: string[] = [];
  let checked = 0;
  const arrows = blocks.flatMap((b) =>
    b.code
      .split('\n')
      .map((l, n) => (ARROW.test(l) ? b.line + n : -1))
      .filter((n) => n >= 0),
  );
  const seen = new Set<number>();
  const runBlock = async (b: Block, k: number) => {
    const dir = consumerDir();
    try {
      const file = join(dir, `block${k}.mjs`);
      writeFileSync(file, runnable(b));
      const r = await run(file, dir);
      if (r.code !== 0) {
        results.push(`block at docs/library.md:${b.line} exited with ${r.code}: ${r.stderr.trim().split('\n').slice(0, 6).join('\n')}`);
        return;
      }
      for (const out of r.stdout.split('\n').filter((l) => l.startsWith(MARK))) {
        const { line, value } = JSON.parse(out.slice(MARK.length)) as { line: number; value: unknown };
        const shown = ARROW.exec(doc.split('\n')[line - 1])![3];
        seen.add(line);
        checked++;
        if (!matches(value, shown)) results.push(`docs/library.md:${line}: shows ${shown}, gives ${JSON.stringify(value)}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // Each block is its own process; a few at a time.
  const queue = [...blocks.entries()];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await runBlock(next[1], next[0]);
  };
  await Promise.all(Array.from({ length: Math.min(3, availableParallelism()) }, worker));
  assert.deepEqual(results, []);
  assert.deepEqual(
    arrows.filter((n) => !seen.has(n)),
    [],
    'every arrow line ran',
  );
  assert.ok(checked >= 20, `${checked} values checked`);
});

test('the approximate comparison of the check above can fail', () => {
  assert.ok(matches([0.123, [2]], '≈ [0.12, [2]]'));
  assert.ok(!matches([0.13, [2]], '≈ [0.12, [2]]'));
  assert.ok(!matches([0.12], '≈ [0.12, 1]'));
  assert.ok(matches('wasm', '"wasm"'));
  assert.ok(!matches(1.0001, '1'));
});
