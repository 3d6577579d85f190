/**
 * Redis connections for the sweep queue: ioredis clients built from a host, port and database (the
 * CLI reads them from `redis://HOST:PORT[/DB]` in src/cli/redis-url.ts), handed to BullMQ as ready
 * client instances (BullMQ's ES module build cannot load ioredis itself) and used directly for the
 * sweep's result hash.
 *
 * Fail fast, then hold on: the first connect makes one attempt (bounded by `timeoutMs`) and a
 * failure becomes one line naming the address and the reason; once a client has been ready, a lost
 * connection is retried every 0.2–2 s for as long as the process runs, so a worker or a sweep rides
 * out a Redis restart. Every client has `maxRetriesPerRequest: null`, which BullMQ requires of the
 * clients its Workers use and which makes a command wait for the reconnect instead of failing.
 * ioredis is loaded on the first connect, so importing this module costs the CLI nothing.
 */
import type { Redis } from 'ioredis';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  password?: string;
  username?: string;
}

/**
 * A connected ioredis client, or an Error with one line: `cannot reach Redis at HOST:PORT: REASON`.
 * The caller closes it with `disconnect()`; its `duplicate()`s (BullMQ's blocking
 * connections) reconnect like it.
 */
export async function connectRedis(target: RedisTarget, timeoutMs = 5000): Promise<Redis> {
  let ready = false;
  let lastError: (Error & { code?: string }) | undefined;
  const { Redis } = await import('ioredis');
  const client = new Redis({
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => (ready ? Math.min(times * 200, 2000) : null),
  });
  // Connection errors surface through connect() below, and after that through the commands that wait
  // for the reconnect; the listener keeps ioredis from printing each one.
  client.on('error', (e: Error) => {
    lastError = e;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    client.disconnect();
    const err = lastError ?? (e as Error & { code?: string });
    const reason = err.code ?? err.message;
    throw new Error(
      `cannot reach Redis at ${target.host}:${target.port}: ${reason}${err.code === 'ECONNREFUSED' ? ' (is redis-server running there?)' : ''}`,
    );
  }
  ready = true;
  return client;
}
