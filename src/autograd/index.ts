export * from './engine.js';
export * from './ops.js';
import './methods.js';
export * from './indexing.js';
export * from './stats.js';
export * from './activations.js';
