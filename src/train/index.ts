export * from './trainer.js';
export * from './models.js';
export * from './fullbatch.js';
export * from './metrics.js';
export * from './spec.js';
export * from './checkpoint.js';
export * from './ensemble-fit.js';
export * from './async.js';
