/**
 * Crash-safe file writes (Node-only). Every file descent writes goes through `writeFileAtomic`:
 * the bytes go to a fresh temporary file beside the target, created exclusively (O_EXCL, so a
 * planted file or symbolic link at that name is never opened) without following links, flushed
 * with fsync and renamed over the target, and the folder is flushed so the rename itself survives a
 * power cut. A reader therefore sees the old file or the new one, never half of one, and a target
 * that is not a regular file (a device, a folder, a symbolic link) is refused instead of replaced.
 * Whatever fails after the temporary file exists, it is removed before the error is thrown; a
 * process killed between creating it and the rename can leave a `.<name>.<random>.tmp` beside the
 * target, never a partial target; the next write of that target removes such files once they are
 * older than a minute (a live writer's file is newer: each write updates its modification time),
 * the folder listed once per process for it (sweepStaleTemps).
 * `writeDirAtomic` does the same for a folder of files (built beside the target, renamed into place).
 * `checkWritableFile` / `checkWritableDir` / `checkNewDir` run the same checks before a long
 * computation, so a bad output path fails in the first second, not after training.
 */
import {
  accessSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';

/** A file or folder that cannot be written as asked; the message names the path and the reason. */
export class FileError extends Error {
  override name = 'FileError';
}

function kindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isFile()) return 'a regular file';
  return 'an unknown kind of file';
}

const codeOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** lstat (the path itself, links not followed); null when absent. */
function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    // ENOTDIR: a folder on the way is a file, so nothing is there (the parent check says why).
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw new FileError(`${path}: cannot be examined (${codeOf(e)})`);
  }
}

function label(what: string | undefined, path: string): string {
  return what ? `${what} ${path}` : path;
}

/**
 * The folder that will hold a new entry: it must exist, be a folder (a link to a folder is the
 * user's choice of place and is followed) and be writable.
 */
function checkParent(parent: string, what: string | undefined, path: string): void {
  let st: Stats;
  try {
    st = statSync(parent);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError(`${label(what, path)}: folder ${parent} does not exist`);
    if (code === 'ENOTDIR') throw new FileError(`${label(what, path)}: ${parent} is not a folder`);
    throw new FileError(`${label(what, path)}: folder ${parent} cannot be examined (${codeOf(e)})`);
  }
  if (!st.isDirectory()) throw new FileError(`${label(what, path)}: ${parent} is not a folder`);
  try {
    accessSync(parent, constants.W_OK | constants.X_OK);
  } catch {
    throw new FileError(`${label(what, path)}: folder ${parent} is not writable`);
  }
}

/**
 * Check, before any work, that `path` can be written by `writeFileAtomic`: its folder exists, is a
 * folder and is writable, and the path itself is absent or a regular file. `what` names it in the
 * message (for example "--save").
 */
export function checkWritableFile(path: string, what?: string): void {
  if (path === '') throw new FileError(`${what ?? 'output path'}: empty file name`);
  const st = lstatOrNull(path);
  if (st && !st.isFile()) throw new FileError(`${label(what, path)}: is ${kindOf(st)}; refusing to replace it with a regular file`);
  checkParent(dirname(resolve(path)), what, path);
}

/**
 * Check that `dir` is a writable folder (a link to one is followed: files are written inside it, each
 * by `writeFileAtomic`), or absent with a writable parent (it will be created).
 */
export function checkWritableDir(dir: string, what?: string): void {
  if (dir === '') throw new FileError(`${what ?? 'output folder'}: empty folder name`);
  const st = lstatOrNull(dir);
  if (st) {
    if (st.isSymbolicLink()) {
      let to: Stats | null = null;
      try {
        to = statSync(dir);
      } catch {
        // a link to nothing
      }
      if (!to?.isDirectory()) throw new FileError(`${label(what, dir)}: is a symbolic link that does not lead to a folder`);
    } else if (!st.isDirectory()) throw new FileError(`${label(what, dir)}: is ${kindOf(st)}, not a folder`);
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch {
      throw new FileError(`${label(what, dir)}: folder is not writable`);
    }
    return;
  }
  checkParent(dirname(resolve(dir)), what, dir);
}

