/**
 * tsconfig.core.json holds the isomorphic entry to what every runtime has: it compiles `descent`
 * (src/index.ts) and all it reaches, and the wasm backend's shared files, with `lib: ["ES2022"]`, no
 * DOM and no Node types, only the common globals of types/web-common.d.ts. `npm run build` runs it;
 * these tests check that it passes, that it covers what it should and leaves the platform adapters
 * out, that the isomorphic entry does not reach the embedded wasm binary, and that a use of Node or
 * the DOM is an error under it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

function coreConfig(): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(repo, 'tsconfig.core.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(parsed);
  return parsed;
}

const format = (ds: readonly ts.Diagnostic[]) =>
  ds.map((d) => `${d.file ? relative(repo, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
const local = (p: ts.Program) =>
  p
    .getSourceFiles()
    .map((f) => relative(repo, f.fileName))
    .filter((f) => !f.startsWith('node_modules'));

test('the core config compiles the isomorphic entry and the wasm shared files without DOM or Node types', () => {
  const cfg = coreConfig();
  assert.deepEqual(cfg.options.lib, ['lib.es2022.d.ts']);
  assert.deepEqual(cfg.options.types, []);
  const program = ts.createProgram(cfg.fileNames, cfg.options);
  assert.deepEqual(format(ts.getPreEmitDiagnostics(program)), []);
  const files = local(program);
  for (const f of [
    'src/index.ts',
    'src/train/trainer.ts',
    'src/optim/adam.ts',
    'src/io/safetensors.ts',
    'src/backend/wasm/runtime.ts',
    'src/backend/wasm/worker.ts',
  ]) {
    assert.ok(files.includes(f), `${f} is checked`);
  }
  for (const f of [
    'src/node.ts',
    'src/wasm.ts',
    'src/backend/wasm/index.ts',
    'src/backend/wasm/platform-node.ts',
    'src/backend/wasm/platform-browser.ts',
    'src/io/files.ts',
  ]) {
    assert.ok(!files.includes(f), `${f} is outside the core config`);
  }
  assert.ok(!files.some((f) => f.startsWith('src/cli/') || f.includes('node_modules/@types/node')), 'no CLI, no Node types');
});

test('the isomorphic entry does not reach the wasm backend or its embedded binary', () => {
  const cfg = coreConfig();
  const files = local(ts.createProgram([join(repo, 'types/web-common.d.ts'), join(repo, 'src/index.ts')], cfg.options));
  assert.ok(files.includes('src/backend/reference.ts'));
  assert.deepEqual(
    files.filter((f) => f.startsWith('src/backend/wasm/')),
    [],
  );
});

test('under the core config, Node and DOM globals and node: imports are compile errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-core-'));
  try {
    const probe = join(dir, 'probe.ts');
    writeFileSync(
      probe,
      [
        "import { readFileSync } from 'node:fs';",
        'export const a = process.env.HOME;',
        'export const b = document.title;',
        "export const c = Buffer.from('x');",
        'export const d = navigator.hardwareConcurrency;',
        'export const e = readFileSync;',
        'export const ok = [performance.now(), new TextEncoder().encode("x"), new URL("https://x/").href, typeof WebAssembly.Memory];',
      ].join('\n'),
    );
    const cfg = coreConfig();
    const program = ts.createProgram([join(repo, 'types/web-common.d.ts'), probe], { ...cfg.options, rootDir: undefined });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .flatMap((d) =>
        d.file?.fileName === probe && d.start !== undefined ? [d.file.getLineAndCharacterOfPosition(d.start).line + 1] : [],
      );
    assert.deepEqual(
      [...new Set(errors)].sort((x, y) => x - y),
      [1, 2, 3, 4, 5],
      format(ts.getPreEmitDiagnostics(program)).join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
