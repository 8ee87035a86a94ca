// Simulated cuDNN 9 (libcudnn.so.9): the legacy-API subset dvp binds, as plain reference loops
// behind NVIDIA's C prototypes (engine/.../cuda/ffm/Cudnn.java binds exactly these). Behaviour
// follows NVIDIA's cuDNN 9 API reference (docs.nvidia.com/deeplearning/cudnn, cudnn_graph /
// cudnn_ops / cudnn_cnn) and the comments in its headers:
// - 4-D tensors and filters, packed NCHW or NHWC (filters KCRS = NCHW, KRSC = NHWC), data FLOAT,
//   HALF or BFLOAT16 with FLOAT compute (cuDNN's FLOAT_CONFIG, PSEUDO_HALF_CONFIG and
//   PSEUDO_BFLOAT16_CONFIG); convolutions with padding, stride, dilation, groups, both modes.
// - Every output element is accumulated in double from exactly-converted inputs; then
//   y = alpha*acc + beta*y is evaluated in float (alpha/beta are host floats for these data types,
//   read before the call returns; y is not read when beta == 0) and rounded to y's type with
//   round-to-nearest-even.
// - FLOAT data with a math type other than CUDNN_FMA_MATH may use TF32 tensor cores on real GPUs
//   (cudnnMathType_t: under CUDNN_DEFAULT_MATH, TF32 tensor-core operations are permitted on A100
//   and later; CUDNN_FMA_MATH restricts to FMA kernels); the simulator then rounds x, w and dy to
//   TF32 (cvt.rna) so callers see TF32-sized errors. FMA_MATH is exact fp32.
// - Non-deterministic algorithms (backward-data 0, backward-filter 0 and 3, as the header marks
//   them) add per-slice partial sums in float in an order that rotates from call to call, as
//   atomics do; deterministic ones give bitwise-identical results every time.
// - Workspace: each simulated algorithm needs a fixed, shape-derived number of bytes
//   (cudnnGet*WorkspaceSize and the _v7 perf records report the same), the calls refuse a smaller
//   one, and the bytes are overwritten (NaN patterns) before and after the work, so code that
//   shares a workspace with live data shows up.
// Device work is queued on the handle's stream (sim_api.h); every device range is checked first.
#include "cudnn_sim.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <initializer_list>
#include <new>
#include <unordered_set>
#include <vector>

#include "../runtime/sim_api.h"
#include "sim_elem.h"

struct cudnnContext {
  void* stream = nullptr;
};

struct cudnnTensorStruct {
  bool set = false;
  int format = CUDNN_TENSOR_NCHW, type = CUDNN_DATA_FLOAT;
  int n = 0, c = 0, h = 0, w = 0;
};

struct cudnnFilterStruct {
  bool set = false;
  int format = CUDNN_TENSOR_NCHW, type = CUDNN_DATA_FLOAT;
  int k = 0, c = 0, h = 0, w = 0;
};

struct cudnnConvolutionStruct {
  bool set = false;  // cudnnSetConvolution2dDescriptor called
  int padH = 0, padW = 0, u = 1, v = 1, dilH = 1, dilW = 1;
  int mode = CUDNN_CROSS_CORRELATION, computeType = CUDNN_DATA_FLOAT;
  int groups = 1, mathType = CUDNN_DEFAULT_MATH;
};

static_assert(sizeof(cudnnConvolutionFwdAlgoPerf_t) == 48, "perf record layout (Cudnn.ALGO_PERF)");
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, status) == 4, "perf record layout");
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, time) == 8, "perf record layout");
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, memory) == 16, "perf record layout");
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, determinism) == 24, "perf record layout");
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, mathType) == 28, "perf record layout");
static_assert(offsetof(cudnnConvolutionFwdAlgoPerf_t, reserved) == 32, "perf record layout");
static_assert(sizeof(cudnnConvolutionBwdDataAlgoPerf_t) == 48 && sizeof(cudnnConvolutionBwdFilterAlgoPerf_t) == 48,
              "perf record layout");

namespace {

using dvpsim_libs::Elem;

// ---- object registries: a null, destroyed or foreign pointer is refused with BAD_PARAM ----------

std::mutex g_mutex;
std::unordered_set<const void*> g_handles, g_tensors, g_filters, g_convs;

template <class T>
cudnnStatus_t create(std::unordered_set<const void*>& live, T** out) {
  if (out == nullptr) return CUDNN_STATUS_BAD_PARAM;
  T* p = new (std::nothrow) T();
  if (p == nullptr) return CUDNN_STATUS_ALLOC_FAILED;
  try {
    std::lock_guard<std::mutex> lock(g_mutex);
    live.insert(p);
  } catch (...) {
    delete p;
    return CUDNN_STATUS_ALLOC_FAILED;
  }
  *out = p;
  return CUDNN_STATUS_SUCCESS;
}

/**
 * Destroyed objects are kept allocated for a while (the most recent kQuarantine of them) so that
 * their addresses are not reused at once: a stale handle or descriptor is then reliably unknown.
 */
constexpr size_t kQuarantine = 4096;
std::deque<std::shared_ptr<void>> g_quarantine;  // owners of destroyed objects, oldest first (under g_mutex)

/** Destroying NULL does nothing (like free); an unknown or already destroyed pointer is BAD_PARAM. */
template <class T>
cudnnStatus_t destroy(std::unordered_set<const void*>& live, T* p) {
  if (p == nullptr) return CUDNN_STATUS_SUCCESS;
  std::shared_ptr<void> evicted;  // deleted after the lock is released
  try {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (live.count(p) == 0) return CUDNN_STATUS_BAD_PARAM;
    g_quarantine.push_back(std::shared_ptr<void>(p, [](void* q) { delete static_cast<T*>(q); }));
    live.erase(p);
    if (g_quarantine.size() > kQuarantine) {
      evicted = std::move(g_quarantine.front());
      g_quarantine.pop_front();
    }
  } catch (...) {
    return CUDNN_STATUS_ALLOC_FAILED;  // could not record it: the object stays live
  }
  return CUDNN_STATUS_SUCCESS;
}

/** A copy of a live object (the queued work keeps copies: descriptors may change after the call). */
template <class T>
bool snapshot(const std::unordered_set<const void*>& live, const T* p, T* out) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (p == nullptr || live.count(p) == 0) return false;
  *out = *p;
  return true;
}

/** Runs f on a live object under the registry lock; false if p is not live. */
template <class T, class F>
bool update(const std::unordered_set<const void*>& live, T* p, F f) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (p == nullptr || live.count(p) == 0) return false;
  f(*p);
  return true;
}

bool valid_data_type(int t) { return t >= CUDNN_DATA_FLOAT && t <= CUDNN_DATA_FAST_FLOAT_FOR_FP8; }

/** The data types the simulator computes. */
bool simulated_type(int t) { return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16; }

Elem elem_of(int t) { return t == CUDNN_DATA_FLOAT ? Elem::F32 : t == CUDNN_DATA_HALF ? Elem::F16 : Elem::BF16; }

/** A packed 4-D array in some layout: dims (n, c, h, w) and element strides. */
struct Dims {
  Elem type;
  long long n, c, h, w;
  long long sn, sc, sh, sw;
  long long count() const { return n * c * h * w; }
  long long at(long long in, long long ic, long long ih, long long iw) const {
    return in * sn + ic * sc + ih * sh + iw * sw;
  }
  size_t bytes() const { return (size_t)count() * dvpsim_libs::elem_bytes(type); }
};

Dims dims_of(int format, int type, long long n, long long c, long long h, long long w) {
  Dims d{elem_of(type), n, c, h, w, 0, 0, 0, 0};
  if (format == CUDNN_TENSOR_NHWC) {
    d.sc = 1; d.sw = c; d.sh = w * c; d.sn = h * w * c;
  } else {
    d.sw = 1; d.sh = w; d.sc = h * w; d.sn = c * h * w;
  }
  return d;
}

Dims dims_of(const cudnnTensorStruct& t) { return dims_of(t.format, t.type, t.n, t.c, t.h, t.w); }
Dims dims_of(const cudnnFilterStruct& f) { return dims_of(f.format, f.type, f.k, f.c, f.h, f.w); }

/** Reads a whole array into canonical (n, c, h, w) order as floats, TF32-rounded if asked. */
std::vector<float> read_canonical(const Dims& d, const void* p, bool tf32) {
  std::vector<float> out((size_t)d.count());
  size_t i = 0;
  for (long long a = 0; a < d.n; a++)
    for (long long b = 0; b < d.c; b++)
      for (long long y = 0; y < d.h; y++)
        for (long long x = 0; x < d.w; x++) {
          float v = dvpsim_libs::load(d.type, p, d.at(a, b, y, x));
          out[i++] = tf32 ? dvpsim_libs::tf32_rna(v) : v;
        }
  return out;
}

