/**
 * Names typed by a person (options, optimizers, models, functions, choices): one rule for all of
 * them, and one way to suggest the name that was meant.
 *
 *   findName(raw, names)   the listed name equal to `raw` ignoring case (names are matched
 *                          case-insensitively everywhere: ADAM, Adam and adam are one optimizer)
 *   suggest(raw, names)    the closest listed name by Damerau–Levenshtein distance (a swap of two
 *                          neighbouring letters counts as one edit, so "adma" → "adam"), when it is
 *                          close enough to be a typo: distance ≤ 1 for names up to 4 letters,
 *                          ≤ 2 up to 8, ≤ 3 beyond; or a name containing `raw` (or contained in it)
 *   clip(value)            a user's value shortened for an error message: at most 60 characters,
 *                          then "… (N characters)", so a 100 KB argument is not echoed back
 */

/** Edit distance with insertions, deletions, substitutions and transpositions of neighbours (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  // Three rows suffice: the transposition looks two rows back.
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m];
}

/** The listed name equal to `raw` ignoring case, or undefined. */
export function findName<T extends string>(raw: string, names: Iterable<T>): T | undefined {
  const want = raw.toLowerCase();
  for (const n of names) if (n.toLowerCase() === want) return n;
  return undefined;
}

/** The listed name `raw` most likely stands for (a typo or a fragment of it), or undefined. */
export function suggest(raw: string, names: Iterable<string>): string | undefined {
  const want = raw.toLowerCase();
  if (want.length === 0 || want.length > 100) return undefined;
  const allowed = want.length <= 4 ? 1 : want.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(want, n.toLowerCase());
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  if (best !== undefined && bestD <= allowed) return best;
  for (const n of names) {
    const l = n.toLowerCase();
    if (want.length >= 2 && (l.includes(want) || want.includes(l))) return n;
  }
  return undefined;
}

/** " (did you mean X?)" or "" — for the end of an "unknown name" message. */
export function didYouMean(raw: string, names: Iterable<string>, prefix = ''): string {
  const s = suggest(raw, names);
  return s === undefined ? '' : ` (did you mean ${prefix}${s}?)`;
}

/** Longest user value echoed in a message; longer ones end in "… (N characters)". */
export const ECHO_LIMIT = 60;

/** A user's value as an error message shows it: at most ECHO_LIMIT characters, then its length. */
export function clip(value: string): string {
  const s = String(value);
  if (s.length <= ECHO_LIMIT) return s;
  return `${s.slice(0, ECHO_LIMIT)}… (${s.length} characters)`;
}

/** What clip() leaves: ECHO_LIMIT characters, "…", the length — not clipped again. */
const CLIPPED = new RegExp(`^[^]{${ECHO_LIMIT}}… \\(\\d+ characters\\)$`);

/**
 * A whole message with every echoed value clipped: each quoted "…" longer than ECHO_LIMIT, and
 * each unquoted run of non-space characters longer than 4·ECHO_LIMIT (long paths stay readable).
 */
export function clipMessage(message: string): string {
  const long = (v: string, limit: number) => v.length > limit && !CLIPPED.test(v);
  return message
    .replace(/"([^"]*)"/g, (q, v: string) => (long(v, ECHO_LIMIT) ? `"${clip(v)}"` : q))
    .replace(/[^\s"]{241,}/g, (v) => (long(v, 4 * ECHO_LIMIT) ? clip(v) : v));
}
