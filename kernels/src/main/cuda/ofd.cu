// OFD partial-L2 distillation loss (Heo et al., "A Comprehensive Overhaul of Feature Distillation"),
// fused: t' = max(t, margin[c]) (the margin ReLU of the teacher); loss = w * sum over elements with
// (s > t' or t' > 0) of (s - t')^2; ds = 2 w gradOut * mask * (s - t'). CPU reference:
// dvp.engine.cpu.CpuOfd (Backend.ofdLossForward / ofdLossBackward).
//
// Designed for bandwidth (not timed): each kernel reads s and t once (the backward also writes ds
// once), with 16-byte loads wherever the arrays allow. s, t and ds are all fp32 or all bf16 (the
// _bf16 kernels: elements widened exactly, every operation in fp32 as for fp32 storage, ds rounded
// once to bf16); the margin, the loss and gradOut are fp32. The channel of memory position i is
// (i / channelStride) % C; instead of dividing per element, the tensor is seen as rows of a 2-D grid:
//   channelStride > 1 (NCHW):  rows of L = channelStride elements, row r has channel r % C;
//   channelStride == 1 (NHWC): rows of L = C elements, column j has channel j.
// Block (x, y) covers TY consecutive rows (one per thread row ty) and the y-th chunk of their
// columns; TX = blockDim / TY threads share a row (TX a power of two chosen by CudaOfd from L). A
// row is split into a scalar head (up to V - 1 elements, until s is 16-byte aligned), vectors of
// V = 16 bytes / element size elements (4 fp32, 8 bf16) and a scalar tail (up to V - 1); when s, t
// (and ds) differ in their 16-byte phase, all of it is scalar. No 64-bit division per element: one
// `r % C` per thread.
//
// Determinism: each thread visits its elements in a fixed order (double accumulator), each block
// reduces with the fixed tree of dvp_block_sum into partial[y * gridDim.x + x], and dvp_ofd_final
// adds the partials in a fixed order: the grid depends on the shape (and the element size) alone.
#include "common.cuh"

#define DVP_OFD_QPT 4  // vectors per thread per block chunk (CudaOfd.QPT)

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

// Element access by storage type: single elements and 16-byte vectors of V elements, as floats.
template <typename T>
struct DvpOfdElem;

template <>
struct DvpOfdElem<float> {
  static constexpr int V = 4;
  static __device__ __forceinline__ float get(const float* p, long long i) { return p[i]; }
  static __device__ __forceinline__ void put(float* p, long long i, float v) { p[i] = v; }
  static __device__ __forceinline__ void load(const float* p, long long i, float* v) {
    const float4 x = *reinterpret_cast<const float4*>(p + i);
    v[0] = x.x;
    v[1] = x.y;
    v[2] = x.z;
    v[3] = x.w;
  }
  static __device__ __forceinline__ void store(float* p, long long i, const float* v) {
    *reinterpret_cast<float4*>(p + i) = make_float4(v[0], v[1], v[2], v[3]);
  }
};

// bf16: a 16-byte vector is 4 little-endian words of two elements each (element 2w in the low half).
template <>
struct DvpOfdElem<unsigned short> {
  static constexpr int V = 8;
  static __device__ __forceinline__ float get(const unsigned short* p, long long i) { return dvp_from_bf16(p[i]); }
  static __device__ __forceinline__ void put(unsigned short* p, long long i, float v) { p[i] = dvp_to_bf16(v); }
  static __device__ __forceinline__ void unpack(int w, float* v) {
    v[0] = __uint_as_float((unsigned int)w << 16);
    v[1] = __uint_as_float((unsigned int)w & 0xffff0000u);
  }
  static __device__ __forceinline__ int pack(const float* v) {
    return (int)((unsigned int)dvp_to_bf16(v[0]) | ((unsigned int)dvp_to_bf16(v[1]) << 16));
  }
  static __device__ __forceinline__ void load(const unsigned short* p, long long i, float* v) {
    const int4 x = *reinterpret_cast<const int4*>(p + i);
    unpack(x.x, v);
    unpack(x.y, v + 2);
    unpack(x.z, v + 4);
    unpack(x.w, v + 6);
  }
  static __device__ __forceinline__ void store(unsigned short* p, long long i, const float* v) {
    *reinterpret_cast<int4*>(p + i) = make_int4(pack(v), pack(v + 2), pack(v + 4), pack(v + 6));
  }
};

struct DvpOfdGeom {
  long long n, rowLen, rows, channels;
  int channelsLast, txLog2, vec;
};

