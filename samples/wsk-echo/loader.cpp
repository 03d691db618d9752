// SPDX-License-Identifier: MIT
// xwsk-wsk-echo-loader.exe: runs a driver as a demand-start kernel service until told to stop,
// the Windows counterpart of xwsk-driver-host for the WSK echo sample under Wine.
//
//   xwsk-wsk-echo-loader.exe DRIVER.sys --stop-file PATH [--seconds N]
//
// Installs and starts the service (DriverEntry), prints "started", then waits until PATH exists
// (polled every 100 ms) or N seconds passed, stops the service (DriverUnload) and deletes it.
// Exit code: 0 ok, 2 the driver could not be installed or started, or bad usage.
#include <windows.h>

#include <cstdio>
#include <cstdlib>
#include <cwchar>

#include "driver_service.h"  // tests/kernel

namespace {

constexpr char kProgram[] = "xwsk-wsk-echo-loader";
constexpr wchar_t kServiceName[] = L"xwsk_wsk_echo";

bool exists(const wchar_t* path) {
  return GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES;
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  const wchar_t* driver = nullptr;
  const wchar_t* stop_file = nullptr;
  long seconds = 600;
  for (int i = 1; i < argc; ++i) {
    if (std::wcscmp(argv[i], L"--stop-file") == 0 && i + 1 < argc) {
      stop_file = argv[++i];
    } else if (std::wcscmp(argv[i], L"--seconds") == 0 && i + 1 < argc) {
      wchar_t* end = nullptr;
      seconds = std::wcstol(argv[++i], &end, 10);
      if (*end != L'\0' || seconds <= 0) {
        std::fprintf(stderr, "%s: --seconds: a positive whole number\n", kProgram);
        return 2;
      }
    } else if (driver == nullptr && argv[i][0] != L'-') {
      driver = argv[i];
    } else {
      std::fprintf(stderr, "usage: %s DRIVER.sys --stop-file PATH [--seconds N]\n", kProgram);
      return 2;
    }
  }
  if (driver == nullptr || stop_file == nullptr) {
    std::fprintf(stderr, "usage: %s DRIVER.sys --stop-file PATH [--seconds N]\n", kProgram);
    return 2;
  }
  wchar_t full[MAX_PATH];
  if (GetFullPathNameW(driver, MAX_PATH, full, nullptr) == 0 || !exists(full)) {
    std::fprintf(stderr, "%s: driver not found: %ls\n", kProgram, driver);
    return 2;
  }
  xwsk::loader::DriverService service(kProgram);
  if (!service.create(kServiceName, full) || !service.start()) return 2;
  std::printf("%s: started\n", kProgram);
  std::fflush(stdout);
  for (long waited = 0; waited < seconds * 10 && !exists(stop_file); ++waited)
    Sleep(100);
  service.remove();  // SERVICE_CONTROL_STOP: DriverUnload
  std::printf("%s: stopped\n", kProgram);
  return 0;
}
