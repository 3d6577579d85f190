/**
 * descent — the library entry. Isomorphic: nothing reachable from here touches fs, zlib, process or
 * the DOM (Node-only helpers live in ./node.ts).
 */
export * from './tensor/index.js';
export * from './backend/index.js';
export * from './autograd/index.js';
export { conv2d, convLayer, convPoolLayer, maxPool2d, avgPool2d, gatherPlanes, scatterPlanes, conv2dGeometry, type Conv2dArgs, type Pool2dArgs, type AvgPool2dArgs } from './autograd/conv.js';
export * from './nn/index.js';
export * from './augment/index.js';
export * from './optim/index.js';
export * from './surfaces/index.js';
export * from './data/index.js';
export * from './train/index.js';
export * from './schedule/index.js';
export * from './regularize/index.js';
export * from './ensemble/index.js';
export * from './io/safetensors.js';
