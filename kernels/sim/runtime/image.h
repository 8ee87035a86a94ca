// Reading the real kernel image given to cuModuleLoadData: the fat binary nvcc wrote (its
// compute_90 PTX, zstd-compressed by nvcc 13, and its sm_90 cubin), or bare PTX text. From the
// PTX: each kernel's .param list and launch bounds, and each global; from the cubin: each
// kernel's static shared memory (.nv.shared.<kernel>) and register count (.nv.info REGCOUNT),
// so a launch is refused as sm_90 would refuse it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dvpsim {

struct PtxParam {
  std::string type;   // "u64", "f32", "b8[136]" ...
  unsigned size = 0;
  unsigned align = 0;
  bool floating = false;
  bool bytes = false;  // a .b8 array: a struct passed by value
};

struct PtxEntry {
  std::string name;
  std::vector<PtxParam> params;
  unsigned max_threads = 0;  // product of .maxntid, 0 when absent
};

struct PtxGlobal {
  std::string name;
  unsigned size = 0;
  bool has_scalar_init = false;
  long long scalar_init = 0;
};

struct SassKernel {
  unsigned static_shared = 0;
  int registers = -1;  // -1: not recorded
};

struct ParsedImage {
  uint64_t fingerprint = 0;
  size_t length = 0;
  int ptx_arch = 0;    // e.g. 90 for compute_90
  int sass_arch = 0;   // 0 when the image has no sm_90 cubin
  std::map<std::string, PtxEntry> entries;
  std::map<std::string, PtxGlobal> globals;
  std::map<std::string, SassKernel> sass;
};

/** Parses image; on failure returns false and says why (naming what was expected). */
bool parse_image(const void* image, ParsedImage& out, std::string& why);

/** Parses PTX text (exposed for tests). */
bool parse_ptx(const std::string& ptx, ParsedImage& out, std::string& why);

}  // namespace dvpsim
