#!/usr/bin/env bash
# Compiles kernels/src/main/cuda/dvp_kernels.cu (which #includes one file per op family) into ONE fat
# binary: sm_80 and sm_90 machine code plus compute_90 PTX (so newer GPUs can JIT it). Called by
# Maven (kernels/pom.xml, generate-resources). Usage: build-kernels.sh <cuda source dir> <output dir>
#
# - No nvcc: prints that the kernels were not built and exits 0 (the build succeeds; the CUDA backend
#   then reports "kernels not built" as its unavailability reason).
# - nvcc present: a kernel that does not compile fails the build (non-zero exit).
# - ptxas -v's registers / spills / shared memory per kernel and arch go to the log file (third argument;
#   the console otherwise, where they are ~360 lines of every build); a failed compile prints the log.
# - Incremental: skipped when the sources, flags and nvcc version hash to what the last build recorded.
# - Records the toolkit version next to the image (dvp_kernels.properties) and, inside the image, in
#   the device global dvp_kernels_cuda_version (read back by the runtime / `dvp doctor`).
set -euo pipefail
src=$(cd "$1" && pwd)
out=$2
log=${3:-}
mkdir -p "$out"
fatbin="$out/dvp_kernels.fatbin"
props="$out/dvp_kernels.properties"

NVCC=${NVCC:-}   # NVCC=none builds without kernels (to test that path)
if [ -z "$NVCC" ]; then NVCC=$(command -v nvcc || true); fi
if [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ]; then NVCC=/usr/local/cuda/bin/nvcc; fi
if [ "$NVCC" = none ]; then NVCC=; fi

src_hash=$(cd "$src" && cat $(ls *.cu *.cuh | sort) | sha256sum | cut -c1-16)
if [ -z "$NVCC" ]; then
  echo "[dvp-kernels] nvcc not found (looked at \$NVCC, PATH, /usr/local/cuda/bin): CUDA kernels were NOT built."
  echo "[dvp-kernels] The build goes on; the CUDA backend will report 'kernel image not built'."
  # an image from an earlier build of other sources would be wrong: drop it
  if [ -f "$props" ] && ! grep -q "^sources.sha256=$src_hash\$" "$props"; then rm -f "$fatbin" "$props"; fi
  exit 0
fi

ARCH_FLAGS="-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90"
FLAGS="-O3 -std=c++17 -Xptxas -v --threads ${DVP_NVCC_THREADS:-2}"
nvcc_version=$("$NVCC" --version | grep -o 'release [0-9.]*, V[0-9.]*' | head -1)
toolkit=$(echo "$nvcc_version" | sed -E 's/release ([0-9.]+),.*/\1/')
stamp="$src_hash|$ARCH_FLAGS|$FLAGS|$nvcc_version"
stamp_hash=$(echo "$stamp" | sha256sum | cut -c1-16)
if [ -f "$fatbin" ] && [ -f "$props" ] && grep -q "^build.sha256=$stamp_hash\$" "$props"; then
  echo "[dvp-kernels] up to date: $fatbin (CUDA $toolkit)"
  exit 0
fi

echo "[dvp-kernels] $NVCC ($nvcc_version): compiling $src/dvp_kernels.cu for sm_80, sm_90 + compute_90 PTX"
start=$(date +%s)
tmp="$fatbin.tmp"
# shellcheck disable=SC2086
if [ -n "$log" ]; then
  mkdir -p "$(dirname "$log")"
  if ! "$NVCC" -fatbin $ARCH_FLAGS $FLAGS -I"$src" -o "$tmp" "$src/dvp_kernels.cu" > "$log" 2>&1; then
    grep -v '^ptxas info\|bytes stack frame' "$log" >&2 || true
    echo "[dvp-kernels] nvcc failed; full output in $log" >&2
    exit 1
  fi
  echo "[dvp-kernels] ptxas resource usage ($(grep -c '^ptxas info' "$log") lines) in $log"
else
  "$NVCC" -fatbin $ARCH_FLAGS $FLAGS -I"$src" -o "$tmp" "$src/dvp_kernels.cu"
fi
mv "$tmp" "$fatbin"
kernels=$(grep -ho 'DVP_KERNEL void [a-z0-9_]*' "$src"/*.cu | awk '{print $3}' | sort | tr '\n' ',' | sed 's/,$//')
cat > "$props" <<PROPS
# written by kernels/build-kernels.sh; read by dvp.engine.cuda.KernelImage and \`dvp doctor\`
toolkit=$toolkit
nvcc=$nvcc_version
archs=sm_80,sm_90,compute_90
flags=$FLAGS
sources.sha256=$src_hash
build.sha256=$stamp_hash
kernels=$kernels
PROPS
echo "[dvp-kernels] wrote $fatbin ($(stat -c %s "$fatbin") bytes) in $(( $(date +%s) - start )) s"
