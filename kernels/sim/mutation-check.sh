#!/usr/bin/env bash
# Mutation check of the CUDA tests (not in CI; run it before changing what the simulator or the parity
# suite checks, and record the table in docs/cuda.md). For each single mutation of the kernel sources
# below: copy kernels/src/main/cuda, apply it, rebuild the fat binary (nvcc) and the simulator from the
# copy, and run the parity suite (`dvp --device cuda selftest`: every primitive forward and backward
# against the CPU) the way CI runs it: canonical schedule, then seeds 1 and 2, then the AddressSanitizer
# build; the first variant that fails catches the mutation. Every mutation must be caught. The
# repository is never written (all builds go to a temporary folder).
# Usage: kernels/sim/mutation-check.sh [N ...]   (mutation numbers; default all)
# Needs: nvcc, g++, cli/target/dvp.jar (./mvnw -q -B -DskipTests package -pl cli -am). 3–5 minutes per mutation on 2 cores.
# Output: one markdown table row per mutation on stdout; logs in $MUTATION_LOGS (default /tmp/dvp-mutations).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
src="$repo/kernels/src/main/cuda"
jar="$repo/cli/target/dvp.jar"
logs=${MUTATION_LOGS:-/tmp/dvp-mutations}
mkdir -p "$logs"
[ -f "$jar" ] || { echo "mutation-check: $jar is missing: ./mvnw -q -B -DskipTests package -pl cli -am" >&2; exit 2; }
is25() { [ -x "$1" ] && "$1" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; }
java=${JAVA:-}
if [ -z "$java" ]; then
  for d in ${JAVA_HOME:+"$JAVA_HOME"} /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25*; do is25 "$d/bin/java" && { java="$d/bin/java"; break; }; done
fi
is25 "${java:-/nonexistent}" || { echo "mutation-check: no JDK 25 found (set JAVA to its java)" >&2; exit 2; }
# a private copy: a build running meanwhile may replace cli/target/dvp.jar under a running JVM
cp "$jar" "$logs/dvp.jar"
jar="$logs/dvp.jar"
JAVA_OPTS=(--enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector --sun-misc-unsafe-memory-access=allow)

