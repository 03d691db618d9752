// SPDX-License-Identifier: MIT
// xwsk-echo-driver-loader.exe: installs the echo server driver (xwsk_echo.sys) as a
// demand-start kernel service, starts the server on a port, waits, stops it, prints its
// counters, then stops and deletes the service.
//
//   xwsk-echo-driver-loader.exe start PORT [--driver PATH] [--stop-file PATH] [--seconds N]
//
//   --driver PATH     the .sys (default: xwsk_echo.sys next to this .exe)
//   --stop-file PATH  stop when PATH exists (polled every 100 ms)
//   --seconds N       stop after N seconds at the latest
//   Without --stop-file/--seconds: stop when stdin reaches end of file (or Ctrl-C).
//
// Prints "xwsk-echo-driver-loader: serving 127.0.0.1:PORT" once the server listens, and
// "stats: ..." after the stop. Exit code: 0 ok, 1 the server did not stop cleanly, 2 the driver
// could not be installed/started or the server could not start.
//
// Service control and provider-profile detection (wine-8 under Wine, windows otherwise,
// XWSK_PROVIDER_PROFILE=windows|wine-8 overrides) are shared with the kernel test driver's
// loader: tests/kernel/driver_service.h.
#include <windows.h>
#include <winioctl.h>

#include <cstdio>
#include <cstdlib>
#include <cwchar>

#include "driver_service.h"  // tests/kernel
#include "echo_driver_ioctl.h"

