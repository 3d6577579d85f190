export * from './module.js';
export * from './init.js';
export * from './layers.js';
export * from './loss.js';
export * from './conv.js';
export * from './pool.js';
export * from './dropout.js';
export * from './dropconnect.js';
