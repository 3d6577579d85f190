/**
 * README.md's figures (and docs/optimizers.md's compare table) come from tools/readme-figures.ts
 * (`npm run readme:figures`): every block marked `<!-- figures:NAME -->` in README.md or docs/*.md
 * has a generator that names that file, every generator has its block, and the cheap blocks
 * (the sample runs and error messages, npm start's accuracy, the newest bench table and optimizer table) equal what
 * their generator gives now, times and speeds aside. The long blocks (the compare table: full data
 * and PyTorch, minutes) are rewritten by `npm run readme:figures -- --long`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BLOCKS,
  ROOT,
  blockFile,
  markedBlocks,
  replaceBlock,
  compareTable,
  compareSummary,
  compareLosses,
  type CompareRow,
} from '../../tools/readme-figures.js';

const files = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
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
  assert.throws(
    () => markedBlocks('a <!-- figures:x -->1\n<!-- figures:y -->2<!-- /figures -->'),
    /figures:x --> has no <!-- \/figures -->/,
  );
  const text = 'a\n<!-- figures:x -->\nold\n<!-- /figures -->\nb <!-- figures:y -->1<!-- /figures --> c';
  const [x, y] = markedBlocks(text);
  assert.equal(x.text, 'old');
  assert.equal(replaceBlock(text, x, 'new'), 'a\n<!-- figures:x -->\nnew\n<!-- /figures -->\nb <!-- figures:y -->1<!-- /figures --> c');
  assert.equal(replaceBlock(text, y, '2'), 'a\n<!-- figures:x -->\nold\n<!-- /figures -->\nb <!-- figures:y -->2<!-- /figures --> c');
});

/** The compare runs as the detailed table in docs/optimizers.md shows them (accuracies, settings, seed 1's train losses). */
function runsFromDetail(text: string): CompareRow[][] {
  const rows = text
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  const names = rows[0].slice(2);
  const settings = rows.find((r) => r[1] === 'settings')!.slice(2);
  const losses = new Map([...text.matchAll(/(\w+) (\d\.\d{4}) \/ (\d\.\d{4})/g)].map((m) => [m[1], [Number(m[2]), Number(m[3])]]));
  const seeds = [...new Set(rows.filter((r) => /^\d+$/.test(r[0])).map((r) => r[0]))];
  return seeds.map((seed, k) => {
    const get = (who: string) =>
      rows
        .find((r) => r[0] === seed && r[1] === who)!
        .slice(2)
        .map(Number);
    const mine = get('descent'),
      theirs = get('PyTorch');
    return names.map((optimizer, j) => {
      const options: Record<string, unknown> = {};
      for (const part of settings[j].split(', ')) {
        const [key, v] = part.split(' ');
        if (key === 'lr') options.lr = Number(v);
        else if (key === 'μ') options.momentum = Number(v);
        else if (key === 'Nesterov') options.nesterov = true;
      }
      const [dl, tl] = k === 0 ? losses.get(optimizer)! : [0, 0];
      return { optimizer, options, descentTestAccuracy: mine[j], testAccuracy: theirs[j], descentTrainLoss: dl, trainLoss: tl };
    });
  });
}

test('the compare blocks are what their formatter makes of the runs they show (means, differences, settings, summary)', () => {
  const detail = marked.find((b) => b.name === 'compare-detail')!.text;
  const runs = runsFromDetail(detail);
  assert.equal(runs.length, 3);
  assert.equal(`${compareTable(runs, true)}\n\n${compareLosses(runs)}`, detail);
  assert.equal(`${compareTable(runs, false)}\n\n${compareSummary(runs)}`, marked.find((b) => b.name === 'compare')!.text);
});
