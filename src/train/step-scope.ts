/**
 * Step scopes on the host: a training step's intermediates (activations, their gradients, the
 * kernels' outputs) allocated in the backend's own memory and freed when the step ends, instead of
 * JS arrays that the kernels copy in and out and the garbage collector chases. The wasm backend
 * implements them (extension `beginStep`, shared memory only); on another host backend a scope
 * does nothing.
 *
 * What a step must not free is found, not listed: every typed array and tensor reachable from the
 * scope's roots (the model, the optimizer, the callbacks, the step's result) through properties,
 * arrays, Maps and Sets — parameters, gradients, buffers, optimizer state and history, caches a
 * module or a callback keeps. Closures cannot be searched: a tensor of the step that something else
 * keeps is marked released, so reading it throws (naming the tensor) instead of reading memory that
 * the next step reuses.
 */
import { Tensor, type Storage } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { kernelsFor } from '../backend/index.js';
import type { Module } from '../nn/module.js';
import type { AnyOptimizer } from '../optim/optimizer.js';

/** Every typed array, device storage and tensor storage reachable from `roots` (see the module comment). */
export function reachableStorage(roots: readonly unknown[]): Set<Storage> {
  const keep = new Set<Storage>();
  const seen = new Set<object>();
  const stack: unknown[] = [...roots];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      keep.add(v as Storage);
      continue;
    }
    if (v instanceof Tensor) {
      // its values and gradient; not its autograd node (the graph of a step that has ended)
      try {
        keep.add(v.storage);
      } catch {
        // a tensor released by an earlier scope holds nothing
      }
      stack.push(v.grad);
      continue;
    }
    if (isDeviceStorage(v)) {
      keep.add(v);
      continue;
    }
    if (Array.isArray(v)) {
      // an array that starts with a number or a string (a vocabulary, a history of losses) is taken
      // for one of them all and not searched element by element
      if (v.length > 0 && (v[0] === null || typeof v[0] === 'object')) pushObjects(stack, v);
      continue;
    }
    if (v instanceof Map) {
      for (const [k, x] of v) {
        if (k !== null && typeof k === 'object') stack.push(k);
        if (x !== null && typeof x === 'object') stack.push(x);
      }
      continue;
    }
    if (v instanceof Set) {
      pushObjects(stack, v);
      continue;
    }
    if (v instanceof ArrayBuffer || v instanceof Promise || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer))
      continue;
    let values: unknown[];
    try {
      values = Object.values(v);
    } catch {
      continue; // an own getter that throws holds nothing this search can use
    }
    pushObjects(stack, values);
  }
  return keep;
}

function pushObjects(stack: unknown[], xs: Iterable<unknown>): void {
  for (const x of xs) if (x !== null && typeof x === 'object') stack.push(x);
}

let enabled = true;

/**
 * Turns host step scopes off (every array a plain JS array, as in a loop without trainStep) or on
 * again; returns the previous setting. For comparisons: the results are the same either way.
 */
export function setHostStepScopes(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/**
 * Opens a step scope on the current host backend (a no-op where it has none, or where the current
 * backend is a device's, whose loops scope themselves); the returned function closes it, keeping
 * what is reachable from `roots()` and from the values given to it (searched only when the scope
 * allocated something).
 */
export function openHostStep(roots: () => readonly unknown[]): (...results: unknown[]) => void {
  const k = kernelsFor();
  if (!enabled || k.device !== null || !k.ext.beginStep) return () => {};
  const end = k.ext.beginStep();
  return (...results) => end(() => reachableStorage([...roots(), ...results]));
}

/**
 * One training step written as in PyTorch (forward, loss, zeroGrad, backward, optimizer.step) run
 * in a step scope: on the wasm backend its intermediates live in WebAssembly memory and are freed
 * when it returns, so a step copies no operands and leaves no garbage (fit runs every step so).
 * What stays: everything reachable from the model, the optimizer, `keep` and the returned value;
 * a tensor of the step held elsewhere is released (reading it throws). Return numbers
 * (`loss.item()`) or a tensor the step made: it is kept.
 *
 *   const loss = trainStep(model, opt, () => {
 *     const l = crossEntropy(model.forward(x, { training: true }), y);
 *     opt.zeroGrad();
 *     l.backward();
 *     opt.step();
 *     return l.item();
 *   });
 */
export function trainStep<T>(model: Module, optimizer: AnyOptimizer | null, step: () => T, keep: readonly unknown[] = []): T {
  if (typeof step !== 'function') throw new TypeError(`trainStep: expected the step as a function, got ${typeof step}`);
  return hostScoped(model, () => [model, optimizer, ...keep], step);
}

/**
 * `fn` in a host step scope (openHostStep) keeping what is reachable from `roots()` and from its
 * result; a model whose parameters live on a device runs it unscoped (device loops scope
 * themselves). The evaluations and predictions run each batch so (one forward pass of each of
 * their models), as trainStep runs a training step: a batch's arrays live in WebAssembly memory
 * and are freed when it ends. Their metrics and tallies copy what they keep of an output.
 */
export function hostScoped<T>(model: Module | readonly Module[], roots: () => readonly unknown[], fn: () => T): T {
  const models: readonly Module[] = Array.isArray(model) ? model : [model as Module];
  const onDevice = models.some((m) => m.parameters().some((p) => isDeviceStorage(p.storage)));
  const end = onDevice ? () => {} : openHostStep(roots);
  let result: T | undefined;
  try {
    result = fn();
  } finally {
    end(result);
  }
  return result;
}
