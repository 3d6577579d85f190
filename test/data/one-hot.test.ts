/**
 * One-hot encoded CSV columns (the `oneHot` option of loadCsv, loadCsvRegression and readCsvColumns):
 * each text column becomes one 0/1 feature per category, the sorted distinct values of the training
 * file, named column_value (pandas' get_dummies); a missing cell or an unseen value is all zeros.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCsv, loadCsvRegression, MAX_ONE_HOT_CATEGORIES, oneHotNames, readCsvColumns, readCsvTable } from '../../src/data/csv.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-one-hot-');
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Rows of (x, city, y, label): the cities in an order that is not their sorted one. */
const train = file('train.csv', 'x,city,y,label\n1,Paris,10,a\n2,Berlin,20,b\n3,,30,a\n4,Oslo,40,b\n5,Berlin,50,a\n');

test('a one-hot column becomes its sorted categories as 0/1 features in its place, named column_value; a missing cell is all zeros', async () => {
  const d = await loadCsv(train, { oneHot: ['city'] });
  assert.deepEqual(d.oneHot, [{ column: 'city', categories: ['Berlin', 'Oslo', 'Paris'] }]);
  assert.deepEqual(d.featureNames, ['x', 'city_Berlin', 'city_Oslo', 'city_Paris', 'y']);
  assert.deepEqual(d.featureColumns, ['x', 'city', 'y']);
  assert.deepEqual(d.train.shape, [1, 1, 5]);
  assert.deepEqual(Array.from(d.train.images), [
    ...[1, 0, 0, 1, 10],
    ...[2, 1, 0, 0, 20],
    ...[3, 0, 0, 0, 30],
    ...[4, 0, 1, 0, 40],
    ...[5, 1, 0, 0, 50],
  ]);
  assert.deepEqual(Array.from(d.train.labels), [0, 1, 0, 1, 0]);
  // by index, and in a regression reader alike
  const r = await loadCsvRegression(train, { targets: ['y'], oneHot: [1], ignoreColumns: ['label'] });
  assert.deepEqual(r.featureNames, ['x', 'city_Berlin', 'city_Oslo', 'city_Paris']);
  assert.deepEqual(r.ignoredColumns, ['label']);
  assert.deepEqual(Array.from(r.train.images.subarray(0, 8)), [1, 0, 0, 1, 2, 1, 0, 0]);
  assert.deepEqual(Array.from(r.train.targets), [10, 20, 30, 40, 50]);
  assert.deepEqual(oneHotNames(r.oneHot[0]), ['city_Berlin', 'city_Oslo', 'city_Paris']);
});

test("categories sort as JavaScript's default sort (code units: upper case before lower, '10' before '9'), numbers as text", async () => {
  const p = file('sorting.csv', 'c,label\nb,0\nB,1\na,0\n9,1\n10,0\n_,1\n');
  const d = await loadCsv(p, { oneHot: ['c'] });
  assert.deepEqual(d.oneHot[0].categories, ['10', '9', 'B', '_', 'a', 'b']);
  assert.deepEqual(d.featureNames, ['c_10', 'c_9', 'c_B', 'c__', 'c_a', 'c_b']);
});

test("a test file takes the training file's categories: a value they lack and a missing cell are all zeros", async () => {
  const test = file('test.csv', 'x,city,y,label\n6,Rome,60,a\n7,NA,70,b\n8,Paris,80,b\n');
  const d = await loadCsv(train, { oneHot: ['city'], testPath: test });
  assert.deepEqual(d.oneHot[0].categories, ['Berlin', 'Oslo', 'Paris']);
  assert.deepEqual(Array.from(d.test!.images), [...[6, 0, 0, 0, 60], ...[7, 0, 0, 0, 70], ...[8, 0, 0, 1, 80]]);
  const r = await loadCsvRegression(train, { targets: ['y'], oneHot: ['city'], ignoreColumns: ['label'], testPath: test });
  assert.deepEqual(Array.from(r.test!.images), [6, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 1]);
});

