// SPDX-License-Identifier: MIT
// A WSK driver written against the WDK's headers alone, built through the installed package
// (find_package(xwsk), xwsk_add_umwsk_driver) and run by the installed xwsk-driver-host:
// DriverEntry registers, captures the provider and opens a listening socket on 127.0.0.1;
// DriverUnload closes it and deregisters.
#include <ntddk.h>
#include <wsk.h>

namespace {

const WSK_CLIENT_DISPATCH kDispatch = {MAKE_WSK_VERSION(1, 0), 0, nullptr};
WSK_CLIENT_NPI g_npi;
WSK_REGISTRATION g_registration;
WSK_PROVIDER_NPI g_provider;
PWSK_SOCKET g_listener;

NTSTATUS done(PDEVICE_OBJECT, PIRP, PVOID context) {
  KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

// Runs one provider call on @p irp and waits for its completion (PASSIVE_LEVEL).
template <typename Call>
NTSTATUS call_sync(PIRP irp, Call call) {
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
  IoSetCompletionRoutine(irp, done, &event, TRUE, TRUE, TRUE);
  if (call(irp) == STATUS_PENDING) {
    KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, nullptr);
  }
  return irp->IoStatus.Status;
}

VOID unload(PDRIVER_OBJECT) {
  PIRP irp = IoAllocateIrp(1, FALSE);
  if (g_listener != nullptr && irp != nullptr) {
    const auto* d = static_cast<const WSK_PROVIDER_LISTEN_DISPATCH*>(g_listener->Dispatch);
    call_sync(irp, [&](PIRP i) { return d->Basic.WskCloseSocket(g_listener, i); });
  }
  if (irp != nullptr) IoFreeIrp(irp);
  WskReleaseProviderNPI(&g_registration);
  WskDeregister(&g_registration);
}

}  // namespace

extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
  g_npi.Dispatch = &kDispatch;
  NTSTATUS st = WskRegister(&g_npi, &g_registration);
  if (!NT_SUCCESS(st)) return st;
  st = WskCaptureProviderNPI(&g_registration, WSK_INFINITE_WAIT, &g_provider);
  if (!NT_SUCCESS(st)) {
    WskDeregister(&g_registration);
    return st;
  }
  PIRP irp = IoAllocateIrp(1, FALSE);
  if (irp == nullptr) {
    WskReleaseProviderNPI(&g_registration);
    WskDeregister(&g_registration);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  st = call_sync(irp, [](PIRP i) {
    return g_provider.Dispatch->WskSocket(g_provider.Client, AF_INET, SOCK_STREAM, IPPROTO_TCP,
                                          WSK_FLAG_LISTEN_SOCKET, nullptr, nullptr, nullptr,
                                          nullptr, nullptr, i);
  });
  if (NT_SUCCESS(st)) {
    g_listener = reinterpret_cast<PWSK_SOCKET>(irp->IoStatus.Information);
    SOCKADDR_IN local = {};
    local.sin_family = AF_INET;
    local.sin_addr.S_un.S_un_b.s_b1 = 127;  // 127.0.0.1
    local.sin_addr.S_un.S_un_b.s_b4 = 1;
    const auto* d = static_cast<const WSK_PROVIDER_LISTEN_DISPATCH*>(g_listener->Dispatch);
    st = call_sync(irp, [&](PIRP i) {
      return d->WskBind(g_listener, reinterpret_cast<PSOCKADDR>(&local), 0, i);
    });
  }
  IoFreeIrp(irp);
  driver->DriverUnload = unload;
  if (!NT_SUCCESS(st)) {
    unload(driver);
    return st;
  }
  DbgPrint("downstream_wsk_driver: listening\n");
  return STATUS_SUCCESS;
}
