export * from './ensemble.js';
export * from './averaging.js';
export * from './snapshot.js';
