/**
 * The `--queue` address of descent sweep and descent worker: `redis://[user:password@]host[:port][/db]`,
 * checked here so that each mistake names the option.
 */
import type { RedisTarget } from '../sweep/redis.js';

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
  if (path !== '' && !/^\d{1,2}$/.test(path))
    throw new RangeError(`--queue: the path is a database number (redis://HOST:PORT/0), got "/${path.slice(0, 30)}"`);
  const port = u.port === '' ? 6379 : Number(u.port);
  return {
    host: u.hostname || '127.0.0.1',
    port,
    db: path === '' ? 0 : Number(path),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  };
}