/** dst[index] = alpha*acc + beta*dst[index] in float (dst not read when beta == 0), rounded to dst's type. */
inline void blend(Elem type, void* dst, long long index, double acc, float alpha, float beta) {
  float r = alpha * (float)acc;
  if (beta != 0.0f) r = r + beta * dvpsim_libs::load(type, dst, index);
  dvpsim_libs::store(type, dst, index, r);
}

float read_scalar(const void* p) {
  float f;
  std::memcpy(&f, p, sizeof f);
  return f;
}

/** Overwrites a workspace with NaN bit patterns (the real contents are undefined before and after). */
void scribble(void* ws, size_t bytes, const char* call) {
  if (bytes == 0) return;
  dvpsim::require_device(ws, bytes, call, "workSpace");
  std::memset(ws, 0xff, bytes);
}

std::atomic<unsigned> g_nondeterministic_calls{0};

/** Adds per-slice partial sums in float starting at a slice that changes from run to run. */
double atomic_like_sum(const double* partials, int slices, unsigned start) {
  float acc = 0.0f;
  for (int t = 0; t < slices; t++) acc += (float)partials[(start + t) % slices];
  return acc;
}

// ---- convolution problems -----------------------------------------------------------------------

enum Direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER };

/** A validated convolution: x [N, C, H, W], w [K, C/G, R, S], y [N, K, P, Q]. */
struct Conv {
  Dims x, w, y;
  int padH, padW, u, v, dilH, dilW, groups;
  bool flip;   // CUDNN_CONVOLUTION: the filter is applied rotated by 180 degrees
  bool tf32;   // FLOAT data, math type other than FMA_MATH
  int mathType;
};

/**
 * The checks cuDNN documents for cudnnConvolutionForward/BackwardData/BackwardFilter (and its
 * _v7 / workspace queries on the same descriptors):
 * CUDNN_STATUS_BAD_PARAM: a descriptor NULL (or not set); x, w, y data types differ; the input
 * channels are not filter channels x groups; output channels not a multiple of the group count or
 * not equal to the filter count; batch sizes differ; the dilated filter larger than the padded input.
 * CUDNN_STATUS_NOT_SUPPORTED: the output spatial size is not what
 * cudnnGetConvolutionNdForwardOutputDim gives; a data/compute type combination that is not one of
 * the supported configurations (here also DOUBLE and the integer types, which the simulator does not
 * compute; the real library supports DOUBLE_CONFIG and the INT8 configurations).
 */
cudnnStatus_t make_conv(const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc,
                        const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, Conv* out) {
  cudnnTensorStruct x, y;
  cudnnFilterStruct w;
  cudnnConvolutionStruct cd;
  if (!snapshot(g_tensors, xDesc, &x) || !snapshot(g_filters, wDesc, &w) || !snapshot(g_convs, convDesc, &cd) ||
      !snapshot(g_tensors, yDesc, &y))
    return CUDNN_STATUS_BAD_PARAM;
  if (!x.set || !w.set || !cd.set || !y.set) return CUDNN_STATUS_BAD_PARAM;
  if (x.type != w.type || x.type != y.type) return CUDNN_STATUS_BAD_PARAM;
  if (!simulated_type(x.type) || cd.computeType != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
  const int g = cd.groups;
  if (x.c % g != 0 || w.c * g != x.c || w.k % g != 0 || y.c != w.k || y.n != x.n) return CUDNN_STATUS_BAD_PARAM;
  const long long effR = (long long)(w.h - 1) * cd.dilH + 1, effS = (long long)(w.w - 1) * cd.dilW + 1;
  if (effR > x.h + 2LL * cd.padH || effS > x.w + 2LL * cd.padW) return CUDNN_STATUS_BAD_PARAM;
  const long long P = (x.h + 2LL * cd.padH - effR) / cd.u + 1, Q = (x.w + 2LL * cd.padW - effS) / cd.v + 1;
  if (y.h != P || y.w != Q) return CUDNN_STATUS_NOT_SUPPORTED;
  out->x = dims_of(x);
  out->w = dims_of(w);
  out->y = dims_of(y);
  out->padH = cd.padH; out->padW = cd.padW; out->u = cd.u; out->v = cd.v;
  out->dilH = cd.dilH; out->dilW = cd.dilW; out->groups = g;
  out->flip = cd.mode == CUDNN_CONVOLUTION;
  out->tf32 = x.type == CUDNN_DATA_FLOAT && cd.mathType != CUDNN_FMA_MATH;
  out->mathType = cd.mathType;
  return CUDNN_STATUS_SUCCESS;
}

/** One algorithm as the simulator offers it. */
struct Algo {
  int id;
  bool simulated;      // false: reported with CUDNN_STATUS_NOT_SUPPORTED, refused when called
  bool deterministic;  // as cudnn_ops.h marks them
};

// The _v7 answers, in the order returned ("best" first). The backward lists start with the
// non-deterministic algorithms, so a caller that needs reproducibility must filter.
const Algo kForward[] = {
    {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, true, true},
    {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, true, true},
    {CUDNN_CONVOLUTION_FWD_ALGO_GEMM, true, true},
    {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, false, true},
    {CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING, false, true},
    {CUDNN_CONVOLUTION_FWD_ALGO_FFT, false, true},
    {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, false, true},
    {CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, false, true},
};
const Algo kBackwardData[] = {
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, true, false},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, true, true},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, false, true},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED, false, true},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, false, true},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, false, true},
};
const Algo kBackwardFilter[] = {
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, true, false},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, true, false},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, true, true},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING, false, true},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED, false, true},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, false, true},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD, false, true},
};

template <size_t N>
const Algo* find_algo(const Algo (&list)[N], int id) {
  for (const Algo& a : list)
    if (a.id == id) return &a;
  return nullptr;
}

const Algo* algo_info(Direction dir, int id) {
  switch (dir) {
    case FORWARD: return find_algo(kForward, id);
    case BACKWARD_DATA: return find_algo(kBackwardData, id);
    default: return find_algo(kBackwardFilter, id);
  }
}

/**
 * Workspace bytes of a simulated algorithm, derived from the shapes as the real kernels would
 * need them (deterministic; the values are plausible, not NVIDIA's):
 * forward IMPLICIT_GEMM 0; IMPLICIT_PRECOMP_GEMM two int offsets per filter tap; GEMM one image's
 * im2col matrix; backward-data ALGO_0 0, ALGO_1 a rearranged filter copy; backward-filter ALGO_0 0,
 * ALGO_1 one image's im2col matrix, ALGO_3 fp32 partial filter gradients for up to 8 image slices.
 */
size_t workspace_bytes(Direction dir, int id, const Conv& c) {
  const size_t es = dvpsim_libs::elem_bytes(c.x.type);
  const size_t taps = (size_t)c.w.c * c.w.h * c.w.w;      // C/G * R * S
  const size_t im2col = (size_t)c.x.c * c.w.h * c.w.w * c.y.h * c.y.w * es;
  const size_t filter = (size_t)c.w.n * taps;            // K * C/G * R * S
  switch (dir) {
    case FORWARD:
      if (id == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) return 2 * sizeof(int) * taps;
      if (id == CUDNN_CONVOLUTION_FWD_ALGO_GEMM) return im2col;
      return 0;
    case BACKWARD_DATA:
      return id == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 ? filter * es : 0;
    default:
      if (id == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1) return im2col;
      if (id == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3) return filter * sizeof(float) * (size_t)std::min<long long>(c.x.n, 8);
      return 0;
  }
}

/** The x element a forward output tap reads, or false if it falls in the zero padding. */
inline bool input_pos(const Conv& c, long long p, long long q, long long r, long long s, long long* h, long long* w) {
  *h = p * c.u - c.padH + r * c.dilH;
  *w = q * c.v - c.padW + s * c.dilW;
  return *h >= 0 && *h < c.x.h && *w >= 0 && *w < c.x.w;
}

/** Canonical filter tap (r, s) of the cross-correlation for stored tap (r, s), given the mode. */
inline long long tap_r(const Conv& c, long long r) { return c.flip ? c.w.h - 1 - r : r; }
inline long long tap_s(const Conv& c, long long s) { return c.flip ? c.w.w - 1 - s : s; }

