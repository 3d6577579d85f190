/**
 * Images from files (Node-only): PNG decoded by `pngjs`, JPEG by `jpeg-js`, and folders in
 * PyTorch's ImageFolder layout (one subfolder per class; classes are the sorted subfolder names).
 *
 * Pixel values are 8-bit values / 255 in [0, 1], float32, laid out CHW, as torchvision's ToTensor
 * gives. An image counts as grey when every pixel has R = G = B (a greyscale PNG or JPEG always
 * does); alpha is dropped, as PIL's `convert('RGB')` does.
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { DataFormatError } from './idx.js';
import { Dataset } from './dataset.js';
import { convertChannels, resizeBilinear, type ImageShape } from './image.js';

/** File name endings read as images (case-insensitive); the format itself is told by the bytes. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.png', '.jpg', '.jpeg']);
/** Image formats a folder may hold that descent does not decode: refused rather than skipped. */
const UNSUPPORTED_EXTENSIONS = ['.bmp', '.gif', '.webp', '.tif', '.tiff', '.ppm', '.pgm', '.pbm', '.heic', '.avif'];

export interface ReadImageOptions {
  /** 1 (grey) or 3 (RGB); default: 1 when the image is grey, else 3. */
  channels?: 1 | 3;
  /** [height, width] to resize to (bilinear); default: the image's own size. */
  size?: readonly [number, number];
}

export interface DecodedImage {
  /** C·H·W values in [0, 1], channel planes one after the other. */
  data: Float32Array;
  shape: [number, number, number];
}

const hex = (b: Uint8Array) => Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');

/** Decode PNG or JPEG bytes (told apart by their signature) to a CHW image with 1 channel if grey, else 3. */
export function decodeImage(bytes: Uint8Array, name = 'image'): DecodedImage {
  let width: number;
  let height: number;
  let px: Uint8Array;
  let stride: number;
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    try {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = png);
      px = png.data;
      stride = 4;
    } catch (e) {
      throw new DataFormatError(name, `corrupt or unsupported PNG image (pngjs: ${(e as Error).message})`);
    }
  } else if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    try {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
      ({ width, height } = img);
      px = img.data;
      stride = 3;
    } catch (e) {
      throw new DataFormatError(name, `corrupt or unsupported JPEG image (jpeg-js: ${(e as Error).message})`);
    }
  } else {
    const what = bytes.length === 0 ? 'the file is empty' : `it starts with ${hex(bytes)}`;
    throw new DataFormatError(name, `not a PNG or JPEG image (${what}); descent reads PNG and JPEG`);
  }
  const plane = width * height;
  if (px.length < plane * stride || plane === 0)
    throw new DataFormatError(name, `decoder returned ${px.length} bytes for a ${height}×${width} image`);
  let grey = true;
  for (let i = 0, o = 0; i < plane; i++, o += stride) {
    if (px[o] !== px[o + 1] || px[o] !== px[o + 2]) {
      grey = false;
      break;
    }
  }
  const c = grey ? 1 : 3;
  const data = new Float32Array(c * plane);
  for (let ch = 0; ch < c; ch++) {
    const off = ch * plane;
    for (let i = 0, o = ch; i < plane; i++, o += stride) data[off + i] = px[o] / 255;
  }
  return { data, shape: [c, height, width] };
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new DataFormatError(path, `cannot be read: ${describeFsError(e)}`);
  }
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder, expected a file';
  return (e as Error).message;
}

function finish(img: DecodedImage, opts: ReadImageOptions): DecodedImage {
  let { data } = img;
  let shape: ImageShape = img.shape;
  if (opts.channels !== undefined && opts.channels !== shape[0]) {
    data = convertChannels(data, shape, opts.channels);
    shape = [opts.channels, shape[1], shape[2]];
  }
  if (opts.size) {
    data = resizeBilinear(data, shape, opts.size[0], opts.size[1]);
    shape = [shape[0], opts.size[0], opts.size[1]];
  }
  return { data, shape: [shape[0], shape[1], shape[2]] };
}

/**
 * Read one PNG or JPEG file as a CHW float32 image in [0, 1], converted to `channels` and resized
 * to `size` when given (what `descent predict IMAGE.png` feeds a trained model).
 */
export function readImageFile(path: string, opts: ReadImageOptions = {}): DecodedImage {
  checkReadImageOptions(opts);
  return finish(decodeImage(readBytes(path), path), opts);
}

function checkReadImageOptions(opts: ReadImageOptions): void {
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) {
    throw new RangeError(`readImageFile: channels must be 1 or 3, got ${String(opts.channels)}`);
  }
  if (opts.size !== undefined) {
    const [h, w] = opts.size;
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
      throw new RangeError(`readImageFile: size must be [height, width] of positive integers, got [${opts.size.join(', ')}]`);
    }
  }
}

/** An image whose size differs from the first image's when no common size was asked for. */
export class ImageSizeError extends DataFormatError {
  constructor(
    readonly path: string,
    readonly size: readonly [number, number],
    readonly firstPath: string,
    readonly firstSize: readonly [number, number],
    remedy = 'give every image the same size, or a size to resize them all to',
  ) {
    super(path, `image is ${size[0]}×${size[1]} (H×W) but the first image, ${firstPath}, is ${firstSize[0]}×${firstSize[1]}; ${remedy}`);
  }
}

