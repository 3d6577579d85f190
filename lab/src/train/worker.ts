/**
 * The training worker: loads the embedded Fashion-MNIST subset, starts the wasm backend (worker
 * threads when the page is cross-origin isolated, one thread otherwise) and runs a TrainSession in
 * slices of about 40 ms, so pause, step and restart messages are answered between slices. Results
 * go to the page in one message per slice. Each run's backend (wasm, or WebGPU where the setting
 * and the adapter allow: backend-choice.ts) is told to the page in a 'backend' message.
 */
import { fetchFashionMnist, predictProba, backend, setBackend, type Dataset } from '../../../src/index.js';
import { initWasm, initWasmSync, wasmInfo } from '../../../src/wasm.js';
import {
  TrainSession,
  landscape,
  augmentExamples,
  fmpExample,
  type AugmentSettings,
  type DropMasks,
  type FmpPanel,
  type StepRecord,
  type EpochSummary,
  type Landscape,
} from './session.js';
import type { TrainConfig } from './config.js';
import { chooseBackend } from './backend-choice.js';

export type ToWorker =
  | { type: 'init'; dataUrl: string; threads?: number }
  | {
      type: 'start';
      config: TrainConfig;
      run: number;
      paused?: boolean /** Average this run's test probabilities with the earlier runs' since the last start without it. */;
      ensemble?: boolean;
      /** The last run of its preset (or a single run): its end computes the loss landscape. */
      last?: boolean;
    }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'step' }
  | { type: 'augment'; settings: AugmentSettings }
  | { type: 'fmp'; index: number; seed: number };

export type FromWorker =
  | { type: 'ready'; backend: string; threads: number; relaxedSimd: boolean; isolated: boolean; note?: string }
  | {
      type: 'progress';
      run: number;
      steps: StepRecord[];
      epochs: EpochSummary[];
      samplesPerSec: number;
      done: boolean;
      paused: boolean;
      landscape?: Landscape;
      ensemble?: { members: number; memberAccuracy: number; accuracy: number };
      /** The dropout / DropConnect masks of the slice's last step (a drawn slice of the network). */
      masks?: DropMasks;
      /** A finished snapshot run: the steps its snapshots were taken at, each snapshot's test accuracy and the snapshot ensemble's. */
      snapshots?: { at: number[]; members: number[]; average: number };
      /** A snapshot run: the steps (counted from 1) after which it takes its snapshots. */
      snapshotAt?: number[];
      mistakes?: { index: number; label: number; predicted: number; p: number; pixels: Float32Array }[];
    }
  | { type: 'backend'; run: number; device: string | null; adapter?: string; note?: string }
  | { type: 'error'; run: number; message: string }
  | { type: 'augmented'; images: Float32Array[]; count: number }
  | { type: 'fmp'; index: number; seed: number; image: number[]; panels: FmpPanel[] };

const post = (m: FromWorker) => (self as unknown as { postMessage(m: unknown): void }).postMessage(m);

let data: { train: Dataset; test: Dataset } | null = null;
let session: TrainSession | null = null;
let run = 0;
let paused = false;
let timer: ReturnType<typeof setTimeout> | null = null;
let rate = { samples: 0, ms: 0 };
let ensembleOn = false;
let lastRun = false;
/** The device the current run's model trains on (null: the host backend), and whether a slice is under way. */
let device: string | null = null;
let busy = false;
/** A 'step' asked for while a slice awaited the device: taken when that slice ends. */
let stepAsked = false;
/** Sum of the ensemble members' test probabilities so far, and how many. */
let ensembleSum: { probs: Float64Array; labels: Int32Array; classes: number; members: number } | null = null;

function ensembleStep(s: TrainSession): { members: number; memberAccuracy: number; accuracy: number } {
  const p = predictProba(s.model, s.testLoader);
  if (!ensembleSum) ensembleSum = { probs: new Float64Array(p.probs.length), labels: p.labels, classes: p.classes, members: 0 };
  const e = ensembleSum;
  for (let i = 0; i < p.probs.length; i++) e.probs[i] += p.probs[i];
  e.members++;
  const acc = (q: Float64Array) => {
    let ok = 0;
    for (let i = 0; i < e.labels.length; i++) {
      let best = 0;
      for (let j = 1; j < e.classes; j++) if (q[i * e.classes + j] > q[i * e.classes + best]) best = j;
      if (best === e.labels[i]) ok++;
    }
    return ok / e.labels.length;
  };
  return { members: e.members, memberAccuracy: acc(p.probs), accuracy: acc(e.probs) };
}

