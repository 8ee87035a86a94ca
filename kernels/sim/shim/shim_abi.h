// What the kernels' host build (dvp_cuda_shim.h) and the simulated driver (runtime/exec.cpp) share:
// CUDA's index types, source sites, and the runtime functions the shim's built-ins call.
#pragma once
#include <cstddef>

struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};

#define DVPSIM_API __attribute__((visibility("default")))

namespace dvpsim {

/** A source position of a barrier, collective or shared array: identifies it in reports. */
struct Site {
  const char* what;
  const char* file;
  int line;
};

/** What one CUDA thread sees of itself; constant for the thread's life. */
struct ThreadView {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};

enum class WarpOp : int { ShflIdx, ShflUp, ShflDown, ShflXor, Ballot, Any, All, SyncWarp, ActiveMask };

// The calling CUDA thread. `const`: within one fiber (one CUDA thread) the answer never changes,
// so the compiler may keep it in a register across calls.
DVPSIM_API __attribute__((const)) const ThreadView* thread_view();

DVPSIM_API void syncthreads(const Site* site);
DVPSIM_API int syncthreads_count(const Site* site, int predicate);
DVPSIM_API int syncthreads_and(const Site* site, int predicate);
DVPSIM_API int syncthreads_or(const Site* site, int predicate);
/** Parks the lane at a warp collective until every lane of the mask is there; returns its result bits. */
DVPSIM_API unsigned long long warp_collective(const Site* site, WarpOp op, unsigned mask, unsigned long long value, int size, int arg,
                                              int width);
/** The block's instance of the __shared__ array declared at site (fresh per block, 0xff-filled). */
DVPSIM_API void* shared_slot(const Site* site, size_t bytes, size_t align);
DVPSIM_API void* dynamic_shared();
/** A scheduling point (atomics, fences, __nanosleep): a fuzzed schedule may switch threads here. */
DVPSIM_API void yield_point(const Site* site);
DVPSIM_API int device_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
DVPSIM_API [[noreturn]] void device_assert_fail(const char* expr, const char* file, int line);

}  // namespace dvpsim
