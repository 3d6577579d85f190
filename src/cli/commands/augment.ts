/**
 * descent augment: a PNG grid of augmented garments, so a person can see what --augment does.
 * Row r shows one training image: the original in the first column (after a gap), then `--per`
 * independently augmented copies. Rows cycle through the classes (one garment of each class first).
 * With --mixup / --cutmix each copy is then mixed with another row's garment, as train mixes a batch.
 */
import { SEED_MAX } from '../../tensor/rng.js';
import { checkBatchTransform } from '../train-checks.js';
import { checkWritableFile, writeFileAtomic } from '../../io/files.js';
import type { Command, Io } from '../command.js';
import { UsageError, type Parsed } from '../args.js';
import { Rng } from '../../tensor/rng.js';
import { Tensor } from '../../tensor/tensor.js';
import { parseAugment, AugmentSpecError } from '../../augment/parse.js';
import { cutmix, mixup, randomChoiceMix } from '../../augment/mix.js';
import { classificationOnly, dataKind, dataOption, dataOptions, loadData } from '../data.js';
import { encodePng } from '../png.js';

export const DEFAULT_AUGMENT = 'flip,crop:4,scale:0.9-1.1,jitter:0.2';

export const augmentCommand: Command = {
  name: 'augment',
  summary: 'write a PNG grid of augmented training images',
  options: [
    { name: 'out', type: 'string', metavar: 'FILE', help: 'the PNG file to write (required)' },
    {
      name: 'augment',
      type: 'string',
      default: DEFAULT_AUGMENT,
      metavar: 'SPEC',
      help: 'augmentation spec: flip[:P], crop:N, scale:A-B, jitter:B[:C[:S[:H]]], comma-separated',
    },
    {
      name: 'mixup',
      type: 'number',
      gt: 0,
      metavar: 'ALPHA',
      help: "then mix each copy with another garment by MixUp, λ ~ Beta(ALPHA, ALPHA) (as train's --mixup)",
    },
    {
      name: 'cutmix',
      type: 'number',
      gt: 0,
      metavar: 'ALPHA',
      help: "then paste a box of another garment into each copy by CutMix (as train's --cutmix); with --mixup, one of the two per copy",
    },
    { name: 'rows', type: 'int', min: 1, max: 100, default: 10, help: 'how many garments (one per class first)' },
    { name: 'per', type: 'int', min: 1, max: 50, default: 8, help: 'augmented copies of each garment' },
    { name: 'zoom', type: 'int', min: 1, max: 16, default: 3, help: 'pixels per image pixel' },
    { name: 'seed', type: 'int', min: 0, max: SEED_MAX, default: 1, help: 'seed of the augmentation draws' },
    {
      ...dataOption,
      default: 'embedded',
      metavar: 'auto|embedded|DIR',
      help: 'the images: "embedded" the Fashion-MNIST subset shipped in the package; "auto" Fashion-MNIST if installed, else the embedded subset; a directory of IDX files; or a directory of images with one subfolder per class (or train/ and test/ subfolders in that layout: the training images are drawn). CSV files hold no images',
    },
    ...dataOptions.filter((d) => d.name === 'channels' || d.name === 'resize'),
  ],
  helpExtra: `Example: descent augment --out grid.png --augment ${DEFAULT_AUGMENT} --seed 3 (add --cutmix 1 to see CutMix)`,
  async run(o: Parsed, io: Io) {
    if (!o.out) throw new UsageError('--out: the PNG file to write is required (e.g. --out grid.png)');
    let aug;
    try {
      aug = parseAugment(o.augment, '--augment');
    } catch (e) {
      if (e instanceof AugmentSpecError) throw new UsageError(e.message);
      throw e;
    }
    if (dataKind(o.data) === 'csv')
      throw new UsageError(
        `--data ${o.data}: augment draws images; a CSV file holds none (give embedded, auto, a folder of IDX files or a folder of class folders of images)`,
      );
    checkWritableFile(o.out, '--out');
    const data = classificationOnly(await loadData(o.data, { channels: o.channels, resize: o.resize, trainOnly: true }), 'descent augment');
    const ds = data.train;
    const [C, H, W] = ds.shape;
    checkBatchTransform(aug, ds.shape, o.augment);
    const mixes = [
      ...(o.cutmix !== undefined ? [cutmix({ alpha: o.cutmix, numClasses: ds.classes.length })] : []),
      ...(o.mixup !== undefined ? [mixup({ alpha: o.mixup, numClasses: ds.classes.length })] : []),
    ];
    const mix = mixes.length > 1 ? randomChoiceMix(mixes) : mixes[0];
    // Pick garments: the first of each class, then the second of each class, …
    const byClass = ds.classes.map(() => [] as number[]);
    for (let i = 0; i < ds.length; i++) byClass[ds.labels[i]].push(i);
    const picks: number[] = [];
    for (let k = 0; picks.length < o.rows; k++) {
      let any = false;
      for (const list of byClass)
        if (k < list.length && picks.length < o.rows) {
          picks.push(list[k]);
          any = true;
        }
      if (!any) break;
    }
    const R = picks.length,
      K = o.per,
      z = o.zoom,
      gap = 2,
      bigGap = 6;
    const cellW = W * z,
      cellH = H * z;
    const width = gap + cellW + bigGap + K * (cellW + gap),
      height = gap + R * (cellH + gap);
    const px = new Uint8Array(width * height * C).fill(96);
    const rng = new Rng(o.seed);
    const blit = (img: Float32Array | Float64Array, x0: number, y0: number) => {
      for (let y = 0; y < cellH; y++)
        for (let x = 0; x < cellW; x++)
          for (let c = 0; c < C; c++) {
            const v = img[(c * H + Math.floor(y / z)) * W + Math.floor(x / z)];
            px[((y0 + y) * width + x0 + x) * C + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
          }
    };
    const size = C * H * W;
    for (let r = 0; r < R; r++) {
      const one = ds.images.subarray(picks[r] * size, (picks[r] + 1) * size);
      const y0 = gap + r * (cellH + gap);
      blit(one, gap, y0);
      // All K copies in one batch: the transform draws independently per image.
      const batch = new Float32Array(K * size);
      for (let k = 0; k < K; k++) batch.set(one, k * size);
      const out = aug(new Tensor(batch, [K, C, H, W]), rng);
      for (let k = 0; k < K; k++) {
        let copy = out.data.subarray(k * size, (k + 1) * size);
        if (mix) {
          // a batch of two, this copy and another garment: the mix pairs sample 0 with sample 1
          const other = picks[(r + 1 + (k % Math.max(R - 1, 1))) % R];
          const pair = new Float32Array(2 * size);
          pair.set(copy);
          pair.set(ds.images.subarray(other * size, (other + 1) * size), size);
          copy = mix(new Tensor(pair, [2, C, H, W]), [ds.labels[picks[r]], ds.labels[other]], rng).x.data.subarray(0, size);
        }
        blit(copy, gap + cellW + bigGap + k * (cellW + gap), y0);
      }
    }
    writeFileAtomic(o.out, encodePng(px, width, height, C === 1 ? 1 : 3), '--out');
    io.out(
      `wrote ${o.out}: ${R} garments (${data.source}), original then ${K} × ${aug.describe}${mix ? `, each then mixed with another garment by ${mix.describe}` : ''}, seed ${o.seed}, ${width}×${height} px`,
    );
  },
};
