// SPDX-License-Identifier: MIT
// xt's platform part for user space: Event over a mutex and condition variable.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>

#include "xt.h"

namespace xt {
namespace {
struct EventImpl {
  std::mutex mu;
  std::condition_variable cv;
  bool signaled = false;
};
static_assert(sizeof(EventImpl) <= 128, "xt::Event storage too small");
EventImpl* impl(unsigned char* storage) {
  return std::launder(reinterpret_cast<EventImpl*>(storage));
}
}  // namespace

Event::Event() {
  new (storage_) EventImpl();
}
Event::~Event() {
  impl(storage_)->~EventImpl();
}

void Event::set() {
  EventImpl* e = impl(storage_);
  std::lock_guard<std::mutex> lock(e->mu);
  e->signaled = true;
  e->cv.notify_all();
}

void Event::reset() {
  EventImpl* e = impl(storage_);
  std::lock_guard<std::mutex> lock(e->mu);
  e->signaled = false;
}

bool Event::wait(uint32_t timeout_ms) {
  EventImpl* e = impl(storage_);
  std::unique_lock<std::mutex> lock(e->mu);
  return e->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [e] { return e->signaled; });
}

namespace {
std::thread* thread_of(unsigned char* storage) {
  return std::launder(reinterpret_cast<std::thread*>(storage));
}
}  // namespace
static_assert(sizeof(std::thread) <= 64, "xt::Thread storage too small");

bool Thread::start(void (*fn)(void* arg), void* arg) {
  if (running_ || fn == nullptr) return false;
  fn_ = fn;
  arg_ = arg;
  new (storage_) std::thread([this] { fn_(arg_); });
  running_ = true;
  return true;
}

void Thread::join() {
  if (!running_) return;
  std::thread* th = thread_of(storage_);
  th->join();
  th->~thread();
  running_ = false;
}

Thread::~Thread() {
  join();
}

void sleep_ms(uint32_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace xt
