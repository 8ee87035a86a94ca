// Training-mode batch norm over x [N, C, *spatial] with dvp's own deterministic kernels, used when
// cuDNN's batch norm is not (switched off: CudaBackend.setCudnnBatchNorm(false) or
// -Ddvp.cuda.cudnnBatchNorm=false; eps below CUDNN_BN_MIN_EPSILON; a cuDNN without batch norm).
// CPU reference: dvp.engine.cpu.CpuBatchNorm; the per-element formulas round exactly as it does
// (the same double expressions for the per-channel coefficients, the same fused multiply-adds per
// element), so only the reductions' summation order differs. The statistics reuse reduce.cu's channel partials:
//   pass 1 (mode SUM) -> dvp_bn_mean; pass 2 (mode CENTERED_SQ) -> dvp_bn_var (two-pass variance in
//   double, as the reference); then dvp_bn_apply. Backward: pass (mode BN_BACKWARD) ->
//   dvp_bn_backward_final -> dvp_bn_backward_dx.
// Layouts: `plane` is the channel stride (the element at i has channel (i / plane) % C): H*W for
// NCHW, 1 for channels-last (dvp.engine.cuda.CudaLayout); x, y, dy and dx share the layout.
// Element types: x, y, dy and dx share one, F32 or BF16 (the *_bf16 kernels: bf16 autocast's
// activations); statistics, gamma/beta, running buffers and the coefficients are always fp32.
#include "common.cuh"

// meanD[c] = sum / count (double, for pass 2); saveMean[c] = (float) meanD[c].
DVP_KERNEL void dvp_bn_mean(long long channels, long long slices, long long count, const double2* partial,
                            double* meanD, float* saveMean) {
  DVP_FOR(c, channels) {
    double acc = 0;
    for (long long s = 0; s < slices; s++) acc += partial[c * slices + s].x;
    double m = acc / count;
    meanD[c] = m;
    saveMean[c] = (float)m;
  }
}

// From the centered sum of squares: invstd, the affine coefficients (scale, shift) for the apply
// pass, and the running statistics (unbiased variance), exactly as CpuBatchNorm.trainForward.
DVP_KERNEL void dvp_bn_var(long long channels, long long slices, long long count, float eps, float momentum,
                           const double2* partial, const double* meanD, const float* gamma, const float* beta,
                           float* saveInvStd, float* runningMean, float* runningVar, float* scale, float* shift) {
  DVP_FOR(c, channels) {
    double sq = 0;
    for (long long s = 0; s < slices; s++) sq += partial[c * slices + s].x;
    double mean = meanD[c];
    double var = sq / count;
    double inv = 1.0 / sqrt(var + eps);
    saveInvStd[c] = (float)inv;
    scale[c] = (float)(gamma[c] * inv);
    shift[c] = (float)(beta[c] - mean * gamma[c] * inv);
    if (runningMean) runningMean[c] = (float)((1 - momentum) * runningMean[c] + momentum * mean);
    if (runningVar) runningVar[c] = (float)((1 - momentum) * runningVar[c] + momentum * (count > 1 ? sq / (count - 1) : var));
  }
}

// y = fma(x, scale[c], shift[c]): one rounding, as the reference (CpuBatchNorm.planeAffine: Math.fma
// and FloatVector.fma).
// T = float or dvp_bf16 for x and y (bf16 autocast's activations; the statistics and coefficients
// stay fp32): one rounding more at the bf16 store.
template <typename T>
__device__ __forceinline__ void dvp_bn_apply_t(long long total, long long channels, long long plane, const T* x, const float* scale,
                                               const float* shift, T* y) {
  DVP_FOR(i, total) {
    long long c = (i / plane) % channels;
    dvp_st(y, i, __fmaf_rn(dvp_ld(x, i), scale[c], shift[c]));
  }
}
DVP_KERNEL void dvp_bn_apply(long long total, long long channels, long long plane, const float* x, const float* scale, const float* shift, float* y) { dvp_bn_apply_t(total, channels, plane, x, scale, shift, y); }
DVP_KERNEL void dvp_bn_apply_bf16(long long total, long long channels, long long plane, const dvp_bf16* x, const float* scale, const float* shift, dvp_bf16* y) { dvp_bn_apply_t(total, channels, plane, x, scale, shift, y); }

// sums[c] = (sum dy, sum dy*xhat) in double; dgamma/dbeta (may be null) get their float values.
DVP_KERNEL void dvp_bn_backward_final(long long channels, long long slices, const double2* partial, double2* sums,
                                      float* dgamma, float* dbeta) {
  DVP_FOR(c, channels) {
    double a0 = 0, a1 = 0;
    for (long long s = 0; s < slices; s++) {
      double2 p = partial[c * slices + s];
      a0 += p.x;
      a1 += p.y;
    }
    sums[c] = make_double2(a0, a1);
    if (dgamma) dgamma[c] = (float)a1;
    if (dbeta) dbeta[c] = (float)a0;
  }
}

// dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)), M = N*spatial, applied as the
// reference does (CpuBatchNorm.trainBackward): per channel, in double, k = gamma*invstd/M and the
// float coefficients a = k*M, b = -k*sum(dy*xhat)*invstd, shift = -k*sum(dy); per element
// dx = fma(dy, a, fma(x - mean, b, shift)) in float (x - mean first, so a large mean cancels exactly).
template <typename T>
__device__ __forceinline__ void dvp_bn_backward_dx_t(long long total, long long channels, long long plane, long long count,
                                                     const T* x, const T* dy, const float* gamma, const float* saveMean,
                                                     const float* saveInvStd, const double2* sums, T* dx) {
  DVP_FOR(i, total) {
    long long c = (i / plane) % channels;
    float mean = saveMean[c], inv = saveInvStd[c];
    double k = (double)gamma[c] * inv / count;
    double2 s = sums[c];  // (sum dy, sum dy*xhat)
    float a = (float)(k * count), b = (float)(-k * s.y * inv), shift = (float)(-k * s.x);
    dvp_st(dx, i, __fmaf_rn(dvp_ld(dy, i), a, __fmaf_rn(__fsub_rn(dvp_ld(x, i), mean), b, shift)));
  }
}
DVP_KERNEL void dvp_bn_backward_dx(long long total, long long channels, long long plane, long long count, const float* x, const float* dy, const float* gamma, const float* saveMean, const float* saveInvStd, const double2* sums, float* dx) { dvp_bn_backward_dx_t(total, channels, plane, count, x, dy, gamma, saveMean, saveInvStd, sums, dx); }
DVP_KERNEL void dvp_bn_backward_dx_bf16(long long total, long long channels, long long plane, long long count, const dvp_bf16* x, const dvp_bf16* dy, const float* gamma, const float* saveMean, const float* saveInvStd, const double2* sums, dvp_bf16* dx) { dvp_bn_backward_dx_t(total, channels, plane, count, x, dy, gamma, saveMean, saveInvStd, sums, dx); }
