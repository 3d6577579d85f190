/**
 * Reading a trained model back for `descent eval` and `descent predict`: the weights file names the
 * model it was trained as (its name or spec), the input shape and the class names, so neither
 * command needs --model; a --model given anyway must build a network whose parameters match.
 */
import { readFileSync } from 'node:fs';
import type { Module, StateDict } from '../nn/module.js';
import { DataFormatError } from '../data/idx.js';

export interface SavedModel {
  path: string;
  /** The model name or spec it was trained as, when the file says. */
  model?: string;
  /** [C, H, W] of one input, when the file says. */
  inputShape?: [number, number, number];
  classes?: string[];
  /** Copy the weights into a module of the same architecture (every parameter, same shapes). */
  loadInto(m: Module): void;
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataFormatError(path, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, expected a weights file' : `cannot be read (${code ?? (e as Error).message})`);
  }
}

function shape3(v: unknown): [number, number, number] | undefined {
  return Array.isArray(v) && v.length === 3 && v.every((d) => Number.isInteger(d) && d > 0) ? (v as [number, number, number]) : undefined;
}

/** Read a weights file written by `descent train --save`. */
export function readWeights(path: string): SavedModel {
  const bytes = readBytes(path);
  let doc: { model?: unknown; state?: unknown; inputShape?: unknown; classes?: unknown };
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new DataFormatError(path, 'not a weights file: expected the JSON written by descent train --save');
  }
  if (!doc || typeof doc !== 'object' || !doc.state || typeof doc.state !== 'object') throw new DataFormatError(path, 'not a weights file: no "state" object');
  const state = doc.state as StateDict;
  return {
    path,
    model: typeof doc.model === 'string' ? doc.model : undefined,
    inputShape: shape3(doc.inputShape),
    classes: Array.isArray(doc.classes) && doc.classes.every((c) => typeof c === 'string') ? (doc.classes as string[]) : undefined,
    loadInto(m) {
      try {
        m.loadStateDict(state);
      } catch (e) {
        throw new DataFormatError(path, `does not fit the model: ${(e as Error).message.replace(/^loadStateDict: /, '')}`);
      }
    },
  };
}
