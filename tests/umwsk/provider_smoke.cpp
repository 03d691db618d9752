// SPDX-License-Identifier: MIT
// provider_smoke.cpp: a raw WSK client (wsk.h, IRPs, MDLs; no xwsk API, no Linux socket header)
// over the user-mode WSK provider of libxwsk_umwsk. It registers, captures the provider NPI and,
// over 127.0.0.1 and ::1: creates a listening socket and a connection socket (WskSocket + WskBind
// + WskConnect over IPv4, WskSocketConnect over IPv6), accepts, sends and receives in both
// directions (a chained MDL one way, WSK_FLAG_WAITALL), takes data through WskReceiveEvent at
// DISPATCH_LEVEL and retains it (STATUS_PENDING, then WskRelease), disconnects gracefully and
// sees the peer's receive complete with 0 bytes, closes; a datagram round trip (WskSendTo /
// WskReceiveFrom with the sender's address); bad calls (null IRP, released twice, capture after
// WskDeregister began); then deregisters and checks the runtime's counters are back to zero.
//
// Prints one line per check and closes with "N passed, N failed, N skipped"; exits non-zero on
// any failure. Every wait is bounded (5 s).
#include <stdio.h>
#include <string.h>

// clang-format off
#include <ntddk.h>
#include <wsk.h>
#include <umwsk.h>
// clang-format on

#include "raw_client.h"

