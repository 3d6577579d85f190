/** `--model`: a built-in name, a layer spec or a .json file of layers (Node-only: reads the file). */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { resolveModel, ModelSpecError } from '../train/spec.js';
import type { ModelSpec } from '../train/models.js';

/**
 * The model `--model` names. A spec that cannot be parsed, or whose shapes do not fit the data
 * when it is built, is a usage error ("--model: layer 3 (linear:128): …").
 */
export function resolveCliModel(arg: string): ModelSpec {
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof ModelSpecError) throw new UsageError(`--model: ${e.message}`);
      throw e;
    }
  };
  const spec = wrap(() => resolveModel(arg, { readFile: (p) => readFileSync(p, 'utf8') }));
  return { ...spec, build: (o) => wrap(() => spec.build(o)) };
}
