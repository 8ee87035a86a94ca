// The simulated CUDA driver API: exactly the calls dvp's CUDA backend makes through JCuda, with the
// exact prototypes of the toolkit's cuda.h (compiled against it: a mismatching definition does not
// build) and the versioned symbol names JCuda 12.6's binding imports. Every other entry point JCuda
// imports is in not_simulated.cpp and fails naming itself.
//
// One device, one (primary) context, sm_90 limits. Memory: memory.cpp; streams, events, graphs:
// stream.cpp; kernel execution: exec.cpp; reading the kernel image: image.cpp.
#define __CUDA_API_VERSION_INTERNAL 1  // declare the versioned entry points (cuMemAlloc_v2 ...) by name
#include <cuda.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include "exec.h"
#include "host_image.h"
#include "image.h"
#include "memory.h"
#include "sim.h"
#include "stream.h"

// The opaque handle types of cuda.h, defined here.
struct CUctx_st {
  int device = 0;
};
struct CUstream_st {
  std::unique_ptr<dvpsim::Stream> stream;
};
struct CUevent_st {
  std::shared_ptr<dvpsim::Event> event;
};
struct CUmod_st;
struct CUfunc_st;
struct CUgraph_st {
  dvpsim::Graph graph;
};
struct CUgraphExec_st {
  dvpsim::GraphExec exec;
};

namespace dvpsim {
namespace {

// ---- modules and functions --------------------------------------------------------------------------

struct Function {
  CUmod_st* module = nullptr;
  std::string name;
  const HostKernel* host = nullptr;
  std::vector<PtxParam> params;
  std::vector<size_t> offsets;
  size_t arg_bytes = 0;
  unsigned static_shared = 0;
  int registers = -1;
  unsigned max_threads = 0;
  int max_dynamic_shared = MAX_SHARED_PER_BLOCK;  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
};

}  // namespace
}  // namespace dvpsim

struct CUfunc_st {
  dvpsim::Function f;
};
struct CUmod_st {
  std::map<std::string, std::unique_ptr<CUfunc_st>> functions;
  std::map<std::string, std::pair<void*, size_t>> globals;
};

namespace dvpsim {
namespace {

std::atomic<bool> initialized{false};
CUctx_st the_context;
std::atomic<int> primary_refs{0};
thread_local CUcontext current_context = nullptr;
std::atomic<unsigned long long> launch_counter{0};

std::mutex handles_mutex;
std::set<CUstream> streams_live;
std::set<CUevent> events_live;
std::set<CUmodule> modules_live;
std::set<CUfunction> functions_live;
std::set<CUgraph> graphs_live;
std::set<CUgraphExec> execs_live;

template <typename T>
bool live(const std::set<T>& s, T h) {
  std::lock_guard<std::mutex> g(handles_mutex);
  return s.count(h) != 0;
}

std::string hex(const void* p) {
  char b[32];
  std::snprintf(b, sizeof b, "%p", p);
  return b;
}

#define REQUIRE_INIT(call)                                                                               \
  do {                                                                                                   \
    if (!initialized.load()) return fail(CUDA_ERROR_NOT_INITIALIZED, std::string(call) + ": cuInit has not been called"); \
  } while (0)

// Calls that need the calling thread's current context (as the driver does: a Java thread that
// never called cuCtxSetCurrent gets CUDA_ERROR_INVALID_CONTEXT, not a silent default).
#define REQUIRE_CONTEXT(call)                                                                                         \
  do {                                                                                                                \
    REQUIRE_INIT(call);                                                                                               \
    if (current_context == nullptr)                                                                                   \
      return fail(CUDA_ERROR_INVALID_CONTEXT, std::string(call) + ": no current context on this thread (call cuCtxSetCurrent first)"); \
  } while (0)

#define RETURN_IF_STICKY()                               \
  do {                                                   \
    if (CUresult s_ = sticky(); s_ != CUDA_SUCCESS) return s_; \
  } while (0)

bool is_legacy(CUstream s) { return s == nullptr || s == CU_STREAM_LEGACY; }

/**
 * An "unsafe" call (allocation, synchronous copy, implicit synchronisation) while a stream is being
 * captured in global or thread-local mode invalidates the capture, as the driver does; relaxed mode
 * allows it. Returns CUDA_SUCCESS or CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED.
 */
CUresult capture_guard(const char* call, bool even_relaxed) {
  CUresult r = CUDA_SUCCESS;
  for (Stream* s : all_streams()) {
    std::lock_guard<std::mutex> g(s->mutex_);
    if (!s->capture) continue;
    if (!even_relaxed && s->capture_mode == CU_STREAM_CAPTURE_MODE_RELAXED) continue;
    if (!s->capture_invalidated) {
      s->capture_invalidated = true;
      s->capture_invalid_reason = std::string(call) + " was called during the capture";
    }
    r = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  }
  if (r != CUDA_SUCCESS)
    return fail(r, std::string(call) + ": not permitted while a stream is being captured into a CUDA graph (the capture is now invalidated)");
  return r;
}

/** Legacy-stream semantics: wait for every blocking stream (flags 0); non-blocking streams run on. */
void drain_blocking_streams() {
  for (Stream* s : all_streams())
    if ((s->flags & CU_STREAM_NON_BLOCKING) == 0) s->drain();
}

void drain_all_streams() {
  for (Stream* s : all_streams()) s->drain();
}

/** After a synchronisation: flush device printf, check guard zones, report any sticky error. */
CUresult after_sync() {
  printf_flush();
  std::string damage = check_guards();
  if (!damage.empty()) set_sticky(CUDA_ERROR_ILLEGAL_ADDRESS, damage + " (found at a synchronisation)");
  return sticky();
}

CUresult stream_of(CUstream h, const char* call, Stream** out) {
  if (is_legacy(h)) {
    *out = nullptr;
    return CUDA_SUCCESS;
  }
  if (h == CU_STREAM_PER_THREAD) return fail(CUDA_ERROR_NOT_SUPPORTED, std::string(call) + ": the per-thread default stream is not simulated");
  if (!live(streams_live, h)) return fail(CUDA_ERROR_INVALID_HANDLE, std::string(call) + ": " + hex(h) + " is not a live stream");
  *out = h->stream.get();
  return CUDA_SUCCESS;
}

/** Queues work on a stream, or runs it now for the legacy stream (after the blocking streams). */
CUresult submit(CUstream h, const char* call, std::shared_ptr<Work> w) {
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, call, &s); r != CUDA_SUCCESS) return r;
  if (!s) {
    if (CUresult r = capture_guard(call, false); r != CUDA_SUCCESS) return r;
    drain_blocking_streams();
    run_work(*w);
    return sticky();
  }
  return s->submit(std::move(w));
}

std::shared_ptr<Work> work(std::string what, std::function<void()> fn) {
  auto w = std::make_shared<Work>();
  w->what = std::move(what);
  w->run = std::move(fn);
  return w;
}

