/**
 * Schedules from a short text spec, for the CLI and the lab's URL state:
 *
 *   NAME[:key=value,key=value...]          e.g.  exponential:k=0.05   cosine:T=50,min=1e-4
 *   SPEC;SPEC;...                          in sequence; every segment but the last says for=N
 *   SPEC*SPEC*...                          chained: the product of the parts' factors times α₀
 *                                          (PyTorch ChainedScheduler); a segment of a sequence may be a chain
 *   any segment may add warmup=W[,warmupStart=f]  (linear warm-up of W units in front of it)
 *
 * `lr` (α₀) comes from the context (the optimizer's --lr) unless the spec gives lr=. Lengths (T, for
 * onecycle/cosine/linear/polynomial/snapshot) default to the whole run, `total` units of the context.
 */
import { decimal } from '../util/decimal.js';
import { clip, didYouMean } from '../util/names.js';
import * as S from './schedules.js';
import { ReduceOnPlateau, type PlateauOptions } from './plateau.js';

export type ParsedSchedule =
  | { kind: 'schedule'; schedule: S.Schedule; text: string }
  | { kind: 'plateau'; plateau: ReduceOnPlateau; text: string };

export interface ScheduleContext {
  /** Base learning rate α₀. */
  lr: number;
  /** Length of the run in the schedule's unit (steps or epochs), for parameters that default to it. */
  total?: number;
}

interface Param {
  keys: string[];
  kind: 'number' | 'int' | 'string' | 'ints' | 'boolean';
  help: string;
}

interface Entry {
  help: string;
  params: Record<string, Param>;
  /** Parameters without a default. */
  required?: string[];
  build(p: Record<string, any>, lr: number, total: number | undefined): S.Schedule;
}

const num = (help: string, ...keys: string[]): Param => ({ keys, kind: 'number', help });
const int = (help: string, ...keys: string[]): Param => ({ keys, kind: 'int', help });

function needTotal(name: string, v: number | undefined, key: string): number {
  if (v === undefined)
    throw new RangeError(`schedule ${name}: give ${key}= (the length; it defaults to the run's length only inside descent train)`);
  return v;
}

