// SPDX-License-Identifier: MIT
// irql.cpp: the per-thread IRQL, spin locks (real locks that raise to DISPATCH_LEVEL), in-stack
// queued spin locks, critical regions, fast mutexes, run-down protection, and the lists guarded
// by a spin lock (ExInterlocked*, SLIST).
#include <sched.h>

#include "rt_internal.h"

namespace {

thread_local UmwskThreadState t_state;

// A lock's address for a report.
const void* obj(const volatile void* p) {
  return const_cast<const void*>(p);
}

// A held KSPIN_LOCK holds its owner's token: the address of the owner's thread state, | 1.
ULONG_PTR my_token() {
  return reinterpret_cast<ULONG_PTR>(&t_state) | 1;
}

// KeRaiseIrqlTo*Level: raise to `level`, refused (reported) from above it.
KIRQL raise_to_level(KIRQL level, const void* caller, const char* routine) {
  const KIRQL old = t_state.irql;
  if (old > level) {
    umwsk_rule_violation_at(caller, "irql.raise_to_lower", nullptr, "%s from IRQL %u", routine,
                            static_cast<unsigned>(old));
    return old;
  }
  t_state.irql = level;
  return old;
}

// Ke{Leave}{Critical,Guarded}Region: leaving a region that was not entered is reported.
void leave_region(int* depth, const void* caller, const char* rule, const char* message) {
  if (*depth <= 0) {
    umwsk_rule_violation_at(caller, rule, nullptr, "%s", message);
    return;
  }
  --*depth;
}

}  // namespace

UmwskThreadState& umwsk_thread_state() {
  return t_state;
}

void umwsk_set_irql(KIRQL irql) {
  t_state.irql = irql;
}

void umwsk_check_irql_max(KIRQL max_irql, const void* caller, const void* object,
                          const char* routine) {
  if (t_state.irql > max_irql) {
    umwsk_rule_violation_at(caller,
                            max_irql == PASSIVE_LEVEL ? "irql.passive_routine_above_passive"
                                                      : "irql.routine_above_its_irql",
                            object, "%s at IRQL %u (documented IRQL <= %u)", routine,
                            static_cast<unsigned>(t_state.irql), static_cast<unsigned>(max_irql));
  }
}

// ---- IRQL ---------------------------------------------------------------------------------------

KIRQL KeGetCurrentIrql(void) {
  return t_state.irql;
}

KIRQL KfRaiseIrql(KIRQL NewIrql) {
  const KIRQL old = t_state.irql;
  if (NewIrql < old) {
    umwsk_rule_violation("irql.raise_to_lower", nullptr,
                         "KeRaiseIrql to %u from the higher IRQL %u (IRQL_NOT_GREATER_OR_EQUAL)",
                         static_cast<unsigned>(NewIrql), static_cast<unsigned>(old));
    return old;
  }
  t_state.irql = NewIrql;
  return old;
}

void KeLowerIrql(KIRQL NewIrql) {
  const KIRQL cur = t_state.irql;
  if (NewIrql > cur) {
    umwsk_rule_violation("irql.lower_to_higher", nullptr,
                         "KeLowerIrql to %u from the lower IRQL %u (IRQL_NOT_LESS_OR_EQUAL)",
                         static_cast<unsigned>(NewIrql), static_cast<unsigned>(cur));
    return;
  }
  t_state.irql = NewIrql;
}

KIRQL KeRaiseIrqlToDpcLevel(void) {
  return raise_to_level(DISPATCH_LEVEL, __builtin_return_address(0), "KeRaiseIrqlToDpcLevel");
}

KIRQL KeRaiseIrqlToSynchLevel(void) {
  return raise_to_level(SYNCH_LEVEL, __builtin_return_address(0), "KeRaiseIrqlToSynchLevel");
}

void KeEnterCriticalRegion(void) {
  t_state.critical_region++;
}

void KeLeaveCriticalRegion(void) {
  leave_region(&t_state.critical_region, __builtin_return_address(0),
               "apc.leave_critical_region_unbalanced",
               "KeLeaveCriticalRegion without KeEnterCriticalRegion");
}

