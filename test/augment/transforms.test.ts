import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { assertClose } from '../helpers.js';

const imgs = (shape: number[], seed: number) => d.rand(shape, new d.Rng(seed));
const same = (a: d.Tensor, b: d.Tensor) => assert.deepEqual(Array.from(a.data), Array.from(b.data));

test('each augmentation is the identity at zero strength', () => {
  const grey = imgs([5, 1, 8, 9], 1),
    rgb = imgs([3, 3, 6, 7], 2);
  const zero = [
    d.randomFlip(0),
    d.randomCrop(0),
    d.randomScale(1, 1),
    d.colorJitter({ brightness: 0, contrast: 0, saturation: 0, hue: 0 }),
    d.parseAugment('flip:0,crop:0,scale:1-1,jitter:0'),
    d.parseAugment('none'),
  ];
  for (const t of zero) {
    same(t(grey, new d.Rng(3)), grey);
    same(t(rgb, new d.Rng(4)), rgb);
  }
});

test('augmentations keep shapes and labels (through the DataLoader), are seeded, and change the images', () => {
  const n = 12;
  const images = imgs([n, 1, 10, 10], 5).data as Float32Array;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const ds = new d.Dataset({ images, labels, shape: [1, 10, 10], classes: ['a', 'b', 'c'] });
  const aug = d.parseAugment('flip,crop:2,scale:0.8-1.2,jitter:0.3');
  const plain = [...new d.DataLoader(ds, { batchSize: 5, shuffle: true, rng: new d.Rng(6) })];
  const run = () => [...new d.DataLoader(ds, { batchSize: 5, shuffle: true, rng: new d.Rng(6), transform: aug })];
  const a = run(),
    b = run();
  assert.equal(a.length, plain.length);
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(a[i].x.shape, plain[i].x.shape);
    assert.deepEqual(Array.from(a[i].y), Array.from(plain[i].y), 'labels unchanged');
    assert.deepEqual(Array.from(a[i].indices), Array.from(plain[i].indices));
    same(a[i].x, b[i].x);
    assert.notDeepEqual(Array.from(a[i].x.data), Array.from(plain[i].x.data));
  }
  const other = [...new d.DataLoader(ds, { batchSize: 5, shuffle: true, rng: new d.Rng(7), transform: aug })];
  assert.notDeepEqual(Array.from(other[0].x.data), Array.from(a[0].x.data));
});

