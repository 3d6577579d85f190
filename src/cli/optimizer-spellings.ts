/**
 * The CLI's spellings of optimizer options. The library's registry knows only each rule's own
 * option names (its schema); a flag whose name or values differ from the option it sets is
 * mapped here, per optimizer:
 *
 *   lbfgs   --line-search none|strong-wolfe   → lineSearchFn null | 'strongWolfe'
 *   newton  --line-search none|armijo|strong-wolfe → lineSearch null | 'armijo' | 'strongWolfe'
 *   newton  --hessian-free                    → mode 'hessianFree' (else 'exact')
 */
import { getOptimizer } from '../optim/registry.js';

type Mapping = (value: unknown) => [option: string, value: unknown];

const lineSearchValue = (v: unknown): unknown => (v === 'none' ? null : v === 'strong-wolfe' ? 'strongWolfe' : v);

const SPELLINGS: Record<string, Record<string, Mapping>> = {
  lbfgs: { lineSearch: (v) => ['lineSearchFn', lineSearchValue(v)] },
  newton: { lineSearch: (v) => ['lineSearch', lineSearchValue(v)], hessianFree: (v) => ['mode', v ? 'hessianFree' : 'exact'] },
};

/** The camelCased flag names optimizer `name` reads: its options, and the CLI spellings that map to them. */
export function cliOptionNames(name: string): string[] {
  const spec = getOptimizer(name);
  const own = Object.keys(SPELLINGS[spec.key] ?? {});
  return [...new Set([...spec.options, ...own])];
}

/** Flag `key` (camelCased) with `value` as the library option it sets for optimizer `name`. */
export function libraryOption(name: string, key: string, value: unknown): [string, unknown] {
  const map = SPELLINGS[getOptimizer(name).key]?.[key];
  return map ? map(value) : [key, value];
}
