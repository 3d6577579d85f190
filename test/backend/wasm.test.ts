/**
 * The wasm backend against the reference backend, op by op, on random shapes with odd sizes and
 * every transpose combination, with threads off (1) and on (2). Float32 tolerance: results differ
 * from the reference only by summation order (and fused multiply-adds under relaxed SIMD).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads, wasmInfo, wasmFloat32Array, wasmPersistentBytes } from '../../src/backend/wasm/index.js';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { PARALLEL_MACS, SMALL_ELEMENTWISE } from '../../src/backend/wasm/context.js';
import { extensionsOf, type BinaryOp, type UnaryOp, type Conv2dGeometry } from '../../src/backend/backend.js';
import { sizeOf } from '../../src/tensor/shape.js';
import { assertClose, floatSource } from '../helpers.js';

const W = { ...(await initWasm({ threads: 2 })), ...extensionsOf('wasm') };

const rnd = floatSource(12345);

const TOL = 2e-5;

/** A convolution's geometry without dilation or groups (oh, ow: PyTorch's output size). */
function conv(
  n: number,
  c: number,
  h: number,
  w: number,
  k: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  ph: number,
  pw: number,
): Conv2dGeometry {
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1,
    ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
  return { n, c, h, w, k, kh, kw, oh, ow, strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: 1, dilationW: 1, groups: 1 };
}

