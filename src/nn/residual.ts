/**
 * Residual: y = body(x) + shortcut(x), the building block of ResNet (He et al., "Deep Residual
 * Learning for Image Recognition", CVPR 2016).
 *
 * Conventions:
 * - the shortcut is the identity unless a module is given (ResNet's `downsample`: a 1×1 Conv2d
 *   with the body's stride, then a BatchNorm2d), so body(x) must have x's shape or the shortcut's;
 * - the activation after the sum is a layer of its own (a ReLU after the block), where
 *   torchvision's BasicBlock applies it inside: the block is the sum and nothing more;
 * - the parts are registered as `body` and `shortcut` (no child for the identity), so the state
 *   names are `body.0.weight`, `shortcut.0.weight`, …: those of a PyTorch `nn.Module` whose
 *   attributes `body` and `shortcut` hold the same modules (`shortcut = nn.Identity()` has no state).
 *
 * Both parts see the same `training`, `rng` and padding mask; the gradient of x is the sum of the two paths'
 * (autograd's add).
 */
import type { Tensor } from '../tensor/tensor.js';
import { fmtShape, shapeEq, ShapeError } from '../tensor/shape.js';
import { add } from '../autograd/ops.js';
import { Module, type ForwardOptions, type MaskSupport } from './module.js';
import { Sequential, maskAfter } from './layers.js';

export class Residual extends Module {
  constructor(
    readonly body: Module,
    readonly shortcut: Module | null = null,
  ) {
    super();
    if (!(body instanceof Module)) throw new TypeError(`Residual: body must be a Module (a Sequential), got ${String(body)}`);
    if (shortcut !== null && !(shortcut instanceof Module))
      throw new TypeError(`Residual: shortcut must be a Module or null (the identity), got ${String(shortcut)}`);
    this.registerModule('body', body);
    if (shortcut) this.registerModule('shortcut', shortcut);
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    const y = part('body', this.body, x, opts);
    const s = this.shortcut ? part('shortcut', this.shortcut, x, opts) : x;
    if (!shapeEq(y.shape, s.shape))
      throw new ShapeError(
        `the body gives ${fmtShape(y.shape)} but the ${this.shortcut ? 'shortcut' : 'identity shortcut (the input)'} gives ${fmtShape(s.shape)}; the two are added, so their shapes must be equal`,
      );
    return add(y, s);
  }

  /** Keeps a padding mask when both paths keep every step (per-step layers, attention); else refuses it. */
  override get maskSupport(): MaskSupport {
    return maskAfter(this.body) === true && (!this.shortcut || maskAfter(this.shortcut) === true) ? 'keep' : 'refuse';
  }

  override describe(): string {
    return this.shortcut ? 'Residual(projection)' : 'Residual';
  }
}

/** One part's forward; a shape error inside it is named by the part ("body layer 2 (Conv2d…): …", "shortcut: Conv2d…: …"). */
function part(name: 'body' | 'shortcut', m: Module, x: Tensor, opts?: ForwardOptions): Tensor {
  try {
    return m.forward(x, opts);
  } catch (e) {
    if (e instanceof ShapeError) throw new ShapeError(m instanceof Sequential ? `${name} ${e.message}` : `${name}: ${e.message}`);
    throw e;
  }
}
