/**
 * The training page's figures, computed in Node by the code the page's worker runs (session.ts):
 * the loss landscape (filter normalisation, the slice against losses computed by hand, the path's
 * principal directions), the replayed dropout / DropConnect masks against the loss the step recorded,
 * the snapshot run, the fractional max pooling regions, and the augmentation examples with mixing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, type Tensor } from '../../src/index.js';
import { loadEmbedded } from '../../src/node.js';
import {
  TrainSession,
  landscape,
  filterNormalizedDirection,
  randomDirections,
  principalDirections,
  fmpExample,
  augmentExamples,
} from '../../lab/src/train/session.js';
import { DEFAULTS, type TrainConfig } from '../../lab/src/train/config.js';
import { TRAIN_PRESETS } from '../../lab/src/train/presets.js';

const { train, test: testSet } = loadEmbedded();

/** Mean cross-entropy of the MLP 784-H-10 (weights flat in namedParameters order) on the first n training samples, by hand in float64. */
function mlpLoss(w: ArrayLike<number>, H: number, n: number): number {
  const W1 = 0,
    b1 = H * 784,
    W2 = b1 + H,
    b2 = W2 + 10 * H;
  let total = 0;
  const h = new Float64Array(H);
  for (let k = 0; k < n; k++) {
    const x = train.images.subarray(k * 784, (k + 1) * 784);
    for (let u = 0; u < H; u++) {
      let s = w[b1 + u];
      for (let i = 0; i < 784; i++) s += w[W1 + u * 784 + i] * x[i];
      h[u] = s > 0 ? s : 0;
    }
    const z = Array.from({ length: 10 }, (_, o) => {
      let s = w[b2 + o];
      for (let u = 0; u < H; u++) s += w[W2 + o * H + u] * h[u];
      return s;
    });
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
    total += lse - z[train.labels[k]];
  }
  return total / n;
}

function trained(c: Partial<TrainConfig>): TrainSession {
  const s = new TrainSession({ ...DEFAULTS, hidden: 16, train: 300, test: 100, batch: 50, epochs: 3, lr: 0.1, ...c }, train, testSet);
  while (s.next());
  return s;
}

test('landscape: each filter-normalised direction has, row by row (filter by filter), the norm of the weights; biases 0', () => {
  const s = trained({});
  const params = s.model.namedParameters();
  for (const d of randomDirections(s)) {
    let o = 0;
    let rowsChecked = 0;
    for (const [name, p] of params) {
      if (p.shape.length === 1) {
        for (let i = 0; i < p.size; i++) assert.equal(d[o + i], 0, `${name}[${i}] of the direction`);
      } else {
        const rows = p.shape[0],
          cols = p.size / rows;
        for (let r = 0; r < rows; r++) {
          let nd = 0,
            nw = 0;
          for (let j = 0; j < cols; j++) {
            nd += d[o + r * cols + j] ** 2;
            nw += p.data[r * cols + j] ** 2;
          }
          assert.ok(nw > 0);
          assert.ok(
            Math.abs(Math.sqrt(nd) - Math.sqrt(nw)) <= 1e-12 * Math.sqrt(nw),
            `${name} row ${r}: ${Math.sqrt(nd)} vs ${Math.sqrt(nw)}`,
          );
          rowsChecked++;
        }
      }
      o += p.size;
    }
    assert.equal(rowsChecked, 16 + 10);
  }
  // Filters of a 4-D weight (a convolution): each output filter [C, k, k] gets its own norm.
  const conv = { shape: [3, 2, 2, 2], data: Float64Array.from({ length: 24 }, (_, i) => (i < 8 ? 0.1 : i < 16 ? 2 : -5) * (1 + (i % 3))) };
  const d = filterNormalizedDirection([conv], new Rng(4));
  for (let f = 0; f < 3; f++) {
    const nd = Math.hypot(...d.subarray(f * 8, f * 8 + 8));
    const nw = Math.hypot(...conv.data.subarray(f * 8, f * 8 + 8));
    assert.ok(Math.abs(nd - nw) <= 1e-12 * nw, `filter ${f}: ${nd} vs ${nw}`);
  }
  // Two draws differ (they are random directions, not a fixed one).
  const [a, b] = randomDirections(s);
  assert.ok(a.some((v, i) => v !== b[i]));
});