void require_range(const void* p, size_t bytes, const std::string& call, const char* what) {
  std::string why;
  if (!is_device_range(p, bytes, &why)) throw DeviceFault{CUDA_ERROR_ILLEGAL_ADDRESS, call + ": " + what + ": " + why};
}

/** A device range given to a call: checked when the call is made, as the driver validates pointers. */
CUresult check_range(CUdeviceptr p, size_t bytes, const char* call, const char* what) {
  std::string why;
  if (bytes == 0) return CUDA_SUCCESS;
  if (!is_device_range((const void*)(uintptr_t)p, bytes, &why)) return fail(CUDA_ERROR_INVALID_VALUE, std::string(call) + ": " + what + ": " + why);
  return CUDA_SUCCESS;
}

// ---- the kernels' host build -----------------------------------------------------------------------

std::string own_directory() {
  Dl_info info;
  if (dladdr((void*)&own_directory, &info) && info.dli_fname) {
    std::string p = info.dli_fname;
    size_t slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
  }
  return ".";
}

const HostImage* host_image(std::string& why) {
  static std::mutex m;
  static const HostImage* image = nullptr;
  static std::string error;
  std::lock_guard<std::mutex> g(m);
  if (image || !error.empty()) {
    why = error;
    return image;
  }
  const char* env = std::getenv("DVP_SIM_KERNELS");
  std::string path = env && *env ? env : own_directory() + "/libdvp_kernels_host.so";
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    error = "the host build of the kernels (" + path + ") does not load: " + dlerror() + " (kernels/sim/build-sim.sh builds it)";
  } else {
    auto fn = (const HostImage* (*)())dlsym(h, "dvpsim_host_image");
    if (!fn) error = path + " has no dvpsim_host_image(): not a host build of dvp's kernels";
    else if (fn()->abi != HOST_IMAGE_ABI) error = path + " was built for another simulator version (ABI " + std::to_string(fn()->abi) + "); rebuild kernels/";
    else image = fn();
  }
  why = error;
  return image;
}

std::string fingerprint_hex(uint64_t f) {
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", (unsigned long long)f);
  return b;
}

/** Whether a PTX parameter and the host build's C parameter are the same thing. */
bool same_param(const PtxParam& p, const HostParam& h) {
  if (p.size != h.size) return false;
  if (p.bytes) return h.kind == ParamKind::Struct;
  if (p.floating) return h.kind == ParamKind::Float;
  return h.kind == ParamKind::Integer || h.kind == ParamKind::Pointer;
}

std::string host_param_str(const HostParam& h) {
  const char* k = h.kind == ParamKind::Pointer ? "pointer" : h.kind == ParamKind::Float ? "float" : h.kind == ParamKind::Struct ? "struct" : "integer";
  return std::string(k) + " of " + std::to_string(h.size) + " bytes";
}

CUresult load_module(CUmodule* out, const void* image) {
  ParsedImage parsed;
  std::string why;
  if (!parse_image(image, parsed, why)) return fail(CUDA_ERROR_INVALID_IMAGE, "cuModuleLoadData: " + why);
  const HostImage* host = host_image(why);
  if (!host) return fail(CUDA_ERROR_INVALID_IMAGE, "cuModuleLoadData: " + why);
  if (host->image_fingerprint != parsed.fingerprint)
    return fail(CUDA_ERROR_INVALID_IMAGE, "cuModuleLoadData: the image (fingerprint " + fingerprint_hex(parsed.fingerprint) +
                                              ") is not the one the simulator's host build of the kernels was made with (" +
                                              fingerprint_hex(host->image_fingerprint) + "): rebuild kernels/ so both come from the same sources");
  auto mod = std::make_unique<CUmod_st>();
  std::map<std::string, const HostKernel*> hk;
  for (unsigned i = 0; i < host->kernel_count; i++) hk[host->kernels[i].name] = &host->kernels[i];
  for (auto& [name, e] : parsed.entries) {
    auto it = hk.find(name);
    if (it == hk.end()) return fail(CUDA_ERROR_INVALID_IMAGE, "cuModuleLoadData: kernel " + name + " is in the image but not in the host build");
    const HostKernel* h = it->second;
    if (h->param_count != e.params.size())
      return fail(CUDA_ERROR_INVALID_IMAGE, "cuModuleLoadData: kernel " + name + " has " + std::to_string(e.params.size()) +
                                                " parameters in the image's PTX but " + std::to_string(h->param_count) + " in the host build");
    auto fn = std::make_unique<CUfunc_st>();
    Function& f = fn->f;
    f.module = mod.get();
    f.name = name;
    f.host = h;
    f.params = e.params;
    f.max_threads = e.max_threads;
    size_t off = 0;
    for (unsigned k = 0; k < h->param_count; k++) {
      if (!same_param(e.params[k], h->params[k]))
        return fail(CUDA_ERROR_INVALID_IMAGE, "cuModuleLoadData: kernel " + name + " parameter " + std::to_string(k) + " is ." +
                                                  e.params[k].type + " in the PTX but a " + host_param_str(h->params[k]) +
                                                  " in the host build (the shim maps a type wrongly)");
      unsigned a = std::max(h->params[k].align, 1u);
      off = (off + a - 1) / a * a;
      f.offsets.push_back(off);
      off += h->params[k].size;
    }
    f.arg_bytes = off;
    auto s = parsed.sass.find(name);
    if (s != parsed.sass.end()) {
      f.static_shared = s->second.static_shared;
      f.registers = s->second.registers;
    }
    mod->functions[name] = std::move(fn);
  }
  for (unsigned i = 0; i < host->kernel_count; i++)
    if (!parsed.entries.count(host->kernels[i].name))
      return fail(CUDA_ERROR_INVALID_IMAGE, std::string("cuModuleLoadData: the host build has kernel ") + host->kernels[i].name +
                                                ", which the image's PTX lacks");
  for (unsigned i = 0; i < host->global_count; i++) {
    const HostGlobal& g = host->globals[i];
    auto it = parsed.globals.find(g.name);
    if (it == parsed.globals.end())
      return fail(CUDA_ERROR_INVALID_IMAGE, std::string("cuModuleLoadData: __device__ global ") + g.name + " is in the host build but not in the image");
    if (it->second.size != g.size)
      return fail(CUDA_ERROR_INVALID_IMAGE, std::string("cuModuleLoadData: __device__ global ") + g.name + " has " + std::to_string(it->second.size) +
                                                " bytes in the image but " + std::to_string(g.size) + " in the host build");
    if (it->second.has_scalar_init && g.size <= 8) {
      long long v = 0;
      std::memcpy(&v, g.address, g.size);
      if (g.size < 8) v = (v << (64 - 8 * g.size)) >> (64 - 8 * g.size);
      if (v != it->second.scalar_init)
        return fail(CUDA_ERROR_INVALID_IMAGE, std::string("cuModuleLoadData: __device__ global ") + g.name + " is " +
                                                  std::to_string(it->second.scalar_init) + " in the image but " + std::to_string(v) +
                                                  " in the host build (built with other defines)");
    }
    mod->globals[g.name] = {g.address, g.size};
    register_global(g.address, g.size, g.name);
  }
  CUmodule m = mod.release();
  std::lock_guard<std::mutex> g(handles_mutex);
  modules_live.insert(m);
  for (auto& [n, f] : m->functions) functions_live.insert(f.get());
  *out = m;
  return CUDA_SUCCESS;
}

