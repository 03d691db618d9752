// SPDX-License-Identifier: MIT
// provider_verifier.cpp: the provider's verifier rules (issue 13), each bug committed on purpose
// by a raw WSK client in UMWSK_VERIFIER report mode, and the report seen:
//   wsk.socket_used_after_close, wsk.release_wrong_socket, wsk.release_twice,
//   wsk.release_not_retained, wsk.close_with_retained_indications, wsk.event_bad_status,
//   wsk.receive_event_accepted_too_much, irql.wsk_above_passive.
// (wsk.deregister_waiting needs a 10 s wait and is not exercised here.)
// Prints one line per check and "N passed, N failed, N skipped"; exits non-zero on a failure.
#include <stdio.h>
#include <string.h>

// clang-format off
#include <ntddk.h>
#include <wsk.h>
#include <umwsk.h>
// clang-format on

#include "raw_client.h"

namespace {

/// Waits (1 s at most) for a report that comes from the provider's side of an event.
void wait_report(const char* rule) {
  for (int i = 0; i < 100 && UmwskViolationCount(rule) == 0; ++i) {
    LARGE_INTEGER d;
    d.QuadPart = -10LL * 10 * 1000;  // 10 ms
    KeDelayExecutionThread(KernelMode, FALSE, &d);
  }
}

/// The bug was reported under @p rule (exactly once since the last reset).
void reported(const char* rule) {
  char what[160];
  const LONG64 n = UmwskViolationCount(rule);
  snprintf(what, sizeof(what), "reported: %s (%lld)", rule, static_cast<long long>(n));
  check(n == 1, what);
  UmwskResetViolations();
}

WSK_PROVIDER_NPI g_npi;

union Addr {
  SOCKADDR sa;
  SOCKADDR_IN in;
};

Addr loopback(USHORT port) {
  Addr a;
  memset(&a, 0, sizeof(a));
  a.in.sin_family = AF_INET;
  a.in.sin_port = swap16(port);
  a.in.sin_addr.s_addr = 0x0100007f;
  return a;
}

const WSK_PROVIDER_LISTEN_DISPATCH* listen_d(PWSK_SOCKET s) {
  return static_cast<const WSK_PROVIDER_LISTEN_DISPATCH*>(s->Dispatch);
}
const WSK_PROVIDER_CONNECTION_DISPATCH* conn_d(PWSK_SOCKET s) {
  return static_cast<const WSK_PROVIDER_CONNECTION_DISPATCH*>(s->Dispatch);
}

PWSK_SOCKET make_socket(ULONG category, USHORT type, ULONG proto, PVOID context,
                        const VOID* dispatch) {
  Call c;
  const NTSTATUS st =
      c.wait(g_npi.Dispatch->WskSocket(g_npi.Client, AF_INET, type, proto, category, context,
                                       dispatch, nullptr, nullptr, nullptr, c.irp()));
  return NT_SUCCESS(st) ? reinterpret_cast<PWSK_SOCKET>(c.info()) : nullptr;
}

NTSTATUS close_socket(PWSK_SOCKET s) {
  Call c;
  return c.wait(
      static_cast<const WSK_PROVIDER_BASIC_DISPATCH*>(s->Dispatch)->WskCloseSocket(s, c.irp()));
}

// What the connection events of one accepted socket do.
enum class Mode { Retain, KeepButSucceed, AcceptTooMuch };

struct Events {
  KEVENT got;
  Mode mode;
  PWSK_DATA_INDICATION list;
  NTSTATUS disconnect_status;
};

NTSTATUS on_receive(PVOID context, ULONG flags, PWSK_DATA_INDICATION data, SIZE_T indicated,
                    SIZE_T* accepted) {
  (void)flags;
  auto* e = static_cast<Events*>(context);
  if (data == nullptr) return STATUS_SUCCESS;
  e->list = data;
  NTSTATUS st = STATUS_PENDING;
  if (e->mode == Mode::KeepButSucceed) {
    *accepted = indicated;  // bug: keeps the pointer although it returns STATUS_SUCCESS
    st = STATUS_SUCCESS;
  } else if (e->mode == Mode::AcceptTooMuch) {
    *accepted = indicated + 10;  // bug: more than was indicated
    st = STATUS_SUCCESS;
  }
  KeSetEvent(&e->got, IO_NO_INCREMENT, FALSE);
  return st;
}

NTSTATUS on_disconnect(PVOID context, ULONG flags) {
  (void)flags;
  auto* e = static_cast<Events*>(context);
  KeSetEvent(&e->got, IO_NO_INCREMENT, FALSE);
  return e->disconnect_status;  // WSK: must be STATUS_SUCCESS
}

const WSK_CLIENT_CONNECTION_DISPATCH kEvents = {on_receive, on_disconnect, nullptr};

bool wait_event(Events* e) {
  LARGE_INTEGER timeout;
  timeout.QuadPart = -5LL * 10 * 1000 * 1000;
  const bool ok =
      KeWaitForSingleObject(&e->got, Executive, KernelMode, FALSE, &timeout) == STATUS_SUCCESS;
  KeClearEvent(&e->got);
  return ok;
}

/// A connected pair over 127.0.0.1: the accepted socket has @p events as its context and
/// kEvents as its dispatch, with WSK_EVENT_RECEIVE and WSK_EVENT_DISCONNECT enabled.
struct Pair {
  PWSK_SOCKET listener = nullptr;
  PWSK_SOCKET client = nullptr;
  PWSK_SOCKET server = nullptr;

