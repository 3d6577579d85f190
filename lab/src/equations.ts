/**
 * The update rule of each optimizer in the race, as the library implements it (PyTorch's forms), with
 * the lecture's errata (shared/seed/LECTURE.md) applied and said where the slide differs. g is the
 * gradient at the current point, η the learning rate, t the step; squares, roots and divisions are per
 * coordinate.
 */
export interface Equation {
  lines: string[];
  /** Where the lecture's slide reads otherwise, and which form the library follows. */
  note?: string;
}

export const EQUATIONS: Record<string, Equation> = {
  gd: { lines: ['θ ← θ − η g'] },
  sgd: { lines: ['θ ← θ − η g   (g from a mini-batch: noisy)'] },
  momentum: {
    lines: ['v ← μ v + g', 'θ ← θ − η v'],
    note: 'η outside the velocity, as in PyTorch and the lecture’s pseudocode; the slide’s equation (η inside) is the same only while η is constant.',
  },
  nesterov: {
    lines: ['v ← μ v + g', 'θ ← θ − η (g + μ v)'],
    note: 'PyTorch’s form of Nesterov, which equals taking the gradient at the look-ahead point; the ring on the map marks that point, one momentum step ahead: θ + μ(θ − θ_prev).',
  },
  adagrad: {
    lines: ['G ← G + g²', 'θ ← θ − η g / (√G + ε)'],
    note: 'ε outside the square root, as in PyTorch and the lecture’s pseudocode (the slide’s equation puts it inside).',
  },
  rmsprop: { lines: ['v ← α v + (1 − α) g²', 'θ ← θ − η g / (√v + ε)'], note: 'ε outside the square root, as in PyTorch.' },
  adadelta: { lines: ['v ← ρ v + (1 − ρ) g²', 'Δ ← √(u + ε) / √(v + ε) · g', 'u ← ρ u + (1 − ρ) Δ²', 'θ ← θ − η Δ'] },
  adam: {
    lines: ['m ← β₁ m + (1 − β₁) g', 'v ← β₂ v + (1 − β₂) g²', 'm̂ ← m / (1 − β₁ᵗ),  v̂ ← v / (1 − β₂ᵗ)', 'θ ← θ − η m̂ / (√v̂ + ε)'],
    note: 'The second moment decays with β₂; the lecture’s pseudocode writes β₁ there, which is wrong.',
  },
  adamw: {
    lines: ['θ ← θ − η λ θ   (decoupled weight decay)', 'then Adam’s step: θ ← θ − η m̂ / (√v̂ + ε)'],
    note: 'The second moment decays with β₂ (the lecture’s Adam pseudocode writes β₁).',
  },
  lbfgs: {
    lines: [
      'd ← −H̃ g   (H̃: inverse-Hessian estimate from the last m pairs s = Δθ, y = Δg, two-loop recursion)',
      'θ ← θ + α d   (α from the strong-Wolfe line search)',
    ],
    note: 'Works on non-convex problems too; what it handles badly is noisy (mini-batch) gradients: y = Δg is then mostly noise.',
  },
  newton: { lines: ['θ ← θ − α H⁻¹ g   (H: exact Hessian; α from the Armijo line search)'] },
};
