/**
 * Runs in `npm test` (no GPU, no lavapipe needed): with the Vulkan loader pointed at no driver,
 * initWebGPU fails with one message that names what was tried and how to install a software
 * driver; and the host-side helpers (dimension merging, grid splitting, the tile tuner's choice) on their own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mergeDims } from '../../src/backend/webgpu/elementwise.js';
import { MAX_GROUPS, grid } from '../../src/backend/webgpu/context.js';
import { TUNE_MARGIN, pickTile } from '../../src/backend/webgpu/tune.js';
import {
  LARGE,
  SMALL,
  SPLIT_MAX,
  SPLIT_MIN_DEPTH,
  SPLIT_TARGET_GROUPS,
  TINY,
  gemmGroups,
  splitFor,
} from '../../src/backend/webgpu/gemm.js';

function hasDawn(): boolean {
  try {
    import.meta.resolve('webgpu');
    return true;
  } catch {
    return false;
  }
}

test('initWebGPU without an adapter throws one message naming what was tried and what to install', () => {
  const entry = new URL('../../src/backend/webgpu/index.js', import.meta.url).href;
  const script = `import { initWebGPU } from ${JSON.stringify(entry)};
try { await initWebGPU(); console.log('NO ERROR'); } catch (e) { console.log('MESSAGE ' + e.message); }`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, VK_DRIVER_FILES: '/nonexistent/no_icd.json', VK_ICD_FILENAMES: '/nonexistent/no_icd.json' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = out.split('\n').find((l) => l.startsWith('MESSAGE ') || l === 'NO ERROR') ?? '';
  assert.ok(line.startsWith('MESSAGE '), `expected an error, got: ${out}`);
  if (hasDawn()) {
    assert.match(line, /initWebGPU: no WebGPU adapter found \(tried Dawn through the npm package "webgpu"\)/);
    assert.match(line, /VK_DRIVER_FILES=\/nonexistent\/no_icd\.json/);
    assert.match(line, /tools\/lavapipe\.sh/);
    assert.match(line, /bookworm-backports mesa-vulkan-drivers/);
  } else {
    assert.match(line, /initWebGPU: no WebGPU \(tried Dawn through the npm package "webgpu"\): .*npm install webgpu/);
  }
});

test("descent train --backend webgpu without an adapter prints only its one-line refusal, none of Dawn's native lines", () => {
  const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const r = spawnSync(
    process.execPath,
    [bin, 'train', '--backend', 'webgpu', '--data', 'embedded', '--limit', '50', '--test-limit', '20', '--epochs', '1'],
    {
      env: { ...process.env, VK_DRIVER_FILES: '/nonexistent/no_icd.json', VK_ICD_FILENAMES: '/nonexistent/no_icd.json' },
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(
    lines[0],
    hasDawn() ? /^descent train: --backend webgpu: initWebGPU: no WebGPU adapter found/ : /^descent train: --backend webgpu: /,
  );
});

test('mergeDims merges dimensions contiguous for both operands and drops size-1 ones', () => {
  // same shape: one flat dimension
  assert.deepEqual(mergeDims([2, 3, 4], [12, 4, 1], [12, 4, 1]), { shape: [24], sa: [1], sb: [1] });
  // b broadcast along the leading two dimensions: [6] × [4]
  assert.deepEqual(mergeDims([2, 3, 4], [12, 4, 1], [0, 0, 1]), { shape: [6, 4], sa: [4, 1], sb: [0, 1] });
  // alternating broadcasts cannot merge
  assert.deepEqual(mergeDims([2, 2, 2], [2, 0, 1], [0, 1, 0]), { shape: [2, 2, 2], sa: [2, 0, 1], sb: [0, 1, 0] });
  assert.deepEqual(mergeDims([1, 1], [1, 1], [1, 1]), { shape: [], sa: [], sb: [] });
});

test('grid splits more than 65535 workgroups over x and y, covering every item', () => {
  assert.deepEqual(grid(10), [1, 1]);
  assert.deepEqual(grid(256 * MAX_GROUPS), [MAX_GROUPS, 1]);
  const [x, y] = grid(256 * MAX_GROUPS + 1);
  assert.ok(x <= MAX_GROUPS && y === 2 && x * y * 256 >= 256 * MAX_GROUPS + 1);
  const [x2, y2] = grid(5e6, 1);
  assert.ok(x2 <= MAX_GROUPS && x2 * y2 >= 5e6 && (x2 - 1) * y2 < 5e6 + y2);
});

test('splitFor splits a deep product with few tiles along K into whole slices covering K once', () => {
  // the CNN's weight gradients at batch 512: 32×25 over 512·28·28, 64×800 over 512·14·14
  assert.deepEqual(splitFor(32, 25, 512 * 784), { slices: 256, chunk: 1568 });
  assert.deepEqual(splitFor(64, 800, 512 * 196), { slices: 20, chunk: 5024 });
  // enough tiles, or too shallow: whole
  assert.equal(splitFor(4096, 4096, 4096, LARGE).slices, 1);
  assert.equal(splitFor(8, 8, 2 * SPLIT_MIN_DEPTH - 1).slices, 1);
  for (const [m, n, k] of [
    [1, 1, 1e6],
    [3, 5, 1000],
    [70, 9, 4099],
    [256, 784, 1024],
    [130, 130, 777],
  ]) {
    const t = SMALL;
    const { slices, chunk } = splitFor(m, n, k, t);
    if (slices === 1) continue;
    const [gx, gy] = gemmGroups(m, n, t);
    assert.equal(chunk % t.depth, 0, `${m}×${n}×${k}: whole slices of ${t.depth}`);
    assert.ok(slices * chunk >= k && (slices - 1) * chunk < k, `${m}×${n}×${k}: ${slices} slices of ${chunk} cover K, none empty`);
    assert.ok(chunk >= SPLIT_MIN_DEPTH && slices <= SPLIT_MAX, `${m}×${n}×${k}: ${slices} × ${chunk}`);
    assert.ok(gx * gy * (slices - 1) < SPLIT_TARGET_GROUPS, `${m}×${n}×${k}: no more slices than the target needs`);
  }
});

test("splitFor counts a grouped product's groups: their tiles together, slices × groups within the grid's z", () => {
  // a 64-channel depthwise 3×3 convolution's weight gradient at batch 8 over 16×16: 64 products of 1×9 over 2048
  const depthwise = splitFor(1, 9, 8 * 256, TINY, 64);
  assert.deepEqual(depthwise, { slices: 4, chunk: 512 });
  assert.equal(splitFor(1, 9, 8 * 256, TINY, 1).slices, 8);
  // enough groups to fill the target: whole
  assert.equal(splitFor(1, 9, 8 * 256, TINY, 256).slices, 1);
  for (const groups of [1, 7, 300, 1000, 40000, MAX_GROUPS]) {
    const { slices, chunk } = splitFor(1, 1, 1e7, TINY, groups);
    assert.ok(slices * groups <= MAX_GROUPS, `${groups} groups: ${slices} slices`);
    assert.ok(slices * chunk >= 1e7 && (slices - 1) * chunk < 1e7, `${groups} groups: ${slices} slices of ${chunk} cover K`);
  }
});

test("the tuner keeps tileFor's shape unless another is faster by more than TUNE_MARGIN", () => {
  // the fastest wins by a clear margin
  assert.equal(pickTile({ s: 1, l: 0.5, c8: 0.9 }, 's'), 'l');
  // within the margin of the base: the base stays
  assert.equal(pickTile({ s: 1, l: 1 - TUNE_MARGIN / 2 }, 's'), 's');
  assert.equal(pickTile({ s: 1, l: 1 - 2 * TUNE_MARGIN }, 's'), 'l');
  // the base faster than every other
  assert.equal(pickTile({ s: 0.4, l: 0.5, w: 0.6 }, 's'), 's');
  // the base not timed (it could not run): the fastest of the others
  assert.equal(pickTile({ l: 0.7, w: 0.6 }, 's'), 'w');
  assert.equal(pickTile({}, 's'), 's');
});
