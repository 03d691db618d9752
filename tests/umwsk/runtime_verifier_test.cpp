// SPDX-License-Identifier: MIT
// runtime_verifier_test.cpp: each verifier rule of the umwsk kernel runtime, broken on purpose.
// In report mode (UmwskSetVerifierMode(UmwskVerifierReport)) a violation is printed and counted
// and the routine leaves the bad request alone; each case checks that exactly its rule was
// counted. The last cases check that the default mode, and bug checks in every mode, stop the
// process. Every case leaves the runtime's counters at zero.
#define NOMINMAX 1
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "ntddk.h"
#include "umwsk.h"

namespace {

constexpr ULONG kTag = (static_cast<ULONG>('V') << 24) | (static_cast<ULONG>('r') << 16) |
                       (static_cast<ULONG>('f') << 8) | static_cast<ULONG>('y');

class RuntimeVerifier : public ::testing::Test {
 protected:
  void SetUp() override {
    UmwskResetViolations();
    old_mode_ = UmwskSetVerifierMode(UmwskVerifierReport);
  }
  void TearDown() override {
    UmwskSetVerifierMode(old_mode_);
    EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    UMWSK_COUNTERS c{};
    UmwskQueryCounters(&c);
    EXPECT_TRUE(UmwskCountersAreZero(&c))
        << "irps " << c.Irps << " mdls " << c.Mdls << " pool " << c.PoolAllocations;
  }
  // Exactly one violation, of `rule`.
  static void ExpectOnly(const char* rule) {
    EXPECT_EQ(UmwskViolationCount(rule), 1) << rule;
    EXPECT_EQ(UmwskViolationCount(nullptr), 1) << "last: " << UmwskLastViolationRule();
  }
  UMWSK_VERIFIER_MODE old_mode_ = UmwskVerifierStop;
};

// ---- IRQL ---------------------------------------------------------------------------------------

TEST_F(RuntimeVerifier, WaitWithTimeoutWhileHoldingASpinLock) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  KIRQL old;
  KeAcquireSpinLock(&lock, &old);
  LARGE_INTEGER t;
  t.QuadPart = -10000;  // 1 ms
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &t), STATUS_TIMEOUT);
  KeReleaseSpinLock(&lock, old);
  ExpectOnly("irql.wait_above_apc_level");
}

TEST_F(RuntimeVerifier, DelayAtDispatchLevel) {
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  LARGE_INTEGER t;
  t.QuadPart = -10000;
  KeDelayExecutionThread(KernelMode, FALSE, &t);
  KeLowerIrql(old);
  ExpectOnly("irql.wait_above_apc_level");
}

TEST_F(RuntimeVerifier, PagedCodeAtDispatchLevel) {
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  PAGED_CODE();
  KeLowerIrql(old);
  ExpectOnly("irql.paged_code_above_apc_level");
}

TEST_F(RuntimeVerifier, PagedPoolAtDispatchLevel) {
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  PVOID p = ExAllocatePoolWithTag(PagedPool, 16, kTag);
  KeLowerIrql(old);
  ASSERT_NE(p, nullptr);  // reported, then served
  ExFreePoolWithTag(p, kTag);
  ExpectOnly("irql.pool_allocation");
}

TEST_F(RuntimeVerifier, RaiseToALowerIrql) {
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KIRQL ignored;
  KeRaiseIrql(PASSIVE_LEVEL, &ignored);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeLowerIrql(old);
  ExpectOnly("irql.raise_to_lower");
}

TEST_F(RuntimeVerifier, PassiveLevelRoutineAtApcLevel) {
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  PVOID thread = nullptr;
  EXPECT_EQ(ObReferenceObjectByHandle(NtCurrentThread(), THREAD_ALL_ACCESS, *PsThreadType,
                                      KernelMode, &thread, nullptr),
            STATUS_SUCCESS);  // reported, then served
  KeLowerIrql(old);
  ASSERT_NE(thread, nullptr);
  ObDereferenceObject(thread);
  ExpectOnly("irql.passive_routine_above_passive");
}

