import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as d from '../../src/node.js';

function mlp(seed: number, dtype: d.DType = 'float32'): d.Sequential {
  const r = new d.Rng(seed);
  return new d.Sequential(new d.Linear(6, 4, { rng: r.fork('a'), dtype }), new d.ReLU(), new d.Linear(4, 3, { rng: r.fork('b'), dtype }));
}

function snapshot(m: d.Module): number[][] {
  return m.parameters().map((p) => Array.from(p.data));
}

/** A file with the given header object and data bytes (no validation: for building bad files). */
function craft(header: unknown, data: Uint8Array | number = 0, rawHeader?: string, declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setUint32(0, declaredLength ?? json.length, true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

/** The header of an encoded file, as an object. */
function headerOf(bytes: Uint8Array): Record<string, any> {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

function refused(fn: () => unknown, re: RegExp, tensor?: string): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof d.SafetensorsError, `expected SafetensorsError, got ${e}`);
    assert.match(e.message, re);
    if (tensor !== undefined) assert.equal((e as d.SafetensorsError).tensor, tensor);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('the file layout: 8-byte little-endian header length, JSON header, raw little-endian data, 8-byte aligned', () => {
  const m = mlp(1);
  const bytes = d.saveSafetensors(m, { metadata: { epoch: '3' } });
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const n = dv.getUint32(0, true);
  assert.equal(dv.getUint32(4, true), 0);
  assert.equal(n % 8, 0);
  const h = headerOf(bytes);
  assert.deepEqual(h.__metadata__, { format: 'pt', epoch: '3' });
  assert.deepEqual(
    Object.keys(h).filter((k) => k !== '__metadata__'),
    ['0.weight', '0.bias', '2.weight', '2.bias'],
  );
  assert.deepEqual(h['0.weight'], { dtype: 'F32', shape: [4, 6], data_offsets: [0, 96] });
  assert.deepEqual(h['2.bias'], { dtype: 'F32', shape: [3], data_offsets: [96 + 16 + 48, 96 + 16 + 48 + 12] });
  assert.equal(bytes.length, 8 + n + 4 * (24 + 4 + 12 + 3));
  // The first weight, read back by hand as little-endian float32.
  const w = (m.layers[0] as d.Linear).weight.data;
  for (let i = 0; i < 24; i++) assert.equal(dv.getFloat32(8 + n + 4 * i, true), w[i]);
});

test('save → load round-trips float32 and float64 exactly and returns the metadata', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const a = mlp(1, dtype),
      b = mlp(2, dtype);
    assert.notDeepEqual(snapshot(a), snapshot(b));
    const bytes = d.saveSafetensors(a, { metadata: { note: 'x' } });
    assert.equal(headerOf(bytes)['0.weight'].dtype, dtype === 'float64' ? 'F64' : 'F32');
    const meta = d.loadSafetensors(b, bytes);
    assert.deepEqual(meta, { format: 'pt', note: 'x' });
    assert.deepEqual(snapshot(b), snapshot(a));
  }
});

test('state: another module’s values written under this module’s names equal that module’s file; a state that does not fit is refused', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const a = mlp(1, dtype),
      b = mlp(2, dtype);
    const fromState = d.saveSafetensors(b, { state: a.stateDict(), metadata: { note: 'x' } });
    assert.deepEqual(fromState, d.saveSafetensors(a, { metadata: { note: 'x' } }));
    assert.notDeepEqual(fromState, d.saveSafetensors(b, { metadata: { note: 'x' } }));
  }
  const a = mlp(1);
  const { '2.bias': _gone, ...missing } = a.stateDict();
  assert.throws(
    () => d.saveSafetensors(a, { state: missing }),
    /saveSafetensors: state has no entry "2\.bias" \(the module's \[3\] tensor\)/,
  );
  const sd = a.stateDict();
  assert.throws(
    () => d.saveSafetensors(a, { state: { ...sd, '0.weight': { shape: [6, 4], data: sd['0.weight'].data } } }),
    /saveSafetensors: state "0\.weight" has shape \[6, 4\] and 24 values; the module's is \[4, 6\]/,
  );
  assert.throws(
    () => d.saveSafetensors(a, { state: { ...sd, extra: { shape: [1], data: [0] } } }),
    /saveSafetensors: state has entries the module does not: extra/,
  );
});

