// Tests of the simulated cuBLAS and cuDNN (kernels/sim/libs) against independent formulations:
// row-major products of explicitly transposed matrices for GEMM, im2col / col2im matrix products
// for the convolutions plus the adjoint identity <conv(x,w), dy> = <x, dgrad(dy,w)> = <w, wgrad(x,dy)>,
// one-pass long-double statistics and finite differences for batch norm, and frexp/nearbyint
// roundings for TF32 / bf16 / fp16. Linked with inline_runtime.cpp instead of the simulated driver.
// Prints one line per check; exits non-zero if any check fails.
//
// Tolerances (each check says which): u = 2^-24 is float's unit roundoff. A simulated output is
// acc (a double sum, whose error is below 2^-40 of the sum of |terms| for these sizes) rounded to
// float, blended in float (alpha*acc + beta*old: three roundings), and rounded to the output type
// (half-ulp 2^-11 relative for fp16, 2^-8 for bf16). The references are summed in long double.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../libs/cublas_sim.h"
#include "../libs/cudnn_sim.h"
#include "../shim/dvp_half.h"
#include "inline_runtime.h"

namespace {

// ---- reporting ----------------------------------------------------------------------------------

int g_checks = 0, g_failed = 0;

std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

bool check(bool ok, const std::string& name, const std::string& detail = "") {
  g_checks++;
  if (!ok) g_failed++;
  std::printf("%s  %s%s%s\n", ok ? "ok  " : "FAIL", name.c_str(), detail.empty() ? "" : "  -- ", detail.c_str());
  return ok;
}

const double U = std::ldexp(1.0, -24);  // float unit roundoff
const double SUM_ERR = std::ldexp(1.0, -40);  // bound on a double sum's error relative to sum |terms|

std::mt19937_64 g_rng(20240917);
float urand(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g_rng); }

// ---- independent reference roundings ------------------------------------------------------------

/** Round to nearest even with p significant bits and quantum at least 2^qmin (subnormals). */
double ref_round(double v, int p, int qmin) {
  if (v == 0 || !std::isfinite(v)) return v;
  int e;
  std::frexp(v, &e);  // |v| in [2^(e-1), 2^e)
  const int q = std::max(e - p, qmin);
  return std::ldexp(std::nearbyint(std::ldexp(v, -q)), q);  // default mode: ties to even
}
double ref_bf16(double v) { return ref_round(v, 8, -133); }
double ref_half(double v) { return ref_round(v, 11, -24); }

/** fp32 -> TF32 (11 significant bits), ties away from zero (std::round); normal numbers only. */
float ref_tf32(float f) {
  if (f == 0 || !std::isfinite(f)) return f;
  int e;
  double m = std::frexp((double)f, &e);
  return (float)std::ldexp(std::round(std::ldexp(m, 11)), e - 11);
}

// ---- typed host buffers standing in for device memory -------------------------------------------

enum class T { F32, F16, BF16 };
const char* tname(T t) { return t == T::F32 ? "f32" : t == T::F16 ? "f16" : "bf16"; }
/** Output rounding: half-ulp relative error of the type (0 for f32: covered by the float terms). */
double out_u(T t) { return t == T::F32 ? 0.0 : t == T::F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8); }
/** The smallest positive subnormal of the type (an absolute floor for the rounding bound). */
double out_tiny(T t) { return t == T::F16 ? std::ldexp(1.0, -24) : std::ldexp(1.0, -149); }

struct Buf {
  T t = T::F32;
  std::vector<unsigned char> b;
  Buf() = default;
  Buf(T type, size_t n) : t(type), b(n * esz()) {}
  size_t esz() const { return t == T::F32 ? 4 : 2; }
  size_t size() const { return b.size() / esz(); }
  void* p() { return b.data(); }
  float get(size_t i) const {
    if (t == T::F32) {
      float f;
      std::memcpy(&f, &b[4 * i], 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, &b[2 * i], 2);
    return t == T::F16 ? dvpsim::half_to_float(h) : dvpsim::bf16_to_float(h);
  }
  /** Stores v, which must be representable (values are generated representable). */
  void set(size_t i, float v) {
    if (t == T::F32) {
      std::memcpy(&b[4 * i], &v, 4);
      return;
    }
    uint16_t h = t == T::F16 ? dvpsim::float_to_half(v) : dvpsim::float_to_bf16(v);
    std::memcpy(&b[2 * i], &h, 2);
  }
  /** Random values in [lo, hi) representable in the type. */
  void fill(float lo, float hi) {
    for (size_t i = 0; i < size(); i++) {
      Buf one(t, 1);
      one.set(0, urand(lo, hi));  // rounds into the type
      set(i, one.get(0));
    }
  }
  void fill_nan() { std::fill(b.begin(), b.end(), (unsigned char)0xff); }
  bool all_finite() const {
    for (size_t i = 0; i < size(); i++)
      if (!std::isfinite(get(i))) return false;
    return true;
  }
};


/**
 * Largest |got - want| / tol over the elements; a check passes when this is <= 1. Also false for
 * any NaN in got (NaN compares false).
 */
struct Worst {
  double ratio = 0;
  size_t at = 0;
  double got = 0, want = 0, tol = 0;
  bool nan = false;
  void add(size_t i, double g, double w, double t) {
    if (std::isnan(g)) nan = true;
    double r = std::fabs(g - w) / t;
    if (r > ratio || std::isnan(r)) {
      ratio = std::isnan(r) ? INFINITY : r;
      at = i; got = g; want = w; tol = t;
    }
  }
  bool ok() const { return !nan && ratio <= 1.0; }
  std::string str() const {
    return fmt("worst |err|/tol = %.3g at %zu (got %.9g, want %.9g, tol %.3g)%s", ratio, at, got, want, tol,
               nan ? ", NaN seen" : "");
  }
};

// =================================================================================================
// cuBLAS
// =================================================================================================

cudaDataType cuda_type(T t) { return t == T::F32 ? CUDA_R_32F : t == T::F16 ? CUDA_R_16F : CUDA_R_16BF; }

/** A column-major rows x cols matrix with leading dimension ld; the padding rows hold NaN. */
struct ColMajor {
  int rows, cols, ld;
  Buf buf;
  ColMajor(T t, int r, int c, int ldv) : rows(r), cols(c), ld(ldv), buf(t, (size_t)std::max(1, c) * ldv) {
    buf.fill_nan();
  }
  float at(int i, int j) const { return buf.get((size_t)i + (size_t)j * ld); }
  void random(float lo, float hi) {
    Buf one(buf.t, 1);
    for (int j = 0; j < cols; j++)
      for (int i = 0; i < rows; i++) {
        one.set(0, urand(lo, hi));
        buf.set((size_t)i + (size_t)j * ld, one.get(0));
      }
  }
};

/** The stored matrix as a dense row-major array, transposed if asked (explicitly, element by element). */
std::vector<double> dense(const ColMajor& m, bool transpose) {
  std::vector<double> out((size_t)m.rows * m.cols);
  for (int i = 0; i < m.rows; i++)
    for (int j = 0; j < m.cols; j++) {
      if (transpose)
        out[(size_t)j * m.rows + i] = m.at(i, j);
      else
        out[(size_t)i * m.cols + j] = m.at(i, j);
    }
  return out;
}

/**
 * Checks C (column-major, ldc) = alpha * opA * opB + beta * C0 against a row-major long-double
 * product. Tolerance per element: the float blend (2u on each of |alpha s|, |beta c0|, |t|), the
 * double sum (SUM_ERR * |alpha| * sum |a b|), the output type's half-ulp of |t| plus its smallest
 * subnormal. Also checks the padding rows of C were not touched.
 */
bool check_gemm(const std::string& name, const std::vector<double>& opA, const std::vector<double>& opB, int m, int n,
                int k, float alpha, float beta, const ColMajor& c0, const ColMajor& c, bool beta_reads) {
  Worst w;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      long double s = 0, abs = 0;
      for (int l = 0; l < k; l++) {
        s += (long double)opA[(size_t)i * k + l] * opB[(size_t)l * n + j];
        abs += std::fabs((long double)opA[(size_t)i * k + l] * opB[(size_t)l * n + j]);
      }
      const double old = beta_reads ? c0.at(i, j) : 0.0;
      const double t = (double)(alpha * s) + beta * old;
      const double tol = 2 * U * (std::fabs(alpha * (double)s) + std::fabs(beta * old) + std::fabs(t)) +
                         SUM_ERR * std::fabs(alpha) * (double)abs + out_u(c.buf.t) * std::fabs(t) + out_tiny(c.buf.t);
      w.add((size_t)i + (size_t)j * c.ld, c.at(i, j), t, tol);
    }
  bool pad_ok = true;
  for (int j = 0; j < n; j++)
    for (int i = m; i < c.ld; i++)
      if (std::memcmp(&c.buf.b[((size_t)i + (size_t)j * c.ld) * c.buf.esz()],
                      &c0.buf.b[((size_t)i + (size_t)j * c0.ld) * c0.buf.esz()], c.buf.esz()) != 0)
        pad_ok = false;
  return check(w.ok() && pad_ok, name, w.str() + (pad_ok ? "" : "; padding rows of C were written"));
}

struct Gemm {
  cublasOperation_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N;
  int m = 7, n = 5, k = 13;
  T at = T::F32, bt = T::F32, ct = T::F32;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  float alpha = 1, beta = 0;
};

/** Runs one randomised GEMM through cublasGemmEx and checks it; returns C for further checks. */
ColMajor run_gemm_case(cublasHandle_t h, const Gemm& g, const std::string& name, bool tf32_ref = false) {
  const bool na = g.ta == CUBLAS_OP_N, nb = g.tb == CUBLAS_OP_N;
  ColMajor A(g.at, na ? g.m : g.k, na ? g.k : g.m, (na ? g.m : g.k) + 3);
  ColMajor B(g.bt, nb ? g.k : g.n, nb ? g.n : g.k, (nb ? g.k : g.n) + 2);
  ColMajor C0(g.ct, g.m, g.n, g.m + 1);
  A.random(-1, 1);
  B.random(-1, 1);
  if (g.beta != 0) C0.random(-2, 2);  // else C holds NaN: beta == 0 must not read it
  ColMajor C = C0;
  cublasStatus_t st = cublasGemmEx(h, g.ta, g.tb, g.m, g.n, g.k, &g.alpha, A.buf.p(), cuda_type(g.at), A.ld,
                                   B.buf.p(), cuda_type(g.bt), B.ld, &g.beta, C.buf.p(), cuda_type(g.ct), C.ld,
                                   g.compute, CUBLAS_GEMM_DEFAULT);
  if (!check(st == CUBLAS_STATUS_SUCCESS, name + ": status", fmt("status %d", st))) return C;
  std::vector<double> opA = dense(A, !na), opB = dense(B, !nb);
  if (tf32_ref) {
    for (double& v : opA) v = ref_tf32((float)v);
    for (double& v : opB) v = ref_tf32((float)v);
  }
  check_gemm(name, opA, opB, g.m, g.n, g.k, g.alpha, g.beta, C0, C, g.beta != 0);
  return C;
}

/** 1x1 GEMM of 1 x k row a and k x 1 column b in type t; returns C[0] as float. */
float dot_gemm(cublasHandle_t h, T t, T ct, const std::vector<float>& a, const std::vector<float>& b,
               cublasComputeType_t compute, cublasStatus_t* st) {
  const int k = (int)a.size();
  Buf A(t, k), B(t, k), C(ct, 1);
  for (int i = 0; i < k; i++) {
    A.set(i, a[i]);
    B.set(i, b[i]);
  }
  const float one = 1, zero = 0;
  // A is 1 x k column-major with lda = 1; B is k x 1 with ldb = k
  *st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, k, &one, A.p(), cuda_type(t), 1, B.p(), cuda_type(t), k, &zero,
                     C.p(), cuda_type(ct), 1, compute, CUBLAS_GEMM_DEFAULT);
  return C.get(0);
}