void KeEnterGuardedRegion(void) {
  t_state.guarded_region++;
}

void KeLeaveGuardedRegion(void) {
  leave_region(&t_state.guarded_region, __builtin_return_address(0),
               "apc.leave_guarded_region_unbalanced",
               "KeLeaveGuardedRegion without KeEnterGuardedRegion");
}

BOOLEAN KeAreApcsDisabled(void) {
  return (t_state.critical_region > 0 || t_state.guarded_region > 0 || t_state.irql >= APC_LEVEL)
             ? TRUE
             : FALSE;
}

BOOLEAN KeAreAllApcsDisabled(void) {
  return (t_state.guarded_region > 0 || t_state.irql >= APC_LEVEL) ? TRUE : FALSE;
}

// ---- spin locks ---------------------------------------------------------------------------------

void umwsk_spin_acquire(PKSPIN_LOCK lock, const void* caller) {
  const ULONG_PTR me = my_token();
  unsigned spins = 0;
  for (;;) {
    ULONG_PTR expected = 0;
    if (__atomic_compare_exchange_n(lock, &expected, me, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      break;
    }
    if (expected == me) {
      umwsk_rule_violation_at(caller, "spinlock.recursive_acquire", lock,
                              "this thread already holds the spin lock (a deadlock on Windows)");
      return;  // report mode: treat as acquired once more (released once)
    }
    if ((expected & 1) == 0) {
      umwsk_rule_violation_at(caller, "spinlock.not_initialized", lock,
                              "the spin lock holds 0x%lx, not a lock state (KeInitializeSpinLock "
                              "was not called, or the memory was overwritten)",
                              static_cast<unsigned long>(expected));
      return;  // report mode: proceed without the lock rather than spin for ever
    }
    if (++spins < 64) {
      YieldProcessor();
    } else {
      sched_yield();
    }
  }
  t_state.spin_locks_held++;
}

void umwsk_spin_release(PKSPIN_LOCK lock, const void* caller) {
  const ULONG_PTR me = my_token();
  const ULONG_PTR value = __atomic_load_n(lock, __ATOMIC_RELAXED);
  if (value != me) {
    umwsk_rule_violation_at(caller, "spinlock.release_not_owner", lock,
                            value == 0 ? "releasing a spin lock that is not held"
                                       : "releasing a spin lock held by another thread");
    return;
  }
  __atomic_store_n(lock, static_cast<ULONG_PTR>(0), __ATOMIC_RELEASE);
  t_state.spin_locks_held--;
}

bool umwsk_spin_held_by_me(PKSPIN_LOCK lock) {
  return __atomic_load_n(lock, __ATOMIC_RELAXED) == my_token();
}

namespace {

KIRQL raise_to_dpc_for_lock(const volatile void* lock, const void* caller) {
  const KIRQL old = t_state.irql;
  if (old > DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.spinlock_above_dispatch_level", obj(lock),
                            "acquiring a spin lock at IRQL %u (> DISPATCH_LEVEL)",
                            static_cast<unsigned>(old));
  } else {
    t_state.irql = DISPATCH_LEVEL;
  }
  return old;
}

void check_at_dpc(const volatile void* lock, const void* caller, const char* routine) {
  if (t_state.irql < DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.spinlock_at_dpc_level_below_dispatch", obj(lock),
                            "%s called at IRQL %u (requires DISPATCH_LEVEL)", routine,
                            static_cast<unsigned>(t_state.irql));
  }
}

// Back to the IRQL the lock was acquired from; a release to a higher IRQL is reported.
void restore_irql(KIRQL old, const void* caller, const volatile void* lock, const char* routine) {
  if (old > t_state.irql) {
    umwsk_rule_violation_at(caller, "irql.lower_to_higher", obj(lock),
                            "%s to IRQL %u from the lower IRQL %u", routine,
                            static_cast<unsigned>(old), static_cast<unsigned>(t_state.irql));
    return;
  }
  t_state.irql = old;
}

