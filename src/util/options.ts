/**
 * Options objects, checked one way everywhere (optimizers, layers, schedules, loaders, transforms,
 * callbacks): a schema maps each option name to what it accepts, and `checkOptions` refuses
 *
 *   an unknown name        RangeError  `Adam: unknown option "learningRate" (did you mean "lr"?); expected one of lr, betas, …`
 *                          (a snake_case name is matched to its camelCase form first: weight_decay → weightDecay)
 *   a value of the wrong   TypeError   `SGD: invalid nesterov "yes"; expected true or false`
 *   type                               (the form of the owners' range errors: `SGD: invalid lr -1; expected ≥ 0`)
 *   a string outside a     RangeError  `DropConnect: invalid masks "examples"; expected 'example' or 'batch' (did you mean 'example'?)`
 *   list of choices
 *   a missing required one TypeError   `cosine schedule: missing option "totalSteps"`
 *   a non-object           TypeError   `Adam: options must be an object { lr, betas, … }, got 0.1`
 *
 * An option whose value is `undefined` counts as not given (TypeScript's optional properties), so
 * `{ lr: undefined }` takes the default; an unknown name is refused whatever its value. Ranges
 * (lr ≥ 0, p in [0, 1), …) are each owner's own check, made after this one.
 *
 * A schema is the single list of an owner's option names: the optimizer registry reads its names
 * from the optimizers' schemas (`optionNames`).
 */
import { clip, suggest } from './names.js';

/** What one option accepts: a test, and how a message describes what passes it. */
export interface OptionSpec {
  /** Words for "must be …", e.g. 'a number', 'true or false'. */
  readonly expected: string;
  readonly test: (v: unknown) => boolean;
  /** The strings accepted, when the option is a choice among strings (a wrong string is a RangeError with a suggestion). */
  readonly choices?: readonly (string | null)[];
}

/** A schema: every option name an owner accepts, with its spec. */
export type OptionSchema = Readonly<Record<string, OptionSpec>>;

/** The schema of an options type T: one spec for each of its keys, no more, no fewer (any for T = any, so Optimizer<any> stays assignable). */
export type SchemaOf<T> = 0 extends 1 & T ? any : { readonly [K in keyof T]-?: OptionSpec };

