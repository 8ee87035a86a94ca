// Margin-InfoNCE (MoCo v2 with a margin on the positive logit), flash-style: the N x (K+1) logits
// are never materialised. CPU reference: dvp.engine.cpu.CpuContrastive (Backend.marginInfoNceForward)
// and CpuBackend.enqueueKeys.
//
// Stage 1 (dvp_infonce_partials): grid (ceil(N/8), S). Block (b, s) owns rows 8b..8b+7 (one warp
// per row) and keys [s*keysPer, (s+1)*keysPer) of the queue, walked in tiles of 32 keys staged in
// shared memory (row stride d+1: conflict-free column reads). Per row it keeps a running max M, a
// running sum S = sum e^{z-M} (double) and a weighted key sum A = sum e^{z-M} key (double, d <= 256
// components spread over the lanes), rescaled when M grows; it writes (M, S, A) for its split.
// Stage 2 (dvp_infonce_combine): one warp per row merges the S splits in split order with the
// positive logit z0 = (q.k+ - margin)/tau, writes the row loss, whether the positive wins, and dq.
// Stage 3 (dvp_infonce_final): one block: loss = mean of row losses, accuracy = hits / N.
//
// fp32 logits are FMA dot products in ascending feature order and the weights use the reference's
// exp polynomial (expNonPositive), so logits and weights match the CPU bit for bit; only the
// summation order of S and A differs. The split count depends on K alone: deterministic.
#include "common.cuh"

#define DVP_NCE_ROWS 8
#define DVP_NCE_TILE 32
#define DVP_NCE_MAXD 256

// e^x for x <= 0, the same IEEE operations as CpuContrastive.expNonPositive (Cody-Waite reduction,
// degree-7 Taylor polynomial, 2^n in the exponent bits); x < -87 gives 0.
__device__ __forceinline__ float dvp_exp_nonpositive(float x) {
  const float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
  const float ROUNDER = 12582912.f;
  float t = __fmaf_rn(x, LOG2E, ROUNDER);
  float nf = __fsub_rn(t, ROUNDER);
  float r = __fmaf_rn(nf, -LN2_HI, x);
  r = __fmaf_rn(nf, -LN2_LO, r);
  float p = 1.f / 5040.f;
  p = __fmaf_rn(p, r, 1.f / 720.f);
  p = __fmaf_rn(p, r, 1.f / 120.f);
  p = __fmaf_rn(p, r, 1.f / 24.f);
  p = __fmaf_rn(p, r, 1.f / 6.f);
  p = __fmaf_rn(p, r, 0.5f);
  p = __fmaf_rn(p, r, 1.f);
  p = __fmaf_rn(p, r, 1.f);
  int n = __float_as_int(t) - __float_as_int(ROUNDER);
  float scale = __int_as_float((n + 127) << 23);
  return x < -87.0f ? 0.f : __fmul_rn(p, scale);
}

DVP_KERNEL void dvp_infonce_partials(long long n, long long d, long long k, long long keysPer, float tau,
                                     const float* q, const float* queue, float* pmax, double* psum, double* pacc) {
  __shared__ float tile[DVP_NCE_TILE * (DVP_NCE_MAXD + 1)];
  __shared__ float qs[DVP_NCE_ROWS * DVP_NCE_MAXD];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const long long row = (long long)blockIdx.x * DVP_NCE_ROWS + warp;
  const long long s = blockIdx.y, splits = gridDim.y;
  const long long k0 = s * keysPer, k1 = min(k, k0 + keysPer);
  const bool active = row < n;
  const int stride = (int)d + 1;
  if (active)
    for (long long c = lane; c < d; c += 32) qs[warp * DVP_NCE_MAXD + c] = q[row * d + c];
  float runMax = -INFINITY;
  double sum = 0;
  double acc[DVP_NCE_MAXD / 32];
#pragma unroll
  for (int m = 0; m < DVP_NCE_MAXD / 32; m++) acc[m] = 0;

  for (long long j0 = k0; j0 < k1; j0 += DVP_NCE_TILE) {
    const int valid = (int)min((long long)DVP_NCE_TILE, k1 - j0);
    __syncthreads();  // the previous tile is no longer read
    for (long long e = threadIdx.x; e < (long long)valid * d; e += blockDim.x) {
      long long j = e / d, c = e - j * d;
      tile[j * stride + c] = queue[(j0 + j) * d + c];
    }
    __syncthreads();
    if (!active) continue;
    // lane j: z_j = (q . key_j) / tau, FMAs in ascending feature order like the reference
    float z = -INFINITY;
    if (lane < valid) {
      float a = 0.f;
      for (int c = 0; c < d; c++) a = __fmaf_rn(tile[lane * stride + c], qs[warp * DVP_NCE_MAXD + c], a);
      z = __fdiv_rn(a, tau);
    }
    float tmax = z;
    for (int o = 16; o > 0; o >>= 1) tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, o));
    if (tmax > runMax) {
      double shrink = exp((double)runMax - (double)tmax);
      sum *= shrink;
#pragma unroll
      for (int m = 0; m < DVP_NCE_MAXD / 32; m++) acc[m] *= shrink;
      runMax = tmax;
    }
    float w = lane < valid ? dvp_exp_nonpositive(__fsub_rn(z, runMax)) : 0.f;
    float wsum = w;
    for (int o = 16; o > 0; o >>= 1) wsum += __shfl_xor_sync(0xffffffffu, wsum, o);
    sum += wsum;
    // A[c] += sum_j w_j key_j[c]: lane owns c = lane + 32m; keys in ascending order (F32 FMAs)