/** y = alpha * conv(x, w) + beta * y. */
void run_forward(const Conv& c, const void* x, const void* w, void* y, float alpha, float beta, void* ws,
                 size_t wsBytes, const char* call) {
  dvpsim::require_device(x, c.x.bytes(), call, "x");
  dvpsim::require_device(w, c.w.bytes(), call, "w");
  dvpsim::require_device(y, c.y.bytes(), call, "y");
  scribble(ws, wsBytes, call);
  const std::vector<float> X = read_canonical(c.x, x, c.tf32), W = read_canonical(c.w, w, c.tf32);
  const long long C = c.x.c, H = c.x.h, Wd = c.x.w, K = c.w.n, Cg = c.w.c, R = c.w.h, S = c.w.w, P = c.y.h,
                  Q = c.y.w, Kg = K / c.groups;
  dvpsim::parallel_for(c.y.n * K, [&](long nk) {
    const long long n = nk / K, k = nk % K, g = k / Kg;
    for (long long p = 0; p < P; p++)
      for (long long q = 0; q < Q; q++) {
        double acc = 0.0;
        for (long long cg = 0; cg < Cg; cg++)
          for (long long r = 0; r < R; r++)
            for (long long s = 0; s < S; s++) {
              long long h, iw;
              if (!input_pos(c, p, q, r, s, &h, &iw)) continue;
              acc += (double)X[((n * C + g * Cg + cg) * H + h) * Wd + iw] *
                     (double)W[((k * Cg + cg) * R + tap_r(c, r)) * S + tap_s(c, s)];
            }
        blend(c.y.type, y, c.y.at(n, k, p, q), acc, alpha, beta);
      }
  });
  scribble(ws, wsBytes, call);
}

/** dx = alpha * conv^T(dy, w) + beta * dx. Non-deterministic: per-filter-row partials added in float. */
void run_backward_data(const Conv& c, const void* w, const void* dy, void* dx, float alpha, float beta,
                       bool deterministic, void* ws, size_t wsBytes, const char* call) {
  dvpsim::require_device(w, c.w.bytes(), call, "w");
  dvpsim::require_device(dy, c.y.bytes(), call, "dy");
  dvpsim::require_device(dx, c.x.bytes(), call, "dx");
  scribble(ws, wsBytes, call);
  const std::vector<float> DY = read_canonical(c.y, dy, c.tf32), W = read_canonical(c.w, w, c.tf32);
  const long long C = c.x.c, H = c.x.h, Wd = c.x.w, K = c.w.n, Cg = c.w.c, R = c.w.h, S = c.w.w, P = c.y.h,
                  Q = c.y.w, Kg = K / c.groups;
  const unsigned start = deterministic ? 0 : g_nondeterministic_calls.fetch_add(1);
  dvpsim::parallel_for(c.x.n * C, [&](long nc) {
    const long long n = nc / C, ch = nc % C, g = ch / Cg, cg = ch % Cg;
    std::vector<double> rows((size_t)R);
    for (long long h = 0; h < H; h++)
      for (long long iw = 0; iw < Wd; iw++) {
        // dx[n, ch, h, iw] collects every (k, p, q, r, s) whose forward tap read it:
        // h = p*u - padH + r*dilH and iw = q*v - padW + s*dilW
        for (long long r = 0; r < R; r++) {
          double acc = 0.0;
          const long long th = h + c.padH - r * c.dilH;
          if (th >= 0 && th % c.u == 0 && th / c.u < P) {
            const long long p = th / c.u;
            for (long long s = 0; s < S; s++) {
              const long long tw = iw + c.padW - s * c.dilW;
              if (tw < 0 || tw % c.v != 0 || tw / c.v >= Q) continue;
              const long long q = tw / c.v;
              for (long long kk = 0; kk < Kg; kk++) {
                const long long k = g * Kg + kk;
                acc += (double)DY[((n * K + k) * P + p) * Q + q] *
                       (double)W[((k * Cg + cg) * R + tap_r(c, r)) * S + tap_s(c, s)];
              }
            }
          }
          rows[(size_t)r] = acc;
        }
        double total = 0.0;
        if (deterministic) {
          for (long long r = 0; r < R; r++) total += rows[(size_t)r];
        } else {
          total = atomic_like_sum(rows.data(), (int)R, start);
        }
        blend(c.x.type, dx, c.x.at(n, ch, h, iw), total, alpha, beta);
      }
  });
  scribble(ws, wsBytes, call);
}

/** dw = alpha * dW(x, dy) + beta * dw. Non-deterministic: per-image partials added in float. */
void run_backward_filter(const Conv& c, const void* x, const void* dy, void* dw, float alpha, float beta,
                         bool deterministic, void* ws, size_t wsBytes, const char* call) {
  dvpsim::require_device(x, c.x.bytes(), call, "x");
  dvpsim::require_device(dy, c.y.bytes(), call, "dy");
  dvpsim::require_device(dw, c.w.bytes(), call, "dw");
  scribble(ws, wsBytes, call);
  const std::vector<float> X = read_canonical(c.x, x, c.tf32), DY = read_canonical(c.y, dy, c.tf32);
  const long long N = c.x.n, C = c.x.c, H = c.x.h, Wd = c.x.w, K = c.w.n, Cg = c.w.c, R = c.w.h, S = c.w.w,
                  P = c.y.h, Q = c.y.w, Kg = K / c.groups;
  const unsigned start = deterministic ? 0 : g_nondeterministic_calls.fetch_add(1);
  dvpsim::parallel_for(K, [&](long k) {
    const long long g = k / Kg;
    std::vector<double> images((size_t)N);
    for (long long cg = 0; cg < Cg; cg++)
      for (long long r = 0; r < R; r++)
        for (long long s = 0; s < S; s++) {
          for (long long n = 0; n < N; n++) {
            double acc = 0.0;
            for (long long p = 0; p < P; p++)
              for (long long q = 0; q < Q; q++) {
                long long h, iw;
                if (!input_pos(c, p, q, r, s, &h, &iw)) continue;
                acc += (double)DY[((n * K + k) * P + p) * Q + q] * (double)X[((n * C + g * Cg + cg) * H + h) * Wd + iw];
              }
            images[(size_t)n] = acc;
          }
          double total = 0.0;
          if (deterministic) {
            for (long long n = 0; n < N; n++) total += images[(size_t)n];
          } else {
            total = atomic_like_sum(images.data(), (int)N, start);
          }
          blend(c.w.type, dw, c.w.at(k, cg, tap_r(c, r), tap_s(c, s)), total, alpha, beta);
        }
  });
  scribble(ws, wsBytes, call);
}

/** Runs one algorithm of a direction (on a stream worker): in0/in1/out as convolve() names them. */
void run_algo(const Conv& c, Direction dir, const Algo& a, const void* in0, const void* in1, void* out, float alpha,
              float beta, void* ws, size_t need, const char* call) {
  switch (dir) {
    case FORWARD: run_forward(c, in0, in1, out, alpha, beta, ws, need, call); break;
    case BACKWARD_DATA: run_backward_data(c, in0, in1, out, alpha, beta, a.deterministic, ws, need, call); break;
    default: run_backward_filter(c, in0, in1, out, alpha, beta, a.deterministic, ws, need, call); break;
  }
}

bool live_handle(cudnnHandle_t h, cudnnContext* out) { return snapshot(g_handles, h, out); }

/** The shared part of the three _v7 queries. */
template <class Perf, size_t N>
cudnnStatus_t algorithms(cudnnHandle_t handle, Direction dir, const Algo (&list)[N], const cudnnTensorDescriptor_t x,
                         const cudnnFilterDescriptor_t w, const cudnnConvolutionDescriptor_t conv,
                         const cudnnTensorDescriptor_t y, int requested, int* returned, Perf* perf) {
  cudnnContext h;
  if (!live_handle(handle, &h) || returned == nullptr || perf == nullptr || requested <= 0)
    return CUDNN_STATUS_BAD_PARAM;
  Conv c;
  cudnnStatus_t st = make_conv(x, w, conv, y, &c);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  int count = 0;
  for (const Algo& a : list) {
    if (count == requested) break;
    Perf& p = perf[count++];
    std::memset(&p, 0, sizeof p);
    p.algo = static_cast<decltype(p.algo)>(a.id);
    p.status = a.simulated ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_SUPPORTED;
    p.time = -1.0f;  // heuristics only: nothing was timed
    p.memory = a.simulated ? workspace_bytes(dir, a.id, c) : 0;
    p.determinism = a.deterministic ? CUDNN_DETERMINISTIC : CUDNN_NON_DETERMINISTIC;
    p.mathType = static_cast<cudnnMathType_t>(c.mathType);
  }
  *returned = count;
  return CUDNN_STATUS_SUCCESS;
}

