// SPDX-License-Identifier: MIT
// xwsk-fuzz-wsk-echo's driver side: loads samples/wsk-echo (compiled into the fuzzer) the way
// xwsk-driver-host does, with the WDK headers kept out of the harness's POSIX socket code.
#include <stdio.h>
#include <stdlib.h>

#include <umwsk.h>

#include "fuzz_umwsk.h"

extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path);

namespace fuzz {

namespace {
PDRIVER_OBJECT g_driver = nullptr;
}

void echo_load() {
  g_driver = UmwskCreateDriverObject(L"\\Driver\\wsk_echo");
  if (g_driver == nullptr) {
    fprintf(stderr, "fuzz: UmwskCreateDriverObject failed\n");
    abort();
  }
  UNICODE_STRING path;
  RtlInitUnicodeString(&path,
                       L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\wsk_echo");
  NTSTATUS st = DriverEntry(g_driver, &path);
  if (!NT_SUCCESS(st)) {
    fprintf(stderr, "fuzz: DriverEntry failed: 0x%08x\n", static_cast<unsigned>(st));
    abort();
  }
}

void echo_unload() {
  if (g_driver == nullptr) return;
  if (g_driver->DriverUnload != nullptr) g_driver->DriverUnload(g_driver);
  UmwskFreeDriverObject(g_driver);
  g_driver = nullptr;
  UMWSK_COUNTERS c{};
  UmwskQueryCounters(&c);
  if (!UmwskCountersAreZero(&c)) {
    UmCounters zero{};
    um_counters_differ("after DriverUnload", zero, um_counters());
    abort();
  }
}

}  // namespace fuzz
