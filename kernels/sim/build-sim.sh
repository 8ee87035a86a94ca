#!/usr/bin/env bash
# Builds the CUDA simulator next to the real kernel image (DESIGN.md, "GPU code without a GPU"):
#   libcuda.so.1             the simulated driver (runtime/*.cpp), compiled against the toolkit's cuda.h
#   libdvp_kernels_host.so   kernels/src/main/cuda/*.cu built by g++ with the CUDA shim (shim/), plus a
#                            registry of every kernel and __device__ global, stamped with the fingerprint
#                            of the fat binary built from the same sources (the driver checks both match)
#   libcublas.so.13, libcudnn.so.9   the simulated library subsets (libs/*.cpp)
#   sim_test (into --tests DIR)      the simulator's own native tests (test/sim_test.cpp over test/sim_test_kernels.cu)
# Usage: build-sim.sh <cuda source dir> <fat binary> <output dir> [--asan] [--tests DIR]
#   --asan: an AddressSanitizer build of all of them (memcheck; run with libasan preloaded).
# Called by Maven (kernels/pom.xml) after build-kernels.sh. Without nvcc (no fat binary) or without the
# toolkit's cuda.h it says so and builds nothing: the simulated device is then unavailable, with that reason.
# Incremental: skipped when sources, flags, compiler and image hash to what the last build recorded.
set -euo pipefail
src=$(cd "$1" && pwd)
fatbin=$2
out=$3
variant=""
tests_dir=""
shift 3
while [ $# -gt 0 ]; do
  case "$1" in
    --asan) variant=--asan ;;
    --tests) tests_dir=$2; shift ;;
    *) echo "build-sim.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

if [ ! -f "$fatbin" ]; then
  echo "[dvp-sim] no kernel image at $fatbin (nvcc missing?): the CUDA simulator was NOT built."
  rm -f "$out"/libcuda.so.1 "$out"/libdvp_kernels_host.so "$out"/libcublas.so.13 "$out"/libcudnn.so.9 "$out"/sim.properties
  exit 0
fi
NVCC=${NVCC:-$(command -v nvcc || true)}
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
cuda_include=""
for d in ${CUDA_INCLUDE:-} "$(dirname "$(readlink -f "${NVCC:-/nonexistent}")")/../include" /usr/local/cuda/include; do
  if [ -n "$d" ] && [ -f "$d/cuda.h" ]; then cuda_include=$(cd "$d" && pwd); break; fi
done
if [ -z "$cuda_include" ]; then
  echo "[dvp-sim] the CUDA toolkit's cuda.h was not found (looked at \$CUDA_INCLUDE, next to nvcc, /usr/local/cuda/include): the CUDA simulator was NOT built."
  exit 0
