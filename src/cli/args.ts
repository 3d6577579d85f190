/**
 * A small declarative argument parser: each command lists its options once, and the same list
 * drives parsing, validation and --help. Errors are UsageErrors: one line, naming the option, the
 * accepted values and what was given.
 */

import { clip, didYouMean, findName } from '../util/names.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptType = 'number' | 'int' | 'string' | 'boolean' | 'numbers';

export interface OptSpec {
  name: string; // without the leading --
  type: OptType;
  help: string;
  default?: unknown;
  /** Inclusive bounds for numbers; `gt` for strict lower bounds. */
  min?: number;
  gt?: number;
  max?: number;
  choices?: readonly string[];
  /** For 'numbers': how many values (e.g. 2 for --start X,Y). */
  count?: number;
  metavar?: string;
}

export type Parsed = Record<string, any>;

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export { DECIMAL, decimal } from '../util/decimal.js';
import { decimal } from '../util/decimal.js';

function parseNumber(spec: OptSpec, raw: string): number {
  const v = decimal(raw);
  if (v === undefined) throw new UsageError(`--${spec.name}: expected a decimal number (like 0.01 or 1e-3), got "${clip(raw)}"`);
  if (spec.type === 'int' && !Number.isInteger(v)) throw new UsageError(`--${spec.name}: expected an integer, got "${clip(raw)}"`);
  const range = describeRange(spec);
  if ((spec.min !== undefined && v < spec.min) || (spec.gt !== undefined && v <= spec.gt) || (spec.max !== undefined && v > spec.max)) {
    throw new UsageError(`--${spec.name}: ${clip(raw)} is out of range; expected ${range}`);
  }
  return v;
}

function describeRange(spec: OptSpec): string {
  const parts: string[] = [];
  if (spec.gt !== undefined) parts.push(`> ${spec.gt}`);
  if (spec.min !== undefined) parts.push(`≥ ${spec.min}`);
  if (spec.max !== undefined) parts.push(`≤ ${spec.max}`);
  return `${spec.type === 'int' ? 'an integer' : 'a number'}${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}

/**
 * Where parseArgs keeps the names of the options given on the command line: a symbol key, so it is
 * copied by `{ ...parsed }` (commands pass modified copies on) but not listed by Object.entries or
 * JSON.stringify.
 */
const GIVEN = Symbol('given options');

/** The options (names without --) given on the command line that produced `parsed`; defaults are not. */
export function givenOptions(parsed: Parsed): ReadonlySet<string> {
  return ((parsed as Record<symbol, unknown>)[GIVEN] as ReadonlySet<string> | undefined) ?? new Set();
}

/**
 * Parse `argv` against `specs`; values come back camel-cased (--batch-size → batchSize). Option
 * names are exact (--batch-size, not --Batch-Size); choice values match ignoring case and come
 * back as listed. `givenOptions(result)` tells which options were given rather than defaulted. With `positional`,
 * arguments that are not options are collected in order under `_` (file names).
 */
export function parseArgs(argv: readonly string[], specs: readonly OptSpec[], command: string, positional = false): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: Parsed = {};
  for (const s of specs) if (s.default !== undefined) out[camel(s.name)] = s.default;
  const given = new Set<string>();
  if (positional) out._ = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (positional && !arg.startsWith('--')) {
      out._.push(arg);
      continue;
    }
    if (!arg.startsWith('--'))
      throw new UsageError(`unexpected argument "${clip(arg)}" for "descent ${command}" (see descent ${command} --help)`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean') {
      spec = byName.get(name.slice(3));
      value = 'false';
      name = name.slice(3);
    }
    if (!spec) {
      throw new UsageError(
        `unknown option --${clip(name)} for "descent ${command}"${didYouMean(
          name,
          specs.map((s) => s.name),
          '--',
        )}; see descent ${command} --help`,
      );
    }
    if (given.has(name)) throw new UsageError(`--${name} given twice`);
    given.add(name);
    if (spec.type === 'boolean') {
      if (value === undefined) out[camel(name)] = true;
      else if (value === 'true' || value === 'false') out[camel(name)] = value === 'true';
      else throw new UsageError(`--${name}: expected true or false, got "${clip(value)}"`);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || (value.startsWith('--') && spec.type !== 'number'))
        throw new UsageError(`--${name}: missing value (expected ${spec.metavar ?? spec.type})`);
    }
    out[camel(name)] = convert(spec, value);
  }
  (out as Record<symbol, unknown>)[GIVEN] = given;
  return out;
}

function convert(spec: OptSpec, raw: string): unknown {
  switch (spec.type) {
    case 'number':
    case 'int':
      return parseNumber(spec, raw);
    case 'numbers': {
      const parts = raw.split(',');
      if (spec.count && parts.length !== spec.count)
        throw new UsageError(`--${spec.name}: expected ${spec.count} comma-separated numbers, got "${clip(raw)}"`);
      return parts.map((p) => parseNumber({ ...spec, type: 'number' }, p));
    }
    case 'string': {
      if (!spec.choices) return raw;
      const found = findName(raw, spec.choices);
      if (found === undefined)
        throw new UsageError(
          `--${spec.name}: unknown value "${clip(raw)}"; expected one of ${spec.choices.join(', ')}${didYouMean(raw, spec.choices)}`,
        );
      return found;
    }
    default:
      return raw;
  }
}

/** The --help text of a command, from its option list. */
export function helpText(command: string, summary: string, specs: readonly OptSpec[], extra = '', positional = ''): string {
  const rows = specs.map((s) => {
    const flag = `--${s.name}${s.type === 'boolean' ? '' : ` ${s.metavar ?? (s.choices ? s.choices.join('|') : s.type === 'numbers' ? 'A,B' : s.type.toUpperCase())}`}`;
    const notes: string[] = [];
    if (s.default !== undefined && s.type !== 'boolean')
      notes.push(`default ${Array.isArray(s.default) ? s.default.join(',') : s.default}`);
    if (s.max !== undefined) notes.push(`at most ${s.max}`);
    const def = notes.length ? ` (${notes.join(', ')})` : '';
    return [flag, s.help + def] as const;
  });
  const w = Math.min(34, Math.max(...rows.map(([f]) => f.length), 10));
  const lines = rows.map(([f, h]) => `  ${f.padEnd(w)}  ${h}`);
  return `descent ${command} — ${summary}\n\nUsage: descent ${command} [options]${positional ? ` ${positional}` : ''}\n\nOptions:\n${lines.join('\n')}\n  ${'--help'.padEnd(w)}  show this help\n${extra ? `\n${extra}\n` : ''}`;
}