test("landscape: the slice at (0, 0) is the model's loss at the final weights, and a point (a, b) the loss at w + a·d1 + b·d2, both computed by hand", () => {
  const s = trained({});
  const w = s.flatWeights();
  const n = 200;
  const land = landscape(s, 5, n);
  assert.deepEqual(land.alphas, [-1, -0.5, 0, 0.5, 1]);
  const atFinal = mlpLoss(w, 16, n);
  for (const grid of [land.random, land.pca]) {
    assert.ok(Math.abs(grid[2][2] - atFinal) <= 1e-5 * atFinal, `centre ${grid[2][2]} vs by hand ${atFinal}`);
  }
  // Row i is b = alphas[i], column j is a = alphas[j].
  const [d1, d2] = randomDirections(s);
  for (const [i, j] of [
    [0, 4],
    [3, 1],
  ]) {
    const a = land.alphas[j],
      b = land.alphas[i];
    const moved = Float64Array.from(w, (v, k) => v + a * d1[k] + b * d2[k]);
    const byHand = mlpLoss(moved, 16, n);
    assert.ok(Math.abs(land.random[i][j] - byHand) <= 1e-5 * byHand, `(${a}, ${b}): ${land.random[i][j]} vs by hand ${byHand}`);
    assert.ok(Math.abs(byHand - atFinal) > 1e-3, 'the point is away from the centre');
  }
  // The weights are left as they were.
  assert.deepEqual(s.flatWeights(), w);
});

test('landscape: the principal directions of a path built along two known directions recover them', () => {
  const D = 40;
  const rng = new Rng(12);
  const unit = () => {
    const v = Float64Array.from({ length: D }, () => rng.normal());
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const u = unit();
  let v = unit();
  const uv = v.reduce((a, x, i) => a + x * u[i], 0);
  v = v.map((x, i) => x - uv * u[i]);
  const nv = Math.hypot(...v);
  v = v.map((x) => x / nv);
  const final = Float64Array.from({ length: D }, () => rng.normal());
  // A path that spirals in to the final weights: large steps along u, smaller along v.
  const c = [3, -2.5, 2, -1.2, 0.8, -0.3, 0];
  // The coefficients along v are made uncorrelated with those along u (about the final point), so the
  // path's principal axes are exactly u and v.
  const e0 = [0.5, 0.9, -0.7, 0.4, -0.35, 0.1, 0];
  const ec = e0.reduce((a, x, k) => a + x * c[k], 0) / c.reduce((a, x) => a + x * x, 0);
  const e = e0.map((x, k) => x - ec * c[k]);
  const path = c.map((ck, k) => Float64Array.from(final, (f, i) => f + ck * u[i] + e[k] * v[i]));
  const pc = principalDirections(path, final);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);
  assert.ok(Math.abs(Math.abs(dot(pc.dirs[0], u)) - 1) < 1e-9, `first direction · u = ${dot(pc.dirs[0], u)}`);
  assert.ok(Math.abs(Math.abs(dot(pc.dirs[1], v)) - 1) < 1e-9, `second direction · v = ${dot(pc.dirs[1], v)}`);
  assert.ok(Math.abs(pc.explained - 1) < 1e-9, `explained ${pc.explained}`);
  const s0 = Math.sign(dot(pc.dirs[0], u)),
    s1 = Math.sign(dot(pc.dirs[1], v));
  pc.coords.forEach(([a, b], k) => {
    assert.ok(Math.abs(a - s0 * c[k]) < 1e-9 && Math.abs(b - s1 * e[k]) < 1e-9, `point ${k}: (${a}, ${b})`);
  });
  // A third direction in the path lowers the share the two explain, by its share of the variance.
  const w = unit();
  const wu = dot(w, u),
    wv = dot(w, v);
  const w3 = w.map((x, i) => x - wu * u[i] - wv * v[i]);
  const n3 = Math.hypot(...w3);
  // Its coefficients uncorrelated with c and e, and smaller: the first two axes stay u and v.
  const proj = (a: number[], b: number[]) => a.reduce((t, x, k) => t + x * b[k], 0) / b.reduce((t, x) => t + x * x, 0);
  let third = [0.3, -0.2, 0.2, 0.1, -0.1, 0, 0];
  for (const b of [c, e]) {
    const f = proj(third, b);
    third = third.map((x, k) => x - f * b[k]);
  }
  const path3 = path.map((p, k) => p.map((x, i) => x + (third[k] * w3[i]) / n3));
  const pc3 = principalDirections(path3, final);
  const ss = (a: number[]) => a.reduce((t, x) => t + x * x, 0);
  const expected = (ss(c) + ss(e)) / (ss(c) + ss(e) + ss(third));
  assert.ok(expected < 0.999);
  assert.ok(Math.abs(pc3.explained - expected) < 1e-9, `explained ${pc3.explained}, expected ${expected}`);
});

