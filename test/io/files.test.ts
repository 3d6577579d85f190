/**
 * writeFileAtomic / writeDirAtomic and the pre-flight checks: what they write, what they refuse, and
 * that a failure at any step leaves the folder exactly as it was (no temporary file or folder).
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs, {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  lutimesSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FileError,
  checkNewDir,
  checkWritableDir,
  checkWritableFile,
  STALE_TEMP_MS,
  setTempNameSource,
  tempPrefix,
  writeDirAtomic,
  writeFileAtomic,
} from '../../src/io/files.js';
import { changes, snapshot, stamp } from './snapshot.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'descent-files-'));

/** Run `fn`, expecting a FileError whose one-line message matches `re`. */
function refuses(fn: () => void, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FileError, `expected a FileError, got ${String(e)}`);
    assert.match(e.message, re);
    assert.equal(e.message.split('\n').length, 1, 'one line');
    return true;
  });
}

/** Replace one fs function for the length of `fn` (named imports included). */
function withFs<K extends keyof typeof fs>(name: K, impl: (typeof fs)[K], fn: () => void): void {
  type Fn = (...args: unknown[]) => unknown;
  const m = mock.method(fs as unknown as Record<string, Fn>, name, impl as unknown as Fn);
  syncBuiltinESMExports();
  try {
    fn();
  } finally {
    m.mock.restore();
    syncBuiltinESMExports();
  }
}

const errno = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

test('writeFileAtomic writes a new file and replaces an old one, keeping its permission bits, with nothing left beside', () => {
  const dir = fresh();
  const p = join(dir, 'out.json');
  writeFileAtomic(p, 'one');
  assert.equal(readFileSync(p, 'utf8'), 'one');
  chmodSync(p, 0o600);
  // As root, the file belongs to another user, who must get the new one back.
  if (process.getuid?.() === 0) chownSync(p, 65534, 65534);
  const owner = [statSync(p).uid, statSync(p).gid];
  writeFileAtomic(p, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...readFileSync(p)], [1, 2, 3]);
  assert.equal(statSync(p).mode & 0o777, 0o600);
  assert.deepEqual([statSync(p).uid, statSync(p).gid], owner);
  assert.deepEqual(readdirSync(dir), ['out.json']);
  // A large write arrives whole.
  const big = new Uint8Array(5 << 20).map((_, i) => i * 7);
  writeFileAtomic(p, big);
  assert.ok(readFileSync(p).equals(Buffer.from(big)));
  assert.deepEqual(readdirSync(dir), ['out.json']);
  rmSync(dir, { recursive: true });
});

test('targets that are not regular files are refused and left as they were', () => {
  const dir = fresh();
  const outside = join(dir, 'outside.txt');
  writeFileSync(outside, 'precious');
  symlinkSync(outside, join(dir, 'link.json'));
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.json'));
  mkdirSync(join(dir, 'folder'));
  assert.equal(spawnSync('mkfifo', [join(dir, 'fifo')]).status, 0);
  const before = snapshot(dir);
  const nullBefore = stamp('/dev/null');
  const devBefore = readdirSync('/dev').filter((n) => n.startsWith('.null.'));
  refuses(() => writeFileAtomic(join(dir, 'link.json'), 'x', '--out'), /^--out .*link\.json: is a symbolic link; refusing to replace it/);
  refuses(() => writeFileAtomic(join(dir, 'dangling.json'), 'x'), /dangling\.json: is a symbolic link/);
  refuses(() => writeFileAtomic(join(dir, 'folder'), 'x'), /folder: is a folder/);
  refuses(() => writeFileAtomic(join(dir, 'fifo'), 'x'), /fifo: is a pipe/);
  refuses(() => writeFileAtomic('/dev/null', 'x', '--save'), /^--save \/dev\/null: is a character device; refusing to replace it/);
  // /dev/stdout is a link (to /proc/self/fd/1): refused by the check, before anything is created.
  refuses(() => checkWritableFile('/dev/stdout', '--out'), /^--out \/dev\/stdout: is a symbolic link; refusing to replace it/);
  assert.deepEqual(changes(before, snapshot(dir)), []);
  assert.equal(stamp('/dev/null'), nullBefore);
  assert.ok(statSync('/dev/null').isCharacterDevice());
  assert.deepEqual(
    readdirSync('/dev').filter((n) => n.startsWith('.null.')),
    devBefore,
    'no temporary file in /dev',
  );
  assert.equal(readFileSync(outside, 'utf8'), 'precious');
  rmSync(dir, { recursive: true });
});