for (const threads of [1, 2]) {
  const tag = `threads=${threads}`;

  test(`wasm matmul equals the reference for every transpose, odd and big sizes (${tag})`, () => {
    setWasmThreads(threads);
    const sizes: [number, number, number][] = [
      [1, 1, 1],
      [3, 5, 7],
      [37, 53, 71],
      [13, 300, 9],
      [300, 13, 9],
      [97, 129, 257],
      [6, 8, 1000],
      // threaded, split along m (B packed once) and along n (A packed once), depth over several KC blocks
      [257, 97, 129],
      [131, 50, 700],
      [40, 300, 600],
    ];
    for (const [m, n, k] of sizes)
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          const a = rnd(m * k),
            b = rnd(k * n);
          const got = new Float32Array(m * n).fill(NaN),
            want = new Float32Array(m * n);
          W.matmul(a, b, got, m, n, k, ta, tb);
          R.matmul(a, b, want, m, n, k, ta, tb);
          assertClose(got, want, TOL * Math.sqrt(k), `matmul ${m}x${n}x${k} tA=${ta} tB=${tb}`);
        }
    assert.ok(97 * 129 * 257 >= PARALLEL_MACS, 'the big case must take the threaded path');
  });

  test(`a last panel of at most 4 rows (4 high) gives the values of the same rows in a 6-row panel (${tag})`, () => {
    setWasmThreads(threads);
    // m = 10 ends with a 4-row panel, packed 4 high (relaxed SIMD's 6-row panels, blocks of depth ≥ 128);
    // m = 12 holds the same 10 rows in full panels (A padded with 2 more): equal bit for bit. With
    // n = 10 the 4-row panel also meets the 4-wide last column panel.
    for (const [n, k] of [
      [70, 300],
      [10, 784],
      [784, 1000],
    ])
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          const a10 = rnd(10 * k),
            b = rnd(k * n);
          const a12 = new Float32Array(12 * k);
          for (let p = 0; p < k; p++) for (let i = 0; i < 10; i++) a12[ta ? p * 12 + i : i * k + p] = a10[ta ? p * 10 + i : i * k + p];
          const c10 = new Float32Array(10 * n),
            c12 = new Float32Array(12 * n);
          W.matmul(a10, b, c10, 10, n, k, ta, tb);
          W.matmul(a12, b, c12, 12, n, k, ta, tb);
          assert.deepEqual(c10, c12.subarray(0, 10 * n), `10x${n}x${k} tA=${ta} tB=${tb}`);
        }
  });

  test(`B read in place (at most 12 rows of C) gives the packed path's values bit for bit (${tag})`, () => {
    setWasmThreads(threads);
    // m = 10 reads B's rows in place (a logistic regression's weight gradient gyᵀ·x); m = 13 holds
    // the same 10 rows and packs B: each output is the same fma sequence over k either way. n = 70
    // and 787 end with a clipped panel (packed in both), k = 600 spans three depth blocks, n = 16 is two
    // full panels.
    for (const [n, k] of [
      [70, 300],
      [787, 600],
      [16, 40],
    ])
      for (const ta of [false, true]) {
        const a10 = rnd(10 * k),
          b = rnd(k * n);
        const a13 = new Float32Array(13 * k);
        for (let p = 0; p < k; p++) for (let i = 0; i < 10; i++) a13[ta ? p * 13 + i : i * k + p] = a10[ta ? p * 10 + i : i * k + p];
        const c10 = new Float32Array(10 * n),
          c13 = new Float32Array(13 * n),
          want = new Float32Array(10 * n);
        W.matmul(a10, b, c10, 10, n, k, ta, false);
        W.matmul(a13, b, c13, 13, n, k, ta, false);
        R.matmul(a10, b, want, 10, n, k, ta, false);
        assert.deepEqual(c10, c13.subarray(0, 10 * n), `10x${n}x${k} tA=${ta}`);
        assertClose(c10, want, TOL * Math.sqrt(k), `10x${n}x${k} tA=${ta} against the reference`);
      }
  });

  test(`a last panel of at most 4 columns (4 wide) gives the values of the same columns in an 8-wide panel (${tag})`, () => {
    setWasmThreads(threads);
    // n = 10 ends with a 2-column panel, packed 4 wide in blocks of depth ≥ 128 (KC = 256: here k = 300
    // and 784 have blocks of 256 and a last one of 44 and 16, packed 8 wide); n = 16 holds the same 10
    // columns in 8-wide panels (B padded with 6 more): each output is the same fma sequence over k,
    // so equal bit for bit
    for (const [m, k] of [
      [37, 300],
      [600, 784],
    ])
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          const a = rnd(m * k),
            b10 = rnd(k * 10);
          const b16 = new Float32Array(k * 16);
          for (let p = 0; p < k; p++) for (let j = 0; j < 10; j++) b16[tb ? j * k + p : p * 16 + j] = b10[tb ? j * k + p : p * 10 + j];
          const c10 = new Float32Array(m * 10),
            c16 = new Float32Array(m * 16);
          W.matmul(a, b10, c10, m, 10, k, ta, tb);
          W.matmul(a, b16, c16, m, 16, k, ta, tb);
          for (let i = 0; i < m; i++)
            assert.deepEqual(
              c10.subarray(i * 10, i * 10 + 10),
              c16.subarray(i * 16, i * 16 + 10),
              `row ${i} of ${m}x10x${k} tA=${ta} tB=${tb}`,
            );
        }
  });

  test(`wasm conv2d and both backward passes equal the reference (${tag})`, () => {
    setWasmThreads(threads);
    const geos: Conv2dGeometry[] = [
      {
        n: 3,
        c: 2,
        h: 9,
        w: 11,
        k: 5,
        kh: 3,
        kw: 3,
        oh: 9,
        ow: 11,
        strideH: 1,
        strideW: 1,
        padH: 1,
        padW: 1,
        dilationH: 1,
        dilationW: 1,
        groups: 1,
      },
      {
        n: 2,
        c: 3,
        h: 10,
        w: 7,
        k: 4,
        kh: 3,
        kw: 2,
        oh: 4,
        ow: 3,
        strideH: 2,
        strideW: 2,
        padH: 0,
        padW: 0,
        dilationH: 1,
        dilationW: 1,
        groups: 1,
      },
      {
        n: 5,
        c: 4,
        h: 6,
        w: 6,
        k: 3,
        kh: 1,
        kw: 1,
        oh: 6,
        ow: 6,
        strideH: 1,
        strideW: 1,
        padH: 0,
        padW: 0,
        dilationH: 1,
        dilationW: 1,
        groups: 1,
      },
      {
        n: 2,
        c: 1,
        h: 8,
        w: 9,
        k: 2,
        kh: 5,
        kw: 5,
        oh: 8,
        ow: 9,
        strideH: 1,
        strideW: 1,
        padH: 2,
        padW: 2,
        dilationH: 1,
        dilationW: 1,
        groups: 1,
      },
      // big enough to be split over threads
      {
        n: 8,
        c: 8,
        h: 14,
        w: 14,
        k: 16,
        kh: 5,
        kw: 5,
        oh: 14,
        ow: 14,
        strideH: 1,
        strideW: 1,
        padH: 2,
        padW: 2,
        dilationH: 1,
        dilationW: 1,
        groups: 1,
      },
      // dilated and grouped (im2col per group; the 5×5 one has a Winograd layer's shape but must not take it), threaded
      { ...conv(8, 8, 14, 14, 16, 5, 5, 1, 1, 4, 4), dilationH: 2, dilationW: 2, groups: 4, oh: 14, ow: 14 },
      { ...conv(3, 6, 11, 10, 6, 3, 3, 2, 1, 2, 1), dilationH: 2, dilationW: 3, groups: 6, oh: 6, ow: 6 },
    ];
    for (const g of geos) {
      const what = JSON.stringify(g);
      const x = rnd(g.n * g.c * g.h * g.w),
        w = rnd(g.k * (g.c / g.groups) * g.kh * g.kw),
        gy = rnd(g.n * g.k * g.oh * g.ow);
      const y1 = new Float32Array(gy.length).fill(NaN),
        y2 = new Float32Array(gy.length);
      W.conv2d(x, w, y1, g);
      R.conv2d(x, w, y2, g);
      assertClose(y1, y2, 1e-4, `conv2d ${what}`);
      const gx1 = new Float32Array(x.length).fill(NaN),
        gx2 = new Float32Array(x.length);
      W.conv2dBackwardInput(gy, w, gx1, g);
      R.conv2dBackwardInput(gy, w, gx2, g);
      assertClose(gx1, gx2, 1e-4, `conv2dBackwardInput ${what}`);
      const gw1 = new Float32Array(w.length).fill(NaN),
        gw2 = new Float32Array(w.length);
      W.conv2dBackwardWeight(x, gy, gw1, g);
      R.conv2dBackwardWeight(x, gy, gw2, g);
      assertClose(gw1, gw2, 1e-4, `conv2dBackwardWeight ${what}`);
    }
  });

  test(`wasm fused Adam/AdamW/AMSGrad and SGD steps equal the plain update (${tag})`, () => {
    setWasmThreads(threads);
    const n = 100003; // odd: exercises the scalar tail
    for (const variant of [
      { weightDecay: 0, decoupled: false, maximize: false, amsgrad: false },
      { weightDecay: 0.1, decoupled: false, maximize: true, amsgrad: true },
      { weightDecay: 0.01, decoupled: true, maximize: false, amsgrad: false },
    ]) {
      const p = rnd(n),
        g = rnd(n),
        m = rnd(n, -0.1, 0.1),
        v = rnd(n, 0, 0.01),
        vm = rnd(n, 0, 0.02);
      const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3, ...variant };
      const [p2, m2, v2, vm2] = [p.slice(), m.slice(), v.slice(), vm.slice()];
      assert.equal(W.adamStep!(p, g, m, v, h.amsgrad ? vm : null, h), true);
      // PyTorch 1.13's single-tensor Adam, in float64
      const bc1 = 1 - h.beta1 ** h.step,
        bc2 = 1 - h.beta2 ** h.step;
      for (let i = 0; i < n; i++) {
        let gi = h.maximize ? -g[i] : g[i];
        let pi = p2[i];
        if (h.decoupled) pi *= 1 - h.lr * h.weightDecay;
        else gi += h.weightDecay * pi;
        m2[i] = h.beta1 * m2[i] + (1 - h.beta1) * gi;
        v2[i] = h.beta2 * v2[i] + (1 - h.beta2) * gi * gi;
        let vv = v2[i];
        if (h.amsgrad) vv = vm2[i] = Math.max(vm2[i], vv);
        p2[i] = pi - (h.lr / bc1) * (m2[i] / (Math.sqrt(vv) / Math.sqrt(bc2) + h.eps));
      }
      assertClose(p, p2, 1e-6, `adam param ${JSON.stringify(variant)}`);
      assertClose(m, m2, 1e-6, 'adam m');
      assertClose(v, v2, 1e-6, 'adam v');
      if (h.amsgrad) assertClose(vm, vm2, 1e-6, 'adam vMax');
    }
    for (const variant of [
      { momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false, maximize: false, first: false },
      { momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true, maximize: true, first: true },
      { momentum: 0, dampening: 0, weightDecay: 0.1, nesterov: false, maximize: false, first: false },
    ]) {
      const p = rnd(n),
        g = rnd(n),
        buf = rnd(n);
      const [p2, b2] = [p.slice(), buf.slice()];
      const h = { lr: 0.05, ...variant };
      assert.equal(W.sgdStep!(p, g, h.momentum ? buf : null, h), true);
      for (let i = 0; i < n; i++) {
        let d = (h.maximize ? -g[i] : g[i]) + h.weightDecay * p2[i];
        if (h.momentum) {
          b2[i] = h.first ? d : h.momentum * b2[i] + (1 - h.dampening) * d;
          d = h.nesterov ? d + h.momentum * b2[i] : b2[i];
        }
        p2[i] -= h.lr * d;
      }
      assertClose(p, p2, 1e-6, `sgd param ${JSON.stringify(variant)}`);
      if (h.momentum) assertClose(buf, b2, 1e-6, 'sgd buffer');
    }
  });
}