/**
 * Check that `writeDirAtomic` can create `dir`: it is absent or an empty folder (never a link), and
 * its parent is a writable folder, or absent (created by `writeDirAtomic`) below a writable folder.
 * A folder with files in it is refused, not mixed with new ones.
 */
export function checkNewDir(dir: string, what?: string): void {
  if (dir === '') throw new FileError(`${what ?? 'output folder'}: empty folder name`);
  const st = lstatOrNull(dir);
  if (st) {
    if (!st.isDirectory()) throw new FileError(`${label(what, dir)}: is ${kindOf(st)}, not a folder`);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (e) {
      throw new FileError(`${label(what, dir)}: folder cannot be read (${codeOf(e)})`);
    }
    if (entries.length > 0) {
      throw new FileError(
        `${label(what, dir)}: folder is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries.sort()[0]}); give a new or empty folder`,
      );
    }
  }
  checkParent(nearestExisting(dirname(resolve(dir))), what, dir);
}

/** `path` or its nearest ancestor that exists (as anything: checkParent says if it is no folder). */
function nearestExisting(path: string): string {
  let p = path;
  while (lstatOrNull(p) === null && dirname(p) !== p) p = dirname(p);
  return p;
}

/** The temporary names `writeFileAtomic` uses for `path` start with this prefix (and end in .tmp). */
export function tempPrefix(path: string): string {
  const abs = resolve(path);
  return join(dirname(abs), `.${basename(abs)}.`);
}

const randomName = (): string => randomBytes(6).toString('hex');
let nameSource: () => string = randomName;

/**
 * Replace the source of the random part of temporary names (tests use it to know, and plant
 * links at, the names a writer will try); `undefined` restores the random source.
 */
export function setTempNameSource(source: (() => string) | undefined): void {
  nameSource = source ?? randomName;
}

/** Temporary names are tried this many times when one exists already. */
const ATTEMPTS = 16;

/** Create a fresh temporary entry beside `path` with `make` (which throws EEXIST when taken). */
function createTemp<T>(path: string, what: string | undefined, kind: string, make: (tmp: string) => T): [string, T] {
  for (let attempt = 1; ; attempt++) {
    const tmp = `${tempPrefix(path)}${nameSource()}.tmp`;
    try {
      return [tmp, make(tmp)];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < ATTEMPTS) continue;
      throw new FileError(`${label(what, path)}: cannot create a temporary ${kind} beside it (${codeOf(e)})`);
    }
  }
}

/**
 * A temporary file of a target untouched this long was left by a killed writer: a live one writes
 * it within milliseconds to seconds, each write updating its modification time, then renames it.
 */
export const STALE_TEMP_MS = 60_000;

/** A name writeFileAtomic gives a temporary file: `.<target name>.<hex>.tmp`. */
const TEMP_NAME = /^\..+\.[0-9a-f]+\.tmp$/;

/**
 * Per folder (absolute path), the temporary-looking names it held when this process first swept it;
 * each later sweep of a target there takes its own names from this list instead of reading the
 * folder again, so a run writing a checkpoint every few steps lists the folder once.
 */
const tempsSeen = new Map<string, Set<string>>();

/**
 * Remove the temporary files of `path` (`.<name>.<hex>.tmp`, regular files only, never a link) not
 * modified for STALE_TEMP_MS; returns their paths. The folder is listed once per process, at its
 * first sweep: the files a killed writer left before this process started are there, and this
 * process removes its own on failure. One still fresh then (a live writer's) is looked at again by
 * each later write of its target and removed once stale; one a writer killed later leaves is the
 * next process's to remove. Best effort: one that cannot be removed stays.
 */
export function sweepStaleTemps(path: string, now = Date.now()): string[] {
  const prefix = tempPrefix(path);
  const dir = dirname(prefix);
  const start = basename(prefix);
  const removed: string[] = [];
  let seen = tempsSeen.get(dir);
  if (!seen) {
    try {
      seen = new Set(readdirSync(dir).filter((n) => TEMP_NAME.test(n)));
    } catch {
      return removed;
    }
    tempsSeen.set(dir, seen);
  }
  for (const n of seen) {
    if (!n.startsWith(start) || !/^[0-9a-f]+\.tmp$/.test(n.slice(start.length))) continue;
    const p = join(dir, n);
    try {
      const st = lstatSync(p);
      if (!st.isFile()) seen.delete(n);
      else if (now - st.mtimeMs > STALE_TEMP_MS) {
        unlinkSync(p);
        seen.delete(n);
        removed.push(p);
      }
    } catch (e) {
      // gone already (renamed by its writer, or removed): not looked at again
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') seen.delete(n);
    }
  }
  return removed;
}

