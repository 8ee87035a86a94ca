#!/usr/bin/env bash
# Checks the simulated cuBLAS and cuDNN (kernels/sim/libs) on their own, without the simulated
# driver: builds everything into a temporary folder (nothing is written into the repository).
#  1. libs_test: the native test program, linked with the driver's test double inline_runtime.cpp.
#  2. libcublas.so.13 / libcudnn.so.9 built as build-sim.sh should build them (same flags, the
#     version scripts, linked against a libcuda.so.1 -- here the test double), then: the soname, and
#     the exported symbols are exactly the functions dvp's FFM bindings bind (Cublas.java, Cudnn.java).
#  3. If a Java >= 22 (JAVA, default: java on PATH) and the engine jar (ENGINE_JAR, default
#     engine/target/dvp-engine-*-SNAPSHOT.jar) are there: SimLibsFfmCheck.java drives the libraries
#     through the real bindings. Otherwise it says so and skips that step (it needs a built jar).
#  4. If SIM_DIR names build-sim.sh's output folder and the toolkit's cuda.h is found (CUDA_INCLUDE):
#     libs_on_driver.cpp runs the libraries built there on the simulated driver built there.
# Usage: kernels/sim/test/libs-check.sh   (from anywhere; exit status non-zero on any failure)
# ASAN=1 also builds and runs libs_test under AddressSanitizer + UBSan (slow to compile).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sim=$(dirname "$here")
repo=$(cd "$sim/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cxx=${CXX:-g++}
flags=(-std=c++17 -O2 -g -fPIC -ffp-contract=off -fno-fast-math -Wall -Wextra -Werror)

echo "== libs_test"
"$cxx" "${flags[@]}" "$here/libs_test.cpp" "$here/inline_runtime.cpp" "$sim/libs/cublas_sim.cpp" \
  "$sim/libs/cudnn_sim.cpp" -o "$out/libs_test"
"$out/libs_test" > "$out/libs_test.log" || { grep -v '^ok' "$out/libs_test.log"; exit 1; }
tail -n 1 "$out/libs_test.log"

if [[ "${ASAN:-0}" == 1 ]]; then
  echo "== libs_test under AddressSanitizer + UBSan"
  "$cxx" -std=c++17 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -ffp-contract=off -fno-fast-math \
    -Wall -Wextra -Werror "$here/libs_test.cpp" "$here/inline_runtime.cpp" "$sim/libs/cublas_sim.cpp" \
    "$sim/libs/cudnn_sim.cpp" -o "$out/libs_test_asan"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$out/libs_test_asan" > "$out/asan.log" 2>&1 ||
    { grep -v '^ok' "$out/asan.log"; exit 1; }
  tail -n 1 "$out/asan.log"
fi

echo "== shared libraries"
"$cxx" "${flags[@]}" -shared -Wl,-soname,libcuda.so.1 "$here/inline_runtime.cpp" -o "$out/libcuda.so.1"
"$cxx" "${flags[@]}" -fvisibility=hidden -shared -Wl,-soname,libcublas.so.13 \
  -Wl,--version-script="$sim/libs/cublas_sim.map" -Wl,--no-undefined "$sim/libs/cublas_sim.cpp" "$out/libcuda.so.1" \
  -o "$out/libcublas.so.13"
"$cxx" "${flags[@]}" -fvisibility=hidden -shared -Wl,-soname,libcudnn.so.9 \
  -Wl,--version-script="$sim/libs/cudnn_sim.map" -Wl,--no-undefined "$sim/libs/cudnn_sim.cpp" "$out/libcuda.so.1" \
  -o "$out/libcudnn.so.9"
bindings="$repo/engine/src/main/java/dvp/engine/cuda/ffm"
status=0
for pair in Cublas:libcublas.so.13 Cudnn:libcudnn.so.9; do
  cls=${pair%%:*} lib=${pair#*:}
  soname=$(readelf -d "$out/$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
  grep -o 'lib.function("[A-Za-z0-9_]*"' "$bindings/$cls.java" | sed 's/lib.function("//; s/"//' | sort > "$out/$cls.bound"
  nm -D --defined-only "$out/$lib" | awk '{print $3}' | sort > "$out/$cls.exported"
  if [[ "$soname" == "$lib" ]] && diff -u "$out/$cls.bound" "$out/$cls.exported"; then
    echo "ok    $lib: soname $soname, exports exactly the $(wc -l < "$out/$cls.exported") functions $cls.java binds"
  else
    echo "FAIL  $lib: soname '$soname' or exports differ from what $cls.java binds (diff above: - bound, + exported)"
    status=1
  fi
done

echo "== through the Java FFM bindings"
java=${JAVA:-java}
jar=${ENGINE_JAR:-$(ls "$repo"/engine/target/dvp-engine-*-SNAPSHOT.jar 2>/dev/null | grep -v -- -tests.jar | head -n 1 || true)}
feature=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p' || true)
if [[ -z "$jar" || ! -f "$jar" || -z "$feature" || "$feature" -lt 22 ]]; then
  echo "skipped: needs Java >= 22 (JAVA=${java}, found '${feature:-none}') and the engine jar (ENGINE_JAR, found '${jar:-none}')"
else
  cp "$jar" "$out/engine.jar"  # a private copy: the build may replace the jar meanwhile
  LD_LIBRARY_PATH="$out" "$java" --enable-native-access=ALL-UNNAMED -cp "$out/engine.jar" \
    "$here/SimLibsFfmCheck.java" "$out" || status=1
fi

echo "== on the simulated driver (build-sim.sh's output)"
cuda_h=""
for d in ${CUDA_INCLUDE:-} /usr/local/cuda/include; do [[ -f "$d/cuda.h" ]] && { cuda_h=$d; break; }; done
if [[ -z "${SIM_DIR:-}" || ! -f "${SIM_DIR:-}/libcuda.so.1" || -z "$cuda_h" ]]; then
  echo "skipped: needs SIM_DIR (build-sim.sh's output folder, found '${SIM_DIR:-none}') and cuda.h (CUDA_INCLUDE)"
else
  "$cxx" -std=c++17 -O1 -g -I"$cuda_h" "$here/libs_on_driver.cpp" -L"$SIM_DIR" -l:libcuda.so.1 -l:libcublas.so.13 \
    -l:libcudnn.so.9 -Wl,-rpath,"$SIM_DIR" -o "$out/libs_on_driver"
  "$out/libs_on_driver" || status=1
fi
exit $status