test('links planted at the temporary names are never followed; the writer draws another name', () => {
  const dir = fresh();
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'do not touch');
  const target = join(dir, 'model.json');
  const names = ['aaaa', 'bbbb', 'cccc', 'dddd'];
  for (const n of names.slice(0, 3)) symlinkSync(victim, `${tempPrefix(target)}${n}.tmp`);
  const before = snapshot(dir);
  let drawn = 0;
  setTempNameSource(() => names[drawn++]);
  try {
    writeFileAtomic(target, 'weights');
  } finally {
    setTempNameSource(undefined);
  }
  assert.equal(drawn, 4, 'three planted names skipped, the fourth used');
  assert.equal(readFileSync(target, 'utf8'), 'weights');
  const after = snapshot(dir);
  after.delete('model.json');
  assert.deepEqual(changes(before, after), [], 'the links and their target are unchanged');
  rmSync(dir, { recursive: true });
});

test('when every temporary name is taken, the write fails with one line and changes nothing', () => {
  const dir = fresh();
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'do not touch');
  const target = join(dir, 'model.json');
  symlinkSync(victim, `${tempPrefix(target)}same.tmp`);
  const before = snapshot(dir);
  setTempNameSource(() => 'same');
  try {
    refuses(
      () => writeFileAtomic(target, 'weights', '--save'),
      /^--save .*model\.json: cannot create a temporary file beside it \(EEXIST\)/,
    );
  } finally {
    setTempNameSource(undefined);
  }
  assert.deepEqual(changes(before, snapshot(dir)), []);
  rmSync(dir, { recursive: true });
});

test('a failed write, flush or rename removes the temporary file and keeps the old target', () => {
  const dir = fresh();
  const p = join(dir, 'out.json');
  writeFileSync(p, 'old');
  const before = snapshot(dir);
  withFs(
    'renameSync',
    () => {
      throw errno('EXDEV');
    },
    () => refuses(() => writeFileAtomic(p, 'new'), /out\.json: cannot be written \(EXDEV\)/),
  );
  assert.deepEqual(changes(before, snapshot(dir)), [], 'after a failed rename');
  withFs(
    'writeSync',
    () => {
      throw errno('ENOSPC');
    },
    () => refuses(() => writeFileAtomic(p, 'new'), /out\.json: cannot be written \(ENOSPC\)/),
  );
  assert.deepEqual(changes(before, snapshot(dir)), [], 'after a failed write');
  withFs(
    'fsyncSync',
    () => {
      throw errno('EIO');
    },
    () => refuses(() => writeFileAtomic(p, 'new'), /out\.json: cannot be written \(EIO\)/),
  );
  assert.deepEqual(changes(before, snapshot(dir)), [], 'after a failed fsync');
  rmSync(dir, { recursive: true });
});

test('a target that turns into a folder or a link while it is written is not replaced', () => {
  const dir = fresh();
  const p = join(dir, 'out.json');
  const realFsync = fs.fsyncSync;
  let swapped = false;
  withFs(
    'fsyncSync',
    (fd) => {
      realFsync(fd);
      if (!swapped) {
        swapped = true;
        symlinkSync('/dev/null', p);
      }
    },
    () => refuses(() => writeFileAtomic(p, 'new'), /out\.json: is a symbolic link; refusing to replace it/),
  );
  assert.deepEqual(readdirSync(dir), ['out.json']);
  assert.ok(fs.lstatSync(p).isSymbolicLink());
  rmSync(dir, { recursive: true });
});

test('pre-flight checks name the path and the problem in one line', () => {
  const dir = fresh();
  writeFileSync(join(dir, 'file'), '');
  refuses(() => checkWritableFile('', '--save'), /^--save: empty file name$/);
  refuses(() => checkWritableFile(join(dir, 'missing', 'x.json'), '--save'), /^--save .*x\.json: folder .*missing does not exist$/);
  refuses(() => checkWritableFile(join(dir, 'file', 'x.json'), '--save'), /^--save .*x\.json: .*file is not a folder$/);
  refuses(() => checkWritableDir(join(dir, 'file'), '--out-dir'), /^--out-dir .*file: is a regular file, not a folder$/);
  symlinkSync(join(dir, 'file'), join(dir, 'link-to-file'));
  refuses(
    () => checkWritableDir(join(dir, 'link-to-file'), '--out-dir'),
    /link-to-file: is a symbolic link that does not lead to a folder$/,
  );
  refuses(() => checkWritableDir(join(dir, 'missing', 'deeper'), '--out-dir'), /^--out-dir .*deeper: folder .*missing does not exist$/);
  refuses(() => checkNewDir(join(dir, 'file', 'deeper', 'run'), '--export-run'), /^--export-run .*run: .*file is not a folder$/);
  checkNewDir(join(dir, 'missing', 'deeper', 'run')); // parents are created
  // A link to a folder is a fine place to write into.
  mkdirSync(join(dir, 'real'));
  symlinkSync(join(dir, 'real'), join(dir, 'via-link'));
  checkWritableFile(join(dir, 'via-link', 'x.json'));
  writeFileAtomic(join(dir, 'via-link', 'x.json'), 'ok');
  assert.equal(readFileSync(join(dir, 'real', 'x.json'), 'utf8'), 'ok');
  checkWritableDir(join(dir, 'via-link'));
  checkNewDir(join(dir, 'via-link', 'run'));
  rmSync(dir, { recursive: true });
});

