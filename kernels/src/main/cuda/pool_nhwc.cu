// Pooling on channels-last activations: [N, C, H, W] tensors whose memory is N, H, W, C (see
// dvp.engine.MemoryFormat). CPU reference: dvp.engine.cpu.CpuPool (run on NCHW copies of the same
// values). One thread per element in memory order, so consecutive threads take consecutive channels
// of one pixel (coalesced). Each kernel visits the same window elements in the same order as its
// NCHW twin in pool.cu, so max pooling and the average's gradient are bit-identical to the reference;
// argmax keeps the NCHW meaning (flat iy*W+ix inside the plane) and has the channels-last layout.
#include "common.cuh"

DVP_KERNEL void dvp_maxpool2d_nhwc_forward_f32(long long total, int c, int h, int w, int ho, int wo, int k, int stride,
                                               int pad, const float* x, float* y, int* argmax) {
  DVP_FOR(i, total) {
    int ch = (int)(i % c);
    long long pix = i / c;
    int ox = (int)(pix % wo);
    long long t = pix / wo;
    int oy = (int)(t % ho);
    long long n = t / ho;
    const float* xn = x + n * h * w * (long long)c + ch;  // element (iy, ix) at xn[(iy*w + ix)*c]
    float best = -INFINITY;
    int arg = -1;
    for (int ky = 0; ky < k; ky++) {
      int iy = oy * stride - pad + ky;
      if (iy < 0 || iy >= h) continue;
      for (int kx = 0; kx < k; kx++) {
        int ix = ox * stride - pad + kx;
        if (ix < 0 || ix >= w) continue;
        float v = xn[((long long)iy * w + ix) * c];
        if (arg < 0 || v > best || v != v) { best = v; arg = iy * w + ix; }
      }
    }
    y[i] = best;
    argmax[i] = arg;
  }
}

// Gather form, deterministic and without atomics: each input element sums dy over the outputs
// whose window covers it and chose it, in ascending output order (as the reference accumulates).
DVP_KERNEL void dvp_maxpool2d_nhwc_backward_f32(long long total, int c, int h, int w, int ho, int wo, int k, int stride,
                                                int pad, const float* dy, const int* argmax, float* dx) {
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
        if (argmax[o] == r) acc = __fadd_rn(acc, dy[o]);
      }
    dx[i] = acc;
  }
}

// y[n, ch] (a plain [N, C] matrix) = mean over the hw pixels of image n: one thread per (n, ch),
// consecutive threads on consecutive channels, pixels added in order in double.
DVP_KERNEL void dvp_global_avg_nhwc_forward_f32(long long nc, int c, long long hw, const float* x, float* y) {
  DVP_FOR(j, nc) {
    long long n = j / c;
    int ch = (int)(j - n * c);
    const float* xp = x + n * hw * c + ch;
    double acc = 0;
    for (long long p = 0; p < hw; p++) acc += xp[p * c];
    y[j] = (float)(acc / hw);
  }
}

// dx (channels-last) = dy[n, ch] / hw, divided in float like the reference.
DVP_KERNEL void dvp_global_avg_nhwc_backward_f32(long long total, int c, long long hw, const float* dy, float* dx) {
  DVP_FOR(i, total) {
    long long n = i / (hw * c);
    int ch = (int)(i % c);
    dx[i] = __fdiv_rn(dy[n * c + ch], (float)hw);
  }
}
