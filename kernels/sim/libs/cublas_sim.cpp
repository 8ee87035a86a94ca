// Simulated cuBLAS (libcublas.so.13): the subset dvp binds, as plain reference loops behind NVIDIA's
// C prototypes (engine/.../cuda/ffm/Cublas.java binds exactly these). Semantics follow the cuBLAS
// documentation (docs.nvidia.com/cuda/cublas: "cuBLAS Helper Function Reference", "cublasGemmEx",
// "cublasGemmStridedBatchedEx", "cublasComputeType_t", "cublasMath_t"):
// - column-major storage; op(X) = X, X^T (CUBLAS_OP_C equals CUBLAS_OP_T for real types);
// - alpha and beta are host floats (CUBLAS_POINTER_MODE_HOST, the only mode dvp uses), read before
//   the call returns; when beta == 0, C is not read (it may hold NaN); when alpha == 0 or k == 0,
//   A and B are not read and C = beta*C, as the reference BLAS does;
// - each output is accumulated in double from exactly-converted inputs (fp32 products of fp32,
//   TF32, bf16 or fp16 values are exact in double), rounded to float, then alpha*acc + beta*C is
//   evaluated in float (the documented scale type CUDA_R_32F) and rounded to C's type with
//   round-to-nearest-even (dvp_half.h).
// Device work is queued on the handle's stream through the simulated driver (sim_api.h) and checks
// every device range it touches first.
#include "cublas_sim.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <new>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "../runtime/sim_api.h"
#include "sim_elem.h"

struct cublasContext {
  void* stream = nullptr;      // cudaStream_t; nullptr = legacy default stream
  void* workspace = nullptr;   // user workspace from cublasSetWorkspace_v2 (nullptr: default pool)
  size_t workspaceBytes = 0;
  int mathMode = CUBLAS_DEFAULT_MATH;
};

namespace {

using dvpsim_libs::Elem;
using dvpsim_libs::load;
using dvpsim_libs::store;
using dvpsim_libs::tf32_rna;

std::mutex g_mutex;
std::unordered_set<cublasContext*> g_handles;  // live handles: a destroyed or foreign one is refused
std::deque<std::unique_ptr<cublasContext>> g_retired;  // recently destroyed handles, not yet freed

/** A copy of a live handle's state, or false if the handle is null/unknown. */
bool snapshot(cublasHandle_t h, cublasContext* out) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (h == nullptr || g_handles.count(h) == 0) return false;
  *out = *h;
  return true;
}

bool valid_data_type(int t) { return t >= CUDA_R_32F && t <= CUDA_R_8F_E5M2; }

bool valid_compute_type(int c) {
  switch (c) {
    case CUBLAS_COMPUTE_16F: case CUBLAS_COMPUTE_16F_PEDANTIC: case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC: case CUBLAS_COMPUTE_64F: case CUBLAS_COMPUTE_64F_PEDANTIC:
    case CUBLAS_COMPUTE_32I: case CUBLAS_COMPUTE_32I_PEDANTIC: case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF: case CUBLAS_COMPUTE_32F_FAST_TF32:
      return true;
    default:
      return false;
  }
}

// cublas_api.h: CUBLAS_GEMM_DEFAULT = -1, CUBLAS_GEMM_ALGO0..ALGO23 = 0..23,
// CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99, CUBLAS_GEMM_ALGO0_TENSOR_OP..ALGO15_TENSOR_OP = 100..115.
// All are accepted and computed the same way (on sm_80+ they are hints only).
bool valid_algo(int a) { return (a >= -1 && a <= 23) || (a >= 99 && a <= 115); }

