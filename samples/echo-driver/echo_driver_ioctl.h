// SPDX-License-Identifier: MIT
// echo_driver_ioctl.h: the protocol between the echo server driver (xwsk_echo.sys) and its
// user-mode loader (xwsk-echo-driver-loader.exe). Shared by both sides: plain C-layout
// structs, fixed-size fields, no pointers.
//
// Device: \Device\XwskEcho, symbolic link \DosDevices\XwskEcho (user mode: \\.\XwskEcho).
// All IOCTLs are METHOD_BUFFERED and run at PASSIVE_LEVEL in the caller's thread.
//
//   IOCTL_XWSK_ECHO_START  in: XwskEchoStart   out: none
//       Registers with the WSK provider and starts the echo server (TCP only) on
//       127.0.0.1:port. STATUS_DEVICE_BUSY if a server is already running.
//   IOCTL_XWSK_ECHO_STOP   in: none            out: XwskEchoStats (optional)
//       Closes every socket, waits for the sockets, deregisters; returns the final counters.
//   IOCTL_XWSK_ECHO_STATS  in: none            out: XwskEchoStats
//       The running server's counters (or the last server's, after STOP).
//
// Requires CTL_CODE/METHOD_BUFFERED/FILE_ANY_ACCESS: from <winioctl.h> in user mode, from the
// DDK in the driver.
#ifndef XWSK_SAMPLES_ECHO_DRIVER_ECHO_DRIVER_IOCTL_H_
#define XWSK_SAMPLES_ECHO_DRIVER_ECHO_DRIVER_IOCTL_H_

#define XWSK_ECHO_DEVICE_NAME L"\\Device\\XwskEcho"
#define XWSK_ECHO_SYMLINK_NAME L"\\DosDevices\\XwskEcho"
#define XWSK_ECHO_USER_PATH L"\\\\.\\XwskEcho"

// Vendor device type (0x8000-0xFFFF) and function codes (>= 0x800).
#define XWSK_ECHO_DEVICE_TYPE 0x8A58
#define IOCTL_XWSK_ECHO_START \
  CTL_CODE(XWSK_ECHO_DEVICE_TYPE, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_XWSK_ECHO_STOP \
  CTL_CODE(XWSK_ECHO_DEVICE_TYPE, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_XWSK_ECHO_STATS \
  CTL_CODE(XWSK_ECHO_DEVICE_TYPE, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)

// Provider profiles (values of xwsk::wsk::ProviderProfile, backends/wsk/xwsk_wsk.h).
#define XWSK_ECHO_PROFILE_WINDOWS 0u
#define XWSK_ECHO_PROFILE_WINE8 1u

struct XwskEchoStart {
  unsigned int port;     // 1..65535; the server binds 127.0.0.1:port
  unsigned int profile;  // XWSK_ECHO_PROFILE_*: the WSK provider the driver runs on
};

// echo::ServerStats, field for field.
struct XwskEchoStats {
  unsigned int running;  // 1 while a server is started
  unsigned int port;
  unsigned long long connections;
  unsigned long long connections_rejected;
  unsigned long long connections_reset;
  unsigned long long connections_graceful;
  unsigned long long active;
  unsigned long long peak_active;
  unsigned long long tcp_bytes_in;
  unsigned long long tcp_bytes_out;
  unsigned long long accept_errors;
};

#endif  // XWSK_SAMPLES_ECHO_DRIVER_ECHO_DRIVER_IOCTL_H_
