/**
 * Whether this machine has a WebGPU adapter for the descent-webgpu rows: prints one JSON line,
 * {"adapter": description, "software": boolean} or {"error": message}, and exits. Run in a child
 * process by run.ts (Dawn's device is created and destroyed here, not in the benchmark's parent).
 */
import { disposeWebGPU, initWebGPU, webgpuInfo } from '../src/backend/webgpu/index.js';

try {
  await initWebGPU();
  const i = webgpuInfo();
  process.stdout.write(`${JSON.stringify({ adapter: i.adapter, software: i.software })}\n`);
  disposeWebGPU();
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
}
process.exit(0);
