/** descent schedule: print a learning-rate schedule's value at every step (for plots and checks). */
import type { Command } from '../command.js';
import { UsageError } from '../args.js';
import { parseSchedule, scheduleHelp, type MomentumSchedule } from '../../schedule/index.js';
import { MAX_SURFACE_STEPS } from './surface.js';
import { decimal } from '../../util/decimal.js';
import { clip } from '../../util/names.js';

const CHUNK = 1000;

export const scheduleCommand: Command = {
  name: 'schedule',
  summary: 'print the learning rate of a schedule at every step',
  options: [
    { name: 'name', type: 'string', metavar: 'NAME[:k=v,...]', help: 'the schedule, with its parameters after a colon (or in --params)' },
    { name: 'params', type: 'string', metavar: 'k=v,...', help: "the schedule's parameters, e.g. k=0.05" },
    { name: 'lr', type: 'number', min: 0, default: 0.1, help: 'base learning rate α₀' },
    {
      name: 'steps',
      type: 'int',
      min: 1,
      max: MAX_SURFACE_STEPS,
      default: 100,
      help: 'how many steps to print (t = 0 … steps−1; printed as computed, never held in memory)',
    },
    { name: 'total', type: 'int', min: 1, help: 'run length for schedules whose T defaults to it (default --steps)' },
    {
      name: 'metrics',
      type: 'string',
      metavar: 'A,B,...',
      help: 'plateau only: the metric of each step (the rate printed is the one after it)',
    },
    { name: 'json', type: 'boolean', help: 'print {"schedule", "lr": [...]} as JSON (and "momentum": [...] when the schedule cycles it)' },
  ],
  helpExtra: [
    'Schedules (t counts steps from 0; the rate of update t is schedule(t)):',
    ...scheduleHelp(),
    '',
    'Examples:',
    '  descent schedule --name exponential:k=0.05 --lr 0.1 --steps 50 --json',
    '  descent schedule --name sgdr --params T0=10,Tmult=2 --steps 70',
  ].join('\n'),
  async run(o, io) {
    if (o.name === undefined) throw new UsageError('--name: which schedule? e.g. --name exponential:k=0.05 (see descent schedule --help)');
    let spec = String(o.name);
    if (o.params !== undefined) {
      if (spec.includes(':')) throw new UsageError('--params: the parameters are already in --name after the colon; give them once');
      spec += `:${o.params}`;
    }
    // The rates are streamed in chunks of CHUNK lines: memory stays flat up to the largest --steps.
    let rateAt: (t: number) => number;
    let momentumAt: ((t: number) => number) | undefined;
    try {
      const p = parseSchedule(spec, { lr: o.lr, total: o.total ?? o.steps });
      if (p.kind === 'plateau') {
        if (o.metrics === undefined) throw new UsageError('--metrics A,B,...: plateau needs the metric of each step');
        const ms = String(o.metrics)
          .split(',')
          .map((m) => decimal(m));
        if (ms.some((m) => m === undefined))
          throw new UsageError(`--metrics: expected comma-separated decimal numbers, got "${clip(String(o.metrics))}"`);
        if (ms.length < o.steps) throw new UsageError(`--metrics: ${ms.length} values for --steps ${o.steps}`);
        const lrs = ms.slice(0, o.steps).map((m) => p.plateau.step(m as number));
        rateAt = (t) => lrs[t];
      } else {
        if (o.metrics !== undefined) throw new UsageError('--metrics applies to the plateau schedule only');
        rateAt = p.schedule;
        momentumAt = (p.schedule as MomentumSchedule).momentum;
      }
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(`--name: ${e.message}`);
      throw e;
    }
    const buffer: string[] = [];
    const flush = () => {
      if (buffer.length) io.out(buffer.join('\n'));
      buffer.length = 0;
    };
    if (o.json) io.out(`{"schedule":${JSON.stringify(spec)},"lr0":${JSON.stringify(o.lr)},"steps":${o.steps},"lr":[`);
    for (let t = 0; t < o.steps; t++) {
      const v = rateAt(t);
      const m = momentumAt && !o.json ? `\t${momentumAt(t)}` : '';
      buffer.push(o.json ? (t > 0 ? ',' : '') + JSON.stringify(v) : `${t}\t${v}${m}`);
      if (buffer.length >= CHUNK) flush();
    }
    flush();
    if (o.json && momentumAt) {
      io.out('],"momentum":[');
      for (let t = 0; t < o.steps; t++) {
        buffer.push((t > 0 ? ',' : '') + JSON.stringify(momentumAt(t)));
        if (buffer.length >= CHUNK) flush();
      }
      flush();
    }
    if (o.json) io.out(']}');
  },
};