test('wasm binary ops equal the reference, with broadcasting of every kind', () => {
  const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'gt', 'lt', 'eq', 'reluGrad'];
  const cases: [number[], number[]][] = [
    [
      [37, 61],
      [37, 61],
    ],
    [[37, 61], [61]],
    [
      [37, 61],
      [37, 1],
    ],
    [[37, 61], []],
    [[], [37, 61]],
    [
      [5, 7, 11, 13],
      [1, 7, 1, 1],
    ],
    [
      [5, 7, 11, 13],
      [7, 11, 1],
    ],
    [
      [1, 61],
      [37, 1],
    ],
    [
      [4, 3, 5, 7, 11],
      [3, 1, 7, 1],
    ],
  ];
  for (const op of ops)
    for (const [as, bs] of cases) {
      const os =
        as.length >= bs.length
          ? as.map((d, i) => Math.max(d, bs[i - (as.length - bs.length)] ?? 1))
          : bs.map((d, i) => Math.max(d, as[i - (bs.length - as.length)] ?? 1));
      const pos = op === 'pow';
      const a = rnd(sizeOf(as), pos ? 0.1 : -2, 2),
        b = rnd(sizeOf(bs), pos ? -2 : -2, 2);
      if (op === 'eq') for (let i = 0; i < Math.min(a.length, b.length); i += 3) a[i] = b[i];
      const got = new Float32Array(sizeOf(os)).fill(NaN),
        want = new Float32Array(sizeOf(os));
      assert.ok(os.length === 0 || sizeOf(os) >= SMALL_ELEMENTWISE || as.length < 2, 'cases must reach the wasm path');
      W.binary(op, a, as, b, bs, got, os);
      R.binary(op, a, as, b, bs, want, os);
      assertClose(got, want, op === 'pow' ? 1e-5 : 1e-6, `${op} ${JSON.stringify(as)} ${JSON.stringify(bs)}`);
    }
});

