// SPDX-License-Identifier: MIT
// driver_service.h: user-mode helpers the kernel project's loaders share
// (tests/kernel/loader.cpp for xwsk_ktest.sys, samples/echo-driver/loader.cpp for
// xwsk_echo.sys): install/start/stop/delete a demand-start kernel driver service, and detect
// which WSK provider the driver will talk to. Header-only; mingw-w64's (or the SDK's) own
// <windows.h>, not the DDK.
#ifndef XWSK_TESTS_KERNEL_DRIVER_SERVICE_H_
#define XWSK_TESTS_KERNEL_DRIVER_SERVICE_H_

#include <windows.h>

#include <cstdio>
#include <cstring>

namespace xwsk::loader {

// Values of xwsk::wsk::ProviderProfile (backends/wsk/xwsk_wsk.h).
inline constexpr unsigned int kProfileWindows = 0;
inline constexpr unsigned int kProfileWine8 = 1;

inline void print_error(const char* program, const char* what, DWORD error = GetLastError()) {
  std::fprintf(stderr, "%s: %s failed: error %lu\n", program, what,
               static_cast<unsigned long>(error));
}

// The WSK provider the driver will talk to. Under Wine (ntdll exports wine_get_version) that
// is Wine's netio.sys: profile wine-8, whose gaps the backend reports as missing capabilities
// (docs/wsk-backend.md). Elsewhere: windows. XWSK_PROVIDER_PROFILE=windows|wine-8 overrides.
inline unsigned int detect_provider_profile(const char* program) {
  char forced[32];
  const DWORD n = GetEnvironmentVariableA("XWSK_PROVIDER_PROFILE", forced, sizeof(forced));
  if (n > 0 && n < sizeof(forced)) {
    if (std::strcmp(forced, "wine-8") == 0) return kProfileWine8;
    if (std::strcmp(forced, "windows") == 0) return kProfileWindows;
    std::fprintf(stderr, "%s: unknown XWSK_PROVIDER_PROFILE '%s' ignored\n", program, forced);
  }
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  using WineGetVersion = const char*(__cdecl*)();
  auto wine_get_version =
      ntdll != nullptr ? reinterpret_cast<WineGetVersion>(
                             reinterpret_cast<void*>(GetProcAddress(ntdll, "wine_get_version")))
                       : nullptr;
  if (wine_get_version == nullptr) return kProfileWindows;
  const char* version = wine_get_version();
  if (version == nullptr || std::strncmp(version, "8.", 2) != 0) {
    std::fprintf(stderr,
                 "%s: Wine %s: using the wine-8 provider profile (the only Wine profile known)\n",
                 program, version != nullptr ? version : "?");
  }
  return kProfileWine8;
}

// A demand-start kernel driver service: create() (removing one left behind by an interrupted
// run), start(), and the destructor stops (if started) and deletes it.
class DriverService {
 public:
  explicit DriverService(const char* program) : program_(program) {}
  ~DriverService() { remove(); }
  DriverService(const DriverService&) = delete;
  DriverService& operator=(const DriverService&) = delete;

  bool create(const wchar_t* name, const wchar_t* driver_path) {
    scm_ = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_ALL_ACCESS);
    if (scm_ == nullptr) {
      print_error(program_, "OpenSCManager");
      return false;
    }
    remove_leftover(name);
    svc_ = CreateServiceW(scm_, name, name, SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER,
                          SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, driver_path, nullptr, nullptr,
                          nullptr, nullptr, nullptr);
    if (svc_ == nullptr) {
      print_error(program_, "CreateService");
      return false;
    }
    return true;
  }

  // Loads the driver (DriverEntry). 1053: DriverEntry did not return within the service
  // timeout; 2/3: the .sys or one of its imports could not be found.
  bool start() {
    if (!StartServiceW(svc_, 0, nullptr)) {
      print_error(program_, "StartService");
      return false;
    }
    started_ = true;
    return true;
  }

  // Stops (DriverUnload) if started, deletes the service, closes the handles.
  void remove() {
    if (svc_ != nullptr) {
      if (started_) {
        SERVICE_STATUS st{};
        if (!ControlService(svc_, SERVICE_CONTROL_STOP, &st)) {
          print_error(program_, "ControlService(STOP)");
        }
        started_ = false;
      }
      if (!DeleteService(svc_)) print_error(program_, "DeleteService");
      CloseServiceHandle(svc_);
      svc_ = nullptr;
    }
    if (scm_ != nullptr) {
      CloseServiceHandle(scm_);
      scm_ = nullptr;
    }
  }

 private:
  void remove_leftover(const wchar_t* name) {
    SC_HANDLE svc = OpenServiceW(scm_, name, SERVICE_ALL_ACCESS);
    if (svc == nullptr) return;
    SERVICE_STATUS st{};
    ControlService(svc, SERVICE_CONTROL_STOP, &st);
    for (int i = 0; i < 50 && QueryServiceStatus(svc, &st) && st.dwCurrentState != SERVICE_STOPPED;
         ++i) {
      Sleep(100);
    }
    DeleteService(svc);
    CloseServiceHandle(svc);
  }

  const char* program_;
  SC_HANDLE scm_ = nullptr;
  SC_HANDLE svc_ = nullptr;
  bool started_ = false;
};

}  // namespace xwsk::loader

#endif  // XWSK_TESTS_KERNEL_DRIVER_SERVICE_H_
