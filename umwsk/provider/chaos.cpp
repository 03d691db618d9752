// SPDX-License-Identifier: MIT
// chaos.cpp: the provider's chaos mode (issue 13). With a seed (UMWSK_CHAOS_SEED=<n> or "random",
// or UmwskSetChaosSeed), the provider varies what WSK lets a provider vary, so that client code
// that assumes one completion path or one way data arrives fails at once:
//  - an IRP that xwsk completed inline is completed later by the provider's chaos worker
//    (the function returns STATUS_PENDING), and asynchronous completions may be deferred too,
//    after a short delay, at PASSIVE_LEVEL or DISPATCH_LEVEL;
//  - stream data may be indicated in several WskReceiveEvent calls instead of one (each piece a
//    private copy: what the client accepts or retains is exactly what it was shown);
//  - event callbacks may run at PASSIVE_LEVEL (without WSK_FLAG_AT_DISPATCH_LEVEL) or after a
//    short delay;
//  - a WskReceive without WSK_FLAG_WAITALL / WSK_FLAG_DRAIN may complete with fewer bytes than
//    its buffer holds, as a stream allows.
// Every decision is a pure function of the seed and a counter (per socket where there is one), so
// the same seed makes the same choices for the same sequence of calls. The seed is printed once.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provider.h"

namespace umwsk::provider {

namespace {

std::atomic<uint32_t> g_state{0};  // 0 unread, 1 off, 2 on
std::atomic<uint64_t> g_seed{0};
std::atomic<uint64_t> g_counter{0};

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void announce(uint64_t seed) {
  DbgPrintEx(0, 0, "umwsk: chaos seed %llu (UMWSK_CHAOS_SEED=%llu reproduces it)\n",
             static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
}

void read_environment() {
  uint32_t expected = 0;
  if (g_state.load(std::memory_order_acquire) != 0) return;
  const char* env = getenv("UMWSK_CHAOS_SEED");
  uint32_t state = 1;
  uint64_t seed = 0;
  if (env != nullptr && env[0] != '\0') {
    if (strcmp(env, "random") == 0) {
      LARGE_INTEGER t;
      KeQuerySystemTimePrecise(&t);
      seed = mix(static_cast<uint64_t>(t.QuadPart) ^ (static_cast<uint64_t>(getpid()) << 32)) %
             1000000000ull;
      state = 2;
    } else {
      char* end = nullptr;
      seed = strtoull(env, &end, 10);
      state = end != env ? 2 : 1;
    }
  }
  if (g_state.compare_exchange_strong(expected, state, std::memory_order_acq_rel)) {
    g_seed.store(seed, std::memory_order_release);
    if (state == 2) announce(seed);
  }
}

}  // namespace

bool chaos_on() {
  uint32_t s = g_state.load(std::memory_order_acquire);
  if (s == 0) {
    read_environment();
    s = g_state.load(std::memory_order_acquire);
  }
  return s == 2;
}

uint32_t chaos_pick(uint64_t stream, uint32_t what, uint32_t range) {
  if (range <= 1) return 0;
  const uint64_t h =
      mix(g_seed.load(std::memory_order_relaxed) ^ mix(stream * 0x100000001b3ull + what));
  return static_cast<uint32_t>(h % range);
}

uint64_t chaos_next() {
  return g_counter.fetch_add(1, std::memory_order_relaxed);
}

void chaos_delay(uint64_t stream, uint32_t what) {
  // One decision in eight sleeps 50..500 microseconds (only below DISPATCH_LEVEL).
  if (KeGetCurrentIrql() >= DISPATCH_LEVEL || chaos_pick(stream, what, 8) != 0) return;
  LARGE_INTEGER d;
  d.QuadPart = -static_cast<LONGLONG>(500 + 500 * chaos_pick(stream, what + 1, 10));  // 100 ns
  KeDelayExecutionThread(KernelMode, FALSE, &d);
}

// ---- the chaos worker: deferred IRP completions
// ---------------------------------------------------

namespace {

struct Worker {
  KSPIN_LOCK lock;
  PIRP head;
  PIRP tail;
  KEVENT wake;   // SynchronizationEvent
  KEVENT mutex;  // SynchronizationEvent used as a lock for start/stop (PASSIVE_LEVEL)
  PVOID thread;  // referenced thread object
  int users;     // registrations
  std::atomic<uint32_t> stop;
  std::atomic<int32_t> queued;
};

Worker g_worker;
std::atomic<uint32_t> g_worker_init{0};

IrpOp* op_of(PIRP irp) {
  return reinterpret_cast<IrpOp*>(irp->XwskProvider);
}

void worker_main(PVOID context) {
  (void)context;
  for (;;) {
    KIRQL irql;
    KeAcquireSpinLock(&g_worker.lock, &irql);
    PIRP irp = g_worker.head;
    if (irp != nullptr) {
      g_worker.head = static_cast<PIRP>(op_of(irp)->c);
      if (g_worker.head == nullptr) g_worker.tail = nullptr;
    }
    KeReleaseSpinLock(&g_worker.lock, irql);
    if (irp == nullptr) {
      if (g_worker.stop.load(std::memory_order_acquire) != 0) break;
      LARGE_INTEGER timeout;
      timeout.QuadPart = -10LL * 1000 * 50;  // 50 ms
      KeWaitForSingleObject(&g_worker.wake, Executive, KernelMode, FALSE, &timeout);
      continue;
    }
    IrpOp* op = op_of(irp);
    const auto how = reinterpret_cast<uintptr_t>(op->b);
    if ((how & 2) != 0) {
      LARGE_INTEGER d;
      d.QuadPart = -static_cast<LONGLONG>(1000 + 1000 * (how >> 2));  // 100..1000 us
      KeDelayExecutionThread(KernelMode, FALSE, &d);
    }
    op->b = nullptr;
    op->c = nullptr;
    if ((how & 1) != 0) {
      DispatchScope dispatch;
      op_complete_deferred(irp);
    } else {
      op_complete_deferred(irp);
    }
    g_worker.queued.fetch_sub(1, std::memory_order_acq_rel);
  }
  PsTerminateSystemThread(STATUS_SUCCESS);
}

void worker_init() {
  uint32_t expected = 0;
  if (g_worker_init.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    KeInitializeSpinLock(&g_worker.lock);
    KeInitializeEvent(&g_worker.wake, SynchronizationEvent, FALSE);
    KeInitializeEvent(&g_worker.mutex, SynchronizationEvent, TRUE);
    g_worker_init.store(2, std::memory_order_release);
  }
  while (g_worker_init.load(std::memory_order_acquire) != 2) {
  }
}

}  // namespace

bool chaos_defer(PIRP irp, uint64_t stream) {
  if (g_worker.thread == nullptr || g_worker.stop.load(std::memory_order_acquire) != 0) {
    return false;
  }
  IrpOp* op = op_of(irp);
  const uint32_t dispatch = chaos_pick(stream, 11, 2);
  const uint32_t delay = chaos_pick(stream, 12, 4) == 0 ? 1u : 0u;
  const uint32_t amount = chaos_pick(stream, 13, 10);
  op->b = reinterpret_cast<void*>(static_cast<uintptr_t>(dispatch | (delay << 1) | (amount << 2)));
  op->c = nullptr;
  g_worker.queued.fetch_add(1, std::memory_order_acq_rel);
  KIRQL irql;
  KeAcquireSpinLock(&g_worker.lock, &irql);
  if (g_worker.tail != nullptr) {
    op_of(g_worker.tail)->c = irp;
  } else {
    g_worker.head = irp;
  }
  g_worker.tail = irp;
  KeReleaseSpinLock(&g_worker.lock, irql);
  KeSetEvent(&g_worker.wake, IO_NO_INCREMENT, FALSE);
  return true;
}

int32_t chaos_deferred() {
  return g_worker.queued.load(std::memory_order_acquire);
}

void chaos_attach() {
  if (!chaos_on()) return;
  worker_init();
  KeWaitForSingleObject(&g_worker.mutex, Executive, KernelMode, FALSE, nullptr);
  if (g_worker.users++ == 0) {
    g_worker.stop.store(0, std::memory_order_release);
    HANDLE h = nullptr;
    if (NT_SUCCESS(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr,
                                        worker_main, nullptr))) {
      PVOID object = nullptr;
      if (NT_SUCCESS(ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &object,
                                               nullptr))) {
        g_worker.thread = object;
      }
      ZwClose(h);
    }
  }
  KeSetEvent(&g_worker.mutex, IO_NO_INCREMENT, FALSE);
}

