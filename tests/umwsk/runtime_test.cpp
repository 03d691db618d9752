// SPDX-License-Identifier: MIT
// runtime_test.cpp: the umwsk kernel runtime (libxwsk_umwsk) against the WDM contract: the IRP
// completion walk, cancellation, dispatcher waits, thread objects, spin locks and IRQL, pool and
// lookaside accounting, work items, the Windows-convention formatter, and the verifier's report
// mode. Every test leaves the runtime's counters at zero (checked in TearDown).
#define NOMINMAX 1
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ip2string.h"
#include "ntddk.h"
#include "ntstrsafe.h"
#include "umwsk.h"
#include "umwsk_wpp.h"

namespace {

constexpr ULONG Tag(char a, char b, char c, char d) {
  return (static_cast<ULONG>(static_cast<unsigned char>(a)) << 24) |
         (static_cast<ULONG>(static_cast<unsigned char>(b)) << 16) |
         (static_cast<ULONG>(static_cast<unsigned char>(c)) << 8) |
         static_cast<ULONG>(static_cast<unsigned char>(d));
}
constexpr ULONG kTag = Tag('T', 's', 't', '1');

LARGE_INTEGER Relative(LONGLONG ms) {
  LARGE_INTEGER t;
  t.QuadPart = -ms * 10000;
  return t;
}

class Runtime : public ::testing::Test {
 protected:
  void SetUp() override {
    UmwskResetViolations();
    old_mode_ = UmwskSetVerifierMode(UmwskVerifierStop);
    ASSERT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  }
  void TearDown() override {
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    UmwskSetVerifierMode(old_mode_);
    // System threads end asynchronously after signalling; give them a moment to be counted out.
    UMWSK_COUNTERS c{};
    for (int i = 0; i < 200; ++i) {
      UmwskQueryCounters(&c);
      if (UmwskCountersAreZero(&c)) {
        break;
      }
      LARGE_INTEGER t = Relative(5);
      KeDelayExecutionThread(KernelMode, FALSE, &t);
    }
    EXPECT_TRUE(UmwskCountersAreZero(&c))
        << "irps " << c.Irps << " mdls " << c.Mdls << " pool " << c.PoolAllocations << "/"
        << c.PoolBytes << " work items " << c.WorkItems << " threads " << c.SystemThreads;
  }
  UMWSK_VERIFIER_MODE old_mode_ = UmwskVerifierStop;
};

// ---- IRP completion walk ------------------------------------------------------------------------

struct WalkLog {
  int calls[8] = {};
  int n = 0;
  PDEVICE_OBJECT device[8] = {};
  BOOLEAN pending[8] = {};
  NTSTATUS b_returns = STATUS_SUCCESS;
};

// Driver B's routine (set in the lowest location): propagates pending, as drivers must.
NTSTATUS CompleteB(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  auto* log = static_cast<WalkLog*>(Context);
  log->calls[log->n] = 'B';
  log->device[log->n] = DeviceObject;
  log->pending[log->n] = Irp->PendingReturned;
  log->n++;
  if (log->b_returns != STATUS_MORE_PROCESSING_REQUIRED && Irp->PendingReturned) {
    IoMarkIrpPending(Irp);
  }
  return log->b_returns;
}

// Driver A's routine (the IRP's owner): takes the IRP back.
NTSTATUS CompleteA(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  auto* log = static_cast<WalkLog*>(Context);
  log->calls[log->n] = 'A';
  log->device[log->n] = DeviceObject;
  log->pending[log->n] = Irp->PendingReturned;
  log->n++;
  return STATUS_MORE_PROCESSING_REQUIRED;
}

// A passes the IRP to B (B's device), B passes it to C, C marks it pending and completes it.
PIRP BuildTwoLevelIrp(WalkLog* log, PDEVICE_OBJECT device_b) {
  PIRP irp = IoAllocateIrp(2, FALSE);
  if (irp == nullptr) {
    return nullptr;
  }
  IoSetCompletionRoutine(irp, CompleteA, log, TRUE, TRUE, TRUE);  // in location 1
  IoSetNextIrpStackLocation(irp);                                 // B owns location 1
  IoGetCurrentIrpStackLocation(irp)->DeviceObject = device_b;
  IoSetCompletionRoutine(irp, CompleteB, log, TRUE, TRUE, TRUE);  // in location 0
  IoSetNextIrpStackLocation(irp);                                 // C owns location 0
  IoMarkIrpPending(irp);
  return irp;
}

TEST_F(Runtime, IrpCompletionWalksTwoLocationsAndPropagatesPending) {
  WalkLog log;
  auto* fake_device_b = reinterpret_cast<PDEVICE_OBJECT>(static_cast<ULONG_PTR>(0x1000));
  PIRP irp = BuildTwoLevelIrp(&log, fake_device_b);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(irp->CurrentLocation, 1);
  irp->IoStatus.Status = STATUS_SUCCESS;
  irp->IoStatus.Information = 42;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  ASSERT_EQ(log.n, 2);
  EXPECT_EQ(log.calls[0], 'B');
  EXPECT_EQ(log.device[0], fake_device_b);  // B's routine gets B's device
  EXPECT_TRUE(log.pending[0]);              // C marked it pending
  EXPECT_EQ(log.calls[1], 'A');
  EXPECT_EQ(log.device[1], nullptr);  // the top location: no device
  EXPECT_TRUE(log.pending[1]);        // propagated by B's IoMarkIrpPending
  EXPECT_EQ(irp->IoStatus.Information, 42u);
  IoFreeIrp(irp);
}

TEST_F(Runtime, MoreProcessingRequiredStopsTheWalkUntilTheIrpIsCompletedAgain) {
  WalkLog log;
  log.b_returns = STATUS_MORE_PROCESSING_REQUIRED;
  PIRP irp = BuildTwoLevelIrp(&log, nullptr);
  ASSERT_NE(irp, nullptr);
  irp->IoStatus.Status = STATUS_CONNECTION_RESET;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  ASSERT_EQ(log.n, 1);  // B took the IRP back; A's routine has not run
  EXPECT_EQ(log.calls[0], 'B');
  EXPECT_EQ(irp->CurrentLocation, 2);  // B's location is current again
  // B finishes its work and completes the IRP (the "forward and wait" pattern).
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  ASSERT_EQ(log.n, 2);
  EXPECT_EQ(log.calls[1], 'A');
  EXPECT_FALSE(log.pending[1]);  // B did not mark its location pending
  EXPECT_EQ(irp->IoStatus.Status, STATUS_CONNECTION_RESET);
  IoFreeIrp(irp);
}

TEST_F(Runtime, CompletionRoutineRunsOnlyForItsInvokeFlags) {
  WalkLog log;
  PIRP irp = IoAllocateIrp(1, FALSE);
  ASSERT_NE(irp, nullptr);
  IoSetCompletionRoutine(irp, CompleteA, &log, FALSE, TRUE, FALSE);  // on error only
  IoSetNextIrpStackLocation(irp);
  irp->IoStatus.Status = STATUS_SUCCESS;
  UmwskSetVerifierMode(UmwskVerifierReport);  // success reaches the top: a reported rule
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  EXPECT_EQ(log.n, 0);
  EXPECT_EQ(UmwskViolationCount("irp.completed_to_top_without_owner"), 1);
  // Reused properly, the error path runs it.
  IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
  IoSetCompletionRoutine(irp, CompleteA, &log, FALSE, TRUE, FALSE);
  IoSetNextIrpStackLocation(irp);
  irp->IoStatus.Status = STATUS_CONNECTION_REFUSED;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  EXPECT_EQ(log.n, 1);
  IoFreeIrp(irp);
}

// ---- cancellation -------------------------------------------------------------------------------

struct CancelState {
  int cancel_calls = 0;
  KIRQL irql_in_cancel = PASSIVE_LEVEL;
  BOOLEAN cancel_flag = FALSE;
  NTSTATUS completed_with = STATUS_PENDING;
  KEVENT done;
};

void CancelRoutine(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)DeviceObject;
  auto* st = static_cast<CancelState*>(Irp->Tail.Overlay.DriverContext[0]);
  st->cancel_calls++;
  st->irql_in_cancel = KeGetCurrentIrql();
  st->cancel_flag = Irp->Cancel;
  IoReleaseCancelSpinLock(Irp->CancelIrql);
  Irp->IoStatus.Status = STATUS_CANCELLED;
  Irp->IoStatus.Information = 0;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

NTSTATUS CancelCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  (void)DeviceObject;
  auto* st = static_cast<CancelState*>(Context);
  st->completed_with = Irp->IoStatus.Status;
  KeSetEvent(&st->done, IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

TEST_F(Runtime, IoCancelIrpCallsTheCancelRoutineWithTheCancelLockHeld) {
  CancelState st;
  KeInitializeEvent(&st.done, NotificationEvent, FALSE);
  PIRP irp = IoAllocateIrp(1, FALSE);
  ASSERT_NE(irp, nullptr);
  IoSetCompletionRoutine(irp, CancelCompletion, &st, TRUE, TRUE, TRUE);
  IoSetNextIrpStackLocation(irp);  // the "driver" queues it with a cancel routine
  irp->Tail.Overlay.DriverContext[0] = &st;
  IoMarkIrpPending(irp);
  IoSetCancelRoutine(irp, CancelRoutine);
  EXPECT_TRUE(IoCancelIrp(irp));
  EXPECT_EQ(st.cancel_calls, 1);
  EXPECT_EQ(st.irql_in_cancel, DISPATCH_LEVEL);
  EXPECT_TRUE(st.cancel_flag);
  EXPECT_EQ(st.completed_with, STATUS_CANCELLED);
  EXPECT_EQ(KeReadStateEvent(&st.done), 1);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  // Without a cancel routine: only the flag is set.
  IoReuseIrp(irp, STATUS_SUCCESS);
  EXPECT_FALSE(irp->Cancel);
  EXPECT_FALSE(IoCancelIrp(irp));
  EXPECT_TRUE(irp->Cancel);
  EXPECT_EQ(st.cancel_calls, 1);
  IoFreeIrp(irp);
}

// ---- events, waits, threads ---------------------------------------------------------------------

struct SetLater {
  PKEVENT event;
  LONGLONG delay_ms;
};

void SetLaterThread(PVOID Context) {
  auto* s = static_cast<SetLater*>(Context);
  LARGE_INTEGER t = Relative(s->delay_ms);
  KeDelayExecutionThread(KernelMode, FALSE, &t);
  KeSetEvent(s->event, IO_NO_INCREMENT, FALSE);
  PsTerminateSystemThread(STATUS_SUCCESS);
}

PVOID StartThread(PKSTART_ROUTINE routine, PVOID context) {
  HANDLE handle = nullptr;
  if (!NT_SUCCESS(PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr,
                                       routine, context))) {
    return nullptr;
  }
  PVOID thread = nullptr;
  const NTSTATUS st = ObReferenceObjectByHandle(handle, THREAD_ALL_ACCESS, *PsThreadType,
                                                KernelMode, &thread, nullptr);
  ZwClose(handle);
  return NT_SUCCESS(st) ? thread : nullptr;
}

void JoinThread(PVOID thread) {
  EXPECT_EQ(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  ObDereferenceObject(thread);
}

TEST_F(Runtime, EventWaitsTimeOutAndWakeWhenSet) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);

