/**
 * The ops that asm/activations.ts computes four lanes at a time, which must give their scalar code's
 * bits: checked on a sample of the inputs by test/backend/vector-math.test.ts and on all 2³² by
 * tools/vector-math-check.ts, both over these lists.
 */
import * as abi from '../src/backend/wasm/abi.generated.js';

/** Name and `unary` op code of each vectorised op. */
export const VECTOR_OPS: readonly [string, number][] = [
  ['exp', abi.UN_EXP],
  ['sigmoid', abi.UN_SIGMOID],
  ['tanh', abi.UN_TANH],
  ['erf', abi.UN_ERF],
  ['gelu', abi.UN_GELU],
  ['geluDeriv', abi.UN_GELU_DERIV],
  ['geluTanh', abi.UN_GELU_TANH],
  ['geluTanhDeriv', abi.UN_GELU_TANH_DERIV],
  ['silu', abi.UN_SILU],
  ['siluDeriv', abi.UN_SILU_DERIV],
  ['mish', abi.UN_MISH],
  ['mishDeriv', abi.UN_MISH_DERIV],
  ['hardswish', abi.UN_HARDSWISH],
  ['hardswishDeriv', abi.UN_HARDSWISH_DERIV],
  ['hardsigmoid', abi.UN_HARDSIGMOID],
  ['hardsigmoidDeriv', abi.UN_HARDSIGMOID_DERIV],
];

/** The activations that activationForward computes with their derivative: name, f's op, f′'s op. */
export const ACTIVATION_PAIRS: readonly [string, number, number][] = [
  ['gelu', abi.UN_GELU, abi.UN_GELU_DERIV],
  ['geluTanh', abi.UN_GELU_TANH, abi.UN_GELU_TANH_DERIV],
  ['silu', abi.UN_SILU, abi.UN_SILU_DERIV],
];
