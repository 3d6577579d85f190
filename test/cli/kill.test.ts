/**
 * Crash safety: a training process that checkpoints every step is killed with SIGKILL at 50 seeded
 * random moments, each after its first checkpoint exists, each time resumed from its checkpoint
 * folder by the next process. After every kill
 * each file named as a checkpoint must read back complete and checksum-valid (a half-written one
 * must never carry that name), the newest must not go back, and the run pieced together from all
 * the pieces must end bit-identical to the same run never interrupted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/tensor/rng.js';
import { readCheckpoint } from '../../src/io/checkpoints.js';
import { tempDir } from '../tmp-dir.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const base = [
  '--model',
  'logreg',
  '--optimizer',
  'adam',
  '--lr',
  '0.01',
  '--data',
  'embedded',
  '--limit',
  '300',
  '--test-limit',
  '100',
  '--batch-size',
  '10',
  '--backend',
  'reference',
  '--seed',
  '9',
];

/**
 * Run the CLI; with `killAfterMs`, SIGKILL it that long after it starts training (its "model:" line)
 * and `armed()` holds, whichever comes later. A run that does not get armed within 20 s is killed
 * unarmed, so a writer that never names a checkpoint fails the test's checks instead of hanging it.
 */
function run(
  args: string[],
  killAfterMs?: number,
  armed: () => boolean = () => true,
): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    let started = 0;
    const arm = () => {
      if (timer || (!armed() && Date.now() - started < 20_000)) return false;
      timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      return true;
    };
    child.stdout.on('data', (d) => {
      out += d;
      if (killAfterMs === undefined || timer || poll || !/^model: /m.test(out)) return;
      started = Date.now();
      if (!arm())
        poll = setInterval(() => {
          if (arm()) clearInterval(poll);
        }, 2);
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, signal, out, err });
    });
  });
}

const isCheckpoint = (f: string) => /^ckpt-\d{12}\.dckpt$/.test(f);
const stepOf = (name: string) => Number(name.slice(5, 17));

test('50 SIGKILLs while checkpointing: every named checkpoint is complete, and the pieced-together run equals the uninterrupted one', {
  timeout: 120_000,
}, async () => {
  const t0 = Date.now();
  const dir = tempDir('descent-kill-');
  const ck = join(dir, 'ck');
  const rng = new Rng(2026);
  let newest = -1,
    killedDuringWrite = 0,
    resumedSeen = 0,
    resumes = 0;
  for (let k = 0; k < 50; k++) {
    const args =
      newest < 0
        ? ['train', ...base, '--epochs', '1000', '--checkpoint-dir', ck, '--checkpoint-every', '1steps', '--keep', '3']
        : ['train', '--resume', ck];
    if (newest >= 0) resumes++;
    const delay = rng.int(250);
    // The kill timer starts once a named checkpoint exists, so every kill leaves one to resume from.
    const r = await run(args, delay, () => existsSync(ck) && readdirSync(ck).some(isCheckpoint));
    assert.equal(r.signal, 'SIGKILL', `run ${k} ended by itself: ${r.err}`);
    const m = /^resuming from (\S+): /m.exec(r.out);
    if (m) {
      resumedSeen++;
      assert.equal(
        m[1],
        join(ck, `ckpt-${String(newest).padStart(12, '0')}.dckpt`),
        `run ${k} resumed from the newest complete checkpoint`,
      );
    }
    assert.doesNotMatch(r.err, /not a usable checkpoint/, `run ${k} met a broken checkpoint: ${r.err}`);
    const files = existsSync(ck) ? readdirSync(ck) : [];
    if (files.some((f) => f.endsWith('.tmp'))) killedDuringWrite++;
    const names = files.filter(isCheckpoint).sort();
    for (const n of names) {
      const c = readCheckpoint(join(ck, n));
      assert.equal(c.step, stepOf(n), `${n} holds step ${c.step}`);
    }
    assert.ok(names.length > 0, `run ${k} was killed with no named checkpoint in ${ck}`);
    const top = stepOf(names[names.length - 1]);
    assert.ok(top >= newest, `the newest checkpoint went back from step ${newest} to ${top}`);
    newest = top;
  }
  assert.ok(newest > 0, 'training made progress between kills');
  assert.ok(killedDuringWrite >= 1, 'no kill landed while a checkpoint was being written (no temporary file was ever left)');
  assert.equal(resumes, 49, 'every run after the first was given --resume');
  assert.equal(resumedSeen, resumes, 'every run given --resume resumed');
  // Finish the run: up to the epoch after the newest checkpoint, and the same run uninterrupted.
  const last = readCheckpoint(join(ck, `ckpt-${String(newest).padStart(12, '0')}.dckpt`));
  const epochs = String(last.epoch + 1);
  const fin = await run(['train', '--resume', ck, '--epochs', epochs, '--save', join(dir, 'pieced.json')]);
  assert.equal(fin.code, 0, fin.err);
  const ref = await run(['train', ...base, '--epochs', epochs, '--save', join(dir, 'ref.json')]);
  assert.equal(ref.code, 0, ref.err);
  assert.equal(
    readFileSync(join(dir, 'pieced.json'), 'utf8'),
    readFileSync(join(dir, 'ref.json'), 'utf8'),
    'the pieced-together run differs from the uninterrupted one',
  );
  assert.deepEqual(
    readdirSync(ck).filter((f) => f.endsWith('.tmp')),
    [],
    'stale temporary files are swept when the folder is opened again',
  );
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(
    `# 50 kills in ${seconds.toFixed(1)} s, ${killedDuringWrite} left a temporary file, run reached step ${newest} (epoch ${epochs})\n`,
  );
});