void test_cublas_gemm(cublasHandle_t h) {
  // all four transpose combinations, odd sizes, padded leading dimensions (padding = NaN), C = NaN
  for (auto ta : {CUBLAS_OP_N, CUBLAS_OP_T})
    for (auto tb : {CUBLAS_OP_N, CUBLAS_OP_T}) {
      Gemm g;
      g.ta = ta;
      g.tb = tb;
      run_gemm_case(h, g, fmt("gemm f32 %c%c 7x5x13 vs row-major product (beta=0, C=NaN not read)",
                              ta == CUBLAS_OP_N ? 'N' : 'T', tb == CUBLAS_OP_N ? 'N' : 'T'));
    }
  {
    Gemm g;
    g.ta = CUBLAS_OP_C;  // CUBLAS_OP_C is the transpose for real types
    g.m = 9; g.n = 11; g.k = 3;
    run_gemm_case(h, g, "gemm f32 CN 9x11x3 (OP_C = transpose for real data)");
  }
  {
    Gemm g;
    g.ta = CUBLAS_OP_T;
    g.alpha = 0.75f;
    g.beta = -1.5f;
    g.m = 17; g.n = 3; g.k = 33;
    run_gemm_case(h, g, "gemm f32 TN 17x3x33 alpha=0.75 beta=-1.5");
  }
  // alpha/beta are applied in float: with v = the alpha=1, beta=0 result (float(acc)), the blended
  // result is exactly float(float(alpha*v) + float(beta*c0)), element by element
  {
    const int m = 9, n = 7, k = 23;
    ColMajor A(T::F32, m, k, m), B(T::F32, k, n, k), C0(T::F32, m, n, m);
    A.random(-1, 1);
    B.random(-1, 1);
    C0.random(-1, 1);
    ColMajor V = C0, C = C0;
    const float one = 1, zero = 0, alpha = 0.7f, beta = -1.3f;
    cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, A.buf.p(), CUDA_R_32F, m, B.buf.p(), CUDA_R_32F, k, &zero,
                 V.buf.p(), CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, A.buf.p(), CUDA_R_32F, m, B.buf.p(), CUDA_R_32F, k, &beta,
                 C.buf.p(), CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    int bad = 0;
    for (int j = 0; j < n; j++)
      for (int i = 0; i < m; i++) {
        const float t1 = alpha * V.at(i, j), t2 = beta * C0.at(i, j);
        bad += C.at(i, j) != t1 + t2;
      }
    check(bad == 0, "gemm alpha=0.7 beta=-1.3 is exactly float(float(alpha*acc32) + float(beta*C)) (scale type 32F)",
          fmt("%d of %d differ", bad, m * n));
  }
  // the type table: A=B in 16F/16BF with C in the same type or 32F, COMPUTE_32F and _PEDANTIC
  for (T t : {T::F16, T::BF16})
    for (T ct : {t, T::F32})
      for (auto compute : {CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_PEDANTIC}) {
        Gemm g;
        g.at = g.bt = t;
        g.ct = ct;
        g.compute = compute;
        g.ta = CUBLAS_OP_T;
        g.alpha = 1.25f;
        g.beta = 0.5f;
        g.m = 6; g.n = 7; g.k = 19;
        run_gemm_case(h, g, fmt("gemm %s x %s -> %s %s TN 6x7x19 alpha/beta (output rounding in tolerance)", tname(t),
                                tname(t), tname(ct), compute == CUBLAS_COMPUTE_32F ? "COMPUTE_32F" : "32F_PEDANTIC"));
      }
  // TF32: the reference rounds the inputs with frexp/round (ties away), then multiplies exactly
  {
    Gemm g;
    g.compute = CUBLAS_COMPUTE_32F_FAST_TF32;
    g.tb = CUBLAS_OP_T;
    g.m = 5; g.n = 9; g.k = 21;
    std::mt19937_64 saved = g_rng;
    ColMajor tf = run_gemm_case(h, g, "gemm f32 FAST_TF32 NT 5x9x21 vs product of TF32-rounded inputs", true);
    g_rng = saved;  // the same inputs again, in true fp32
    g.compute = CUBLAS_COMPUTE_32F;
    ColMajor exact = run_gemm_case(h, g, "gemm f32 COMPUTE_32F NT 5x9x21 (same inputs)");
    int differ = 0;
    for (int j = 0; j < g.n; j++)
      for (int i = 0; i < g.m; i++) differ += tf.at(i, j) != exact.at(i, j);
    check(differ > 0, "gemm FAST_TF32 differs from COMPUTE_32F on random data",
          fmt("%d of %d outputs differ", differ, g.m * g.n));
    // CUBLAS_TF32_TENSOR_OP_MATH on the handle: COMPUTE_32F then behaves as FAST_TF32
    g_rng = saved;
    cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH);
    ColMajor viaMode = run_gemm_case(h, g, "gemm COMPUTE_32F under CUBLAS_TF32_TENSOR_OP_MATH (TF32 reference)", true);
    g_rng = saved;
    g.compute = CUBLAS_COMPUTE_32F_PEDANTIC;
    ColMajor pedantic = run_gemm_case(h, g, "gemm 32F_PEDANTIC under TF32 math mode stays fp32");
    cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
    check(std::memcmp(viaMode.buf.b.data(), tf.buf.b.data(), tf.buf.b.size()) == 0 &&
              std::memcmp(pedantic.buf.b.data(), exact.buf.b.data(), exact.buf.b.size()) == 0,
          "gemm TF32 math mode == FAST_TF32 bitwise; PEDANTIC == COMPUTE_32F bitwise");
  }
  // exact rounding cases (every sum below is exact in float)
  {
    cublasStatus_t st;
    const float t1 = std::ldexp(1.0f, -11), t7 = std::ldexp(1.0f, -23);
    struct Case { float a, b, want; const char* what; };
    const Case cases[] = {
        {1 + t1, 1, 1 + 2 * t1, "1+2^-11 (tie) rounds away to 1+2^-10"},
        {-(1 + t1), 1, -(1 + 2 * t1), "-(1+2^-11) rounds away to -(1+2^-10)"},
        {1 + t1 - t7, 1, 1, "just below the tie rounds down"},
        {1 + 3 * t1, 1, 1 + 4 * t1, "1+3*2^-11 (tie, odd) rounds up to 1+2^-9"},
        {1 + t1, 1 + t1, (1 + 2 * t1) * (1 + 2 * t1), "both operands rounded: (1+2^-10)^2"},
    };
    for (const Case& c : cases) {
      float got = dot_gemm(h, T::F32, T::F32, {c.a}, {c.b}, CUBLAS_COMPUTE_32F_FAST_TF32, &st);
      check(st == CUBLAS_STATUS_SUCCESS && got == c.want, fmt("gemm TF32 rounding (cvt.rna): %s", c.what),
            fmt("got %.10g want %.10g", got, c.want));
      check(ref_tf32(c.a) * ref_tf32(c.b) == c.want, fmt("test's own TF32 reference agrees: %s", c.what));
    }
    float plain = dot_gemm(h, T::F32, T::F32, {1 + t1}, {1}, CUBLAS_COMPUTE_32F, &st);
    check(plain == 1 + t1, "gemm COMPUTE_32F keeps 1+2^-11 exactly (no TF32)");
    // output rounding to bf16 / fp16: round to nearest even at exact ties
    const float b8 = std::ldexp(1.0f, -8), b7 = std::ldexp(1.0f, -7), h11 = std::ldexp(1.0f, -11),
                h10 = std::ldexp(1.0f, -10);
    struct RCase { T t; std::vector<float> a, b; float want; const char* what; };
    const RCase rc[] = {
        {T::BF16, {1, 1}, {1, b8}, 1.0f, "bf16: 1+2^-8 (tie, even below) -> 1"},
        {T::BF16, {1, 1}, {1 + b7, b8}, 1 + 2 * b7, "bf16: 1+3*2^-8 (tie, odd below) -> 1+2^-6"},
        {T::BF16, {-1, 1}, {1 + b7, -b8}, -(1 + 2 * b7), "bf16: negative tie -> even"},
        {T::BF16, {1, 1, 1}, {1, b8, std::ldexp(1.0f, -16)}, 1 + b7, "bf16: just above the tie rounds up"},
        {T::F16, {1, 1}, {1, h11}, 1.0f, "f16: 1+2^-11 (tie) -> 1"},
        {T::F16, {1, 1}, {1 + h10, h11}, 1 + 2 * h10, "f16: 1+3*2^-11 (tie) -> 1+2^-9"},
    };
    for (const RCase& c : rc) {
      float got = dot_gemm(h, c.t, c.t, c.a, c.b, CUBLAS_COMPUTE_32F, &st);
      check(st == CUBLAS_STATUS_SUCCESS && got == c.want, fmt("gemm output rounding %s", c.what),
            fmt("got %.10g want %.10g", got, c.want));
      double exact = 0;
      for (size_t i = 0; i < c.a.size(); i++) exact += (double)c.a[i] * c.b[i];
      check((c.t == T::BF16 ? ref_bf16(exact) : ref_half(exact)) == c.want,
            fmt("test's own rounding reference agrees: %s", c.what));
    }
  }
  // k == 0: C = beta*C; m or n == 0: nothing; alpha == 0: A and B not read
  {
    ColMajor C(T::F32, 4, 3, 5), C0(T::F32, 4, 3, 5);
    C.random(-3, 3);
    C0 = C;
    const float alpha = 1.5f, beta = 2.5f;
    Buf dummy(T::F32, 1);
    cublasStatus_t st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 0, &alpha, dummy.p(), CUDA_R_32F, 4, dummy.p(),
                                     CUDA_R_32F, 1, &beta, C.buf.p(), CUDA_R_32F, 5, CUBLAS_COMPUTE_32F,
                                     CUBLAS_GEMM_DEFAULT);
    bool exact = true;
    for (int j = 0; j < 3; j++)
      for (int i = 0; i < 4; i++) exact = exact && C.at(i, j) == beta * C0.at(i, j);
    check(st == CUBLAS_STATUS_SUCCESS && exact, "gemm k=0 gives C = beta*C exactly");
    const float zero = 0;
    st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 0, &alpha, dummy.p(), CUDA_R_32F, 4, dummy.p(), CUDA_R_32F, 1,
                      &zero, C.buf.p(), CUDA_R_32F, 5, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    bool zeros = true;
    for (int j = 0; j < 3; j++)
      for (int i = 0; i < 4; i++) zeros = zeros && C.at(i, j) == 0.0f;
    check(st == CUBLAS_STATUS_SUCCESS && zeros, "gemm k=0, beta=0 gives C = 0");
    C = C0;
    dvpsim_test::reset();
    st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 0, 3, 7, &alpha, nullptr, CUDA_R_32F, 1, nullptr, CUDA_R_32F, 7,
                      &beta, C.buf.p(), CUDA_R_32F, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    cublasStatus_t st2 = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 0, 7, &alpha, nullptr, CUDA_R_32F, 4, nullptr,
                                      CUDA_R_32F, 7, &beta, C.buf.p(), CUDA_R_32F, 5, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT);
    check(st == CUBLAS_STATUS_SUCCESS && st2 == CUBLAS_STATUS_SUCCESS && dvpsim_test::streams().empty() &&
              C.buf.b == C0.buf.b,
          "gemm m=0 / n=0 succeed without queueing work or touching C");
    ColMajor A(T::F32, 4, 2, 4), B(T::F32, 2, 3, 2);
    A.buf.fill_nan();
    B.buf.fill_nan();
    st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 2, &zero, A.buf.p(), CUDA_R_32F, 4, B.buf.p(), CUDA_R_32F, 2,
                      &beta, C.buf.p(), CUDA_R_32F, 5, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    exact = true;
    for (int j = 0; j < 3; j++)
      for (int i = 0; i < 4; i++) exact = exact && C.at(i, j) == beta * C0.at(i, j);
    check(st == CUBLAS_STATUS_SUCCESS && exact, "gemm alpha=0: NaN in A and B not read, C = beta*C");
  }
}

void test_cublas_batched(cublasHandle_t h) {
  const int m = 5, n = 4, k = 7, batch = 3, lda = 6, ldb = 7, ldc = 8;
  const long long sA = (long long)lda * k + 5, sB = 0 /* one B broadcast to every batch */, sC = (long long)ldc * n + 3;
  Buf A(T::BF16, (size_t)sA * batch), B(T::BF16, (size_t)ldb * n), C(T::F32, (size_t)sC * batch);
  A.fill(-1, 1);
  B.fill(-1, 1);
  C.fill(-1, 1);
  Buf C0 = C;
  const float alpha = -0.5f, beta = 0.25f;
  cublasStatus_t st = cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, A.p(), CUDA_R_16BF, lda,
                                                 sA, B.p(), CUDA_R_16BF, ldb, sB, &beta, C.p(), CUDA_R_32F, ldc, sC,
                                                 batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  check(st == CUBLAS_STATUS_SUCCESS, "strided batched: status");
  Worst w;
  bool untouched = true;
  for (int b = 0; b < batch; b++)
    for (int i = 0; i < ldc; i++)
      for (int j = 0; j < n; j++) {
        const size_t ci = (size_t)(b * sC) + i + (size_t)j * ldc;
        if (i >= m) {
          untouched = untouched && std::memcmp(&C.b[4 * ci], &C0.b[4 * ci], 4) == 0;
          continue;
        }
        long double s = 0, abs = 0;
        for (int l = 0; l < k; l++) {
          long double p = (long double)A.get((size_t)(b * sA) + i + (size_t)l * lda) * B.get((size_t)l + (size_t)j * ldb);
          s += p;
          abs += std::fabs(p);
        }
        const double t = (double)(alpha * s) + beta * C0.get(ci);
        w.add(ci, C.get(ci), t,
              2 * U * (std::fabs(alpha * (double)s) + std::fabs(beta * C0.get(ci)) + std::fabs(t)) +
                  SUM_ERR * std::fabs(alpha) * (double)abs + out_tiny(T::F32));
      }
  check(w.ok() && untouched, "strided batched bf16->f32 5x4x7 x3, strideB=0 (broadcast), padded strides",
        w.str() + (untouched ? "" : "; gap between batches written"));
  dvpsim_test::reset();
  st = cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, A.p(), CUDA_R_16BF, lda, sA, B.p(),
                                  CUDA_R_16BF, ldb, sB, &beta, C.p(), CUDA_R_32F, ldc, sC, 0, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT);
  check(st == CUBLAS_STATUS_SUCCESS && dvpsim_test::streams().empty(), "strided batched batchCount=0: success, no work");
  st = cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, A.p(), CUDA_R_16BF, lda, sA, B.p(),
                                  CUDA_R_16BF, ldb, sB, &beta, C.p(), CUDA_R_32F, ldc, sC, -1, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT);
  check(st == CUBLAS_STATUS_INVALID_VALUE, "strided batched batchCount<0 -> CUBLAS_STATUS_INVALID_VALUE");
  // every device range is checked: each batch's A, B and C extent, exactly
  dvpsim_test::reset();
  st = cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, A.p(), CUDA_R_16BF, lda + 1, sA, B.p(),
                                  CUDA_R_16BF, ldb, sB, &beta, C.p(), CUDA_R_32F, ldc, sC, batch, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT);
  int seen = 0;
  bool exact = true;
  std::vector<int> covered(2 * batch, 0);  // A and C: how often each batch's range was checked
  for (const auto& a : dvpsim_test::accesses()) {
    size_t want;
    const char* base;
    long long stride;
    int slot;
    if (a.what == "A") { want = ((size_t)(m - 1) * (lda + 1) + k) * 2; base = (const char*)A.p(); stride = sA * 2; slot = 0; }
    else if (a.what == "B") { want = ((size_t)(n - 1) * ldb + k) * 2; base = (const char*)B.p(); stride = 0; slot = -1; }
    else if (a.what == "C") { want = ((size_t)(n - 1) * ldc + m) * 4; base = (const char*)C.p(); stride = sC * 4; slot = batch; }
    else continue;
    seen++;
    long long off = (const char*)a.p - base;
    exact = exact && a.bytes == want && a.call == "cublasGemmStridedBatchedEx";
    if (stride == 0) {
      exact = exact && off == 0;
    } else if (off % stride == 0 && off / stride >= 0 && off / stride < batch) {
      covered[slot + off / stride]++;
    } else {
      exact = false;
    }
  }
  exact = exact && std::all_of(covered.begin(), covered.end(), [](int c) { return c == 1; });
  check(st == CUBLAS_STATUS_SUCCESS && seen == 3 * batch && exact,
        "strided batched checks each batch's A (transposed), B, C device range exactly, every batch once",
        fmt("%d ranges", seen));
}

void test_cublas_errors(cublasHandle_t h) {
  Buf A(T::F32, 64), B(T::F32, 64), C(T::F32, 64);
  const float one = 1, zero = 0;
  auto gemm = [&](cublasHandle_t hh, int ta, int tb, int m, int n, int k, const float* al, int at, int lda, int bt,
                  int ldb, const float* be, int ct, int ldc, int compute, int algo = CUBLAS_GEMM_DEFAULT) {
    return cublasGemmEx(hh, (cublasOperation_t)ta, (cublasOperation_t)tb, m, n, k, al, A.p(), (cudaDataType)at, lda,
                        B.p(), (cudaDataType)bt, ldb, be, C.p(), (cudaDataType)ct, ldc, (cublasComputeType_t)compute,
                        (cublasGemmAlgo_t)algo);
  };
  struct E { cublasStatus_t got, want; const char* what; };
  const int F = CUDA_R_32F, H = CUDA_R_16F, BF = CUDA_R_16BF, C32 = CUBLAS_COMPUTE_32F;
  cublasHandle_t dead;
  cublasCreate_v2(&dead);
  cublasDestroy_v2(dead);
  const E cases[] = {
      {gemm(nullptr, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, C32), CUBLAS_STATUS_NOT_INITIALIZED, "null handle"},
      {gemm(dead, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, C32), CUBLAS_STATUS_NOT_INITIALIZED, "destroyed handle"},
      {gemm(h, 0, 0, -1, 2, 2, &one, F, 2, F, 2, &zero, F, 2, C32), CUBLAS_STATUS_INVALID_VALUE, "m < 0"},
      {gemm(h, 0, 0, 2, -1, 2, &one, F, 2, F, 2, &zero, F, 2, C32), CUBLAS_STATUS_INVALID_VALUE, "n < 0"},
      {gemm(h, 0, 0, 2, 2, -1, &one, F, 2, F, 2, &zero, F, 2, C32), CUBLAS_STATUS_INVALID_VALUE, "k < 0"},
      {gemm(h, 3, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, C32), CUBLAS_STATUS_INVALID_VALUE, "transa = CONJG (3)"},
      {gemm(h, 0, 7, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, C32), CUBLAS_STATUS_INVALID_VALUE, "transb = 7"},
      {gemm(h, 0, 0, 5, 2, 3, &one, F, 4, F, 3, &zero, F, 5, C32), CUBLAS_STATUS_INVALID_VALUE, "lda < m (N)"},
      {gemm(h, 1, 0, 5, 2, 3, &one, F, 2, F, 3, &zero, F, 5, C32), CUBLAS_STATUS_INVALID_VALUE, "lda < k (T)"},
      {gemm(h, 1, 0, 5, 2, 3, &one, F, 3, F, 3, &zero, F, 5, C32), CUBLAS_STATUS_SUCCESS, "lda = k (T) is enough"},
      {gemm(h, 0, 0, 5, 2, 3, &one, F, 5, F, 2, &zero, F, 5, C32), CUBLAS_STATUS_INVALID_VALUE, "ldb < k (N)"},
      {gemm(h, 0, 1, 5, 4, 3, &one, F, 5, F, 3, &zero, F, 5, C32), CUBLAS_STATUS_INVALID_VALUE, "ldb < n (T)"},
      {gemm(h, 0, 0, 5, 2, 3, &one, F, 5, F, 3, &zero, F, 4, C32), CUBLAS_STATUS_INVALID_VALUE, "ldc < m"},
      {gemm(h, 0, 0, 0, 2, 3, &one, F, 0, F, 3, &zero, F, 1, C32), CUBLAS_STATUS_INVALID_VALUE, "lda = 0 < max(1, m=0)"},
      {gemm(h, 0, 0, 2, 2, 2, nullptr, F, 2, F, 2, &zero, F, 2, C32), CUBLAS_STATUS_INVALID_VALUE, "alpha NULL"},
      {gemm(h, 0, 0, 2, 2, 2, &one, F, 2, F, 2, nullptr, F, 2, C32), CUBLAS_STATUS_INVALID_VALUE, "beta NULL"},
      {gemm(h, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, C32, 42), CUBLAS_STATUS_INVALID_VALUE, "algo 42"},
      {gemm(h, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, C32, 99), CUBLAS_STATUS_SUCCESS, "algo DEFAULT_TENSOR_OP"},
      {gemm(h, 0, 0, 2, 2, 2, &one, 99, 2, F, 2, &zero, F, 2, C32), CUBLAS_STATUS_INVALID_VALUE, "Atype 99"},
      {gemm(h, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, 0), CUBLAS_STATUS_INVALID_VALUE, "computeType 0"},
      {gemm(h, 0, 0, 2, 2, 2, &one, H, 2, BF, 2, &zero, F, 2, C32), CUBLAS_STATUS_NOT_SUPPORTED, "16F x 16BF"},
      {gemm(h, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, H, 2, C32), CUBLAS_STATUS_NOT_SUPPORTED, "32F x 32F -> 16F"},
      {gemm(h, 0, 0, 2, 2, 2, &one, BF, 2, BF, 2, &zero, H, 2, C32), CUBLAS_STATUS_NOT_SUPPORTED, "16BF -> 16F"},
      {gemm(h, 0, 0, 2, 2, 2, &one, BF, 2, BF, 2, &zero, BF, 2, CUBLAS_COMPUTE_32F_FAST_TF32),
       CUBLAS_STATUS_NOT_SUPPORTED, "FAST_TF32 with 16BF data"},
      {gemm(h, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, CUBLAS_COMPUTE_64F), CUBLAS_STATUS_NOT_SUPPORTED,
       "COMPUTE_64F with 32F data"},
      {gemm(h, 0, 0, 2, 2, 2, &one, H, 2, H, 2, &zero, H, 2, CUBLAS_COMPUTE_16F), CUBLAS_STATUS_NOT_SUPPORTED,
       "COMPUTE_16F (real: supported; not simulated)"},
      {gemm(h, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, CUBLAS_COMPUTE_32F_FAST_16BF), CUBLAS_STATUS_NOT_SUPPORTED,
       "COMPUTE_32F_FAST_16BF (real: supported; not simulated)"},
  };
  for (const E& e : cases)
    check(e.got == e.want, fmt("gemm error status: %s -> %s", e.what, cublasGetStatusString(e.want)),
          fmt("got %d (%s)", e.got, cublasGetStatusString(e.got)));
  // handle-level calls
  cublasHandle_t tmp;
  check(cublasCreate_v2(nullptr) == CUBLAS_STATUS_INVALID_VALUE, "cublasCreate_v2(NULL) -> INVALID_VALUE");
  check(cublasDestroy_v2(nullptr) == CUBLAS_STATUS_NOT_INITIALIZED, "cublasDestroy_v2(NULL) -> NOT_INITIALIZED");
  check(cublasDestroy_v2(dead) == CUBLAS_STATUS_NOT_INITIALIZED, "cublasDestroy_v2 twice -> NOT_INITIALIZED");
  {
    cublasHandle_t fresh = nullptr;
    cublasCreate_v2(&fresh);  // must not be handed the destroyed handle's address
    check(fresh != dead && cublasSetMathMode(dead, CUBLAS_DEFAULT_MATH) == CUBLAS_STATUS_NOT_INITIALIZED,
          "a handle created after a destroy is a new one; the destroyed handle stays refused (quarantined)");
    cublasDestroy_v2(fresh);
  }
  check(cublasSetStream_v2(dead, nullptr) == CUBLAS_STATUS_NOT_INITIALIZED &&
            cublasSetMathMode(nullptr, CUBLAS_DEFAULT_MATH) == CUBLAS_STATUS_NOT_INITIALIZED &&
            cublasSetWorkspace_v2(nullptr, nullptr, 0) == CUBLAS_STATUS_NOT_INITIALIZED,
        "SetStream/SetMathMode/SetWorkspace on a dead or NULL handle -> NOT_INITIALIZED");
  check(cublasCreate_v2(&tmp) == CUBLAS_STATUS_SUCCESS && cublasSetMathMode(tmp, (cublasMath_t)5) == CUBLAS_STATUS_INVALID_VALUE &&
            cublasSetMathMode(tmp, (cublasMath_t)(CUBLAS_PEDANTIC_MATH | 16)) == CUBLAS_STATUS_SUCCESS,
        "cublasSetMathMode: 5 -> INVALID_VALUE; PEDANTIC | DISALLOW_REDUCED_PRECISION_REDUCTION accepted");
  check(cublasSetMathMode(tmp, CUBLAS_TENSOR_OP_MATH) == CUBLAS_STATUS_SUCCESS &&
            gemm(tmp, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, C32) == CUBLAS_STATUS_NOT_SUPPORTED &&
            gemm(tmp, 0, 0, 2, 2, 2, &one, H, 2, H, 2, &zero, F, 2, C32) == CUBLAS_STATUS_SUCCESS,
        "CUBLAS_TENSOR_OP_MATH (= FAST_16F, not simulated): fp32 GEMM -> NOT_SUPPORTED, fp16 GEMM runs");
  void* ws = std::aligned_alloc(256, 4096);
  check(cublasSetWorkspace_v2(tmp, (char*)ws + 16, 1024) == CUBLAS_STATUS_INVALID_VALUE,
        "cublasSetWorkspace_v2 with a pointer not 256-byte aligned -> INVALID_VALUE");
  cublasDestroy_v2(tmp);
  std::free(ws);
  int v = 0, major = -1, minor = -1, patch = -1;
  check(cublasGetVersion_v2(h, &v) == CUBLAS_STATUS_SUCCESS && v == 130000 &&
            cublasGetProperty(MAJOR_VERSION, &major) == 0 && cublasGetProperty(MINOR_VERSION, &minor) == 0 &&
            cublasGetProperty(PATCH_LEVEL, &patch) == 0 && major == 13 && minor == 0 && patch == 0,
        "cublasGetVersion_v2 = 130000, cublasGetProperty = 13.0.0", fmt("%d %d.%d.%d", v, major, minor, patch));
  check(cublasGetProperty((libraryPropertyType)3, &v) == CUBLAS_STATUS_INVALID_VALUE &&
            cublasGetVersion_v2(h, nullptr) == CUBLAS_STATUS_INVALID_VALUE,
        "cublasGetProperty(3) and cublasGetVersion_v2(NULL) -> INVALID_VALUE");
  check(std::string(cublasGetStatusString(CUBLAS_STATUS_NOT_SUPPORTED)) == "CUBLAS_STATUS_NOT_SUPPORTED" &&
            std::string(cublasGetStatusString((cublasStatus_t)12345)).find("UNKNOWN") != std::string::npos,
        "cublasGetStatusString names statuses");
  dvpsim_test::reset();
  dvpsim_test::fail_next_enqueue(400);
  check(gemm(h, 0, 0, 2, 2, 2, &one, F, 2, F, 2, &zero, F, 2, C32) == CUBLAS_STATUS_EXECUTION_FAILED,
        "gemm whose enqueue fails (CUDA_ERROR_INVALID_HANDLE) -> CUBLAS_STATUS_EXECUTION_FAILED");
}

