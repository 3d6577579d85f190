/**
 * Operation codes of the elementwise kernels (asm/elementwise.ts): `binary`'s first argument is a
 * BIN_ code, `unary`'s an UN_ code. The TypeScript side maps the Backend's op names to the same
 * constants (asm/build.mjs copies them into src/backend/wasm/abi.generated.ts).
 */

export const BIN_ADD: i32 = 0;
export const BIN_SUB: i32 = 1;
export const BIN_MUL: i32 = 2;
export const BIN_DIV: i32 = 3;
export const BIN_POW: i32 = 4;
export const BIN_MAX: i32 = 5;
export const BIN_MIN: i32 = 6;
export const BIN_GT: i32 = 7;
export const BIN_LT: i32 = 8;
export const BIN_EQ: i32 = 9;
export const BIN_RELU_GRAD: i32 = 10; // b ≤ 0 ? 0 : a: ReLU's backward from its output b

export const UN_NEG: i32 = 0;
export const UN_EXP: i32 = 1;
export const UN_LOG: i32 = 2;
export const UN_SQRT: i32 = 3;
export const UN_ABS: i32 = 4;
export const UN_SIGN: i32 = 5;
export const UN_RELU: i32 = 6;
export const UN_STEP: i32 = 7;
export const UN_SIGMOID: i32 = 8;
export const UN_TANH: i32 = 9;
export const UN_SQUARE: i32 = 10;
export const UN_RECIP: i32 = 11;
export const UN_ERF: i32 = 12;
export const UN_GELU: i32 = 13;
export const UN_GELU_DERIV: i32 = 14;
export const UN_GELU_TANH: i32 = 15;
export const UN_GELU_TANH_DERIV: i32 = 16;
export const UN_SILU: i32 = 17;
export const UN_SILU_DERIV: i32 = 18;
export const UN_LEAKY_RELU: i32 = 19; // x > 0 ? x : x·p0
export const UN_LEAKY_RELU_DERIV: i32 = 20;
export const UN_ELU: i32 = 21; // x ≤ 0 ? (eˣ − 1)·p0 : x
export const UN_ELU_DERIV: i32 = 22;
export const UN_SOFTPLUS: i32 = 23; // x·p0 > p1 ? x : log1p(e^(x·p0))/p0
export const UN_SOFTPLUS_DERIV: i32 = 24;
export const UN_MISH: i32 = 25;
export const UN_MISH_DERIV: i32 = 26;
export const UN_HARDSWISH: i32 = 27;
export const UN_HARDSWISH_DERIV: i32 = 28;
export const UN_HARDSIGMOID: i32 = 29;
export const UN_HARDSIGMOID_DERIV: i32 = 30;
export const UN_SELU: i32 = 31; // x ≤ 0 ? (eˣ − 1)·p0 : x·p1 (p0 = alpha·scale, p1 = scale)
export const UN_SELU_DERIV: i32 = 32;
export const UN_HARDTANH: i32 = 33; // min(p1, max(p0, x)) as BIN_MIN and BIN_MAX take them
export const UN_HARDTANH_DERIV: i32 = 34;
