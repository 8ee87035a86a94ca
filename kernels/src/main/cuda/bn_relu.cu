// Training-mode batch norm fused with the residual add and the ReLU of a ResNet block:
//   y = act(bn(x) [+ residual]), act = ReLU or identity (the pre-ReLU value OFD distils).
// CPU reference: Backend.batchNormReluTrainForward/Backward in dvp.engine.cpu.CpuBackend, the
// composition CpuBatchNorm + axpby (add) + relu; the per-element float operations here round as
// that composition does (fma(x, scale, shift), then + residual, then max), so only the statistics'
// summation differs.
//
// Two memory layouts, each in two element types:
//   NCHW (dvp_bnr_*):       x, residual, y, dy, dx, dresidual contiguous [N, C, plane];
//   NHWC (dvp_bnr_nhwc_*):  the same tensors channels-last, memory [pixels = N·H·W, C];
//   element type F32 (no suffix) or BF16 (suffix _bf16: the 16 bits of a bfloat16, as cast.cu),
//   for the activations x, residual, y, dy, dx, dresidual only. gamma, beta, the running and saved
//   statistics, the partial sums and all arithmetic are fp32/double as in the F32 kernels (PyTorch's
//   cuDNN batch norm under autocast: bf16 in and out, fp32 parameters and statistics); a bf16 load
//   widens exactly, a bf16 store rounds the fp32 result once (cvt.rn.bf16.f32).
//
// Forward: *_stats_partials reads x ONCE for both statistics (shifted sums, below) ->
//   dvp_bnr_stats_final (per channel: saved mean / inv-std, running statistics, scale/shift) ->
//   *_apply reads x (+ residual) and writes y.
// Backward: *_grad_partials reads dy, y (ReLU mask y > 0) and x ONCE for both per-channel sums ->
//   dvp_bnr_grad_final (dgamma, dbeta, the dx coefficients) -> *_grad_apply writes dx (and
//   dresidual = the masked dy).
// The two final kernels are shared by both layouts: the partials are laid out per channel
// (partial[c * slices + s]) whichever kernel wrote them.
//
// NCHW geometry (CudaBatchNormRelu.Geometry, from the shape alone): block (c, s) covers channel c of
// TY = DVP_BLOCK / TX consecutive images (s·TY ...), TX = 2^txLog2 threads per image plane. Every
// thread of a block works on the same channel, so the block's partial is that channel's and no
// element index is ever divided. A plane is a scalar head (until x is quad-aligned), quads of 4
// elements (float4 / ushort4) and a scalar tail; when the arrays differ in their quad phase, all of
// it is scalar.
//
// NHWC geometry (CudaBatchNormRelu.NhwcGeometry): the channel is the fastest index, so a thread owns
// a channel group (4 consecutive channels, one 16-byte float4 / 8-byte ushort4 per pixel, when
// C % 4 == 0 and every array is quad-aligned; else 1 channel, scalar) for all its pixels. Block
// (gx, s) = TX = 2^txLog2 consecutive groups (column tx) × TY = DVP_BLOCK / TX pixel rows (row ty);
// slice s covers pixels [s·chunk, min((s+1)·chunk, pixels)), row ty visits s·chunk + ty, + TY, ...
// Neighbouring threads of a row read neighbouring 16 bytes (coalesced). A channel's partial is its
// column's sum over the TY rows by a fixed shared-memory tree (dvp_bnr_col_sum).
//
// Statistics in one read, numerically: each thread sums d = x - K and d² in double, K = x[0, c, 0]
// (the channel's first element, memory index c·plane in NCHW, c in NHWC). Then mean = K + Σd/M and
// the centered sum of squares is Σd² − (Σd)²/M: the shift keeps the subtraction from cancelling
// (|K − mean| is within the data's range, so (Σd)²/M is at most M·range², never 1e8 times
// Σ(x − mean)² as an unshifted Σx² can be), and the double sums of float inputs lose nothing a
// float result can see.
//
// Determinism: a thread visits its elements in a fixed order, each block reduces with a fixed tree
// (dvp_block_sum, dvp_bnr_col_sum) into partial[c * slices + s], and the final kernels add a
// channel's partials in slice order. Every slicing depends on the shape only. No atomics.
#include "common.cuh"

