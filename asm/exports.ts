/** The descent WebAssembly kernels' exports: the module's entry (compiled as SIMD128 and as relaxed SIMD, shared and unshared memory). */
export { gemm, gemmBatch, gemmScratchBytes, gemmMR, gemmPackedScratchBytes, packAAll, packBAll, gemmPackedA, gemmPackedB } from './gemm';
export { conv2dForward, conv2dLayerBackward, convPoolForward, convPoolBackward, convPoolImages } from './conv';
export { winogradFilters, winogradPackFilters, winogradPackedFloats, winogradFiltersScratchBytes, winogradScratchFloats, winogradBatch, winogradCells, winogradFilterGrad, winogradFilterGradScratchBytes } from './winograd';
export { binary, unary, sum, max, logSoftmax, addInto } from './elementwise';
export { activationForward } from './activations';
export { adam, sgd } from './optim';
export { dropoutMask, dropoutApply } from './random';
export { maxPool2d, scatterPlanes, avgPool2d, avgPool2dBackward, fmpArgmax } from './pool';
export { bnStats, bnApply, bnBackward, bnPoolScatter } from './norm';
export { lnForward, lnBackward, lnBackwardScratchBytes, rmsForward, rmsBackward } from './layernorm';
export { permute } from './layout';
export { attnForward, attnBackward, attnScratchFloats } from './attention';
export { lstmRows, gruRows, rnnRows, lstmBackRows, gruBackRows, rnnBackRows } from './recurrent';

/** Zeroes n floats at p (memory.fill: a native memset, where TypedArray.fill on shared memory is a slow loop). */
export function zero(p: usize, n: i32): void {
  memory.fill(p, 0, <usize>n * 4);
}

/** First byte of linear memory that the kernels' own static data does not use. */
export function heapBase(): usize {
  return __heap_base;
}

export function isRelaxed(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
}
