// Row-wise kernels over [rows, d] matrices: L2 normalisation and softmax cross-entropy with label
// smoothing. CPU reference: dvp.engine.cpu.CpuRows. One warp per row (rows are short: d = 128
// features, K = classes); lane-strided loops and a fixed butterfly make the sums deterministic.
#include "common.cuh"

#define DVP_WARP_ROW(row, lane, rows)                                        \
  long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; \
  int lane = threadIdx.x & 31;                                              \
  if (row >= (rows)) return;

// y = x / max(||x||, eps); norms[r] = ||x|| (sum of squares in double, as the reference).
DVP_KERNEL void dvp_l2norm_forward_f32(long long rows, long long d, float eps, const float* x, float* y, float* norms) {
  DVP_WARP_ROW(r, lane, rows)
  const float* xr = x + r * d;
  double s = 0;
  for (long long j = lane; j < d; j += 32) s += (double)xr[j] * xr[j];
  s = dvp_warp_sum(s);
  float norm = (float)sqrt(s);
  float denom = fmaxf(norm, eps);
  for (long long j = lane; j < d; j += 32) y[r * d + j] = __fdiv_rn(xr[j], denom);
  if (lane == 0) norms[r] = norm;
}

// Where ||x|| > eps: dx = (dy - y (y.dy)) / ||x||; where the norm was clamped: dx = dy / eps.
DVP_KERNEL void dvp_l2norm_backward_f32(long long rows, long long d, float eps, const float* dy, const float* y,
                                        const float* norms, float* dx) {
  DVP_WARP_ROW(r, lane, rows)
  const float norm = norms[r];
  const float* dyr = dy + r * d;
  const float* yr = y + r * d;
  if (norm > eps) {
    double dot = 0;
    for (long long j = lane; j < d; j += 32) dot += (double)yr[j] * dyr[j];
    dot = dvp_warp_sum(dot);
    for (long long j = lane; j < d; j += 32) dx[r * d + j] = (float)((dyr[j] - yr[j] * dot) / norm);
  } else {
    for (long long j = lane; j < d; j += 32) dx[r * d + j] = __fdiv_rn(dyr[j], eps);
  }
}

// Softmax cross-entropy forward, one warp per row: probs[r] = softmax(z[r]) and
// rowLoss[r] = logsumexp(z) - ((1-eps) z[label] + eps/K sum z) in double. A label outside [0, K)
// is reported through the device error word (the host throws at the next sync) and gives NaN.
DVP_KERNEL void dvp_softmax_xent_forward_f32(long long rows, long long k, float smoothing, const float* z,
                                             const long long* labels, float* probs, double* rowLoss, int* err) {
  DVP_WARP_ROW(r, lane, rows)
  const float* zr = z + r * k;
  float* pr = probs + r * k;
  long long label = labels[r];
  if (label < 0 || label >= k) {
    if (lane == 0) {
      dvp_report(err, DVP_ERR_LABEL_OUT_OF_RANGE, (int)r);
      rowLoss[r] = __longlong_as_double(0x7ff8000000000000LL);
    }
    for (long long j = lane; j < k; j += 32) pr[j] = __int_as_float(0x7fc00000);
    return;
  }
  float mx = -INFINITY;
  for (long long j = lane; j < k; j += 32) mx = fmaxf(mx, zr[j]);
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  double sum = 0, zsum = 0;
  for (long long j = lane; j < k; j += 32) {
    double e = exp((double)(zr[j] - mx));
    pr[j] = (float)e;
    sum += e;
    zsum += zr[j];
  }
  sum = dvp_warp_sum(sum);
  zsum = dvp_warp_sum(zsum);
  for (long long j = lane; j < k; j += 32) pr[j] = (float)(pr[j] / sum);
  if (lane == 0) {
    double lse = mx + log(sum);
    double target = (1 - smoothing) * zr[label] + smoothing * zsum / k;
    rowLoss[r] = lse - target;
  }
}

// loss[0] = (float)(sum of rowLoss in row order / rows): one block, fixed tree.
DVP_KERNEL void dvp_mean_rows_f64(long long rows, const double* rowLoss, float* loss) {
  double acc = 0;
  for (long long i = threadIdx.x; i < rows; i += DVP_BLOCK) acc += rowLoss[i];
  acc = dvp_block_sum(acc);
  if (threadIdx.x == 0) loss[0] = (float)(acc / rows);
}

// dlogits = (probs - target) * (gradOut[0] / N); `on`/`off` are the smoothed target values
// computed on the host in float exactly as the reference does.
DVP_KERNEL void dvp_softmax_xent_backward_f32(long long total, long long k, long long rows, float on, float off,
                                              const float* probs, const long long* labels, const float* gradOut,
                                              float* dlogits, int* err) {
  const float scale = __fdiv_rn(gradOut[0], (float)rows);
  DVP_FOR(i, total) {
    long long r = i / k, j = i - r * k;
    long long label = labels[r];
    if (label < 0 || label >= k) {
      if (j == 0) dvp_report(err, DVP_ERR_LABEL_OUT_OF_RANGE, (int)r);
      dlogits[i] = __int_as_float(0x7fc00000);
      continue;
    }
    dlogits[i] = __fmul_rn(__fsub_rn(probs[i], j == label ? on : off), scale);
  }
}