// ---- element access: F32 or BF16 storage, fp32 values -------------------------------------------
// Scalars through common.cuh's dvp_ld/dvp_st (exact widening; one rounding per stored element).
// 4 elements at a quad-aligned position i (16 bytes of F32, 8 bytes of BF16)
__device__ __forceinline__ float4 dvp_bnr_ld4(const float* p, long long i) { return *reinterpret_cast<const float4*>(p + i); }
__device__ __forceinline__ float4 dvp_bnr_ld4(const unsigned short* p, long long i) {
  const ushort4 v = *reinterpret_cast<const ushort4*>(p + i);
  return make_float4(dvp_from_bf16(v.x), dvp_from_bf16(v.y), dvp_from_bf16(v.z), dvp_from_bf16(v.w));
}
__device__ __forceinline__ void dvp_bnr_st4(float* p, long long i, float4 v) { *reinterpret_cast<float4*>(p + i) = v; }
__device__ __forceinline__ void dvp_bnr_st4(unsigned short* p, long long i, float4 v) {
  ushort4 o;
  o.x = dvp_to_bf16(v.x);
  o.y = dvp_to_bf16(v.y);
  o.z = dvp_to_bf16(v.z);
  o.w = dvp_to_bf16(v.w);
  *reinterpret_cast<ushort4*>(p + i) = o;
}
__device__ __forceinline__ float dvp_bnr_lane(const float4& v, int l) { return l == 0 ? v.x : l == 1 ? v.y : l == 2 ? v.z : v.w; }

// max(v, 0) keeping NaN, as dvp_relu_f32 and Math.max.
__device__ __forceinline__ float dvp_bnr_relu(float v) { return (v > 0.f || v != v) ? v : 0.f; }

// The gradient reaching the batch norm: dy where the ReLU passed (y > 0), all of dy without ReLU.
__device__ __forceinline__ float dvp_bnr_dz(int relu, float yv, float dyv) { return (!relu || yv > 0.f) ? dyv : 0.f; }

// y's value: act(fma(x, scale, shift) [+ residual]), rounded as the CPU composition rounds.
__device__ __forceinline__ float dvp_bnr_out(float xv, float rv, int hasR, float scale, float shift, int relu) {
  float z = __fmaf_rn(xv, scale, shift);
  if (hasR) z = __fadd_rn(z, rv);
  return relu ? dvp_bnr_relu(z) : z;
}

// dx's value: fma(dz, a, fma(x − mean, b, shift)), the reference's rounding.
__device__ __forceinline__ float dvp_bnr_dx(float xv, float dz, float mean, float a, float b, float shift) {
  return __fmaf_rn(dz, a, __fmaf_rn(__fsub_rn(xv, mean), b, shift));
}

// ---- NCHW: the per-channel plane walk ------------------------------------------------------------

struct DvpBnrGeom {
  long long n, channels, plane;
  int txLog2, vec;
};

// Calls f.one(i) for single elements and f.quad(i) for quad-aligned quads at memory position i,
// for this thread's share of the block's image planes (channel blockIdx.x). The quad phase is x's
// (in elements); the launcher sets vec only when every array the functor touches has x's phase.
template <typename T, typename F>
__device__ __forceinline__ void dvp_bnr_visit(const DvpBnrGeom& g, const T* x, F& f) {
  const int tPerRow = 1 << g.txLog2;
  const int tx = threadIdx.x & (tPerRow - 1);
  const int ty = threadIdx.x >> g.txLog2;
  const long long img = (long long)blockIdx.y * (blockDim.x >> g.txLog2) + ty;
  if (img >= g.n) return;
  const long long start = (img * g.channels + blockIdx.x) * g.plane, len = g.plane;
  if (g.vec) {
    const long long phase = ((long long)(reinterpret_cast<unsigned long long>(x) / sizeof(T)) + start) & 3;
    const long long head = min((4 - phase) & 3, len);
    const long long quads = (len - head) >> 2;
    for (long long j = tx; j < head; j += tPerRow) f.one(start + j);
    for (long long q = tx; q < quads; q += tPerRow) f.quad(start + head + 4 * q);
    for (long long j = head + 4 * quads + tx; j < len; j += tPerRow) f.one(start + j);
  } else {
    for (long long j = tx; j < len; j += tPerRow) f.one(start + j);
  }
}

