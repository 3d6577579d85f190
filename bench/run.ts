/**
 * npm run bench [-- --quick] [--only W1,W3] [--peers descent,tfjs-wasm,...] [--out DIR] [--gpu-batch W1=1024,W2=512]
 *
 * --gpu-batch sets the batch of the GPU rows, descent-webgpu(-autotune) and tfjs-webgpu (default: the workload's, 128 and 64).
 *
 * Runs W1–W6 with descent, TensorFlow.js (cpu and wasm backends) and — when /usr/bin/python3 can
 * import torch — PyTorch (2 threads, OpenBLAS OpenMP build), and W1–W2 on WebGPU with descent
 * (descent-webgpu) and TensorFlow.js (tfjs-webgpu, on the same Dawn and adapter) when a WebGPU
 * adapter exists (probeWebGPU in src/cli/backend.ts; a software one, e.g. lavapipe through
 * `eval "$(bash tools/lavapipe.sh)"`, gives rows marked "software adapter"), and on a hardware adapter
 * descent-webgpu-autotune (each product's tile timed on the device first, initWebGPU's `autotune`);
 * the descent-webgpu rows' notes give their ratio to tfjs-webgpu. Each (framework, workload) runs in its own
 * process so peak memory is that run's alone (the samples/s workloads W1, W2, W5 and W6 interleaved across
 * those processes, see runInterleaved). Prints a table and writes bench/results/<date>.json
 * and .md (or DIR/<date>.json and .md with --out DIR; the folder is checked before the first
 * measurement and the files are written with writeFileAtomic). It measures; it asserts nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { checkWritableDir, writeFileAtomic } from '../src/io/files.js';
import { probeWebGPU } from '../src/cli/backend.js';
import {
  LEAD_MS,
  ON_GPU_WORKLOADS,
  SEGMENTS,
  WORKLOADS,
  fastestSegmentSamplesPerSec,
  isGpuWorkload,
  isInterleaved,
  median,
  segmentSize,
  type InterleavedWorkload,
  type Measurement,
  type WorkloadId,
} from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..'); // dist/bench → repo root
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ids = Object.keys(WORKLOADS) as WorkloadId[];
const only = (opt('--only')?.split(',') ?? ids) as WorkloadId[];
for (const w of only)
  if (!ids.includes(w)) {
    process.stderr.write(`bench --only: expected workloads among ${ids.join(', ')}, got "${w}"\n`);
    process.exit(2);
  }
const gpuBatch = new Map<string, string>();
for (const item of opt('--gpu-batch')?.split(',') ?? []) {
  const [w, b] = item.split('=');
  if (!isGpuWorkload(w) || !/^[1-9][0-9]*$/.test(b ?? '')) {
    process.stderr.write(
      `bench --gpu-batch: expected ${ON_GPU_WORKLOADS.map((g) => `${g}=N`).join(',')} with positive integers, got "${item}"\n`,
    );
    process.exit(2);
  }
  gpuBatch.set(w, b);
}
const PY = '/usr/bin/python3';
const outDir = opt('--out') ?? join(root, 'bench', 'results');
try {
  checkWritableDir(outDir, 'bench --out');
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
/** Untimed steps before each timed segment of an interleaved workload (ms), see LEAD_MS. */
const leadMs = quick ? LEAD_MS.quick : LEAD_MS.full;
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

const torchOk =
  spawnSync(PY, ['-c', 'import torch'], { env: { ...process.env, LD_LIBRARY_PATH: OPENBLAS }, encoding: 'utf8' }).status === 0;