  LARGE_INTEGER t0;
  KeQuerySystemTime(&t0);
  LARGE_INTEGER rel = Relative(20);
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &rel), STATUS_TIMEOUT);
  LARGE_INTEGER t1;
  KeQuerySystemTime(&t1);
  EXPECT_GE(t1.QuadPart - t0.QuadPart, 19 * 10000);  // not before its time

  LARGE_INTEGER absolute;
  KeQuerySystemTime(&absolute);
  absolute.QuadPart += 20 * 10000;  // positive: an absolute system time
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &absolute), STATUS_TIMEOUT);
  LARGE_INTEGER t2;
  KeQuerySystemTime(&t2);
  EXPECT_GE(t2.QuadPart, absolute.QuadPart - 10000);

  SetLater s{&ev, 20};
  PVOID thread = StartThread(SetLaterThread, &s);
  ASSERT_NE(thread, nullptr);
  LARGE_INTEGER limit = Relative(10000);
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &limit), STATUS_SUCCESS);
  // A notification event stays signalled until reset.
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
  EXPECT_EQ(KeResetEvent(&ev), 1);
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
  JoinThread(thread);
}

struct SyncWaiter {
  PKEVENT event;
  std::atomic<int>* woken;
};

void SyncWaiterThread(PVOID Context) {
  auto* w = static_cast<SyncWaiter*>(Context);
  LARGE_INTEGER limit = Relative(10000);
  if (KeWaitForSingleObject(w->event, Executive, KernelMode, FALSE, &limit) == STATUS_SUCCESS) {
    w->woken->fetch_add(1);
  }
}

TEST_F(Runtime, SynchronizationEventWakesOneWaiterAndResets) {
  KEVENT ev;
  KeInitializeEvent(&ev, SynchronizationEvent, TRUE);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);

  std::atomic<int> woken{0};
  SyncWaiter w{&ev, &woken};
  PVOID threads[2] = {StartThread(SyncWaiterThread, &w), StartThread(SyncWaiterThread, &w)};
  ASSERT_NE(threads[0], nullptr);
  ASSERT_NE(threads[1], nullptr);
  LARGE_INTEGER settle = Relative(50);
  KeDelayExecutionThread(KernelMode, FALSE, &settle);  // both are waiting by now
  KeSetEvent(&ev, IO_NO_INCREMENT, FALSE);
  // Exactly one waiter consumes the signal: WaitAny on the two threads returns one of them.
  LARGE_INTEGER limit = Relative(10000);
  const NTSTATUS first =
      KeWaitForMultipleObjects(2, threads, WaitAny, Executive, KernelMode, FALSE, &limit, nullptr);
  EXPECT_TRUE(first == STATUS_WAIT_0 || first == STATUS_WAIT_1);
  KeDelayExecutionThread(KernelMode, FALSE, &settle);
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(KeReadStateEvent(&ev), 0);  // reset by the satisfied wait
  KeSetEvent(&ev, IO_NO_INCREMENT, FALSE);
  EXPECT_EQ(
      KeWaitForMultipleObjects(2, threads, WaitAll, Executive, KernelMode, FALSE, &limit, nullptr),
      STATUS_SUCCESS);
  EXPECT_EQ(woken.load(), 2);
  ObDereferenceObject(threads[0]);
  ObDereferenceObject(threads[1]);
}

void ReturnAfterDelay(PVOID Context) {
  auto* ms = static_cast<LONGLONG*>(Context);
  LARGE_INTEGER t = Relative(*ms);
  KeDelayExecutionThread(KernelMode, FALSE, &t);
}

