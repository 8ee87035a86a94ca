// The simulated driver's shared state: configuration (environment variables), the context's sticky
// error and the diagnostics that explain errors, the device printf buffer, and the worker pool.
#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "sim_api.h"

#define DVPSIM_EXPORT extern "C" __attribute__((visibility("default")))

namespace dvpsim {

enum class ScheduleMode { Canonical, Reverse, Random };

/** Read once from the environment (docs/cuda.md lists them). */
struct Config {
  size_t device_memory;    // DVP_SIM_DEVICE_MEMORY, e.g. 4G (default), 256M
  ScheduleMode schedule;   // DVP_SIM_SCHEDULE: canonical (default) | reverse | seed=N
  uint64_t seed;           // for ScheduleMode::Random
  bool strict;             // DVP_SIM_STRICT=1: report legal-but-suspicious patterns too
  int workers;             // DVP_SIM_THREADS (default: CPU count; 1 when the schedule is fuzzed)
  size_t stack_bytes;      // DVP_SIM_STACK_KB per simulated thread (default 64, 256 under ASan)
  std::string describe() const;
};
const Config& config();

/** The process's single simulated device: sm_90 limits. */
constexpr int SM_COUNT = 132;
constexpr int MAX_THREADS_PER_BLOCK = 1024;
constexpr int MAX_SHARED_PER_BLOCK = 48 * 1024;
constexpr int MAX_SHARED_PER_BLOCK_OPTIN = 227 * 1024;
constexpr int REGISTERS_PER_BLOCK = 65536;
constexpr const char* DEVICE_NAME = "dvp CUDA simulator (sm_90 limits, runs on the CPU; not a GPU)";

/**
 * Records why a call fails (what the driver's error code cannot say) and returns code. The message
 * is printed to stderr and kept for dvpsim_last_diagnostic().
 */
CUresult fail(CUresult code, const std::string& message);

/** The message of the last fail() / set_sticky(), for dvpsim_last_diagnostic(). */
std::string last_diagnostic();

/** A fault in queued work: the context's sticky error (first one wins), like a GPU fault. */
void set_sticky(int code, const std::string& message);
/** CUDA_SUCCESS, or the sticky error every later call reports. */
CUresult sticky();

void printf_append(const char* text, size_t n);
/** Writes buffered device printf output to stdout (where CUDA flushes: syncs, launches, module ops). */
void printf_flush();

/** Host-side identity of the calling thread for diagnostics ("launch 41 of dvp_relu_f32"). */
std::string describe_code(CUresult code);

}  // namespace dvpsim