/** The WebGPU adapter, or why there is none (asked in a child process: Dawn never enters this one). */
const webgpu = probeWebGPU();
const frameworks = opt('--peers')?.split(',') ?? [
  'descent',
  'descent-js-array',
  ...(webgpu.adapter !== undefined ? ['descent-webgpu', 'tfjs-webgpu'] : []),
  // tuning on a software adapter would time the CPU's driver, and take minutes at the GPU batches
  ...(webgpu.adapter !== undefined && !webgpu.software ? ['descent-webgpu-autotune'] : []),
  'tfjs-wasm',
  'tfjs-cpu',
  ...(torchOk ? ['pytorch'] : []),
];
if (webgpu.adapter === undefined) process.stderr.write(`bench: no descent-webgpu or tfjs-webgpu rows (${webgpu.error})\n`);
/** The frameworks that train on the GPU: ON_GPU_WORKLOADS only (W1, W2), at --gpu-batch's batches. */
const ON_GPU = new Set(['descent-webgpu', 'descent-webgpu-autotune', 'tfjs-webgpu']);
// Without Debian's OpenMP OpenBLAS, PyTorch 1.13 multiplies with the reference BLAS (a W1 step
// takes ~37 ms instead of ~1.4 ms): its rows would not be PyTorch's speed.
if (frameworks.includes('pytorch') && !existsSync(OPENBLAS)) {
  process.stderr.write(
    `bench: ${OPENBLAS} is missing, so PyTorch would run on the reference BLAS; apt-get install libopenblas0-openmp for fair PyTorch rows\n`,
  );
  process.exit(2);
}

/**
 * glibc's malloc settings for every child. By default glibc returns freed memory at the top of its
 * heap to the kernel and serves blocks of 128 KiB and more with fresh mmaps, so a framework that
 * allocates its tensors per op touches new pages every step. On this VM (Firecracker, free page
 * reporting) a first touch is costly: PyTorch's W1 ran at 14–18 k samples/s and its 10 M Adam step
 * took 140–230 ms with the defaults, against 70–97 k and 9–18 ms with these (the issue's reference
 * figures are 67–86 k and ~36 ms). Keeping the memory once obtained makes the peers fast, as they are
 * on a machine without that cost; descent and TensorFlow.js get the same settings.
 */
const MALLOC_KEEP = { MALLOC_TOP_PAD_: String(2 ** 30), MALLOC_TRIM_THRESHOLD_: String(2 ** 36), MALLOC_MMAP_THRESHOLD_: String(2 ** 32) };

function command(fw: string, w: WorkloadId): { cmd: string[]; env: NodeJS.ProcessEnv } {
  const cmd =
    fw === 'pytorch'
      ? [PY, join(root, 'bench', 'torch_bench.py'), w, ...(quick ? ['--quick'] : [])]
      : [
          process.execPath,
          '--experimental-wasm-relaxed-simd',
          join(here, 'child.js'),
          fw,
          w,
          ...(quick ? ['--quick'] : []),
          ...(ON_GPU.has(fw) && gpuBatch.has(w) ? ['--batch', gpuBatch.get(w)!] : []),
        ];
  const env =
    fw === 'pytorch'
      ? { ...process.env, ...MALLOC_KEEP, LD_LIBRARY_PATH: OPENBLAS, OMP_NUM_THREADS: '2' }
      : { ...process.env, ...MALLOC_KEEP };
  return { cmd, env };
}

/** The line of a child's stderr that says why it failed (Node ends an uncaught error with its version). */
const lastError = (stderr: string): string => {
  const ls = stderr.trim().split('\n').filter(Boolean);
  return ls.filter((l) => /error/i.test(l)).pop() ?? ls.pop() ?? '';
};

const failed = (fw: string, w: WorkloadId, why: string): Measurement => {
  process.stderr.write(`  ${w} ${fw} failed: ${why}\n`);
  return { framework: fw, workload: w, value: null, unit: WORKLOADS[w].unit, peakMiB: null, note: `failed: ${why.slice(0, 160)}` };
};

/** W3, W4: one process per framework, one after another. */
function runOne(fw: string, w: WorkloadId): Measurement {
  const { cmd, env } = command(fw, w);
  process.stderr.write(`  ${w} ${fw} ... `);
  const r = spawnSync(cmd[0], cmd.slice(1), { env, encoding: 'utf8', maxBuffer: 1 << 24, timeout: 20 * 60_000 });
  const line = r.stdout
    ?.trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (r.status !== 0 || !line) {
    process.stderr.write('\n');
    return failed(fw, w, lastError(r.stderr || r.error?.message || `exit ${r.status}`));
  }
  const m = JSON.parse(line) as Measurement;
  process.stderr.write(m.value === null ? `${m.note}\n` : `${fmt(m.value)} ${m.unit}\n`);
  return m;
}

