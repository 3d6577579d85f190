/**
 * descent sweep --queue and descent worker against a real redis-server (started here on a free port
 * in a temporary folder, stopped after): three workers give every trial the same curve, bit for
 * bit, as the local pool; one worker is killed with SIGKILL in the middle of a trial and another
 * kills itself right after storing a result, before its job is marked done; every trial still ends
 * recorded exactly once. In the system suite (`npm run test:system`): it needs `redis-server`, which
 * `.ci/run` installs.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli } from '../cli/run-cli.js';
import { connectRedis } from '../../src/sweep/redis.js';
import { tempDir } from '../tmp-dir.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const started: ChildProcess[] = [];
after(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = tempDir('redis-');
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  started.push(p);
  for (let i = 0; i < 100; i++) {
    try {
      (await connectRedis({ host: '127.0.0.1', port, db: 0 }, 1000)).disconnect();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { port, stop: () => new Promise<void>((r) => (p.exitCode !== null ? r() : (p.on('exit', () => r()), p.kill('SIGTERM')))) };
}

interface Worker {
  proc: ChildProcess;
  log: string;
  exited: Promise<NodeJS.Signals | number | null>;
}

function startWorker(port: number, env: Record<string, string> = {}): Worker {
  const proc = spawn(process.execPath, [bin, 'worker', '--queue', `redis://127.0.0.1:${port}`, '--lock-seconds', '2'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  started.push(proc);
  const w: Worker = { proc, log: '', exited: new Promise((r) => proc.on('exit', (code, signal) => r(signal ?? code))) };
  proc.stderr!.on('data', (d) => (w.log += d));
  return w;
}

const curveOf = (r: { curve: { step: number; trainLoss: number; testLoss: number; testAccuracy: number }[] }) =>
  r.curve.map((p) => [p.step, p.trainLoss, p.testLoss, p.testAccuracy]);
const resultsOf = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l));

test('three workers through Redis: the same curves as the local pool; a worker killed mid-trial and one killed after storing: every trial recorded once', async () => {
  const redis = await startRedis();
  const dir = tempDir('sweep-queue-');
  const args = [
    'sweep',
    '--workloads',
    'mlp',
    '--optimizers',
    'sgd,adam',
    '--space',
    'lr=log:1e-3:1e-1',
    '--sampler',
    'grid',
    '--points',
    '3',
    '--seeds',
    '2',
    '--limit',
    '1000',
    '--test-limit',
    '400',
    '--budget',
    '60',
    '--eval-every',
    '20',
    '--target',
    '0.99',
  ];
  const local = await cli(...args, '--workers', '2', '--out', join(dir, 'local.jsonl'));
  assert.equal(local.code, 0, local.err);

  const dies = startWorker(redis.port, { DESCENT_SWEEP_FAULT: 'die-after-store' });
  const killed = startWorker(redis.port);
  const survivor = startWorker(redis.port);
  const queued = cli(...args, '--out', join(dir, 'queue.jsonl'), '--queue', `redis://127.0.0.1:${redis.port}`);
  // SIGKILL the second worker as soon as it has taken a trial (its trial process needs far longer than this to finish one).
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (/trial [0-9a-f]{16}: started/.test(killed.log)) {
        clearInterval(t);
        killed.proc.kill('SIGKILL');
        resolve();
      }
    }, 5);
  });
  const q = await queued;
  assert.equal(q.code, 0, q.err);
  assert.equal(await killed.exited, 'SIGKILL');
  assert.doesNotMatch(killed.log, /: (reached|budget|diverged) \(/, 'the killed worker finished no trial');
  assert.equal(await dies.exited, 'SIGKILL', 'the faulty worker died after storing its first result');
  const stored = /trial ([0-9a-f]{16}): started/.exec(dies.log)![1];
  // The job of the result stored by the worker that died goes back to the queue once its lock
  // lapses and BullMQ's stalled check (every --lock-seconds) runs, and is found stored. The sweep
  // ends as soon as every result is stored, which can be before that: wait for it, up to a minute.
  const skipped = new RegExp(`trial ${stored}: already stored, skipped`);
  for (let waited = 0; !skipped.test(survivor.log) && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  assert.match(survivor.log, skipped);

  const a = resultsOf(join(dir, 'local.jsonl')),
    b = resultsOf(join(dir, 'queue.jsonl'));
  assert.equal(a.length, 12);
  assert.equal(b.length, 12);
  assert.equal(new Set(b.map((r) => r.id)).size, 12);
  const byId = new Map(a.map((r) => [r.id, r]));
  for (const r of b) {
    assert.ok(byId.has(r.id));
    assert.deepEqual(curveOf(r), curveOf(byId.get(r.id)), `trial ${r.id}`);
    assert.equal(r.steps, byId.get(r.id).steps);
  }
  const c = await connectRedis({ host: '127.0.0.1', port: redis.port, db: 0 });
  const keys = await c.keys('descent:sweep:*:results');
  assert.equal(keys.length, 1);
  assert.equal(await c.hlen(keys[0]), 12);
  c.disconnect();
  survivor.proc.kill('SIGTERM');
  assert.equal(await survivor.exited, 0);
  await redis.stop();
});
