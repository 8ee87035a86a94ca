// Streams, events and graphs with CUDA's ordering rules:
// - a created stream has a worker thread that runs its work in order, asynchronously to the host
//   (so a missing synchronisation shows up as it would on a GPU);
// - the legacy default stream (handle 0) runs its work in the calling thread, after every
//   blocking stream (flags 0) has drained; non-blocking streams (CU_STREAM_NON_BLOCKING) do not
//   synchronise with it — cuMemcpyDtoH does not wait for them;
// - a stream being captured records its work into a graph instead of running it; a replay queues
//   the recorded work again, in order, with the arguments captured at capture time;
// - work that faults makes the error sticky: the stream drops its remaining work and every later
//   synchronising call reports the error.
#pragma once
#include <cuda.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dvpsim {

struct Work {
  std::string what;  // the API call that queued it, and the kernel for launches
  std::function<void()> run;
};

struct Graph {
  std::vector<std::shared_ptr<Work>> nodes;
};

struct GraphExec {
  std::vector<std::shared_ptr<Work>> nodes;
};

class Stream {
 public:
  explicit Stream(unsigned flags);  // starts the worker thread
  ~Stream();

  /** Queues work (or records it while capturing). */
  CUresult submit(std::shared_ptr<Work> w);
  /** Waits until everything queued so far has run. */
  void drain();
  bool idle();

  const unsigned flags;
  // capture state, guarded by mutex_
  Graph* capture = nullptr;
  int capture_mode = 0;
  bool capture_invalidated = false;
  std::string capture_invalid_reason;
  std::mutex mutex_;

 private:
  void loop();
  std::condition_variable cv_, idle_cv_;
  std::deque<std::shared_ptr<Work>> queue_;
  bool busy_ = false, stop_ = false;
  std::thread worker_;
};

struct Event {
  unsigned flags = 0;
  std::mutex m;
  std::condition_variable cv;
  unsigned long long recorded = 0, completed = 0;  // generation counters
  double time_ms = 0;
  bool captured = false;  // recorded during a stream capture (not a host-visible completion)
};

/** Runs one piece of work now, in the calling thread; a fault becomes the sticky error. */
void run_work(const Work& w);

/** The streams created by cuStreamCreate (for the legacy stream's implicit synchronisation). */
std::vector<Stream*> all_streams();
void register_stream(Stream* s);
void unregister_stream(Stream* s);

/** Whether any stream is capturing (cuCtxSynchronize and legacy-stream work are illegal then). */
bool any_capture();

double now_ms();

}  // namespace dvpsim
