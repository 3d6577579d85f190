/** `descent train --schedule SPEC [--schedule-unit epoch|step]`: a learning-rate schedule for the run. */
import { UsageError, type Parsed } from '../args.js';
import { registerTrainExtension } from '../extensions.js';
import {
  parseSchedule,
  scheduleCallback,
  plateauCallback,
  setMomentum,
  type MomentumSchedule,
  type ParsedSchedule,
} from '../../schedule/index.js';

/** Parse --schedule against the run; spec errors become usage errors naming the flag. */
export function scheduleFromOptions(o: Parsed, lr: number, epochs: number, stepsPerEpoch: number): ParsedSchedule {
  const total = o.scheduleUnit === 'step' ? epochs * stepsPerEpoch : epochs;
  try {
    return parseSchedule(String(o.schedule), { lr, total });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`--schedule: ${e.message}`);
    throw e;
  }
}

registerTrainExtension({
  name: 'schedule',
  options: [
    {
      name: 'schedule',
      type: 'string',
      metavar: 'NAME:k=v,...',
      help: 'learning-rate schedule from --lr, e.g. exponential:k=0.05, inverse:k=0.5, cosine, sgdr:T0=2,Tmult=2, onecycle; "descent schedule --help" lists all',
    },
    {
      name: 'schedule-unit',
      type: 'string',
      choices: ['epoch', 'step'],
      default: 'epoch',
      help: "the schedule's t counts epochs or optimizer steps",
    },
  ],
  callbacks(o, setup) {
    if (o.schedule === undefined) {
      if (o.scheduleUnit !== 'epoch') throw new UsageError('--schedule-unit needs --schedule');
      return [];
    }
    const p = scheduleFromOptions(o, setup.optimizer.lr, setup.epochs, setup.stepsPerEpoch);
    if (p.kind === 'plateau') {
      if (o.scheduleUnit === 'step')
        throw new UsageError('--schedule plateau works per epoch (on the test loss); drop --schedule-unit step');
      return [plateauCallback(p.plateau)];
    }
    const momentum = (p.schedule as MomentumSchedule).momentum;
    if (momentum) {
      // a momentum cycle needs an optimizer with momentum or betas: refused here as a usage error, not mid-run
      try {
        setMomentum(setup.optimizer, momentum(0));
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(`--schedule: ${e.message}`);
        throw e;
      }
    }
    return [scheduleCallback(p.schedule, { unit: o.scheduleUnit })];
  },
});