test('wasm unary ops equal the reference (NaN and ±0 handled like it)', () => {
  const ops: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'relu', 'step', 'sigmoid', 'tanh', 'square', 'recip'];
  for (const op of ops) {
    const n = 4099;
    const a = rnd(n, op === 'log' || op === 'sqrt' ? 0.01 : -5, 5);
    a[0] = 0;
    a[1] = NaN;
    a[2] = -0;
    const got = new Float32Array(n),
      want = new Float32Array(n);
    W.unary(op, a, got);
    R.unary(op, a, want);
    for (const i of [0, 1, 2])
      assert.ok(Object.is(got[i], want[i]) || (op === 'recip' && i !== 1 && got[i] === want[i]), `${op}(${a[i]}): ${got[i]} vs ${want[i]}`);
    assertClose(got.subarray(3), want.subarray(3), 2e-6, op);
  }
});

test('float32 sums of a million terms stay within a few float32 roundings of the exact sum, on wasm and the reference (PyTorch sums in cascade)', () => {
  // sequential float32 accumulation of 10⁶ × 0.1 ends at 99,910 (9e-4 off); each result here is
  // compared with the float64 sum of the same float32 inputs, allowing 16 float32 roundings (the
  // wasm kernel's float32 blocks are 16 terms long; PyTorch's cascade allows O(log n))
  const exactSums = (a: Float32Array, rows: number, cols: number, axis: 0 | 1): number[] =>
    Array.from({ length: axis === 0 ? cols : rows }, (_, o) => {
      let s = 0;
      for (let m = 0; m < (axis === 0 ? rows : cols); m++) s += axis === 0 ? a[m * cols + o] : a[o * cols + m];
      return s;
    });
  const cases: [string, Float32Array, number, number][] = [
    ['10⁶ × 0.1', new Float32Array(1_000_000).fill(0.1), 1, 1_000_000],
    ['uniform [0, 1)', rnd(1_000_003, 0, 1), 1, 1_000_003],
    ['columns of 0.1', new Float32Array(300_000).fill(0.1), 100_000, 3],
    ['uniform columns', rnd(400_000, 0, 1), 40_000, 10],
    ['uniform rows', rnd(400_000, 0, 1), 4, 100_000],
  ];
  for (const [what, a, rows, cols] of cases)
    for (const axis of rows === 1 ? [1 as const] : [0 as const, 1 as const]) {
      const want = exactSums(a, rows, cols, axis);
      for (const [name, B] of [
        ['wasm', W],
        ['reference', R],
      ] as const) {
        const got = new Float32Array(want.length);
        B.sum(a, [rows, cols], [axis], got);
        want.forEach((w, i) =>
          assert.ok(Math.abs(got[i] - w) <= 16 * 2 ** -24 * Math.abs(w), `${name} ${what} over axis ${axis} [${i}]: ${got[i]} vs ${w}`),
        );
      }
    }
});

