#include "exec.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>

#include <cuda.h>

#include "../shim/shim_abi.h"
#include "fiber.h"
#include "sim.h"

namespace dvpsim {

namespace {

constexpr unsigned char POISON_SHARED = 0xff;  // NaN / -1: a read before the first write shows

enum class State : unsigned char { Runnable, Barrier, Warp, Exited, Aborted };
enum class BarrierKind : unsigned char { Plain, Count, And, Or };

struct SimThread {
  ThreadView view;
  unsigned linear = 0, lane = 0, warp = 0;
  State state = State::Runnable;
  bool started = false;
  int stack = -1;  // index into Worker::stacks while started and not exited
  Fiber fiber;
  const Site* site = nullptr;
  // at a barrier
  BarrierKind bar_kind = BarrierKind::Plain;
  int pred = 0, bar_result = 0;
  // at a warp collective
  WarpOp op = WarpOp::SyncWarp;
  unsigned mask = 0;
  unsigned long long value = 0, result = 0;
  int vsize = 4, arg = 0, width = 32;
};

/**
 * Per OS thread that runs blocks: the scheduler's own context and the pooled fiber stacks. A CUDA
 * thread takes a stack when it first runs and gives it back when it exits, so a block whose threads
 * run to the end without waiting reuses one stack (hot in the cache) instead of touching hundreds.
 */
struct Worker {
  Fiber sched;
  std::vector<Stack> stacks;
  std::vector<int> free_stacks;
  std::vector<SimThread> threads;

  void ensure(unsigned n) {
    if (threads.size() < n) threads.resize(n);
  }

  int take_stack() {
    if (free_stacks.empty()) {
      stacks.push_back(stack_create(config().stack_bytes));
      return (int)stacks.size() - 1;
    }
    int s = free_stacks.back();
    free_stacks.pop_back();
    return s;
  }

  void give_back(SimThread& t) {
    if (t.stack >= 0) free_stacks.push_back(t.stack);
    t.stack = -1;
  }
};

struct Rng {  // SplitMix64: tiny, good enough to permute schedules, replayable from the seed
  unsigned long long s;
  unsigned long long next() {
    unsigned long long z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return (size_t)(next() % n); }
};

struct BlockRun;
// Read on every switch and every threadIdx: the initial-exec model makes each access one instruction
// (the general-dynamic default calls __tls_get_addr); it takes 24 bytes of the static TLS surplus
// glibc keeps for libraries loaded later.
#define DVPSIM_FAST_TLS __attribute__((tls_model("initial-exec")))
thread_local Worker* tl_worker DVPSIM_FAST_TLS = nullptr;
thread_local SimThread* tl_thread DVPSIM_FAST_TLS = nullptr;
thread_local BlockRun* tl_block DVPSIM_FAST_TLS = nullptr;

Worker& worker() {
  if (!tl_worker) tl_worker = new Worker();  // one per OS thread, kept for its life
  return *tl_worker;
}

std::string site_str(const Site* s) {
  if (!s) return "?";
  const char* f = std::strrchr(s->file, '/');
  return std::string(s->what) + " at " + (f ? f + 1 : s->file) + ":" + std::to_string(s->line);
}

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::ShflIdx: return "__shfl_sync";
    case WarpOp::ShflUp: return "__shfl_up_sync";
    case WarpOp::ShflDown: return "__shfl_down_sync";
    case WarpOp::ShflXor: return "__shfl_xor_sync";
    case WarpOp::Ballot: return "__ballot_sync";
    case WarpOp::Any: return "__any_sync";
    case WarpOp::All: return "__all_sync";
    case WarpOp::SyncWarp: return "__syncwarp";
    case WarpOp::ActiveMask: return "__activemask";
  }
  return "?";
}

std::string hexmask(unsigned m) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", m);
  return b;
}