/** Every schedule by name; the CLI's --help is generated from this table. */
export const scheduleTable: Record<string, Entry> = {
  constant: { help: 'α₀', params: {}, build: (_p, lr) => S.constant({ lr }) },
  step: {
    help: 'α₀·γ^⌊t/step⌋ (PyTorch StepLR)',
    required: ['stepSize'],
    params: { stepSize: int('decay every N', 'step', 'stepSize'), gamma: num('factor (0.1)', 'gamma') },
    build: (p, lr) => S.stepDecay({ lr, stepSize: p.stepSize, gamma: p.gamma }),
  },
  multistep: {
    help: 'α₀·γ^(milestones passed) (MultiStepLR)',
    required: ['milestones'],
    params: { milestones: { keys: ['milestones', 'at'], kind: 'ints', help: 'e.g. at=30/60/90' }, gamma: num('factor (0.1)', 'gamma') },
    build: (p, lr) => S.multiStep({ lr, milestones: p.milestones, gamma: p.gamma }),
  },
  exponential: {
    help: "the lecture's α₀e^(−kt)",
    required: ['k'],
    params: { k: num('decay rate', 'k') },
    build: (p, lr) => S.exponential({ lr, k: p.k }),
  },
  expgamma: {
    help: 'α₀·γ^t (ExponentialLR)',
    required: ['gamma'],
    params: { gamma: num('factor per unit', 'gamma') },
    build: (p, lr) => S.exponentialGamma({ lr, gamma: p.gamma }),
  },
  inverse: {
    help: "the lecture's 1/t decay α₀/(1+kt)",
    required: ['k'],
    params: { k: num('decay rate', 'k') },
    build: (p, lr) => S.inverseTime({ lr, k: p.k }),
  },
  polynomial: {
    help: '(α₀−end)(1−t/T)^power+end (PolynomialLR)',
    params: { totalSteps: int('length', 'T'), power: num('power (1)', 'power'), endLr: num('final rate (0)', 'end') },
    build: (p, lr, total) =>
      S.polynomial({ lr, totalSteps: p.totalSteps ?? needTotal('polynomial', total, 'T'), power: p.power, endLr: p.endLr }),
  },
  linear: {
    help: 'α₀·(start→end factor over T) (LinearLR)',
    params: { totalSteps: int('length', 'T'), startFactor: num('start factor (1/3)', 'start'), endFactor: num('end factor (1)', 'end') },
    build: (p, lr, total) =>
      S.linear({ lr, totalSteps: p.totalSteps ?? needTotal('linear', total, 'T'), startFactor: p.startFactor, endFactor: p.endFactor }),
  },
  cosine: {
    help: 'cosine annealing to min over T (CosineAnnealingLR)',
    params: { totalSteps: int('length', 'T'), minLr: num('η_min (0)', 'min') },
    build: (p, lr, total) => S.cosine({ lr, totalSteps: p.totalSteps ?? needTotal('cosine', total, 'T'), minLr: p.minLr }),
  },
  sgdr: {
    help: 'cosine with warm restarts (CosineAnnealingWarmRestarts)',
    required: ['t0'],
    params: { t0: int('first cycle length', 'T0'), tMult: int('cycle growth (1)', 'Tmult'), minLr: num('η_min (0)', 'min') },
    build: (p, lr) => S.sgdr({ lr, t0: p.t0, tMult: p.tMult, minLr: p.minLr }),
  },
  cyclic: {
    help: 'cyclical rates from α₀ to max (CyclicLR)',
    required: ['maxLr'],
    params: {
      maxLr: num('peak rate', 'max'),
      stepSizeUp: int('steps up (2000)', 'up'),
      stepSizeDown: int('steps down (=up)', 'down'),
      mode: { keys: ['mode'], kind: 'string', help: 'triangular|triangular2|exp_range' },
      gamma: num('exp_range factor (1)', 'gamma'),
    },
    build: (p, lr) =>
      S.cyclic({ lr, maxLr: p.maxLr, stepSizeUp: p.stepSizeUp, stepSizeDown: p.stepSizeDown, mode: p.mode, gamma: p.gamma }),
  },
  onecycle: {
    help: 'one-cycle up to max=α₀ then down (OneCycleLR); cyclemom=true cycles momentum/β₁ inversely',
    params: {
      totalSteps: int('length', 'T'),
      pctStart: num('rising share (0.3)', 'pct'),
      anneal: { keys: ['anneal'], kind: 'string', help: 'cos|linear' },
      divFactor: num('initial = max/div (25)', 'div'),
      finalDivFactor: num('final = initial/finaldiv (1e4)', 'finaldiv'),
      threePhase: { keys: ['three'], kind: 'boolean', help: 'three phases' },
      cycleMomentum: { keys: ['cyclemom', 'cycleMomentum'], kind: 'boolean', help: 'cycle the momentum (false)' },
      baseMomentum: num('momentum at the peak rate (0.85)', 'basemom', 'baseMomentum'),
      maxMomentum: num('momentum at the ends (0.95)', 'maxmom', 'maxMomentum'),
    },
    build: (p, lr, total) =>
      S.oneCycle({
        maxLr: lr,
        totalSteps: p.totalSteps ?? needTotal('onecycle', total, 'T'),
        pctStart: p.pctStart,
        anneal: p.anneal,
        divFactor: p.divFactor,
        finalDivFactor: p.finalDivFactor,
        threePhase: p.threePhase,
        cycleMomentum: p.cycleMomentum,
        baseMomentum: p.baseMomentum,
        maxMomentum: p.maxMomentum,
      }),
  },
  constantlr: {
    help: 'α₀·factor for t < T, then α₀ (ConstantLR)',
    params: { factor: num('factor (1/3)', 'factor'), totalSteps: int('steps at the factor (5)', 'T') },
    build: (p, lr) => S.constantFactor({ lr, factor: p.factor, totalSteps: p.totalSteps }),
  },
  swalr: {
    help: 'anneal from α₀ to swa over T, then swa (SWALR)',
    required: ['swaLr'],
    params: {
      swaLr: num('the SWA rate', 'swa', 'swaLr'),
      annealSteps: int('anneal length (10)', 'T'),
      anneal: { keys: ['anneal'], kind: 'string', help: 'cos|linear' },
    },
    build: (p, lr) => S.swalr({ lr, swaLr: p.swaLr, annealSteps: p.annealSteps, anneal: p.anneal }),
  },
  snapshot: {
    help: 'M cosine cycles over T (Huang et al. 2017)',
    required: ['cycles'],
    params: { totalSteps: int('length', 'T'), cycles: int('cycles', 'M') },
    build: (p, lr, total) => S.snapshotCosine({ lr, totalSteps: p.totalSteps ?? needTotal('snapshot', total, 'T'), cycles: p.cycles }),
  },
};

