/**
 * Optimizer flags that `descent train` and `descent surface` read alike: each command spreads these
 * lists into its own and builds the optimizer's options from them with optimizerBagFrom, so a flag
 * has one range, one help and one mapping to the library's option everywhere. The flags whose help
 * differs per command (--lr, --momentum, the L-BFGS and Newton ones) stay in each command's list.
 */
import { UsageError, type OptSpec, type Parsed } from './args.js';
import { checkOptimizerBag } from './train-checks.js';
import { cliOptionNames, libraryOption } from './optimizer-spellings.js';

/** The hyper-parameters of Adam and its family, RMSprop, Adagrad, Adadelta, Rprop, ASGD, Adafactor and Prodigy. */
export const hyperParameterFlags: OptSpec[] = [
  { name: 'betas', type: 'numbers', count: 2, metavar: 'B1,B2', help: 'β1,β2 (adam, adamw, adamax, nadam, radam, lion)' },
  { name: 'eps', type: 'number', min: 0, help: 'ε (adagrad, rmsprop, adadelta, adam family)' },
  {
    name: 'alpha',
    type: 'number',
    min: 0,
    help: "smoothing α of the squared-gradient average (rmsprop); power α of the rate schedule (asgd); the slow weights' step toward the fast, in (0, 1] (lookahead; default 0.5)",
  },
  {
    name: 'rho',
    type: 'number',
    min: 0,
    help: 'decay ρ of the running averages, in [0, 1] (adadelta); the radius of the neighbourhood whose worst loss is minimised (sam: default 0.05; asam: 0.5)',
  },
  { name: 'centered', type: 'boolean', help: 'centered RMSprop (divide by the estimated variance)' },
  { name: 'amsgrad', type: 'boolean', help: 'AMSGrad: keep the maximum second moment (adam, adamw)' },
  { name: 'lr-decay', type: 'number', min: 0, help: 'lr decay: η/(1 + (t−1)·decay) (adagrad)' },
  {
    name: 'initial-accumulator-value',
    type: 'number',
    min: 0,
    help: 'starting value of the squared-gradient sum (adagrad; Keras uses 0.1)',
  },
  { name: 'momentum-decay', type: 'number', min: 0, help: 'momentum schedule ψ (nadam)' },
  { name: 'maximize', type: 'boolean', help: 'ascend instead of descend' },
  { name: 'eps-inside-sqrt', type: 'boolean', help: 'Keras/TF form: ε inside the square root (adagrad, rmsprop, adam, adamw)' },
  { name: 'lr-inside-momentum', type: 'boolean', help: 'Keras/TF form: v ← μv + ηg, θ ← θ − v (sgd, rmsprop)' },
  {
    name: 'decoupled-weight-decay',
    type: 'boolean',
    help: "θ ← θ(1 − ηλ) instead of L2 in the gradient (nadam, radam: PyTorch 2's NAdamW/RAdamW)",
  },
  {
    name: 'etas',
    type: 'numbers',
    count: 2,
    metavar: 'ETA-,ETA+',
    help: 'step-size factors after a sign flip and after the same sign (rprop; default 0.5,1.2)',
  },
  { name: 'step-sizes', type: 'numbers', count: 2, metavar: 'MIN,MAX', help: 'bounds of the step sizes (rprop; default 1e-6,50)' },
  { name: 'lambd', type: 'number', min: 0, help: 'decay term λ and slope of the rate η/(1 + λη t)^α (asgd; default 1e-4; α is --alpha)' },
  { name: 't0', type: 'number', min: 0, help: 'the step after which averaging starts (asgd; default 1e6)' },
  { name: 'beta2-decay', type: 'number', help: 'τ ≤ 0 with 1 − β̂₂ = t^τ (adafactor; default −0.8)' },
  { name: 'd', type: 'number', min: 1, help: 'update clipping threshold (adafactor; default 1)' },
  {
    name: 'legacy-mu-product',
    type: 'boolean',
    help: "PyTorch 1.13's NAdam coefficient, μ_t counted twice (nadam; default off: the paper's and PyTorch ≥ 2.0's)",
  },
  { name: 'd0', type: 'number', gt: 0, help: 'initial step-size estimate d (prodigy, dadaptadam; default 1e-6)' },
];

/** Flags of the wrappers (SAM/ASAM, Lookahead) and of Schedule-Free, Muon, Prodigy and SOAP. */
export const sharedOptimizerFlags: OptSpec[] = [
  {
    name: 'base',
    type: 'string',
    metavar: 'NAME',
    help: 'the optimizer a wrapper (sam, asam, lookahead) steps with, default sgd; --optimizer sam:adam is --optimizer sam --base adam; the other flags go to the one that reads them',
  },
  {
    name: 'adaptive',
    type: 'boolean',
    help: 'ASAM: the neighbourhood scaled by |w| + η (sam; asam is sam --adaptive --rho 0.5 --eta 0.01)',
  },
  { name: 'eta', type: 'number', min: 0, help: "ASAM's η in |w| + η (sam, asam)" },
  { name: 'k', type: 'int', min: 1, help: 'base steps between the synchronisations of lookahead (default 5)' },
  { name: 'warmup-steps', type: 'int', min: 0, help: 'linear warm-up steps (schedule-free-sgd, schedule-free-adamw; default 0)' },
  {
    name: 'weight-lr-power',
    type: 'number',
    min: 0,
    help: 'the schedule-free average weights each step by lr_max to this power (default 2)',
  },
  { name: 'adam-lr', type: 'number', min: 0, help: 'lr of the AdamW groups: biases, first and last layer (muon; default 3e-4)' },
  { name: 'ns-steps', type: 'int', min: 0, max: 100, help: 'Newton–Schulz iterations (muon; default 5)' },
  {
    name: 'adjust-lr-fn',
    type: 'string',
    choices: ['original', 'match_rms_adamw', 'none'],
    help: 'step scaling per matrix shape (muon; default original)',
  },
  { name: 'd-coef', type: 'number', gt: 0, help: 'multiplier of the self-estimated step size d (prodigy; default 1)' },
  { name: 'precondition-frequency', type: 'int', min: 1, help: 'steps between eigenbasis refreshes (soap; default 10)' },
  { name: 'max-precond-dim', type: 'int', min: 0, help: 'dimensions larger than this keep the identity basis (soap; default 10000)' },
];

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * The options of optimizer `name` given on the command line among `specs`, as the library names
 * them, checked by the optimizer itself; a flag it does not read is a UsageError listing the flags
 * of `specs` it does read.
 */
export function optimizerBagFrom(specs: readonly OptSpec[], name: string, o: Parsed): Record<string, unknown> {
  const accepted = cliOptionNames(name);
  const bag: Record<string, unknown> = {};
  for (const s of specs) {
    const k = camel(s.name);
    if (o[k] === undefined) continue;
    if (!accepted.includes(k)) {
      const flags = new Set(specs.map((x) => camel(x.name)));
      const reads = accepted.filter((x) => flags.has(x)).map(flag);
      throw new UsageError(`${flag(k)} does not apply to optimizer ${name}; it reads ${reads.join(', ')}`);
    }
    const [option, value] = libraryOption(name, k, o[k]);
    bag[option] = value;
  }
  checkOptimizerBag(name, bag);
  return bag;
}
