/**
 * The package's licence: package.json says MIT, the LICENSE file says so too, names the embedded
 * Fashion-MNIST subset's own MIT notice (© Zalando SE), and npm ships it with the data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

test("LICENSE states MIT for descent and carries Zalando's MIT notice for the embedded Fashion-MNIST subset", () => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  assert.equal(pkg.license, 'MIT');
  const text = readFileSync(join(repo, 'LICENSE'), 'utf8');
  assert.match(text, /^MIT License\n\nCopyright \(c\) \d{4} the descent authors\n/);
  const notices = text.match(/Permission is hereby granted, free of charge/g) ?? [];
  assert.equal(notices.length, 2, 'the MIT permission notice for descent and for Fashion-MNIST');
  assert.match(text, /data\/fashion-mnist-subset\/[\s\S]*Fashion-MNIST[\s\S]*Copyright \(c\) 2017 Zalando SE/);
  assert.match(readFileSync(join(repo, 'data', 'README.md'), 'utf8'), /Zalando SE under the MIT licence[\s\S]*LICENSE/);
});

test('npm packs LICENSE together with the embedded data', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
  assert.ok(files.includes('LICENSE'), 'LICENSE is packed');
  assert.ok(files.includes('data/fashion-mnist-subset/train-images-idx3-ubyte.gz'), 'the data is packed');
  assert.ok(files.includes('data/README.md'), "the data's README is packed");
});