test('wasm sum, max (with arg) and logSoftmax equal the reference', () => {
  const shapes = [
    [67, 61],
    [5, 7, 11, 13],
    [3, 1, 2049],
  ];
  for (const shape of shapes) {
    const a = rnd(sizeOf(shape), -3, 3);
    const axesList =
      shape.length === 2 ? [[0], [1], [0, 1]] : shape.length === 4 ? [[0], [3], [1, 2], [0, 1, 2, 3], [0, 2]] : [[2], [0, 1], [0, 2]];
    for (const axes of axesList) {
      const os = shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const got = new Float32Array(sizeOf(os)).fill(NaN),
        want = new Float32Array(sizeOf(os));
      W.sum(a, shape, axes, got);
      R.sum(a, shape, axes, want);
      assertClose(got, want, 1e-4, `sum ${JSON.stringify(shape)} over ${axes}`);
    }
    for (let axis = 0; axis < shape.length; axis++) {
      const n = sizeOf(shape) / shape[axis];
      const got = new Float32Array(n),
        want = new Float32Array(n);
      const ga = new Int32Array(n),
        wa = new Int32Array(n);
      a[7] = NaN;
      W.max(a, shape, axis, got, ga);
      R.max(a, shape, axis, want, wa);
      assert.deepEqual(Array.from(ga), Array.from(wa), `argmax ${JSON.stringify(shape)} axis ${axis}`);
      assert.deepEqual(Array.from(got), Array.from(want), `max ${JSON.stringify(shape)} axis ${axis}`);
      a[7] = 0.5;
    }
  }
  for (const [rows, cols] of [
    [128, 10],
    [3, 1000],
    [1000, 3],
    [4000, 10],
    [700, 28],
    [331, 7],
    [2100, 1],
  ]) {
    const a = rnd(rows * cols, -20, 20);
    const got = new Float32Array(rows * cols),
      want = new Float32Array(rows * cols);
    W.logSoftmax(a, rows, cols, got);
    R.logSoftmax(a, rows, cols, want);
    assertClose(got, want, 1e-5, `logSoftmax ${rows}x${cols}`);
    // with the softmax beside it (crossEntropy's backward): exp of the log-softmax, rows summing to 1, on both backends
    for (const [name, B] of [
      ['wasm', W],
      ['reference', R],
    ] as const) {
      const ls = new Float32Array(rows * cols),
        p = new Float32Array(rows * cols).fill(NaN);
      B.logSoftmax(a, rows, cols, ls, p);
      assertClose(ls, want, 1e-5, `${name} logSoftmax with probs ${rows}x${cols}`);
      assertClose(p, want.map(Math.exp), 1e-6, `${name} softmax ${rows}x${cols}`);
      for (let r = 0; r < rows; r++)
        assertClose(
          p.subarray(r * cols, (r + 1) * cols).reduce((x, y) => x + y, 0),
          1,
          1e-5,
          `${name} row ${r} sums to 1`,
        );
    }
  }
});

