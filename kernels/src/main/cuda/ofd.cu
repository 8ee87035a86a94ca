// OFD partial-L2 distillation loss (Heo et al., "A Comprehensive Overhaul of Feature Distillation"),
// fused: t' = max(t, margin[c]) (the margin ReLU of the teacher); loss = w * sum over elements with
// (s > t' or t' > 0) of (s - t')^2; ds = 2 w gradOut * mask * (s - t'). CPU reference:
// dvp.engine.cpu.CpuOfd (Backend.ofdLossForward / ofdLossBackward).
//
// Designed for bandwidth (not timed): each kernel reads s and t once (the backward also writes ds
// once), with 16-byte loads wherever the arrays allow. The channel of memory position i is
// (i / channelStride) % C; instead of dividing per element, the tensor is seen as rows of a 2-D grid:
//   channelStride > 1 (NCHW):  rows of L = channelStride elements, row r has channel r % C;
//   channelStride == 1 (NHWC): rows of L = C elements, column j has channel j.
// Block (x, y) covers TY consecutive rows (one per thread row ty) and the y-th chunk of their
// columns; TX = blockDim / TY threads share a row (TX a power of two chosen by CudaOfd from L). A
// row is split into a scalar head (up to 3 elements, until s is 16-byte aligned), float4 quads and
// a scalar tail (up to 3); when s, t (and ds) differ in their 16-byte phase, all of it is scalar.
// No 64-bit division per element: one `r % C` per thread.
//
// Determinism: each thread visits its elements in a fixed order (double accumulator), each block
// reduces with the fixed tree of dvp_block_sum into partial[y * gridDim.x + x], and dvp_ofd_final
// adds the partials in a fixed order: the grid depends on the shape alone.
#include "common.cuh"

#define DVP_OFD_QPT 4  // quads per thread per block chunk (CudaOfd.QPT)

// max(t, m) with NaN propagating, like Java's Math.max (fmaxf would drop the NaN).
__device__ __forceinline__ float dvp_max_nan(float t, float m) { return (t != t || t > m) ? t : m; }

// The loss term of one element; 0 where s <= t' <= 0 (written this way round so a NaN counts).
__device__ __forceinline__ float dvp_ofd_term(float sv, float tv, float m) {
  const float tp = dvp_max_nan(tv, m);
  if (sv <= tp && tp <= 0.f) return 0.f;
  const float df = __fsub_rn(sv, tp);
  return __fmul_rn(df, df);
}

// The gradient of one element (factor = 2 w gradOut), in the reference's operation order.
__device__ __forceinline__ float dvp_ofd_grad(float sv, float tv, float m, float factor) {
  const float tp = dvp_max_nan(tv, m);
  return (sv <= tp && tp <= 0.f) ? 0.f : __fmul_rn(__fsub_rn(sv, tp), factor);
}

struct DvpOfdGeom {
  long long n, rowLen, rows, channels;
  int channelsLast, txLog2, vec;
};

// Calls f.one(i, m) for single elements and f.quad(i, m0..m3) for 16-byte-aligned quads at memory
// position i, for this thread's share of the block's rows and column chunk.
template <typename F>
__device__ __forceinline__ void dvp_ofd_visit(const DvpOfdGeom& g, const float* s, const float* margin, F& f) {
  const int tx = threadIdx.x & ((1 << g.txLog2) - 1);
  const int ty = threadIdx.x >> g.txLog2;
  const int tPerRow = 1 << g.txLog2;
  const long long r = (long long)blockIdx.x * (blockDim.x >> g.txLog2) + ty;
  if (r >= g.rows) return;
  const long long start = r * g.rowLen;
  const long long len = min(g.rowLen, g.n - start);
  const float mRow = g.channelsLast ? 0.f : margin[r % g.channels];
  const long long quadsPerChunk = (long long)tPerRow * DVP_OFD_QPT;
  if (g.vec) {
    const long long phase = ((long long)(reinterpret_cast<unsigned long long>(s) >> 2) + start) & 3;
    const long long head = min((4 - phase) & 3, len);
    const long long quads = (len - head) >> 2;
    const long long tailFrom = head + 4 * quads;
    const long long q1 = min(quads, ((long long)blockIdx.y + 1) * quadsPerChunk);
    for (long long q = (long long)blockIdx.y * quadsPerChunk + tx; q < q1; q += tPerRow) {
      const long long j = head + 4 * q;
      if (g.channelsLast) f.quad(start + j, margin[j], margin[j + 1], margin[j + 2], margin[j + 3]);
      else f.quad(start + j, mRow, mRow, mRow, mRow);
    }
    if (blockIdx.y == 0) {  // a row may have fewer threads (TX) than head or tail elements
      for (long long j = tx; j < head; j += tPerRow) f.one(start + j, g.channelsLast ? margin[j] : mRow);
      for (long long j = tailFrom + tx; j < len; j += tPerRow) f.one(start + j, g.channelsLast ? margin[j] : mRow);
    }
  } else {
    const long long perChunk = 4 * quadsPerChunk;
    const long long j1 = min(len, ((long long)blockIdx.y + 1) * perChunk);
    for (long long j = (long long)blockIdx.y * perChunk + tx; j < j1; j += tPerRow)
      f.one(start + j, g.channelsLast ? margin[j] : mRow);
  }
}

