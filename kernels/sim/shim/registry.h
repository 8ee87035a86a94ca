// Registration of the host-built kernels and __device__ globals (included after the kernel
// sources, followed by the generated list of DVPSIM_KERNEL / DVPSIM_GLOBAL lines).
#pragma once
#include <array>
#include <type_traits>
#include <utility>

#include "host_image.h"

namespace dvpsim {

template <typename T>
constexpr HostParam describe_param() {
  using U = std::remove_cv_t<T>;
  static_assert(std::is_trivially_copyable_v<U>, "kernel parameters must be trivially copyable");
  ParamKind k = std::is_pointer_v<U> ? ParamKind::Pointer
                : std::is_floating_point_v<U> ? ParamKind::Float
                : (std::is_integral_v<U> || std::is_enum_v<U>) ? ParamKind::Integer
                : ParamKind::Struct;
  return HostParam{(unsigned)sizeof(U), (unsigned)alignof(U), k};
}

template <auto F>
struct KernelOf;

template <typename... A, void (*F)(A...)>
struct KernelOf<F> {
  static constexpr unsigned count = sizeof...(A);
  // one unused slot for a kernel without parameters (no zero-length arrays)
  static constexpr std::array<HostParam, count == 0 ? 1 : count> params{describe_param<A>()...};
  static void invoke(void* const* args) { call(args, std::index_sequence_for<A...>{}); }
  template <size_t... I>
  static void call(void* const* args, std::index_sequence<I...>) {
    (void)args;
    F(*static_cast<std::remove_cv_t<A>*>(args[I])...);
  }
};

}  // namespace dvpsim

#define DVPSIM_KERNEL(name) \
  {#name, &::dvpsim::KernelOf<&name>::invoke, ::dvpsim::KernelOf<&name>::params.data(), ::dvpsim::KernelOf<&name>::count},
#define DVPSIM_GLOBAL(name) {#name, (void*)&name, sizeof(name)},