/** A benchmark child speaking the segment protocol of the interleaved workloads: one JSON object per stdout line. */
class Child {
  private proc: ChildProcess;
  private lines: string[] = [];
  private waiting?: () => void;
  private closed = false;
  private stderr = '';

  constructor(
    readonly fw: string,
    w: WorkloadId,
  ) {
    const { cmd, env } = command(fw, w);
    this.proc = spawn(cmd[0], cmd.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdin!.on('error', () => {}); // a dead child: reported by reply()
    this.proc.stderr!.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      if (l.startsWith('{')) {
        this.lines.push(l);
        this.waiting?.();
      }
    });
    this.proc.on('close', (code, signal) => {
      this.closed = true;
      this.stderr ||= `exit ${code ?? signal}`;
      this.waiting?.();
    });
    this.proc.on('error', (e) => {
      this.stderr = e.message;
    });
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** The next JSON line; throws (with the child's last stderr line) if it exits or takes longer than `ms`. */
  async reply(ms: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    while (!this.lines.length) {
      if (this.closed) throw new Error(lastError(this.stderr));
      if (Date.now() >= deadline) throw new Error(`no reply within ${ms / 1000} s`);
      await new Promise<void>((done) => {
        const timer = setTimeout(done, deadline - Date.now());
        this.waiting = () => {
          clearTimeout(timer);
          done();
        };
      });
      this.waiting = undefined;
    }
    return JSON.parse(this.lines.shift()!);
  }

  kill(): void {
    if (!this.closed) this.proc.kill('SIGKILL');
  }
}

/**
 * The interleaved workloads (W1, W2, W5, W6): every framework's child is started at once and sets up and
 * warms up; then in each of SEGMENTS rounds each one in turn (the order rotated by one per round) runs
 * a segment of timed steps while the others wait on stdin. The VM's speed drifts by ±30 % from minute to minute; so every
 * framework samples the same minutes and the ratios compare like with like.
 */
async function runInterleaved(w: InterleavedWorkload, fws: string[]): Promise<Measurement[]> {
  const kids = fws.map((fw) => new Child(fw, w));
  const done = new Map<string, Measurement>();
  const fail = (k: Child, e: unknown) => {
    done.set(k.fw, failed(k.fw, w, (e as Error).message));
    k.kill();
  };
  const { steps, budgetMs } = segmentSize(w, quick);
  process.stderr.write(`  ${w}: setting up ${fws.join(', ')} ...\n`);
  try {
    await Promise.all(
      kids.map(async (k) => {
        try {
          const m = await k.reply(20 * 60_000);
          if (m.ready !== true) {
            done.set(k.fw, m as unknown as Measurement);
            process.stderr.write(`  ${w} ${k.fw}: ${(m as unknown as Measurement).note}\n`);
          }
        } catch (e) {
          fail(k, e);
        }
      }),
    );
    const ready = kids.filter((k) => !done.has(k.fw));
    const rounds = quick ? SEGMENTS.quick : SEGMENTS.full;
    // the total budget, as when each framework ran alone: one whose timed steps (at least two)
    // already took longer is not asked again (tfjs-cpu's W2 step takes ~90 s)
    const spent = new Map(ready.map((k) => [k.fw, { ms: 0, steps: 0 }]));
    // A warm-up round first, one framework at a time (the set-up warm-ups ran all at once, and a
    // JIT needs more than 10 steps: descent's first timed segments were 10-40 % slower than its
    // later ones); its steps are not measured.
    const warm: string[] = [];
    for (const k of ready) {
      try {
        k.send(`warm ${steps} ${budgetMs}`);
        const times = (await k.reply(10 * 60_000)).times as number[];
        warm.push(`${k.fw} ${median(times).toFixed(2)} ms × ${times.length}`);
      } catch (e) {
        fail(k, e);
      }
    }
    process.stderr.write(`  ${w} warm-up round (not measured): ${warm.join(', ')}\n`);
    for (let r = 0; r < rounds; r++) {
      const report: string[] = [];
      for (let i = 0; i < ready.length; i++) {
        const k = ready[(i + r) % ready.length];
        const sofar = spent.get(k.fw)!;
        if (done.has(k.fw) || (sofar.steps >= 2 && sofar.ms >= budgetMs * rounds)) continue;
        try {
          k.send(`run ${steps} ${budgetMs} ${leadMs}`);
          const times = (await k.reply(10 * 60_000)).times as number[];
          sofar.ms += times.reduce((a, b) => a + b, 0);
          sofar.steps += times.length;
          report.push(`${k.fw} ${median(times).toFixed(2)} ms × ${times.length}`);
        } catch (e) {
          fail(k, e);
        }
      }
      process.stderr.write(`  ${w} round ${r + 1}/${rounds} (median step): ${report.join(', ')}\n`);
    }
    for (const k of ready.filter((x) => !done.has(x.fw))) {
      try {
        k.send('done');
        const m = (await k.reply(10 * 60_000)) as unknown as Measurement;
        done.set(k.fw, m);
        process.stderr.write(`  ${w} ${k.fw}: ${fmt(m.value)} ${m.unit}\n`);
      } catch (e) {
        fail(k, e);
      }
    }
  } finally {
    for (const k of kids) k.kill();
  }
  return fws.map((fw) => done.get(fw)!);
}

function fmt(v: number | null): string {
  if (v === null) return '—';
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2);
}

