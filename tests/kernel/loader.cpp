// SPDX-License-Identifier: MIT
// xwsk-ktest-loader.exe: installs the kernel test driver as a demand-start
// kernel service, runs every test case it registers, prints one line per
// case and a summary, then stops and deletes the service.
//
//   xwsk-ktest-loader.exe <path\to\xwsk_ktest.sys>
//
// Output (one line per case, then the summary, exactly):
//   [ PASSED ] name
//   [ SKIPPED ] name: reason
//   [ FAILED ] name: message
//   N passed, N failed, N skipped
//
// Exit code: 0 if nothing failed, 1 if a case failed, 2 if the driver could
// not be installed/started/queried (nothing ran).
//
// Built with mingw-w64's own headers and CRT (not the DDK), run under Wine
// by tests/kernel/run-under-wine.sh or on Windows with test signing.
#include <windows.h>
#include <winioctl.h>

#include <cstdio>
#include <cstring>

#include "driver_service.h"
#include "ktest_ioctl.h"

namespace {

constexpr wchar_t kServiceName[] = L"xwsk_ktest";

void print_error(const char* what, DWORD error = GetLastError()) {
  std::fprintf(stderr, "xwsk-ktest-loader: %s failed: error %lu\n", what,
               static_cast<unsigned long>(error));
}

constexpr char kProgram[] = "xwsk-ktest-loader";
static_assert(XWSK_KTEST_PROFILE_WINDOWS == xwsk::loader::kProfileWindows &&
              XWSK_KTEST_PROFILE_WINE8 == xwsk::loader::kProfileWine8);

bool set_profile(HANDLE device, unsigned int profile) {
  XwskKtestProfile in{profile};
  DWORD returned = 0;
  if (!DeviceIoControl(device, IOCTL_XWSK_TEST_SET_PROFILE, &in, sizeof(in), nullptr, 0, &returned,
                       nullptr)) {
    print_error("IOCTL_XWSK_TEST_SET_PROFILE");
    return false;
  }
  std::printf("provider profile: %s\n", profile == XWSK_KTEST_PROFILE_WINE8 ? "wine-8" : "windows");
  std::fflush(stdout);
  return true;
}

struct Counts {
  unsigned passed = 0;
  unsigned failed = 0;
  unsigned skipped = 0;
};

// Runs all cases over the open device. Returns false if the device protocol
// itself failed.
bool run_all(HANDLE device, Counts& counts) {
  XwskKtestCount count{};
  DWORD returned = 0;
  if (!DeviceIoControl(device, IOCTL_XWSK_TEST_COUNT, nullptr, 0, &count, sizeof(count), &returned,
                       nullptr) ||
      returned != sizeof(count)) {
    print_error("IOCTL_XWSK_TEST_COUNT");
    return false;
  }
  for (unsigned i = 0; i < count.count; ++i) {
    XwskKtestRunInput in{i};
    // METHOD_BUFFERED: one buffer big enough for both directions.
    static XwskKtestRunOutput out;
    static_assert(sizeof(out) >= sizeof(in));
    ZeroMemory(&out, sizeof(out));
    std::memcpy(&out, &in, sizeof(in));
    if (!DeviceIoControl(device, IOCTL_XWSK_TEST_RUN, &out, sizeof(in), &out, sizeof(out),
                         &returned, nullptr) ||
        returned != sizeof(out)) {
      print_error("IOCTL_XWSK_TEST_RUN");
      return false;
    }
    out.name[sizeof(out.name) - 1] = '\0';
    out.message[sizeof(out.message) - 1] = '\0';
    switch (out.result) {
      case XWSK_KTEST_PASSED:
        ++counts.passed;
        // The message of a pass is the case's completion trace.
        std::printf("[ PASSED ] %s\n", out.name);
        if (out.message[0] != '\0') std::printf("XWSK-TRACE wsk %s: %s\n", out.name, out.message);
        break;
      case XWSK_KTEST_SKIPPED:
        ++counts.skipped;
        std::printf("[ SKIPPED ] %s: %s\n", out.name, out.message);
        break;
      default:
        ++counts.failed;
        std::printf("[ FAILED ] %s: %s\n", out.name, out.message);
        break;
    }
    std::fflush(stdout);
  }
  return true;
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: xwsk-ktest-loader <path\\to\\xwsk_ktest.sys>\n");
    return 2;
  }
  wchar_t driver_path[MAX_PATH];
  if (GetFullPathNameW(argv[1], MAX_PATH, driver_path, nullptr) == 0) {
    print_error("GetFullPathName");
    return 2;
  }
  if (GetFileAttributesW(driver_path) == INVALID_FILE_ATTRIBUTES) {
    std::fprintf(stderr, "xwsk-ktest-loader: driver not found: %ls\n", driver_path);
    return 2;
  }

  // Installs the service; its destructor stops (DriverUnload) and deletes it.
  xwsk::loader::DriverService service(kProgram);
  if (!service.create(kServiceName, driver_path)) {
    return 2;
  }

  int exit_code = 2;
  if (service.start()) {
    HANDLE device = CreateFileW(XWSK_KTEST_USER_PATH, GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (device == INVALID_HANDLE_VALUE) {
      print_error("CreateFile(\\\\.\\XwskTest)");
    } else {
      Counts counts;
      const bool ok = set_profile(device, xwsk::loader::detect_provider_profile(kProgram)) &&
                      run_all(device, counts);
      CloseHandle(device);
      std::printf("%u passed, %u failed, %u skipped\n", counts.passed, counts.failed,
                  counts.skipped);
      std::fflush(stdout);
      exit_code = !ok ? 2 : counts.failed != 0 ? 1 : 0;
    }
  }
  service.remove();
  return exit_code;
}
