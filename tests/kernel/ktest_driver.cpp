// SPDX-License-Identifier: MIT
// xwsk_ktest.sys: the kernel test driver.
//
// Creates \Device\XwskTest (+ \DosDevices\XwskTest) and serves two IOCTLs
// (ktest_ioctl.h): COUNT returns the number of registered cases, RUN runs one
// case synchronously in the caller's thread at PASSIVE_LEVEL and returns its
// result, name and message. The loader (loader.cpp) drives it.
#include "ktest_ioctl.h"
#include "ktest_registry.h"
#include "wsk_ddk.h"

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

NTSTATUS run_case(ULONG index, XwskKtestRunOutput* out) {
  RtlZeroMemory(out, sizeof(*out));
  if (index >= g_ktest_case_count) {
    return STATUS_INVALID_PARAMETER;
  }
  const KtestCase& test = g_ktest_cases[index];
  copy_string(out->name, sizeof(out->name), test.name);
  KtestContext ctx{out->message, sizeof(out->message)};
  DbgPrint("xwsk_ktest: [ RUN ] %s\n", test.name);
  const KtestResult result = test.function(ctx);
  out->result = static_cast<unsigned int>(result);
  DbgPrint("xwsk_ktest: [ %s ] %s %s\n",
           result == KtestResult::kPassed    ? "PASSED"
           : result == KtestResult::kSkipped ? "SKIPPED"
                                             : "FAILED",
           test.name, out->message);
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
      static_cast<XwskKtestCount*>(buffer)->count = g_ktest_case_count;
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
  DbgPrint("xwsk_ktest: loaded, %lu case(s)\n", g_ktest_case_count);
  return STATUS_SUCCESS;
}