test('a read-only folder is refused before any work (checked as an unprivileged user)', () => {
  const dir = fresh();
  chmodSync(dir, 0o755);
  const ro = join(dir, 'ro');
  mkdirSync(ro, { mode: 0o555 });
  chmodSync(ro, 0o555);
  const files = fileURLToPath(new URL('../../src/io/files.js', import.meta.url));
  const script = `import('${files}').then((m) => { for (const f of [() => m.checkWritableFile('${ro}/x.json', '--save'), () => m.checkWritableDir('${ro}/sub', '--dir'), () => m.checkNewDir('${ro}/run', '--export-run'), () => m.writeFileAtomic('${ro}/x.json', 'x')]) { try { f(); console.log('accepted'); } catch (e) { console.log(e.message); } } })`;
  // Root may write anywhere, so the check runs as "nobody" when the test runs as root.
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', ...asUser });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^--save .*ro\/x\.json: folder .*ro is not writable$/);
  assert.match(lines[1], /^--dir .*ro\/sub: folder .*ro is not writable$/);
  assert.match(lines[2], /^--export-run .*ro\/run: folder .*ro is not writable$/);
  assert.match(lines[3], /ro\/x\.json: folder .*ro is not writable$/);
  assert.deepEqual(readdirSync(ro), []);
  rmSync(dir, { recursive: true });
});

test('writeDirAtomic builds the folder beside the target and renames it into place', () => {
  const dir = fresh();
  const run = join(dir, 'run');
  writeDirAtomic(
    run,
    [
      ['manifest.json', '{}'],
      ['init/a.f32', new Uint8Array(8)],
      ['order/epoch-1.i32', new Uint8Array(4)],
    ],
    '--export-run',
  );
  assert.deepEqual(readdirSync(dir), ['run']);
  assert.deepEqual(readdirSync(run).sort(), ['init', 'manifest.json', 'order']);
  assert.equal(statSync(join(run, 'init', 'a.f32')).size, 8);
  // Missing parents are created.
  writeDirAtomic(join(dir, 'runs', 's1'), [['x', 'y']]);
  assert.deepEqual(readdirSync(join(dir, 'runs')), ['s1']);
  // An empty folder is taken over.
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  writeDirAtomic(empty, [['x', 'y']]);
  assert.equal(readFileSync(join(empty, 'x'), 'utf8'), 'y');
  rmSync(dir, { recursive: true });
});

test('writeDirAtomic refuses a non-empty folder, a link or a bad entry, and a failure leaves no folder behind', () => {
  const dir = fresh();
  const stale = join(dir, 'stale');
  mkdirSync(stale);
  writeFileSync(join(stale, 'old.f32'), 'old');
  symlinkSync(stale, join(dir, 'link'));
  const before = snapshot(dir);
  refuses(
    () => writeDirAtomic(stale, [['x', 'y']], '--export-run'),
    /^--export-run .*stale: folder is not empty \(1 entry, e\.g\. old\.f32\); give a new or empty folder$/,
  );
  refuses(() => writeDirAtomic(join(dir, 'link'), [['x', 'y']], '--export-run'), /link: is a symbolic link, not a folder$/);
  refuses(() => writeDirAtomic(join(dir, 'new'), [['../escape', 'y']]), /entry "\.\.\/escape" is not a relative path inside the folder/);
  refuses(() => writeDirAtomic(join(dir, 'new'), [['/abs', 'y']]), /entry "\/abs" is not a relative path/);
  let n = 0;
  const realWrite = fs.writeSync;
  withFs(
    'writeSync',
    ((fd: number, buf: Uint8Array, off: number, len: number) => {
      if (++n === 2) throw errno('ENOSPC');
      return realWrite(fd, buf, off, len);
    }) as typeof fs.writeSync,
    () =>
      refuses(
        () =>
          writeDirAtomic(
            join(dir, 'new'),
            [
              ['a', 'x'],
              ['b/c', 'y'],
            ],
            '--export-run',
          ),
        /cannot be written \(ENOSPC\)/,
      ),
  );
  const realRename = fs.renameSync;
  withFs(
    'renameSync',
    ((from: string, to: string) => {
      if (to.endsWith('new')) throw errno('EXDEV');
      return realRename(from, to);
    }) as typeof fs.renameSync,
    () =>
      refuses(() => writeDirAtomic(join(dir, 'new'), [['a', 'x']], '--export-run'), /^--export-run .*new: cannot be written \(EXDEV\)$/),
  );
  assert.deepEqual(changes(before, snapshot(dir)), []);
  assert.equal(existsSync(join(dir, 'new')), false);
  rmSync(dir, { recursive: true });
});