struct BlockRun {
  const Launch& L;
  Worker& w;
  void* const* args;
  unsigned n;
  uint3 bidx;
  bool random, reverse;
  Rng rng{0};
  std::deque<unsigned> runnable;
  std::vector<std::pair<const Site*, void*>> shared;
  size_t shared_bytes = 0;
  void* dynamic = nullptr;
  bool aborted = false;
  int abort_code = 0;
  std::string abort_message;

  BlockRun(const Launch& l, Worker& wk, void* const* a, unsigned long long linear_block)
      : L(l), w(wk), args(a), n(l.block[0] * l.block[1] * l.block[2]) {
    bidx.x = (unsigned)(linear_block % l.grid[0]);
    bidx.y = (unsigned)((linear_block / l.grid[0]) % l.grid[1]);
    bidx.z = (unsigned)(linear_block / ((unsigned long long)l.grid[0] * l.grid[1]));
    random = config().schedule == ScheduleMode::Random;
    reverse = config().schedule == ScheduleMode::Reverse;
    if (random) rng.s = config().seed * 0x9e3779b97f4a7c15ull ^ (l.index << 20) ^ linear_block;
  }

  ~BlockRun() {
    for (auto& s : shared) std::free(s.second);
    std::free(dynamic);
  }

  SimThread& th(unsigned i) { return w.threads[i]; }

  std::string where() const {
    std::string s = "kernel " + L.name + ", block (" + std::to_string(bidx.x) + "," + std::to_string(bidx.y) + "," + std::to_string(bidx.z) +
                    ") of grid (" + std::to_string(L.grid[0]) + "," + std::to_string(L.grid[1]) + "," + std::to_string(L.grid[2]) +
                    "), block shape (" + std::to_string(L.block[0]) + "," + std::to_string(L.block[1]) + "," + std::to_string(L.block[2]) + ")";
    if (random) s += " [replay: DVP_SIM_SCHEDULE=seed=" + std::to_string(config().seed) + ", launch " + std::to_string(L.index) + "]";
    return s;
  }

  [[noreturn]] void fail(const std::string& what, int code = CUDA_ERROR_LAUNCH_FAILED) {
    throw DeviceFault{code, where() + ": " + what};
  }

  /** Threads grouped by what they are doing: "threads 0-127: at __syncthreads at x.cu:3; ...". */
  std::string states() {
    auto desc = [&](SimThread& t) -> std::string {
      switch (t.state) {
        case State::Exited: return "exited";
        case State::Barrier: return "waiting at " + site_str(t.site);
        case State::Warp: return "waiting at " + site_str(t.site) + " (mask " + hexmask(t.mask) + ")";
        case State::Runnable: return "runnable";
        case State::Aborted: return "aborted";
      }
      return "?";
    };
    std::string out;
    unsigned i = 0;
    while (i < n) {
      std::string d = desc(th(i));
      unsigned j = i;
      while (j + 1 < n && desc(th(j + 1)) == d) j++;
      if (!out.empty()) out += "; ";
      out += (i == j ? "thread " + std::to_string(i) : "threads " + std::to_string(i) + "-" + std::to_string(j)) + " " + d;
      i = j + 1;
    }
    return out;
  }

  void push_all(std::vector<unsigned>& ids) {
    if (random) {
      for (size_t k = ids.size(); k > 1; k--) std::swap(ids[k - 1], ids[rng.below(k)]);
    } else if (reverse) {
      std::reverse(ids.begin(), ids.end());
    }
    for (unsigned id : ids) runnable.push_back(id);
  }

  unsigned pick() {
    if (random) {
      size_t k = rng.below(runnable.size());
      std::swap(runnable[k], runnable.back());
      unsigned id = runnable.back();
      runnable.pop_back();
      return id;
    }
    unsigned id = runnable.front();
    runnable.pop_front();
    return id;
  }

  static void thread_main(void* arg);

  void run();
  void release_stacks();
  bool resolve_warps();
  void resolve_barrier();
};

