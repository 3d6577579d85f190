/**
 * Node-only entry: everything of the isomorphic entry, the file-system data loaders and anything
 * else that needs fs/zlib/process. Importing it starts the fastest backend (`await ready()` below:
 * wasm, one thread per core up to 8, relaxed SIMD — turned on first on Node 20), so a Node program
 * trains at the CLI's speed without a backend call; `setBackend('reference')` switches to the oracle.
 */
import './backend/wasm/node-flags.js';
import { ready } from './backend/ready.js';
export * from './index.js';
export * from './data/node.js';
export * from './data/csv.js';
export * from './data/image-folder.js';
export * from './io/safetensors-node.js';
export * from './io/checkpoints.js';

await ready();
