/**
 * The job protocol's claims (src/backend/wasm/protocol.ts), driven by hand on one thread so the
 * interleavings that threads produce only rarely can be set up exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { runParts, ticket, wake, TICKET, DONE, DONE_SLEEPERS, FN, NARGS, ARGS_BYTE, CTL_BYTES } from '../../src/backend/wasm/protocol.js';
import { initWasm, wasmFloat32Array, setWasmThreads } from '../../src/backend/wasm/index.js';

function block() {
  const buf = new SharedArrayBuffer(CTL_BYTES);
  return { i32: new Int32Array(buf), f64: new Float64Array(buf) };
}

/** Writes job `seq` (fn 0, one argument per part: its index), as the caller does before posting it. */
function post(i32: Int32Array, f64: Float64Array, seq: number, parts: number, postTicket = true): void {
  i32[FN] = 0;
  i32[NARGS] = 1;
  for (let p = 0; p < parts; p++) f64[ARGS_BYTE / 8 + p] = p;
  Atomics.store(i32, DONE, 0);
  if (postTicket) Atomics.store(i32, TICKET, ticket(seq, parts));
}

test('a thread runs every part of its job once, and none of another job', () => {
  const { i32, f64 } = block();
  const ran: number[] = [];
  post(i32, f64, 7, 5);
  assert.equal(runParts(i32, f64, 0, 7, [(p) => ran.push(p)]), 5);
  assert.deepEqual(ran, [0, 1, 2, 3, 4]);
  assert.equal(i32[DONE], 5);
  // a thread that woke for job 6 finds job 7's ticket and claims nothing
  assert.equal(runParts(i32, f64, 0, 6, [(p) => ran.push(p)]), 0);
  assert.equal(ran.length, 5);
});

test('the caller claims from the front and a worker from the back: every part runs once', () => {
  const { i32, f64 } = block();
  const byCaller: number[] = [],
    byWorker: number[] = [];
  post(i32, f64, 3, 6);
  // while the caller runs part 0, a worker claims from the back until nothing is left
  const fns = [
    (p: number) => {
      byCaller.push(p);
      if (p === 0) byWorker.push(runParts(i32, f64, 0, 3, [(q) => byWorker.push(q)], true));
    },
  ];
  assert.equal(runParts(i32, f64, 0, 3, fns), 1);
  assert.deepEqual(byCaller, [0]);
  assert.deepEqual(byWorker, [5, 4, 3, 2, 1, 5], 'parts 5…1 from the back, then the count of parts it ran');
  assert.equal(i32[DONE], 6);
  // the next job: a worker alone runs it all, from the back
  post(i32, f64, 4, 3);
  const order: number[] = [];
  assert.equal(runParts(i32, f64, 0, 4, [(p) => order.push(p)], true), 3);
  assert.deepEqual(order, [2, 1, 0]);
});

test('a claim takes a quarter of the parts left, and a thread adds its count to DONE once, when it is out of parts', () => {
  const { i32, f64 } = block();
  post(i32, f64, 5, 16);
  const byCaller: number[] = [],
    byWorker: number[] = [],
    doneSeen: number[] = [];
  const fns = [
    (p: number) => {
      byCaller.push(p);
      doneSeen.push(i32[DONE]);
      // while the caller runs part 0 of its first claim (parts 0–3), a worker takes the rest from the back
      if (p === 0) byWorker.push(runParts(i32, f64, 0, 5, [(q) => byWorker.push(q)], true));
    },
  ];
  assert.equal(runParts(i32, f64, 0, 5, fns), 4);
  assert.deepEqual(byCaller, [0, 1, 2, 3], 'the caller claimed 16 >> 2 = 4 parts at once');
  assert.deepEqual(
    byWorker,
    [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 12],
    'the worker: 3 (12 left), then 2, then one at a time, and its count',
  );
  assert.deepEqual(doneSeen, [0, 12, 12, 12], 'the worker added its 12 parts once; the caller adds its own only after its last part');
  assert.equal(i32[DONE], 16);
});

