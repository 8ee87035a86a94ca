#include "memory.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "sim.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define DVPSIM_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define DVPSIM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define DVPSIM_POISON(p, n) ((void)(p), (void)(n))
#define DVPSIM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace dvpsim {

namespace {

constexpr size_t ALIGN = 256;        // cuMemAlloc's alignment
constexpr size_t GUARD = 256;        // bytes before and after each allocation
constexpr unsigned char GUARD_BYTE = 0xfd;
constexpr size_t QUARANTINE_BYTES = 256ull << 20;

struct Allocation {
  uintptr_t start = 0;
  size_t size = 0;
  MemKind kind = MemKind::Device;
  bool live = true;
  unsigned long long id = 0;
  char* raw = nullptr;  // host block: [guard | data | guard] (device), or data (pinned)
  std::string name;     // module globals
};

std::mutex mu;
std::map<uintptr_t, Allocation> table;  // by start: live ones and quarantined freed ones
std::deque<uintptr_t> quarantine;
size_t quarantined = 0, device_live = 0;
unsigned long long next_id = 1;

const char* kind_name(MemKind k) {
  return k == MemKind::Device ? "device allocation" : k == MemKind::PinnedHost ? "pinned host allocation" : "module global";
}

std::string hex(uintptr_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

std::string describe(const Allocation& a) {
  return std::string(a.live ? "" : "FREED ") + kind_name(a.kind) + " #" + std::to_string(a.id) + " [" + hex(a.start) + ", +" +
         std::to_string(a.size) + ")" + (a.name.empty() ? "" : " '" + a.name + "'");
}

/** The allocation whose [start, start + size] holds p (end inclusive), or nullptr. Caller holds mu. */
const Allocation* find(uintptr_t p) {
  auto it = table.upper_bound(p);
  if (it == table.begin()) return nullptr;
  --it;
  const Allocation& a = it->second;
  return p <= a.start + a.size ? &a : nullptr;
}

void drop_from_quarantine_locked() {
  while (quarantined > QUARANTINE_BYTES && !quarantine.empty()) {
    auto it = table.find(quarantine.front());
    quarantine.pop_front();
    if (it == table.end()) continue;
    quarantined -= it->second.size;
    char* raw = it->second.raw;
    size_t total = it->second.size + 2 * GUARD;
    DVPSIM_UNPOISON(raw, total);
    table.erase(it);
    std::free(raw);
  }
}

}  // namespace

CUresult device_alloc(size_t bytes, void** out) {
  if (bytes == 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemAlloc: 0 bytes requested (CUDA refuses an empty allocation)");
  size_t rounded = (bytes + ALIGN - 1) / ALIGN * ALIGN;
  {
    std::lock_guard<std::mutex> g(mu);
    if (device_live + rounded > config().device_memory)
      return fail(CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc(" + std::to_string(bytes) + "): the simulated device has " +
                                                std::to_string(config().device_memory - device_live) + " of " +
                                                std::to_string(config().device_memory) + " bytes free (DVP_SIM_DEVICE_MEMORY)");
  }
  void* raw = nullptr;
  if (posix_memalign(&raw, ALIGN, bytes + 2 * GUARD) != 0 || !raw)
    return fail(CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc(" + std::to_string(bytes) + "): the host has no memory left for the simulated device");
  char* data = (char*)raw + GUARD;
  std::memset(raw, GUARD_BYTE, GUARD);
  std::memset(data, POISON, bytes);  // a GPU does not zero new memory: reading before writing shows
  std::memset(data + bytes, GUARD_BYTE, GUARD);
  DVPSIM_POISON(raw, GUARD);
  DVPSIM_POISON(data + bytes, GUARD);
  std::lock_guard<std::mutex> g(mu);
  Allocation a;
  a.start = (uintptr_t)data;
  a.size = bytes;
  a.kind = MemKind::Device;
  a.id = next_id++;
  a.raw = (char*)raw;
  // a quarantined block never overlaps: its host memory is still allocated
  table[a.start] = a;
  device_live += rounded;
  *out = data;
  return CUDA_SUCCESS;
}

CUresult device_free(void* p) {
  std::lock_guard<std::mutex> g(mu);
  auto it = table.find((uintptr_t)p);
  if (it == table.end() || it->second.kind != MemKind::Device) {
    const Allocation* a = find((uintptr_t)p);
    return fail(CUDA_ERROR_INVALID_VALUE, "cuMemFree(" + hex((uintptr_t)p) + "): not the start of a device allocation" +
                                              (a ? " (inside " + describe(*a) + ")" : ""));
  }
  Allocation& a = it->second;
  if (!a.live) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemFree(" + hex((uintptr_t)p) + "): freed twice (" + describe(a) + ")");
  // a kernel that wrote past either end is reported here at the latest
  DVPSIM_UNPOISON(a.raw, GUARD);
  DVPSIM_UNPOISON(a.raw + GUARD + a.size, GUARD);
  for (size_t i = 0; i < GUARD; i++) {
    if ((unsigned char)a.raw[i] != GUARD_BYTE || (unsigned char)a.raw[GUARD + a.size + i] != GUARD_BYTE) {
      set_sticky(CUDA_ERROR_ILLEGAL_ADDRESS, "a kernel or copy wrote outside " + describe(a) + " (its guard zone is damaged; found at cuMemFree)");
      break;
    }
  }
  a.live = false;
  std::memset(a.raw + GUARD, POISON, a.size);
  DVPSIM_POISON(a.raw, a.size + 2 * GUARD);  // any later touch of the freed block: use-after-poison
  device_live -= (a.size + ALIGN - 1) / ALIGN * ALIGN;
  quarantine.push_back(a.start);
  quarantined += a.size;
  drop_from_quarantine_locked();
  return CUDA_SUCCESS;
}

CUresult pinned_alloc(size_t bytes, void** out) {
  if (bytes == 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemHostAlloc: 0 bytes requested");
  void* raw = nullptr;
  if (posix_memalign(&raw, 4096, bytes) != 0 || !raw)
    return fail(CUDA_ERROR_OUT_OF_MEMORY, "cuMemHostAlloc(" + std::to_string(bytes) + "): host out of memory");
  std::memset(raw, POISON, bytes);
  std::lock_guard<std::mutex> g(mu);
  Allocation a;
  a.start = (uintptr_t)raw;
  a.size = bytes;
  a.kind = MemKind::PinnedHost;
  a.id = next_id++;
  a.raw = (char*)raw;
  table[a.start] = a;
  *out = raw;
  return CUDA_SUCCESS;
}

CUresult pinned_free(void* p) {
  std::lock_guard<std::mutex> g(mu);
  auto it = table.find((uintptr_t)p);
  if (it == table.end() || it->second.kind != MemKind::PinnedHost || !it->second.live)
    return fail(CUDA_ERROR_INVALID_VALUE, "cuMemFreeHost(" + hex((uintptr_t)p) + "): not a live cuMemHostAlloc pointer");
  std::free(it->second.raw);
  table.erase(it);
  return CUDA_SUCCESS;
}

void register_global(void* p, size_t bytes, const std::string& name) {
  std::lock_guard<std::mutex> g(mu);
  Allocation a;
  a.start = (uintptr_t)p;
  a.size = bytes;
  a.kind = MemKind::ModuleGlobal;
  a.id = next_id++;
  a.name = name;
  table[a.start] = a;
}

void unregister_global(void* p) {
  std::lock_guard<std::mutex> g(mu);
  auto it = table.find((uintptr_t)p);
  if (it != table.end() && it->second.kind == MemKind::ModuleGlobal) table.erase(it);
}

void device_mem_info(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::mutex> g(mu);
  *total_bytes = config().device_memory;
  *free_bytes = config().device_memory - device_live;
}

bool is_device_range(const void* p, size_t bytes, std::string* why) {
  uintptr_t s = (uintptr_t)p;
  std::lock_guard<std::mutex> g(mu);
  const Allocation* a = find(s);
  if (a && a->live && a->kind != MemKind::PinnedHost && (bytes == 0 || s + bytes <= a->start + a->size)) return true;
  if (!why) return false;
  if (!a) {
    // name the nearest allocation below, which an overrun usually comes from
    auto it = table.upper_bound(s);
    if (it != table.begin()) {
      --it;
      *why = hex(s) + " is not device memory (" + std::to_string(s - (it->second.start + it->second.size)) + " bytes past the end of " +
             describe(it->second) + ")";
    } else {
      *why = hex(s) + " is not device memory (below every allocation)";
    }
  } else if (!a->live) {
    *why = hex(s) + " is in " + describe(*a) + ": used after cuMemFree";
  } else if (a->kind == MemKind::PinnedHost) {
    *why = hex(s) + " is host memory (" + describe(*a) + "), not device memory";
  } else {
    *why = "[" + hex(s) + ", +" + std::to_string(bytes) + ") runs " + std::to_string(s + bytes - (a->start + a->size)) +
           " bytes past the end of " + describe(*a);
  }
  return false;
}

bool is_pinned_range(const void* p, size_t bytes) {
  uintptr_t s = (uintptr_t)p;
  std::lock_guard<std::mutex> g(mu);
  const Allocation* a = find(s);
  return a && a->live && a->kind == MemKind::PinnedHost && s + bytes <= a->start + a->size;
}

std::string check_guards() {
#if defined(__SANITIZE_ADDRESS__)
  return "";  // ASan reports a touched guard at the faulting access itself
#else
  std::lock_guard<std::mutex> g(mu);
  for (auto& [start, a] : table) {
    if (!a.live || a.kind != MemKind::Device) continue;
    for (size_t i = 0; i < GUARD; i++) {
      if ((unsigned char)a.raw[i] != GUARD_BYTE) return "a kernel or copy wrote " + std::to_string(GUARD - i) + " bytes before the start of " + describe(a);
      if ((unsigned char)a.raw[GUARD + a.size + i] != GUARD_BYTE) return "a kernel or copy wrote past the end of " + describe(a);
    }
  }
  return "";
#endif
}

}  // namespace dvpsim
