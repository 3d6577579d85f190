/**
 * Optimizers without a fused update on the GPU (run by `npm run test:webgpu` on lavapipe): fitAsync
 * steps them with Optimizer.stepAsync, whose rule runs on the host on the parameters and gradients
 * read back and writes the update to the device: the wasm run's losses and parameters within
 * float32 noise, every update counted as `host` in accelerationInfo(), the state on the host; and
 * `descent train --optimizer muon --backend webgpu` runs and says that its updates run on the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Muon,
  NAdam,
  accelerationInfo,
  isDeviceStorage,
  muonParamGroups,
  type BaseHyper,
  type Optimizer,
  type Module,
  type Storage,
} from '../../../src/index.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { mlp } from './models.js';
import { assertNear, assertRunNear, recordedRun, useWasmAndWebGPU } from './setup.js';

useWasmAndWebGPU();

const cases: [string, (m: Module) => Optimizer<BaseHyper>][] = [
  ['NAdam', (m) => new NAdam(m.parameters(), { lr: 2e-3 }) as Optimizer<BaseHyper>],
  ['Muon (Adam for the biases)', (m) => new Muon(muonParamGroups(m.namedParameters()), { lr: 0.02 }) as Optimizer<BaseHyper>],
];

for (const [name, makeOpt] of cases) {
  test(`fitAsync with ${name} on webgpu: the rule on the host, the wasm run within float32 noise`, async () => {
    const host = mlp(6);
    const want = await recordedRun(host, makeOpt(host), false, { seed: 3, samples: 96 });
    const dev = mlp(6);
    await dev.to('webgpu');
    const opt = makeOpt(dev);
    const rule = opt.rule.name;
    const before = accelerationInfo().updates[rule]?.host ?? 0;
    const got = await recordedRun(dev, opt, true, { seed: 3, samples: 96 });
    const err = assertRunNear(got, want);
    for (const [i, p] of got.params.entries()) assertNear(`parameter ${i}`, p, want.params[i]);
    // 2 epochs of 3 batches, 4 parameters each
    assert.equal(accelerationInfo().updates[rule].host - before, 6 * 4);
    for (const st of opt.state.values())
      for (const v of Object.values(st)) if (typeof v === 'object') assert.ok(!isDeviceStorage(v as Storage), 'state on the host');
    console.log(`${name} on webgpu vs wasm: step loss ${err.loss.toExponential(2)}`);
    await dev.to('cpu');
  });
}

test('descent train --optimizer muon and lr-find --optimizer lion with --backend webgpu run there and say the updates run on the host; auto leaves them on wasm', () => {
  const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
  const args = [
    'train',
    '--data',
    'embedded',
    '--limit',
    '64',
    '--test-limit',
    '64',
    '--batch-size',
    '32',
    '--epochs',
    '1',
    '--optimizer',
    'muon',
  ];
  const r = spawnSync(process.execPath, [main, ...args, '--backend', 'webgpu'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const { adapter, software } = webgpuInfo();
  assert.ok(
    r.stdout.includes(
      `backend webgpu (${adapter}${software ? ', software adapter' : ''}); --optimizer muon updates on the host: each step reads the parameters and gradients back`,
    ),
    r.stdout,
  );
  const wasm = spawnSync(process.execPath, [main, ...args, '--backend', 'wasm'], { encoding: 'utf8', timeout: 300_000 });
  const losses = (out: string) =>
    out
      .match(/^epoch 1\/1 {2}train loss (\S+) {2}test loss (\S+)/m)
      ?.slice(1)
      .map(Number);
  assertNear('epoch losses', losses(r.stdout) ?? [], losses(wasm.stdout) ?? [NaN, NaN], 1e-3);
  // the range test steps the same way: lion's curve and suggestion on the GPU are wasm's
  const find = (backend: string) => {
    const f = ['lr-find', '--data', 'embedded', '--optimizer', 'lion', '--steps', '30', '--backend', backend];
    const out = spawnSync(process.execPath, [main, ...f], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout;
  };
  const onGpu = find('webgpu');
  assert.match(onGpu, /backend webgpu .*; --optimizer lion updates on the host/);
  const suggestion = (out: string) => out.match(/^suggested --lr .*$/m)?.[0];
  assert.ok(suggestion(onGpu), onGpu);
  assert.equal(suggestion(onGpu), suggestion(find('wasm')));
  const auto = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(auto.status, 0, auto.stderr);
  assert.match(auto.stdout, /backend wasm \(auto: /);
});