// ---- memcpy / memset helpers ---------------------------------------------------------------------------

CUresult copy_async(const char* call, void* dst, const void* src, size_t n, CUstream h, bool dst_device, bool src_device) {
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, call, &s); r != CUDA_SUCCESS) return r;
  std::string c = call;
  // a pageable host source is staged at the call (the driver copies it before returning); a pinned
  // one is read when the copy runs, so the host must not reuse it before then
  std::shared_ptr<std::vector<unsigned char>> staged;
  bool host_src = !src_device, host_dst = !dst_device;
  bool capturing = false;
  if (s) {
    std::lock_guard<std::mutex> g(s->mutex_);
    capturing = s->capture != nullptr;
  }
  if (host_src && !is_pinned_range(src, n)) {
    if (capturing) return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, c + ": a copy from pageable host memory cannot be captured into a graph");
    staged = std::make_shared<std::vector<unsigned char>>((const unsigned char*)src, (const unsigned char*)src + n);
  }
  if (host_dst && !is_pinned_range(dst, n)) {
    if (capturing) return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, c + ": a copy to pageable host memory cannot be captured into a graph");
    // to pageable memory the driver copies synchronously: wait for the stream, then copy
    if (s) s->drain();
    else drain_blocking_streams();
    RETURN_IF_STICKY();
    std::string why;
    if (src_device && !is_device_range(src, n, &why)) return fail(CUDA_ERROR_INVALID_VALUE, c + ": source: " + why);
    std::memcpy(dst, src, n);
    return CUDA_SUCCESS;
  }
  return submit(h, call, work(c, [=] {
    if (dst_device) require_range(dst, n, c, "destination");
    if (src_device) require_range(src, n, c, "source");
    std::memmove(dst, staged ? (const void*)staged->data() : src, n);
  }));
}

CUresult copy_sync(const char* call, void* dst, const void* src, size_t n, bool dst_device, bool src_device) {
  REQUIRE_CONTEXT(call);
  RETURN_IF_STICKY();
  if (CUresult r = capture_guard(call, false); r != CUDA_SUCCESS) return r;
  if (dst_device)
    if (CUresult r = check_range((CUdeviceptr)(uintptr_t)dst, n, call, "destination"); r != CUDA_SUCCESS) return r;
  if (src_device)
    if (CUresult r = check_range((CUdeviceptr)(uintptr_t)src, n, call, "source"); r != CUDA_SUCCESS) return r;
  drain_blocking_streams();
  RETURN_IF_STICKY();
  std::memmove(dst, src, n);
  return after_sync();
}

template <typename T>
CUresult memset_on(const char* call, CUdeviceptr dst, T value, size_t count, CUstream h, bool async) {
  REQUIRE_CONTEXT(call);
  RETURN_IF_STICKY();
  size_t bytes = count * sizeof(T);
  if ((uintptr_t)dst % sizeof(T) != 0)
    return fail(CUDA_ERROR_INVALID_VALUE, std::string(call) + ": the destination is not " + std::to_string(sizeof(T)) + "-byte aligned");
  if (CUresult r = check_range(dst, bytes, call, "destination"); r != CUDA_SUCCESS) return r;
  std::string c = call;
  auto w = work(c, [=] {
    require_range((void*)(uintptr_t)dst, bytes, c, "destination");
    T* p = (T*)(uintptr_t)dst;
    for (size_t i = 0; i < count; i++) p[i] = value;
  });
  if (!async) {
    if (CUresult r = capture_guard(call, false); r != CUDA_SUCCESS) return r;
    drain_blocking_streams();
    run_work(*w);
    return sticky();
  }
  return submit(h, call, w);
}

}  // namespace

// ---- services for the simulated libraries (sim_api.h) -------------------------------------------------

int enqueue(void* stream, const char* call, std::function<void()> fn) {
  if (!initialized.load()) return fail(CUDA_ERROR_NOT_INITIALIZED, std::string(call) + ": cuInit has not been called");
  if (CUresult s = sticky(); s != CUDA_SUCCESS) return s;
  return submit((CUstream)stream, call, work(call, std::move(fn)));
}

void require_device(const void* p, size_t bytes, const char* call, const char* what) { require_range(p, bytes, call, what); }

}  // namespace dvpsim

using namespace dvpsim;

// ---- initialisation, device, context ----------------------------------------------------------------------

