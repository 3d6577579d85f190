// The lab: a static app that imports the library from ../src (no copy of its math).
// `npm run lab` serves it; `npm run lab:build` writes lab/dist (relative URLs, any static host).
// Two pages: index.html (optimizers on surfaces) and train.html (real networks, docs/lab-training.md),
// which loads the embedded data set from ../data (publicDir: served at the root, copied to dist).
// COOP/COEP make the pages cross-origin isolated, so the training worker gets shared memory and threads.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root,
  base: './',
  publicDir: fileURLToPath(new URL('../data', import.meta.url)),
  server: { host: '127.0.0.1', port: 5173, fs: { allow: [repo] }, headers: isolation },
  preview: { host: '127.0.0.1', port: 4173, headers: isolation },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
    rollupOptions: {
      input: { index: fileURLToPath(new URL('index.html', import.meta.url)), train: fileURLToPath(new URL('train.html', import.meta.url)) },
    },
  },
});
