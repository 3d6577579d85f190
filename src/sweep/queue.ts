/**
 * Trials over Redis with BullMQ, for sweeps spread over many machines.
 *
 *   descent sweep --queue URL   adds each unfinished trial as a job whose id is
 *                               `<sweep hash>-<trial id>` (BullMQ ignores a job id it already
 *                               holds), then polls the sweep's result hash and appends every new
 *                               result to its results file until all trials are in
 *   descent worker --queue URL  takes jobs one at a time, runs each in a trial process
 *                               (child.ts) and stores the result with HSETNX under
 *                               descent:sweep:<hash>:results / <trial id>
 *
 * Exactly once: the result key is the trial's id and HSETNX writes it only if absent, so a trial
 * run twice (its worker died after storing the result but before BullMQ marked the job done, or a
 * job re-added by a restarted sweep) is stored once; a worker that finds the key set skips the run.
 * The sweep appends an id to its file only if the file does not hold it yet.
 * Nothing is lost: a worker killed mid-trial stops renewing its job's lock; after `lockSeconds`
 * BullMQ's stalled-job check (run by every live worker) puts the job back in the queue, and another
 * worker takes it. Trials run in a child process so the worker's event loop stays free to renew
 * its lock while a long trial computes.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { connectRedis, type RedisTarget } from './redis.js';
import { TrialProcess } from './pool.js';
import { trialId, type TrialResult, type TrialSpec } from './trial.js';

export const QUEUE_NAME = 'descent-sweep';

export interface TrialJob {
  sweep: string;
  trial: TrialSpec;
}

export function resultsKey(sweep: string): string {
  return `descent:sweep:${sweep}:results`;
}

/** Add the trials to the queue (ids make this idempotent) and collect results into `onResult` until every trial has one. */
export async function runQueue(
  target: RedisTarget,
  sweep: string,
  trials: readonly TrialSpec[],
  o: { onResult: (r: TrialResult) => void; onProgress?: (p: { done: number; total: number; elapsed: number }) => void; pollMs?: number },
): Promise<void> {
  const reader = await connectRedis(target);
  // BullMQ leaves a client it was given open when it closes (the caller owns it): closed below.
  const own = await connectRedis(target).catch((e) => {
    reader.disconnect();
    throw e;
  });
  const queue = new Queue<TrialJob>(QUEUE_NAME, { connection: own });
  // A lost connection is retried (redis.ts) and the commands below wait for it; BullMQ's error events would otherwise be thrown.
  queue.on('error', () => {});
  const t0 = Date.now();
  try {
    const key = resultsKey(sweep);
    const seen = new Set<string>();
    const collect = async () => {
      const stored = await reader.hgetall(key);
      for (const [id, json] of Object.entries(stored)) {
        if (seen.has(id)) continue;
        seen.add(id);
        o.onResult(JSON.parse(json));
      }
    };
    await collect();
    const todo = trials.filter((t) => !seen.has(trialId(t)));
    if (todo.length) {
      await queue.addBulk(
        todo.map((t) => ({
          name: 'trial',
          data: { sweep, trial: t },
          opts: { jobId: `${sweep}-${trialId(t)}`, attempts: 5, removeOnComplete: true, removeOnFail: false },
        })),
      );
    }
    const ids = new Set(trials.map(trialId));
    const done = () => [...ids].filter((id) => seen.has(id)).length;
    while (done() < ids.size) {
      o.onProgress?.({ done: done(), total: ids.size, elapsed: (Date.now() - t0) / 1000 });
      await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
      await collect();
      const failed = await queue.getFailed(0, 0);
      const mine = failed.find((j) => j.data.sweep === sweep && !seen.has(trialId(j.data.trial)));
      if (mine) throw new Error(`trial ${trialId(mine.data.trial)} failed on a worker: ${mine.failedReason}`);
    }
    o.onProgress?.({ done: done(), total: ids.size, elapsed: (Date.now() - t0) / 1000 });
  } finally {
    await queue.close();
    own.disconnect();
    reader.disconnect();
  }
}

export interface WorkerOptions {
  /** Seconds a job's lock lasts without renewal before another worker may take the job back (BullMQ's lockDuration). */
  lockSeconds?: number;
  /** Called when a job is taken (for the worker's log). */
  onStart?: (id: string) => void;
  /** Called after each trial (for the worker's log). */
  onTrial?: (id: string, r: TrialResult | null, skipped: boolean) => void;
  /**
   * Fault injection for the tests of the exactly-once rule: kill this process (SIGKILL) right
   * after it stored a result and before the job is marked done.
   */
  dieAfterStore?: boolean;
  /** Called on an error outside a trial (a lost connection being retried). */
  onError?: (e: Error) => void;
}

/** Run a worker until `signal` aborts; resolves when it has shut down. */
export async function runWorker(target: RedisTarget, o: WorkerOptions, signal: AbortSignal): Promise<void> {
  const store = await connectRedis(target);
  const own = await connectRedis(target).catch((e) => {
    store.disconnect();
    throw e;
  });
  const proc = new TrialProcess();
  const lock = (o.lockSeconds ?? 30) * 1000;
  const worker = new Worker<TrialJob>(
    QUEUE_NAME,
    async (job: Job<TrialJob>) => {
      const { sweep, trial } = job.data;
      const id = trialId(trial);
      const key = resultsKey(sweep);
      o.onStart?.(id);
      if (await store.hexists(key, id)) {
        o.onTrial?.(id, null, true);
        return 'stored before';
      }
      const r = await proc.run(trial);
      await store.hsetnx(key, id, JSON.stringify(r));
      if (o.dieAfterStore) process.kill(process.pid, 'SIGKILL');
      o.onTrial?.(id, r, false);
      return 'stored';
    },
    { connection: own, concurrency: 1, lockDuration: lock, stalledInterval: lock, maxStalledCount: 100 },
  );
  // Connection errors while the clients reconnect (redis.ts) are reported, not thrown.
  worker.on('error', (e) => o.onError?.(e));
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await worker.close();
  proc.close();
  own.disconnect();
  store.disconnect();
}