/** Thrown inside a CUDA thread to leave the kernel (an error found there); unwinds its fiber's frames. */
struct KernelAbort {
  int code;
  std::string message;
};

void BlockRun::thread_main(void* arg) {
  fiber_entered();
  SimThread* t = (SimThread*)arg;
  BlockRun* b = tl_block;
  try {
    b->L.kernel->invoke(b->args);
    t->state = State::Exited;
  } catch (KernelAbort& a) {
    b->aborted = true;
    b->abort_code = a.code;
    b->abort_message = std::move(a.message);
    t->state = State::Aborted;
  } catch (const std::exception& e) {
    b->aborted = true;
    b->abort_code = CUDA_ERROR_LAUNCH_FAILED;
    b->abort_message = std::string("internal simulator error in a CUDA thread: ") + e.what();
    t->state = State::Aborted;
  }
  fiber_switch(t->fiber, b->w.sched, true);
  __builtin_unreachable();
}

void BlockRun::run() {
  w.ensure(n);
  // exactly the launch's dynamic size: an overrun of extern __shared__ reaches a redzone
  if (posix_memalign(&dynamic, 16, L.dynamic_shared) != 0) dynamic = nullptr;
  if (dynamic && L.dynamic_shared) std::memset(dynamic, POISON_SHARED, L.dynamic_shared);
  std::vector<unsigned> ids(n);
  for (unsigned i = 0; i < n; i++) {
    SimThread& t = th(i);
    t.linear = i;
    t.lane = i % 32;
    t.warp = i / 32;
    t.state = State::Runnable;
    t.started = false;
    t.stack = -1;
    t.view.thread_idx = {i % L.block[0], (i / L.block[0]) % L.block[1], i / (L.block[0] * L.block[1])};
    t.view.block_idx = bidx;
    t.view.block_dim = {L.block[0], L.block[1], L.block[2]};
    t.view.grid_dim = {L.grid[0], L.grid[1], L.grid[2]};
    ids[i] = i;
  }
  push_all(ids);
  BlockRun* outer = tl_block;
  tl_block = this;
  fiber_of_thread(w.sched);
  for (;;) {
    while (!runnable.empty()) {
      unsigned id = pick();
      SimThread& t = th(id);
      if (!t.started) {  // a thread's first run: it gets a stack now
        t.started = true;
        t.stack = w.take_stack();
        fiber_init(t.fiber, w.stacks[t.stack], &BlockRun::thread_main, &t);
      }
      tl_thread = &t;
      fiber_switch(w.sched, t.fiber);
      tl_thread = nullptr;
      if (t.state == State::Exited || t.state == State::Aborted) w.give_back(t);
      if (aborted) {
        release_stacks();
        tl_block = outer;
        throw DeviceFault{abort_code, where() + ": " + abort_message};
      }
      if (t.state == State::Runnable) runnable.push_back(id);  // a yield point: back in the queue
    }
    try {
      if (resolve_warps()) continue;
      bool any_alive = false;
      for (unsigned i = 0; i < n; i++) any_alive |= th(i).state != State::Exited;
      if (!any_alive) break;
      resolve_barrier();
    } catch (...) {
      release_stacks();
      tl_block = outer;
      throw;
    }
  }
  tl_block = outer;
}

void BlockRun::release_stacks() {
  // threads left parked by an error: their stacks are reused (fiber_init starts them afresh)
  for (unsigned i = 0; i < n; i++) w.give_back(th(i));
}

