/**
 * A sweep's results file: JSON Lines, a header line naming the sweep, then one finished trial per line.
 *
 *   {"format":"descent-sweep","version":1,"sweep":"<spec hash>","spec":{…}}
 *   {"id":"<trial hash>","spec":{…},"status":"reached","curve":[…],…}
 *
 * Each result is appended with one write() of the whole line (O_APPEND) and fsync'd, so a crash
 * leaves at most a torn last line (no newline at its end): opening the file detects it and cuts the
 * file back to the last complete line. A torn line anywhere else is not a crash's work and is
 * refused. The header's hash is the sweep's spec hash: a file of another sweep is refused with both
 * hashes rather than mixed in. A trial id already in the file is never appended again, so a trial
 * that two workers finished is recorded once.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { writeFileAtomic } from '../io/files.js';
import type { TrialResult } from './trial.js';

export const RESULTS_FORMAT = 'descent-sweep';

export interface ResultsHeader {
  format: typeof RESULTS_FORMAT;
  version: 1;
  sweep: string;
  spec: unknown;
}

export class ResultsFileError extends Error {
  override name = 'ResultsFileError';
}

export class ResultsFile {
  readonly results = new Map<string, TrialResult>();
  /** Bytes of a torn last line removed when the file was opened (0: none). */
  readonly repaired: number = 0;

  private constructor(
    readonly path: string,
    readonly header: ResultsHeader,
    repaired: number,
  ) {
    this.repaired = repaired;
  }

  /** Open (or create) the results file of the sweep `header` describes. */
  static open(path: string, header: ResultsHeader): ResultsFile {
    if (!existsSync(path)) {
      writeFileAtomic(path, `${JSON.stringify(header)}\n`, 'results file');
      return new ResultsFile(path, header, 0);
    }
    const text = readFileSync(path, 'utf8');
    let good = text.length;
    let repaired = 0;
    if (!text.endsWith('\n')) {
      // A line without its newline is the one a crash cut short (JSON or not: its newline never reached the disk).
      good = text.lastIndexOf('\n') + 1;
      repaired = text.length - good;
    }
    const lines = text.slice(0, good).split('\n').slice(0, -1);
    if (lines.length === 0)
      throw new ResultsFileError(`results file ${path}: empty or cut short before its header; delete it or give another --out`);
    let head: ResultsHeader;
    try {
      head = JSON.parse(lines[0]);
    } catch {
      throw new ResultsFileError(`results file ${path}: the first line is not a sweep header (not written by descent sweep?)`);
    }
    if (head.format !== RESULTS_FORMAT)
      throw new ResultsFileError(`results file ${path}: not a descent sweep results file (format ${JSON.stringify(head.format)})`);
    if (head.sweep !== header.sweep) {
      throw new ResultsFileError(
        `results file ${path} belongs to a different sweep (spec hash ${head.sweep}, this sweep's is ${header.sweep}); give the same options as that sweep, or another --out`,
      );
    }
    const f = new ResultsFile(path, head, repaired);
    for (let i = 1; i < lines.length; i++) {
      let r: TrialResult;
      try {
        r = JSON.parse(lines[i]);
      } catch {
        throw new ResultsFileError(
          `results file ${path}: line ${i + 1} is not valid JSON (only a last line cut short by a crash is repaired)`,
        );
      }
      if (!f.results.has(r.id)) f.results.set(r.id, r);
    }
    if (repaired) writeFileAtomic(path, text.slice(0, good), 'results file');
    return f;
  }

  has(id: string): boolean {
    return this.results.has(id);
  }

  /** Append a result unless its trial is already recorded; returns whether it was appended. */
  append(r: TrialResult): boolean {
    if (this.results.has(r.id)) return false;
    const fd = openSync(this.path, 'a');
    try {
      const bytes = Buffer.from(`${JSON.stringify(r)}\n`);
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.results.set(r.id, r);
    return true;
  }
}
