#!/usr/bin/env bash
# The phase-2 ablations of docs/study.md, one after the other, each a 5-seed study that reuses
# phase 1 and the other three rows of runs/study-overfit (--reuse): only phase 2 trains.
# Waits first until no PyTorch twin (bench/pytorch/dvp_twin.py) is running, so that only one
# experiment uses the shared CPU at a time; runs at nice 19. A finished ablation is skipped
# (its folder's results are reused: dvp study resumes), an interrupted one continues.
# Ends by rewriting runs/study-overfit's report with the twin beside it (when runs/twin-overfit exists).
#
# Usage: bench/study/run-ablations.sh [NAME...]   (default: all, in the order below; log on stdout)
set -euo pipefail
cd "$(dirname "$0")/../.."
base=runs/study-overfit

declare -A args=(
  [lambda-1e-3]="--distill-lambda 1e-3"        # 10x the recipe's lambda
  [lambda-1e-5]="--distill-lambda 1e-5"        # 0.1x
  [margins-zero]="--distill-margins zero"      # target = the teacher's ReLU output, not OFD's BN margins
  [connectors-identity]="--connectors identity" # no 1x1 conv + BN between student and teacher
  [teacher-eval]="--teacher-mode eval"         # the teacher's BN on its running statistics
)
order=(lambda-1e-3 lambda-1e-5 margins-zero connectors-identity teacher-eval)
[ $# -gt 0 ] && order=("$@")

# One code version for the whole chain: the jar as built now, copied, so that a later commit, rebase or
# build in this checkout does not change the code between ablations.
nice -n 19 ./dvp --version >/dev/null
mkdir -p runs/ablation-jar && cp cli/target/dvp.jar runs/ablation-jar/dvp.jar && cp cli/target/dvp.jar.commit runs/ablation-jar/ 2>/dev/null || true
echo "run-ablations: dvp $(cat runs/ablation-jar/dvp.jar.commit 2>/dev/null || echo '?')"
java="${DVP_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"  # a JDK 25
dvp() {
  nice -n 19 "$java" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector --sun-misc-unsafe-memory-access=allow \
    -Djava.awt.headless=true -jar runs/ablation-jar/dvp.jar "$@"
}

while pgrep -f 'bench/pytorch/dvp_twin.py' >/dev/null; do sleep 60; done

for name in "${order[@]}"; do
  [ -n "${args[$name]+x}" ] || { echo "run-ablations: unknown ablation $name (known: ${!args[*]})" >&2; exit 2; }
  dir=runs/abl-$name
  echo "=== $(date -u +%FT%TZ) ablation $name: ${args[$name]} -> $dir"
  if [ -f "$dir/study.json" ]; then
    # shellcheck disable=SC2086
    dvp study --progress plain --resume "$dir" --reuse "$base"
  else
    # shellcheck disable=SC2086
    dvp study --progress plain --reuse "$base" ${args[$name]} --run-dir "$dir"
  fi
  echo "=== $(date -u +%FT%TZ) ablation $name done"
done

if [ -d runs/twin-overfit ]; then
  dvp study --progress plain --resume "$base" --twin runs/twin-overfit
fi