/**
 * W4: when descent's loss first gets within 1e-4 of PyTorch's final loss (from descent's
 * per-evaluation trace), as a time and as a multiple of PyTorch's whole run.
 */
function reachNote(ours: Measurement, torch: Measurement | undefined): string {
  const target = torch?.extra?.finalLoss as number | undefined;
  const trace = ours.extra?.trace as [number, number][] | undefined;
  if (target === undefined || !trace || torch?.value == null) return '';
  const hit = trace.find(([, loss]) => loss <= target + 1e-4);
  return hit
    ? `reaches PyTorch's final loss + 1e-4 (${(target + 1e-4).toFixed(5)}) after ${fmt(hit[0])} ms = ${(hit[0] / torch.value).toFixed(2)}× PyTorch's time`
    : `does not reach PyTorch's final loss + 1e-4 (${(target + 1e-4).toFixed(5)}) in 200 iterations`;
}

const results: Measurement[] = [];
process.stderr.write(`descent benchmark${quick ? ' (--quick)' : ''}: ${only.join(', ')} × ${frameworks.join(', ')}\n`);
for (const w of only) {
  const fws = frameworks.filter((fw) => (fw !== 'descent-js-array' || w === 'W3') && (!ON_GPU.has(fw) || isGpuWorkload(w)));
  if (isInterleaved(w)) results.push(...(await runInterleaved(w, fws)));
  else for (const fw of fws) results.push(runOne(fw, w));
}

