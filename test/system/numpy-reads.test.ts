/**
 * NumPy (Debian's python3-numpy, np.load) reads the .npy and .npz files descent writes (encodeNpy,
 * encodeNpz stored and compressed): every dtype descent writes, with its shape and values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { saveNpy, saveNpz } from '../../src/io/npy-node.js';
import type { NpyInput } from '../../src/io/npy.js';
import { tempDir } from '../tmp-dir.js';

const PYTHON = '/usr/bin/python3';
const LOAD = `
import json, sys, numpy as np
out = {}
for path in sys.argv[1:]:
    if path.endswith('.npz'):
        with np.load(path) as f:
            out[path] = {k: [f[k].dtype.str, list(f[k].shape), f[k].tolist()] for k in f.files}
    else:
        a = np.load(path)
        out[path] = [a.dtype.str, list(a.shape), a.tolist()]
print(json.dumps(out))
`;

const arrays: Record<string, NpyInput> = {
  f4: { data: new Float32Array([0.5, -1.25, 3e-5, 7, 8, 9]), shape: [2, 3] },
  f8: { data: new Float64Array([0.1, -2.5]), shape: [2, 1] },
  i4: { data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]), shape: [2] },
  u1: { data: new Uint8Array([0, 255, 7, 9]), shape: [1, 2, 2] },
  i1: { data: new Int8Array([-128, 127]), shape: [2] },
  i2: { data: new Int16Array([-3]), shape: [1] },
  u2: { data: new Uint16Array([65535]), shape: [1] },
  u4: { data: new Uint32Array([4294967295]), shape: [1] },
  b1: { data: new Uint8Array([1, 0, 1]), shape: [3], dtype: 'bool' },
  scalar: { data: new Float64Array([2.5]), shape: [] },
  empty: { data: new Float32Array(0), shape: [0, 4] },
};
const want: Record<string, [string, number[]]> = {
  f4: ['<f4', [2, 3]],
  f8: ['<f8', [2, 1]],
  i4: ['<i4', [2]],
  u1: ['|u1', [1, 2, 2]],
  i1: ['|i1', [2]],
  i2: ['<i2', [1]],
  u2: ['<u2', [1]],
  u4: ['<u4', [1]],
  b1: ['|b1', [3]],
  scalar: ['<f8', []],
  empty: ['<f4', [0, 4]],
};

/** NumPy's tolist() of a C-order array of `shape`, flattened back. */
function flat(v: unknown): unknown[] {
  return Array.isArray(v) ? v.flatMap(flat) : [v];
}

function check(key: string, got: [string, number[], unknown]): void {
  assert.equal(got[0], want[key][0], `${key} dtype`);
  assert.deepEqual(got[1], want[key][1], `${key} shape`);
  const values = flat(got[2]).map((v) => (typeof v === 'boolean' ? Number(v) : v));
  assert.deepEqual(values, Array.from(arrays[key].data), `${key} values`);
}

test('np.load reads the .npy and .npz files descent writes', () => {
  const dir = tempDir('descent-numpy-');
  const paths = Object.keys(arrays).map((k) => {
    const p = join(dir, `${k}.npy`);
    saveNpy(p, arrays[k]);
    return p;
  });
  const stored = join(dir, 'stored.npz');
  const compressed = join(dir, 'compressed.npz');
  saveNpz(stored, arrays);
  saveNpz(compressed, arrays, { compress: true });
  const r = spawnSync(PYTHON, ['-c', LOAD, ...paths, stored, compressed], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const k of Object.keys(arrays)) check(k, out[join(dir, `${k}.npy`)] as [string, number[], unknown]);
  for (const z of [stored, compressed]) {
    const entries = out[z] as Record<string, [string, number[], unknown]>;
    assert.deepEqual(Object.keys(entries), Object.keys(arrays), z);
    for (const k of Object.keys(arrays)) check(k, entries[k]);
  }
});
