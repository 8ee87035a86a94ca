// Test hooks of inline_runtime.cpp, the stand-in for the simulated driver's services (sim_api.h)
// that libs_test links instead of libcuda.so.1. By default queued work runs at once, every pointer
// is accepted and parallel_for is a plain loop; the hooks below let a test defer work (to check that
// calls capture their arguments by value), replay it (as a CUDA graph would), check device ranges
// against registered allocations, record every range a library checks, and fail an enqueue.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "../runtime/sim_api.h"

namespace dvpsim_test {

/** One require_device call as a library made it. */
struct Access {
  const void* p;
  size_t bytes;
  std::string call, what;
};

/** Back to defaults: immediate execution, no strict checking, logs and queue cleared. */
void reset();
/** Queue work instead of running it; drain() runs it. */
void set_deferred(bool deferred);
/** Runs the queued work `times` times in order (times > 1: like replaying a captured graph), then clears it. */
int drain(int times = 1);
/** Strict: require_device throws DeviceFault(700) unless the range lies inside one registered allocation. */
void set_strict(bool strict);
void add_allocation(const void* p, size_t bytes);
/** Every require_device call since the last reset(). */
const std::vector<Access>& accesses();
/** The fault a queued work item raised (the stand-in for the context's sticky error), if any; clears it. */
bool take_fault(dvpsim::DeviceFault* out);
/** The next enqueue returns `code` (a CUresult) and queues nothing. */
void fail_next_enqueue(int code);
/** The next synchronize returns `code` (a CUresult: 900 = a capturing stream) and runs nothing. */
void fail_next_synchronize(int code);
/** The stream argument of every enqueue since the last reset(). */
const std::vector<void*>& streams();

}  // namespace dvpsim_test
