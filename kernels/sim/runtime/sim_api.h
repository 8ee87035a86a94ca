// The simulated driver's services for the simulated libraries built beside it (cuBLAS, cuDNN).
// Exported from the simulated libcuda.so.1; the library simulators link against it.
//
// Invariants the libraries rely on:
// - Work is queued with enqueue() and runs later, on the stream's worker thread, in stream order
//   (or is recorded into the stream's active graph capture and runs at each replay). So a closure
//   captures every argument BY VALUE (pointers, sizes, alpha/beta read from host memory at call
//   time, as the real libraries read host-pointer scalars before returning).
// - Inside work, a bad device address or a failed check throws DeviceFault; the stream worker
//   makes it the context's sticky error (reported by the next synchronising call, like an
//   asynchronous fault on a GPU) and keeps the message for cuGetErrorString-style diagnostics.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#define DVPSIM_LIB_API __attribute__((visibility("default")))

namespace dvpsim {

/** An error found while executing queued work; code is a CUresult (700 illegal address, ...). */
struct DeviceFault {
  int code;
  std::string message;
};

/**
 * Queues work on a stream (nullptr = the legacy default stream). Returns a CUresult: 0, or
 * 400 (CUDA_ERROR_INVALID_HANDLE) for an unknown stream, or the context's sticky error.
 * `call` names the API call for diagnostics ("cublasGemmEx").
 */
DVPSIM_LIB_API int enqueue(void* stream, const char* call, std::function<void()> work);

/**
 * Inside work: [p, p + bytes) must lie inside one live device allocation (cuMemAlloc, or a module
 * global). Throws DeviceFault(700, "<call>: <what> = 0x... is not device memory ...") otherwise.
 * bytes == 0 accepts any pointer.
 */
DVPSIM_LIB_API void require_device(const void* p, size_t bytes, const char* call, const char* what);

/** Runs f(i) for i in [0, n) on the simulator's worker threads; returns when all are done. */
DVPSIM_LIB_API void parallel_for(long n, const std::function<void(long)>& f);

/**
 * On the host: waits for all work queued on a stream, as cuStreamSynchronize does (a library call
 * that NVIDIA documents as synchronising, e.g. cuDNN's Find*Ex, uses this). Returns a CUresult: 0,
 * the context's sticky error (a fault in queued work), or 900 (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED)
 * when the stream is being captured, which invalidates the capture as on a GPU. `call` names the API
 * call in that message.
 */
DVPSIM_LIB_API int synchronize(void* stream, const char* call);

/** Whether the calling thread is the host (true) or a stream worker (false). */
DVPSIM_LIB_API bool on_host_thread();

}  // namespace dvpsim
