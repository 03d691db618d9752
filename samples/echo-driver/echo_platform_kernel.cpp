// SPDX-License-Identifier: MIT
// The kernel half of the echo sample's platform seam: see echo_platform_kernel.h.
#include "echo_platform_kernel.h"

#include "wsk_ddk.h"

namespace echo {

static_assert(sizeof(KSPIN_LOCK) == sizeof(uintptr_t), "SpinLock storage");
static_assert(sizeof(KIRQL) == sizeof(uint8_t), "SpinLock IRQL storage");

namespace {

KEVENT* impl(unsigned char* storage) {
  return reinterpret_cast<KEVENT*>(storage);
}

// DPFLTR_IHVNETWORK_ID (dpfilter.h): the component ID for network drivers.
constexpr ULONG kDpfltrIhvNetworkId = 80;

}  // namespace

void SpinLock::lock() {
  KIRQL old;
  KeAcquireSpinLock(reinterpret_cast<KSPIN_LOCK*>(&lock_), &old);
  old_irql_ = old;
}

void SpinLock::unlock() {
  KeReleaseSpinLock(reinterpret_cast<KSPIN_LOCK*>(&lock_), old_irql_);
}

Event::Event() {
  static_assert(sizeof(KEVENT) <= sizeof(storage_), "Event storage too small");
  KeInitializeEvent(impl(storage_), NotificationEvent, FALSE);
}

void Event::set() {
  KeSetEvent(impl(storage_), IO_NO_INCREMENT, FALSE);
}

void Event::reset() {
  KeClearEvent(impl(storage_));
}

bool Event::wait(uint32_t timeout_ms) {
  LARGE_INTEGER timeout;
  timeout.QuadPart = -10000LL * static_cast<LONGLONG>(timeout_ms);  // relative, 100 ns units
  return KeWaitForSingleObject(impl(storage_), Executive, KernelMode, FALSE, &timeout) ==
         STATUS_SUCCESS;
}

void log_error(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vDbgPrintEx(kDpfltrIhvNetworkId, DPFLTR_ERROR_LEVEL, format, args);
  va_end(args);
}

void provider_hung(const char* what, uint32_t timeout_ms) {
  log_error("xwsk_echo: the provider did not complete %s within %u ms; still waiting\n", what,
            timeout_ms);
}

}  // namespace echo
