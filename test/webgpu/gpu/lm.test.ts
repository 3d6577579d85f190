/**
 * Language models on WebGPU (run by `npm run test:webgpu` on lavapipe): generateAsync with the
 * model on the GPU draws generate's ids on wasm, reading back one [B, V] block per token;
 * `descent train --data FILE.txt --backend webgpu` gives the wasm run's epochs within float32 noise,
 * and `descent generate --backend webgpu` continues a prompt with the wasm run's text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as d from '../../../src/index.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { tempDir } from '../../tmp-dir.js';
import { useWasmAndWebGPU } from './setup.js';

useWasmAndWebGPU();

const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const corpus = fileURLToPath(new URL('../../../../test/fixtures/text/corpus.txt', import.meta.url));

test('generateAsync with the model on webgpu: the ids generate draws on wasm, one read per token', async () => {
  const rng = new d.Rng(4);
  const net = new d.Sequential(
    new d.Embedding(11, 8, { rng }),
    new d.PositionalEmbedding(6, 8, { rng }),
    new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, normFirst: true, rng }),
    new d.Linear(8, 11, { rng }),
  );
  const prompt = [
    [1, 2, 3],
    [4, 5, 6],
  ];
  const cases = [
    { maxNewTokens: 9, contextLength: 6, temperature: 0 },
    { maxNewTokens: 9, contextLength: 6, temperature: 0.9, topK: 5 },
  ];
  const onHost = cases.map((o) => d.generate(net, prompt, { ...o, rng: new d.Rng(7) }));
  await net.to('webgpu');
  assert.throws(() => d.generate(net, prompt, cases[0]), /generate: the model's parameters live on webgpu; .*generateAsync/);
  for (const [i, o] of cases.entries()) {
    const reads = webgpuInfo().reads;
    const got = await d.generateAsync(net, prompt, { ...o, rng: new d.Rng(7) });
    assert.equal(webgpuInfo().reads - reads, 9, 'one read per token');
    assert.deepEqual(got.shape, [2, 12]);
    assert.deepEqual(Array.from(got.ids), Array.from(onHost[i].ids), `case ${i}`);
  }
  await net.to('cpu');
});

test('descent train --data FILE.txt and descent generate --backend webgpu: the wasm runs’ epochs and text', () => {
  const dir = tempDir('descent-lm-webgpu-');
  const model = 'embedding:V:16,posembed,transformer:2:ff=32:prenorm=true:causal=true,linear';
  const args = ['train', '--data', corpus, '--context', '8', '--batch-size', '16', '--epochs', '2', '--limit', '64', '--model', model];
  const run = (backend: string) => {
    const r = spawnSync(process.execPath, [main, ...args, '--backend', backend, '--save', join(dir, `${backend}.safetensors`)], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.status, 0, `${backend}: exit status ${r.status} (signal ${r.signal}): ${r.stderr}`);
    return r.stdout;
  };
  const gpu = run('webgpu');
  const wasm = run('wasm');
  const { adapter, software } = webgpuInfo();
  assert.ok(gpu.includes(`backend webgpu (${adapter}${software ? ', software adapter' : ''})`), gpu);
  const epochs = (out: string) =>
    [...out.matchAll(/^epoch \d\/2 {2}train loss (\S+) {2}test loss (\S+) {2}test ppl (\S+) {2}test acc (\S+)/gm)].map((m) =>
      m.slice(1).map(Number),
    );
  assert.equal(epochs(wasm).length, 2, wasm);
  for (const [e, row] of epochs(gpu).entries())
    for (const [j, v] of row.entries())
      assert.ok(Math.abs(v - epochs(wasm)[e][j]) <= 2e-4, `epoch ${e + 1} figure ${j}: ${v} vs ${epochs(wasm)[e][j]}`);
  // the webgpu run's weights, continued on each backend: the same text, greedy and sampled
  for (const temperature of ['0', '0.8']) {
    const text = (backend: string) => {
      const g = [
        'generate',
        '--weights',
        join(dir, 'webgpu.safetensors'),
        '--prompt',
        'The ',
        '--length',
        '40',
        '--temperature',
        temperature,
      ];
      const r = spawnSync(process.execPath, [main, ...g, '--backend', backend], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, `${backend}: ${r.stderr}`);
      return r.stdout;
    };
    const onGpu = text('webgpu');
    assert.ok(onGpu.startsWith('The ') && onGpu.length > 40, onGpu);
    assert.equal(onGpu, text('wasm'), `temperature ${temperature}`);
  }
});