namespace {

constexpr ULONG kTag = 0x536d7354;  // "TsmS"

/// A buffer described by one MDL.
struct Buffer {
  explicit Buffer(size_t n) : size(n) {
    data = static_cast<char*>(ExAllocatePoolWithTag(NonPagedPoolNx, n, kTag));
    mdl = IoAllocateMdl(data, static_cast<ULONG>(n), FALSE, FALSE, nullptr);
    MmBuildMdlForNonPagedPool(mdl);
    memset(data, 0, n);
  }
  ~Buffer() {
    IoFreeMdl(mdl);
    ExFreePoolWithTag(data, kTag);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  WSK_BUF wsk(ULONG offset, SIZE_T length) const { return WSK_BUF{mdl, offset, length}; }
  char* data;
  size_t size;
  PMDL mdl;
};

// ---- the client ---------------------------------------------------------------------------------

const WSK_CLIENT_DISPATCH kClientDispatch = {MAKE_WSK_VERSION(1, 0), 0, nullptr};

WSK_PROVIDER_NPI g_npi;

const WSK_PROVIDER_BASIC_DISPATCH* basic(PWSK_SOCKET s) {
  return static_cast<const WSK_PROVIDER_BASIC_DISPATCH*>(s->Dispatch);
}
const WSK_PROVIDER_LISTEN_DISPATCH* listen_d(PWSK_SOCKET s) {
  return static_cast<const WSK_PROVIDER_LISTEN_DISPATCH*>(s->Dispatch);
}
const WSK_PROVIDER_CONNECTION_DISPATCH* conn_d(PWSK_SOCKET s) {
  return static_cast<const WSK_PROVIDER_CONNECTION_DISPATCH*>(s->Dispatch);
}
const WSK_PROVIDER_DATAGRAM_DISPATCH* dgram_d(PWSK_SOCKET s) {
  return static_cast<const WSK_PROVIDER_DATAGRAM_DISPATCH*>(s->Dispatch);
}

union Addr {
  SOCKADDR sa;
  SOCKADDR_IN in;
  SOCKADDR_IN6 in6;
};

Addr loopback(ADDRESS_FAMILY af, USHORT port) {
  Addr a;
  memset(&a, 0, sizeof(a));
  if (af == AF_INET) {
    a.in.sin_family = AF_INET;
    a.in.sin_port = swap16(port);
    a.in.sin_addr.s_addr = 0x0100007f;  // 127.0.0.1 in network byte order
  } else {
    a.in6.sin6_family = AF_INET6;
    a.in6.sin6_port = swap16(port);
    a.in6.sin6_addr.s6_addr[15] = 1;
  }
  return a;
}

USHORT port_of(const Addr& a) {
  return swap16(a.sa.sa_family == AF_INET ? a.in.sin_port : a.in6.sin6_port);
}

PWSK_SOCKET make_socket(ADDRESS_FAMILY af, USHORT type, ULONG proto, ULONG flags, PVOID context,
                        const VOID* dispatch) {
  Call c;
  const NTSTATUS st = c.wait(g_npi.Dispatch->WskSocket(
      g_npi.Client, af, type, proto, flags, context, dispatch, nullptr, nullptr, nullptr, c.irp()));
  return NT_SUCCESS(st) ? reinterpret_cast<PWSK_SOCKET>(c.info()) : nullptr;
}

NTSTATUS close_socket(PWSK_SOCKET s) {
  Call c;
  return c.wait(basic(s)->WskCloseSocket(s, c.irp()));
}

// Receive event state of the accepted socket in the event test.
struct EventState {
  KEVENT got;
  PWSK_SOCKET socket;
  PWSK_DATA_INDICATION retained;
  ULONG flags;
  KIRQL irql;
  char bytes[16];
  SIZE_T length;
  bool take_all;  // return STATUS_SUCCESS without setting BytesAccepted (WSK: "all taken")
  LONG events;
};

NTSTATUS on_receive_event(PVOID context, ULONG flags, PWSK_DATA_INDICATION data, SIZE_T indicated,
                          SIZE_T* accepted) {
  auto* e = static_cast<EventState*>(context);
  if (data == nullptr) return STATUS_SUCCESS;
  e->flags = flags;
  e->irql = KeGetCurrentIrql();
  const WSK_BUF& b = data->Buffer;
  const char* p = static_cast<const char*>(MmGetSystemAddressForMdlSafe(b.Mdl, NormalPagePriority));
  const SIZE_T n = b.Length < sizeof(e->bytes) ? b.Length : sizeof(e->bytes);
  if (p != nullptr && b.Offset + n <= MmGetMdlByteCount(b.Mdl)) memcpy(e->bytes, p + b.Offset, n);
  e->length = indicated;
  InterlockedIncrement(&e->events);
  (void)accepted;  // never set: WSK lets a client that takes everything leave it alone
  if (e->take_all) {
    KeSetEvent(&e->got, IO_NO_INCREMENT, FALSE);
    return STATUS_SUCCESS;
  }
  e->retained = data;
  KeSetEvent(&e->got, IO_NO_INCREMENT, FALSE);
  return STATUS_PENDING;  // kept: released with WskRelease by the test thread
}

const WSK_CLIENT_CONNECTION_DISPATCH kEventDispatch = {on_receive_event, nullptr, nullptr};

void tcp_round_trip(ADDRESS_FAMILY af) {
  const char* fam = af == AF_INET ? "IPv4" : "IPv6";
  char what[160];
  PWSK_SOCKET listener =
      make_socket(af, SOCK_STREAM, IPPROTO_TCP, WSK_FLAG_LISTEN_SOCKET, nullptr, nullptr);
  snprintf(what, sizeof(what), "%s: WskSocket (listen)", fam);
  check(listener != nullptr, what);
  if (listener == nullptr) return;
  Addr local = loopback(af, 0);
  Call c;
  NTSTATUS st = c.wait(listen_d(listener)->WskBind(listener, &local.sa, 0, c.irp()));
  snprintf(what, sizeof(what), "%s: WskBind (listen) -> 0x%08x", fam, static_cast<unsigned>(st));
  check(st == STATUS_SUCCESS, what);
  Addr bound;
  memset(&bound, 0, sizeof(bound));
  st = c.wait(listen_d(listener)->WskGetLocalAddress(listener, &bound.sa, c.irp()));
  snprintf(what, sizeof(what), "%s: WskGetLocalAddress -> port %u", fam, port_of(bound));
  check(st == STATUS_SUCCESS && bound.sa.sa_family == af && port_of(bound) != 0, what);

  // Accept first (pending), then connect.
  Call accept_call;
  Addr accepted_remote;
  memset(&accepted_remote, 0, sizeof(accepted_remote));
  EventState ev;
  memset(&ev, 0, sizeof(ev));
  KeInitializeEvent(&ev.got, NotificationEvent, FALSE);
  const NTSTATUS ast = listen_d(listener)->WskAccept(listener, 0, &ev, &kEventDispatch, nullptr,
                                                     &accepted_remote.sa, accept_call.irp());

  PWSK_SOCKET client = nullptr;
  Addr target = loopback(af, port_of(bound));
  if (af == AF_INET) {
    client =
        make_socket(af, SOCK_STREAM, IPPROTO_TCP, WSK_FLAG_CONNECTION_SOCKET, nullptr, nullptr);
    check(client != nullptr, "IPv4: WskSocket (connection)");
    if (client == nullptr) return;
    Addr any = loopback(af, 0);
    st = c.wait(conn_d(client)->WskBind(client, &any.sa, 0, c.irp()));
    check(st == STATUS_SUCCESS, "IPv4: WskBind (connection)");
    st = c.wait(conn_d(client)->WskConnect(client, &target.sa, 0, c.irp()));
    snprintf(what, sizeof(what), "IPv4: WskConnect -> 0x%08x", static_cast<unsigned>(st));
    check(st == STATUS_SUCCESS, what);
  } else {
    Addr any = loopback(af, 0);
    st = c.wait(g_npi.Dispatch->WskSocketConnect(g_npi.Client, SOCK_STREAM, IPPROTO_TCP, &any.sa,
                                                 &target.sa, 0, nullptr, nullptr, nullptr, nullptr,
                                                 nullptr, c.irp()));
    snprintf(what, sizeof(what), "IPv6: WskSocketConnect -> 0x%08x", static_cast<unsigned>(st));
    check(st == STATUS_SUCCESS && c.info() != 0, what);
    client = reinterpret_cast<PWSK_SOCKET>(c.info());
    if (client == nullptr) return;
  }
  st = accept_call.wait(ast);
  auto* server = reinterpret_cast<PWSK_SOCKET>(accept_call.info());
  snprintf(what, sizeof(what), "%s: WskAccept -> 0x%08x, remote family %u", fam,
           static_cast<unsigned>(st), accepted_remote.sa.sa_family);
  check(st == STATUS_SUCCESS && server != nullptr && accepted_remote.sa.sa_family == af, what);
  if (server == nullptr) return;
  ev.socket = server;

  // client -> server, WAITALL receive.
  Buffer out(64), in(64);
  memcpy(out.data, "hello, wsk", 10);
  WSK_BUF ob = out.wsk(0, 10);
  st = c.wait(conn_d(client)->WskSend(client, &ob, 0, c.irp()));
  check(st == STATUS_SUCCESS && c.info() == 10, "WskSend 10 bytes");
  WSK_BUF ib = in.wsk(0, 10);
  st = c.wait(conn_d(server)->WskReceive(server, &ib, WSK_FLAG_WAITALL, c.irp()));
  check(st == STATUS_SUCCESS && c.info() == 10 && memcmp(in.data, "hello, wsk", 10) == 0,
        "WskReceive (WAITALL) got the 10 bytes");

  // server -> client over a chained MDL (3 bytes + 5 bytes, offset 1 in the first MDL).
  Buffer part1(4), part2(5);
  memcpy(part1.data, "xabc", 4);
  memcpy(part2.data, "defgh", 5);
  part1.mdl->Next = part2.mdl;
  WSK_BUF chain = part1.wsk(1, 8);
  st = c.wait(conn_d(server)->WskSend(server, &chain, 0, c.irp()));
  part1.mdl->Next = nullptr;
  check(st == STATUS_SUCCESS && c.info() == 8, "WskSend over a chained MDL (8 bytes)");
  memset(in.data, 0, in.size);
  ib = in.wsk(0, 8);
  st = c.wait(conn_d(client)->WskReceive(client, &ib, WSK_FLAG_WAITALL, c.irp()));
  check(st == STATUS_SUCCESS && c.info() == 8 && memcmp(in.data, "abcdefgh", 8) == 0,
        "WskReceive of the chained send");

  // The receive event on the accepted socket: at DISPATCH_LEVEL, retained, released.
  WSK_EVENT_CALLBACK_CONTROL ctl = {const_cast<PNPIID>(&NPI_WSK_INTERFACE_ID), WSK_EVENT_RECEIVE};
  st = basic(server)->WskControlSocket(server, WskSetOption, SO_WSK_EVENT_CALLBACK, SOL_SOCKET,
                                       sizeof(ctl), &ctl, 0, nullptr, nullptr, nullptr);
  check(st == STATUS_SUCCESS, "SO_WSK_EVENT_CALLBACK (WSK_EVENT_RECEIVE) without an IRP");
  memcpy(out.data, "event", 5);
  ob = out.wsk(0, 5);
  st = c.wait(conn_d(client)->WskSend(client, &ob, 0, c.irp()));
  LARGE_INTEGER timeout;
  timeout.QuadPart = -5LL * 10 * 1000 * 1000;
  const bool got =
      KeWaitForSingleObject(&ev.got, Executive, KernelMode, FALSE, &timeout) == STATUS_SUCCESS;
  check(got && ev.length == 5 && memcmp(ev.bytes, "event", 5) == 0, "WskReceiveEvent got 5 bytes");
  check(got && (ev.flags & WSK_FLAG_AT_DISPATCH_LEVEL) != 0 && ev.irql == DISPATCH_LEVEL,
        "WskReceiveEvent ran at DISPATCH_LEVEL with WSK_FLAG_AT_DISPATCH_LEVEL");
  if (got) {
    // The callback may still be returning STATUS_PENDING: the count follows within 1 s.
    UMWSK_COUNTERS counters;
    for (int i = 0; i < 100; ++i) {
      UmwskQueryCounters(&counters);
      if (counters.RetainedIndications == 1) break;
      LARGE_INTEGER delay;
      delay.QuadPart = -10LL * 10 * 1000;  // 10 ms
      KeDelayExecutionThread(KernelMode, FALSE, &delay);
    }
    check(counters.RetainedIndications == 1, "one retained indication counted");
    st = conn_d(server)->WskRelease(server, ev.retained);
    check(st == STATUS_SUCCESS, "WskRelease of the retained indication");
    // Taken whole with STATUS_SUCCESS and BytesAccepted left alone: the provider counts all of it
    // as taken, so the next data comes through the event again (not held for a WskReceive).
    ev.take_all = true;
    bool both = true;
    for (int round = 0; round < 2 && both; ++round) {
      KeClearEvent(&ev.got);
      memcpy(out.data, round == 0 ? "more1" : "more2", 5);
      ob = out.wsk(0, 5);
      st = c.wait(conn_d(client)->WskSend(client, &ob, 0, c.irp()));
      both = st == STATUS_SUCCESS &&
             KeWaitForSingleObject(&ev.got, Executive, KernelMode, FALSE, &timeout) ==
                 STATUS_SUCCESS &&
             memcmp(ev.bytes, round == 0 ? "more1" : "more2", 5) == 0;
    }
    check(both, "two more WskReceiveEvents after one that took all without BytesAccepted");
  }

  // Graceful disconnect: the server's receive completes with 0 bytes.
  ctl.EventMask = WSK_EVENT_RECEIVE | WSK_EVENT_DISABLE;
  st = basic(server)->WskControlSocket(server, WskSetOption, SO_WSK_EVENT_CALLBACK, SOL_SOCKET,
                                       sizeof(ctl), &ctl, 0, nullptr, nullptr, nullptr);
  check(st == STATUS_SUCCESS, "SO_WSK_EVENT_CALLBACK disables WSK_EVENT_RECEIVE");
  st = c.wait(conn_d(client)->WskDisconnect(client, nullptr, 0, c.irp()));
  check(st == STATUS_SUCCESS, "WskDisconnect (graceful)");
  ib = in.wsk(0, 64);
  st = c.wait(conn_d(server)->WskReceive(server, &ib, 0, c.irp()));
  check(st == STATUS_SUCCESS && c.info() == 0, "WskReceive after the peer's FIN: 0 bytes");

  // A pending receive is cancelled by WskCloseSocket.
  Call pending;
  const NTSTATUS pst = conn_d(client)->WskReceive(client, &ib, 0, pending.irp());
  check(pst == STATUS_PENDING, "WskReceive with nothing to read is pending");
  check(close_socket(client) == STATUS_SUCCESS, "WskCloseSocket (client)");
  st = pending.wait(pst);
  check(st == STATUS_CANCELLED, "the pending receive completed with STATUS_CANCELLED");
  check(close_socket(server) == STATUS_SUCCESS, "WskCloseSocket (accepted)");
  check(close_socket(listener) == STATUS_SUCCESS, "WskCloseSocket (listener)");
}

void datagram_round_trip(ADDRESS_FAMILY af) {
  const char* fam = af == AF_INET ? "IPv4" : "IPv6";
  char what[160];
  PWSK_SOCKET a =
      make_socket(af, SOCK_DGRAM, IPPROTO_UDP, WSK_FLAG_DATAGRAM_SOCKET, nullptr, nullptr);
  PWSK_SOCKET b =
      make_socket(af, SOCK_DGRAM, IPPROTO_UDP, WSK_FLAG_DATAGRAM_SOCKET, nullptr, nullptr);
  snprintf(what, sizeof(what), "%s: two datagram sockets", fam);
  check(a != nullptr && b != nullptr, what);
  if (a == nullptr || b == nullptr) return;
  Call c;
  Addr la = loopback(af, 0), lb = loopback(af, 0);
  check(c.wait(dgram_d(a)->WskBind(a, &la.sa, 0, c.irp())) == STATUS_SUCCESS &&
            c.wait(dgram_d(b)->WskBind(b, &lb.sa, 0, c.irp())) == STATUS_SUCCESS,
        "datagram WskBind x2");
  Addr pa, pb;
  memset(&pa, 0, sizeof(pa));
  memset(&pb, 0, sizeof(pb));
  c.wait(dgram_d(a)->WskGetLocalAddress(a, &pa.sa, c.irp()));
  c.wait(dgram_d(b)->WskGetLocalAddress(b, &pb.sa, c.irp()));
  Buffer out(32), in(32);
  memcpy(out.data, "datagram", 8);
  WSK_BUF ob = out.wsk(0, 8);
  Addr to = loopback(af, port_of(pb));
  NTSTATUS st = c.wait(dgram_d(a)->WskSendTo(a, &ob, 0, &to.sa, 0, nullptr, c.irp()));
  check(st == STATUS_SUCCESS && c.info() == 8, "WskSendTo 8 bytes");
  WSK_BUF ib = in.wsk(0, 32);
  Addr from;
  memset(&from, 0, sizeof(from));
  ULONG control_flags = 0;
  st = c.wait(
      dgram_d(b)->WskReceiveFrom(b, &ib, 0, &from.sa, nullptr, nullptr, &control_flags, c.irp()));
  snprintf(what, sizeof(what), "%s: WskReceiveFrom 8 bytes from port %u", fam, port_of(from));
  check(st == STATUS_SUCCESS && c.info() == 8 && memcmp(in.data, "datagram", 8) == 0 &&
            from.sa.sa_family == af && port_of(from) == port_of(pa),
        what);
  check(close_socket(a) == STATUS_SUCCESS && close_socket(b) == STATUS_SUCCESS,
        "datagram WskCloseSocket x2");
}

// WskGetAddressInfo / WskGetNameInfo with L"..." UNICODE_STRINGs, and the transport list.
void names_and_transports() {
  WCHAR node_text[] = L"127.0.0.1";  // numeric: no dependence on the host's resolver
  WCHAR service_text[] = L"4321";
  UNICODE_STRING node = {static_cast<USHORT>(9 * sizeof(WCHAR)), sizeof(node_text), node_text};
  UNICODE_STRING service = {static_cast<USHORT>(4 * sizeof(WCHAR)), sizeof(service_text),
                            service_text};
  ADDRINFOEXW hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  PADDRINFOEXW result = nullptr;
  Call c;
  NTSTATUS st = c.wait(g_npi.Dispatch->WskGetAddressInfo(
      g_npi.Client, &node, &service, NS_ALL, nullptr, &hints, &result, nullptr, nullptr, c.irp()));
  bool found = false;
  for (PADDRINFOEXW a = result; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET && a->ai_addr != nullptr && a->ai_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const SOCKADDR_IN*>(a->ai_addr);
      found = found || (swap16(in->sin_port) == 4321 && in->sin_addr.s_addr == 0x0100007f);
    }
  }
  check(st == STATUS_SUCCESS && found,
        "WskGetAddressInfo(L\"127.0.0.1\", L\"4321\"): 127.0.0.1:4321 in the ADDRINFOEXW list");
  if (result != nullptr) g_npi.Dispatch->WskFreeAddressInfo(g_npi.Client, result);

