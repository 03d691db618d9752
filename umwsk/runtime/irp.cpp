// SPDX-License-Identifier: MIT
// irp.cpp: IRPs: allocation, reuse, completion (the stack walk), cancellation, IoCallDriver and
// IoBuildDeviceIoControlRequest (threaded IRPs that the "I/O manager" finishes and frees).
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

namespace {

// Irp->UmwskRuntime[0]: how the IRP was made. [1]: non-zero once a completion has started (tells a
// second IoCompleteRequest apart from one on an IRP that was never passed to a driver). [2]: the
// provider operation that owns it (umwsk_irp_take), until its completion starts.
constexpr ULONG_PTR kIrpMagicMask = ~static_cast<ULONG_PTR>(0xff);
constexpr ULONG_PTR kIrpMagic = 0x5052494b5753ULL << 8;  // "UMWSKIRP"-ish
constexpr ULONG_PTR kIrpAllocated = 0x01;                // IoAllocateIrp
constexpr ULONG_PTR kIrpThreaded = 0x02;                 // IoBuildDeviceIoControlRequest
constexpr ULONG_PTR kIrpFreedMagic = 0x444552464b535755ULL;

KSPIN_LOCK g_cancel_lock = 0;

bool allocated_by_us(PIRP irp) {
  return (irp->UmwskRuntime[0] & kIrpMagicMask) == kIrpMagic &&
         (irp->UmwskRuntime[0] & kIrpAllocated) != 0;
}

void free_irp_memory(PIRP irp) {
  irp->UmwskRuntime[0] = kIrpFreedMagic;
  irp->Type = 0;
  free(irp);
  UmwskRtCount(UmwskRtIrps, -1);
}

// The I/O manager's part for a threaded IRP that reached the top of its stack.
void finish_threaded_irp(PIRP irp) {
  PIO_STACK_LOCATION top = reinterpret_cast<PIO_STACK_LOCATION>(irp + 1) + irp->StackCount - 1;
  if ((irp->Flags & IRP_BUFFERED_IO) && (irp->Flags & IRP_INPUT_OPERATION) &&
      !NT_ERROR(irp->IoStatus.Status) && irp->UserBuffer != nullptr &&
      irp->AssociatedIrp.SystemBuffer != nullptr) {
    ULONG_PTR n = irp->IoStatus.Information;
    if (n > top->Parameters.DeviceIoControl.OutputBufferLength) {
      n = top->Parameters.DeviceIoControl.OutputBufferLength;
    }
    memcpy(irp->UserBuffer, irp->AssociatedIrp.SystemBuffer, n);
  }
  if (irp->UserIosb != nullptr) {
    *irp->UserIosb = irp->IoStatus;
  }
  if (irp->Flags & IRP_DEALLOCATE_BUFFER) {
    free(irp->AssociatedIrp.SystemBuffer);
    irp->AssociatedIrp.SystemBuffer = nullptr;
  }
  PMDL mdl = irp->MdlAddress;
  while (mdl != nullptr) {
    PMDL next = mdl->Next;
    if (mdl->MdlFlags & MDL_PAGES_LOCKED) {
      MmUnlockPages(mdl);
    }
    IoFreeMdl(mdl);
    mdl = next;
  }
  irp->MdlAddress = nullptr;
  PKEVENT event = irp->UserEvent;
  free_irp_memory(irp);
  if (event != nullptr) {
    KeSetEvent(event, 0, FALSE);
  }
}

}  // namespace

bool umwsk_irp_take(PIRP irp, const char* who, const void* caller) {
  const auto owner = reinterpret_cast<const char*>(irp->UmwskRuntime[2]);
  if (owner != nullptr) {
    umwsk_rule_violation_at(caller, "irp.resubmitted_while_owned", irp,
                            "the IRP was passed to %s while %s still owns it (not completed yet)",
                            who, owner);
    return false;
  }
  irp->UmwskRuntime[1] = 0;
  irp->UmwskRuntime[2] = reinterpret_cast<ULONG_PTR>(who);
  return true;
}

const char* umwsk_irp_owner(PIRP irp) {
  return reinterpret_cast<const char*>(irp->UmwskRuntime[2]);
}

void IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize) {
  if (StackSize < 1 || PacketSize < IoSizeOfIrp(StackSize)) {
    umwsk_rule_violation("irp.initialize_too_small", Irp,
                         "IoInitializeIrp(PacketSize %u, StackSize %d): the packet must hold "
                         "IoSizeOfIrp(StackSize) = %u bytes",
                         PacketSize, static_cast<int>(StackSize),
                         static_cast<unsigned>(IoSizeOfIrp(StackSize < 1 ? 1 : StackSize)));
    return;
  }
  memset(Irp, 0, PacketSize);
  Irp->Type = IO_TYPE_IRP;
  Irp->Size = PacketSize;
  Irp->StackCount = StackSize;
  Irp->CurrentLocation = static_cast<CHAR>(StackSize + 1);
  Irp->ApcEnvironment = 0;
  InitializeListHead(&Irp->ThreadListEntry);
  Irp->Tail.Overlay.CurrentStackLocation =
      reinterpret_cast<PIO_STACK_LOCATION>(Irp + 1) + StackSize;
  Irp->UmwskRuntime[0] = kIrpMagic;
}

PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota) {
  (void)ChargeQuota;
  if (StackSize < 1) {
    return nullptr;
  }
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation("irql.irp_allocation", nullptr,
                         "IoAllocateIrp at IRQL %u (must be <= DISPATCH_LEVEL)",
                         static_cast<unsigned>(umwsk_irql()));
  }
  const USHORT size = IoSizeOfIrp(StackSize);
  void* mem = nullptr;
  if (posix_memalign(&mem, 16, size) != 0) {
    return nullptr;
  }
  auto* irp = static_cast<PIRP>(mem);
  IoInitializeIrp(irp, size, StackSize);
  irp->AllocationFlags = IRP_ALLOCATED_FIXED_SIZE;
  irp->UmwskRuntime[0] = kIrpMagic | kIrpAllocated;
  UmwskRtCount(UmwskRtIrps, 1);
  return irp;
}

PIRP IoAllocateIrpEx(PDEVICE_OBJECT DeviceObject, CCHAR StackSize, BOOLEAN ChargeQuota) {
  (void)DeviceObject;
  return IoAllocateIrp(StackSize, ChargeQuota);
}

void IoFreeIrp(PIRP Irp) {
  if (Irp == nullptr) {
    umwsk_rule_violation("irp.free_null", nullptr, "IoFreeIrp(NULL)");
    return;
  }
  if (Irp->UmwskRuntime[0] == kIrpFreedMagic) {
    umwsk_rule_violation("irp.free_twice", Irp, "IoFreeIrp on an IRP that was already freed");
    return;
  }
  if (Irp->Type != IO_TYPE_IRP || !allocated_by_us(Irp)) {
    umwsk_rule_violation("irp.free_not_allocated", Irp,
                         "IoFreeIrp on memory that IoAllocateIrp did not return");
    return;
  }
  if (Irp->UmwskRuntime[2] != 0) {
    umwsk_rule_violation("irp.free_while_owned", Irp,
                         "IoFreeIrp on an IRP that %s still owns (free it after its completion "
                         "routine ran)",
                         reinterpret_cast<const char*>(Irp->UmwskRuntime[2]));
    return;
  }
  if (Irp->CancelRoutine != nullptr) {
    umwsk_rule_violation("irp.free_with_cancel_routine", Irp,
                         "IoFreeIrp on an IRP whose cancel routine is still set (it is still "
                         "queued by a driver)");
  }
  free_irp_memory(Irp);
}

void IoReuseIrp(PIRP Irp, NTSTATUS Status) {
  if (Irp->Type != IO_TYPE_IRP) {
    umwsk_rule_violation("irp.reuse_not_irp", Irp, "IoReuseIrp on something that is not an IRP");
    return;
  }
  if (Irp->UmwskRuntime[2] != 0) {
    umwsk_rule_violation("irp.reuse_while_owned", Irp,
                         "IoReuseIrp on an IRP that %s still owns (reuse it after its completion "
                         "routine ran)",
                         reinterpret_cast<const char*>(Irp->UmwskRuntime[2]));
    return;
  }
  if (Irp->CancelRoutine != nullptr) {
    umwsk_rule_violation("irp.reuse_with_cancel_routine", Irp,
                         "IoReuseIrp on an IRP whose cancel routine is still set");
  }
  const UCHAR allocation_flags = Irp->AllocationFlags;
  const ULONG_PTR marks = Irp->UmwskRuntime[0];
  IoInitializeIrp(Irp, Irp->Size, Irp->StackCount);
  Irp->AllocationFlags = allocation_flags;
  Irp->UmwskRuntime[0] = marks;
  Irp->IoStatus.Status = Status;
}

void IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost) {
  (void)PriorityBoost;
  const void* caller = __builtin_return_address(0);
  if (Irp == nullptr || Irp->Type != IO_TYPE_IRP) {
    umwsk_rule_violation_at(caller, "irp.complete_not_irp", Irp,
                            "IoCompleteRequest on something that is not an IRP");
    return;
  }
  if (Irp->CurrentLocation > Irp->StackCount + 1) {
    umwsk_rule_violation_at(caller, "irp.complete_twice", Irp,
                            "IoCompleteRequest on an IRP that was already completed "
                            "(MULTIPLE_IRP_COMPLETE_REQUESTS)");
    return;
  }
  if (Irp->CurrentLocation == Irp->StackCount + 1 && Irp->UmwskRuntime[1] != 0) {
    umwsk_rule_violation_at(caller, "irp.complete_twice", Irp,
                            "IoCompleteRequest on an IRP whose completion already reached its "
                            "owner's completion routine (MULTIPLE_IRP_COMPLETE_REQUESTS)");
    return;
  }
  if (Irp->CurrentLocation == Irp->StackCount + 1) {
    umwsk_rule_violation_at(caller, "irp.complete_without_stack_location", Irp,
                            "IoCompleteRequest on an IRP that no driver owns (no current stack "
                            "location: IoCallDriver/IoSetNextIrpStackLocation was not called)");
    return;
  }
  if (Irp->IoStatus.Status == STATUS_PENDING) {
    umwsk_rule_violation_at(caller, "irp.complete_with_status_pending", Irp,
                            "IoCompleteRequest with IoStatus.Status == STATUS_PENDING");
  }
  if (Irp->CancelRoutine != nullptr) {
    umwsk_rule_violation_at(caller, "irp.complete_with_cancel_routine", Irp,
                            "IoCompleteRequest on an IRP whose cancel routine is still set "
                            "(clear it with IoSetCancelRoutine(Irp, NULL) first)");
  }
  const KIRQL irql = umwsk_irql();
  if (irql > DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.complete_above_dispatch_level", Irp,
                            "IoCompleteRequest at IRQL %u (must be <= DISPATCH_LEVEL)",
                            static_cast<unsigned>(irql));
  }

  Irp->UmwskRuntime[1] = 1;
  Irp->UmwskRuntime[2] = 0;  // the owner gives it back
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  IoSkipCurrentIrpStackLocation(Irp);
  for (;;) {
    Irp->PendingReturned = (stack->Control & SL_PENDING_RETURNED) ? TRUE : FALSE;
    const NTSTATUS status = Irp->IoStatus.Status;
    const UCHAR control = stack->Control;
    const bool invoke = (NT_SUCCESS(status) && (control & SL_INVOKE_ON_SUCCESS)) ||
                        (!NT_SUCCESS(status) && (control & SL_INVOKE_ON_ERROR)) ||
                        (Irp->Cancel && (control & SL_INVOKE_ON_CANCEL));
    PIO_COMPLETION_ROUTINE routine = stack->CompletionRoutine;
    PVOID context = stack->Context;
    // Clear the location as the I/O manager does (the routine and context were read above).
    stack->MinorFunction = 0;
    stack->Flags = 0;
    stack->Control = 0;
    stack->CompletionRoutine = nullptr;
    stack->Context = nullptr;
    if (invoke && routine != nullptr) {
      PDEVICE_OBJECT device = nullptr;
      if (Irp->CurrentLocation <= Irp->StackCount) {
        device = IoGetCurrentIrpStackLocation(Irp)->DeviceObject;
      }
      const NTSTATUS rs = routine(device, Irp, context);
      if (umwsk_irql() != irql) {
        umwsk_rule_violation_at(reinterpret_cast<const void*>(routine),
                                "irql.completion_routine_changed_irql", Irp,
                                "a completion routine returned at IRQL %u, entered at %u",
                                static_cast<unsigned>(umwsk_irql()), static_cast<unsigned>(irql));
        umwsk_set_irql(irql);
      }
      if (rs == STATUS_MORE_PROCESSING_REQUIRED) {
        return;  // the routine owns the IRP now
      }
    } else if (Irp->PendingReturned && Irp->CurrentLocation <= Irp->StackCount) {
      IoMarkIrpPending(Irp);
    }
    if (Irp->CurrentLocation > Irp->StackCount) {
      break;  // the location just processed was the top one
    }
    IoSkipCurrentIrpStackLocation(Irp);
    stack++;
  }
  // Past the top location: the I/O manager's final processing.
  IoSkipCurrentIrpStackLocation(Irp);  // CurrentLocation = StackCount + 2: marks "completed"
  if ((Irp->UmwskRuntime[0] & kIrpMagicMask) == kIrpMagic &&
      (Irp->UmwskRuntime[0] & kIrpThreaded) != 0) {
    finish_threaded_irp(Irp);
    return;
  }
  umwsk_rule_violation_at(caller, "irp.completed_to_top_without_owner", Irp,
                          "the IRP's completion reached the top of its stack, but it has no "
                          "thread to return to: a driver that allocates an IRP must set a "
                          "completion routine that returns STATUS_MORE_PROCESSING_REQUIRED");
}