test("the replayed dropout mask is the one training used: the step's recorded loss, recomputed by hand with it", () => {
  // One example per batch, so the batch's first example is the whole batch and the mask is complete.
  const c: TrainConfig = { ...DEFAULTS, hidden: 16, reg: 'dropout', p: 0.5, train: 30, test: 50, batch: 1, epochs: 1, seed: 5 };
  const s = new TrainSession(c, train, testSet);
  const order = [...s.loader.epoch(0)] as { x: Tensor; y: Int32Array }[]; // no mix in this run: class labels
  const seen: string[] = [];
  for (let k = 0; k < 6; k++) {
    const w = s.flatWeights();
    const r = s.next()!;
    const m = s.masks(16)!;
    assert.equal(m.kind, 'dropout');
    assert.equal(m.step, k + 1);
    seen.push(m.keep.join(''));
    // logits = W2 (relu(W1 x + b1) ⊙ mask / (1 − p)) + b2 on this step's example
    const x = order[k].x.data,
      y = order[k].y[0];
    const h = Array.from({ length: 16 }, (_, u) => {
      let t = w[16 * 784 + u];
      for (let i = 0; i < 784; i++) t += w[u * 784 + i] * x[i];
      return t > 0 ? (t * m.keep[u]) / 0.5 : 0;
    });
    const z = Array.from({ length: 10 }, (_, o) => {
      let t = w[16 * 784 + 16 + 160 + o];
      for (let u = 0; u < 16; u++) t += w[16 * 784 + 16 + o * 16 + u] * h[u];
      return t;
    });
    const mx = Math.max(...z);
    const loss = mx + Math.log(z.reduce((a, v) => a + Math.exp(v - mx), 0)) - z[y];
    assert.ok(Math.abs(loss - r.step.loss) <= 1e-5 * Math.max(1, loss), `step ${k + 1}: by hand ${loss}, recorded ${r.step.loss}`);
  }
  assert.ok(new Set(seen).size >= 5, 'the masks change with each batch');
  // Same seed, same masks.
  const again = new TrainSession(c, train, testSet);
  for (let k = 0; k < 6; k++) {
    again.next();
    assert.equal(again.masks(16)!.keep.join(''), seen[k], `step ${k + 1}`);
  }
});