void test_cublas_runtime(cublasHandle_t h) {
  const int m = 3, n = 2, k = 4;
  Buf A(T::F32, m * k), B(T::F32, k * n), C(T::F32, m * n);
  A.fill(-1, 1);
  B.fill(-1, 1);
  auto ref = [&](int i, int j) {
    double s = 0;
    for (int l = 0; l < k; l++) s += (double)A.get(i + l * m) * B.get(l + j * k);
    return s;
  };
  // the queued work captures alpha/beta by value at call time
  dvpsim_test::reset();
  dvpsim_test::set_deferred(true);
  float alpha = 2, beta = 0;
  cublasStatus_t st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, A.p(), CUDA_R_32F, m, B.p(), CUDA_R_32F,
                                   k, &beta, C.p(), CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  alpha = 5;
  beta = 1;
  C.fill_nan();
  dvpsim_test::drain();
  bool ok = st == CUBLAS_STATUS_SUCCESS;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) ok = ok && C.get(i + j * m) == 2.0f * (float)ref(i, j);
  check(ok, "gemm reads alpha/beta at call time (work deferred, host scalars changed before it ran)");
  // replayed twice (as a captured graph): beta = 1 accumulates twice, beta = 0 is idempotent
  Buf C0(T::F32, m * n);
  C0.fill(-1, 1);
  C = C0;
  const float one = 1;
  cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, A.p(), CUDA_R_32F, m, B.p(), CUDA_R_32F, k, &one, C.p(),
               CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  dvpsim_test::drain(2);
  ok = true;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float once = (float)ref(i, j) + C0.get(i + j * m);
      ok = ok && C.get(i + j * m) == (float)ref(i, j) + once;
    }
  check(ok, "gemm work replayed twice applies twice (C = AB + (AB + C0)), as a graph replay does");
  dvpsim_test::reset();
  // the stream set on the handle is the one work is queued on
  cublasSetStream_v2(h, reinterpret_cast<cudaStream_t>(0x5000));
  cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, A.p(), CUDA_R_32F, m, B.p(), CUDA_R_32F, k, &one, C.p(),
               CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  check(dvpsim_test::streams().size() == 1 && dvpsim_test::streams()[0] == reinterpret_cast<void*>(0x5000),
        "gemm is queued on the handle's stream");
  cublasSetStream_v2(h, nullptr);
  // the user workspace is scribbled (its contents are undefined after a call); SetStream resets it
  unsigned char* ws = static_cast<unsigned char*>(std::aligned_alloc(256, 4096));
  std::memset(ws, 0, 4096);
  check(cublasSetWorkspace_v2(h, ws, 4096) == CUBLAS_STATUS_SUCCESS, "cublasSetWorkspace_v2 (256-byte aligned)");
  dvpsim_test::reset();
  cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, A.p(), CUDA_R_32F, m, B.p(), CUDA_R_32F, k, &one, C.p(),
               CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  const size_t scribbled = 2 * 4 * m * n;
  bool pattern = true;
  for (size_t i = 0; i < 4096; i++) pattern = pattern && ws[i] == (i < scribbled ? 0xff : 0);
  bool checked = false;
  for (const auto& a : dvpsim_test::accesses()) checked = checked || (a.what == "workspace" && a.p == ws);
  check(pattern && checked, "gemm overwrites (and range-checks) the first 2*4*m*n workspace bytes");
  std::memset(ws, 0, 4096);
  cublasSetStream_v2(h, nullptr);
  cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, A.p(), CUDA_R_32F, m, B.p(), CUDA_R_32F, k, &one, C.p(),
               CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  check(std::all_of(ws, ws + 4096, [](unsigned char c) { return c == 0; }),
        "cublasSetStream_v2 resets the workspace to the default pool (user workspace no longer used)");
  std::free(ws);
  // strict device ranges: a C buffer one element short is a fault naming the call and operand
  dvpsim_test::reset();
  dvpsim_test::set_strict(true);
  dvpsim_test::add_allocation(A.p(), A.b.size());
  dvpsim_test::add_allocation(B.p(), B.b.size());
  dvpsim_test::add_allocation(C.p(), C.b.size() - 4);
  st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, A.p(), CUDA_R_32F, m, B.p(), CUDA_R_32F, k, &one, C.p(),
                    CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  dvpsim::DeviceFault f{0, ""};
  bool faulted = dvpsim_test::take_fault(&f);
  check(st == CUBLAS_STATUS_SUCCESS && faulted && f.code == 700 && f.message.find("cublasGemmEx: C") == 0,
        "gemm on a C allocation one element short faults (700) naming cublasGemmEx and C", f.message);
  dvpsim_test::reset();
}

// =================================================================================================
// cuDNN: convolutions
// =================================================================================================

cudnnDataType_t dnn_type(T t) { return t == T::F32 ? CUDNN_DATA_FLOAT : t == T::F16 ? CUDNN_DATA_HALF : CUDNN_DATA_BFLOAT16; }

/** A 4-D array in NCHW or NHWC storage, addressed by canonical (n, c, h, w). */
struct Arr {
  int n = 0, c = 0, h = 0, w = 0;
  bool nhwc = false;
  Buf buf;
  Arr() = default;
  Arr(T t, int n_, int c_, int h_, int w_, bool nhwc_) : n(n_), c(c_), h(h_), w(w_), nhwc(nhwc_), buf(t, (size_t)n_ * c_ * h_ * w_) {}
  size_t idx(int a, int b, int y, int x) const {
    return nhwc ? (((size_t)a * h + y) * w + x) * c + b : (((size_t)a * c + b) * h + y) * w + x;
  }
  float at(int a, int b, int y, int x) const { return buf.get(idx(a, b, y, x)); }
  size_t count() const { return buf.size(); }
  void* p() { return buf.p(); }
};

cudnnTensorDescriptor_t tensor_desc(const Arr& a) {
  cudnnTensorDescriptor_t d = nullptr;
  cudnnCreateTensorDescriptor(&d);
  cudnnSetTensor4dDescriptor(d, a.nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, dnn_type(a.buf.t), a.n, a.c, a.h, a.w);
  return d;
}

cudnnFilterDescriptor_t filter_desc(const Arr& a) {
  cudnnFilterDescriptor_t d = nullptr;
  cudnnCreateFilterDescriptor(&d);
  cudnnSetFilter4dDescriptor(d, dnn_type(a.buf.t), a.nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, a.n, a.c, a.h, a.w);
  return d;
}

struct ConvCfg {
  const char* name;
  int N, C, H, W, K, R, S, padH, padW, u, v, dilH, dilW, groups;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  bool nhwc = false;
  T t = T::F32;
  cudnnMathType_t math = CUDNN_FMA_MATH;
  int P() const { return (H + 2 * padH - ((R - 1) * dilH + 1)) / u + 1; }
  int Q() const { return (W + 2 * padW - ((S - 1) * dilW + 1)) / v + 1; }
};

/** A convolution problem: host data, descriptors, and long-double references by im2col/col2im. */
struct ConvCase {
  ConvCfg cfg;
  Arr x, w, y, dy;
  cudnnTensorDescriptor_t xd, yd;
  cudnnFilterDescriptor_t wd;
  cudnnConvolutionDescriptor_t cd;
  // references in canonical order: y[n][k][p][q], dx[n][c][h][w], dw[k][cg][r][s] (stored taps)
  std::vector<long double> yRef, yAbs, dxRef, dxAbs, dwRef, dwAbs;

  explicit ConvCase(const ConvCfg& c)
      : cfg(c), x(c.t, c.N, c.C, c.H, c.W, c.nhwc), w(c.t, c.K, c.C / c.groups, c.R, c.S, c.nhwc),
        y(c.t, c.N, c.K, c.P(), c.Q(), c.nhwc), dy(c.t, c.N, c.K, c.P(), c.Q(), c.nhwc) {
    x.buf.fill(-1, 1);
    w.buf.fill(-1, 1);
    dy.buf.fill(-1, 1);
    xd = tensor_desc(x);
    yd = tensor_desc(y);
    wd = filter_desc(w);
    cudnnCreateConvolutionDescriptor(&cd);
    cudnnSetConvolution2dDescriptor(cd, c.padH, c.padW, c.u, c.v, c.dilH, c.dilW, c.mode, CUDNN_DATA_FLOAT);
    cudnnSetConvolutionGroupCount(cd, c.groups);
    cudnnSetConvolutionMathType(cd, c.math);
    references();
  }
  ~ConvCase() {
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyConvolutionDescriptor(cd);
  }
  ConvCase(const ConvCase&) = delete;
  ConvCase& operator=(const ConvCase&) = delete;

  bool tf32() const { return cfg.t == T::F32 && cfg.math != CUDNN_FMA_MATH; }
  double in(float v) const { return tf32() ? ref_tf32(v) : v; }

  void references() {
    const ConvCfg& c = cfg;
    const int G = c.groups, Cg = c.C / G, Kg = c.K / G, P = c.P(), Q = c.Q(), J = Cg * c.R * c.S;
    yRef.assign((size_t)c.N * c.K * P * Q, 0);
    yAbs = yRef;
    dxRef.assign((size_t)c.N * c.C * c.H * c.W, 0);
    dxAbs = dxRef;
    dwRef.assign((size_t)c.K * Cg * c.R * c.S, 0);
    dwAbs = dwRef;
    for (int n = 0; n < c.N; n++)
      for (int g = 0; g < G; g++) {
        // im2col: col[j][pq] with j = (cg*R + r)*S + s; the effective (cross-correlation) filter
        // Weff[kk][j] is the stored filter, rotated by 180 degrees for CUDNN_CONVOLUTION
        std::vector<long double> col((size_t)J * P * Q, 0), Weff((size_t)Kg * J);
        std::vector<int> hpos((size_t)J * P * Q, -1), wpos((size_t)J * P * Q, -1);
        for (int cg = 0; cg < Cg; cg++)
          for (int r = 0; r < c.R; r++)
            for (int s = 0; s < c.S; s++) {
              const int j = (cg * c.R + r) * c.S + s;
              for (int kk = 0; kk < Kg; kk++) {
                const int rr = c.mode == CUDNN_CONVOLUTION ? c.R - 1 - r : r;
                const int ss = c.mode == CUDNN_CONVOLUTION ? c.S - 1 - s : s;
                Weff[(size_t)kk * J + j] = in(w.at(g * Kg + kk, cg, rr, ss));
              }
              for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                  const int hh = p * c.u - c.padH + r * c.dilH, ww = q * c.v - c.padW + s * c.dilW;
                  if (hh < 0 || hh >= c.H || ww < 0 || ww >= c.W) continue;
                  const size_t at = (size_t)j * P * Q + p * Q + q;
                  col[at] = in(x.at(n, g * Cg + cg, hh, ww));
                  hpos[at] = hh;
                  wpos[at] = ww;
                }
            }
        for (int kk = 0; kk < Kg; kk++)
          for (int pq = 0; pq < P * Q; pq++) {
            const int k = g * Kg + kk;
            const size_t yi = ((size_t)n * c.K + k) * P * Q + pq;
            const long double dyv = in(dy.at(n, k, pq / Q, pq % Q));
            for (int j = 0; j < J; j++) {
              const long double a = Weff[(size_t)kk * J + j], b = col[(size_t)j * P * Q + pq];
              yRef[yi] += a * b;  // y = Weff * col
              yAbs[yi] += std::fabs(a * b);
              // dW_eff += dy * col^T, stored at the rotated tap for CUDNN_CONVOLUTION
              const int cg = j / (c.R * c.S), r = j / c.S % c.R, s = j % c.S;
              const int rr = c.mode == CUDNN_CONVOLUTION ? c.R - 1 - r : r;
              const int ss = c.mode == CUDNN_CONVOLUTION ? c.S - 1 - s : s;
              const size_t wi = (((size_t)k * Cg + cg) * c.R + rr) * c.S + ss;
              dwRef[wi] += dyv * b;
              dwAbs[wi] += std::fabs(dyv * b);
              // dcol = Weff^T * dy, scattered back (col2im) to the x element that column entry came from
              const size_t at = (size_t)j * P * Q + pq;
              if (hpos[at] >= 0) {
                const size_t xi = (((size_t)n * c.C + g * Cg + cg) * c.H + hpos[at]) * c.W + wpos[at];
                dxRef[xi] += a * dyv;
                dxAbs[xi] += std::fabs(a * dyv);
              }
            }
          }
      }
  }
};

