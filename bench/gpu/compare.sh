#!/usr/bin/env bash
# dvp vs PyTorch on the same card in one call (issue 8): dvp bench (ours) and bench/pytorch/gpu_baselines.py
# (theirs: eager fp32, eager AMP bf16 channels_last, torch.compile, eager TF32) scenario by scenario, then
# dvp bench report -> RESULTS_DIR/table.md, chart.png, chart.csv. UNVERIFIED: written without a GPU.
# Usage (GPU machine, repository root, after bench/gpu/prepare.sh here and carrying .device):
#   [DVP_DEADLINE=<epoch s>] bench/gpu/compare.sh RESULTS_DIR
# Time: everything ends by DVP_DEADLINE (default: start + 540 s) - every step's timeout is cut to what is
# left, the most important pairs run first (ResNet-50 step), the report always runs (25 s kept for it),
# and each finished scenario's file is kept whatever fails later. Exit 0 when the table was written.
# Files: ours-fp32/*.json, ours-graph/*.json, ours-fast/*.json, ours-bf16/*.json, ours-tf32/*.json (one per scenario),
# torch-<mode>.json, logs/*.txt, status.txt.
# ours-graph: dvp bench --cuda-graph, the training steps captured once as a CUDA graph and replayed (fp32).
# ours-fast: --precision bf16 --channels-last --cuda-graph, the training steps as dvp's trainers run them on a GPU by default.
# ours-bf16: --precision bf16, op by op (the losses and single ops under autocast).
set -uo pipefail
out=${1:?usage: bench/gpu/compare.sh RESULTS_DIR}
mkdir -p "$out/ours-fp32" "$out/ours-graph" "$out/ours-fast" "$out/ours-bf16" "$out/ours-tf32" "$out/logs"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../.."
start=$(date +%s)
deadline=${DVP_DEADLINE:-$((start + 540))}
RESERVE=25
status="$out/status.txt"
: > "$status"
say() { echo "compare: $*" | tee -a "$status"; }

# shellcheck disable=SC1091
[ -f .device/env.sh ] && source .device/env.sh > "$out/logs/env.txt" 2>&1
PY=${PYTHON:-python3}
# shellcheck disable=SC1091
source bench/gpu/pip-cuda-libs.sh
CP=${DVP_JAR:-.device/dvp.jar}
JAVA=(java --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector --sun-misc-unsafe-memory-access=allow -Xmx24g)
DEVICE=${DVP_BENCH_DEVICE:-cuda}   # the CPU test of this script sets cpu
TORCH_DEVICE=${TORCH_DEVICE:-cuda}
WARMUP=${WARMUP:-3} SAMPLES=${SAMPLES:-10}
OURS_CAP=${OURS_CAP:-100}         # seconds per dvp scenario at most (the simulator rehearsal raises it)
SIZES=(${BENCH_SIZES:-})           # e.g. "--batch 4 --resolution 32" for a CPU dry run; empty: each tool's GPU defaults

# seconds left for a step that wants $1, keeping RESERVE for the report; 0 when under 10
budget() { local want=$1 left=$((deadline - $(date +%s) - RESERVE)); ((left < want)) && want=$left; ((want < 10)) && want=0; echo "$want"; }

