export * from './engine.js';
export * from './ops.js';
export * from './cross-entropy.js';
import './methods.js';
export * from './indexing.js';
export * from './stats.js';
export * from './activations.js';
export * from './losses.js';
export * from './attention.js';