  Addr a = loopback(AF_INET, 4321);
  WCHAR host[NI_MAXHOST];
  WCHAR serv[NI_MAXSERV];
  UNICODE_STRING host_s = {0, sizeof(host), host};
  UNICODE_STRING serv_s = {0, sizeof(serv), serv};
  st = c.wait(g_npi.Dispatch->WskGetNameInfo(g_npi.Client, &a.sa, sizeof(a.in), &host_s, &serv_s,
                                             NI_NUMERICHOST | NI_NUMERICSERV, nullptr, nullptr,
                                             c.irp()));
  check(st == STATUS_SUCCESS && host_s.Length == 9 * sizeof(WCHAR) &&
            memcmp(host, L"127.0.0.1", 9 * sizeof(WCHAR)) == 0 &&
            serv_s.Length == 4 * sizeof(WCHAR) && memcmp(serv, L"4321", 4 * sizeof(WCHAR)) == 0,
        "WskGetNameInfo(NI_NUMERICHOST | NI_NUMERICSERV): L\"127.0.0.1\", L\"4321\"");

  SIZE_T needed = 0;
  st = g_npi.Dispatch->WskControlClient(g_npi.Client, WSK_TRANSPORT_LIST_QUERY, 0, nullptr, 0,
                                        nullptr, &needed, nullptr);
  check(st == STATUS_BUFFER_OVERFLOW && needed >= 3 * sizeof(WSK_TRANSPORT) &&
            needed % sizeof(WSK_TRANSPORT) == 0,
        "WSK_TRANSPORT_LIST_QUERY without a buffer: STATUS_BUFFER_OVERFLOW and the size needed");
  WSK_TRANSPORT transports[8];
  SIZE_T got = 0;
  st = g_npi.Dispatch->WskControlClient(g_npi.Client, WSK_TRANSPORT_LIST_QUERY, 0, nullptr,
                                        sizeof(transports), transports, &got, nullptr);
  bool tcp4 = false;
  for (SIZE_T i = 0; i < got / sizeof(WSK_TRANSPORT); ++i) {
    tcp4 =
        tcp4 || (transports[i].AddressFamily == AF_INET &&
                 transports[i].SocketType == SOCK_STREAM && transports[i].Protocol == IPPROTO_TCP);
  }
  check(st == STATUS_SUCCESS && got == needed && tcp4,
        "WSK_TRANSPORT_LIST_QUERY: the list holds AF_INET / SOCK_STREAM / IPPROTO_TCP");
}

// WskDeregister waits for a capture still held; a capture tried meanwhile fails with
// STATUS_DEVICE_NOT_READY; releasing the held capture lets WskDeregister return.
struct LateRelease {
  PWSK_REGISTRATION registration;
  NTSTATUS capture_during_deregister;
  LONG released;
};

void late_release(PVOID context) {
  auto* l = static_cast<LateRelease*>(context);
  LARGE_INTEGER delay;
  delay.QuadPart = -200LL * 10 * 1000;  // 200 ms: WskDeregister is waiting by then
  KeDelayExecutionThread(KernelMode, FALSE, &delay);
  WSK_PROVIDER_NPI npi;
  l->capture_during_deregister = WskCaptureProviderNPI(l->registration, WSK_NO_WAIT, &npi);
  InterlockedExchange(&l->released, 1);
  WskReleaseProviderNPI(l->registration);
}

}  // namespace