ours() { # ours MODE SCENARIO... (MODE fp32, graph, fast, bf16 or tf32)
  local mode=$1; shift
  # every mode names its precision: dvp's own default on a GPU is bf16
  local precision=(--precision fp32); [ "$mode" = tf32 ] && precision=(--precision tf32)
  [ "$mode" = fast ] || [ "$mode" = bf16 ] && precision=(--precision bf16)
  # graph, fast: the step is captured on the third run (two op-by-op warm-up runs first), so at least 3 untimed runs
  local extra=() warmup=$WARMUP
  [ "$mode" = graph ] && { extra=(--cuda-graph); ((warmup < 3)) && warmup=3; }
  [ "$mode" = fast ] && { extra=(--channels-last --cuda-graph); ((warmup < 3)) && warmup=3; }
  [ -f "$CP" ] || { say "ours-$mode: $CP missing (run bench/gpu/prepare.sh here and carry .device): not run"; return; }
  if [ "${precision[1]}" = bf16 ] && [ "$DEVICE" != cuda ]; then say "ours-$mode: not run (bf16 autocast needs --device cuda; the $DEVICE backend is fp32 only)"; return; fi
  for s in "$@"; do
    local t; t=$(budget "$OURS_CAP")
    if ((t == 0)); then say "ours-$mode $s: not run (out of time)"; continue; fi
    local t0; t0=$(date +%s)
    timeout -k 5 "$t" "${JAVA[@]}" -cp "$CP" dvp.cli.Dvp --device "$DEVICE" bench -s "$s" "${precision[@]}" "${SIZES[@]}" "${extra[@]}" \
      --warmup "$warmup" --samples "$SAMPLES" --ceilings "$out/ceilings.json" --json "$out/ours-$mode/$s.json" \
      > "$out/logs/ours-$mode-$s.txt" 2>&1
    local rc=$?
    if ((rc == 0)); then say "ours-$mode $s: ok ($(( $(date +%s) - t0 )) s)"
    else say "ours-$mode $s: FAILED (exit $rc$( ((rc == 124 || rc == 137)) && echo ", killed at its ${t} s limit")): $(grep -m1 -E '^dvp( [a-z-]+)*:|Exception|Error|error:' "$out/logs/ours-$mode-$s.txt" | cut -c1-200)"; fi
  done
}

# PyTorch's side needs its device: without it (the simulator rehearsal on a CPU machine) it is skipped, saying why
torch_missing=""
if [ "$TORCH_DEVICE" = cuda ] && ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  torch_missing="PyTorch ($PY) has no CUDA device here"
fi

torch() { # torch MODE CAP PER_SCENARIO SCENARIOS(comma-separated)
  local mode=$1 cap=$2 per=$3 list=$4 t t0 rc
  if [ -n "$torch_missing" ]; then say "torch-$mode: skipped: $torch_missing"; return; fi
  t=$(budget "$cap")
  if ((t == 0)); then say "torch-$mode: not run (out of time)"; return; fi
  t0=$(date +%s)
  PYTHONUNBUFFERED=1 timeout -k 5 "$t" "$PY" bench/pytorch/gpu_baselines.py --device "$TORCH_DEVICE" --mode "$mode" -s "$list" \
    "${SIZES[@]}" --warmup "$WARMUP" --samples "$SAMPLES" --scenario-timeout "$per" --json "$out/torch-$mode.json" \
    > "$out/logs/torch-$mode.txt" 2>&1
  rc=$?
  say "torch-$mode: exit $rc after $(( $(date +%s) - t0 )) s; $(grep -cE ': done in' "$out/logs/torch-$mode.txt") measured; $(grep -E 'skipped:|FAILED' "$out/logs/torch-$mode.txt" | tr '\n' ';' | cut -c1-400)"
}

say "start $(date -u +%Y-%m-%dT%H:%M:%SZ), deadline in $((deadline - start)) s; GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
# most important first, so the deadline cuts the least important: the ResNet-50 step in dvp's default
# GPU mode (bf16, channels-last, graph) and in fp32, then PyTorch's eager fp32 and AMP baselines (without
# them no ratio exists), then the rest of dvp's default mode, bf16 ops, compile (slow to build), dvp's
# fp32 graph and op-by-op series, and TF32 last
ours fast resnet50-train
ours fp32 resnet50-train
torch eager-fp32 110 45 resnet50-train,moco-step,distill-step,resnet18-train,margin-infonce,ofd-loss,conv,gemm
torch eager-amp-bf16-cl 100 45 resnet50-train,moco-step,distill-step,resnet18-train,margin-infonce,ofd-loss,conv,gemm
ours fast moco-step distill-step resnet18-train
ours bf16 margin-infonce ofd-loss conv gemm
torch compile-amp-bf16-cl 240 150 resnet50-train,moco-step,distill-step,resnet18-train,margin-infonce,ofd-loss
ours graph resnet50-train moco-step distill-step resnet18-train
ours fp32 moco-step distill-step resnet18-train margin-infonce ofd-loss conv gemm
ours tf32 resnet50-train conv gemm
torch eager-tf32 60 30 resnet50-train,conv,gemm

