// SPDX-License-Identifier: MIT
// The checked build mode (XWSK_CHECKED, CMake option XWSK_CHECKED): closed socket objects are
// kept out of reuse for the next kQuarantineSlots closes, so that a handle used after its close
// finds the dead magic (InvalidHandle) instead of a new socket that reused its memory.
// Kernel-capable: a spin lock on an atomic flag, a fixed ring, no allocation.
#include <atomic>

#include "core.h"

namespace xwsk {
namespace detail {
namespace {

struct Quarantined {
  void* memory;
  uint32_t tag;
};

constexpr uint32_t kQuarantineSlots = 256;
Quarantined g_ring[kQuarantineSlots];
uint32_t g_next = 0;
uint32_t g_count = 0;
std::atomic_flag g_lock;  // clear (C++20)

void lock() {
  while (g_lock.test_and_set(std::memory_order_acquire)) {
  }
}
void unlock() {
  g_lock.clear(std::memory_order_release);
}

}  // namespace

void release_socket_memory(void* memory, uint32_t tag) {
  if (!kChecked) {
    release(memory, tag);
    return;
  }
  lock();
  Quarantined evicted{nullptr, 0};
  if (g_count == kQuarantineSlots) {
    evicted = g_ring[g_next];
  } else {
    ++g_count;
  }
  g_ring[g_next] = Quarantined{memory, tag};
  g_next = (g_next + 1) % kQuarantineSlots;
  unlock();
  if (evicted.memory != nullptr) release(evicted.memory, evicted.tag);
}

void quarantine_flush() {
  if (!kChecked) return;
  for (;;) {
    lock();
    Quarantined q{nullptr, 0};
    if (g_count != 0) {
      uint32_t oldest = (g_next + kQuarantineSlots - g_count) % kQuarantineSlots;
      q = g_ring[oldest];
      g_ring[oldest] = Quarantined{nullptr, 0};
      --g_count;
    }
    unlock();
    if (q.memory == nullptr) return;
    release(q.memory, q.tag);
  }
}

}  // namespace detail
}  // namespace xwsk
