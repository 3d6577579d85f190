/**
 * Node helpers for NumPy files: ./npy.ts with a path instead of bytes. Files are written with
 * writeFileAtomic (temporary file, fsync, rename); errors start with the path.
 */
import { readFileSync } from 'node:fs';
import { readFailure, writeFileAtomic } from './files.js';
import { encodeNpy, NpyError, parseNpy, type NpyArray, type NpyInput } from './npy.js';
import { encodeNpz, parseNpz } from './npz.js';

function readBytes(path: string, expected: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new NpyError(`${path}: ${readFailure(e, expected)}`);
  }
}

/** The array of the `.npy` file at `path` (np.load). */
export function readNpy(path: string): NpyArray {
  return parseNpy(readBytes(path, 'a .npy file'), path);
}

/** The arrays of the `.npz` file at `path` by name (np.load of an .npz). */
export function readNpz(path: string): Map<string, NpyArray> {
  return parseNpz(readBytes(path, 'an .npz file'), path);
}

/** Write `array` to `path` as `.npy` (np.save), atomically. */
export function saveNpy(path: string, array: NpyInput): void {
  writeFileAtomic(path, encodeNpy(array, path));
}

/** Write `arrays` to `path` as `.npz` (np.savez; with `compress`, np.savez_compressed), atomically. */
export function saveNpz(path: string, arrays: Record<string, NpyInput>, opts: { compress?: boolean } = {}): void {
  writeFileAtomic(path, encodeNpz(arrays, opts));
}
