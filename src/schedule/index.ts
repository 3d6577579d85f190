export * from './schedules.js';
export * from './plateau.js';
export * from './driver.js';
export * from './parse.js';
export * from './aliases.js';