test('wasm logSoftmax (four columns at a time) gives to the bit exp(a − m) / s and (a − m) − log s, exp the wasm exp, s the float64 sum in column order', () => {
  for (const [rows, cols] of [
    [512, 28],
    [301, 10],
    [700, 7],
    [150, 33],
  ]) {
    const a = rnd(rows * cols, -30, 30);
    a[3] = -Infinity;
    const got = new Float32Array(rows * cols),
      p = new Float32Array(rows * cols);
    W.logSoftmax(a, rows, cols, got, p);
    // the row maxima subtracted in float32, then the unary exp kernel (Mathf.exp's bits, ≥ SMALL_ELEMENTWISE values)
    const shifted = new Float32Array(rows * cols),
      m = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      m[r] = -Infinity;
      for (let j = 0; j < cols; j++) if (a[r * cols + j] > m[r]) m[r] = a[r * cols + j];
      for (let j = 0; j < cols; j++) shifted[r * cols + j] = a[r * cols + j] - m[r];
    }
    assert.ok(shifted.length >= SMALL_ELEMENTWISE);
    const e = new Float32Array(rows * cols);
    W.unary('exp', shifted, e);
    const wantLs = new Float32Array(rows * cols),
      wantP = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += e[r * cols + j];
      const logS = Math.log(s);
      for (let j = 0; j < cols; j++) {
        wantLs[r * cols + j] = a[r * cols + j] - m[r] - logS;
        wantP[r * cols + j] = e[r * cols + j] / s;
      }
    }
    assert.deepEqual(got, wantLs, `logSoftmax ${rows}x${cols}`);
    assert.deepEqual(p, wantP, `softmax ${rows}x${cols}`);
  }
});

test('logSoftmax keeps log s beside a row maximum far larger than it (torch: log_softmax [1e17, 1e17] = −ln 2 each)', () => {
  // torch 1.13: log_softmax of [[1e17, 1e17]] is −0.6931471805599453 each in float64, −0.6931471824645996 in float32
  const want64 = -Math.LN2;
  const out64 = new Float64Array(2);
  R.logSoftmax(new Float64Array([1e17, 1e17]), 1, 2, out64);
  assert.deepEqual(Array.from(out64), [want64, want64]);
  // float32 rows enough for the wasm kernel (≥ SMALL_ELEMENTWISE elements), on both backends
  const rows = SMALL_ELEMENTWISE;
  const a = new Float32Array(rows * 2).fill(1e17);
  a.fill(3e7, rows); // the second half: rows of [3e7, 3e7], where 3e7 + ln 2 rounds to 3e7 in float32
  for (const [name, B] of [
    ['wasm', W],
    ['reference', R],
  ] as const) {
    const out = new Float32Array(rows * 2);
    B.logSoftmax(a, rows, 2, out);
    assert.deepEqual([...new Set(out)], [Math.fround(-Math.LN2)], `${name}: every entry −ln 2`);
  }
});

