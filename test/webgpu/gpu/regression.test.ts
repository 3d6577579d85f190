/**
 * A CSV regression on WebGPU (run by `npm run test:webgpu` on lavapipe): `descent train --target`
 * with a Huber loss trains on the device — float targets [B, T] uploaded each step, the loss and
 * its backward composed there, the test MAE and MSE metrics read back — and its epoch records
 * follow the same run on wasm within float32 noise; descent eval on wasm of the saved model gives
 * the loss the device reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

test('descent train --target --backend webgpu follows the wasm run; eval on wasm of its saved model gives its test loss', () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-gpu-regression-'));
  try {
    const rows = ['id,a,b,y,z'];
    for (let i = 0; i < 300; i++) {
      const a = Math.sin(i * 1.7),
        b = Math.cos(i * 0.9);
      rows.push([i, a.toFixed(4), b.toFixed(4), (3 * a - 2 * b + a * b).toFixed(4), (a * a).toFixed(4)].join(','));
    }
    const data = join(dir, 'rows.csv');
    writeFileSync(data, `${rows.join('\n')}\n`);
    const read = ['--data', data, '--ignore-columns', 'id', '--val-split', '0.2'];
    const common = [...read, '--target', 'y,z', '--loss', 'huber:0.5'];
    const run = (backend: string, extra: string[] = []) => {
      const t = spawnSync(
        process.execPath,
        [main, 'train', ...common, '--epochs', '3', '--batch-size', '32', '--lr', '0.01', '--backend', backend, '--json', ...extra],
        { encoding: 'utf8', timeout: 300_000 },
      );
      assert.equal(t.status, 0, `${backend}: exit status ${t.status} (signal ${t.signal}): ${t.stderr}`);
      return t.stdout
        .split('\n')
        .filter((l) => l.startsWith('{"epoch"'))
        .map((l) => JSON.parse(l));
    };
    const weights = join(dir, 'gpu.safetensors');
    const got = run('webgpu', ['--save', weights]);
    const want = run('wasm');
    assert.equal(got.length, 3);
    for (const [i, r] of got.entries())
      for (const k of ['trainLoss', 'testLoss', 'testMae', 'testMse'])
        assert.ok(Math.abs(r[k] - want[i][k]) <= 1e-4 * Math.max(1, Math.abs(want[i][k])), `epoch ${i + 1} ${k}: ${r[k]} vs ${want[i][k]}`);
    // the run learns: a different run would not match to 1e-4 by chance
    assert.ok(got[2].testMae < got[0].testMae, `${got[2].testMae} after ${got[0].testMae}`);
    const e = spawnSync(process.execPath, [main, 'eval', '--weights', weights, ...read, '--backend', 'wasm', '--json'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(e.status, 0, e.stderr);
    const r = JSON.parse(e.stdout);
    assert.deepEqual(r.criterion, { name: 'huber', param: 0.5 });
    assert.ok(Math.abs(r.loss - got[2].testLoss) < 1e-5, `${r.loss} on wasm vs ${got[2].testLoss} on webgpu`);
    assert.ok(Math.abs(r.report.overall.mae - got[2].testMae) < 1e-5, `${r.report.overall.mae} vs ${got[2].testMae}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
