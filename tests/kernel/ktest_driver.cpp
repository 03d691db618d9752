// SPDX-License-Identifier: MIT
// xwsk_ktest.sys: the kernel test driver.
//
// Creates \Device\XwskTest (+ \DosDevices\XwskTest) and serves three IOCTLs
// (ktest_ioctl.h): COUNT returns the number of cases, RUN runs one case
// synchronously in the caller's thread at PASSIVE_LEVEL and returns its result,
// name and message, SET_PROFILE tells the WSK backend which provider it runs
// on. The loader (loader.cpp) drives it.
//
// The cases: first the raw-WSK ones of this directory (g_ktest_cases), then
// every conformance case (xt::cases(), tests/conformance/cases.def), the same
// bodies the user-space backends run, here over xwsk's WSK backend.
//
// Stack: a case runs inside KeExpandKernelStackAndCallout with kCaseStack
// bytes, so the conformance bodies (xt::Context lives on the heap here, Env
// keeps its state on the heap) are not limited by the 12-24 KiB kernel stack of
// the IOCTL thread.
#include <new>

#include "ktest_ioctl.h"
#include "ktest_registry.h"
#include "pool_tags.h"
#include "wsk_ddk.h"
#include "xt.h"
#include "xwsk_wsk.h"

// Exported by ntoskrnl.exe (Windows and Wine). Declared here rather than via
// <stdio.h>: Wine's CRT header makes _vsnprintf an inline wrapper around the
// UCRT's __stdio_common_vsprintf, which a driver cannot import.
extern "C" int __cdecl _vsnprintf(char* buffer, size_t count, const char* format, va_list args);