test('the categories round-trip: a reader given the oneHot it returned encodes another file alike, in those categories only', async () => {
  const d = await loadCsv(train, { oneHot: ['city'] });
  const later = file('later.csv', 'label,y,city,x\nb,1,Oslo,2\na,3,Cairo,4\n');
  const again = await loadCsv(later, { oneHot: d.oneHot, classes: d.classes });
  assert.deepEqual(again.oneHot, d.oneHot);
  assert.deepEqual(again.featureNames, ['y', 'city_Berlin', 'city_Oslo', 'city_Paris', 'x']);
  assert.deepEqual(Array.from(again.train.images), [...[1, 0, 1, 0, 2], ...[3, 0, 0, 0, 4]]);
  // a fixed order is kept as given, not sorted
  const fixed = await loadCsv(train, { oneHot: [{ column: 'city', categories: ['Paris', 'Berlin'] }] });
  assert.deepEqual(fixed.featureNames, ['x', 'city_Paris', 'city_Berlin', 'y']);
  assert.deepEqual(Array.from(fixed.train.images.subarray(0, 8)), [1, 1, 0, 10, 2, 0, 1, 20]);
  // readCsvColumns, by name in any order, encodes the same way
  const batches = [];
  for await (const b of readCsvColumns(later, ['x', 'city', 'y'], { oneHot: d.oneHot })) batches.push(b);
  assert.equal(batches.length, 1);
  assert.deepEqual(Array.from(batches[0].values), [...[2, 0, 1, 0, 1], ...[4, 0, 0, 0, 3]]);
  await assert.rejects(async () => {
    for await (const _ of readCsvColumns(later, ['x'], { oneHot: d.oneHot }));
  }, /readCsvColumns: the one-hot column "city" is not among the names/);
  const table = await readCsvTable(train, { oneHot: ['city'], ignoreColumns: ['y'] });
  assert.deepEqual(table.oneHot, d.oneHot);
  assert.deepEqual(table.featureColumns, ['x', 'city']);
  assert.deepEqual(table.ignoredColumns, ['y']);
});

test('a one-hot column that is also the label, a target or ignored, twice, unknown or of a missing index is refused, one message each', async () => {
  await assert.rejects(
    loadCsv(train, { oneHot: ['label'] }),
    /train\.csv:1: "label" is the label column; it cannot also be one-hot encoded/,
  );
  await assert.rejects(
    loadCsvRegression(train, { targets: ['city'], oneHot: ['city'] }),
    /"city" is a target column; it cannot also be one-hot encoded/,
  );
  await assert.rejects(
    loadCsv(train, { oneHot: ['city'], ignoreColumns: ['city'] }),
    /"city" is ignored; it cannot also be one-hot encoded/,
  );
  await assert.rejects(loadCsv(train, { oneHot: ['city', 1] }), /the one-hot column "city" is given twice/);
  await assert.rejects(
    loadCsv(train, { oneHot: ['town'] }),
    /train\.csv:1: no one-hot column named "town" \(columns: "x", "city", "y", "label"\)/,
  );
  await assert.rejects(loadCsv(train, { oneHot: [9] }), /one-hot column index 9 is out of range: the header has 4 columns/);
  await assert.rejects(
    loadCsv(train, { oneHot: [{ column: 'city', categories: ['a', 'a'] }] }),
    /the category "a" of "city" is given twice/,
  );
  await assert.rejects(loadCsv(train, { oneHot: [{ column: 'city', categories: [] }] }), /categories of "city" must be a non-empty list/);
  const empty = file('empty-col.csv', 'x,c,label\n1,,a\n2,NA,b\n');
  await assert.rejects(loadCsv(empty, { oneHot: ['c'] }), /empty-col\.csv: the one-hot column "c" has no value, every cell is missing/);
  const clash = file('clash.csv', 'c_a,c,label\n1,a,x\n2,b,y\n');
  await assert.rejects(loadCsv(clash, { oneHot: ['c'] }), /clash\.csv:1: the feature name "c_a" comes twice/);
});

test(`more than ${MAX_ONE_HOT_CATEGORIES} categories in a column is refused naming the column and the count`, async () => {
  const n = MAX_ONE_HOT_CATEGORIES + 1;
  const rows = Array.from({ length: n }, (_, i) => `id${i},${i % 2}`).join('\n');
  const ids = file('ids.csv', `id,label\n${rows}\n`);
  await assert.rejects(
    loadCsv(ids, { oneHot: ['id'] }),
    new RegExp(
      `ids\\.csv: the one-hot column "id" has ${n} distinct values, more than ${MAX_ONE_HOT_CATEGORIES}; it is likely a number or an id`,
    ),
  );
  // exactly the limit is read
  const at = file('at.csv', `id,label\n${rows.split('\n').slice(0, MAX_ONE_HOT_CATEGORIES).join('\n')}\n`);
  assert.equal((await loadCsv(at, { oneHot: ['id'] })).featureNames.length, MAX_ONE_HOT_CATEGORIES);
});

test('a text cell in a numeric feature column names the oneHot option; a text target does not', async () => {
  await assert.rejects(
    loadCsv(train),
    /train\.csv:2: column 1 \("city"\): "Paris" is not a number \(a text column is one-hot encoded by the option oneHot: \["city"\], or left out by ignoreColumns\)$/,
  );
  await assert.rejects(
    loadCsvRegression(train, { targets: ['label'], oneHot: ['city'] }),
    /train\.csv:2: column 3 \("label"\): "a" is not a number$/,
  );
});