# file | exact original text | replacement | what the bug is
MUTATIONS=(
  "common.cuh|  sh[threadIdx.x] = v;\n  __syncthreads();|  sh[threadIdx.x] = v;|block sum: the barrier after the shared-memory store deleted"
  "common.cuh|    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];\n    __syncthreads();|    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];|block sum: the barrier inside the tree loop deleted"
  "common.cuh|for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync|for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync|warp sum: one butterfly level (offset 16) missing"
  "margin_infonce.cu|  __syncthreads();\n  if (dq == nullptr) return;|  if (dq == nullptr) return;|margin-InfoNCE: the barrier before the row statistics are read deleted"
  "margin_infonce.cu|      if (sum != 0) sum *= exp((double)m - (double)z);|      if (sum != 0) sum *= 1.0;|margin-InfoNCE: the running sum not rescaled when the running max grows"
  "margin_infonce.cu|    rowStats[3] = (exp((double)z0 - lse) - 1.0) * scale;|    rowStats[3] = exp((double)z0 - lse) * scale;|margin-InfoNCE: the positive's gradient without its -1 (softmax minus one-hot)"
  "rows.cu|mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));|mx = fmaxf(mx, __shfl_down_sync(0xffffffffu, mx, o));|softmax: the row max reduced with shfl_down (valid in lane 0 only)"
  "rows.cu|  for (long long j = lane; j < d; j += 32) y[r * d + j] = __fdiv_rn(xr[j], denom);|  for (long long j = lane; j < d - 1; j += 32) y[r * d + j] = __fdiv_rn(xr[j], denom);|L2 normalise: the last element of each row never written"
  "reduce.cu|  for (long long i = from + threadIdx.x; i < to; i += DVP_BLOCK) acc += x[i];|  for (long long i = from + threadIdx.x; i <= to; i += DVP_BLOCK) acc += x[i];|sum: off by one at each chunk's end (reads the next chunk's first element)"
  "reduce.cu|  if (c >= cols) return;|  if (c > cols) return;|column sums: off by one in the column bound (writes past the partials)"
  "pool.cu|      if (iy < 0 \|\| iy >= h) continue;|      if (iy < 0 \|\| iy > h) continue;|max pool: off by one in the window's row bound (reads row h)"
  "pool.cu|  if (lane == 0) dvp_st(y, warp, (float)(acc / hw));|  if (lane == 0) dvp_st(y, warp, (float)(acc / (hw - 1)));|global average pool: wrong divisor"
  "copy.cu|    for (int k = (int)d.rank - 1; k >= 0; k--) {|    for (int k = (int)d.rank - 1; k > 0; k--) {|strided copy: the outermost dimension's stride ignored"
  "elementwise.cu|DVP_FOR(i, n) dvp_st(out, i, __fadd_rn(__fmul_rn(alpha, dvp_ld(a, i)), __fmul_rn(beta, dvp_ld(b, i))));|DVP_FOR(i, n) dvp_st(out, i, alpha * dvp_ld(a, i) + beta * dvp_ld(b, i));|axpby: + and * instead of __fadd_rn/__fmul_rn (nvcc contracts into an FMA)"
  "sgd.cu|  return __fsub_rn(pv, __fmul_rn(lr, d));|  return pv - lr * d;|SGD (per-tensor and multi-tensor): - and * instead of __fsub_rn/__fmul_rn (nvcc contracts into an FMA)"
  "ofd.cu|  const float mRow = g.channelsLast ? 0.f : margin[r % g.channels];|  const float mRow = g.channelsLast ? 0.f : margin[(r + 1) % g.channels];|OFD: the margin of the wrong channel (NCHW rows)"
  "batchnorm.cu|momentum * (count > 1 ? sq / (count - 1) : var)|momentum * var|batch norm (dvp's kernels): running variance biased instead of unbiased"
  "margin_infonce.cu|  const bool ok = p >= 0 \&\& p + b <= k;|  const bool ok = p >= 0 \&\& p + b < k;|enqueue: off by one in the queue bound (a full last slot refused)"
  "ofd.cu|      for (long long j = tx; j < head; j += tPerRow)|      for (long long j = tx + 1; j < head; j += tPerRow)|OFD: the first element of a row's scalar head skipped"
  "sgd.cu|      pv.w = dvp_sgd_elem(pv.w, gv.w,|      pv.w = dvp_sgd_elem(pv.w, gv.z,|multi-tensor SGD: the fourth lane of a float4 takes the third lane's gradient"
  "sgd.cu|  for (long long e = i + threadIdx.x; e < c.to; e += blockDim.x) out[e]|  for (long long e = i + threadIdx.x; e < c.to - 1; e += blockDim.x) out[e]|multi-tensor axpby: the last element of a chunk's scalar part never written"
  "bn_relu.cu|    const double mean = (double)dvp_ld(x, c * kStride) + d;|    const double mean = d;|fused BN + ReLU: the shift K left out of the one-read mean"
  "bn_relu.cu|at(xv.z, rv.z), at(xv.w, rv.w)|at(xv.z, rv.z), at(xv.w, rv.z)|fused BN + ReLU: the fourth lane of a float4 adds the third lane's residual"
  "bn_relu.cu|  __device__ __forceinline__ void one(long long i) { add(dvp_ld(x, i), relu ? dvp_ld(y, i) : 0.f, dvp_ld(dy, i)); }|  __device__ __forceinline__ void one(long long i) { add(dvp_ld(x, i), 1.f, dvp_ld(dy, i)); }|fused BN + ReLU backward: the per-channel sums ignore the ReLU mask on scalar (head/tail) elements"
  "cast.cu|    o.w = dvp_to_bf16(v.w);|    o.w = dvp_to_bf16(v.z);|F32 to BF16 cast: the fourth lane of a float4 takes the third lane's value"
  "cast.cu|  DVP_FOR(i, n - tail) y[tail + i] = dvp_from_bf16(x[tail + i]);|  DVP_FOR(i, n - tail - 1) y[tail + i] = dvp_from_bf16(x[tail + i]);|BF16 to F32 cast: the last element of the scalar part never written"
  "common.cuh|__bfloat16_as_ushort(__float2bfloat16_rn(f))|(unsigned short)(__float_as_uint(f) >> 16)|F32 to BF16 cast: truncation instead of round to nearest even (NaN payloads kept)"
  "common.cuh|{ return __bfloat16_as_ushort(__float2bfloat16_rn(f)); }|{ const unsigned int u = __float_as_uint(f); return (u \& 0x7fffffffu) > 0x7f800000u ? (unsigned short)((u >> 16) \| 0x40) : __bfloat16_as_ushort(__float2bfloat16_rn(f)); }|F32 to BF16 cast: a NaN keeps its payload (quieted) instead of becoming the canonical 0x7FFF"
  "bn_relu.cu|    if (ty < s) shc[threadIdx.x] += shc[threadIdx.x + (s << txLog2)];|    if (ty < s) shc[threadIdx.x] += shc[threadIdx.x + s];|fused BN + ReLU (NHWC): the column tree adds a neighbouring column (another channel) instead of the row below"
  "bn_relu.cu|dvp_bnr_out(xv.w, rv.w, hasR, sc[3], sh[3], relu)|dvp_bnr_out(xv.w, rv.w, hasR, sc[2], sh[2], relu)|fused BN + ReLU (NHWC): the fourth channel of a vector takes the third channel's scale and shift"
  "bn_relu.cu|const double dz = dvp_bnr_dz(relu, relu ? dvp_ld(y, i) : 0.f, dvp_ld(dy, i));|const double dz = dvp_bnr_dz(relu, 1.f, dvp_ld(dy, i));|fused BN + ReLU backward (NHWC): the per-channel sums ignore the ReLU mask on the scalar path"
  "bn_relu.cu|long long to() const { return min(from() + chunk, pixels); }|long long to() const { return min(from() + chunk + 1, pixels); }|fused BN + ReLU (NHWC): a pixel slice runs one pixel into the next slice (counted twice)"
  "bn_relu.cu|  o.w = dvp_to_bf16(v.w);|  o.w = dvp_to_bf16(v.z);|fused BN + ReLU (bf16, 4-element stores): the fourth element takes the third one's value"
  "ofd.cu|    v[0] = __uint_as_float((unsigned int)w << 16);\n    v[1] = __uint_as_float((unsigned int)w \& 0xffff0000u);|    v[1] = __uint_as_float((unsigned int)w << 16);\n    v[0] = __uint_as_float((unsigned int)w \& 0xffff0000u);|OFD bf16: a word's two elements unpacked in the wrong order (the high half first)"
  "ofd.cu|  static constexpr int V = 8;|  static constexpr int V = 4;|OFD bf16: 4 elements per 16-byte vector (fp32's count) instead of 8"
  "margin_infonce.cu|  dvp_infonce_row(n, d, k, margin, tau, q, kpos, logits, rowLoss, hit, dq, grad, rowStats);|  dvp_infonce_row(n, d, k, margin, tau, q, q, logits, rowLoss, hit, dq, grad, rowStats);|margin-InfoNCE bf16: the positive logit and its gradient from q instead of k+"
  "margin_infonce.cu|hit, dq, grad, rowStats);|hit, dq, (unsigned short*)logits, rowStats);|margin-InfoNCE bf16: G written over the fp32 logits (the fp32 path's habit) instead of its own buffer"
)

