/**
 * The optimizer hyper-parameter flags `descent train` shares with `descent surface`
 * (src/cli/optimizer-flags.ts): each reaches the optimizer, is checked by it before any data is
 * loaded, is refused for an optimizer that does not read it, and is kept by --resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { tempDir } from '../tmp-dir.js';

const tiny = ['--data', 'embedded', '--limit', '200', '--test-limit', '100', '--epochs', '1'];

/** The optimizer's settings as train's model line prints them. */
function settings(out: string): string {
  const line = out.split('\n').find((l) => l.startsWith('model: '));
  assert.ok(line, out);
  return line.replace(/^.*optimizer: /, '').replace(/, seed .*$/, '');
}

test('train passes the Adam and RMSprop flags surface has to the optimizer', async () => {
  const adam = await cli('train', ...tiny, '--optimizer', 'adam', '--betas', '0.8,0.99', '--eps', '1e-6', '--amsgrad');
  assert.equal(adam.code, 0, adam.err);
  assert.match(settings(adam.out), /^Adam \{"lr":0\.001,"betas":\[0\.8,0\.99\],"eps":0\.000001,.*"amsgrad":true,/);
  const rms = await cli('train', ...tiny, '--optimizer', 'rmsprop', '--lr', '0.001', '--alpha', '0.9', '--centered', '--eps-inside-sqrt');
  assert.equal(rms.code, 0, rms.err);
  assert.match(settings(rms.out), /^RMSprop \{"lr":0\.001,"alpha":0\.9,.*"centered":true,.*"epsInsideSqrt":true,/);
  const ada = await cli('train', ...tiny, '--optimizer', 'adagrad', '--lr-decay', '0.01', '--initial-accumulator-value', '0.1');
  assert.equal(ada.code, 0, ada.err);
  assert.match(settings(ada.out), /"lrDecay":0\.01,.*"initialAccumulatorValue":0\.1/);
});

test('train checks each such flag before loading data, and refuses one the optimizer does not read', async () => {
  for (const [args, re] of [
    [['--optimizer', 'adam', '--betas', '2,0.9'], /^descent train: --optimizer adam: Adam: invalid betas\[0\] 2; expected in \[0, 1\)$/],
    [['--optimizer', 'adam', '--betas', '0.9'], /^descent train: --betas: expected 2 comma-separated numbers/],
    [['--optimizer', 'adam', '--eps', '-1'], /^descent train: --eps: -1 is out of range; expected a number ≥ 0$/],
    [['--optimizer', 'adadelta', '--rho', '2'], /^descent train: --optimizer adadelta: Adadelta: invalid rho 2; expected in \[0, 1\]$/],
    [
      ['--optimizer', 'adam', '--centered'],
      /^descent train: --centered does not apply to optimizer adam; it reads --lr, --betas, --eps, --weight-decay, --amsgrad, --maximize, --eps-inside-sqrt$/,
    ],
  ] as [string[], RegExp][]) {
    const r = await cli('train', ...tiny, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.out, '', 'refused before loading data');
  }
});

test("--resume keeps the run's hyper-parameter flags and refuses new ones", async () => {
  const ck = join(tempDir('descent-optflags-'), 'ck');
  const first = await cli('train', ...tiny, '--optimizer', 'adam', '--betas', '0.8,0.99', '--amsgrad', '--checkpoint-dir', ck);
  assert.equal(first.code, 0, first.err);
  const resumed = await cli('train', '--resume', ck, '--epochs', '2');
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal(settings(resumed.out), settings(first.out));
  const given = await cli('train', '--resume', ck, '--epochs', '3', '--eps', '1e-4');
  assert.equal(given.code, 2);
  assert.match(given.err, /^descent train: --eps: with --resume the run's settings come from the checkpoint/);
});
