// OFD partial-L2 distillation loss (Heo et al., "A Comprehensive Overhaul of Feature Distillation"),
// fused: t' = max(t, margin[c]); loss = w * sum over elements with (s > t' or t' > 0) of (s - t')^2.
// CPU reference: dvp.engine.cpu.CpuOfd (Backend.ofdLossForward / ofdLossBackward). The channel of
// element i is (i / channelStride) % C, so NCHW and NHWC are the same kernel.
// Forward: one pass, partial sums over fixed 16384-element blocks (double), combined in block
// order by a second kernel: deterministic. Backward: one read of s and t, one write of ds.
#include "common.cuh"

// max(t, m) with NaN propagating, like Java's Math.max (fmaxf would drop the NaN).
__device__ __forceinline__ float dvp_max_nan(float t, float m) { return (t != t || t > m) ? t : m; }

DVP_KERNEL void dvp_ofd_partials(long long n, long long chunk, long long channelStride, long long channels,
                                 const float* s, const float* t, const float* margin, double* partial) {
  long long from = (long long)blockIdx.x * chunk, to = min(n, from + chunk);
  double acc = 0;
  for (long long i = from + threadIdx.x; i < to; i += DVP_BLOCK) {
    float sv = s[i];
    float tp = dvp_max_nan(t[i], margin[(i / channelStride) % channels]);
    if (!(sv <= tp && tp <= 0.f)) {  // written this way round so a NaN reaches the loss
      float df = __fsub_rn(sv, tp);
      acc += (double)__fmul_rn(df, df);
    }
  }
  acc = dvp_block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// loss[0] = (float)(w * total), the reference's rounding.
DVP_KERNEL void dvp_ofd_final(long long parts, float w, const double* partial, float* loss) {
  double acc = 0;
  for (long long i = threadIdx.x; i < parts; i += DVP_BLOCK) acc += partial[i];
  acc = dvp_block_sum(acc);
  if (threadIdx.x == 0) loss[0] = (float)((double)w * acc);
}

// ds = mask * (s - t') * (2 w gradOut[0]), float operations in the reference's order.
DVP_KERNEL void dvp_ofd_backward(long long n, long long channelStride, long long channels, float w, const float* s,
                                 const float* t, const float* margin, const float* gradOut, float* ds) {
  const float factor = __fmul_rn(__fmul_rn(2.f, w), gradOut[0]);
  DVP_FOR(i, n) {
    float sv = s[i];
    float tp = dvp_max_nan(t[i], margin[(i / channelStride) % channels]);
    ds[i] = (sv <= tp && tp <= 0.f) ? 0.f : __fmul_rn(__fsub_rn(sv, tp), factor);
  }
}
