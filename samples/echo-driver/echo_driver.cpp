// SPDX-License-Identifier: MIT
// xwsk_echo.sys: the echo server of samples/echo, as a kernel driver.
//
// The server is samples/echo/echo_server.cpp, compiled unchanged into this driver (its platform
// seam, echo_platform.h, resolves to echo_platform_kernel.h here). This file is only the driver
// shell around it:
//   DriverEntry   creates \Device\XwskEcho (+ \DosDevices\XwskEcho); starts nothing.
//   IOCTL_XWSK_ECHO_START {port, profile}  (PASSIVE_LEVEL, caller's thread)
//                 sets the WSK provider profile, registers with WSK (echo::Provider) and starts
//                 echo::Server, TCP only, on 127.0.0.1:port. The port comes from the loader:
//                 under Wine the bound port cannot be queried (no WskGetLocalAddress), so port
//                 0 is refused.
//   IOCTL_XWSK_ECHO_STOP   closes every socket, waits until every request and connection is
//                 gone (Server::stop), deregisters (waits for the sockets), returns the counters.
//   IOCTL_XWSK_ECHO_STATS  the counters.
//   DriverUnload  as STOP if a server still runs, then deletes the device.
// IOCTLs are serialized by one synchronization KEVENT (they wait, so PASSIVE_LEVEL only).
#include <new>

#include "echo_driver_ioctl.h"
#include "echo_server.h"
#include "wsk_ddk.h"
#include "xwsk_wsk.h"

