// Element access shared by the simulated cuBLAS and cuDNN: fp32 / fp16 / bf16 loads (exact) and
// stores (round to nearest even, via dvp_half.h), and fp32 -> TF32 rounding as the GPU's
// cvt.rna.tf32.f32 does it. Internal to kernels/sim/libs (nothing here is exported).
#pragma once
#include <cstdint>
#include <cstring>

#include "../shim/dvp_half.h"

namespace dvpsim_libs {

enum class Elem { F32, F16, BF16 };

inline size_t elem_bytes(Elem e) { return e == Elem::F32 ? 4 : 2; }

inline float load(Elem e, const void* base, long long index) {
  const char* p = static_cast<const char*>(base);
  if (e == Elem::F32) {
    float f;
    std::memcpy(&f, p + 4 * index, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p + 2 * index, 2);
  return e == Elem::F16 ? dvpsim::half_to_float(h) : dvpsim::bf16_to_float(h);
}

inline void store(Elem e, void* base, long long index, float v) {
  char* p = static_cast<char*>(base);
  if (e == Elem::F32) {
    std::memcpy(p + 4 * index, &v, 4);
    return;
  }
  uint16_t h = e == Elem::F16 ? dvpsim::float_to_half(v) : dvpsim::float_to_bf16(v);
  std::memcpy(p + 2 * index, &h, 2);
}

/**
 * fp32 -> TF32 (1 sign, 8 exponent, 10 mantissa bits, kept in an fp32 container) as
 * cvt.rna.tf32.f32: round to nearest, ties away from zero. NaN stays NaN (canonical), infinities
 * stay, a finite value that rounds past the largest binade becomes infinity.
 */
inline float tf32_rna(float f) {
  uint32_t u = dvpsim::float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return dvpsim::bits_float(0x7fffffffu);
  if ((u & 0x7fffffffu) == 0x7f800000u) return f;
  // adding half a TF32 ulp (bit 12) to the magnitude and truncating the 13 low bits rounds ties
  // away from zero; the sign bit is never reached (0x7f7fffff + 0x1000 < 0x80000000)
  return dvpsim::bits_float((u + 0x1000u) & 0xffffe000u);
}

}  // namespace dvpsim_libs
