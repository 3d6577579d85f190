/** descent surface: --json equals PyTorch's trajectories (the optim fixtures), table output, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cli } from './run-cli.js';
import { assertClose } from '../helpers.js';

function flags(options: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(options)) {
    const name = `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (typeof v === 'boolean') out.push(v ? name : `--no-${name.slice(2)}`);
    else if (Array.isArray(v)) out.push(name, v.join(','));
    else out.push(name, String(v));
  }
  return out;
}

const surf = JSON.parse(readFileSync(new URL('../../../test/fixtures/optim/surfaces.json', import.meta.url), 'utf8'));

test("descent surface --json equals PyTorch's trajectory for every optimizer and setting of the fixtures", async () => {
  for (const c of surf.cases) {
    // The fixtures are PyTorch 1.13's, whose NAdam is --legacy-mu-product (the default is 2.0's rule).
    const legacy = c.key === 'nadam' ? ['--legacy-mu-product'] : [];
    const args = [
      'surface',
      '--fn',
      c.problem,
      '--optimizer',
      c.key,
      '--start',
      c.start.join(','),
      '--steps',
      String(c.steps),
      ...flags(c.options),
      ...legacy,
      '--json',
    ];
    const r = await cli(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    const j = JSON.parse(r.out);
    assert.deepEqual(Object.keys(j), ['fn', 'optimizer', 'options', 'trace']);
    assert.equal(j.fn, c.problem);
    assert.equal(j.trace.length, c.steps + 1);
    j.trace.forEach((s: { t: number; x: number[]; f: number }, t: number) => {
      assert.equal(s.t, t);
      assertClose(s.x, c.x[t], 1e-9, `${args.join(' ')} x at t=${t}`);
      assertClose(s.f, c.f[t], 1e-9, `${args.join(' ')} f at t=${t}`);
    });
  }
});

test("descent surface --optimizer nadam by default follows PyTorch 2.0's rule (tools/golden_nadam2.py)", async () => {
  const nadam2 = JSON.parse(readFileSync(new URL('../../../test/fixtures/optim/nadam2.json', import.meta.url), 'utf8'));
  for (const c of nadam2.surfaces) {
    const args = [
      'surface',
      '--fn',
      c.problem,
      '--optimizer',
      'nadam',
      '--start',
      c.start.join(','),
      '--steps',
      String(c.steps),
      ...flags(c.options),
      '--json',
    ];
    const j = JSON.parse((await cli(...args)).out);
    j.trace.forEach((s: { x: number[] }, t: number) => assertClose(s.x, c.x[t], 1e-9, `${args.join(' ')} x at t=${t}`));
  }
});

test('momentum and nesterov are SGD with momentum 0.9 unless given', async () => {
  const a = JSON.parse((await cli('surface', '--fn', 'bowl', '--optimizer', 'nesterov', '--lr', '0.01', '--steps', '5', '--json')).out);
  const b = JSON.parse(
    (
      await cli(
        'surface',
        '--fn',
        'bowl',
        '--optimizer',
        'sgd',
        '--lr',
        '0.01',
        '--momentum',
        '0.9',
        '--nesterov',
        '--steps',
        '5',
        '--json',
      )
    ).out,
  );
  assert.deepEqual(a.trace, b.trace);
  assert.deepEqual(a.options, { momentum: 0.9, nesterov: true, lr: 0.01 });
  const c = JSON.parse(
    (await cli('surface', '--fn', 'bowl', '--optimizer', 'momentum', '--momentum', '0.5', '--steps', '2', '--json')).out,
  );
  assert.equal(c.options.momentum, 0.5);
});

test('noise with a seed is reproducible and changes the path', async () => {
  const run = async (seed: string) =>
    JSON.parse(
      (
        await cli(
          'surface',
          '--fn',
          'saddle',
          '--optimizer',
          'sgd',
          '--lr',
          '0.1',
          '--steps',
          '20',
          '--noise',
          '0.1',
          '--seed',
          seed,
          '--json',
        )
      ).out,
    );
  assert.deepEqual(await run('3'), await run('3'));
  assert.notDeepEqual((await run('3')).trace, (await run('4')).trace);
});

test('the table says converged, diverged or not converged', async () => {
  const ok = await cli('surface', '--fn', 'bowl', '--optimizer', 'sgd', '--lr', '0.1', '--steps', '400');
  assert.equal(ok.code, 0);
  assert.match(ok.out, /converged: ‖∇f‖ ≤ 0.000001 from step \d+/);
  assert.match(ok.out, /nearest minimum \(0, 0\)/);
  const bad = await cli('surface', '--fn', 'bowl', '--optimizer', 'sgd', '--lr', '0.3', '--steps', '1000');
  assert.match(bad.out, /^diverged at step \d+: \|x\| or \|y\| above 1e8 \(x = \S+, y = \S+\)$/m);
  // finite values past the bound: the line states the bound, not a finite range
  const far = await cli('surface', '--fn', 'rosenbrock', '--optimizer', 'sgd', '--lr', '10', '--steps', '50');
  assert.match(far.out, /^diverged at step 2: \|x\| or \|y\| above 1e8 \(x = -4\.001276e\+13, y = 9\.284565e\+9\)$/m);
  const slow = await cli('surface', '--fn', 'rosenbrock', '--optimizer', 'sgd', '--lr', '1e-4', '--steps', '30');
  assert.match(slow.out, /not converged after 30 steps/);
  assert.match(slow.out, /^\s+30\s/m);
});

test('surface errors name the option', async () => {
  const cases: [string[], RegExp][] = [
    [['--fn', 'banana'], /--fn: unknown value "banana"; expected one of bowl, saddle, twowells, rosenbrock, beale, himmelblau, rastrigin/],
    [['--optimizer', 'adamx'], /--optimizer: unknown optimizer "adamx"/],
    [['--optimizer', 'adam', '--momentum', '0.9'], /--momentum does not apply to optimizer adam/],
    [['--optimizer', 'adam', '--betas', '1,0.9'], /Adam: invalid betas\[0\] 1; expected in \[0, 1\)/],
    [['--optimizer', 'sgd', '--nesterov'], /SGD: invalid nesterov/],
    [['--start', '1'], /--start: expected 2 comma-separated numbers, got "1"/],
    [['--lr', '-1'], /--lr: -1 is out of range/],
  ];
  for (const [args, re] of cases) {
    const r = await cli('surface', ...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.err, re, args.join(' '));
  }
});