/** A custom spec. */
export function spec(expected: string, test: (v: unknown) => boolean): OptionSpec {
  return { expected, test };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Any number (NaN and ±∞ included: the owner's range check says what range it wants). */
export const num = spec('a number', (v) => typeof v === 'number');
export const int = spec('an integer', (v) => Number.isInteger(v));
export const bool = spec('true or false', (v) => typeof v === 'boolean');
export const fn = spec('a function', (v) => typeof v === 'function');
export const str = spec('a string', (v) => typeof v === 'string');
/** A number or a [number, number] pair (kernel sizes, strides, paddings, ratios). */
export const numOrPair = spec(
  'a number or [number, number]',
  (v) => typeof v === 'number' || (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')),
);
/** [number, number] (Adam's betas). */
export const numPair = spec('two numbers [a, b]', (v) => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number'));
/** An array of numbers (milestones, weights). */
export const numArray = spec('an array of numbers', (v) => Array.isArray(v) && v.every((x) => typeof x === 'number'));
/** A random generator (the library's Rng, or anything with its nextU32()). */
export const rng = spec('an Rng (a random generator)', (v) => isObject(v) && typeof v.nextU32 === 'function');
/** A Tensor (anything with shape and data). */
// a tensor on the host holds a typed array, one on a device its storage object (not read here)
export const tensor = spec(
  'a Tensor',
  (v) =>
    isObject(v) &&
    Array.isArray(v.shape) &&
    (ArrayBuffer.isView(v.storage) || (isObject(v.storage) && typeof v.storage.read === 'function')),
);
/** An array of Tensors (the parameters a callback works on). */
export const tensors = spec('an array of Tensors', (v) => Array.isArray(v) && v.every((t) => tensor.test(t)));

/** One of the listed strings (null too when listed). */
export function oneOf(...choices: readonly (string | null)[]): OptionSpec {
  const words = choices.map((c) => (c === null ? 'null' : `'${c}'`));
  const expected = words.length === 1 ? words[0] : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
  return { expected, choices, test: (v) => choices.includes(v as string | null) };
}

/** The spec, or null. */
export function nullable(s: OptionSpec): OptionSpec {
  return { expected: `${s.expected} or null`, test: (v) => v === null || s.test(v), choices: s.choices ? [...s.choices, null] : undefined };
}

/** The option names of a schema, in its order. */
export function optionNames(schema: OptionSchema): string[] {
  return Object.keys(schema);
}

/** A value as a message shows it: strings quoted, arrays and objects in JSON (clipped), functions named as such. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(clip(v));
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  try {
    return clip(JSON.stringify(v) ?? String(v));
  } catch {
    return 'an object';
  }
}

/** camelCase of a snake_case or kebab-case name (weight_decay → weightDecay). */
function camel(name: string): string {
  return name.replace(/[_-]+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
}

/**
 * Other libraries' names for options of ours (lower case, without _ or -): TensorFlow.js and Keras
 * spell the learning rate learningRate, PyTorch's schedulers T_max and eta_min, Keras' Dropout rate.
 */
const SYNONYMS: Readonly<Record<string, string>> = {
  learningrate: 'lr',
  epsilon: 'eps',
  beta1: 'betas',
  beta2: 'betas',
  tmax: 'totalSteps',
  etamin: 'minLr',
  rate: 'p',
};

/** " (did you mean "x"?)" for a name that is not in `names`, or "". */
export function nearestName(raw: string, names: readonly string[], quote = '"'): string {
  const c = camel(raw);
  const synonym = SYNONYMS[c.toLowerCase().replace(/[_-]/g, '')];
  const exact = names.find((n) => n === c) ?? names.find((n) => n.toLowerCase() === c.toLowerCase()) ?? names.find((n) => n === synonym);
  const s = exact ?? suggest(raw, names) ?? suggest(c, names);
  return s === undefined ? '' : ` (did you mean ${quote}${s}${quote}?)`;
}

/** Refuse names not in `names` (RangeError naming the nearest valid one). */
export function checkNames(owner: string, given: object, names: readonly string[], allowed: readonly string[] = []): void {
  for (const k of Object.keys(given)) {
    if (names.includes(k) || allowed.includes(k)) continue;
    throw new RangeError(`${owner}: unknown option "${clip(k)}"${nearestName(k, names)}; expected one of ${names.join(', ')}`);
  }
}

/** Refuse a value that does not pass its spec: TypeError, or RangeError for a string outside a list of choices. */
export function checkValue(owner: string, name: string, value: unknown, s: OptionSpec): void {
  if (s.test(value)) return;
  const msg = `${owner}: invalid ${name} ${showValue(value)}; expected ${s.expected}`;
  if (s.choices && typeof value === 'string') {
    const strings = s.choices.filter((c): c is string => typeof c === 'string');
    throw new RangeError(msg + nearestName(value, strings, "'"));
  }
  throw new TypeError(msg);
}

export interface CheckOptionsExtra {
  /** Names that must be given (not undefined). */
  required?: readonly string[];
  /** Names accepted besides the schema's, left to the caller to check (e.g. a parameter group's `params`). */
  allowed?: readonly string[];
}

/**
 * Check an options object against a schema (see the header). `given` undefined is an empty object.
 * Returns it, typed as the owner's options.
 */
export function checkOptions<T extends object>(
  owner: string,
  given: T | undefined,
  schema: OptionSchema,
  extra: CheckOptionsExtra = {},
): T {
  const names = optionNames(schema);
  if (given === undefined) given = {} as T;
  if (!isObject(given) || ArrayBuffer.isView(given)) {
    throw new TypeError(`${owner}: options must be an object { ${names.join(', ')} }, got ${showValue(given)}`);
  }
  checkNames(owner, given, names, extra.allowed);
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined || !names.includes(k)) continue;
    checkValue(owner, k, v, schema[k]);
  }
  for (const k of extra.required ?? []) {
    if ((given as Record<string, unknown>)[k] === undefined)
      throw new TypeError(`${owner}: missing option "${k}" (${schema[k]?.expected ?? 'required'})`);
  }
  return given;
}
