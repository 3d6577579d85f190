import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { checkOptions, num, bool, oneOf, nullable, optionNames } from '../../src/util/options.js';

type Make = (o: Record<string, unknown>) => unknown;

/**
 * One row per owner of an options object: how to build it from options, valid required options,
 * an unknown name with the suggestion expected (null: none), a snake_case name with its camelCase
 * suggestion (null where the owner has no multi-word option), and an option with a wrong type.
 */
interface Row {
  owner: string;
  make: Make;
  base?: Record<string, unknown>;
  unknown: [string, string | null];
  snake: [string, string] | null;
  wrong: [string, unknown, string];
}

const param = () => new d.Tensor(new Float64Array([1, 2]), [2], true);
const opt =
  (C: new (p: d.Tensor[], o: never) => unknown): Make =>
  (o) =>
    new C([param()], o as never);
const toy = () =>
  new d.Dataset({
    images: new Float32Array(4 * 6),
    labels: new Int32Array([0, 1, 2, 3]),
    shape: [2, 1, 3],
    classes: ['a', 'b', 'c', 'd'],
    name: 'toy',
  });
const w = () => [new d.Tensor(new Float32Array(4), [2, 2], true)];
const toyModel = () => new d.Linear(6, 4, { rng: new d.Rng(0) });
const toyLoader = () => new d.DataLoader(toy(), { batchSize: 2, flatten: true });
const fitBase = () => {
  const model = toyModel();
  return { model, optimizer: new d.SGD(model.parameters(), { lr: 0.1 }), train: toyLoader(), epochs: 1, rng: new d.Rng(0) };
};