/** An interleaved row's fastest segment, and for a peer descent's fastest ÷ its fastest. */
function fastestNote(r: Measurement, ours: Measurement | undefined): string {
  const mine = fastestSegmentSamplesPerSec(r);
  if (mine === null) return '';
  const descent = ours && ours !== r ? fastestSegmentSamplesPerSec(ours) : null;
  return `fastest segment ${fmt(mine)}${descent !== null ? ` (descent's fastest ÷ it: ${(descent / mine).toFixed(2)}×)` : ''}`;
}

// The table: one row per (workload, framework), ratio of descent's figure to the peer's.
const lines: string[] = [];
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const date = new Date().toISOString();
lines.push(`Benchmark run ${date} on ${cpus().length} × ${cpu}, Node ${process.version}${quick ? ' (--quick: few steps, noisy)' : ''}.`);
lines.push('');
lines.push(
  '| workload | framework | result | peak memory (MiB) | descent ÷ framework (samples/s: > 1 is descent faster; ms: < 1 is descent faster) | notes |',
);
lines.push('|---|---|---|---|---|---|');
for (const w of only) {
  const ours = results.find((r) => r.workload === w && r.framework === 'descent');
  const gpuPeer = results.find((r) => r.workload === w && r.framework === 'tfjs-webgpu');
  for (const r of results.filter((x) => x.workload === w)) {
    const ratio = ours?.value != null && r.value != null && r !== ours ? `${(ours.value / r.value).toFixed(2)}×` : '';
    const extra = r.extra ?? {};
    const notes = [
      r.note,
      r.framework.startsWith('descent-webgpu') && r.value != null && gpuPeer?.value != null
        ? `${(r.value / gpuPeer.value).toFixed(2)}× tfjs-webgpu (same adapter and batch)`
        : '',
      w === 'W4' && r === ours
        ? reachNote(
            r,
            results.find((x) => x.workload === w && x.framework === 'pytorch'),
          )
        : '',
      fastestNote(r, ours),
      typeof extra.hostMsMedian === 'number' && r.value != null && typeof extra.batch === 'number'
        ? `host ${extra.hostMsMedian.toFixed(2)} ms of a ${((1000 * extra.batch) / r.value).toFixed(2)} ms step`
        : '',
      extra.finalLoss !== undefined
        ? `final loss ${Number(extra.finalLoss).toFixed(5)}${extra.evaluations !== undefined ? ` after ${extra.evaluations} evaluations` : ''}`
        : '',
      Array.isArray(extra.rssMiB) ? `RSS ${(extra.rssMiB as number[]).join('→')} MiB` : '',
    ]
      .filter(Boolean)
      .join('; ');
    lines.push(
      `| ${w} ${WORKLOADS[w].unit === 'ms' ? '(ms, lower is better)' : '(samples/s, higher is better)'} | ${r.framework} | ${fmt(r.value)} | ${r.peakMiB == null ? '—' : Math.round(r.peakMiB)} | ${ratio} | ${notes} |`,
    );
  }
}
lines.push('');
const segs = quick ? SEGMENTS.quick : SEGMENTS.full;
const interleaved = only.filter(isInterleaved);
if (interleaved.length) {
  lines.push(
    `${interleaved.join(', ')} ${interleaved.length > 1 ? 'were' : 'was'} measured interleaved: all frameworks' processes set up at once, then one untimed warm-up segment each and ${segs} segments of timed steps per framework (fewer only for one whose steps exceed the total time budget), one framework computing at a time, in an order rotated by one each round. Each timed segment follows ${leadMs / 1000} s of untimed steps (none for a framework whose step takes longer than half of that): on this VM a process that has just been idle for seconds runs slower for seconds. This VM's speed drifts by up to ±30 % from minute to minute; interleaving gives every framework the same conditions, so the ratios do not depend on which minute each one ran in. It also switches between two speeds within seconds (one of its two vCPUs slowed: a framework on two threads then runs ~1.5× slower, one on one thread does not), and a switch that falls on some frameworks' segments and not others' moves the ratio of medians; each row's notes therefore also give its fastest segment, and descent's fastest ÷ the peer's.`,
  );
  lines.push('');
}
lines.push(
  `Every process ran with glibc's malloc told to keep the memory it has obtained (${Object.entries(MALLOC_KEEP)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}): with the defaults, page faults on this VM slowed PyTorch's W1 about 5× and its W3 about 10×.`,
);
lines.push('');
for (const w of only) lines.push(`- ${w}: ${WORKLOADS[w].title}`);
const md = `${lines.join('\n')}\n`;
process.stdout.write(`\n${md}`);

mkdirSync(outDir, { recursive: true });
const stamp = date.replace(/:/g, '-').replace(/\..*/, '');
const name = `${stamp}${quick ? '-quick' : ''}`;
writeFileAtomic(
  join(outDir, `${name}.json`),
  `${JSON.stringify({ date, quick, cpu, cores: cpus().length, node: process.version, env: MALLOC_KEEP, results }, null, 2)}\n`,
);
writeFileAtomic(join(outDir, `${name}.md`), md);
process.stderr.write(`wrote ${join(outDir, name)}.json and .md\n`);
