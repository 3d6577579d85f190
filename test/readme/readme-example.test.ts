/**
 * README.md's library example is true: the TypeScript block after the `<!-- test: readme-example -->`
 * marker type-checks under `strict` against the published declarations (as a user's file importing
 * 'descent/node' would), is at most 25 lines, and, transpiled and run by node against the built
 * package, exits 0 and prints exactly the lines the README says it prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { typeCheckBlocks } from '../docs/typecheck-blocks.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const MARKER = '<!-- test: readme-example -->';

/** The fenced block right after the marker, and the text that follows it. */
function extractExample(readme: string): { code: string; after: string } {
  const at = readme.indexOf(MARKER);
  assert.ok(at >= 0, `README.md has the marker ${MARKER}`);
  const m = /^\s*```ts\n([\s\S]*?)\n```\n/.exec(readme.slice(at + MARKER.length));
  assert.ok(m, 'a ```ts fence follows the marker');
  return { code: m[1], after: readme.slice(at + MARKER.length + m[0].length) };
}

/** The block as a runnable ES module: TypeScript removed, the package's entries as file URLs of dist/. */
function toRunnable(code: string): string {
  const js = ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 } }).outputText;
  const entry = (file: string) => pathToFileURL(join(root, 'dist/src', file)).href;
  return js.replace(
    /from\s*(['"])descent(\/node)?\1/g,
    (_, _q: string, node: string | undefined) => `from ${JSON.stringify(entry(node ? 'node.js' : 'index.js'))}`,
  );
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('README example: at most 25 lines, imports only the package', () => {
  const { code } = extractExample(readme);
  const lines = code.split('\n');
  assert.ok(lines.length <= 25, `the example has ${lines.length} lines, at most 25 wanted`);
  const imports = [...code.matchAll(/from\s*'([^']*)'/g)].map((m) => m[1]);
  assert.ok(imports.length > 0);
  for (const spec of imports) assert.ok(spec === 'descent' || spec === 'descent/node', `imports ${spec}`);
  assert.ok(!/descent\//.test(toRunnable(code).replace(/file:\/\/[^"]*/g, '')), 'every import rewritten to dist/');
});

test('README example: type-checks against the declarations under strict', () => {
  const { code } = extractExample(readme);
  assert.deepEqual(typeCheckBlocks([code], { nodeTypes: true }), []);
});

test('README example: runs, trains, saves, reloads, and prints what the README says', () => {
  const { code, after } = extractExample(readme);
  const said = /It prints `([^`]+)` and `([^`]+)`/.exec(after);
  assert.ok(said, 'the README says what the example prints ("It prints `…` and `…`")');
  const dir = mkdtempSync(join(tmpdir(), 'descent-readme-'));
  try {
    const file = join(dir, 'example.mjs');
    writeFileSync(file, toRunnable(code));
    const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `exit code ${r.status}; stderr:\n${r.stderr}`);
    assert.equal(r.stderr, '');
    const out = r.stdout.trimEnd().split('\n');
    assert.deepEqual(out, [said[1], said[2]]);
    assert.equal(out[1], 'reloaded: same predictions');
    const acc = /^test accuracy (\d\.\d{3})$/.exec(out[0]);
    assert.ok(acc && Number(acc[1]) >= 0.95, `a model that learned: ${out[0]}`);
    // The saved file is a safetensors file: an 8-byte header length, then a JSON header.
    assert.ok(existsSync(join(dir, 'model.safetensors')));
    const bytes = readFileSync(join(dir, 'model.safetensors'));
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
    assert.ok('0.weight' in header && '6.bias' in header, `PyTorch's names: ${Object.keys(header).join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
