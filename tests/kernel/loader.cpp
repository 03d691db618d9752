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

#include "ktest_ioctl.h"

namespace {

constexpr wchar_t kServiceName[] = L"xwsk_ktest";

void print_error(const char* what, DWORD error = GetLastError()) {
  std::fprintf(stderr, "xwsk-ktest-loader: %s failed: error %lu\n", what,
               static_cast<unsigned long>(error));
}

// Stops and deletes a service left behind by an earlier, interrupted run.
void remove_service(SC_HANDLE scm) {
  SC_HANDLE svc = OpenServiceW(scm, kServiceName, SERVICE_ALL_ACCESS);
  if (svc == nullptr) {
    return;
  }
  SERVICE_STATUS st{};
  ControlService(svc, SERVICE_CONTROL_STOP, &st);
  for (int i = 0; i < 50 && QueryServiceStatus(svc, &st) && st.dwCurrentState != SERVICE_STOPPED;
       ++i) {
    Sleep(100);
  }
  DeleteService(svc);
  CloseServiceHandle(svc);
}

// The WSK provider the driver will talk to. Under Wine (ntdll exports
// wine_get_version) that is Wine's netio.sys: profile wine-8, whose gaps the
// backend reports as missing capabilities (docs/wsk-backend.md). Elsewhere:
// windows. XWSK_PROVIDER_PROFILE=windows|wine-8 overrides the detection.
unsigned int detect_profile() {
  char forced[32];
  const DWORD n = GetEnvironmentVariableA("XWSK_PROVIDER_PROFILE", forced, sizeof(forced));
  if (n > 0 && n < sizeof(forced)) {
    if (std::strcmp(forced, "wine-8") == 0) return XWSK_KTEST_PROFILE_WINE8;
    if (std::strcmp(forced, "windows") == 0) return XWSK_KTEST_PROFILE_WINDOWS;
    std::fprintf(stderr, "xwsk-ktest-loader: unknown XWSK_PROVIDER_PROFILE '%s' ignored\n", forced);
  }
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  using WineGetVersion = const char*(__cdecl*)();
  auto wine_get_version =
      ntdll != nullptr ? reinterpret_cast<WineGetVersion>(
                             reinterpret_cast<void*>(GetProcAddress(ntdll, "wine_get_version")))
                       : nullptr;
  if (wine_get_version == nullptr) return XWSK_KTEST_PROFILE_WINDOWS;
  const char* version = wine_get_version();
  if (version == nullptr || std::strncmp(version, "8.", 2) != 0) {
    std::fprintf(stderr,
                 "xwsk-ktest-loader: Wine %s: using the wine-8 provider profile (the only "
                 "Wine profile known)\n",
                 version != nullptr ? version : "?");
  }
  return XWSK_KTEST_PROFILE_WINE8;
}

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
        std::printf("[ PASSED ] %s\n", out.name);
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

  SC_HANDLE scm = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_ALL_ACCESS);
  if (scm == nullptr) {
    print_error("OpenSCManager");
    return 2;
  }
  remove_service(scm);
  SC_HANDLE svc = CreateServiceW(scm, kServiceName, kServiceName, SERVICE_ALL_ACCESS,
                                 SERVICE_KERNEL_DRIVER, SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL,
                                 driver_path, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (svc == nullptr) {
    print_error("CreateService");
    CloseServiceHandle(scm);
    return 2;
  }

  int exit_code = 2;
  if (!StartServiceW(svc, 0, nullptr)) {
    // 1053: DriverEntry did not return within the service timeout;
    // 2/3: the .sys or one of its imports could not be found.
    print_error("StartService");
  } else {
    HANDLE device = CreateFileW(XWSK_KTEST_USER_PATH, GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (device == INVALID_HANDLE_VALUE) {
      print_error("CreateFile(\\\\.\\XwskTest)");
    } else {
      Counts counts;
      const bool ok = set_profile(device, detect_profile()) && run_all(device, counts);
      CloseHandle(device);
      std::printf("%u passed, %u failed, %u skipped\n", counts.passed, counts.failed,
                  counts.skipped);
      std::fflush(stdout);
      exit_code = !ok ? 2 : counts.failed != 0 ? 1 : 0;
    }
    SERVICE_STATUS st{};
    if (!ControlService(svc, SERVICE_CONTROL_STOP, &st)) {
      print_error("ControlService(STOP)");
    }
  }
  if (!DeleteService(svc)) {
    print_error("DeleteService");
  }
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  return exit_code;
}