/**
 * Compares an output array (canonical iteration) with alpha*ref + beta*old. Tolerance per element:
 * float blend 2u(|alpha ref| + |beta old| + |t|), double sum SUM_ERR*|alpha|*sum|terms|, extra
 * slices*u*|alpha|*sum|terms| for float-combined partial sums (non-deterministic algorithms), output
 * half-ulp of |t|, smallest subnormal of the output type.
 */
bool check_out(const std::string& name, const Arr& got, const Arr* old, const std::vector<long double>& ref,
               const std::vector<long double>& abs, float alpha, float beta, int float_slices = 0) {
  Worst wst;
  size_t i = 0;
  for (int a = 0; a < got.n; a++)
    for (int b = 0; b < got.c; b++)
      for (int y = 0; y < got.h; y++)
        for (int x = 0; x < got.w; x++, i++) {
          const double o = old != nullptr && beta != 0 ? old->at(a, b, y, x) : 0.0;
          const double t = alpha * (double)ref[i] + beta * o;
          const double tol = 2 * U * (std::fabs(alpha * (double)ref[i]) + std::fabs(beta * o) + std::fabs(t)) +
                             (SUM_ERR + float_slices * U) * std::fabs(alpha) * (double)abs[i] +
                             out_u(got.buf.t) * std::fabs(t) + out_tiny(got.buf.t);
          wst.add(i, got.at(a, b, y, x), t, tol);
        }
  return check(wst.ok(), name, wst.str());
}

cudnnHandle_t g_dnn = nullptr;