// The ...ForDpc releases: back to the old IRQL when it is not higher, silently.
void restore_irql_for_dpc(KIRQL old) {
  if (old <= t_state.irql) {
    t_state.irql = old;
  }
}

KIRQL acquire_raised(PKSPIN_LOCK lock, const void* caller) {
  const KIRQL old = raise_to_dpc_for_lock(lock, caller);
  umwsk_spin_acquire(lock, caller);
  return old;
}

void acquire_queued(PKSPIN_LOCK lock, PKLOCK_QUEUE_HANDLE handle, KIRQL old, const void* caller) {
  handle->LockQueue.Next = nullptr;
  handle->LockQueue.Lock = lock;
  handle->OldIrql = old;
  umwsk_spin_acquire(lock, caller);
}

// `f` run with the spin lock held (the ExInterlocked* lists), at the caller's IRQL.
template <typename F>
auto with_spin_lock(PKSPIN_LOCK lock, const void* caller, F f) {
  umwsk_spin_acquire(lock, caller);
  auto result = f();
  umwsk_spin_release(lock, caller);
  return result;
}

}  // namespace

void KeInitializeSpinLock(PKSPIN_LOCK SpinLock) {
  *SpinLock = 0;
}

KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock) {
  return acquire_raised(SpinLock, __builtin_return_address(0));
}

void KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql) {
  const void* caller = __builtin_return_address(0);
  umwsk_spin_release(SpinLock, caller);
  restore_irql(NewIrql, caller, SpinLock, "KeReleaseSpinLock");
}

void KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
  const void* caller = __builtin_return_address(0);
  check_at_dpc(SpinLock, caller, "KeAcquireSpinLockAtDpcLevel");
  umwsk_spin_acquire(SpinLock, caller);
}

void KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock) {
  const void* caller = __builtin_return_address(0);
  check_at_dpc(SpinLock, caller, "KeReleaseSpinLockFromDpcLevel");
  umwsk_spin_release(SpinLock, caller);
}

BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
  const void* caller = __builtin_return_address(0);
  check_at_dpc(SpinLock, caller, "KeTryToAcquireSpinLockAtDpcLevel");
  ULONG_PTR expected = 0;
  if (__atomic_compare_exchange_n(SpinLock, &expected, my_token(), false, __ATOMIC_ACQUIRE,
                                  __ATOMIC_RELAXED)) {
    t_state.spin_locks_held++;
    return TRUE;
  }
  return FALSE;
}

BOOLEAN KeTestSpinLock(PKSPIN_LOCK SpinLock) {
  // TRUE when the lock is (probably) available.
  return __atomic_load_n(SpinLock, __ATOMIC_RELAXED) == 0 ? TRUE : FALSE;
}

void KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
  const void* caller = __builtin_return_address(0);
  acquire_queued(SpinLock, LockHandle, raise_to_dpc_for_lock(SpinLock, caller), caller);
}

void KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle) {
  const void* caller = __builtin_return_address(0);
  umwsk_spin_release(LockHandle->LockQueue.Lock, caller);
  restore_irql(LockHandle->OldIrql, caller, LockHandle->LockQueue.Lock,
               "KeReleaseInStackQueuedSpinLock");
}

void KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                              PKLOCK_QUEUE_HANDLE LockHandle) {
  const void* caller = __builtin_return_address(0);
  check_at_dpc(SpinLock, caller, "KeAcquireInStackQueuedSpinLockAtDpcLevel");
  acquire_queued(SpinLock, LockHandle, t_state.irql, caller);
}

void KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle) {
  const void* caller = __builtin_return_address(0);
  check_at_dpc(LockHandle->LockQueue.Lock, caller, "KeReleaseInStackQueuedSpinLockFromDpcLevel");
  umwsk_spin_release(LockHandle->LockQueue.Lock, caller);
}

KIRQL KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock) {
  return acquire_raised(SpinLock, __builtin_return_address(0));
}

void KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql) {
  umwsk_spin_release(SpinLock, __builtin_return_address(0));
  restore_irql_for_dpc(OldIrql);
}

void KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
  const void* caller = __builtin_return_address(0);
  acquire_queued(SpinLock, LockHandle, raise_to_dpc_for_lock(SpinLock, caller), caller);
}

void KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle) {
  umwsk_spin_release(LockHandle->LockQueue.Lock, __builtin_return_address(0));
  restore_irql_for_dpc(LockHandle->OldIrql);
}

// ---- lists guarded by a spin lock ---------------------------------------------------------------

namespace {

// ExInterlockedInsert{Head,Tail}List: returns the entry that was at that end (nullptr if none).
PLIST_ENTRY interlocked_insert(PLIST_ENTRY head, PLIST_ENTRY entry, PKSPIN_LOCK lock,
                               const void* caller, bool at_head) {
  return with_spin_lock(lock, caller, [&] {
    PLIST_ENTRY was = IsListEmpty(head) ? nullptr : (at_head ? head->Flink : head->Blink);
    if (at_head) {
      InsertHeadList(head, entry);
    } else {
      InsertTailList(head, entry);
    }
    return was;
  });
}

}  // namespace

PLIST_ENTRY ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                        PKSPIN_LOCK Lock) {
  return interlocked_insert(ListHead, ListEntry, Lock, __builtin_return_address(0), true);
}

PLIST_ENTRY ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                        PKSPIN_LOCK Lock) {
  return interlocked_insert(ListHead, ListEntry, Lock, __builtin_return_address(0), false);
}

PLIST_ENTRY ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock) {
  return with_spin_lock(Lock, __builtin_return_address(0),
                        [&] { return IsListEmpty(ListHead) ? nullptr : RemoveHeadList(ListHead); });
}

PSINGLE_LIST_ENTRY ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock) {
  return with_spin_lock(Lock, __builtin_return_address(0), [&] { return PopEntryList(ListHead); });
}

PSINGLE_LIST_ENTRY ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                              PSINGLE_LIST_ENTRY ListEntry, PKSPIN_LOCK Lock) {
  return with_spin_lock(Lock, __builtin_return_address(0), [&] {
    PSINGLE_LIST_ENTRY first = ListHead->Next;
    PushEntryList(ListHead, ListEntry);
    return first;
  });
}

// ---- SLIST: the header holds the first entry (Alignment) and the depth (Region, low 16 bits),
// guarded by one of a set of striped locks chosen by the header's address.
// -------------------------

namespace {

constexpr int kSListLocks = 64;
pthread_mutex_t g_slist_locks[kSListLocks] = {
#define UMWSK_M8_                                                                      \
  PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,     \
      PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, \
      PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER
    UMWSK_M8_, UMWSK_M8_, UMWSK_M8_, UMWSK_M8_, UMWSK_M8_,
    UMWSK_M8_, UMWSK_M8_, UMWSK_M8_
#undef UMWSK_M8_
};

// A new depth, and the sequence number stepped on (every change of the list steps it).
void slist_set_depth(PSLIST_HEADER head, ULONGLONG depth) {
  const ULONGLONG seq = (head->Region >> 16) + 1;
  head->Region = (seq << 16) | (depth & 0xffff);
}

// `f` run with the header's striped lock held.
template <typename F>
auto with_slist_lock(PSLIST_HEADER head, F f) {
  const ULONG_PTR a = reinterpret_cast<ULONG_PTR>(head);
  pthread_mutex_t* m = &g_slist_locks[(a >> 4) % kSListLocks];
  pthread_mutex_lock(m);
  auto result = f();
  pthread_mutex_unlock(m);
  return result;
}

}  // namespace

PSLIST_ENTRY InterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry) {
  return with_slist_lock(ListHead, [&] {
    auto* first = reinterpret_cast<PSLIST_ENTRY>(ListHead->Alignment);
    ListEntry->Next = first;
    ListHead->Alignment = reinterpret_cast<ULONGLONG>(ListEntry);
    slist_set_depth(ListHead, (ListHead->Region & 0xffff) + 1);
    return first;
  });
}

