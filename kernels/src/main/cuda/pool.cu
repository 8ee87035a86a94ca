// Pooling. CPU reference: dvp.engine.cpu.CpuPool.
#include "common.cuh"

// One thread per output. Window scanned in (ky, kx) order; the first maximum wins and a NaN wins
// (PyTorch semantics). argmax = flat iy*W+ix index inside the plane.
DVP_KERNEL void dvp_maxpool2d_forward_f32(long long total, int h, int w, int ho, int wo, int k, int stride, int pad,
                                          const float* x, float* y, int* argmax) {
  DVP_FOR(i, total) {
    long long plane = i / ((long long)ho * wo);
    int r = (int)(i - plane * ho * wo), oy = r / wo, ox = r - oy * wo;
    const float* xp = x + plane * h * w;
    float best = -INFINITY;
    int arg = -1;
    for (int ky = 0; ky < k; ky++) {
      int iy = oy * stride - pad + ky;
      if (iy < 0 || iy >= h) continue;
      for (int kx = 0; kx < k; kx++) {
        int ix = ox * stride - pad + kx;
        if (ix < 0 || ix >= w) continue;
        float v = xp[iy * w + ix];
        if (arg < 0 || v > best || v != v) { best = v; arg = iy * w + ix; }
      }
    }
    y[i] = best;
    argmax[i] = arg;
  }
}

// Gather form of the max-pool backward, deterministic and without atomics: one thread per input
// element sums dy over the outputs whose window covers it and whose argmax is this element, in
// ascending output order (the order in which the reference accumulates), so the result is
// bit-identical to the CPU. Needs the pooling geometry, which the backend remembers from forward.
DVP_KERNEL void dvp_maxpool2d_backward_f32(long long total, int h, int w, int ho, int wo, int k, int stride, int pad,
                                           const float* dy, const int* argmax, float* dx) {
  DVP_FOR(i, total) {
    long long plane = i / ((long long)h * w);
    int r = (int)(i - plane * h * w), iy = r / w, ix = r - iy * w;
    // outputs oy with oy*stride - pad <= iy <= oy*stride - pad + k - 1
    int oy0 = max(0, (iy + pad - k + stride) / stride), oy1 = min(ho - 1, (iy + pad) / stride);
    int ox0 = max(0, (ix + pad - k + stride) / stride), ox1 = min(wo - 1, (ix + pad) / stride);
    const float* dyp = dy + plane * ho * wo;
    const int* ap = argmax + plane * ho * wo;
    float acc = 0.f;
    for (int oy = oy0; oy <= oy1; oy++)
      for (int ox = ox0; ox <= ox1; ox++)
        if (ap[oy * wo + ox] == r) acc = __fadd_rn(acc, dyp[oy * wo + ox]);
    dx[i] = acc;
  }
}

// Fallback when the geometry is unknown (argmax not produced by this backend's forward): one
// thread per plane replays the reference loop. Slow but exact; dx must be zeroed first.
DVP_KERNEL void dvp_maxpool2d_backward_planes_f32(long long planes, long long hw, long long ohw, const float* dy,
                                                  const int* argmax, float* dx) {
  DVP_FOR(p, planes) {
    float* dxp = dx + p * hw;
    for (long long j = 0; j < ohw; j++) {
      long long o = p * ohw + j;
      dxp[argmax[o]] = __fadd_rn(dxp[argmax[o]], dy[o]);
    }
  }
}

// y[plane] = mean of x over the plane: one warp per plane, fixed lane order, double accumulation.
DVP_KERNEL void dvp_global_avg_forward_f32(long long planes, long long hw, const float* x, float* y) {
  long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  if (warp >= planes) return;
  const float* xp = x + warp * hw;
  double acc = 0;
  for (long long j = lane; j < hw; j += 32) acc += xp[j];
  acc = dvp_warp_sum(acc);
  if (lane == 0) y[warp] = (float)(acc / hw);
}

// dx[plane, j] = dy[plane] / hw, divided in float like the reference.
DVP_KERNEL void dvp_global_avg_backward_f32(long long total, long long hw, const float* dy, float* dx) {
  DVP_FOR(i, total) dx[i] = __fdiv_rn(dy[i / hw], (float)hw);
}
