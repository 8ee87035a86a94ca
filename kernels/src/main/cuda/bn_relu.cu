// Training-mode batch norm fused with the residual add and the ReLU of a ResNet block:
//   y = act(bn(x) [+ residual]), act = ReLU or identity (the pre-ReLU value OFD distils).
// CPU reference: Backend.batchNormReluTrainForward/Backward in dvp.engine.cpu.CpuBackend, the
// composition CpuBatchNorm + axpby (add) + relu; the per-element float operations here round as
// that composition does (fma(x, scale, shift), then + residual, then max), so only the statistics'
// summation differs. NCHW only: x, residual, y, dy, dx, dresidual are contiguous [N, C, plane].
//
// Forward: dvp_bnr_stats_partials reads x ONCE for both statistics (shifted sums, below) ->
//   dvp_bnr_stats_final (per channel: saved mean / inv-std, running statistics, scale/shift) ->
//   dvp_bnr_apply reads x (+ residual) and writes y.
// Backward: dvp_bnr_grad_partials reads dy, y (ReLU mask y > 0) and x ONCE for both per-channel
//   sums -> dvp_bnr_grad_final (dgamma, dbeta, the dx coefficients) -> dvp_bnr_grad_apply writes dx
//   (and dresidual = the masked dy).
//
// Geometry (CudaBatchNormRelu.Geometry, from the shape alone): block (c, s) covers channel c of
// TY = DVP_BLOCK / TX consecutive images (s·TY ...), TX = 2^txLog2 threads per image plane. Every
// thread of a block works on the same channel, so the block's partial is that channel's and no
// element index is ever divided. A plane is a scalar head (until x is 16-byte aligned), float4
// quads and a scalar tail; when the arrays differ in their 16-byte phase, all of it is scalar.
//
// Statistics in one read, numerically: each thread sums d = x - K and d² in double, K = x[0, c, 0]
// (the channel's first element). Then mean = K + Σd/M and the centered sum of squares is
// Σd² − (Σd)²/M: the shift keeps the subtraction from cancelling (|K − mean| is within the data's
// range, so (Σd)²/M is at most M·range², never 1e8 times Σ(x − mean)² as an unshifted Σx² can be),
// and the double sums of float inputs lose nothing a float result can see.
//
// Determinism: a thread visits its elements in a fixed order, each block reduces with the fixed
// tree of dvp_block_sum into partial[c * slices + s], and the final kernels add a channel's
// partials in slice order. No atomics.
#include "common.cuh"

struct DvpBnrGeom {
  long long n, channels, plane;
  int txLog2, vec;
};

// Calls f.one(i) for single elements and f.quad(i) for 16-byte-aligned quads at memory position i,
// for this thread's share of the block's image planes (channel blockIdx.x).
template <typename F>
__device__ __forceinline__ void dvp_bnr_visit(const DvpBnrGeom& g, const float* x, F& f) {
  const int tPerRow = 1 << g.txLog2;
  const int tx = threadIdx.x & (tPerRow - 1);
  const int ty = threadIdx.x >> g.txLog2;
  const long long img = (long long)blockIdx.y * (blockDim.x >> g.txLog2) + ty;
  if (img >= g.n) return;
  const long long start = (img * g.channels + blockIdx.x) * g.plane, len = g.plane;
  if (g.vec) {
    const long long phase = ((long long)(reinterpret_cast<unsigned long long>(x) >> 2) + start) & 3;
    const long long head = min((4 - phase) & 3, len);
    const long long quads = (len - head) >> 2;
    for (long long j = tx; j < head; j += tPerRow) f.one(start + j);
    for (long long q = tx; q < quads; q += tPerRow) f.quad(start + head + 4 * q);
    for (long long j = head + 4 * quads + tx; j < len; j += tPerRow) f.one(start + j);
  } else {
    for (long long j = tx; j < len; j += tPerRow) f.one(start + j);
  }
}

__device__ __forceinline__ float4 dvp_bnr_load4(const float* p) { return *reinterpret_cast<const float4*>(p); }

// max(v, 0) keeping NaN, as dvp_relu_f32 and Math.max.
__device__ __forceinline__ float dvp_bnr_relu(float v) { return (v > 0.f || v != v) ? v : 0.f; }

// ---- forward --------------------------------------------------------------------------------------

struct DvpBnrStats {
  const float* x;
  double k, s1, s2;
  __device__ __forceinline__ void add(float v) {
    const double d = (double)v - k;
    s1 += d;
    s2 += d * d;
  }
  __device__ __forceinline__ void one(long long i) { add(x[i]); }
  __device__ __forceinline__ void quad(long long i) {
    const float4 v = dvp_bnr_load4(x + i);
    add(v.x);
    add(v.y);
    add(v.z);
    add(v.w);
  }
};