async function init(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  let note: string | undefined;
  try {
    await initWasm(m.threads ? { threads: m.threads } : {});
  } catch (e) {
    note = `worker threads failed to start (${(e as Error).message}); one thread`;
    try {
      initWasmSync();
    } catch (e2) {
      note = `WebAssembly SIMD is not available (${(e2 as Error).message}); the reference backend runs`;
    }
  }
  if (wasmInfo().initialised) setBackend('wasm');
  data = await fetchFashionMnist(m.dataUrl);
  const info = wasmInfo();
  post({
    type: 'ready',
    backend: backend().name,
    threads: info.initialised ? info.threads : 1,
    relaxedSimd: info.relaxedSimd,
    isolated,
    note,
  });
}

function schedule(): void {
  if (timer === null && session && !session.done && !paused) timer = setTimeout(slice, 0);
}

async function slice(budgetMs = 40, maxSteps = Infinity): Promise<void> {
  timer = null;
  const s = session;
  if (!s || busy) return;
  busy = true;
  const steps: StepRecord[] = [],
    epochs: EpochSummary[] = [];
  const t0 = performance.now();
  const before = s.samples;
  try {
    while (!s.done && steps.length < maxSteps && performance.now() - t0 < budgetMs) {
      // on the host a step is synchronous; on a device it awaits the step's loss and logits
      const r = device ? await s.nextOnDevice(device) : s.next();
      if (session !== s) break;
      if (!r) break;
      steps.push(r.step);
      if (r.epoch) epochs.push(r.epoch);
    }
  } catch (e) {
    busy = false;
    if (session !== s) return schedule();
    post({ type: 'error', run, message: (e as Error).message });
    session = null;
    return;
  }
  busy = false;
  // a new run started while this slice awaited the device
  if (session !== s) return schedule();
  const ms = performance.now() - t0;
  rate = { samples: rate.samples * 0.7 + (s.samples - before), ms: rate.ms * 0.7 + ms };
  const done = s.done;
  const masks = steps.length ? s.masks() : null;
  const snapshots = done ? s.snapshotEnsembleReport() : null;
  post({
    type: 'progress',
    run,
    steps,
    epochs,
    samplesPerSec: rate.ms > 0 ? (rate.samples / rate.ms) * 1000 : 0,
    done,
    paused,
    ...(done || epochs.length
      ? { mistakes: s.worstMistakes(8).map((w) => ({ ...w, pixels: s.testSet.images.slice(w.index * 784, (w.index + 1) * 784) })) }
      : {}),
    ...(masks ? { masks } : {}),
    ...(s.snapshots ? { snapshotAt: [...s.snapshots.at] } : {}),
    ...(snapshots ? { snapshots } : {}),
    ...(done && lastRun ? { landscape: landscape(s) } : {}),
    ...(done && ensembleOn ? { ensemble: ensembleStep(s) } : {}),
  });
  if (stepAsked) {
    stepAsked = false;
    void slice(Infinity, 1);
  } else schedule();
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.type === 'init') {
    init(m).catch((e) => post({ type: 'error', run, message: (e as Error).message }));
    return;
  }
  if (m.type === 'augment') {
    try {
      post({ type: 'augmented', images: augmentExamples(data!.train, m.settings), count: m.settings.count });
    } catch (e) {
      post({ type: 'error', run, message: (e as Error).message });
    }
    return;
  }
  if (m.type === 'fmp') {
    try {
      post({ type: 'fmp', index: m.index, seed: m.seed, ...fmpExample(data!.train, m.index, m.seed) });
    } catch (e) {
      post({ type: 'error', run, message: (e as Error).message });
    }
    return;
  }
  if (m.type === 'start') {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    run = m.run;
    paused = m.paused ?? false;
    ensembleOn = m.ensemble === true;
    lastRun = m.last === true;
    if (!ensembleOn) ensembleSum = null;
    rate = { samples: 0, ms: 0 };
    try {
      session = new TrainSession(m.config, data!.train, data!.test);
    } catch (e) {
      session = null;
      post({ type: 'error', run, message: (e as Error).message });
      return;
    }
    device = null;
    stepAsked = false;
    const started = run;
    void chooseBackend(m.config).then((c) => {
      if (run !== started) return;
      device = c.device;
      post({ type: 'backend', run, ...c });
      schedule();
    });
  } else if (m.type === 'pause') {
    paused = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
  } else if (m.type === 'resume') {
    paused = false;
    schedule();
  } else if (m.type === 'step') {
    paused = true;
    if (timer !== null) clearTimeout(timer);
    if (busy) stepAsked = true;
    else void slice(Infinity, 1);
  }
};
