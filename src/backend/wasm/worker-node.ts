/** The kernel worker script under Node's worker_threads (started by platform-node.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit } from './protocol.js';
import { serve } from './worker.js';

serve(workerData as WorkerInit, () => parentPort?.postMessage('ready'));
