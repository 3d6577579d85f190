#!/usr/bin/env bash
# Packs into .gpu-peers/ (ignored by git) what the tfjs-webgpu bench rows need on a bare GPU machine
# beside .gpu-kit (node, Dawn): TensorFlow.js 4.22's core, layers and webgpu backend — each package's
# package.json and Node bundle only, the bundles import nothing else but seedrandom — and seedrandom,
# from this checkout's node_modules (npm ci first). About 4 MiB; tools/gpu-measure.sh copies it into
# node_modules on the GPU machine.
#
#   bash tools/gpu-peers.sh        # here; then carry ".gpu-peers" with ".gpu-kit" and "dist"
set -eu
P=.gpu-peers/node_modules
rm -rf .gpu-peers
for pkg in tfjs-core:tf-core tfjs-layers:tf-layers tfjs-backend-webgpu:tf-backend-webgpu; do
  name=${pkg%%:*} bundle=${pkg##*:}
  src=node_modules/@tensorflow/$name
  [ -f "$src/dist/$bundle.node.js" ] || { echo "gpu-peers: $src/dist/$bundle.node.js is missing; run npm ci" >&2; exit 2; }
  mkdir -p "$P/@tensorflow/$name/dist"
  cp "$src/package.json" "$P/@tensorflow/$name/"
  cp "$src/dist/$bundle.node.js" "$P/@tensorflow/$name/dist/"
done
cp -r node_modules/seedrandom "$P/"
du -sh .gpu-peers | awk '{print "built .gpu-peers: " $1}'