DVPSIM_EXPORT CUresult cuInit(unsigned int flags) {
  if (flags != 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuInit: flags must be 0");
  if (!__builtin_cpu_supports("fma"))
    return fail(CUDA_ERROR_NOT_SUPPORTED, "cuInit: the CUDA simulator needs a CPU with FMA3 instructions (its kernels are built with -mfma "
                                          "to contract a*b+c as nvcc does)");
  (void)config();
  initialized = true;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuDriverGetVersion(int* v) {
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  *v = CUDA_VERSION;  // the toolkit the simulator was built with
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuDeviceGetCount(int* n) {
  REQUIRE_INIT("cuDeviceGetCount");
  if (!n) return CUDA_ERROR_INVALID_VALUE;
  *n = 1;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuDeviceGet(CUdevice* d, int ordinal) {
  REQUIRE_INIT("cuDeviceGet");
  if (!d) return CUDA_ERROR_INVALID_VALUE;
  if (ordinal != 0) return fail(CUDA_ERROR_INVALID_DEVICE, "cuDeviceGet: the simulator has one device, ordinal 0 (asked for " + std::to_string(ordinal) + ")");
  *d = 0;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice d) {
  REQUIRE_INIT("cuDeviceGetName");
  if (d != 0) return CUDA_ERROR_INVALID_DEVICE;
  if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  std::snprintf(name, (size_t)len, "%s", DEVICE_NAME);
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice d) {
  REQUIRE_INIT("cuDeviceTotalMem");
  if (d != 0) return CUDA_ERROR_INVALID_DEVICE;
  if (!bytes) return CUDA_ERROR_INVALID_VALUE;
  *bytes = config().device_memory;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuDeviceGetAttribute(int* v, CUdevice_attribute a, CUdevice d) {
  REQUIRE_INIT("cuDeviceGetAttribute");
  if (d != 0) return CUDA_ERROR_INVALID_DEVICE;
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  // an H100's values (sm_90); the limits the simulator enforces are the same
  static const std::unordered_map<int, int> attrs = {
      {CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, MAX_THREADS_PER_BLOCK},
      {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, 1024},
      {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y, 1024},
      {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, 64},
      {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, 2147483647},
      {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, 65535},
      {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z, 65535},
      {CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, MAX_SHARED_PER_BLOCK},
      {CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY, 65536},
      {CU_DEVICE_ATTRIBUTE_WARP_SIZE, 32},
      {CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK, REGISTERS_PER_BLOCK},
      {CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, SM_COUNT},
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 9},
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 0},
      {CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, 2048},
      {CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, 233472},
      {CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, MAX_SHARED_PER_BLOCK_OPTIN},
      {CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR, 65536},
      {CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR, 32},
      {CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, 50 << 20},
      {CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, 1},
      {CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS, 1},
      {CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT, 2},
      {CU_DEVICE_ATTRIBUTE_INTEGRATED, 0},
      {CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY, 1},
      {CU_DEVICE_ATTRIBUTE_COMPUTE_MODE, CU_COMPUTEMODE_DEFAULT},
      {CU_DEVICE_ATTRIBUTE_ECC_ENABLED, 0},
      {CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT, 0},
  };
  auto it = attrs.find((int)a);
  if (it == attrs.end())
    return fail(CUDA_ERROR_INVALID_VALUE, "cuDeviceGetAttribute: attribute " + std::to_string((int)a) +
                                              " is not simulated (add it, with an sm_90 value, to kernels/sim/runtime/driver.cpp)");
  *v = it->second;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* ctx, CUdevice d) {
  REQUIRE_INIT("cuDevicePrimaryCtxRetain");
  if (d != 0) return CUDA_ERROR_INVALID_DEVICE;
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  primary_refs++;
  *ctx = &the_context;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
  REQUIRE_INIT("cuDevicePrimaryCtxRelease");
  if (d != 0) return CUDA_ERROR_INVALID_DEVICE;
  if (primary_refs.load() <= 0) return fail(CUDA_ERROR_INVALID_CONTEXT, "cuDevicePrimaryCtxRelease: the primary context is not retained");
  primary_refs--;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuCtxSetCurrent(CUcontext ctx) {
  REQUIRE_INIT("cuCtxSetCurrent");
  if (ctx != nullptr && ctx != &the_context) return fail(CUDA_ERROR_INVALID_CONTEXT, "cuCtxSetCurrent: " + hex(ctx) + " is not a context");
  if (ctx && primary_refs.load() <= 0) return fail(CUDA_ERROR_INVALID_CONTEXT, "cuCtxSetCurrent: the primary context was released");
  current_context = ctx;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuCtxGetCurrent(CUcontext* ctx) {
  REQUIRE_INIT("cuCtxGetCurrent");
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  *ctx = current_context;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuCtxGetDevice(CUdevice* d) {
  REQUIRE_CONTEXT("cuCtxGetDevice");
  if (!d) return CUDA_ERROR_INVALID_VALUE;
  *d = 0;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuCtxSynchronize() {
  REQUIRE_CONTEXT("cuCtxSynchronize");
  if (CUresult r = capture_guard("cuCtxSynchronize", true); r != CUDA_SUCCESS) return r;
  drain_all_streams();
  return after_sync();
}

// ---- memory ------------------------------------------------------------------------------------------------

DVPSIM_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
  REQUIRE_CONTEXT("cuMemAlloc");
  RETURN_IF_STICKY();
  if (!p) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = capture_guard("cuMemAlloc", false); r != CUDA_SUCCESS) return r;
  void* d = nullptr;
  CUresult r = device_alloc(bytes, &d);
  if (r == CUDA_SUCCESS) *p = (CUdeviceptr)(uintptr_t)d;
  return r;
}

DVPSIM_EXPORT CUresult cuMemFree_v2(CUdeviceptr p) {
  REQUIRE_CONTEXT("cuMemFree");
  if (p == 0) return CUDA_SUCCESS;
  if (CUresult r = capture_guard("cuMemFree", false); r != CUDA_SUCCESS) return r;
  // like the driver, free synchronises: queued work that uses the block runs first
  drain_all_streams();
  CUresult r = device_free((void*)(uintptr_t)p);
  if (r != CUDA_SUCCESS) return r;
  return sticky();
}

DVPSIM_EXPORT CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
  REQUIRE_CONTEXT("cuMemGetInfo");
  if (!free_bytes || !total_bytes) return CUDA_ERROR_INVALID_VALUE;
  device_mem_info(free_bytes, total_bytes);
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuMemHostAlloc(void** pp, size_t bytes, unsigned int flags) {
  REQUIRE_CONTEXT("cuMemHostAlloc");
  RETURN_IF_STICKY();
  if (!pp) return CUDA_ERROR_INVALID_VALUE;
  if (flags & ~(unsigned)(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED))
    return fail(CUDA_ERROR_INVALID_VALUE, "cuMemHostAlloc: unknown flags " + std::to_string(flags));
  if (CUresult r = capture_guard("cuMemHostAlloc", false); r != CUDA_SUCCESS) return r;
  return pinned_alloc(bytes, pp);
}

DVPSIM_EXPORT CUresult cuMemAllocHost_v2(void** pp, size_t bytes) { return cuMemHostAlloc(pp, bytes, 0); }

DVPSIM_EXPORT CUresult cuMemFreeHost(void* p) {
  REQUIRE_CONTEXT("cuMemFreeHost");
  if (CUresult r = capture_guard("cuMemFreeHost", false); r != CUDA_SUCCESS) return r;
  drain_all_streams();  // queued copies may still read or write it
  return pinned_free(p);
}

DVPSIM_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
  return copy_sync("cuMemcpyHtoD", (void*)(uintptr_t)dst, src, n, true, false);
}

DVPSIM_EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) {
  return copy_sync("cuMemcpyDtoH", dst, (const void*)(uintptr_t)src, n, false, true);
}

DVPSIM_EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return copy_sync("cuMemcpyDtoD", (void*)(uintptr_t)dst, (const void*)(uintptr_t)src, n, true, true);
}

DVPSIM_EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, CUstream s) {
  REQUIRE_CONTEXT("cuMemcpyHtoDAsync");
  RETURN_IF_STICKY();
  if (CUresult r = check_range(dst, n, "cuMemcpyHtoDAsync", "destination"); r != CUDA_SUCCESS) return r;
  return copy_async("cuMemcpyHtoDAsync", (void*)(uintptr_t)dst, src, n, s, true, false);
}

DVPSIM_EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, CUstream s) {
  REQUIRE_CONTEXT("cuMemcpyDtoHAsync");
  RETURN_IF_STICKY();
  if (CUresult r = check_range(src, n, "cuMemcpyDtoHAsync", "source"); r != CUDA_SUCCESS) return r;
  return copy_async("cuMemcpyDtoHAsync", dst, (const void*)(uintptr_t)src, n, s, false, true);
}

DVPSIM_EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  REQUIRE_CONTEXT("cuMemcpyDtoDAsync");
  RETURN_IF_STICKY();
  if (CUresult r = check_range(dst, n, "cuMemcpyDtoDAsync", "destination"); r != CUDA_SUCCESS) return r;
  if (CUresult r = check_range(src, n, "cuMemcpyDtoDAsync", "source"); r != CUDA_SUCCESS) return r;
  return copy_async("cuMemcpyDtoDAsync", (void*)(uintptr_t)dst, (const void*)(uintptr_t)src, n, s, true, true);
}

