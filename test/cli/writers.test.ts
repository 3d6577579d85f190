/**
 * Every CLI writer (train --save, augment --out, compare --export-run), run as root against hostile
 * targets: a character device, a symbolic link to a file outside, a folder with a link inside, and a
 * fresh path whose temporary names (the ones the writer will draw, and the `<target>.tmp-<pid>` a
 * naive writer uses) are symbolic links to a file outside. Nothing outside the intended output may
 * change: the link targets keep their contents and mtimes, the device stays a device, and no
 * temporary file or folder is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { setTempNameSource, tempPrefix } from '../../src/io/files.js';
import { changes, snapshot, stamp } from '../io/snapshot.js';

const TRAIN = [
  '--data',
  'embedded',
  '--model',
  'logreg',
  '--limit',
  '64',
  '--test-limit',
  '32',
  '--epochs',
  '1',
  '--batch-size',
  '32',
  '--backend',
  'reference',
];

/**
 * The writers under test: each writes to `target` and names it in its messages by this flag;
 * `checkedFirst`: the target is checked before any work (the output is empty when refused). For
 * train --save only the write is under test here; its pre-flight check belongs to the training
 * command's own tests.
 */
const writers: {
  name: string;
  flag: string;
  folder: boolean;
  checkedFirst: boolean;
  run: (target: string) => Promise<{ code: number; out: string; err: string }>;
}[] = [
  { name: 'train --save', flag: '', folder: false, checkedFirst: false, run: (t) => cli('train', ...TRAIN, '--save', t) },
  {
    name: 'augment --out',
    flag: '--out',
    folder: false,
    checkedFirst: true,
    run: (t) => cli('augment', '--rows', '2', '--per', '1', '--zoom', '1', '--out', t),
  },
  {
    name: 'compare --export-run',
    flag: '--export-run',
    folder: true,
    checkedFirst: true,
    run: (t) => cli('compare', ...TRAIN, '--optimizers', 'sgd', '--export-run', t),
  },
];

/** The planted names the source hands out first, then fresh ones. */
const PLANTED = ['planted0', 'planted1', 'planted2'];

/**
 * A character device to aim at. As root, a null device of our own (mknod 1:3 in the test's folder):
 * a writer that wrongly replaced it would replace only this copy, never the system's /dev/null.
 * Otherwise /dev/null itself, which an unprivileged writer cannot replace. (The system's /dev/null
 * is not aimed at as root: a broken writer would replace it for every process on the machine.)
 */
function characterDevice(dir: string): string {
  if (process.getuid?.() !== 0) return '/dev/null';
  const p = join(dir, 'null');
  const r = spawnSync('mknod', [p, 'c', '1', '3']);
  assert.equal(r.status, 0, `mknod: ${r.stderr}`);
  return p;
}

/** A fresh folder with work/ (where the writer aims) and outside/victim.txt (which must never change). */
function scene(): { root: string; work: string; outside: string; victim: string } {
  const root = mkdtempSync(join(tmpdir(), 'descent-writers-'));
  const work = join(root, 'work');
  const outside = join(root, 'outside');
  mkdirSync(work);
  mkdirSync(outside);
  const victim = join(outside, 'victim.txt');
  writeFileSync(victim, 'do not touch');
  utimesSync(victim, 1e9, 1e9);
  return { root, work, outside, victim };
}

for (const w of writers) {
  test(`${w.name}: a device, a link to a file outside or a non-empty folder is refused in one line, and nothing changes`, async () => {
    const { root, work, outside, victim } = scene();
    const dev = characterDevice(work);
    symlinkSync(victim, join(work, 'link'));
    symlinkSync(outside, join(work, 'link-to-folder'));
    writeFileSync(join(work, 'plain'), 'a regular file');
    // A folder holding a link where the export writes its first weight file.
    mkdirSync(join(work, 'stale', 'init'), { recursive: true });
    symlinkSync(victim, join(work, 'stale', 'init', '0.weight.f32'));
    const devBefore = stamp(dev);
    const nullBefore = stamp('/dev/null');
    const before = snapshot(root);
    const cases: [string, RegExp][] = [
      [
        dev,
        w.folder
          ? /null: is a character device, not a folder$/
          : /null: is a character device; refusing to replace it with a regular file$/,
      ],
      [join(work, 'link'), /link: is a symbolic link/],
      [join(work, 'link-to-folder'), /link-to-folder: is a symbolic link/],
    ];
    if (w.folder) cases.push([join(work, 'stale'), /stale: folder is not empty \(1 entry, e\.g\. init\); give a new or empty folder$/]);
    // A place that cannot exist: below a regular file (and, for a file, in a missing folder).
    cases.push([join(work, 'plain', 'x'), /x: .*plain is not a folder$/]);
    if (!w.folder) cases.push([join(work, 'missing', 'x'), /x: folder .*missing does not exist$/]);
    for (const [target, re] of cases) {
      const r = await w.run(target);
      assert.equal(r.code, 1, `${target}: exit 1 (${r.err})`);
      assert.match(r.err, re);
      assert.match(r.err, new RegExp(`^descent \\w+: ${w.flag}`));
      assert.equal(r.err.split('\n').length, 1, 'one line');
      if (w.checkedFirst) assert.equal(r.out, '', `${target}: refused before any work`);
    }
    assert.deepEqual(changes(before, snapshot(root)), []);
    assert.equal(stamp(dev), devBefore);
    assert.equal(stamp('/dev/null'), nullBefore);
    assert.ok(lstatSync('/dev/null').isCharacterDevice());
    assert.equal(readFileSync(victim, 'utf8'), 'do not touch');
    rmSync(root, { recursive: true });
  });

  test(`${w.name}: links planted at every temporary name are left alone and the output is written`, async () => {
    const { root, work, victim } = scene();
    const target = join(work, w.folder ? 'run' : 'out');
    // The names a naive writer uses, and the first names this writer will draw.
    const planted = [`${target}.tmp-${process.pid}`, ...PLANTED.map((n) => `${tempPrefix(target)}${n}.tmp`)];
    for (const p of planted) symlinkSync(victim, p);
    const before = snapshot(root);
    let drawn = 0;
    setTempNameSource(() => (drawn < PLANTED.length ? PLANTED[drawn++] : `fresh${drawn++}`));
    let r;
    try {
      r = await w.run(target);
    } finally {
      setTempNameSource(undefined);
    }
    assert.equal(readFileSync(victim, 'utf8'), 'do not touch', 'the file outside is unchanged');
    for (const p of planted) assert.ok(lstatSync(p).isSymbolicLink(), `${p} is still the planted link`);
    assert.equal(r.code, 0, r.err);
    assert.ok(drawn > PLANTED.length, 'the planted names were drawn and skipped');
    const after = snapshot(root);
    // The only change is the output itself.
    const added = changes(before, after);
    assert.ok(
      added.length > 0 && added.every((c) => c.startsWith(`work/${w.folder ? 'run' : 'out'}`) && c.includes('(absent) →')),
      added.join('\n'),
    );
    const st = lstatSync(target);
    assert.ok(w.folder ? st.isDirectory() : st.isFile(), 'the output is a real file or folder, not a link');
    if (w.folder) assert.deepEqual(readdirSync(target).sort(), ['init', 'manifest.json', 'order', 'results.json']);
    rmSync(root, { recursive: true });
  });
}
