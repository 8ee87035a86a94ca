// torch.optim.SGD's update for one parameter, in place, in PyTorch's operation order.
// CPU reference: dvp.engine.cpu.CpuSgd. Every float operation is rounded separately (no FMA) so the
// result is bit-identical to the reference; `oneMinusDampening` is computed on the host in float.
#include "common.cuh"

// One element of torch.optim.SGD: d = g + wd p; buf = first ? d : momentum buf + (1 - dampening) d;
// d = nesterov ? d + momentum buf : buf; returns p - lr d. Shared by the per-tensor and the
// multi-tensor kernels so both round exactly as CpuSgd does.
__device__ __forceinline__ float dvp_sgd_elem(float pv, float d, float* b, float lr, float momentum, float oneMinusDampening,
                                              float wd, int nesterov, int firstStep) {
  if (wd != 0.f) d = __fadd_rn(d, __fmul_rn(wd, pv));
  if (momentum != 0.f) {
    float nb = firstStep ? d : __fadd_rn(__fmul_rn(*b, momentum), __fmul_rn(oneMinusDampening, d));
    *b = nb;
    d = nesterov ? __fadd_rn(d, __fmul_rn(momentum, nb)) : nb;
  }
  return __fsub_rn(pv, __fmul_rn(lr, d));
}

DVP_KERNEL void dvp_sgd_update_f32(long long n, float* p, const float* g, float* buf, float lr, float momentum,
                                   float oneMinusDampening, float wd, int nesterov, int firstStep) {
  DVP_FOR(i, n) {
    float b = momentum != 0.f ? buf[i] : 0.f;
    p[i] = dvp_sgd_elem(p[i], g[i], &b, lr, momentum, oneMinusDampening, wd, nesterov, firstStep);
    if (momentum != 0.f) buf[i] = b;
  }
}

// ---- multi-tensor launches ---------------------------------------------------------------------
//
// All tensors of a parameter group in one launch (apex's multi_tensor_apply, with the table in
// device memory instead of kernel parameters, so any number of tensors takes one launch). The
// table (dvp.engine.cuda.CudaMultiTensor builds it once per tensor set and caches it) holds per
// tensor five 64-bit words {ptr0, ptr1, ptr2, numel, firstChunk}, followed by one int32 per chunk:
// the tensor that chunk belongs to. Block b handles chunk b: elements
// [(b - firstChunk) * DVP_MT_CHUNK, +DVP_MT_CHUNK) of its tensor. No block reads another tensor's
// entry, so there is no search and no idle block (tensors of 64 and of 2.4M elements alike).
//
// Design for an H100 (not measured): the update is memory-bound (SGD with momentum moves 20 bytes
// per element: p, g, buf read, p and buf written); a chunk of 4096 elements per 256-thread block is
// 4 float4 per thread per array, enough loads in flight per SM at 8 resident blocks; 16-byte loads
// wherever the three arrays of a chunk are 16-byte aligned (the caching allocator's blocks are
// 512-byte aligned and chunks start at multiples of 4096 elements, so every chunk of a whole
// tensor is), scalar otherwise and for a tensor's last numel % 4 elements. ResNet-50's 161
// parameters (25.6M elements, 512 MB of traffic) are ~6.3K blocks in one launch instead of 161
// launches of the per-tensor kernel; its floor by arithmetic is ~155 us at 3.3 TB/s (not timed).
#define DVP_MT_CHUNK 4096
#define DVP_MT_WORDS 5

struct DvpMtChunk {
  char *p0, *p1, *p2;
  long long from, to;  // element range of this block's chunk
};

__device__ __forceinline__ DvpMtChunk dvp_mt_chunk(const long long* table, long long tensors) {
  const int* map = reinterpret_cast<const int*>(table + DVP_MT_WORDS * tensors);
  const long long* e = table + DVP_MT_WORDS * (long long)map[blockIdx.x];
  DvpMtChunk c;
  c.p0 = reinterpret_cast<char*>(e[0]);
  c.p1 = reinterpret_cast<char*>(e[1]);
  c.p2 = reinterpret_cast<char*>(e[2]);
  c.from = ((long long)blockIdx.x - e[4]) * DVP_MT_CHUNK;
  c.to = min(e[3], c.from + DVP_MT_CHUNK);
  return c;
}

__device__ __forceinline__ bool dvp_aligned16(const void* a, const void* b, const void* c) {
  return (((unsigned long long)a | (unsigned long long)b | (unsigned long long)c) & 15ull) == 0;
}