DVPSIM_EXPORT CUresult cuMemsetD8_v2(CUdeviceptr d, unsigned char v, size_t n) { return memset_on("cuMemsetD8", d, v, n, nullptr, false); }
DVPSIM_EXPORT CUresult cuMemsetD16_v2(CUdeviceptr d, unsigned short v, size_t n) { return memset_on("cuMemsetD16", d, v, n, nullptr, false); }
DVPSIM_EXPORT CUresult cuMemsetD32_v2(CUdeviceptr d, unsigned int v, size_t n) { return memset_on("cuMemsetD32", d, v, n, nullptr, false); }
DVPSIM_EXPORT CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s) { return memset_on("cuMemsetD8Async", d, v, n, s, true); }
DVPSIM_EXPORT CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s) { return memset_on("cuMemsetD16Async", d, v, n, s, true); }
DVPSIM_EXPORT CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s) { return memset_on("cuMemsetD32Async", d, v, n, s, true); }

// ---- modules and kernels ------------------------------------------------------------------------------------

DVPSIM_EXPORT CUresult cuModuleLoadData(CUmodule* m, const void* image) {
  REQUIRE_CONTEXT("cuModuleLoadData");
  RETURN_IF_STICKY();
  if (!m || !image) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = capture_guard("cuModuleLoadData", false); r != CUDA_SUCCESS) return r;
  printf_flush();
  return load_module(m, image);
}

DVPSIM_EXPORT CUresult cuModuleLoadDataEx(CUmodule* m, const void* image, unsigned int n, CUjit_option*, void**) {
  // JIT options change nothing here: the kernels are already built for the host
  if (n > 64) return CUDA_ERROR_INVALID_VALUE;
  return cuModuleLoadData(m, image);
}