// ---- NHWC: column sums and the pixel walk ---------------------------------------------------------

// Sums v over the TY = DVP_BLOCK >> txLog2 threads of this thread's column (same threadIdx.x mod
// TX) by a fixed tree over the rows; the result is valid in row 0. Every thread of the block calls it.
__device__ __forceinline__ double dvp_bnr_col_sum(double v, int txLog2) {
  __shared__ double shc[DVP_BLOCK];
  shc[threadIdx.x] = v;
  __syncthreads();
  const int ty = threadIdx.x >> txLog2;
  for (int s = (DVP_BLOCK >> txLog2) / 2; s > 0; s >>= 1) {
    if (ty < s) shc[threadIdx.x] += shc[threadIdx.x + (s << txLog2)];
    __syncthreads();
  }
  const double r = shc[threadIdx.x];
  __syncthreads();  // shc is reused by the next call
  return r;
}

struct DvpBnrNhwc {
  long long pixels, channels, chunk;
  int txLog2, vec;
  // this thread's first channel (a group of lanes() channels), and its pixel range
  __device__ __forceinline__ int lanes() const { return vec ? 4 : 1; }
  __device__ __forceinline__ long long c0() const {
    return (((long long)blockIdx.x << txLog2) + (threadIdx.x & ((1 << txLog2) - 1))) * lanes();
  }
  __device__ __forceinline__ int ty() const { return threadIdx.x >> txLog2; }
  __device__ __forceinline__ int rows() const { return blockDim.x >> txLog2; }
  __device__ __forceinline__ long long from() const { return (long long)blockIdx.y * chunk; }
  __device__ __forceinline__ long long to() const { return min(from() + chunk, pixels); }
};

// ---- forward --------------------------------------------------------------------------------------

template <typename T>
struct DvpBnrStats {
  const T* x;
  double k, s1, s2;
  __device__ __forceinline__ void add(float v) {
    const double d = (double)v - k;
    s1 += d;
    s2 += d * d;
  }
  __device__ __forceinline__ void one(long long i) { add(dvp_ld(x, i)); }
  __device__ __forceinline__ void quad(long long i) {
    const float4 v = dvp_bnr_ld4(x, i);
    add(v.x);
    add(v.y);
    add(v.z);
    add(v.w);
  }
};

// partial[c * gridDim.y + s] = (Σ(x − K), Σ(x − K)²) over NCHW block (c, s)'s elements.
template <typename T>
__device__ __forceinline__ void dvp_bnr_stats_partials_t(const DvpBnrGeom& g, const T* x, double2* partial) {
  DvpBnrStats<T> f{x, (double)dvp_ld(x, (long long)blockIdx.x * g.plane), 0.0, 0.0};
  dvp_bnr_visit(g, x, f);
  const double s1 = dvp_block_sum(f.s1);
  const double s2 = dvp_block_sum(f.s2);
  if (threadIdx.x == 0) partial[(long long)blockIdx.x * gridDim.y + blockIdx.y] = make_double2(s1, s2);
}

DVP_KERNEL void dvp_bnr_stats_partials(long long n, long long channels, long long plane, int txLog2, int vec,
                                       const float* x, double2* partial) {
  dvp_bnr_stats_partials_t(DvpBnrGeom{n, channels, plane, txLog2, vec}, x, partial);
}

DVP_KERNEL void dvp_bnr_stats_partials_bf16(long long n, long long channels, long long plane, int txLog2, int vec,
                                            const unsigned short* x, double2* partial) {
  dvp_bnr_stats_partials_t(DvpBnrGeom{n, channels, plane, txLog2, vec}, x, partial);
}

