// Elementwise kernels. CPU reference: dvp.engine.cpu.CpuElementwise (and CpuBackend.fill).
// Where the reference rounds each float operation separately, these use __fmul_rn/__fadd_rn so
// nvcc cannot contract them into an FMA: results are then bit-identical to the CPU backend.
#include "common.cuh"

// T = float or dvp_bf16 (a, b and out share it): the sum in fp32, one rounding at the bf16 store. The
// BF16 version is also autograd's accumulation of a bf16 activation's gradients (dvp.engine.autograd).
template <typename T>
__device__ __forceinline__ void dvp_axpby(long long n, float alpha, const T* a, float beta, const T* b, T* out) {
  DVP_FOR(i, n) dvp_st(out, i, __fadd_rn(__fmul_rn(alpha, dvp_ld(a, i)), __fmul_rn(beta, dvp_ld(b, i))));
}
DVP_KERNEL void dvp_axpby_f32(long long n, float alpha, const float* a, float beta, const float* b, float* out) { dvp_axpby(n, alpha, a, beta, b, out); }
DVP_KERNEL void dvp_axpby_bf16(long long n, float alpha, const dvp_bf16* a, float beta, const dvp_bf16* b, dvp_bf16* out) { dvp_axpby(n, alpha, a, beta, b, out); }

DVP_KERNEL void dvp_mul_f32(long long n, const float* a, const float* b, float* out) {
  DVP_FOR(i, n) out[i] = __fmul_rn(a[i], b[i]);
}

template <typename T>
__device__ __forceinline__ void dvp_scale_shift(long long n, const T* a, float s, float t, T* out) {
  DVP_FOR(i, n) dvp_st(out, i, __fadd_rn(__fmul_rn(dvp_ld(a, i), s), t));
}
DVP_KERNEL void dvp_scale_shift_f32(long long n, const float* a, float s, float t, float* out) { dvp_scale_shift(n, a, s, t, out); }
DVP_KERNEL void dvp_scale_shift_bf16(long long n, const dvp_bf16* a, float s, float t, dvp_bf16* out) { dvp_scale_shift(n, a, s, t, out); }

// out = a * s[0]: the scale stays on the device (an upstream gradient), no host sync.
DVP_KERNEL void dvp_scale_by_scalar_f32(long long n, const float* a, const float* s, float* out) {
  const float v = s[0];
  DVP_FOR(i, n) out[i] = __fmul_rn(a[i], v);
}

// Computed in double like the reference, so the float result is the same.
DVP_KERNEL void dvp_rsqrt_eps_f32(long long n, const float* x, float eps, float* out) {
  DVP_FOR(i, n) out[i] = (float)(1.0 / sqrt((double)x[i] + (double)eps));
}

// max(x, 0) with NaN propagating (torch.relu and Math.max both keep NaN; fmaxf would not). No
// arithmetic: for bf16 the stored value is the input's (the widening is exact, the store rounds an
// exactly representable value), so both versions are bitwise the reference's.
template <typename T>
__device__ __forceinline__ void dvp_relu(long long n, const T* x, T* out) {
  DVP_FOR(i, n) {
    float v = dvp_ld(x, i);
    dvp_st(out, i, (v > 0.f || v != v) ? v : 0.f);
  }
}
DVP_KERNEL void dvp_relu_f32(long long n, const float* x, float* out) { dvp_relu(n, x, out); }
DVP_KERNEL void dvp_relu_bf16(long long n, const dvp_bf16* x, dvp_bf16* out) { dvp_relu(n, x, out); }

template <typename T>
__device__ __forceinline__ void dvp_relu_backward(long long n, const T* y, const T* dy, T* dx) {
  DVP_FOR(i, n) dvp_st(dx, i, dvp_ld(y, i) > 0.f ? dvp_ld(dy, i) : 0.f);
}
DVP_KERNEL void dvp_relu_backward_f32(long long n, const float* y, const float* dy, float* dx) { dvp_relu_backward(n, y, dy, dx); }
DVP_KERNEL void dvp_relu_backward_bf16(long long n, const dvp_bf16* y, const dvp_bf16* dy, dvp_bf16* dx) { dvp_relu_backward(n, y, dy, dx); }

// out[r, c] = x[r, c] + v[c]
DVP_KERNEL void dvp_add_row_vector_f32(long long n, long long cols, const float* x, const float* v, float* out) {
  DVP_FOR(i, n) out[i] = __fadd_rn(x[i], v[i % cols]);
}

// out[n,c,s] = fma(x, scale[c], shift[c]) (the reference uses Math.fma); shift may be null. `plane` is
// the channel stride: H*W for NCHW, 1 for channels-last (x and out share the layout).
// T = float or dvp_bf16 for x and out (scale and shift stay fp32: batch norm's eval coefficients).
template <typename T>
__device__ __forceinline__ void dvp_channel_affine(long long total, long long channels, long long plane, const T* x,
                                                   const float* scale, const float* shift, T* out) {
  DVP_FOR(i, total) {
    long long c = (i / plane) % channels;
    dvp_st(out, i, __fmaf_rn(dvp_ld(x, i), scale[c], shift ? shift[c] : 0.f));
  }
}
DVP_KERNEL void dvp_channel_affine_f32(long long total, long long channels, long long plane, const float* x, const float* scale, const float* shift, float* out) { dvp_channel_affine(total, channels, plane, x, scale, shift, out); }
DVP_KERNEL void dvp_channel_affine_bf16(long long total, long long channels, long long plane, const dvp_bf16* x, const float* scale, const float* shift, dvp_bf16* out) { dvp_channel_affine(total, channels, plane, x, scale, shift, out); }

// 2- and 8-byte fills (4- and 1-byte fills use cuMemsetD32/D8).
DVP_KERNEL void dvp_fill_u16(long long n, unsigned short v, unsigned short* out) {
  DVP_FOR(i, n) out[i] = v;
}

DVP_KERNEL void dvp_fill_u64(long long n, unsigned long long v, unsigned long long* out) {
  DVP_FOR(i, n) out[i] = v;
}
