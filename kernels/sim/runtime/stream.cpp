#include "stream.h"

#include <algorithm>
#include <chrono>

#include "sim.h"

namespace dvpsim {

static thread_local bool tl_on_stream_worker = false;

bool on_host_thread() { return !tl_on_stream_worker; }

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

void run_work(const Work& w) {
  if (sticky() != CUDA_SUCCESS) return;  // a faulted context runs nothing more
  try {
    w.run();
  } catch (const DeviceFault& f) {
    set_sticky(f.code, f.message);
  } catch (const std::exception& e) {
    set_sticky(CUDA_ERROR_UNKNOWN, w.what + ": internal simulator error: " + e.what());
  }
}

Stream::Stream(unsigned f) : flags(f) {
  worker_ = std::thread([this] { loop(); });
}

Stream::~Stream() {
  {
    std::lock_guard<std::mutex> g(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

CUresult Stream::submit(std::shared_ptr<Work> w) {
  {
    std::lock_guard<std::mutex> g(mutex_);
    if (capture) {
      if (!capture_invalidated) capture->nodes.push_back(std::move(w));
      return CUDA_SUCCESS;
    }
    queue_.push_back(std::move(w));
  }
  cv_.notify_one();
  return CUDA_SUCCESS;
}

void Stream::loop() {
  tl_on_stream_worker = true;
  std::unique_lock<std::mutex> lk(mutex_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    std::shared_ptr<Work> w = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lk.unlock();
    run_work(*w);
    w.reset();
    lk.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

void Stream::drain() {
  std::unique_lock<std::mutex> lk(mutex_);
  idle_cv_.wait(lk, [&] { return queue_.empty() && !busy_; });
}

bool Stream::idle() {
  std::lock_guard<std::mutex> g(mutex_);
  return queue_.empty() && !busy_;
}

static std::mutex streams_mutex;
static std::vector<Stream*> streams;

std::vector<Stream*> all_streams() {
  std::lock_guard<std::mutex> g(streams_mutex);
  return streams;
}

void register_stream(Stream* s) {
  std::lock_guard<std::mutex> g(streams_mutex);
  streams.push_back(s);
}

void unregister_stream(Stream* s) {
  std::lock_guard<std::mutex> g(streams_mutex);
  streams.erase(std::remove(streams.begin(), streams.end(), s), streams.end());
}

bool any_capture() {
  for (Stream* s : all_streams()) {
    std::lock_guard<std::mutex> g(s->mutex_);
    if (s->capture) return true;
  }
  return false;
}

}  // namespace dvpsim
