/** What a folder holds, to check that a writer changed nothing but what it should. */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** Each entry under `root` (links not followed): its kind, and its contents' hash, link target or mode and mtime. */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const st = lstatSync(p);
    let what: string;
    if (st.isSymbolicLink()) what = `link -> ${readlinkSync(p)}`;
    else if (st.isDirectory()) what = 'folder';
    else if (st.isFile()) what = `file ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    else what = st.isCharacterDevice() ? 'character device' : 'other';
    out.set(rel || '.', `${what} mode ${(st.mode & 0o7777).toString(8)}${st.isDirectory() ? '' : ` mtime ${st.mtimeMs}`}`);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(rel ? join(rel, e) : e);
  };
  walk('');
  return out;
}

/** The entries of `after` that differ from `before` (added, removed or changed), for assertion messages. */
export function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys]
    .filter((k) => before.get(k) !== after.get(k))
    .map((k) => `${k}: ${before.get(k) ?? '(absent)'} → ${after.get(k) ?? '(absent)'}`);
}

/** The state of a path that must not change: kind, device numbers, size, mode, mtime. */
export function stamp(path: string): string {
  const st = lstatSync(path);
  const kind = st.isCharacterDevice()
    ? 'character device'
    : st.isSymbolicLink()
      ? 'link'
      : st.isFile()
        ? 'file'
        : st.isDirectory()
          ? 'folder'
          : 'other';
  return `${kind} rdev ${st.rdev} size ${st.size} mode ${(st.mode & 0o7777).toString(8)} mtime ${st.mtimeMs}`;
}
