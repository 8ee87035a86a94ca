#include "image.h"

#include <dlfcn.h>

#include <cctype>
#include <cstring>
#include <memory>

#include "host_image.h"

namespace dvpsim {

namespace {

template <typename T>
T rd(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// ---- zstd, through the system's libzstd.so.1 (nvcc 13 compresses the PTX in fat binaries) ----------

struct Zstd {
  size_t (*decompress)(void*, size_t, const void*, size_t) = nullptr;
  unsigned (*is_error)(size_t) = nullptr;
  const char* (*error_name)(size_t) = nullptr;
  std::string missing;
};

const Zstd& zstd() {
  static const Zstd z = [] {
    Zstd r;
    void* h = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      r.missing = std::string("libzstd.so.1 could not be loaded (") + dlerror() + "); it decompresses the image's PTX (apt-get install libzstd1)";
      return r;
    }
    r.decompress = (size_t(*)(void*, size_t, const void*, size_t))dlsym(h, "ZSTD_decompress");
    r.is_error = (unsigned (*)(size_t))dlsym(h, "ZSTD_isError");
    r.error_name = (const char* (*)(size_t))dlsym(h, "ZSTD_getErrorName");
    if (!r.decompress || !r.is_error || !r.error_name) r.missing = "libzstd.so.1 lacks ZSTD_decompress";
    return r;
  }();
  return z;
}

// ---- PTX -----------------------------------------------------------------------------------------------

std::string strip_comments(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '/' && i + 1 < s.size() && s[i + 1] == '/') {
      while (i < s.size() && s[i] != '\n') i++;
      o += '\n';
    } else if (s[i] == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      i += 2;
      while (i + 1 < s.size() && !(s[i] == '*' && s[i + 1] == '/')) i++;
      i++;
    } else {
      o += s[i];
    }
  }
  return o;
}

bool type_size(const std::string& t, unsigned& size, bool& floating) {
  static const std::map<std::string, std::pair<unsigned, bool>> types = {
      {"u8", {1, false}},  {"s8", {1, false}},  {"b8", {1, false}},  {"u16", {2, false}}, {"s16", {2, false}},
      {"b16", {2, false}}, {"f16", {2, true}},  {"u32", {4, false}}, {"s32", {4, false}}, {"b32", {4, false}},
      {"f32", {4, true}},  {"u64", {8, false}}, {"s64", {8, false}}, {"b64", {8, false}}, {"f64", {8, true}}};
  auto it = types.find(t);
  if (it == types.end()) return false;
  size = it->second.first;
  floating = it->second.second;
  return true;
}