test('a float64 file loads into a float32 module rounded to nearest, and F16 / BF16 are converted', () => {
  const m = new d.Sequential(new d.Linear(2, 2, { rng: new d.Rng(1) }));
  const w64 = new Float64Array([0.1, -2.5, 1 / 3, 65504]);
  const b16 = new Uint8Array(4);
  const dv = new DataView(b16.buffer);
  dv.setUint16(0, 0x3c00, true); // F16 1.0
  dv.setUint16(2, 0xc500, true); // F16 −5.0
  d.loadSafetensors(
    m,
    d.encodeSafetensors({ '0.weight': { dtype: 'F64', shape: [2, 2], data: w64 }, '0.bias': { dtype: 'F16', shape: [2], data: b16 } }),
  );
  assert.deepEqual(Array.from(m.parameters()[0].data), Array.from(Float32Array.from(w64)));
  assert.deepEqual(Array.from(m.parameters()[1].data), [1, -5]);
  dv.setUint16(0, 0x3fc0, true); // BF16 1.5
  dv.setUint16(2, 0xc080, true); // BF16 −4.0
  d.loadSafetensors(
    m,
    d.encodeSafetensors({
      '0.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) },
      '0.bias': { dtype: 'BF16', shape: [2], data: b16 },
    }),
  );
  assert.deepEqual(Array.from(m.parameters()[1].data), [1.5, -4]);
  // F16 edge cases: the smallest subnormal, the largest finite, ±∞, NaN, −0.
  const h = new Uint8Array(new Uint16Array([0x0001, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000]).buffer);
  const out = new Float64Array(6);
  d.readFloats({ dtype: 'F16', shape: [6], data: h }, out);
  assert.deepEqual(Array.from(out), [2 ** -24, 65504, Infinity, -Infinity, NaN, -0]);
});

test('encode/decode round-trip any dtype as raw bytes, and zero-size tensors', () => {
  const ints = new Uint8Array(new BigInt64Array([1n, -2n, 3n]).buffer);
  const bytes = d.encodeSafetensors(
    new Map<string, d.SafetensorsTensor>([
      ['a', { dtype: 'I64', shape: [3], data: ints }],
      ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
      ['b', { dtype: 'F64', shape: [], data: new Float64Array([Math.PI]) }],
    ]),
    { k: 'v' },
  );
  const f = d.decodeSafetensors(bytes);
  assert.deepEqual(f.metadata, { k: 'v' });
  assert.deepEqual([...f.tensors.keys()], ['a', 'empty', 'b']);
  assert.deepEqual(Array.from(new BigInt64Array(f.tensors.get('a')!.data.slice().buffer)), [1n, -2n, 3n]);
  assert.deepEqual(f.tensors.get('empty')!.shape, [0, 4]);
  assert.deepEqual(Array.from(f.tensors.get('b')!.data), [Math.PI]);
  // Decoded tensors own their memory, also when the input is a Node Buffer (whose slice() is a view).
  const buf = Buffer.from(bytes);
  const g = d.decodeSafetensors(buf);
  const raw = g.tensors.get('a')!.data;
  assert.equal(raw.byteLength, 24);
  assert.equal(raw.buffer.byteLength, 24);
  buf.fill(0);
  assert.deepEqual(Array.from(new BigInt64Array(raw.buffer)), [1n, -2n, 3n]);
  assert.deepEqual(Array.from(g.tensors.get('b')!.data), [Math.PI]);
});