bool valid_op(int op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

/**
 * The cublasGemmEx type table (cuBLAS docs, "cublasGemmEx", table of supported Atype/Btype/Ctype
 * per compute type) reduced to what dvp uses. Returns SUCCESS with *tf32 set, or the status to
 * return. Combinations the real library documents but the simulator does not compute (marked
 * "real: supported") also return CUBLAS_STATUS_NOT_SUPPORTED; dvp never makes them.
 */
cublasStatus_t check_types(int atype, int btype, int ctype, int compute, int mathMode, bool* tf32) {
  // An unknown enumerant of Atype/Btype/Ctype/computeType: the docs list "Atype or Btype or Ctype
  // or algo or computeType is not supported" under CUBLAS_STATUS_INVALID_VALUE.
  if (!valid_data_type(atype) || !valid_data_type(btype) || !valid_data_type(ctype) ||
      !valid_compute_type(compute))
    return CUBLAS_STATUS_INVALID_VALUE;
  *tf32 = false;
  const bool f32 = atype == CUDA_R_32F && btype == CUDA_R_32F && ctype == CUDA_R_32F;
  switch (compute) {
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC: {
      // Documented for both: A=B=16BF with C 16BF or 32F; A=B=16F with C 16F or 32F; all 32F
      // (real: also 8I/8I/32F and the complex types, not simulated).
      const bool half_in = atype == btype && (atype == CUDA_R_16F || atype == CUDA_R_16BF);
      if (!(f32 || (half_in && (ctype == atype || ctype == CUDA_R_32F)))) return CUBLAS_STATUS_NOT_SUPPORTED;
      if (compute == CUBLAS_COMPUTE_32F && f32) {
        const int mode = mathMode & ~CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
        // cublasMath_t: CUBLAS_TF32_TENSOR_OP_MATH lets single-precision routines use TF32
        // tensor cores; modelled as the FAST_TF32 compute type. CUBLAS_TENSOR_OP_MATH is
        // documented as "same effect as CUBLAS_COMPUTE_32F_FAST_16F", which is not simulated.
        if (mode == CUBLAS_TF32_TENSOR_OP_MATH) *tf32 = true;
        if (mode == CUBLAS_TENSOR_OP_MATH) return CUBLAS_STATUS_NOT_SUPPORTED;
      }
      return CUBLAS_STATUS_SUCCESS;
    }
    case CUBLAS_COMPUTE_32F_FAST_TF32:
      // Documented only for A/B/C all 32F (or all C_32F): inputs are down-converted to TF32.
      if (!f32) return CUBLAS_STATUS_NOT_SUPPORTED;
      *tf32 = true;
      return CUBLAS_STATUS_SUCCESS;
    default:
      // Real: COMPUTE_32F_FAST_16F/_16BF with 32F data, COMPUTE_16F with 16F data, COMPUTE_64F
      // with 64F data and COMPUTE_32I with 8I inputs are supported; the simulator computes none
      // of them (how far the FAST_16F/16BF modes down-convert is not documented).
      return CUBLAS_STATUS_NOT_SUPPORTED;
  }
}

Elem elem_of(int cudaType) {
  return cudaType == CUDA_R_32F ? Elem::F32 : cudaType == CUDA_R_16F ? Elem::F16 : Elem::BF16;
}

/** Bytes spanned by a column-major rows x cols matrix with leading dimension ld (0 if empty). */
size_t span_bytes(long long rows, long long cols, long long ld, size_t esize) {
  if (rows <= 0 || cols <= 0) return 0;
  return (size_t)((cols - 1) * ld + rows) * esize;
}

/** Everything one GEMM call needs, captured by value into the queued work. */
struct Gemm {
  const char* call;
  int transa, transb, m, n, k;
  float alpha, beta;
  const char* A; Elem atype; int lda; long long strideA;
  const char* B; Elem btype; int ldb; long long strideB;
  char* C; Elem ctype; int ldc; long long strideC;
  int batch;
  bool tf32;
  char* workspace; size_t scribble;  // bytes of the user workspace overwritten before the GEMM
};

void run_gemm(const Gemm& g) {
  const size_t ea = dvpsim_libs::elem_bytes(g.atype), eb = dvpsim_libs::elem_bytes(g.btype),
               ec = dvpsim_libs::elem_bytes(g.ctype);
  const bool reads_ab = g.k > 0 && g.alpha != 0.0f;
  const long long arows = g.transa == CUBLAS_OP_N ? g.m : g.k, acols = g.transa == CUBLAS_OP_N ? g.k : g.m;
  const long long brows = g.transb == CUBLAS_OP_N ? g.k : g.n, bcols = g.transb == CUBLAS_OP_N ? g.n : g.k;
  for (int b = 0; b < g.batch; b++) {
    if (reads_ab) {
      dvpsim::require_device(g.A + b * g.strideA * (long long)ea, span_bytes(arows, acols, g.lda, ea), g.call, "A");
      dvpsim::require_device(g.B + b * g.strideB * (long long)eb, span_bytes(brows, bcols, g.ldb, eb), g.call, "B");
    }
    dvpsim::require_device(g.C + b * g.strideC * (long long)ec, span_bytes(g.m, g.n, g.ldc, ec), g.call, "C");
  }
  if (g.scribble > 0) {
    // The real library may use its workspace for split-K partial sums: its contents are undefined
    // after any call, so overwrite part of it (NaN bit patterns) to expose code that shares it.
    dvpsim::require_device(g.workspace, g.scribble, g.call, "workspace");
    std::memset(g.workspace, 0xff, g.scribble);
  }
  std::vector<float> opA, opBt;
  for (int b = 0; b < g.batch; b++) {
    const char* A = g.A + b * g.strideA * (long long)ea;
    const char* B = g.B + b * g.strideB * (long long)eb;
    char* C = g.C + b * g.strideC * (long long)ec;
    if (reads_ab) {
      // op(A) as a row-major m x k array and op(B)^T as a row-major n x k array, converted once
      // (TF32-rounded when asked), so each output is a contiguous dot product.
      opA.assign((size_t)g.m * g.k, 0.0f);
      opBt.assign((size_t)g.n * g.k, 0.0f);
      for (int i = 0; i < g.m; i++)
        for (int l = 0; l < g.k; l++) {
          long long idx = g.transa == CUBLAS_OP_N ? i + (long long)l * g.lda : l + (long long)i * g.lda;
          float v = load(g.atype, A, idx);
          opA[(size_t)i * g.k + l] = g.tf32 ? tf32_rna(v) : v;
        }
      for (int j = 0; j < g.n; j++)
        for (int l = 0; l < g.k; l++) {
          long long idx = g.transb == CUBLAS_OP_N ? l + (long long)j * g.ldb : j + (long long)l * g.ldb;
          float v = load(g.btype, B, idx);
          opBt[(size_t)j * g.k + l] = g.tf32 ? tf32_rna(v) : v;
        }
    }
    dvpsim::parallel_for(g.n, [&](long j) {
      for (int i = 0; i < g.m; i++) {
        double acc = 0.0;
        if (reads_ab) {
          const float* a = &opA[(size_t)i * g.k];
          const float* bt = &opBt[(size_t)j * g.k];
          for (int l = 0; l < g.k; l++) acc += (double)a[l] * (double)bt[l];
        }
        long long ci = i + (long long)j * g.ldc;
        float r = g.alpha * (float)acc;
        if (g.beta != 0.0f) r = r + g.beta * load(g.ctype, C, ci);
        store(g.ctype, C, ci, r);
      }
    });
  }
}

/** Shared validation and queueing of cublasGemmEx / cublasGemmStridedBatchedEx. */
cublasStatus_t gemm(const char* call, cublasHandle_t handle, int transa, int transb, int m, int n, int k,
                    const void* alpha, const void* A, int atype, int lda, long long strideA, const void* B,
                    int btype, int ldb, long long strideB, const void* beta, void* C, int ctype, int ldc,
                    long long strideC, int batch, int computeType, int algo) {
  cublasContext h;
  if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  // cublasGemmEx docs, CUBLAS_STATUS_INVALID_VALUE: m, n or k < 0; transa/transb not N, T or C;
  // lda < max(1, m) (transa == N) or max(1, k); ldb < max(1, k) (transb == N) or max(1, n);
  // ldc < max(1, m); alpha or beta NULL; an unsupported enumerant of a type, algo or compute type.
  // cublasGemmStridedBatchedEx adds batchCount < 0.
  if (m < 0 || n < 0 || k < 0 || batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (!valid_op(transa) || !valid_op(transb)) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < std::max(1, transa == CUBLAS_OP_N ? m : k)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldb < std::max(1, transb == CUBLAS_OP_N ? k : n)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldc < std::max(1, m)) return CUBLAS_STATUS_INVALID_VALUE;
  if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (!valid_algo(algo)) return CUBLAS_STATUS_INVALID_VALUE;
  bool tf32 = false;
  cublasStatus_t types = check_types(atype, btype, ctype, computeType, h.mathMode, &tf32);
  if (types != CUBLAS_STATUS_SUCCESS) return types;
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;  // nothing to compute

  Gemm g;
  g.call = call;
  g.transa = transa; g.transb = transb; g.m = m; g.n = n; g.k = k;
  std::memcpy(&g.alpha, alpha, sizeof(float));  // host pointer mode: read now, not when run
  std::memcpy(&g.beta, beta, sizeof(float));
  g.A = static_cast<const char*>(A); g.atype = elem_of(atype); g.lda = lda; g.strideA = strideA;
  g.B = static_cast<const char*>(B); g.btype = elem_of(btype); g.ldb = ldb; g.strideB = strideB;
  g.C = static_cast<char*>(C); g.ctype = elem_of(ctype); g.ldc = ldc; g.strideC = strideC;
  g.batch = batch;
  g.tf32 = tf32;
  g.workspace = static_cast<char*>(h.workspace);
  // as if split-K kept two fp32 partial results of C in the workspace
  g.scribble = h.workspace == nullptr ? 0 : std::min(h.workspaceBytes, (size_t)2 * 4 * m * n);
  int rc = dvpsim::enqueue(h.stream, call, [g]() { run_gemm(g); });
  return rc == 0 ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

}  // namespace

// cublasStatus_t cublasCreate_v2(cublasHandle_t* handle);
cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;  // docs: "handle == NULL"
  cublasContext* h = new (std::nothrow) cublasContext();
  if (h == nullptr) return CUBLAS_STATUS_ALLOC_FAILED;
  try {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_handles.insert(h);
  } catch (...) {
    delete h;
    return CUBLAS_STATUS_ALLOC_FAILED;
  }
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

// cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  std::unique_ptr<cublasContext> evicted;  // deleted after the lock is released
  try {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (handle == nullptr || g_handles.count(handle) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
    // keep the most recently destroyed handles allocated, so a stale handle's address is not
    // handed out again at once and stays reliably unknown
    g_retired.emplace_back(handle);
    g_handles.erase(handle);
    if (g_retired.size() > 64) {
      evicted = std::move(g_retired.front());
      g_retired.pop_front();
    }
  } catch (...) {
    return CUBLAS_STATUS_ALLOC_FAILED;  // could not record it: the handle stays live
  }
  return CUBLAS_STATUS_SUCCESS;
}

// cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version);
cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version) {
  (void)handle;  // the version does not depend on the handle (callers pass NULL too)
  if (version == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *version = DVP_SIM_CUBLAS_MAJOR * 10000 + DVP_SIM_CUBLAS_MINOR * 100 + DVP_SIM_CUBLAS_PATCH;
  return CUBLAS_STATUS_SUCCESS;
}

// cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value);
cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) {
  if (value == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  switch (type) {
    case MAJOR_VERSION: *value = DVP_SIM_CUBLAS_MAJOR; return CUBLAS_STATUS_SUCCESS;
    case MINOR_VERSION: *value = DVP_SIM_CUBLAS_MINOR; return CUBLAS_STATUS_SUCCESS;
    case PATCH_LEVEL: *value = DVP_SIM_CUBLAS_PATCH; return CUBLAS_STATUS_SUCCESS;
    default: return CUBLAS_STATUS_INVALID_VALUE;
  }
}

// cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId);
cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (handle == nullptr || g_handles.count(handle) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = streamId;
  // docs (cublasSetStream): it "unconditionally resets the cuBLAS library workspace back to the
  // default workspace pool"; a user workspace must be set again afterwards.
  handle->workspace = nullptr;
  handle->workspaceBytes = 0;
  return CUBLAS_STATUS_SUCCESS;
}

// cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace, size_t workspaceSizeInBytes);
cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace, size_t workspaceSizeInBytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (handle == nullptr || g_handles.count(handle) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  // docs: CUBLAS_STATUS_INVALID_VALUE "the workspace pointer wasn't aligned to at least 256 bytes"
  if (reinterpret_cast<uintptr_t>(workspace) % 256 != 0) return CUBLAS_STATUS_INVALID_VALUE;
  handle->workspace = workspaceSizeInBytes == 0 ? nullptr : workspace;
  handle->workspaceBytes = workspace == nullptr ? 0 : workspaceSizeInBytes;
  return CUBLAS_STATUS_SUCCESS;
}

// cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (handle == nullptr || g_handles.count(handle) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  const int base = mode & ~CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
  if (base < CUBLAS_DEFAULT_MATH || base > CUBLAS_TF32_TENSOR_OP_MATH) return CUBLAS_STATUS_INVALID_VALUE;
  handle->mathMode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

// const char* cublasGetStatusString(cublasStatus_t status);
const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN (simulated cuBLAS: not a cublasStatus_t value)";
  }
}

// cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
//     int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B,
//     cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
//     cublasComputeType_t computeType, cublasGemmAlgo_t algo);
cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                            int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda,
                            const void* B, cudaDataType Btype, int ldb, const void* beta, void* C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t algo) {
  return gemm("cublasGemmEx", handle, transa, transb, m, n, k, alpha, A, Atype, lda, 0, B, Btype, ldb, 0, beta,
              C, Ctype, ldc, 0, 1, computeType, algo);
}

// cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
//     cublasOperation_t transb, int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype,
//     int lda, long long int strideA, const void* B, cudaDataType Btype, int ldb, long long int strideB,
//     const void* beta, void* C, cudaDataType Ctype, int ldc, long long int strideC, int batchCount,
//     cublasComputeType_t computeType, cublasGemmAlgo_t algo);
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                          cublasOperation_t transb, int m, int n, int k, const void* alpha,
                                          const void* A, cudaDataType Atype, int lda, long long int strideA,
                                          const void* B, cudaDataType Btype, int ldb, long long int strideB,
                                          const void* beta, void* C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  return gemm("cublasGemmStridedBatchedEx", handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B,
              Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo);
}
