// Margin-InfoNCE (MoCo v2 with a margin on the positive logit) on cuBLAS. CPU reference:
// dvp.engine.cpu.CpuContrastive (Backend.marginInfoNceForward) and CpuBackend.enqueueKeys.
// dvp.engine.cuda.CudaContrastive drives it:
//
// 1. logits[N, K] = q . queue^T: a cuBLAS GEMM (fp32; TF32 only when the backend's TF32 switch is
//    on), the queue read once per output tile instead of once per 8 rows.
// 2. dvp_infonce_rows: one block per row i, over that row of logits only (the [N, K+1]
//    concatenation of PyTorch's formulation is never built: the positive logit is a scalar of the
//    block). z0 = (q_i . k+_i - margin)/tau (one thread, FMAs in ascending feature order, exactly
//    the reference's), z_j = logit_ij/tau; pass 1: online (max, sum of e^{z-max}) per thread, sums
//    in double, merged by a fixed tree; row loss = logsumexp - z0, hit = z0 >= max_j z_j. With dq,
//    pass 2 writes the logit gradient G_ij = p_ij / (N tau) (fp32: over the logits, in place) and
//    writes dq_i = (p_i0 - 1)/(N tau) k+_i; then
// 3. dq += G . queue: a second GEMM (beta = 1). The keys and the queue get no gradient.
// 4. dvp_infonce_final: loss = mean row loss (rows in order), accuracy = hits / N.
//
// bf16 (dvp_infonce_rows_bf16, autocast): q, k+ and the queue are bf16. Both GEMMs take bf16 A and B
// with fp32 accumulation and an fp32 C (the logits; dq, beta = 1); the row kernel reads q and k+
// widened (exact), so the positive logit is the fp32 FMA sum of exact bf16 products, as every
// negative logit is (both from the same rounded q: one consistent softmax), and it writes G rounded
// to bf16 into a separate [N, K] buffer (the dq GEMM's B), leaving the fp32 logits alone.
//
// Every reduction has a fixed shape (block size, tree, row order): deterministic. The logits are
// summed in cuBLAS's order, not the reference's, so the results agree within fp32 GEMM error (see
// ParityChecks). Design for an H100 (not timed): N 256, d 128, K 65,536 is two 4.3 GFLOP GEMMs
// plus ~3 passes over the 64 MiB logits (row-sized re-reads, mostly L2).
#include "common.cuh"

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

// q and k+ elements as floats: fp32 as they are, bf16 widened (exact).
__device__ __forceinline__ float dvp_infonce_get(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float dvp_infonce_get(const unsigned short* p, long long i) { return dvp_from_bf16(p[i]); }
// The logit gradient's element: fp32 as it is (over the logits), bf16 rounded once.
__device__ __forceinline__ void dvp_infonce_put(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void dvp_infonce_put(unsigned short* p, long long i, float v) { p[i] = dvp_to_bf16(v); }

// Block (DVP_BLOCK threads) i: row i. logits [N, K] row-major from the GEMM. When dq is not null,
// grad [N, K] (row-major, leading dimension K) is overwritten with G_ij = p_ij / (N tau); grad may be
// the logits themselves (fp32: each element is read, then overwritten, by the same thread).
// rowLoss[i] (double), hit[i] (0/1) for dvp_infonce_final. rowStats: 4 doubles of shared memory.
template <typename T, typename G>
__device__ __forceinline__ void dvp_infonce_row(long long n, long long d, long long k, float margin, float tau, const T* q,
                                                const T* kpos, const float* logits, double* rowLoss, int* hit, float* dq,
                                                G* grad, double* rowStats) {
  // rowStats: M (max over all logits), S (sum of e^{z-M}), 1/(S N tau), (p0 - 1)/(N tau)
  const long long i = blockIdx.x;
  const float* row = logits + i * k;
  // pass 1: per thread, online max and sum over the keys j = threadIdx.x + DVP_BLOCK t
  float m = -INFINITY;
  double sum = 0;
  for (long long j = threadIdx.x; j < k; j += DVP_BLOCK) {
    const float z = __fdiv_rn(row[j], tau);
    if (z > m) {
      if (sum != 0) sum *= exp((double)m - (double)z);
      m = z;
    }
    sum += (double)dvp_exp_nonpositive(__fsub_rn(z, m));
  }
  const float queueMax = dvp_block_max(m);
  const double part = (sum != 0 && m != queueMax) ? sum * exp((double)m - (double)queueMax) : sum;
  const double queueSum = dvp_block_sum(part);  // valid in thread 0
  if (threadIdx.x == 0) {
    float dot = 0.f;
    for (long long c = 0; c < d; c++) dot = __fmaf_rn(dvp_infonce_get(kpos, i * d + c), dvp_infonce_get(q, i * d + c), dot);
    const float z0 = __fdiv_rn(__fsub_rn(dot, margin), tau);
    // merge the positive (e^{z0 - M}) with the queue's sum, rescaled to the common max
    const float mx = z0 >= queueMax ? z0 : queueMax;
    double s = exp((double)z0 - (double)mx);
    if (queueSum != 0) s += queueSum * exp((double)queueMax - (double)mx);
    const double lse = (double)mx + log(s);
    rowLoss[i] = lse - (double)z0;
    hit[i] = z0 >= queueMax ? 1 : 0;
    const double scale = 1.0 / ((double)n * (double)tau);
    rowStats[0] = mx;
    rowStats[1] = s;
    rowStats[2] = scale / s;
    rowStats[3] = (exp((double)z0 - lse) - 1.0) * scale;
  }
  __syncthreads();
  if (dq == nullptr) return;
  const float mx = (float)rowStats[0];
  const double gradScale = rowStats[2];
  for (long long j = threadIdx.x; j < k; j += DVP_BLOCK) {
    const float z = __fdiv_rn(row[j], tau);
    dvp_infonce_put(grad, i * k + j, (float)((double)dvp_exp_nonpositive(__fsub_rn(z, mx)) * gradScale));
  }
  const float p0term = (float)rowStats[3];
  for (long long c = threadIdx.x; c < d; c += DVP_BLOCK) dq[i * d + c] = __fmul_rn(p0term, dvp_infonce_get(kpos, i * d + c));
}

// fp32: G over the logits.
DVP_KERNEL void dvp_infonce_rows(long long n, long long d, long long k, float margin, float tau, const float* q,
                                 const float* kpos, float* logits, double* rowLoss, int* hit, float* dq) {
  __shared__ double rowStats[4];
  dvp_infonce_row(n, d, k, margin, tau, q, kpos, logits, rowLoss, hit, dq, logits, rowStats);
}

// bf16 q and k+ (widened exactly), fp32 logits (read only), G rounded to bf16 into grad [N, K].
DVP_KERNEL void dvp_infonce_rows_bf16(long long n, long long d, long long k, float margin, float tau, const unsigned short* q,
                                      const unsigned short* kpos, const float* logits, double* rowLoss, int* hit, float* dq,
                                      unsigned short* grad) {
  __shared__ double rowStats[4];
  dvp_infonce_row(n, d, k, margin, tau, q, kpos, logits, rowLoss, hit, dq, grad, rowStats);
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
