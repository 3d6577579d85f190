/**
 * README.md and docs/*.md describe descent as it is; how it got there is git log's job. A line that
 * narrates the history of the work (rounds or sessions of work, what the code did before, what was
 * added or changed) fails this test. The phrases are the ones such lines used; each pattern is
 * shown to catch its phrase below, so the check can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

/** Each pattern with a phrase it must catch. */
const HISTORY: [RegExp, string][] = [
  [/\brounds? (\d|of work)/i, 'in round 3 the kernels'],
  [/\bsessions?\b(?!\.ts)/i, 'this session measured'],
  [/\bpreviously\b/i, 'previously 0.825'],
  [/\bbefore (the|this) (change|fix|commit|issue|rewrite)\b/i, 'before this change it froze'],
  [/\bwe (added|changed|removed|fixed|moved|replaced|made|rewrote)\b/i, 'we added a cache'],
  [/\bused to\b/i, 'the page used to freeze'],
  [/\bno longer\b(?! than)/i, 'it no longer copies'],
  [/\boriginally\b/i, 'originally one file'],
  [/\bnew:/i, 'new: fused Adam'],
  [/\bnow\b/i, 'descent now fuses'],
  [/\bcurrent (ones|code|kernels|engine|version|build)\b/i, 'differ from the current ones'],
  [/\bissue #?\d+/i, 'as issue 17 asked'],
  [/\b(last|earlier|later|first|second|third|next) (round|session)s?\b/i, 'the earlier session'],
  [/\bhas since\b/i, 'which has since moved'],
  [/\b(was|were|been) (added|changed|fixed|removed|replaced|rewritten|moved|introduced|dropped)\b/i, 'the flag was added'],
  [/\bat the time\b/i, 'slower at the time'],
  [/\btook (it|them|this) from\b/i, 'two changes took it from 19 to 43'],
];

function files(): string[] {
  const docs = readdirSync(join(repo, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f));
  return ['README.md', ...docs];
}

test('every history pattern catches its phrase (the check below can fail)', () => {
  for (const [re, phrase] of HISTORY) assert.match(phrase, re);
});

test('no line of README.md or docs/*.md narrates the history of the work', () => {
  const found: string[] = [];
  for (const f of files()) {
    readFileSync(join(repo, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const [re] of HISTORY) {
          const m = re.exec(line);
          if (m) found.push(`${f}:${i + 1}: "${m[0]}" in: ${line.trim().slice(0, 120)}`);
        }
      });
  }
  assert.deepEqual(found, [], `lines that tell history instead of describing the project:\n${found.join('\n')}`);
});
