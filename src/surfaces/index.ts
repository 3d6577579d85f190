export * from './functions.js';
export * from './trajectory.js';