fi
CXX=${CXX:-g++}
nvcc_release=$("$NVCC" --version | grep -o 'release [0-9]*\.[0-9]*' | head -1 | awk '{print $2}')
cuda_major=${nvcc_release%%.*}
cuda_minor=${nvcc_release#*.}

# -ffp-contract=off: no fused multiply-adds the source did not write (the kernels override it, below);
# never -ffast-math (GCC 12 links crtfastmath.o, which sets flush-to-zero for the whole JVM).
COMMON="-std=c++17 -O2 -g -fPIC -ffp-contract=off -fno-fast-math -fvisibility=hidden -Wall -Wextra -Werror -pthread"
SAN=""
# the sanitizer build at -O1 (ASan's advice: good reports, half the compile time of -O2)
if [ "$variant" = "--asan" ]; then SAN="-O1 -fsanitize=address -fno-omit-frame-pointer"; fi

fingerprint_tool="$out/.fingerprint"
stamp_inputs() {
  cat "$here"/build-sim.sh "$here"/shim/* "$here"/runtime/* "$src"/*.cu "$src"/*.cuh 2>/dev/null
  cat "$here"/libs/* 2>/dev/null || true
  cat "$here"/test/* 2>/dev/null || true
  echo "$COMMON $SAN $variant $cuda_include $nvcc_release $tests_dir"
  "$CXX" --version | head -1
  sha256sum "$fatbin"
}
stamp=$(stamp_inputs | sha256sum | cut -c1-16)
if [ -f "$out/sim.properties" ] && grep -q "^build.sha256=$stamp\$" "$out/sim.properties" && [ -f "$out/libcuda.so.1" ]; then
  echo "[dvp-sim] up to date: $out"
  exit 0
fi
start=$(date +%s)
work="$out/.build"
rm -rf "$work" && mkdir -p "$work/src"

# the image fingerprint, with the same function the driver uses (host_image.h)
cat > "$work/fingerprint.cpp" <<'CPP'
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>
#include "host_image.h"
int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::ifstream f(argv[1], std::ios::binary);
  std::vector<unsigned char> d((std::istreambuf_iterator<char>(f)), {});
  std::printf("0x%016llxull\n", (unsigned long long)dvpsim::fnv1a64(d.data(), d.size()));
}
CPP
"$CXX" -std=c++17 -O1 -I"$here/runtime" -o "$fingerprint_tool" "$work/fingerprint.cpp"
fingerprint=$("$fingerprint_tool" "$fatbin")

# the CUresult names of this toolkit, for cuGetErrorName
sed -n 's/^ *\(CUDA_[A-Z0-9_]*\) *= *\([0-9][0-9]*\),.*/{\2, "\1"},/p' "$cuda_include/cuda.h" > "$work/curesult_names.inc"

# kernel sources with __shared__ rewritten (line numbers and file names kept for reports and gdb)
for f in "$src"/*.cu "$src"/*.cuh; do
  perl "$here/shim/rewrite-shared.pl" "$f" "$f" > "$work/src/$(basename "$f")"
done
kernels=$(grep -ho 'DVP_KERNEL void [A-Za-z0-9_]*' "$src"/*.cu | awk '{print $3}' | sort -u)
globals=$(grep -hoE '^extern "C" __device__ (const )?[A-Za-z_][A-Za-z0-9_ ]* [A-Za-z_][A-Za-z0-9_]* *=' "$src"/*.cu | sed -E 's/ *=$//' | awk '{print $NF}' | sort -u)
{
  echo '// generated by kernels/sim/build-sim.sh: every kernel and __device__ global of the image'
  echo '#include "dvp_cuda_shim.h"'
  echo '#include "dvp_kernels.cu"'
  echo '#include "registry.h"'
  echo 'static const dvpsim::HostKernel dvpsim_kernels[] = {'
  for k in $kernels; do echo "  DVPSIM_KERNEL($k)"; done
  echo '};'
  if [ -n "$globals" ]; then
    echo 'static const dvpsim::HostGlobal dvpsim_globals[] = {'
    for g in $globals; do echo "  DVPSIM_GLOBAL($g)"; done
    echo '};'
    nglobals='sizeof dvpsim_globals / sizeof dvpsim_globals[0]'
    gptr=dvpsim_globals
  else
    nglobals=0
    gptr=nullptr
  fi
  echo 'extern "C" __attribute__((visibility("default"))) const dvpsim::HostImage* dvpsim_host_image() {'
  echo "  static const dvpsim::HostImage image{dvpsim::HOST_IMAGE_ABI, $fingerprint, dvpsim_kernels,"
  echo "      sizeof dvpsim_kernels / sizeof dvpsim_kernels[0], $gptr, (unsigned)($nglobals)};"
  echo '  return &image;'
  echo '}'
} > "$work/host_kernels.cpp"

if [ -n "$tests_dir" ]; then
  perl "$here/shim/rewrite-shared.pl" "$here/test/sim_test_kernels.cu" "$here/test/sim_test_kernels.cu" > "$work/src/sim_test_kernels.cu"
  {
    echo '// generated by kernels/sim/build-sim.sh: the simulator tests'"'"' kernels'
    echo '#include "dvp_cuda_shim.h"'
    echo '#include "sim_test_kernels.cu"'
    echo '#include "registry.h"'
    echo 'static const dvpsim::HostKernel dvpsim_test_kernels[] = {'
    grep -ho 'TEST_KERNEL void [A-Za-z0-9_]*' "$here/test/sim_test_kernels.cu" | awk '{print "  DVPSIM_KERNEL(" $3 ")"}'
    echo '};'
    echo 'extern "C" const dvpsim::HostImage* dvpsim_test_image() {'
    echo '  static const dvpsim::HostImage image{dvpsim::HOST_IMAGE_ABI, 0, dvpsim_test_kernels,'
    echo '      sizeof dvpsim_test_kernels / sizeof dvpsim_test_kernels[0], nullptr, 0};'
    echo '  return &image;'
    echo '}'
  } > "$work/test_kernels.cpp"
fi

# Every source compiled once (the driver's objects also link into the test program), in parallel.
# Kernels: against the shim, locals filled with a pattern so a read before the first write shows, and
# plain a*b+c contracted into an FMA as nvcc does by default (--fmad=true; the shim's _rn intrinsics
# stay uncontracted; -O2 also in the ASan build, since GCC forms FMAs only from -O2); the driver and the
# libraries keep -ffp-contract=off.
KFLAGS="-DDVP_CUDA_SIM=1 -O2 -mfma -ffp-contract=fast -ftrivial-auto-var-init=pattern -Wno-unused-parameter -Wno-unused-function -Wno-sign-compare -Wno-unknown-pragmas"
RUNTIME_OBJS=""
{
  echo "CXX := $CXX"
  echo "CXXFLAGS := $COMMON $SAN"
  echo "INC := -I$cuda_include -I$work -I$work/src -I$here/shim -I$here/runtime"
  echo "KFLAGS := $KFLAGS"
  for f in "$here"/runtime/*.cpp; do
    o="$work/obj/runtime_$(basename "${f%.cpp}").o"
    RUNTIME_OBJS="$RUNTIME_OBJS $o"
    echo "$o: $f"
    echo "	\$(CXX) \$(CXXFLAGS) \$(INC) -c \$< -o \$@"
  done
  echo "RUNTIME_OBJS := $RUNTIME_OBJS"
  all="$work/libcuda.so.1 $work/libdvp_kernels_host.so"
  echo "$work/libcuda.so.1: \$(RUNTIME_OBJS)"
  echo "	\$(CXX) \$(CXXFLAGS) -shared -Wl,-soname,libcuda.so.1 -o \$@ \$^ -ldl"
  echo "$work/libdvp_kernels_host.so: $work/host_kernels.cpp $work/libcuda.so.1"
  echo "	\$(CXX) \$(CXXFLAGS) \$(KFLAGS) -D__CUDACC_VER_MAJOR__=$cuda_major -D__CUDACC_VER_MINOR__=$cuda_minor \$(INC) -shared -o \$@ \$< -L$work -l:libcuda.so.1 -Wl,-rpath,'\$\$ORIGIN'"
  for lib in cublas:libcublas.so.13 cudnn:libcudnn.so.9; do
    name=${lib%%:*}
    soname=${lib#*:}
    if [ -f "$here/libs/${name}_sim.cpp" ]; then
      all="$all $work/$soname"
      echo "$work/$soname: $here/libs/${name}_sim.cpp $work/libcuda.so.1"
      # the version script: exactly the C API (libstdc++'s template instances would be exported too)
      echo "	\$(CXX) \$(CXXFLAGS) \$(INC) -shared -Wl,-soname,$soname -Wl,--version-script=$here/libs/${name}_sim.map -o \$@ \$< -L$work -l:libcuda.so.1 -Wl,-rpath,'\$\$ORIGIN'"
    fi
  done
  if [ -n "$tests_dir" ]; then
    all="$all $work/sim_test"
    echo "$work/obj/test_kernels.o: $work/test_kernels.cpp"
    echo "	\$(CXX) \$(CXXFLAGS) \$(KFLAGS) \$(INC) -c \$< -o \$@"
    echo "$work/obj/sim_test.o: $here/test/sim_test.cpp"
    echo "	\$(CXX) \$(CXXFLAGS) \$(INC) -c \$< -o \$@"
    echo "$work/sim_test: $work/obj/test_kernels.o $work/obj/sim_test.o \$(RUNTIME_OBJS)"
    echo "	\$(CXX) \$(CXXFLAGS) -o \$@ \$^ -ldl"
    # the simulated libraries' own test, against independent formulations (with sim_api's test double)
    if [ -f "$here/test/libs_test.cpp" ]; then
      all="$all $work/libs_test"
      echo "$work/libs_test: $here/test/libs_test.cpp $here/test/inline_runtime.cpp $here/libs/cublas_sim.cpp $here/libs/cudnn_sim.cpp"
      echo "	\$(CXX) \$(CXXFLAGS) \$(INC) -o \$@ \$^"
    fi
  fi
  echo "all: $all"
} > "$work/Makefile"
mkdir -p "$work/obj"
if ! make -s -f "$work/Makefile" -j"${DVP_SIM_JOBS:-$(nproc)}" all; then
  echo "[dvp-sim] the CUDA simulator failed to build (see the compiler errors above)" >&2
  exit 1
fi

for f in libcuda.so.1 libdvp_kernels_host.so libcublas.so.13 libcudnn.so.9; do
  if [ -f "$work/$f" ]; then mv "$work/$f" "$out/$f"; else rm -f "$out/$f"; fi
done
if [ -n "$tests_dir" ]; then
  mkdir -p "$tests_dir"
  for t in sim_test libs_test; do [ -f "$work/$t" ] && mv "$work/$t" "$tests_dir/$t"; done
fi
cat > "$out/sim.properties" <<PROPS
# written by kernels/sim/build-sim.sh; read by dvp.engine.cuda.SimulatedDevice and \`dvp doctor\`
variant=${variant:-plain}
image.fingerprint=$fingerprint
toolkit=$nvcc_release
compiler=$("$CXX" --version | head -1)
build.sha256=$stamp
PROPS
rm -rf "$work"
echo "[dvp-sim] built the CUDA simulator${variant:+ ($variant)} in $out in $(( $(date +%s) - start )) s"