test('flip mirrors rows; crop shifts by at most the padding and fills with zeros', () => {
  const x = d.fromData([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
  same(d.randomFlip(1)(x, new d.Rng(1)), d.fromData([3, 2, 1, 6, 5, 4], [1, 1, 2, 3]));
  const batch = imgs([40, 2, 6, 6], 8);
  const flipped = d.randomFlip(0.5)(batch, new d.Rng(9));
  let mirrored = 0;
  for (let n = 0; n < 40; n++) {
    const src = batch.data.subarray(n * 72, n * 72 + 72),
      out = flipped.data.subarray(n * 72, n * 72 + 72);
    if (out[0] !== src[0]) {
      mirrored++;
      assert.equal(out[0], src[5]);
    } else assert.deepEqual(Array.from(out), Array.from(src));
  }
  assert.ok(mirrored > 8 && mirrored < 32, `flipped ${mirrored} of 40`);

  const pad = 2,
    H = 6,
    W = 6;
  const cropped = d.randomCrop(pad)(batch, new d.Rng(10));
  const shifts = new Set<string>();
  for (let n = 0; n < 40; n++) {
    let found = false;
    for (let dy = -pad; dy <= pad && !found; dy++)
      for (let dx = -pad; dx <= pad && !found; dx++) {
        let ok = true;
        for (let c = 0; c < 2 && ok; c++)
          for (let y = 0; y < H && ok; y++)
            for (let x = 0; x < W && ok; x++) {
              const sy = y + dy,
                sx = x + dx;
              const want = sy >= 0 && sy < H && sx >= 0 && sx < W ? batch.data[((n * 2 + c) * H + sy) * W + sx] : 0;
              ok = cropped.data[((n * 2 + c) * H + y) * W + x] === want;
            }
        if (ok) {
          found = true;
          shifts.add(`${dy},${dx}`);
        }
      }
    assert.ok(found, `image ${n} is not a shifted copy within the padding`);
  }
  assert.ok(shifts.size > 8, `only ${shifts.size} distinct shifts`);
});

test('scale: bilinear with half-pixel centres; enlarging crops, shrinking pads', () => {
  // [0, 1] enlarged ×2 is [0, 0.25, 0.75, 1] (PyTorch interpolate, align_corners=false); any 2-wide window of it.
  const x = d.fromData([0, 1, 0, 1], [1, 1, 2, 2]);
  const rows = new Set<string>();
  for (let s = 0; s < 20; s++) {
    const y = d.randomScale(2, 2)(x, new d.Rng(s));
    rows.add(Array.from(y.data.subarray(0, 2)).join(','));
    assert.deepEqual(Array.from(y.data.subarray(0, 2)), Array.from(y.data.subarray(2, 4)));
  }
  assert.deepEqual([...rows].sort(), ['0,0.25', '0.25,0.75', '0.75,1']);
  const ones = d.full([3, 1, 8, 8], 1);
  const small = d.randomScale(0.5, 0.5)(ones, new d.Rng(11));
  for (let n = 0; n < 3; n++)
    assert.equal(
      Array.from(small.data.subarray(n * 64, n * 64 + 64)).reduce((a, b) => a + b, 0),
      16,
    );
  same(d.randomScale(1.3, 1.5)(ones, new d.Rng(12)), ones);
});

test('colour jitter: brightness scales, contrast keeps the mean grey, saturation and hue act on RGB only', () => {
  const x = d.rand([4, 1, 5, 5], new d.Rng(13), { low: 0.2, high: 0.6 });
  const b = d.colorJitter({ brightness: 0.3 })(x, new d.Rng(14));
  for (let n = 0; n < 4; n++) {
    const f = b.data[n * 25] / x.data[n * 25];
    assert.ok(f >= 0.7 - 1e-6 && f <= 1.3 + 1e-6);
    for (let i = 0; i < 25; i++) assertClose(b.data[n * 25 + i], x.data[n * 25 + i] * f, 1e-5);
  }
  const c = d.colorJitter({ contrast: 0.5 })(x, new d.Rng(15));
  for (let n = 0; n < 4; n++) {
    const mean = (t: d.Tensor) => Array.from(t.data.subarray(n * 25, n * 25 + 25)).reduce((a, v) => a + v, 0) / 25;
    assertClose(mean(c), mean(x), 1e-5, 'mean grey');
  }
  same(d.colorJitter({ saturation: 0.5, hue: 0.2 })(x, new d.Rng(16)), x);
  const rgb = d.rand([3, 3, 4, 4], new d.Rng(17));
  const jittered = d.colorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 })(rgb, new d.Rng(18));
  assert.ok(jittered.data.every((v) => v >= 0 && v <= 1));
  assert.notDeepEqual(Array.from(jittered.data), Array.from(rgb.data));
  // A grey RGB image (R = G = B) is a fixed point of saturation and hue.
  const greyRgb = d.fromData(
    Array.from({ length: 48 }, (_, i) => 0.1 + 0.05 * (i % 16)),
    [1, 3, 4, 4],
  );
  assertClose(
    d.colorJitter({ saturation: 0.9, hue: 0.5 })(greyRgb, new d.Rng(19)).data,
    greyRgb.data,
    1e-6,
    'grey is fixed by saturation and hue',
  );
  for (const [r, g, bb] of [
    [0.2, 0.5, 0.9],
    [1, 0, 0],
    [0.3, 0.3, 0.1],
    [0, 0, 0],
  ]) {
    assertClose(d.hsvToRgb(...d.rgbToHsv(r, g, bb)), [r, g, bb], 1e-12, 'rgb → hsv → rgb');
  }
  assertClose(d.rgbToHsv(0, 1, 0), [1 / 3, 1, 1], 1e-12);
});

test('parseAugment: the CLI spec and its errors', () => {
  assert.equal(
    d.parseAugment('flip,crop:4,scale:0.9-1.1,jitter:0.2').describe,
    'flip(p=0.5) → crop(padding=4) → scale(0.9-1.1) → jitter(b=0.2, c=0.2, s=0.2, h=0)',
  );
  assert.equal(d.parseAugment('').describe, 'identity');
  assert.throws(
    () => d.parseAugment('flip,rotate:10'),
    /^AugmentSpecError: augmentation spec: unknown transform "rotate" in "rotate:10" \(spec "flip,rotate:10"\); expected comma-separated flip\[:P\], crop:N/,
  );
  assert.throws(() => d.parseAugment('crop:-1'), /the padding must be a non-negative integer, got -1/);
  assert.throws(() => d.parseAugment('crop'), /crop needs the padding/);
  assert.throws(() => d.parseAugment('scale:1.1'), /scale needs a range A-B/);
  assert.throws(() => d.parseAugment('scale:1.2-0.9'), /scale: expected 0 < min ≤ max, got 1.2-0.9/);
  assert.throws(() => d.parseAugment('jitter:x'), /brightness is not a number \("x"\)/);
  assert.throws(() => d.parseAugment('flip:2'), /flip: probability must be in \[0, 1\], got 2/);
  assert.throws(
    () => d.randomFlip()(d.zeros([2, 3]), new d.Rng(0)),
    /augment flip\(p=0.5\): expected a batch \[N, C, H, W\], got \[2, 3\]/,
  );
});