PSLIST_ENTRY InterlockedPopEntrySList(PSLIST_HEADER ListHead) {
  return with_slist_lock(ListHead, [&] {
    auto* first = reinterpret_cast<PSLIST_ENTRY>(ListHead->Alignment);
    if (first != nullptr) {
      ListHead->Alignment = reinterpret_cast<ULONGLONG>(first->Next);
      slist_set_depth(ListHead, (ListHead->Region & 0xffff) - 1);
    }
    return first;
  });
}

PSLIST_ENTRY InterlockedFlushSList(PSLIST_HEADER ListHead) {
  return with_slist_lock(ListHead, [&] {
    auto* first = reinterpret_cast<PSLIST_ENTRY>(ListHead->Alignment);
    ListHead->Alignment = 0;
    slist_set_depth(ListHead, 0);
    return first;
  });
}

USHORT QueryDepthSList(PSLIST_HEADER ListHead) {
  return with_slist_lock(ListHead, [&] { return static_cast<USHORT>(ListHead->Region & 0xffff); });
}

PSLIST_ENTRY FirstEntrySList(PSLIST_HEADER ListHead) {
  return with_slist_lock(ListHead,
                         [&] { return reinterpret_cast<PSLIST_ENTRY>(ListHead->Alignment); });
}

// ---- reader/writer spin locks: bit 31 = a writer holds or waits, bits 0..29 = readers
// -------------