// SGD over a table of {param, grad, momentum buffer (null when momentum == 0), numel}; lr[0] is
// read on the device, so a captured step follows the schedule without recapture.
DVP_KERNEL void dvp_sgd_multi_f32(const long long* table, long long tensors, const float* lr, float momentum,
                                  float oneMinusDampening, float wd, int nesterov, int firstStep) {
  const DvpMtChunk c = dvp_mt_chunk(table, tensors);
  float* p = reinterpret_cast<float*>(c.p0);
  const float* g = reinterpret_cast<const float*>(c.p1);
  float* buf = reinterpret_cast<float*>(c.p2);
  const float lrv = lr[0];
  const bool mom = momentum != 0.f;
  long long i = c.from;
  if (dvp_aligned16(p + c.from, g + c.from, mom ? (const void*)(buf + c.from) : (const void*)(p + c.from))) {
    const long long vecEnd = c.from + ((c.to - c.from) & ~3ll);
    for (long long v = c.from + 4ll * threadIdx.x; v < vecEnd; v += 4ll * blockDim.x) {
      float4 pv = *reinterpret_cast<const float4*>(p + v);
      const float4 gv = *reinterpret_cast<const float4*>(g + v);
      float4 bv = mom ? *reinterpret_cast<const float4*>(buf + v) : make_float4(0.f, 0.f, 0.f, 0.f);
      pv.x = dvp_sgd_elem(pv.x, gv.x, &bv.x, lrv, momentum, oneMinusDampening, wd, nesterov, firstStep);
      pv.y = dvp_sgd_elem(pv.y, gv.y, &bv.y, lrv, momentum, oneMinusDampening, wd, nesterov, firstStep);
      pv.z = dvp_sgd_elem(pv.z, gv.z, &bv.z, lrv, momentum, oneMinusDampening, wd, nesterov, firstStep);
      pv.w = dvp_sgd_elem(pv.w, gv.w, &bv.w, lrv, momentum, oneMinusDampening, wd, nesterov, firstStep);
      *reinterpret_cast<float4*>(p + v) = pv;
      if (mom) *reinterpret_cast<float4*>(buf + v) = bv;
    }
    i = vecEnd;
  }
  for (long long e = i + threadIdx.x; e < c.to; e += blockDim.x) {
    float b = mom ? buf[e] : 0.f;
    p[e] = dvp_sgd_elem(p[e], g[e], &b, lrv, momentum, oneMinusDampening, wd, nesterov, firstStep);
    if (mom) buf[e] = b;
  }
}

// out = alpha a + beta b over a table of {a, b, out, numel}, rounded as dvp_axpby_f32 (the MoCo
// key encoder's update theta_k = m theta_k + (1 - m) theta_q, all parameters in one launch).
DVP_KERNEL void dvp_axpby_multi_f32(const long long* table, long long tensors, float alpha, float beta) {
  const DvpMtChunk c = dvp_mt_chunk(table, tensors);
  const float* a = reinterpret_cast<const float*>(c.p0);
  const float* b = reinterpret_cast<const float*>(c.p1);
  float* out = reinterpret_cast<float*>(c.p2);
  long long i = c.from;
  if (dvp_aligned16(a + c.from, b + c.from, out + c.from)) {
    const long long vecEnd = c.from + ((c.to - c.from) & ~3ll);
    for (long long v = c.from + 4ll * threadIdx.x; v < vecEnd; v += 4ll * blockDim.x) {
      const float4 av = *reinterpret_cast<const float4*>(a + v), bv = *reinterpret_cast<const float4*>(b + v);
      float4 o;
      o.x = __fadd_rn(__fmul_rn(alpha, av.x), __fmul_rn(beta, bv.x));
      o.y = __fadd_rn(__fmul_rn(alpha, av.y), __fmul_rn(beta, bv.y));
      o.z = __fadd_rn(__fmul_rn(alpha, av.z), __fmul_rn(beta, bv.z));
      o.w = __fadd_rn(__fmul_rn(alpha, av.w), __fmul_rn(beta, bv.w));
      *reinterpret_cast<float4*>(out + v) = o;
    }
    i = vecEnd;
  }
  for (long long e = i + threadIdx.x; e < c.to; e += blockDim.x) out[e] = __fadd_rn(__fmul_rn(alpha, a[e]), __fmul_rn(beta, b[e]));
}