int main() {
  WSK_CLIENT_NPI client_npi = {nullptr, &kClientDispatch};
  WSK_REGISTRATION registration;
  memset(&registration, 0, sizeof(registration));
  NTSTATUS st = WskRegister(&client_npi, &registration);
  check(st == STATUS_SUCCESS, "WskRegister");
  if (st != STATUS_SUCCESS) return 1;
  WSK_PROVIDER_CHARACTERISTICS pc = {0, 0};
  st = WskQueryProviderCharacteristics(&registration, &pc);
  check(st == STATUS_SUCCESS && pc.HighestVersion == MAKE_WSK_VERSION(1, 0),
        "WskQueryProviderCharacteristics: version 1.0");
  st = WskCaptureProviderNPI(&registration, WSK_INFINITE_WAIT, &g_npi);
  check(st == STATUS_SUCCESS && g_npi.Dispatch != nullptr, "WskCaptureProviderNPI");
  if (st != STATUS_SUCCESS) return 1;

  // A provider function without an IRP returns an error instead of crashing.
  st = g_npi.Dispatch->WskSocket(g_npi.Client, AF_INET, SOCK_STREAM, IPPROTO_TCP,
                                 WSK_FLAG_CONNECTION_SOCKET, nullptr, nullptr, nullptr, nullptr,
                                 nullptr, nullptr);
  check(st == STATUS_INVALID_PARAMETER, "WskSocket with a null IRP: STATUS_INVALID_PARAMETER");
  {
    Call c;
    st = c.wait(g_npi.Dispatch->WskSocket(g_npi.Client, AF_INET, SOCK_STREAM, IPPROTO_TCP, 0x40,
                                          nullptr, nullptr, nullptr, nullptr, nullptr, c.irp()));
    check(st == STATUS_INVALID_PARAMETER && c.info() == 0,
          "WskSocket with an unknown category completes the IRP with STATUS_INVALID_PARAMETER");
  }

  names_and_transports();
  tcp_round_trip(AF_INET);
  tcp_round_trip(AF_INET6);
  datagram_round_trip(AF_INET);
  datagram_round_trip(AF_INET6);

  // A second capture, released by another thread while WskDeregister waits.
  WSK_PROVIDER_NPI second;
  st = WskCaptureProviderNPI(&registration, WSK_NO_WAIT, &second);
  check(st == STATUS_SUCCESS, "a second WskCaptureProviderNPI (WSK_NO_WAIT)");
  WskReleaseProviderNPI(&registration);
  LateRelease late = {&registration, STATUS_SUCCESS, 0};
  HANDLE thread = nullptr;
  st = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, late_release,
                            &late);
  check(st == STATUS_SUCCESS, "PsCreateSystemThread for the late release");
  WskDeregister(&registration);
  check(InterlockedCompareExchange(&late.released, 0, 0) == 1,
        "WskDeregister returned only after the last capture was released");
  check(late.capture_during_deregister == STATUS_DEVICE_NOT_READY,
        "WskCaptureProviderNPI while WskDeregister waits: STATUS_DEVICE_NOT_READY");
  if (thread != nullptr) {
    PVOID object = nullptr;
    if (NT_SUCCESS(ObReferenceObjectByHandle(thread, SYNCHRONIZE, *PsThreadType, KernelMode,
                                             &object, nullptr))) {
      KeWaitForSingleObject(object, Executive, KernelMode, FALSE, nullptr);
      ObDereferenceObject(object);
    }
    ZwClose(thread);
  }
  st = WskCaptureProviderNPI(&registration, WSK_NO_WAIT, &g_npi);
  check(st == STATUS_DEVICE_NOT_READY,
        "WskCaptureProviderNPI after WskDeregister: STATUS_DEVICE_NOT_READY");

  UMWSK_COUNTERS counters;
  UmwskQueryCounters(&counters);
  char what[200];
  snprintf(what, sizeof(what),
           "counters back to zero (pool %d, irps %d, mdls %d, sockets %d, retained %d, "
           "registrations %d, captures %d)",
           static_cast<int>(counters.PoolAllocations), static_cast<int>(counters.Irps),
           static_cast<int>(counters.Mdls), static_cast<int>(counters.Sockets),
           static_cast<int>(counters.RetainedIndications), static_cast<int>(counters.Registrations),
           static_cast<int>(counters.Captures));
  check(counters.PoolAllocations == 0 && counters.Irps == 0 && counters.Mdls == 0 &&
            counters.Sockets == 0 && counters.RetainedIndications == 0 &&
            counters.Registrations == 0 && counters.Captures == 0,
        what);
  printf("%d passed, %d failed, 0 skipped\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