test("the replayed DropConnect mask (one per batch) is the one training used: the step's recorded loss, recomputed by hand with it", () => {
  const c: TrainConfig = { ...DEFAULTS, hidden: 8, reg: 'dropconnect', p: 0.5, train: 40, test: 50, batch: 10, epochs: 1, seed: 2 };
  const s = new TrainSession(c, train, testSet);
  const order = [...s.loader.epoch(0)] as { x: Tensor; y: Int32Array }[]; // no mix in this run: class labels
  const all = Array.from({ length: 784 }, (_, i) => i);
  for (let k = 0; k < 3; k++) {
    const w = s.flatWeights();
    const r = s.next()!;
    const m = s.masks(8, all)!;
    assert.equal(m.kind, 'dropconnect');
    assert.equal(m.keep.length, 8 * 784);
    const dropped = m.keep.filter((v) => v === 0).length;
    assert.ok(dropped > 0.4 * 8 * 784 && dropped < 0.6 * 8 * 784, `${dropped} dropped with p = 0.5`);
    let total = 0;
    for (let n = 0; n < 10; n++) {
      const x = order[k].x.data.subarray(n * 784, (n + 1) * 784);
      const h = Array.from({ length: 8 }, (_, u) => {
        let t = 0;
        for (let i = 0; i < 784; i++) t += w[u * 784 + i] * m.keep[u * 784 + i] * x[i];
        t = t / 0.5 + w[8 * 784 + u];
        return t > 0 ? t : 0;
      });
      const z = Array.from({ length: 10 }, (_, o) => {
        let t = w[8 * 784 + 8 + 80 + o];
        for (let u = 0; u < 8; u++) t += w[8 * 784 + 8 + o * 8 + u] * h[u];
        return t;
      });
      const mx = Math.max(...z);
      total += mx + Math.log(z.reduce((a, v) => a + Math.exp(v - mx), 0)) - z[order[k].y[n]];
    }
    assert.ok(
      Math.abs(total / 10 - r.step.loss) <= 1e-5 * Math.max(1, total / 10),
      `step ${k + 1}: by hand ${total / 10}, recorded ${r.step.loss}`,
    );
  }
  // No dropout or DropConnect layer: no masks.
  const plain = new TrainSession({ ...c, reg: 'none' }, train, testSet);
  plain.next();
  assert.equal(plain.masks(), null);
});

test("a snapshot run: the library's cyclic cosine rate restarts after each snapshot, one snapshot per cycle, the last one the final weights", () => {
  const c: TrainConfig = { ...DEFAULTS, hidden: 16, train: 400, test: 200, batch: 50, epochs: 6, lr: 0.4, schedule: 'snapshot', cycles: 3 };
  const s = new TrainSession(c, train, testSet);
  const steps = [];
  let last;
  for (let r = s.next(); r; r = s.next()) {
    steps.push(r.step);
    if (r.epoch) last = r.epoch;
  }
  assert.equal(steps.length, 48);
  assert.deepEqual(s.snapshots!.at, [16, 32, 48]);
  assert.equal(s.snapshots!.snapshots.length, 3);
  for (const a of [0, 16, 32]) assert.equal(steps[a].lr, 0.4, `the rate restarts at step ${a + 1}`);
  for (const a of [15, 31, 47]) assert.ok(steps[a].lr < 0.01, `the rate has annealed at step ${a + 1}: ${steps[a].lr}`);
  const rep = s.snapshotEnsembleReport()!;
  assert.equal(rep.members.length, 3);
  assert.equal(rep.members[2], last!.testAccuracy, "the last snapshot's accuracy is the final model's");
  assert.ok(rep.members[0] !== rep.members[2] || rep.average !== rep.members[2], 'the snapshots differ');
  assert.equal(trained({}).snapshotEnsembleReport(), null);
});

test("fractional max pooling figure: the library's regions cover the garment as it says, and each pooled pixel is its region's maximum", () => {
  const a = fmpExample(train, 0, 1);
  assert.equal(a.panels.length, 4);
  for (const p of a.panels) {
    const cover = new Int32Array(784);
    const [oh, ow] = [p.rows[0].length, p.cols[0].length];
    assert.deepEqual([oh, ow], [19, 19], '28 / √2 → 19');
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let m = -Infinity;
        for (let r = p.rows[0][i]; r < p.rows[1][i]; r++)
          for (let q = p.cols[0][j]; q < p.cols[1][j]; q++) {
            cover[r * 28 + q]++;
            m = Math.max(m, a.image[r * 28 + q]);
          }
        assert.equal(p.pooled[i * ow + j], m, `${p.sequence} ${p.overlapping} (${i}, ${j})`);
      }
    if (!p.overlapping)
      assert.ok(
        cover.every((v) => v === 1),
        'disjoint regions tile the image',
      );
    else assert.ok(cover.every((v) => v >= 1) && cover.some((v) => v > 1), 'overlapping regions cover it, some pixels twice or more');
  }
  // Disjoint and overlapping share their boundaries; random and pseudorandom do not.
  assert.deepEqual(a.panels[0].rows[0], a.panels[1].rows[0]);
  assert.notDeepEqual(a.panels[0].rows[0], a.panels[2].rows[0]);
  // A new seed, a new draw; the same seed, the same draw.
  assert.notDeepEqual(fmpExample(train, 0, 2).panels[0].rows, a.panels[0].rows);
  assert.deepEqual(fmpExample(train, 0, 1), a);
});