// partial[c * gridDim.y + s] = (Σ(x − K), Σ(x − K)²) over block (c, s)'s elements.
DVP_KERNEL void dvp_bnr_stats_partials(long long n, long long channels, long long plane, int txLog2, int vec,
                                       const float* x, double2* partial) {
  const DvpBnrGeom g{n, channels, plane, txLog2, vec};
  DvpBnrStats f{x, (double)x[(long long)blockIdx.x * plane], 0.0, 0.0};
  dvp_bnr_visit(g, x, f);
  const double s1 = dvp_block_sum(f.s1);
  const double s2 = dvp_block_sum(f.s2);
  if (threadIdx.x == 0) partial[(long long)blockIdx.x * gridDim.y + blockIdx.y] = make_double2(s1, s2);
}

// Per channel, from the shifted sums: the saved statistics (mean, 1/sqrt(biased var + eps)), the
// running statistics (unbiased variance, PyTorch's convention) and the apply pass's float
// coefficients, with the same double expressions as batchnorm.cu's dvp_bn_var / CpuBatchNorm.
DVP_KERNEL void dvp_bnr_stats_final(long long channels, long long slices, long long plane, long long count, float eps,
                                    float momentum, const double2* partial, const float* x, const float* gamma,
                                    const float* beta, float* saveMean, float* saveInvStd, float* runningMean,
                                    float* runningVar, float* scale, float* shift) {
  DVP_FOR(c, channels) {
    double s1 = 0, s2 = 0;
    for (long long s = 0; s < slices; s++) {
      const double2 p = partial[c * slices + s];
      s1 += p.x;
      s2 += p.y;
    }
    const double d = s1 / count;
    const double mean = (double)x[c * plane] + d;
    double sq = s2 - s1 * d;  // Σ(x − mean)²; rounding can take it below 0 for a constant channel
    if (sq < 0) sq = 0;       // (written so that a NaN stays NaN)
    const double var = sq / count;
    const double inv = 1.0 / sqrt(var + eps);
    saveMean[c] = (float)mean;
    saveInvStd[c] = (float)inv;
    scale[c] = (float)(gamma[c] * inv);
    shift[c] = (float)(beta[c] - mean * gamma[c] * inv);
    if (runningMean) runningMean[c] = (float)((1 - momentum) * runningMean[c] + momentum * mean);
    if (runningVar) runningVar[c] = (float)((1 - momentum) * runningVar[c] + momentum * (count > 1 ? sq / (count - 1) : var));
  }
}

struct DvpBnrApply {
  const float* x;
  const float* r;  // residual, or null
  float* y;
  float scale, shift;
  int relu;
  __device__ __forceinline__ float at(float xv, float rv) const {
    float z = __fmaf_rn(xv, scale, shift);
    if (r) z = __fadd_rn(z, rv);
    return relu ? dvp_bnr_relu(z) : z;
  }
  __device__ __forceinline__ void one(long long i) { y[i] = at(x[i], r ? r[i] : 0.f); }
  __device__ __forceinline__ void quad(long long i) {
    const float4 xv = dvp_bnr_load4(x + i);
    const float4 rv = r ? dvp_bnr_load4(r + i) : make_float4(0.f, 0.f, 0.f, 0.f);
    *reinterpret_cast<float4*>(y + i) = make_float4(at(xv.x, rv.x), at(xv.y, rv.y), at(xv.z, rv.z), at(xv.w, rv.w));
  }
};

// y = act(fma(x, scale[c], shift[c]) [+ residual]); overwrites y.
DVP_KERNEL void dvp_bnr_apply(long long n, long long channels, long long plane, int txLog2, int vec, int relu,
                              const float* x, const float* residual, const float* scale, const float* shift, float* y) {
  const DvpBnrGeom g{n, channels, plane, txLog2, vec};
  DvpBnrApply f{x, residual, y, scale[blockIdx.x], shift[blockIdx.x], relu};
  dvp_bnr_visit(g, x, f);
}

// ---- backward -------------------------------------------------------------------------------------

// The gradient reaching the batch norm: dy where the ReLU passed (y > 0), all of dy without ReLU.
__device__ __forceinline__ float dvp_bnr_dz(int relu, float yv, float dyv) { return (!relu || yv > 0.f) ? dyv : 0.f; }

struct DvpBnrGradSums {
  const float* x;
  const float* y;
  const float* dy;
  double mean;
  int relu;
  double s1, s2;
  __device__ __forceinline__ void add(float xv, float yv, float dyv) {
    const double dz = dvp_bnr_dz(relu, yv, dyv);
    s1 += dz;
    s2 += dz * ((double)xv - mean);
  }
  __device__ __forceinline__ void one(long long i) { add(x[i], relu ? y[i] : 0.f, dy[i]); }
  __device__ __forceinline__ void quad(long long i) {
    const float4 xv = dvp_bnr_load4(x + i), dv = dvp_bnr_load4(dy + i);
    const float4 yv = relu ? dvp_bnr_load4(y + i) : make_float4(0.f, 0.f, 0.f, 0.f);
    add(xv.x, yv.x, dv.x);
    add(xv.y, yv.y, dv.y);
    add(xv.z, yv.z, dv.z);
    add(xv.w, yv.w, dv.w);
  }
};

