/**
 * descent worker: take sweep trials from a BullMQ queue in Redis and run them, one at a time, until
 * stopped (SIGINT or SIGTERM finish the running trial's bookkeeping and close the connections).
 * Start one per core on any number of machines that can reach the Redis server and have the data.
 */
import type { Command, Io } from '../command.js';
import { UsageError, type OptSpec, type Parsed } from '../args.js';
import { connectRedis } from '../../sweep/redis.js';
import { parseRedisUrl } from '../redis-url.js';

const workerOptions: OptSpec[] = [
  {
    name: 'queue',
    type: 'string',
    metavar: 'redis://HOST:PORT[/DB]',
    help: 'the Redis server that descent sweep --queue puts trials on (required)',
  },
  {
    name: 'lock-seconds',
    type: 'number',
    gt: 0,
    max: 3600,
    default: 30,
    help: 'a trial whose worker has not renewed its lock for this long (the worker died) goes back to the queue',
  },
];

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run sweep trials taken from a Redis queue (start on any number of machines)',
  options: workerOptions,
  helpExtra: 'Example: descent worker --queue redis://10.0.0.5:6379 (then descent sweep ... --queue redis://10.0.0.5:6379 anywhere)',
  async run(o: Parsed, io: Io) {
    if (o.queue === undefined) throw new UsageError('--queue: give the Redis server, e.g. --queue redis://HOST:6379');
    let target;
    try {
      target = parseRedisUrl(o.queue);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    (await connectRedis(target)).disconnect();
    const { runWorker } = await import('../../sweep/queue.js');
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    io.err(`descent worker ${process.pid}: taking trials from ${target.host}:${target.port}/${target.db}`);
    await runWorker(
      target,
      {
        lockSeconds: o.lockSeconds,
        dieAfterStore: process.env.DESCENT_SWEEP_FAULT === 'die-after-store',
        onStart: (id) => io.err(`trial ${id}: started`),
        onError: (e) => io.err(`descent worker ${process.pid}: ${e.message}`),
        onTrial: (id, r, skipped) =>
          io.err(
            skipped ? `trial ${id}: already stored, skipped` : `trial ${id}: ${r!.status} (${r!.steps} steps, ${r!.seconds.toFixed(1)} s)`,
          ),
      },
      stop.signal,
    );
  },
};