bool BlockRun::resolve_warps() {
  bool progress = false;
  for (unsigned base = 0; base < n; base += 32) {
    unsigned count = std::min(32u, n - base);
    for (unsigned l = 0; l < count; l++) {
      SimThread& t = th(base + l);
      if (t.state != State::Warp) continue;
      std::vector<unsigned> release;
      if (t.op == WarpOp::ActiveMask) {
        // the lanes converged here now: those waiting at this same __activemask
        unsigned m = 0;
        for (unsigned b = 0; b < count; b++) {
          SimThread& u = th(base + b);
          if (u.state == State::Warp && u.op == WarpOp::ActiveMask && u.site == t.site) m |= 1u << b;
        }
        for (unsigned b = 0; b < count; b++)
          if (m >> b & 1u) {
            th(base + b).result = m;
            th(base + b).state = State::Runnable;
            release.push_back(base + b);
          }
        push_all(release);
        progress = true;
        continue;
      }
      const unsigned mask = t.mask;
      std::string at = std::string(op_name(t.op)) + " (" + site_str(t.site) + ", warp " + std::to_string(t.warp) + ", mask " + hexmask(mask) + ")";
      for (unsigned b = 0; b < 32; b++) {
        if (!(mask >> b & 1u)) continue;
        if (b >= count)
          fail("lane " + std::to_string(b) + " named in the mask of " + at + " does not exist: the block has " + std::to_string(n) +
               " threads, so warp " + std::to_string(t.warp) + " has " + std::to_string(count) + " lanes");
        SimThread& u = th(base + b);
        if (u.state == State::Exited) fail("lane " + std::to_string(b) + " named in the mask of " + at + " exited without reaching it");
        if (u.state == State::Barrier)
          fail("lane " + std::to_string(b) + " named in the mask of " + at + " waits at " + site_str(u.site) + " instead (deadlock on a GPU)");
        if (u.op != t.op || u.mask != t.mask)
          fail("lane " + std::to_string(b) + " named in the mask of " + at + " waits at " + std::string(op_name(u.op)) + " (" + site_str(u.site) +
               ", mask " + hexmask(u.mask) + ") instead: all lanes of a mask must call the same collective with the same mask");
        if (config().strict && u.site != t.site)
          fail("strict: lane " + std::to_string(b) + " reaches " + at + " from another call site (" + site_str(u.site) + ")");
      }
      // every member arrived: compute the results from this snapshot of their values
      switch (t.op) {
        case WarpOp::Ballot:
        case WarpOp::Any:
        case WarpOp::All: {
          unsigned ballot = 0;
          for (unsigned b = 0; b < 32; b++)
            if ((mask >> b & 1u) && th(base + b).value) ballot |= 1u << b;
          unsigned long long r = t.op == WarpOp::Ballot ? ballot : t.op == WarpOp::Any ? (ballot != 0) : (ballot == mask);
          for (unsigned b = 0; b < 32; b++)
            if (mask >> b & 1u) th(base + b).result = r;
          break;
        }
        case WarpOp::SyncWarp:
          break;
        default: {
          for (unsigned b = 0; b < 32; b++) {
            if (!(mask >> b & 1u)) continue;
            SimThread& u = th(base + b);
            int width = u.width;
            if (width < 1 || width > 32 || (width & (width - 1)) != 0)
              fail("lane " + std::to_string(b) + ": width " + std::to_string(width) + " of " + at + " is not a power of 2 in [1, 32]");
            int seg = (int)b & ~(width - 1), arg = u.arg & 31, src = (int)b;
            switch (u.op) {
              case WarpOp::ShflIdx: src = seg + (arg & (width - 1)); break;
              case WarpOp::ShflUp: src = (int)b - arg < seg ? (int)b : (int)b - arg; break;
              case WarpOp::ShflDown: src = (int)b + arg >= seg + width ? (int)b : (int)b + arg; break;
              case WarpOp::ShflXor: src = ((int)b ^ arg) >= seg + width ? (int)b : ((int)b ^ arg); break;
              default: break;
            }
            if (!(mask >> src & 1u) || (unsigned)src >= count) {
              // the source lane did not take part: undefined on a GPU; here all-ones bits (NaN / -1)
              if (config().strict)
                fail("strict: lane " + std::to_string(b) + " of " + at + " reads lane " + std::to_string(src) + ", which is not in the mask");
              u.result = u.vsize == 8 ? ~0ull : u.vsize == 4 ? 0xffffffffull : 0xffffull;
            } else {
              u.result = th(base + src).value;
            }
          }
        }
      }
      for (unsigned b = 0; b < 32; b++)
        if (mask >> b & 1u) {
          th(base + b).state = State::Runnable;
          release.push_back(base + b);
        }
      push_all(release);
      progress = true;
    }
  }
  return progress;
}

