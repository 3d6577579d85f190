export * from './functions.js';
export * from './trajectory.js';
export * from './aliases.js';
