/** The Node checkpoint folder: names that sort by step, --keep, temporary files never read and swept, fallback; fitEnsemble. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkpointDir,
  loadLatestCheckpoint,
  listCheckpoints,
  checkpointName,
  CheckpointError,
  fitEnsemble,
  fitRun,
  getModel,
  SGD,
  DataLoader,
  Rng,
  loadEmbedded,
  type Checkpoint,
} from '../../src/node.js';
import { tempDir } from '../tmp-dir.js';

const data = loadEmbedded();
const train = data.train.slice(0, 120);

function run(dir: string, epochs: number, keep?: number): void {
  const rng = new Rng(1);
  const model = getModel('logreg').build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10 });
  const sink = checkpointDir(dir, { keep });
  fitRun({
    model,
    optimizer: new SGD(model.namedParameters(), { lr: 0.1 }),
    train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
    epochs,
    rng,
    checkpoint: { save: (c: Checkpoint) => sink.save(c), everySteps: 1 },
  });
}

test('names sort by step; keep K deletes only older checkpoints; other files are left alone', () => {
  const dir = tempDir('descent-ckdir-');
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  writeFileSync(join(dir, 'ckpt-7.dckpt'), 'not the pattern');
  run(dir, 4, 2);
  assert.equal(checkpointName(12), 'ckpt-000000000012.dckpt');
  assert.deepEqual(readdirSync(dir).sort(), ['ckpt-000000000011.dckpt', 'ckpt-000000000012.dckpt', 'ckpt-7.dckpt', 'notes.txt']);
  assert.deepEqual(listCheckpoints(dir), [join(dir, 'ckpt-000000000012.dckpt'), join(dir, 'ckpt-000000000011.dckpt')]);
});

test('temporary files are never taken for checkpoints and are swept when the folder is opened for writing; damaged files fall back', () => {
  const dir = tempDir('descent-ckdir-');
  run(dir, 1);
  const names = readdirSync(dir).sort();
  assert.deepEqual(names, ['ckpt-000000000001.dckpt', 'ckpt-000000000002.dckpt', 'ckpt-000000000003.dckpt']);
  // a killed writer's half file, with a higher step than any complete one
  const half = readFileSync(join(dir, names[2])).subarray(0, 500);
  writeFileSync(join(dir, '.ckpt-000000000099.dckpt.0123abcd.tmp'), half);
  mkdirSync(join(dir, '.ckpt-000000000098.dckpt.00ff.tmp'));
  const got = loadLatestCheckpoint(dir);
  assert.equal(got.path, join(dir, names[2]));
  assert.deepEqual(got.refused, []);
  // damage the newest: the previous one is used and the refusal names the file
  writeFileSync(join(dir, names[2]), half);
  const fb = loadLatestCheckpoint(dir);
  assert.equal(fb.path, join(dir, names[1]));
  assert.equal(fb.checkpoint.step, 2);
  assert.equal(fb.refused.length, 1);
  assert.match(fb.refused[0].reason, new RegExp(`^${join(dir, names[2])}: not a usable checkpoint \\(`));
  checkpointDir(dir);
  assert.ok(!readdirSync(dir).includes('.ckpt-000000000099.dckpt.0123abcd.tmp'), 'the stale temporary file is swept');
  assert.ok(readdirSync(dir).includes('.ckpt-000000000098.dckpt.00ff.tmp'), 'a folder is not removed');
  for (const n of names) writeFileSync(join(dir, n), 'x');
  assert.throws(
    () => loadLatestCheckpoint(dir),
    (e: unknown) =>
      e instanceof CheckpointError &&
      e.message.startsWith(`${dir}: none of the 3 checkpoint files is usable; newest: ${join(dir, names[2])}:`),
  );
});

test('fitEnsemble trains each member with its own options and reports the ensemble', () => {
  const test_ = new DataLoader(data.test.slice(0, 100), { batchSize: 100, flatten: true });
  const seen: number[] = [];
  const r = fitEnsemble({
    members: 2,
    test: test_,
    member: (i) => {
      const rng = new Rng(10 + i);
      const model = getModel('logreg').build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10 });
      return {
        model,
        optimizer: new SGD(model.namedParameters(), { lr: 0.1 }),
        train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
        epochs: 2,
        rng,
      };
    },
    onMemberEnd: (i, res) => seen.push(i, res.records.length),
  });
  assert.deepEqual(seen, [0, 2, 1, 2]);
  assert.equal(r.models.length, 2);
  assert.equal(r.report!.members.length, 2);
  assert.notDeepEqual(r.models[0].namedParameters()[0][1].data, r.models[1].namedParameters()[0][1].data);
  assert.ok(r.report!.average > 0.3);
});
