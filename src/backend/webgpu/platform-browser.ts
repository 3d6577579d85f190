/// <reference types="@webgpu/types" />
/** WebGPU in a browser (or a worker): `navigator.gpu`, or an Error saying it is absent. */
export function browserGpu(): GPU | Error {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  return new Error('this browser has no navigator.gpu (WebGPU is off, or the page is not a secure context)');
}