const plateauParams: Record<string, Param> = {
  factor: num('factor (0.1)', 'factor'),
  patience: int('epochs without improvement (10)', 'patience'),
  threshold: num('relative improvement (1e-4)', 'threshold'),
  cooldown: int('epochs to wait after a cut (0)', 'cooldown'),
  minLr: num('floor (0)', 'min'),
  mode: { keys: ['mode'], kind: 'string', help: 'min|max' },
};

const aliases: Record<string, string> = {
  constantfactor: 'constantlr',
  swa: 'swalr',
  exp: 'exponential',
  invtime: 'inverse',
  '1/t': 'inverse',
  inversetime: 'inverse',
  cos: 'cosine',
  poly: 'polynomial',
  multi: 'multistep',
};

/** One line per schedule, for --help. */
export function scheduleHelp(): string[] {
  const line = (name: string, help: string, params: Record<string, Param>) =>
    `  ${name}${
      Object.keys(params).length
        ? `:${Object.values(params)
            .map((q) => `${q.keys[0]}=`)
            .join(',')}`
        : ''
    }  — ${help}`;
  return [
    ...Object.entries(scheduleTable).map(([n, e]) => line(n, e.help, e.params)),
    line('plateau', 'reduce-on-plateau of the test loss (ReduceLROnPlateau), per epoch', plateauParams),
    '  any: lr=α₀ (default --lr), warmup=W[,warmupStart=f] (linear warm-up), for=N then ";" and the next spec',
    "  A*B*...: chained, α₀ times the product of the parts' factors (ChainedScheduler), e.g. constantlr:factor=0.5,T=4*expgamma:gamma=0.9",
  ];
}

function convert(name: string, key: string, q: Param, raw: string): unknown {
  const bad = (what: string) => new RangeError(`schedule ${name}: ${key}=${raw} is not ${what}`);
  switch (q.kind) {
    case 'number': {
      const v = decimal(raw);
      if (v === undefined) throw bad('a number');
      return v;
    }
    case 'int': {
      const v = decimal(raw);
      if (v === undefined || !Number.isInteger(v)) throw bad('an integer');
      return v;
    }
    case 'ints':
      return raw.split('/').map((x) => {
        const v = decimal(x);
        if (v === undefined || !Number.isInteger(v)) throw bad('integers separated by /');
        return v;
      });
    case 'boolean':
      if (raw !== 'true' && raw !== 'false' && raw !== '1' && raw !== '0') throw bad('true or false');
      return raw === 'true' || raw === '1';
    default:
      return raw;
  }
}

function parseParams(name: string, body: string, table: Record<string, Param>, extra: Record<string, Param>): Record<string, any> {
  const out: Record<string, any> = {};
  if (!body) return out;
  const all = { ...table, ...extra };
  for (const item of body.split(',')) {
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(item.trim());
    if (!m) throw new RangeError(`schedule ${name}: "${item}" is not key=value`);
    const [, key, raw] = m;
    const field = Object.entries(all).find(
      ([f, q]) => q.keys.some((k) => k.toLowerCase() === key.toLowerCase()) || f.toLowerCase() === key.toLowerCase(),
    );
    if (!field) {
      const known = Object.values(all).map((q) => q.keys[0]);
      throw new RangeError(`schedule ${name}: unknown parameter "${key}"; expected one of ${known.join(', ')}`);
    }
    if (field[0] in out) throw new RangeError(`schedule ${name}: ${key} given twice`);
    out[field[0]] = convert(name, key, field[1], raw);
  }
  return out;
}

