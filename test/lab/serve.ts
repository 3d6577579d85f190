/**
 * The lab as the browser tests see it: built by Vite (lab/vite.config.ts) into a temporary folder
 * and served on 127.0.0.1 at a free port by a static server that serves only files inside that folder.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the tests run from dist/test/lab; DESCENT_REPO overrides). */
export const repo = process.env.DESCENT_REPO ?? fileURLToPath(new URL('../../../', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.gz': 'application/gzip',
};

export interface ServedLab {
  /** The built files. */
  outDir: string;
  /** The page's address, ending in '/'. */
  base: string;
  /** Stops the server and deletes outDir. */
  close(): Promise<void>;
}

/** Builds the lab into a new temporary folder named `prefix…` and serves it, cross-origin isolated. */
export async function buildAndServeLab(prefix = 'descent-lab-'): Promise<ServedLab> {
  const outDir = mkdtempSync(join(tmpdir(), prefix));
  try {
    const { build } = await import('vite');
    await build({ configFile: join(repo, 'lab', 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  } catch (e) {
    rmSync(outDir, { recursive: true, force: true });
    throw e;
  }
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = resolve(outDir, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (!file.startsWith(outDir + sep) || !existsSync(file) || statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    // the hosting headers docs/lab-training.md asks for: cross-origin isolation, so workers get threads
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  const close = async () => {
    await new Promise<void>((ok) => server.close(() => ok()));
    rmSync(outDir, { recursive: true, force: true });
  };
  return { outDir, base, close };
}