namespace {

constexpr LONG kExclusive = static_cast<LONG>(0x80000000u);
constexpr LONG kReaders = 0x3fffffff;

void spin_wait(unsigned* spins) {
  if (++*spins < 64) {
    YieldProcessor();
  } else {
    sched_yield();
  }
}

void ex_acquire_shared(PEX_SPIN_LOCK lock) {
  unsigned spins = 0;
  for (;;) {
    LONG v = __atomic_load_n(lock, __ATOMIC_RELAXED);
    if ((v & kExclusive) == 0 &&
        __atomic_compare_exchange_n(lock, &v, v + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      break;
    }
    spin_wait(&spins);
  }
  t_state.spin_locks_held++;
}

void ex_release_shared(PEX_SPIN_LOCK lock, const void* caller) {
  const LONG before = __atomic_fetch_sub(lock, 1, __ATOMIC_RELEASE);
  if ((before & kReaders) == 0) {
    __atomic_fetch_add(lock, 1, __ATOMIC_RELAXED);
    umwsk_rule_violation_at(caller, "spinlock.release_not_owner", obj(lock),
                            "ExReleaseSpinLockShared on a lock with no shared holder");
    return;
  }
  t_state.spin_locks_held--;
}

void ex_acquire_exclusive(PEX_SPIN_LOCK lock) {
  unsigned spins = 0;
  for (;;) {  // claim the writer bit (new readers then wait)...
    LONG v = __atomic_load_n(lock, __ATOMIC_RELAXED);
    if ((v & kExclusive) == 0 && __atomic_compare_exchange_n(lock, &v, v | kExclusive, false,
                                                             __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      break;
    }
    spin_wait(&spins);
  }
  while ((__atomic_load_n(lock, __ATOMIC_ACQUIRE) & kReaders) != 0) {  // ...then drain readers
    spin_wait(&spins);
  }
  t_state.spin_locks_held++;
}

void ex_release_exclusive(PEX_SPIN_LOCK lock, const void* caller) {
  if (__atomic_load_n(lock, __ATOMIC_RELAXED) != kExclusive) {
    umwsk_rule_violation_at(caller, "spinlock.release_not_owner", obj(lock),
                            "ExReleaseSpinLockExclusive on a lock that is not held exclusively");
    return;
  }
  __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
  t_state.spin_locks_held--;
}

// The Ex*SpinLock{Shared,Exclusive} pairs that raise to DISPATCH_LEVEL and back.
KIRQL ex_acquire_raised(PEX_SPIN_LOCK lock, const void* caller, void (*acquire)(PEX_SPIN_LOCK)) {
  const KIRQL old = raise_to_dpc_for_lock(lock, caller);
  acquire(lock);
  return old;
}

void ex_release_lowered(PEX_SPIN_LOCK lock, KIRQL old, const void* caller,
                        void (*release)(PEX_SPIN_LOCK, const void*)) {
  release(lock, caller);
  restore_irql(old, caller, lock, "releasing a spin lock");
}

}  // namespace

KIRQL ExAcquireSpinLockShared(PEX_SPIN_LOCK SpinLock) {
  return ex_acquire_raised(SpinLock, __builtin_return_address(0), ex_acquire_shared);
}

void ExReleaseSpinLockShared(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql) {
  ex_release_lowered(SpinLock, OldIrql, __builtin_return_address(0), ex_release_shared);
}

KIRQL ExAcquireSpinLockExclusive(PEX_SPIN_LOCK SpinLock) {
  return ex_acquire_raised(SpinLock, __builtin_return_address(0), ex_acquire_exclusive);
}

void ExReleaseSpinLockExclusive(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql) {
  ex_release_lowered(SpinLock, OldIrql, __builtin_return_address(0), ex_release_exclusive);
}

void ExAcquireSpinLockSharedAtDpcLevel(PEX_SPIN_LOCK SpinLock) {
  check_at_dpc(SpinLock, __builtin_return_address(0), "ExAcquireSpinLockSharedAtDpcLevel");
  ex_acquire_shared(SpinLock);
}

void ExReleaseSpinLockSharedFromDpcLevel(PEX_SPIN_LOCK SpinLock) {
  ex_release_shared(SpinLock, __builtin_return_address(0));
}

void ExAcquireSpinLockExclusiveAtDpcLevel(PEX_SPIN_LOCK SpinLock) {
  check_at_dpc(SpinLock, __builtin_return_address(0), "ExAcquireSpinLockExclusiveAtDpcLevel");
  ex_acquire_exclusive(SpinLock);
}

void ExReleaseSpinLockExclusiveFromDpcLevel(PEX_SPIN_LOCK SpinLock) {
  ex_release_exclusive(SpinLock, __builtin_return_address(0));
}

LOGICAL ExTryConvertSharedSpinLockExclusive(PEX_SPIN_LOCK SpinLock) {
  LONG expected = 1;
  return __atomic_compare_exchange_n(SpinLock, &expected, kExclusive, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)
             ? TRUE
             : FALSE;
}

// ---- fast mutexes -------------------------------------------------------------------------------

void ExInitializeFastMutex(PFAST_MUTEX FastMutex) {
  FastMutex->Count = 1;
  FastMutex->Owner = nullptr;
  FastMutex->Contention = 0;
  FastMutex->OldIrql = 0;
  KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
}

namespace {

void fast_mutex_wait(PFAST_MUTEX m, const void* caller) {
  if (m->Owner == umwsk_current_thread()) {
    umwsk_rule_violation_at(caller, "fast_mutex.recursive_acquire", m,
                            "this thread already owns the fast mutex (a deadlock on Windows)");
    return;
  }
  if (InterlockedDecrement(&m->Count) != 0) {
    m->Contention++;
    KeWaitForSingleObject(&m->Event, WrExecutive, KernelMode, FALSE, nullptr);
  }
  m->Owner = umwsk_current_thread();
}

void fast_mutex_release(PFAST_MUTEX m, const void* caller) {
  if (m->Owner != umwsk_current_thread()) {
    umwsk_rule_violation_at(caller, "fast_mutex.release_not_owner", m,
                            "releasing a fast mutex this thread does not own");
    return;
  }
  m->Owner = nullptr;
  if (InterlockedIncrement(&m->Count) != 1) {
    KeSetEvent(&m->Event, 0, FALSE);
  }
}

}  // namespace

void ExAcquireFastMutex(PFAST_MUTEX FastMutex) {
  const void* caller = __builtin_return_address(0);
  const KIRQL old = t_state.irql;
  if (old > APC_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.fast_mutex_above_apc_level", FastMutex,
                            "ExAcquireFastMutex at IRQL %u (must be <= APC_LEVEL)",
                            static_cast<unsigned>(old));
  }
  if (old < APC_LEVEL) {
    t_state.irql = APC_LEVEL;
  }
  fast_mutex_wait(FastMutex, caller);
  FastMutex->OldIrql = old;
}

void ExReleaseFastMutex(PFAST_MUTEX FastMutex) {
  const void* caller = __builtin_return_address(0);
  const KIRQL old = static_cast<KIRQL>(FastMutex->OldIrql);
  fast_mutex_release(FastMutex, caller);
  if (t_state.irql != APC_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.fast_mutex_release_irql", FastMutex,
                            "ExReleaseFastMutex at IRQL %u (must be APC_LEVEL, as acquired)",
                            static_cast<unsigned>(t_state.irql));
  }
  t_state.irql = old;
}

