/**
 * The wasm backend's platform in a browser: cores from navigator.hardwareConcurrency, kernel
 * workers as module Web Workers (worker-browser.ts). Shared memory exists only on cross-origin
 * isolated pages, and a window's main thread may not block in Atomics.wait, so threads run only
 * inside a Web Worker of an isolated page.
 */
import type { KernelWorker, WasmPlatform } from './platform.js';
import type { WorkerInit } from './protocol.js';

export const browserPlatform: WasmPlatform = {
  async cores() {
    return globalThis.navigator?.hardwareConcurrency ?? 1;
  },
  canThread() {
    const g = globalThis as { crossOriginIsolated?: boolean; window?: unknown };
    return g.crossOriginIsolated === true && g.window === undefined && typeof Worker === 'function';
  },
  async spawn(init: WorkerInit): Promise<KernelWorker> {
    const w = new Worker(new URL('./worker-browser.js', import.meta.url), { type: 'module' });
    await new Promise<void>((resolve, reject) => {
      w.onmessage = () => resolve();
      w.onerror = (e) => reject(new Error(`wasm backend: kernel worker failed to start: ${String(e.message ?? e)}`));
      w.postMessage(init);
    });
    return w;
  },
};
