export * from './penalties.js';
export * from './callbacks.js';