/** The shared part of the three workspace-size queries. */
cudnnStatus_t workspace_query(cudnnHandle_t handle, Direction dir, int algoCount, const cudnnTensorDescriptor_t x,
                              const cudnnFilterDescriptor_t w, const cudnnConvolutionDescriptor_t conv,
                              const cudnnTensorDescriptor_t y, int algo, size_t* size) {
  cudnnContext h;
  if (!live_handle(handle, &h) || size == nullptr) return CUDNN_STATUS_BAD_PARAM;
  Conv c;
  cudnnStatus_t st = make_conv(x, w, conv, y, &c);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  if (algo < 0 || algo >= algoCount) return CUDNN_STATUS_BAD_PARAM;
  const Algo* a = algo_info(dir, algo);
  if (a == nullptr || !a->simulated) return CUDNN_STATUS_NOT_SUPPORTED;
  *size = workspace_bytes(dir, algo, c);
  return CUDNN_STATUS_SUCCESS;
}

/** The shared part of the three convolution calls: validation, then the work queued on the stream. */
cudnnStatus_t convolve(const char* call, Direction dir, int algoCount, cudnnHandle_t handle, const void* alpha,
                       const cudnnTensorDescriptor_t xDesc, const void* in0, const cudnnFilterDescriptor_t wDesc,
                       const void* in1, const cudnnConvolutionDescriptor_t convDesc, int algo, void* workSpace,
                       size_t workSpaceSizeInBytes, const void* beta, const cudnnTensorDescriptor_t yDesc, void* out) {
  cudnnContext h;
  if (!live_handle(handle, &h)) return CUDNN_STATUS_BAD_PARAM;
  if (alpha == nullptr || beta == nullptr || in0 == nullptr || in1 == nullptr || out == nullptr)
    return CUDNN_STATUS_BAD_PARAM;
  Conv c;
  cudnnStatus_t st = make_conv(xDesc, wDesc, convDesc, yDesc, &c);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  if (algo < 0 || algo >= algoCount) return CUDNN_STATUS_BAD_PARAM;
  const Algo* a = algo_info(dir, algo);
  if (a == nullptr || !a->simulated) return CUDNN_STATUS_NOT_SUPPORTED;  // "the chosen algo does not support ..."
  const size_t need = workspace_bytes(dir, algo, c);
  if (workSpaceSizeInBytes < need) return CUDNN_STATUS_BAD_PARAM;
  const float al = read_scalar(alpha), be = read_scalar(beta);
  const int rc = dvpsim::enqueue(h.stream, call, [=]() { run_algo(c, dir, *a, in0, in1, out, al, be, workSpace, need, call); });
  return rc == 0 ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_EXECUTION_FAILED;
}

// ---- cudnnFind*AlgorithmEx: every algorithm really run on the caller's buffers ------------------

/**
 * The simulator's modelled cost of one algorithm, reported in the perf record's `time` field (in
 * "ms" only because that is the field's unit): 1e-6 * (MACs * factor + 2 * workspace bytes), the
 * workspace written and read once. It orders Find's list and is NOT a speed: nothing is timed on
 * the simulator. The factors are chosen so the order depends on the shape (the workspace term) and
 * differs from the _v7 order where real libraries' does too: GEMM beats the implicit GEMMs when its
 * im2col matrix is small next to the arithmetic (1x1 convolutions with many filters), and the
 * atomics-based backward algorithms (non-deterministic) lead the backward lists, as they often do on
 * GPUs, so a deterministic-only caller visibly gives something up.
 */
double cost_factor(Direction dir, int id) {
  switch (dir) {
    case FORWARD:
      return id == CUDNN_CONVOLUTION_FWD_ALGO_GEMM ? 0.75 : id == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ? 1.3 : 1.0;
    case BACKWARD_DATA:
      return id == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 ? 0.9 : 1.0;
    default:
      return id == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3 ? 0.8 : id == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 ? 0.9 : 1.0;
  }
}

float modelled_time(Direction dir, int id, const Conv& c) {
  // every direction does the forward's multiply-adds: N * K * P * Q * (C/G) * R * S
  const double macs = (double)c.y.n * c.w.n * c.y.h * c.y.w * c.w.c * c.w.h * c.w.w;
  return (float)(1e-6 * (macs * cost_factor(dir, id) + 2.0 * (double)workspace_bytes(dir, id, c)));
}

/**
 * The shared part of the three Find*Ex calls. As NVIDIA documents them: they synchronise (they
 * time on the handle's stream; during a CUDA graph capture that synchronisation fails and
 * invalidates the capture, as cuStreamSynchronize does), run every algorithm on the caller's
 * buffers (the output is overwritten, alpha = 1, beta = 0) with the caller's workspace, and return
 * at most requestedAlgoCount records sorted by time, the successful ones first. Per record:
 * algorithms the simulator does not compute: CUDNN_STATUS_NOT_SUPPORTED, memory 0, time -1; an
 * algorithm whose workspace exceeds workSpaceSizeInBytes is not run: the status its
 * cudnnConvolution* call would return (BAD_PARAM), memory = what it needs, time -1; otherwise
 * SUCCESS, its workspace bytes, its modelled time. determinism and mathType are the algorithm's and
 * the descriptor's. A fault while running (a bad buffer, a workspace overrun) is the context's sticky
 * error and the call returns CUDNN_STATUS_EXECUTION_FAILED.
 */
template <class Perf, size_t N>
cudnnStatus_t find(const char* call, Direction dir, const Algo (&list)[N], cudnnHandle_t handle,
                   const cudnnTensorDescriptor_t xDesc, const void* in0, const cudnnFilterDescriptor_t wDesc,
                   const void* in1, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc,
                   void* out, int requested, int* returned, Perf* perf, void* workSpace, size_t wsBytes) {
  cudnnContext h;
  if (!live_handle(handle, &h) || returned == nullptr || perf == nullptr || requested <= 0)
    return CUDNN_STATUS_BAD_PARAM;
  if (in0 == nullptr || in1 == nullptr || out == nullptr || (workSpace == nullptr && wsBytes != 0))
    return CUDNN_STATUS_BAD_PARAM;
  Conv c;
  cudnnStatus_t st = make_conv(xDesc, wDesc, convDesc, yDesc, &c);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  if (dvpsim::synchronize(h.stream, call) != 0) return CUDNN_STATUS_EXECUTION_FAILED;
  std::vector<Perf> rec;
  std::vector<const Algo*> runs;
  for (const Algo& a : list) {
    Perf p;
    std::memset(&p, 0, sizeof p);
    p.algo = static_cast<decltype(p.algo)>(a.id);
    p.determinism = a.deterministic ? CUDNN_DETERMINISTIC : CUDNN_NON_DETERMINISTIC;
    p.mathType = static_cast<cudnnMathType_t>(c.mathType);
    p.time = -1.0f;
    if (!a.simulated) {
      p.status = CUDNN_STATUS_NOT_SUPPORTED;
    } else if (workspace_bytes(dir, a.id, c) > wsBytes) {
      p.status = CUDNN_STATUS_BAD_PARAM;
      p.memory = workspace_bytes(dir, a.id, c);
    } else {
      p.status = CUDNN_STATUS_SUCCESS;
      p.memory = workspace_bytes(dir, a.id, c);
      p.time = modelled_time(dir, a.id, c);
      runs.push_back(&a);
    }
    rec.push_back(p);
  }
  for (const Algo* a : runs) {
    const Algo algo = *a;
    const size_t need = workspace_bytes(dir, algo.id, c);
    if (dvpsim::enqueue(h.stream, call, [=]() { run_algo(c, dir, algo, in0, in1, out, 1.0f, 0.0f, workSpace, need, call); }) != 0)
      return CUDNN_STATUS_EXECUTION_FAILED;
  }
  if (dvpsim::synchronize(h.stream, call) != 0) return CUDNN_STATUS_EXECUTION_FAILED;
  std::stable_sort(rec.begin(), rec.end(), [](const Perf& a, const Perf& b) {
    const bool okA = a.status == CUDNN_STATUS_SUCCESS, okB = b.status == CUDNN_STATUS_SUCCESS;
    if (okA != okB) return okA;
    return okA && a.time < b.time;
  });
  const int count = std::min<int>(requested, (int)rec.size());
  for (int i = 0; i < count; i++) perf[i] = rec[(size_t)i];
  *returned = count;
  return CUDNN_STATUS_SUCCESS;
}

