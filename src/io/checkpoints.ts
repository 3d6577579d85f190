/**
 * A folder of checkpoints (Node-only; the byte form is src/train/checkpoint.ts).
 *
 * Each checkpoint is one file `ckpt-<step, 12 digits>.dckpt`, so names sort by step, written with
 * writeFileAtomic (exclusive temporary file, fsync, rename, folder fsync): a file with that name is
 * complete unless the disk itself lied, and its CRC-32 catches that. Only names of exactly that form
 * are ever read as checkpoints; the writer's temporary files (`.ckpt-….dckpt.<random>.tmp`) never
 * are, and the ones a killed writer left behind are removed when the folder is next opened for
 * writing. With `keep` K, older checkpoints are deleted only after the new one is in place.
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync, lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, checkWritableDir, FileError } from './files.js';
import { checkOptions, num } from '../util/options.js';
import { encodeCheckpoint, decodeCheckpoint, CheckpointError, type Checkpoint } from '../train/checkpoint.js';

const NAME = /^ckpt-(\d{12})\.dckpt$/;
const TEMP = /^\.ckpt-\d{12}\.dckpt\.[0-9a-f]+\.tmp$/;

/** The file name of the checkpoint taken after `step` steps. */
export function checkpointName(step: number): string {
  return `ckpt-${String(step).padStart(12, '0')}.dckpt`;
}

/** The checkpoint files in `dir`, newest (highest step) first. */
export function listCheckpoints(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileError(
      `${dir}: cannot list the checkpoint folder (${code === 'ENOENT' ? 'it does not exist' : code === 'ENOTDIR' ? 'not a folder' : (code ?? (e as Error).message)})`,
    );
  }
  return names
    .filter((n) => NAME.test(n))
    .sort()
    .reverse()
    .map((n) => join(dir, n));
}

/** The checkpoint files in `dir`, newest first; none when `dir` is absent or not a folder. */
export function existingCheckpoints(dir: string): string[] {
  try {
    if (!statSync(dir).isDirectory()) return [];
  } catch {
    return [];
  }
  return listCheckpoints(dir);
}

export interface CheckpointDirOptions {
  /** Keep only the newest K checkpoints (default: all). */
  keep?: number;
}

/** A sink for fit()'s `checkpoint.save`: writes each checkpoint into `dir` (created if absent) and returns its path. */
export function checkpointDir(dir: string, o: CheckpointDirOptions = {}): { dir: string; save(c: Checkpoint): string } {
  checkOptions('checkpointDir', o, { keep: num });
  if (o.keep !== undefined && !(Number.isInteger(o.keep) && o.keep >= 1))
    throw new RangeError(`checkpointDir: keep must be a positive integer, got ${o.keep}`);
  checkWritableDir(dir, 'checkpoint folder');
  mkdirSync(dir, { recursive: true });
  sweepTemporaryFiles(dir);
  return {
    dir,
    save(c: Checkpoint): string {
      const path = join(dir, checkpointName(c.step));
      writeFileAtomic(path, encodeCheckpoint(c), 'checkpoint');
      if (o.keep !== undefined) {
        for (const old of listCheckpoints(dir).slice(o.keep)) {
          try {
            unlinkSync(old);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
              throw new FileError(`${old}: cannot delete an old checkpoint (${(e as NodeJS.ErrnoException).code})`);
          }
        }
      }
      return path;
    },
  };
}

/** Remove temporary files a killed checkpoint writer left in `dir` (only names writeFileAtomic gives them). */
export function sweepTemporaryFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const n of readdirSync(dir)) {
    if (!TEMP.test(n)) continue;
    const p = join(dir, n);
    try {
      if (lstatSync(p).isFile()) {
        unlinkSync(p);
        removed.push(p);
      }
    } catch {
      // gone already
    }
  }
  return removed;
}

/** Read and check one checkpoint file; a CheckpointError names the file. */
export function readCheckpoint(path: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(`${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeCheckpoint(bytes, path);
}

export interface LatestCheckpoint {
  /** The decoded checkpoint, ready for fit's `resume`. */
  checkpoint: Checkpoint;
  /** The file it was read from. */
  path: string;
  /** Newer files that were refused, with the reason (newest first). */
  refused: { path: string; reason: string }[];
}

/**
 * The newest checkpoint in `dir` that reads back complete and checksum-valid; newer ones that do
 * not are listed in `refused`. Throws a CheckpointError when the folder holds none that is usable.
 */
export function loadLatestCheckpoint(dir: string): LatestCheckpoint {
  const files = listCheckpoints(dir);
  const refused: { path: string; reason: string }[] = [];
  for (const path of files) {
    try {
      return { checkpoint: readCheckpoint(path), path, refused };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      refused.push({ path, reason: e.message });
    }
  }
  if (!files.length) throw new CheckpointError(`${dir}: no checkpoint files (ckpt-<step>.dckpt) in the folder`);
  throw new CheckpointError(`${dir}: none of the ${files.length} checkpoint files is usable; newest: ${refused[0].reason}`);
}
