#!/usr/bin/env bash
# A GPU session's one call (docs/gpu-bench.md): bench/gpu/check.sh (correctness: doctor, primitive parity,
# ResNet-50 step vs CPU, leak check), then bench/gpu/compare.sh (dvp vs PyTorch) with what is left of the
# call, then copies what matters into OUT within the device tool's limits (at most 8 files, 2 folders deep):
#   OUT/check-summary.txt  OUT/compare-status.txt  OUT/table.md  OUT/chart.png  OUT/all.tar.gz (every file)
# Usage (repository root on the GPU machine, .device carried): bench/gpu/session.sh "$OUT"
#   CHECK_LIMIT (default 300 s) caps check.sh; SESSION_LIMIT (default 570 s) is the whole call's budget;
#   SKIP_CHECK=1 runs only the comparison (when check.sh already ran in an earlier call).
# UNVERIFIED: written without a GPU.
set -uo pipefail
dest=${1:?usage: bench/gpu/session.sh OUT}
start=$(date +%s)
cd "$(dirname "$0")/../.."
work=${SESSION_WORK:-/tmp/dvp-gpu-session}
rm -rf "$work" && mkdir -p "$work" "$dest"
pack() { tar -czf "$dest/all.tar.gz" -C "$work" . 2>/dev/null; }
trap pack EXIT   # whatever happens, every file written so far comes back
check_rc=skipped
if [ "${SKIP_CHECK:-0}" != 1 ]; then
  timeout -k 5 "${CHECK_LIMIT:-300}" bench/gpu/check.sh "$work/check" > "$work/check.log" 2>&1
  check_rc=$?
  # killed at CHECK_LIMIT, check.sh writes no summary: then the last lines of each of its files
  { cat "$work/check/summary.txt" 2>/dev/null || tail -n 8 "$work/check.log" "$work"/check/*.txt 2>/dev/null
    echo "check.sh exit: $check_rc$( ((check_rc == 124 || check_rc == 137)) && echo " (killed at CHECK_LIMIT ${CHECK_LIMIT:-300} s)")"; } > "$dest/check-summary.txt"
  cat "$dest/check-summary.txt"
fi
DVP_DEADLINE=${DVP_DEADLINE:-$((start + ${SESSION_LIMIT:-570} - 15))} bench/gpu/compare.sh "$work/compare"
compare_rc=$?
for f in table.md chart.png; do [ -f "$work/compare/$f" ] && cp "$work/compare/$f" "$dest/"; done
cp "$work/compare/status.txt" "$dest/compare-status.txt" 2>/dev/null
echo "session: check $check_rc, compare $compare_rc, $(( $(date +%s) - start )) s"
[ "$check_rc" = 0 -o "$check_rc" = skipped ] && [ $compare_rc = 0 ]
