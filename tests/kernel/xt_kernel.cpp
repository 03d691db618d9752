// SPDX-License-Identifier: MIT
// xt's platform part for the kernel test driver: xt::Event over a KEVENT and xt::sleep_ms over
// KeDelayExecutionThread. Both wait, so both are PASSIVE_LEVEL only (test bodies run there, in
// the IOCTL caller's thread); set() is callable at IRQL <= DISPATCH_LEVEL (completion routines).
#include "wsk_ddk.h"
#include "xt.h"

namespace xt {
namespace {

KEVENT* impl(unsigned char* storage) {
  return reinterpret_cast<KEVENT*>(storage);
}
static_assert(sizeof(KEVENT) <= 128, "xt::Event storage too small");

// Relative time for the kernel wait functions: negative, in 100 ns units.
LARGE_INTEGER relative_ms(uint32_t ms) {
  LARGE_INTEGER t;
  t.QuadPart = -static_cast<LONGLONG>(ms) * 10 * 1000;
  return t;
}

}  // namespace

// A notification event: stays set until reset(), like the user-space one-shot signal.
Event::Event() {
  KeInitializeEvent(impl(storage_), NotificationEvent, FALSE);
}
Event::~Event() = default;

void Event::set() {
  KeSetEvent(impl(storage_), IO_NO_INCREMENT, FALSE);
}

void Event::reset() {
  KeClearEvent(impl(storage_));
}

bool Event::wait(uint32_t timeout_ms) {
  LARGE_INTEGER timeout = relative_ms(timeout_ms);
  return KeWaitForSingleObject(impl(storage_), Executive, KernelMode, FALSE, &timeout) ==
         STATUS_SUCCESS;
}

void sleep_ms(uint32_t ms) {
  LARGE_INTEGER interval = relative_ms(ms);
  KeDelayExecutionThread(KernelMode, FALSE, &interval);
}

}  // namespace xt
