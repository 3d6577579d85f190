export * from './trainer.js';
export * from './models.js';
