export * from './shape.js';
export * from './rng.js';
export * from './tensor.js';
export * from './device.js';
