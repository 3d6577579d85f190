/**
 * README.md's figures (and docs/optimizers.md's compare table) come from tools/readme-figures.ts
 * (`npm run readme:figures`): every block marked `<!-- figures:NAME -->` in README.md or docs/*.md
 * has a generator that names that file, every generator has its block, and the cheap blocks
 * (the sample runs and error messages, npm start's accuracy, the newest bench table) equal what
 * their generator gives now, times and speeds aside. The long blocks (the compare table: full data
 * and PyTorch, minutes) are rewritten by `npm run readme:figures -- --long`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCKS, ROOT, blockFile, markedBlocks, replaceBlock } from '../../tools/readme-figures.js';

const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const marked = files.flatMap((file) => markedBlocks(readFileSync(join(ROOT, file), 'utf8')).map((b) => ({ ...b, file })));

test('every marked block has a generator that names its file, and every generator a block', () => {
  const names = marked.map((b) => b.name);
  assert.deepEqual([...new Set(names)].sort(), Object.keys(BLOCKS).sort());
  assert.equal(new Set(names).size, names.length, 'each block appears once');
  for (const b of marked) assert.equal(b.file, blockFile(b.name), `block ${b.name}`);
});

for (const [name, block] of Object.entries(BLOCKS)) {
  if (block.cost !== 'cheap') continue;
  test(`${blockFile(name)}'s "${name}" figures are what the command gives now`, () => {
    const shown = marked.find((b) => b.name === name)!.text;
    const now = block.make();
    const stable = block.stable ?? ((s: string) => s);
    assert.equal(stable(shown), stable(now), `${blockFile(name)} is stale here: npm run readme:figures -- ${name}`);
  });
}

test('a block without its closing marker is refused; a rewrite touches only its block', () => {
  assert.throws(() => markedBlocks('a <!-- figures:x -->1\n<!-- figures:y -->2<!-- /figures -->'), /figures:x --> has no <!-- \/figures -->/);
  const text = 'a\n<!-- figures:x -->\nold\n<!-- /figures -->\nb <!-- figures:y -->1<!-- /figures --> c';
  const [x, y] = markedBlocks(text);
  assert.equal(x.text, 'old');
  assert.equal(replaceBlock(text, x, 'new'), 'a\n<!-- figures:x -->\nnew\n<!-- /figures -->\nb <!-- figures:y -->1<!-- /figures --> c');
  assert.equal(replaceBlock(text, y, '2'), 'a\n<!-- figures:x -->\nold\n<!-- /figures -->\nb <!-- figures:y -->2<!-- /figures --> c');
});
