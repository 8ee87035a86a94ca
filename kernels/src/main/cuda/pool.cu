// Pooling. CPU reference: dvp.engine.cpu.CpuPool.
#include "common.cuh"

// One thread per output. Window scanned in (ky, kx) order; the first maximum wins and a NaN wins
// (PyTorch semantics). argmax = flat iy*W+ix index inside the plane.
template <typename T>
__device__ __forceinline__ void dvp_maxpool2d_forward(long long total, int h, int w, int ho, int wo, int k, int stride, int pad, const T* x, T* y, int* argmax) {
  DVP_FOR(i, total) {
    long long plane = i / ((long long)ho * wo);
    int r = (int)(i - plane * ho * wo), oy = r / wo, ox = r - oy * wo;
    const T* xp = x + plane * h * w;
    float best = -INFINITY;
    int arg = -1;
    for (int ky = 0; ky < k; ky++) {
      int iy = oy * stride - pad + ky;
      if (iy < 0 || iy >= h) continue;
      for (int kx = 0; kx < k; kx++) {
        int ix = ox * stride - pad + kx;
        if (ix < 0 || ix >= w) continue;
        float v = dvp_ld(xp, iy * w + ix);
        if (arg < 0 || v > best || v != v) { best = v; arg = iy * w + ix; }
      }
    }
    dvp_st(y, i, best);  // a loaded value (or -inf): exact in T
    argmax[i] = arg;
  }
}
DVP_KERNEL void dvp_maxpool2d_forward_f32(long long total, int h, int w, int ho, int wo, int k, int stride, int pad, const float* x, float* y, int* argmax) { dvp_maxpool2d_forward(total, h, w, ho, wo, k, stride, pad, x, y, argmax); }
DVP_KERNEL void dvp_maxpool2d_forward_bf16(long long total, int h, int w, int ho, int wo, int k, int stride, int pad, const dvp_bf16* x, dvp_bf16* y, int* argmax) { dvp_maxpool2d_forward(total, h, w, ho, wo, k, stride, pad, x, y, argmax); }

// Gather form of the max-pool backward, deterministic and without atomics: one thread per input
// element sums dy over the outputs whose window covers it and whose argmax is this element, in
// ascending output order (the order in which the reference accumulates), so the result is
// bit-identical to the CPU. Needs the pooling geometry, which the backend remembers from forward.
template <typename T>
__device__ __forceinline__ void dvp_maxpool2d_backward(long long total, int h, int w, int ho, int wo, int k, int stride, int pad, const T* dy, const int* argmax, T* dx) {
  DVP_FOR(i, total) {
    long long plane = i / ((long long)h * w);
    int r = (int)(i - plane * h * w), iy = r / w, ix = r - iy * w;
    // outputs oy with oy*stride - pad <= iy <= oy*stride - pad + k - 1
    int oy0 = max(0, (iy + pad - k + stride) / stride), oy1 = min(ho - 1, (iy + pad) / stride);
    int ox0 = max(0, (ix + pad - k + stride) / stride), ox1 = min(wo - 1, (ix + pad) / stride);
    const T* dyp = dy + plane * ho * wo;
    const int* ap = argmax + plane * ho * wo;
    float acc = 0.f;
    for (int oy = oy0; oy <= oy1; oy++)
      for (int ox = ox0; ox <= ox1; ox++)
        if (ap[oy * wo + ox] == r) acc = __fadd_rn(acc, dvp_ld(dyp, oy * wo + ox));
    dvp_st(dx, i, acc);  // fp32 sum of the chosen dy, one rounding for bf16
  }
}
DVP_KERNEL void dvp_maxpool2d_backward_f32(long long total, int h, int w, int ho, int wo, int k, int stride, int pad, const float* dy, const int* argmax, float* dx) { dvp_maxpool2d_backward(total, h, w, ho, wo, k, stride, pad, dy, argmax, dx); }
DVP_KERNEL void dvp_maxpool2d_backward_bf16(long long total, int h, int w, int ho, int wo, int k, int stride, int pad, const dvp_bf16* dy, const int* argmax, dvp_bf16* dx) { dvp_maxpool2d_backward(total, h, w, ho, wo, k, stride, pad, dy, argmax, dx); }

// Fallback when the geometry is unknown (argmax not produced by this backend's forward): one
// thread per plane replays the reference loop. Slow but exact; dx must be zeroed first.
template <typename T>
__device__ __forceinline__ void dvp_maxpool2d_backward_planes(long long planes, long long hw, long long ohw, const T* dy, const int* argmax, T* dx) {
  DVP_FOR(p, planes) {
    T* dxp = dx + p * hw;
    for (long long j = 0; j < ohw; j++) {
      long long o = p * ohw + j;
      dvp_st(dxp, argmax[o], __fadd_rn(dvp_ld(dxp, argmax[o]), dvp_ld(dy, o)));  // bf16: rounded per add (fallback only)
    }
  }
}
DVP_KERNEL void dvp_maxpool2d_backward_planes_f32(long long planes, long long hw, long long ohw, const float* dy, const int* argmax, float* dx) { dvp_maxpool2d_backward_planes(planes, hw, ohw, dy, argmax, dx); }
DVP_KERNEL void dvp_maxpool2d_backward_planes_bf16(long long planes, long long hw, long long ohw, const dvp_bf16* dy, const int* argmax, dvp_bf16* dx) { dvp_maxpool2d_backward_planes(planes, hw, ohw, dy, argmax, dx); }

// y[plane] = mean of x over the plane: one warp per plane, fixed lane order, double accumulation.
template <typename T>
__device__ __forceinline__ void dvp_global_avg_forward(long long planes, long long hw, const T* x, T* y) {
  long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  if (warp >= planes) return;
  const T* xp = x + warp * hw;
  double acc = 0;
  for (long long j = lane; j < hw; j += 32) acc += dvp_ld(xp, j);
  acc = dvp_warp_sum(acc);
  if (lane == 0) dvp_st(y, warp, (float)(acc / hw));
}
DVP_KERNEL void dvp_global_avg_forward_f32(long long planes, long long hw, const float* x, float* y) { dvp_global_avg_forward(planes, hw, x, y); }
DVP_KERNEL void dvp_global_avg_forward_bf16(long long planes, long long hw, const dvp_bf16* x, dvp_bf16* y) { dvp_global_avg_forward(planes, hw, x, y); }

// dx[plane, j] = dy[plane] / hw, divided in float like the reference.
template <typename T>
__device__ __forceinline__ void dvp_global_avg_backward(long long total, long long hw, const T* dy, T* dx) {
  DVP_FOR(i, total) dvp_st(dx, i, __fdiv_rn(dvp_ld(dy, i / hw), (float)hw));
}
DVP_KERNEL void dvp_global_avg_backward_f32(long long total, long long hw, const float* dy, float* dx) { dvp_global_avg_backward(total, hw, dy, dx); }
DVP_KERNEL void dvp_global_avg_backward_bf16(long long total, long long hw, const dvp_bf16* dy, dvp_bf16* dx) { dvp_global_avg_backward(total, hw, dy, dx); }
