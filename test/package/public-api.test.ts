/**
 * The public API, as the entries declare it: each entry lists its names (no `export *` but of
 * another entry), the lists equal the committed snapshot test/package/public-api.json (so adding or
 * removing a public name is a visible change: `node dist/tools/public_api.js --write` after
 * `npm run build`), the built modules export exactly the value names of the snapshot, internals
 * stay out, and every name the README and docs import from an entry is there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { ENTRIES, SNAPSHOT, publicApi, type PublicApi } from '../../tools/public_api.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const api = publicApi(repo);
const snapshot = JSON.parse(readFileSync(join(repo, SNAPSHOT), 'utf8')) as PublicApi;
const values = (names: string[]) => names.filter((n) => !n.startsWith('type '));

test('each entry names what it exports: `export *` only of another entry', () => {
  const entryFiles = new Set(Object.values(ENTRIES).map((f) => f.replace(/^src\//, './').replace(/\.ts$/, '.js')));
  for (const file of Object.values(ENTRIES)) {
    const source = ts.createSourceFile(file, readFileSync(join(repo, file), 'utf8'), ts.ScriptTarget.ES2022);
    const stars = source.statements
      .filter((s): s is ts.ExportDeclaration => ts.isExportDeclaration(s) && !s.exportClause)
      .map((s) => (s.moduleSpecifier as ts.StringLiteral).text);
    for (const from of stars) assert.ok(entryFiles.has(from), `${file}: export * from '${from}', which is not a package entry`);
  }
});

test('the entries export exactly the names of the committed snapshot', () => {
  for (const entry of Object.keys(ENTRIES)) {
    const got = new Set(api[entry]),
      want = new Set(snapshot[entry] ?? []);
    const added = [...got].filter((n) => !want.has(n)),
      removed = [...want].filter((n) => !got.has(n));
    assert.deepEqual(
      { added, removed },
      { added: [], removed: [] },
      `${entry}: public names differ from ${SNAPSHOT}; if intended, run \`node dist/tools/public_api.js --write\``,
    );
  }
  assert.deepEqual(Object.keys(snapshot).sort(), Object.keys(ENTRIES).sort());
});

test("the built modules export the snapshot's value names, no more", async () => {
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const mod = await import(pathToFileURL(join(repo, 'dist', file.replace(/\.ts$/, '.js'))).href);
    assert.deepEqual(Object.keys(mod).sort(), values(snapshot[entry]).sort(), entry);
  }
});

test('descent/node is descent + descent/wasm + the Node-only loaders; descent has no wasm', () => {
  const node = new Set(api['descent/node']);
  for (const n of [...api.descent, ...api['descent/wasm']]) assert.ok(node.has(n), `descent/node has ${n}`);
  for (const n of ['loadEmbedded', 'loadCsv', 'checkpointDir', 'saveSafetensorsFile']) assert.ok(node.has(n), n);
  for (const n of ['initWasm', 'ready', 'wasmInfo', 'loadEmbedded']) assert.ok(!api.descent.includes(n), `descent has no ${n}`);
  assert.ok(api['descent/wasm'].includes('ready') && api['descent/wasm'].includes('initWasm'));
});

test('internals are not public', () => {
  const internals = [
    '_setAdd',
    '_setAddInPlace',
    'keepGradBuffer',
    'leafGradBuffer',
    'isGradBuffer',
    'optimizers',
    'models',
    'initializers',
    'checkNonNeg',
    'checkBetas',
    'like',
    'validateAdamLike',
    'registerBackendHint',
    'readMaybeGzip',
    'sweepTemporaryFiles',
    'nodeImport',
  ];
  for (const [entry, names] of Object.entries(api)) {
    for (const n of internals) assert.ok(!names.includes(n) && !names.includes(`type ${n}`), `${entry} exports ${n}`);
  }
});

test('every name the README and docs import from an entry is exported by it', () => {
  const docs = [
    'README.md',
    ...readdirSync(join(repo, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const imports = /import\s+\{([^}]*)\}\s+from\s+'(descent(?:\/\w+)?)'/g;
  let checked = 0;
  for (const doc of docs) {
    for (const [, list, entry] of readFileSync(join(repo, doc), 'utf8').matchAll(imports)) {
      assert.ok(api[entry], `${doc}: imports from '${entry}', which is not a package entry`);
      for (const raw of list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const name = raw.replace(/^type\s+/, '').split(/\s+as\s+/)[0];
        assert.ok(api[entry].includes(name) || api[entry].includes(`type ${name}`), `${doc}: '${entry}' has no export ${name}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 50, `${checked} imported names checked`);
});
