/**
 * Layout copies: a permuted read of a contiguous tensor into a contiguous output (torch.permute's
 * copy). The TypeScript glue merges the dimensions first (src/tensor/shape.ts mergeDims), so the
 * innermost dimension is a run: contiguous in the source (stride 1, copied four floats at a time)
 * or strided (gathered one at a time); an odometer over the outer dimensions steps once per run.
 */

/**
 * out ← src read through `rank` (≥ 1) dimensions: i32 sizes at `dims` and i32 source strides (in
 * elements) at `strides`, outermost first, the output in row-major order of `dims`. `idx` is
 * scratch for rank i32 counters.
 */
export function permute(src: usize, out: usize, rank: i32, dims: usize, strides: usize, idx: usize): void {
  const last = <usize>(rank - 1) << 2;
  const run = load<i32>(dims + last),
    step = load<i32>(strides + last);
  let outer: i32 = 1;
  for (let d = 0; d < rank - 1; d++) {
    outer *= load<i32>(dims + (<usize>d << 2));
    store<i32>(idx + (<usize>d << 2), 0);
  }
  const bytes = <usize>run << 2;
  const vecBytes = <usize>(run & ~3) << 2;
  let off: i32 = 0;
  let o = out;
  for (let r = 0; r < outer; r++) {
    const p = src + (<usize>off << 2);
    if (step == 1) {
      let j: usize = 0;
      for (; j < vecBytes; j += 16) v128.store(o + j, v128.load(p + j));
      for (; j < bytes; j += 4) store<f32>(o + j, load<f32>(p + j));
    } else {
      const sb = <usize>step << 2;
      let q = p;
      for (let j: usize = 0; j < bytes; j += 4) {
        store<f32>(o + j, load<f32>(q));
        q += sb;
      }
    }
    o += bytes;
    // the odometer over the outer dimensions, innermost first
    for (let d = rank - 2; d >= 0; d--) {
      const a = <usize>d << 2;
      const s = load<i32>(strides + a);
      const i = load<i32>(idx + a) + 1;
      off += s;
      if (i < load<i32>(dims + a)) {
        store<i32>(idx + a, i);
        break;
      }
      off -= s * load<i32>(dims + a);
      store<i32>(idx + a, 0);
    }
  }
}
