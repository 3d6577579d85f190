import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { gradCheck, randT, assertClose } from '../helpers.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/conv/${name}`, import.meta.url), 'utf8'));

test("FractionalMaxPool2d's PyTorch variant equals F.fractional_max_pool2d given the same _random_samples", () => {
  const cases = fixture('fmp.json').cases;
  assert.ok(cases.some((c: any) => c.params.dtype === 'float32') && cases.some((c: any) => c.params.dtype === 'float64'));
  for (const c of cases) {
    const dtype = c.params.dtype as d.DType;
    const x = d.fromData(c.x.data, c.x.shape, { dtype, requiresGrad: true });
    const samples = d.fromData(c.params.samples, [c.x.shape[0], c.x.shape[1], 2], { dtype });
    const layer = new d.FractionalMaxPool2d({ kernelSize: c.params.kernel, outputSize: c.params.outputSize, samples });
    const y = layer.forward(x);
    assert.deepEqual(y.shape, c.yShape, c.name);
    assert.deepEqual(Array.from(y.data), Array.from(d.fromData(c.y, c.yShape, { dtype }).data), `${c.name}: picks the same maxima`);
    d.backward(y, { gradient: d.fromData(c.gy, c.yShape, { dtype }) });
    assertClose(x.grad!.data, Array.from(d.fromData(c.x.grad, c.x.shape, { dtype }).data), 0, `${c.name} dx`);
  }
});

test('FMP output sizes follow the ratio α', () => {
  for (const alpha of [1.2, Math.SQRT2, 1.5, 1.9])
    for (let n = 2; n <= 40; n++) {
      const out = d.fmpOutputSize(n, alpha);
      assert.ok(n / out >= alpha - 1e-12 || out === Math.ceil(n / 2), `n=${n} α=${alpha}: ${out}`);
      assert.ok(n / (out + 1) < alpha || out === n, `n=${n} α=${alpha}: ${out} is the largest size with ratio ≥ α`);
      assert.ok(out <= n && 2 * out >= n);
    }
  const layer = new d.FractionalMaxPool2d({ ratio: [Math.SQRT2, 1.5] });
  assert.deepEqual(layer.forward(d.zeros([2, 3, 28, 28]), { training: true, rng: new d.Rng(1) }).shape, [2, 3, 19, 18]);
  assert.deepEqual(layer.forward(d.zeros([1, 1, 19, 18])).shape, [1, 1, 13, 12]);
});

test('FMP sequences: steps of 1 or 2 from 0 to N_in; random ones have exactly N_in − N_out twos', () => {
  const rng = new d.Rng(2);
  for (const kind of ['random', 'pseudorandom'] as const)
    for (let trial = 0; trial < 200; trial++) {
      const nIn = 2 + rng.int(40);
      const nOut = Math.ceil(nIn / 2) + rng.int(nIn - Math.ceil(nIn / 2) + 1);
      const a = d.fmpSequence(nIn, nOut, kind, rng);
      assert.equal(a[0], 0);
      assert.equal(a[nOut], nIn, `${kind} ${nIn}→${nOut}`);
      let twos = 0;
      for (let i = 1; i <= nOut; i++) {
        const s = a[i] - a[i - 1];
        assert.ok(s === 1 || s === 2, `${kind} step ${s}`);
        if (s === 2) twos++;
      }
      assert.equal(twos, nIn - nOut);
    }
  // Pseudorandom sequences differ with u; random ones with the permutation.
  const seqs = new Set(Array.from({ length: 20 }, (_, s) => d.fmpSequence(25, 18, 'pseudorandom', new d.Rng(s)).join(',')));
  assert.ok(seqs.size > 3);
});

test('FMP covers every input: each cell can reach the output (disjoint: exactly one region)', () => {
  for (const sequence of ['random', 'pseudorandom'] as const)
    for (const overlapping of [false, true]) {
      const rng = new d.Rng(3);
      for (let trial = 0; trial < 50; trial++) {
        const nIn = 3 + rng.int(30);
        const nOut = d.fmpOutputSize(nIn, 1.1 + 0.8 * rng.uniform());
        const [s, e] = d.fmpWindows(d.fmpSequence(nIn, nOut, sequence, rng), nIn, overlapping);
        const count = new Int32Array(nIn);
        for (let i = 0; i < nOut; i++) for (let k = s[i]; k < e[i]; k++) count[k]++;
        for (let k = 0; k < nIn; k++) {
          assert.ok(count[k] >= 1, `${sequence} cell ${k} of ${nIn} uncovered`);
          if (!overlapping) assert.equal(count[k], 1, `${sequence} disjoint: cell ${k} in ${count[k]} regions`);
        }
      }
      // End to end through the layer: a single hot cell anywhere in a 9×10 plane reaches the output.
      const layer = new d.FractionalMaxPool2d({ ratio: 1.6, sequence, overlapping });
      for (let cell = 0; cell < 90; cell++) {
        const x = d.zeros([1, 1, 9, 10]);
        x.data[cell] = 1;
        const y = layer.forward(x, { training: true, rng: new d.Rng(cell) });
        assert.deepEqual(y.shape, [1, 1, 5, 6]);
        assert.ok(y.data.includes(1), `${sequence}/${overlapping}: cell ${cell} is not covered`);
      }
    }
});

