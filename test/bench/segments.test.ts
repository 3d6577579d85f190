/**
 * The benchmark children's segment protocol (bench/common.ts serveSegments): the untimed lead-in
 * before each timed segment, which keeps a framework from being timed just after an idle pause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastestSegmentSamplesPerSec, serveSegments, type Measurement, type Trainer } from '../../bench/common.js';

/** A trainer whose step busy-waits `ms` and counts its calls. */
function fakeTrainer(ms: number): Trainer & { calls: number } {
  const t = {
    framework: 'fake',
    workload: 'W1' as const,
    batch: 8,
    calls: 0,
    step: () => {
      t.calls++;
      const end = performance.now() + ms;
      while (performance.now() < end) {
        /* busy */
      }
      return 1;
    },
  };
  return t;
}

async function serve(
  t: Trainer,
  lines: string[],
): Promise<{ replies: Record<string, unknown>[]; m: Awaited<ReturnType<typeof serveSegments>> }> {
  const out: string[] = [];
  const m = await serveSegments(t, {
    lines: (async function* () {
      yield* lines;
    })(),
    write: (s) => out.push(s),
  });
  return {
    replies: out
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
    m,
  };
}

test('a timed segment follows untimed lead-in steps, which are not measured', async () => {
  const t = fakeTrainer(1);
  const { replies, m } = await serve(t, ['warm 2 1000', 'run 3 1000 40', 'done']);
  assert.deepEqual(replies[0], { ready: true });
  assert.equal((replies[1].times as number[]).length, 2);
  assert.equal(replies[1].lead, 0, 'a warm-up segment has no lead-in');
  const lead = replies[2].lead as number;
  // 40 steps on an idle machine; fewer when the process is preempted (the lead-in is 40 ms of wall
  // time), but never none: a lead-in runs at least one step.
  assert.ok(lead >= 1, `untimed steps expected in a 40 ms lead-in of 1 ms steps, got ${lead}`);
  assert.equal((replies[2].times as number[]).length, 3);
  assert.equal(t.calls, 2 + lead + 3, 'the lead-in steps are real steps');
  assert.equal((m.extra as { steps: number }).steps, 3, 'only the timed steps are measured');
});

test('no lead-in for a framework whose step takes more than half of it', async () => {
  const t = fakeTrainer(25);
  const { replies } = await serve(t, ['warm 1 1000', 'run 2 1000 40', 'done']);
  assert.equal(replies[2].lead, 0);
  assert.equal(t.calls, 1 + 2);
});

test('without a lead-in argument a segment starts at once', async () => {
  const t = fakeTrainer(1);
  const { replies } = await serve(t, ['warm 1 1000', 'run 2 1000', 'done']);
  assert.equal(replies[2].lead, 0);
  assert.equal(t.calls, 3);
});

test("a row's fastest segment: batch over its least segment median; null without segments", () => {
  const row = (extra: Record<string, unknown> | undefined): Measurement => ({
    framework: 'fake',
    workload: 'W1',
    value: 1,
    unit: 'samples/s',
    peakMiB: null,
    extra,
  });
  assert.equal(fastestSegmentSamplesPerSec(row({ batch: 128, segmentMedianMs: [3, 2, 2.5] })), 64_000);
  assert.equal(fastestSegmentSamplesPerSec(row({ batch: 64, segmentMedianMs: [40] })), 1_600);
  assert.equal(fastestSegmentSamplesPerSec(row({ batch: 128, segmentMedianMs: [] })), null);
  assert.equal(fastestSegmentSamplesPerSec(row({ segmentMedianMs: [2] })), null);
  assert.equal(fastestSegmentSamplesPerSec(row(undefined)), null);
});