NTSTATUS RaisingCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  (void)DeviceObject;
  (void)Irp;
  (void)Context;
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);  // and never lowered
  return STATUS_MORE_PROCESSING_REQUIRED;
}

TEST_F(RuntimeVerifier, CompletionRoutineReturnsAtAnotherIrql) {
  PIRP irp = IoAllocateIrp(1, FALSE);
  ASSERT_NE(irp, nullptr);
  IoSetCompletionRoutine(irp, RaisingCompletion, nullptr, TRUE, TRUE, TRUE);
  IoSetNextIrpStackLocation(irp);
  irp->IoStatus.Status = STATUS_SUCCESS;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);  // restored by the runtime
  IoFreeIrp(irp);
  ExpectOnly("irql.completion_routine_changed_irql");
}

// ---- IRPs
// -----------------------------------------------------------------------------------------

NTSTATUS TakeBack(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  (void)DeviceObject;
  (void)Irp;
  ++*static_cast<int*>(Context);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

TEST_F(RuntimeVerifier, IrpCompletedTwice) {
  int calls = 0;
  PIRP irp = IoAllocateIrp(1, FALSE);
  ASSERT_NE(irp, nullptr);
  IoSetCompletionRoutine(irp, TakeBack, &calls, TRUE, TRUE, TRUE);
  IoSetNextIrpStackLocation(irp);
  irp->IoStatus.Status = STATUS_SUCCESS;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  EXPECT_EQ(calls, 1);
  IoFreeIrp(irp);
  ExpectOnly("irp.complete_twice");
}

TEST_F(RuntimeVerifier, IrpCompletedThatNoDriverOwns) {
  int calls = 0;
  PIRP irp = IoAllocateIrp(1, FALSE);
  ASSERT_NE(irp, nullptr);
  IoSetCompletionRoutine(irp, TakeBack, &calls, TRUE, TRUE, TRUE);
  irp->IoStatus.Status = STATUS_SUCCESS;
  IoCompleteRequest(irp, IO_NO_INCREMENT);  // never passed down
  EXPECT_EQ(calls, 0);
  IoFreeIrp(irp);
  ExpectOnly("irp.complete_without_stack_location");
}

void NeverCalled(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)DeviceObject;
  (void)Irp;
}

TEST_F(RuntimeVerifier, IrpCompletedWithItsCancelRoutineSet) {
  int calls = 0;
  PIRP irp = IoAllocateIrp(1, FALSE);
  ASSERT_NE(irp, nullptr);
  IoSetCompletionRoutine(irp, TakeBack, &calls, TRUE, TRUE, TRUE);
  IoSetNextIrpStackLocation(irp);
  IoSetCancelRoutine(irp, NeverCalled);
  irp->IoStatus.Status = STATUS_SUCCESS;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  EXPECT_EQ(calls, 1);
  IoSetCancelRoutine(irp, nullptr);
  IoFreeIrp(irp);
  ExpectOnly("irp.complete_with_cancel_routine");
}

TEST_F(RuntimeVerifier, IrpFreedThatIoAllocateIrpDidNotReturn) {
  alignas(16) static unsigned char storage[IoSizeOfIrp(1)];
  auto* irp = reinterpret_cast<PIRP>(storage);
  IoInitializeIrp(irp, IoSizeOfIrp(1), 1);
  IoFreeIrp(irp);
  ExpectOnly("irp.free_not_allocated");
}

// ---- MDLs
// -----------------------------------------------------------------------------------------

TEST_F(RuntimeVerifier, MdlMappedWithoutLockingItsPages) {
  static char buffer[256];
  PMDL mdl = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
  ASSERT_NE(mdl, nullptr);
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), buffer);
  IoFreeMdl(mdl);
  ExpectOnly("mdl.map_not_locked");
}

TEST_F(RuntimeVerifier, MdlUnlockedThatWasNotLocked) {
  static char buffer[64];
  PMDL mdl = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
  ASSERT_NE(mdl, nullptr);
  MmUnlockPages(mdl);
  IoFreeMdl(mdl);
  ExpectOnly("mdl.unlock_not_locked");
}

