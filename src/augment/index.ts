export * from './transforms.js';
export * from './parse.js';
