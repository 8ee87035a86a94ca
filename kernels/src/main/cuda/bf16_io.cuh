// bf16 element reads and writes for the kernels that compute in fp32 on bf16 storage (the
// margin-InfoNCE row kernel's q, k+ and logit gradient; OFD's s, t and ds). bf16 is stored as its
// 16 bits (unsigned short), as in cast.cu: widening is exact (the bits shifted up 16), narrowing is
// the hardware's cvt.rn.bf16.f32 (nearest, ties to even; the simulator's shim has the same rule,
// which Bf16Checks' cast checks tie to dvp.engine.Bf16 bit for bit).
#pragma once
#include "common.cuh"
#ifndef DVP_CUDA_SIM
#include <cuda_bf16.h>
#endif

// bf16 bits -> float, exact.
__device__ __forceinline__ float dvp_bf16_widen(unsigned short h) { return __uint_as_float((unsigned int)h << 16); }

// float -> bf16 bits, round to nearest even.
__device__ __forceinline__ unsigned short dvp_bf16_narrow(float f) { return __bfloat16_as_ushort(__float2bfloat16_rn(f)); }
