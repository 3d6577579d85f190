/**
 * Type-checks documentation code blocks as a user's files would be: each block written to a file of
 * its own in a fresh folder, compiled under `strict` against the built declarations (`descent` and
 * `descent/node` mapped to dist/src/*.d.ts). Returns the diagnostics as `file:line: message`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export function typeCheckBlocks(blocks: readonly string[], opts: { nodeTypes: boolean }): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'descent-doc-'));
  try {
    const files = blocks.map((code, k) => {
      const f = join(dir, `block${k}.ts`);
      writeFileSync(f, `${code}\nexport {};\n`);
      return f;
    });
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: opts.nodeTypes ? ['node'] : [],
      ...(opts.nodeTypes ? { typeRoots: [join(root, 'node_modules/@types')] } : {}),
      skipLibCheck: true,
      baseUrl: root,
      paths: { descent: ['dist/src/index.d.ts'], 'descent/node': ['dist/src/node.d.ts'] },
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
      return `${d.file ? d.file.fileName.replace(dir, '') : ''}:${pos ? pos.line + 1 : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