const ROWS: Row[] = [
  // optimizers (the classes; createOptimizer is checked below for every registry name)
  {
    owner: 'SGD',
    make: opt(d.SGD),
    unknown: ['learningRate', 'lr'],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['nesterov', 'yes', 'true or false'],
  },
  {
    owner: 'Adagrad',
    make: opt(d.Adagrad),
    unknown: ['learning_rate', 'lr'],
    snake: ['lr_decay', 'lrDecay'],
    wrong: ['lr', '0.1', 'a number'],
  },
  {
    owner: 'RMSprop',
    make: opt(d.RMSprop),
    unknown: ['rhoo', null],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['centered', 1, 'true or false'],
  },
  {
    owner: 'Adadelta',
    make: opt(d.Adadelta),
    unknown: ['epsilon', 'eps'],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['rho', '0.9', 'a number'],
  },
  {
    owner: 'Adam',
    make: opt(d.Adam),
    unknown: ['learningRate', 'lr'],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['betas', 0.9, 'two numbers'],
  },
  {
    owner: 'AdamW',
    make: opt(d.AdamW),
    unknown: ['beta1', 'betas'],
    snake: ['eps_inside_sqrt', 'epsInsideSqrt'],
    wrong: ['amsgrad', 'no', 'true or false'],
  },
  {
    owner: 'Adamax',
    make: opt(d.Adamax),
    unknown: ['amsgrad', null],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['eps', null, 'a number'],
  },
  {
    owner: 'NAdam',
    make: opt(d.NAdam),
    unknown: ['momentum', 'momentumDecay'],
    snake: ['momentum_decay', 'momentumDecay'],
    wrong: ['legacyMuProduct', 0, 'true or false'],
  },
  {
    owner: 'RAdam',
    make: opt(d.RAdam),
    unknown: ['decoupled_weight_decay', 'decoupledWeightDecay'],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['weightDecay', [0.1], 'a number'],
  },
  {
    owner: 'Lion',
    make: opt(d.Lion),
    unknown: ['eps', null],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['maximize', 'false', 'true or false'],
  },
  {
    owner: 'Adafactor',
    make: opt(d.Adafactor),
    unknown: ['beta2_decay', 'beta2Decay'],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['eps', 1e-3, '[ε₁ (a number or null), ε₂ (a number)]'],
  },
  {
    owner: 'Rprop',
    make: opt(d.Rprop),
    unknown: ['step_sizes', 'stepSizes'],
    snake: ['step_sizes', 'stepSizes'],
    wrong: ['etas', 0.5, 'two numbers [a, b]'],
  },
  {
    owner: 'ASGD',
    make: opt(d.ASGD),
    unknown: ['lambda', 'lambd'],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['t0', '1e6', 'a number'],
  },
  {
    owner: 'LBFGS',
    make: opt(d.LBFGS),
    unknown: ['maxIters', 'maxIter'],
    snake: ['line_search_fn', 'lineSearchFn'],
    wrong: ['historySize', '10', 'a number'],
  },
  {
    owner: 'Newton',
    make: opt(d.Newton),
    unknown: ['dampening', 'damping'],
    snake: ['cg_max_iter', 'cgMaxIter'],
    wrong: ['hessian', 1, 'a function or null'],
  },
  // layers
  {
    owner: 'Linear',
    make: (o) => new d.Linear(2, 3, o as never),
    unknown: ['bais', 'bias'],
    snake: null,
    wrong: ['bias', 'no', 'true or false'],
  },
  {
    owner: 'Conv2d',
    make: (o) => new d.Conv2d(1, 2, 3, o as never),
    unknown: ['strides', 'stride'],
    snake: null,
    wrong: ['padding', '1', 'a number or [number, number]'],
  },
  {
    owner: 'ConvTranspose2d',
    make: (o) => new d.ConvTranspose2d(1, 2, 3, o as never),
    unknown: ['strides', 'stride'],
    snake: ['output_padding', 'outputPadding'],
    wrong: ['outputPadding', '1', 'a number or [number, number]'],
  },
  {
    owner: 'ConvTranspose1d',
    make: (o) => new d.ConvTranspose1d(1, 2, 3, o as never),
    unknown: ['strides', 'stride'],
    snake: ['output_padding', 'outputPadding'],
    wrong: ['stride', [1, 2], 'a number'],
  },
  {
    owner: 'Upsample',
    make: (o) => new d.Upsample(o as never),
    base: { scaleFactor: 2 },
    unknown: ['sizes', 'size'],
    snake: ['scale_factor', 'scaleFactor'],
    wrong: ['alignCorners', 'yes', 'true or false or null'],
  },
  {
    owner: 'MaxPool2d',
    make: (o) => new d.MaxPool2d(2, o as never),
    unknown: ['kernel', null],
    snake: ['ceil_mode', 'ceilMode'],
    wrong: ['stride', [1, 2, 3], 'a number or [number, number]'],
  },
  {
    owner: 'AvgPool2d',
    make: (o) => new d.AvgPool2d(2, o as never),
    unknown: ['pad', 'padding'],
    snake: ['count_include_pad', 'countIncludePad'],
    wrong: ['countIncludePad', 1, 'true or false'],
  },
  {
    owner: 'FractionalMaxPool2d',
    make: (o) => new d.FractionalMaxPool2d(o as never),
    unknown: ['ratios', 'ratio'],
    snake: ['output_size', 'outputSize'],
    wrong: ['overlapping', 'yes', 'true or false'],
  },
  {
    owner: 'DropConnect',
    make: (o) => new d.DropConnect(2, 3, o as never),
    unknown: ['mask', 'masks'],
    snake: null,
    wrong: ['samples', '10', 'a number'],
  },
  { owner: 'Dropout', make: (o) => new d.Dropout(o as never), unknown: ['rate', 'p'], snake: null, wrong: ['p', '0.5', 'a number'] },
  { owner: 'Dropout2d', make: (o) => new d.Dropout2d(o as never), unknown: ['prob', 'p'], snake: null, wrong: ['p', true, 'a number'] },
  // schedules
  {
    owner: 'constant schedule',
    make: (o) => d.constant(o as never),
    base: { lr: 0.1 },
    unknown: ['learningRate', 'lr'],
    snake: null,
    wrong: ['lr', '0.1', 'a number'],
  },
  {
    owner: 'step schedule',
    make: (o) => d.stepDecay(o as never),
    base: { lr: 0.1, stepSize: 2 },
    unknown: ['gama', 'gamma'],
    snake: ['step_size', 'stepSize'],
    wrong: ['gamma', '0.5', 'a number'],
  },
  {
    owner: 'multistep schedule',
    make: (o) => d.multiStep(o as never),
    base: { lr: 0.1, milestones: [2] },
    unknown: ['milestone', 'milestones'],
    snake: null,
    wrong: ['milestones', 2, 'an array of numbers'],
  },
  {
    owner: 'exponential schedule',
    make: (o) => d.exponential(o as never),
    base: { lr: 0.1, k: 0.1 },
    unknown: ['gamma', null],
    snake: null,
    wrong: ['k', '0.1', 'a number'],
  },
  {
    owner: 'gamma schedule',
    make: (o) => d.exponentialGamma(o as never),
    base: { lr: 0.1, gamma: 0.9 },
    unknown: ['k', null],
    snake: null,
    wrong: ['gamma', null, 'a number'],
  },
  {
    owner: 'inverse-time schedule',
    make: (o) => d.inverseTime(o as never),
    base: { lr: 0.1, k: 0.1 },
    unknown: ['kk', 'k'],
    snake: null,
    wrong: ['k', [1], 'a number'],
  },
  {
    owner: 'polynomial schedule',
    make: (o) => d.polynomial(o as never),
    base: { lr: 0.1, totalSteps: 10 },
    unknown: ['T_max', 'totalSteps'],
    snake: ['end_lr', 'endLr'],
    wrong: ['power', '2', 'a number'],
  },
  {
    owner: 'linear schedule',
    make: (o) => d.linear(o as never),
    base: { lr: 0.1, totalSteps: 10 },
    unknown: ['total_iters', 'totalSteps'],
    snake: ['start_factor', 'startFactor'],
    wrong: ['endFactor', '1', 'a number'],
  },
  {
    owner: 'cosine schedule',
    make: (o) => d.cosine(o as never),
    base: { lr: 0.1, totalSteps: 10 },
    unknown: ['eta_min', 'minLr'],
    snake: ['min_lr', 'minLr'],
    wrong: ['minLr', '0', 'a number'],
  },
  {
    owner: 'sgdr schedule',
    make: (o) => d.sgdr(o as never),
    base: { lr: 0.1, t0: 10 },
    unknown: ['T_0', 't0'],
    snake: ['T_mult', 'tMult'],
    wrong: ['t0', '10', 'a number'],
  },
  {
    owner: 'cyclic schedule',
    make: (o) => d.cyclic(o as never),
    base: { lr: 0.1, maxLr: 1 },
    unknown: ['base_lr', 'lr'],
    snake: ['step_size_up', 'stepSizeUp'],
    wrong: ['mode', 1, "'triangular', 'triangular2' or 'exp_range'"],
  },
  {
    owner: 'onecycle schedule',
    make: (o) => d.oneCycle(o as never),
    base: { maxLr: 1, totalSteps: 10 },
    unknown: ['pctStrat', 'pctStart'],
    snake: ['div_factor', 'divFactor'],
    wrong: ['threePhase', 'yes', 'true or false'],
  },
  {
    owner: 'warmup schedule',
    make: (o) => d.warmup(d.constant({ lr: 1 }), o as never),
    base: { steps: 3 },
    unknown: ['step', 'steps'],
    snake: ['start_factor', 'startFactor'],
    wrong: ['steps', '3', 'a number'],
  },
  {
    owner: 'snapshot schedule',
    make: (o) => d.snapshotCosine(o as never),
    base: { lr: 0.1, totalSteps: 10, cycles: 2 },
    unknown: ['cycle', 'cycles'],
    snake: ['total_steps', 'totalSteps'],
    wrong: ['cycles', '2', 'a number'],
  },
  {
    owner: 'plateau schedule',
    make: (o) => new d.ReduceOnPlateau(o as never),
    base: { lr: 0.1 },
    unknown: ['patients', 'patience'],
    snake: ['threshold_mode', 'thresholdMode'],
    wrong: ['patience', '3', 'a number'],
  },
  // loaders, transforms, callbacks
  {
    owner: 'DataLoader',
    make: (o) => new d.DataLoader(toy(), o as never),
    unknown: ['shufle', 'shuffle'],
    snake: ['batch_size', 'batchSize'],
    wrong: ['shuffle', 'yes', 'true or false'],
  },
  {
    owner: 'jitter',
    make: (o) => d.colorJitter(o as never),
    unknown: ['brightnes', 'brightness'],
    snake: null,
    wrong: ['hue', '0.1', 'a number'],
  },
  {
    owner: 'penaltyCallback',
    make: (o) => d.penaltyCallback(o as never),
    base: { params: w(), l2: 0.1 },
    unknown: ['lambda', null],
    snake: ['near_zero_tol', 'nearZeroTol'],
    wrong: ['l1', '0.1', 'a number'],
  },
  {
    owner: 'l1ProximalCallback',
    make: (o) => d.l1ProximalCallback(o as never),
    base: { params: w(), lambda: 0.1 },
    unknown: ['lamda', 'lambda'],
    snake: ['near_zero_tol', 'nearZeroTol'],
    wrong: ['params', [1], 'an array of Tensors'],
  },
  {
    owner: 'maxNormCallback',
    make: (o) => d.maxNormCallback(o as never),
    base: { params: w(), maxNorm: 3 },
    unknown: ['norm', 'maxNorm'],
    snake: ['max_norm', 'maxNorm'],
    wrong: ['maxNorm', '3', 'a number'],
  },
  {
    owner: 'decoupledDecayCallback',
    make: (o) => d.decoupledDecayCallback(o as never),
    base: { params: w(), weightDecay: 0.1 },
    unknown: ['decay', 'weightDecay'],
    snake: ['weight_decay', 'weightDecay'],
    wrong: ['weightDecay', '0.1', 'a number'],
  },
  {
    owner: 'swaCallback',
    make: (o) => d.swaCallback(new d.WeightAverage('swa'), o as never),
    unknown: ['start', 'startEpoch'],
    snake: ['start_epoch', 'startEpoch'],
    wrong: ['everySteps', '5', 'a number'],
  },
  {
    owner: 'snapshotEnsemble',
    make: (o) => d.snapshotEnsemble(o as never),
    base: { lr: 0.1, totalSteps: 10, cycles: 2 },
    unknown: ['cycle', 'cycles'],
    snake: ['total_steps', 'totalSteps'],
    wrong: ['lr', '0.1', 'a number'],
  },
  // functions of tensors and autograd
  {
    owner: 'tensor',
    make: (o) => d.tensor([1, 2], o as never),
    unknown: ['dtpye', 'dtype'],
    snake: ['requires_grad', 'requiresGrad'],
    wrong: ['requiresGrad', 'yes', 'true or false'],
  },
  {
    owner: 'fromData',
    make: (o) => d.fromData([1, 2], [2], o as never),
    unknown: ['type', 'dtype'],
    snake: ['requires_grad', 'requiresGrad'],
    wrong: ['requiresGrad', 1, 'true or false'],
  },
  {
    owner: 'full',
    make: (o) => d.full([2], 1, o as never),
    unknown: ['fill', null],
    snake: ['requires_grad', 'requiresGrad'],
    wrong: ['dtype', 32, "'float32' or 'float64'"],
  },
  {
    owner: 'randn',
    make: (o) => d.randn([2], new d.Rng(1), o as never),
    unknown: ['stdev', 'std'],
    snake: ['requires_grad', 'requiresGrad'],
    wrong: ['std', '2', 'a number'],
  },
  {
    owner: 'rand',
    make: (o) => d.rand([2], new d.Rng(1), o as never),
    unknown: ['lo', 'low'],
    snake: ['requires_grad', 'requiresGrad'],
    wrong: ['high', '2', 'a number'],
  },
  {
    owner: 'arange',
    make: (o) => d.arange(3, o as never),
    unknown: ['step', null],
    snake: ['requires_grad', 'requiresGrad'],
    wrong: ['dtype', null, "'float32' or 'float64'"],
  },
  {
    owner: 'grad',
    make: (o) => {
      const x = d.tensor([1, 2], { requiresGrad: true });
      return d.grad(d.sum(d.mul(x, x)), [x], o as never);
    },
    unknown: ['allowUnsed', 'allowUnused'],
    snake: ['create_graph', 'createGraph'],
    wrong: ['createGraph', 1, 'true or false'],
  },
  {
    owner: 'backward',
    make: (o) => {
      const x = d.tensor([1, 2], { requiresGrad: true });
      d.sum(d.mul(x, x)).backward(undefined, o as never);
    },
    unknown: ['createGraf', 'createGraph'],
    snake: ['create_graph', 'createGraph'],
    wrong: ['createGraph', 'yes', 'true or false'],
  },
  {
    owner: 'conv2d',
    make: (o) => d.conv2d(d.full([1, 1, 4, 4], 1), d.full([1, 1, 3, 3], 1), null, o as never),
    unknown: ['strides', 'stride'],
    snake: null,
    wrong: ['padding', '1', 'a number or [number, number]'],
  },
  {
    owner: 'maxPool2d',
    make: (o) => d.maxPool2d(d.full([1, 1, 4, 4], 1), 2, o as never),
    unknown: ['dilation', null],
    snake: null,
    wrong: ['stride', true, 'a number or [number, number]'],
  },
  {
    owner: 'avgPool2d',
    make: (o) => d.avgPool2d(d.full([1, 1, 4, 4], 1), 2, o as never),
    unknown: ['pad', 'padding'],
    snake: ['count_include_pad', 'countIncludePad'],
    wrong: ['countIncludePad', 'no', 'true or false'],
  },
  {
    owner: 'clipGradNorm_',
    make: (o) => d.clipGradNorm_([param()], 1, 2, o as never),
    unknown: ['errorIfNonFinite', 'errorIfNonfinite'],
    snake: ['error_if_nonfinite', 'errorIfNonfinite'],
    wrong: ['errorIfNonfinite', 1, 'true or false'],
  },
  {
    owner: 'trajectory',
    make: (o) => d.trajectory('bowl', 'sgd', o as never),
    base: { steps: 2 },
    unknown: ['gradTolerance', 'gradTol'],
    snake: ['grad_tol', 'gradTol'],
    wrong: ['keepTrace', 'no', 'true or false'],
  },
  {
    owner: 'SGD.zeroGrad',
    make: (o) => new d.SGD([param()]).zeroGrad(o as never),
    unknown: ['set_to_none', 'setToNone'],
    snake: ['set_to_none', 'setToNone'],
    wrong: ['setToNone', 0, 'true or false'],
  },
  {
    owner: 'scheduleCallback',
    make: (o) => d.scheduleCallback(d.constant({ lr: 1 }), o as never),
    unknown: ['units', 'unit'],
    snake: null,
    wrong: ['unit', 1, "'step' or 'epoch'"],
  },
  // training, data sets, saving
  {
    owner: 'fit',
    make: (o) => d.fit(o as never),
    base: fitBase(),
    unknown: ['epoch', 'epochs'],
    snake: ['on_non_finite', 'onNonFinite'],
    wrong: ['fullBatch', 'yes', 'true or false'],
  },
  {
    owner: 'evaluate',
    make: (o) => d.evaluate(toyModel(), toyLoader(), o as never),
    unknown: ['metric', 'metrics'],
    snake: null,
    wrong: ['loss', 'mse', 'a loss: a function'],
  },
  {
    owner: 'fitEnsemble',
    make: (o) => d.fitEnsemble(o as never),
    base: { members: 1, member: () => fitBase() },
    unknown: ['member_count', 'member'],
    snake: ['on_member_end', 'onMemberEnd'],
    wrong: ['members', '2', 'a number'],
  },
  {
    owner: 'Dataset',
    make: (o) => new d.Dataset(o as never),
    base: { images: new Float32Array(6), labels: new Int32Array([0]), shape: [2, 1, 3], classes: ['a'] },
    unknown: ['label', 'labels'],
    snake: null,
    wrong: ['images', [0, 0, 0, 0, 0, 0], 'a Float32Array'],
  },
  {
    owner: 'saveSafetensors',
    make: (o) => d.saveSafetensors(toyModel(), o as never),
    unknown: ['meta', 'metadata'],
    snake: null,
    wrong: ['metadata', { epoch: 3 }, 'an object of strings'],
  },
];

