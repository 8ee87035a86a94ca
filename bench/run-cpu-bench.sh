#!/usr/bin/env bash
# Runs dvp's CPU benchmarks (JMH, bench/target/benchmarks.jar) and their numpy/PyTorch baselines
# back to back in one invocation, and prints a table with the ratios (a markdown table you can
# paste into bench/RESULTS.md). Each baseline runs right before and right after ours; the table
# uses the mean of the two, so load drift during the run shows up as a gap between them.
#
# Usage: bench/run-cpu-bench.sh [gemm] [conv] [resnet]      (default: all three)
# The conv and resnet cases run dvp twice between the baselines: with oneDNN's convolutions
# (DVP_CPU_CONV=onednn, the default where libdnnl.so.2 loads) and with dvp's own java kernels
# (DVP_CPU_CONV=java); CONV_IMPLS="java" (or "onednn") runs only one.
#   SKIP_BUILD=1   reuse an existing bench/target/benchmarks.jar
#   JMH_ARGS=...   extra JMH options (e.g. "-wi 2 -i 3" for a quick look)
# Needs: JDK 25 (found like ./mvnw does), /usr/bin/python3 with numpy (OpenBLAS) and torch + torchvision.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
JAR=bench/target/benchmarks.jar
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(gemm conv resnet)
read -r -a impls <<<"${CONV_IMPLS:-onednn java}"