test('the augmentation examples: CutMix pastes a box of the garment before each one, MixUp blends the pair', () => {
  const none = { flip: 0, pad: 0, scale: 0, brightness: 0, contrast: 0, count: 4, variants: 3, seed: 5 };
  const plain = augmentExamples(train, { ...none, mixup: 0, cutmix: 0 });
  assert.equal(plain.length, 4);
  for (const row of plain) assert.deepEqual(Array.from(row), Array.from(plain[0]), 'no transform, no mix: the originals');
  const cut = augmentExamples(train, { ...none, mixup: 0, cutmix: 1 });
  const orig = plain[0];
  let pasted = 0;
  for (const row of cut.slice(1))
    for (let k = 0; k < 4; k++) {
      const before = (k + 3) % 4;
      for (let j = 0; j < 784; j++) {
        const v = row[k * 784 + j];
        assert.ok(v === orig[k * 784 + j] || v === orig[before * 784 + j], `garment ${k} pixel ${j}: its own or garment ${before}'s`);
        if (v !== orig[k * 784 + j]) pasted++;
      }
    }
  assert.ok(pasted > 784, `${pasted} pixels pasted`);
  const blend = augmentExamples(train, { ...none, mixup: 0.4, cutmix: 0 });
  for (const row of blend.slice(1)) {
    // one λ per row: x′ = λ·x + (1 − λ)·x_before, the same λ at every pixel
    const j = orig.findIndex((v, i) => Math.abs(v - orig[(i + 3 * 784) % (4 * 784)]) > 0.3);
    const lam = (row[j] - orig[(j + 3 * 784) % (4 * 784)]) / (orig[j] - orig[(j + 3 * 784) % (4 * 784)]);
    for (let i = 0; i < 4 * 784; i++) {
      const want = lam * orig[i] + (1 - lam) * orig[(i + 3 * 784) % (4 * 784)];
      assert.ok(Math.abs(row[i] - want) < 1e-5, `pixel ${i}: ${row[i]} vs ${want}`);
    }
  }
});

test("the augmentation preset's MixUp figures are the runs' own: train and test loss at epoch 30, and the test accuracies", () => {
  const last = (label: string) => {
    const run = TRAIN_PRESETS.augment.runs.find((r) => r.label.startsWith(label))!;
    const s = new TrainSession({ ...DEFAULTS, ...run.config } as TrainConfig, train, testSet);
    let e = null;
    for (let r = s.next(); r; r = s.next()) if (r.epoch) e = r.epoch;
    assert.equal(e!.epoch, 30);
    return e!;
  };
  const plain = last('no augmentation'),
    mixed = last('MixUp');
  const text = TRAIN_PRESETS.augment.text;
  const f2 = (v: number) => v.toFixed(2);
  assert.ok(
    text.includes(`keeps the train loss at ${f2(mixed.trainLoss)} by epoch 30 (${f2(plain.trainLoss)} without)`),
    `train losses ${mixed.trainLoss} / ${plain.trainLoss}`,
  );
  assert.ok(
    text.includes(
      `the test loss flat: ${f2(mixed.testLoss)} against ${f2(plain.testLoss)} without, at a test accuracy of ${f2(mixed.testAccuracy)} against ${f2(plain.testAccuracy)}`,
    ),
    `test ${mixed.testLoss} / ${plain.testLoss}, accuracy ${mixed.testAccuracy} / ${plain.testAccuracy}`,
  );
  assert.ok(mixed.testLoss < plain.testLoss - 0.1, 'MixUp ends with the lower test loss');
});