test('backward({ createGraph: true }) is refused: the options go second', () => {
  const x = d.tensor([1, 2], { requiresGrad: true });
  assert.throws(
    () => d.sum(x).backward({ createGraph: true } as never),
    /^TypeError: backward: invalid gradient \{"createGraph":true\}; expected a Tensor \(options go second/,
  );
});

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const r of ROWS) {
  test(`${r.owner}: unknown names, snake_case names and wrong types are refused with the option named`, () => {
    const base = r.base ?? {};
    // the valid options build (so the refusals below are about the one bad option)
    assert.doesNotThrow(() => r.make({ ...base }));
    const [name, want] = r.unknown;
    const hint = want === null ? '' : ` \\(did you mean "${esc(want)}"\\?\\)`;
    assert.throws(
      () => r.make({ ...base, [name]: 1 }),
      (e: Error) => {
        assert.ok(e instanceof RangeError, `${r.owner}: ${e}`);
        assert.match(e.message, new RegExp(`^${esc(r.owner)}: unknown option "${esc(name)}"${hint}; expected one of `));
        if (want === null) assert.doesNotMatch(e.message, /did you mean/);
        return true;
      },
    );
    if (r.snake) {
      const [snake, camel] = r.snake;
      assert.throws(
        () => r.make({ ...base, [snake]: 1 }),
        new RegExp(`^RangeError: ${esc(r.owner)}: unknown option "${esc(snake)}" \\(did you mean "${esc(camel)}"\\?\\)`),
      );
    }
    const [opt, value, expected] = r.wrong;
    assert.throws(
      () => r.make({ ...base, [opt]: value }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`^${esc(r.owner)}: invalid ${esc(opt)} .*; expected ${esc(expected)}`));
        // a string outside a list of choices is a range error; every other mismatch a type error
        assert.ok(e instanceof TypeError, `${r.owner}: ${e}`);
        return true;
      },
    );
  });
}