// ---- batch normalization ------------------------------------------------------------------------

/**
 * Mode check shared by forward and backward: SPATIAL and SPATIAL_PERSISTENT (same arithmetic here)
 * are simulated; PER_ACTIVATION is a valid mode the simulator does not compute; anything else is
 * an invalid enumerant.
 */
cudnnStatus_t bn_mode(int mode) {
  if (mode == CUDNN_BATCHNORM_SPATIAL || mode == CUDNN_BATCHNORM_SPATIAL_PERSISTENT) return CUDNN_STATUS_SUCCESS;
  return mode == CUDNN_BATCHNORM_PER_ACTIVATION ? CUDNN_STATUS_NOT_SUPPORTED : CUDNN_STATUS_BAD_PARAM;
}

/**
 * The data descriptors must be set, have equal dims and data type (a simulated one), and the
 * parameter descriptor must be the derived 1xCx1x1 FLOAT one (cudnn_ops.h: "type = (typeOf(x) ==
 * double) ? double : float", "Spatial Normalization: tensors are expected to have dims 1xCx1x1").
 */
cudnnStatus_t bn_descriptors(std::initializer_list<cudnnTensorDescriptor_t> data, cudnnTensorDescriptor_t param,
                             std::vector<Dims>* dims, Dims* paramDims) {
  cudnnTensorStruct first{}, t{}, p{};
  bool have = false;
  for (cudnnTensorDescriptor_t d : data) {
    if (!snapshot(g_tensors, d, &t) || !t.set) return CUDNN_STATUS_BAD_PARAM;
    if (!have) {
      first = t;
      have = true;
    } else if (t.n != first.n || t.c != first.c || t.h != first.h || t.w != first.w || t.type != first.type) {
      return CUDNN_STATUS_BAD_PARAM;
    }
    dims->push_back(dims_of(t));
  }
  if (!snapshot(g_tensors, param, &p) || !p.set) return CUDNN_STATUS_BAD_PARAM;
  if (p.n != 1 || p.c != first.c || p.h != 1 || p.w != 1) return CUDNN_STATUS_BAD_PARAM;
  if (!simulated_type(first.type)) return CUDNN_STATUS_NOT_SUPPORTED;  // real: DOUBLE supported too
  if (p.type != CUDNN_DATA_FLOAT) return CUDNN_STATUS_BAD_PARAM;
  *paramDims = dims_of(p);
  return CUDNN_STATUS_SUCCESS;
}

struct BnForward {
  Dims x, y;
  const void *xp, *scale, *bias;
  void *yp, *runMean, *runVar, *saveMean, *saveInv;
  float alpha, beta;
  double factor, eps;
};

void run_bn_forward(const BnForward& b) {
  const char* call = "cudnnBatchNormalizationForwardTraining";
  const long long C = b.x.c, M = b.x.n * b.x.h * b.x.w;
  const size_t pbytes = (size_t)C * sizeof(float);
  dvpsim::require_device(b.xp, b.x.bytes(), call, "x");
  dvpsim::require_device(b.yp, b.y.bytes(), call, "y");
  dvpsim::require_device(b.scale, pbytes, call, "bnScale");
  dvpsim::require_device(b.bias, pbytes, call, "bnBias");
  if (b.runMean != nullptr) {
    dvpsim::require_device(b.runMean, pbytes, call, "resultRunningMean");
    dvpsim::require_device(b.runVar, pbytes, call, "resultRunningVariance");
  }
  if (b.saveMean != nullptr) {
    dvpsim::require_device(b.saveMean, pbytes, call, "resultSaveMean");
    dvpsim::require_device(b.saveInv, pbytes, call, "resultSaveInvVariance");
  }
  const float* scale = static_cast<const float*>(b.scale);
  const float* bias = static_cast<const float*>(b.bias);
  dvpsim::parallel_for(C, [&](long c) {
    // two passes in double: mean, then the mean of squared deviations (biased variance)
    double sum = 0.0;
    for (long long n = 0; n < b.x.n; n++)
      for (long long h = 0; h < b.x.h; h++)
        for (long long w = 0; w < b.x.w; w++) sum += dvpsim_libs::load(b.x.type, b.xp, b.x.at(n, c, h, w));
    const double mean = sum / (double)M;
    double sq = 0.0;
    for (long long n = 0; n < b.x.n; n++)
      for (long long h = 0; h < b.x.h; h++)
        for (long long w = 0; w < b.x.w; w++) {
          const double d = dvpsim_libs::load(b.x.type, b.xp, b.x.at(n, c, h, w)) - mean;
          sq += d * d;
        }
    const double var = sq / (double)M;
    const double invstd = 1.0 / std::sqrt(var + b.eps);
    const double gamma = scale[c], beta = bias[c];
    for (long long n = 0; n < b.x.n; n++)
      for (long long h = 0; h < b.x.h; h++)
        for (long long w = 0; w < b.x.w; w++) {
          const double xv = dvpsim_libs::load(b.x.type, b.xp, b.x.at(n, c, h, w));
          blend(b.y.type, b.yp, b.y.at(n, c, h, w), gamma * ((xv - mean) * invstd) + beta, b.alpha, b.beta);
        }
    if (b.runMean != nullptr) {
      // runningMean = newMean*factor + runningMean*(1-factor); the variance likewise, with the
      // unbiased estimate var * M/(M-1) (M = 1 gives 0/0 = NaN, as the formula does)
      float* rm = static_cast<float*>(b.runMean);
      float* rv = static_cast<float*>(b.runVar);
      const double unbiased = var * (double)M / (double)(M - 1);
      rm[c] = (float)(b.factor * mean + (1.0 - b.factor) * (double)rm[c]);
      rv[c] = (float)(b.factor * unbiased + (1.0 - b.factor) * (double)rv[c]);
    }
    if (b.saveMean != nullptr) {
      static_cast<float*>(b.saveMean)[c] = (float)mean;
      static_cast<float*>(b.saveInv)[c] = (float)invstd;
    }
  });
}

struct BnBackward {
  Dims x, dy, dx;
  const void *xp, *dyp, *scale, *savedMean, *savedInv;
  void *dxp, *dScale, *dBias;
  float alphaData, betaData, alphaParam, betaParam;
  double eps;
};

void run_bn_backward(const BnBackward& b) {
  const char* call = "cudnnBatchNormalizationBackward";
  const long long C = b.x.c, M = b.x.n * b.x.h * b.x.w;
  const size_t pbytes = (size_t)C * sizeof(float);
  dvpsim::require_device(b.xp, b.x.bytes(), call, "x");
  dvpsim::require_device(b.dyp, b.dy.bytes(), call, "dy");
  dvpsim::require_device(b.dxp, b.dx.bytes(), call, "dx");
  dvpsim::require_device(b.scale, pbytes, call, "bnScale");
  dvpsim::require_device(b.dScale, pbytes, call, "dBnScaleResult");
  dvpsim::require_device(b.dBias, pbytes, call, "dBnBiasResult");
  if (b.savedMean != nullptr) {
    dvpsim::require_device(b.savedMean, pbytes, call, "savedMean");
    dvpsim::require_device(b.savedInv, pbytes, call, "savedInvVariance");
  }
  const float* scale = static_cast<const float*>(b.scale);
  dvpsim::parallel_for(C, [&](long c) {
    auto xat = [&](long long n, long long h, long long w) {
      return (double)dvpsim_libs::load(b.x.type, b.xp, b.x.at(n, c, h, w));
    };
    auto dyat = [&](long long n, long long h, long long w) {
      return (double)dvpsim_libs::load(b.dy.type, b.dyp, b.dy.at(n, c, h, w));
    };
    double mean, invstd;
    if (b.savedMean != nullptr) {
      mean = static_cast<const float*>(b.savedMean)[c];
      invstd = static_cast<const float*>(b.savedInv)[c];
    } else {  // no cached statistics: recompute them from x with epsilon, as the forward did
      double sum = 0.0, sq = 0.0;
      for (long long n = 0; n < b.x.n; n++)
        for (long long h = 0; h < b.x.h; h++)
          for (long long w = 0; w < b.x.w; w++) sum += xat(n, h, w);
      mean = sum / (double)M;
      for (long long n = 0; n < b.x.n; n++)
        for (long long h = 0; h < b.x.h; h++)
          for (long long w = 0; w < b.x.w; w++) sq += (xat(n, h, w) - mean) * (xat(n, h, w) - mean);
      invstd = 1.0 / std::sqrt(sq / (double)M + b.eps);
    }
    // dbeta = sum(dy), dgamma = sum(dy * xhat),
    // dx = gamma * invstd * (dy - dbeta/M - xhat * dgamma/M)
    double sumDy = 0.0, sumDyXhat = 0.0;
    for (long long n = 0; n < b.x.n; n++)
      for (long long h = 0; h < b.x.h; h++)
        for (long long w = 0; w < b.x.w; w++) {
          sumDy += dyat(n, h, w);
          sumDyXhat += dyat(n, h, w) * ((xat(n, h, w) - mean) * invstd);
        }
    const double k = (double)scale[c] * invstd;
    for (long long n = 0; n < b.x.n; n++)
      for (long long h = 0; h < b.x.h; h++)
        for (long long w = 0; w < b.x.w; w++) {
          const double xhat = (xat(n, h, w) - mean) * invstd;
          const double g = k * (dyat(n, h, w) - sumDy / (double)M - xhat * (sumDyXhat / (double)M));
          blend(b.dx.type, b.dxp, b.dx.at(n, c, h, w), g, b.alphaData, b.betaData);
        }
    blend(Elem::F32, b.dScale, c, sumDyXhat, b.alphaParam, b.betaParam);
    blend(Elem::F32, b.dBias, c, sumDy, b.alphaParam, b.betaParam);
  });
}

}  // namespace

