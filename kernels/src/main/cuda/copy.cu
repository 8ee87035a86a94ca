// Strided copy (gather of any view into a contiguous tensor), by element size, rank <= 8.
// CPU reference: dvp.engine.cpu.CpuBackend.copy (the strided branch; contiguous copies use
// cuMemcpyDtoDAsync).
#include "common.cuh"

// Passed by value: 17 int64 words, so the Java side can marshal it as a long[] with no padding rules.
struct DvpStrided {
  long long rank;
  long long shape[8];
  long long stride[8];  // in elements, of the source view
};

template <typename T>
__device__ __forceinline__ void dvp_strided_copy(long long n, DvpStrided d, const T* src, T* dst) {
  DVP_FOR(i, n) {
    long long rem = i, off = 0;
    for (int k = (int)d.rank - 1; k >= 0; k--) {
      long long idx = rem % d.shape[k];
      rem /= d.shape[k];
      off += idx * d.stride[k];
    }
    dst[i] = src[off];
  }
}

// src points at element 0 of the view (storage base + view offset).
DVP_KERNEL void dvp_strided_copy_b1(long long n, DvpStrided d, const unsigned char* src, unsigned char* dst) { dvp_strided_copy(n, d, src, dst); }
DVP_KERNEL void dvp_strided_copy_b2(long long n, DvpStrided d, const unsigned short* src, unsigned short* dst) { dvp_strided_copy(n, d, src, dst); }
DVP_KERNEL void dvp_strided_copy_b4(long long n, DvpStrided d, const unsigned int* src, unsigned int* dst) { dvp_strided_copy(n, d, src, dst); }
DVP_KERNEL void dvp_strided_copy_b8(long long n, DvpStrided d, const unsigned long long* src, unsigned long long* dst) { dvp_strided_copy(n, d, src, dst); }
