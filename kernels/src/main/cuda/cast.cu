// F32 <-> BF16 casts (Backend.cast), CPU reference: dvp.engine.cpu.CpuCast (through dvp.engine.Bf16).
// The conversions are the hardware's: __float2bfloat16_rn is cvt.rn.bf16.f32 (nearest, ties to even,
// overflow to infinity, NaN to the canonical 0x7fff), __bfloat162float is exact. bf16 is stored as
// its 16 bits (unsigned short) so the same source builds with nvcc and with the simulator's shim.
//
// Vectorised: quads of 4 elements (a float4 = 16 bytes on the fp32 side, a ushort4 = 8 bytes on the
// bf16 side) for elements [0, 4*quads); the launcher passes quads = 0 when either pointer is not
// aligned for that (a view at an odd offset), and the scalar loop does the rest [4*quads, n).
#include "common.cuh"  // dvp_to_bf16 / dvp_from_bf16

DVP_KERNEL void dvp_cast_f32_bf16(long long n, long long quads, const float* x, unsigned short* y) {
  DVP_FOR(q, quads) {
    const float4 v = reinterpret_cast<const float4*>(x)[q];
    ushort4 o;
    o.x = dvp_to_bf16(v.x);
    o.y = dvp_to_bf16(v.y);
    o.z = dvp_to_bf16(v.z);
    o.w = dvp_to_bf16(v.w);
    reinterpret_cast<ushort4*>(y)[q] = o;
  }
  const long long tail = 4 * quads;
  DVP_FOR(i, n - tail) y[tail + i] = dvp_to_bf16(x[tail + i]);
}

DVP_KERNEL void dvp_cast_bf16_f32(long long n, long long quads, const unsigned short* x, float* y) {
  DVP_FOR(q, quads) {
    const ushort4 v = reinterpret_cast<const ushort4*>(x)[q];
    reinterpret_cast<float4*>(y)[q] = make_float4(dvp_from_bf16(v.x), dvp_from_bf16(v.y), dvp_from_bf16(v.z), dvp_from_bf16(v.w));
  }
  const long long tail = 4 * quads;
  DVP_FOR(i, n - tail) y[tail + i] = dvp_from_bf16(x[tail + i]);
}
