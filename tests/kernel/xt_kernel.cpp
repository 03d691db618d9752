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

namespace {
struct ThreadStart {
  void (*fn)(void*);
  void* arg;
};
void WINAPI thread_main(void* context) {
  auto* start = static_cast<ThreadStart*>(context);
  start->fn(start->arg);
  PsTerminateSystemThread(STATUS_SUCCESS);
}
HANDLE* handle_of(unsigned char* storage) {
  return reinterpret_cast<HANDLE*>(storage);
}
static_assert(sizeof(HANDLE) + sizeof(ThreadStart) <= 64, "xt::Thread storage too small");
}  // namespace

// A system thread; join() waits on its handle (a kernel thread handle is waitable).
bool Thread::start(void (*fn)(void* arg), void* arg) {
  if (running_ || fn == nullptr) return false;
  fn_ = fn;
  arg_ = arg;
  auto* start = reinterpret_cast<ThreadStart*>(storage_ + sizeof(HANDLE));
  start->fn = fn;
  start->arg = arg;
  HANDLE h = nullptr;
  if (!NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr,
                                       thread_main, start))) {
    return false;
  }
  *handle_of(storage_) = h;
  running_ = true;
  return true;
}

void Thread::join() {
  if (!running_) return;
  HANDLE h = *handle_of(storage_);
  ZwWaitForSingleObject(h, FALSE, nullptr);
  ZwClose(h);
  running_ = false;
}

Thread::~Thread() {
  join();
}

void sleep_ms(uint32_t ms) {
  LARGE_INTEGER interval = relative_ms(ms);
  KeDelayExecutionThread(KernelMode, FALSE, &interval);
}

}  // namespace xt