// size_t cudnnGetVersion(void);
size_t cudnnGetVersion(void) { return DVP_SIM_CUDNN_VERSION; }

// const char *cudnnGetErrorString(cudnnStatus_t status);
const char* cudnnGetErrorString(cudnnStatus_t status) {
  switch ((int)status) {
    case 0: return "CUDNN_STATUS_SUCCESS";
    case 1001: return "CUDNN_STATUS_NOT_INITIALIZED";
    case 1002: return "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH";
    case 1003: return "CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH";
    case 1004: return "CUDNN_STATUS_DEPRECATED";
    case 1005: return "CUDNN_STATUS_LICENSE_ERROR";
    case 1006: return "CUDNN_STATUS_RUNTIME_IN_PROGRESS";
    case 1007: return "CUDNN_STATUS_RUNTIME_FP_OVERFLOW";
    case 1008: return "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED";
    case 2000: return "CUDNN_STATUS_BAD_PARAM";
    case 2001: return "CUDNN_STATUS_INVALID_VALUE";
    case 2002: return "CUDNN_STATUS_BAD_PARAM_NULL_POINTER";
    case 2003: return "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER";
    case 2004: return "CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED";
    case 2005: return "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND";
    case 2006: return "CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT";
    case 2007: return "CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH";
    case 2008: return "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH";
    case 2009: return "CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES";
    case 2010: return "CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE";
    case 2011: return "CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH";
    case 2012: return "CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE";
    case 3000: return "CUDNN_STATUS_NOT_SUPPORTED";
    case 3001: return "CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN";
    case 3002: return "CUDNN_STATUS_NOT_SUPPORTED_SHAPE";
    case 3003: return "CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE";
    case 3004: return "CUDNN_STATUS_NOT_SUPPORTED_LAYOUT";
    case 3005: return "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER";
    case 3006: return "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART";
    case 3007: return "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH";
    case 3008: return "CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING";
    case 3009: return "CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE";
    case 3010: return "CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT";
    case 3011: return "CUDNN_STATUS_NOT_SUPPORTED_PADDING";
    case 3012: return "CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM";
    case 3013: return "CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API";
    case 4000: return "CUDNN_STATUS_INTERNAL_ERROR";
    case 4001: return "CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED";
    case 4002: return "CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE";
    case 4003: return "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED";
    case 4004: return "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED";
    case 4005: return "CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM";
    case 4006: return "CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED";
    case 5000: return "CUDNN_STATUS_EXECUTION_FAILED";
    case 5001: return "CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER";
    case 5002: return "CUDNN_STATUS_EXECUTION_FAILED_CUBLAS";
    case 5003: return "CUDNN_STATUS_EXECUTION_FAILED_CUDART";
    case 5004: return "CUDNN_STATUS_EXECUTION_FAILED_CURAND";
    default: return "CUDNN_STATUS_UNKNOWN (simulated cuDNN: not a cudnnStatus_t value)";
  }
}

// cudnnStatus_t cudnnCreate(cudnnHandle_t *handle);
cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) { return create(g_handles, handle); }

// cudnnStatus_t cudnnDestroy(cudnnHandle_t handle);
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  if (handle == nullptr) return CUDNN_STATUS_BAD_PARAM;
  return destroy(g_handles, handle);
}

// cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId);
cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) {
  // docs: CUDNN_STATUS_BAD_PARAM "Invalid (NULL) handle"; the stream itself is checked when
  // work is queued on it (an unknown stream fails the call that queues work)
  return update(g_handles, handle, [&](cudnnContext& h) { h.stream = streamId; }) ? CUDNN_STATUS_SUCCESS
                                                                                  : CUDNN_STATUS_BAD_PARAM;
}

// cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *tensorDesc);
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* tensorDesc) { return create(g_tensors, tensorDesc); }

// cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format,
//     cudnnDataType_t dataType, int n, int c, int h, int w);
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format,
                                         cudnnDataType_t dataType, int n, int c, int h, int w) {
  // docs: CUDNN_STATUS_BAD_PARAM "at least one of the parameters n, c, h, w was negative or format
  // has an invalid enumerant value or dataType has an invalid enumerant value" (zero sizes are
  // refused too); CUDNN_STATUS_NOT_SUPPORTED "the total size of the tensor descriptor exceeds the
  // maximum limit of 2 Giga-elements". NCHW_VECT_C (vectorised int8 layouts) is not simulated.
  if (format < CUDNN_TENSOR_NCHW || format > CUDNN_TENSOR_NCHW_VECT_C || !valid_data_type(dataType))
    return CUDNN_STATUS_BAD_PARAM;
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  if (format == CUDNN_TENSOR_NCHW_VECT_C) return CUDNN_STATUS_NOT_SUPPORTED;
  if ((long long)n * c * h * w > INT_MAX) return CUDNN_STATUS_NOT_SUPPORTED;
  return update(g_tensors, tensorDesc, [&](cudnnTensorStruct& t) {
           t.set = true; t.format = format; t.type = dataType; t.n = n; t.c = c; t.h = h; t.w = w;
         })
             ? CUDNN_STATUS_SUCCESS
             : CUDNN_STATUS_BAD_PARAM;
}

// cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc);
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc) { return destroy(g_tensors, tensorDesc); }

// cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *filterDesc);
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* filterDesc) { return create(g_filters, filterDesc); }

// cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType,
//     cudnnTensorFormat_t format, int k, int c, int h, int w);
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType,
                                         cudnnTensorFormat_t format, int k, int c, int h, int w) {
  // docs: CUDNN_STATUS_BAD_PARAM "at least one of the parameters k, c, h, or w is negative or
  // dataType or format has an invalid enumerant value" (zero sizes refused too)
  if (format < CUDNN_TENSOR_NCHW || format > CUDNN_TENSOR_NCHW_VECT_C || !valid_data_type(dataType))
    return CUDNN_STATUS_BAD_PARAM;
  if (k <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  if (format == CUDNN_TENSOR_NCHW_VECT_C) return CUDNN_STATUS_NOT_SUPPORTED;
  if ((long long)k * c * h * w > INT_MAX) return CUDNN_STATUS_NOT_SUPPORTED;
  return update(g_filters, filterDesc, [&](cudnnFilterStruct& f) {
           f.set = true; f.format = format; f.type = dataType; f.k = k; f.c = c; f.h = h; f.w = w;
         })
             ? CUDNN_STATUS_SUCCESS
             : CUDNN_STATUS_BAD_PARAM;
}

// cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc);
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc) { return destroy(g_filters, filterDesc); }

// cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *convDesc);
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* convDesc) {
  return create(g_convs, convDesc);
}

// cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w,
//     int u, int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t computeType);
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u,
                                              int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType) {
  // docs: CUDNN_STATUS_BAD_PARAM if pad_h or pad_w is negative, u or v is zero or negative,
  // dilation_h or dilation_w is zero or negative, or mode / computeType is an invalid enumerant
  if (pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0) return CUDNN_STATUS_BAD_PARAM;
  if ((mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) || !valid_data_type(computeType))
    return CUDNN_STATUS_BAD_PARAM;
  return update(g_convs, convDesc, [&](cudnnConvolutionStruct& c) {
           c.set = true; c.padH = pad_h; c.padW = pad_w; c.u = u; c.v = v; c.dilH = dilation_h;
           c.dilW = dilation_w; c.mode = mode; c.computeType = computeType;
         })
             ? CUDNN_STATUS_SUCCESS
             : CUDNN_STATUS_BAD_PARAM;
}

// cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc, int groupCount);
cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc, int groupCount) {
  if (groupCount < 1) return CUDNN_STATUS_BAD_PARAM;
  return update(g_convs, convDesc, [&](cudnnConvolutionStruct& c) { c.groups = groupCount; })
             ? CUDNN_STATUS_SUCCESS
             : CUDNN_STATUS_BAD_PARAM;
}

// cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType);
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType) {
  if (mathType < CUDNN_DEFAULT_MATH || mathType > CUDNN_FMA_MATH) return CUDNN_STATUS_BAD_PARAM;
  return update(g_convs, convDesc, [&](cudnnConvolutionStruct& c) { c.mathType = mathType; })
             ? CUDNN_STATUS_SUCCESS
             : CUDNN_STATUS_BAD_PARAM;
}

// cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc);
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc) {
  return destroy(g_convs, convDesc);
}

// cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
//     const cudnnFilterDescriptor_t filterDesc, const cudnnConvolutionDescriptor_t convDesc,
//     const cudnnTensorDescriptor_t destDesc, const int requestedAlgoCount, int *returnedAlgoCount,
//     cudnnConvolutionFwdAlgoPerf_t *perfResults);
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                     const cudnnFilterDescriptor_t filterDesc,
                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t destDesc,
                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t* perfResults) {
  return algorithms(handle, FORWARD, kForward, srcDesc, filterDesc, convDesc, destDesc, requestedAlgoCount,
                    returnedAlgoCount, perfResults);
}

// cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle,
//     const cudnnFilterDescriptor_t filterDesc, const cudnnTensorDescriptor_t diffDesc,
//     const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t gradDesc,
//     const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t *perfResults);
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc,
                                                          const cudnnTensorDescriptor_t diffDesc,
                                                          const cudnnConvolutionDescriptor_t convDesc,
                                                          const cudnnTensorDescriptor_t gradDesc,
                                                          const int requestedAlgoCount, int* returnedAlgoCount,
                                                          cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
  return algorithms(handle, BACKWARD_DATA, kBackwardData, gradDesc, filterDesc, convDesc, diffDesc,
                    requestedAlgoCount, returnedAlgoCount, perfResults);
}

// cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle,
//     const cudnnTensorDescriptor_t srcDesc, const cudnnTensorDescriptor_t diffDesc,
//     const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc,
//     const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t *perfResults);
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                            const cudnnTensorDescriptor_t diffDesc,
                                                            const cudnnConvolutionDescriptor_t convDesc,
                                                            const cudnnFilterDescriptor_t gradDesc,
                                                            const int requestedAlgoCount, int* returnedAlgoCount,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
  return algorithms(handle, BACKWARD_FILTER, kBackwardFilter, srcDesc, gradDesc, convDesc, diffDesc,
                    requestedAlgoCount, returnedAlgoCount, perfResults);
}

// cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
//     const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc,
//     const cudnnTensorDescriptor_t yDesc, cudnnConvolutionFwdAlgo_t algo, size_t *sizeInBytes);
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                      const cudnnFilterDescriptor_t wDesc,
                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                      const cudnnTensorDescriptor_t yDesc,
                                                      cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes) {
  return workspace_query(handle, FORWARD, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, xDesc, wDesc, convDesc, yDesc, algo,
                         sizeInBytes);
}

// cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle,
//     const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc,
//     const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc,
//     cudnnConvolutionBwdDataAlgo_t algo, size_t *sizeInBytes);
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                           const cudnnTensorDescriptor_t dyDesc,
                                                           const cudnnConvolutionDescriptor_t convDesc,
                                                           const cudnnTensorDescriptor_t dxDesc,
                                                           cudnnConvolutionBwdDataAlgo_t algo, size_t* sizeInBytes) {
  return workspace_query(handle, BACKWARD_DATA, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, dxDesc, wDesc, convDesc,
                         dyDesc, algo, sizeInBytes);
}

// cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle,
//     const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc,
//     const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc,
//     cudnnConvolutionBwdFilterAlgo_t algo, size_t *sizeInBytes);
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                             const cudnnTensorDescriptor_t dyDesc,
                                                             const cudnnConvolutionDescriptor_t convDesc,
                                                             const cudnnFilterDescriptor_t gradDesc,
                                                             cudnnConvolutionBwdFilterAlgo_t algo,
                                                             size_t* sizeInBytes) {
  return workspace_query(handle, BACKWARD_FILTER, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, xDesc, gradDesc, convDesc,
                         dyDesc, algo, sizeInBytes);
}

// cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc,
//     const void *x, const cudnnFilterDescriptor_t wDesc, const void *w,
//     const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo, void *workSpace,
//     size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t yDesc, void *y);
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,
                                      const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                      const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
                                      void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                      const cudnnTensorDescriptor_t yDesc, void* y) {
  return convolve("cudnnConvolutionForward", FORWARD, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, handle, alpha, xDesc, x,
                  wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes, beta, yDesc, y);
}

// cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha,
//     const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnTensorDescriptor_t dyDesc, const void *dy,
//     const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdDataAlgo_t algo, void *workSpace,
//     size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t dxDesc, void *dx);
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha, const cudnnFilterDescriptor_t wDesc,
                                           const void* w, const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                           const cudnnConvolutionDescriptor_t convDesc,
                                           cudnnConvolutionBwdDataAlgo_t algo, void* workSpace,
                                           size_t workSpaceSizeInBytes, const void* beta,
                                           const cudnnTensorDescriptor_t dxDesc, void* dx) {
  // the convolution's x is dx and its y is dy; in0 = w, in1 = dy, out = dx
  return convolve("cudnnConvolutionBackwardData", BACKWARD_DATA, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, handle,
                  alpha, dxDesc, w, wDesc, dy, convDesc, algo, workSpace, workSpaceSizeInBytes, beta, dyDesc, dx);
}

// cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void *alpha,
//     const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc, const void *dy,
//     const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdFilterAlgo_t algo, void *workSpace,
//     size_t workSpaceSizeInBytes, const void *beta, const cudnnFilterDescriptor_t dwDesc, void *dw);
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha,
                                             const cudnnTensorDescriptor_t xDesc, const void* x,
                                             const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                             const cudnnConvolutionDescriptor_t convDesc,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void* workSpace,
                                             size_t workSpaceSizeInBytes, const void* beta,
                                             const cudnnFilterDescriptor_t dwDesc, void* dw) {
  // in0 = x, in1 = dy, out = dw
  return convolve("cudnnConvolutionBackwardFilter", BACKWARD_FILTER, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, handle,
                  alpha, xDesc, x, dwDesc, dy, convDesc, algo, workSpace, workSpaceSizeInBytes, beta, dyDesc, dw);
}

// cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
//     const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc,
//     const cudnnTensorDescriptor_t yDesc, void *y, const int requestedAlgoCount, int *returnedAlgoCount,
//     cudnnConvolutionFwdAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes);
cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                     const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t yDesc, void* y,
                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t* perfResults, void* workSpace,
                                                     size_t workSpaceSizeInBytes) {
  return find("cudnnFindConvolutionForwardAlgorithmEx", FORWARD, kForward, handle, xDesc, x, wDesc, w, convDesc, yDesc,
              y, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
}

// cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
//     const void *w, const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnConvolutionDescriptor_t convDesc,
//     const cudnnTensorDescriptor_t dxDesc, void *dx, const int requestedAlgoCount, int *returnedAlgoCount,
//     cudnnConvolutionBwdDataAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes);
cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                          const void* w, const cudnnTensorDescriptor_t dyDesc,
                                                          const void* dy, const cudnnConvolutionDescriptor_t convDesc,
                                                          const cudnnTensorDescriptor_t dxDesc, void* dx,
                                                          const int requestedAlgoCount, int* returnedAlgoCount,
                                                          cudnnConvolutionBwdDataAlgoPerf_t* perfResults,
                                                          void* workSpace, size_t workSpaceSizeInBytes) {
  // as in cudnnConvolutionBackwardData: the convolution's x is dx, its y is dy; in0 = w, in1 = dy, out = dx
  return find("cudnnFindConvolutionBackwardDataAlgorithmEx", BACKWARD_DATA, kBackwardData, handle, dxDesc, w, wDesc,
              dy, convDesc, dyDesc, dx, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace,
              workSpaceSizeInBytes);
}

// cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t handle,
//     const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc, const void *y,
//     const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc, void *dw,
//     const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t *perfResults,
//     void *workSpace, size_t workSpaceSizeInBytes);
cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                            const void* x, const cudnnTensorDescriptor_t dyDesc,
                                                            const void* y, const cudnnConvolutionDescriptor_t convDesc,
                                                            const cudnnFilterDescriptor_t dwDesc, void* dw,
                                                            const int requestedAlgoCount, int* returnedAlgoCount,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* perfResults,
                                                            void* workSpace, size_t workSpaceSizeInBytes) {
  // in0 = x, in1 = dy (the header names it y), out = dw
  return find("cudnnFindConvolutionBackwardFilterAlgorithmEx", BACKWARD_FILTER, kBackwardFilter, handle, xDesc, x,
              dwDesc, y, convDesc, dyDesc, dw, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace,
              workSpaceSizeInBytes);
}

// cudnnStatus_t cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derivedBnDesc,
//     const cudnnTensorDescriptor_t xDesc, cudnnBatchNormMode_t mode);
cudnnStatus_t cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derivedBnDesc, const cudnnTensorDescriptor_t xDesc,
                                            cudnnBatchNormMode_t mode) {
  cudnnTensorStruct x;
  if (!snapshot(g_tensors, xDesc, &x) || !x.set) return CUDNN_STATUS_BAD_PARAM;
  if (mode != CUDNN_BATCHNORM_PER_ACTIVATION && mode != CUDNN_BATCHNORM_SPATIAL &&
      mode != CUDNN_BATCHNORM_SPATIAL_PERSISTENT)
    return CUDNN_STATUS_BAD_PARAM;
  // cudnn_ops.h: 1xCx1x1 for the spatial modes, 1xCxHxW per activation; FLOAT unless x is DOUBLE
  const bool spatial = mode != CUDNN_BATCHNORM_PER_ACTIVATION;
  return update(g_tensors, derivedBnDesc, [&](cudnnTensorStruct& t) {
           t.set = true;
           t.format = CUDNN_TENSOR_NCHW;
           t.type = x.type == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
           t.n = 1; t.c = x.c; t.h = spatial ? 1 : x.h; t.w = spatial ? 1 : x.w;
         })
             ? CUDNN_STATUS_SUCCESS
             : CUDNN_STATUS_BAD_PARAM;
}

// cudnnStatus_t cudnnBatchNormalizationForwardTraining(cudnnHandle_t handle, cudnnBatchNormMode_t mode,
//     const void *alpha, const void *beta, const cudnnTensorDescriptor_t xDesc, const void *x,
//     const cudnnTensorDescriptor_t yDesc, void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc,
//     const void *bnScale, const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
//     void *resultRunningVariance, double epsilon, void *resultSaveMean, void *resultSaveInvVariance);
cudnnStatus_t cudnnBatchNormalizationForwardTraining(cudnnHandle_t handle, cudnnBatchNormMode_t mode,
                                                     const void* alpha, const void* beta,
                                                     const cudnnTensorDescriptor_t xDesc, const void* x,
                                                     const cudnnTensorDescriptor_t yDesc, void* y,
                                                     const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc,
                                                     const void* bnScale, const void* bnBias,
                                                     double exponentialAverageFactor, void* resultRunningMean,
                                                     void* resultRunningVariance, double epsilon,
                                                     void* resultSaveMean, void* resultSaveInvVariance) {
  // docs, CUDNN_STATUS_BAD_PARAM: a pointer among alpha, beta, x, y, bnScale, bnBias is NULL; the
  // parameter descriptor is not 1xCx1x1 (spatial); exactly one of resultSaveMean /
  // resultSaveInvVariance is NULL; exactly one of resultRunningMean / resultRunningVariance is
  // NULL; epsilon < CUDNN_BN_MIN_EPSILON; x and y dims or data types differ.
  cudnnContext h;
  if (!live_handle(handle, &h)) return CUDNN_STATUS_BAD_PARAM;
  cudnnStatus_t st = bn_mode(mode);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  if (alpha == nullptr || beta == nullptr || x == nullptr || y == nullptr || bnScale == nullptr || bnBias == nullptr)
    return CUDNN_STATUS_BAD_PARAM;
  if ((resultSaveMean == nullptr) != (resultSaveInvVariance == nullptr) ||
      (resultRunningMean == nullptr) != (resultRunningVariance == nullptr))
    return CUDNN_STATUS_BAD_PARAM;
  if (!(epsilon >= CUDNN_BN_MIN_EPSILON)) return CUDNN_STATUS_BAD_PARAM;
  std::vector<Dims> dims;
  Dims param;
  st = bn_descriptors({xDesc, yDesc}, bnScaleBiasMeanVarDesc, &dims, &param);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  BnForward b{dims[0], dims[1], x, bnScale, bnBias, y, resultRunningMean, resultRunningVariance,
              resultSaveMean, resultSaveInvVariance, read_scalar(alpha), read_scalar(beta),
              exponentialAverageFactor, epsilon};
  int rc = dvpsim::enqueue(h.stream, "cudnnBatchNormalizationForwardTraining", [b]() { run_bn_forward(b); });
  return rc == 0 ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_EXECUTION_FAILED;
}

// cudnnStatus_t cudnnBatchNormalizationBackward(cudnnHandle_t handle, cudnnBatchNormMode_t mode,
//     const void *alphaDataDiff, const void *betaDataDiff, const void *alphaParamDiff, const void *betaParamDiff,
//     const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc, const void *dy,
//     const cudnnTensorDescriptor_t dxDesc, void *dx, const cudnnTensorDescriptor_t dBnScaleBiasDesc,
//     const void *bnScale, void *dBnScaleResult, void *dBnBiasResult, double epsilon, const void *savedMean,
//     const void *savedInvVariance);
cudnnStatus_t cudnnBatchNormalizationBackward(cudnnHandle_t handle, cudnnBatchNormMode_t mode,
                                              const void* alphaDataDiff, const void* betaDataDiff,
                                              const void* alphaParamDiff, const void* betaParamDiff,
                                              const cudnnTensorDescriptor_t xDesc, const void* x,
                                              const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                              const cudnnTensorDescriptor_t dxDesc, void* dx,
                                              const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void* bnScale,
                                              void* dBnScaleResult, void* dBnBiasResult, double epsilon,
                                              const void* savedMean, const void* savedInvVariance) {
  // docs, CUDNN_STATUS_BAD_PARAM: any of x, dy, dx, bnScale, dBnScaleResult, dBnBiasResult (or a
  // scaling pointer) NULL; dims of x, dy, dx differ or the parameter descriptor is not 1xCx1x1;
  // exactly one of savedMean / savedInvVariance NULL; epsilon < CUDNN_BN_MIN_EPSILON.
  cudnnContext h;
  if (!live_handle(handle, &h)) return CUDNN_STATUS_BAD_PARAM;
  cudnnStatus_t st = bn_mode(mode);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  if (alphaDataDiff == nullptr || betaDataDiff == nullptr || alphaParamDiff == nullptr || betaParamDiff == nullptr)
    return CUDNN_STATUS_BAD_PARAM;
  if (x == nullptr || dy == nullptr || dx == nullptr || bnScale == nullptr || dBnScaleResult == nullptr ||
      dBnBiasResult == nullptr)
    return CUDNN_STATUS_BAD_PARAM;
  if ((savedMean == nullptr) != (savedInvVariance == nullptr)) return CUDNN_STATUS_BAD_PARAM;
  if (!(epsilon >= CUDNN_BN_MIN_EPSILON)) return CUDNN_STATUS_BAD_PARAM;
  std::vector<Dims> dims;
  Dims param;
  st = bn_descriptors({xDesc, dyDesc, dxDesc}, dBnScaleBiasDesc, &dims, &param);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  BnBackward b{dims[0], dims[1], dims[2], x, dy, bnScale, savedMean, savedInvVariance, dx, dBnScaleResult,
               dBnBiasResult, read_scalar(alphaDataDiff), read_scalar(betaDataDiff), read_scalar(alphaParamDiff),
               read_scalar(betaParamDiff), epsilon};
  int rc = dvpsim::enqueue(h.stream, "cudnnBatchNormalizationBackward", [b]() { run_bn_backward(b); });
  return rc == 0 ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_EXECUTION_FAILED;
}