  bool open(Events* events) {
    listener = make_socket(WSK_FLAG_LISTEN_SOCKET, SOCK_STREAM, IPPROTO_TCP, nullptr, nullptr);
    client = make_socket(WSK_FLAG_CONNECTION_SOCKET, SOCK_STREAM, IPPROTO_TCP, nullptr, nullptr);
    if (listener == nullptr || client == nullptr) return false;
    Call c;
    Addr any = loopback(0);
    if (c.wait(listen_d(listener)->WskBind(listener, &any.sa, 0, c.irp())) != STATUS_SUCCESS) {
      return false;
    }
    Addr bound;
    memset(&bound, 0, sizeof(bound));
    c.wait(listen_d(listener)->WskGetLocalAddress(listener, &bound.sa, c.irp()));
    Call accept_call;
    const NTSTATUS ast = listen_d(listener)->WskAccept(listener, 0, events, &kEvents, nullptr,
                                                       nullptr, accept_call.irp());
    c.wait(conn_d(client)->WskBind(client, &any.sa, 0, c.irp()));
    if (c.wait(conn_d(client)->WskConnect(client, &bound.sa, 0, c.irp())) != STATUS_SUCCESS) {
      return false;
    }
    if (accept_call.wait(ast) != STATUS_SUCCESS) return false;
    server = reinterpret_cast<PWSK_SOCKET>(accept_call.info());
    WSK_EVENT_CALLBACK_CONTROL ctl = {const_cast<PNPIID>(&NPI_WSK_INTERFACE_ID),
                                      WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT};
    return conn_d(server)->Basic.WskControlSocket(server, WskSetOption, SO_WSK_EVENT_CALLBACK,
                                                  SOL_SOCKET, sizeof(ctl), &ctl, 0, nullptr,
                                                  nullptr, nullptr) == STATUS_SUCCESS;
  }
  bool send(const char* text) {
    static char data[64];
    const size_t n = strlen(text);
    memcpy(data, text, n);
    PMDL mdl = IoAllocateMdl(data, static_cast<ULONG>(n), FALSE, FALSE, nullptr);
    MmBuildMdlForNonPagedPool(mdl);
    WSK_BUF b = {mdl, 0, n};
    Call c;
    const NTSTATUS st = c.wait(conn_d(client)->WskSend(client, &b, 0, c.irp()));
    IoFreeMdl(mdl);
    return st == STATUS_SUCCESS;
  }
  void close() {
    if (client != nullptr) close_socket(client);
    if (server != nullptr) close_socket(server);
    if (listener != nullptr) close_socket(listener);
  }
};

void events_init(Events* e, Mode mode) {
  memset(e, 0, sizeof(*e));
  KeInitializeEvent(&e->got, NotificationEvent, FALSE);
  e->mode = mode;
  e->disconnect_status = STATUS_SUCCESS;
}

}  // namespace