test('every optimizer class is in the table, and createOptimizer refuses the same mistakes for every registered name', () => {
  const classes = [
    'SGD',
    'Adagrad',
    'RMSprop',
    'Adadelta',
    'Adam',
    'AdamW',
    'Adamax',
    'NAdam',
    'RAdam',
    'Lion',
    'Adafactor',
    'Rprop',
    'ASGD',
    'LBFGS',
    'Newton',
  ];
  for (const c of classes)
    assert.ok(
      ROWS.some((r) => r.owner === c),
      c,
    );
  for (const key of d.optimizerNames()) {
    const spec = d.optimizerInfo(key);
    const make = (o: Record<string, unknown>) => d.createOptimizer(key, [['w', param()]], o);
    assert.throws(
      () => make({ learningRate: 0.1 }),
      new RegExp(
        `^RangeError: ${esc(spec.name)}: unknown option "learningRate" \\(did you mean "lr"\\?\\); expected one of ${esc(spec.options.join(', '))}$`,
      ),
      key,
    );
    assert.throws(() => make({ lr: '0.1' }), /: invalid lr "0.1"; expected a number$/, key);
    // every listed option is one the optimizer itself accepts (the registry's names come from the schemas)
    assert.ok(spec.options.includes('lr'), key);
  }
});

