import type { Module } from '../nn/module.js';
import { isDeviceStorage } from '../tensor/device.js';

/** The functions that read values synchronously (fit, evaluate, …) refuse a model on a device, naming their asynchronous twin `instead`. */
export function hostOnly(model: Module, what: string, instead: string): void {
  const p = model.parameters().find((t) => isDeviceStorage(t.storage));
  if (p) throw new Error(`${what}: the model's parameters live on ${p.device}, which is read asynchronously; use await ${instead}(…)`);
}
