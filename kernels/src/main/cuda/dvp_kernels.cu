// The single translation unit nvcc compiles into dvp_kernels.fatbin (see ../../../build-kernels.sh).
// One file per op family; each names its CPU reference in dvp.engine.cpu.
#include "common.cuh"
#include "elementwise.cu"
#include "reduce.cu"
#include "batchnorm.cu"
#include "bn_relu.cu"
#include "pool.cu"
#include "pool_nhwc.cu"
#include "rows.cu"
#include "sgd.cu"
#include "copy.cu"
#include "margin_infonce.cu"
#include "ofd.cu"
#include "cast.cu"

// The CUDA toolkit that built this image, read back by the runtime (cuModuleGetGlobal) so `dvp
// doctor` can show it next to the driver's version: major*1000 + minor*10, like cuDriverGetVersion.
extern "C" __device__ const int dvp_kernels_cuda_version = __CUDACC_VER_MAJOR__ * 1000 + __CUDACC_VER_MINOR__ * 10;
