/**
 * Pixel arithmetic for images read from files: channel conversion and bilinear resizing of CHW
 * float32 images. Isomorphic (decoding PNG and JPEG files is Node-only, in ./image-folder.ts).
 */

/** [C, H, W] of one image. */
export type ImageShape = readonly [number, number, number];

/**
 * Convert a CHW image between 1 (grey) and 3 (RGB) channels. Grey → RGB repeats the plane;
 * RGB → grey is the ITU-R 601-2 luma 0.299 R + 0.587 G + 0.114 B (the weights of PIL's
 * `convert('L')`). Returns `data` itself when the channel count already matches.
 */
export function convertChannels(data: Float32Array, shape: ImageShape, channels: 1 | 3): Float32Array {
  const [c, h, w] = shape;
  if (c === channels) return data;
  const plane = h * w;
  if (c === 1 && channels === 3) {
    const out = new Float32Array(3 * plane);
    out.set(data, 0);
    out.set(data, plane);
    out.set(data, 2 * plane);
    return out;
  }
  if (c === 3 && channels === 1) {
    const out = new Float32Array(plane);
    for (let i = 0; i < plane; i++) out[i] = 0.299 * data[i] + 0.587 * data[plane + i] + 0.114 * data[2 * plane + i];
    return out;
  }
  throw new RangeError(`convertChannels: cannot convert ${c} channels to ${channels}; expected 1 or 3`);
}

/**
 * Bilinear resize of a CHW image to [C, height, width] with half-pixel centres and no antialiasing:
 * PyTorch's `F.interpolate(x, size, mode='bilinear', align_corners=False)`. Computed in float64 and
 * rounded once to float32. Returns `data` itself when the size already matches.
 */
export function resizeBilinear(data: Float32Array, shape: ImageShape, height: number, width: number): Float32Array {
  const [c, h, w] = shape;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new RangeError(`resizeBilinear: size must be positive integers, got ${height}×${width}`);
  }
  if (data.length !== c * h * w) throw new RangeError(`resizeBilinear: ${data.length} values do not fill [${c}, ${h}, ${w}]`);
  if (h === height && w === width) return data;
  const axis = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const i0 = new Int32Array(outSize);
    const i1 = new Int32Array(outSize);
    const t = new Float64Array(outSize);
    for (let o = 0; o < outSize; o++) {
      const src = Math.max(0, (o + 0.5) * scale - 0.5);
      const lo = Math.min(Math.floor(src), inSize - 1);
      i0[o] = lo;
      i1[o] = Math.min(lo + 1, inSize - 1);
      t[o] = src - lo;
    }
    return { i0, i1, t };
  };
  const ys = axis(h, height);
  const xs = axis(w, width);
  const out = new Float32Array(c * height * width);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    const obase = ch * height * width;
    for (let y = 0; y < height; y++) {
      const r0 = base + ys.i0[y] * w;
      const r1 = base + ys.i1[y] * w;
      const ty = ys.t[y];
      for (let x = 0; x < width; x++) {
        const a = xs.i0[x];
        const b = xs.i1[x];
        const tx = xs.t[x];
        const top = (1 - tx) * data[r0 + a] + tx * data[r0 + b];
        const bottom = (1 - tx) * data[r1 + a] + tx * data[r1 + b];
        out[obase + y * width + x] = (1 - ty) * top + ty * bottom;
      }
    }
  }
  return out;
}

/** Parse an image size "HxW" (or "N" for N×N), as `--resize` takes it; null when malformed. */
export function parseImageSize(s: string): [number, number] | null {
  const m = /^\s*(\d+)\s*(?:[x×]\s*(\d+))?\s*$/i.exec(s);
  if (!m) return null;
  const h = Number(m[1]);
  const w = m[2] === undefined ? h : Number(m[2]);
  if (!(h >= 1 && w >= 1 && h <= 65536 && w <= 65536)) return null;
  return [h, w];
}
