/**
 * The augmentation spec (the CLI's --augment): comma-separated transforms, applied in the order given.
 *
 *   flip[:P]          horizontal flip with probability P (default 0.5)
 *   crop:N            pad N cells on each side, cut back to size at a random offset
 *   scale:A-B         resize by s ~ U[A, B], then crop or pad back to size
 *   jitter:B[:C[:S[:H]]]  colour jitter: brightness B, contrast C (default B), saturation S (default B),
 *                     hue H (default 0); grey images use B and C only
 *   none              no augmentation
 *
 * e.g. "flip,crop:4,scale:0.9-1.1,jitter:0.2".
 */
import { decimal } from '../util/decimal.js';
import { didYouMean } from '../util/names.js';
import { colorJitter, composeAugment, randomCrop, randomFlip, randomScale, type Augmentation } from './transforms.js';

export class AugmentSpecError extends Error {
  override name = 'AugmentSpecError';
}

const SYNTAX = 'flip[:P], crop:N, scale:A-B, jitter:B[:C[:S[:H]]] or none';

/** Parses an augmentation spec; errors start with `what` (the CLI passes its flag, `--augment`). */
export function parseAugment(spec: string, what = 'augmentation spec'): Augmentation {
  const items = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length);
  if (!items.length || (items.length === 1 && items[0].toLowerCase() === 'none')) return composeAugment();
  const fail = (item: string, why: string): never => {
    throw new AugmentSpecError(`${what}: ${why} in "${item}" (spec "${spec}"); expected comma-separated ${SYNTAX}`);
  };
  const num = (item: string, raw: string | undefined, name: string): number => {
    const v = raw === undefined ? undefined : decimal(raw);
    if (v === undefined) fail(item, `${name} is not a number ("${raw ?? ''}")`);
    return v as number;
  };
  const ts: Augmentation[] = items.map((item) => {
    const [rawName, ...args] = item.split(':');
    const name = rawName.toLowerCase();
    try {
      switch (name) {
        case 'flip':
          if (args.length > 1) fail(item, 'flip takes at most one value');
          return randomFlip(args.length ? num(item, args[0], 'the probability') : 0.5);
        case 'crop': {
          if (args.length !== 1) fail(item, 'crop needs the padding, e.g. crop:4');
          const n = num(item, args[0], 'the padding');
          if (!Number.isInteger(n) || n < 0) fail(item, `the padding must be a non-negative integer, got ${args[0]}`);
          return randomCrop(n);
        }
        case 'scale': {
          const m = args.length === 1 ? /^\s*([0-9.eE+]+)\s*-\s*([0-9.eE+]+)\s*$/.exec(args[0]) : null;
          if (!m) fail(item, 'scale needs a range A-B, e.g. scale:0.9-1.1');
          return randomScale(num(item, m![1], 'the lower scale'), num(item, m![2], 'the upper scale'));
        }
        case 'jitter': {
          if (args.length < 1 || args.length > 4) fail(item, 'jitter needs 1 to 4 values, e.g. jitter:0.2');
          const [b, c, s, h] = args.map((a, i) => num(item, a, ['brightness', 'contrast', 'saturation', 'hue'][i]));
          return colorJitter({ brightness: b, contrast: c ?? b, saturation: s ?? b, hue: h ?? 0 });
        }
        default:
          return fail(item, `unknown transform "${rawName}"${didYouMean(rawName, ['flip', 'crop', 'scale', 'jitter', 'none'])}`);
      }
    } catch (e) {
      if (e instanceof RangeError) fail(item, e.message);
      throw e;
    }
  });
  return composeAugment(...ts);
}
