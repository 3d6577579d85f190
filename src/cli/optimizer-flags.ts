/**
 * Flags of the wrappers (SAM/ASAM, Lookahead) and of Schedule-Free, Muon, Prodigy and SOAP that
 * `descent train` and `descent surface` (and `compare`, through surface's list) read alike: each
 * command spreads this list into its own. `--rho` and `--alpha` are not here: surface also gives them
 * to Adadelta, RMSprop and ASGD, with other ranges and help.
 */
import type { OptSpec } from './args.js';

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
