/**
 * torch.cat on the device, one operand at a time: `catPiece` writes an operand into its place in
 * the joined tensor, one thread per element of the operand. Seen as rows, the operand is `outer`
 * rows of `row` elements and the output `outer` rows of `outRow`; the operand's row o lands at
 * offset `at` of the output's row o. Each operand is its own dispatch over a disjoint part of the
 * output, so the pieces need no ordering among themselves, and a piece never reads the output.
 */
import type { DeviceStorage } from '../../tensor/device.js';
import { type GpuContext, WGSL_COMMON, grid, wgsl, THREAD_MAIN } from './context.js';
import { READ, WRITE, allOwn, own } from './dense.js';

/** out[(i / row)·outRow + at + i % row] = x[i]. */
function catPieceSource(): string {
  return /* wgsl */ `
struct Params { n: u32, row: u32, outRow: u32, at: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${READ(1, 'x')}
${WRITE(2, 'o')}
${WGSL_COMMON}
${THREAD_MAIN}
  o[(i / p.row) * p.outRow + p.at + i % p.row] = x[i];
}
`;
}

export function joinOps(ctx: GpuContext) {
  function catPiece(x: DeviceStorage, out: DeviceStorage, outer: number, row: number, outRow: number, at: number): boolean {
    if (!allOwn(ctx, x, out)) return false;
    const n = outer * row;
    if (at + row > outRow)
      throw new Error(`webgpu backend: catPiece: a row of ${row} at offset ${at} overruns the output's rows of ${outRow}`);
    const gx = own(ctx, 'catPiece', 'x', x, n);
    const go = own(ctx, 'catPiece', 'out', out, outer * outRow);
    if (n === 0) return true;
    ctx.dispatch({
      name: 'catPiece',
      // the piece covers only its own columns: the rest of the output keeps what it holds (its clear included)
      full: false,
      code: wgsl('catPiece', catPieceSource),
      ints: [n, row, outRow, at],
      storage: [gx, go],
      groups: grid(n),
    });
    return true;
  }
  return { catPiece };
}
