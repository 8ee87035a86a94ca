// The CUDA C built-ins our kernels use, for building kernels/src/main/cuda/*.cu with g++ so the
// simulated driver can run them on the CPU (DESIGN.md, "GPU code without a GPU: the simulator").
// nvcc never sees this file: the same sources go to nvcc unchanged.
//
// Semantics kept from CUDA (and checked by the simulator, not assumed):
// - every CUDA thread is its own fiber with its own stack; __syncthreads() parks it until every
//   non-exited thread of the block waits at the same barrier (a thread parked elsewhere is an
//   error naming the kernel, block and sites, never a hang);
// - warp collectives (__shfl*_sync, __ballot_sync, __any_sync, __all_sync, __syncwarp) park the
//   lane until every lane named in the mask has arrived at the same collective; the results are
//   computed from the arrivals' snapshot; a lane named in the mask that exited, waits elsewhere, or
//   does not exist is an error; between collectives lanes are scheduled independently (never in
//   lockstep), so a missing __syncwarp shows;
// - __shared__ arrays are fresh per block, exactly sized (AddressSanitizer sees overruns) and
//   filled with 0xff bytes (NaN / -1), so a read before the first write shows; the host build
//   rewrites each `__shared__ T name[N];` into DVPSIM_SHARED (kernels/sim/shim/rewrite-shared.pl);
// - float arithmetic is IEEE single; plain a * b + c is contracted into an FMA as nvcc does by
//   default, while __fmul_rn/__fadd_rn/__fsub_rn/__fdiv_rn always round each operation and
//   __fmaf_rn rounds once, as on the GPU (see "arithmetic intrinsics" below);
// - atomics are real atomic read-modify-writes on the address (float/double ones by CAS loops);
//   atomics and fences are scheduling points when the schedule is fuzzed.
// Anything not here fails the host compile: unsupported CUDA features are declared below so that
// using one stops the build with a message instead of silently degrading.
#pragma once
#ifndef DVP_CUDA_SIM
#error "dvp_cuda_shim.h is only for the simulator's host build of the kernels (g++ -DDVP_CUDA_SIM)"
#endif
#if defined(__FAST_MATH__)
#error "the simulator's kernels must not be built with -ffast-math / -Ofast (they change rounding and set FTZ for the JVM)"
#endif
#if !defined(__FMA__)
#error "the simulator's kernels are built with -mfma -ffp-contract=fast, to contract a*b+c as nvcc does"
#endif

#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "dvp_half.h"
#include "shim_abi.h"

#define __CUDA_ARCH__ 900
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
// __restrict__ means the same to g++.

// ---- types ---------------------------------------------------------------------------------------

struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) double2 { double x, y; };
struct alignas(8) int2 { int x, y; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(16) longlong2 { long long x, y; };
struct alignas(4) ushort2 { unsigned short x, y; };
struct alignas(8) ushort4 { unsigned short x, y, z, w; };
static inline float2 make_float2(float x, float y) { return {x, y}; }
static inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
static inline double2 make_double2(double x, double y) { return {x, y}; }
static inline int2 make_int2(int x, int y) { return {x, y}; }
static inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
static_assert(sizeof(float4) == 16 && alignof(double2) == 16 && sizeof(double2) == 16, "CUDA vector type layout");

// bfloat16 and half as storage types with the GPU's conversions (round to nearest even).
struct __nv_bfloat16 { unsigned short x; };
struct __half { unsigned short x; };
static inline float __bfloat162float(__nv_bfloat16 h) { return dvpsim::bf16_to_float(h.x); }
static inline __nv_bfloat16 __float2bfloat16(float f) { return {dvpsim::float_to_bf16(f)}; }
static inline __nv_bfloat16 __float2bfloat16_rn(float f) { return {dvpsim::float_to_bf16(f)}; }
static inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.x; }
static inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) { return {u}; }
static inline float __half2float(__half h) { return dvpsim::half_to_float(h.x); }
static inline __half __float2half(float f) { return {dvpsim::float_to_half(f)}; }
static inline __half __float2half_rn(float f) { return {dvpsim::float_to_half(f)}; }

#define DVPSIM_SITE(what)                                                  \
  ([]() -> const ::dvpsim::Site* {                                         \
    static const ::dvpsim::Site dvpsim_site_{what, __FILE__, __LINE__};    \
    return &dvpsim_site_;                                                  \
  }())

