/**
 * The fingerprint of users' own data that a checkpoint stores and --resume checks: computed once
 * per run (the resume check and the checkpoints the resumed run writes share it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { fingerprintsComputed } from '../../src/cli/data.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'descent-fp-'));

function csvFile(dir: string): string {
  const rows = ['x,y,label'];
  for (let i = 0; i < 60; i++) rows.push(`${(i % 7) / 7},${(i % 5) / 5},${i % 3}`);
  const path = join(dir, 'd.csv');
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

/** The fingerprints computed while `run` runs. */
async function hashes(run: () => Promise<{ code: number; err: string }>): Promise<number> {
  const before = fingerprintsComputed.count;
  const r = await run();
  assert.equal(r.code, 0, r.err);
  return fingerprintsComputed.count - before;
}

test('a run hashes each data file once: a resumed run checks the data and stores the same fingerprint in its checkpoints', async () => {
  const dir = tmp();
  const csv = csvFile(dir);
  const testCsv = join(dir, 't.csv');
  writeFileSync(testCsv, `x,y,label\n0.5,0.5,1\n0.25,0.75,2\n0,1,0\n`);
  const ck = join(dir, 'ck');
  const args = ['--data', csv, '--test-data', testCsv, '--batch-size', '20', '--checkpoint-dir', ck, '--json'];
  assert.equal(await hashes(() => cli('train', ...args, '--epochs', '1')), 2, 'the first run: --data and --test-data');
  assert.equal(
    await hashes(() => cli('train', '--resume', ck, '--epochs', '2', '--json')),
    2,
    'resumed: each file once, not once to check and again to store',
  );
  // through the averaging path (--swa goes through runEnsembleTrain) likewise
  const ck2 = join(dir, 'ck2');
  const swa = ['--data', csv, '--val-split', '0.25', '--batch-size', '20', '--swa', '1', '--checkpoint-dir', ck2, '--json'];
  assert.equal(await hashes(() => cli('train', ...swa, '--epochs', '1')), 1);
  assert.equal(await hashes(() => cli('train', '--resume', ck2, '--epochs', '2', '--json')), 1);
  // --ensemble N stores nothing (it takes no --checkpoint-dir): its members hash nothing
  assert.equal(
    await hashes(() =>
      cli('train', '--data', csv, '--val-split', '0.25', '--batch-size', '20', '--epochs', '1', '--ensemble', '3', '--json'),
    ),
    0,
  );
});
