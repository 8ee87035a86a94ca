// The table a host build of the kernels (libdvp_kernels_host.so) exports for the simulated driver:
// every kernel with a trampoline that unpacks cuLaunchKernel's argument bytes into a typed call,
// its C parameter list (to check against the PTX .param list of the real image), and every
// __device__ global. Generated registry code fills it (kernels/sim/build-sim.sh, registry.h).
#pragma once
#include <cstddef>
#include <cstdint>

namespace dvpsim {

enum class ParamKind : unsigned { Integer = 0, Float = 1, Pointer = 2, Struct = 3 };

struct HostParam {
  unsigned size;
  unsigned align;
  ParamKind kind;
};

struct HostKernel {
  const char* name;
  /** Runs the kernel body once, as the calling CUDA thread; args[i] points at parameter i's bytes. */
  void (*invoke)(void* const* args);
  const HostParam* params;
  unsigned param_count;
};

struct HostGlobal {
  const char* name;
  void* address;
  size_t size;
};

struct HostImage {
  /** HOST_IMAGE_ABI of the build; the driver refuses another. */
  unsigned abi;
  /** FNV-1a 64 of the fat binary this host build was made beside (the driver compares it). */
  uint64_t image_fingerprint;
  const HostKernel* kernels;
  unsigned kernel_count;
  const HostGlobal* globals;
  unsigned global_count;
};

constexpr unsigned HOST_IMAGE_ABI = 1;

/** FNV-1a 64 over bytes: the image fingerprint (cheap, and the same in the build script). */
inline uint64_t fnv1a64(const unsigned char* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace dvpsim

extern "C" const dvpsim::HostImage* dvpsim_host_image();
