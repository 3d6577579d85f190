/** A one-line progress bar for a terminal: bar, loss so far, samples/s, ETA. */
import type { Progress } from '../train/trainer.js';

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function progressLine(p: Progress, width = 30): string {
  const frac = p.batch / p.numBatches;
  const full = Math.round(frac * width);
  const bar = '█'.repeat(full) + '░'.repeat(width - full);
  return `epoch ${p.epoch}/${p.epochs} ${bar} ${String(Math.round(frac * 100)).padStart(3)}%  loss ${p.loss.toFixed(4)}  ${fmtInt(p.samplesPerSec)} samples/s  ETA ${fmtDuration(p.etaSeconds)}`;
}

/** Throttled drawing (at most every `everyMs`) so the bar does not slow training down. */
export function progressDrawer(raw: (s: string) => void, everyMs = 100): { draw(p: Progress): void; clear(): void } {
  let last = 0;
  let drawn = false;
  return {
    draw(p) {
      const t = Date.now();
      if (t - last < everyMs && p.batch !== p.numBatches) return;
      last = t;
      drawn = true;
      raw(`\r${progressLine(p)}\x1b[K`);
    },
    clear() {
      if (drawn) raw('\r\x1b[K');
      drawn = false;
    },
  };
}
