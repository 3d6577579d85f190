/**
 * The README's "Five everyday tasks" are the guide's task blocks, letter for letter: the guide's test
 * (library-guide.test.ts) runs and checks those blocks and their line counts, so the README cannot
 * show a version that no test runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test("README shows each of the guide's five tasks exactly as the guide runs it", () => {
  const guide = readFileSync(join(root, 'docs/library.md'), 'utf8');
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const tasks = [...guide.matchAll(/<!-- task: ([^,]+), at most \d+ lines -->\n```ts\n([\s\S]*?)```/g)];
  assert.deepEqual(
    tasks.map((m) => m[1]),
    ['xor', 'regression', 'fashion-mnist', 'save-load', 'hvp-lbfgs'],
  );
  const section = readme.slice(readme.indexOf('### Five everyday tasks'));
  assert.ok(section.length > 0, 'README has the section');
  for (const [, name, code] of tasks)
    assert.ok(section.includes(`\`\`\`ts\n${code}\`\`\``), `README's ${name} block differs from the guide's`);
});