DVPSIM_EXPORT CUresult cuModuleUnload(CUmodule m) {
  REQUIRE_CONTEXT("cuModuleUnload");
  if (!live(modules_live, m)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuModuleUnload: " + hex(m) + " is not a loaded module");
  drain_all_streams();  // queued launches of its kernels run first
  printf_flush();
  {
    std::lock_guard<std::mutex> g(handles_mutex);
    modules_live.erase(m);
    for (auto& [n, f] : m->functions) functions_live.erase(f.get());
  }
  for (auto& [n, g] : m->globals) unregister_global(g.first);
  delete m;
  return sticky();
}

DVPSIM_EXPORT CUresult cuModuleGetFunction(CUfunction* f, CUmodule m, const char* name) {
  REQUIRE_CONTEXT("cuModuleGetFunction");
  if (!f || !name) return CUDA_ERROR_INVALID_VALUE;
  if (!live(modules_live, m)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuModuleGetFunction: " + hex(m) + " is not a loaded module");
  auto it = m->functions.find(name);
  if (it == m->functions.end())
    return fail(CUDA_ERROR_NOT_FOUND, std::string("cuModuleGetFunction: kernel '") + name + "' is not in the loaded image (" +
                                          std::to_string(m->functions.size()) + " kernels)");
  *f = it->second.get();
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuModuleGetGlobal_v2(CUdeviceptr* p, size_t* bytes, CUmodule m, const char* name) {
  REQUIRE_CONTEXT("cuModuleGetGlobal");
  if (!name) return CUDA_ERROR_INVALID_VALUE;
  if (!live(modules_live, m)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuModuleGetGlobal: " + hex(m) + " is not a loaded module");
  auto it = m->globals.find(name);
  if (it == m->globals.end()) return fail(CUDA_ERROR_NOT_FOUND, std::string("cuModuleGetGlobal: '") + name + "' is not a global of the loaded image");
  if (p) *p = (CUdeviceptr)(uintptr_t)it->second.first;
  if (bytes) *bytes = it->second.second;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuFuncGetAttribute(int* v, CUfunction_attribute a, CUfunction f) {
  REQUIRE_CONTEXT("cuFuncGetAttribute");
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  if (!live(functions_live, f)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuFuncGetAttribute: " + hex(f) + " is not a kernel");
  const Function& fn = f->f;
  switch (a) {
    case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: {
      int by_regs = fn.registers > 0 ? REGISTERS_PER_BLOCK / (((fn.registers * 32 + 255) / 256) * 256) * 32 : MAX_THREADS_PER_BLOCK;
      int m = std::min(MAX_THREADS_PER_BLOCK, by_regs);
      if (fn.max_threads) m = std::min(m, (int)fn.max_threads);
      *v = m;
      return CUDA_SUCCESS;
    }
    case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: *v = (int)fn.static_shared; return CUDA_SUCCESS;
    case CU_FUNC_ATTRIBUTE_NUM_REGS: *v = fn.registers; return CUDA_SUCCESS;
    case CU_FUNC_ATTRIBUTE_PTX_VERSION: *v = 90; return CUDA_SUCCESS;
    case CU_FUNC_ATTRIBUTE_BINARY_VERSION: *v = 90; return CUDA_SUCCESS;
    case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: *v = fn.max_dynamic_shared; return CUDA_SUCCESS;
    default:
      return fail(CUDA_ERROR_INVALID_VALUE, "cuFuncGetAttribute: attribute " + std::to_string((int)a) + " is not simulated");
  }
}

DVPSIM_EXPORT CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int value) {
  REQUIRE_CONTEXT("cuFuncSetAttribute");
  if (!live(functions_live, f)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuFuncSetAttribute: " + hex(f) + " is not a kernel");
  Function& fn = f->f;
  switch (a) {
    case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
      if (value < 0 || value + (int)fn.static_shared > MAX_SHARED_PER_BLOCK_OPTIN)
        return fail(CUDA_ERROR_INVALID_VALUE, "cuFuncSetAttribute: " + std::to_string(value) + " bytes of dynamic shared memory + " +
                                                  std::to_string(fn.static_shared) + " static exceed sm_90's " +
                                                  std::to_string(MAX_SHARED_PER_BLOCK_OPTIN) + " per block");
      fn.max_dynamic_shared = value;
      return CUDA_SUCCESS;
    case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
      return value >= -1 && value <= 100 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;  // a hint; no effect on the CPU
    default:
      return fail(CUDA_ERROR_INVALID_VALUE, "cuFuncSetAttribute: attribute " + std::to_string((int)a) + " is not simulated");
  }
}

DVPSIM_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by,
                                      unsigned int bz, unsigned int shared, CUstream s, void** params, void** extra) {
  REQUIRE_CONTEXT("cuLaunchKernel");
  RETURN_IF_STICKY();
  if (!live(functions_live, f)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuLaunchKernel: " + hex(f) + " is not a kernel");
  const Function& fn = f->f;
  std::string call = "cuLaunchKernel(" + fn.name + ")";
  auto bad = [&](CUresult code, const std::string& why) { return fail(code, call + ": " + why); };
  unsigned long long threads = (unsigned long long)bx * by * bz;
  if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0) return bad(CUDA_ERROR_INVALID_VALUE, "a grid or block dimension is 0");
  if (bx > 1024 || by > 1024 || bz > 64 || threads > (unsigned long long)MAX_THREADS_PER_BLOCK)
    return bad(CUDA_ERROR_INVALID_VALUE, "block (" + std::to_string(bx) + "," + std::to_string(by) + "," + std::to_string(bz) +
                                             ") exceeds sm_90's limits (1024 x 1024 x 64, 1024 threads)");
  if (gx > 2147483647u || gy > 65535 || gz > 65535)
    return bad(CUDA_ERROR_INVALID_VALUE, "grid (" + std::to_string(gx) + "," + std::to_string(gy) + "," + std::to_string(gz) +
                                             ") exceeds sm_90's limits (2^31-1 x 65535 x 65535)");
  if (fn.max_threads && threads > fn.max_threads)
    return bad(CUDA_ERROR_INVALID_VALUE, std::to_string(threads) + " threads per block exceed the kernel's launch bounds (" + std::to_string(fn.max_threads) + ")");
  if (fn.registers > 0) {
    // sm_90 allocates registers per warp in units of 256
    unsigned long long per_warp = ((unsigned long long)fn.registers * 32 + 255) / 256 * 256;
    unsigned long long need = per_warp * ((threads + 31) / 32);
    if (need > (unsigned long long)REGISTERS_PER_BLOCK)
      return bad(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, std::to_string(threads) + " threads x " + std::to_string(fn.registers) +
                                                         " registers need " + std::to_string(need) + " registers, more than sm_90's 65536 per block");
  }
  unsigned limit = (unsigned)std::max(MAX_SHARED_PER_BLOCK, fn.max_dynamic_shared + (int)fn.static_shared);
  if ((int)shared > fn.max_dynamic_shared || fn.static_shared + shared > limit)
    return bad(CUDA_ERROR_INVALID_VALUE, std::to_string(shared) + " bytes of dynamic shared memory (+ " + std::to_string(fn.static_shared) +
                                             " static) exceed what the kernel may use (" + std::to_string(fn.max_dynamic_shared) +
                                             " dynamic; raise it with cuFuncSetAttribute)");
  if (extra) return bad(CUDA_ERROR_NOT_SUPPORTED, "arguments through `extra` (CU_LAUNCH_PARAM_BUFFER_POINTER) are not simulated; pass kernelParams");
  if (!params && !fn.params.empty()) return bad(CUDA_ERROR_INVALID_VALUE, "kernelParams is null but the kernel takes " + std::to_string(fn.params.size()) + " parameters");
  auto L = std::make_shared<Launch>();
  L->kernel = fn.host;
  L->name = fn.name;
  L->grid[0] = gx, L->grid[1] = gy, L->grid[2] = gz;
  L->block[0] = bx, L->block[1] = by, L->block[2] = bz;
  L->dynamic_shared = shared;
  L->static_shared_limit = limit;
  L->arg_offsets = fn.offsets;
  L->arg_bytes.resize(std::max<size_t>(fn.arg_bytes, 1));
  // the values are copied now: the caller may reuse its argument buffers as soon as this returns
  for (size_t k = 0; k < fn.params.size(); k++) {
    if (!params[k]) return bad(CUDA_ERROR_INVALID_VALUE, "kernelParams[" + std::to_string(k) + "] is null");
    std::memcpy(L->arg_bytes.data() + fn.offsets[k], params[k], fn.host->params[k].size);
  }
  L->index = launch_counter++;
  const HostKernel* hk = fn.host;
  return submit(s, "cuLaunchKernel", work(call, [L, hk] {
    printf_flush();  // CUDA flushes earlier kernels' printf output at the next launch
    for (unsigned k = 0; k < hk->param_count; k++) {
      if (hk->params[k].kind != ParamKind::Pointer) continue;
      void* p = nullptr;
      std::memcpy(&p, L->arg_bytes.data() + L->arg_offsets[k], sizeof p);
      std::string why;
      if (p && !is_device_range(p, 0, &why))
        throw DeviceFault{CUDA_ERROR_ILLEGAL_ADDRESS, "kernel " + L->name + " (launch " + std::to_string(L->index) + "), pointer argument " +
                                                          std::to_string(k) + ": " + why};
    }
    run_grid(*L);
  }));
}

// ---- streams ------------------------------------------------------------------------------------------------

DVPSIM_EXPORT CUresult cuStreamCreate(CUstream* ph, unsigned int flags) {
  REQUIRE_CONTEXT("cuStreamCreate");
  if (!ph) return CUDA_ERROR_INVALID_VALUE;
  if (flags & ~(unsigned)CU_STREAM_NON_BLOCKING) return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamCreate: unknown flags " + std::to_string(flags));
  auto* s = new CUstream_st;
  s->stream = std::make_unique<Stream>(flags);
  register_stream(s->stream.get());
  {
    std::lock_guard<std::mutex> g(handles_mutex);
    streams_live.insert(s);
  }
  *ph = s;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuStreamDestroy_v2(CUstream h) {
  REQUIRE_CONTEXT("cuStreamDestroy");
  if (is_legacy(h) || !live(streams_live, h)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamDestroy: " + hex(h) + " is not a created stream");
  {
    std::lock_guard<std::mutex> g(h->stream->mutex_);
    if (h->stream->capture) return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "cuStreamDestroy: the stream is being captured");
  }
  h->stream->drain();  // its queued work still completes, as on a GPU
  {
    std::lock_guard<std::mutex> g(handles_mutex);
    streams_live.erase(h);
  }
  unregister_stream(h->stream.get());
  delete h;
  return CUDA_SUCCESS;
}

static CUresult sync_guard(Stream* s, const char* call) {
  std::lock_guard<std::mutex> g(s->mutex_);
  if (!s->capture) return CUDA_SUCCESS;
  if (!s->capture_invalidated) {
    s->capture_invalidated = true;
    s->capture_invalid_reason = std::string(call) + " was called on the capturing stream";
  }
  return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, std::string(call) + ": the stream is being captured into a CUDA graph: "
                                                         "synchronising it is not permitted (the capture is now invalidated)");
}

/** cuStreamSynchronize under the name of the API call that synchronises (for its messages). */
static CUresult synchronize_stream(CUstream h, const char* call) {
  REQUIRE_CONTEXT(call);
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, call, &s); r != CUDA_SUCCESS) return r;
  if (s) {
    if (CUresult r = sync_guard(s, call); r != CUDA_SUCCESS) return r;
    s->drain();
  } else {
    drain_blocking_streams();
  }
  return after_sync();
}

DVPSIM_EXPORT CUresult cuStreamSynchronize(CUstream h) { return synchronize_stream(h, "cuStreamSynchronize"); }

namespace dvpsim {
int synchronize(void* stream, const char* call) { return synchronize_stream((CUstream)stream, call); }
}  // namespace dvpsim

DVPSIM_EXPORT CUresult cuStreamQuery(CUstream h) {
  REQUIRE_CONTEXT("cuStreamQuery");
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, "cuStreamQuery", &s); r != CUDA_SUCCESS) return r;
  if (s) {
    if (CUresult r = sync_guard(s, "cuStreamQuery"); r != CUDA_SUCCESS) return r;
    if (!s->idle()) return CUDA_ERROR_NOT_READY;
  }
  return sticky();
}

DVPSIM_EXPORT CUresult cuStreamGetFlags(CUstream h, unsigned int* flags) {
  REQUIRE_CONTEXT("cuStreamGetFlags");
  if (!flags) return CUDA_ERROR_INVALID_VALUE;
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, "cuStreamGetFlags", &s); r != CUDA_SUCCESS) return r;
  *flags = s ? s->flags : 0;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuStreamWaitEvent(CUstream h, CUevent e, unsigned int flags) {
  REQUIRE_CONTEXT("cuStreamWaitEvent");
  RETURN_IF_STICKY();
  if (flags != 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamWaitEvent: flags must be 0");
  if (!live(events_live, e)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamWaitEvent: " + hex(e) + " is not an event");
  std::shared_ptr<Event> ev = e->event;
  unsigned long long gen;
  {
    std::lock_guard<std::mutex> g(ev->m);
    gen = ev->recorded;
  }
  return submit(h, "cuStreamWaitEvent", work("cuStreamWaitEvent", [ev, gen] {
    std::unique_lock<std::mutex> lk(ev->m);
    ev->cv.wait(lk, [&] { return ev->completed >= gen; });
  }));
}

DVPSIM_EXPORT CUresult cuStreamBeginCapture_v2(CUstream h, CUstreamCaptureMode mode) {
  REQUIRE_CONTEXT("cuStreamBeginCapture");
  RETURN_IF_STICKY();
  if (is_legacy(h)) return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "cuStreamBeginCapture: the legacy default stream cannot be captured");
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, "cuStreamBeginCapture", &s); r != CUDA_SUCCESS) return r;
  if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL && mode != CU_STREAM_CAPTURE_MODE_RELAXED)
    return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamBeginCapture: unknown mode " + std::to_string((int)mode));
  s->drain();  // work queued before the capture is not part of it
  std::lock_guard<std::mutex> g(s->mutex_);
  if (s->capture) return fail(CUDA_ERROR_ILLEGAL_STATE, "cuStreamBeginCapture: the stream is already being captured");
  s->capture = new Graph();
  s->capture_mode = (int)mode;
  s->capture_invalidated = false;
  s->capture_invalid_reason.clear();
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuStreamEndCapture(CUstream h, CUgraph* out) {
  REQUIRE_CONTEXT("cuStreamEndCapture");
  if (!out) return CUDA_ERROR_INVALID_VALUE;
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, "cuStreamEndCapture", &s); r != CUDA_SUCCESS) return r;
  if (!s) return fail(CUDA_ERROR_ILLEGAL_STATE, "cuStreamEndCapture: the legacy stream is not capturing");
  std::unique_ptr<Graph> g;
  bool invalid;
  std::string reason;
  {
    std::lock_guard<std::mutex> lk(s->mutex_);
    if (!s->capture) return fail(CUDA_ERROR_ILLEGAL_STATE, "cuStreamEndCapture: the stream is not being captured");
    g.reset(s->capture);
    s->capture = nullptr;
    invalid = s->capture_invalidated;
    reason = s->capture_invalid_reason;
  }
  *out = nullptr;
  if (invalid) return fail(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, "cuStreamEndCapture: the capture was invalidated: " + reason);
  auto* graph = new CUgraph_st;
  graph->graph = std::move(*g);
  {
    std::lock_guard<std::mutex> lk(handles_mutex);
    graphs_live.insert(graph);
  }
  *out = graph;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuStreamIsCapturing(CUstream h, CUstreamCaptureStatus* status) {
  REQUIRE_CONTEXT("cuStreamIsCapturing");
  if (!status) return CUDA_ERROR_INVALID_VALUE;
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, "cuStreamIsCapturing", &s); r != CUDA_SUCCESS) return r;
  *status = CU_STREAM_CAPTURE_STATUS_NONE;
  if (s) {
    std::lock_guard<std::mutex> g(s->mutex_);
    if (s->capture) *status = s->capture_invalidated ? CU_STREAM_CAPTURE_STATUS_INVALIDATED : CU_STREAM_CAPTURE_STATUS_ACTIVE;
  } else if (any_capture()) {
    *status = CU_STREAM_CAPTURE_STATUS_ACTIVE;  // the legacy stream is part of any blocking capture
  }
  return CUDA_SUCCESS;
}