namespace {

// Everything below is constant-initialized: no static constructors run in a driver.
KEVENT g_ioctl_lock;  // SynchronizationEvent, signaled = free
echo::Provider* g_provider = nullptr;
echo::Server* g_server = nullptr;
XwskEchoStats g_stats{};  // the last stopped server's counters

constexpr uint32_t kSetupTimeoutMs = 10000;
constexpr uint32_t kStopTimeoutMs = 30000;

NTSTATUS complete(IRP* irp, NTSTATUS status, ULONG_PTR information) {
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = information;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return status;
}

void lock_ioctls() {
  KeWaitForSingleObject(&g_ioctl_lock, Executive, KernelMode, FALSE, nullptr);
}

void unlock_ioctls() {
  KeSetEvent(&g_ioctl_lock, IO_NO_INCREMENT, FALSE);
}

void fill_stats(XwskEchoStats* out) {
  const echo::ServerStats s = g_server->stats();
  out->running = 1;
  out->connections = s.connections;
  out->connections_rejected = s.connections_rejected;
  out->connections_reset = s.connections_reset;
  out->connections_graceful = s.connections_graceful;
  out->active = s.active;
  out->peak_active = s.peak_active;
  out->tcp_bytes_in = s.tcp_bytes_in;
  out->tcp_bytes_out = s.tcp_bytes_out;
  out->accept_errors = s.accept_errors;
}

void close_provider() {
  if (g_provider != nullptr) {
    g_provider->close();  // deregister: waits until every socket of the client is closed
    delete g_provider;
    g_provider = nullptr;
  }
}

// PASSIVE_LEVEL, IOCTL lock held.
NTSTATUS start_server(const XwskEchoStart& in) {
  if (g_server != nullptr) return STATUS_DEVICE_BUSY;
  if (in.port == 0 || in.port > 65535 ||
      (in.profile != XWSK_ECHO_PROFILE_WINDOWS && in.profile != XWSK_ECHO_PROFILE_WINE8)) {
    return STATUS_INVALID_PARAMETER;
  }
  const auto profile = static_cast<xwsk::wsk::ProviderProfile>(in.profile);
  xwsk::wsk::set_provider_profile(profile);  // before register_client

  g_provider = new (std::nothrow) echo::Provider();
  if (g_provider == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
  xwsk::Status st = g_provider->open();
  if (st != xwsk::Status::Success) {
    DbgPrint("xwsk_echo: WSK registration failed: %s\n", xwsk::status_name(st));
    close_provider();
    return static_cast<NTSTATUS>(st);
  }

  g_server = new (std::nothrow) echo::Server();
  if (g_server == nullptr) {
    close_provider();
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  echo::ServerConfig config;
  config.bind = xwsk::ipv4_loopback(static_cast<uint16_t>(in.port));
  config.tcp = true;
  config.udp = false;  // Wine 8's netio.sys has no datagram sockets
  config.max_connections = 64;
  // Four accepts pending on every provider. (Wine 8's netio.sys has one accept slot per
  // listening socket; the WSK backend serializes accepts under the wine-8 profile, so the
  // sample does not need to know.)
  config.accept_requests = 4;
  config.timeout_ms = kSetupTimeoutMs;
  const char* what = "?";
  st = g_server->start(g_provider->client(), config, &what);
  if (st != xwsk::Status::Success) {
    DbgPrint("xwsk_echo: start failed at %s: %s\n", what, xwsk::status_name(st));
    delete g_server;  // start() closed and freed what it had created
    g_server = nullptr;
    close_provider();
    return static_cast<NTSTATUS>(st);
  }
  g_stats = XwskEchoStats{};
  g_stats.port = in.port;
  DbgPrint("xwsk_echo: serving TCP echo on 127.0.0.1:%u (provider profile %s)\n", in.port,
           xwsk::wsk::provider_profile_name(profile));
  return STATUS_SUCCESS;
}

// PASSIVE_LEVEL, IOCTL lock held.
NTSTATUS stop_server() {
  if (g_server == nullptr) return STATUS_SUCCESS;
  const bool quiesced = g_server->stop(kStopTimeoutMs);
  fill_stats(&g_stats);
  g_stats.running = 0;
  if (quiesced) {
    delete g_server;
  } else {
    // The provider still owns requests: leak the server rather than free memory under it.
    DbgPrint("xwsk_echo: server did not quiesce within %u ms\n", kStopTimeoutMs);
  }
  g_server = nullptr;
  close_provider();
  DbgPrint("xwsk_echo: stopped: %llu connection(s), %llu bytes in, %llu bytes out\n",
           g_stats.connections, g_stats.tcp_bytes_in, g_stats.tcp_bytes_out);
  return quiesced ? STATUS_SUCCESS : STATUS_IO_TIMEOUT;
}

NTSTATUS WINAPI dispatch_create_close(DEVICE_OBJECT*, IRP* irp) {
  return complete(irp, STATUS_SUCCESS, 0);
}

NTSTATUS WINAPI dispatch_device_control(DEVICE_OBJECT*, IRP* irp) {
  IO_STACK_LOCATION* stack = IoGetCurrentIrpStackLocation(irp);
  const ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
  const ULONG in_len = stack->Parameters.DeviceIoControl.InputBufferLength;
  const ULONG out_len = stack->Parameters.DeviceIoControl.OutputBufferLength;
  void* buffer = irp->AssociatedIrp.SystemBuffer;  // METHOD_BUFFERED: in and out share it

  NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;
  ULONG_PTR information = 0;
  lock_ioctls();
  switch (code) {
    case IOCTL_XWSK_ECHO_START:
      if (in_len < sizeof(XwskEchoStart) || buffer == nullptr) {
        status = STATUS_BUFFER_TOO_SMALL;
      } else {
        const XwskEchoStart in = *static_cast<const XwskEchoStart*>(buffer);
        status = start_server(in);
      }
      break;
    case IOCTL_XWSK_ECHO_STOP:
      status = stop_server();
      if (out_len >= sizeof(XwskEchoStats) && buffer != nullptr) {
        *static_cast<XwskEchoStats*>(buffer) = g_stats;
        information = sizeof(XwskEchoStats);
      }
      break;
    case IOCTL_XWSK_ECHO_STATS:
      if (out_len < sizeof(XwskEchoStats) || buffer == nullptr) {
        status = STATUS_BUFFER_TOO_SMALL;
      } else {
        XwskEchoStats out = g_stats;
        if (g_server != nullptr) fill_stats(&out);
        *static_cast<XwskEchoStats*>(buffer) = out;
        information = sizeof(XwskEchoStats);
        status = STATUS_SUCCESS;
      }
      break;
    default:
      break;
  }
  unlock_ioctls();
  return complete(irp, status, information);
}

void WINAPI driver_unload(DRIVER_OBJECT* driver) {
  lock_ioctls();
  stop_server();
  unlock_ioctls();
  UNICODE_STRING link;
  RtlInitUnicodeString(&link, XWSK_ECHO_SYMLINK_NAME);
  IoDeleteSymbolicLink(&link);
  if (driver->DeviceObject != nullptr) IoDeleteDevice(driver->DeviceObject);
  DbgPrint("xwsk_echo: unloaded\n");
}

}  // namespace

extern "C" NTSTATUS WINAPI DriverEntry(DRIVER_OBJECT* driver, UNICODE_STRING*) {
  KeInitializeEvent(&g_ioctl_lock, SynchronizationEvent, TRUE);
  UNICODE_STRING device_name;
  UNICODE_STRING link_name;
  RtlInitUnicodeString(&device_name, XWSK_ECHO_DEVICE_NAME);
  RtlInitUnicodeString(&link_name, XWSK_ECHO_SYMLINK_NAME);

  DEVICE_OBJECT* device = nullptr;
  NTSTATUS status = IoCreateDevice(driver, 0, &device_name, FILE_DEVICE_UNKNOWN,
                                   FILE_DEVICE_SECURE_OPEN, FALSE, &device);
  if (!NT_SUCCESS(status)) {
    DbgPrint("xwsk_echo: IoCreateDevice failed %#lx\n", status);
    return status;
  }
  status = IoCreateSymbolicLink(&link_name, &device_name);
  if (!NT_SUCCESS(status)) {
    DbgPrint("xwsk_echo: IoCreateSymbolicLink failed %#lx\n", status);
    IoDeleteDevice(device);
    return status;
  }
  driver->MajorFunction[IRP_MJ_CREATE] = dispatch_create_close;
  driver->MajorFunction[IRP_MJ_CLOSE] = dispatch_create_close;
  driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = dispatch_device_control;
  driver->DriverUnload = driver_unload;
  device->Flags &= ~DO_DEVICE_INITIALIZING;
  DbgPrint("xwsk_echo: loaded\n");
  return STATUS_SUCCESS;
}