std::vector<std::string> tokens(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (std::isspace((unsigned char)c) || c == ',') {
      if (!cur.empty()) out.push_back(cur), cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

/** ".param [.ptr .global .align N] .TYPE name[N]" -> PtxParam */
bool parse_param(const std::string& decl, PtxParam& p, std::string& why) {
  std::vector<std::string> t = tokens(decl);
  if (t.empty() || t[0] != ".param") {
    why = "unexpected PTX parameter '" + decl + "'";
    return false;
  }
  unsigned align = 0;
  std::string type, name;
  for (size_t i = 1; i < t.size(); i++) {
    if (t[i] == ".align" && i + 1 < t.size()) {
      align = (unsigned)std::stoul(t[++i]);
    } else if (t[i] == ".ptr" || t[i] == ".global" || t[i] == ".const" || t[i] == ".shared" || t[i] == ".local") {
      // pointer annotations: still a 64-bit value
    } else if (t[i][0] == '.') {
      type = t[i].substr(1);
    } else {
      name = t[i];
    }
  }
  unsigned sz = 0;
  bool fl = false;
  if (!type_size(type, sz, fl)) {
    why = "unknown PTX parameter type '." + type + "' in '" + decl + "'";
    return false;
  }
  size_t br = name.find('[');
  unsigned count = 1;
  if (br != std::string::npos) {
    count = (unsigned)std::stoul(name.substr(br + 1));
    p.bytes = true;
    p.type = type + "[" + std::to_string(count) + "]";
  } else {
    p.type = type;
  }
  p.size = sz * count;
  p.align = align ? align : sz;
  p.floating = fl && !p.bytes;
  return true;
}

}  // namespace

bool parse_ptx(const std::string& raw, ParsedImage& out, std::string& why) {
  std::string s = strip_comments(raw);
  size_t tp = s.find(".target");
  if (tp != std::string::npos) {
    size_t sm = s.find("sm_", tp);
    if (sm != std::string::npos) out.ptx_arch = std::atoi(s.c_str() + sm + 3);
  }
  int depth = 0;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '{') { depth++; i++; continue; }
    if (c == '}') { depth--; i++; continue; }
    if (depth != 0 || c != '.') { i++; continue; }
    // module-scope directives without a terminating ';'
    if (s.compare(i, 8, ".version") == 0 || s.compare(i, 7, ".target") == 0 || s.compare(i, 13, ".address_size") == 0) {
      size_t nl = s.find('\n', i);
      i = nl == std::string::npos ? s.size() : nl + 1;
      continue;
    }
    size_t semi = s.find(';', i), brace = s.find('{', i);
    size_t end = std::min(semi, brace);
    if (end == std::string::npos) break;
    std::string stmt = s.substr(i, end - i);
    std::vector<std::string> t = tokens(stmt);
    bool entry = false, global = false;
    for (const std::string& w : t) {
      if (w == ".entry") entry = true;
      if (w == ".global" || w == ".const") global = true;
    }
    if (entry) {
      if (end != brace) {  // a declaration without a body (.extern .entry): nothing to run
        i = end + 1;
        continue;
      }
      size_t at_entry = stmt.find(".entry");
      size_t paren = stmt.find('(', at_entry);
      size_t close = stmt.rfind(')');
      if (paren == std::string::npos || close == std::string::npos || close < paren) {
        why = "PTX .entry without a parameter list: '" + stmt.substr(0, 200) + "'";
        return false;
      }
      PtxEntry e;
      std::vector<std::string> nt = tokens(stmt.substr(at_entry + 6, paren - at_entry - 6));
      if (nt.size() != 1) {
        why = "cannot read a kernel name in '" + stmt.substr(0, 200) + "'";
        return false;
      }
      e.name = nt[0];
      std::string plist = stmt.substr(paren + 1, close - paren - 1);
      size_t at = 0;
      while ((at = plist.find(".param", at)) != std::string::npos) {
        size_t next = plist.find(".param", at + 6);
        std::string decl = plist.substr(at, next == std::string::npos ? std::string::npos : next - at);
        PtxParam p;
        if (!parse_param(decl, p, why)) {
          why = e.name + ": " + why;
          return false;
        }
        e.params.push_back(p);
        at = next == std::string::npos ? plist.size() : next;
      }
      std::string tail = stmt.substr(close + 1);
      size_t mx = tail.find(".maxntid");
      if (mx != std::string::npos) {
        std::vector<std::string> mt = tokens(tail.substr(mx + 8));
        unsigned prod = 1;
        for (size_t k = 0; k < mt.size() && k < 3 && std::isdigit((unsigned char)mt[k][0]); k++) prod *= (unsigned)std::stoul(mt[k]);
        e.max_threads = prod;
      }
      out.entries[e.name] = e;
      i = brace;  // the body's braces are counted by the loop
      continue;
    }
    if (end == brace) {  // a .func with a body
      i = brace;
      continue;
    }
    if (global) {
      PtxGlobal g;
      std::string type;
      unsigned count = 1;
      size_t k = 0;
      for (; k < t.size(); k++) {
        if (t[k] == "=") break;
        if (t[k] == ".align") { k++; continue; }
        if (t[k][0] == '.') {
          if (t[k] != ".global" && t[k] != ".const" && t[k] != ".visible" && t[k] != ".extern" && t[k] != ".weak") type = t[k].substr(1);
          continue;
        }
        g.name = t[k];
      }
      size_t br = g.name.find('[');
      if (br != std::string::npos) {
        count = (unsigned)std::stoul(g.name.substr(br + 1));
        g.name = g.name.substr(0, br);
      }
      unsigned sz = 0;
      bool fl = false;
      if (!g.name.empty() && type_size(type, sz, fl)) {
        g.size = sz * count;
        if (k + 1 < t.size() && count == 1 && !fl) {
          g.has_scalar_init = true;
          g.scalar_init = std::stoll(t[k + 1], nullptr, 0);
        }
        out.globals[g.name] = g;
      }
    }
    i = semi + 1;
  }
  if (out.entries.empty()) {
    why = "the PTX defines no .entry (kernel)";
    return false;
  }
  return true;
}

