/**
 * What an npm user gets: the packed file list (declaration and source maps, the TypeScript sources
 * they point to, the wasm entry with its binary and both platforms' files, the docs without the
 * generated API pages, LICENSE), declarations that type-check
 * under `strict` in a consumer's project with only ES2022 + Node's types or only ES2022 + DOM (no
 * skipLibCheck, so an error anywhere in the published .d.ts counts), and the TypeDoc reference
 * (`npm run docs:api`) still building from the sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

test('npm packs declaration maps, source maps, the sources they point to, the docs and LICENSE', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
  for (const f of [
    'LICENSE',
    'README.md',
    'docs/library.md',
    'docs/tensors.md',
    'dist/src/index.d.ts',
    'dist/src/index.d.ts.map',
    'dist/src/node.d.ts.map',
    'dist/src/index.js.map',
    'dist/src/train/trainer.d.ts.map',
    'src/index.ts',
    'src/node.ts',
    'src/train/trainer.ts',
    'dist/src/wasm.js',
    'dist/src/wasm.d.ts',
    'src/wasm.ts',
    'dist/src/backend/wasm/kernels.generated.js',
    'dist/src/backend/wasm/platform-node.js',
    'dist/src/backend/wasm/platform-browser.js',
    'dist/src/backend/wasm/worker-node.js',
    'dist/src/backend/wasm/worker-browser.js',
  ])
    assert.ok(files.includes(f), `${f} is packed`);
  const maps = files.filter((f) => f.endsWith('.d.ts.map')).length;
  const decls = files.filter((f) => f.endsWith('.d.ts')).length;
  assert.equal(maps, decls, 'every declaration file has its map');
  assert.deepEqual(
    files.filter((f) => f.startsWith('docs/api/') || f.startsWith('dist/test/')),
    [],
    'no generated API pages or compiled tests',
  );
});

/** Type-check `code` as a consumer's module that has descent installed under node_modules. */
function consumerDiagnostics(code: string, lib: string[], types: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'descent-consumer-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repo, join(dir, 'node_modules', 'descent'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const file = join(dir, 'main.ts');
    writeFileSync(file, code);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib,
      types,
      typeRoots: [join(repo, 'node_modules', '@types')],
    });
    const files = program.getSourceFiles().map((f) => f.fileName);
    assert.ok(
      files.some((f) => f.endsWith('dist/src/index.d.ts')),
      'the published index.d.ts was read',
    );
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
      return `${d.file ? d.file.fileName.replace(repo, '') : ''}:${pos ? pos.line + 1 : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isomorphicUse = `
import { Sequential, Linear, ReLU, Adam, Rng, tensor, mseLoss, fit, setBackend, type Tensor, type FitOptions } from 'descent';
import { initWasm, ready, wasmInfo, type WasmOptions } from 'descent/wasm';
const rng = new Rng(1);
const model = new Sequential(new Linear(2, 4, { rng }), new ReLU(), new Linear(4, 1, { rng }));
const opt = new Adam(model.parameters(), { lr: 0.01 });
const x: Tensor = tensor([[0, 1]]);
const loss: Tensor = mseLoss(model.forward(x), tensor([[1]]));
const run: ((o: FitOptions) => unknown) = fit;
const threads: WasmOptions = { threads: 2 };
export { opt, loss, run, initWasm, ready, wasmInfo, threads, setBackend };
`;

test('the published declarations type-check under strict with only ES2022 + Node types (no DOM)', () => {
  const code = `${isomorphicUse}
import { loadEmbedded, checkpointDir, saveSafetensorsFile, readCsvTable } from 'descent/node';
export { loadEmbedded, checkpointDir, saveSafetensorsFile, readCsvTable };
`;
  assert.deepEqual(consumerDiagnostics(code, ['lib.es2022.d.ts'], ['node']), []);
});

test('the isomorphic entry and descent/wasm type-check under strict with only ES2022 + DOM (no Node types)', () => {
  assert.deepEqual(consumerDiagnostics(isomorphicUse, ['lib.es2022.d.ts', 'lib.dom.d.ts'], []), []);
});

test('a consumer type error is reported (the check above reads the declarations)', () => {
  const diags = consumerDiagnostics(
    `import { Adam } from 'descent';\nexport const o = new Adam([], { learningRate: 0.1 });\n`,
    ['lib.es2022.d.ts'],
    ['node'],
  );
  assert.equal(diags.length, 1, diags.join('\n'));
  assert.match(diags[0], /learningRate/);
});

test('npm run docs:api: TypeDoc builds the reference from both entry points without errors', () => {
  const r = spawnSync(process.execPath, [join(repo, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--emit', 'none'], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, out);
  assert.match(out, /Found 0 errors/);
});