/** One image file of a folder data set and its class. */
export interface ImageFolderEntry {
  path: string;
  label: number;
}

export interface ImageFolderListing {
  dir: string;
  /** Sorted class subfolder names. */
  classes: string[];
  /** Class by class in sorted order; within a class, by folder, then file name (as PyTorch's os.walk order). */
  files: ImageFolderEntry[];
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch (e) {
    throw new DataFormatError(dir, `cannot be read: ${describeFsError(e)}`);
  }
}

/**
 * The images of an ImageFolder-layout folder: each subfolder of `dir` (names starting with "." are
 * skipped) is a class, and every PNG or JPEG file below it, at any depth, is a sample. Files with
 * other endings are ignored, except image formats descent cannot decode, which are refused.
 */
export function listImageFolder(dir: string): ImageFolderListing {
  if (!isDir(dir)) throw new DataFormatError(dir, 'folder not found');
  const classes = listDir(dir)
    .filter((n) => isDir(join(dir, n)))
    .sort();
  if (classes.length === 0) {
    throw new DataFormatError(dir, 'no class subfolders: expected one subfolder of PNG/JPEG images per class (dir/CLASS/IMAGE.png)');
  }
  const files: ImageFolderEntry[] = [];
  classes.forEach((cls, label) => {
    const found: [string, string][] = [];
    // Symbolic links are followed (as PyTorch's os.walk(followlinks=True)); a folder already seen
    // through another path is not entered again, so a link loop cannot recurse forever.
    const seen = new Set<string>();
    const walk = (d: string) => {
      const real = realpathSync(d);
      if (seen.has(real)) return;
      seen.add(real);
      for (const n of listDir(d)) {
        const p = join(d, n);
        if (isDir(p)) {
          walk(p);
          continue;
        }
        const ext = n.slice(n.lastIndexOf('.')).toLowerCase();
        if (IMAGE_EXTENSIONS.includes(ext)) found.push([d, n]);
        else if (UNSUPPORTED_EXTENSIONS.includes(ext)) {
          throw new DataFormatError(
            p,
            `unsupported image format ${ext}; descent reads PNG and JPEG (${IMAGE_EXTENSIONS.join(', ')}), convert the file`,
          );
        }
      }
    };
    walk(join(dir, cls));
    if (found.length === 0) throw new DataFormatError(join(dir, cls), `class folder "${cls}" holds no PNG or JPEG image`);
    found.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (const [d, n] of found) files.push({ path: join(d, n), label });
  });
  return { dir, classes, files };
}

export interface LoadImageFoldersOptions extends ReadImageOptions {
  /** Names of the data sets in messages and logs, one per folder (default: the folder paths). */
  names?: string[];
}

/**
 * Load one or more ImageFolder folders (e.g. train and test) as data sets that share the first
 * folder's classes (a later folder may lack a class, but may not add one) and one image shape.
 * Without `size`, every image must have the first image's size; without `channels`, the data sets
 * are grey (C = 1) when every image is grey, else RGB (C = 3).
 */
export function loadImageFolders(
  dirs: readonly string[],
  opts: LoadImageFoldersOptions = {},
): { sets: Dataset[]; classes: string[]; shape: [number, number, number]; grey: boolean } {
  checkReadImageOptions(opts);
  if (dirs.length === 0) throw new RangeError('loadImageFolders: expected at least one folder');
  const listings = dirs.map(listImageFolder);
  const classes = listings[0].classes;
  if (classes.length < 2) {
    throw new DataFormatError(dirs[0], `found 1 class folder ("${classes[0]}"); a classifier needs at least 2 classes, one subfolder each`);
  }
  const labelMaps = listings.map((l, k) =>
    l.classes.map((c) => {
      const i = classes.indexOf(c);
      if (i < 0) throw new DataFormatError(join(l.dir, c), `class "${c}" is not a class of ${dirs[0]} (${classes.join(', ')})`);
      return i;
    }),
  );
  let first: { path: string; size: [number, number] } | null = null;
  let allGrey = true;
  const images: DecodedImage[][] = listings.map((l) =>
    l.files.map(({ path }) => {
      const img = decodeImage(readBytes(path), path);
      const size: [number, number] = [img.shape[1], img.shape[2]];
      if (!first) first = { path, size };
      else if (!opts.size && (size[0] !== first.size[0] || size[1] !== first.size[1])) {
        throw new ImageSizeError(path, size, first.path, first.size);
      }
      if (img.shape[0] !== 1) allGrey = false;
      // Resize now, in the image's own channel count, so large photos are not all held at full size.
      return finish(img, { size: opts.size, channels: opts.channels });
    }),
  );
  const c = opts.channels ?? (allGrey ? 1 : 3);
  const [h, w] = opts.size ?? first!.size;
  const shape: [number, number, number] = [c, h, w];
  const sets = listings.map((l, k) => {
    const s = c * h * w;
    const data = new Float32Array(l.files.length * s);
    const labels = new Int32Array(l.files.length);
    l.files.forEach((f, i) => {
      const img = images[k][i];
      data.set(convertChannels(img.data, img.shape, c as 1 | 3), i * s);
      labels[i] = labelMaps[k][f.label];
    });
    images[k] = [];
    return new Dataset({ images: data, labels, shape, classes, name: opts.names?.[k] ?? l.dir });
  });
  return { sets, classes, shape, grey: allGrey };
}
