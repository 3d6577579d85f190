/**
 * Crash-safe file writes (Node-only). Every file descent writes goes through `writeFileAtomic`:
 * the bytes go to a fresh temporary file beside the target, created exclusively (O_EXCL, so a
 * planted file or symbolic link at that name is never opened) without following links, flushed
 * with fsync and renamed over the target, and the folder is flushed so the rename itself survives a
 * power cut. A reader therefore sees the old file or the new one, never half of one, and a target
 * that is not a regular file (a device, a folder, a symbolic link) is refused instead of replaced.
 * `checkWritableFile` / `checkWritableDir` run the same checks before a long computation, so a
 * bad output path fails in the first second, not after training.
 */
import { closeSync, constants, fsyncSync, lstatSync, openSync, renameSync, unlinkSync, writeSync, accessSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

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
  return 'not a regular file';
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new FileError(`${path}: cannot be examined (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function label(what: string | undefined, path: string): string {
  return what ? `${what} ${path}` : path;
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
  const dir = dirname(resolve(path));
  const dst = lstatOrNull(dir);
  if (!dst) throw new FileError(`${label(what, path)}: folder ${dir} does not exist`);
  if (!dst.isDirectory()) throw new FileError(`${label(what, path)}: ${dir} is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new FileError(`${label(what, path)}: folder ${dir} is not writable`);
  }
}

/**
 * Check that `dir` is a writable folder, or absent with a writable parent (it will be created).
 */
export function checkWritableDir(dir: string, what?: string): void {
  if (dir === '') throw new FileError(`${what ?? 'output folder'}: empty folder name`);
  const st = lstatOrNull(dir);
  if (st) {
    if (!st.isDirectory()) throw new FileError(`${label(what, dir)}: is ${kindOf(st)}, not a folder`);
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new FileError(`${label(what, dir)}: folder is not writable`);
    }
    return;
  }
  const parent = dirname(resolve(dir));
  const pst = lstatOrNull(parent);
  if (!pst || !pst.isDirectory()) throw new FileError(`${label(what, dir)}: parent folder ${parent} does not exist`);
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    throw new FileError(`${label(what, dir)}: parent folder ${parent} is not writable`);
  }
}

/** The temporary names `writeFileAtomic` uses for `path` start with this prefix (and end in .tmp). */
export function tempPrefix(path: string): string {
  return join(dirname(path), `.${basename(path)}.`);
}

/** Flush a folder's entries (the rename) to disk; file systems that cannot do it are skipped. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
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
 * created, followed or replaced.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, what?: string): void {
  checkWritableFile(path, what);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let fd: number | undefined;
  let tmp = '';
  for (let attempt = 0; fd === undefined; attempt++) {
    tmp = `${tempPrefix(path)}${randomBytes(6).toString('hex')}.tmp`;
    try {
      fd = openSync(tmp, flags, 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 8) continue;
      throw new FileError(`${label(what, path)}: cannot create a temporary file beside it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  try {
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
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never created
    }
    if (e instanceof FileError) throw e;
    throw new FileError(`${label(what, path)}: cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  fsyncDir(dirname(resolve(path)));
}
