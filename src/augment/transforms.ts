/**
 * Random image transforms on NCHW batches (values in [0, 1]), each drawn independently per image
 * from the generator it is given. A transform is the DataLoader's BatchTransform, (x, rng) → x′, of
 * the same shape; it never touches labels and records no gradient. Every transform is exactly the
 * identity at zero strength (the random draws may still happen, the pixels do not change).
 */
import { Tensor, allocStorage, type HostStorage } from '../tensor/tensor.js';
import { Rng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { checkOptions, num, showValue, type SchemaOf } from '../util/options.js';

export type Augmentation = ((x: Tensor, rng: Rng) => Tensor) & { readonly describe: string };

function named(describe: string, f: (x: Tensor, rng: Rng) => Tensor): Augmentation {
  const t = (x: Tensor, rng: Rng) => {
    if (x.ndim !== 4) throw new ShapeError(`augment ${describe}: expected a batch [N, C, H, W], got ${fmtShape(x.shape)}`);
    return f(x, rng);
  };
  return Object.assign(t, { describe });
}

/** A positional argument that must be a number (its range is checked after). */
function needNumber(what: string, name: string, v: unknown): void {
  if (typeof v !== 'number') throw new TypeError(`${what}: invalid ${name} ${showValue(v)}; expected a number`);
}

function checkProb(p: number, what: string): void {
  needNumber(what, 'p', p);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${what}: probability must be in [0, 1], got ${p}`);
}

/** Mirror each image left–right with probability p (default 0.5). */
export function randomFlip(p = 0.5): Augmentation {
  checkProb(p, 'flip');
  return named(`flip(p=${p})`, (x, rng) => {
    const [N, C, H, W] = x.shape;
    const out = x.data.slice() as HostStorage;
    for (let n = 0; n < N; n++) {
      if (!(rng.uniform() < p)) continue;
      for (let r = n * C * H; r < (n + 1) * C * H; r++) out.subarray(r * W, (r + 1) * W).reverse();
    }
    return new Tensor(out, x.shape);
  });
}

/** Pad each side by `padding` cells of `fill`, then cut an H×W window at a random offset (torchvision's RandomCrop(size, padding)). */
export function randomCrop(padding: number, fill = 0): Augmentation {
  needNumber('crop', 'padding', padding);
  needNumber('crop', 'fill', fill);
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`crop: padding must be a non-negative integer, got ${padding}`);
  return named(`crop(padding=${padding})`, (x, rng) => {
    const [N, C, H, W] = x.shape;
    // A shift of more than half the image leaves most of a crop as fill (crop:1000 on 28×28
    // images would train on blank ones), so the padding must stay below half the smaller side.
    const most = Math.floor((Math.min(H, W) - 1) / 2);
    if (padding > most)
      throw new RangeError(
        `crop: padding ${padding} is too large for ${H}×${W} images; expected at most ${most} (below half the smaller side)`,
      );
    const out = allocStorage(x.dtype, x.size);
    for (let n = 0; n < N; n++) {
      // Window origin in padded coordinates is (oy, ox) ∈ [0, 2·pad]²; shift relative to the image:
      const dy = rng.int(2 * padding + 1) - padding,
        dx = rng.int(2 * padding + 1) - padding;
      for (let c = 0; c < C; c++) {
        const b = (n * C + c) * H * W;
        for (let y = 0; y < H; y++) {
          const sy = y + dy;
          for (let xx = 0; xx < W; xx++) {
            const sx = xx + dx;
            out[b + y * W + xx] = sy >= 0 && sy < H && sx >= 0 && sx < W ? x.data[b + sy * W + sx] : fill;
          }
        }
      }
    }
    return new Tensor(out, x.shape);
  });
}

/**
 * Resize each image by a factor s ~ U[min, max] (bilinear, half-pixel centres as PyTorch's
 * interpolate with align_corners=false), to round(s·H) × round(s·W); then cut an H×W window at a
 * random offset if it grew, or pad it with `fill` at a random offset if it shrank.
 */
export function randomScale(min: number, max: number, fill = 0): Augmentation {
  needNumber('scale', 'min', min);
  needNumber('scale', 'max', max);
  needNumber('scale', 'fill', fill);
  if (!(min > 0 && max >= min && Number.isFinite(max))) throw new RangeError(`scale: expected 0 < min ≤ max, got ${min}-${max}`);
  return named(`scale(${min}-${max})`, (x, rng) => {
    const [N, C, H, W] = x.shape;
    const out = allocStorage(x.dtype, x.size);
    for (let n = 0; n < N; n++) {
      const s = min + (max - min) * rng.uniform();
      const sh = Math.max(1, Math.round(H * s)),
        sw = Math.max(1, Math.round(W * s));
      // Offset of the output window in the scaled image (negative: the scaled image sits inside padding).
      const oy = sh >= H ? rng.int(sh - H + 1) : -rng.int(H - sh + 1);
      const ox = sw >= W ? rng.int(sw - W + 1) : -rng.int(W - sw + 1);
      const fy = H / sh,
        fx = W / sw;
      for (let c = 0; c < C; c++) {
        const b = (n * C + c) * H * W;
        for (let y = 0; y < H; y++) {
          const ty = y + oy; // row in the scaled image
          if (ty < 0 || ty >= sh) {
            out.fill(fill, b + y * W, b + (y + 1) * W);
            continue;
          }
          const syf = Math.max((ty + 0.5) * fy - 0.5, 0);
          const y0 = Math.min(Math.floor(syf), H - 1),
            y1 = Math.min(y0 + 1, H - 1),
            wy = syf - y0;
          for (let xx = 0; xx < W; xx++) {
            const tx = xx + ox;
            if (tx < 0 || tx >= sw) {
              out[b + y * W + xx] = fill;
              continue;
            }
            const sxf = Math.max((tx + 0.5) * fx - 0.5, 0);
            const x0 = Math.min(Math.floor(sxf), W - 1),
              x1 = Math.min(x0 + 1, W - 1),
              wx = sxf - x0;
            const d = x.data;
            const top = wx === 0 ? d[b + y0 * W + x0] : d[b + y0 * W + x0] * (1 - wx) + d[b + y0 * W + x1] * wx;
            const bot = wx === 0 ? d[b + y1 * W + x0] : d[b + y1 * W + x0] * (1 - wx) + d[b + y1 * W + x1] * wx;
            out[b + y * W + xx] = wy === 0 ? top : top * (1 - wy) + bot * wy;
          }
        }
      }
    }
    return new Tensor(out, x.shape);
  });
}

export interface JitterOptions {
  /** Brightness factor ~ U[max(0, 1 − b), 1 + b]: x·f. */
  brightness?: number;
  /** Contrast factor ~ U[max(0, 1 − c), 1 + c]: (x − mean grey)·f + mean grey. */
  contrast?: number;
  /** RGB only. Saturation factor ~ U[max(0, 1 − s), 1 + s]: blend with the grey image. */
  saturation?: number;
  /** RGB only. Hue shift ~ U[−h, h] turns of the colour wheel, h ≤ 0.5. */
  hue?: number;
}

const jitterSchema: SchemaOf<JitterOptions> = { brightness: num, contrast: num, saturation: num, hue: num };

const grey = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * torchvision's ColorJitter, applied in a fixed order (brightness, contrast, saturation, hue) with
 * results clamped to [0, 1] after each step. Grey images (C = 1) get brightness and contrast only;
 * saturation and hue need C = 3 (RGB) and are skipped for grey images. A zero strength skips its step.
 */
export function colorJitter(opts: JitterOptions): Augmentation {
  checkOptions('jitter', opts, jitterSchema);
  const { brightness = 0, contrast = 0, saturation = 0, hue = 0 } = opts;
  for (const [k, v] of Object.entries({ brightness, contrast, saturation })) {
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`jitter: ${k} must be a non-negative number, got ${v}`);
  }
  if (!(hue >= 0 && hue <= 0.5)) throw new RangeError(`jitter: hue must be in [0, 0.5], got ${hue}`);
  const factor = (s: number, rng: Rng) => Math.max(0, 1 - s) + (1 + s - Math.max(0, 1 - s)) * rng.uniform();
  return named(`jitter(b=${brightness}, c=${contrast}, s=${saturation}, h=${hue})`, (x, rng) => {
    const [N, C, H, W] = x.shape;
    if (C !== 1 && C !== 3) throw new ShapeError(`augment jitter: expected 1 (grey) or 3 (RGB) channels, got ${C}`);
    const P = H * W;
    const out = x.data.slice() as HostStorage;
    for (let n = 0; n < N; n++) {
      const img = out.subarray(n * C * P, (n + 1) * C * P);
      const greyAt = (i: number) => (C === 1 ? img[i] : grey(img[i], img[P + i], img[2 * P + i]));
      if (brightness > 0) {
        const f = factor(brightness, rng);
        for (let i = 0; i < img.length; i++) img[i] = clamp01(img[i] * f);
      }
      if (contrast > 0) {
        const f = factor(contrast, rng);
        let m = 0;
        for (let i = 0; i < P; i++) m += greyAt(i);
        m /= P;
        for (let i = 0; i < img.length; i++) img[i] = clamp01((img[i] - m) * f + m);
      }
      if (C === 3 && saturation > 0) {
        const f = factor(saturation, rng);
        for (let i = 0; i < P; i++) {
          const gv = greyAt(i);
          for (let c = 0; c < 3; c++) img[c * P + i] = clamp01((img[c * P + i] - gv) * f + gv);
        }
      }
      if (C === 3 && hue > 0) {
        const shift = (2 * rng.uniform() - 1) * hue;
        for (let i = 0; i < P; i++) {
          const [h, s, v] = rgbToHsv(img[i], img[P + i], img[2 * P + i]);
          const [r, g, b] = hsvToRgb((((h + shift) % 1) + 1) % 1, s, v);
          img[i] = r;
          img[P + i] = g;
          img[2 * P + i] = b;
        }
      }
    }
    return new Tensor(out, x.shape);
  });
}

/** Hue in turns [0, 1), saturation and value in [0, 1]. */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const mx = Math.max(r, g, b),
    mn = Math.min(r, g, b),
    d = mx - mn;
  let h = 0;
  if (d > 0) {
    if (mx === r) h = ((g - b) / d) % 6;
    else if (mx === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h = (h / 6 + 1) % 1;
  }
  return [h, mx > 0 ? d / mx : 0, mx];
}

export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f = (k: number) => {
    const t = (k + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(t, 4 - t, 1));
  };
  return [f(5), f(3), f(1)];
}

/**
 * Apply transforms in order. Each gets its own generator seeded by `rng`'s next draw, so adding a
 * transform does not change the draws of the ones before it.
 */
export function composeAugment(...ts: Augmentation[]): Augmentation {
  const describe = ts.length ? ts.map((t) => t.describe).join(' → ') : 'identity';
  return Object.assign(
    (x: Tensor, rng: Rng) => {
      let h = x;
      for (const t of ts) h = t(h, new Rng(rng.nextU32()));
      return h;
    },
    { describe },
  );
}
