#!/usr/bin/env bash
# The GPU check of the CUDA backend, in one run (< 6 minutes on an H100): machine facts, CUDA
# doctor, the parity self-test of every primitive against the CPU reference, a whole ResNet-50
# training step CUDA vs CPU, ResNet-50 step timing, and a device-memory leak check over 100 steps.
# Usage (on the GPU machine, repository root, after bench/gpu/prepare.sh here):
#   bench/gpu/check.sh RESULTS_DIR
# Writes RESULTS_DIR/{machine,libcuda,doctor,selftest,leak,summary}.txt (and hs_err_*.log if a JVM
# crashes); exit 0 only if all passed.
# Rehearsal here, on the CUDA simulator (bench/gpu/simulate-session.sh does this): DVP_CUDA_SIM=1,
# DVP_JAR=cli/target/dvp.jar, and tiny sizes through SELFTEST_ARGS / LEAK_ARGS.
set -uo pipefail
out=${1:?usage: bench/gpu/check.sh RESULTS_DIR}
mkdir -p "$out"
cd "$(dirname "$0")/../.."
start=$(date +%s)
# shellcheck disable=SC1091
[ -f .device/env.sh ] && source .device/env.sh > "$out/env.txt" 2>&1
# shellcheck disable=SC1091
source bench/gpu/pip-cuda-libs.sh
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" >> "$out/env.txt"
echo "DVP_CUDA_SIM=${DVP_CUDA_SIM:-}" >> "$out/env.txt"

CP=${DVP_JAR:-.device/dvp.jar}
[ -f "$CP" ] || { echo "check: $CP missing: run bench/gpu/prepare.sh first and carry .device" | tee "$out/summary.txt"; exit 2; }
out=$(cd "$out" && pwd)
# a JVM that crashes (a bad FFM signature, a driver fault) leaves its report with the results
JAVA=(java --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector --sun-misc-unsafe-memory-access=allow
      -XX:ErrorFile="$out/hs_err_%p.log" -Xmx24g -cp "$CP")
read -r -a SELFTEST <<< "${SELFTEST_ARGS:---resnet50 --timing 20 --batch 32 --image-size 224}"
read -r -a LEAK <<< "${LEAK_ARGS:---leak-steps 100 --batch 16 --image-size 224}"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1
  java -version 2>&1 | head -1
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} > "$out/machine.txt"

libcuda=$(ldconfig -p 2>/dev/null | grep -m1 'libcuda.so.1' | awk '{print $NF}')
{ echo "libcuda: ${libcuda:-not found}"; [ -n "$libcuda" ] && nm -D "$libcuda" 2>/dev/null | grep -E ' (cuCtxCreate_v2|cuCtxCreate_v4|cuGetProcAddress_v2|cuMemAlloc_v2|cuStreamBeginCapture_v2|cuGraphInstantiateWithFlags)$'; } > "$out/libcuda.txt" 2>&1

status=0
timeout 120 "${JAVA[@]}" dvp.cli.Dvp --device cuda doctor > "$out/doctor.txt" 2>&1 || status=1

# primitives + ResNet-50 step parity (TF32 off) + timing (20 steps, batch 32, 224 px); then the leak
# check (100 steps, batch 16) in a fresh JVM so its baseline is not shaped by the runs before
timeout 240 "${JAVA[@]}" dvp.cli.Dvp --device cuda selftest "${SELFTEST[@]}" > "$out/selftest.txt" 2>&1 || status=1
timeout 120 "${JAVA[@]}" dvp.cli.Dvp --device cuda selftest --no-primitives "${LEAK[@]}" > "$out/leak.txt" 2>&1 || status=1
# a primitive that failed or threw (not a slow step or a leak): rerun the primitives synchronously, so an
# asynchronous fault names the op that caused it
if grep -qE ' FAIL( |$)|threw ' "$out/selftest.txt" && [ $(( $(date +%s) - start )) -lt 200 ]; then
  DVP_CUDA_SYNC=1 timeout 100 "${JAVA[@]}" dvp.cli.Dvp --device cuda --debug selftest > "$out/selftest-sync.txt" 2>&1 || true
fi

{
  cat "$out/machine.txt"
  grep -E 'backend cuda|^  |verdict' "$out/doctor.txt"
  grep -E 'primitives:|FAIL|resnet50|memory over|selftest:|Exception|^dvp( [a-z-]+)*:' "$out/selftest.txt" "$out/leak.txt"
  ls "$out"/hs_err_*.log 2>/dev/null | sed 's/^/JVM crash report: /'
  echo "elapsed: $(( $(date +%s) - start )) s; status: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
} > "$out/summary.txt" 2>&1
cat "$out/summary.txt"
exit $status
