// Native tests of the simulator's CUDA semantics: runs sim_test_kernels.cu through the block
// scheduler (run_grid) and checks results against values computed here from the CUDA Programming
// Guide's definitions, and that every broken rule is reported with the kernel and site named. Also
// the bf16/half conversions over all 65,536 patterns. Built by build-sim.sh (plain and ASan), run by
// kernels' SimulatorNativeTest. Prints "ok NAME" / "FAIL NAME: why"; exit status 1 on any failure.
//
//   sim_test              all checks (under the schedule DVP_SIM_SCHEDULE selects)
//   sim_test --race       prints the racy block sum and the correct one (the Java test compares schedules)
//   sim_test --overrun shared|global   runs a kernel that accesses one element out of bounds: the ASan
//                                      build dies in the kernel; the plain one reports the damaged guard
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../shim/dvp_half.h"
#include "exec.h"
#include "host_image.h"
#include "memory.h"
#include "sim.h"

extern "C" const dvpsim::HostImage* dvpsim_test_image();

namespace {

int failures = 0;

void check(bool ok, const std::string& name, const std::string& why = "") {
  if (ok) {
    std::printf("ok %s\n", name.c_str());
  } else {
    std::printf("FAIL %s: %s\n", name.c_str(), why.c_str());
    failures++;
  }
  std::fflush(stdout);
}

const dvpsim::HostKernel* kernel(const char* name) {
  const dvpsim::HostImage* im = dvpsim_test_image();
  for (unsigned i = 0; i < im->kernel_count; i++)
    if (!std::strcmp(im->kernels[i].name, name)) return &im->kernels[i];
  std::printf("FAIL setup: no test kernel %s\n", name);
  std::exit(1);
}

struct Dims {
  unsigned x = 1, y = 1, z = 1;
};

template <typename... A>
std::string launch(const char* name, Dims grid, Dims block, unsigned shared, A... args) {
  static unsigned long long index = 0;
  dvpsim::Launch L;
  L.kernel = kernel(name);
  L.name = name;
  L.grid[0] = grid.x, L.grid[1] = grid.y, L.grid[2] = grid.z;
  L.block[0] = block.x, L.block[1] = block.y, L.block[2] = block.z;
  L.dynamic_shared = shared;
  L.static_shared_limit = 48 * 1024;
  L.index = index++;
  std::vector<std::vector<unsigned char>> values;
  (values.push_back(std::vector<unsigned char>((const unsigned char*)&args, (const unsigned char*)&args + sizeof(A))), ...);
  if (values.size() != L.kernel->param_count) {
    std::printf("FAIL setup: %s takes %u parameters, given %zu\n", name, L.kernel->param_count, values.size());
    std::exit(1);
  }
  size_t off = 0;
  for (unsigned k = 0; k < values.size(); k++) {
    unsigned a = L.kernel->params[k].align;
    off = (off + a - 1) / a * a;
    L.arg_offsets.push_back(off);
    off += values[k].size();
  }
  L.arg_bytes.resize(off ? off : 1);
  for (unsigned k = 0; k < values.size(); k++) std::memcpy(L.arg_bytes.data() + L.arg_offsets[k], values[k].data(), values[k].size());
  try {
    dvpsim::run_grid(L);
  } catch (const dvpsim::DeviceFault& f) {
    return f.message.empty() ? "fault" : f.message;
  }
  return "";
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

void expect_fault(const char* test, const std::string& got, std::initializer_list<const char*> parts) {
  if (got.empty()) return check(false, test, "expected an error, the kernel ran to the end");
  for (const char* p : parts)
    if (!contains(got, p)) return check(false, test, "the report lacks '" + std::string(p) + "': " + got);
  check(true, test);
}

float block_sum_reference(const std::vector<float>& in, unsigned b) {
  // the kernel's own tree order, in float: the correct result bit for bit
  std::vector<float> s(in.begin() + b * 256, in.begin() + b * 256 + 256);
  for (unsigned h = 128; h > 0; h >>= 1)
    for (unsigned t = 0; t < h; t++) s[t] += s[t + h];
  return s[0];
}

std::vector<float> racy_input() {
  std::vector<float> in(8 * 256);
  for (size_t i = 0; i < in.size(); i++) in[i] = (float)((i * 7919) % 1000) / 8.0f;
  return in;
}

void semantics() {
  {
    std::vector<float> in = racy_input(), out(8, NAN);
    std::string e = launch("t_block_sum", {8}, {256}, 0, in.data(), out.data());
    bool ok = e.empty();
    for (unsigned b = 0; b < 8 && ok; b++) ok = out[b] == block_sum_reference(in, b);
    check(ok, "block reduction with barriers gives the tree's exact float result", e);
  }
  {
    std::vector<int> out(64 * 12, -7);
    std::string e = launch("t_warp_ops", {1}, {64}, 0, out.data());
    std::string bad;
    for (int t = 0; t < 64 && bad.empty(); t++) {
      int lane = t & 31, base = t & ~31;
      auto val = [&](int src) { return 100 + base + src; };
      int seg16 = lane & ~15;
      int want[12] = {val(5),
                      val((lane & ~7) + ((lane + 3) & 7)),
                      val(lane >= 3 ? lane - 3 : lane),
                      val(lane - 3 >= seg16 ? lane - 3 : lane),
                      val(lane + 5 < 32 ? lane + 5 : lane),
                      val(lane + 5 < seg16 + 16 ? lane + 5 : lane),
                      val(lane ^ 9),
                      val(lane ^ 1),
                      (int)0x49249249u,
                      1,
                      0,
                      val(lane ^ 16)};
      for (int k = 0; k < 12; k++)
        if (out[t * 12 + k] != want[k])
          bad = "thread " + std::to_string(t) + " result " + std::to_string(k) + ": " + std::to_string(out[t * 12 + k]) + " != " + std::to_string(want[k]);
    }
    check(e.empty() && bad.empty(), "shuffles (idx/up/down/xor, widths 4-32, 64-bit), ballot/any/all match CUDA's definitions", e + bad);
  }
  {
    std::vector<int> out(32, -1);
    std::string e = launch("t_half_warps", {1}, {32}, 0, out.data());
    bool ok = e.empty();
    for (int l = 0; l < 32 && ok; l++) ok = out[l] == (l < 16 ? (l ^ 1) : (l ^ 2));
    check(ok, "two half-warp masks shuffle independently", e);
  }
  {
    std::vector<int> out(64, -1);
    std::string e = launch("t_early_exit", {1}, {64}, 0, out.data(), 40);
    bool ok = e.empty();
    for (int t = 0; t < 40 && ok; t++) ok = out[t] == (t + 1) % 40;
    for (int t = 40; t < 64 && ok; t++) ok = out[t] == -1;
    check(ok, "threads that returned do not hold up a barrier", e);
  }
  {
    std::vector<int> out(3, -1);
    std::string e = launch("t_syncthreads_count", {1}, {96}, 0, out.data());
    check(e.empty() && out[0] == 24 && out[1] == 1 && out[2] == 1, "__syncthreads_count/_and/_or", e);
  }
  {
    std::vector<unsigned> out(6, 0);
    std::string e = launch("t_shared_poison", {6}, {32}, 0, out.data());
    bool ok = e.empty();
    for (unsigned v : out) ok &= v == 0xffffffffu;
    check(ok, "shared memory starts as 0xff bytes in every block (nothing leaks between blocks)", e);
  }
  {
    std::vector<float> out(3, NAN);
    std::string e = launch("t_dynamic_shared", {3}, {64}, 1000 * 4, out.data(), 1000);
    check(e.empty() && out[0] == 499500.0f && out[2] == 499500.0f, "dynamic shared memory of the launch's size", e);
  }
  {
    int counter = 0, winner = -1;
    float fsum = 0;
    unsigned long long usum = 0;
    std::string e = launch("t_atomics", {37}, {128}, 0, &counter, &fsum, &usum, &winner);
    int n = 37 * 128;
    check(e.empty() && counter == n && fsum == n * 0.5f && usum == 3ull * n && winner >= 0 && winner < n,
          "atomics are exact across blocks run in parallel", e);
  }
  {
    unsigned g[3] = {3, 2, 2}, b[3] = {4, 3, 2};
    unsigned n = 3 * 2 * 2 * 4 * 3 * 2;
    std::vector<unsigned> out(n, 0);
    std::string e = launch("t_geometry", {g[0], g[1], g[2]}, {b[0], b[1], b[2]}, 0, out.data());
    bool ok = e.empty();
    for (unsigned i = 0; i < n && ok; i++) ok = out[i] == (i / 24) * 1000 + i % 24;
    check(ok, "3-D grids and blocks number threads and blocks as CUDA does", e);
  }
  {
    std::string e = launch("t_printf", {2}, {8}, 0, 42);
    dvpsim::printf_flush();  // where the driver flushes (a sync); the Java test reads the line
    check(e.empty(), "device printf", e);
  }
  {
    int n = 4096;
    std::vector<float> a(n), b(n), c(n), out(5 * n);
    for (int i = 0; i < n; i++) {
      a[i] = std::ldexp(1.0f + (float)i / 8192.0f, (i % 50) - 25) * (i % 3 ? 1.f : -1.f);
      b[i] = 1.0f + std::ldexp((float)(i + 1), -23);
      c[i] = -a[i] * 1.000001f;
    }
    std::string e = launch("t_rounding", {1}, {128}, 0, a.data(), b.data(), c.data(), out.data(), n);
    bool ok = e.empty();
    for (int i = 0; i < n && ok; i++) {
      float product = a[i] * b[i];  // this file is built without contraction: one rounding per operation
      ok = out[5 * i] == std::fma(a[i], b[i], c[i]) && out[5 * i + 1] == product + c[i] &&
           out[5 * i + 2] == dvpsim::bf16_to_float(dvpsim::float_to_bf16(a[i])) &&
           out[5 * i + 3] == dvpsim::half_to_float(dvpsim::float_to_half(a[i])) && out[5 * i + 4] == out[5 * i];
    }
    int fused_differs = 0;
    for (int i = 0; i < n; i++) fused_differs += out[5 * i] != out[5 * i + 1];
    check(ok && fused_differs > 0, "__fmaf_rn and plain a*b+c round once (contracted as by nvcc), __fmul_rn+__fadd_rn twice (" +
                                       std::to_string(fused_differs) + " of 4096 differ)", e);
  }

  // ---- broken rules, each reported with the kernel, block and site ----
  std::vector<int> sink(256, 0);
  expect_fault("a divergent __syncthreads is an error, not a hang", launch("t_divergent_barrier", {2}, {64}, 0, sink.data()),
               {"t_divergent_barrier", "divergent __syncthreads", "sim_test_kernels.cu"});
  expect_fault("a lane named in a shuffle mask that never arrives is an error",
               launch("t_shfl_missing_lane", {1}, {32}, 0, sink.data()), {"t_shfl_missing_lane", "lane 16", "__shfl_xor_sync", "exited"});
  expect_fault("a shuffle mask that leaves out the calling lane is an error",
               launch("t_shfl_mask_without_self", {1}, {32}, 0, sink.data()), {"does not include its own lane"});
  expect_fault("a shuffle against a barrier is a deadlock report", launch("t_deadlock", {1}, {32}, 0, sink.data()),
               {"t_deadlock", "lane 16", "__syncthreads"});
  expect_fault("a full mask over a partial warp names the missing lanes", launch("t_shfl_partial_warp", {1}, {40}, 0, sink.data()),
               {"does not exist", "40 threads"});
  {
    std::vector<int> in(32, 1);
    in[19] = -5;
    std::string e = launch("t_assert", {1}, {32}, 0, in.data());
    expect_fault("a failed device assert stops the kernel with the GPU's message", e, {"Assertion `in[threadIdx.x] >= 0` failed", "thread: [19,0,0]"});
  }
}

// ---- conversions over all 65,536 patterns ------------------------------------------------------------

double half_value(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? std::ldexp((double)m, -24) : std::ldexp(1.0 + m / 1024.0, e - 15);
  return s ? -v : v;
}

void conversions() {
  // half -> float is exact; float -> half rounds to the nearest, ties to even: check at every
  // midpoint between neighbours and one float ulp on either side of it
  std::string bad;
  for (uint32_t h = 0; h < 65536 && bad.empty(); h++) {
    uint16_t x = (uint16_t)h;
    bool nan = ((x >> 10) & 31) == 31 && (x & 1023);
    bool inf = ((x >> 10) & 31) == 31 && !(x & 1023);
    float f = dvpsim::half_to_float(x);
    if (nan) {
      if (!std::isnan(f) || dvpsim::float_to_half(f) != 0x7fff) bad = "NaN pattern " + std::to_string(h);
      continue;
    }
    if (inf) {
      if (!std::isinf(f) || dvpsim::float_to_half(f) != x) bad = "infinity " + std::to_string(h);
      continue;
    }
    if ((double)f != half_value(x) || dvpsim::float_to_half(f) != x) {
      bad = "value of half " + std::to_string(h);
      continue;
    }
    if ((x & 0x7fff) == 0x7bff) continue;  // the largest finite: its upper neighbour is infinity
    uint16_t next = (uint16_t)(x + ((x & 0x8000) ? 1 : 1));
    double mid = (half_value(x) + half_value(next)) / 2;  // exact in double
    float m = (float)mid;
    if ((double)m != mid) continue;  // not representable in float (cannot happen for halves)
    uint16_t even = (x & 1) ? next : x;
    if (dvpsim::float_to_half(m) != even) bad = "tie after half " + std::to_string(h);
    if (dvpsim::float_to_half(std::nextafter(m, (float)half_value(x))) != x) bad = "below the midpoint after half " + std::to_string(h);
    if (dvpsim::float_to_half(std::nextafter(m, (float)half_value(next))) != next) bad = "above the midpoint after half " + std::to_string(h);
  }
  check(bad.empty(), "float<->half over all 65,536 patterns (exact values, ties to even at every midpoint, NaN canonical)", bad);
  bad.clear();
  for (uint32_t h = 0; h < 65536 && bad.empty(); h++) {
    uint16_t x = (uint16_t)h;
    float f = dvpsim::bf16_to_float(x);
    uint32_t bits = dvpsim::float_bits(f);
    if (bits != (h << 16)) {
      bad = "value of bf16 " + std::to_string(h);
      continue;
    }
    if (std::isnan(f)) {
      if (dvpsim::float_to_bf16(f) != 0x7fff) bad = "NaN pattern " + std::to_string(h);
      continue;
    }
    if (dvpsim::float_to_bf16(f) != x) bad = "round trip of bf16 " + std::to_string(h);
    if (std::isinf(f) || (x & 0x7fff) == 0x7f7f) continue;  // the largest finite rounds up into infinity
    float mid = dvpsim::bits_float((h << 16) | 0x8000u);    // exactly halfway to the next pattern
    uint16_t next = (uint16_t)(x + 1);
    uint16_t even = (x & 1) ? next : x;
    if (dvpsim::float_to_bf16(mid) != even) bad = "tie after bf16 " + std::to_string(h);
    if (dvpsim::float_to_bf16(dvpsim::bits_float((h << 16) | 0x7fffu)) != x) bad = "below the midpoint after bf16 " + std::to_string(h);
    if (dvpsim::float_to_bf16(dvpsim::bits_float((h << 16) | 0x8001u)) != next) bad = "above the midpoint after bf16 " + std::to_string(h);
  }
  check(bad.empty(), "float<->bf16 over all 65,536 patterns (exact values, ties to even at every midpoint, NaN canonical)", bad);
}

void race() {
  std::vector<float> in = racy_input(), out(8, NAN);
  std::string e = launch("t_block_sum_racy", {8}, {256}, 0, in.data(), out.data());
  double got = 0, want = 0;
  for (unsigned b = 0; b < 8; b++) got += out[b], want += block_sum_reference(in, b);
  std::printf("racy %.9g correct %.9g %s\n", got, want, e.c_str());
}

void overrun(const char* what) {
  if (!std::strcmp(what, "shared")) {
    std::vector<float> out(65);
    std::printf("%s\n", launch("t_shared_overrun", {1}, {65}, 0, out.data()).c_str());
    return;
  }
  void* buf = nullptr;
  int n = 1000;
  if (dvpsim::device_alloc(n * sizeof(float), &buf) != CUDA_SUCCESS) std::exit(1);
  std::string e = launch("t_global_overrun", {4}, {256}, 0, (float*)buf, n);
  std::printf("kernel: %s\nguards: %s\n", e.c_str(), dvpsim::check_guards().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("schedule: %s\n", dvpsim::config().describe().c_str());
  if (argc > 1 && !std::strcmp(argv[1], "--race")) {
    race();
    return 0;
  }
  if (argc > 2 && !std::strcmp(argv[1], "--overrun")) {
    overrun(argv[2]);
    return 0;
  }
  semantics();
  conversions();
  std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