test('the examples of the issue: Adam learningRate, weight_decay, SGD nesterov "yes", new SGD(params, 0.1)', () => {
  assert.throws(
    () => new d.Adam([param()], { learningRate: 0.1 } as never),
    /^RangeError: Adam: unknown option "learningRate" \(did you mean "lr"\?\); expected one of lr, betas, eps, weightDecay, amsgrad, maximize, epsInsideSqrt$/,
  );
  assert.throws(
    () => new d.Adam([param()], { weight_decay: 0.1 } as never),
    /Adam: unknown option "weight_decay" \(did you mean "weightDecay"\?\)/,
  );
  assert.throws(
    () => new d.SGD([param()], { lr: 0.1, momentum: 0.9, nesterov: 'yes' } as never),
    (e: Error) => e instanceof TypeError && /^SGD: invalid nesterov "yes"; expected true or false$/.test(e.message),
  );
  assert.throws(
    () => new d.SGD([param()], 0.1 as never),
    /^TypeError: SGD: options must be an object \{ lr, momentum, dampening, weightDecay, nesterov, maximize, lrInsideMomentum \}, got 0\.1$/,
  );
  // a parameter group's options are checked too
  assert.throws(
    () => new d.SGD([{ params: [param()], learning_rate: 0.1 }] as never),
    /SGD parameter group 0: unknown option "learning_rate" \(did you mean "lr"\?\)/,
  );
  // a loaded state's hyper-parameters too, before anything is replaced
  const o = new d.Adam([param()], { lr: 0.01 });
  const sd = o.stateDict();
  assert.throws(
    () => o.loadStateDict({ ...sd, paramGroups: [{ ...sd.paramGroups[0], learning_rate: 1 }] }),
    /Adam: loadStateDict: parameter group 0: unknown option "learning_rate" \(did you mean "lr"\?\)/,
  );
  assert.throws(
    () => o.loadStateDict({ ...sd, paramGroups: [{ ...sd.paramGroups[0], amsgrad: 'yes' }] }),
    /^TypeError: Adam: loadStateDict: parameter group 0: invalid amsgrad "yes"; expected true or false$/,
  );
  assert.equal(o.lr, 0.01);
  // undefined counts as not given
  assert.equal(new d.Adam([param()], { lr: undefined }).lr, 1e-3);
});

