/**
 * A small Redis connection speaking RESP2 over one TCP socket, shaped like the raw client BullMQ's
 * Bun adapter wraps (`send(command, args)`, `connected`, `onconnect`/`onclose`, `connect()`,
 * `close()`, `duplicate()`), so BullMQ runs on it through its own adapter.
 *
 * Why not ioredis: BullMQ loads ioredis only through `require` (absent in an ES module) and the
 * package is not among descent's dependencies; this file needs nothing but `node:net`. Replies map
 * to JavaScript as RESP2 defines: simple and bulk strings → string (bulk: UTF-8), integers →
 * number, null bulk/array → null, arrays → arrays, an error reply → a rejected Error (inside an
 * array, an Error value, as EXEC's results need). Replies come back in the order commands were
 * sent (Redis's guarantee on one connection), so the pending commands are a FIFO.
 */
import { Socket, createConnection } from 'node:net';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  password?: string;
  username?: string;
}

type Reply = string | number | null | Error | Reply[];

/** Parse one reply from `buf` at `pos`: [value, next position], or null when the buffer ends first. */
function parseReply(buf: Buffer, pos: number): [Reply, number] | null {
  if (pos >= buf.length) return null;
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return [line, next];
    case '-':
      return [new Error(line), next];
    case ':':
      return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out: Reply[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) return null;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default:
      throw new Error(`redis: unexpected reply type "${type}"`);
  }
}

function encode(command: string, args: readonly unknown[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length + 1}\r\n`)];
  for (const a of [command, ...args]) {
    const b = Buffer.isBuffer(a) ? a : a instanceof Uint8Array ? Buffer.from(a) : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export class RedisConnection {
  connected = false;
  onconnect: () => void = () => {};
  onclose: (error?: Error) => void = () => {};
  onerror: (error: Error) => void = () => {};
  private socket: Socket | null = null;
  private closing = false;
  private buf: Buffer = Buffer.alloc(0);
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];

  constructor(readonly target: RedisTarget, readonly connectTimeoutMs = 5000) {}

  /** Open the socket, authenticate and select the database. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: this.target.host, port: this.target.port });
      s.setNoDelay(true);
      const timer = setTimeout(() => s.destroy(new Error(`timed out after ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      let opened = false;
      s.on('connect', async () => {
        clearTimeout(timer);
        opened = true;
        this.connected = true;
        try {
          if (this.target.password !== undefined) await this.send('AUTH', this.target.username ? [this.target.username, this.target.password] : [this.target.password]);
          if (this.target.db) await this.send('SELECT', [this.target.db]);
        } catch (e) {
          s.destroy();
          reject(e);
          return;
        }
        this.onconnect();
        resolve();
      });
      s.on('data', (d) => this.receive(d));
      s.on('error', (e) => {
        clearTimeout(timer);
        if (!opened) reject(e);
        else this.onerror(e);
      });
      s.on('close', () => {
        const was = this.connected;
        this.connected = false;
        // Commands cut off by close() end with null, as an orderly shutdown; by a lost connection, with an error.
        const err = new Error('Connection closed');
        for (const p of this.pending.splice(0)) (this.closing ? p.resolve(null) : p.reject(err));
        if (opened && was) this.onclose(err);
      });
      this.socket = s;
    });
  }

  private receive(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let pos = 0;
    for (;;) {
      const r = parseReply(this.buf, pos);
      if (!r) break;
      pos = r[1];
      const p = this.pending.shift();
      if (!p) continue;
      if (r[0] instanceof Error) p.reject(r[0]);
      else p.resolve(r[0]);
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  send(command: string, args: readonly unknown[] = []): Promise<any> {
    if (!this.socket || !this.connected) return Promise.reject(new Error('Connection is closed.'));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket!.write(encode(command, args));
    });
  }

  close(): void {
    this.closing = true;
    this.socket?.destroy();
  }

  get(key: string): Promise<string | null> {
    return this.send('GET', [key]);
  }

  smembers(key: string): Promise<string[]> {
    return this.send('SMEMBERS', [key]);
  }

  incr(key: string): Promise<number> {
    return this.send('INCR', [key]);
  }

  /** The same as close(); BullMQ recognises a client instance by connect, disconnect and duplicate. */
  disconnect(): void {
    this.close();
  }

  /** A new, unconnected connection to the same server (BullMQ opens one per blocking reader). */
  async duplicate(): Promise<RedisConnection> {
    return new RedisConnection(this.target, this.connectTimeoutMs);
  }
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