/** The workspace an algorithm needs, in a fresh 256-byte-aligned buffer (freed by the caller). */
struct Workspace {
  size_t bytes = 0;
  unsigned char* p = nullptr;
  explicit Workspace(size_t b) : bytes(b), p(static_cast<unsigned char*>(std::aligned_alloc(256, std::max<size_t>(256, (b + 255) / 256 * 256)))) {}
  ~Workspace() { std::free(p); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  bool scribbled() const { return std::all_of(p, p + bytes, [](unsigned char c) { return c == 0xff; }); }
};

size_t fwd_ws(ConvCase& cc, int algo) {
  size_t s = 0;
  cudnnGetConvolutionForwardWorkspaceSize(g_dnn, cc.xd, cc.wd, cc.cd, cc.yd, (cudnnConvolutionFwdAlgo_t)algo, &s);
  return s;
}
size_t bwd_data_ws(ConvCase& cc, int algo) {
  size_t s = 0;
  cudnnGetConvolutionBackwardDataWorkspaceSize(g_dnn, cc.wd, cc.yd, cc.cd, cc.xd, (cudnnConvolutionBwdDataAlgo_t)algo, &s);
  return s;
}
size_t bwd_filter_ws(ConvCase& cc, int algo) {
  size_t s = 0;
  cudnnGetConvolutionBackwardFilterWorkspaceSize(g_dnn, cc.xd, cc.yd, cc.cd, cc.wd, (cudnnConvolutionBwdFilterAlgo_t)algo, &s);
  return s;
}

cudnnStatus_t forward(ConvCase& cc, int algo, float alpha, float beta, Arr& y) {
  Workspace ws(fwd_ws(cc, algo));
  return cudnnConvolutionForward(g_dnn, &alpha, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd, (cudnnConvolutionFwdAlgo_t)algo,
                                 ws.p, ws.bytes, &beta, cc.yd, y.p());
}
cudnnStatus_t backward_data(ConvCase& cc, int algo, float alpha, float beta, Arr& dx) {
  Workspace ws(bwd_data_ws(cc, algo));
  return cudnnConvolutionBackwardData(g_dnn, &alpha, cc.wd, cc.w.p(), cc.yd, cc.dy.p(), cc.cd,
                                      (cudnnConvolutionBwdDataAlgo_t)algo, ws.p, ws.bytes, &beta, cc.xd, dx.p());
}
cudnnStatus_t backward_filter(ConvCase& cc, int algo, float alpha, float beta, Arr& dw) {
  Workspace ws(bwd_filter_ws(cc, algo));
  return cudnnConvolutionBackwardFilter(g_dnn, &alpha, cc.xd, cc.x.p(), cc.yd, cc.dy.p(), cc.cd,
                                        (cudnnConvolutionBwdFilterAlgo_t)algo, ws.p, ws.bytes, &beta, cc.wd, dw.p());
}

/** Forward, backward-data and backward-filter against im2col/col2im, plus the adjoint identity. */
void test_conv_config(const ConvCfg& cfg) {
  ConvCase cc(cfg);
  const std::string tag = fmt("%s [%s %s %s]", cfg.name, tname(cfg.t), cfg.nhwc ? "NHWC" : "NCHW",
                              cfg.math == CUDNN_FMA_MATH ? "FMA_MATH" : "DEFAULT_MATH");
  Arr y = cc.y, dx = cc.x, dw = cc.w;
  y.buf.fill_nan();  // beta = 0: outputs are not read
  dx.buf.fill_nan();
  dw.buf.fill_nan();
  cudnnStatus_t s1 = forward(cc, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, 1, 0, y);
  cudnnStatus_t s2 = backward_data(cc, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, 1, 0, dx);
  cudnnStatus_t s3 = backward_filter(cc, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, 1, 0, dw);
  if (!check(s1 == 0 && s2 == 0 && s3 == 0, "conv " + tag + ": statuses", fmt("%d %d %d", s1, s2, s3))) return;
  check_out("conv forward " + tag + " vs im2col product", y, nullptr, cc.yRef, cc.yAbs, 1, 0);
  check_out("conv backward-data " + tag + " vs col2im of W^T dy", dx, nullptr, cc.dxRef, cc.dxAbs, 1, 0);
  check_out("conv backward-filter " + tag + " vs dy col^T", dw, nullptr, cc.dwRef, cc.dwAbs, 1, 0);
  if (cfg.t != T::F32 || cc.tf32()) return;
  // adjoint identity on the simulator's own outputs: <y, dy> = <x, dx> = <w, dw>. Each inner
  // product's error is at most sum |other_i| * (u |out_i| + SUM_ERR * abs_i).
  auto inner = [](const Arr& a, const Arr& b, const std::vector<long double>& absB, long double* bound) {
    long double s = 0, e = 0;
    size_t i = 0;
    for (int n = 0; n < a.n; n++)
      for (int c = 0; c < a.c; c++)
        for (int h = 0; h < a.h; h++)
          for (int w = 0; w < a.w; w++, i++) {
            s += (long double)a.at(n, c, h, w) * b.at(n, c, h, w);
            e += std::fabs(a.at(n, c, h, w)) * (U * std::fabs(b.at(n, c, h, w)) + SUM_ERR * absB[i]);
          }
    *bound = e;
    return s;
  };
  long double e1, e2, e3;
  const long double l1 = inner(cc.dy, y, cc.yAbs, &e1), l2 = inner(cc.x, dx, cc.dxAbs, &e2), l3 = inner(cc.w, dw, cc.dwAbs, &e3);
  check(std::fabs(l1 - l2) <= e1 + e2 && std::fabs(l1 - l3) <= e1 + e3,
        "conv adjoint identity " + tag + ": <conv(x,w),dy> = <x,dgrad(dy,w)> = <w,wgrad(x,dy)>",
        fmt("%.12Lg %.12Lg %.12Lg, bounds %.3Lg %.3Lg", l1, l2, l3, e1 + e2, e1 + e3));
}

void test_conv_numerics() {
  // (name, N, C, H, W, K, R, S, padH, padW, u, v, dilH, dilW, groups)
  ConvCfg a{"A 2x3x7x9 k5 3x2 pad(1,0) stride(2,1) dil(1,2)", 2, 3, 7, 9, 5, 3, 2, 1, 0, 2, 1, 1, 2, 1};
  ConvCfg b{"B 3x6x5x6 k4 3x3 pad(2,1) stride(1,2) dil(2,1) groups 2 CONVOLUTION", 3, 6, 5, 6, 4, 3, 3, 2, 1, 1, 2, 2, 1, 2};
  b.mode = CUDNN_CONVOLUTION;
  ConvCfg c{"C depthwise 2x4x7x7 3x3 pad 1 stride 2 groups 4", 2, 4, 7, 7, 4, 3, 3, 1, 1, 2, 2, 1, 1, 4};
  ConvCfg d{"D 1x1 filter, pad 1, stride 2 (zero border) 1x5x4x5 k3", 1, 5, 4, 5, 3, 1, 1, 1, 1, 2, 2, 1, 1, 1};
  ConvCfg e{"E groups 3 k6 2x2 dil 3 2x3x8x7", 2, 3, 8, 7, 6, 2, 2, 0, 1, 1, 1, 3, 3, 3};
  for (ConvCfg cfg : {a, b, c, d, e}) {
    test_conv_config(cfg);
    cfg.nhwc = true;
    test_conv_config(cfg);
  }
  for (T t : {T::F16, T::BF16})
    for (ConvCfg cfg : {a, b}) {
      cfg.t = t;
      test_conv_config(cfg);
      cfg.nhwc = true;
      test_conv_config(cfg);
    }
  // DEFAULT_MATH on fp32: TF32 inputs (the reference rounds x, w, dy with frexp/round)
  ConvCfg t = a;
  t.math = CUDNN_DEFAULT_MATH;
  test_conv_config(t);
  {
    ConvCase fma(a);
    ConvCfg tc = a;
    tc.math = CUDNN_DEFAULT_MATH;
    ConvCase tf(tc);
    tf.x.buf = fma.x.buf;
    tf.w.buf = fma.w.buf;
    Arr y1 = fma.y, y2 = tf.y;
    forward(fma, 0, 1, 0, y1);
    forward(tf, 0, 1, 0, y2);
    check(y1.buf.b != y2.buf.b, "conv DEFAULT_MATH (TF32) differs from FMA_MATH on the same fp32 data");
  }
  // NHWC and NCHW give the same numbers for the same logical data
  {
    ConvCase nchw(b);
    ConvCfg bn = b;
    bn.nhwc = true;
    ConvCase nhwc(bn);
    for (int n = 0; n < b.N; n++)
      for (int ch = 0; ch < b.C; ch++)
        for (int h = 0; h < b.H; h++)
          for (int w = 0; w < b.W; w++) nhwc.x.buf.set(nhwc.x.idx(n, ch, h, w), nchw.x.at(n, ch, h, w));
    for (int k = 0; k < b.K; k++)
      for (int ch = 0; ch < b.C / b.groups; ch++)
        for (int r = 0; r < b.R; r++)
          for (int s = 0; s < b.S; s++) nhwc.w.buf.set(nhwc.w.idx(k, ch, r, s), nchw.w.at(k, ch, r, s));
    Arr y1 = nchw.y, y2 = nhwc.y;
    forward(nchw, 1, 1, 0, y1);
    forward(nhwc, 1, 1, 0, y2);
    Worst wst;
    size_t i = 0;
    for (int n = 0; n < y1.n; n++)
      for (int k = 0; k < y1.c; k++)
        for (int p = 0; p < y1.h; p++)
          for (int q = 0; q < y1.w; q++, i++)
            wst.add(i, y2.at(n, k, p, q), y1.at(n, k, p, q), 2 * U * std::fabs(y1.at(n, k, p, q)) + out_tiny(T::F32));
    check(wst.ok(), "conv NHWC (x, y, KRSC filter) equals NCHW (KCRS) on the same logical data", wst.str());
  }
  // groups equal per-group convolutions (each group its own groups=1 call on slices)
  {
    ConvCfg g{"groups 3", 2, 6, 5, 7, 9, 3, 2, 1, 1, 1, 2, 1, 1, 3};
    ConvCase whole(g);
    Arr y = whole.y;
    forward(whole, 1, 1, 0, y);
    Worst wst;
    const int G = 3, Cg = 2, Kg = 3;
    for (int gi = 0; gi < G; gi++) {
      ConvCfg one = g;
      one.C = Cg;
      one.K = Kg;
      one.groups = 1;
      ConvCase part(one);
      for (int n = 0; n < g.N; n++)
        for (int ch = 0; ch < Cg; ch++)
          for (int h = 0; h < g.H; h++)
            for (int w = 0; w < g.W; w++) part.x.buf.set(part.x.idx(n, ch, h, w), whole.x.at(n, gi * Cg + ch, h, w));
      for (int k = 0; k < Kg; k++)
        for (int ch = 0; ch < Cg; ch++)
          for (int r = 0; r < g.R; r++)
            for (int s = 0; s < g.S; s++) part.w.buf.set(part.w.idx(k, ch, r, s), whole.w.at(gi * Kg + k, ch, r, s));
      Arr yp = part.y;
      forward(part, 1, 1, 0, yp);
      for (int n = 0; n < g.N; n++)
        for (int k = 0; k < Kg; k++)
          for (int p = 0; p < y.h; p++)
            for (int q = 0; q < y.w; q++)
              wst.add(y.idx(n, gi * Kg + k, p, q), y.at(n, gi * Kg + k, p, q), yp.at(n, k, p, q),
                      2 * U * std::fabs(yp.at(n, k, p, q)) + out_tiny(T::F32));
    }
    check(wst.ok(), "conv groups=3 equals three groups=1 convolutions on channel slices", wst.str());
  }
  // alpha/beta blending in all three directions; beta = 0 never reads the output (NaN stays out)
  {
    ConvCase cc(a);
    const float alpha = 0.5f, beta = -1.25f;
    Arr y = cc.y, dx = cc.x, dw = cc.w;
    y.buf.fill(-2, 2);
    dx.buf.fill(-2, 2);
    dw.buf.fill(-2, 2);
    Arr y0 = y, dx0 = dx, dw0 = dw;
    check(forward(cc, 2, alpha, beta, y) == 0 && backward_data(cc, 1, alpha, beta, dx) == 0 &&
              backward_filter(cc, 1, alpha, beta, dw) == 0,
          "conv alpha/beta calls succeed");
    check_out("conv forward y = 0.5*conv - 1.25*y", y, &y0, cc.yRef, cc.yAbs, alpha, beta);
    check_out("conv backward-data dx = 0.5*dgrad - 1.25*dx", dx, &dx0, cc.dxRef, cc.dxAbs, alpha, beta);
    check_out("conv backward-filter dw = 0.5*wgrad - 1.25*dw", dw, &dw0, cc.dwRef, cc.dwAbs, alpha, beta);
  }
  // the blend is float arithmetic on the float-rounded result: exactly fl(fl(alpha*v) + fl(beta*old))
  {
    ConvCase cc(b);
    const float alpha = 0.7f, beta = -1.3f;
    Arr v = cc.y, y = cc.y, dxv = cc.x, dx = cc.x, dwv = cc.w, dw = cc.w;
    y.buf.fill(-1, 1);
    dx.buf.fill(-1, 1);
    dw.buf.fill(-1, 1);
    const Arr y0 = y, dx0 = dx, dw0 = dw;
    forward(cc, 0, 1, 0, v);
    forward(cc, 0, alpha, beta, y);
    backward_data(cc, 1, 1, 0, dxv);
    backward_data(cc, 1, alpha, beta, dx);
    backward_filter(cc, 1, 1, 0, dwv);
    backward_filter(cc, 1, alpha, beta, dw);
    int bad = 0;
    auto cmp = [&](const Arr& got, const Arr& val, const Arr& old) {
      for (size_t i = 0; i < got.count(); i++) {
        const float t1 = alpha * val.buf.get(i), t2 = beta * old.buf.get(i);
        bad += got.buf.get(i) != t1 + t2;
      }
    };
    cmp(y, v, y0);
    cmp(dx, dxv, dx0);
    cmp(dw, dwv, dw0);
    check(bad == 0, "conv fwd/dgrad/wgrad alpha=0.7 beta=-1.3 are exactly float(float(alpha*v) + float(beta*old))",
          fmt("%d differ", bad));
  }
  // output rounding of fp16 / bf16 at exact ties: y = x0*w0 + x1*w1 with a 1x1 filter
  {
    struct RC { T t; float x0, x1; float want; const char* what; };
    const float b8 = std::ldexp(1.0f, -8), b7 = std::ldexp(1.0f, -7), h11 = std::ldexp(1.0f, -11), h10 = std::ldexp(1.0f, -10);
    const RC cases[] = {
        {T::BF16, 1, b8, 1.0f, "bf16 1+2^-8 -> 1 (ties to even)"},
        {T::BF16, 1 + b7, b8, 1 + 2 * b7, "bf16 1+3*2^-8 -> 1+2^-6 (ties to even)"},
        {T::F16, 1, h11, 1.0f, "f16 1+2^-11 -> 1 (ties to even)"},
        {T::F16, 1 + h10, h11, 1 + 2 * h10, "f16 1+3*2^-11 -> 1+2^-9 (ties to even)"},
    };
    for (const RC& rc : cases) {
      ConvCfg one{"tie", 1, 2, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
      one.t = rc.t;
      ConvCase cc(one);
      cc.x.buf.set(0, rc.x0);
      cc.x.buf.set(1, rc.x1);
      cc.w.buf.set(0, 1);
      cc.w.buf.set(1, 1);
      Arr y = cc.y;
      cudnnStatus_t st = forward(cc, 0, 1, 0, y);
      const double exact = (double)rc.x0 + rc.x1;
      check(st == 0 && y.at(0, 0, 0, 0) == rc.want &&
                (rc.t == T::BF16 ? ref_bf16(exact) : ref_half(exact)) == rc.want,
            fmt("conv output rounding %s", rc.what), fmt("got %.10g", y.at(0, 0, 0, 0)));
    }
  }
}

void test_conv_algorithms() {
  ConvCfg cfg{"nd", 3, 4, 6, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  ConvCase cc(cfg);
  // forward: the _v7 records, their workspace sizes and the Java chooser's pick
  {
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int count = -1;
    cudnnStatus_t st = cudnnGetConvolutionForwardAlgorithm_v7(g_dnn, cc.xd, cc.wd, cc.cd, cc.yd, 8, &count, perf);
    bool consistent = st == 0 && count == 8;
    int ok_algos = 0;
    for (int i = 0; i < count; i++) {
      const auto& p = perf[i];
      size_t ws = 12345;
      cudnnStatus_t ws_st = cudnnGetConvolutionForwardWorkspaceSize(g_dnn, cc.xd, cc.wd, cc.cd, cc.yd, p.algo, &ws);
      if (p.status == CUDNN_STATUS_SUCCESS) {
        ok_algos++;
        consistent = consistent && ws_st == 0 && ws == p.memory && p.determinism == CUDNN_DETERMINISTIC;
        Arr y = cc.y;
        consistent = consistent && forward(cc, p.algo, 1, 0, y) == 0;
      } else {
        consistent = consistent && p.status == CUDNN_STATUS_NOT_SUPPORTED && ws_st == CUDNN_STATUS_NOT_SUPPORTED;
      }
      consistent = consistent && p.mathType == CUDNN_FMA_MATH && p.time < 0;
    }
    check(consistent && ok_algos == 3 && perf[0].status == 0,
          "forward _v7: 8 records; the 3 simulated are deterministic, memory = GetWorkspaceSize, run; the rest NOT_SUPPORTED",
          fmt("status %d count %d simulated %d", st, count, ok_algos));
    size_t precomp = 0, gemm = 0;
    precomp = fwd_ws(cc, 1);
    gemm = fwd_ws(cc, 2);
    check(fwd_ws(cc, 0) == 0 && precomp == 2 * sizeof(int) * 4 * 3 * 3 && gemm == (size_t)4 * 3 * 3 * 6 * 5 * 4,
          "forward workspace sizes: IMPLICIT_GEMM 0, PRECOMP 8*C*R*S, GEMM C*R*S*P*Q*4",
          fmt("%zu %zu", precomp, gemm));
    count = -1;
    st = cudnnGetConvolutionForwardAlgorithm_v7(g_dnn, cc.xd, cc.wd, cc.cd, cc.yd, 2, &count, perf);
    check(st == 0 && count == 2, "forward _v7 with requestedAlgoCount 2 returns 2 records");
  }
  // backward: non-deterministic algorithms first, as the chooser must filter them
  auto chooser = [](auto* perf, int count) {  // Cudnn.chooseAlgorithm: first success + deterministic
    for (int i = 0; i < count; i++)
      if (perf[i].status == 0 && perf[i].determinism == CUDNN_DETERMINISTIC) return (int)perf[i].algo;
    return -1;
  };
  {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[8];
    int count = -1;
    cudnnStatus_t st = cudnnGetConvolutionBackwardFilterAlgorithm_v7(g_dnn, cc.xd, cc.yd, cc.cd, cc.wd, 8, &count, perf);
    bool marks = st == 0 && count == 7;
    for (int i = 0; i < count; i++) {
      const bool nondet = perf[i].algo == 0 || perf[i].algo == 3;
      marks = marks && (perf[i].determinism == (nondet ? CUDNN_NON_DETERMINISTIC : CUDNN_DETERMINISTIC));
      if (perf[i].status == 0) marks = marks && perf[i].memory == bwd_filter_ws(cc, perf[i].algo);
    }
    check(marks && perf[0].algo == 0 && perf[0].status == 0 && perf[1].algo == 3 && chooser(perf, count) == 1,
          "backward-filter _v7: algos 0 and 3 first, marked NON_DETERMINISTIC; memory = GetWorkspaceSize; chooser picks 1");
    size_t ws = 0;
    check(cudnnGetConvolutionBackwardFilterWorkspaceSize(g_dnn, cc.xd, cc.yd, cc.cd, cc.wd,
                                                         CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD, &ws) ==
              CUDNN_STATUS_NOT_SUPPORTED,
          "backward-filter WINOGRAD (not implemented) -> NOT_SUPPORTED");
  }
  {
    cudnnConvolutionBwdDataAlgoPerf_t perf[8];
    int count = -1;
    cudnnStatus_t st = cudnnGetConvolutionBackwardDataAlgorithm_v7(g_dnn, cc.wd, cc.yd, cc.cd, cc.xd, 8, &count, perf);
    check(st == 0 && count == 6 && perf[0].algo == 0 && perf[0].determinism == CUDNN_NON_DETERMINISTIC &&
              perf[0].status == 0 && chooser(perf, count) == 1 && perf[1].memory == bwd_data_ws(cc, 1),
          "backward-data _v7: algo 0 first, NON_DETERMINISTIC; chooser picks 1");
  }
  // non-deterministic algorithms: correct within the float-combination bound, and not bitwise stable
  {
    const std::string tag = "(N=3 images, R=3 filter rows, float-combined partials)";
    Arr d1 = cc.w, d2 = cc.w;
    backward_filter(cc, 1, 1, 0, d1);
    backward_filter(cc, 1, 1, 0, d2);
    check(d1.buf.b == d2.buf.b, "backward-filter algo 1 (deterministic) is bitwise reproducible");
    bool differs = false, all_ok = true;
    for (int algo : {0, 3}) {
      std::vector<unsigned char> first;
      for (int run = 0; run < 4; run++) {
        Arr dw = cc.w;
        cudnnStatus_t st = backward_filter(cc, algo, 1, 0, dw);
        all_ok = all_ok && st == 0;
        if (run == 0) {
          all_ok = check_out(fmt("backward-filter algo %d %s vs reference", algo, tag.c_str()), dw, nullptr, cc.dwRef,
                             cc.dwAbs, 1, 0, cfg.N + 1) && all_ok;
          first = dw.buf.b;
        } else {
          differs = differs || dw.buf.b != first;
        }
      }
    }
    check(all_ok && differs, "backward-filter algos 0/3 give run-to-run bit differences (atomics-like order)");
    Arr x1 = cc.x, x2 = cc.x;
    backward_data(cc, 1, 1, 0, x1);
    backward_data(cc, 1, 1, 0, x2);
    check(x1.buf.b == x2.buf.b, "backward-data algo 1 (deterministic) is bitwise reproducible");
    differs = false;
    std::vector<unsigned char> first;
    for (int run = 0; run < 4; run++) {
      Arr dx = cc.x;
      backward_data(cc, 0, 1, 0, dx);
      if (run == 0) {
        check_out("backward-data algo 0 " + tag + " vs reference", dx, nullptr, cc.dxRef, cc.dxAbs, 1, 0, cfg.R + 1);
        first = dx.buf.b;
      } else {
        differs = differs || dx.buf.b != first;
      }
    }
    check(differs, "backward-data algo 0 gives run-to-run bit differences");
  }
  // workspace: too small refused; the bytes are overwritten; a workspace aliasing x corrupts y
  {
    const size_t need = fwd_ws(cc, CUDNN_CONVOLUTION_FWD_ALGO_GEMM);
    Workspace ws(need);
    std::memset(ws.p, 0, need);
    const float one = 1, zero = 0;
    Arr y = cc.y;
    cudnnStatus_t small = cudnnConvolutionForward(g_dnn, &one, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd,
                                                  CUDNN_CONVOLUTION_FWD_ALGO_GEMM, ws.p, need - 1, &zero, cc.yd, y.p());
    check(small == CUDNN_STATUS_BAD_PARAM && std::all_of(ws.p, ws.p + need, [](unsigned char c) { return c == 0; }),
          "forward GEMM with workspace one byte short -> BAD_PARAM, nothing queued");
    dvpsim_test::reset();
    cudnnStatus_t st = cudnnConvolutionForward(g_dnn, &one, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd,
                                               CUDNN_CONVOLUTION_FWD_ALGO_GEMM, ws.p, need, &zero, cc.yd, y.p());
    bool ranged = false;
    for (const auto& a : dvpsim_test::accesses()) ranged = ranged || (a.what == "workSpace" && a.p == ws.p && a.bytes == need);
    check(st == 0 && ws.scribbled() && ranged, "forward GEMM overwrites and range-checks its whole workspace");
    check_out("forward GEMM algorithm result", y, nullptr, cc.yRef, cc.yAbs, 1, 0);
    Buf shared(T::F32, std::max(cc.x.count(), need / 4 + 1));
    std::memcpy(shared.p(), cc.x.p(), cc.x.buf.b.size());
    cudnnConvolutionForward(g_dnn, &one, cc.xd, shared.p(), cc.wd, cc.w.p(), cc.cd, CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
                            shared.p(), need, &zero, cc.yd, y.p());
    check(!y.buf.all_finite(), "a workspace that aliases x shows up (y gets NaN)");
  }
}

/** Whether records [0, n) list the successful ones first, those by ascending time, failures with time -1. */
template <class Perf>
bool sorted_by_time(const Perf* perf, int n) {
  bool failures = false;
  for (int i = 0; i < n; i++) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) {
      failures = true;
      if (perf[i].time != -1.0f) return false;
    } else if (failures || perf[i].time <= 0 || (i > 0 && perf[i].time < perf[i - 1].time)) {
      return false;
    }
  }
  return true;
}

/** How many times a library call range-checked an argument named `what` since the last reset. */
int accesses_of(const std::string& call, const std::string& what) {
  int n = 0;
  for (const auto& a : dvpsim_test::accesses()) n += a.call == call && a.what == what;
  return n;
}

/** cudnnFind*AlgorithmEx: every simulated algorithm really run on the given buffers, records sorted. */
void test_conv_find() {
  ConvCfg cfg{"find", 3, 4, 6, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  ConvCase cc(cfg);
  const size_t big = 1 << 20;  // more than any algorithm of this shape needs
  {
    Workspace ws(big);
    std::memset(ws.p, 0, ws.bytes);
    Arr y = cc.y;
    y.buf.fill_nan();
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int count = -1;
    dvpsim_test::reset();
    dvpsim_test::set_deferred(true);  // Find must drain its own work (it synchronises)
    cudnnStatus_t st = cudnnFindConvolutionForwardAlgorithmEx(g_dnn, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd, cc.yd,
                                                              y.p(), 8, &count, perf, ws.p, ws.bytes);
    const int queued = dvpsim_test::drain();
    dvpsim_test::set_deferred(false);
    const int runs = accesses_of("cudnnFindConvolutionForwardAlgorithmEx", "x");
    bool records = st == 0 && count == 8 && sorted_by_time(perf, count);
    int ok = 0;
    for (int i = 0; i < count; i++) {
      const auto& p = perf[i];
      records = records && p.mathType == CUDNN_FMA_MATH && p.determinism == CUDNN_DETERMINISTIC;
      if (p.status == CUDNN_STATUS_SUCCESS) {
        ok++;
        records = records && p.memory == fwd_ws(cc, p.algo);
      } else {
        records = records && p.status == CUDNN_STATUS_NOT_SUPPORTED && p.memory == 0;
      }
    }
    check(records && ok == 3 && runs == 3 && queued == 0,
          "forward Find: 8 records, the 3 simulated first by modelled time (memory = GetWorkspaceSize, deterministic), "
          "each run once before the call returned; the rest NOT_SUPPORTED, time -1",
          fmt("status %d count %d ok %d runs %d left queued %d", st, count, ok, runs, queued));
    check_out("forward Find leaves a correct y (every algorithm computed it)", y, nullptr, cc.yRef, cc.yAbs, 1, 0);
    size_t most = 0;
    for (int i = 0; i < count; i++) most = std::max(most, perf[i].status == 0 ? perf[i].memory : 0);
    check(most > 0 && std::all_of(ws.p, ws.p + most, [](unsigned char b) { return b == 0xff; }),
          "forward Find overwrites the workspace its algorithms use", fmt("%zu bytes", most));
    // the modelled time: 1e-6 * (MACs * factor + 2 * workspace bytes), PRECOMP (factor 1) ahead here
    const double macs = 3.0 * 5 * 6 * 5 * 4 * 3 * 3;
    check(perf[0].algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM &&
              perf[0].time == (float)(1e-6 * (macs + 2.0 * fwd_ws(cc, 1))),
          "forward Find: PRECOMP first for a 3x3 convolution, time = the stated model",
          fmt("first %d time %g", (int)perf[0].algo, perf[0].time));
    int one = -1;
    cudnnConvolutionFwdAlgoPerf_t best[1];
    st = cudnnFindConvolutionForwardAlgorithmEx(g_dnn, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd, cc.yd, y.p(), 1, &one,
                                                best, ws.p, ws.bytes);
    check(st == 0 && one == 1 && best[0].algo == perf[0].algo, "forward Find with requestedAlgoCount 1: the best record");
    // a workspace too small for some algorithms: those are not run, reported BAD_PARAM with what they need
    dvpsim_test::reset();
    st = cudnnFindConvolutionForwardAlgorithmEx(g_dnn, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd, cc.yd, y.p(), 8, &count,
                                                perf, nullptr, 0);
    bool small = st == 0 && count == 8 && perf[0].algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM &&
                 perf[0].status == 0 && sorted_by_time(perf, count) &&
                 accesses_of("cudnnFindConvolutionForwardAlgorithmEx", "x") == 1;
    for (int i = 1; i < count; i++)
      if (perf[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM || perf[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM)
        small = small && perf[i].status == CUDNN_STATUS_BAD_PARAM && perf[i].memory == fwd_ws(cc, perf[i].algo);
    check(small, "forward Find without a workspace: only IMPLICIT_GEMM runs; PRECOMP and GEMM BAD_PARAM with their needs");
    // the order depends on the shape: a 1x1 convolution with many filters puts GEMM first (_v7 puts PRECOMP first)
    ConvCfg wide{"find 1x1 k64", 2, 8, 5, 5, 64, 1, 1, 0, 0, 1, 1, 1, 1, 1};
    ConvCase cw(wide);
    Arr yw = cw.y;
    st = cudnnFindConvolutionForwardAlgorithmEx(g_dnn, cw.xd, cw.x.p(), cw.wd, cw.w.p(), cw.cd, cw.yd, yw.p(), 8, &count,
                                                perf, ws.p, ws.bytes);
    cudnnConvolutionFwdAlgoPerf_t h7[8];
    int c7 = 0;
    cudnnGetConvolutionForwardAlgorithm_v7(g_dnn, cw.xd, cw.wd, cw.cd, cw.yd, 8, &c7, h7);
    check(st == 0 && perf[0].algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM && h7[0].algo != perf[0].algo,
          "forward Find on a 1x1 convolution with 64 filters: GEMM first, unlike the _v7 heuristic order");
    // Find synchronises: on a capturing stream that fails, and nothing is queued
    dvpsim_test::reset();
    dvpsim_test::fail_next_synchronize(900);
    st = cudnnFindConvolutionForwardAlgorithmEx(g_dnn, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd, cc.yd, y.p(), 8, &count,
                                                perf, ws.p, ws.bytes);
    check(st == CUDNN_STATUS_EXECUTION_FAILED && accesses_of("cudnnFindConvolutionForwardAlgorithmEx", "x") == 0,
          "forward Find when the stream cannot synchronise (capturing: 900) -> EXECUTION_FAILED, nothing run");
    check(cudnnFindConvolutionForwardAlgorithmEx(g_dnn, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd, cc.yd, y.p(), 0, &count,
                                                 perf, ws.p, ws.bytes) == CUDNN_STATUS_BAD_PARAM &&
              cudnnFindConvolutionForwardAlgorithmEx(g_dnn, cc.xd, nullptr, cc.wd, cc.w.p(), cc.cd, cc.yd, y.p(), 8,
                                                     &count, perf, ws.p, ws.bytes) == CUDNN_STATUS_BAD_PARAM &&
              cudnnFindConvolutionForwardAlgorithmEx(g_dnn, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd, cc.yd, y.p(), 8,
                                                     &count, perf, nullptr, 16) == CUDNN_STATUS_BAD_PARAM,
          "forward Find: requestedAlgoCount 0, NULL x, NULL workspace with a size -> BAD_PARAM");
  }
  {
    Workspace ws(big);
    Arr dw = cc.w;
    dw.buf.fill_nan();
    cudnnConvolutionBwdFilterAlgoPerf_t perf[8];
    int count = -1;
    dvpsim_test::reset();
    cudnnStatus_t st = cudnnFindConvolutionBackwardFilterAlgorithmEx(g_dnn, cc.xd, cc.x.p(), cc.yd, cc.dy.p(), cc.cd,
                                                                     cc.wd, dw.p(), 8, &count, perf, ws.p, ws.bytes);
    bool records = st == 0 && count == 7 && sorted_by_time(perf, count);
    int ok = 0;
    for (int i = 0; i < count; i++) {
      const bool nondet = perf[i].algo == 0 || perf[i].algo == 3;
      records = records && perf[i].determinism == (nondet ? CUDNN_NON_DETERMINISTIC : CUDNN_DETERMINISTIC);
      if (perf[i].status == 0) {
        ok++;
        records = records && perf[i].memory == bwd_filter_ws(cc, perf[i].algo);
      }
    }
    check(records && ok == 3 && accesses_of("cudnnFindConvolutionBackwardFilterAlgorithmEx", "x") == 3,
          "backward-filter Find: 7 records, algos 0, 1, 3 run and sorted, 0 and 3 NON_DETERMINISTIC",
          fmt("status %d count %d ok %d", st, count, ok));
    check_out("backward-filter Find leaves a correct dw", dw, nullptr, cc.dwRef, cc.dwAbs, 1, 0, cfg.N + 1);
  }
  {
    Workspace ws(big);
    Arr dx = cc.x;
    dx.buf.fill_nan();
    cudnnConvolutionBwdDataAlgoPerf_t perf[8];
    int count = -1;
    dvpsim_test::reset();
    cudnnStatus_t st = cudnnFindConvolutionBackwardDataAlgorithmEx(g_dnn, cc.wd, cc.w.p(), cc.yd, cc.dy.p(), cc.cd,
                                                                   cc.xd, dx.p(), 8, &count, perf, ws.p, ws.bytes);
    bool records = st == 0 && count == 6 && sorted_by_time(perf, count) && perf[0].status == 0 && perf[1].status == 0 &&
                   perf[2].status == CUDNN_STATUS_NOT_SUPPORTED;
    for (int i = 0; i < 2; i++)
      records = records && perf[i].memory == bwd_data_ws(cc, perf[i].algo) &&
                perf[i].determinism == (perf[i].algo == 0 ? CUDNN_NON_DETERMINISTIC : CUDNN_DETERMINISTIC);
    check(records && accesses_of("cudnnFindConvolutionBackwardDataAlgorithmEx", "w") == 2,
          "backward-data Find: 6 records, algos 0 and 1 run and sorted (0 NON_DETERMINISTIC), the rest NOT_SUPPORTED",
          fmt("status %d count %d", st, count));
    check_out("backward-data Find leaves a correct dx", dx, nullptr, cc.dxRef, cc.dxAbs, 1, 0, cfg.R + 1);
  }
  dvpsim_test::reset();
}

void test_conv_errors() {
  ConvCfg base{"err", 2, 6, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2};
  ConvCase cc(base);
  const float one = 1, zero = 0;
  Workspace ws(4096);
  auto fwd = [&](cudnnTensorDescriptor_t xd, cudnnFilterDescriptor_t wd, cudnnConvolutionDescriptor_t cd,
                 cudnnTensorDescriptor_t yd, int algo = 0, size_t wsBytes = 4096) {
    return cudnnConvolutionForward(g_dnn, &one, xd, cc.x.p(), wd, cc.w.p(), cd, (cudnnConvolutionFwdAlgo_t)algo, ws.p,
                                   wsBytes, &zero, yd, cc.y.p());
  };
  auto tdesc = [](int fmt_, int type, int n, int c, int h, int w) {
    cudnnTensorDescriptor_t d;
    cudnnCreateTensorDescriptor(&d);
    cudnnSetTensor4dDescriptor(d, (cudnnTensorFormat_t)fmt_, (cudnnDataType_t)type, n, c, h, w);
    return d;
  };
  auto fdesc = [](int type, int k, int c, int h, int w) {
    cudnnFilterDescriptor_t d;
    cudnnCreateFilterDescriptor(&d);
    cudnnSetFilter4dDescriptor(d, (cudnnDataType_t)type, CUDNN_TENSOR_NCHW, k, c, h, w);
    return d;
  };
  auto cdesc = [](int groups, int computeType, int pad = 1) {
    cudnnConvolutionDescriptor_t d;
    cudnnCreateConvolutionDescriptor(&d);
    cudnnSetConvolution2dDescriptor(d, pad, pad, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, (cudnnDataType_t)computeType);
    cudnnSetConvolutionGroupCount(d, groups);
    return d;
  };
  const int F = CUDNN_DATA_FLOAT, Hf = CUDNN_DATA_HALF;
  cudnnTensorDescriptor_t x5 = tdesc(0, F, 2, 5, 7, 7), yBadC = tdesc(0, F, 2, 6, 7, 7), yBadN = tdesc(0, F, 3, 4, 7, 7),
                          yBadHW = tdesc(0, F, 2, 4, 6, 7), xHalf = tdesc(0, Hf, 2, 6, 7, 7),
                          xDouble = tdesc(0, CUDNN_DATA_DOUBLE, 2, 6, 7, 7), yDouble = tdesc(0, CUDNN_DATA_DOUBLE, 2, 4, 7, 7),
                          yHalf = tdesc(0, Hf, 2, 4, 7, 7), xTiny = tdesc(0, F, 2, 6, 1, 1), yTiny = tdesc(0, F, 2, 4, 1, 1),
                          yK3 = tdesc(0, F, 2, 3, 7, 7);
  cudnnFilterDescriptor_t wBadC = fdesc(F, 4, 2, 3, 3), wK3 = fdesc(F, 3, 3, 3, 3), wDouble = fdesc(CUDNN_DATA_DOUBLE, 4, 3, 3, 3),
                          wHalf = fdesc(Hf, 4, 3, 3, 3);
  cudnnConvolutionDescriptor_t g4 = cdesc(4, F), g2half = cdesc(2, Hf), g2pad0 = cdesc(2, F, 0), unset;
  cudnnCreateConvolutionDescriptor(&unset);
  cudnnTensorDescriptor_t deadT;
  cudnnCreateTensorDescriptor(&deadT);
  cudnnDestroyTensorDescriptor(deadT);
  cudnnTensorDescriptor_t unsetT;
  cudnnCreateTensorDescriptor(&unsetT);
  struct E { cudnnStatus_t got, want; const char* what; };
  const E cases[] = {
      {fwd(cc.xd, cc.wd, cc.cd, cc.yd), CUDNN_STATUS_SUCCESS, "the valid grouped problem"},
      {fwd(x5, cc.wd, cc.cd, cc.yd), CUDNN_STATUS_BAD_PARAM, "C=5 not divisible by groups=2"},
      {fwd(cc.xd, wBadC, cc.cd, cc.yd), CUDNN_STATUS_BAD_PARAM, "filter C/G=2 but x C/G=3"},
      {fwd(cc.xd, wK3, cc.cd, yK3), CUDNN_STATUS_BAD_PARAM, "K=3 not a multiple of groups=2"},
      {fwd(cc.xd, cc.wd, g4, cc.yd), CUDNN_STATUS_BAD_PARAM, "groups=4 does not divide C=6"},
      {fwd(cc.xd, cc.wd, cc.cd, yBadC), CUDNN_STATUS_BAD_PARAM, "y channels 6 != K=4"},
      {fwd(cc.xd, cc.wd, cc.cd, yBadN), CUDNN_STATUS_BAD_PARAM, "y batch 3 != x batch 2"},
      {fwd(cc.xd, cc.wd, cc.cd, yBadHW), CUDNN_STATUS_NOT_SUPPORTED, "y height 6 != output size 7"},
      {fwd(xHalf, cc.wd, cc.cd, cc.yd), CUDNN_STATUS_BAD_PARAM, "x HALF, w and y FLOAT"},
      {fwd(xTiny, cc.wd, g2pad0, yTiny), CUDNN_STATUS_BAD_PARAM, "3x3 filter larger than 1x1 input (no padding)"},
      {fwd(xDouble, wDouble, cc.cd, yDouble), CUDNN_STATUS_NOT_SUPPORTED, "DOUBLE data (real: supported; not simulated)"},
      {fwd(cc.xd, cc.wd, g2half, cc.yd), CUDNN_STATUS_NOT_SUPPORTED, "FLOAT data with HALF compute type"},
      {fwd(xHalf, wHalf, g2half, yHalf), CUDNN_STATUS_NOT_SUPPORTED, "HALF compute (TRUE_HALF_CONFIG; not simulated)"},
      {fwd(cc.xd, cc.wd, cc.cd, cc.yd, 8), CUDNN_STATUS_BAD_PARAM, "algo 8 (>= CUDNN_CONVOLUTION_FWD_ALGO_COUNT)"},
      {fwd(cc.xd, cc.wd, cc.cd, cc.yd, -1), CUDNN_STATUS_BAD_PARAM, "algo -1"},
      {fwd(cc.xd, cc.wd, cc.cd, cc.yd, CUDNN_CONVOLUTION_FWD_ALGO_FFT), CUDNN_STATUS_NOT_SUPPORTED, "algo FFT (not simulated)"},
      {fwd(cc.xd, cc.wd, unset, cc.yd), CUDNN_STATUS_BAD_PARAM, "convolution descriptor never set"},
      {fwd(deadT, cc.wd, cc.cd, cc.yd), CUDNN_STATUS_BAD_PARAM, "destroyed tensor descriptor"},
      {fwd(unsetT, cc.wd, cc.cd, cc.yd), CUDNN_STATUS_BAD_PARAM, "tensor descriptor never set"},
      {fwd(nullptr, cc.wd, cc.cd, cc.yd), CUDNN_STATUS_BAD_PARAM, "NULL xDesc"},
      {fwd(cc.xd, cc.wd, cc.cd, cc.yd, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, fwd_ws(cc, 2) - 1), CUDNN_STATUS_BAD_PARAM,
       "workspace smaller than GetWorkspaceSize"},
      {cudnnConvolutionForward(g_dnn, nullptr, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                               nullptr, 0, &zero, cc.yd, cc.y.p()),
       CUDNN_STATUS_BAD_PARAM, "alpha NULL"},
      {cudnnConvolutionForward(g_dnn, &one, cc.xd, nullptr, cc.wd, cc.w.p(), cc.cd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                               nullptr, 0, &zero, cc.yd, cc.y.p()),
       CUDNN_STATUS_BAD_PARAM, "x NULL"},
      {cudnnConvolutionForward(nullptr, &one, cc.xd, cc.x.p(), cc.wd, cc.w.p(), cc.cd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                               nullptr, 0, &zero, cc.yd, cc.y.p()),
       CUDNN_STATUS_BAD_PARAM, "NULL handle"},
      {cudnnConvolutionBackwardData(g_dnn, &one, cc.wd, cc.w.p(), cc.yd, cc.dy.p(), cc.cd, (cudnnConvolutionBwdDataAlgo_t)6,
                                    nullptr, 0, &zero, cc.xd, cc.x.p()),
       CUDNN_STATUS_BAD_PARAM, "backward-data algo 6 (>= COUNT)"},
      {cudnnConvolutionBackwardData(g_dnn, &one, cc.wd, cc.w.p(), cc.yd, cc.dy.p(), cc.cd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                    nullptr, 0, &zero, cc.xd, cc.x.p()),
       CUDNN_STATUS_BAD_PARAM, "backward-data algo 1 with no workspace"},
      {cudnnConvolutionBackwardFilter(g_dnn, &one, cc.xd, cc.x.p(), yBadHW, cc.dy.p(), cc.cd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0,
                                      nullptr, 0, &zero, cc.wd, cc.w.p()),
       CUDNN_STATUS_NOT_SUPPORTED, "backward-filter with dy of the wrong height"},
      {cudnnConvolutionBackwardFilter(g_dnn, &one, cc.xd, cc.x.p(), cc.yd, cc.dy.p(), cc.cd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT,
                                      nullptr, 0, &zero, cc.wd, cc.w.p()),
       CUDNN_STATUS_NOT_SUPPORTED, "backward-filter FFT (not simulated)"},
  };
  for (const E& e : cases)
    check(e.got == e.want, fmt("conv status: %s -> %s", e.what, cudnnGetErrorString(e.want)),
          fmt("got %d (%s)", e.got, cudnnGetErrorString(e.got)));
  // descriptor setters
  cudnnTensorDescriptor_t t;
  cudnnCreateTensorDescriptor(&t);
  cudnnFilterDescriptor_t fd;
  cudnnCreateFilterDescriptor(&fd);
  cudnnConvolutionDescriptor_t c;
  cudnnCreateConvolutionDescriptor(&c);
  const E set[] = {
      {cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 0, 1, 1, 1), CUDNN_STATUS_BAD_PARAM, "tensor n=0"},
      {cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, -2, 1, 1), CUDNN_STATUS_BAD_PARAM, "tensor c<0"},
      {cudnnSetTensor4dDescriptor(t, (cudnnTensorFormat_t)5, CUDNN_DATA_FLOAT, 1, 1, 1, 1), CUDNN_STATUS_BAD_PARAM, "format 5"},
      {cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, (cudnnDataType_t)99, 1, 1, 1, 1), CUDNN_STATUS_BAD_PARAM, "data type 99"},
      {cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW_VECT_C, CUDNN_DATA_INT8x4, 1, 4, 1, 1), CUDNN_STATUS_NOT_SUPPORTED,
       "NCHW_VECT_C (not simulated)"},
      {cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 65536, 65536, 1, 1), CUDNN_STATUS_NOT_SUPPORTED,
       "2^32 elements (> 2 Giga-elements)"},
      {cudnnSetTensor4dDescriptor(nullptr, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 1, 1), CUDNN_STATUS_BAD_PARAM,
       "NULL tensor descriptor"},
      {cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NHWC, CUDNN_DATA_BFLOAT16, 1, 3, 5, 7), CUDNN_STATUS_SUCCESS, "valid NHWC bf16"},
      {cudnnSetFilter4dDescriptor(fd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, -1, 1, 1, 1), CUDNN_STATUS_BAD_PARAM, "filter k<0"},
      {cudnnSetFilter4dDescriptor(fd, CUDNN_DATA_FLOAT, (cudnnTensorFormat_t)3, 1, 1, 1, 1), CUDNN_STATUS_BAD_PARAM, "filter format 3"},
      {cudnnSetConvolution2dDescriptor(c, -1, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), CUDNN_STATUS_BAD_PARAM,
       "pad_h < 0"},
      {cudnnSetConvolution2dDescriptor(c, 0, 0, 1, 0, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), CUDNN_STATUS_BAD_PARAM,
       "stride v = 0"},
      {cudnnSetConvolution2dDescriptor(c, 0, 0, 1, 1, 0, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), CUDNN_STATUS_BAD_PARAM,
       "dilation_h = 0"},
      {cudnnSetConvolution2dDescriptor(c, 0, 0, 1, 1, 1, 1, (cudnnConvolutionMode_t)2, CUDNN_DATA_FLOAT), CUDNN_STATUS_BAD_PARAM,
       "mode 2"},
      {cudnnSetConvolution2dDescriptor(c, 0, 0, 1, 1, 1, 1, CUDNN_CONVOLUTION, (cudnnDataType_t)77), CUDNN_STATUS_BAD_PARAM,
       "compute type 77"},
      {cudnnSetConvolutionGroupCount(c, 0), CUDNN_STATUS_BAD_PARAM, "group count 0"},
      {cudnnSetConvolutionMathType(c, (cudnnMathType_t)4), CUDNN_STATUS_BAD_PARAM, "math type 4"},
      {cudnnSetConvolutionMathType(nullptr, CUDNN_FMA_MATH), CUDNN_STATUS_BAD_PARAM, "NULL convolution descriptor"},
      {cudnnDestroyTensorDescriptor(nullptr), CUDNN_STATUS_SUCCESS, "destroying a NULL descriptor"},
      {cudnnDestroyTensorDescriptor(deadT), CUDNN_STATUS_BAD_PARAM, "destroying a descriptor twice"},
      {cudnnDestroyFilterDescriptor(reinterpret_cast<cudnnFilterDescriptor_t>(t)), CUDNN_STATUS_BAD_PARAM,
       "destroying a tensor descriptor as a filter descriptor"},
      {cudnnCreate(nullptr), CUDNN_STATUS_BAD_PARAM, "cudnnCreate(NULL)"},
      {cudnnDestroy(nullptr), CUDNN_STATUS_BAD_PARAM, "cudnnDestroy(NULL)"},
      {cudnnSetStream(nullptr, nullptr), CUDNN_STATUS_BAD_PARAM, "cudnnSetStream(NULL handle)"},
  };
  for (const E& e : set)
    check(e.got == e.want, fmt("descriptor status: %s -> %s", e.what, cudnnGetErrorString(e.want)),
          fmt("got %d (%s)", e.got, cudnnGetErrorString(e.got)));
  // _v7 / workspace-size argument checks
  cudnnConvolutionFwdAlgoPerf_t perf[2];
  int count;
  size_t size;
  check(cudnnGetConvolutionForwardAlgorithm_v7(g_dnn, cc.xd, cc.wd, cc.cd, cc.yd, 0, &count, perf) == CUDNN_STATUS_BAD_PARAM &&
            cudnnGetConvolutionForwardAlgorithm_v7(g_dnn, cc.xd, cc.wd, cc.cd, cc.yd, 2, nullptr, perf) == CUDNN_STATUS_BAD_PARAM &&
            cudnnGetConvolutionForwardAlgorithm_v7(g_dnn, cc.xd, cc.wd, cc.cd, cc.yd, 2, &count, nullptr) == CUDNN_STATUS_BAD_PARAM &&
            cudnnGetConvolutionForwardAlgorithm_v7(g_dnn, x5, cc.wd, cc.cd, cc.yd, 2, &count, perf) == CUDNN_STATUS_BAD_PARAM &&
            cudnnGetConvolutionForwardWorkspaceSize(g_dnn, cc.xd, cc.wd, cc.cd, cc.yd, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, nullptr) ==
                CUDNN_STATUS_BAD_PARAM &&
            cudnnGetConvolutionForwardWorkspaceSize(g_dnn, cc.xd, cc.wd, cc.cd, cc.yd, (cudnnConvolutionFwdAlgo_t)9, &size) ==
                CUDNN_STATUS_BAD_PARAM,
        "_v7: requestedAlgoCount 0, NULL count/results, inconsistent descriptors -> BAD_PARAM; workspace size: NULL, algo 9 -> BAD_PARAM");
  for (auto d : {x5, yBadC, yBadN, yBadHW, xHalf, xDouble, yDouble, yHalf, xTiny, yTiny, yK3, t, unsetT}) cudnnDestroyTensorDescriptor(d);
  for (auto d : {wBadC, wK3, wDouble, wHalf, fd}) cudnnDestroyFilterDescriptor(d);
  for (auto d : {g4, g2half, g2pad0, unset, c}) cudnnDestroyConvolutionDescriptor(d);
  // version, strings, launch failure
  check(cudnnGetVersion() / 10000 == 9, "cudnnGetVersion reports 9.x", fmt("%zu", cudnnGetVersion()));
  check(std::string(cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM)) == "CUDNN_STATUS_BAD_PARAM" &&
            std::string(cudnnGetErrorString(CUDNN_STATUS_EXECUTION_FAILED)) == "CUDNN_STATUS_EXECUTION_FAILED",
        "cudnnGetErrorString names statuses");
  dvpsim_test::reset();
  dvpsim_test::fail_next_enqueue(400);
  check(fwd(cc.xd, cc.wd, cc.cd, cc.yd) == CUDNN_STATUS_EXECUTION_FAILED,
        "convolution whose enqueue fails -> CUDNN_STATUS_EXECUTION_FAILED");
  dvpsim_test::reset();
}

