/** The kernel worker script as a module Web Worker (started by platform-browser.ts): init data in the first message. */
import type { WorkerInit } from './protocol.js';
import { serve } from './worker.js';

/** The parts of a DedicatedWorkerGlobalScope used (the DOM lib types `self` as a window). */
const scope = globalThis as unknown as { onmessage: ((e: { data: WorkerInit }) => void) | null; postMessage(m: unknown): void };
scope.onmessage = (e) => serve(e.data, () => scope.postMessage('ready'));
