/**
 * Numbers typed by a person, read one way everywhere (options, the --schedule and --augment
 * grammars, the lab's URL): optional sign, digits with an optional point, an optional exponent
 * (1e-3, .5, -2, 3.). Not hexadecimal, octal or binary (0x10 is not 16), not Infinity or NaN, no
 * spaces or underscores — JavaScript's Number() accepts all of those.
 */
export const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** `raw` as a finite decimal number, or undefined. */
export function decimal(raw: string): number | undefined {
  if (typeof raw !== 'string' || !DECIMAL.test(raw)) return undefined;
  const v = Number(raw);
  return Number.isFinite(v) ? v : undefined;
}
