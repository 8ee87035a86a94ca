// Fibers: one per simulated CUDA thread, switched by a few instructions (no system call, unlike
// glibc's swapcontext), on mmap'ed stacks with a PROT_NONE guard page below, reused across blocks
// and launches. Every switch is announced to AddressSanitizer when the build uses it, so ASan's
// view of "the current stack" follows the fiber (gpu-simulation.md, lesson 1).
#pragma once
#include <cstddef>

namespace dvpsim {

/** A fiber stack: [base, base + size) usable, a guard page just below base. */
struct Stack {
  char* base = nullptr;
  size_t size = 0;
  char* mapping = nullptr;
  size_t mapped = 0;
};

Stack stack_create(size_t usable_bytes);
void stack_destroy(Stack& s);

/** A suspended execution: its saved stack pointer and the stack it runs on (for ASan). */
struct Fiber {
  void* sp = nullptr;
  const char* stack_bottom = nullptr;
  size_t stack_size = 0;
  void* asan_fake_stack = nullptr;
};

/**
 * Prepares `f` to run entry(arg) on `stack` the first time it is switched to. entry must never
 * return: it ends by switching away for good.
 */
void fiber_init(Fiber& f, const Stack& stack, void (*entry)(void*), void* arg);

/** The first thing a fiber's entry function does (completes the switch that started it, for ASan). */
void fiber_entered();

/** A fiber for the calling OS thread's own stack (the scheduler's), to switch back to. */
void fiber_of_thread(Fiber& f);

/**
 * Saves the current execution into `from` and resumes `to`. Returns when something switches back
 * to `from`. `from_finished`: `from` will never be resumed (lets ASan drop its fake stack).
 */
void fiber_switch(Fiber& from, Fiber& to, bool from_finished = false);

}  // namespace dvpsim
