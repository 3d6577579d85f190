/// <reference types="@webgpu/types" />
/**
 * WebGPU under Node: the npm `webgpu` package (Dawn, an optional dependency of descent), imported
 * by a computed name when first used, so a browser bundle that reaches this file neither resolves
 * nor loads it.
 */

/** The part of the `webgpu` package used here, typed locally (the package is optional). */
interface DawnModule {
  create(options: string[]): GPU;
}

/** Dawn's GPU object, or an Error naming what is missing. */
export async function nodeGpu(): Promise<GPU | Error> {
  let mod: DawnModule;
  try {
    mod = (await import(/* @vite-ignore */ 'webgpu' as string)) as DawnModule;
  } catch (e) {
    return new Error(
      `the npm package "webgpu" (Dawn for Node, an optional dependency of descent) could not be loaded (${(e as Error).message}); install it with npm install webgpu`,
    );
  }
  // timestamps as the device gives them: by default Dawn rounds them (a browser's guard against
  // timing attacks; on lavapipe to multiples of 65,536 ns), which would leave a profiled kernel of
  // a few microseconds at 0
  return mod.create(['disable-dawn-features=timestamp_quantization']);
}
