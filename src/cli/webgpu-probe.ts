/**
 * Whether this machine has a WebGPU adapter: prints one JSON line, {"adapter": description,
 * "software": boolean} or {"error": message}, and exits. Run in a child process (by `descent train
 * --backend auto` and `--backend webgpu`, and the benchmark), so that Dawn — its native messages on stderr, its memory, its
 * threads — never enters a process that does not train on the GPU.
 */
import { disposeWebGPU, initWebGPU, webgpuInfo } from '../backend/webgpu/index.js';

try {
  await initWebGPU();
  const i = webgpuInfo();
  process.stdout.write(`${JSON.stringify({ adapter: i.adapter, software: i.software })}\n`);
  disposeWebGPU();
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
}
process.exit(0);
