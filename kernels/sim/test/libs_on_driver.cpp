// The simulated cuBLAS/cuDNN on the simulated driver as build-sim.sh builds them: device memory from
// cuMemAlloc, a created stream, work run by the driver's worker threads in stream order, one
// workspace shared in stream order, and a host pointer passed as device memory reported as the
// stream's sticky CUDA_ERROR_ILLEGAL_ADDRESS at the next synchronisation. Needs the toolkit's
// cuda.h; libs-check.sh builds and runs it when SIM_DIR names build-sim.sh's output folder.
#include <cuda.h>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>
#include "../libs/cublas_sim.h"
#include "../libs/cudnn_sim.h"
static int failed = 0;
static void check(bool ok, const char* what) { std::printf("%s %s\n", ok ? "ok  " : "FAIL", what); failed += !ok; }
#define CU(x) do { CUresult r_ = (x); if (r_) { const char* s; cuGetErrorString(r_, &s); std::printf("FAIL %s -> %d %s\n", #x, r_, s); return 1; } } while (0)
static CUdeviceptr up(const std::vector<float>& v) { CUdeviceptr d; cuMemAlloc(&d, v.size() * 4); cuMemcpyHtoD(d, v.data(), v.size() * 4); return d; }
static std::vector<float> down(CUdeviceptr d, size_t n) { std::vector<float> v(n); cuMemcpyDtoH(v.data(), d, n * 4); return v; }
int main() {
  CU(cuInit(0));
  CUdevice dev; CU(cuDeviceGet(&dev, 0));
  CUcontext ctx; CU(cuDevicePrimaryCtxRetain(&ctx, dev)); CU(cuCtxSetCurrent(ctx));
  CUstream s; CU(cuStreamCreate(&s, 0));
  // GEMM 37x29x41 with lda padding, on the stream, with a device workspace
  const int m = 37, n = 29, k = 41, lda = 40;
  std::vector<float> A(lda * k), B(k * n), C(m * n);
  for (size_t i = 0; i < A.size(); i++) A[i] = std::sin(0.1 * i);
  for (size_t i = 0; i < B.size(); i++) B[i] = std::cos(0.07 * i);
  CUdeviceptr dA = up(A), dB = up(B), dC = up(C), ws;
  CU(cuMemAlloc(&ws, 1 << 20));
  cublasHandle_t h; check(cublasCreate_v2(&h) == 0, "cublasCreate_v2");
  check(cublasSetStream_v2(h, (cudaStream_t)s) == 0 && cublasSetWorkspace_v2(h, (void*)ws, 1 << 20) == 0, "cublasSetStream/SetWorkspace (cuMemAlloc'd, 256-aligned)");
  float one = 1, zero = 0;
  check(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, (void*)dA, CUDA_R_32F, lda, (void*)dB, CUDA_R_32F, k, &zero, (void*)dC, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == 0, "cublasGemmEx queued");
  CU(cuStreamSynchronize(s));
  C = down(dC, m * n);
  double worst = 0;
  for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
    double r = 0, a = 0; for (int l = 0; l < k; l++) { r += (double)A[i + l * lda] * B[l + j * k]; a += std::fabs((double)A[i + l * lda] * B[l + j * k]); }
    worst = std::max(worst, std::fabs(C[i + j * m] - r) / (std::ldexp(1.0, -24) * std::fabs(r) + std::ldexp(1.0, -40) * a));
  }
  check(worst <= 1, "GEMM on the simulated driver (worker threads) matches the reference within half an ulp");
  // convolution: NCHW f32, groups 2, algorithms as the Java chooser picks them, workspace from cuMemAlloc
  cudnnHandle_t d; check(cudnnCreate(&d) == 0 && cudnnSetStream(d, (cudaStream_t)s) == 0, "cudnnCreate/SetStream");
  const int N = 3, Cc = 4, H = 9, W = 7, K = 6, R = 3;
  cudnnTensorDescriptor_t xd, yd; cudnnFilterDescriptor_t wd; cudnnConvolutionDescriptor_t cd;
  cudnnCreateTensorDescriptor(&xd); cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, N, Cc, H, W);
  cudnnCreateTensorDescriptor(&yd); cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, N, K, H, W);
  cudnnCreateFilterDescriptor(&wd); cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, K, Cc / 2, R, R);
  cudnnCreateConvolutionDescriptor(&cd); cudnnSetConvolution2dDescriptor(cd, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
  cudnnSetConvolutionGroupCount(cd, 2); cudnnSetConvolutionMathType(cd, CUDNN_FMA_MATH);
  std::vector<float> x(N * Cc * H * W), w(K * 2 * R * R), dy(N * K * H * W);
  for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(1.3 * i);
  for (size_t i = 0; i < w.size(); i++) w[i] = std::cos(0.7 * i);
  for (size_t i = 0; i < dy.size(); i++) dy[i] = std::sin(0.37 * i + 1);
  CUdeviceptr dx_ = up(x), dw_ = up(w), ddy = up(dy), dyo, ddx, ddw, cws;
  cuMemAlloc(&dyo, dy.size() * 4); cuMemAlloc(&ddx, x.size() * 4); cuMemAlloc(&ddw, w.size() * 4); cuMemAlloc(&cws, 1 << 20);
  cudnnConvolutionBwdFilterAlgoPerf_t pf[8]; int cnt = 0; int bfAlgo = -1;
  cudnnGetConvolutionBackwardFilterAlgorithm_v7(d, xd, yd, cd, wd, 8, &cnt, pf);
  for (int i = 0; i < cnt && bfAlgo < 0; i++) if (pf[i].status == 0 && pf[i].determinism == CUDNN_DETERMINISTIC) bfAlgo = pf[i].algo;
  size_t wsf = 0, wsd = 0, wsw = 0;
  cudnnGetConvolutionForwardWorkspaceSize(d, xd, wd, cd, yd, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, &wsf);
  cudnnGetConvolutionBackwardDataWorkspaceSize(d, wd, yd, cd, xd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, &wsd);
  cudnnGetConvolutionBackwardFilterWorkspaceSize(d, xd, yd, cd, wd, (cudnnConvolutionBwdFilterAlgo_t)bfAlgo, &wsw);
  check(cudnnConvolutionForward(d, &one, xd, (void*)dx_, wd, (void*)dw_, cd, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, (void*)cws, wsf, &zero, yd, (void*)dyo) == 0 &&
        cudnnConvolutionBackwardData(d, &one, wd, (void*)dw_, yd, (void*)ddy, cd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, (void*)cws, wsd, &zero, xd, (void*)ddx) == 0 &&
        cudnnConvolutionBackwardFilter(d, &one, xd, (void*)dx_, yd, (void*)ddy, cd, (cudnnConvolutionBwdFilterAlgo_t)bfAlgo, (void*)cws, wsw, &zero, wd, (void*)ddw) == 0,
        "convolutions queued (GEMM forward, algo 1 data, chooser's filter algo) sharing one workspace in stream order");
  CU(cuStreamSynchronize(s));
  std::vector<float> y = down(dyo, dy.size()), gx = down(ddx, x.size()), gw = down(ddw, w.size());
  long double l1 = 0, l2 = 0, l3 = 0, b1 = 0, b2 = 0, b3 = 0;
  for (size_t i = 0; i < y.size(); i++) { l1 += (long double)y[i] * dy[i]; b1 += std::fabs((long double)y[i] * dy[i]); }
  for (size_t i = 0; i < x.size(); i++) { l2 += (long double)x[i] * gx[i]; b2 += std::fabs((long double)x[i] * gx[i]); }
  for (size_t i = 0; i < w.size(); i++) { l3 += (long double)w[i] * gw[i]; b3 += std::fabs((long double)w[i] * gw[i]); }
  // each side: every output was rounded once to float (u = 2^-24 relative), so its inner product is
  // off by at most u * sum |terms|; 1e-9 absolute covers the double sums inside the outputs
  // (below 1e-12 here: O(1) values, 18 taps)
  const long double u = std::ldexp(1.0, -24);
  check(bfAlgo == 1 && std::fabs(l1 - l2) <= u * (b1 + b2) + 1e-9 && std::fabs(l1 - l3) <= u * (b1 + b3) + 1e-9,
        "adjoint identity holds for the three convolutions on the simulated driver");
  // batch norm on the stream
  cudnnTensorDescriptor_t pd; cudnnCreateTensorDescriptor(&pd); cudnnDeriveBNTensorDescriptor(pd, xd, CUDNN_BATCHNORM_SPATIAL);
  std::vector<float> g(Cc, 1.5f), bb(Cc, 0.25f), rm(Cc, 0), rv(Cc, 1);
  CUdeviceptr dg = up(g), db = up(bb), drm = up(rm), drv = up(rv), dsm, dsi, dby, dgg, dbb;
  cuMemAlloc(&dsm, Cc * 4); cuMemAlloc(&dsi, Cc * 4); cuMemAlloc(&dby, x.size() * 4); cuMemAlloc(&dgg, Cc * 4); cuMemAlloc(&dbb, Cc * 4);
  check(cudnnBatchNormalizationForwardTraining(d, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, (void*)dx_, xd, (void*)dby, pd, (void*)dg, (void*)db, 0.1, (void*)drm, (void*)drv, 1e-5, (void*)dsm, (void*)dsi) == 0 &&
        cudnnBatchNormalizationBackward(d, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, xd, (void*)dx_, xd, (void*)ddx, xd, (void*)ddx, pd, (void*)dg, (void*)dgg, (void*)dbb, 1e-5, (void*)dsm, (void*)dsi) == 0,
        "batch norm forward + backward (dx in place over dy) queued");
  CU(cuStreamSynchronize(s));
  std::vector<float> sm = down(dsm, Cc), yb = down(dby, x.size());
  bool ok = true;
  for (int c = 0; c < Cc; c++) {
    double mean = 0; for (int nn = 0; nn < N; nn++) for (int i = 0; i < H * W; i++) mean += x[(nn * Cc + c) * H * W + i];
    mean /= N * H * W;
    double ym = 0; for (int nn = 0; nn < N; nn++) for (int i = 0; i < H * W; i++) ym += yb[(nn * Cc + c) * H * W + i];
    ok = ok && std::fabs(sm[c] - mean) < 1e-6 && std::fabs(ym / (N * H * W) - 0.25) < 1e-5;
  }
  check(ok, "batch norm on the simulated driver: saved means and mean(y) = beta");
  // a host pointer is not device memory: the call succeeds, the fault is the stream's sticky error
  std::vector<float> host(m * n);
  check(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, host.data(), CUDA_R_32F, lda, (void*)dB, CUDA_R_32F, k, &zero, (void*)dC, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == 0, "GEMM with a host pointer for A is accepted (checked when it runs)");
  CUresult r = cuStreamSynchronize(s);
  const char* msg = ""; cuGetErrorString(r, &msg);
  std::printf("     sync -> %d: %s\n", r, msg);
  check(r == CUDA_ERROR_ILLEGAL_ADDRESS, "the synchronising call reports CUDA_ERROR_ILLEGAL_ADDRESS");
  std::printf("%s\n", failed ? "integration: FAILED" : "integration: all passed");
  return failed != 0;
}