// partial[c * gridDim.y + s] = (Σ(x − K), Σ(x − K)²) over channel c's pixels of NHWC slice s.
template <typename T>
__device__ __forceinline__ void dvp_bnr_nhwc_stats_partials_t(const DvpBnrNhwc& g, const T* x, double2* partial) {
  const long long c0 = g.c0();
  const int lanes = g.lanes();
  const bool mine = c0 < g.channels;  // C % 4 == 0 when vec: the whole group is in range
  double k[4] = {0, 0, 0, 0}, s1[4] = {0, 0, 0, 0}, s2[4] = {0, 0, 0, 0};
  if (mine) {
    for (int l = 0; l < lanes; l++) k[l] = (double)dvp_ld(x, c0 + l);  // pixel 0
    for (long long p = g.from() + g.ty(); p < g.to(); p += g.rows()) {
      const long long i = p * g.channels + c0;
      if (g.vec) {
        const float4 v = dvp_bnr_ld4(x, i);
        for (int l = 0; l < 4; l++) {
          const double d = (double)dvp_bnr_lane(v, l) - k[l];
          s1[l] += d;
          s2[l] += d * d;
        }
      } else {
        const double d = (double)dvp_ld(x, i) - k[0];
        s1[0] += d;
        s2[0] += d * d;
      }
    }
  }
  for (int l = 0; l < lanes; l++) {  // lanes is the same for every thread: all reach each barrier
    const double t1 = dvp_bnr_col_sum(s1[l], g.txLog2);
    const double t2 = dvp_bnr_col_sum(s2[l], g.txLog2);
    if (mine && g.ty() == 0) partial[(c0 + l) * gridDim.y + blockIdx.y] = make_double2(t1, t2);
  }
}

DVP_KERNEL void dvp_bnr_nhwc_stats_partials(long long pixels, long long channels, long long chunk, int txLog2, int vec,
                                            const float* x, double2* partial) {
  dvp_bnr_nhwc_stats_partials_t(DvpBnrNhwc{pixels, channels, chunk, txLog2, vec}, x, partial);
}

DVP_KERNEL void dvp_bnr_nhwc_stats_partials_bf16(long long pixels, long long channels, long long chunk, int txLog2,
                                                 int vec, const unsigned short* x, double2* partial) {
  dvp_bnr_nhwc_stats_partials_t(DvpBnrNhwc{pixels, channels, chunk, txLog2, vec}, x, partial);
}

