/**
 * Redis connections for the sweep queue: ioredis clients built from a `redis://HOST:PORT[/DB]`
 * address, handed to BullMQ as ready client instances (BullMQ's ES module build cannot load
 * ioredis itself) and used directly for the sweep's result hash.
 *
 * Fail fast, then hold on: the first connect makes one attempt (bounded by `timeoutMs`) and a
 * failure becomes one line naming the address and the reason; once a client has been ready, a lost
 * connection is retried every 0.2–2 s for as long as the process runs, so a worker or a sweep rides
 * out a Redis restart. Every client has `maxRetriesPerRequest: null`, which BullMQ requires of the
 * clients its Workers use and which makes a command wait for the reconnect instead of failing.
 * ioredis is loaded on first connect, so commands that only parse an address do not load it.
 */
import type { Redis } from 'ioredis';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  password?: string;
  username?: string;
}

/** The parts of a `redis://[user:password@]host[:port][/db]` address. */
export function parseRedisUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`--queue: "${url.slice(0, 60)}" is not an address; expected redis://HOST:PORT or redis://HOST:PORT/DB`);
  }
  if (u.protocol !== 'redis:') throw new RangeError(`--queue: expected a redis:// address, got ${u.protocol}//…`);
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) throw new RangeError(`--queue: the path is a database number (redis://HOST:PORT/0), got "/${path.slice(0, 30)}"`);
  const port = u.port === '' ? 6379 : Number(u.port);
  return {
    host: u.hostname || '127.0.0.1', port, db: path === '' ? 0 : Number(path),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  };
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
    throw new Error(`cannot reach Redis at ${target.host}:${target.port}: ${reason}${err.code === 'ECONNREFUSED' ? ' (is redis-server running there?)' : ''}`);
  }
  ready = true;
  return client;
}
