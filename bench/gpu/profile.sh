#!/usr/bin/env bash
# The GPU half of issue 9 (profiling), in one run on a GPU machine after bench/gpu/prepare.sh:
# per-op tables with device times for the ResNet-50 training step and the MoCo step (issue 8's
# sizes: batch 256 at 224 px), their Chrome traces checked without a viewer (device track present,
# device-marker times, every call on both tracks), NVTX status, and dvp bench of the op scenarios.
# Usage: bench/gpu/profile.sh RESULTS_DIR   (writes *.txt, *.json, *.trace.json; exit 0 if all passed)
# UNVERIFIED: written without a GPU.
set -uo pipefail
out=${1:?usage: bench/gpu/profile.sh RESULTS_DIR}
mkdir -p "$out"
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
source .device/env.sh > "$out/env.txt" 2>&1
CP=.device/dvp.jar
[ -f "$CP" ] || { echo "profile: $CP missing: run bench/gpu/prepare.sh first and carry .device"; exit 2; }
JAVA=(java --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector --sun-misc-unsafe-memory-access=allow -Xmx24g -cp "$CP")
DVP=("${JAVA[@]}" dvp.cli.Dvp --device cuda)
status=0
"${DVP[@]}" doctor 2>&1 | grep -E '^(nvtx|backend cuda|  device)' > "$out/doctor.txt"
for s in resnet50-train moco-step; do
  timeout 200 "${DVP[@]}" profile "$s" --ceilings "$out/ceilings.json" --trace "$out/$s.trace.json" --json "$out/$s.json" \
    > "$out/$s.txt" 2>&1 || status=1
done
timeout 30 "${JAVA[@]}" dvp.training.perf.TraceCheck --device-clock "$out"/*.trace.json > "$out/trace-check.txt" 2>&1 || status=1
timeout 200 "${DVP[@]}" bench -s margin-infonce,ofd-loss,gemm,conv --samples 10 --ceilings "$out/ceilings.json" \
  --json "$out/bench-ops.json" > "$out/bench-ops.txt" 2>&1 || status=1
{ cat "$out/doctor.txt"; for s in resnet50-train moco-step; do head -30 "$out/$s.txt"; grep -E '^(step time|primitives|ceilings)' "$out/$s.txt"; done
  cat "$out/trace-check.txt"; echo "status: $([ $status -eq 0 ] && echo PASS || echo FAIL)"; } > "$out/summary.txt"
cat "$out/summary.txt"
exit $status
