/**
 * Trial processes (child.ts), forked and fed one trial at a time. The local pool runs N of them
 * over a list of trials; `descent worker` keeps one and hands it each job it takes from the queue.
 * A process that dies mid-trial is replaced and its trial handed out again (a trial is a pure
 * function of its spec, so running it twice gives the same result).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TrialResult, TrialSpec } from './trial.js';
import { trialId } from './trial.js';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

/** A trial that failed for a reason that running it again would not change (a bad spec). */
export class TrialError extends Error {
  override name = 'TrialError';
}

/** One trial process; `run` sends a trial and resolves with its result. */
export class TrialProcess {
  private proc: ChildProcess | null = null;
  private pending: { id: string; resolve: (r: TrialResult) => void; reject: (e: Error) => void } | null = null;

  private start(): ChildProcess {
    const p = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    p.on('message', (m: { id: string; result?: TrialResult; error?: string }) => {
      const w = this.pending;
      if (!w || w.id !== m.id) return;
      this.pending = null;
      if (m.error !== undefined) w.reject(new TrialError(m.error));
      else w.resolve(m.result!);
    });
    p.on('exit', (code, signal) => {
      if (this.proc === p) this.proc = null;
      const w = this.pending;
      this.pending = null;
      w?.reject(new Error(`trial process exited (${signal ?? `code ${code}`}) during trial ${w.id}`));
    });
    this.proc = p;
    return p;
  }

  run(trial: TrialSpec): Promise<TrialResult> {
    if (this.pending) throw new Error('TrialProcess: one trial at a time');
    const p = this.proc ?? this.start();
    const id = trialId(trial);
    return new Promise((resolve, reject) => {
      this.pending = { id, resolve, reject };
      p.send({ id, trial });
    });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  close(): void {
    const p = this.proc;
    this.proc = null;
    if (p && p.connected) p.disconnect();
  }
}

export interface PoolProgress {
  done: number;
  running: number;
  total: number;
  /** Seconds since the pool started. */
  elapsed: number;
}

/**
 * Run `trials` on `workers` processes. `onResult` is called as each finishes (the caller appends it
 * to the results file); a trial whose process dies is retried up to `retries` times.
 */
export async function runPool(
  trials: readonly TrialSpec[],
  o: { workers: number; onResult: (r: TrialResult) => void; onProgress?: (p: PoolProgress) => void; retries?: number },
): Promise<void> {
  const queue = [...trials];
  const tries = new Map<string, number>();
  const t0 = Date.now();
  let done = 0,
    running = 0;
  const report = () => o.onProgress?.({ done, running, total: trials.length, elapsed: (Date.now() - t0) / 1000 });
  const procs = Array.from({ length: Math.max(1, Math.min(o.workers, trials.length)) }, () => new TrialProcess());
  let failure: Error | null = null;
  const lane = async (p: TrialProcess) => {
    while (queue.length && !failure) {
      const t = queue.shift()!;
      running++;
      report();
      try {
        const r = await p.run(t);
        running--;
        done++;
        o.onResult(r);
      } catch (e) {
        running--;
        const id = trialId(t);
        const n = (tries.get(id) ?? 0) + 1;
        tries.set(id, n);
        if (e instanceof TrialError || n > (o.retries ?? 2)) failure ??= e as Error;
        else queue.push(t);
      }
      report();
    }
  };
  try {
    await Promise.all(procs.map(lane));
  } finally {
    for (const p of procs) p.close();
  }
  if (failure) throw failure;
}