// ---- events -------------------------------------------------------------------------------------------------

DVPSIM_EXPORT CUresult cuEventCreate(CUevent* e, unsigned int flags) {
  REQUIRE_CONTEXT("cuEventCreate");
  if (!e) return CUDA_ERROR_INVALID_VALUE;
  if (flags & ~(unsigned)(CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS))
    return fail(CUDA_ERROR_INVALID_VALUE, "cuEventCreate: unknown flags " + std::to_string(flags));
  auto* ev = new CUevent_st;
  ev->event = std::make_shared<Event>();
  ev->event->flags = flags;
  {
    std::lock_guard<std::mutex> g(handles_mutex);
    events_live.insert(ev);
  }
  *e = ev;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuEventDestroy_v2(CUevent e) {
  REQUIRE_CONTEXT("cuEventDestroy");
  {
    std::lock_guard<std::mutex> g(handles_mutex);
    if (!events_live.erase(e)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuEventDestroy: " + hex(e) + " is not an event");
  }
  delete e;  // queued records hold the event itself, not the handle
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuEventRecord(CUevent e, CUstream h) {
  REQUIRE_CONTEXT("cuEventRecord");
  RETURN_IF_STICKY();
  if (!live(events_live, e)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuEventRecord: " + hex(e) + " is not an event");
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, "cuEventRecord", &s); r != CUDA_SUCCESS) return r;
  std::shared_ptr<Event> ev = e->event;
  if (s) {
    std::lock_guard<std::mutex> g(s->mutex_);
    if (s->capture) {
      // an event recorded in a capture marks a point of the graph, not a host-visible completion
      std::lock_guard<std::mutex> eg(ev->m);
      ev->captured = true;
      return CUDA_SUCCESS;
    }
  }
  unsigned long long gen;
  {
    std::lock_guard<std::mutex> g(ev->m);
    gen = ++ev->recorded;
    ev->captured = false;
  }
  return submit(h, "cuEventRecord", work("cuEventRecord", [ev, gen] {
    std::lock_guard<std::mutex> g(ev->m);
    if (gen >= ev->completed) {
      ev->completed = gen;
      ev->time_ms = now_ms();
    }
    ev->cv.notify_all();
  }));
}

DVPSIM_EXPORT CUresult cuEventRecordWithFlags(CUevent e, CUstream h, unsigned int flags) {
  if (flags != CU_EVENT_RECORD_DEFAULT) return fail(CUDA_ERROR_NOT_SUPPORTED, "cuEventRecordWithFlags: only CU_EVENT_RECORD_DEFAULT is simulated");
  return cuEventRecord(e, h);
}

DVPSIM_EXPORT CUresult cuEventQuery(CUevent e) {
  REQUIRE_CONTEXT("cuEventQuery");
  if (!live(events_live, e)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuEventQuery: " + hex(e) + " is not an event");
  Event& ev = *e->event;
  std::lock_guard<std::mutex> g(ev.m);
  if (ev.captured) return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "cuEventQuery: the event was recorded during a stream capture");
  if (ev.completed < ev.recorded) return CUDA_ERROR_NOT_READY;
  return sticky();
}

DVPSIM_EXPORT CUresult cuEventSynchronize(CUevent e) {
  REQUIRE_CONTEXT("cuEventSynchronize");
  if (!live(events_live, e)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuEventSynchronize: " + hex(e) + " is not an event");
  std::shared_ptr<Event> ev = e->event;
  {
    std::unique_lock<std::mutex> lk(ev->m);
    if (ev->captured) return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "cuEventSynchronize: the event was recorded during a stream capture");
    unsigned long long gen = ev->recorded;
    // a fault drops the queued record: stop waiting then, and report the fault
    while (ev->completed < gen && sticky() == CUDA_SUCCESS) ev->cv.wait_for(lk, std::chrono::milliseconds(20));
  }
  return after_sync();
}

static CUresult elapsed(float* ms, CUevent a, CUevent b, const char* call) {
  REQUIRE_CONTEXT(call);
  if (!ms) return CUDA_ERROR_INVALID_VALUE;
  if (!live(events_live, a) || !live(events_live, b)) return fail(CUDA_ERROR_INVALID_HANDLE, std::string(call) + ": not an event");
  Event &x = *a->event, &y = *b->event;
  if ((x.flags | y.flags) & CU_EVENT_DISABLE_TIMING)
    return fail(CUDA_ERROR_INVALID_HANDLE, std::string(call) + ": an event was created with CU_EVENT_DISABLE_TIMING");
  std::scoped_lock lk(x.m, y.m);
  if (x.recorded == 0 || y.recorded == 0) return fail(CUDA_ERROR_INVALID_HANDLE, std::string(call) + ": an event was never recorded");
  if (x.completed < x.recorded || y.completed < y.recorded) return CUDA_ERROR_NOT_READY;
  // wall-clock time of the simulation: reported because the API must, never a measurement
  *ms = (float)(y.time_ms - x.time_ms);
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuEventElapsedTime(float* ms, CUevent a, CUevent b) { return elapsed(ms, a, b, "cuEventElapsedTime"); }
DVPSIM_EXPORT CUresult cuEventElapsedTime_v2(float* ms, CUevent a, CUevent b) { return elapsed(ms, a, b, "cuEventElapsedTime_v2"); }

// ---- graphs -------------------------------------------------------------------------------------------------

DVPSIM_EXPORT CUresult cuGraphInstantiateWithFlags(CUgraphExec* out, CUgraph g, unsigned long long flags) {
  REQUIRE_CONTEXT("cuGraphInstantiate");
  RETURN_IF_STICKY();
  if (!out) return CUDA_ERROR_INVALID_VALUE;
  if (!live(graphs_live, g)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphInstantiate: " + hex(g) + " is not a graph");
  if (flags != 0) return fail(CUDA_ERROR_NOT_SUPPORTED, "cuGraphInstantiate: flags " + std::to_string(flags) + " are not simulated (only 0)");
  auto* e = new CUgraphExec_st;
  e->exec.nodes = g->graph.nodes;
  {
    std::lock_guard<std::mutex> lk(handles_mutex);
    execs_live.insert(e);
  }
  *out = e;
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuGraphLaunch(CUgraphExec e, CUstream h) {
  REQUIRE_CONTEXT("cuGraphLaunch");
  RETURN_IF_STICKY();
  if (!live(execs_live, e)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphLaunch: " + hex(e) + " is not an executable graph");
  Stream* s = nullptr;
  if (CUresult r = stream_of(h, "cuGraphLaunch", &s); r != CUDA_SUCCESS) return r;
  if (s) {
    std::lock_guard<std::mutex> g(s->mutex_);
    if (s->capture) return fail(CUDA_ERROR_NOT_SUPPORTED, "cuGraphLaunch into a capturing stream (a child graph) is not simulated");
  }
  std::vector<std::shared_ptr<Work>> nodes = e->exec.nodes;
  return submit(h, "cuGraphLaunch", work("cuGraphLaunch (" + std::to_string(nodes.size()) + " nodes)", [nodes] {
    for (const auto& n : nodes) n->run();  // a fault stops the replay and becomes the sticky error
  }));
}

DVPSIM_EXPORT CUresult cuGraphExecDestroy(CUgraphExec e) {
  REQUIRE_CONTEXT("cuGraphExecDestroy");
  {
    std::lock_guard<std::mutex> g(handles_mutex);
    if (!execs_live.erase(e)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphExecDestroy: " + hex(e) + " is not an executable graph");
  }
  delete e;  // queued replays hold their own copy of the node list
  return CUDA_SUCCESS;
}

DVPSIM_EXPORT CUresult cuGraphDestroy(CUgraph g) {
  REQUIRE_CONTEXT("cuGraphDestroy");
  {
    std::lock_guard<std::mutex> lk(handles_mutex);
    if (!graphs_live.erase(g)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphDestroy: " + hex(g) + " is not a graph");
  }
  delete g;
  return CUDA_SUCCESS;
}

// ---- errors -------------------------------------------------------------------------------------------------

namespace {
struct ErrorName {
  int code;
  const char* name;
};
const ErrorName ERROR_NAMES[] = {
#include "curesult_names.inc"
};
}  // namespace

DVPSIM_EXPORT CUresult cuGetErrorName(CUresult error, const char** str) {
  if (!str) return CUDA_ERROR_INVALID_VALUE;
  for (const ErrorName& e : ERROR_NAMES)
    if (e.code == (int)error) {
      *str = e.name;
      return CUDA_SUCCESS;
    }
  *str = nullptr;
  return CUDA_ERROR_INVALID_VALUE;
}

DVPSIM_EXPORT CUresult cuGetErrorString(CUresult error, const char** str) {
  // the name, then the simulator's own explanation is in dvpsim_last_diagnostic()
  return cuGetErrorName(error, str);
}

// ---- the simulator's own entry points (for dvp's Java side and tests) --------------------------------------

/** The message behind the last error a call or a fault reported (empty when none). Thread-safe copy. */
DVPSIM_EXPORT const char* dvpsim_last_diagnostic() {
  static thread_local std::string copy;
  copy = last_diagnostic();
  return copy.c_str();
}

/** One line for `dvp doctor`: what is simulated and how it is configured. */
DVPSIM_EXPORT const char* dvpsim_describe() {
  static const std::string d = std::string(DEVICE_NAME) + "; " + config().describe();
  return d.c_str();
}