namespace {

constexpr wchar_t kServiceName[] = L"xwsk_echo";
volatile LONG g_interrupted = 0;

void print_error(const char* what, DWORD error = GetLastError()) {
  std::fprintf(stderr, "xwsk-echo-driver-loader: %s failed: error %lu\n", what,
               static_cast<unsigned long>(error));
}

BOOL WINAPI on_console_ctrl(DWORD) {
  InterlockedExchange(&g_interrupted, 1);
  return TRUE;
}

constexpr char kProgram[] = "xwsk-echo-driver-loader";
static_assert(XWSK_ECHO_PROFILE_WINDOWS == xwsk::loader::kProfileWindows &&
              XWSK_ECHO_PROFILE_WINE8 == xwsk::loader::kProfileWine8);

struct Options {
  unsigned port = 0;
  wchar_t driver[MAX_PATH] = L"";
  const wchar_t* stop_file = nullptr;
  double seconds = 0;  // 0: no limit
};

bool parse(int argc, wchar_t** argv, Options* o) {
  if (argc < 3 || std::wcscmp(argv[1], L"start") != 0) return false;
  wchar_t* end = nullptr;
  const unsigned long port = std::wcstoul(argv[2], &end, 10);
  if (end == argv[2] || *end != L'\0' || port == 0 || port > 65535) {
    std::fprintf(stderr, "xwsk-echo-driver-loader: PORT must be 1..65535\n");
    return false;
  }
  o->port = static_cast<unsigned>(port);
  const wchar_t* driver = nullptr;
  for (int i = 3; i < argc; ++i) {
    if (i + 1 < argc && std::wcscmp(argv[i], L"--driver") == 0) {
      driver = argv[++i];
    } else if (i + 1 < argc && std::wcscmp(argv[i], L"--stop-file") == 0) {
      o->stop_file = argv[++i];
    } else if (i + 1 < argc && std::wcscmp(argv[i], L"--seconds") == 0) {
      o->seconds = std::wcstod(argv[++i], nullptr);
      if (o->seconds <= 0) return false;
    } else {
      std::fprintf(stderr, "xwsk-echo-driver-loader: unknown argument %ls\n", argv[i]);
      return false;
    }
  }
  if (driver != nullptr) {
    if (GetFullPathNameW(driver, MAX_PATH, o->driver, nullptr) == 0) return false;
  } else {
    // xwsk_echo.sys next to this .exe.
    const DWORD n = GetModuleFileNameW(nullptr, o->driver, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) return false;
    wchar_t* slash = std::wcsrchr(o->driver, L'\\');
    if (slash == nullptr || (slash - o->driver) + 16 >= MAX_PATH) return false;
    std::wcscpy(slash + 1, L"xwsk_echo.sys");
  }
  return true;
}

// Blocks until the stop condition of @p o (or Ctrl-C).
void wait_for_stop(const Options& o) {
  if (o.stop_file == nullptr && o.seconds == 0) {
    // Until stdin closes.
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    char buf[256];
    DWORD got = 0;
    while (!g_interrupted && ReadFile(in, buf, sizeof(buf), &got, nullptr) && got > 0) {
    }
    return;
  }
  const ULONGLONG deadline =
      o.seconds > 0 ? GetTickCount64() + static_cast<ULONGLONG>(o.seconds * 1000) : 0;
  while (!g_interrupted) {
    if (o.stop_file != nullptr && GetFileAttributesW(o.stop_file) != INVALID_FILE_ATTRIBUTES) {
      std::printf("xwsk-echo-driver-loader: stop file found\n");
      return;
    }
    if (deadline != 0 && GetTickCount64() >= deadline) {
      std::printf("xwsk-echo-driver-loader: %g s elapsed\n", o.seconds);
      return;
    }
    Sleep(100);
  }
}

void print_stats(const XwskEchoStats& s) {
  std::printf(
      "stats: connections %llu (graceful %llu, reset %llu, rejected %llu), peak active %llu, "
      "active %llu, tcp bytes in %llu, out %llu, accept errors %llu\n",
      s.connections, s.connections_graceful, s.connections_reset, s.connections_rejected,
      s.peak_active, s.active, s.tcp_bytes_in, s.tcp_bytes_out, s.accept_errors);
}

// Runs the server over the open device. Returns the exit code.
int serve(HANDLE device, const Options& o) {
  XwskEchoStart start{o.port, xwsk::loader::detect_provider_profile(kProgram)};
  DWORD returned = 0;
  if (!DeviceIoControl(device, IOCTL_XWSK_ECHO_START, &start, sizeof(start), nullptr, 0, &returned,
                       nullptr)) {
    print_error("IOCTL_XWSK_ECHO_START");
    return 2;
  }
  std::printf("xwsk-echo-driver-loader: serving 127.0.0.1:%u (tcp, provider profile %s)\n", o.port,
              start.profile == XWSK_ECHO_PROFILE_WINE8 ? "wine-8" : "windows");
  std::fflush(stdout);

  wait_for_stop(o);

  XwskEchoStats stats{};
  int rc = 0;
  if (!DeviceIoControl(device, IOCTL_XWSK_ECHO_STOP, nullptr, 0, &stats, sizeof(stats), &returned,
                       nullptr)) {
    print_error("IOCTL_XWSK_ECHO_STOP");
    rc = 1;
  }
  if (!DeviceIoControl(device, IOCTL_XWSK_ECHO_STATS, nullptr, 0, &stats, sizeof(stats), &returned,
                       nullptr) ||
      returned != sizeof(stats)) {
    print_error("IOCTL_XWSK_ECHO_STATS");
    rc = 1;
  } else {
    print_stats(stats);
  }
  std::printf("xwsk-echo-driver-loader: stopped\n");
  std::fflush(stdout);
  return rc;
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  Options o;
  if (!parse(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: xwsk-echo-driver-loader start PORT [--driver PATH] [--stop-file PATH] "
                 "[--seconds N]\n");
    return 2;
  }
  if (GetFileAttributesW(o.driver) == INVALID_FILE_ATTRIBUTES) {
    std::fprintf(stderr, "xwsk-echo-driver-loader: driver not found: %ls\n", o.driver);
    return 2;
  }
  SetConsoleCtrlHandler(on_console_ctrl, TRUE);

  // Installs the service; its destructor stops (DriverUnload) and deletes it.
  xwsk::loader::DriverService service(kProgram);
  if (!service.create(kServiceName, o.driver)) return 2;

  int exit_code = 2;
  if (service.start()) {
    HANDLE device = CreateFileW(XWSK_ECHO_USER_PATH, GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (device == INVALID_HANDLE_VALUE) {
      print_error("CreateFile(\\\\.\\XwskEcho)");
    } else {
      exit_code = serve(device, o);
      CloseHandle(device);
    }
  }
  service.remove();
  return exit_code;
}
