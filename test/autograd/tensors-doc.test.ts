/**
 * docs/tensors.md's examples are true: each TypeScript block type-checks under `strict` against the
 * published declarations (as a user's file importing 'descent' would), then runs, and every line
 * ending in `// → value` must produce that value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import * as lib from '../../src/index.js';
import { typeCheckBlocks } from '../docs/typecheck-blocks.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const doc = readFileSync(join(root, 'docs/tensors.md'), 'utf8');
const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

test('docs/tensors.md: the examples type-check against the declarations under strict', () => {
  assert.ok(blocks.length > 0, 'the page has TypeScript examples');
  assert.deepEqual(typeCheckBlocks(blocks, { nodeTypes: false }), []);
});

test('docs/tensors.md: every `// →` line gives the value it shows', () => {
  let checked = 0;
  for (const code of blocks) {
    const names: string[] = [];
    const body = code
      .replace(/import\s*\{([^}]*)\}\s*from\s*'descent';/g, (_, list: string) => {
        names.push(
          ...list
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s && !s.startsWith('type ')),
        );
        return '';
      })
      .split('\n')
      .map((line, n) => {
        const m = /^(.*?);\s*\/\/ → (.*)$/.exec(line);
        return m ? `__check(${m[1]}, ${JSON.stringify(m[2])}, ${n + 1});` : line;
      })
      .join('\n');
    const js = ts.transpileModule(body, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
    for (const name of names) assert.ok(name in lib, `the library exports ${name}`);
    const check = (value: unknown, expected: string, line: number) => {
      assert.deepEqual(JSON.parse(JSON.stringify(value)), JSON.parse(expected), `docs/tensors.md block line ${line}`);
      checked++;
    };
    new Function('__lib', '__check', `const { ${names.join(', ')} } = __lib;\n${js}`)(lib, check);
  }
  const arrows = blocks
    .join('\n')
    .split('\n')
    .filter((l) => l.includes('// →')).length;
  assert.equal(checked, arrows, 'every arrow line ran');
  assert.ok(checked >= 30);
});