TEST_F(Runtime, ThreadObjectIsSignalledWhenTheThreadEnds) {
  LONGLONG delay = 30;
  HANDLE handle = nullptr;
  CLIENT_ID id{};
  ASSERT_EQ(PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, nullptr, nullptr, &id,
                                 ReturnAfterDelay, &delay),
            STATUS_SUCCESS);
  EXPECT_NE(id.UniqueThread, PsGetCurrentThreadId());
  PVOID wrong = nullptr;
  EXPECT_EQ(ObReferenceObjectByHandle(handle, THREAD_ALL_ACCESS, *IoFileObjectType, KernelMode,
                                      &wrong, nullptr),
            STATUS_OBJECT_TYPE_MISMATCH);
  PVOID thread = nullptr;
  ASSERT_EQ(ObReferenceObjectByHandle(handle, THREAD_ALL_ACCESS, *PsThreadType, KernelMode, &thread,
                                      nullptr),
            STATUS_SUCCESS);
  EXPECT_EQ(ZwClose(handle), STATUS_SUCCESS);
  EXPECT_EQ(PsGetThreadId(static_cast<PETHREAD>(thread)), id.UniqueThread);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  EXPECT_EQ(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
  EXPECT_EQ(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
  ObDereferenceObject(thread);
}

// ---- spin locks and IRQL ------------------------------------------------------------------------

struct Shared {
  KSPIN_LOCK lock;
  volatile LONG64 value;
  int iterations;
  bool queued;
};

void Bump(PVOID Context) {
  auto* s = static_cast<Shared*>(Context);
  for (int i = 0; i < s->iterations; ++i) {
    if (s->queued) {
      KLOCK_QUEUE_HANDLE h;
      KeAcquireInStackQueuedSpinLock(&s->lock, &h);
      s->value = s->value + 1;
      KeReleaseInStackQueuedSpinLock(&h);
    } else {
      KIRQL old;
      KeAcquireSpinLock(&s->lock, &old);
      s->value = s->value + 1;
      KeReleaseSpinLock(&s->lock, old);
    }
  }
}

TEST_F(Runtime, SpinLocksRaiseToDispatchAndExclude) {
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  KIRQL old = HIGH_LEVEL;
  KeAcquireSpinLock(&lock, &old);
  EXPECT_EQ(old, PASSIVE_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  EXPECT_FALSE(KeTryToAcquireSpinLockAtDpcLevel(&lock) &&
               (KeReleaseSpinLockFromDpcLevel(&lock), true));
  KeReleaseSpinLock(&lock, old);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

  KLOCK_QUEUE_HANDLE h;
  KeAcquireInStackQueuedSpinLock(&lock, &h);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeReleaseInStackQueuedSpinLock(&h);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

  KIRQL before;
  KeRaiseIrql(APC_LEVEL, &before);
  EXPECT_EQ(before, PASSIVE_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
  const KIRQL at_apc = KeRaiseIrqlToDpcLevel();
  EXPECT_EQ(at_apc, APC_LEVEL);
  KeLowerIrql(at_apc);
  KeLowerIrql(before);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

  for (bool queued : {false, true}) {
    Shared s{};
    KeInitializeSpinLock(&s.lock);
    s.iterations = 20000;
    s.queued = queued;
    PVOID a = StartThread(Bump, &s);
    PVOID b = StartThread(Bump, &s);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    JoinThread(a);
    JoinThread(b);
    EXPECT_EQ(s.value, 2 * 20000);
  }
}

struct RwShared {
  EX_SPIN_LOCK lock;
  volatile LONG64 a;
  volatile LONG64 b;
  std::atomic<int> torn;
};

// Writers keep a == b; readers check it under the shared lock.
void RwWorker(PVOID Context) {
  auto* s = static_cast<RwShared*>(Context);
  for (int i = 0; i < 20000; ++i) {
    if (i % 4 == 0) {
      const KIRQL old = ExAcquireSpinLockExclusive(&s->lock);
      s->a = s->a + 1;
      s->b = s->b + 1;
      ExReleaseSpinLockExclusive(&s->lock, old);
    } else {
      const KIRQL old = ExAcquireSpinLockShared(&s->lock);
      if (s->a != s->b) {
        s->torn.fetch_add(1);
      }
      ExReleaseSpinLockShared(&s->lock, old);
    }
  }
}

TEST_F(Runtime, ReaderWriterSpinLocksExcludeWriters) {
  RwShared s{};
  const KIRQL old = ExAcquireSpinLockShared(&s.lock);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  EXPECT_TRUE(ExTryConvertSharedSpinLockExclusive(&s.lock));  // the only reader
  ExReleaseSpinLockExclusive(&s.lock, old);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  EXPECT_EQ(s.lock, 0);
  PVOID a = StartThread(RwWorker, &s);
  PVOID b = StartThread(RwWorker, &s);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  JoinThread(a);
  JoinThread(b);
  EXPECT_EQ(s.a, 2 * 5000);
  EXPECT_EQ(s.torn.load(), 0);
  EXPECT_EQ(s.lock, 0);
}

// ---- pool and lookaside lists -------------------------------------------------------------------

struct TagSeen {
  ULONG tag;
  ULONG_PTR allocations;
  ULONG_PTR bytes;
};

void RecordTag(ULONG TagValue, ULONG_PTR Allocations, ULONG_PTR Bytes, PVOID Context) {
  auto* seen = static_cast<TagSeen*>(Context);
  if (TagValue == seen->tag) {
    seen->allocations = Allocations;
    seen->bytes = Bytes;
  }
}

TEST_F(Runtime, PoolIsCountedByTagAndReturnsToZero) {
  PVOID a = ExAllocatePool2(POOL_FLAG_NON_PAGED, 100, kTag);
  PVOID b = ExAllocatePoolWithTag(NonPagedPoolNx, 28, kTag);
  PVOID c = ExAllocatePoolZero(PagedPool, 10, Tag('T', 's', 't', '2'));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  const auto* bytes = static_cast<const unsigned char*>(a);
  bool zero = true;
  for (int i = 0; i < 100; ++i) {
    zero = zero && bytes[i] == 0;
  }
  EXPECT_TRUE(zero);  // ExAllocatePool2 zeroes unless POOL_FLAG_UNINITIALIZED
  ULONG_PTR n = 0;
  ULONG_PTR size = 0;
  UmwskQueryPoolTag(kTag, &n, &size);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(size, 128u);
  TagSeen seen{kTag, 0, 0};
  UmwskForEachPoolTag(RecordTag, &seen);
  EXPECT_EQ(seen.allocations, 2u);
  EXPECT_EQ(seen.bytes, 128u);
  UMWSK_COUNTERS counters{};
  UmwskQueryCounters(&counters);
  EXPECT_EQ(counters.PoolAllocations, 3);
  EXPECT_EQ(counters.PoolBytes, 138);
  char text[5];
  UmwskFormatPoolTag(kTag, text);
  EXPECT_STREQ(text, "1tsT");  // memory order, as Windows tools print 'Tst1'
  ExFreePoolWithTag(a, kTag);
  ExFreePool(b);
  ExFreePoolWithTag(c, Tag('T', 's', 't', '2'));
  UmwskQueryPoolTag(kTag, &n, &size);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(size, 0u);
}

int g_custom_allocs = 0;
int g_custom_frees = 0;

PVOID CustomAllocate(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG TagValue,
                     PLOOKASIDE_LIST_EX Lookaside) {
  (void)Lookaside;
  g_custom_allocs++;
  return ExAllocatePoolWithTag(PoolType, NumberOfBytes, TagValue);
}

void CustomFree(PVOID Buffer, PLOOKASIDE_LIST_EX Lookaside) {
  (void)Lookaside;
  g_custom_frees++;
  ExFreePoolWithTag(Buffer, kTag);
}

TEST_F(Runtime, LookasideListsCacheBlocksUntilDeleted) {
  NPAGED_LOOKASIDE_LIST list;
  ExInitializeNPagedLookasideList(&list, nullptr, nullptr, 0, 64, kTag, 4);
  PVOID blocks[10];
  for (auto& b : blocks) {
    b = ExAllocateFromNPagedLookasideList(&list);
    ASSERT_NE(b, nullptr);
    memset(b, 0x5a, 64);
  }
  ULONG_PTR n = 0;
  UmwskQueryPoolTag(kTag, &n, nullptr);
  EXPECT_EQ(n, 10u);
  for (auto& b : blocks) {
    ExFreeToNPagedLookasideList(&list, b);
  }
  UmwskQueryPoolTag(kTag, &n, nullptr);
  EXPECT_EQ(n, 4u);  // the list's depth stays cached
  PVOID again = ExAllocateFromNPagedLookasideList(&list);
  UmwskQueryPoolTag(kTag, &n, nullptr);
  EXPECT_EQ(n, 4u);  // served from the cache
  ExFreeToNPagedLookasideList(&list, again);
  ExDeleteNPagedLookasideList(&list);
  UmwskQueryPoolTag(kTag, &n, nullptr);
  EXPECT_EQ(n, 0u);

  LOOKASIDE_LIST_EX ex;
  g_custom_allocs = g_custom_frees = 0;
  ASSERT_EQ(
      ExInitializeLookasideListEx(&ex, CustomAllocate, CustomFree, NonPagedPoolNx, 0, 32, kTag, 0),
      STATUS_SUCCESS);
  PVOID x = ExAllocateFromLookasideListEx(&ex);
  PVOID y = ExAllocateFromLookasideListEx(&ex);
  ExFreeToLookasideListEx(&ex, x);
  ExFreeToLookasideListEx(&ex, y);
  EXPECT_EQ(g_custom_allocs, 2);
  EXPECT_EQ(g_custom_frees, 0);
  ExDeleteLookasideListEx(&ex);
  EXPECT_EQ(g_custom_frees, 2);
}

// ---- work items and devices ---------------------------------------------------------------------

struct WorkState {
  KEVENT done;
  KIRQL irql = HIGH_LEVEL;
  PDEVICE_OBJECT device = nullptr;
  HANDLE thread_id = nullptr;
  PIO_WORKITEM item = nullptr;
};

void WorkRoutine(PDEVICE_OBJECT DeviceObject, PVOID Context) {
  auto* w = static_cast<WorkState*>(Context);
  w->irql = KeGetCurrentIrql();
  w->device = DeviceObject;
  w->thread_id = PsGetCurrentThreadId();
  IoFreeWorkItem(w->item);  // a work routine may free its own item
  KeSetEvent(&w->done, IO_NO_INCREMENT, FALSE);
}

TEST_F(Runtime, WorkItemsRunAtPassiveLevelOnAnotherThread) {
  PDRIVER_OBJECT driver = UmwskCreateDriverObject(L"\\Driver\\umwsk_runtime_test");
  ASSERT_NE(driver, nullptr);
  UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\UmwskRuntimeTest");
  UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\UmwskRuntimeTest");
  PDEVICE_OBJECT device = nullptr;
  ASSERT_EQ(IoCreateDevice(driver, 16, &name, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE,
                           &device),
            STATUS_SUCCESS);
  EXPECT_EQ(driver->DeviceObject, device);
  EXPECT_NE(device->DeviceExtension, nullptr);
  PDEVICE_OBJECT dup = nullptr;
  EXPECT_EQ(IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &dup),
            STATUS_OBJECT_NAME_COLLISION);
  ASSERT_EQ(IoCreateSymbolicLink(&link, &name), STATUS_SUCCESS);
  PDEVICE_OBJECT found = UmwskReferenceDeviceByName(L"\\??\\UmwskRuntimeTest");
  EXPECT_EQ(found, device);
  if (found != nullptr) {
    ObDereferenceObject(found);
  }

  WorkState w;
  KeInitializeEvent(&w.done, NotificationEvent, FALSE);
  w.item = IoAllocateWorkItem(device);
  ASSERT_NE(w.item, nullptr);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);  // queueing is allowed at DISPATCH_LEVEL
  IoQueueWorkItem(w.item, WorkRoutine, DelayedWorkQueue, &w);
  KeLowerIrql(old);
  LARGE_INTEGER limit = Relative(10000);
  ASSERT_EQ(KeWaitForSingleObject(&w.done, Executive, KernelMode, FALSE, &limit), STATUS_SUCCESS);
  EXPECT_EQ(w.irql, PASSIVE_LEVEL);
  EXPECT_EQ(w.device, device);
  EXPECT_NE(w.thread_id, PsGetCurrentThreadId());

  EXPECT_EQ(IoDeleteSymbolicLink(&link), STATUS_SUCCESS);
  EXPECT_EQ(IoDeleteSymbolicLink(&link), STATUS_OBJECT_NAME_NOT_FOUND);
  IoDeleteDevice(device);
  EXPECT_EQ(driver->DeviceObject, nullptr);
  UmwskFreeDriverObject(driver);
}

// ---- IRPs sent to a driver's device
// ---------------------------------------------------------------

constexpr ULONG kIoctlUpper =
    CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS);

