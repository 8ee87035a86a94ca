#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define DVPSIM_ASAN 1
#else
#define DVPSIM_ASAN 0
#endif

#if !defined(__x86_64__)
#error "the dvp CUDA simulator's fiber switch is written for x86-64 (SysV ABI); port dvpsim_switch_stack for this CPU"
#endif

// Saves the callee-saved registers of the current execution on its stack, stores the stack pointer
// in *from_sp, loads to_sp and restores the same from there. A new fiber's stack is laid out
// (fiber_init) so that the restore ends in dvpsim_fiber_start. MXCSR and the x87 control word are not
// switched: every fiber of a worker runs with the worker's floating-point environment, and nothing in
// a kernel changes it (directed rounding is not emulated; the shim rejects it).
extern "C" void dvpsim_switch_stack(void** from_sp, void* to_sp);
extern "C" void dvpsim_fiber_start();
asm(R"(
  .text
  .p2align 4
  .globl dvpsim_switch_stack
  .hidden dvpsim_switch_stack
  .type dvpsim_switch_stack, @function
dvpsim_switch_stack:
  .cfi_startproc
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size dvpsim_switch_stack, .-dvpsim_switch_stack

  .p2align 4
  .globl dvpsim_fiber_start
  .hidden dvpsim_fiber_start
  .type dvpsim_fiber_start, @function
dvpsim_fiber_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r13, %rdi
  callq *%r12
  ud2
  .cfi_endproc
  .size dvpsim_fiber_start, .-dvpsim_fiber_start
)");

namespace dvpsim {

static size_t page_size() {
  static const size_t p = (size_t)sysconf(_SC_PAGESIZE);
  return p;
}

Stack stack_create(size_t usable) {
  size_t page = page_size();
  usable = (usable + page - 1) / page * page;
  size_t mapped = usable + page;
  void* m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) {
    std::fprintf(stderr, "dvp CUDA simulator: cannot map a %zu-byte fiber stack\n", mapped);
    std::abort();
  }
  // the guard page: a stack overflow in a kernel faults here instead of corrupting a neighbour
  mprotect(m, page, PROT_NONE);
  Stack s;
  s.mapping = (char*)m;
  s.mapped = mapped;
  s.base = (char*)m + page;
  s.size = usable;
  return s;
}

void stack_destroy(Stack& s) {
  if (s.mapping) munmap(s.mapping, s.mapped);
  s = Stack{};
}

void fiber_init(Fiber& f, const Stack& stack, void (*entry)(void*), void* arg) {
#if DVPSIM_ASAN
  // a fiber abandoned mid-kernel (an aborted launch) may have left its locals' redzones poisoned
  ASAN_UNPOISON_MEMORY_REGION(stack.base, stack.size);
#endif
  // Top of stack, 16-byte aligned. Layout read by dvpsim_switch_stack's restore, lowest first:
  //   r15 r14 r13 r12 rbx rbp  return -> dvpsim_fiber_start
  // After `ret`, rsp == top (16-byte aligned), so `callq *%r12` enters entry with the ABI's
  // alignment (rsp % 16 == 8 at its first instruction).
  uintptr_t top = ((uintptr_t)(stack.base + stack.size)) & ~(uintptr_t)15;
  uint64_t* sp = (uint64_t*)top;
  *--sp = (uint64_t)(void*)&dvpsim_fiber_start;
  *--sp = 0;                                  // rbp
  *--sp = 0;                                  // rbx
  *--sp = (uint64_t)(void*)entry;             // r12
  *--sp = (uint64_t)arg;                      // r13
  *--sp = 0;                                  // r14
  *--sp = 0;                                  // r15
  f.sp = sp;
  f.stack_bottom = stack.base;
  f.stack_size = stack.size;
  f.asan_fake_stack = nullptr;
}

void fiber_entered() {
#if DVPSIM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

void fiber_of_thread(Fiber& f) {
  f.sp = nullptr;
  f.asan_fake_stack = nullptr;
#if DVPSIM_ASAN
  pthread_attr_t attr;
  void* addr = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
  }
  f.stack_bottom = (const char*)addr;
  f.stack_size = size;
#else
  f.stack_bottom = nullptr;
  f.stack_size = 0;
#endif
}

void fiber_switch(Fiber& from, Fiber& to, bool from_finished) {
#if DVPSIM_ASAN
  __sanitizer_start_switch_fiber(from_finished ? nullptr : &from.asan_fake_stack, to.stack_bottom, to.stack_size);
#else
  (void)from_finished;
#endif
  dvpsim_switch_stack(&from.sp, to.sp);
#if DVPSIM_ASAN
  // back in `from`, switched to by someone
  __sanitizer_finish_switch_fiber(from.asan_fake_stack, nullptr, nullptr);
#endif
}

}  // namespace dvpsim
