/**
 * The public names of the package entries, read from the sources with the TypeScript compiler:
 * `name` for a value (function, class, constant), `type name` for a type-only export.
 *
 *   node dist/tools/public_api.js           print the lists as JSON
 *   node dist/tools/public_api.js --write   rewrite test/package/public-api.json, the snapshot
 *                                           test/package/public-api.test.ts holds the entries to
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { writeFileAtomic } from '../src/io/files.js';

/** Package subpath → entry source file (relative to the repository root). */
export const ENTRIES: Readonly<Record<string, string>> = {
  descent: 'src/index.ts',
  'descent/wasm': 'src/wasm.ts',
  'descent/node': 'src/node.ts',
  'descent/webgpu': 'src/webgpu.ts',
};

export type PublicApi = Record<string, string[]>;

/** Sorted public names of every entry in ENTRIES. */
export function publicApi(repo: string): PublicApi {
  const files = Object.values(ENTRIES).map((f) => join(repo, f));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  });
  const checker = program.getTypeChecker();
  const out: PublicApi = {};
  for (const [name, file] of Object.entries(ENTRIES)) {
    const source = program.getSourceFile(join(repo, file));
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`public_api: cannot read the exports of ${file}`);
    out[name] = checker
      .getExportsOfModule(module)
      .map((e) => {
        const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
        return target.flags & ts.SymbolFlags.Value ? e.name : `type ${e.name}`;
      })
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  return out;
}

export const SNAPSHOT = 'test/package/public-api.json';

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const api = publicApi(repo);
  const text = `${JSON.stringify(api, null, 1)}\n`;
  if (process.argv.includes('--write')) {
    writeFileAtomic(join(repo, SNAPSHOT), text);
    console.log(
      `${SNAPSHOT}: ${Object.entries(api)
        .map(([k, v]) => `${k} ${v.length}`)
        .join(', ')} names`,
    );
  } else process.stdout.write(text);
}