const common: Record<string, Param> = {
  lr: num('α₀', 'lr'),
  warmup: int('warm-up length', 'warmup'),
  warmupStart: num('warm-up start factor', 'warmupStart'),
  for: int('length of this segment', 'for'),
};

/** Parse a schedule spec (see the header). Errors are RangeErrors naming the schedule and parameter. */
export function parseSchedule(text: string, ctx: ScheduleContext): ParsedSchedule {
  const segments = text.split(';').map((x) => x.trim());
  if (segments.length > 1) {
    const parts: S.Schedule[] = [];
    const milestones: number[] = [];
    let at = 0;
    segments.forEach((seg, i) => {
      const { schedule, p } = parseSegment(seg, ctx, ctx.total === undefined ? undefined : ctx.total - at);
      if (schedule.kind === 'plateau') throw new RangeError('schedule: plateau cannot be joined in a sequence');
      parts.push(schedule.schedule);
      if (i < segments.length - 1) {
        if (p.for === undefined) throw new RangeError(`schedule: segment "${seg}" needs for=N (how long it runs before the next)`);
        at += p.for;
        milestones.push(at);
      }
    });
    return { kind: 'schedule', schedule: S.join(parts, milestones), text };
  }
  return parseSegment(text, ctx, ctx.total).schedule;
}

/** One segment: a schedule, or parts joined by '*' (a chain, each part's factor from lr = 1). */
function parseSegment(seg: string, ctx: ScheduleContext, total: number | undefined): { schedule: ParsedSchedule; p: Record<string, any> } {
  const parts = seg.split('*').map((x) => x.trim());
  if (parts.length === 1) return parseOne(seg, ctx, total);
  const built = parts.map((part) => parseOne(part, { ...ctx, lr: 1 }, total));
  const factors = built.map(({ schedule, p }, i) => {
    if (schedule.kind === 'plateau') throw new RangeError('schedule: plateau cannot be chained with "*"');
    if (p.lr !== undefined)
      throw new RangeError(
        `schedule: part ${i + 1} of the chain "${clip(seg)}" gives lr=; a chained part is a factor (the rate comes from the context: the optimizer's lr)`,
      );
    return schedule.schedule;
  });
  const fors = built.map(({ p }) => p.for).filter((v) => v !== undefined);
  if (fors.length > 1) throw new RangeError(`schedule: the chain "${clip(seg)}" gives for= ${fors.length} times; give it once`);
  return { schedule: { kind: 'schedule', schedule: S.chain(factors, { lr: ctx.lr }), text: seg }, p: { for: fors[0] } };
}

function parseOne(seg: string, ctx: ScheduleContext, total: number | undefined): { schedule: ParsedSchedule; p: Record<string, any> } {
  const colon = seg.indexOf(':');
  const rawName = (colon < 0 ? seg : seg.slice(0, colon)).trim().toLowerCase();
  const body = colon < 0 ? '' : seg.slice(colon + 1);
  const name = aliases[rawName] ?? rawName;
  if (name === 'plateau') {
    const p = parseParams(name, body, plateauParams, { lr: common.lr });
    return { schedule: { kind: 'plateau', plateau: new ReduceOnPlateau({ lr: ctx.lr, ...p } as PlateauOptions), text: seg }, p };
  }
  const e = scheduleTable[name];
  if (!e)
    throw new RangeError(
      `unknown schedule "${clip(rawName)}"; expected one of ${[...Object.keys(scheduleTable), 'plateau'].join(', ')}${didYouMean(rawName, [...Object.keys(scheduleTable), 'plateau', ...Object.keys(aliases)])}`,
    );
  const p = parseParams(name, body, e.params, common);
  for (const f of e.required ?? []) {
    if (p[f] === undefined) throw new RangeError(`schedule ${name}: missing ${e.params[f].keys[0]}= (${e.params[f].help})`);
  }
  const lr = p.lr ?? ctx.lr;
  const w = p.warmup as number | undefined;
  let s = e.build(p, lr, total === undefined ? undefined : total - (w ?? 0));
  if (w !== undefined) s = S.warmup(s, { steps: w, startFactor: p.warmupStart });
  return { schedule: { kind: 'schedule', schedule: s, text: seg }, p };
}