#pragma unroll
    for (int m = 0; m < DVP_NCE_MAXD / 32; m++) {
      int c = lane + 32 * m;
      float part = 0.f;
      for (int j = 0; j < valid; j++) {
        float wj = __shfl_sync(0xffffffffu, w, j);
        if (c < d) part = __fmaf_rn(tile[j * stride + c], wj, part);
      }
      if (c < d) acc[m] += part;
    }
  }
  if (!active) return;
  long long at = row * splits + s;
  if (lane == 0) {
    pmax[at] = runMax;
    psum[at] = sum;
  }
#pragma unroll
  for (int m = 0; m < DVP_NCE_MAXD / 32; m++) {
    int c = lane + 32 * m;
    if (c < d) pacc[at * d + c] = acc[m];
  }
}

// One warp per row: merge the splits with the positive logit; rowLoss, hit and (if dq) the gradient
// dq = (1/(N tau)) [(p0 - 1) k+ + A / S].
DVP_KERNEL void dvp_infonce_combine(long long n, long long d, long long splits, float margin, float tau,
                                    const float* q, const float* kpos, const float* pmax, const double* psum,
                                    const double* pacc, double* rowLoss, int* hit, float* dq) {
  long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  if (row >= n) return;
  // z0 = (q . k+ - margin) / tau with the reference's FMA order (every lane computes it)
  float dot = 0.f;
  for (long long c = 0; c < d; c++) dot = __fmaf_rn(kpos[row * d + c], q[row * d + c], dot);
  float z0 = __fdiv_rn(__fsub_rn(dot, margin), tau);
  float qmax = -INFINITY;
  for (long long s = 0; s < splits; s++) qmax = fmaxf(qmax, pmax[row * splits + s]);
  double m = fmax((double)z0, (double)qmax);
  double sum = exp((double)z0 - m);
  for (long long s = 0; s < splits; s++) sum += psum[row * splits + s] * exp((double)pmax[row * splits + s] - m);
  double lse = m + log(sum);
  if (lane == 0) {
    rowLoss[row] = lse - z0;
    hit[row] = z0 >= qmax ? 1 : 0;
  }
  if (dq) {
    double p0 = exp((double)z0 - lse), inv = 1.0 / sum, scale = 1.0 / ((double)n * tau);
    for (long long c = lane; c < d; c += 32) {
      double a = 0;
      for (long long s = 0; s < splits; s++) a += pacc[(row * splits + s) * d + c] * exp((double)pmax[row * splits + s] - m);
      dq[row * d + c] = (float)(scale * ((p0 - 1) * kpos[row * d + c] + a * inv));
    }
  }
}

// loss[0] = mean row loss (rows in order), accuracy[0] = hits / N.
DVP_KERNEL void dvp_infonce_final(long long n, const double* rowLoss, const int* hit, float* loss, float* accuracy) {
  double l = 0, h = 0;
  for (long long i = threadIdx.x; i < n; i += DVP_BLOCK) {
    l += rowLoss[i];
    h += hit[i];
  }
  l = dvp_block_sum(l);
  h = dvp_block_sum(h);
  if (threadIdx.x == 0) {
    loss[0] = (float)(l / n);
    accuracy[0] = (float)(h / n);
  }
}

// MoCo's ring-buffer enqueue, the pointer read on the device (a captured step stays replayable):
// queue rows [p, p+B) = keys. A pointer that does not fit is reported, and nothing is written.
DVP_KERNEL void dvp_enqueue_copy(long long total, long long k, long long b, long long d, const float* keys, float* queue,
                                 const long long* ptr, int* err) {
  const long long p = ptr[0];
  const bool ok = p >= 0 && p + b <= k;
  if (!ok) {
    if (blockIdx.x == 0 && threadIdx.x == 0) dvp_report(err, DVP_ERR_QUEUE_POINTER, (int)p);
    return;
  }
  DVP_FOR(i, total) queue[p * d + i] = keys[i];
}

// ptr = (p + B) mod K, after every copy has read p (a separate launch on the same stream).
DVP_KERNEL void dvp_enqueue_advance(long long k, long long b, long long* ptr) {
  long long p = ptr[0];
  if (p >= 0 && p + b <= k) ptr[0] = (p + b) % k;
}