// Calls f.one(i, m) for single elements and f.vec(i, mp, step) for 16-byte-aligned vectors of V
// elements at memory position i (element e of the vector has margin mp[e * step]: step 1 walks the
// channels of a channels-last row, step 0 repeats an NCHW row's one margin), for this thread's
// share of the block's rows and column chunk.
template <typename T, typename F>
__device__ __forceinline__ void dvp_ofd_visit(const DvpOfdGeom& g, const T* s, const float* margin, F& f) {
  constexpr int V = DvpOfdElem<T>::V;
  const int tx = threadIdx.x & ((1 << g.txLog2) - 1);
  const int ty = threadIdx.x >> g.txLog2;
  const int tPerRow = 1 << g.txLog2;
  const long long r = (long long)blockIdx.x * (blockDim.x >> g.txLog2) + ty;
  if (r >= g.rows) return;
  const long long start = r * g.rowLen;
  const long long len = min(g.rowLen, g.n - start);
  const float mRow = g.channelsLast ? 0.f : margin[r % g.channels];
  const long long vecsPerChunk = (long long)tPerRow * DVP_OFD_QPT;
  if (g.vec) {
    const long long phase = ((long long)(reinterpret_cast<unsigned long long>(s) / sizeof(T)) + start) & (V - 1);
    const long long head = min((V - phase) & (V - 1), len);
    const long long vecs = (len - head) / V;
    const long long tailFrom = head + V * vecs;
    const long long q1 = min(vecs, ((long long)blockIdx.y + 1) * vecsPerChunk);
    for (long long q = (long long)blockIdx.y * vecsPerChunk + tx; q < q1; q += tPerRow) {
      const long long j = head + V * q;
      if (g.channelsLast) f.vec(start + j, margin + j, 1);
      else f.vec(start + j, &mRow, 0);
    }
    if (blockIdx.y == 0) {  // a row may have fewer threads (TX) than head or tail elements
      for (long long j = tx; j < head; j += tPerRow) f.one(start + j, g.channelsLast ? margin[j] : mRow);
      for (long long j = tailFrom + tx; j < len; j += tPerRow) f.one(start + j, g.channelsLast ? margin[j] : mRow);
    }
  } else {
    const long long perChunk = V * vecsPerChunk;
    const long long j1 = min(len, ((long long)blockIdx.y + 1) * perChunk);
    for (long long j = (long long)blockIdx.y * perChunk + tx; j < j1; j += tPerRow)
      f.one(start + j, g.channelsLast ? margin[j] : mRow);
  }
}

template <typename T>
struct DvpOfdSum {
  using E = DvpOfdElem<T>;
  const T* s;
  const T* t;
  double acc;
  __device__ __forceinline__ void one(long long i, float m) { acc += (double)dvp_ofd_term(E::get(s, i), E::get(t, i), m); }
  __device__ __forceinline__ void vec(long long i, const float* mp, int step) {
    float sv[E::V], tv[E::V];
    E::load(s, i, sv);
    E::load(t, i, tv);
    for (int e = 0; e < E::V; e++) acc += (double)dvp_ofd_term(sv[e], tv[e], mp[e * step]);
  }
};

template <typename T>
struct DvpOfdGrad {
  using E = DvpOfdElem<T>;
  const T* s;
  const T* t;
  T* ds;
  float factor;
  __device__ __forceinline__ void one(long long i, float m) { E::put(ds, i, dvp_ofd_grad(E::get(s, i), E::get(t, i), m, factor)); }
  __device__ __forceinline__ void vec(long long i, const float* mp, int step) {
    float sv[E::V], tv[E::V], o[E::V];
    E::load(s, i, sv);
    E::load(t, i, tv);
    for (int e = 0; e < E::V; e++) o[e] = dvp_ofd_grad(sv[e], tv[e], mp[e * step], factor);
    E::store(ds, i, o);
  }
};

// One partial sum per block (blockDim.x == DVP_BLOCK), at partial[blockIdx.y * gridDim.x + blockIdx.x].
template <typename T>
__device__ __forceinline__ void dvp_ofd_partials_of(const DvpOfdGeom& g, const T* s, const T* t, const float* margin,
                                                    double* partial) {
  DvpOfdSum<T> f{s, t, 0.0};
  dvp_ofd_visit(g, s, margin, f);
  const double acc = dvp_block_sum(f.acc);
  if (threadIdx.x == 0) partial[(long long)blockIdx.y * gridDim.x + blockIdx.x] = acc;
}

DVP_KERNEL void dvp_ofd_partials(long long n, long long rowLen, long long rows, long long channels, int channelsLast,
                                 int txLog2, int vec, const float* s, const float* t, const float* margin, double* partial) {
  dvp_ofd_partials_of(DvpOfdGeom{n, rowLen, rows, channels, channelsLast, txLog2, vec}, s, t, margin, partial);
}

DVP_KERNEL void dvp_ofd_partials_bf16(long long n, long long rowLen, long long rows, long long channels, int channelsLast,
                                      int txLog2, int vec, const unsigned short* s, const unsigned short* t,
                                      const float* margin, double* partial) {
  dvp_ofd_partials_of(DvpOfdGeom{n, rowLen, rows, channels, channelsLast, txLog2, vec}, s, t, margin, partial);
}

// loss[0] = (float)(w * total), the reference's rounding.
DVP_KERNEL void dvp_ofd_final(long long parts, float w, const double* partial, float* loss) {
  double acc = 0;
  for (long long i = threadIdx.x; i < parts; i += DVP_BLOCK) acc += partial[i];
  acc = dvp_block_sum(acc);
  if (threadIdx.x == 0) loss[0] = (float)((double)w * acc);
}

// ds = mask * (s - t') * (2 w gradOut[0]), float operations in the reference's order (bf16: then
// rounded once).
DVP_KERNEL void dvp_ofd_backward(long long n, long long rowLen, long long rows, long long channels, int channelsLast,
                                 int txLog2, int vec, float w, const float* s, const float* t, const float* margin,
                                 const float* gradOut, float* ds) {
  const DvpOfdGeom g{n, rowLen, rows, channels, channelsLast, txLog2, vec};
  DvpOfdGrad<float> f{s, t, ds, __fmul_rn(__fmul_rn(2.f, w), gradOut[0])};
  dvp_ofd_visit(g, s, margin, f);
}

DVP_KERNEL void dvp_ofd_backward_bf16(long long n, long long rowLen, long long rows, long long channels, int channelsLast,
                                      int txLog2, int vec, float w, const unsigned short* s, const unsigned short* t,
                                      const float* margin, const float* gradOut, unsigned short* ds) {
  const DvpOfdGeom g{n, rowLen, rows, channels, channelsLast, txLog2, vec};
  DvpOfdGrad<unsigned short> f{s, t, ds, __fmul_rn(__fmul_rn(2.f, w), gradOut[0])};
  dvp_ofd_visit(g, s, margin, f);
}
