/**
 * Define-by-run reverse mode.
 *
 * Each differentiable op computes its value, then `record`s a node holding its inputs and a backward
 * function. Backward functions are written with the same differentiable ops, so running them with
 * grad mode on (createGraph) builds a graph of the gradient itself: that is how the gradient of a
 * gradient (Hessians, Hessian-vector products for Newton's method) comes for free.
 *
 * backward = topological sort of the nodes reachable from the outputs, then the chain rule in
 * reverse order, summing the contributions that reach a tensor from several consumers.
 */
import { type GradGroup, type Tensor, full, type Storage } from '../tensor/tensor.js';
import { bool, checkOptions, spec, tensor as tensorSpec, type SchemaOf } from '../util/options.js';
import { fmtShape, shapeEq, ShapeError } from '../tensor/shape.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording a graph (inference, optimizer updates, metrics). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * What the engine offers an op's backward besides the output gradient.
 *
 * `leafGradTarget(t)`: the storage into which the backward may add d(root)/d(t) directly instead
 * of returning it (the op then returns null for t). It is non-null only during a plain backward()
 * (not grad(), not createGraph) for a leaf whose `.grad` is an in-place buffer (zeroGrad({
 * setToNone: false })); there the fused dense and convolution layers write their weight gradient
 * with no intermediate tensor.
 */
export interface BackwardContext {
  leafGradTarget(t: Tensor): Storage | null;
}

export type BackwardFn = (g: Tensor, ctx: BackwardContext) => (Tensor | null)[];

/** Attach a node to `out` when grad mode is on and an input needs a gradient. */
export function record(op: string, inputs: Tensor[], out: Tensor, backward: BackwardFn): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

export type GroupBackwardFn = (gs: readonly (Tensor | null)[], ctx: BackwardContext) => (Tensor | null)[];

/**
 * Attach one node shared by several outputs of an op (split's pieces) when grad mode is on and an
 * input needs a gradient: the engine calls `backward` once with every output's gradient (null for
 * an output no gradient reached), so the op can join them in one tensor instead of summing one
 * full-size gradient per output.
 */
export function recordParts(op: string, inputs: Tensor[], outs: Tensor[], backward: GroupBackwardFn): Tensor[] {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return outs;
  const group: GradGroup = { size: outs.length, backward };
  outs.forEach((out, index) => {
    out.requiresGrad = true;
    out.node = {
      op,
      inputs,
      // used only by a caller that differentiates one output alone; the engine uses `part`
      backward: (g, ctx) =>
        backward(
          outs.map((_, i) => (i === index ? g : null)),
          ctx,
        ),
      part: { index, group },
    };
  });
  return outs;
}

function topoOrder(roots: Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative post-order DFS: deep graphs (long unrolled loops) must not overflow the JS stack.
  const stack: [Tensor, number][] = [];
  for (const r of roots) {
    if (!r.requiresGrad || seen.has(r)) continue;
    seen.add(r);
    stack.push([r, 0]);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [t, i] = top;
      const inputs = t.node ? t.node.inputs : [];
      if (i < inputs.length) {
        top[1]++;
        const c = inputs[i];
        if (c.requiresGrad && !seen.has(c)) {
          seen.add(c);
          stack.push([c, 0]);
        }
      } else {
        stack.pop();
        order.push(t);
      }
    }
  }
  return order;
}

export interface GradOptions {
  /** Gradients of the outputs (default: 1 for a one-element output). */
  gradOutputs?: (Tensor | null)[];
  /** Record the backward pass itself so it can be differentiated again. */
  createGraph?: boolean;
  /** Return null (instead of throwing) for inputs the outputs do not depend on. */
  allowUnused?: boolean;
}

function seedGrad(out: Tensor, g: Tensor | null | undefined): Tensor {
  if (g) {
    if (!shapeEq(g.shape, out.shape))
      throw new ShapeError(`backward: gradient shape ${fmtShape(g.shape)} does not match output shape ${fmtShape(out.shape)}`);
    return g;
  }
  if (out.size !== 1) throw new ShapeError(`backward: output of shape ${fmtShape(out.shape)} is not a scalar; pass its gradient`);
  return full(out.shape, 1, { dtype: out.dtype });
}

/** Propagate from `outputs`; calls `sink(t, g)` for every tensor in the graph with its total gradient. */
function propagate(
  outputs: Tensor[],
  gradOutputs: (Tensor | null)[] | undefined,
  createGraph: boolean,
  wanted: (t: Tensor) => boolean,
  sink: (t: Tensor, g: Tensor) => void,
  ctx: BackwardContext = noLeafTargets,
): void {
  const grads = new Map<Tensor, Tensor>();
  outputs.forEach((o, i) => {
    if (!o.requiresGrad)
      throw new Error('backward: output does not require grad (was it computed under noGrad, or from tensors without requiresGrad?)');
    const g = seedGrad(o, gradOutputs?.[i]);
    const prev = grads.get(o);
    grads.set(o, prev ? add2(prev, g) : g);
  });
  const order = topoOrder(outputs);
  // Outputs of one multi-output op share their inputs and none depends on another, so each one's
  // gradient is complete when it is reached, and the last of them this pass reaches comes before
  // any of their inputs: the group's backward runs there, once, with all their gradients.
  const groups = new Map<GradGroup, { left: number; gs: (Tensor | null)[] }>();
  for (const t of order) {
    const part = t.node?.part;
    if (!part) continue;
    const entry = groups.get(part.group);
    if (entry) entry.left++;
    else groups.set(part.group, { left: 1, gs: new Array<Tensor | null>(part.group.size).fill(null) });
  }
  withGrad(createGraph, () => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t) ?? null;
      const part = t.node?.part;
      if (!g && !part) continue;
      grads.delete(t); // free as we go: memory of a backward pass stays at one frontier
      if (g && wanted(t)) sink(t, g);
      if (!t.node) continue;
      let gs: (Tensor | null)[];
      if (part) {
        const entry = groups.get(part.group)!;
        entry.gs[part.index] = g;
        if (--entry.left > 0 || entry.gs.every((x) => !x)) continue;
        gs = part.group.backward(entry.gs, ctx);
      } else gs = t.node.backward(g!, ctx);
      const ins = t.node.inputs;
      for (let j = 0; j < ins.length; j++) {
        const gi = gs[j];
        const x = ins[j];
        if (!gi || !x.requiresGrad) continue;
        if (!shapeEq(gi.shape, x.shape))
          throw new ShapeError(`internal: ${t.node.op} backward gave ${fmtShape(gi.shape)} for input ${fmtShape(x.shape)}`);
        const prev = grads.get(x);
        grads.set(x, prev ? add2(prev, gi) : gi);
      }
    }
  });
}

