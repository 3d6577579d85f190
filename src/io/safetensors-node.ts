/**
 * Node helpers for safetensors files: the same as ./safetensors.ts with a path instead of bytes.
 * Files are written with writeFileAtomic (temporary file, fsync, rename); errors name the file.
 */
import { readFileSync } from 'node:fs';
import type { Module } from '../nn/module.js';
import { readFailure, writeFileAtomic } from './files.js';
import { loadSafetensors, saveSafetensors, SafetensorsError, type SaveSafetensorsOptions } from './safetensors.js';

/** Write `module`'s parameters to `path` as safetensors (atomically). */
export function saveSafetensorsFile(path: string, module: Module, opts: SaveSafetensorsOptions = {}): void {
  writeFileAtomic(path, saveSafetensors(module, opts));
}

/** Load `path` into `module` (all or nothing) and return the file's metadata; errors start with the path. */
export function loadSafetensorsFile(path: string, module: Module): Record<string, string> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(`${path}: ${readFailure(e, 'a safetensors file')}`);
  }
  try {
    return loadSafetensors(module, bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${path}: ${e.message}`, e.tensor);
    throw e;
  }
}