test('a string outside a list of choices is a RangeError that suggests the nearest choice', () => {
  assert.throws(
    () => new d.DropConnect(2, 3, { masks: 'examples' as never }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "DropConnect: invalid masks \"examples\"; expected 'example' or 'batch' (did you mean 'example'?)",
  );
  assert.throws(
    () => new d.Linear(2, 3, { init: 'he_uniform' as never }),
    /Linear: invalid init "he_uniform"; expected 'torch', 'he', 'heUniform', 'glorot' or 'glorotNormal' \(did you mean 'heUniform'\?\)/,
  );
  assert.throws(
    () => new d.Linear(2, 3, { dtype: 'float16' as never }),
    /Linear: invalid dtype "float16"; expected 'float32' or 'float64'/,
  );
});

test('checkOptions: required options, nullable specs, non-objects, long names clipped', () => {
  const schema = { a: num, b: nullable(bool), c: oneOf('x', 'y') };
  assert.deepEqual(optionNames(schema), ['a', 'b', 'c']);
  assert.doesNotThrow(() => checkOptions('T', { a: 1, b: null, c: 'x' }, schema, { required: ['a'] }));
  assert.throws(() => checkOptions('T', { b: true }, schema, { required: ['a'] }), /^TypeError: T: missing option "a" \(a number\)$/);
  assert.throws(() => checkOptions('T', { b: 1 }, schema), /^TypeError: T: invalid b 1; expected true or false or null$/);
  for (const bad of [null, [1], 'a', () => 1, new Float32Array(1)])
    assert.throws(() => checkOptions('T', bad as never, schema), /^TypeError: T: options must be an object \{ a, b, c \}/);
  assert.throws(() => checkOptions('T', { ['z'.repeat(200)]: 1 }, schema), /unknown option "z{60}… \(200 characters\)"/);
  // inherited names are not options
  assert.throws(() => checkOptions('T', { toString: 1 }, schema), /T: unknown option "toString"/);
});

test("LBFGS takes PyTorch's spelling strong_wolfe, the CLI's strong-wolfe and strongWolfe alike", () => {
  const run = (lineSearchFn: d.LBFGSOptions['lineSearchFn']) => {
    const x = new d.Tensor(new Float64Array([-1.2, 1]), [2], true);
    const opt = new d.LBFGS([x], { lineSearchFn, maxIter: 5 });
    opt.step(() => {
      opt.zeroGrad();
      const [a, b] = [x.data[0], x.data[1]];
      x.grad = new d.Tensor(new Float64Array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]), [2]);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    });
    assert.equal(opt.paramGroups[0].lineSearchFn, 'strongWolfe');
    return Array.from(x.data);
  };
  const ref = run('strongWolfe');
  assert.deepEqual(run('strong_wolfe'), ref);
  assert.deepEqual(run('strong-wolfe'), ref);
  assert.throws(() => new d.LBFGS([param()], { lineSearchFn: 'wolfe' as never }), /LBFGS: invalid lineSearchFn "wolfe"/);
});
