/**
 * Runs in `npm test` (no GPU, no lavapipe needed): with the Vulkan loader pointed at no driver,
 * initWebGPU fails with one message that names what was tried and how to install a software
 * driver; and the host-side helpers (dimension merging, grid splitting) on their own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mergeDims } from '../../src/backend/webgpu/elementwise.js';
import { MAX_GROUPS, grid } from '../../src/backend/webgpu/context.js';

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