test("a killed writer's temporary file is removed by the next write of its target once older than a minute; nothing else is", () => {
  const dir = fresh();
  const target = join(dir, 'big.json');
  const old = (Date.now() - STALE_TEMP_MS - 5_000) / 1000;
  const plant = (name: string, age = old) => {
    writeFileSync(join(dir, name), 'partial');
    utimesSync(join(dir, name), age, age);
  };
  const stale = `${tempPrefix(target).slice(dir.length + 1)}0123456789ab.tmp`;
  plant(stale);
  plant('.big.json.a1b2c3.tmp', Date.now() / 1000); // a live writer's: just written
  plant('.other.json.0123456789ab.tmp'); // another target's
  plant('.big.json.notours.tmp'); // not a name writeFileAtomic gives
  plant('.big.json.0123.tmp.bak');
  writeFileSync(join(dir, 'victim.txt'), 'do not touch');
  symlinkSync(join(dir, 'victim.txt'), join(dir, '.big.json.fedcba.tmp'));
  lutimesSync(join(dir, '.big.json.fedcba.tmp'), old, old);
  writeFileAtomic(target, 'weights');
  assert.equal(readFileSync(target, 'utf8'), 'weights');
  assert.deepEqual(readdirSync(dir).sort(), [
    '.big.json.0123.tmp.bak',
    '.big.json.a1b2c3.tmp',
    '.big.json.fedcba.tmp',
    '.big.json.notours.tmp',
    '.other.json.0123456789ab.tmp',
    'big.json',
    'victim.txt',
  ]);
  assert.equal(readFileSync(join(dir, 'victim.txt'), 'utf8'), 'do not touch');
  rmSync(dir, { recursive: true });
});

test('writes into one folder list it once per process: each later write sweeps its own stale temporary files from that listing', () => {
  const dir = fresh();
  const old = (Date.now() - STALE_TEMP_MS - 5_000) / 1000;
  const plant = (name: string, age = old) => {
    writeFileSync(join(dir, name), 'partial');
    utimesSync(join(dir, name), age, age);
  };
  plant('.a.json.0123456789ab.tmp'); // killed writers' files of two targets
  plant('.b.json.0123456789ab.tmp');
  plant('.a.json.a1b2c3.tmp', Date.now() / 1000); // a live writer's: just written
  const realReaddir = fs.readdirSync;
  let listings = 0;
  withFs(
    'readdirSync',
    ((...args: Parameters<typeof fs.readdirSync>) => {
      if (String(args[0]) === dir) listings++;
      return realReaddir(...args);
    }) as typeof fs.readdirSync,
    () => {
      writeFileAtomic(join(dir, 'a.json'), 'one');
      assert.equal(existsSync(join(dir, '.a.json.0123456789ab.tmp')), false, "a's stale file is swept by its first write");
      assert.equal(existsSync(join(dir, '.b.json.0123456789ab.tmp')), true, "b's is b's to sweep");
      for (let step = 0; step < 20; step++) writeFileAtomic(join(dir, `ckpt-${step}.dckpt`), `step ${step}`);
      writeFileAtomic(join(dir, 'b.json'), 'two');
      assert.equal(
        existsSync(join(dir, '.b.json.0123456789ab.tmp')),
        false,
        "b's stale file is swept by b's first write, from the one listing",
      );
      // the live writer's file, untouched for over a minute since: the next write of a removes it
      assert.equal(existsSync(join(dir, '.a.json.a1b2c3.tmp')), true);
      utimesSync(join(dir, '.a.json.a1b2c3.tmp'), old, old);
      writeFileAtomic(join(dir, 'a.json'), 'three');
      assert.equal(existsSync(join(dir, '.a.json.a1b2c3.tmp')), false);
    },
  );
  assert.equal(listings, 1, '23 writes into the folder, one listing of it');
  assert.deepEqual(
    readdirSync(dir)
      .filter((n) => n.endsWith('.tmp'))
      .sort(),
    [],
  );
  rmSync(dir, { recursive: true });
});