TEST_F(RuntimeVerifier, MdlFreedWhileLocked) {
  static char buffer[64];
  PMDL mdl = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
  ASSERT_NE(mdl, nullptr);
  MmProbeAndLockPages(mdl, KernelMode, IoReadAccess);
  IoFreeMdl(mdl);
  ExpectOnly("mdl.free_locked");
}

TEST_F(RuntimeVerifier, PartialMdlPastItsSource) {
  static char buffer[64];
  PMDL source = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
  PMDL target = IoAllocateMdl(buffer, sizeof buffer, FALSE, FALSE, nullptr);
  ASSERT_NE(source, nullptr);
  ASSERT_NE(target, nullptr);
  MmBuildMdlForNonPagedPool(source);
  IoBuildPartialMdl(source, target, buffer + 32, 64);
  IoFreeMdl(target);
  IoFreeMdl(source);
  ExpectOnly("mdl.partial_out_of_range");
}

// ---- pool
// -----------------------------------------------------------------------------------------

TEST_F(RuntimeVerifier, PoolFreedWithTheWrongTag) {
  PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 8, kTag);
  ASSERT_NE(p, nullptr);
  ExFreePoolWithTag(p, kTag + 1);  // reported, not freed
  ExFreePoolWithTag(p, kTag);
  ExpectOnly("pool.free_wrong_tag");
}

TEST_F(RuntimeVerifier, PoolFreeOfAPointerThatIsNotPool) {
  auto* raw = static_cast<unsigned char*>(malloc(128));
  ASSERT_NE(raw, nullptr);
  memset(raw, 0, 128);
  ExFreePool(raw + 64);  // the 32 bytes before it are readable, but not a pool header
  free(raw);
  ExpectOnly("pool.free_bad_pointer");
}

TEST_F(RuntimeVerifier, PoolTagZero) {
  EXPECT_EQ(ExAllocatePoolWithTag(NonPagedPoolNx, 8, 0), nullptr);
  ExpectOnly("pool.zero_tag");
}

TEST_F(RuntimeVerifier, LookasideListUsedBeforeInitialization) {
  NPAGED_LOOKASIDE_LIST list;
  memset(&list, 0, sizeof list);
  EXPECT_EQ(ExAllocateFromNPagedLookasideList(&list), nullptr);
  ExpectOnly("lookaside.not_initialized");
}

// ---- locks and dispatcher objects -------------------------------------------------------------

TEST_F(RuntimeVerifier, SpinLockAcquiredTwiceByOneThread) {
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  KIRQL old;
  KeAcquireSpinLock(&lock, &old);
  KeAcquireSpinLockAtDpcLevel(&lock);  // a deadlock on Windows
  KeReleaseSpinLock(&lock, old);
  ExpectOnly("spinlock.recursive_acquire");
}

TEST_F(RuntimeVerifier, SpinLockReleasedThatIsNotHeld) {
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KeReleaseSpinLock(&lock, old);
  ExpectOnly("spinlock.release_not_owner");
}

TEST_F(RuntimeVerifier, UninitializedEvent) {
  KEVENT ev;
  memset(&ev, 0xab, sizeof ev);
  EXPECT_EQ(KeSetEvent(&ev, IO_NO_INCREMENT, FALSE), 0);
  ExpectOnly("event.not_initialized");
}

TEST_F(RuntimeVerifier, WaitOnSomethingThatIsNotADispatcherObject) {
  unsigned char junk[64];
  memset(junk, 0xab, sizeof junk);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  EXPECT_EQ(KeWaitForSingleObject(junk, Executive, KernelMode, FALSE, &zero),
            STATUS_INVALID_PARAMETER);
  ExpectOnly("wait.bad_object");
}

