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

// Row gather (torch.index_select(x, 0, idx)), CPU reference: dvp.engine.cpu.CpuBackend.gatherRows.
// Output row r = rowBase + blockIdx.y is x's row idx[r]; grid.x and the threads stride over the row's
// 4-byte elements (bit copies), so no thread divides an element index by the row length. An index
// outside [0, srcRows) is reported (its row stays unwritten: the host throws at the next sync).
DVP_KERNEL void dvp_gather_rows_b4(long long rowLen, long long srcRows, long long rowBase, const unsigned int* x,
                                   const long long* idx, unsigned int* out, int* err) {
  const long long r = rowBase + blockIdx.y;
  const long long j = idx[r];
  if (j < 0 || j >= srcRows) {
    if (blockIdx.x == 0 && threadIdx.x == 0) dvp_report(err, DVP_ERR_INDEX_OUT_OF_RANGE, (int)r);
    return;
  }
  const unsigned int* src = x + j * rowLen;
  unsigned int* dst = out + r * rowLen;
  DVP_FOR(c, rowLen) dst[c] = src[c];
}
