// bfloat16 and IEEE half conversions as the GPU's cvt.rn instructions do them: round to nearest
// even, overflow to infinity, subnormals kept, every NaN becomes the canonical quiet NaN 0x7fff.
// Shared by the kernel shim and the simulated cuBLAS/cuDNN; tested over all 65,536 patterns.
#pragma once
#include <cstdint>
#include <cstring>

namespace dvpsim {

inline uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

inline float bf16_to_float(uint16_t h) { return bits_float((uint32_t)h << 16); }

inline uint16_t float_to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fffu;
  uint32_t lower = u & 0xffffu, upper = u >> 16;
  // ties go to the even upper half; an infinity or the largest finite values round into infinity
  if (lower > 0x8000u || (lower == 0x8000u && (upper & 1u))) upper++;
  return (uint16_t)upper;
}

inline float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (man << 13));   // inf, NaN (payload kept)
  if (exp != 0) return bits_float(sign | ((exp + 112u) << 23) | (man << 13));
  if (man == 0) return bits_float(sign);
  // subnormal: value = man * 2^-24, exact in float
  float v = (float)man * 5.9604644775390625e-8f;
  return sign ? -v : v;
}

inline uint16_t float_to_half(float f) {
  uint32_t u = float_bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return 0x7fffu;
  if (a == 0x7f800000u) return (uint16_t)(sign | 0x7c00u);
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // rounds to >= 65520: infinity
  uint32_t result, rem, half;
  if (a >= 0x38800000u) {  // normal half
    result = ((a - 0x38000000u) >> 13);
    rem = a & 0x1fffu;
    half = 0x1000u;
  } else if (a < 0x33000000u) {  // below half the smallest subnormal: zero
    return (uint16_t)sign;
  } else {  // subnormal half: shift the full mantissa
    uint32_t exp = a >> 23, man = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - exp;  // 14..24
    result = man >> shift;
    rem = man & ((1u << shift) - 1u);
    half = 1u << (shift - 1u);
  }
  if (rem > half || (rem == half && (result & 1u))) result++;
  return (uint16_t)(sign | result);
}

}  // namespace dvpsim
