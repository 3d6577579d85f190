export * from './transforms.js';
export * from './parse.js';
export * from './mix.js';