namespace xwsk::ktest {

KtestResult ktest_report(KtestContext& ctx, KtestResult result, const char* format, ...) {
  if (ctx.message != nullptr && ctx.capacity > 0) {
    va_list args;
    va_start(args, format);
    // ntoskrnl's _vsnprintf does not terminate on truncation.
    _vsnprintf(ctx.message, ctx.capacity - 1, format, args);
    ctx.message[ctx.capacity - 1] = '\0';
    va_end(args);
  }
  return result;
}

namespace {

void copy_string(char* dst, SIZE_T capacity, const char* src) {
  SIZE_T i = 0;
  for (; i + 1 < capacity && src[i] != '\0'; ++i) {
    dst[i] = src[i];
  }
  dst[i] = '\0';
}

NTSTATUS complete(IRP* irp, NTSTATUS status, ULONG_PTR information) {
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = information;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return status;
}

// Bytes of stack a case gets (KeExpandKernelStackAndCallout; at most
// MAXIMUM_EXPANSION_SIZE, about 60 KiB on x64).
constexpr SIZE_T kCaseStack = 48 * 1024;

ULONG case_count() {
  return g_ktest_case_count + static_cast<ULONG>(xt::case_count());
}

struct CaseRun {
  ULONG index;
  XwskKtestRunOutput* out;
};

// Runs case `index` (PASSIVE_LEVEL, on the expanded stack).
void WINAPI run_case_callout(void* parameter) {
  auto* run = static_cast<CaseRun*>(parameter);
  XwskKtestRunOutput* out = run->out;
  if (run->index < g_ktest_case_count) {
    const KtestCase& test = g_ktest_cases[run->index];
    copy_string(out->name, sizeof(out->name), test.name);
    KtestContext ctx{out->message, sizeof(out->message)};
    out->result = static_cast<unsigned int>(test.function(ctx));
    return;
  }
  const xt::Case& c = xt::cases()[run->index - g_ktest_case_count];
  copy_string(out->name, sizeof(out->name), c.name);
  auto* t = new (std::nothrow) xt::Context();
  if (t == nullptr) {
    out->result = XWSK_KTEST_FAILED;
    copy_string(out->message, sizeof(out->message), "out of memory for xt::Context");
    return;
  }
  xt::run_case(c, *t);
  out->result = t->result() == xt::Result::Pass   ? XWSK_KTEST_PASSED
                : t->result() == xt::Result::Skip ? XWSK_KTEST_SKIPPED
                                                  : XWSK_KTEST_FAILED;
  // A pass has no message: it carries the completion trace instead (tests/umwsk/differential.py).
  copy_string(out->message, sizeof(out->message),
              t->result() == xt::Result::Pass ? t->trace_text() : t->message());
  delete t;
}

NTSTATUS run_case(ULONG index, XwskKtestRunOutput* out) {
  RtlZeroMemory(out, sizeof(*out));
  if (index >= case_count()) {
    return STATUS_INVALID_PARAMETER;
  }
  CaseRun run{index, out};
  const NTSTATUS st = KeExpandKernelStackAndCallout(run_case_callout, &run, kCaseStack);
  if (!NT_SUCCESS(st)) {
    DbgPrint("xwsk_ktest: KeExpandKernelStackAndCallout failed %#lx\n", st);
    return st;
  }
  DbgPrint("xwsk_ktest: [ %s ] %s %s\n",
           out->result == XWSK_KTEST_PASSED    ? "PASSED"
           : out->result == XWSK_KTEST_SKIPPED ? "SKIPPED"
                                               : "FAILED",
           out->name, out->message);
  return STATUS_SUCCESS;
}

NTSTATUS WINAPI dispatch_create_close(DEVICE_OBJECT*, IRP* irp) {
  return complete(irp, STATUS_SUCCESS, 0);
}

NTSTATUS WINAPI dispatch_device_control(DEVICE_OBJECT*, IRP* irp) {
  IO_STACK_LOCATION* stack = IoGetCurrentIrpStackLocation(irp);
  const ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
  const ULONG in_len = stack->Parameters.DeviceIoControl.InputBufferLength;
  const ULONG out_len = stack->Parameters.DeviceIoControl.OutputBufferLength;
  void* buffer = irp->AssociatedIrp.SystemBuffer;

  switch (code) {
    case IOCTL_XWSK_TEST_COUNT: {
      if (out_len < sizeof(XwskKtestCount) || buffer == nullptr) {
        return complete(irp, STATUS_BUFFER_TOO_SMALL, 0);
      }
      static_cast<XwskKtestCount*>(buffer)->count = case_count();
      return complete(irp, STATUS_SUCCESS, sizeof(XwskKtestCount));
    }
    case IOCTL_XWSK_TEST_RUN: {
      if (in_len < sizeof(XwskKtestRunInput) || out_len < sizeof(XwskKtestRunOutput) ||
          buffer == nullptr) {
        return complete(irp, STATUS_BUFFER_TOO_SMALL, 0);
      }
      // METHOD_BUFFERED: input and output share the system buffer.
      const ULONG index = static_cast<const XwskKtestRunInput*>(buffer)->index;
      const NTSTATUS status = run_case(index, static_cast<XwskKtestRunOutput*>(buffer));
      return complete(irp, status, NT_SUCCESS(status) ? sizeof(XwskKtestRunOutput) : 0);
    }
    case IOCTL_XWSK_TEST_SET_PROFILE: {
      if (in_len < sizeof(XwskKtestProfile) || buffer == nullptr) {
        return complete(irp, STATUS_BUFFER_TOO_SMALL, 0);
      }
      const unsigned int p = static_cast<const XwskKtestProfile*>(buffer)->profile;
      if (p != XWSK_KTEST_PROFILE_WINDOWS && p != XWSK_KTEST_PROFILE_WINE8) {
        return complete(irp, STATUS_INVALID_PARAMETER, 0);
      }
      const auto profile = static_cast<xwsk::wsk::ProviderProfile>(p);
      xwsk::wsk::set_provider_profile(profile);
      DbgPrint("xwsk_ktest: provider profile %s\n", xwsk::wsk::provider_profile_name(profile));
      return complete(irp, STATUS_SUCCESS, 0);
    }
    default:
      return complete(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
  }
}

void WINAPI driver_unload(DRIVER_OBJECT* driver) {
  UNICODE_STRING link;
  RtlInitUnicodeString(&link, XWSK_KTEST_SYMLINK_NAME);
  IoDeleteSymbolicLink(&link);
  if (driver->DeviceObject != nullptr) {
    IoDeleteDevice(driver->DeviceObject);
  }
  DbgPrint("xwsk_ktest: unloaded\n");
}

}  // namespace
}  // namespace xwsk::ktest

extern "C" NTSTATUS WINAPI DriverEntry(DRIVER_OBJECT* driver, UNICODE_STRING*) {
  using namespace xwsk::ktest;
  UNICODE_STRING device_name;
  UNICODE_STRING link_name;
  RtlInitUnicodeString(&device_name, XWSK_KTEST_DEVICE_NAME);
  RtlInitUnicodeString(&link_name, XWSK_KTEST_SYMLINK_NAME);

  DEVICE_OBJECT* device = nullptr;
  NTSTATUS status = IoCreateDevice(driver, 0, &device_name, FILE_DEVICE_UNKNOWN,
                                   FILE_DEVICE_SECURE_OPEN, FALSE, &device);
  if (!NT_SUCCESS(status)) {
    DbgPrint("xwsk_ktest: IoCreateDevice failed %#lx\n", status);
    return status;
  }
  status = IoCreateSymbolicLink(&link_name, &device_name);
  if (!NT_SUCCESS(status)) {
    DbgPrint("xwsk_ktest: IoCreateSymbolicLink failed %#lx\n", status);
    IoDeleteDevice(device);
    return status;
  }
  driver->MajorFunction[IRP_MJ_CREATE] = dispatch_create_close;
  driver->MajorFunction[IRP_MJ_CLOSE] = dispatch_create_close;
  driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = dispatch_device_control;
  driver->DriverUnload = driver_unload;
  device->Flags &= ~DO_DEVICE_INITIALIZING;
  DbgPrint("xwsk_ktest: loaded, %lu case(s)\n", case_count());
  return STATUS_SUCCESS;
}