test('names are PyTorch state_dict names: a DropConnect with an activation takes two nn.Sequential slots', () => {
  const rng = new d.Rng(3);
  // PyTorch: Sequential(Flatten, Linear, ReLU, Dropout, Linear, ReLU, Linear) → 1., 4., 6.
  const m = new d.Sequential(
    new d.Flatten(),
    new d.DropConnect(6, 5, { activation: 'relu', rng: rng.fork('1') }),
    new d.Dropout(0.5),
    new d.DropConnect(5, 4, { activation: 'tanh', rng: rng.fork('2') }),
    new d.Linear(4, 3, { rng: rng.fork('3') }),
  );
  assert.deepEqual([...d.torchParameterNames(m).values()], ['1.weight', '1.bias', '4.weight', '4.bias', '6.weight', '6.bias']);
  assert.deepEqual(
    Object.keys(headerOf(d.saveSafetensors(m))).filter((k) => k !== '__metadata__'),
    ['1.weight', '1.bias', '4.weight', '4.bias', '6.weight', '6.bias'],
  );
  // Without an activation it is a plain nn.Linear: one slot.
  const n = new d.Sequential(new d.DropConnect(6, 5, { rng: rng.fork('4') }), new d.ReLU(), new d.Linear(5, 3, { rng: rng.fork('5') }));
  assert.deepEqual([...d.torchParameterNames(n).values()], ['0.weight', '0.bias', '2.weight', '2.bias']);
  // The built-in regularised models: PyTorch's Linear-ReLU-Dropout blocks.
  const cnn = d.getModel('cnn').build({ rng: new d.Rng(1), inputShape: [1, 28, 28], classes: 10, dropconnect: 0.5, dropout: 0.5 });
  assert.deepEqual(
    [...d.torchParameterNames(cnn).values()],
    ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '10.weight', '10.bias'],
  );
  const a = d.saveSafetensors(cnn);
  const cnn2 = d.getModel('cnn').build({ rng: new d.Rng(2), inputShape: [1, 28, 28], classes: 10, dropconnect: 0.5, dropout: 0.5 });
  d.loadSafetensors(cnn2, a);
  assert.deepEqual(snapshot(cnn2), snapshot(cnn));
});

// ---- malformed files: each is refused with one line naming the tensor, and the module is unchanged

/** A valid file for mlp() with values different from mlp(1)'s, and its header. */
function goodFile(): { header: Record<string, any>; data: Uint8Array } {
  const bytes = d.saveSafetensors(mlp(7));
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return { header: headerOf(bytes), data: bytes.slice(8 + n) };
}

function refusedUnchanged(bytes: Uint8Array, re: RegExp, tensor?: string): void {
  const m = mlp(1);
  const before = snapshot(m);
  refused(() => d.loadSafetensors(m, bytes), re, tensor);
  assert.deepEqual(snapshot(m), before, 'nothing half-loaded');
}

test('refused: a file shorter than the header length field', () => {
  refusedUnchanged(new Uint8Array(5), /5 bytes; a safetensors file starts with an 8-byte header length/);
});