test('a finished job cannot be claimed while the caller writes the next, bigger one', () => {
  // The worker ran the last part of job 1 (2 parts); the caller saw them done and is writing job 2
  // (8 parts): the count and arguments are new, the ticket is still job 1's. A claim checked
  // against the count the caller is writing would take "part 2" of job 1 and run it on job 2's
  // half-written arguments.
  const { i32, f64 } = block();
  post(i32, f64, 1, 2);
  assert.equal(runParts(i32, f64, 0, 1, [() => {}]), 2);
  post(i32, f64, 2, 8, false);
  const stray: number[] = [];
  assert.equal(runParts(i32, f64, 0, 1, [(p) => stray.push(p)]), 0, `claimed parts ${stray} of a finished job`);
  assert.equal(runParts(i32, f64, 0, 1, [(p) => stray.push(p)], true), 0, `claimed parts ${stray} of a finished job from the back`);
  assert.equal(i32[TICKET], ticket(1, 2, 2), 'the ticket is untouched');
  assert.equal(i32[DONE], 0, "the next job's count of finished parts is untouched");
  Atomics.store(i32, TICKET, ticket(2, 8));
  const ran: number[] = [];
  assert.equal(runParts(i32, f64, 0, 2, [(p) => ran.push(p)]), 8);
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('jobs of alternating sizes on two threads give exact results (stress)', async () => {
  const wasm = await initWasm({ threads: 2 });
  setWasmThreads(2);
  // small products just above the threading threshold, with few and many parts in turn
  const shapes = [
    [64, 128, 96],
    [96, 512, 64],
    [48, 64, 256],
  ] as const;
  const ops = shapes.map(([m, n, k]) => {
    const a = wasmFloat32Array(m * k),
      b = wasmFloat32Array(k * n),
      c = wasmFloat32Array(m * n);
    for (let i = 0; i < a.length; i++) a[i] = (i % 7) - 3;
    for (let i = 0; i < b.length; i++) b[i] = (i % 5) - 2;
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        want[i * n + j] = s;
      }
    return { m, n, k, a, b, c, want };
  });
  for (let it = 0; it < 600; it++) {
    const o = ops[it % ops.length];
    o.c.fill(NaN);
    wasm.matmul(o.a, o.b, o.c, o.m, o.n, o.k, false, false);
    // small integers: every sum is exact in float32
    assert.deepEqual(o.c, o.want, `iteration ${it}, ${o.m}×${o.n}×${o.k}`);
  }
});

test('wake notifies only while a thread counts itself asleep; a blocked spinThenWait counts itself and is woken', async () => {
  const { i32 } = block();
  const real = Atomics.notify;
  let notifies = 0;
  Atomics.notify = ((a: Int32Array, i: number, n?: number) => {
    notifies++;
    return real(a, i, n);
  }) as typeof Atomics.notify;
  try {
    wake(i32, DONE, DONE_SLEEPERS);
    assert.equal(notifies, 0, 'nobody asleep: no notify');
    Atomics.store(i32, DONE_SLEEPERS, 1);
    wake(i32, DONE, DONE_SLEEPERS);
    assert.equal(notifies, 1, 'one asleep: one notify');
  } finally {
    Atomics.notify = real;
    Atomics.store(i32, DONE_SLEEPERS, 0);
  }
  // a thread blocked in spinThenWait (no spinning) shows in the count until the value it waits for arrives
  const url = new URL('../../src/backend/wasm/protocol.js', import.meta.url).href;
  const w = new Worker(
    `import(${JSON.stringify(url)}).then((p) => { const i32 = new Int32Array(require('node:worker_threads').workerData); p.spinThenWait(i32, p.DONE, (v) => v === 7, 0, p.DONE_SLEEPERS); i32[p.TICKET] = 1; require('node:worker_threads').parentPort.postMessage('done'); });`,
    { eval: true, workerData: i32.buffer },
  );
  try {
    const t0 = Date.now();
    while (Atomics.load(i32, DONE_SLEEPERS) !== 1) {
      assert.ok(Date.now() - t0 < 10_000, 'the waiting thread never counted itself');
      await new Promise((r) => setTimeout(r, 1));
    }
    const done = new Promise((r) => w.once('message', r));
    Atomics.store(i32, DONE, 7);
    wake(i32, DONE, DONE_SLEEPERS);
    await done;
    assert.equal(i32[TICKET], 1);
    assert.equal(Atomics.load(i32, DONE_SLEEPERS), 0, 'awake again: uncounted');
  } finally {
    await w.terminate();
  }
});