test('a large logSoftmax is split over the threads by rows, each row as on one thread', () => {
  const [rows, cols] = [4000, 10];
  const a = rnd(rows * cols, -20, 20);
  const run = (threads: number) => {
    setWasmThreads(threads);
    const ls = new Float32Array(rows * cols),
      p = new Float32Array(rows * cols);
    const calls = wasmInfo().threadedCalls;
    W.logSoftmax(a, rows, cols, ls, p);
    return { ls, p, threaded: wasmInfo().threadedCalls - calls };
  };
  const one = run(1),
    two = run(2);
  setWasmThreads(2);
  assert.equal(one.threaded, 0);
  assert.equal(two.threaded, 1, 'two threads split it');
  assert.deepEqual(two.ls, one.ls);
  assert.deepEqual(two.p, one.p);
});

test('float64 operands fall back to the reference exactly', () => {
  const a = new Float64Array(rnd(30 * 40)),
    b = new Float64Array(rnd(40 * 20));
  const got = new Float64Array(600),
    want = new Float64Array(600);
  W.matmul(a, b, got, 30, 20, 40, false, false);
  R.matmul(a, b, want, 30, 20, 40, false, false);
  assert.deepEqual(got, want);
  assert.equal(
    W.adamStep!(new Float64Array(4), new Float64Array(4), new Float64Array(4), new Float64Array(4), null, {
      lr: 1,
      beta1: 0.9,
      beta2: 0.9,
      eps: 1,
      weightDecay: 0,
      decoupled: false,
      maximize: false,
      step: 1,
    }),
    false,
  );
});

test('arrays that live in WebAssembly memory are used in place and give the same result', () => {
  const m = 33,
    n = 65,
    k = 17;
  const a = rnd(m * k),
    b = rnd(k * n);
  const wa = wasmFloat32Array(m * k),
    wb = wasmFloat32Array(k * n),
    wo = wasmFloat32Array(m * n);
  wa.set(a);
  wb.set(b);
  const want = new Float32Array(m * n);
  R.matmul(a, b, want, m, n, k, false, false);
  W.matmul(wa, wb, wo, m, n, k, false, false);
  assertClose(wo, want, 1e-5, 'in-place matmul');
  assert.equal(wasmInfo().workers, 1);
});

test('wasm-memory arrays are released when garbage-collected (memory stays flat)', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const before = wasmPersistentBytes();
  let peak = 0;
  for (let i = 0; i < 60; i++) {
    const a = wasmFloat32Array(1 << 18); // 1 MiB
    a[7] = i;
    peak = Math.max(peak, wasmPersistentBytes() - before);
    if (i % 10 === 9) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  gc();
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(peak < 40 * 2 ** 20, `60 MiB allocated and dropped, peak in use ${peak} bytes`);
  const b = wasmFloat32Array(1000);
  assert.ok(
    b.every((v) => v === 0),
    'a reused block is zeroed',
  );
});

test('zero() clears arrays in wasm memory (memset) and declines the others', () => {
  const a = wasmFloat32Array(5000);
  a.set(rnd(5000));
  assert.equal(W.zero!(a), true);
  assert.ok(
    a.every((v) => v === 0),
    'all zero',
  );
  const b = rnd(5000);
  assert.equal(W.zero!(b), false, 'a JS array is left to the caller');
  assert.ok(
    b.some((v) => v !== 0),
    'and not touched',
  );
});