struct DvpOfdSum {
  const float* s;
  const float* t;
  double acc;
  __device__ __forceinline__ void one(long long i, float m) { acc += (double)dvp_ofd_term(s[i], t[i], m); }
  __device__ __forceinline__ void quad(long long i, float m0, float m1, float m2, float m3) {
    const float4 sv = *reinterpret_cast<const float4*>(s + i), tv = *reinterpret_cast<const float4*>(t + i);
    acc += (double)dvp_ofd_term(sv.x, tv.x, m0);
    acc += (double)dvp_ofd_term(sv.y, tv.y, m1);
    acc += (double)dvp_ofd_term(sv.z, tv.z, m2);
    acc += (double)dvp_ofd_term(sv.w, tv.w, m3);
  }
};

struct DvpOfdGrad {
  const float* s;
  const float* t;
  float* ds;
  float factor;
  __device__ __forceinline__ void one(long long i, float m) { ds[i] = dvp_ofd_grad(s[i], t[i], m, factor); }
  __device__ __forceinline__ void quad(long long i, float m0, float m1, float m2, float m3) {
    const float4 sv = *reinterpret_cast<const float4*>(s + i), tv = *reinterpret_cast<const float4*>(t + i);
    float4 o;
    o.x = dvp_ofd_grad(sv.x, tv.x, m0, factor);
    o.y = dvp_ofd_grad(sv.y, tv.y, m1, factor);
    o.z = dvp_ofd_grad(sv.z, tv.z, m2, factor);
    o.w = dvp_ofd_grad(sv.w, tv.w, m3, factor);
    *reinterpret_cast<float4*>(ds + i) = o;
  }
};

// One partial sum per block (blockDim.x == DVP_BLOCK), at partial[blockIdx.y * gridDim.x + blockIdx.x].
DVP_KERNEL void dvp_ofd_partials(long long n, long long rowLen, long long rows, long long channels, int channelsLast,
                                 int txLog2, int vec, const float* s, const float* t, const float* margin, double* partial) {
  const DvpOfdGeom g{n, rowLen, rows, channels, channelsLast, txLog2, vec};
  DvpOfdSum f{s, t, 0.0};
  dvp_ofd_visit(g, s, margin, f);
  const double acc = dvp_block_sum(f.acc);
  if (threadIdx.x == 0) partial[(long long)blockIdx.y * gridDim.x + blockIdx.x] = acc;
}

// loss[0] = (float)(w * total), the reference's rounding.
DVP_KERNEL void dvp_ofd_final(long long parts, float w, const double* partial, float* loss) {
  double acc = 0;
  for (long long i = threadIdx.x; i < parts; i += DVP_BLOCK) acc += partial[i];
  acc = dvp_block_sum(acc);
  if (threadIdx.x == 0) loss[0] = (float)((double)w * acc);
}

// ds = mask * (s - t') * (2 w gradOut[0]), float operations in the reference's order.
DVP_KERNEL void dvp_ofd_backward(long long n, long long rowLen, long long rows, long long channels, int channelsLast,
                                 int txLog2, int vec, float w, const float* s, const float* t, const float* margin,
                                 const float* gradOut, float* ds) {
  const DvpOfdGeom g{n, rowLen, rows, channels, channelsLast, txLog2, vec};
  DvpOfdGrad f{s, t, ds, __fmul_rn(__fmul_rn(2.f, w), gradOut[0])};
  dvp_ofd_visit(g, s, margin, f);
}
