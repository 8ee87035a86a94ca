// Pooling on channels-last activations: [N, C, H, W] tensors whose memory is N, H, W, C (see
// dvp.engine.MemoryFormat). CPU reference: dvp.engine.cpu.CpuPool (run on NCHW copies of the same
// values). One thread per element in memory order, so consecutive threads take consecutive channels
// of one pixel (coalesced). Each kernel visits the same window elements in the same order as its
// NCHW twin in pool.cu, so max pooling and the average's gradient are bit-identical to the reference;
// argmax keeps the NCHW meaning (flat iy*W+ix inside the plane) and has the channels-last layout.
#include "common.cuh"

template <typename T>
__device__ __forceinline__ void dvp_maxpool2d_nhwc_forward(long long total, int c, int h, int w, int ho, int wo, int k, int stride, int pad, const T* x, T* y, int* argmax) {
  DVP_FOR(i, total) {
    int ch = (int)(i % c);
    long long pix = i / c;
    int ox = (int)(pix % wo);
    long long t = pix / wo;
    int oy = (int)(t % ho);
    long long n = t / ho;
    const T* xn = x + n * h * w * (long long)c + ch;  // element (iy, ix) at xn[(iy*w + ix)*c]
    float best = -INFINITY;
    int arg = -1;
    for (int ky = 0; ky < k; ky++) {
      int iy = oy * stride - pad + ky;
      if (iy < 0 || iy >= h) continue;
      for (int kx = 0; kx < k; kx++) {
        int ix = ox * stride - pad + kx;
        if (ix < 0 || ix >= w) continue;
        float v = dvp_ld(xn, ((long long)iy * w + ix) * c);
        if (arg < 0 || v > best || v != v) { best = v; arg = iy * w + ix; }
      }
    }
    dvp_st(y, i, best);  // a loaded value (or -inf): exact in T
    argmax[i] = arg;
  }
}
DVP_KERNEL void dvp_maxpool2d_nhwc_forward_f32(long long total, int c, int h, int w, int ho, int wo, int k, int stride, int pad, const float* x, float* y, int* argmax) { dvp_maxpool2d_nhwc_forward(total, c, h, w, ho, wo, k, stride, pad, x, y, argmax); }
DVP_KERNEL void dvp_maxpool2d_nhwc_forward_bf16(long long total, int c, int h, int w, int ho, int wo, int k, int stride, int pad, const dvp_bf16* x, dvp_bf16* y, int* argmax) { dvp_maxpool2d_nhwc_forward(total, c, h, w, ho, wo, k, stride, pad, x, y, argmax); }

// Gather form, deterministic and without atomics: each input element sums dy over the outputs
// whose window covers it and chose it, in ascending output order (as the reference accumulates).
template <typename T>
__device__ __forceinline__ void dvp_maxpool2d_nhwc_backward(long long total, int c, int h, int w, int ho, int wo, int k, int stride, int pad, const T* dy, const int* argmax, T* dx) {
  DVP_FOR(i, total) {
    int ch = (int)(i % c);
    long long pix = i / c;
    int ix = (int)(pix % w);
    long long t = pix / w;
    int iy = (int)(t % h);
    long long n = t / h;
    int r = iy * w + ix;
    int oy0 = max(0, (iy + pad - k + stride) / stride), oy1 = min(ho - 1, (iy + pad) / stride);
    int ox0 = max(0, (ix + pad - k + stride) / stride), ox1 = min(wo - 1, (ix + pad) / stride);
    const long long base = n * ho * wo * (long long)c + ch;  // output (oy, ox) at base + (oy*wo + ox)*c
    float acc = 0.f;
    for (int oy = oy0; oy <= oy1; oy++)
      for (int ox = ox0; ox <= ox1; ox++) {
        long long o = base + ((long long)oy * wo + ox) * c;
        if (argmax[o] == r) acc = __fadd_rn(acc, dvp_ld(dy, o));
      }
    dvp_st(dx, i, acc);  // fp32 sum of the chosen dy, one rounding for bf16
  }
}
DVP_KERNEL void dvp_maxpool2d_nhwc_backward_f32(long long total, int c, int h, int w, int ho, int wo, int k, int stride, int pad, const float* dy, const int* argmax, float* dx) { dvp_maxpool2d_nhwc_backward(total, c, h, w, ho, wo, k, stride, pad, dy, argmax, dx); }
DVP_KERNEL void dvp_maxpool2d_nhwc_backward_bf16(long long total, int c, int h, int w, int ho, int wo, int k, int stride, int pad, const dvp_bf16* dy, const int* argmax, dvp_bf16* dx) { dvp_maxpool2d_nhwc_backward(total, c, h, w, ho, wo, k, stride, pad, dy, argmax, dx); }

// y[n, ch] (a plain [N, C] matrix) = mean over the hw pixels of image n: one thread per (n, ch),
// consecutive threads on consecutive channels, pixels added in order in double.
template <typename T>
__device__ __forceinline__ void dvp_global_avg_nhwc_forward(long long nc, int c, long long hw, const T* x, T* y) {
  DVP_FOR(j, nc) {
    long long n = j / c;
    int ch = (int)(j - n * c);
    const T* xp = x + n * hw * c + ch;
    double acc = 0;
    for (long long p = 0; p < hw; p++) acc += dvp_ld(xp, p * c);
    dvp_st(y, j, (float)(acc / hw));
  }
}
DVP_KERNEL void dvp_global_avg_nhwc_forward_f32(long long nc, int c, long long hw, const float* x, float* y) { dvp_global_avg_nhwc_forward(nc, c, hw, x, y); }
DVP_KERNEL void dvp_global_avg_nhwc_forward_bf16(long long nc, int c, long long hw, const dvp_bf16* x, dvp_bf16* y) { dvp_global_avg_nhwc_forward(nc, c, hw, x, y); }

// dx (channels-last) = dy[n, ch] / hw, divided in float like the reference.
template <typename T>
__device__ __forceinline__ void dvp_global_avg_nhwc_backward(long long total, int c, long long hw, const T* dy, T* dx) {
  DVP_FOR(i, total) {
    long long n = i / (hw * c);
    int ch = (int)(i % c);
    dvp_st(dx, i, __fdiv_rn(dvp_ld(dy, n * c + ch), (float)hw));
  }
}
DVP_KERNEL void dvp_global_avg_nhwc_backward_f32(long long total, int c, long long hw, const float* dy, float* dx) { dvp_global_avg_nhwc_backward(total, c, hw, dy, dx); }
DVP_KERNEL void dvp_global_avg_nhwc_backward_bf16(long long total, int c, long long hw, const dvp_bf16* dy, dvp_bf16* dx) { dvp_global_avg_nhwc_backward(total, c, hw, dy, dx); }
