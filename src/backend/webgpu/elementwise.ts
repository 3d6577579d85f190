/**
 * Elementwise kernels: binary ops with NumPy broadcasting and unary ops, one thread per output
 * element. Broadcasting: the host merges adjacent dimensions that are contiguous for both operands
 * (so same-shape and scalar cases become one flat dimension) and passes up to six (shape, a-stride,
 * b-stride) triples as uniforms, stride 0 where an operand is broadcast; a flat variant without the
 * index arithmetic serves the same-shape case.
 *
 * Special values follow the reference (JavaScript's IEEE arithmetic), written out where WGSL leaves
 * them to the implementation: division by zero, log and sqrt outside their domain, pow of a
 * negative base, reciprocal of zero. NaN is tested by its bits, which no fast-math folding removes.
 */
import type { ActivationOp, BinaryOp, UnaryOp } from '../backend.js';
import { broadcastStrides } from '../reference.js';
import type { Shape } from '../../tensor/shape.js';
import type { DeviceStorage } from '../../tensor/device.js';
import { type GpuContext, WGSL_COMMON, grid, wgsl, THREAD_MAIN } from './context.js';
import { READ, WRITE, own } from './dense.js';
import { ACTIVATIONS, ACTIVATION_OPS, PARAMETRISED } from './activations.js';

/** Most dimensions a broadcast binary op supports after merging. */
export const MAX_RANK = 6;

/** The WGSL functions with IEEE special cases (division, powers, σ and tanh without overflow), shared by the kernels that need them. */
export const SPECIAL = /* wgsl */ `
fn divF(x: f32, y: f32) -> f32 {
  if (y == 0.0) {
    if (x == 0.0 || isNan(x)) { return nanF(); }
    let yNeg = (bitcast<u32>(y) >> 31u) == 1u;
    return select(infF(), -infF(), (x < 0.0) != yNeg);
  }
  return x / y;
}
fn powF(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (isNan(x) || isNan(y)) { return nanF(); }
  if (x == 0.0) { return select(0.0, infF(), y < 0.0); }
  if (x > 0.0) { return pow(x, y); }
  if (y != floor(y)) { return nanF(); }
  let r = pow(-x, y);
  return select(r, -r, abs(y) % 2.0 == 1.0);
}
fn logF(x: f32) -> f32 {
  if (isNan(x) || x < 0.0) { return nanF(); }
  if (x == 0.0) { return -infF(); }
  return log(x);
}
fn sqrtF(x: f32) -> f32 {
  if (isNan(x) || x < 0.0) { return nanF(); }
  return sqrt(x);
}
fn recipF(x: f32) -> f32 {
  if (x == 0.0) { return select(infF(), -infF(), (bitcast<u32>(x) >> 31u) == 1u); }
  return 1.0 / x;
}
fn sigmoidF(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn tanhF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  let t = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - t) / (1.0 + t);
}
`;

const BINARY: Record<BinaryOp, string> = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'divF(x, y)',
  pow: 'powF(x, y)',
  max: 'select(y, x, x >= y)',
  min: 'select(y, x, x <= y)',
  gt: 'select(0.0, 1.0, x > y)',
  lt: 'select(0.0, 1.0, x < y)',
  eq: 'select(0.0, 1.0, x == y)',
  reluGrad: 'select(x, 0.0, y <= 0.0)',
};

const UNARY: Record<Exclude<UnaryOp, ActivationOp>, string> & Record<ActivationOp, string> = {
  ...ACTIVATION_OPS,
  neg: '-x',
  exp: 'exp(x)',
  log: 'logF(x)',
  sqrt: 'sqrtF(x)',
  abs: 'abs(x)',
  sign: 'select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0)',
  relu: 'select(x, 0.0, x <= 0.0)',
  step: 'select(0.0, 1.0, x > 0.0)',
  sigmoid: 'sigmoidF(x)',
  tanh: 'tanhF(x)',
  square: 'x * x',
  recip: 'recipF(x)',
};

const dims = [0, 1, 2, 3, 4, 5];

/**
 * Which operands are the output itself (in-place ops: a bias added into the output, a gradient
 * accumulated into its buffer): those are read from the output's read-write binding, each thread
 * reading the element it writes, since WebGPU refuses one buffer bound both read-only and writable.
 */
type Alias = 'none' | 'a' | 'b' | 'ab';

function binarySource(op: BinaryOp, flat: boolean, alias: Alias): string {
  const fields = flat
    ? 'n: u32'
    : ['n: u32', ...dims.map((d) => `s${d}: u32`), ...dims.map((d) => `a${d}: u32`), ...dims.map((d) => `b${d}: u32`)].join(', ');
  // innermost dimension (5) first: peel one coordinate per dimension off the flat index
  const walk = flat
    ? 'let ia = i; let ib = i;'
    : `var rest = i; var ia = 0u; var ib = 0u;
  ${[5, 4, 3, 2, 1, 0].map((d) => `{ let c = rest % p.s${d}; rest = rest / p.s${d}; ia += c * p.a${d}; ib += c * p.b${d}; }`).join('\n  ')}`;
  const inputs = [...(alias === 'a' || alias === 'ab' ? [] : ['a']), ...(alias === 'b' || alias === 'ab' ? [] : ['b'])];
  const bindings = [...inputs.map((name, i) => READ(i + 1, name)), WRITE(inputs.length + 1, 'o')].join('\n');
  const x = alias === 'a' || alias === 'ab' ? 'o[i]' : 'a[ia]';
  const y = alias === 'b' || alias === 'ab' ? 'o[i]' : 'b[ib]';
  return /* wgsl */ `
struct Params { ${fields} }
@group(0) @binding(0) var<uniform> p: Params;
${bindings}
${WGSL_COMMON}
${SPECIAL}
${THREAD_MAIN}
  ${walk}
  let x = ${x};
  let y = ${y};
  o[i] = ${BINARY[op]};
}
`;
}

