export * from './optimizer.js';
export * from './sgd.js';
export * from './registry.js';
export * from './linesearch.js';
export * from './lbfgs.js';
