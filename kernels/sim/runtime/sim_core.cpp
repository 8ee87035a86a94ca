#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "sim.h"

namespace dvpsim {

// ---- configuration ----------------------------------------------------------------------------------

static size_t parse_bytes(const char* name, const char* v, size_t dflt) {
  if (!v || !*v) return dflt;
  char* end = nullptr;
  double x = std::strtod(v, &end);
  size_t mul = 1;
  if (end && *end) {
    switch (*end) {
      case 'k': case 'K': mul = 1ull << 10; break;
      case 'm': case 'M': mul = 1ull << 20; break;
      case 'g': case 'G': mul = 1ull << 30; break;
      default:
        std::fprintf(stderr, "dvp CUDA simulator: %s=%s is not a size (use e.g. 512M or 4G); using the default\n", name, v);
        return dflt;
    }
  }
  if (!(x > 0)) {
    std::fprintf(stderr, "dvp CUDA simulator: %s=%s must be positive; using the default\n", name, v);
    return dflt;
  }
  return (size_t)(x * (double)mul);
}

static Config read_config() {
  Config c;
  c.device_memory = parse_bytes("DVP_SIM_DEVICE_MEMORY", std::getenv("DVP_SIM_DEVICE_MEMORY"), 4ull << 30);
  c.schedule = ScheduleMode::Canonical;
  c.seed = 0;
  if (const char* s = std::getenv("DVP_SIM_SCHEDULE"); s && *s) {
    if (!std::strcmp(s, "canonical")) {
      c.schedule = ScheduleMode::Canonical;
    } else if (!std::strcmp(s, "reverse")) {
      c.schedule = ScheduleMode::Reverse;
    } else if (!std::strncmp(s, "seed=", 5)) {
      c.schedule = ScheduleMode::Random;
      c.seed = std::strtoull(s + 5, nullptr, 0);
    } else {
      std::fprintf(stderr, "dvp CUDA simulator: DVP_SIM_SCHEDULE=%s is not canonical, reverse or seed=N; stopping\n", s);
      std::abort();
    }
  }
  const char* strict = std::getenv("DVP_SIM_STRICT");
  c.strict = strict && *strict && std::strcmp(strict, "0") != 0;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  c.workers = (int)(cpus > 0 ? cpus : 1);
  if (const char* t = std::getenv("DVP_SIM_THREADS"); t && *t) c.workers = std::max(1, std::atoi(t));
  if (c.schedule == ScheduleMode::Random) c.workers = 1;  // one order, replayable from the seed
#if defined(__SANITIZE_ADDRESS__)
  size_t stack_kb = 256;
#else
  size_t stack_kb = 64;
#endif
  if (const char* t = std::getenv("DVP_SIM_STACK_KB"); t && *t) stack_kb = (size_t)std::max(16, std::atoi(t));
  c.stack_bytes = stack_kb << 10;
  return c;
}

const Config& config() {
  static const Config c = read_config();
  return c;
}

std::string Config::describe() const {
  char buf[256];
  const char* mode = schedule == ScheduleMode::Canonical ? "canonical" : schedule == ScheduleMode::Reverse ? "reverse" : "seed";
  if (schedule == ScheduleMode::Random)
    std::snprintf(buf, sizeof buf, "schedule seed=%llu, 1 worker, %zu MiB device memory%s", (unsigned long long)seed,
                  device_memory >> 20, strict ? ", strict" : "");
  else
    std::snprintf(buf, sizeof buf, "schedule %s, %d workers, %zu MiB device memory%s", mode, workers, device_memory >> 20,
                  strict ? ", strict" : "");
  std::string s = buf;
#if defined(__SANITIZE_ADDRESS__)
  s += ", AddressSanitizer build";
#endif
  return s;
}

// ---- errors and diagnostics ---------------------------------------------------------------------

static std::mutex diag_mutex;
static std::string last_diag;
static std::atomic<int> sticky_code{0};

CUresult fail(CUresult code, const std::string& message) {
  {
    std::lock_guard<std::mutex> g(diag_mutex);
    last_diag = message;
  }
  std::fprintf(stderr, "dvp CUDA simulator: %s\n", message.c_str());
  std::fflush(stderr);
  return code;
}

void set_sticky(int code, const std::string& message) {
  int expected = 0;
  if (sticky_code.compare_exchange_strong(expected, code)) {
    fail((CUresult)code, message + " [sticky: every later call reports " + describe_code((CUresult)code) + "]");
  } else {
    std::fprintf(stderr, "dvp CUDA simulator: (after the sticky error) %s\n", message.c_str());
  }
}

int not_simulated(const char* name) {
  return (int)fail(CUDA_ERROR_NOT_SUPPORTED, std::string(name) +
                                                 " is not simulated (dvp's CUDA backend does not call it; simulate it in kernels/sim/runtime/driver.cpp)");
}

std::string last_diagnostic() {
  std::lock_guard<std::mutex> g(diag_mutex);
  return last_diag;
}

CUresult sticky() { return (CUresult)sticky_code.load(); }

// ---- device printf -------------------------------------------------------------------------------

static std::mutex printf_mutex;
static std::string printf_buffer;
static bool printf_overflowed = false;
constexpr size_t PRINTF_FIFO = 1 << 20;  // cudaLimitPrintfFifoSize's default

void printf_append(const char* text, size_t n) {
  std::lock_guard<std::mutex> g(printf_mutex);
  if (printf_buffer.size() + n > PRINTF_FIFO) {
    printf_overflowed = true;  // as on the GPU, output beyond the FIFO is lost
    return;
  }
  printf_buffer.append(text, n);
}

void printf_flush() {
  std::lock_guard<std::mutex> g(printf_mutex);
  if (!printf_buffer.empty()) {
    std::fwrite(printf_buffer.data(), 1, printf_buffer.size(), stdout);
    printf_buffer.clear();
  }
  if (printf_overflowed) {
    std::fprintf(stdout, "[dvp CUDA simulator: device printf output beyond %zu bytes was dropped, as on a GPU]\n", PRINTF_FIFO);
    printf_overflowed = false;
  }
  std::fflush(stdout);
}

std::string describe_code(CUresult code) {
  const char* name = nullptr;
  if (cuGetErrorName(code, &name) != CUDA_SUCCESS || !name) return "CUresult " + std::to_string((int)code);
  return std::string(name) + " (" + std::to_string((int)code) + ")";
}

// ---- worker pool: parallel_for ------------------------------------------------------------------

namespace {

struct Job {
  const std::function<void(long)>* f;
  long n;
  std::atomic<long> next{0};
  std::atomic<bool> stop{false};
  int helpers = 0;  // guarded by the pool mutex
  std::exception_ptr error;
  std::mutex error_mutex;

