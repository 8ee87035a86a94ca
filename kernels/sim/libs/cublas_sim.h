// Our own declarations of the cuBLAS subset the simulated libcublas.so.13 exports (dvp binds only
// these; see engine/.../cuda/ffm/Cublas.java). Names, values and C signatures follow NVIDIA's
// cublas_api.h (CUDA 12.6 copy read for reference) and library_types.h; no NVIDIA header is
// included or copied. Enums have a fixed underlying type `int` so that any value a caller passes
// (including invalid ones, which we must reject with a status) is a valid value of the type; the
// C ABI is that of the header's plain enums (a 32-bit int).
#pragma once
#include <cstddef>
#include <cstdint>

#define DVP_CUBLAS_EXPORT extern "C" __attribute__((visibility("default")))

// cublas_api.h: typedef enum { CUBLAS_STATUS_SUCCESS = 0, ... } cublasStatus_t;
typedef enum : int {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_MAPPING_ERROR = 11,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_INTERNAL_ERROR = 14,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
  CUBLAS_STATUS_LICENSE_ERROR = 16
} cublasStatus_t;

// cublas_api.h: cublasOperation_t (CUBLAS_OP_HERMITAN is a synonym of CUBLAS_OP_C)
typedef enum : int { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2, CUBLAS_OP_CONJG = 3 } cublasOperation_t;

// cublas_api.h: cublasMath_t; CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION is a flag OR-ed in
typedef enum : int {
  CUBLAS_DEFAULT_MATH = 0,
  CUBLAS_TENSOR_OP_MATH = 1,
  CUBLAS_PEDANTIC_MATH = 2,
  CUBLAS_TF32_TENSOR_OP_MATH = 3,
  CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16
} cublasMath_t;

// cublas_api.h: cublasComputeType_t
typedef enum : int {
  CUBLAS_COMPUTE_16F = 64,
  CUBLAS_COMPUTE_16F_PEDANTIC = 65,
  CUBLAS_COMPUTE_32F = 68,
  CUBLAS_COMPUTE_32F_PEDANTIC = 69,
  CUBLAS_COMPUTE_64F = 70,
  CUBLAS_COMPUTE_64F_PEDANTIC = 71,
  CUBLAS_COMPUTE_32I = 72,
  CUBLAS_COMPUTE_32I_PEDANTIC = 73,
  CUBLAS_COMPUTE_32F_FAST_16F = 74,
  CUBLAS_COMPUTE_32F_FAST_16BF = 75,
  CUBLAS_COMPUTE_32F_FAST_TF32 = 77
} cublasComputeType_t;

// cublas_api.h: cublasGemmAlgo_t: CUBLAS_GEMM_DEFAULT = -1, CUBLAS_GEMM_ALGO0..23 = 0..23,
// CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99, CUBLAS_GEMM_ALGO0_TENSOR_OP..ALGO15_TENSOR_OP = 100..115
typedef enum : int { CUBLAS_GEMM_DEFAULT = -1, CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99 } cublasGemmAlgo_t;

// library_types.h: cudaDataType (every value, so a valid-but-unsupported type is told apart from an
// invalid one)
typedef enum : int {
  CUDA_R_32F = 0, CUDA_R_64F = 1, CUDA_R_16F = 2, CUDA_R_8I = 3, CUDA_C_32F = 4, CUDA_C_64F = 5,
  CUDA_C_16F = 6, CUDA_C_8I = 7, CUDA_R_8U = 8, CUDA_C_8U = 9, CUDA_R_32I = 10, CUDA_C_32I = 11,
  CUDA_R_32U = 12, CUDA_C_32U = 13, CUDA_R_16BF = 14, CUDA_C_16BF = 15, CUDA_R_4I = 16, CUDA_C_4I = 17,
  CUDA_R_4U = 18, CUDA_C_4U = 19, CUDA_R_16I = 20, CUDA_C_16I = 21, CUDA_R_16U = 22, CUDA_C_16U = 23,
  CUDA_R_64I = 24, CUDA_C_64I = 25, CUDA_R_64U = 26, CUDA_C_64U = 27, CUDA_R_8F_E4M3 = 28,
  CUDA_R_8F_E5M2 = 29
} cudaDataType;

// library_types.h: libraryPropertyType
typedef enum : int { MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2 } libraryPropertyType;

struct cublasContext;
typedef struct cublasContext* cublasHandle_t;
struct CUstream_st;
typedef struct CUstream_st* cudaStream_t;

DVP_CUBLAS_EXPORT cublasStatus_t cublasCreate_v2(cublasHandle_t* handle);
DVP_CUBLAS_EXPORT cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);
DVP_CUBLAS_EXPORT cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version);
DVP_CUBLAS_EXPORT cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value);
DVP_CUBLAS_EXPORT cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId);
DVP_CUBLAS_EXPORT cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace,
                                                       size_t workspaceSizeInBytes);
DVP_CUBLAS_EXPORT cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
DVP_CUBLAS_EXPORT const char* cublasGetStatusString(cublasStatus_t status);
DVP_CUBLAS_EXPORT cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                                              cublasOperation_t transb, int m, int n, int k,
                                              const void* alpha, const void* A, cudaDataType Atype,
                                              int lda, const void* B, cudaDataType Btype, int ldb,
                                              const void* beta, void* C, cudaDataType Ctype, int ldc,
                                              cublasComputeType_t computeType, cublasGemmAlgo_t algo);
DVP_CUBLAS_EXPORT cublasStatus_t cublasGemmStridedBatchedEx(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const void* alpha, const void* A, cudaDataType Atype, int lda, long long int strideA,
    const void* B, cudaDataType Btype, int ldb, long long int strideB, const void* beta, void* C,
    cudaDataType Ctype, int ldc, long long int strideC, int batchCount,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo);

// The library's version, also reported by cublasGetVersion_v2 / cublasGetProperty: 13.0.0 (the
// soname's major; the minor and patch are ours, this is a simulator).
#define DVP_SIM_CUBLAS_MAJOR 13
#define DVP_SIM_CUBLAS_MINOR 0
#define DVP_SIM_CUBLAS_PATCH 0
