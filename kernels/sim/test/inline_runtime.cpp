// A test double of the simulated driver's library services (sim_api.h) for libs_test: work runs on
// the calling thread, at once or when drained; see inline_runtime.h for the hooks. Not thread-safe
// and not part of any shipped library.
#include "inline_runtime.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <utility>

namespace {

struct Work {
  const char* call;
  std::function<void()> fn;
};

bool g_deferred = false, g_strict = false, g_have_fault = false;
int g_fail_next = 0, g_fail_next_sync = 0;
int g_depth = 0;  // > 0 while work runs: "on a stream worker"
std::vector<Work> g_queue;
std::vector<std::pair<const char*, size_t>> g_allocations;
std::vector<dvpsim_test::Access> g_accesses;
std::vector<void*> g_streams;
dvpsim::DeviceFault g_fault;

void run(const Work& w) {
  g_depth++;
  try {
    w.fn();
  } catch (const dvpsim::DeviceFault& f) {
    if (!g_have_fault) {  // the first fault sticks, as the context's error does
      g_fault = f;
      g_have_fault = true;
    }
  }
  g_depth--;
}

}  // namespace

namespace dvpsim {

int enqueue(void* stream, const char* call, std::function<void()> work) {
  g_streams.push_back(stream);
  if (g_fail_next != 0) {
    int code = g_fail_next;
    g_fail_next = 0;
    return code;
  }
  Work w{call, std::move(work)};
  if (g_deferred)
    g_queue.push_back(std::move(w));
  else
    run(w);
  return 0;
}

void require_device(const void* p, size_t bytes, const char* call, const char* what) {
  g_accesses.push_back({p, bytes, call, what});
  if (!g_strict || bytes == 0) return;
  const char* c = static_cast<const char*>(p);
  for (const auto& a : g_allocations)
    if (c >= a.first && c + bytes <= a.first + a.second) return;
  char msg[256];
  std::snprintf(msg, sizeof msg, "%s: %s = %p (+%zu bytes) is not device memory", call, what, p, bytes);
  throw DeviceFault{700, msg};
}

void parallel_for(long n, const std::function<void(long)>& f) {
  for (long i = 0; i < n; i++) f(i);
}

bool on_host_thread() { return g_depth == 0; }

int synchronize(void* stream, const char* call) {
  (void)call;
  g_streams.push_back(stream);
  if (g_fail_next_sync != 0) {
    int code = g_fail_next_sync;
    g_fail_next_sync = 0;
    return code;
  }
  std::vector<Work> q;
  q.swap(g_queue);
  for (const Work& w : q) run(w);
  return g_have_fault ? g_fault.code : 0;  // the fault stays for take_fault, as a sticky error stays
}

}  // namespace dvpsim

namespace dvpsim_test {

void reset() {
  g_deferred = g_strict = g_have_fault = false;
  g_fail_next = g_fail_next_sync = 0;
  g_queue.clear();
  g_allocations.clear();
  g_accesses.clear();
  g_streams.clear();
}

void set_deferred(bool deferred) { g_deferred = deferred; }

int drain(int times) {
  std::vector<Work> q;
  q.swap(g_queue);
  for (int t = 0; t < times; t++)
    for (const Work& w : q) run(w);
  return (int)q.size();
}

void set_strict(bool strict) { g_strict = strict; }

void add_allocation(const void* p, size_t bytes) { g_allocations.push_back({static_cast<const char*>(p), bytes}); }

const std::vector<Access>& accesses() { return g_accesses; }

bool take_fault(dvpsim::DeviceFault* out) {
  if (!g_have_fault) return false;
  *out = g_fault;
  g_have_fault = false;
  return true;
}

void fail_next_enqueue(int code) { g_fail_next = code; }

void fail_next_synchronize(int code) { g_fail_next_sync = code; }

const std::vector<void*>& streams() { return g_streams; }

}  // namespace dvpsim_test