BOOLEAN ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex) {
  const KIRQL old = t_state.irql;
  if (old < APC_LEVEL) {
    t_state.irql = APC_LEVEL;
  }
  if (InterlockedCompareExchange(&FastMutex->Count, 0, 1) == 1) {
    FastMutex->Owner = umwsk_current_thread();
    FastMutex->OldIrql = old;
    return TRUE;
  }
  t_state.irql = old;
  return FALSE;
}

void ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex) {
  fast_mutex_wait(FastMutex, __builtin_return_address(0));
}

void ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex) {
  fast_mutex_release(FastMutex, __builtin_return_address(0));
}

// ---- run-down protection: bit 0 = run-down active, references counted in units of 2 -----------

void ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef) {
  RunRef->Count = 0;
}

void ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef) {
  __atomic_store_n(&RunRef->Count, static_cast<ULONG_PTR>(0), __ATOMIC_RELEASE);
}

BOOLEAN ExAcquireRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count) {
  ULONG_PTR v = __atomic_load_n(&RunRef->Count, __ATOMIC_ACQUIRE);
  for (;;) {
    if (v & 1) {
      return FALSE;
    }
    if (__atomic_compare_exchange_n(&RunRef->Count, &v, v + 2 * static_cast<ULONG_PTR>(Count),
                                    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      return TRUE;
    }
  }
}

BOOLEAN ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef) {
  return ExAcquireRundownProtectionEx(RunRef, 1);
}

void ExReleaseRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count) {
  const ULONG_PTR before =
      __atomic_fetch_sub(&RunRef->Count, 2 * static_cast<ULONG_PTR>(Count), __ATOMIC_ACQ_REL);
  if ((before >> 1) < Count) {
    umwsk_rule_violation("rundown.release_unbalanced", RunRef,
                         "ExReleaseRundownProtection without a matching acquire");
  }
}

void ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef) {
  const ULONG_PTR before = __atomic_fetch_sub(&RunRef->Count, 2, __ATOMIC_ACQ_REL);
  if ((before >> 1) == 0) {
    umwsk_rule_violation("rundown.release_unbalanced", RunRef,
                         "ExReleaseRundownProtection without a matching acquire");
  }
}

void ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef) {
  if (t_state.irql > APC_LEVEL) {
    umwsk_rule_violation("irql.wait_above_apc_level", RunRef,
                         "ExWaitForRundownProtectionRelease at IRQL %u (must be <= APC_LEVEL)",
                         static_cast<unsigned>(t_state.irql));
  }
  __atomic_fetch_or(&RunRef->Count, static_cast<ULONG_PTR>(1), __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&RunRef->Count, __ATOMIC_ACQUIRE) != 1) {
    struct timespec ts = {0, 200000};  // 0.2 ms
    nanosleep(&ts, nullptr);
  }
}

void ExRundownCompleted(PEX_RUNDOWN_REF RunRef) {
  __atomic_store_n(&RunRef->Count, static_cast<ULONG_PTR>(1), __ATOMIC_RELEASE);
}