int main() {
  UmwskSetVerifierMode(UmwskVerifierReport);
  UmwskResetViolations();
  const WSK_CLIENT_DISPATCH dispatch = {MAKE_WSK_VERSION(1, 0), 0, nullptr};
  WSK_CLIENT_NPI npi = {nullptr, &dispatch};
  WSK_REGISTRATION registration;
  memset(&registration, 0, sizeof(registration));
  if (WskRegister(&npi, &registration) != STATUS_SUCCESS ||
      WskCaptureProviderNPI(&registration, WSK_INFINITE_WAIT, &g_npi) != STATUS_SUCCESS) {
    printf("FAIL WskRegister / WskCaptureProviderNPI\n0 passed, 1 failed, 0 skipped\n");
    return 1;
  }

  // A socket used after its close completed.
  PWSK_SOCKET dead =
      make_socket(WSK_FLAG_DATAGRAM_SOCKET, SOCK_DGRAM, IPPROTO_UDP, nullptr, nullptr);
  check(dead != nullptr && close_socket(dead) == STATUS_SUCCESS, "a datagram socket, closed");
  {
    Call c;
    Addr any = loopback(0);
    const NTSTATUS st = c.wait(static_cast<const WSK_PROVIDER_DATAGRAM_DISPATCH*>(dead->Dispatch)
                                   ->WskBind(dead, &any.sa, 0, c.irp()));
    check(st == STATUS_INVALID_HANDLE, "WskBind after the close: STATUS_INVALID_HANDLE");
    reported("wsk.socket_used_after_close");
  }

  // Retained indications: released on the wrong socket, then twice; one never released.
  Events ea, eb;
  events_init(&ea, Mode::Retain);
  events_init(&eb, Mode::Retain);
  Pair a, b;
  check(a.open(&ea) && b.open(&eb), "two connected pairs with receive events");
  check(a.send("aaaa") && wait_event(&ea) && b.send("bbbb") && wait_event(&eb),
        "each accepted socket retained an indication (STATUS_PENDING)");
  NTSTATUS st = conn_d(b.server)->WskRelease(b.server, ea.list);
  check(st == STATUS_INVALID_PARAMETER, "WskRelease on the wrong socket: STATUS_INVALID_PARAMETER");
  reported("wsk.release_wrong_socket");
  check(conn_d(a.server)->WskRelease(a.server, ea.list) == STATUS_SUCCESS, "WskRelease (right)");
  st = conn_d(a.server)->WskRelease(a.server, ea.list);
  check(st == STATUS_INVALID_PARAMETER, "WskRelease twice: STATUS_INVALID_PARAMETER");
  reported("wsk.release_twice");
  // b's indication is never released: its close reports it.
  b.close();
  reported("wsk.close_with_retained_indications");

  // A list the event did not retain (it returned STATUS_SUCCESS), released anyway.
  ea.mode = Mode::KeepButSucceed;
  check(a.send("cccc") && wait_event(&ea), "an indication taken with STATUS_SUCCESS");
  // If the event has not returned yet, WskRelease cannot tell: the provider reports it when the
  // event returns STATUS_SUCCESS (after which the release is refused at once).
  st = conn_d(a.server)->WskRelease(a.server, ea.list);
  check(st == STATUS_INVALID_PARAMETER || st == STATUS_SUCCESS, "WskRelease of it");
  wait_report("wsk.release_not_retained");
  reported("wsk.release_not_retained");

  // BytesAccepted above BytesIndicated.
  ea.mode = Mode::AcceptTooMuch;
  check(a.send("dddd") && wait_event(&ea), "an event that accepts more than was indicated");
  // The report comes from the provider's side of the event, just after the callback returns.
  wait_report("wsk.receive_event_accepted_too_much");
  reported("wsk.receive_event_accepted_too_much");

  // A disconnect event that returns something else than STATUS_SUCCESS.
  ea.disconnect_status = STATUS_UNSUCCESSFUL;
  {
    Call c;
    check(
        c.wait(conn_d(a.client)->WskDisconnect(a.client, nullptr, 0, c.irp())) == STATUS_SUCCESS &&
            wait_event(&ea),
        "the peer disconnects: WskDisconnectEvent returns STATUS_UNSUCCESSFUL");
  }
  wait_report("wsk.event_bad_status");
  reported("wsk.event_bad_status");
  a.close();

  // A PASSIVE_LEVEL routine called at DISPATCH_LEVEL.
  {
    WCHAR text[] = L"127.0.0.1";
    UNICODE_STRING node = {static_cast<USHORT>(9 * sizeof(WCHAR)), sizeof(text), text};
    PADDRINFOEXW result = nullptr;
    Call c;
    PIRP irp = c.irp();
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    const NTSTATUS r = g_npi.Dispatch->WskGetAddressInfo(
        g_npi.Client, &node, nullptr, NS_ALL, nullptr, nullptr, &result, nullptr, nullptr, irp);
    KeLowerIrql(old);
    c.wait(r);
    if (result != nullptr) g_npi.Dispatch->WskFreeAddressInfo(g_npi.Client, result);
    reported("irql.wsk_above_passive");
  }

  WskReleaseProviderNPI(&registration);
  WskDeregister(&registration);
  check(UmwskViolationCount(nullptr) == 0, "no other report");
  UMWSK_COUNTERS counters;
  UmwskQueryCounters(&counters);
  check(counters.PoolAllocations == 0 && counters.Mdls == 0 && counters.Irps == 0 &&
            counters.Sockets == 0 && counters.RetainedIndications == 0,
        "counters and pool back to zero after WskDeregister");
  printf("%d passed, %d failed, 0 skipped\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
