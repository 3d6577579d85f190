/**
 * A CSV file's free-text column (loadCsvText, readCsvTexts): read as strings beside the label, every
 * other column ignored; a feature column besides the text is refused naming it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCsv, loadCsvText, readCsvTexts, TextColumnsError } from '../../src/data/csv.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-csv-text-');
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const reviews = file(
  'reviews.csv',
  'id,review,stars,label\n1,"Great, really great!",5,pos\n2,,1,neg\n3,NA,2,neg\n4,"bad ""bad"" film",1,neg\n',
);

test('the text column is read as strings (a missing cell is empty), labels indexed as loadCsv indexes them', async () => {
  const d = await loadCsvText(reviews, { text: 'review', ignoreColumns: ['id', 'stars'] });
  assert.deepEqual(d.train.texts, ['Great, really great!', '', '', 'bad "bad" film']);
  assert.deepEqual(d.classes, ['neg', 'pos']);
  assert.deepEqual(Array.from(d.train.labels), [1, 0, 0, 0]);
  assert.equal(d.textColumn, 'review');
  assert.deepEqual(d.ignoredColumns, ['id', 'stars']);
  assert.equal(d.labelName, 'label');
  // by index, with a test file
  const t = await loadCsvText(reviews, { text: 1, ignoreColumns: [0, 2], testPath: reviews });
  assert.deepEqual(t.test?.texts, t.train.texts);
});

test('a feature column besides the text is refused naming it; the text cannot be the label or ignored', async () => {
  await assert.rejects(
    loadCsvText(reviews, { text: 'review', ignoreColumns: ['id'] }),
    (e: unknown) => e instanceof TextColumnsError && e.others.join() === 'stars' && /"stars" is a feature column/.test(e.message),
  );
  await assert.rejects(loadCsvText(reviews, { text: 'label', ignoreColumns: ['id', 'stars', 'review'] }), /"label" is the label column/);
  await assert.rejects(loadCsvText(reviews, { text: 'review', ignoreColumns: ['id', 'stars', 'review'] }), /is ignored/);
  await assert.rejects(loadCsv(reviews, { text: 'review' }), /loadCsvText/);
});

test('readCsvTexts reads one column by name in batches of rows', async () => {
  const batches = [];
  for await (const b of readCsvTexts(reviews, 'review', { batchRows: 3 })) batches.push(b);
  assert.deepEqual(
    batches.map((b) => [b.texts, b.start, b.rows]),
    [
      [['Great, really great!', '', ''], 0, 3],
      [['bad "bad" film'], 3, 1],
    ],
  );
  await assert.rejects(async () => {
    for await (const _ of readCsvTexts(reviews, 'comment')) void _;
  }, /no column "comment"/);
});