namespace {

bool parse_elf(const unsigned char* e, size_t n, ParsedImage& out, std::string& why) {
  if (n < 64 || std::memcmp(e, "\x7f" "ELF", 4) != 0 || e[4] != 2) {
    why = "the cubin is not a 64-bit ELF";
    return false;
  }
  uint64_t shoff = rd<uint64_t>(e + 0x28);
  uint16_t shentsize = rd<uint16_t>(e + 0x3a), shnum = rd<uint16_t>(e + 0x3c), shstrndx = rd<uint16_t>(e + 0x3e);
  if (shoff + (uint64_t)shnum * shentsize > n || shentsize < 64 || shstrndx >= shnum) {
    why = "the cubin's section table is out of bounds";
    return false;
  }
  struct Sec { uint32_t name, type; uint64_t off, size; uint32_t link; };
  std::vector<Sec> secs(shnum);
  for (unsigned k = 0; k < shnum; k++) {
    const unsigned char* h = e + shoff + (uint64_t)k * shentsize;
    secs[k] = {rd<uint32_t>(h), rd<uint32_t>(h + 4), rd<uint64_t>(h + 24), rd<uint64_t>(h + 32), rd<uint32_t>(h + 40)};
    if (secs[k].type != 8 /* NOBITS */ && secs[k].off + secs[k].size > n) {
      why = "a cubin section is out of bounds";
      return false;
    }
  }
  auto cstr = [&](const Sec& strtab, uint32_t off) -> std::string {
    if (off >= strtab.size) return "";
    const char* p = (const char*)e + strtab.off + off;
    return std::string(p, strnlen(p, strtab.size - off));
  };
  const Sec& shstr = secs[shstrndx];
  std::vector<std::string> syms;
  for (const Sec& s : secs)
    if (s.type == 2 /* SYMTAB */ && s.link < shnum) {
      for (uint64_t o = 0; o + 24 <= s.size; o += 24) syms.push_back(cstr(secs[s.link], rd<uint32_t>(e + s.off + o)));
    }
  for (const Sec& s : secs) {
    std::string name = cstr(shstr, s.name);
    if (name.rfind(".nv.shared.", 0) == 0) out.sass[name.substr(11)].static_shared = (unsigned)s.size;
    if (name == ".nv.info") {
      // records: u8 format, u8 attribute, then per format: NVAL none, BVAL/HVAL a u16,
      // SVAL a u16 size and that many bytes. REGCOUNT (0x2f) is SVAL {u32 symbol, u32 registers}.
      uint64_t p = 0;
      while (p + 2 <= s.size) {
        const unsigned char* r = e + s.off + p;
        unsigned fmt = r[0], attr = r[1];
        if (fmt == 4) {
          if (p + 4 > s.size) break;
          unsigned sz = rd<uint16_t>(r + 2);
          if (attr == 0x2f && sz >= 8 && p + 4 + 8 <= s.size) {
            uint32_t sym = rd<uint32_t>(r + 4), regs = rd<uint32_t>(r + 8);
            if (sym < syms.size()) out.sass[syms[sym]].registers = (int)regs;
          }
          p += 4 + sz;
        } else if (fmt == 2 || fmt == 3) {
          p += 4;
        } else if (fmt == 1) {
          p += 2;
        } else {
          break;  // an unknown record kind: the register counts read so far stay, the rest are unknown
        }
      }
    }
  }
  return true;
}

}  // namespace

