/**
 * Storage that a backend owns outside JavaScript memory: a GPU buffer. Only the owning backend's
 * kernels read or write its values; the host sees them through `read()`, which is asynchronous
 * because a GPU's queue is (WebGPU has no synchronous read-back). Kernels are queued in call order,
 * so a `read()` resolves with the values after every kernel queued before it, and a `write()` is
 * ordered with the kernels around it.
 */
export interface DeviceStorage {
  /** The owning backend's name ('webgpu'). */
  readonly device: string;
  /** Element type: float32 for values, int32 for indices (max pooling's argmax, labels). */
  readonly dtype: 'float32' | 'int32';
  /** Number of elements. */
  readonly length: number;
  /** The values, once every kernel queued before this call has run. */
  read(): Promise<Float32Array | Int32Array>;
  /** Replaces the values (`values.length` must equal `length`), ordered with the queued kernels. */
  write(values: Float32Array | Int32Array): void;
}

/** True for storage that lives on a device rather than in a JS typed array. */
export function isDeviceStorage(s: unknown): s is DeviceStorage {
  return typeof s === 'object' && s !== null && !ArrayBuffer.isView(s) && typeof (s as DeviceStorage).read === 'function';
}
