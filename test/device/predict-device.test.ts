/**
 * predictAsync with the model on the emulated device (the reference kernels behind a DeviceStorage
 * that counts reads): predict's outputs on the host, each batch's outputs read back once; predict
 * itself refuses the model, naming predictAsync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, predict, predictAsync, setBackend, Tensor } from '../../src/index.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';
import { mlp, testSet } from './setup.js';

setBackend('reference');
registerEmulatedDevice();

test('predictAsync on a device gives predict’s outputs on the host, one read per batch; predict refuses the model', async () => {
  const host = mlp(1, { dropout: 0.5 });
  const x = new Tensor(testSet.images.slice(0, 100 * 784), [100, 1, 28, 28]);
  const want = predict(host, x, { batchSize: 40 });
  const fromSource = predict(host, new DataLoader(testSet.slice(0, 100), { batchSize: 40 }));
  assert.deepEqual(Array.from(fromSource.data), Array.from(want.data));

  const dev = mlp(1, { dropout: 0.5 });
  await dev.to(DEVICE);
  assert.equal(dev.parameters()[0].device, DEVICE);
  const before = counters.reads;
  const got = await predictAsync(dev, x, { batchSize: 40 });
  assert.equal(counters.reads - before, 3, 'one read per batch (40, 40, 20)');
  assert.deepEqual(got.shape, [100, 10]);
  assert.deepEqual(Array.from(got.data), Array.from(want.data));
  assert.throws(
    () => predict(dev, x),
    new RegExp(`^Error: predict: the model's parameters live on ${DEVICE}, which is read asynchronously; use await predictAsync\\(…\\)$`),
  );
});