/** Flush a folder's entries (the rename) to disk; file systems that cannot do it are skipped. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a folder (EINVAL, EISDIR); the data itself is flushed.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Write `data` to `path` so that readers see the old file or the new one, never half of it, and so
 * that nothing but `path` (and, until the rename, a fresh temporary file beside it) is ever
 * created, followed or replaced. An existing target keeps its permission bits (and, when the
 * writer may set them, its owner and group).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, what?: string): void {
  checkWritableFile(path, what);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const [tmp, fd0] = createTemp(path, what, 'file', (t) => openSync(t, flags, 0o666));
  let fd: number | undefined = fd0;
  try {
    const old = lstatOrNull(path);
    if (old?.isFile()) {
      fchmodSync(fd, old.mode & 0o777);
      // Root replacing a user's file gives it back to that user; others cannot give files away.
      if (old.uid !== process.getuid?.() || old.gid !== process.getgid?.()) {
        try {
          fchownSync(fd, old.uid, old.gid);
        } catch {
          // EPERM: the new file keeps the writer's ownership
        }
      }
    }
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    // The target may have changed since the check: never rename over anything but a regular file.
    const st = lstatOrNull(path);
    if (st && !st.isFile()) throw new FileError(`${label(what, path)}: is ${kindOf(st)}; refusing to replace it with a regular file`);
    renameSync(tmp, path);
  } catch (e) {
    try {
      if (fd !== undefined) closeSync(fd);
    } catch {
      // the write already failed; the temporary file is removed below all the same
    }
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed
    }
    if (e instanceof FileError) throw e;
    throw new FileError(`${label(what, path)}: cannot be written (${codeOf(e)})`);
  }
  fsyncDir(dirname(resolve(path)));
  sweepStaleTemps(path);
}

/** A relative path inside the folder `writeDirAtomic` builds: no `..`, not absolute, not empty. */
function checkEntry(name: string, what: string | undefined, dir: string): string {
  const n = normalize(name);
  if (name === '' || isAbsolute(name) || n === '.' || n === '..' || n.startsWith(`..${sep}`)) {
    throw new FileError(`${label(what, dir)}: entry "${name}" is not a relative path inside the folder`);
  }
  return n;
}

/**
 * Write a folder of files at once: `files` (relative path → contents) are written into a fresh
 * temporary folder beside `dir`, which is then renamed to `dir`. `dir` must be absent or an empty
 * folder (`checkNewDir`); it holds all the files or, if anything fails or the process is killed
 * before the rename, does not exist (an existing empty folder stays as it was).
 */
export function writeDirAtomic(dir: string, files: Iterable<readonly [string, string | Uint8Array]>, what?: string): void {
  checkNewDir(dir, what);
  const entries = [...files].map(([name, data]) => [checkEntry(name, what, dir), data] as const);
  try {
    mkdirSync(dirname(resolve(dir)), { recursive: true });
  } catch (e) {
    throw new FileError(`${label(what, dir)}: cannot create its parent folder (${codeOf(e)})`);
  }
  const [tmp] = createTemp(dir, what, 'folder', (t) => mkdirSync(t, { mode: 0o777 }));
  try {
    for (const [name, data] of entries) {
      const sub = dirname(join(tmp, name));
      if (sub !== tmp) mkdirSync(sub, { recursive: true });
      writeFileAtomic(join(tmp, name), data, what);
    }
    fsyncDir(tmp);
    checkNewDir(dir, what);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      throw new FileError(`${label(what, dir)}: cannot be written (${codeOf(e)})`);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  fsyncDir(dirname(resolve(dir)));
}

/** Why a file could not be read, for a message after its path: 'file not found', 'is a folder, expected EXPECTED', or the system's code. */
export function readFailure(e: unknown, expected: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return `is a folder, expected ${expected}`;
  return `cannot be read (${code ?? (e as Error).message})`;
}
