/** `descent train` flags for weight penalties and constraints: --l1, --l2, --elastic-net, --l1-proximal, --max-norm, --decoupled-decay. */
import { UsageError } from '../args.js';
import type { Callback } from '../../train/trainer.js';
import { registerTrainExtension } from '../extensions.js';
import { selectParameters, penaltyCallback, l1ProximalCallback, maxNormCallback, decoupledDecayCallback } from '../../regularize/index.js';

registerTrainExtension({
  name: 'penalties',
  options: [
    {
      name: 'l1',
      type: 'number',
      min: 0,
      metavar: 'λ',
      help: 'L1 (Lasso) penalty λΣ|w| on the weights (not biases); reports the term and the near-zero fraction |w| ≤ 1e-3',
    },
    {
      name: 'l2',
      type: 'number',
      min: 0,
      metavar: 'λ',
      help: "L2 (Ridge) penalty λΣw² on the weights (not biases): gradient 2λw, i.e. SGD's --weight-decay 2λ",
    },
    { name: 'elastic-net', type: 'numbers', count: 2, min: 0, metavar: 'L1,L2', help: 'Elastic Net λ₁Σ|w| + λ₂Σw² on the weights' },
    {
      name: 'l1-proximal',
      type: 'boolean',
      help: 'apply the L1 part by soft-thresholding after each step (exact zeros) instead of its subgradient',
    },
    {
      name: 'max-norm',
      type: 'number',
      gt: 0,
      metavar: 'C',
      help: "after each step, rescale every unit's incoming weight vector to L2 norm ≤ C",
    },
    {
      name: 'decoupled-decay',
      type: 'number',
      min: 0,
      metavar: 'λ',
      help: "decoupled weight decay w ← w − ηλw after each step (AdamW's, for any optimizer)",
    },
  ],
  callbacks(o, { model }) {
    if (o.elasticNet && (o.l1 !== undefined || o.l2 !== undefined))
      throw new UsageError('--elastic-net L1,L2 replaces --l1 and --l2; give one or the other');
    const [l1, l2] = o.elasticNet ?? [o.l1 ?? 0, o.l2 ?? 0];
    if (o.l1Proximal && !(l1 > 0)) throw new UsageError('--l1-proximal needs --l1 λ or --elastic-net L1,L2 with λ > 0');
    const params = selectParameters(model);
    const cbs: Callback[] = [];
    if (o.elasticNet || o.l1 !== undefined || o.l2 !== undefined) {
      if (o.l1Proximal) {
        cbs.push(l1ProximalCallback({ params, lambda: l1 }));
        if (l2 > 0) cbs.push(penaltyCallback({ params, l2 }));
      } else if (l1 > 0 || l2 > 0) cbs.push(penaltyCallback({ params, l1, l2 }));
    }
    if (o.maxNorm !== undefined) cbs.push(maxNormCallback({ params, maxNorm: o.maxNorm }));
    if (o.decoupledDecay !== undefined) cbs.push(decoupledDecayCallback({ params, weightDecay: o.decoupledDecay }));
    return cbs;
  },
  describe(_o, r) {
    const parts: string[] = [];
    if (typeof r.nearZero === 'number') parts.push(`near-zero ${r.nearZero.toFixed(4)}`);
    if (typeof r.zeros === 'number') parts.push(`zeros ${r.zeros.toFixed(4)}`);
    return parts.length ? parts.join('  ') : undefined;
  },
});
