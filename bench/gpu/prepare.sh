#!/usr/bin/env bash
# Prepares .device/ for bench/gpu/check.sh on a GPU machine that has no Java (run here, from the
# repository root): a jlinked Java 25 runtime + env.sh (../shared/device/pack-jre), and the
# application: cli/target/dvp.jar (the shaded jar, kernel image inside). Then carry .device along:  run(carry=[".device"], command="bench/gpu/check.sh $OUT")
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.device
pack=${PACK_JRE:-../shared/device/pack-jre}
[ -x "$pack" ] || pack=/work/shared/device/pack-jre
"$pack" "$dir"
./mvnw -q -B -DskipTests package -pl cli -am
rm -rf "$dir/lib" "$dir/dvp.jar"
[ -f cli/target/dvp.jar ] || { echo "prepare: cli/target/dvp.jar was not built" >&2; exit 1; }
cp cli/target/dvp.jar "$dir/dvp.jar"
unzip -l "$dir/dvp.jar" | grep -F dvp/kernels/dvp_kernels.fatbin >/dev/null \
  || { echo "prepare: the jar has no CUDA kernel image (was nvcc found? see the kernels build log)" >&2; exit 1; }
du -sh "$dir" | sed 's/^/prepare: /'
echo "prepare: .device ready: dvp.jar (with the kernel image), jre.txz, env.sh"
