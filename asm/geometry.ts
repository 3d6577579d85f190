/**
 * The geometry block of a convolution or a pooling, as the kernels read it: GEO_INTS i32 slots at
 * the address passed as `geo`, slot GEO_X at byte geo + 4·GEO_X. A pooling's block is laid out the
 * same, with GEO_K = GEO_C (a pooling's output planes are its input planes). A fused convolution +
 * max pooling (convPoolForward, convPoolBackward) passes one block of CONV_POOL_INTS slots: the
 * convolution's geometry, the pooling's from slot GEO_POOL (over the convolution's output), then
 * the ReLU flag (0/1) at GEO_RELU.
 *
 * The TypeScript side writes these blocks with the same names: asm/build.mjs copies every
 * `export const NAME: i32 = <integer>;` of this file into src/backend/wasm/abi.generated.ts.
 * (`@inline` makes each read a load at a constant offset from `geo`, as a literal slot would.)
 */

@inline export const GEO_N: i32 = 0; // images
@inline export const GEO_C: i32 = 1; // input channels
@inline export const GEO_H: i32 = 2; // input height
@inline export const GEO_W: i32 = 3; // input width
@inline export const GEO_K: i32 = 4; // output channels (a pooling: C)
@inline export const GEO_KH: i32 = 5; // window (filter) height
@inline export const GEO_KW: i32 = 6; // window (filter) width
@inline export const GEO_OH: i32 = 7; // output height
@inline export const GEO_OW: i32 = 8; // output width
@inline export const GEO_SH: i32 = 9; // stride along the height
@inline export const GEO_SW: i32 = 10; // stride along the width
@inline export const GEO_PH: i32 = 11; // padding along the height
@inline export const GEO_PW: i32 = 12; // padding along the width
@inline export const GEO_DH: i32 = 13; // dilation along the height (a pooling: 1)
@inline export const GEO_DW: i32 = 14; // dilation along the width (a pooling: 1)
@inline export const GEO_G: i32 = 15; // channel groups, dividing C and K (a pooling: 1)
@inline export const GEO_INTS: i32 = 16;

@inline export const GEO_POOL: i32 = 16; // a convolution + pooling block: the pooling's geometry starts here
@inline export const GEO_RELU: i32 = 32; // … and its ReLU flag is here
@inline export const CONV_POOL_INTS: i32 = 33;

/** Slot `slot` of the geometry block at `geo`. */
@inline export function geoAt(geo: usize, slot: i32): i32 {
  return load<i32>(geo + <usize>slot * 4);
}

/**
 * The layout block of an attention call (asm/attention.ts), ATT_INTS i32 slots: the lengths and head
 * sizes, then for each of q, k, v and the output its strides in floats between sequences, heads
 * and positions (a head's values are contiguous). Gradients share their operand's strides.
 */
@inline export const ATT_LQ: i32 = 0; // queries per sequence
@inline export const ATT_LK: i32 = 1; // keys (and values) per sequence
@inline export const ATT_H: i32 = 2; // heads per sequence
@inline export const ATT_DK: i32 = 3; // a head's query and key size
@inline export const ATT_DV: i32 = 4; // a head's value (and output) size
@inline export const ATT_Q: i32 = 5; // q's strides: sequence, head, position (three slots)
@inline export const ATT_K: i32 = 8; // k's
@inline export const ATT_V: i32 = 11; // v's
@inline export const ATT_O: i32 = 14; // the output's (and its gradient's)
@inline export const ATT_INTS: i32 = 17;
