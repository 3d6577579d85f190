/**
 * The CLI spellings of ConstantLR (constantlr), SWALR (swalr), ChainedScheduler (A*B) and
 * one-cycle's momentum cycle (cyclemom=true): each equals the library function it names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/run.js';
import type { Io } from '../../src/cli/command.js';
import * as S from '../../src/schedule/index.js';
import { assertClose } from '../helpers.js';

async function cli(...args: string[]) {
  const stdout: string[] = [],
    stderr: string[] = [];
  const io: Io = { out: (s) => stdout.push(s), err: (s) => stderr.push(s), raw: () => {}, tty: false };
  const code = await runCli(args, io);
  return { code, out: stdout.join(''), err: stderr.join('\n'), lines: stdout };
}
const parsed = (text: string, lr = 0.1, total?: number) => {
  const p = S.parseSchedule(text, { lr, total });
  assert.equal(p.kind, 'schedule');
  return p.kind === 'schedule' ? p.schedule : (undefined as never);
};

test('constantlr, swalr and A*B parse to the library functions', () => {
  assert.deepEqual(
    S.sample(parsed('constantlr:factor=0.5,T=3'), 6),
    S.sample(S.constantFactor({ lr: 0.1, factor: 0.5, totalSteps: 3 }), 6),
  );
  assert.deepEqual(S.sample(parsed('constantlr'), 7), S.sample(S.constantFactor({ lr: 0.1 }), 7));
  assert.deepEqual(
    S.sample(parsed('swalr:swa=0.01,T=4,anneal=linear', 0.2), 8),
    S.sample(S.swalr({ lr: 0.2, swaLr: 0.01, annealSteps: 4, anneal: 'linear' }), 8),
  );
  const chained = parsed('constantlr:factor=0.1,T=2 * expgamma:gamma=0.9', 1);
  // PyTorch's ChainedScheduler example: 0.1, 0.09, 0.81, 0.729, …
  assertClose(S.sample(chained, 5), [0.1, 0.09, 0.81, 0.729, 0.6561], 1e-15);
  // a chain as a segment of a sequence
  const seq = parsed('constantlr:factor=0.5,T=2*expgamma:gamma=0.5,for=3;constant', 1);
  assertClose(S.sample(seq, 5), [0.5, 0.25, 0.25, 1, 1], 1e-15);
});

test('onecycle cyclemom=true carries the momentum cycle; chains and sequences refuse it; errors name the part', () => {
  const s = parsed('onecycle:T=20,cyclemom=true,basemom=0.8,maxmom=0.9', 0.1) as S.MomentumSchedule;
  const lib = S.oneCycle({ maxLr: 0.1, totalSteps: 20, cycleMomentum: true, baseMomentum: 0.8, maxMomentum: 0.9 });
  assert.deepEqual(S.sample(s.momentum!, 20), S.sample(lib.momentum!, 20));
  assert.equal((parsed('onecycle:T=20', 0.1) as S.MomentumSchedule).momentum, undefined);
  assert.throws(() => parsed('onecycle:T=20,cyclemom=true,for=20;constant'), /join schedule: schedule 0 cycles the momentum/);
  assert.throws(() => parsed('onecycle:T=20,cyclemom=true*constantlr'), /chain schedule: schedule 0 cycles the momentum/);
  assert.throws(() => parsed('constantlr:lr=0.5*expgamma:gamma=0.9'), /part 1 of the chain .* gives lr=/);
  assert.throws(() => parsed('constantlr*plateau'), /plateau cannot be chained/);
  assert.throws(() => parsed('swalr'), /schedule swalr: missing swa=/);
});

test('descent schedule --json prints the momentum of a cycling one-cycle; --help lists the new spellings', async () => {
  const r = await cli('schedule', '--name', 'onecycle:cyclemom=true', '--lr', '0.1', '--steps', '12', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  const lib = S.oneCycle({ maxLr: 0.1, totalSteps: 12, cycleMomentum: true });
  assert.deepEqual(j.lr, S.sample(lib, 12));
  assert.deepEqual(j.momentum, S.sample(lib.momentum!, 12));
  const h = await cli('schedule', '--help');
  for (const n of ['constantlr', 'swalr', 'cyclemom', 'A*B']) assert.ok(h.out.includes(n), `help lacks ${n}`);
});

test('descent train refuses a momentum cycle for an optimizer without momentum or betas, before training', async () => {
  const tiny = ['--data', 'embedded', '--limit', '128', '--test-limit', '50', '--batch-size', '64', '--backend', 'reference', '--json'];
  const r = await cli('train', '--optimizer', 'adagrad', '--epochs', '1', '--schedule', 'onecycle:cyclemom=true', ...tiny);
  assert.equal(r.code, 2);
  assert.match(r.err, /--schedule: schedule: this schedule cycles the momentum, but the optimizer has neither momentum nor betas/);
  assert.equal(r.lines.length, 0, 'no epoch ran');
});
