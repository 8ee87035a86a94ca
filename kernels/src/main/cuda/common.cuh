// Shared helpers for the dvp kernels. Every kernel is `extern "C"` (unmangled names, looked up by
// dvp.engine.cuda.KernelImage) and takes sizes as 64-bit integers.
//
// Determinism: reductions never use float atomics. Each block reduces a fixed slice of the input
// with a fixed block size (the Java launcher always uses DVP_BLOCK threads for reductions) through
// a fixed shared-memory tree, writing one partial per block; a second kernel combines the partials
// in index order. The slicing depends only on the tensor shape, never on the GPU, so results are
// bit-identical run to run and card to card of the same architecture.
#pragma once
#include <cstdint>
#ifndef DVP_CUDA_SIM
#include <cuda_bf16.h>
#endif

#define DVP_KERNEL extern "C" __global__
#define DVP_BLOCK 256

// Grid-stride loop over [0, n).
#define DVP_FOR(i, n) \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

// Sums v over the block (blockDim.x == DVP_BLOCK) in a fixed order; the result is valid in thread 0.
__device__ __forceinline__ double dvp_block_sum(double v) {
  __shared__ double sh[DVP_BLOCK];
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = DVP_BLOCK / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  double r = sh[0];
  __syncthreads();  // sh may be reused by a following call
  return r;
}

// Max over the block; valid in every thread.
__device__ __forceinline__ float dvp_block_max(float v) {
  __shared__ float shm[DVP_BLOCK];
  shm[threadIdx.x] = v;
  __syncthreads();
  for (int s = DVP_BLOCK / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shm[threadIdx.x] = fmaxf(shm[threadIdx.x], shm[threadIdx.x + s]);
    __syncthreads();
  }
  float r = shm[0];
  __syncthreads();
  return r;
}

// Sum over a warp in a fixed butterfly order; valid in every lane.
__device__ __forceinline__ double dvp_warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Reports the first error (code, info) into the context's device error word; the host checks it at
// the next synchronisation and throws naming the op (no per-op host sync is needed).
__device__ __forceinline__ void dvp_report(int* err, int code, int info) {
  if (atomicCAS(err, 0, code) == 0) err[1] = info;
}

// Error codes written by dvp_report (mirrored in dvp.engine.cuda.DeviceErrors).
#define DVP_ERR_LABEL_OUT_OF_RANGE 1
#define DVP_ERR_QUEUE_POINTER 2
#define DVP_ERR_INDEX_OUT_OF_RANGE 3

// ---- element storage: F32 or BF16 (bf16 autocast's activations) ----------------------------------
// bf16 is stored as its 16 bits (unsigned short), so the same source builds with nvcc and with the
// simulator's shim. The conversions are the hardware's: __float2bfloat16_rn is cvt.rn.bf16.f32
// (nearest, ties to even, overflow to infinity, NaN to the canonical 0x7fff), __bfloat162float is
// exact. Kernels templated on the element type T (float or dvp_bf16) load through dvp_ld (exact
// widening to float), compute in fp32 (or double where the F32 kernel does), and store through
// dvp_st: one rounding per stored element, none for float.
typedef unsigned short dvp_bf16;

__device__ __forceinline__ unsigned short dvp_to_bf16(float f) { return __bfloat16_as_ushort(__float2bfloat16_rn(f)); }
__device__ __forceinline__ float dvp_from_bf16(unsigned short h) { return __bfloat162float(__ushort_as_bfloat16(h)); }

__device__ __forceinline__ float dvp_ld(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float dvp_ld(const dvp_bf16* p, long long i) { return dvp_from_bf16(p[i]); }
__device__ __forceinline__ void dvp_st(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void dvp_st(dvp_bf16* p, long long i, float v) { p[i] = dvp_to_bf16(v); }
