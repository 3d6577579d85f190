/**
 * The wasm backend's ops, one module per kernel family (each mirrors a file of asm/):
 *
 *   dense.ts        matmul, batchedMatmul, linear, linearBackward         asm/gemm.ts, asm/activations.ts
 *   convolution.ts  conv2d and its gradients, conv layers, conv + pool   asm/conv.ts, asm/winograd.ts
 *   pooling.ts      max and average pooling and their backwards           asm/pool.ts
 *   math.ts         binary, unary, sum, max, logSoftmax                   asm/elementwise.ts, asm/activations.ts
 *   updates.ts      adamStep, sgdStep, batchUpdates                       asm/optim.ts
 *   norm.ts         batchNorm, batchNormBackward                          asm/norm.ts
 *   memory.ts       allocLike, zero                                       asm/exports.ts
 *   recurrent.ts    recurrentStep, recurrentStepBackward                  asm/recurrent.ts
 *   random.ts       dropoutMask                                           asm/random.ts
 *   layernorm.ts    layerNorm, layerNormBackward                          asm/layernorm.ts
 *   layout.ts       permute                                               asm/layout.ts
 *   attention.ts    attention, attentionBackward                          asm/attention.ts
 *
 * The backend is `{ ...referenceBackend, ...makeWasmOps(...) }` (index.ts), so an op the families
 * do not provide runs on the reference.
 */
import type { WasmRuntime } from './runtime.js';
import { type WasmOps, makeContext } from './context.js';
import { denseOps } from './dense.js';
import { convolutionOps } from './convolution.js';
import { poolingOps } from './pooling.js';
import { mathOps } from './math.js';
import { updateOps } from './updates.js';
import { memoryOps } from './memory.js';
import { normOps } from './norm.js';
import { recurrentOps } from './recurrent.js';
import { randomOps } from './random.js';
import { layerNormOps } from './layernorm.js';
import { layoutOps } from './layout.js';
import { attentionOps } from './attention.js';

export function makeWasmOps(rt: WasmRuntime, maxThreads: () => number): WasmOps {
  const cx = makeContext(rt, maxThreads);
  return {
    ...memoryOps(cx),
    ...denseOps(cx),
    ...convolutionOps(cx),
    ...poolingOps(cx),
    ...mathOps(cx),
    ...updateOps(cx),
    ...normOps(cx),
    ...recurrentOps(cx),
    ...randomOps(cx),
    ...layerNormOps(cx),
    ...layoutOps(cx),
    ...attentionOps(cx),
  };
}
