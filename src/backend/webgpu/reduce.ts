/**
 * Reductions: sum over any axes, max over one axis with its argmax, row-wise log-softmax.
 *
 * sum: the host splits the input's dimensions into kept and reduced ones (each merged where
 * contiguous, at most six of each) and passes their sizes and strides as uniforms. A reduction of
 * fewer than 64 elements per output runs one thread per output; a longer one runs one workgroup
 * per output, 256 threads striding over it and a tree in workgroup memory adding their sums.
 * max: one thread per output, the axis in order, so the first maximum wins and a NaN wins (the
 * first NaN, after which nothing compares greater), exactly as the reference.
 * logSoftmax: one workgroup of 64 threads per row: the row maximum and the sum of exponentials by
 * trees in workgroup memory, then out = a − (max + log Σ), probs = exp(a − max) / Σ.
 */
import type { Shape } from '../../tensor/shape.js';
import type { DeviceStorage } from '../../tensor/device.js';
import { stridesOf } from '../../tensor/shape.js';
import { type GpuContext, WG, WGSL_COMMON, grid, wgsl, THREAD_MAIN } from './context.js';
import { READ, WRITE, own } from './dense.js';
import { MAX_RANK, mergeDims } from './elementwise.js';

/** Below this many elements per output, sum runs one thread per output. */
const SUM_WIDE = 64;
const ROW_WG = 64;
const d6 = [0, 1, 2, 3, 4, 5];

/** WGSL: the input offset of flat index `i` over six dimensions with sizes p.{s}0… and strides p.{t}0…, innermost last. */
function offsetOf(i: string, s: string, t: string): string {
  return `var rest = ${i}; var off = 0u;
  ${[5, 4, 3, 2, 1, 0].map((d) => `{ let c = rest % p.${s}${d}; rest = rest / p.${s}${d}; off += c * p.${t}${d}; }`).join('\n  ')}`;
}

function sumSource(wide: boolean): string {
  const fields = ['nOut: u32', 'len: u32', ...['ks', 'kt', 'rs', 'rt'].flatMap((f) => d6.map((d) => `${f}${d}: u32`))].join(', ');
  const head = /* wgsl */ `
struct Params { ${fields} }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'a')}
${WRITE(2, 'o')}
${WGSL_COMMON}
fn base(o: u32) -> u32 { ${offsetOf('o', 'ks', 'kt')} return off; }
fn inner(r: u32) -> u32 { ${offsetOf('r', 'rs', 'rt')} return off; }
`;
  if (!wide)
    return /* wgsl */ `${head}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let k = flatGroup(wid, nwg) * ${WG}u + li;
  if (k >= p.nOut) { return; }
  let b = base(k);
  var s = 0.0;
  for (var r = 0u; r < p.len; r++) { s += a[b + inner(r)]; }
  o[k] = s;
}
`;
  return /* wgsl */ `${head}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let k = flatGroup(wid, nwg);
  let b = base(min(k, p.nOut - 1u));
  var s = 0.0;
  for (var r = li; r < p.len; r += ${WG}u) { s += a[b + inner(r)]; }
  part[li] = s;
  workgroupBarrier();
  for (var half = ${WG / 2}u; half > 0u; half >>= 1u) {
    if (li < half) { part[li] += part[li + half]; }
    workgroupBarrier();
  }
  if (li == 0u && k < p.nOut) { o[k] = part[0]; }
}
`;
}

function maxSource(withArg: boolean): string {
  return /* wgsl */ `
struct Params { n: u32, len: u32, inner: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'a')}
${WRITE(2, 'o')}
${withArg ? WRITE(3, 'arg', 'i32') : ''}
${WGSL_COMMON}
${THREAD_MAIN}
  let outer = i / p.inner;
  let base = outer * p.len * p.inner + (i - outer * p.inner);
  var best = a[base];
  var bi = 0u;
  for (var j = 1u; j < p.len; j++) {
    let v = a[base + j * p.inner];
    if (v > best || (isNan(v) && !isNan(best))) {
      best = v;
      bi = j;
    }
  }
  o[i] = best;
  ${withArg ? 'arg[i] = i32(bi);' : ''}
}
`;
}