function unarySource(op: UnaryOp, inPlace: boolean): string {
  const activation = op in ACTIVATION_OPS;
  return /* wgsl */ `
struct Params { n: u32${PARAMETRISED.has(op) ? ', p0: f32, p1: f32' : ''} }
@group(0) @binding(0) var<uniform> p: Params;
${inPlace ? WRITE(1, 'o') : `${READ(1, 'a')}\n${WRITE(2, 'o')}`}
${WGSL_COMMON}
${SPECIAL}
${activation ? ACTIVATIONS : ''}
${THREAD_MAIN}
  let x = ${inPlace ? 'o[i]' : 'a[i]'};
  o[i] = ${UNARY[op]};
}
`;
}

/**
 * The output shape with both operands' strides, dimensions of size 1 dropped and neighbours merged
 * where both operands (and the contiguous output) step through them as through one dimension.
 */
export function mergeDims(shape: Shape, sa: readonly number[], sb: readonly number[]): { shape: number[]; sa: number[]; sb: number[] } {
  const out = { shape: [] as number[], sa: [] as number[], sb: [] as number[] };
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = out.shape.length - 1;
    // dimension d-ish outer, then d: merge when outer stride = inner stride × inner size for both
    if (last >= 0 && out.sa[last] === sa[d] * shape[d] && out.sb[last] === sb[d] * shape[d]) {
      out.shape[last] *= shape[d];
      out.sa[last] = sa[d];
      out.sb[last] = sb[d];
    } else {
      out.shape.push(shape[d]);
      out.sa.push(sa[d]);
      out.sb.push(sb[d]);
    }
  }
  return out;
}

/** True when `a`, broadcast to `out`, has as many elements (so no dimension is broadcast and its index equals the output's). */
function sameShape(a: Shape, out: Shape): boolean {
  return a.reduce((x, y) => x * y, 1) === out.reduce((x, y) => x * y, 1);
}

export function elementwiseOps(ctx: GpuContext) {
  function binary(
    op: BinaryOp,
    a: DeviceStorage,
    aShape: Shape,
    b: DeviceStorage,
    bShape: Shape,
    out: DeviceStorage,
    outShape: Shape,
  ): void {
    if (!(op in BINARY)) throw new Error(`webgpu backend: binary: unknown op "${op}"`);
    const n = outShape.reduce((x, y) => x * y, 1);
    const ga = own(
      ctx,
      'binary',
      'a',
      a,
      aShape.reduce((x, y) => x * y, 1),
    );
    const gb = own(
      ctx,
      'binary',
      'b',
      b,
      bShape.reduce((x, y) => x * y, 1),
    );
    const go = own(ctx, 'binary', 'out', out, n);
    if (n === 0) return;
    const m = mergeDims(outShape, broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape));
    const flat = m.shape.length === 0 || (m.shape.length === 1 && m.sa[0] === 1 && m.sb[0] === 1);
    const r = m.shape.length;
    if (!flat && r > MAX_RANK)
      throw new Error(
        `webgpu backend: binary ${op} of shapes [${aShape}] and [${bShape}] needs ${r} dimensions after merging, over ${MAX_RANK}`,
      );
    // an operand that is the output (same buffer, same shape: each thread reads the element it writes) is read from the output's binding
    const aIsOut = ga.buffer === go.buffer && sameShape(aShape, outShape);
    const bIsOut = gb.buffer === go.buffer && sameShape(bShape, outShape);
    const alias: Alias = aIsOut ? (bIsOut ? 'ab' : 'a') : bIsOut ? 'b' : 'none';
    const storage = [...(aIsOut ? [] : [ga]), ...(bIsOut ? [] : [gb]), go];
    const pad = (xs: number[], fill: number) => [...new Array<number>(MAX_RANK - r).fill(fill), ...xs];
    ctx.dispatch({
      name: `binary.${op}`,
      full: alias === 'none',
      code: wgsl(`binary.${op}.${+flat}.${alias}`, () => binarySource(op, flat, alias)),
      ints: flat ? [n] : [n, ...pad(m.shape, 1), ...pad(m.sa, 0), ...pad(m.sb, 0)],
      storage,
      groups: grid(n),
    });
  }

  function unary(op: UnaryOp, a: DeviceStorage, out: DeviceStorage, p: readonly number[] = []): void {
    if (!(op in UNARY)) throw new Error(`webgpu backend: unary: unknown op "${op}"`);
    const n = a.length;
    const ga = own(ctx, 'unary', 'a', a, n);
    const go = own(ctx, 'unary', 'out', out, n);
    if (n === 0) return;
    const inPlace = ga.buffer === go.buffer;
    ctx.dispatch({
      name: `unary.${op}`,
      full: !inPlace,
      code: wgsl(`unary.${op}.${+inPlace}`, () => unarySource(op, inPlace)),
      ints: [n],
      floats: PARAMETRISED.has(op) ? [p[0] ?? 0, p[1] ?? 0] : undefined,
      storage: inPlace ? [go] : [ga, go],
      groups: grid(n),
    });
  }

  return { binary, unary };
}