// Completes the IRP from a work item (the pending path of UpperDispatch).
void UpperLater(PDEVICE_OBJECT DeviceObject, PVOID Context) {
  (void)DeviceObject;
  auto* irp = static_cast<PIRP>(Context);
  auto* item = static_cast<PIO_WORKITEM>(irp->Tail.Overlay.DriverContext[0]);
  IoFreeWorkItem(item);
  IoCompleteRequest(irp, IO_NO_INCREMENT);
}

// IRP_MJ_DEVICE_CONTROL of a test driver: upper-cases the input into the output (buffered),
// completing inline for one byte and from a work item (pending) otherwise.
NTSTATUS UpperDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
  if (sp->Parameters.DeviceIoControl.IoControlCode != kIoctlUpper) {
    Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  auto* buf = static_cast<char*>(Irp->AssociatedIrp.SystemBuffer);
  const ULONG n = sp->Parameters.DeviceIoControl.InputBufferLength;
  for (ULONG i = 0; i < n; ++i) {
    buf[i] = static_cast<char>(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 'a' + 'A' : buf[i]);
  }
  Irp->IoStatus.Status = STATUS_SUCCESS;
  Irp->IoStatus.Information = n;
  if (n == 1) {
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
  }
  PIO_WORKITEM item = IoAllocateWorkItem(DeviceObject);
  Irp->Tail.Overlay.DriverContext[0] = item;
  IoMarkIrpPending(Irp);
  IoQueueWorkItem(item, UpperLater, DelayedWorkQueue, Irp);
  return STATUS_PENDING;
}

