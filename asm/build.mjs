/**
 * Compiles the AssemblyScript kernels (asm/exports.ts and what it imports) with the `assemblyscript`
 * npm package and writes two git-ignored TypeScript files that `npm run build` regenerates:
 *
 *   src/backend/wasm/kernels.generated.ts  the binaries, base64-encoded, so the library compiles
 *       them synchronously in Node and in a browser without fs or fetch. Four variants:
 *       {SIMD128, relaxed SIMD} × {shared memory (threads), unshared (fallback)}.
 *   src/backend/wasm/abi.generated.ts      the boundary as the compiler declares it: the
 *       `KernelExports` interface and each export's arity, from the declarations asc emits with
 *       `--bindings` (each parameter typed by its AssemblyScript type: usize, i32, bool, f64), and
 *       the integer constants of the files in SHARED (the geometry block's slots, the op codes).
 *
 * Skips the work when the sources, the flags, the compiler and this script are unchanged since the
 * last build (both files carry the hash).
 */
import { readFileSync, writeFileSync, readdirSync, existsSync, mkdtempSync, rmSync, renameSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'src', 'backend', 'wasm');
const binFile = join(outDir, 'kernels.generated.ts');
const abiFile = join(outDir, 'abi.generated.ts');
/** Files whose `export const NAME: i32 = <integer>;` lines (`@inline` or not) the TypeScript side reads too. */
const SHARED = ['geometry.ts', 'opcodes.ts'];
const common = [
  join(here, 'exports.ts'),
  '-O3',
  '--runtime',
  'stub',
  '--importMemory',
  '--initialMemory',
  '32',
  '--maximumMemory',
  '16384',
  '--enable',
  'simd',
  '--noAssert',
];
const variants = {
  simdShared: ['--sharedMemory', '--enable', 'threads'],
  relaxedShared: ['--sharedMemory', '--enable', 'threads', '--enable', 'relaxed-simd'],
  simd: [],
  relaxed: ['--enable', 'relaxed-simd'],
};
/** The variant compiled with `--bindings raw` (which leaves the binary unchanged) for its declarations. */
const DECLARED = 'simd';

const sources = readdirSync(here)
  .filter((f) => f.endsWith('.ts'))
  .sort();
const hash = createHash('sha256');
const ascVersion = JSON.parse(readFileSync(join(here, '..', 'node_modules', 'assemblyscript', 'package.json'), 'utf8')).version;
hash.update(JSON.stringify({ common, variants, ascVersion, SHARED, DECLARED }));
hash.update(readFileSync(fileURLToPath(import.meta.url)));
for (const f of sources) hash.update(f).update(readFileSync(join(here, f)));
const digest = hash.digest('hex').slice(0, 16);
const stamp = `export const sourceHash = '${digest}';`;
const current = (f) => existsSync(f) && readFileSync(f, 'utf8').includes(stamp);
if (current(binFile) && current(abiFile)) process.exit(0);

function fail(message) {
  console.error(`asm/build.mjs: ${message}`);
  process.exit(1);
}

/** The `[@inline] export const NAME: i32 = <integer>;` lines of asm/<file>, with the comment that ends each line. */
function sharedConstants(file) {
  const out = [];
  readFileSync(join(here, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!/^(@inline\s+)?export\s+const\b/.test(line)) return;
      const m = /^(?:@inline )?export const ([A-Z][A-Z0-9_]*): i32 = (\d+);\s*(?:\/\/\s*(.*))?$/.exec(line);
      if (!m) fail(`asm/${file}:${i + 1}: a shared constant must read \`[@inline] export const NAME: i32 = <integer>;\`, got: ${line}`);
      out.push({ name: m[1], value: Number(m[2]), note: m[3] });
    });
  return out;
}

/** TypeScript for each AssemblyScript type at the boundary: all are JS numbers (bool is an i32 0 or 1). */
const ABI_TYPES = ['usize', 'i32', 'u32', 'bool', 'f32', 'f64'];

