// Kernels that exercise the simulator's CUDA semantics (scheduler_test.cpp runs them): each is plain
// CUDA C that nvcc would accept too. Some are correct and their results are checked; some break a
// rule on purpose (a divergent barrier, a lane missing from a shuffle, a shuffle mask without the
// caller, a deadlock, a failed assert) and the simulator must stop them with an error naming it.
#include <cstdint>

#define TEST_KERNEL extern "C" __global__

// ---- correct kernels ------------------------------------------------------------------------------

// out[block] = sum of in[block*256 ...] by a shared-memory tree with barriers (blockDim 256)
TEST_KERNEL void t_block_sum(const float* in, float* out) {
  __shared__ float s[256];
  unsigned t = threadIdx.x;
  s[t] = in[blockIdx.x * 256 + t];
  __syncthreads();
  for (unsigned h = 128; h > 0; h >>= 1) {
    if (t < h) s[t] += s[t + h];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

// The same with the barrier inside the loop missing: a race whose outcome depends on the schedule.
TEST_KERNEL void t_block_sum_racy(const float* in, float* out) {
  __shared__ float s[256];
  unsigned t = threadIdx.x;
  s[t] = in[blockIdx.x * 256 + t];
  __syncthreads();
  for (unsigned h = 128; h > 0; h >>= 1) {
    if (t < h) s[t] += s[t + h];
  }
  __syncthreads();
  if (t == 0) out[blockIdx.x] = s[0];
}

// Every shuffle flavour and width, and the votes; one record of 12 ints per lane.
TEST_KERNEL void t_warp_ops(int* out) {
  int lane = threadIdx.x & 31;
  int* o = out + threadIdx.x * 12;
  int v = 100 + (int)threadIdx.x;
  o[0] = __shfl_sync(0xffffffffu, v, 5);
  o[1] = __shfl_sync(0xffffffffu, v, lane + 3, 8);   // within 8-lane segments, source (lane+3) mod 8
  o[2] = __shfl_up_sync(0xffffffffu, v, 3);
  o[3] = __shfl_up_sync(0xffffffffu, v, 3, 16);
  o[4] = __shfl_down_sync(0xffffffffu, v, 5);
  o[5] = __shfl_down_sync(0xffffffffu, v, 5, 16);
  o[6] = __shfl_xor_sync(0xffffffffu, v, 9);
  o[7] = __shfl_xor_sync(0xffffffffu, v, 1, 4);
  o[8] = (int)__ballot_sync(0xffffffffu, lane % 3 == 0);
  o[9] = __any_sync(0xffffffffu, lane == 17);
  o[10] = __all_sync(0xffffffffu, lane < 31);
  double d = __shfl_xor_sync(0xffffffffu, (double)v * 0.5, 16);  // 64-bit values
  o[11] = (int)(d * 2);
}

// Half a warp shuffles among itself (mask 0x0000ffff), the other half among itself: both legal.
TEST_KERNEL void t_half_warps(int* out) {
  int lane = threadIdx.x & 31;
  int v = lane;
  if (lane < 16) v = __shfl_xor_sync(0x0000ffffu, v, 1);
  else v = __shfl_xor_sync(0xffff0000u, v, 2);
  out[threadIdx.x] = v;
}

// Threads that return early do not hold up a barrier the others reach (PTX: exited threads do not count).
TEST_KERNEL void t_early_exit(int* out, int active) {
  __shared__ int s[64];
  if ((int)threadIdx.x >= active) return;
  s[threadIdx.x] = (int)threadIdx.x;
  __syncthreads();
  out[threadIdx.x] = s[(threadIdx.x + 1) % active];
}

TEST_KERNEL void t_syncthreads_count(int* out) {
  int c = __syncthreads_count(threadIdx.x % 4 == 0);
  int a = __syncthreads_and(threadIdx.x < 1000);
  int o = __syncthreads_or(threadIdx.x == 7);
  if (threadIdx.x == 0) {
    out[0] = c;
    out[1] = a;
    out[2] = o;
  }
}

// Shared memory is fresh (0xff bytes) in every block: a read before any write sees the poison.
TEST_KERNEL void t_shared_poison(unsigned* out) {
  __shared__ unsigned s[4];
  if (threadIdx.x == 0) {
    out[blockIdx.x] = s[blockIdx.x % 4];
    s[blockIdx.x % 4] = 7;  // must not leak into the next block
  }
}

TEST_KERNEL void t_dynamic_shared(float* out, int n) {
  extern __shared__ float dyn[];
  for (int i = threadIdx.x; i < n; i += blockDim.x) dyn[i] = (float)i;
  __syncthreads();
  if (threadIdx.x == 0) {
    float s = 0;
    for (int i = 0; i < n; i++) s += dyn[i];
    out[blockIdx.x] = s;
  }
}

TEST_KERNEL void t_atomics(int* counter, float* fsum, unsigned long long* usum, int* cas_winner) {
  atomicAdd(counter, 1);
  atomicAdd(fsum, 0.5f);
  atomicAdd(usum, 3ull);
  int me = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  atomicCAS(cas_winner, -1, me);
  __threadfence();
}

// 2-D and 3-D geometry: each thread writes its global linear id.
TEST_KERNEL void t_geometry(unsigned* out) {
  unsigned bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  unsigned n = blockDim.x * blockDim.y * blockDim.z;
  out[bx * n + t] = bx * 1000 + t;
}

TEST_KERNEL void t_printf(int tag) {
  if (threadIdx.x == 3 && blockIdx.x == 1) printf("hello from block %d thread %d tag %d\n", (int)blockIdx.x, (int)threadIdx.x, tag);
}

TEST_KERNEL void t_rounding(const float* a, const float* b, const float* c, float* out, int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    out[5 * i + 0] = __fmaf_rn(a[i], b[i], c[i]);                // one rounding
    out[5 * i + 1] = __fadd_rn(__fmul_rn(a[i], b[i]), c[i]);     // two roundings, never contracted
    out[5 * i + 2] = __bfloat162float(__float2bfloat16(a[i]));
    out[5 * i + 3] = __half2float(__float2half(a[i]));
    out[5 * i + 4] = a[i] * b[i] + c[i];                         // contracted into an FMA, as nvcc --fmad=true does
  }
}

// ---- kernels that break a rule: the simulator must report each ----------------------------------------

TEST_KERNEL void t_divergent_barrier(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

TEST_KERNEL void t_shfl_missing_lane(int* out) {
  int v = threadIdx.x;
  if ((threadIdx.x & 31) < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
  out[threadIdx.x] = v;
}

TEST_KERNEL void t_shfl_mask_without_self(int* out) {
  int v = __shfl_sync(0x1u, (int)threadIdx.x, 0);
  out[threadIdx.x] = v;
}

TEST_KERNEL void t_deadlock(int* out) {
  int v = threadIdx.x;
  if ((threadIdx.x & 31) < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
  else __syncthreads();
  out[threadIdx.x] = v;
}

TEST_KERNEL void t_assert(const int* in) {
  assert(in[threadIdx.x] >= 0);
}

// a partial warp (blockDim 40: warp 1 has 8 lanes) that names all 32 lanes
TEST_KERNEL void t_shfl_partial_warp(int* out) {
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
}

// Out-of-bounds accesses: AddressSanitizer's build must stop at the access, naming the kernel;
// the plain build finds the damaged guard zone of a device allocation at the next check.
TEST_KERNEL void t_shared_overrun(float* out) {
  __shared__ float s[64];
  s[threadIdx.x] = 1.0f;  // launched with 65 threads: thread 64 writes one past the end
  __syncthreads();
  out[threadIdx.x] = s[0];
}

TEST_KERNEL void t_global_overrun(float* buf, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= n) buf[i] = 2.0f;  // `<=`: one element past the end
}