TEST_F(Runtime, DeviceIoControlRequestsReachTheDriverAndComeBack) {
  PDRIVER_OBJECT driver = UmwskCreateDriverObject(L"\\Driver\\umwsk_ioctl_test");
  ASSERT_NE(driver, nullptr);
  driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = UpperDispatch;
  PDEVICE_OBJECT device = nullptr;
  ASSERT_EQ(IoCreateDevice(driver, 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &device),
            STATUS_SUCCESS);
  for (const char* text : {"x", "hello, world"}) {
    char out[32] = {};
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb{};
    const auto len = static_cast<ULONG>(strlen(text));
    PIRP irp = IoBuildDeviceIoControlRequest(kIoctlUpper, device, const_cast<char*>(text), len, out,
                                             sizeof out, FALSE, &ev, &iosb);
    ASSERT_NE(irp, nullptr);
    NTSTATUS st = IoCallDriver(device, irp);
    if (st == STATUS_PENDING) {
      LARGE_INTEGER limit = Relative(10000);
      ASSERT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &limit), STATUS_SUCCESS);
      st = iosb.Status;
    }
    EXPECT_EQ(st, STATUS_SUCCESS);
    EXPECT_EQ(iosb.Information, len);
    EXPECT_EQ(std::string(out), len == 1 ? std::string("X") : std::string("HELLO, WORLD"));
  }
  // What the driver does not handle goes to the default routine, which rejects it.
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb{};
  PIRP irp =
      IoBuildDeviceIoControlRequest(kIoctlUpper, device, nullptr, 0, nullptr, 0, TRUE, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(IoCallDriver(device, irp), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(iosb.Status, STATUS_INVALID_DEVICE_REQUEST);
  IoDeleteDevice(device);
  UmwskFreeDriverObject(driver);
}

// ---- MDLs ---------------------------------------------------------------------------------------

TEST_F(Runtime, MdlsDescribeBuffersAndAreCounted) {
  static char buffer[3 * PAGE_SIZE];
  char* va = buffer + 100;
  PMDL mdl = IoAllocateMdl(va, 2 * PAGE_SIZE, FALSE, FALSE, nullptr);
  ASSERT_NE(mdl, nullptr);
  EXPECT_EQ(MmGetMdlVirtualAddress(mdl), va);
  EXPECT_EQ(MmGetMdlByteCount(mdl), 2u * PAGE_SIZE);
  EXPECT_EQ(MmGetMdlByteOffset(mdl), BYTE_OFFSET(va));
  MmProbeAndLockPages(mdl, KernelMode, IoWriteAccess);
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), va);
  PMDL partial = IoAllocateMdl(va, PAGE_SIZE, FALSE, FALSE, nullptr);
  ASSERT_NE(partial, nullptr);
  IoBuildPartialMdl(mdl, partial, va + 10, 50);
  EXPECT_EQ(MmGetMdlByteCount(partial), 50u);
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(partial, NormalPagePriority), va + 10);
  IoFreeMdl(partial);
  MmUnlockPages(mdl);
  IoFreeMdl(mdl);
  UMWSK_COUNTERS c{};
  UmwskQueryCounters(&c);
  EXPECT_EQ(c.Mdls, 0);
}

// ---- formatting ---------------------------------------------------------------------------------

TEST_F(Runtime, StringPrintfFollowsWindowsConventions) {
  char out[128];
  UNICODE_STRING us = RTL_CONSTANT_STRING(L"wide");
  ANSI_STRING as = RTL_CONSTANT_STRING("ansi");
  const ULONG u32 = 4000000000u;
  const ULONG64 u64 = 0x123456789ull;
  ASSERT_EQ(RtlStringCbPrintfA(out, sizeof out, "%lu %wZ %Z %I64x %ws %Ix %d%%", u32, &us, &as, u64,
                               L"ws", static_cast<ULONG_PTR>(255), -3),
            STATUS_SUCCESS);
  EXPECT_STREQ(out, "4000000000 wide ansi 123456789 ws ff -3%");
  char small[6];
  EXPECT_EQ(RtlStringCbPrintfA(small, sizeof small, "%s", "truncated"), STATUS_BUFFER_OVERFLOW);
  EXPECT_STREQ(small, "trunc");
  EXPECT_EQ(RtlStringCbPrintfA(small, 0, "x"), STATUS_INVALID_PARAMETER);
  size_t len = 0;
  EXPECT_EQ(RtlStringCbLengthA("abc", 10, &len), STATUS_SUCCESS);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(RtlStringCbLengthA("abc", 3, &len), STATUS_INVALID_PARAMETER);
  UNICODE_STRING a;
  UNICODE_STRING b;
  RtlInitUnicodeString(&a, L"Device");
  RtlInitUnicodeString(&b, L"DEVICE");
  EXPECT_EQ(a.Length, 6 * sizeof(WCHAR));
  EXPECT_TRUE(RtlEqualUnicodeString(&a, &b, TRUE));
  EXPECT_FALSE(RtlEqualUnicodeString(&a, &b, FALSE));
  ANSI_STRING converted;
  ASSERT_EQ(RtlUnicodeStringToAnsiString(&converted, &a, TRUE), STATUS_SUCCESS);
  EXPECT_STREQ(converted.Buffer, "Device");
  RtlFreeAnsiString(&converted);
}

// ---- timers and DPCs
// ----------------------------------------------------------------------------------

struct DpcState {
  std::atomic<int> runs{0};
  KIRQL irql = PASSIVE_LEVEL;
  PVOID arg1 = nullptr;
  KEVENT ran;
};

void CountingDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2) {
  (void)Dpc;
  (void)SystemArgument2;
  auto* s = static_cast<DpcState*>(DeferredContext);
  s->irql = KeGetCurrentIrql();
  s->arg1 = SystemArgument1;
  s->runs.fetch_add(1);
  KeSetEvent(&s->ran, IO_NO_INCREMENT, FALSE);
}

TEST_F(Runtime, TimersSignalAndQueueTheirDpcAtDispatchLevel) {
  DpcState s;
  KeInitializeEvent(&s.ran, NotificationEvent, FALSE);
  KDPC dpc;
  KeInitializeDpc(&dpc, CountingDpc, &s);
  EXPECT_TRUE(KeInsertQueueDpc(&dpc, &s, nullptr));
  KeFlushQueuedDpcs();
  EXPECT_EQ(s.runs.load(), 1);
  EXPECT_EQ(s.irql, DISPATCH_LEVEL);
  EXPECT_EQ(s.arg1, &s);

  KTIMER timer;
  KeInitializeTimerEx(&timer, SynchronizationTimer);
  KeClearEvent(&s.ran);
  EXPECT_FALSE(KeSetTimer(&timer, Relative(20), &dpc));
  LARGE_INTEGER limit = Relative(10000);
  EXPECT_EQ(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, &limit), STATUS_SUCCESS);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  // A synchronization timer is reset by the wait it satisfies.
  EXPECT_EQ(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
  EXPECT_EQ(KeWaitForSingleObject(&s.ran, Executive, KernelMode, FALSE, &limit), STATUS_SUCCESS);
  EXPECT_EQ(s.runs.load(), 2);

  // A cancelled timer neither fires nor runs its DPC.
  KTIMER later;
  KeInitializeTimer(&later);
  KeSetTimer(&later, Relative(10000), &dpc);
  EXPECT_TRUE(KeCancelTimer(&later));
  EXPECT_FALSE(KeCancelTimer(&later));
  EXPECT_FALSE(KeReadStateTimer(&later));

  // A periodic timer fires until cancelled.
  KeInitializeTimer(&later);
  KeSetTimerEx(&later, Relative(5), 5, &dpc);
  for (int i = 0; i < 400 && s.runs.load() < 5; ++i) {
    LARGE_INTEGER t = Relative(5);
    KeDelayExecutionThread(KernelMode, FALSE, &t);
  }
  EXPECT_TRUE(KeCancelTimer(&later));
  KeFlushQueuedDpcs();
  EXPECT_GE(s.runs.load(), 5);
  EXPECT_TRUE(KeReadStateTimer(&later));  // a notification timer stays signalled
  EXPECT_FALSE(KeRemoveQueueDpc(&dpc));   // nothing queued any more
}