// Per channel, from the shifted sums: the saved statistics (mean, 1/sqrt(biased var + eps)), the
// running statistics (unbiased variance, PyTorch's convention) and the apply pass's float
// coefficients, with the same double expressions as batchnorm.cu's dvp_bn_var / CpuBatchNorm.
// K = x[c * kStride]: the element the partials kernel shifted by (kStride = plane in NCHW, 1 in NHWC).
template <typename T>
__device__ __forceinline__ void dvp_bnr_stats_final_t(long long channels, long long slices, long long kStride, long long count,
                                                      float eps, float momentum, const double2* partial, const T* x,
                                                      const float* gamma, const float* beta, float* saveMean,
                                                      float* saveInvStd, float* runningMean, float* runningVar, float* scale,
                                                      float* shift) {
  DVP_FOR(c, channels) {
    double s1 = 0, s2 = 0;
    for (long long s = 0; s < slices; s++) {
      const double2 p = partial[c * slices + s];
      s1 += p.x;
      s2 += p.y;
    }
    const double d = s1 / count;
    const double mean = (double)dvp_ld(x, c * kStride) + d;
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

DVP_KERNEL void dvp_bnr_stats_final(long long channels, long long slices, long long kStride, long long count, float eps,
                                    float momentum, const double2* partial, const float* x, const float* gamma,
                                    const float* beta, float* saveMean, float* saveInvStd, float* runningMean,
                                    float* runningVar, float* scale, float* shift) {
  dvp_bnr_stats_final_t(channels, slices, kStride, count, eps, momentum, partial, x, gamma, beta, saveMean, saveInvStd,
                        runningMean, runningVar, scale, shift);
}

DVP_KERNEL void dvp_bnr_stats_final_bf16(long long channels, long long slices, long long kStride, long long count, float eps,
                                         float momentum, const double2* partial, const unsigned short* x, const float* gamma,
                                         const float* beta, float* saveMean, float* saveInvStd, float* runningMean,
                                         float* runningVar, float* scale, float* shift) {
  dvp_bnr_stats_final_t(channels, slices, kStride, count, eps, momentum, partial, x, gamma, beta, saveMean, saveInvStd,
                        runningMean, runningVar, scale, shift);
}

template <typename T>
struct DvpBnrApply {
  const T* x;
  const T* r;  // residual, or null
  T* y;
  float scale, shift;
  int relu;
  __device__ __forceinline__ float at(float xv, float rv) const { return dvp_bnr_out(xv, rv, r != nullptr, scale, shift, relu); }
  __device__ __forceinline__ void one(long long i) { dvp_st(y, i, at(dvp_ld(x, i), r ? dvp_ld(r, i) : 0.f)); }
  __device__ __forceinline__ void quad(long long i) {
    const float4 xv = dvp_bnr_ld4(x, i);
    const float4 rv = r ? dvp_bnr_ld4(r, i) : make_float4(0.f, 0.f, 0.f, 0.f);
    dvp_bnr_st4(y, i, make_float4(at(xv.x, rv.x), at(xv.y, rv.y), at(xv.z, rv.z), at(xv.w, rv.w)));
  }
};

// y = act(fma(x, scale[c], shift[c]) [+ residual]) over NCHW; overwrites y.
DVP_KERNEL void dvp_bnr_apply(long long n, long long channels, long long plane, int txLog2, int vec, int relu,
                              const float* x, const float* residual, const float* scale, const float* shift, float* y) {
  DvpBnrApply<float> f{x, residual, y, scale[blockIdx.x], shift[blockIdx.x], relu};
  dvp_bnr_visit(DvpBnrGeom{n, channels, plane, txLog2, vec}, x, f);
}

DVP_KERNEL void dvp_bnr_apply_bf16(long long n, long long channels, long long plane, int txLog2, int vec, int relu,
                                   const unsigned short* x, const unsigned short* residual, const float* scale,
                                   const float* shift, unsigned short* y) {
  DvpBnrApply<unsigned short> f{x, residual, y, scale[blockIdx.x], shift[blockIdx.x], relu};
  dvp_bnr_visit(DvpBnrGeom{n, channels, plane, txLog2, vec}, x, f);
}

// The same over NHWC: each thread applies its channel group's coefficients to its pixels.
template <typename T>
__device__ __forceinline__ void dvp_bnr_nhwc_apply_t(const DvpBnrNhwc& g, int relu, const T* x, const T* r,
                                                     const float* scale, const float* shift, T* y) {
  const long long c0 = g.c0();
  if (c0 >= g.channels) return;  // no barrier follows
  const int lanes = g.lanes();
  float sc[4], sh[4];
  for (int l = 0; l < lanes; l++) {
    sc[l] = scale[c0 + l];
    sh[l] = shift[c0 + l];
  }
  const int hasR = r != nullptr;
  for (long long p = g.from() + g.ty(); p < g.to(); p += g.rows()) {
    const long long i = p * g.channels + c0;
    if (g.vec) {
      const float4 xv = dvp_bnr_ld4(x, i);
      const float4 rv = hasR ? dvp_bnr_ld4(r, i) : make_float4(0.f, 0.f, 0.f, 0.f);
      dvp_bnr_st4(y, i, make_float4(dvp_bnr_out(xv.x, rv.x, hasR, sc[0], sh[0], relu), dvp_bnr_out(xv.y, rv.y, hasR, sc[1], sh[1], relu),
                                    dvp_bnr_out(xv.z, rv.z, hasR, sc[2], sh[2], relu), dvp_bnr_out(xv.w, rv.w, hasR, sc[3], sh[3], relu)));
    } else {
      dvp_st(y, i, dvp_bnr_out(dvp_ld(x, i), hasR ? dvp_ld(r, i) : 0.f, hasR, sc[0], sh[0], relu));
    }
  }
}

DVP_KERNEL void dvp_bnr_nhwc_apply(long long pixels, long long channels, long long chunk, int txLog2, int vec, int relu,
                                   const float* x, const float* residual, const float* scale, const float* shift, float* y) {
  dvp_bnr_nhwc_apply_t(DvpBnrNhwc{pixels, channels, chunk, txLog2, vec}, relu, x, residual, scale, shift, y);
}

DVP_KERNEL void dvp_bnr_nhwc_apply_bf16(long long pixels, long long channels, long long chunk, int txLog2, int vec, int relu,
                                        const unsigned short* x, const unsigned short* residual, const float* scale,
                                        const float* shift, unsigned short* y) {
  dvp_bnr_nhwc_apply_t(DvpBnrNhwc{pixels, channels, chunk, txLog2, vec}, relu, x, residual, scale, shift, y);
}

// ---- backward -------------------------------------------------------------------------------------

template <typename T>
struct DvpBnrGradSums {
  const T* x;
  const T* y;
  const T* dy;
  double mean;
  int relu;
  double s1, s2;
  __device__ __forceinline__ void add(float xv, float yv, float dyv) {
    const double dz = dvp_bnr_dz(relu, yv, dyv);
    s1 += dz;
    s2 += dz * ((double)xv - mean);
  }
  __device__ __forceinline__ void one(long long i) { add(dvp_ld(x, i), relu ? dvp_ld(y, i) : 0.f, dvp_ld(dy, i)); }
  __device__ __forceinline__ void quad(long long i) {
    const float4 xv = dvp_bnr_ld4(x, i), dv = dvp_bnr_ld4(dy, i);
    const float4 yv = relu ? dvp_bnr_ld4(y, i) : make_float4(0.f, 0.f, 0.f, 0.f);
    add(xv.x, yv.x, dv.x);
    add(xv.y, yv.y, dv.y);
    add(xv.z, yv.z, dv.z);
    add(xv.w, yv.w, dv.w);
  }
};

// partial[c * gridDim.y + s] = (Σdz, Σdz·(x − mean)) over NCHW block (c, s)'s elements.
template <typename T>
__device__ __forceinline__ void dvp_bnr_grad_partials_t(const DvpBnrGeom& g, int relu, const T* x, const T* y, const T* dy,
                                                        const float* saveMean, double2* partial) {
  DvpBnrGradSums<T> f{x, y, dy, (double)saveMean[blockIdx.x], relu, 0.0, 0.0};
  dvp_bnr_visit(g, x, f);
  const double s1 = dvp_block_sum(f.s1);
  const double s2 = dvp_block_sum(f.s2);
  if (threadIdx.x == 0) partial[(long long)blockIdx.x * gridDim.y + blockIdx.y] = make_double2(s1, s2);
}

DVP_KERNEL void dvp_bnr_grad_partials(long long n, long long channels, long long plane, int txLog2, int vec, int relu,
                                      const float* x, const float* y, const float* dy, const float* saveMean,
                                      double2* partial) {
  dvp_bnr_grad_partials_t(DvpBnrGeom{n, channels, plane, txLog2, vec}, relu, x, y, dy, saveMean, partial);
}

DVP_KERNEL void dvp_bnr_grad_partials_bf16(long long n, long long channels, long long plane, int txLog2, int vec, int relu,
                                           const unsigned short* x, const unsigned short* y, const unsigned short* dy,
                                           const float* saveMean, double2* partial) {
  dvp_bnr_grad_partials_t(DvpBnrGeom{n, channels, plane, txLog2, vec}, relu, x, y, dy, saveMean, partial);
}

// The same over NHWC: channel c's pixels of slice s.
template <typename T>
__device__ __forceinline__ void dvp_bnr_nhwc_grad_partials_t(const DvpBnrNhwc& g, int relu, const T* x, const T* y,
                                                             const T* dy, const float* saveMean, double2* partial) {
  const long long c0 = g.c0();
  const int lanes = g.lanes();
  const bool mine = c0 < g.channels;
  double m[4] = {0, 0, 0, 0}, s1[4] = {0, 0, 0, 0}, s2[4] = {0, 0, 0, 0};
  if (mine) {
    for (int l = 0; l < lanes; l++) m[l] = (double)saveMean[c0 + l];
    for (long long p = g.from() + g.ty(); p < g.to(); p += g.rows()) {
      const long long i = p * g.channels + c0;
      if (g.vec) {
        const float4 xv = dvp_bnr_ld4(x, i), dv = dvp_bnr_ld4(dy, i);
        const float4 yv = relu ? dvp_bnr_ld4(y, i) : make_float4(0.f, 0.f, 0.f, 0.f);
        for (int l = 0; l < 4; l++) {
          const double dz = dvp_bnr_dz(relu, dvp_bnr_lane(yv, l), dvp_bnr_lane(dv, l));
          s1[l] += dz;
          s2[l] += dz * ((double)dvp_bnr_lane(xv, l) - m[l]);
        }
      } else {
        const double dz = dvp_bnr_dz(relu, relu ? dvp_ld(y, i) : 0.f, dvp_ld(dy, i));
        s1[0] += dz;
        s2[0] += dz * ((double)dvp_ld(x, i) - m[0]);
      }
    }
  }
  for (int l = 0; l < lanes; l++) {  // uniform: every thread reaches each barrier
    const double t1 = dvp_bnr_col_sum(s1[l], g.txLog2);
    const double t2 = dvp_bnr_col_sum(s2[l], g.txLog2);
    if (mine && g.ty() == 0) partial[(c0 + l) * gridDim.y + blockIdx.y] = make_double2(t1, t2);
  }
}

DVP_KERNEL void dvp_bnr_nhwc_grad_partials(long long pixels, long long channels, long long chunk, int txLog2, int vec, int relu,
                                           const float* x, const float* y, const float* dy, const float* saveMean,
                                           double2* partial) {
  dvp_bnr_nhwc_grad_partials_t(DvpBnrNhwc{pixels, channels, chunk, txLog2, vec}, relu, x, y, dy, saveMean, partial);
}

DVP_KERNEL void dvp_bnr_nhwc_grad_partials_bf16(long long pixels, long long channels, long long chunk, int txLog2, int vec,
                                                int relu, const unsigned short* x, const unsigned short* y,
                                                const unsigned short* dy, const float* saveMean, double2* partial) {
  dvp_bnr_nhwc_grad_partials_t(DvpBnrNhwc{pixels, channels, chunk, txLog2, vec}, relu, x, y, dy, saveMean, partial);
}

// Per channel: dbeta = Σdz, dgamma = Σdz·x̂ (either may be null), and dx's float coefficients
// coef[3c..3c+2] = (a, b, shift) of dx = a·dz + b·(x − mean) + shift, with the double expressions
// of CpuBatchNorm.trainBackward: k = γ·inv/M, a = k·M, b = −k·Σdz·x̂·inv, shift = −k·Σdz.
// Layout- and element-type-free (partials, parameters and statistics only).
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

template <typename T>
struct DvpBnrGradApply {
  const T* x;
  const T* y;
  const T* dy;
  T* dx;
  T* dres;  // or null
  float mean, a, b, shift;
  int relu;
  __device__ __forceinline__ float dxOf(float xv, float dz) const { return dvp_bnr_dx(xv, dz, mean, a, b, shift); }
  __device__ __forceinline__ void one(long long i) {
    const float dz = dvp_bnr_dz(relu, relu ? dvp_ld(y, i) : 0.f, dvp_ld(dy, i));
    dvp_st(dx, i, dxOf(dvp_ld(x, i), dz));
    if (dres) dvp_st(dres, i, dz);
  }
  __device__ __forceinline__ void quad(long long i) {
    const float4 xv = dvp_bnr_ld4(x, i), dv = dvp_bnr_ld4(dy, i);
    const float4 yv = relu ? dvp_bnr_ld4(y, i) : make_float4(0.f, 0.f, 0.f, 0.f);
    const float4 dz = make_float4(dvp_bnr_dz(relu, yv.x, dv.x), dvp_bnr_dz(relu, yv.y, dv.y), dvp_bnr_dz(relu, yv.z, dv.z),
                                  dvp_bnr_dz(relu, yv.w, dv.w));
    dvp_bnr_st4(dx, i, make_float4(dxOf(xv.x, dz.x), dxOf(xv.y, dz.y), dxOf(xv.z, dz.z), dxOf(xv.w, dz.w)));
    if (dres) dvp_bnr_st4(dres, i, dz);
  }
};

// dx = fma(dz, a, fma(x − mean, b, shift)) (the reference's rounding); dresidual = dz when asked. NCHW.
DVP_KERNEL void dvp_bnr_grad_apply(long long n, long long channels, long long plane, int txLog2, int vec, int relu,
                                   const float* x, const float* y, const float* dy, const float* saveMean, const float* coef,
                                   float* dx, float* dresidual) {
  const long long c = blockIdx.x;
  DvpBnrGradApply<float> f{x, y, dy, dx, dresidual, saveMean[c], coef[3 * c], coef[3 * c + 1], coef[3 * c + 2], relu};
  dvp_bnr_visit(DvpBnrGeom{n, channels, plane, txLog2, vec}, x, f);
}

DVP_KERNEL void dvp_bnr_grad_apply_bf16(long long n, long long channels, long long plane, int txLog2, int vec, int relu,
                                        const unsigned short* x, const unsigned short* y, const unsigned short* dy,
                                        const float* saveMean, const float* coef, unsigned short* dx, unsigned short* dresidual) {
  const long long c = blockIdx.x;
  DvpBnrGradApply<unsigned short> f{x, y, dy, dx, dresidual, saveMean[c], coef[3 * c], coef[3 * c + 1], coef[3 * c + 2], relu};
  dvp_bnr_visit(DvpBnrGeom{n, channels, plane, txLog2, vec}, x, f);
}

// The same over NHWC: each thread applies its channel group's coefficients to its pixels.
template <typename T>
__device__ __forceinline__ void dvp_bnr_nhwc_grad_apply_t(const DvpBnrNhwc& g, int relu, const T* x, const T* y, const T* dy,
                                                          const float* saveMean, const float* coef, T* dx, T* dres) {
  const long long c0 = g.c0();
  if (c0 >= g.channels) return;  // no barrier follows
  const int lanes = g.lanes();
  float m[4], a[4], b[4], sh[4];
  for (int l = 0; l < lanes; l++) {
    const long long c = c0 + l;
    m[l] = saveMean[c];
    a[l] = coef[3 * c];
    b[l] = coef[3 * c + 1];
    sh[l] = coef[3 * c + 2];
  }
  for (long long p = g.from() + g.ty(); p < g.to(); p += g.rows()) {
    const long long i = p * g.channels + c0;
    if (g.vec) {
      const float4 xv = dvp_bnr_ld4(x, i), dv = dvp_bnr_ld4(dy, i);
      const float4 yv = relu ? dvp_bnr_ld4(y, i) : make_float4(0.f, 0.f, 0.f, 0.f);
      const float4 dz = make_float4(dvp_bnr_dz(relu, yv.x, dv.x), dvp_bnr_dz(relu, yv.y, dv.y), dvp_bnr_dz(relu, yv.z, dv.z),
                                    dvp_bnr_dz(relu, yv.w, dv.w));
      dvp_bnr_st4(dx, i, make_float4(dvp_bnr_dx(xv.x, dz.x, m[0], a[0], b[0], sh[0]), dvp_bnr_dx(xv.y, dz.y, m[1], a[1], b[1], sh[1]),
                                     dvp_bnr_dx(xv.z, dz.z, m[2], a[2], b[2], sh[2]), dvp_bnr_dx(xv.w, dz.w, m[3], a[3], b[3], sh[3])));
      if (dres) dvp_bnr_st4(dres, i, dz);
    } else {
      const float dz = dvp_bnr_dz(relu, relu ? dvp_ld(y, i) : 0.f, dvp_ld(dy, i));
      dvp_st(dx, i, dvp_bnr_dx(dvp_ld(x, i), dz, m[0], a[0], b[0], sh[0]));
      if (dres) dvp_st(dres, i, dz);
    }
  }
}

DVP_KERNEL void dvp_bnr_nhwc_grad_apply(long long pixels, long long channels, long long chunk, int txLog2, int vec, int relu,
                                        const float* x, const float* y, const float* dy, const float* saveMean,
                                        const float* coef, float* dx, float* dresidual) {
  dvp_bnr_nhwc_grad_apply_t(DvpBnrNhwc{pixels, channels, chunk, txLog2, vec}, relu, x, y, dy, saveMean, coef, dx, dresidual);
}

DVP_KERNEL void dvp_bnr_nhwc_grad_apply_bf16(long long pixels, long long channels, long long chunk, int txLog2, int vec,
                                             int relu, const unsigned short* x, const unsigned short* y,
                                             const unsigned short* dy, const float* saveMean, const float* coef,
                                             unsigned short* dx, unsigned short* dresidual) {
  dvp_bnr_nhwc_grad_apply_t(DvpBnrNhwc{pixels, channels, chunk, txLog2, vec}, relu, x, y, dy, saveMean, coef, dx, dresidual);
}