function logSoftmaxSource(withProbs: boolean): string {
  return /* wgsl */ `
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'a')}
${WRITE(2, 'o')}
${withProbs ? WRITE(3, 'probs') : ''}
${WGSL_COMMON}
var<workgroup> part: array<f32, ${ROW_WG}>;
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = flatGroup(wid, nwg);
  let off = min(row, p.rows - 1u) * p.cols;
  var m = -infF();
  for (var j = li; j < p.cols; j += ${ROW_WG}u) { let v = a[off + j]; if (v > m) { m = v; } }
  part[li] = m;
  workgroupBarrier();
  for (var half = ${ROW_WG / 2}u; half > 0u; half >>= 1u) {
    if (li < half && part[li + half] > part[li]) { part[li] = part[li + half]; }
    workgroupBarrier();
  }
  m = part[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = li; j < p.cols; j += ${ROW_WG}u) { s += exp(a[off + j] - m); }
  part[li] = s;
  workgroupBarrier();
  for (var half = ${ROW_WG / 2}u; half > 0u; half >>= 1u) {
    if (li < half) { part[li] += part[li + half]; }
    workgroupBarrier();
  }
  s = part[0];
  if (row >= p.rows) { return; }
  let logS = log(s); // (v − m) − log s: m + log s would round log s away where |m| ≫ log s
  for (var j = li; j < p.cols; j += ${ROW_WG}u) {
    let v = a[off + j];
    o[off + j] = (v - m) - logS;
    ${withProbs ? 'probs[off + j] = exp(v - m) / s;' : ''}
  }
}
`;
}

export function reduceOps(ctx: GpuContext) {
  function sum(a: DeviceStorage, shape: Shape, axes: readonly number[], out: DeviceStorage): void {
    const n = shape.reduce((x, y) => x * y, 1);
    const st = stridesOf(shape);
    const kept = mergeDims(
      shape.map((d, i) => (axes.includes(i) ? 1 : d)),
      st,
      st,
    );
    const red = mergeDims(
      shape.map((d, i) => (axes.includes(i) ? d : 1)),
      st,
      st,
    );
    const nOut = kept.shape.reduce((x, y) => x * y, 1);
    const len = red.shape.reduce((x, y) => x * y, 1);
    const ga = own(ctx, 'sum', 'a', a, n);
    const go = own(ctx, 'sum', 'out', out, nOut);
    if (nOut === 0) return;
    if (len === 0) return ctx.clear(go);
    if (kept.shape.length > MAX_RANK || red.shape.length > MAX_RANK)
      throw new Error(
        `webgpu backend: sum of shape [${shape}] over axes [${axes}] needs more than ${MAX_RANK} kept or reduced dimensions after merging`,
      );
    const pad = (xs: number[], r: number, fill: number) => [...new Array<number>(MAX_RANK - r).fill(fill), ...xs];
    const wide = len >= SUM_WIDE;
    ctx.dispatch({
      name: 'sum',
      full: true,
      code: wgsl(`sum${+wide}`, () => sumSource(wide)),
      ints: [
        nOut,
        len,
        ...pad(kept.shape, kept.shape.length, 1),
        ...pad(kept.sa, kept.shape.length, 0),
        ...pad(red.shape, red.shape.length, 1),
        ...pad(red.sa, red.shape.length, 0),
      ],
      storage: [ga, go],
      groups: wide ? grid(nOut, 1) : grid(nOut),
    });
  }

  function max(a: DeviceStorage, shape: Shape, axis: number, out: DeviceStorage, arg: DeviceStorage | null): void {
    if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length)
      throw new Error(`webgpu backend: max: axis ${axis} outside shape [${shape}]`);
    const outer = shape.slice(0, axis).reduce((x, y) => x * y, 1);
    const len = shape[axis];
    const inner = shape.slice(axis + 1).reduce((x, y) => x * y, 1);
    const nOut = outer * inner;
    const st = [own(ctx, 'max', 'a', a, outer * len * inner), own(ctx, 'max', 'out', out, nOut)];
    if (arg) st.push(own(ctx, 'max', 'arg', arg, nOut, 'int32'));
    if (nOut === 0 || len === 0) return;
    ctx.dispatch({
      name: 'max',
      full: true,
      code: wgsl(`max${+!!arg}`, () => maxSource(!!arg)),
      ints: [nOut, len, inner],
      storage: st,
      writes: st.length - 1,
      groups: grid(nOut),
    });
  }

  function logSoftmax(a: DeviceStorage, rows: number, cols: number, out: DeviceStorage, probs: DeviceStorage | null = null): void {
    const st = [own(ctx, 'logSoftmax', 'a', a, rows * cols), own(ctx, 'logSoftmax', 'out', out, rows * cols)];
    if (probs) st.push(own(ctx, 'logSoftmax', 'probs', probs, rows * cols));
    if (rows * cols === 0) return;
    ctx.dispatch({
      name: 'logSoftmax',
      full: true,
      code: wgsl(`logSoftmax${+!!probs}`, () => logSoftmaxSource(!!probs)),
      ints: [rows, cols],
      storage: st,
      writes: st.length - 1,
      groups: grid(rows, 1),
    });
  }

  return { sum, max, logSoftmax };
}
