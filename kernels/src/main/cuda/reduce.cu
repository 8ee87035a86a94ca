// Deterministic reductions. CPU reference: dvp.engine.cpu.CpuReduce (sumAll, sumRows,
// channelReduce). Two stages each: partials over fixed-size slices (the slice size is a constant
// chosen by the Java side from the shape alone), then an in-order combine. Accumulation in double,
// like the reference.
#include "common.cuh"

// Stage 1 of sum over all elements: block b sums x[b*chunk, min(n, (b+1)*chunk)).
DVP_KERNEL void dvp_sum_partials_f32(long long n, long long chunk, const float* x, double* partial) {
  long long from = (long long)blockIdx.x * chunk;
  long long to = min(n, from + chunk);
  double acc = 0;
  for (long long i = from + threadIdx.x; i < to; i += DVP_BLOCK) acc += x[i];
  acc = dvp_block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// Stage 2: one block combines the partials; out[0] = (float) total * scale.
DVP_KERNEL void dvp_sum_final_f32(long long parts, const double* partial, double scale, float* out) {
  double acc = 0;
  for (long long i = threadIdx.x; i < parts; i += DVP_BLOCK) acc += partial[i];
  acc = dvp_block_sum(acc);
  if (threadIdx.x == 0) out[0] = (float)(acc * scale);
}

// Column sums of x [rows, cols], stage 1: block (bx, chunk) gives one thread per column; each
// thread sums rows [chunk*rowsPer, ...) of its column in row order.
DVP_KERNEL void dvp_col_sum_partials_f32(long long rows, long long cols, long long rowsPer, const float* x,
                                         double* partial) {
  long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  long long r0 = (long long)blockIdx.y * rowsPer, r1 = min(rows, r0 + rowsPer);
  double acc = 0;
  for (long long r = r0; r < r1; r++) acc += x[r * cols + c];
  partial[(long long)blockIdx.y * cols + c] = acc;
}

DVP_KERNEL void dvp_col_sum_final_f32(long long chunks, long long cols, const double* partial, float* out) {
  DVP_FOR(c, cols) {
    double acc = 0;
    for (long long k = 0; k < chunks; k++) acc += partial[k * cols + c];
    out[c] = (float)acc;
  }
}

// Layouts: channels-last [N, C, H, W] arrives as x [N*H*W, C, 1] (n counts pixels, P = 1), the same
// memory (dvp.engine.cuda.CudaLayout); j below is then the NCHW order of the channel's elements.
// Per-channel partial sums over x [N, C, P] (P = product of the spatial dims). For channel c the
// N*P elements are numbered j = n*P + p and cut into slices of `slice` elements; block (s, c) owns
// slice s and writes partial[c*slices + s] = (sum a0, sum a1) with
//   mode 0: a0 = x                                  (channelSum)
//   mode 1: a0 = x*y                                (channelDot)
//   mode 2: a0 = (x - meanD[c])^2                   (batch-norm variance, second pass)
//   mode 3: a0 = y, a1 = y*(x - meanF[c])*invF[c]   (batch-norm backward: y is dy)
#define DVP_CH_SUM 0
#define DVP_CH_DOT 1
#define DVP_CH_CENTERED_SQ 2
#define DVP_CH_BN_BACKWARD 3
// T = float or dvp_bf16 (x and y share it; bf16 activations of batch norm under autocast), widened
// exactly on load: the arithmetic is the F32 kernel's.
template <typename T>
__device__ __forceinline__ void dvp_channel_partials(long long n, long long channels, long long plane, long long slice, int mode,
                                                     const T* x, const T* y, const double* meanD, const float* meanF,
                                                     const float* invF, double2* partial) {
  const long long c = blockIdx.y, s = blockIdx.x, slices = gridDim.x;
  const long long count = n * plane;
  const long long from = s * slice, to = min(count, from + slice);
  double a0 = 0, a1 = 0;
  const double md = mode == DVP_CH_CENTERED_SQ ? meanD[c] : 0.0;
  const float mf = mode == DVP_CH_BN_BACKWARD ? meanF[c] : 0.f, inv = mode == DVP_CH_BN_BACKWARD ? invF[c] : 0.f;
  for (long long j = from + threadIdx.x; j < to; j += DVP_BLOCK) {
    long long img = j / plane, p = j - img * plane;
    long long at = (img * channels + c) * plane + p;
    float v = dvp_ld(x, at);
    switch (mode) {
      case DVP_CH_SUM: a0 += v; break;
      case DVP_CH_DOT: a0 += (double)v * dvp_ld(y, at); break;
      case DVP_CH_CENTERED_SQ: { double d = v - md; a0 += d * d; break; }
      default: { double d = dvp_ld(y, at); a0 += d; a1 += d * (double)(v - mf) * inv; break; }
    }
  }
  a0 = dvp_block_sum(a0);
  a1 = dvp_block_sum(a1);
  if (threadIdx.x == 0) partial[c * slices + s] = make_double2(a0, a1);
}
DVP_KERNEL void dvp_channel_partials_f32(long long n, long long channels, long long plane, long long slice, int mode, const float* x, const float* y, const double* meanD, const float* meanF, const float* invF, double2* partial) { dvp_channel_partials(n, channels, plane, slice, mode, x, y, meanD, meanF, invF, partial); }
DVP_KERNEL void dvp_channel_partials_bf16(long long n, long long channels, long long plane, long long slice, int mode, const dvp_bf16* x, const dvp_bf16* y, const double* meanD, const float* meanF, const float* invF, double2* partial) { dvp_channel_partials(n, channels, plane, slice, mode, x, y, meanD, meanF, invF, partial); }

// out[c] = (float) sum over slices of partial[c].x, in slice order (channelSum / channelDot).
DVP_KERNEL void dvp_channel_final_f32(long long channels, long long slices, const double2* partial, float* out) {
  DVP_FOR(c, channels) {
    double acc = 0;
    for (long long s = 0; s < slices; s++) acc += partial[c * slices + s].x;
    out[c] = (float)acc;
  }
}