TEST_F(Runtime, DbgPrintAndWppWriteOnePrefixedLine) {
  if (getenv("UMWSK_DBGPRINT_LEVEL") != nullptr || getenv("UMWSK_WPP_LEVEL") != nullptr) {
    GTEST_SKIP()
        << "UMWSK_DBGPRINT_LEVEL/UMWSK_WPP_LEVEL set: the default filters are not in force";
  }
  ::testing::internal::CaptureStderr();
  DbgPrint("value %lu of %s\n", static_cast<ULONG>(7), "x");
  DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "ex %ld\n", static_cast<LONG>(-2));
  DbgPrintEx(DPFLTR_IHVDRIVER_ID, 31, "dropped: above the default level\n");
  UmwskTraceMessage(TRACE_LEVEL_ERROR, "TRACE_DRIVER", "/src/driver.c", 12, "DriverEntry",
                    "%!FUNC! failed %!STATUS! at %!FILE!:%!LINE! (%d)", STATUS_CONNECTION_RESET, 5);
  UmwskTraceMessage(TRACE_LEVEL_VERBOSE, "TRACE_DRIVER", "/src/driver.c", 13, "DriverEntry",
                    "dropped: verbose");
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out,
            "[kd] value 7 of x\n"
            "[kd] ex -2\n"
            "[wpp] TRACE_DRIVER driver.c:12 DriverEntry failed "
            "STATUS_CONNECTION_RESET(0xC000020D) at driver.c:12 (5)\n");
}

// ---- ip2string
// ----------------------------------------------------------------------------------------

std::string V6Text(const char* in) {
  IN6_ADDR a;
  PCSTR end = nullptr;
  if (RtlIpv6StringToAddressA(in, &end, &a) != STATUS_SUCCESS || *end != 0) {
    return "parse error";
  }
  char out[INET6_ADDRSTRLEN];
  RtlIpv6AddressToStringA(&a, out);
  return out;
}

