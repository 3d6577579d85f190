/**
 * Run by default-backend.test.ts in a fresh process: a program that never calls a backend function.
 * `node` imports the Node entry (descent/node); `isomorphic` imports the isomorphic entry and
 * descent/wasm and awaits `ready()`, the one documented line. Prints what runs, then trains a few MLP steps on it.
 */
const mode = process.argv[2];
const d =
  mode === 'node' ? await import('../../src/node.js') : { ...(await import('../../src/index.js')), ...(await import('../../src/wasm.js')) };
const before = d.backend().name;
if (mode === 'isomorphic') await d.ready();
const rng = new d.Rng(1);
const model = new d.Sequential(new d.Linear(256, 256, { rng }), new d.ReLU(), new d.Linear(256, 3, { rng }));
const x = d.randn([256, 256], rng);
const y = Int32Array.from({ length: 256 }, (_, i) => i % 3);
const records = d.fit({
  model,
  optimizer: new d.SGD(model.parameters(), { lr: 0.1 }),
  epochs: 2,
  rng,
  train: new d.DataLoader(new d.TensorDataset(x, y), { batchSize: 128 }),
});
const info = d.wasmInfo();
console.log(
  JSON.stringify({
    before,
    name: d.backend().name,
    threads: info.threads,
    relaxedSimd: info.relaxedSimd,
    threadedCalls: info.threadedCalls,
    trainLoss: records.map((r) => r.trainLoss),
    oracle: d.setBackend('reference').name,
  }),
);
