/**
 * Activation modules beyond ReLU, Tanh and Sigmoid (layers.ts): PyTorch's nn.LeakyReLU, nn.ELU,
 * nn.GELU, nn.SiLU and nn.Softplus over the ops of autograd/activations.ts, with PyTorch's
 * defaults. Each takes its first PyTorch argument positionally or an options object, checked
 * when the module is built.
 */
import type { Tensor } from '../tensor/tensor.js';
import { elu, finiteArg, gelu, geluApproximate, leakyRelu, silu, softplus, type GeluApproximate } from '../autograd/activations.js';
import { Module, type MaskSupport } from './module.js';
import { checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';

export interface LeakyReLUOptions {
  /** The slope for x ≤ 0 (PyTorch's negative_slope); default 0.01. */
  negativeSlope?: number;
}
export interface ELUOptions {
  /** The value approached as x → −∞ is −alpha; default 1. */
  alpha?: number;
}
export interface GELUOptions {
  /** 'none' (x·Φ(x) through erf, the default) or 'tanh' (PyTorch's tanh approximation). */
  approximate?: GeluApproximate;
}
export interface SoftplusOptions {
  /** log(1 + e^(beta·x))/beta; default 1. */
  beta?: number;
  /** Where beta·x exceeds it the module is the identity; default 20. */
  threshold?: number;
}

const leakySchema: SchemaOf<LeakyReLUOptions> = { negativeSlope: num };
const eluSchema: SchemaOf<ELUOptions> = { alpha: num };
const geluSchema: SchemaOf<GELUOptions> = { approximate: oneOf('none', 'tanh') };
const softplusSchema: SchemaOf<SoftplusOptions> = { beta: num, threshold: num };

/** The options object of a module whose first argument may also be given alone (a number, a string). */
function optionsOf<T extends object>(arg: unknown, key: keyof T & string, what: string, schema: SchemaOf<T>): T {
  if (typeof arg === 'object' && arg !== null) return checkOptions(what, arg as T, schema);
  return { [key]: arg } as T;
}

/** x > 0 ? x : negativeSlope·x (`new LeakyReLU(0.2)` or `new LeakyReLU({ negativeSlope: 0.2 })`). */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;

  constructor(negativeSlope: number | LeakyReLUOptions = 0.01) {
    super();
    const o = optionsOf<LeakyReLUOptions>(negativeSlope, 'negativeSlope', 'LeakyReLU', leakySchema);
    this.negativeSlope = finiteArg(o.negativeSlope ?? 0.01, 'LeakyReLU', 'negativeSlope');
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }

  override describe(): string {
    return `LeakyReLU(negativeSlope=${this.negativeSlope})`;
  }
}

/** x ≤ 0 ? alpha·(eˣ − 1) : x (`new ELU(0.5)` or `new ELU({ alpha: 0.5 })`). */
export class ELU extends Module {
  readonly alpha: number;

  constructor(alpha: number | ELUOptions = 1) {
    super();
    const o = optionsOf<ELUOptions>(alpha, 'alpha', 'ELU', eluSchema);
    this.alpha = finiteArg(o.alpha ?? 1, 'ELU', 'alpha');
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }

  override describe(): string {
    return `ELU(alpha=${this.alpha})`;
  }
}

/** x·Φ(x), or its tanh approximation (`new GELU('tanh')` or `new GELU({ approximate: 'tanh' })`). */
export class GELU extends Module {
  readonly approximate: GeluApproximate;

  constructor(approximate: GeluApproximate | GELUOptions = 'none') {
    super();
    const o = optionsOf<GELUOptions>(approximate, 'approximate', 'GELU', geluSchema);
    this.approximate = geluApproximate(o.approximate ?? 'none', 'GELU');
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }

  override describe(): string {
    return `GELU(approximate='${this.approximate}')`;
  }
}

/** x·σ(x), also called swish. */
export class SiLU extends Module {
  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/**
 * log(1 + e^(beta·x))/beta, the identity where beta·x > threshold (`new Softplus()`,
 * `new Softplus(2, 10)` or `new Softplus({ beta: 2, threshold: 10 })`).
 */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;

  constructor(beta: number | SoftplusOptions = 1, threshold = 20) {
    super();
    const o: SoftplusOptions =
      typeof beta === 'object' && beta !== null ? checkOptions('Softplus', beta, softplusSchema) : { beta, threshold };
    this.beta = finiteArg(o.beta ?? 1, 'Softplus', 'beta', true);
    this.threshold = finiteArg(o.threshold ?? 20, 'Softplus', 'threshold');
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    return softplus(x, this.beta, this.threshold);
  }

  override describe(): string {
    return `Softplus(beta=${this.beta}, threshold=${this.threshold})`;
  }
}