apply() { # apply FILE ORIGINAL REPLACEMENT (\n in the texts are newlines); fails if ORIGINAL is not found once
  FILE=$1 ORIG=$2 REPL=$3 perl -0777 -i -pe '
    my $o = $ENV{ORIG}; my $r = $ENV{REPL}; $o =~ s/\\n/\n/g; $r =~ s/\\n/\n/g; $o =~ s/\\([|&])/$1/g; $r =~ s/\\([|&])/$1/g;
    my $n = () = /\Q$o\E/g;
    if ($n != 1) { print STDERR "original text found $n times\n"; exit 3 }
    s/\Q$o\E/$r/;' "$1"
}

selftest() { # selftest SIM_DIR FATBIN LOG [ENV...]: exit status of the parity run
  local sim=$1 fatbin=$2 log=$3
  shift 3
  env "$@" DVP_CUDA_SIM=1 DVP_CUDA_SIM_DIR="$sim" DVP_CUDA_KERNELS="$fatbin" timeout 600 \
    "$java" "${JAVA_OPTS[@]}" -jar "$jar" --device cuda selftest > "$log" 2>&1
}

# A catch counts only as a failed comparison, a thrown error, a sanitizer or simulator report, a crash
# report or a timeout, never as a run that did not start: the unmutated sources must pass first.
# The first failed row or thrown check is the finding; only without one, the first report line (the
# self-test's own out-of-memory check logs a simulator line on purpose, so those rank last).
finding() {
  { grep -m1 -E ' FAIL( |$)|threw ' "$1" || grep -m1 -E 'AddressSanitizer|dvp CUDA simulator:|CudaException|hs_err|SIGSEGV' "$1"; } \
    | sed 's/|/\\|/g; s/  */ /g' | cut -c1-140
}
base=$(mktemp -d)
cp -r "$src" "$base/cuda"
if ! bash "$repo/kernels/build-kernels.sh" "$base/cuda" "$base/image" > "$logs/0-nvcc.txt" 2>&1 ||
   ! bash "$here/build-sim.sh" "$base/cuda" "$base/image/dvp_kernels.fatbin" "$base/sim" > "$logs/0-sim.txt" 2>&1 ||
   ! selftest "$base/sim" "$base/image/dvp_kernels.fatbin" "$logs/0-selftest.txt"; then
  echo "mutation-check: the UNMUTATED sources do not pass (see $logs/0-*.txt): fix that first" >&2
  exit 2