void BlockRun::resolve_barrier() {
  unsigned alive = 0, waiting = 0;
  const Site* site = nullptr;
  bool divergent = false;
  for (unsigned i = 0; i < n; i++) {
    SimThread& t = th(i);
    if (t.state == State::Exited) continue;
    alive++;
    if (t.state == State::Barrier) {
      waiting++;
      if (!site) site = t.site;
      else if (site != t.site) divergent = true;
    }
  }
  if (waiting != alive) fail("deadlock: no thread can continue: " + states());
  if (divergent)
    fail("divergent __syncthreads: the block's threads wait at different barriers (a barrier in code that not all threads reach "
         "deadlocks or corrupts on a GPU): " + states());
  if (config().strict && alive != n) fail("strict: threads exited while the others wait at " + site_str(site) + ": " + states());
  int count = 0;
  for (unsigned i = 0; i < n; i++)
    if (th(i).state == State::Barrier && th(i).pred) count++;
  std::vector<unsigned> ids;
  for (unsigned i = 0; i < n; i++) {
    SimThread& t = th(i);
    if (t.state != State::Barrier) continue;
    t.bar_result = t.bar_kind == BarrierKind::Count ? count : t.bar_kind == BarrierKind::And ? (count == (int)alive) : (count > 0);
    t.state = State::Runnable;
    ids.push_back(i);
  }
  push_all(ids);
}

/**
 * The calling CUDA thread leaves the kernel for good (an error found inside it): the exception
 * unwinds the thread's own frames (so nothing it allocated leaks) up to thread_main.
 */
[[noreturn]] void abort_block(int code, std::string message) { throw KernelAbort{code, std::move(message)}; }

void park(SimThread* t, State s) {
  t->state = s;
  fiber_switch(t->fiber, tl_block->w.sched);
}

int barrier(const Site* site, BarrierKind kind, int pred) {
  SimThread* t = tl_thread;
  t->site = site;
  t->bar_kind = kind;
  t->pred = pred;
  park(t, State::Barrier);
  return t->bar_result;
}

}  // namespace

// ---- the shim's runtime entry points (dvp_cuda_shim.h), exported for the kernels' host build ----------

const ThreadView* thread_view() { return &tl_thread->view; }

void syncthreads(const Site* site) { barrier(site, BarrierKind::Plain, 0); }
int syncthreads_count(const Site* site, int p) { return barrier(site, BarrierKind::Count, p != 0); }
int syncthreads_and(const Site* site, int p) { return barrier(site, BarrierKind::And, p != 0); }
int syncthreads_or(const Site* site, int p) { return barrier(site, BarrierKind::Or, p != 0); }

unsigned long long warp_collective(const Site* site, WarpOp op, unsigned mask, unsigned long long value,
                                                                          int size, int arg, int width) {
  SimThread* t = tl_thread;
  if (op != WarpOp::ActiveMask && !(mask >> t->lane & 1u))
    abort_block(CUDA_ERROR_LAUNCH_FAILED, "thread " + std::to_string(t->linear) + " (lane " + std::to_string(t->lane) + ") calls " +
                                              op_name(op) + " at " + site_str(site) + " with mask " + hexmask(mask) +
                                              ", which does not include its own lane (undefined on a GPU)");
  t->site = site;
  t->op = op;
  t->mask = mask;
  t->value = value;
  t->vsize = size;
  t->arg = arg;
  t->width = width;
  park(t, State::Warp);
  return t->result;
}

