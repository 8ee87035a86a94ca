// Running a kernel grid on the CPU: blocks on the worker pool (in index order, or in a seeded
// random order on one worker when the schedule is fuzzed), each block's CUDA threads as fibers
// driven by a scheduler that implements __syncthreads and warp collectives with CUDA's semantics
// and reports every violation (divergent barrier, a lane missing from a collective, deadlock)
// naming the kernel, the block and the source sites.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host_image.h"

namespace dvpsim {

/** One launch, with its arguments copied at cuLaunchKernel time (as the driver does). */
struct Launch {
  const HostKernel* kernel = nullptr;
  std::string name;
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned dynamic_shared = 0;
  unsigned static_shared_limit = 0;  // static + dynamic may not exceed this (from the image)
  std::vector<unsigned char> arg_bytes;
  std::vector<size_t> arg_offsets;
  unsigned long long index = 0;  // launch number in this process: with the seed, replays a schedule
};

/** Runs the whole grid; throws DeviceFault (a kernel error: code + message) when it fails. */
void run_grid(const Launch& launch);

}  // namespace dvpsim
