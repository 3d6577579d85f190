#!/usr/bin/env bash
# The WebGPU backend's figures on a GPU machine, in one device call (docs/webgpu.md, "On a GPU"):
#
#   bash ../shared/tools/gpu-kit/build.sh && bash tools/gpu-peers.sh && npm run build
#                                        # here: the kit (~28 MiB), the TF.js bundles (~4 MiB), dist/
#   then through the device tool, with carry [".gpu-kit", ".gpu-peers", "dist"]:
#   bash tools/gpu-measure.sh            # ~5 minutes on an H100 (estimated; the bench rows take most)
#
# Writes under $OUT (the device tool's folder; ./gpu-measure elsewhere): the 4096² matmul's TFLOP/s
# (matmul-4096.json; matmul-4096-autotune.json under the shape the tuner chose), the CNN step's
# products one kernel at a time at batch 512, each with every tile shape (kernels-512.jsonl), the
# matmul's tile shapes at 4096², 2048² and 1024² (tiles.jsonl), then the bench's W1 and W2 rows of
# descent-webgpu (with each step's host time), descent-webgpu-autotune (the same with each
# product's tile timed on the device first; its .json lists the shapes chosen) and — when
# .gpu-peers was carried — tfjs-webgpu (TensorFlow.js's webgpu backend on the same Dawn and
# adapter, the issue's 10× peer) at the criteria's batches (W1 1024, W2 512) and at the workloads'
# own (128, 64), each as the bench's .json and .md; then each step's kernels by device time at the
# criteria's batches (tools/webgpu-profile.ts: profile-W1-1024.jsonl, profile-W2-512.jsonl), and
# steps.log with each measurement's seconds (the dry run here: 100 s, the two bench runs 64 of it). A bare
# GPU machine has no Fashion-MNIST: the bench then draws its batches from the embedded subset and
# says so.
#
#   bash tools/gpu-measure.sh --dry      # here, before a device call: the same steps at small sizes
#                                        # with this machine's node (eval "$(bash tools/lavapipe.sh)" first)
set -u
out=${OUT:-gpu-measure}
mkdir -p "$out"
if [ "${1:-}" = --dry ]; then
  kit() { "$@"; }
  n=256 tiles=256,128 batch=4 secs=0.05 big=W1=64,W2=8 own="--gpu-batch W1=32,W2=4" prof="W1 64 3 W2 8 2"
else
  kit() { bash .gpu-kit/run.sh "$@"; }
  n=4096 tiles=4096,2048,1024 batch=512 secs=0.3 big=W1=1024,W2=512 own= prof="W1 1024 20 W2 512 10"
fi
kit node -e 'console.log(process.version)' || { echo "gpu-measure: .gpu-kit/run.sh failed; build the kit first" >&2; exit 2; }
# each measurement's seconds, and the total so far, on stderr and in $out/steps.log: where a run's
# time went, for sizing the next one
timed() {
  local s=$SECONDS rc
  kit "$@"
  rc=$?
  echo "gpu-measure: ${*:2:4}: $((SECONDS - s)) s (rc $rc), $SECONDS s in all" | tee -a "$out/steps.log" >&2
  return $rc
}
peers=descent-webgpu,descent-webgpu-autotune
if [ -d .gpu-peers/node_modules ]; then
  cp -r .gpu-peers/node_modules/. node_modules/
  peers=$peers,tfjs-webgpu
else
  echo "gpu-measure: no .gpu-peers (bash tools/gpu-peers.sh): the tfjs-webgpu rows are left out" >&2
fi
timed node dist/tools/webgpu-matmul.js $n 3 | tee "$out/matmul-$n.json"
timed node dist/tools/webgpu-matmul.js $n 3 autotune | tee "$out/matmul-$n-autotune.json"
timed node dist/tools/webgpu-kernels.js $batch $secs all | tee "$out/kernels-$batch.jsonl"
timed node dist/tools/webgpu-tiles.js $tiles 1 | tee "$out/tiles.jsonl"
timed node dist/bench/run.js --quick --only W1,W2 --peers "$peers" --gpu-batch $big --out "$out"
timed node dist/bench/run.js --quick --only W1,W2 --peers "$peers" $own --out "$out"
# last, so a run cut short by its time limit has the figures above: each step's kernels by device time
set -- $prof
timed node dist/tools/webgpu-profile.js $1 $2 $3 | tee "$out/profile-$1-$2.jsonl"
timed node dist/tools/webgpu-profile.js $4 $5 $6 | tee "$out/profile-$4-$5.jsonl"
