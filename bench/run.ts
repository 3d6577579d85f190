/**
 * npm run bench [-- --quick] [--only W1,W3] [--peers descent,tfjs-wasm,...]
 *
 * Runs W1–W4 with descent, TensorFlow.js (cpu and wasm backends) and — when /usr/bin/python3 can
 * import torch — PyTorch (2 threads, OpenBLAS OpenMP build), each (framework, workload) in its own
 * process so peak memory is that run's alone. Prints a table and writes bench/results/<date>.json
 * and .md. It measures; it asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKLOADS, type Measurement, type WorkloadId } from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..'); // dist/bench → repo root
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const only = (opt('--only')?.split(',') ?? ['W1', 'W2', 'W3', 'W4']) as WorkloadId[];
const PY = '/usr/bin/python3';
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

const torchOk = spawnSync(PY, ['-c', 'import torch'], { env: { ...process.env, LD_LIBRARY_PATH: OPENBLAS }, encoding: 'utf8' }).status === 0;
const frameworks = opt('--peers')?.split(',') ?? ['descent', 'descent-wasm-memory', 'tfjs-wasm', 'tfjs-cpu', ...(torchOk ? ['pytorch'] : [])];

function runOne(fw: string, w: WorkloadId): Measurement {
  const unit = WORKLOADS[w].unit;
  const cmd = fw === 'pytorch'
    ? [PY, join(root, 'bench', 'torch_bench.py'), w, ...(quick ? ['--quick'] : [])]
    : [process.execPath, '--experimental-wasm-relaxed-simd', join(here, 'child.js'), fw, w, ...(quick ? ['--quick'] : [])];
  const env = fw === 'pytorch' ? { ...process.env, LD_LIBRARY_PATH: OPENBLAS, OMP_NUM_THREADS: '2' } : process.env;
  process.stderr.write(`  ${w} ${fw} ... `);
  const r = spawnSync(cmd[0], cmd.slice(1), { env, encoding: 'utf8', maxBuffer: 1 << 24, timeout: 20 * 60_000 });
  const line = r.stdout?.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').filter(Boolean).pop() ?? '';
    process.stderr.write(`failed: ${why}\n`);
    return { framework: fw, workload: w, value: null, unit, peakMiB: null, note: `failed: ${why.slice(0, 160)}` };
  }
  const m = JSON.parse(line) as Measurement;
  process.stderr.write(m.value === null ? `${m.note}\n` : `${fmt(m.value)} ${m.unit}\n`);
  return m;
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
for (const w of only) for (const fw of frameworks) if (fw !== 'descent-wasm-memory' || w === 'W3') results.push(runOne(fw, w));

// The table: one row per (workload, framework), ratio of descent's figure to the peer's.
const lines: string[] = [];
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const date = new Date().toISOString();
lines.push(`Benchmark run ${date} on ${cpus().length} × ${cpu}, Node ${process.version}${quick ? ' (--quick: few steps, noisy)' : ''}.`);
lines.push('');
lines.push('| workload | framework | result | peak memory (MiB) | descent ÷ framework (samples/s: > 1 is descent faster; ms: < 1 is descent faster) | notes |');
lines.push('|---|---|---|---|---|---|');
for (const w of only) {
  const ours = results.find((r) => r.workload === w && r.framework === 'descent');
  for (const r of results.filter((x) => x.workload === w)) {
    const ratio = ours?.value != null && r.value != null && r !== ours ? `${(ours.value / r.value).toFixed(2)}×` : '';
    const extra = r.extra ?? {};
    const notes = [r.note, w === 'W4' && r === ours ? reachNote(r, results.find((x) => x.workload === w && x.framework === 'pytorch')) : '', extra.finalLoss !== undefined ? `final loss ${Number(extra.finalLoss).toFixed(5)}${extra.evaluations !== undefined ? ` after ${extra.evaluations} evaluations` : ''}` : '', Array.isArray(extra.rssMiB) ? `RSS ${(extra.rssMiB as number[]).join('→')} MiB` : '']
      .filter(Boolean).join('; ');
    lines.push(`| ${w} ${WORKLOADS[w].unit === 'ms' ? '(ms, lower is better)' : '(samples/s, higher is better)'} | ${r.framework} | ${fmt(r.value)} | ${r.peakMiB == null ? '—' : Math.round(r.peakMiB)} | ${ratio} | ${notes} |`);
  }
}
lines.push('');
for (const w of only) lines.push(`- ${w}: ${WORKLOADS[w].title}`);
const md = lines.join('\n') + '\n';
process.stdout.write('\n' + md);

const outDir = join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const stamp = date.replace(/:/g, '-').replace(/\..*/, '');
const name = `${stamp}${quick ? '-quick' : ''}`;
writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ date, quick, cpu, cores: cpus().length, node: process.version, results }, null, 2) + '\n');
writeFileSync(join(outDir, `${name}.md`), md);
process.stderr.write(`wrote bench/results/${name}.json and .md\n`);