void chaos_detach() {
  if (g_worker_init.load(std::memory_order_acquire) != 2) return;
  KeWaitForSingleObject(&g_worker.mutex, Executive, KernelMode, FALSE, nullptr);
  if (g_worker.users > 0 && --g_worker.users == 0 && g_worker.thread != nullptr) {
    g_worker.stop.store(1, std::memory_order_release);
    KeSetEvent(&g_worker.wake, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(g_worker.thread, Executive, KernelMode, FALSE, nullptr);
    ObDereferenceObject(g_worker.thread);
    g_worker.thread = nullptr;
  }
  KeSetEvent(&g_worker.mutex, IO_NO_INCREMENT, FALSE);
}

}  // namespace umwsk::provider

using namespace umwsk::provider;

extern "C" {

UMWSK_PROVIDER_API VOID UmwskSetChaosSeed(BOOLEAN Enable, ULONG64 Seed) {
  g_state.store(Enable ? 2u : 1u, std::memory_order_release);
  g_seed.store(Seed, std::memory_order_release);
  if (Enable) announce(Seed);
}

UMWSK_PROVIDER_API BOOLEAN UmwskGetChaosSeed(ULONG64* Seed) {
  if (Seed != nullptr) *Seed = g_seed.load(std::memory_order_acquire);
  return chaos_on() ? TRUE : FALSE;
}

}  // extern "C"