BOOLEAN IoCancelIrp(PIRP Irp) {
  const void* caller = __builtin_return_address(0);
  if (Irp == nullptr || Irp->Type != IO_TYPE_IRP) {
    umwsk_rule_violation_at(caller, "irp.cancel_not_irp", Irp,
                            "IoCancelIrp on something that is not an IRP");
    return FALSE;
  }
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.cancel_above_dispatch_level", Irp,
                            "IoCancelIrp at IRQL %u (must be <= DISPATCH_LEVEL)",
                            static_cast<unsigned>(umwsk_irql()));
  }
  KIRQL irql;
  IoAcquireCancelSpinLock(&irql);
  Irp->Cancel = TRUE;
  PDRIVER_CANCEL routine = IoSetCancelRoutine(Irp, nullptr);
  if (routine == nullptr) {
    IoReleaseCancelSpinLock(irql);
    return FALSE;
  }
  Irp->CancelIrql = irql;
  PDEVICE_OBJECT device = nullptr;
  if (Irp->CurrentLocation <= Irp->StackCount) {
    device = IoGetCurrentIrpStackLocation(Irp)->DeviceObject;
  }
  routine(device, Irp);
  if (umwsk_spin_held_by_me(&g_cancel_lock)) {
    umwsk_rule_violation_at(reinterpret_cast<const void*>(routine),
                            "irp.cancel_routine_kept_cancel_lock", Irp,
                            "a cancel routine returned without IoReleaseCancelSpinLock");
    IoReleaseCancelSpinLock(irql);
  }
  return TRUE;
}

void IoAcquireCancelSpinLock(PKIRQL Irql) {
  const void* caller = __builtin_return_address(0);
  const KIRQL old = umwsk_irql();
  if (old > DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.spinlock_above_dispatch_level", &g_cancel_lock,
                            "IoAcquireCancelSpinLock at IRQL %u", static_cast<unsigned>(old));
  } else {
    umwsk_set_irql(DISPATCH_LEVEL);
  }
  umwsk_spin_acquire(&g_cancel_lock, caller);
  *Irql = old;
}

void IoReleaseCancelSpinLock(KIRQL Irql) {
  const void* caller = __builtin_return_address(0);
  umwsk_spin_release(&g_cancel_lock, caller);
  if (Irql > umwsk_irql()) {
    umwsk_rule_violation_at(caller, "irql.lower_to_higher", &g_cancel_lock,
                            "IoReleaseCancelSpinLock to IRQL %u from %u",
                            static_cast<unsigned>(Irql), static_cast<unsigned>(umwsk_irql()));
    return;
  }
  umwsk_set_irql(Irql);
}