is25() { [ -x "$1/bin/java" ] && "$1/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; }
if [ -z "${JAVA_HOME:-}" ] || ! is25 "$JAVA_HOME"; then
  JAVA_HOME=""
  for d in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /usr/lib/jvm/*25*; do is25 "$d" && { JAVA_HOME="$d"; break; }; done
  [ -n "$JAVA_HOME" ] || { echo "run-cpu-bench: no JDK 25 found (set JAVA_HOME)" >&2; exit 3; }
fi
JAVA="$JAVA_HOME/bin/java"
for mod in numpy torch torchvision; do
  "$PY" -c "import $mod" 2>/dev/null || { echo "run-cpu-bench: $PY cannot import $mod (apt-get install python3-numpy python3-torch python3-torchvision)" >&2; exit 3; }
done
if [ -z "${SKIP_BUILD:-}" ] || [ ! -f "$JAR" ]; then
  echo "building $JAR ..." >&2
  ./mvnw -q -B -pl bench -am package -DskipTests
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rows=()

jmh() { # jmh <json-name> <JMH args...>: runs JMH, echoes the json file
  local name=$1; shift
  "$JAVA" -Djmh.ignoreLock=true -jar "$JAR" "$@" ${JMH_ARGS:-} -rf json -rff "$out/$name.json" >"$out/$name.log" 2>&1 \
    || { cat "$out/$name.log" >&2; echo "run-cpu-bench: JMH failed" >&2; exit 1; }
  echo "$out/$name.json"
}
score() { # score <json> <method> [param=value]: the JMH score (ms/op) of one benchmark method
  "$PY" - "$@" <<'PYEOF'
import json, sys
path, method = sys.argv[1], sys.argv[2]
want = dict(p.split("=", 1) for p in sys.argv[3:])
for r in json.load(open(path)):
    if r["benchmark"].endswith("." + method) and all(r.get("params", {}).get(k) == v for k, v in want.items()):
        print(r["primaryMetric"]["score"]); break
else:
    sys.exit("no JMH result for %s %s" % (method, want))
PYEOF
}
show() { local o; o=$("$PY" "$@"); echo "$o" >&2; echo "$o"; } # runs a baseline script, echoes its output to stderr too
field() { sed -nE "s/.*$1 ([0-9.]+).*/\\1/p" | head -1; } # first number after a label
mean() { "$PY" -c "import sys; print((float(sys.argv[1]) + float(sys.argv[2])) / 2)" "$1" "$2"; }
fmt() { "$PY" -c "import sys; print(format(float(sys.argv[1]), sys.argv[2]))" "$1" "$2"; }

echo "machine: $(lscpu | sed -nE 's/^Model name: +//p'), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); JDK $("$JAVA" -version 2>&1 | head -1 | cut -d'"' -f2); dvp $(git rev-parse --short HEAD 2>/dev/null || echo '?'); load $(cut -d' ' -f1-3 /proc/loadavg)"

for c in "${cases[@]}"; do
  case $c in
    gemm)
      b1=$(show bench/pytorch/gemm_baseline.py | field 'median')
      j=$(jmh gemm 'dvp.bench.GemmBench')
      b2=$(show bench/pytorch/gemm_baseline.py | field 'median')
      ours=$(score "$j" sgemm n=1024)
      base=$(mean "$b1" "$b2")
      gf_ours=$("$PY" -c "print(2*1024**3/(float('$ours')*1e-3)/1e9)"); gf_base=$("$PY" -c "print(2*1024**3/(float('$base')*1e-3)/1e9)")
      rows+=("| SGEMM 1024³ (GFLOP/s, higher is better) | $(fmt "$gf_ours" .1f) | numpy/OpenBLAS $(fmt "$gf_base" .1f) (runs: $(fmt "$b1" .1f), $(fmt "$b2" .1f) ms) | **$(fmt "$("$PY" -c "print($gf_ours/$gf_base)")" .2f)×** |")
      ;;
    conv)
      for shape in 64x56 256x14; do
        show bench/pytorch/conv_baseline.py --shape "$shape" >"$out/conv1.txt"
        for impl in "${impls[@]}"; do DVP_CPU_CONV=$impl jmh "conv$shape-$impl" 'dvp.bench.ConvBench' -p shape="$shape" >/dev/null; done
        show bench/pytorch/conv_baseline.py --shape "$shape" >"$out/conv2.txt"
        for impl in "${impls[@]}"; do
          for pass in forward backwardData backwardFilter; do
            b1=$(grep " $pass:" "$out/conv1.txt" | field 'median'); b2=$(grep " $pass:" "$out/conv2.txt" | field 'median')
            ours=$(score "$out/conv$shape-$impl.json" "$pass" shape="$shape"); base=$(mean "$b1" "$b2")
            rows+=("| conv3x3 $shape batch 8 $pass, $impl convs (ms, lower is better) | $(fmt "$ours" .1f) | PyTorch $(fmt "$base" .1f) (runs: $(fmt "$b1" .1f), $(fmt "$b2" .1f)) | **$(fmt "$("$PY" -c "print($base/$ours)")" .2f)×** |")
          done
        done
      done
      ;;
    resnet)
      b1=$(show bench/pytorch/resnet_step_baseline.py | field 'median')
      for impl in "${impls[@]}"; do DVP_CPU_CONV=$impl jmh "resnet-$impl" 'dvp.bench.ResNetStepBench' >/dev/null; done
      b2=$(show bench/pytorch/resnet_step_baseline.py | field 'median')
      base=$(mean "$b1" "$b2")
      for impl in "${impls[@]}"; do
        ours=$(score "$out/resnet-$impl.json" step arch=RESNET18 px=112 batch=32)
        rows+=("| ResNet-18 train step 112 px batch 32, $impl convs (img/s, higher is better) | $(fmt "$("$PY" -c "print(32/(float('$ours')*1e-3))")" .2f) | PyTorch $(fmt "$("$PY" -c "print(32/(float('$base')*1e-3))")" .2f) (runs: $(fmt "$b1" .0f), $(fmt "$b2" .0f) ms/step) | **$(fmt "$("$PY" -c "print($base/$ours)")" .2f)×** |")
      done
      ;;
    *) echo "run-cpu-bench: unknown case '$c' (gemm, conv, resnet)" >&2; exit 2 ;;
  esac
done

echo
echo "| benchmark | dvp | baseline (same run) | dvp / baseline speed |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
