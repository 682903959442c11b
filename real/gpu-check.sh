#!/usr/bin/env bash
# The GPU validation of real mode, end to end in a few minutes, for a machine that has one:
#   real/gpu-check.sh [BUILD_DIR]     (default build; configured and built here if needed)
# 1. builds fleetsim, its tests and the cuda backend (libfleetsim_cuda.so; needs nvcc),
# 2. checks that the cuda backend computes what the cpu backend computes (the [cuda] tests,
#    which otherwise skip),
# 3. calibrates both backends on this machine and prints the two fits side by side,
# 4. validates the simulator against real workers on the cuda backend (the smoke scenario).
# Exit 0 when every step passed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
[ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLEETSIM_BUILD_BENCH=OFF
cmake --build "$build" -j "$(nproc)" --target fleetsim fleetsim_tests
[ -f "$build/libfleetsim_cuda.so" ] || { echo "gpu-check: no cuda backend was built (is nvcc installed?)"; exit 1; }
out=$("$build/tests/fleetsim_tests" "[cuda]" 2>&1) || { echo "$out"; exit 1; }
echo "$out" | tail -2
if echo "$out" | grep -q "cuda backend not tested here"; then
  echo "$out" | grep -A1 "not tested"
  echo "gpu-check: the cuda backend could not run on this machine"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for backend in cpu cuda; do
  echo "== calibrate --backend $backend"
  "$build/fleetsim" calibrate --backend "$backend" --name "$backend-here" --out "$tmp/$backend.yaml" | tail -1
done
echo "== profiles"
grep -h "^  - {name" "$tmp"/*.yaml
echo "== validate-real on the cuda backend (the smoke scenario, the cuda profile)"
"$build/fleetsim" validate-real scenarios/real/smoke.yaml --backend cuda --profile "$tmp/cuda.yaml" --out "$tmp/validation"