NTSTATUS IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  const void* caller = __builtin_return_address(0);
  if (DeviceObject == nullptr || DeviceObject->DriverObject == nullptr) {
    umwsk_rule_violation_at(caller, "irp.call_driver_bad_device", DeviceObject,
                            "IoCallDriver with a device object that has no driver");
    return STATUS_INVALID_PARAMETER;
  }
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.call_driver_above_dispatch_level", Irp,
                            "IoCallDriver at IRQL %u", static_cast<unsigned>(umwsk_irql()));
  }
  IoSetNextIrpStackLocation(Irp);
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  stack->DeviceObject = DeviceObject;
  if (stack->MajorFunction > IRP_MJ_MAXIMUM_FUNCTION) {
    umwsk_rule_violation_at(caller, "irp.call_driver_bad_major", Irp,
                            "IoCallDriver with MajorFunction 0x%x", stack->MajorFunction);
    return STATUS_INVALID_PARAMETER;
  }
  PDRIVER_DISPATCH dispatch = DeviceObject->DriverObject->MajorFunction[stack->MajorFunction];
  if (dispatch == nullptr) {
    Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  return dispatch(DeviceObject, Irp);
}

PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                   PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                   ULONG OutputBufferLength, BOOLEAN InternalDeviceIoControl,
                                   PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock) {
  if (DeviceObject == nullptr) {
    return nullptr;
  }
  PIRP irp = IoAllocateIrp(DeviceObject->StackSize < 1 ? 1 : DeviceObject->StackSize, FALSE);
  if (irp == nullptr) {
    return nullptr;
  }
  irp->UmwskRuntime[0] |= kIrpThreaded;
  irp->Tail.Overlay.Thread = PsGetCurrentThread();
  irp->RequestorMode = KernelMode;
  irp->UserIosb = IoStatusBlock;
  irp->UserEvent = Event;
  PIO_STACK_LOCATION stack = IoGetNextIrpStackLocation(irp);
  stack->MajorFunction = static_cast<UCHAR>(InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL
                                                                    : IRP_MJ_DEVICE_CONTROL);
  stack->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
  stack->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
  stack->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
  switch (METHOD_FROM_CTL_CODE(IoControlCode)) {
    case METHOD_BUFFERED: {
      const ULONG len =
          InputBufferLength > OutputBufferLength ? InputBufferLength : OutputBufferLength;
      if (len != 0) {
        void* sys = malloc(len);
        if (sys == nullptr) {
          free_irp_memory(irp);
          return nullptr;
        }
        memset(sys, 0, len);
        if (InputBuffer != nullptr && InputBufferLength != 0) {
          memcpy(sys, InputBuffer, InputBufferLength);
        }
        irp->AssociatedIrp.SystemBuffer = sys;
        irp->Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
        if (OutputBuffer != nullptr && OutputBufferLength != 0) {
          irp->Flags |= IRP_INPUT_OPERATION;
        }
      }
      irp->UserBuffer = OutputBuffer;
      break;
    }
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT: {
      if (InputBuffer != nullptr && InputBufferLength != 0) {
        void* sys = malloc(InputBufferLength);
        if (sys == nullptr) {
          free_irp_memory(irp);
          return nullptr;
        }
        memcpy(sys, InputBuffer, InputBufferLength);
        irp->AssociatedIrp.SystemBuffer = sys;
        irp->Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
      }
      if (OutputBuffer != nullptr && OutputBufferLength != 0) {
        PMDL mdl = IoAllocateMdl(OutputBuffer, OutputBufferLength, FALSE, FALSE, irp);
        if (mdl == nullptr) {
          free(irp->AssociatedIrp.SystemBuffer);
          free_irp_memory(irp);
          return nullptr;
        }
        MmProbeAndLockPages(
            mdl, KernelMode,
            METHOD_FROM_CTL_CODE(IoControlCode) == METHOD_IN_DIRECT ? IoReadAccess : IoWriteAccess);
      }
      break;
    }
    default:  // METHOD_NEITHER
      stack->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
      irp->UserBuffer = OutputBuffer;
      break;
  }
  return irp;
}
