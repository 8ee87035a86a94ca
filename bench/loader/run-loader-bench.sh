#!/usr/bin/env bash
# Two-view MoCo v2 augmentation at 224 px: dvp (LoaderBench) vs PyTorch DataLoader + torchvision on
# the same 500×375 JPEGs, back to back, ROUNDS times alternating (ours, theirs) so both see the same
# machine load. Usage: bench/loader/run-loader-bench.sh [DIR] (env: N=512 BENCH_SECONDS=20 WARMUP=5 ROUNDS=2 WORKERS=2)
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-/tmp/dvp-loader-bench}
N=${N:-512}; SECONDS_=${BENCH_SECONDS:-20}; WARMUP=${WARMUP:-5}; ROUNDS=${ROUNDS:-2}; WORKERS=${WORKERS:-0}
./mvnw -q -B -pl bench -am -DskipTests package \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime >/dev/null
CP="bench/target/classes:$(cat bench/target/classpath.txt)"
JAVA_BIN=java
for d in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25*; do [ -n "$d" ] && [ -x "$d/bin/java" ] && JAVA_BIN="$d/bin/java" && break; done
JAVA=("$JAVA_BIN" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector --sun-misc-unsafe-memory-access=allow -Djava.awt.headless=true -cp "$CP")
"${JAVA[@]}" dvp.bench.loader.LoaderBench make "$DIR" "$N"
for r in $(seq "$ROUNDS"); do
  echo "== round $r"
  "${JAVA[@]}" dvp.bench.loader.LoaderBench run "$DIR" --seconds "$SECONDS_" --warmup "$WARMUP" --workers "$WORKERS" 2>&1 | grep -v "^WARNING"
  /usr/bin/python3 bench/loader/torchvision_moco.py "$DIR" --seconds "$SECONDS_" --warmup "$WARMUP" --workers "$WORKERS"
done
