/** Preloaded into a child by rss.ts: report the peak resident set size on exit (kilobytes). */
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `\nmaxrss ${process.resourceUsage().maxRSS}\n`);
});
