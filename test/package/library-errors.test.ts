/**
 * Library errors speak the library's terms: no string in the library's code (src/ outside src/cli/
 * and src/sweep/, the commands' own vocabulary) spells a command-line flag, except the help texts the CLI prints and
 * the V8 flag the Node entry sets, listed below. Where a message names a CLI concept the CLI passes
 * its spelling in (parseAugment's `what`), and the messages that fitFullBatch and parseAugment
 * throw are checked by running them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parseAugment } from '../../src/augment/parse.js';
import { fitFullBatch } from '../../src/train/fullbatch.js';
import { Linear, SGD, Rng, randn } from '../../src/index.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const FLAG = /(^|[^\w-])--[a-z][a-z-]+/;

/** Strings that may spell flags: the CLI's help texts kept beside their grammar, and a V8 flag. */
const ALLOWED: Record<string, RegExp> = {
  'src/backend/wasm/node-flags.ts': /^--experimental-wasm-relaxed-simd$/,
  'src/train/spec.ts': /^(Model spec \(--model\)| {2}Example: --model )/,
  'src/schedule/parse.ts': /^ {2}any: lr=α₀ \(default --lr\)/,
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    // src/sweep implements the sweep and worker commands (no package entry exports it): its
    // messages answer those commands' flags, like src/cli's.
    return statSync(p).isDirectory()
      ? f === 'cli' || f === 'sweep'
        ? []
        : sources(p)
      : p.endsWith('.ts') && !p.endsWith('.d.ts')
        ? [p]
        : [];
  });
}

test('no string in the library outside src/cli spells a command-line flag', () => {
  const found: string[] = [];
  let strings = 0;
  for (const file of sources(join(repo, 'src'))) {
    const rel = relative(repo, file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      const texts =
        ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)
          ? [node.text]
          : ts.isTemplateExpression(node)
            ? [node.head.text, ...node.templateSpans.map((s) => s.literal.text)]
            : [];
      for (const text of texts) {
        strings++;
        if (FLAG.test(text) && !ALLOWED[rel]?.test(text))
          found.push(`${rel}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${text}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  assert.ok(strings > 1000, `${strings} strings read`);
  assert.deepEqual(found, []);
});

test('fitFullBatch and parseAugment say option names; the CLI passes --augment itself', () => {
  assert.throws(
    () => parseAugment('flip,spin'),
    (e: Error) => e.message.startsWith('augmentation spec: unknown transform "spin"') && !FLAG.test(e.message),
  );
  assert.throws(
    () => parseAugment('spin', '--augment'),
    /^AugmentSpecError: --augment: unknown transform "spin"/,
    'the CLI passes its flag',
  );

  const rng = new Rng(1);
  const model = new Linear(2, 3, { rng });
  const x = randn([4, 2], rng),
    y = Int32Array.from([0, 1, 2, 0]);
  assert.throws(
    () => fitFullBatch({ model, optimizer: new SGD(model.parameters(), { lr: 1e300 }), x, y, steps: 5 }),
    (e: Error) => /the loss became (NaN|Infinity).*try a smaller learning rate \(option lr\)/.test(e.message) && !FLAG.test(e.message),
  );
});