bool parse_image(const void* image, ParsedImage& out, std::string& why) {
  const unsigned char* d = (const unsigned char*)image;
  if (!d) {
    why = "null image";
    return false;
  }
  if (rd<uint32_t>(d) != 0xBA55ED50u) {
    // bare PTX text
    const char* text = (const char*)image;
    size_t n = strnlen(text, 64u << 20);
    if (std::strstr(std::string(text, std::min<size_t>(n, 4096)).c_str(), ".version") == nullptr) {
      why = "the image is neither a fat binary (magic 0xBA55ED50) nor PTX text (a cubin alone cannot be simulated: "
            "its kernels' parameter lists are only in PTX)";
      return false;
    }
    out.length = n;
    out.fingerprint = fnv1a64(d, n);
    return parse_ptx(std::string(text, n), out, why);
  }
  uint16_t header = rd<uint16_t>(d + 6);
  uint64_t body = rd<uint64_t>(d + 8);
  out.length = header + body;
  out.fingerprint = fnv1a64(d, out.length);
  uint64_t off = header;
  std::string best_ptx;
  int best_ptx_arch = -1;
  const unsigned char* sass = nullptr;
  size_t sass_len = 0;
  while (off + 64 <= out.length) {
    const unsigned char* h = d + off;
    uint16_t kind = rd<uint16_t>(h);
    uint32_t hsize = rd<uint32_t>(h + 4);
    uint64_t payload = rd<uint64_t>(h + 8);
    uint32_t stored = rd<uint32_t>(h + 16);
    uint32_t arch = rd<uint32_t>(h + 28);
    uint64_t flags = rd<uint64_t>(h + 40);
    uint64_t plain = hsize >= 64 ? rd<uint64_t>(h + 56) : 0;
    const unsigned char* data = h + hsize;
    if (off + hsize + payload > out.length) {
      why = "a fat binary entry runs past the image";
      return false;
    }
    bool compressed_zstd = (flags & 0x8000) != 0, compressed_lz4 = (flags & 0x2000) != 0;
    if (kind == 1 /* PTX */ && (int)arch <= 90 && (int)arch > best_ptx_arch) {
      std::string text;
      if (compressed_lz4) {
        why = "the image's PTX is LZ4-compressed (an older nvcc); the simulator reads uncompressed or zstd PTX";
        return false;
      }
      if (compressed_zstd) {
        const Zstd& z = zstd();
        if (!z.missing.empty()) {
          why = z.missing;
          return false;
        }
        text.resize(plain);
        size_t r = z.decompress(text.data(), text.size(), data, stored ? stored : payload);
        if (z.is_error(r)) {
          why = std::string("the image's PTX does not decompress: ") + z.error_name(r);
          return false;
        }
        text.resize(r);
      } else {
        text.assign((const char*)data, strnlen((const char*)data, payload));
      }
      best_ptx = std::move(text);
      best_ptx_arch = (int)arch;
    }
    if (kind == 2 /* ELF */ && arch == 90) {
      if (compressed_zstd || compressed_lz4) {
        why = "the image's sm_90 cubin is compressed; the simulator reads it uncompressed (nvcc's default)";
        return false;
      }
      sass = data;
      sass_len = payload;
    }
    off += hsize + payload;
  }
  if (best_ptx_arch < 0) {
    why = "the fat binary holds no PTX for compute capability <= 9.0 (the simulator runs the kernels from their PTX "
          "parameter lists; build with -gencode arch=compute_90,code=compute_90)";
    return false;
  }
  if (!parse_ptx(best_ptx, out, why)) return false;
  out.ptx_arch = best_ptx_arch;
  if (sass) {
    if (!parse_elf(sass, sass_len, out, why)) return false;
    out.sass_arch = 90;
  }
  return true;
}

}  // namespace dvpsim