// The engine sums gradients with the differentiable add, injected by ops.ts to avoid an import cycle.
let add2: (a: Tensor, b: Tensor) => Tensor = () => {
  throw new Error('autograd ops not loaded');
};
export function _setAdd(f: (a: Tensor, b: Tensor) => Tensor): void {
  add2 = f;
}

// buf += g elementwise, through the backend (the engine cannot import ops.ts: ops.ts imports it).
let addInPlace: (buf: Tensor, g: Tensor) => void = () => {
  throw new Error('autograd ops not loaded');
};
export function _setAddInPlace(f: (buf: Tensor, g: Tensor) => void): void {
  addInPlace = f;
}

// A copy of a gradient where it lives (Tensor.clone on the host; a device kernel on a device).
let copy: (g: Tensor) => Tensor = (g) => g.clone();
export function _setCopy(f: (g: Tensor) => Tensor): void {
  copy = f;
}

/** Gradients of `outputs` with respect to `inputs` (torch.autograd.grad). */
const gradSchema: SchemaOf<GradOptions> = {
  gradOutputs: spec('an array of Tensors or nulls', (v) => Array.isArray(v) && v.every((t) => t === null || tensorSpec.test(t))),
  createGraph: bool,
  allowUnused: bool,
};
const backwardSchema = { gradient: tensorSpec, createGraph: bool };

export function grad(outputs: Tensor | Tensor[], inputs: Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  checkOptions('grad', opts, gradSchema);
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const want = new Set(inputs);
  const result = new Map<Tensor, Tensor>();
  // grad() returns gradients and never touches .grad: no leaf targets
  propagate(
    outs,
    opts.gradOutputs,
    opts.createGraph ?? false,
    (t) => want.has(t),
    (t, g) => result.set(t, g),
  );
  return inputs.map((x, i) => {
    const g = result.get(x) ?? null;
    if (!g && !opts.allowUnused) throw new Error(`grad: input ${x.name ?? i} is not used by the outputs (pass allowUnused)`);
    return g;
  });
}

/**
 * Gradient buffers that accumulate in place (PyTorch's behaviour once a `.grad` exists): the ones
 * Optimizer.zeroGrad({ setToNone: false }) keeps and zeroes. Every other `.grad` is replaced by
 * a new tensor when a backward pass adds to it, so a gradient the user kept never changes.
 */
const inPlaceGrads = new WeakSet<Tensor>();

/** Marks `g` (a leaf's `.grad`) as a buffer that later backward passes add into in place. */
export function keepGradBuffer(g: Tensor): void {
  inPlaceGrads.add(g);
}

export function isGradBuffer(g: Tensor): boolean {
  return inPlaceGrads.has(g);
}

const noLeafTargets: BackwardContext = { leafGradTarget: () => null };

/** backward()'s context without createGraph: a leaf's in-place `.grad` buffer is a target. */
const leafBuffers: BackwardContext = {
  leafGradTarget(t) {
    if (t.node || !t.requiresGrad || !t.grad) return null;
    return inPlaceGrads.has(t.grad) && !t.grad.node ? t.grad.storage : null;
  },
};

/** Accumulate d(root)/d(leaf) into every leaf's `.grad` (Tensor.backward in PyTorch). */
export function backward(root: Tensor, opts: { gradient?: Tensor; createGraph?: boolean } = {}): void {
  checkOptions('backward', opts, backwardSchema);
  const createGraph = opts.createGraph ?? false;
  backwardInto(root, opts, createGraph);
}

function backwardInto(root: Tensor, opts: { gradient?: Tensor }, createGraph: boolean): void {
  // An op may hand the same gradient tensor to several inputs (add does); leaves get their own
  // copy then, so an in-place change to one .grad (clipping) cannot leak into another.
  const given = new Set<Tensor>();
  const sink = (leaf: Tensor, g: Tensor) => {
    let gl = createGraph ? g : g.node ? g.detach() : g;
    if (!createGraph && (given.has(g) || g === opts.gradient)) gl = copy(g);
    given.add(g);
    const buf = leaf.grad;
    if (buf && !createGraph && inPlaceGrads.has(buf) && !buf.node) addInPlace(buf, gl);
    else leaf.grad = buf ? withGrad(createGraph, () => add2(buf, gl)) : gl;
  };
  propagate(
    [root],
    opts.gradient ? [opts.gradient] : undefined,
    createGraph,
    (t) => !t.node,
    sink,
    createGraph ? noLeafTargets : leafBuffers,
  );
}