test('refused: a header length past the end of the file', () => {
  const { header, data } = goodFile();
  refusedUnchanged(craft(header, data, undefined, 1 << 30), /header length 1073741824 runs past the end of the file \(\d+ bytes/);
});

test('refused: a header that is not JSON, or not an object', () => {
  refusedUnchanged(craft(null, 0, '{"0.weight": {'), /header is not valid JSON/);
  refusedUnchanged(craft(null, 0, '[1, 2]'), /header must be a JSON object of tensors, got an array/);
  refusedUnchanged(craft(null, 0, '{"__metadata__": {"a": 1}}'), /__metadata__ "a": values must be strings/);
});

test('refused: an unknown dtype, naming the tensor', () => {
  const { header, data } = goodFile();
  header['2.weight'].dtype = 'F17';
  refusedUnchanged(craft(header, data), /tensor "2\.weight": unknown dtype "F17"; expected one of BOOL, .*F32.*F64/, '2.weight');
  header['2.weight'].dtype = 'f32';
  refusedUnchanged(craft(header, data), /unknown dtype "f32" \(dtypes are upper case: "F32"\)/, '2.weight');
});

test('refused: data_offsets past the end of the data', () => {
  const { header, data } = goodFile();
  refusedUnchanged(
    craft(header, data.subarray(0, data.length - 4)),
    /tensor "2\.bias": data_offsets \[160, 172\] run past the end of the data \(168 bytes after the header\)/,
    '2.bias',
  );
});

test('refused: overlapping ranges', () => {
  const { header, data } = goodFile();
  header['0.bias'].data_offsets = [92, 108];
  refusedUnchanged(craft(header, data), /tensor "0\.bias": data_offsets \[92, 108\] overlap tensor "0\.weight" \[0, 96\]/, '0.bias');
});

test('refused: non-contiguous ranges and trailing bytes', () => {
  const { header, data } = goodFile();
  const gap = new Uint8Array(data.length + 8);
  gap.set(data.subarray(0, 96));
  gap.set(data.subarray(96), 104);
  for (const k of ['0.bias', '2.weight', '2.bias']) header[k].data_offsets = header[k].data_offsets.map((o: number) => o + 8);
  refusedUnchanged(
    craft(header, gap),
    /tensor "0\.bias": data_offsets \[104, 120\] leave bytes \[96, 104\) of the data to no tensor/,
    '0.bias',
  );
  const g = goodFile();
  const longer = new Uint8Array(g.data.length + 4);
  longer.set(g.data);
  refusedUnchanged(
    craft(g.header, longer),
    /the data part is 176 bytes but the tensors end at 172 \(after tensor "2\.bias"\): 4 bytes belong to no tensor/,
  );
});

test('refused: data_offsets whose length does not match the dtype and shape', () => {
  const { header, data } = goodFile();
  header['0.weight'].shape = [4, 5];
  refusedUnchanged(
    craft(header, data),
    /tensor "0\.weight": shape \[4, 5\] of F32 needs 80 bytes, but data_offsets \[0, 96\] hold 96/,
    '0.weight',
  );
  const g = goodFile();
  g.header['0.weight'].data_offsets = [96, 0];
  refusedUnchanged(craft(g.header, g.data), /tensor "0\.weight": data_offsets \[96, 0\] end before they begin/, '0.weight');
  const h = goodFile();
  h.header['0.weight'].shape = [4, -6];
  refusedUnchanged(craft(h.header, h.data), /tensor "0\.weight": shape must be a list of integers ≥ 0, got \[4,-6\]/, '0.weight');
});

test('refused: a shape that does not match the module (the valid tensors before it are not copied)', () => {
  const other = new d.Sequential(new d.Linear(6, 4, { rng: new d.Rng(5) }), new d.ReLU(), new d.Linear(4, 2, { rng: new d.Rng(6) }));
  refusedUnchanged(
    d.saveSafetensors(other),
    /tensor "2\.weight": shape \[2, 4\] in the file, the module's parameter is \[3, 4\]/,
    '2.weight',
  );
});

test('refused: a missing tensor or an extra one', () => {
  const { header, data } = goodFile();
  const f = d.decodeSafetensors(craft(header, data));
  const missing = new Map(f.tensors);
  missing.delete('2.bias');
  refusedUnchanged(
    d.encodeSafetensors(missing),
    /tensor "2\.bias" is missing from the file; the module needs it with shape \[3\] \(the file has 0\.weight, 0\.bias, 2\.weight\)/,
    '2.bias',
  );
  const extra = new Map(f.tensors);
  extra.set('3.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  refusedUnchanged(
    d.encodeSafetensors(extra),
    /tensor "3\.weight" in the file is not a parameter or buffer of the module; the module has 0\.weight, 0\.bias, 2\.weight, 2\.bias/,
    '3.weight',
  );
});

test('refused: an integer dtype for a parameter', () => {
  const { header, data } = goodFile();
  const f = d.decodeSafetensors(craft(header, data));
  f.tensors.set('2.bias', { dtype: 'I32', shape: [3], data: new Uint8Array(12) });
  refusedUnchanged(
    d.encodeSafetensors(f.tensors),
    /tensor "2\.bias": dtype I32 cannot be loaded into a float32 parameter; expected F32, F64, F16 or BF16/,
    '2.bias',
  );
});

test('the node helpers write atomically and name the file in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-st-'));
  try {
    const a = mlp(1),
      b = mlp(2);
    const path = join(dir, 'w.safetensors');
    d.saveSafetensorsFile(path, a, { metadata: { k: 'v' } });
    assert.deepEqual(readdirSync(dir), ['w.safetensors'], 'no temporary file left behind');
    assert.deepEqual(new Uint8Array(readFileSync(path)), d.saveSafetensors(a, { metadata: { k: 'v' } }));
    assert.deepEqual(d.loadSafetensorsFile(path, b), { format: 'pt', k: 'v' });
    assert.deepEqual(snapshot(b), snapshot(a));
    refused(() => d.loadSafetensorsFile(join(dir, 'nope.safetensors'), b), /nope\.safetensors: file not found$/);
    writeFileSync(join(dir, 'bad.safetensors'), new Uint8Array(3));
    refused(() => d.loadSafetensorsFile(join(dir, 'bad.safetensors'), b), /bad\.safetensors: the file is 3 bytes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
