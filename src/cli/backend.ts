/** The CLI's --backend option: 'wasm' (WebAssembly SIMD on worker threads, the default) or 'reference'. */
import { setBackend, backendNames } from '../backend/index.js';
import { initWasm } from '../backend/wasm/index.js';
import { UsageError, type OptSpec } from './args.js';

export const backendOption: OptSpec = {
  name: 'backend',
  type: 'string',
  default: 'wasm',
  choices: ['wasm', 'reference'],
  help: 'kernels: wasm (WebAssembly SIMD, worker threads) or reference (plain TypeScript, the test oracle)',
};

export async function selectBackend(name: string): Promise<string> {
  if (name === 'wasm') await initWasm();
  if (!backendNames().includes(name))
    throw new UsageError(`--backend: unknown backend "${name}"; expected one of ${backendNames().join(', ')}`);
  setBackend(name);
  return name;
}