#define threadIdx (::dvpsim::thread_view()->thread_idx)
#define blockIdx (::dvpsim::thread_view()->block_idx)
#define blockDim (::dvpsim::thread_view()->block_dim)
#define gridDim (::dvpsim::thread_view()->grid_dim)
static constexpr int warpSize = 32;

#define __syncthreads() ::dvpsim::syncthreads(DVPSIM_SITE("__syncthreads"))
#define __syncthreads_count(p) ::dvpsim::syncthreads_count(DVPSIM_SITE("__syncthreads_count"), (p))
#define __syncthreads_and(p) ::dvpsim::syncthreads_and(DVPSIM_SITE("__syncthreads_and"), (p))
#define __syncthreads_or(p) ::dvpsim::syncthreads_or(DVPSIM_SITE("__syncthreads_or"), (p))

// __shared__ declarations, after the host build's rewrite (see the file comment).
#define DVPSIM_SHARED(T, name, dims)                                                                \
  static const ::dvpsim::Site name##_dvpsim_shared_site{"__shared__ " #name, __FILE__, __LINE__};  \
  T(&name) dims = *reinterpret_cast<T(*) dims>(::dvpsim::shared_slot(&name##_dvpsim_shared_site, sizeof(T dims), alignof(T)))
#define DVPSIM_DYNAMIC_SHARED(T, name) T* const name = reinterpret_cast<T*>(::dvpsim::dynamic_shared())
// An unrewritten __shared__ means the sources were not passed through rewrite-shared.pl.
#define __shared__ static_assert(false, "dvp CUDA simulator: __shared__ must be rewritten by kernels/sim/shim/rewrite-shared.pl");

// ---- warp collectives ----------------------------------------------------------------------------

namespace dvpsim {
template <typename T>
inline unsigned long long to_bits(T v) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8 || sizeof(T) == 2, "warp shuffle of an unsupported type");
  unsigned long long b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <typename T>
inline T from_bits(unsigned long long b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}
template <typename T>
inline T shfl(const Site* s, WarpOp op, unsigned mask, T v, int arg, int width = 32) {
  return from_bits<T>(warp_collective(s, op, mask, to_bits(v), (int)sizeof(T), arg, width));
}
inline void syncwarp(const Site* s, unsigned mask = 0xffffffffu) { warp_collective(s, WarpOp::SyncWarp, mask, 0, 4, 0, 32); }
}  // namespace dvpsim

#define __shfl_sync(mask, var, src, ...) \
  ::dvpsim::shfl(DVPSIM_SITE("__shfl_sync"), ::dvpsim::WarpOp::ShflIdx, (mask), (var), (src), ##__VA_ARGS__)
#define __shfl_up_sync(mask, var, delta, ...) \
  ::dvpsim::shfl(DVPSIM_SITE("__shfl_up_sync"), ::dvpsim::WarpOp::ShflUp, (mask), (var), (delta), ##__VA_ARGS__)
#define __shfl_down_sync(mask, var, delta, ...) \
  ::dvpsim::shfl(DVPSIM_SITE("__shfl_down_sync"), ::dvpsim::WarpOp::ShflDown, (mask), (var), (delta), ##__VA_ARGS__)
#define __shfl_xor_sync(mask, var, laneMask, ...) \
  ::dvpsim::shfl(DVPSIM_SITE("__shfl_xor_sync"), ::dvpsim::WarpOp::ShflXor, (mask), (var), (laneMask), ##__VA_ARGS__)
#define __ballot_sync(mask, pred) \
  ((unsigned)::dvpsim::warp_collective(DVPSIM_SITE("__ballot_sync"), ::dvpsim::WarpOp::Ballot, (mask), (pred) ? 1u : 0u, 4, 0, 32))
#define __any_sync(mask, pred) \
  ((int)::dvpsim::warp_collective(DVPSIM_SITE("__any_sync"), ::dvpsim::WarpOp::Any, (mask), (pred) ? 1u : 0u, 4, 0, 32))
#define __all_sync(mask, pred) \
  ((int)::dvpsim::warp_collective(DVPSIM_SITE("__all_sync"), ::dvpsim::WarpOp::All, (mask), (pred) ? 1u : 0u, 4, 0, 32))
#define __syncwarp(...) ::dvpsim::syncwarp(DVPSIM_SITE("__syncwarp"), ##__VA_ARGS__)
#define __activemask() \
  ((unsigned)::dvpsim::warp_collective(DVPSIM_SITE("__activemask"), ::dvpsim::WarpOp::ActiveMask, 0, 0, 4, 0, 32))

// ---- arithmetic intrinsics ------------------------------------------------------------------------
// The kernels' host build contracts plain `a * b + c` into a fused multiply-add (-ffp-contract=fast
// -mfma), as nvcc does by default (--fmad=true), so code that leaves rounding to the compiler differs
// from a CPU reference here as it would on the GPU. The _rn intrinsics are never contracted, on the
// GPU or here: each one's operands and result pass through an empty asm that the optimiser cannot
// see through, so every one rounds on its own exactly as IEEE (and PTX's .rn) says.
#define DVPSIM_OPAQUE(x) __asm__("" : "+x"(x))
static inline float __fadd_rn(float a, float b) { DVPSIM_OPAQUE(a); DVPSIM_OPAQUE(b); float r = a + b; DVPSIM_OPAQUE(r); return r; }
static inline float __fsub_rn(float a, float b) { DVPSIM_OPAQUE(a); DVPSIM_OPAQUE(b); float r = a - b; DVPSIM_OPAQUE(r); return r; }
static inline float __fmul_rn(float a, float b) { DVPSIM_OPAQUE(a); DVPSIM_OPAQUE(b); float r = a * b; DVPSIM_OPAQUE(r); return r; }
static inline float __fdiv_rn(float a, float b) { DVPSIM_OPAQUE(a); DVPSIM_OPAQUE(b); float r = a / b; DVPSIM_OPAQUE(r); return r; }
static inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
static inline double __dadd_rn(double a, double b) { DVPSIM_OPAQUE(a); DVPSIM_OPAQUE(b); double r = a + b; DVPSIM_OPAQUE(r); return r; }
static inline double __dsub_rn(double a, double b) { DVPSIM_OPAQUE(a); DVPSIM_OPAQUE(b); double r = a - b; DVPSIM_OPAQUE(r); return r; }
static inline double __dmul_rn(double a, double b) { DVPSIM_OPAQUE(a); DVPSIM_OPAQUE(b); double r = a * b; DVPSIM_OPAQUE(r); return r; }
static inline double __ddiv_rn(double a, double b) { DVPSIM_OPAQUE(a); DVPSIM_OPAQUE(b); double r = a / b; DVPSIM_OPAQUE(r); return r; }
static inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
static inline float __frcp_rn(float a) { return 1.0f / a; }
static inline float __fsqrt_rn(float a) { return std::sqrt(a); }
static inline double __dsqrt_rn(double a) { return std::sqrt(a); }
static inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline unsigned int __float_as_uint(float f) { unsigned int i; std::memcpy(&i, &f, 4); return i; }
static inline float __uint_as_float(unsigned int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline long long __double_as_longlong(double d) { long long i; std::memcpy(&i, &d, 8); return i; }
static inline double __longlong_as_double(long long i) { double d; std::memcpy(&d, &i, 8); return d; }
static inline int __float2int_rn(float f) { return (int)std::nearbyint(f); }
static inline int __float2int_rz(float f) { return (int)f; }
static inline int __popc(unsigned int v) { return __builtin_popcount(v); }
static inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
static inline int __clz(int v) { return v == 0 ? 32 : __builtin_clz((unsigned)v); }
static inline int __ffs(int v) { return __builtin_ffs(v); }
template <typename T>
static inline T __ldg(const T* p) { return *p; }

// CUDA's overloaded device min/max.
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
static inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
static inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
static inline float min(float a, float b) { return std::fmin(a, b); }
static inline float max(float a, float b) { return std::fmax(a, b); }
static inline double min(double a, double b) { return std::fmin(a, b); }
static inline double max(double a, double b) { return std::fmax(a, b); }
static inline long min(long a, long b) { return a < b ? a : b; }
static inline long max(long a, long b) { return a > b ? a : b; }
static inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
static inline unsigned long max(unsigned long a, unsigned long b) { return a > b ? a : b; }
static inline double min(float a, double b) { return std::fmin((double)a, b); }
static inline double max(float a, double b) { return std::fmax((double)a, b); }
static inline double min(double a, float b) { return std::fmin(a, (double)b); }
static inline double max(double a, float b) { return std::fmax(a, (double)b); }
using std::exp;
using std::fma;
using std::log;
using std::sqrt;
using std::fabs;

// ---- atomics: real RMWs on the address, scheduling points when fuzzing -----------------------------

namespace dvpsim {
template <typename T>
inline T atomic_cas(const Site* s, T* p, T compare, T val) {
  yield_point(s);
  __atomic_compare_exchange_n(p, &compare, val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return compare;  // the old value in either case
}
template <typename T, typename F>
inline T atomic_update(const Site* s, T* p, F f) {
  yield_point(s);
  T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (!__atomic_compare_exchange_n(p, &old, f(old), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
  return old;
}
// float/double RMWs on the bits, so a NaN compare never loops forever
template <typename T, typename U, typename F>
inline T atomic_update_fp(const Site* s, T* p, F f) {
  U* q = reinterpret_cast<U*>(p);
  U old = atomic_update(s, q, [&](U bits) { return from_bits<U>(to_bits(f(from_bits<T>(bits)))); });
  return from_bits<T>(old);
}
}  // namespace dvpsim

#define DVPSIM_ATOMIC_INT(T)                                                                                                   \
  static inline T atomicCAS(T* p, T c, T v) { return ::dvpsim::atomic_cas(DVPSIM_SITE("atomicCAS"), p, c, v); }              \
  static inline T atomicExch(T* p, T v) { return ::dvpsim::atomic_update(DVPSIM_SITE("atomicExch"), p, [&](T) { return v; }); } \
  static inline T atomicAdd(T* p, T v) { return ::dvpsim::atomic_update(DVPSIM_SITE("atomicAdd"), p, [&](T o) { return (T)(o + v); }); } \
  static inline T atomicSub(T* p, T v) { return ::dvpsim::atomic_update(DVPSIM_SITE("atomicSub"), p, [&](T o) { return (T)(o - v); }); } \
  static inline T atomicMax(T* p, T v) { return ::dvpsim::atomic_update(DVPSIM_SITE("atomicMax"), p, [&](T o) { return o > v ? o : v; }); } \
  static inline T atomicMin(T* p, T v) { return ::dvpsim::atomic_update(DVPSIM_SITE("atomicMin"), p, [&](T o) { return o < v ? o : v; }); } \
  static inline T atomicAnd(T* p, T v) { return ::dvpsim::atomic_update(DVPSIM_SITE("atomicAnd"), p, [&](T o) { return (T)(o & v); }); } \
  static inline T atomicOr(T* p, T v) { return ::dvpsim::atomic_update(DVPSIM_SITE("atomicOr"), p, [&](T o) { return (T)(o | v); }); } \
  static inline T atomicXor(T* p, T v) { return ::dvpsim::atomic_update(DVPSIM_SITE("atomicXor"), p, [&](T o) { return (T)(o ^ v); }); }
DVPSIM_ATOMIC_INT(int)
DVPSIM_ATOMIC_INT(unsigned int)
DVPSIM_ATOMIC_INT(unsigned long long)
#undef DVPSIM_ATOMIC_INT
static inline unsigned int atomicInc(unsigned int* p, unsigned int v) {
  return ::dvpsim::atomic_update(DVPSIM_SITE("atomicInc"), p, [&](unsigned int o) { return o >= v ? 0u : o + 1; });
}
static inline unsigned int atomicDec(unsigned int* p, unsigned int v) {
  return ::dvpsim::atomic_update(DVPSIM_SITE("atomicDec"), p, [&](unsigned int o) { return (o == 0 || o > v) ? v : o - 1; });
}
static inline float atomicAdd(float* p, float v) {
  return ::dvpsim::atomic_update_fp<float, unsigned int>(DVPSIM_SITE("atomicAdd"), p, [&](float o) { return o + v; });
}
static inline double atomicAdd(double* p, double v) {
  return ::dvpsim::atomic_update_fp<double, unsigned long long>(DVPSIM_SITE("atomicAdd"), p, [&](double o) { return o + v; });
}
static inline float atomicExch(float* p, float v) {
  return ::dvpsim::atomic_update_fp<float, unsigned int>(DVPSIM_SITE("atomicExch"), p, [&](float) { return v; });
}
#define __threadfence() (::dvpsim::yield_point(DVPSIM_SITE("__threadfence")), __atomic_thread_fence(__ATOMIC_SEQ_CST))
#define __threadfence_block() (::dvpsim::yield_point(DVPSIM_SITE("__threadfence_block")), __atomic_thread_fence(__ATOMIC_SEQ_CST))
#define __threadfence_system() (::dvpsim::yield_point(DVPSIM_SITE("__threadfence_system")), __atomic_thread_fence(__ATOMIC_SEQ_CST))
#define __nanosleep(ns) ((void)(ns), ::dvpsim::yield_point(DVPSIM_SITE("__nanosleep")))

// ---- printf and assert as on the device ------------------------------------------------------------

#define printf(...) ::dvpsim::device_printf(__VA_ARGS__)
#undef assert
#define assert(e) ((e) ? (void)0 : ::dvpsim::device_assert_fail(#e, __FILE__, __LINE__))

// ---- what the simulator does not emulate: using it stops the host build ----------------------------

#define DVPSIM_UNSUPPORTED(name, hint) \
  ([] { static_assert(sizeof(int) == 0, "dvp CUDA simulator: " name " is not emulated; " hint); }(), 0)
#define __shfl(...) DVPSIM_UNSUPPORTED("__shfl (no mask)", "use __shfl_sync")
#define __shfl_up(...) DVPSIM_UNSUPPORTED("__shfl_up (no mask)", "use __shfl_up_sync")
#define __shfl_down(...) DVPSIM_UNSUPPORTED("__shfl_down (no mask)", "use __shfl_down_sync")
#define __shfl_xor(...) DVPSIM_UNSUPPORTED("__shfl_xor (no mask)", "use __shfl_xor_sync")
#define __any(...) DVPSIM_UNSUPPORTED("__any (no mask)", "use __any_sync")
#define __all(...) DVPSIM_UNSUPPORTED("__all (no mask)", "use __all_sync")
#define __ballot(...) DVPSIM_UNSUPPORTED("__ballot (no mask)", "use __ballot_sync")
#define __match_any_sync(...) DVPSIM_UNSUPPORTED("__match_any_sync", "extend kernels/sim or use __shfl_sync/__ballot_sync")
#define __match_all_sync(...) DVPSIM_UNSUPPORTED("__match_all_sync", "extend kernels/sim or use __shfl_sync/__ballot_sync")
#define __reduce_add_sync(...) DVPSIM_UNSUPPORTED("__reduce_add_sync", "use a __shfl_xor_sync butterfly")
#define __reduce_min_sync(...) DVPSIM_UNSUPPORTED("__reduce_min_sync", "use a __shfl_xor_sync butterfly")
#define __reduce_max_sync(...) DVPSIM_UNSUPPORTED("__reduce_max_sync", "use a __shfl_xor_sync butterfly")
#define __expf(...) DVPSIM_UNSUPPORTED("__expf (approximate)", "its error on the GPU is not modelled; use expf or state a tolerance and extend kernels/sim")
#define __logf(...) DVPSIM_UNSUPPORTED("__logf (approximate)", "its error on the GPU is not modelled")
#define __fdividef(...) DVPSIM_UNSUPPORTED("__fdividef (approximate)", "its error on the GPU is not modelled; use __fdiv_rn")
#define __sinf(...) DVPSIM_UNSUPPORTED("__sinf (approximate)", "its error on the GPU is not modelled")
#define __cosf(...) DVPSIM_UNSUPPORTED("__cosf (approximate)", "its error on the GPU is not modelled")
#define __fadd_rz(...) DVPSIM_UNSUPPORTED("__fadd_rz", "directed rounding is not emulated")
#define __fmul_rz(...) DVPSIM_UNSUPPORTED("__fmul_rz", "directed rounding is not emulated")
#define __fmaf_rz(...) DVPSIM_UNSUPPORTED("__fmaf_rz", "directed rounding is not emulated")
#define clock(...) DVPSIM_UNSUPPORTED("clock()", "cycle counts mean nothing in simulation")
#define clock64(...) DVPSIM_UNSUPPORTED("clock64()", "cycle counts mean nothing in simulation")
#define tex1Dfetch(...) DVPSIM_UNSUPPORTED("textures", "read global memory instead")
#define cudaGetParameterBuffer(...) DVPSIM_UNSUPPORTED("dynamic parallelism", "launch from the host")
#define wmma DVPSIM_UNSUPPORTED_WMMA_is_not_emulated_by_the_dvp_CUDA_simulator
#define asm static_assert(false, "dvp CUDA simulator: inline PTX asm is not emulated"); (void)
