// Simulated device memory: every cuMemAlloc is its own host allocation of exactly the requested
// size between two guard zones (AddressSanitizer-poisoned in the ASan build; checked for damage at
// every synchronisation otherwise), filled with 0xff bytes (NaN / -1) because a GPU does not zero
// memory; cuMemFree fills it again and keeps it in a quarantine, so a later use of the freed
// pointer is reported as such. Device pointers are host addresses: the table is what makes an
// address "device memory".
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include <cuda.h>

namespace dvpsim {

enum class MemKind { Device, PinnedHost, ModuleGlobal };

constexpr unsigned char POISON = 0xff;

CUresult device_alloc(size_t bytes, void** out);
CUresult device_free(void* p);
CUresult pinned_alloc(size_t bytes, void** out);
CUresult pinned_free(void* p);
void register_global(void* p, size_t bytes, const std::string& name);
void unregister_global(void* p);

/** free, total bytes of the simulated device. */
void device_mem_info(size_t* free_bytes, size_t* total_bytes);

/**
 * Whether [p, p + bytes) lies inside one live device allocation or module global (bytes == 0:
 * p anywhere inside or one past the end). When not, `why` says what p is: freed (and when), pinned
 * host memory, outside any allocation (with the nearest one).
 */
bool is_device_range(const void* p, size_t bytes, std::string* why);
/** Whether [p, p + bytes) lies inside one live pinned host allocation (cuMemHostAlloc). */
bool is_pinned_range(const void* p, size_t bytes);

/** Checks every live allocation's guard zones; returns "" or a description of the damage. */
std::string check_guards();

}  // namespace dvpsim
