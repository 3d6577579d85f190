/**
 * SWA and EMA for parameters that live on a device (WebGPU): each parameter's average lives beside
 * it, in float32, and a sample is three queued kernels that read nothing back — PyTorch's
 * AveragedModel on CUDA, whose averages are in the parameters' dtype:
 *
 *   first sample   a ← w
 *   SWA            a ← a + (w − a) / (n + 1)        (n samples taken before this one)
 *   EMA            a ← a + (1 − β)·(w − a)          (torch.lerp, as get_ema_multi_avg_fn)
 *
 * The host WeightAverage keeps the count and, after `sync()`, the device averages (float32 values
 * in its float64 arrays): the form a checkpoint keeps and the run's result gives. `load()` writes
 * the host average back (a resumed run), so a run resumed on the device continues bit for bit.
 * On the host (WeightAverage.update) the averages accumulate in float64; the two agree to float32
 * rounding (test/device/averages-device.test.ts).
 */
import type { Tensor } from '../tensor/tensor.js';
import type { DeviceStorage } from '../tensor/device.js';
import { kernelsFor } from '../backend/index.js';
import type { WeightAverage } from './averaging.js';

const f32 = (v: number) => Float32Array.of(v);

export class DeviceAverage {
  /** One device array per parameter, allocated with the average (outside any step scope, so it outlives the steps). */
  private readonly arrays: DeviceStorage[];

  constructor(
    readonly avg: WeightAverage,
    private readonly params: readonly [string, Tensor][],
  ) {
    this.arrays = params.map(([, p]) => kernelsFor(p.storage).alloc('float32', p.size) as DeviceStorage);
  }

  /** Queues one sample of the parameters' current values (nothing is read). */
  sample(): void {
    const n = this.avg.n;
    // the sample's one scalar (1 to copy; n + 1 or 1 − β), uploaded once for every parameter (all on one device)
    const k0 = kernelsFor(...this.params.map(([, p]) => p.storage));
    const scalar = k0.on(f32(n === 0 ? 1 : this.avg.kind === 'swa' ? n + 1 : 1 - this.avg.decay));
    this.params.forEach(([, p], i) => {
      const k = kernelsFor(p.storage);
      const a = this.arrays[i];
      const shape = [p.size];
      if (n === 0) {
        k.backend.binary('mul', p.storage, shape, scalar, [], a, shape);
        return;
      }
      const d = k.alloc('float32', p.size);
      k.backend.binary('sub', p.storage, shape, a, shape, d, shape);
      k.backend.binary(this.avg.kind === 'swa' ? 'div' : 'mul', d, shape, scalar, [], d, shape);
      k.backend.binary('add', a, shape, d, shape, a, shape);
    });
    this.avg.n = n + 1;
  }

  /** Reads the device averages into the host WeightAverage (before a checkpoint, and at the run's end). */
  async sync(): Promise<void> {
    const { kind, decay, n } = this.avg;
    if (n === 0) return;
    const values = await Promise.all(this.arrays.map((a) => a.read()));
    const avg = Object.fromEntries(this.params.map(([name], i) => [name, Float64Array.from(values[i])]));
    this.avg.loadStateDict({ kind, decay, n, avg });
  }

  /** Writes the host WeightAverage's values to the device (after loadStateDict: a resumed run). */
  load(): void {
    if (this.avg.n === 0) return;
    this.params.forEach(([name], i) => {
      const v = this.avg.get(name);
      if (!v) throw new Error(`WeightAverage (${this.avg.kind}): the resumed state has no average for parameter "${name}"`);
      this.arrays[i].write(Float32Array.from(v));
    });
  }
}
