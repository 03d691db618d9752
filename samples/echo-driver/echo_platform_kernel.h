// SPDX-License-Identifier: MIT
// echo_platform_kernel.h: the kernel implementation of the echo sample's platform seam
// (samples/echo/echo_platform.h includes this when XWSK_KERNEL is defined).
//
//   SpinLock       a KSPIN_LOCK (KeAcquireSpinLock / KeReleaseSpinLock: usable at IRQL <=
//                  DISPATCH_LEVEL, i.e. from completion routines). The IRQL to restore is kept
//                  in the lock while it is held, as WDF's locks do.
//   Event          a notification KEVENT. wait() only at PASSIVE_LEVEL.
//   log_error      vDbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_ERROR_LEVEL, ...): safe at any IRQL
//                  for the formats used here (no %ls/%wZ).
//   return_free_memory  nothing: the kernel pool returns freed memory itself
//   provider_hung  logs and returns; the caller keeps waiting (it cannot free a request the
//                  provider owns, and a driver must not exit).
//
// The DDK is not included here (echo_server.cpp stays free of Windows headers): the objects
// keep opaque, statically checked storage; echo_platform_kernel.cpp has the DDK calls.
#ifndef XWSK_SAMPLES_ECHO_DRIVER_ECHO_PLATFORM_KERNEL_H_
#define XWSK_SAMPLES_ECHO_DRIVER_ECHO_PLATFORM_KERNEL_H_

#include <stdint.h>

namespace echo {

class SpinLock {
 public:
  SpinLock() = default;  // KeInitializeSpinLock stores 0: the zero value is an initialized lock
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;
  void lock();
  void unlock();

 private:
  uintptr_t lock_ = 0;    // KSPIN_LOCK (ULONG_PTR)
  uint8_t old_irql_ = 0;  // KIRQL to restore, valid while held
};

class Event {
 public:
  Event();
  ~Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void set();
  void reset();
  /// True if set within @p timeout_ms. PASSIVE_LEVEL only.
  bool wait(uint32_t timeout_ms);

 private:
  alignas(8) unsigned char storage_[32];  // KEVENT
};

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void log_error(const char* format, ...);

void provider_hung(const char* what, uint32_t timeout_ms);

/// The pool gives freed memory back by itself: nothing to do.
inline void return_free_memory() {}

}  // namespace echo

#endif  // XWSK_SAMPLES_ECHO_DRIVER_ECHO_PLATFORM_KERNEL_H_