/** The exported functions of asc's --bindings declarations: name, source file, parameters and result with their AssemblyScript types. */
function declaredExports(dts) {
  const fns = [];
  const re = /\/\*\*\s*\n\s*\*\s*(\S+)\n((?:\s*\*.*\n)*?)\s*\*\/\s*\n\s*export function (\w+)\(([^)]*)\): (\w+);/g;
  for (let m; (m = re.exec(dts)); ) {
    const [, origin, doc, name, paramList] = m;
    const types = new Map([...doc.matchAll(/@param (\w+) `(\w+)`/g)].map((p) => [p[1], p[2]]));
    const result = /@returns `(\w+)`/.exec(doc)?.[1] ?? 'void';
    const params = paramList.trim() ? paramList.split(',').map((p) => p.trim().split(':')[0].trim()) : [];
    for (const t of [...params.map((p) => types.get(p)), ...(result === 'void' ? [] : [result])]) {
      if (!ABI_TYPES.includes(t)) {
        fail(`export ${name}: AssemblyScript type ${t} has no mapping at the boundary (expected one of ${ABI_TYPES.join(', ')})`);
      }
    }
    const file = `${origin.slice(0, origin.lastIndexOf('/'))}.ts`;
    fns.push({ name, file, params: params.map((p) => ({ name: p, type: types.get(p) })), result });
  }
  const declared = (dts.match(/export function \w+\(/g) ?? []).length;
  if (fns.length !== declared || fns.length === 0) fail(`read ${fns.length} of the ${declared} functions in asc's declarations`);
  return fns;
}

function abiSource(fns) {
  const lines = [
    `// Generated by asm/build.mjs from asc's declarations of asm/exports.ts and from asm/{${SHARED.join(',')}} — do not edit, do not commit.`,
    stamp,
    '',
    '/** AssemblyScript types at the boundary: each is a JS number (a bool is an i32, 0 or 1). */',
    ...ABI_TYPES.map((t) => `export type ${t} = number;`),
    '',
    "/** The kernels' exports, as the AssemblyScript compiler declares them. */",
    'export interface KernelExports {',
  ];
  for (const f of fns) {
    lines.push(`  /** ${f.file} */`);
    lines.push(`  ${f.name}(${f.params.map((p) => `${p.name}: ${p.type}`).join(', ')}): ${f.result};`);
  }
  lines.push('}', '', "/** Each export's parameter count. */");
  lines.push(`export const KERNEL_ARITY = {\n${fns.map((f) => `  ${f.name}: ${f.params.length},`).join('\n')}\n} as const;`);
  for (const { file, constants } of shared) {
    lines.push('', `// asm/${file}`);
    for (const c of constants) lines.push(`export const ${c.name} = ${c.value};${c.note ? ` // ${c.note}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `text` to a temporary name beside `file`, then renames it (a reader never sees half a file). */
function writeAtomic(file, text) {
  const tmpFile = `${file}.${process.pid}.tmp`;
  writeFileSync(tmpFile, text);
  renameSync(tmpFile, file);
}

// read before compiling, so that a constant the TypeScript side cannot take stops the build at once
const shared = SHARED.map((file) => ({ file, constants: sharedConstants(file) }));

// loading the compiler (binaryen) takes seconds: only when needed
const { default: asc } = await import('assemblyscript/asc');
const tmp = mkdtempSync(join(tmpdir(), 'descent-asc-'));
const bins = ['// Generated by asm/build.mjs from asm/*.ts — do not edit, do not commit.', stamp];
let abi = '';
try {
  for (const [name, flags] of Object.entries(variants)) {
    const out = join(tmp, `${name}.wasm`);
    const bindings = name === DECLARED ? ['--bindings', 'raw'] : [];
    const { error } = await asc.main([...common, ...flags, ...bindings, '-o', out], { stdout: process.stdout, stderr: process.stderr });
    if (error) fail(`compiling the ${name} kernels failed: ${error.message}`);
    bins.push(`export const ${name} = '${readFileSync(out).toString('base64')}';`);
    if (bindings.length) abi = abiSource(declaredExports(readFileSync(join(tmp, `${name}.d.ts`), 'utf8')));
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
writeAtomic(abiFile, abi);
writeAtomic(binFile, `${bins.join('\n')}\n`);