notes=("Ours: dvp's CUDA backend in fp32 (--precision fp32: TF32 off; convolution algorithms autotuned per shape by cuDNN's Find, as cudnn.benchmark, deterministic ones only; BN + ReLU (+ add) fused), op by op; 'dvp fp32 cuda-graph': the training steps captured once as a CUDA graph and replayed per step (dvp bench --cuda-graph); and, where a row has it, with TF32 on (--precision tf32)."
       "'dvp bf16 CL cuda-graph': --precision bf16 --channels-last --cuda-graph, the training steps as dvp's trainers run them on a GPU by default. dvp's bf16 autocast runs convolutions and GEMMs (margin-InfoNCE's included) on bf16 inputs with fp32 accumulation, casting the fp32 master weights to bf16 at each call, and stores activations in bf16 between ops as PyTorch AMP does (BN statistics, losses' arithmetic and SGD in fp32). Channels-last: NHWC activations, weights stay OIHW. 'dvp bf16': --precision bf16 op by op (margin-infonce, ofd-loss, conv, gemm)."
       "PyTorch: bench/pytorch/gpu_baselines.py (its docstring states each mode's settings), cudnn.benchmark on. Same scenarios, sizes and timing (warm-up $WARMUP, $SAMPLES samples, CUDA events, medians).")
series=(--ours "dvp fp32=$out/ours-fp32")
ls "$out"/ours-graph/*.json >/dev/null 2>&1 && series+=(--ours "dvp fp32 cuda-graph=$out/ours-graph")
ls "$out"/ours-fast/*.json >/dev/null 2>&1 && series+=(--ours "dvp bf16 CL cuda-graph=$out/ours-fast")
ls "$out"/ours-bf16/*.json >/dev/null 2>&1 && series+=(--ours "dvp bf16=$out/ours-bf16")
ls "$out"/ours-tf32/*.json >/dev/null 2>&1 && series+=(--ours "dvp tf32=$out/ours-tf32")
series+=(--baseline "torch eager fp32=$out/torch-eager-fp32.json" --baseline "torch eager AMP bf16 CL=$out/torch-eager-amp-bf16-cl.json"
         --baseline "torch.compile AMP bf16 CL=$out/torch-compile-amp-bf16-cl.json")
[ -f "$out/torch-eager-tf32.json" ] && series+=(--baseline "torch eager tf32=$out/torch-eager-tf32.json")
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
report_ok=0
if [ -f "$CP" ]; then
  args=(); for n in "${notes[@]}"; do args+=(--note "$n"); done
  timeout -k 5 60 "${JAVA[@]}" -cp "$CP" dvp.cli.Dvp bench report --out "$out" --title "dvp vs PyTorch, ${gpu:-$DEVICE}, $(date -u +%Y-%m-%d)" \
    "${args[@]}" "${series[@]}" > "$out/logs/report.txt" 2>&1 && report_ok=1
  tee -a "$status" < "$out/logs/report.txt"
fi
if [ ! -f "$out/chart.png" ] && [ -f "$out/chart.csv" ]; then   # Java could not draw (no fonts there): matplotlib
  "$PY" bench/gpu/chart_fallback.py "$out/chart.csv" "$out/chart.png" >> "$status" 2>&1 || say "no chart.png (see logs)"
fi
say "elapsed $(( $(date +%s) - start )) s; table: $([ $report_ok = 1 ] && echo "$out/table.md" || echo 'NOT written')"
[ $report_ok = 1 ]
