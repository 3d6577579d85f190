/**
 * NumPy's `.npz` files: a zip of `.npy` files (./npy.ts), stored or deflated as `np.savez` and
 * `np.savez_compressed` write them, ZIP64 entries included. Zip is fflate's; this module is in the
 * Node entry (`descent/node`), so the isomorphic entry keeps no runtime dependency for a browser to
 * resolve.
 */
import { unzipSync, zipSync } from 'fflate';
import { encodeNpy, NpyError, parseNpy, type NpyArray, type NpyInput } from './npy.js';

/** The arrays of an `.npz` file's bytes, by name (the entry's name without `.npy`), in the zip's order. */
export function parseNpz(bytes: Uint8Array, name = 'file'): Map<string, NpyArray> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new NpyError(`${name}: not a NumPy .npz file (a zip of .npy files): ${(e as Error).message}`);
  }
  const out = new Map<string, NpyArray>();
  for (const [entry, data] of Object.entries(entries)) {
    if (entry.endsWith('/')) continue;
    if (!entry.endsWith('.npy')) throw new NpyError(`${name}: entry "${entry}" is not a .npy array; an .npz holds .npy files only`);
    const key = entry.slice(0, -4);
    out.set(key, parseNpy(data, `${name}["${key}"]`));
  }
  return out;
}

/** The bytes of an `.npz` file of `arrays` (`np.savez`; with `compress`, `np.savez_compressed`). */
export function encodeNpz(arrays: Record<string, NpyInput>, opts: { compress?: boolean } = {}): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [key, a] of Object.entries(arrays)) files[`${key}.npy`] = encodeNpy(a, key);
  // A fixed time stamp (the zip epoch, as NumPy's entries carry) keeps the bytes a function of the arrays.
  return zipSync(files, { level: opts.compress ? 6 : 0, mtime: new Date(1980, 0, 1) });
}
