#!/usr/bin/env bash
# The WebGPU backend's figures on a GPU machine, in one device call (docs/webgpu.md, "On a GPU"):
#
#   bash ../shared/tools/gpu-kit/build.sh && npm run build      # here: the kit (~28 MiB) and dist/
#   then through the device tool, with carry [".gpu-kit", "dist"]:
#   bash tools/gpu-measure.sh                                   # ~3 minutes on an H100
#
# Writes under $OUT (the device tool's folder; ./gpu-measure elsewhere): the 4096² matmul's TFLOP/s
# (matmul-4096.json), then the bench's descent-webgpu rows at the criteria's batches (W1 1024, W2
# 512) and at the workloads' own (128, 64), each as the bench's .json and .md. A bare GPU machine has
# no Fashion-MNIST: the bench then draws its batches from the embedded subset and says so.
set -u
out=${OUT:-gpu-measure}
mkdir -p "$out"
kit() { bash .gpu-kit/run.sh "$@"; }
kit node -e 'console.log(process.version)' || { echo "gpu-measure: .gpu-kit/run.sh failed; build the kit first" >&2; exit 2; }
kit node dist/tools/webgpu-matmul.js 4096 3 | tee "$out/matmul-4096.json"
kit node dist/bench/run.js --quick --only W1,W2 --peers descent-webgpu --gpu-batch W1=1024,W2=512 --out "$out"
kit node dist/bench/run.js --quick --only W1,W2 --peers descent-webgpu --out "$out"
