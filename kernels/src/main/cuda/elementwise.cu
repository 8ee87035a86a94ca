// Elementwise kernels. CPU reference: dvp.engine.cpu.CpuElementwise (and CpuBackend.fill).
// Where the reference rounds each float operation separately, these use __fmul_rn/__fadd_rn so
// nvcc cannot contract them into an FMA: results are then bit-identical to the CPU backend.
#include "common.cuh"

DVP_KERNEL void dvp_axpby_f32(long long n, float alpha, const float* a, float beta, const float* b, float* out) {
  DVP_FOR(i, n) out[i] = __fadd_rn(__fmul_rn(alpha, a[i]), __fmul_rn(beta, b[i]));
}

DVP_KERNEL void dvp_mul_f32(long long n, const float* a, const float* b, float* out) {
  DVP_FOR(i, n) out[i] = __fmul_rn(a[i], b[i]);
}

DVP_KERNEL void dvp_scale_shift_f32(long long n, const float* a, float s, float t, float* out) {
  DVP_FOR(i, n) out[i] = __fadd_rn(__fmul_rn(a[i], s), t);
}

// out = a * s[0]: the scale stays on the device (an upstream gradient), no host sync.
DVP_KERNEL void dvp_scale_by_scalar_f32(long long n, const float* a, const float* s, float* out) {
  const float v = s[0];
  DVP_FOR(i, n) out[i] = __fmul_rn(a[i], v);
}

// Computed in double like the reference, so the float result is the same.
DVP_KERNEL void dvp_rsqrt_eps_f32(long long n, const float* x, float eps, float* out) {
  DVP_FOR(i, n) out[i] = (float)(1.0 / sqrt((double)x[i] + (double)eps));
}

// max(x, 0) with NaN propagating (torch.relu and Math.max both keep NaN; fmaxf would not).
DVP_KERNEL void dvp_relu_f32(long long n, const float* x, float* out) {
  DVP_FOR(i, n) {
    float v = x[i];
    out[i] = (v > 0.f || v != v) ? v : 0.f;
  }
}

DVP_KERNEL void dvp_relu_backward_f32(long long n, const float* y, const float* dy, float* dx) {
  DVP_FOR(i, n) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

// out[r, c] = x[r, c] + v[c]
DVP_KERNEL void dvp_add_row_vector_f32(long long n, long long cols, const float* x, const float* v, float* out) {
  DVP_FOR(i, n) out[i] = __fadd_rn(x[i], v[i % cols]);
}

// out[n,c,s] = fma(x, scale[c], shift[c]) (the reference uses Math.fma); shift may be null. `plane` is
// the channel stride: H*W for NCHW, 1 for channels-last (x and out share the layout).
DVP_KERNEL void dvp_channel_affine_f32(long long total, long long channels, long long plane, const float* x,
                                       const float* scale, const float* shift, float* out) {
  DVP_FOR(i, total) {
    long long c = (i / plane) % channels;
    out[i] = __fmaf_rn(x[i], scale[c], shift ? shift[c] : 0.f);
  }
}

// 2- and 8-byte fills (4- and 1-byte fills use cuMemsetD32/D8).
DVP_KERNEL void dvp_fill_u16(long long n, unsigned short v, unsigned short* out) {
  DVP_FOR(i, n) out[i] = v;
}

DVP_KERNEL void dvp_fill_u64(long long n, unsigned long long v, unsigned long long* out) {
  DVP_FOR(i, n) out[i] = v;
}
