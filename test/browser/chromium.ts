/**
 * The Chromium the browser tests drive through playwright-core. In order:
 *   1. `CHROMIUM_PATH`, when set (it must exist);
 *   2. Debian's `/usr/bin/chromium`, when installed and not hidden by `DESCENT_TEST_NO_SYSTEM_CHROMIUM=1`;
 *   3. the headless Chromium inside the `@sparticuz/chromium` npm package (a dev dependency), which
 *      unpacks itself into the temporary folder on first use, so `npm install && npm test` needs no
 *      system package. Its binary links against NSS, NSPR and expat; the package ships those
 *      libraries too (bin/al2023.tar.br), unpacked here beside it and put first on the browser's
 *      LD_LIBRARY_PATH, so a machine without them (a bare Node image) runs it as well.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';

export interface Chromium {
  executablePath: string;
  /** Command-line switches this build needs besides the test's own. */
  args: string[];
  /** Environment for the browser process (undefined: the test's own). */
  env?: Record<string, string>;
  source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';
}

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

export async function findChromium(): Promise<Chromium> {
  const given = process.env.CHROMIUM_PATH;
  if (given !== undefined && given !== '') {
    if (!existsSync(given))
      throw new Error(`CHROMIUM_PATH=${given}: no such file; unset it to use ${SYSTEM_CHROMIUM} or @sparticuz/chromium`);
    return { executablePath: given, args: [], source: 'CHROMIUM_PATH' };
  }
  if (process.env.DESCENT_TEST_NO_SYSTEM_CHROMIUM !== '1' && existsSync(SYSTEM_CHROMIUM)) {
    return { executablePath: SYSTEM_CHROMIUM, args: [], source: 'system' };
  }
  const { default: packaged } = await import('@sparticuz/chromium');
  const executablePath = await packaged.executablePath();
  const bin = join(dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium')), '..', '..', 'bin');
  const libs = unpackLibraries(join(bin, 'al2023.tar.br'), join(tmpdir(), 'descent-chromium-libs'));
  const inherited = process.env.LD_LIBRARY_PATH;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env.LD_LIBRARY_PATH = inherited ? `${libs}:${inherited}` : libs;
  // The package's build is a headless shell made for containers: no zygote process, no sandbox.
  return { executablePath, args: ['--no-zygote', '--headless=shell'], env, source: '@sparticuz/chromium' };
}

/**
 * Unpack the regular files of a Brotli-compressed tar archive's `lib/` folder into `dest` (once:
 * an existing `dest` is taken as complete, since it appears only by a rename of a finished folder).
 */
function unpackLibraries(archive: string, dest: string): string {
  if (existsSync(dest)) return dest;
  const tar = brotliDecompressSync(readFileSync(archive));
  const tmp = mkdtempSync(`${dest}-`);
  for (let at = 0; at + 512 <= tar.length; ) {
    const field = (from: number, length: number) =>
      tar
        .subarray(at + from, at + from + length)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const name = field(0, 100);
    if (name === '') break;
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const m = /^lib\/([^/]+)$/.exec(name);
    if ((type === '0' || type === '') && m) writeFileSync(join(tmp, m[1]), tar.subarray(at + 512, at + 512 + size), { mode: 0o755 });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  try {
    renameSync(tmp, dest);
  } catch (e) {
    // Another test process unpacked the same files first.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dest)) throw e;
  }
  return dest;
}

type Browser = import('playwright-core').Browser;
type BrowserContext = import('playwright-core').BrowserContext;
type ContextOptions = NonNullable<Parameters<import('playwright-core').BrowserType['launchPersistentContext']>[1]>;

/** Switches every browser test passes: headless, no sandbox or GPU, no background network traffic. */
const TEST_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The Chromium findChromium finds, launched headless through playwright-core with the tests' switches. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const found = await findChromium();
  return chromium.launch({ executablePath: found.executablePath, env: found.env, headless: true, args: [...TEST_ARGS, ...found.args] });
}

/**
 * As launchChromium, as one context with a profile folder of its own (`profile`), e.g. to keep
 * storage across pages; `options.env` is set over the browser's environment.
 */
export async function launchChromiumContext(profile: string, options: ContextOptions = {}): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  const found = await findChromium();
  const inherited: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) inherited[k] = v;
  return chromium.launchPersistentContext(profile, {
    ...options,
    executablePath: found.executablePath,
    env: options.env ? { ...(found.env ?? inherited), ...options.env } : found.env,
    headless: true,
    args: [...TEST_ARGS, ...found.args],
  });
}
