// SPDX-License-Identifier: MIT
// raw_client.h: what the raw WSK clients of tests/umwsk (provider_smoke.cpp,
// provider_verifier.cpp) share: the check counters and one IRP used synchronously, every wait
// bounded (5 s). Include after <ntddk.h> and <wsk.h>.
#pragma once

#include <stdio.h>

inline int g_passed = 0;
inline int g_failed = 0;

inline void check(bool ok, const char* what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
  }
}

inline USHORT swap16(USHORT v) {
  return static_cast<USHORT>((v << 8) | (v >> 8));
}

inline NTSTATUS on_irp_done(PDEVICE_OBJECT device, PIRP irp, PVOID context) {
  (void)device;
  (void)irp;
  KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

/// One IRP used synchronously (5 s bound on every wait).
class Call {
 public:
  Call() : irp_(IoAllocateIrp(1, FALSE)) { KeInitializeEvent(&done_, NotificationEvent, FALSE); }
  ~Call() {
    if (irp_ != nullptr) IoFreeIrp(irp_);
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  /// The IRP, armed for one operation.
  PIRP irp() {
    KeClearEvent(&done_);
    IoReuseIrp(irp_, STATUS_UNSUCCESSFUL);
    IoSetCompletionRoutine(irp_, on_irp_done, &done_, TRUE, TRUE, TRUE);
    return irp_;
  }
  /// Waits (5 s at most) for the completion of the operation that returned @p returned.
  NTSTATUS wait(NTSTATUS returned) {
    LARGE_INTEGER timeout;
    timeout.QuadPart = -5LL * 10 * 1000 * 1000;
    if (KeWaitForSingleObject(&done_, Executive, KernelMode, FALSE, &timeout) == STATUS_TIMEOUT) {
      printf("FAIL an IRP did not complete within 5 s (returned 0x%08x)\n",
             static_cast<unsigned>(returned));
      ++g_failed;
      printf("%d passed, %d failed, 0 skipped\n", g_passed, g_failed);
      fflush(stdout);
      __builtin_trap();  // the IRP still belongs to the provider: nothing can be freed
    }
    if (returned != STATUS_PENDING && returned != irp_->IoStatus.Status) {
      printf("FAIL returned 0x%08x but completed with 0x%08x\n", static_cast<unsigned>(returned),
             static_cast<unsigned>(irp_->IoStatus.Status));
      ++g_failed;
    }
    return irp_->IoStatus.Status;
  }
  ULONG_PTR info() const { return irp_->IoStatus.Information; }
  bool done() {
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    return KeWaitForSingleObject(&done_, Executive, KernelMode, FALSE, &zero) == STATUS_SUCCESS;
  }

 private:
  PIRP irp_;
  KEVENT done_;
};