TEST_F(RuntimeVerifier, SemaphoreReleasedPastItsLimit) {
  KSEMAPHORE sem;
  KeInitializeSemaphore(&sem, 1, 1);
  EXPECT_EQ(KeReleaseSemaphore(&sem, 0, 1, FALSE), 1);
  EXPECT_EQ(KeReadStateSemaphore(&sem), 1);
  ExpectOnly("semaphore.limit_exceeded");
}

TEST_F(RuntimeVerifier, MutexReleasedByAThreadThatDoesNotOwnIt) {
  KMUTEX mutex;
  KeInitializeMutex(&mutex, 0);
  KeReleaseMutex(&mutex, FALSE);
  ExpectOnly("mutex.release_not_owner");
}

TEST_F(RuntimeVerifier, FastMutexReleasedWithoutBeingAcquired) {
  FAST_MUTEX m;
  ExInitializeFastMutex(&m);
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  ExReleaseFastMutex(&m);
  KeLowerIrql(old);
  ExpectOnly("fast_mutex.release_not_owner");
}

TEST_F(RuntimeVerifier, TimerAndDpcUsedBeforeInitialization) {
  KTIMER timer;
  memset(&timer, 0xab, sizeof timer);
  LARGE_INTEGER due;
  due.QuadPart = -10000;
  EXPECT_FALSE(KeSetTimer(&timer, due, nullptr));
  EXPECT_EQ(UmwskViolationCount("timer.not_initialized"), 1);
  KDPC dpc;
  memset(&dpc, 0, sizeof dpc);
  EXPECT_FALSE(KeInsertQueueDpc(&dpc, nullptr, nullptr));
  EXPECT_EQ(UmwskViolationCount("dpc.not_initialized"), 1);
  EXPECT_EQ(UmwskViolationCount(nullptr), 2);
}

// ---- objects and handles
// --------------------------------------------------------------------------

TEST_F(RuntimeVerifier, ReferenceOfSomethingThatIsNotAnObject) {
  auto* raw = static_cast<unsigned char*>(malloc(128));
  ASSERT_NE(raw, nullptr);
  memset(raw, 0, 128);
  ObReferenceObject(raw + 64);
  free(raw);
  ExpectOnly("object.reference_not_object");
}

TEST_F(RuntimeVerifier, CloseOfAHandleThatIsNotOpen) {
  EXPECT_EQ(ZwClose(reinterpret_cast<HANDLE>(static_cast<ULONG_PTR>(0x7ff0))),
            STATUS_INVALID_HANDLE);
  ExpectOnly("handle.close_invalid");
}

// ---- stop mode
// ------------------------------------------------------------------------------------

TEST_F(RuntimeVerifier, DefaultModeStopsAtTheFirstViolation) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        UmwskSetVerifierMode(UmwskVerifierStop);
        PVOID p = ExAllocatePoolWithTag(NonPagedPoolNx, 8, kTag);
        ExFreePoolWithTag(p, kTag + 1);
      },
      "umwsk verifier: rule pool.free_wrong_tag");
}

// The mode starts from UMWSK_VERIFIER (report, or stop by default). Each fixture case restores the
// mode it found, so this holds whatever ran before; ctest runs it with and without the variable.
TEST(RuntimeVerifierMode, FollowsTheEnvironment) {
  const char* env = getenv("UMWSK_VERIFIER");
  const bool report = env != nullptr && strcmp(env, "report") == 0;
  EXPECT_EQ(UmwskGetVerifierMode(), report ? UmwskVerifierReport : UmwskVerifierStop);
}

TEST_F(RuntimeVerifier, BugChecksAndCorruptListsStopInEveryMode) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 2, 3, 4), "KeBugCheckEx\\(0x000000E2");
  EXPECT_DEATH(
      {
        LIST_ENTRY head;
        LIST_ENTRY entry;
        InitializeListHead(&head);
        InsertTailList(&head, &entry);
        entry.Blink = &entry;  // corrupt
        RemoveEntryList(&entry);
      },
      "list.corrupt_entry");
  EXPECT_DEATH(ASSERT(1 + 1 == 3), "Assertion failed: 1 \\+ 1 == 3");
}

}  // namespace