// partial[c * gridDim.y + s] = (Σdz, Σdz·(x − mean)) over block (c, s)'s elements.
DVP_KERNEL void dvp_bnr_grad_partials(long long n, long long channels, long long plane, int txLog2, int vec, int relu,
                                      const float* x, const float* y, const float* dy, const float* saveMean,
                                      double2* partial) {
  const DvpBnrGeom g{n, channels, plane, txLog2, vec};
  DvpBnrGradSums f{x, y, dy, (double)saveMean[blockIdx.x], relu, 0.0, 0.0};
  dvp_bnr_visit(g, x, f);
  const double s1 = dvp_block_sum(f.s1);
  const double s2 = dvp_block_sum(f.s2);
  if (threadIdx.x == 0) partial[(long long)blockIdx.x * gridDim.y + blockIdx.y] = make_double2(s1, s2);
}

// Per channel: dbeta = Σdz, dgamma = Σdz·x̂ (either may be null), and dx's float coefficients
// coef[3c..3c+2] = (a, b, shift) of dx = a·dz + b·(x − mean) + shift, with the double expressions
// of CpuBatchNorm.trainBackward: k = γ·inv/M, a = k·M, b = −k·Σdz·x̂·inv, shift = −k·Σdz.
DVP_KERNEL void dvp_bnr_grad_final(long long channels, long long slices, long long count, const double2* partial,
                                   const float* gamma, const float* saveInvStd, float* coef, float* dgamma, float* dbeta) {
  DVP_FOR(c, channels) {
    double sumDz = 0, sumDzXc = 0;
    for (long long s = 0; s < slices; s++) {
      const double2 p = partial[c * slices + s];
      sumDz += p.x;
      sumDzXc += p.y;
    }
    const float inv = saveInvStd[c];
    const double sumDzXhat = sumDzXc * inv;
    if (dgamma) dgamma[c] = (float)sumDzXhat;
    if (dbeta) dbeta[c] = (float)sumDz;
    const double k = (double)gamma[c] * inv / count;
    coef[3 * c] = (float)(k * count);
    coef[3 * c + 1] = (float)(-k * sumDzXhat * inv);
    coef[3 * c + 2] = (float)(-k * sumDz);
  }
}

struct DvpBnrGradApply {
  const float* x;
  const float* y;
  const float* dy;
  float* dx;
  float* dres;  // or null
  float mean, a, b, shift;
  int relu;
  __device__ __forceinline__ float dxOf(float xv, float dz) const {
    return __fmaf_rn(dz, a, __fmaf_rn(__fsub_rn(xv, mean), b, shift));
  }
  __device__ __forceinline__ void one(long long i) {
    const float dz = dvp_bnr_dz(relu, relu ? y[i] : 0.f, dy[i]);
    dx[i] = dxOf(x[i], dz);
    if (dres) dres[i] = dz;
  }
  __device__ __forceinline__ void quad(long long i) {
    const float4 xv = dvp_bnr_load4(x + i), dv = dvp_bnr_load4(dy + i);
    const float4 yv = relu ? dvp_bnr_load4(y + i) : make_float4(0.f, 0.f, 0.f, 0.f);
    const float4 dz = make_float4(dvp_bnr_dz(relu, yv.x, dv.x), dvp_bnr_dz(relu, yv.y, dv.y), dvp_bnr_dz(relu, yv.z, dv.z),
                                  dvp_bnr_dz(relu, yv.w, dv.w));
    *reinterpret_cast<float4*>(dx + i) = make_float4(dxOf(xv.x, dz.x), dxOf(xv.y, dz.y), dxOf(xv.z, dz.z), dxOf(xv.w, dz.w));
    if (dres) *reinterpret_cast<float4*>(dres + i) = dz;
  }
};

// dx = fma(dz, a, fma(x − mean, b, shift)) (the reference's rounding); dresidual = dz when asked.
DVP_KERNEL void dvp_bnr_grad_apply(long long n, long long channels, long long plane, int txLog2, int vec, int relu,
                                   const float* x, const float* y, const float* dy, const float* saveMean, const float* coef,
                                   float* dx, float* dresidual) {
  const DvpBnrGeom g{n, channels, plane, txLog2, vec};
  const long long c = blockIdx.x;
  DvpBnrGradApply f{x, y, dy, dx, dresidual, saveMean[c], coef[3 * c], coef[3 * c + 1], coef[3 * c + 2], relu};
  dvp_bnr_visit(g, x, f);
}
