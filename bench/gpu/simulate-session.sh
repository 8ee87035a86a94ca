#!/usr/bin/env bash
# The GPU session rehearsed on the CUDA simulator, on this CPU-only machine: bench/gpu/session.sh end to
# end at tiny sizes (check.sh: doctor, every primitive vs the CPU, a ResNet-50 step vs the CPU, the
# timing and leak loops; then the dvp side of compare.sh (fp32, the training steps' CUDA-graph mode with
# at least 3 warm-up runs, the fast mode bf16 + channels-last + CUDA graph, bf16 op by op, TF32) and the
# report; PyTorch's side is skipped for
# lack of CUDA). It proves the scripts, the CLI paths and the CUDA backend run; every figure it writes
# is labelled simulated, not a speed. Run it before spending a real GPU session.
# Usage: bench/gpu/simulate-session.sh [OUT]      (default /tmp/dvp-sim-session; needs nvcc, as CI has)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/dvp-sim-session}
# check.sh and compare.sh call the `java` first on PATH (on the GPU machine, the packed JRE); here that
# must be a JDK 25, not the image's default 17
is25() { [ -x "$1/bin/java" ] && "$1/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; }
if [ -z "${JAVA_HOME:-}" ] || ! is25 "$JAVA_HOME"; then
  JAVA_HOME=""
  for d in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25*; do if is25 "$d"; then JAVA_HOME="$d"; break; fi; done
  [ -n "$JAVA_HOME" ] || { echo "simulate-session: no JDK 25 found (looked at \$JAVA_HOME and /usr/lib/jvm/*25*)" >&2; exit 3; }
fi
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
if [ ! -f cli/target/dvp.jar ]; then ./mvnw -q -B -DskipTests package -pl cli -am; fi
export DVP_CUDA_SIM=1
export DVP_JAR="$PWD/cli/target/dvp.jar"
export SESSION_WORK=${SESSION_WORK:-/tmp/dvp-sim-session-work}
# check.sh: the same commands as on a GPU, at sizes the simulator runs in seconds
export SELFTEST_ARGS="--resnet50 --timing 2 --batch 2 --image-size 32"
export LEAK_ARGS="--leak-steps 3 --batch 2 --image-size 32"
# compare.sh: every scenario once, tiny; PyTorch here has no CUDA, so its side is skipped with that reason
export BENCH_SIZES="--batch 2 --resolution 32 --queue 16 --size 64,64,64"
export WARMUP=1 SAMPLES=2
# the graph modes run at least 3 warm-up steps and a ResNet-50 step takes seconds here: more than a GPU's 100 s per scenario
export OURS_CAP=${OURS_CAP:-300}
export PYTHON=${PYTHON:-/usr/bin/python3}
export TORCH_DEVICE=cuda
export CHECK_LIMIT=${CHECK_LIMIT:-600} SESSION_LIMIT=${SESSION_LIMIT:-1500}
exec bench/gpu/session.sh "$out"
