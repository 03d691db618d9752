// SPDX-License-Identifier: MIT
// echo_platform.h: the echo sample's platform seam. The networking code (echo_server.cpp,
// echo_sync.cpp) uses only what is declared here plus xwsk, so the same files build into a
// user-space program and into a kernel driver (samples/echo-driver).
//
//   SpinLock  the role of a KSPIN_LOCK: held for a few instructions, never across an xwsk call
//             (a call may complete inline and run a completion routine that takes the same
//             lock), never while waiting. Usable from completion routines (<= DISPATCH_LEVEL).
//   Guard     scoped SpinLock holder.
//   Event     a notification event (KEVENT): set from anywhere, waited on only by the thread
//             that starts and stops things (PASSIVE_LEVEL), never by a completion routine.
//   log_error printf-style diagnostics (stderr / DbgPrintEx).
//   return_free_memory  gives freed heap memory back to the system (glibc: malloc_trim, whose
//             freed pages would otherwise stay resident after a burst of connections went;
//             elsewhere and in the kernel, where the pool returns memory itself: nothing).
//   provider_hung  a synchronous setup/teardown call did not complete in time. User space: the
//             program reports it and exits (status 70). Kernel: reports it and returns (the
//             caller then keeps waiting: it cannot free a request the provider still owns).
//
// User space: std::mutex and std::condition_variable (below). Kernel (XWSK_KERNEL, defined by
// the kernel build's compile options): samples/echo-driver/echo_platform_kernel.h.
#ifndef XWSK_SAMPLES_ECHO_ECHO_PLATFORM_H_
#define XWSK_SAMPLES_ECHO_ECHO_PLATFORM_H_

#include <stdint.h>

#if defined(XWSK_KERNEL)
#include "echo_platform_kernel.h"  // samples/echo-driver (on the driver's include path)
#else
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace echo {

class SpinLock {
 public:
  void lock() { mu_.lock(); }
  void unlock() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class Event {
 public:
  void set() {
    // Notify under the lock: a waiter that returns may destroy the event at once.
    std::lock_guard<std::mutex> g(mu_);
    set_ = true;
    cv_.notify_all();
  }
  void reset() {
    std::lock_guard<std::mutex> g(mu_);
    set_ = false;
  }
  /// True if set within @p timeout_ms.
  bool wait(uint32_t timeout_ms) {
    std::unique_lock<std::mutex> g(mu_);
    return cv_.wait_for(g, std::chrono::milliseconds(timeout_ms), [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
inline void
log_error(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
}

inline void return_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

[[noreturn]] inline void provider_hung(const char* what, uint32_t timeout_ms) {
  fprintf(stderr, "xwsk-echo: fatal: the provider did not complete %s within %u ms\n", what,
          timeout_ms);
  fflush(stdout);
  _exit(70);
}

}  // namespace echo
#endif

namespace echo {

/// Scoped holder of a SpinLock.
class Guard {
 public:
  explicit Guard(SpinLock& lock) : lock_(lock) { lock_.lock(); }
  ~Guard() { lock_.unlock(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace echo

#endif  // XWSK_SAMPLES_ECHO_ECHO_PLATFORM_H_