test('FMP: seeded, deterministic in evaluation, gradients match central differences', () => {
  const layer = new d.FractionalMaxPool2d({ sequence: 'random' });
  const x = d.rand([2, 3, 12, 12], new d.Rng(4));
  const a = layer.forward(x, { training: true, rng: new d.Rng(5) });
  const b = layer.forward(x, { training: true, rng: new d.Rng(5) });
  const c = layer.forward(x, { training: true, rng: new d.Rng(6) });
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  assert.notDeepEqual(Array.from(a.data), Array.from(c.data));
  assert.deepEqual(Array.from(layer.forward(x).data), Array.from(layer.forward(x).data));
  assert.throws(
    () => layer.forward(x, { training: true }),
    /FractionalMaxPool2d\(α=1.4142, random, overlapping\): training mode needs a random generator/,
  );
  for (const l of [
    new d.FractionalMaxPool2d({ overlapping: false }),
    new d.FractionalMaxPool2d({ sequence: 'random' }),
    new d.FractionalMaxPool2d({ kernelSize: 2, ratio: 1.5 }),
  ]) {
    gradCheck((t) => l.forward(t, { training: true, rng: new d.Rng(7) }), [randT([2, 2, 7, 8], 8)]);
  }
});

test('FMP evaluation: deterministic, and layers do not share one sequence generator (shifts must not add up)', () => {
  const x = d.rand([4, 2, 20, 20], new d.Rng(20));
  const a = new d.FractionalMaxPool2d({ rng: new d.Rng(21) });
  const b = new d.FractionalMaxPool2d({ rng: new d.Rng(22) });
  const a2 = new d.FractionalMaxPool2d({ rng: new d.Rng(21) });
  assert.deepEqual(Array.from(a.forward(x).data), Array.from(a.forward(x).data), 'same layer, same call: same regions');
  assert.deepEqual(Array.from(a.forward(x).data), Array.from(a2.forward(x).data), 'same seed: same regions');
  assert.notDeepEqual(Array.from(a.forward(x).data), Array.from(b.forward(x).data), 'two layers: independent regions');
  // Default-constructed layers draw their seeds from the global generator, so they differ too.
  assert.notDeepEqual(Array.from(new d.FractionalMaxPool2d().forward(x).data), Array.from(new d.FractionalMaxPool2d().forward(x).data));
});

test('FMP: clear errors', () => {
  assert.throws(() => new d.FractionalMaxPool2d({ ratio: 2 }), /ratio α must be in \(1, 2\), got 2/);
  assert.throws(
    () => new d.FractionalMaxPool2d({ sequence: 'sobol' as any }),
    /FractionalMaxPool2d: invalid sequence "sobol"; expected 'random' or 'pseudorandom'/,
  );
  assert.throws(
    () => new d.FractionalMaxPool2d({ kernelSize: 3, outputSize: 7 }).forward(d.zeros([1, 1, 8, 8])),
    /output 7×7 with kernel 3×3 does not fit the input 8×8/,
  );
  assert.throws(() => new d.FractionalMaxPool2d().forward(d.zeros([8, 8])), /expected input \[N, C, H, W\], got \[8, 8\]/);
});

test("FractionalMaxPool2d.regions from the generator's state before a forward are the regions the first image was pooled over", () => {
  for (const sequence of ['random', 'pseudorandom'] as const)
    for (const overlapping of [false, true]) {
      const layer = new d.FractionalMaxPool2d({ sequence, overlapping });
      const x = d.rand([2, 3, 28, 28], new d.Rng(7));
      const rng = new d.Rng(8);
      const state = rng.getState();
      const y = layer.forward(x, { training: true, rng });
      const { rows, cols } = layer.regions(28, 28, d.Rng.fromState(state));
      const [oh, ow] = [rows[0].length, cols[0].length];
      assert.deepEqual(y.shape, [2, 3, oh, ow]);
      // Disjoint regions tile the plane; overlapping ones reach one cell further (except at the edge).
      for (const [s, e] of [rows, cols]) {
        assert.equal(s[0], 0);
        assert.equal(e[e.length - 1], 28);
        for (let i = 1; i < s.length; i++) {
          assert.ok(s[i] - s[i - 1] === 1 || s[i] - s[i - 1] === 2, 'steps of 1 or 2');
          assert.equal(e[i - 1], overlapping ? s[i] + 1 : s[i]);
        }
      }
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            let m = -Infinity;
            for (let r = rows[0][i]; r < rows[1][i]; r++)
              for (let q = cols[0][j]; q < cols[1][j]; q++) m = Math.max(m, x.data[c * 784 + r * 28 + q]);
            assert.equal(y.data[(c * oh + i) * ow + j], m, `${sequence} ${overlapping} channel ${c} (${i}, ${j})`);
          }
    }
});