TEST_F(Runtime, IpAddressesConvertToAndFromText) {
  IN_ADDR v4;
  PCSTR end = nullptr;
  ASSERT_EQ(RtlIpv4StringToAddressA("127.0.0.1", TRUE, &end, &v4), STATUS_SUCCESS);
  EXPECT_EQ(*end, 0);
  EXPECT_EQ(v4.S_un.S_un_b.s_b1, 127);
  EXPECT_EQ(v4.S_un.S_un_b.s_b4, 1);
  char text[INET6_ADDRSTRLEN];
  EXPECT_EQ(RtlIpv4AddressToStringA(&v4, text) - text, 9);
  EXPECT_STREQ(text, "127.0.0.1");
  ULONG len = sizeof text;
  ASSERT_EQ(RtlIpv4AddressToStringExA(&v4, RtlUshortByteSwap(8080), text, &len), STATUS_SUCCESS);
  EXPECT_STREQ(text, "127.0.0.1:8080");
  EXPECT_EQ(len, 15u);
  len = 4;
  EXPECT_EQ(RtlIpv4AddressToStringExA(&v4, 0, text, &len), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(len, 10u);  // the room it needs
  EXPECT_EQ(RtlIpv4StringToAddressA("1.2.3", TRUE, &end, &v4), STATUS_INVALID_PARAMETER);
  ASSERT_EQ(RtlIpv4StringToAddressA("0x7f.1", FALSE, &end, &v4), STATUS_SUCCESS);
  RtlIpv4AddressToStringA(&v4, text);
  EXPECT_STREQ(text, "127.0.0.1");
  USHORT port = 0;
  ASSERT_EQ(RtlIpv4StringToAddressExA("10.0.0.2:443", TRUE, &v4, &port), STATUS_SUCCESS);
  EXPECT_EQ(RtlUshortByteSwap(port), 443);
  EXPECT_EQ(RtlIpv4StringToAddressExA("10.0.0.2:70000", TRUE, &v4, &port),
            STATUS_INVALID_PARAMETER);

  EXPECT_EQ(V6Text("::1"), "::1");
  EXPECT_EQ(V6Text("::"), "::");
  EXPECT_EQ(V6Text("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  EXPECT_EQ(V6Text("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
  EXPECT_EQ(V6Text("1:0:2:0:3:0:4:0"), "1:0:2:0:3:0:4:0");
  EXPECT_EQ(V6Text("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
  EXPECT_EQ(V6Text("1:::2"), "parse error");
  EXPECT_EQ(V6Text("1:2:3:4:5:6:7:8:9"), "parse error");
  IN6_ADDR v6;
  ULONG scope = 0;
  ASSERT_EQ(RtlIpv6StringToAddressExA("[fe80::1%5]:443", &v6, &scope, &port), STATUS_SUCCESS);
  EXPECT_EQ(scope, 5u);
  EXPECT_EQ(RtlUshortByteSwap(port), 443);
  len = sizeof text;
  ASSERT_EQ(RtlIpv6AddressToStringExA(&v6, scope, port, text, &len), STATUS_SUCCESS);
  EXPECT_STREQ(text, "[fe80::1%5]:443");
  WCHAR wide[INET6_ADDRSTRLEN];
  RtlIpv6AddressToStringW(&v6, wide);
  EXPECT_EQ(std::wstring(wide), L"fe80::1");
}

// The A and W forms share one implementation each: both give the same answers, including the
// terminator on failure, the length probe of the Ex forms and the optional port and scope.
TEST_F(Runtime, IpAddressAAndWFormsAgree) {
  IN_ADDR a4;
  IN_ADDR w4;
  PCSTR end_a = nullptr;
  PCWSTR end_w = nullptr;
  ASSERT_EQ(RtlIpv4StringToAddressA("10.1.2.3:80", TRUE, &end_a, &a4), STATUS_SUCCESS);
  ASSERT_EQ(RtlIpv4StringToAddressW(L"10.1.2.3:80", TRUE, &end_w, &w4), STATUS_SUCCESS);
  EXPECT_EQ(memcmp(&a4, &w4, sizeof a4), 0);
  EXPECT_EQ(*end_a, ':');
  EXPECT_EQ(*end_w, L':');
  PCSTR bad_a = "x1.2.3.4";
  PCWSTR bad_w = L"x1.2.3.4";
  EXPECT_EQ(RtlIpv4StringToAddressA(bad_a, TRUE, &end_a, &a4), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlIpv4StringToAddressW(bad_w, TRUE, &end_w, &w4), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(end_a, bad_a);
  EXPECT_EQ(end_w, bad_w);
  EXPECT_EQ(RtlIpv4StringToAddressA(nullptr, TRUE, &end_a, &a4), STATUS_INVALID_PARAMETER);

  USHORT port_a = 1;
  USHORT port_w = 1;
  ASSERT_EQ(RtlIpv4StringToAddressExA("10.1.2.3:8080", TRUE, &a4, &port_a), STATUS_SUCCESS);
  ASSERT_EQ(RtlIpv4StringToAddressExW(L"10.1.2.3:8080", TRUE, &w4, &port_w), STATUS_SUCCESS);
  EXPECT_EQ(port_a, RtlUshortByteSwap(8080));
  EXPECT_EQ(port_w, port_a);
  ASSERT_EQ(RtlIpv4StringToAddressExA("10.1.2.3", TRUE, &a4, &port_a), STATUS_SUCCESS);
  EXPECT_EQ(port_a, 0);
  EXPECT_EQ(RtlIpv4StringToAddressExA("10.1.2.3:65536", TRUE, &a4, &port_a),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlIpv4StringToAddressExW(L"10.1.2.3:", TRUE, &w4, &port_w), STATUS_INVALID_PARAMETER);

  char text[64];
  WCHAR wide[64];
  ULONG len_a = 4;
  ULONG len_w = 4;
  EXPECT_EQ(RtlIpv4AddressToStringExA(&a4, RtlUshortByteSwap(80), text, &len_a),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlIpv4AddressToStringExW(&a4, RtlUshortByteSwap(80), wide, &len_w),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(len_a, sizeof "10.1.2.3:80");
  EXPECT_EQ(len_w, len_a);
  ASSERT_EQ(RtlIpv4AddressToStringExW(&a4, RtlUshortByteSwap(80), wide, &len_w), STATUS_SUCCESS);
  EXPECT_EQ(std::wstring(wide), L"10.1.2.3:80");
  EXPECT_EQ(RtlIpv4AddressToStringExW(nullptr, 0, wide, &len_w), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlIpv4AddressToStringW(&a4, wide), wide + 8);
  EXPECT_EQ(std::wstring(wide), L"10.1.2.3");

  IN6_ADDR a6;
  IN6_ADDR w6;
  ULONG scope_a = 0;
  ULONG scope_w = 0;
  ASSERT_EQ(RtlIpv6StringToAddressExA("[fe80::2%7]:443", &a6, &scope_a, &port_a), STATUS_SUCCESS);
  ASSERT_EQ(RtlIpv6StringToAddressExW(L"[fe80::2%7]:443", &w6, &scope_w, &port_w), STATUS_SUCCESS);
  EXPECT_EQ(memcmp(&a6, &w6, sizeof a6), 0);
  EXPECT_EQ(scope_a, 7u);
  EXPECT_EQ(scope_w, 7u);
  EXPECT_EQ(port_a, RtlUshortByteSwap(443));
  EXPECT_EQ(port_w, port_a);
  ASSERT_EQ(RtlIpv6StringToAddressExW(L"fe80::2%9", &w6, &scope_w, &port_w), STATUS_SUCCESS);
  EXPECT_EQ(scope_w, 9u);
  EXPECT_EQ(port_w, 0);
  for (PCWSTR bad : {L"fe80::2%", L"[fe80::2", L"[fe80::2]:", L"[::1]:65536", L"::1:443x"}) {
    EXPECT_EQ(RtlIpv6StringToAddressExW(bad, &w6, &scope_w, &port_w), STATUS_INVALID_PARAMETER)
        << std::wstring(bad).size();
  }
  PCWSTR bad6 = L"::g";
  ASSERT_EQ(RtlIpv6StringToAddressW(L"::1", &end_w, &w6), STATUS_SUCCESS);
  EXPECT_EQ(*end_w, 0);
  ASSERT_EQ(RtlIpv6StringToAddressW(bad6, &end_w, &w6), STATUS_SUCCESS);  // "::" then 'g'
  EXPECT_EQ(end_w, bad6 + 2);
  len_a = sizeof text;
  len_w = 64;
  ASSERT_EQ(RtlIpv6AddressToStringExA(&a6, 3, RtlUshortByteSwap(8), text, &len_a), STATUS_SUCCESS);
  ASSERT_EQ(RtlIpv6AddressToStringExW(&a6, 3, RtlUshortByteSwap(8), wide, &len_w), STATUS_SUCCESS);
  EXPECT_STREQ(text, "[fe80::2%3]:8");
  EXPECT_EQ(std::wstring(wide), L"[fe80::2%3]:8");
  EXPECT_EQ(len_a, sizeof "[fe80::2%3]:8");
  EXPECT_EQ(len_w, len_a);
  EXPECT_EQ(RtlIpv6AddressToStringA(&a6, text), text + 7);
}

TEST_F(Runtime, CountedStringsInitCopyAndFree) {
  UNICODE_STRING u;
  RtlInitUnicodeString(&u, L"abc");
  EXPECT_EQ(u.Length, 3 * sizeof(WCHAR));
  EXPECT_EQ(u.MaximumLength, 4 * sizeof(WCHAR));
  RtlInitUnicodeString(&u, nullptr);
  EXPECT_EQ(u.Length, 0);
  EXPECT_EQ(u.MaximumLength, 0);
  EXPECT_EQ(u.Buffer, nullptr);
  STRING a;
  RtlInitString(&a, "abcd");
  EXPECT_EQ(a.Length, 4);
  EXPECT_EQ(a.MaximumLength, 5);
  RtlInitAnsiString(&a, nullptr);
  EXPECT_EQ(a.Length, 0);
  EXPECT_EQ(a.Buffer, nullptr);

  // Copies: cut to the destination (whole WCHARs), NUL-terminated when there is room.
  UNICODE_STRING src;
  RtlInitUnicodeString(&src, L"hello");
  WCHAR wbuf[8];
  // 3 WCHARs and a byte: 3 WCHARs fit, no room for the NUL after them.
  UNICODE_STRING dst{0, 3 * sizeof(WCHAR) + 1, wbuf};
  wmemset(wbuf, L'#', 8);
  RtlCopyUnicodeString(&dst, &src);
  EXPECT_EQ(dst.Length, 3 * sizeof(WCHAR));
  EXPECT_EQ(wbuf[3], L'#');
  dst.MaximumLength = sizeof wbuf;
  RtlCopyUnicodeString(&dst, &src);
  EXPECT_EQ(dst.Length, 5 * sizeof(WCHAR));
  EXPECT_EQ(wbuf[5], 0);
  RtlCopyUnicodeString(&dst, nullptr);
  EXPECT_EQ(dst.Length, 0);
  STRING asrc;
  RtlInitString(&asrc, "hello");
  char abuf[8];
  STRING adst{0, 5, abuf};
  memset(abuf, '#', sizeof abuf);
  RtlCopyString(&adst, &asrc);
  EXPECT_EQ(adst.Length, 5);
  EXPECT_EQ(abuf[5], '#');
  adst.MaximumLength = 6;
  RtlCopyString(&adst, &asrc);
  EXPECT_EQ(abuf[5], 0);

  // Freed strings are emptied; a null buffer is left alone.
  ANSI_STRING conv{};
  ASSERT_EQ(RtlUnicodeStringToAnsiString(&conv, &src, TRUE), STATUS_SUCCESS);
  EXPECT_EQ(conv.Length, 5);
  RtlFreeAnsiString(&conv);
  EXPECT_EQ(conv.Buffer, nullptr);
  EXPECT_EQ(conv.MaximumLength, 0);
  RtlFreeAnsiString(&conv);
  UNICODE_STRING back{};
  RtlInitString(&asrc, "hi");
  ASSERT_EQ(RtlAnsiStringToUnicodeString(&back, &asrc, TRUE), STATUS_SUCCESS);
  EXPECT_EQ(back.Length, 2 * sizeof(WCHAR));
  RtlFreeUnicodeString(&back);
  EXPECT_EQ(back.Buffer, nullptr);
  EXPECT_EQ(back.Length, 0);
}

TEST_F(Runtime, SafeStringLengthAndCopyOfAAndW) {
  size_t n = 99;
  EXPECT_EQ(RtlStringCbLengthA("abc", 4, &n), STATUS_SUCCESS);
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(RtlStringCbLengthA("abc", 3, &n), STATUS_INVALID_PARAMETER);  // no NUL within 3
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(RtlStringCchLengthA(nullptr, 4, &n), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlStringCchLengthW(L"abc", 4, &n), STATUS_SUCCESS);
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(RtlStringCchLengthW(L"abc", 3, &n), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(RtlStringCchLengthW(L"abc", size_t{NTSTRSAFE_MAX_CCH} + 1, &n),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlStringCchLengthW(L"abc", 0, nullptr), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlStringCbLengthW(L"abc", 4 * sizeof(WCHAR), &n), STATUS_SUCCESS);
  EXPECT_EQ(n, 3 * sizeof(WCHAR));

  WCHAR w[4];
  EXPECT_EQ(RtlStringCchCopyW(w, 4, L"abc"), STATUS_SUCCESS);
  EXPECT_EQ(std::wstring(w), L"abc");
  EXPECT_EQ(RtlStringCchCopyW(w, 4, L"abcd"), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(std::wstring(w), L"abc");
  EXPECT_EQ(RtlStringCbCopyW(w, 2 * sizeof(WCHAR), L"xyz"), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(std::wstring(w), L"x");
  EXPECT_EQ(RtlStringCchCopyW(w, 0, L"a"), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlStringCchCopyW(w, 4, nullptr), STATUS_INVALID_PARAMETER);
  char c[4];
  EXPECT_EQ(RtlStringCbCopyNA(c, sizeof c, "abcdef", 2), STATUS_SUCCESS);
  EXPECT_STREQ(c, "ab");
  EXPECT_EQ(RtlStringCbCopyA(c, sizeof c, "abcd"), STATUS_BUFFER_OVERFLOW);
  EXPECT_STREQ(c, "abc");
}

TEST_F(Runtime, InterlockedListsAndSLists) {
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  LIST_ENTRY head;
  InitializeListHead(&head);
  LIST_ENTRY e[3];
  EXPECT_EQ(ExInterlockedInsertTailList(&head, &e[0], &lock), nullptr);
  EXPECT_EQ(ExInterlockedInsertTailList(&head, &e[1], &lock), &e[0]);  // the old tail
  EXPECT_EQ(ExInterlockedInsertHeadList(&head, &e[2], &lock), &e[0]);  // the old head
  EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &e[2]);
  EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &e[0]);
  EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &e[1]);
  EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), nullptr);
  EXPECT_EQ(lock, 0u);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

  SINGLE_LIST_ENTRY shead{};
  SINGLE_LIST_ENTRY s[2];
  EXPECT_EQ(ExInterlockedPushEntryList(&shead, &s[0], &lock), nullptr);
  EXPECT_EQ(ExInterlockedPushEntryList(&shead, &s[1], &lock), &s[0]);
  EXPECT_EQ(ExInterlockedPopEntryList(&shead, &lock), &s[1]);
  EXPECT_EQ(ExInterlockedPopEntryList(&shead, &lock), &s[0]);
  EXPECT_EQ(ExInterlockedPopEntryList(&shead, &lock), nullptr);

  alignas(16) SLIST_HEADER sl;
  InitializeSListHead(&sl);
  alignas(16) SLIST_ENTRY x[3];
  EXPECT_EQ(InterlockedPushEntrySList(&sl, &x[0]), nullptr);
  EXPECT_EQ(InterlockedPushEntrySList(&sl, &x[1]), &x[0]);
  EXPECT_EQ(InterlockedPushEntrySList(&sl, &x[2]), &x[1]);
  EXPECT_EQ(QueryDepthSList(&sl), 3);
  EXPECT_EQ(FirstEntrySList(&sl), &x[2]);
  EXPECT_EQ(InterlockedPopEntrySList(&sl), &x[2]);
  EXPECT_EQ(QueryDepthSList(&sl), 2);
  EXPECT_EQ(InterlockedFlushSList(&sl), &x[1]);
  EXPECT_EQ(QueryDepthSList(&sl), 0);
  EXPECT_EQ(InterlockedPopEntrySList(&sl), nullptr);
  EXPECT_EQ(QueryDepthSList(&sl), 0);
}

TEST_F(Runtime, RegionsAndForDpcLockFormsRestoreTheirState) {
  EXPECT_FALSE(KeAreApcsDisabled());
  KeEnterCriticalRegion();
  EXPECT_TRUE(KeAreApcsDisabled());
  EXPECT_FALSE(KeAreAllApcsDisabled());
  KeEnterGuardedRegion();
  EXPECT_TRUE(KeAreAllApcsDisabled());
  KeLeaveGuardedRegion();
  KeLeaveCriticalRegion();
  EXPECT_FALSE(KeAreApcsDisabled());

  EXPECT_EQ(KeRaiseIrqlToSynchLevel(), PASSIVE_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), SYNCH_LEVEL);
  KeLowerIrql(PASSIVE_LEVEL);

  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  const KIRQL old = KeAcquireSpinLockForDpc(&lock);
  EXPECT_EQ(old, PASSIVE_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeReleaseSpinLockForDpc(&lock, old);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  KLOCK_QUEUE_HANDLE h;
  KeAcquireInStackQueuedSpinLockForDpc(&lock, &h);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeReleaseInStackQueuedSpinLockForDpc(&h);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  EXPECT_EQ(lock, 0u);

  // Unbalanced leaves and a release to a higher IRQL are reported, and change nothing.
  UmwskSetVerifierMode(UmwskVerifierReport);
  KeLeaveCriticalRegion();
  KeLeaveGuardedRegion();
  EXPECT_FALSE(KeAreApcsDisabled());
  KeAcquireInStackQueuedSpinLock(&lock, &h);
  h.OldIrql = HIGH_LEVEL;
  KeReleaseInStackQueuedSpinLock(&h);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeLowerIrql(PASSIVE_LEVEL);
  KIRQL at_dpc = KeRaiseIrqlToDpcLevel();
  KeRaiseIrql(HIGH_LEVEL, &at_dpc);
  EXPECT_EQ(KeRaiseIrqlToDpcLevel(), HIGH_LEVEL);
  KeLowerIrql(PASSIVE_LEVEL);
  EXPECT_EQ(UmwskViolationCount("apc.leave_critical_region_unbalanced"), 1);
  EXPECT_EQ(UmwskViolationCount("apc.leave_guarded_region_unbalanced"), 1);
  EXPECT_EQ(UmwskViolationCount("irql.lower_to_higher"), 1);
  EXPECT_EQ(UmwskViolationCount("irql.raise_to_lower"), 1);
  EXPECT_EQ(UmwskViolationCount(nullptr), 4);
}

// ---- the verifier -------------------------------------------------------------------------------

TEST_F(Runtime, ViolationsAreCountedInReportMode) {
  UmwskSetVerifierMode(UmwskVerifierReport);
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  LARGE_INTEGER one_ms = Relative(1);
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &one_ms), STATUS_TIMEOUT);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  // A zero timeout is allowed at DISPATCH_LEVEL.
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
  KeLowerIrql(old);
  EXPECT_EQ(UmwskViolationCount("irql.wait_above_apc_level"), 1);
  EXPECT_STREQ(UmwskLastViolationRule(), "irql.wait_above_apc_level");

  PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 8, kTag);
  ASSERT_NE(p, nullptr);
  ExFreePoolWithTag(p, Tag('W', 'r', 'n', 'g'));  // reported, not freed
  EXPECT_EQ(UmwskViolationCount("pool.free_wrong_tag"), 1);
  ExFreePoolWithTag(p, kTag);

  PIRP irp = IoAllocateIrp(1, FALSE);
  ASSERT_NE(irp, nullptr);
  WalkLog log;
  IoSetCompletionRoutine(irp, CompleteA, &log, TRUE, TRUE, TRUE);
  IoSetNextIrpStackLocation(irp);
  irp->IoStatus.Status = STATUS_SUCCESS;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  IoCompleteRequest(irp, IO_NO_INCREMENT);  // twice
  EXPECT_EQ(log.n, 1);
  EXPECT_EQ(UmwskViolationCount("irp.complete_twice"), 1);
  IoFreeIrp(irp);
  EXPECT_EQ(UmwskViolationCount(nullptr), 3);
}

TEST_F(Runtime, AViolationStopsTheProcessByDefault) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        UmwskSetVerifierMode(UmwskVerifierStop);
        KEVENT ev;
        KeInitializeEvent(&ev, NotificationEvent, FALSE);
        KSPIN_LOCK lock;
        KeInitializeSpinLock(&lock);
        KIRQL old;
        KeAcquireSpinLock(&lock, &old);  // a wait while holding a spin lock
        KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, nullptr);
      },
      "rule irql.wait_above_apc_level");
}

}  // namespace
