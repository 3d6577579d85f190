/** Isomorphic data API (the file-system loaders are in ./node.ts, exported from src/node.ts). */
export * from './idx.js';
export * from './dataset.js';
export * from './tensor-dataset.js';
export * from './loader.js';
export * from './fashion-mnist.js';
export * from './preprocess.js';
export { complementIndices, kFold, stratifiedKFold, stratifiedSplit } from './folds.js';
export * from './image.js';
export * from './npz.js';
export * from './text.js';
export * from './windows.js';