  void work() {
    for (;;) {
      if (stop.load(std::memory_order_relaxed)) return;
      long i = next.fetch_add(1);
      if (i >= n) return;
      try {
        (*f)(i);
      } catch (...) {
        std::lock_guard<std::mutex> g(error_mutex);
        if (!error) error = std::current_exception();
        stop = true;
      }
    }
  }
};

class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 0; i < threads; i++) workers_.emplace_back([this] { loop(); });
  }

  void run(long n, const std::function<void(long)>& f) {
    Job job;
    job.f = &f;
    job.n = n;
    {
      std::lock_guard<std::mutex> g(m_);
      jobs_.push_back(&job);
    }
    cv_.notify_all();
    job.work();
    std::unique_lock<std::mutex> lk(m_);
    for (auto it = jobs_.begin(); it != jobs_.end(); ++it)
      if (*it == &job) {
        jobs_.erase(it);
        break;
      }
    done_cv_.wait(lk, [&] { return job.helpers == 0; });
    lk.unlock();
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  /** A listed job with indices left to claim (helpers join it), or nullptr. */
  Job* open_job() {
    for (Job* o : jobs_)
      if (o->next.load() < o->n && !o->stop.load()) return o;
    return nullptr;
  }

  void loop() {
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      Job* j = nullptr;
      cv_.wait(lk, [&] { return (j = open_job()) != nullptr; });
      j->helpers++;  // under the mutex: the owner waits for helpers == 0 only after unlisting the job
      lk.unlock();
      j->work();
      lk.lock();
      if (--j->helpers == 0) done_cv_.notify_all();
    }
  }

  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::deque<Job*> jobs_;
  std::vector<std::thread> workers_;
};

Pool& pool() {
  // leaked on purpose: worker threads must outlive static destructors at process exit
  static Pool* p = new Pool(std::max(0, config().workers - 1));
  return *p;
}

}  // namespace

void parallel_for(long n, const std::function<void(long)>& f) {
  if (n <= 0) return;
  if (n == 1 || config().workers <= 1) {
    for (long i = 0; i < n; i++) f(i);
    return;
  }
  pool().run(n, f);
}

}  // namespace dvpsim
