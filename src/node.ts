/** Node-only entry: file-system data loaders and anything else that needs fs/zlib/process. */
export * from './index.js';
export * from './data/node.js';
export * from './data/csv.js';
export * from './data/image-folder.js';
export * from './io/safetensors-node.js';
export * from './io/checkpoints.js';