fi
rm -rf "$base"

echo "| # | kernel file | mutation | caught by | first failing check |"
echo "| --- | --- | --- | --- | --- |"
selected=("$@")
status=0
for i in "${!MUTATIONS[@]}"; do
  n=$((i + 1))
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " =~ " $n " ]]; then continue; fi
  IFS='|' read -r file orig repl what <<< "$(echo "${MUTATIONS[$i]}" | sed 's/\\|/\x01/g')"
  orig=${orig//$'\x01'/\\|}
  repl=${repl//$'\x01'/\\|}
  work=$(mktemp -d)
  cp -r "$src" "$work/cuda"
  if ! apply "$work/cuda/$file" "$orig" "$repl" 2> "$logs/$n-apply.txt"; then
    echo "| $n | $file | $what | NOT APPLIED: $(cat "$logs/$n-apply.txt") | - |"
    status=1
    rm -rf "$work"
    continue
  fi
  caught=""
  detail=""
  if ! bash "$repo/kernels/build-kernels.sh" "$work/cuda" "$work/image" > "$logs/$n-nvcc.txt" 2>&1; then
    caught="nvcc (does not compile)"
  elif ! bash "$here/build-sim.sh" "$work/cuda" "$work/image/dvp_kernels.fatbin" "$work/sim" > "$logs/$n-sim.txt" 2>&1; then
    caught="the simulator's host build"
    detail=$(grep -m1 'error' "$logs/$n-sim.txt" | cut -c1-120)
  else
    for variant in canonical seed=1 seed=2 asan; do
      log="$logs/$n-selftest-${variant/=/}.txt"
      if [ "$variant" = asan ]; then
        bash "$here/build-sim.sh" "$work/cuda" "$work/image/dvp_kernels.fatbin" "$work/sim-asan" --asan > "$logs/$n-sim-asan.txt" 2>&1 || { caught="the ASan host build"; break; }
        ASAN_JAVA="$java" selftest "$work/sim-asan" "$work/image/dvp_kernels.fatbin" "$log" \
          LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
          ASAN_OPTIONS="handle_segv=0:allow_user_segv_handler=1:detect_leaks=0:halt_on_error=1"
      else
        selftest "$work/sim" "$work/image/dvp_kernels.fatbin" "$log" DVP_SIM_SCHEDULE="$variant"
      fi
      rc=$?
      if [ $rc -ne 0 ]; then
        detail=$(finding "$log")
        if [ $rc = 124 ]; then caught="$variant (timed out)"
        elif [ -n "$detail" ]; then caught="$variant"
        else caught="**ERROR: the check did not run** (exit $rc, $log)"; status=1
        fi
        break
      fi
    done
  fi
  if [ -z "$caught" ]; then
    caught="**NOT CAUGHT**"
    status=1
  fi
  echo "| $n | $file | $what | $caught | ${detail:--} |"
  rm -rf "$work"
done
exit $status