void test_conv_runtime() {
  ConvCfg cfg{"rt", 2, 3, 5, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  ConvCase cc(cfg);
  // descriptors and alpha captured by value: change and destroy them before the work runs
  dvpsim_test::reset();
  dvpsim_test::set_deferred(true);
  cudnnTensorDescriptor_t xd = tensor_desc(cc.x), yd = tensor_desc(cc.y);
  cudnnFilterDescriptor_t wd = filter_desc(cc.w);
  cudnnConvolutionDescriptor_t cd;
  cudnnCreateConvolutionDescriptor(&cd);
  cudnnSetConvolution2dDescriptor(cd, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
  cudnnSetConvolutionMathType(cd, CUDNN_FMA_MATH);
  float alpha = 1, beta = 0;
  Arr y = cc.y;
  y.buf.fill_nan();
  cudnnStatus_t st = cudnnConvolutionForward(g_dnn, &alpha, xd, cc.x.p(), wd, cc.w.p(), cd,
                                             CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &beta, yd, y.p());
  alpha = 3;
  beta = 1;
  cudnnSetConvolution2dDescriptor(cd, 0, 0, 2, 2, 1, 1, CUDNN_CONVOLUTION, CUDNN_DATA_FLOAT);
  cudnnDestroyTensorDescriptor(xd);
  cudnnDestroyTensorDescriptor(yd);
  cudnnDestroyFilterDescriptor(wd);
  cudnnDestroyConvolutionDescriptor(cd);
  dvpsim_test::drain();
  check(st == 0, "deferred convolution status");
  check_out("convolution uses the descriptors and alpha/beta as they were at call time (changed/destroyed before it ran)",
            y, nullptr, cc.yRef, cc.yAbs, 1, 0);
  dvpsim_test::reset();
  // every operand range is checked exactly; a short y allocation faults naming the call and y
  cudnnSetStream(g_dnn, reinterpret_cast<cudaStream_t>(0x7000));
  Arr dw = cc.w;
  backward_filter(cc, 1, 1, 0, dw);
  bool exact = dvpsim_test::streams().size() == 1 && dvpsim_test::streams()[0] == reinterpret_cast<void*>(0x7000);
  int seen = 0;
  for (const auto& a : dvpsim_test::accesses()) {
    if (a.what == "x") { seen++; exact = exact && a.p == cc.x.p() && a.bytes == cc.x.buf.b.size(); }
    if (a.what == "dy") { seen++; exact = exact && a.p == cc.dy.p() && a.bytes == cc.dy.buf.b.size(); }
    if (a.what == "dw") { seen++; exact = exact && a.p == dw.p() && a.bytes == dw.buf.b.size(); }
    exact = exact && a.call == "cudnnConvolutionBackwardFilter";
  }
  check(exact && seen == 3, "backward-filter runs on the handle's stream and checks x, dy, dw ranges exactly");
  cudnnSetStream(g_dnn, nullptr);
  dvpsim_test::reset();
  dvpsim_test::set_strict(true);
  dvpsim_test::add_allocation(cc.x.p(), cc.x.buf.b.size());
  dvpsim_test::add_allocation(cc.w.p(), cc.w.buf.b.size());
  Arr y2 = cc.y;
  dvpsim_test::add_allocation(y2.p(), y2.buf.b.size() - 4);
  st = forward(cc, 0, 1, 0, y2);
  dvpsim::DeviceFault f{0, ""};
  bool faulted = dvpsim_test::take_fault(&f);
  check(st == 0 && faulted && f.code == 700 && f.message.find("cudnnConvolutionForward: y") == 0,
        "forward into a y allocation one element short faults (700) naming the call and y", f.message);
  dvpsim_test::reset();
}

// =================================================================================================
// cuDNN: batch normalization
// =================================================================================================

/** Training-mode batch norm of one channel's values in long double (one-pass sums): y, mean, biased var. */
struct BnRef {
  long double mean, var, invstd;
  std::vector<long double> y;
};
BnRef bn_ref(const std::vector<long double>& x, long double gamma, long double beta, long double eps) {
  long double s1 = 0, s2 = 0;
  for (long double v : x) {
    s1 += v;
    s2 += v * v;
  }
  BnRef r;
  r.mean = s1 / x.size();
  r.var = s2 / x.size() - r.mean * r.mean;  // E[x^2] - E[x]^2: a different formula from the two-pass one
  r.invstd = 1 / std::sqrt(r.var + eps);
  for (long double v : x) r.y.push_back(gamma * (v - r.mean) * r.invstd + beta);
  return r;
}

struct BnCase {
  int N, C, H, W;
  bool nhwc;
  T t;
  Arr x, y, dy;
  std::vector<float> gamma, beta;
  cudnnTensorDescriptor_t xd, pd;
  BnCase(int n, int c, int h, int w, bool nhwc_, T t_)
      : N(n), C(c), H(h), W(w), nhwc(nhwc_), t(t_), x(t_, n, c, h, w, nhwc_), y(t_, n, c, h, w, nhwc_),
        dy(t_, n, c, h, w, nhwc_) {
    // per-channel offsets and scales so that mean and variance matter
    for (int a = 0; a < n; a++)
      for (int b = 0; b < c; b++)
        for (int i = 0; i < h; i++)
          for (int j = 0; j < w; j++) {
            Buf one(t, 1);
            one.set(0, 1.5f * b - 2 + (0.5f + b) * urand(-1, 1));
            x.buf.set(x.idx(a, b, i, j), one.get(0));
            one.set(0, urand(-1, 1));
            dy.buf.set(dy.idx(a, b, i, j), one.get(0));
          }
    for (int b = 0; b < c; b++) {
      gamma.push_back(urand(0.5f, 1.5f));
      beta.push_back(urand(-1, 1));
    }
    xd = tensor_desc(x);
    cudnnCreateTensorDescriptor(&pd);
    cudnnDeriveBNTensorDescriptor(pd, xd, CUDNN_BATCHNORM_SPATIAL);
  }
  ~BnCase() {
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroyTensorDescriptor(pd);
  }
  BnCase(const BnCase&) = delete;
  BnCase& operator=(const BnCase&) = delete;
  int M() const { return N * H * W; }
  std::vector<long double> channel(const Arr& a, int c) const {
    std::vector<long double> v;
    for (int n = 0; n < N; n++)
      for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++) v.push_back(a.at(n, c, h, w));
    return v;
  }
  cudnnStatus_t forward(Arr& out, float alpha, float beta_, double factor, float* rm, float* rv, double eps, float* sm,
                        float* si) {
    return cudnnBatchNormalizationForwardTraining(g_dnn, CUDNN_BATCHNORM_SPATIAL, &alpha, &beta_, xd, x.p(), xd, out.p(),
                                                  pd, gamma.data(), beta.data(), factor, rm, rv, eps, sm, si);
  }
  cudnnStatus_t backward(Arr& dx, float aD, float bD, float aP, float bP, float* dg, float* db, double eps,
                         const float* sm, const float* si) {
    return cudnnBatchNormalizationBackward(g_dnn, CUDNN_BATCHNORM_SPATIAL, &aD, &bD, &aP, &bP, xd, x.p(), xd, dy.p(), xd,
                                           dx.p(), pd, gamma.data(), dg, db, eps, sm, si);
  }
};

void test_bn_forward() {
  const double eps = 1e-5, factor = 0.1;
  for (T t : {T::F32, T::F16, T::BF16})
    for (bool nhwc : {false, true}) {
      BnCase bc(3, 4, 5, 3, nhwc, t);
      const std::string tag = fmt("[%s %s, N=3 C=4 H=5 W=3]", tname(t), nhwc ? "NHWC" : "NCHW");
      std::vector<float> rm(4), rv(4), sm(4, NAN), si(4, NAN);
      for (int c = 0; c < 4; c++) {
        rm[c] = urand(-1, 1);
        rv[c] = urand(0.5f, 2);
      }
      const std::vector<float> rm0 = rm, rv0 = rv;
      Arr y = bc.y;
      y.buf.fill_nan();
      cudnnStatus_t st = bc.forward(y, 1, 0, factor, rm.data(), rv.data(), eps, sm.data(), si.data());
      if (!check(st == 0, "batchnorm forward " + tag + ": status", fmt("%d", st))) continue;
      // y: the simulator rounds a double value once to float, then to the type: tolerance 2u|terms|
      // (covers the reference's and the simulator's differing summation) + the type's half-ulp
      Worst wy, ws, wr;
      for (int c = 0; c < 4; c++) {
        BnRef r = bn_ref(bc.channel(bc.x, c), bc.gamma[c], bc.beta[c], eps);
        size_t i = 0;
        for (int n = 0; n < 3; n++)
          for (int h = 0; h < 5; h++)
            for (int w = 0; w < 3; w++, i++) {
              const double want = (double)r.y[i];
              const double terms = std::fabs(bc.gamma[c] * (double)((bc.x.at(n, c, h, w) - r.mean) * r.invstd)) +
                                   std::fabs(bc.beta[c]);
              wy.add(i, y.at(n, c, h, w), want, 2 * U * (terms + std::fabs(want)) + out_u(t) * std::fabs(want) + out_tiny(t));
            }
        // saved statistics are float roundings of double ones: 2u relative
        ws.add(c, sm[c], (double)r.mean, 2 * U * std::fabs((double)r.mean) + 1e-30);
        ws.add(4 + c, si[c], (double)r.invstd, 2 * U * (double)r.invstd);
        // running statistics: factor*new + (1-factor)*old, variance unbiased (M/(M-1))
        const double M = 45, um = factor * (double)r.mean + (1 - factor) * rm0[c],
                     uv = factor * (double)r.var * M / (M - 1) + (1 - factor) * rv0[c];
        wr.add(c, rm[c], um, 2 * U * (std::fabs(factor * (double)r.mean) + std::fabs((1 - factor) * rm0[c])) + 1e-30);
        wr.add(4 + c, rv[c], uv, 2 * U * (std::fabs(factor * (double)r.var * M / (M - 1)) + std::fabs((1 - factor) * rv0[c])));
      }
      check(wy.ok(), "batchnorm forward y " + tag + " vs one-pass long-double statistics", wy.str());
      check(ws.ok(), "batchnorm saved mean and 1/sqrt(var+eps) " + tag, ws.str());
      check(wr.ok(), "batchnorm running mean / unbiased running variance, factor 0.1 " + tag, wr.str());
    }
  BnCase bc(2, 3, 4, 5, false, T::F32);
  // NULL running and saved pointers are allowed and change nothing else
  {
    Arr y1 = bc.y, y2 = bc.y;
    std::vector<float> rm(3, 0), rv(3, 1), sm(3), si(3);
    cudnnStatus_t s1 = bc.forward(y1, 1, 0, 0.5, rm.data(), rv.data(), 1e-5, sm.data(), si.data());
    cudnnStatus_t s2 = bc.forward(y2, 1, 0, 0.5, nullptr, nullptr, 1e-5, nullptr, nullptr);
    check(s1 == 0 && s2 == 0 && y1.buf.b == y2.buf.b, "batchnorm forward with NULL running and saved pointers: same y");
    // alpha/beta blending: y = alpha*bn + beta*y_old in float
    Arr y3 = bc.y;
    y3.buf.fill(-1, 1);
    Arr y30 = y3;
    const float alpha = 0.5f, beta = 2;
    bc.forward(y3, alpha, beta, 0.5, nullptr, nullptr, 1e-5, nullptr, nullptr);
    bool exact = true;
    for (size_t i = 0; i < y3.count(); i++) exact = exact && y3.buf.get(i) == alpha * y1.buf.get(i) + beta * y30.buf.get(i);
    check(exact, "batchnorm forward y = 0.5*bn(x) + 2*y exactly as float ops on the alpha=1 result");
    // epsilon: cuDNN 9's CUDNN_BN_MIN_EPSILON is 0
    check(bc.forward(y2, 1, 0, 0.5, nullptr, nullptr, 0.0, nullptr, nullptr) == 0 &&
              bc.forward(y2, 1, 0, 0.5, nullptr, nullptr, -1e-7, nullptr, nullptr) == CUDNN_STATUS_BAD_PARAM &&
              bc.forward(y2, 1, 0, 0.5, nullptr, nullptr, NAN, nullptr, nullptr) == CUDNN_STATUS_BAD_PARAM,
          "batchnorm epsilon 0 accepted (CUDNN_BN_MIN_EPSILON = 0.0); negative or NaN -> BAD_PARAM");
    // graph-style replay: running statistics are updated once per run
    std::vector<float> r1(3, 0), v1(3, 1), r2(3, 0), v2(3, 1);
    bc.forward(y2, 1, 0, 0.25, r1.data(), v1.data(), 1e-5, nullptr, nullptr);
    bc.forward(y2, 1, 0, 0.25, r1.data(), v1.data(), 1e-5, nullptr, nullptr);
    dvpsim_test::reset();
    dvpsim_test::set_deferred(true);
    bc.forward(y2, 1, 0, 0.25, r2.data(), v2.data(), 1e-5, nullptr, nullptr);
    dvpsim_test::drain(2);
    dvpsim_test::reset();
    check(r1 == r2 && v1 == v2, "batchnorm work replayed twice updates the running statistics twice (as two calls do)");
  }
  // error statuses
  {
    Arr y = bc.y;
    const float one = 1, zero = 0;
    std::vector<float> p(3);
    cudnnTensorDescriptor_t pBad, pHalf, xOther, xHalf, perAct;
    cudnnCreateTensorDescriptor(&pBad);
    cudnnSetTensor4dDescriptor(pBad, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 4, 1, 1);
    cudnnCreateTensorDescriptor(&pHalf);
    cudnnSetTensor4dDescriptor(pHalf, CUDNN_TENSOR_NCHW, CUDNN_DATA_HALF, 1, 3, 1, 1);
    cudnnCreateTensorDescriptor(&xOther);
    cudnnSetTensor4dDescriptor(xOther, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 3, 4, 6);
    cudnnCreateTensorDescriptor(&xHalf);
    cudnnSetTensor4dDescriptor(xHalf, CUDNN_TENSOR_NCHW, CUDNN_DATA_HALF, 2, 3, 4, 5);
    cudnnCreateTensorDescriptor(&perAct);
    cudnnDeriveBNTensorDescriptor(perAct, bc.xd, CUDNN_BATCHNORM_PER_ACTIVATION);
    auto fwd = [&](int mode, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd, cudnnTensorDescriptor_t pd,
                   const void* scale, float* rm, float* rv, float* sm, float* si, double eps = 1e-5) {
      return cudnnBatchNormalizationForwardTraining(g_dnn, (cudnnBatchNormMode_t)mode, &one, &zero, xd, bc.x.p(), yd, y.p(),
                                                    pd, scale, bc.beta.data(), 0.1, rm, rv, eps, sm, si);
    };
    const int S = CUDNN_BATCHNORM_SPATIAL;
    struct E { cudnnStatus_t got, want; const char* what; };
    const E cases[] = {
        {fwd(S, bc.xd, bc.xd, bc.pd, bc.gamma.data(), p.data(), nullptr, nullptr, nullptr), CUDNN_STATUS_BAD_PARAM,
         "only one of the running pointers"},
        {fwd(S, bc.xd, bc.xd, bc.pd, bc.gamma.data(), nullptr, nullptr, nullptr, p.data()), CUDNN_STATUS_BAD_PARAM,
         "only one of the saved pointers"},
        {fwd(S, bc.xd, bc.xd, bc.pd, nullptr, nullptr, nullptr, nullptr, nullptr), CUDNN_STATUS_BAD_PARAM, "bnScale NULL"},
        {fwd(S, bc.xd, bc.xd, pBad, bc.gamma.data(), nullptr, nullptr, nullptr, nullptr), CUDNN_STATUS_BAD_PARAM,
         "parameter descriptor 1x4x1x1 for C=3"},
        {fwd(S, bc.xd, bc.xd, pHalf, bc.gamma.data(), nullptr, nullptr, nullptr, nullptr), CUDNN_STATUS_BAD_PARAM,
         "HALF parameter descriptor"},
        {fwd(S, bc.xd, bc.xd, perAct, bc.gamma.data(), nullptr, nullptr, nullptr, nullptr), CUDNN_STATUS_BAD_PARAM,
         "per-activation (1xCxHxW) parameters in spatial mode"},
        {fwd(S, bc.xd, xOther, bc.pd, bc.gamma.data(), nullptr, nullptr, nullptr, nullptr), CUDNN_STATUS_BAD_PARAM,
         "x and y dims differ"},
        {fwd(S, bc.xd, xHalf, bc.pd, bc.gamma.data(), nullptr, nullptr, nullptr, nullptr), CUDNN_STATUS_BAD_PARAM,
         "x FLOAT, y HALF"},
        {fwd(CUDNN_BATCHNORM_PER_ACTIVATION, bc.xd, bc.xd, perAct, bc.gamma.data(), nullptr, nullptr, nullptr, nullptr),
         CUDNN_STATUS_NOT_SUPPORTED, "PER_ACTIVATION mode (not simulated)"},
        {fwd(7, bc.xd, bc.xd, bc.pd, bc.gamma.data(), nullptr, nullptr, nullptr, nullptr), CUDNN_STATUS_BAD_PARAM, "mode 7"},
        {fwd(CUDNN_BATCHNORM_SPATIAL_PERSISTENT, bc.xd, bc.xd, bc.pd, bc.gamma.data(), nullptr, nullptr, nullptr, nullptr),
         CUDNN_STATUS_SUCCESS, "SPATIAL_PERSISTENT"},
        {cudnnDeriveBNTensorDescriptor(pBad, bc.xd, (cudnnBatchNormMode_t)5), CUDNN_STATUS_BAD_PARAM, "derive with mode 5"},
        {cudnnBatchNormalizationBackward(g_dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, bc.xd, bc.x.p(), bc.xd,
                                         bc.dy.p(), bc.xd, y.p(), bc.pd, bc.gamma.data(), p.data(), p.data(), 1e-5,
                                         p.data(), nullptr),
         CUDNN_STATUS_BAD_PARAM, "backward with only one saved pointer"},
        {cudnnBatchNormalizationBackward(g_dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, bc.xd, bc.x.p(), bc.xd,
                                         bc.dy.p(), bc.xd, y.p(), bc.pd, bc.gamma.data(), nullptr, p.data(), 1e-5,
                                         nullptr, nullptr),
         CUDNN_STATUS_BAD_PARAM, "backward with dBnScaleResult NULL"},
        {cudnnBatchNormalizationBackward(g_dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, bc.xd, bc.x.p(), xOther,
                                         bc.dy.p(), bc.xd, y.p(), bc.pd, bc.gamma.data(), p.data(), p.data(), 1e-5,
                                         nullptr, nullptr),
         CUDNN_STATUS_BAD_PARAM, "backward with dy dims differing from x"},
        {cudnnBatchNormalizationBackward(g_dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, bc.xd, bc.x.p(), bc.xd,
                                         bc.dy.p(), bc.xd, y.p(), bc.pd, bc.gamma.data(), p.data(), p.data(), -1.0,
                                         nullptr, nullptr),
         CUDNN_STATUS_BAD_PARAM, "backward with epsilon < 0"},
        {cudnnBatchNormalizationBackward(nullptr, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, bc.xd, bc.x.p(), bc.xd,
                                         bc.dy.p(), bc.xd, y.p(), bc.pd, bc.gamma.data(), p.data(), p.data(), 1e-5,
                                         nullptr, nullptr),
         CUDNN_STATUS_BAD_PARAM, "backward with NULL handle"},
    };
    for (const E& e : cases)
      check(e.got == e.want, fmt("batchnorm status: %s -> %s", e.what, cudnnGetErrorString(e.want)),
            fmt("got %d (%s)", e.got, cudnnGetErrorString(e.got)));
    for (auto d : {pBad, pHalf, xOther, xHalf, perAct}) cudnnDestroyTensorDescriptor(d);
  }
}

void test_bn_backward() {
  const double eps = 1e-5;
  for (bool nhwc : {false, true}) {
    BnCase bc(3, 4, 3, 5, nhwc, T::F32);
    const std::string tag = nhwc ? "[f32 NHWC]" : "[f32 NCHW]";
    const int M = bc.M();
    Arr dx = bc.x;
    dx.buf.fill_nan();
    std::vector<float> dg(4, NAN), db(4, NAN);
    cudnnStatus_t st = bc.backward(dx, 1, 0, 1, 0, dg.data(), db.data(), eps, nullptr, nullptr);
    if (!check(st == 0, "batchnorm backward " + tag + " status")) continue;
    // finite differences of L = sum(dy * y) in long double, central, steps h and h/2: the
    // difference of the two estimates bounds the truncation error of the h/2 one (error ~ h^2)
    Worst wx, wp;
    for (int c = 0; c < 4; c++) {
      std::vector<long double> xs = bc.channel(bc.x, c), dys = bc.channel(bc.dy, c);
      auto L = [&](const std::vector<long double>& xv, long double g, long double b) {
        BnRef r = bn_ref(xv, g, b, eps);
        long double s = 0;
        for (int i = 0; i < M; i++) s += dys[i] * r.y[i];
        return s;
      };
      auto fd = [&](auto f, long double h) { return (f(h) - f(-h)) / (2 * h); };
      BnRef r = bn_ref(xs, bc.gamma[c], bc.beta[c], eps);
      long double mdy = 0, mdyx = 0;
      for (int i = 0; i < M; i++) {
        mdy += dys[i] / M;
        mdyx += dys[i] * (xs[i] - r.mean) * r.invstd / M;
      }
      int i = 0;
      for (int n = 0; n < 3; n++)
        for (int h = 0; h < 3; h++)
          for (int w = 0; w < 5; w++, i++) {
            auto f = [&](long double step) {
              std::vector<long double> xp = xs;
              xp[i] += step;
              return L(xp, bc.gamma[c], bc.beta[c]);
            };
            const long double d1 = fd(f, 1e-3L), d2 = fd(f, 5e-4L);
            const double got = dx.at(n, c, h, w);
            const double terms = std::fabs(bc.gamma[c] * (double)r.invstd) *
                                 (std::fabs((double)dys[i]) + std::fabs((double)mdy) +
                                  std::fabs((double)((xs[i] - r.mean) * r.invstd * mdyx)));
            wx.add((size_t)c * M + i, got, (double)d2,
                   2 * (double)std::fabs(d1 - d2) + 2 * U * std::fabs(got) + SUM_ERR * terms + 1e-12);
          }
      auto fg = [&](long double step) { return L(xs, bc.gamma[c] + step, bc.beta[c]); };
      auto fb = [&](long double step) { return L(xs, bc.gamma[c], bc.beta[c] + step); };
      const long double g1 = fd(fg, 1e-3L), g2 = fd(fg, 5e-4L), b1 = fd(fb, 1e-3L), b2 = fd(fb, 5e-4L);
      wp.add(c, dg[c], (double)g2, 2 * (double)std::fabs(g1 - g2) + 2 * U * std::fabs(dg[c]) + 1e-12);
      wp.add(4 + c, db[c], (double)b2, 2 * (double)std::fabs(b1 - b2) + 2 * U * std::fabs(db[c]) + 1e-12);
    }
    check(wx.ok(), "batchnorm backward dx " + tag + " vs central finite differences (no saved statistics)", wx.str());
    check(wp.ok(), "batchnorm backward dgamma, dbeta " + tag + " vs finite differences", wp.str());
    // with the forward's saved statistics (float-rounded mean, 1/sqrt(var+eps)): the rounding moves
    // xhat by at most dxh = invstd*u*|mean| + u*|xhat|, hence dx by |k|(dxh |mean(dy xhat)| + |xhat|
    // mean|dy| dxh) + u|k| |dx/k| (k = gamma*invstd), and dgamma by sum|dy| dxh
    std::vector<float> sm(4), si(4);
    Arr yy = bc.y;
    bc.forward(yy, 1, 0, 0.1, nullptr, nullptr, eps, sm.data(), si.data());
    Arr dx2 = bc.x;
    std::vector<float> dg2(4), db2(4);
    st = bc.backward(dx2, 1, 0, 1, 0, dg2.data(), db2.data(), eps, sm.data(), si.data());
    Worst ws;
    for (int c = 0; c < 4; c++) {
      std::vector<long double> xs = bc.channel(bc.x, c), dys = bc.channel(bc.dy, c);
      BnRef r = bn_ref(xs, bc.gamma[c], bc.beta[c], eps);
      double mabs = 0, mdyx = 0, sabs = 0, maxdxh = 0;
      for (int i = 0; i < M; i++) {
        const double xh = (double)((xs[i] - r.mean) * r.invstd);
        maxdxh = std::max(maxdxh, (double)r.invstd * U * std::fabs((double)r.mean) + U * std::fabs(xh));
        mabs += std::fabs((double)dys[i]) / M;
        sabs += std::fabs((double)dys[i]);
        mdyx += (double)(dys[i] * xh) / M;
      }
      const double k = std::fabs(bc.gamma[c] * (double)r.invstd);
      int i = 0;
      for (int n = 0; n < 3; n++)
        for (int h = 0; h < 3; h++)
          for (int w = 0; w < 5; w++, i++) {
            const double xh = (double)((xs[i] - r.mean) * r.invstd);
            const double bound = k * (maxdxh * std::fabs(mdyx) + std::fabs(xh) * mabs * maxdxh) +
                                 U * std::fabs(dx.at(n, c, h, w)) * 2 + 2 * U * std::fabs(dx2.at(n, c, h, w));
            ws.add((size_t)c * M + i, dx2.at(n, c, h, w), dx.at(n, c, h, w), 2 * bound + 1e-30);
          }
      ws.add(1000 + c, dg2[c], dg[c], 2 * (sabs * maxdxh + 2 * U * std::fabs(dg[c])) + 1e-30);
    }
    check(st == 0 && ws.ok() && db2 == db,
          "batchnorm backward with saved statistics agrees with recomputed ones " + tag + " (dbeta bitwise)", ws.str());
    // alpha/beta blending of the data and parameter gradients, exactly as float ops
    Arr dx3 = bc.x;
    dx3.buf.fill(-1, 1);
    Arr dx30 = dx3;
    std::vector<float> dg3(4), db3(4);
    for (int c = 0; c < 4; c++) {
      dg3[c] = urand(-1, 1);
      db3[c] = urand(-1, 1);
    }
    const std::vector<float> dg30 = dg3, db30 = db3;
    const float aD = 0.5f, bD = 1.5f, aP = 2, bP = -1;
    st = bc.backward(dx3, aD, bD, aP, bP, dg3.data(), db3.data(), eps, nullptr, nullptr);
    bool exact = st == 0;
    for (size_t j = 0; j < dx3.count(); j++) exact = exact && dx3.buf.get(j) == aD * dx.buf.get(j) + bD * dx30.buf.get(j);
    for (int c = 0; c < 4; c++)
      exact = exact && dg3[c] == aP * dg[c] + bP * dg30[c] && db3[c] == aP * db[c] + bP * db30[c];
    check(exact, "batchnorm backward dx = 0.5*dx + 1.5*dx_old, dgamma/dbeta = 2*d - 1*old, as float ops " + tag);
  }
  // mixed layouts: x NCHW with y, dy, dx NHWC (each operand addressed through its own descriptor)
  // give the same numbers as the all-NCHW calls (same logical data; 2u relative covers any
  // difference in summation order)
  {
    BnCase bc(2, 3, 4, 3, false, T::F32);
    Arr yN = bc.y, dxN = bc.x;
    std::vector<float> g1(3), b1(3), g2(3), b2(3), sm(3), si(3);
    cudnnStatus_t s1 = bc.forward(yN, 1, 0, 0.1, nullptr, nullptr, eps, sm.data(), si.data());
    cudnnStatus_t s2 = bc.backward(dxN, 1, 0, 1, 0, g1.data(), b1.data(), eps, nullptr, nullptr);
    Arr yH(T::F32, 2, 3, 4, 3, true), dyH(T::F32, 2, 3, 4, 3, true), dxH(T::F32, 2, 3, 4, 3, true);
    for (int n = 0; n < 2; n++)
      for (int c = 0; c < 3; c++)
        for (int h = 0; h < 4; h++)
          for (int w = 0; w < 3; w++) dyH.buf.set(dyH.idx(n, c, h, w), bc.dy.at(n, c, h, w));
    cudnnTensorDescriptor_t hd = tensor_desc(yH);
    const float one = 1, zero = 0;
    cudnnStatus_t s3 = cudnnBatchNormalizationForwardTraining(g_dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, bc.xd, bc.x.p(),
                                                              hd, yH.p(), bc.pd, bc.gamma.data(), bc.beta.data(), 0.1,
                                                              nullptr, nullptr, eps, nullptr, nullptr);
    cudnnStatus_t s4 = cudnnBatchNormalizationBackward(g_dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, bc.xd,
                                                       bc.x.p(), hd, dyH.p(), hd, dxH.p(), bc.pd, bc.gamma.data(),
                                                       g2.data(), b2.data(), eps, nullptr, nullptr);
    cudnnDestroyTensorDescriptor(hd);
    Worst wst;
    size_t i = 0;
    for (int n = 0; n < 2; n++)
      for (int c = 0; c < 3; c++)
        for (int h = 0; h < 4; h++)
          for (int w = 0; w < 3; w++, i++) {
            wst.add(i, yH.at(n, c, h, w), yN.at(n, c, h, w), 2 * U * std::fabs(yN.at(n, c, h, w)) + 1e-30);
            wst.add(1000 + i, dxH.at(n, c, h, w), dxN.at(n, c, h, w), 2 * U * std::fabs(dxN.at(n, c, h, w)) + 1e-30);
          }
    for (int c = 0; c < 3; c++) {
      wst.add(2000 + c, g2[c], g1[c], 2 * U * std::fabs(g1[c]) + 1e-30);
      wst.add(3000 + c, b2[c], b1[c], 2 * U * std::fabs(b1[c]) + 1e-30);
    }
    check(s1 == 0 && s2 == 0 && s3 == 0 && s4 == 0 && wst.ok(),
          "batchnorm with x NCHW and y/dy/dx NHWC equals the all-NCHW forward and backward", wst.str());
  }
  // bf16 data: dx rounds to bf16; compared with the f32 run on the same (bf16-valued) data
  {
    BnCase h(2, 3, 3, 3, false, T::BF16);
    BnCase f(2, 3, 3, 3, false, T::F32);
    for (size_t i = 0; i < h.x.count(); i++) {
      f.x.buf.set(i, h.x.buf.get(i));
      f.dy.buf.set(i, h.dy.buf.get(i));
    }
    f.gamma = h.gamma;
    f.beta = h.beta;
    Arr dxh = h.x, dxf = f.x;
    std::vector<float> g1(3), b1(3), g2(3), b2(3);
    cudnnStatus_t s1 = h.backward(dxh, 1, 0, 1, 0, g1.data(), b1.data(), eps, nullptr, nullptr);
    cudnnStatus_t s2 = f.backward(dxf, 1, 0, 1, 0, g2.data(), b2.data(), eps, nullptr, nullptr);
    bool rounded = s1 == 0 && s2 == 0 && g1 == g2 && b1 == b2;
    for (size_t i = 0; i < dxh.count(); i++) rounded = rounded && dxh.buf.get(i) == (float)ref_bf16(dxf.buf.get(i));
    check(rounded, "batchnorm backward bf16: dx = bf16(f32 result), parameter gradients identical (float)");
  }
}

void run_cudnn_tests() {
  if (!check(cudnnCreate(&g_dnn) == CUDNN_STATUS_SUCCESS, "cudnnCreate")) return;
  test_conv_numerics();
  test_conv_algorithms();
  test_conv_find();
  test_conv_errors();
  test_conv_runtime();
  test_bn_forward();
  test_bn_backward();
  check(cudnnDestroy(g_dnn) == CUDNN_STATUS_SUCCESS && cudnnDestroy(g_dnn) == CUDNN_STATUS_BAD_PARAM,
        "cudnnDestroy; destroying it again -> BAD_PARAM");
}
}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // every check line is out before a crash could lose it
  cublasHandle_t h;
  if (cublasCreate_v2(&h) != CUBLAS_STATUS_SUCCESS) {
    std::printf("FAIL  cublasCreate_v2\n");
    return 1;
  }
  test_cublas_gemm(h);
  test_cublas_batched(h);
  test_cublas_errors(h);
  test_cublas_runtime(h);
  check(cublasDestroy_v2(h) == CUBLAS_STATUS_SUCCESS, "cublasDestroy_v2");
  run_cudnn_tests();
  std::printf("libs_test: %d checks, %d failed\n", g_checks, g_failed);
  return g_failed == 0 ? 0 : 1;
}
