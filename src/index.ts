/**
 * descent — the library entry. Isomorphic: nothing reachable from here touches fs, zlib, process,
 * Node's modules or the DOM, which `tsconfig.core.json` enforces (it compiles this file and all it
 * reaches with `lib: ["ES2022"]`, no DOM and no Node types). It starts on the reference backend;
 * the wasm backend with its embedded binary is the `descent/wasm` entry (./wasm.ts), and the
 * file-system loaders are `descent/node` (./node.ts), which also starts wasm on import.
 *
 * Every public name is listed here; test/package/public-api.json is the snapshot the tests hold it to.
 */
// Convolution and pooling ops
export {
  avgPool2d, conv2d, conv2dGeometry, convLayer, convPoolLayer, maxPool2d, type AvgPool2dArgs, type Conv2dArgs,
  type Pool2dArgs
} from './autograd/conv.js';
// Tensors, shapes and seeded random numbers
export {
  arange, broadcastShapes, dtypeOf, fromData, full, manualSeed, ones, onesLike, rand, randn, Rng, scalar, SEED_MAX,
  shapeEq, ShapeError, sizeOf, tensor, Tensor, zeros, zerosLike, type DType, type GradNode, type NestedNumbers,
  type RngState, type Shape, type Storage, type TensorOptions
} from './tensor/index.js';
// Backends (the reference backend; wasm is in descent/wasm)
export {
  backend, backendNames, extension, extensionsOf, referenceBackend, registerBackend, setBackend,
  type AdamStepHyper, type Backend, type BinaryOp, type Conv2dGeometry, type ExtensionName, type Extensions,
  type KernelSet, type PoolGeometry, type SgdStepHyper, type UnaryOp
} from './backend/index.js';
// Autograd and tensor ops
export {
  abs, add, argmax, argmin, backward, broadcastTo, cast, cat, chunk, clamp, crossEntropy, dense, div, eq, exp, flip,
  gather, ge, grad, gt, index, indexSelect, isGradEnabled, le, log, logicalAnd, logicalNot, logicalOr, logSoftmax, lt,
  maskedFill, matmul, max, maximum, mean, min, mm, mseLoss, mul, narrow, ne, neg, noGrad, oneHot, permute, pow, record,
  relu, reshape, sigmoid, sign, softmax, sort, split, sqrt, square, squeeze, stack, sub, sum, sumTo, t, tanh, topk,
  unsqueeze, where, withGrad, type BackwardContext, type BackwardFn, type GradOptions, type IndexArray, type IndexItem, type Reduction, type Slice,
  type TensorLike, type ValuesIndices
} from './autograd/index.js';
// Modules, layers, losses and initialisers
export {
  AvgPool2d, Conv2d, Conv2dReLU, Conv2dReLUMaxPool, CrossEntropyLoss, DropConnect, Dropout, Dropout2d, fans, Flatten, fmpOutputSize, fmpSequence,
  fmpWindows, FractionalMaxPool2d, fuse, glorotNormal_, glorotUniform_, heNormal_, heUniform_, Linear, LinearReLU, MaxPool2d, Module,
  MSELoss, normal_, parameter, ReLU, Sequential, Sigmoid, Tanh, torchDefault_, torchFmpIntervals, uniform_,
  type AvgPool2dOptions, type Conv2dOptions, type DropConnectActivation, type DropConnectOptions, type DropoutOptions,
  type FmpSequence, type ForwardOptions, type FractionalMaxPool2dOptions, type InitName, type LinearOptions,
  type Pool2dOptions, type StateDict, type StateEntry
} from './nn/index.js';
// Augmentation
export {
  AugmentSpecError, colorJitter, composeAugment, hsvToRgb, parseAugment, randomCrop, randomFlip, randomScale, rgbToHsv,
  type Augmentation, type JitterOptions
} from './augment/index.js';
// Optimizers, line searches, second order
export {
  accelerationInfo, Adadelta, Adan, adanRule, adadeltaRule, Adafactor, adafactorRule, Adagrad, adagradRule, Adam, Adamax, adamaxRule, adamRule, AdamW, adamwRule, armijo, ASGD, asgdRule, cholesky,
  choleskySolve, ClosureOptimizer, clipGradNorm_, clipGradValue_, createOptimizer, cubicInterpolate, DAdaptAdam, dadaptAdamRule, Curvature, formatAccelerationInfo, hasEvalWeights, getOptimizer, hessian,
  hessianVectorProduct, Lookahead, lookaheadRule, LBFGS, LBFGS_LIMITS, lbfgsRule, Lion, lionRule, Muon, muonParamGroups, muonRule, newtonSchulz5, NAdam, nadamRule, Newton, NEWTON_LIMITS, OptimizerBase,
  newtonRule, Optimizer, optimizerInfo, optimizerNames, optionsOf, Prodigy, prodigyRule, pureUpdate, RAdam, radamRule, registerAcceleration, registerOptimizer,
  RMSprop, rmspropRule, Rprop, rpropRule, SAM, samRule, ScheduleFreeAdamW, scheduleFreeAdamWRule,
  ScheduleFreeSGD, scheduleFreeSGDRule, SGD, SOAP, soapRule, sgdRule, strongWolfe, truncatedCG, type Acceleration, type AccelerationRow, type AdadeltaOptions, type AdadeltaState, type AdafactorOptions, type AdagradOptions, type AdagradState,
  type AdamaxOptions, type AdanOptions, type AdamaxState, type AdamOptions, type AdamState, type AdamWOptions, type AnyOptimizer, type ArmijoOptions, type ASGDOptions, type BaseHyper,
  type Closure, type DAdaptAdamOptions, type DirectionalObjective, type EvalWeights, type HvpOracle, type LBFGSLineSearch, type LBFGSOptions,
  type LineSearchResult, type LionOptions, type LookaheadOptions, type LionState, type Method, type MuonAdjustLr, type MuonGroupOptions, type MuonOptions, type NAdamOptions, type NAdamState, type NamedParams, type NewtonClosure, type NewtonOptions,
  type NewtonStepInfo, type OptimizerSpec, type OptimizerStateDict, type ParamGroup, type ParamsInput, type ParamState, type ProdigyOptions,
  type RAdamOptions, type RAdamState, type RMSpropOptions, type RMSpropState, type RpropOptions, type SAMOptions, type ScheduleFreeAdamWOptions, type ScheduleFreeSGDOptions,
  type ScheduleFreeState, type SGDOptions, type SGDState, type SOAPOptions, type StateValue, type Steppable, WrapperOptimizer, type WrapperStateDict, type StrongWolfeOptions, type UpdateRule
} from './optim/index.js';
// 2-d test functions and optimizer trajectories
export {
  beale, bealeSurface, bowl, bowlSurface, getSurface, himmelblau, himmelblauSurface, rastrigin, rastriginSurface,
  rosenbrock, rosenbrockSurface, saddle, saddleSurface, surfaceNames, surfaces, trajectory, twowells, twowellsSurface,
  type CriticalPoint, type FactoryContext, type Hessian2, type Minimum, type Point, type StepRecord, type Surface,
  type Trajectory, type TrajectoryOptimizer, type TrajectoryOptions
} from './surfaces/index.js';
// Datasets and loaders (isomorphic; file loaders are in descent/node)
export {
  applyPreprocess, checkPreprocess, convertChannels, DataFormatError, DataLoader, Dataset, datasetFromIdx,
  EMBEDDED_TEST_PER_CLASS, EMBEDDED_TEST_SIZE, EMBEDDED_TRAIN_PER_CLASS, EMBEDDED_TRAIN_SIZE, encodeIdx,
  FASHION_MNIST_CLASSES, FASHION_MNIST_FILES, fetchFashionMnist, fitStandardize, parseIdx, parseImageSize,
  preprocessDataset, randomSplit, resizeBilinear, TensorDataset, type Batch, type BatchTransform,
  type DataLoaderOptions, type DatasetInit, type EpochStart, type FromIdxOptions, type IdxArray, type IdxData,
  type IdxDType, type ImageShape, type Preprocess, type SampleSet, type StandardizePreprocess, type Target,
  type TargetOf, type TrainTest
} from './data/index.js';
// Training, evaluation, model specs and checkpoints
export {
  accuracy, buildFromLayers, CHECKPOINT_VERSION, CheckpointError, decodeCheckpoint, encodeCheckpoint, evaluate,
  evaluateConfusion, fit, fitEnsemble, fitFullBatch, fitRun, formatModelSpec, getModel, layersFromJson, mae, mlp,
  modelFromLayers, ModelSpecError, mse, parseModelSpec, predictProba, registerModel, resolveModel, topKAccuracy,
  TrainingError, type BatchSource, type BatchTarget, type BuildSpecOptions, type BuiltSpec, type Callback,
  type Checkpoint, type CheckpointOptions, type CheckpointParam, type DivergenceOptions, type DivergenceReason,
  type EnsembleFit, type EnsembleFitOptions, type EpochRecord, type EvaluateOptions, type Evaluation, type FitOptions,
  type FitResult, type FullBatchFitRecord, type FullBatchOptions, type FullBatchRecord, type LabeledBatch,
  type LayerSpec, type LayerType, type LossFn, type Metric, type ModelOptions, type ModelSpec, type Progress,
  type ResolveModelOptions, type SpecValue, type TrainState
} from './train/index.js';
// Learning-rate schedules
export {
  chain, chainSchedules, constant, constantFactor, constantSchedule, cosine, cosineSchedule, cyclic, exponential, exponentialGamma, exponentialSchedule,
  inverseTime, join, joinSchedules, lambdaFactor, linear, linearSchedule, multiStep, oneCycle, parseSchedule, plateauCallback,
  polynomial, polynomialSchedule, ReduceOnPlateau, sample, scheduleCallback, scheduleTable, sgdr, snapshotCosine,
  snapshotSteps, stepDecay, swalr, warmup, type CyclicMode, type EpochMetrics, type LrTarget, type MomentumSchedule, type ParsedSchedule,
  type PlateauOptions, type PlateauState, type Schedule, type ScheduleContext, type ScheduleState, type ScheduleUnit
} from './schedule/index.js';
// Regularisation
export {
  allParameters, decoupledDecayCallback, elasticNetPenalty, l1Penalty, l1ProximalCallback, l2Penalty, maxNorm,
  maxNormCallback, nearZeroFraction, norms, penaltyCallback, selectParameters, softThreshold, weightsOnly,
  type DecoupledDecayOptions, type HasParameters, type L1ProximalOptions, type MaxNormOptions, type ParamFilter,
  type PenaltyOptions, type RegRecord, type RegState
} from './regularize/index.js';
// Ensembles and weight averaging
export {
  captureWeights, emaCallback, Ensemble, evaluateEnsemble, restoreWeights, snapshotEnsemble, swaCallback,
  WeightAverage, type EnsembleReport, type LabelledSource, type SnapshotEnsembleOptions, type SnapshotRun,
  type SwaCallbackOptions, type WeightAverageState, type WeightSnapshot
} from './ensemble/index.js';
// safetensors (bytes; files are in descent/node)
export {
  decodeSafetensors, encodeSafetensors, loadSafetensors, readFloats, SAFETENSORS_DTYPES, SafetensorsError,
  saveSafetensors, torchParameterNames, type SafetensorsDType, type SafetensorsFile, type SafetensorsTensor,
  type SaveSafetensorsOptions
} from './io/safetensors.js';
