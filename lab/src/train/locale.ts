/**
 * uPlot builds its number format from navigator.language when its module loads
 * (`new Intl.NumberFormat(navigator.language)`), and Chromium started under the C locale
 * (LANG=C.UTF-8) reports 'en-US@posix', which Intl refuses with a RangeError: the page would stop
 * before it starts. Imported before uPlot: where Intl refuses the browser's language,
 * navigator.language reads as `usableLanguage` of it for the rest of the page.
 */

/** `tag` where Intl takes it, else its part before '@' where Intl takes that, else 'en-US'. */
export function usableLanguage(tag: string): string {
  for (const t of [tag, tag.split('@')[0]]) {
    try {
      new Intl.NumberFormat(t);
      return t;
    } catch {
      // refused: try the next
    }
  }
  return 'en-US';
}

if (typeof navigator !== 'undefined' && usableLanguage(navigator.language) !== navigator.language)
  Object.defineProperty(navigator, 'language', { value: usableLanguage(navigator.language), configurable: true });