void* shared_slot(const Site* site, size_t bytes, size_t align) {
  BlockRun* b = tl_block;
  for (auto& s : b->shared)
    if (s.first == site) return s.second;
  b->shared_bytes += bytes;
  if (b->shared_bytes + b->L.dynamic_shared > b->L.static_shared_limit)
    abort_block(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "shared memory: " + std::to_string(b->shared_bytes) + " bytes static + " +
                                                        std::to_string(b->L.dynamic_shared) + " dynamic exceed the " +
                                                        std::to_string(b->L.static_shared_limit) + " bytes a block may use");
  void* p = nullptr;
  if (posix_memalign(&p, std::max<size_t>(align, 16), bytes) != 0 || !p) abort_block(CUDA_ERROR_OUT_OF_MEMORY, "host out of memory for shared memory");
  std::memset(p, POISON_SHARED, bytes);  // a read before the first write shows (NaN / -1)
  b->shared.push_back({site, p});
  return p;
}

void* dynamic_shared() { return tl_block->dynamic; }

void yield_point(const Site*) {
  if (config().schedule != ScheduleMode::Random) return;
  park(tl_thread, State::Runnable);
}

int device_printf(const char* fmt, ...) {
  char small[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return n;
  if ((size_t)n < sizeof small) {
    printf_append(small, (size_t)n);
  } else {
    std::string big((size_t)n + 1, '\0');
    va_start(ap, fmt);
    std::vsnprintf(big.data(), big.size(), fmt, ap);
    va_end(ap);
    printf_append(big.data(), (size_t)n);
  }
  return n;
}

[[noreturn]] void device_assert_fail(const char* expr, const char* file, int line) {
  SimThread* t = tl_thread;
  const ThreadView& v = t->view;
  char msg[1024];
  // the GPU's own format, so tools that grep for it work the same
  std::snprintf(msg, sizeof msg, "%s:%d: %s: block: [%u,%u,%u], thread: [%u,%u,%u] Assertion `%s` failed.", file, line,
                tl_block->L.name.c_str(), v.block_idx.x, v.block_idx.y, v.block_idx.z, v.thread_idx.x, v.thread_idx.y, v.thread_idx.z, expr);
  std::fprintf(stderr, "%s\n", msg);
  abort_block(CUDA_ERROR_ASSERT, msg);
}

void run_grid(const Launch& L) {
  std::vector<void*> args(L.arg_offsets.size());
  for (size_t i = 0; i < args.size(); i++) args[i] = (void*)(L.arg_bytes.data() + L.arg_offsets[i]);
  unsigned long long blocks = (unsigned long long)L.grid[0] * L.grid[1] * L.grid[2];
  auto one = [&](unsigned long long linear) {
    BlockRun b(L, worker(), args.data(), linear);
    b.run();
  };
  switch (config().schedule) {
    case ScheduleMode::Random: {
      // one worker, blocks in a seeded random order
      Rng rng{config().seed ^ (L.index * 0xd1b54a32d192ed03ull)};
      if (blocks <= (1ull << 24)) {
        std::vector<unsigned> order(blocks);
        for (unsigned long long i = 0; i < blocks; i++) order[i] = (unsigned)i;
        for (size_t k = order.size(); k > 1; k--) std::swap(order[k - 1], order[rng.below(k)]);
        for (unsigned b : order) one(b);
      } else {
        unsigned long long start = rng.next() % blocks;
        for (unsigned long long i = 0; i < blocks; i++) one((start + i) % blocks);
      }
      break;
    }
    case ScheduleMode::Reverse:
      parallel_for((long)blocks, [&](long i) { one(blocks - 1 - (unsigned long long)i); });
      break;
    case ScheduleMode::Canonical:
      parallel_for((long)blocks, [&](long i) { one((unsigned long long)i); });
      break;
  }
}

}  // namespace dvpsim
