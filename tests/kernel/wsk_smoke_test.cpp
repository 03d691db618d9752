// SPDX-License-Identifier: MIT
// wsk.smoke.loopback_tcp: one end-to-end case written directly against raw
// WSK (no xwsk code), proving the kernel test chain works: the driver loads,
// WSK registration works, and a TCP loopback connection carries data both
// ways through the provider (under Wine: netio.sys).
//
// Every WSK call gets its own IRP (IoAllocateIrp) with a completion routine
// that signals an event and returns STATUS_MORE_PROCESSING_REQUIRED, so the
// IRP stays ours to reuse or free. The case then waits on the event with
// KeWaitForSingleObject. That makes each call synchronous, which is only
// legal at PASSIVE_LEVEL: fine here, because test cases run at PASSIVE_LEVEL
// in the IOCTL caller's thread. Backend code must not do this.
//
// Wine 8 limits shape the case (backends/wsk/NOTES.md): WskGetLocalAddress is
// a stub, so the listening socket binds a fixed 127.0.0.1 port (scanning a
// few in case one is taken) instead of port 0; everything else is plain WSK.
#include <new>

#include "ktest_registry.h"
#include "pool_tags.h"
#include "wsk_ddk.h"

namespace xwsk::ktest {
namespace {

// Relative timeouts in 100 ns units (negative = relative).
constexpr LONGLONG kOpTimeout = -10LL * 1000 * 1000 * 10;     // 10 s per WSK call
constexpr LONGLONG kCancelTimeout = -10LL * 1000 * 1000 * 5;  // 5 s after IoCancelIrp
constexpr ULONG kCaptureNpiTimeoutMs = 5000;
constexpr USHORT kPortBase = 41000;
constexpr USHORT kPortSpan = 4000;
constexpr int kBindAttempts = 16;
constexpr SIZE_T kBufferSize = 256;

constexpr char kClientMessage[] = "xwsk smoke: client -> server";
constexpr char kServerMessage[] = "xwsk smoke: server -> client, a little longer";

constexpr WSK_CLIENT_DISPATCH kClientDispatch = {MAKE_WSK_VERSION(1, 0), 0, nullptr};
constexpr WSK_CLIENT_LISTEN_DISPATCH kListenDispatch = {nullptr, nullptr, nullptr};
constexpr WSK_CLIENT_CONNECTION_DISPATCH kConnectionDispatch = {nullptr, nullptr, nullptr};

USHORT host_to_net16(USHORT v) {
  return static_cast<USHORT>((v >> 8) | (v << 8));
}

SOCKADDR_IN ipv4(ULONG a, ULONG b, ULONG c, ULONG d, USHORT port) {
  SOCKADDR_IN addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = host_to_net16(port);
  // Network byte order: first octet lowest in memory.
  addr.sin_addr.s_addr = a | (b << 8) | (c << 16) | (d << 24);
  return addr;
}

// One IRP + event for one WSK call at a time. Pool-allocated: if the provider
// never completes the IRP (even after IoCancelIrp) the op is leaked instead of
// freed under the provider's feet.
struct WskOp {
  KEVENT event;
  IRP* irp;
  bool leaked;
};

NTSTATUS WINAPI op_completion(DEVICE_OBJECT*, IRP*, void* context) {
  KeSetEvent(static_cast<KEVENT*>(context), IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

WskOp* op_create() {
  auto* op = new (std::nothrow) WskOp{};
  if (op == nullptr) {
    return nullptr;
  }
  op->irp = IoAllocateIrp(1, FALSE);
  if (op->irp == nullptr) {
    delete op;
    return nullptr;
  }
  KeInitializeEvent(&op->event, NotificationEvent, FALSE);
  IoSetCompletionRoutine(op->irp, op_completion, &op->event, TRUE, TRUE, TRUE);
  return op;
}

// Makes the IRP ready for the next call.
IRP* op_irp(WskOp* op) {
  KeClearEvent(&op->event);
  IoReuseIrp(op->irp, STATUS_UNSUCCESSFUL);
  IoSetCompletionRoutine(op->irp, op_completion, &op->event, TRUE, TRUE, TRUE);
  return op->irp;
}

// The final status of a call that was given op's IRP. A provider completes
// the IRP whatever it returns, but only STATUS_PENDING needs a wait.
NTSTATUS op_wait(WskOp* op, NTSTATUS call_status) {
  if (call_status != STATUS_PENDING) {
    return call_status;
  }
  LARGE_INTEGER timeout;
  timeout.QuadPart = kOpTimeout;
  NTSTATUS wait = KeWaitForSingleObject(&op->event, Executive, KernelMode, FALSE, &timeout);
  if (wait == STATUS_TIMEOUT) {
    IoCancelIrp(op->irp);
    timeout.QuadPart = kCancelTimeout;
    wait = KeWaitForSingleObject(&op->event, Executive, KernelMode, FALSE, &timeout);
    if (wait == STATUS_TIMEOUT) {
      op->leaked = true;  // the provider still owns the IRP
      return STATUS_IO_TIMEOUT;
    }
  }
  return op->irp->IoStatus.Status;
}

void op_destroy(WskOp* op) {
  if (op == nullptr || op->leaked) {
    return;
  }
  IoFreeIrp(op->irp);
  delete op;
}

// A non-paged buffer described by an MDL.
struct MdlBuffer {
  char* data;
  MDL* mdl;
};

bool buffer_create(MdlBuffer& b) {
  b.data = new (std::nothrow) char[kBufferSize];
  if (b.data == nullptr) {
    return false;
  }
  RtlZeroMemory(b.data, kBufferSize);
  b.mdl = IoAllocateMdl(b.data, static_cast<ULONG>(kBufferSize), FALSE, FALSE, nullptr);
  if (b.mdl == nullptr) {
    return false;
  }
  MmBuildMdlForNonPagedPool(b.mdl);
  return true;
}

void buffer_destroy(MdlBuffer& b) {
  if (b.mdl != nullptr) {
    IoFreeMdl(b.mdl);
  }
  delete[] b.data;
  b = {};
}

const WSK_PROVIDER_BASIC_DISPATCH* basic(WSK_SOCKET* s) {
  return static_cast<const WSK_PROVIDER_BASIC_DISPATCH*>(s->Dispatch);
}
const WSK_PROVIDER_LISTEN_DISPATCH* listen_dispatch(WSK_SOCKET* s) {
  return static_cast<const WSK_PROVIDER_LISTEN_DISPATCH*>(s->Dispatch);
}
const WSK_PROVIDER_CONNECTION_DISPATCH* connection_dispatch(WSK_SOCKET* s) {
  return static_cast<const WSK_PROVIDER_CONNECTION_DISPATCH*>(s->Dispatch);
}

struct Smoke {
  WSK_CLIENT_NPI client_npi;  // must outlive the registration
  WSK_REGISTRATION registration;
  WSK_PROVIDER_NPI provider;
  bool registered;
  bool captured;
  WskOp* op;         // sequential calls
  WskOp* accept_op;  // the accept, outstanding while connecting
  bool accept_issued;
  WSK_SOCKET* listener;
  WSK_SOCKET* client;
  WSK_SOCKET* server;  // accepted
  MdlBuffer send_buf;
  MdlBuffer recv_buf;
  SOCKADDR_IN listen_addr;
  SOCKADDR_IN accept_local;
  SOCKADDR_IN accept_remote;
};

NTSTATUS create_socket(Smoke& s, ULONG flags, const void* dispatch, WSK_SOCKET** out) {
  const NTSTATUS call =
      s.provider.Dispatch->WskSocket(s.provider.Client, AF_INET, SOCK_STREAM, IPPROTO_TCP, flags,
                                     &s, dispatch, nullptr, nullptr, nullptr, op_irp(s.op));
  const NTSTATUS status = op_wait(s.op, call);
  if (NT_SUCCESS(status)) {
    *out = reinterpret_cast<WSK_SOCKET*>(s.op->irp->IoStatus.Information);
    if (*out == nullptr) {
      return STATUS_UNSUCCESSFUL;
    }
  }
  return status;
}

NTSTATUS close_socket(Smoke& s, WSK_SOCKET*& sock) {
  if (sock == nullptr) {
    return STATUS_SUCCESS;
  }
  const NTSTATUS status = op_wait(s.op, basic(sock)->WskCloseSocket(sock, op_irp(s.op)));
  sock = nullptr;
  return status;
}

// Sends all of `text` from `sock`.
NTSTATUS send_all(Smoke& s, WSK_SOCKET* sock, const char* text, SIZE_T len, ULONG_PTR* sent) {
  RtlCopyMemory(s.send_buf.data, text, len);
  WSK_BUF buf{s.send_buf.mdl, 0, len};
  const NTSTATUS status =
      op_wait(s.op, connection_dispatch(sock)->WskSend(sock, &buf, 0, op_irp(s.op)));
  *sent = s.op->irp->IoStatus.Information;
  return status;
}

// Receives exactly `len` bytes into recv_buf (several receives if needed).
NTSTATUS receive_exactly(Smoke& s, WSK_SOCKET* sock, SIZE_T len, SIZE_T* received) {
  *received = 0;
  RtlZeroMemory(s.recv_buf.data, kBufferSize);
  while (*received < len) {
    WSK_BUF buf{s.recv_buf.mdl, static_cast<ULONG>(*received), len - *received};
    const NTSTATUS status =
        op_wait(s.op, connection_dispatch(sock)->WskReceive(sock, &buf, 0, op_irp(s.op)));
    if (!NT_SUCCESS(status)) {
      return status;
    }
    const ULONG_PTR got = s.op->irp->IoStatus.Information;
    if (got == 0) {
      return STATUS_CONNECTION_DISCONNECTED;  // graceful close before all data arrived
    }
    *received += got;
  }
  return STATUS_SUCCESS;
}

bool same_bytes(const char* a, const char* b, SIZE_T len) {
  return RtlCompareMemory(a, b, len) == len;
}

KtestResult fail(KtestContext& ctx, const char* step, NTSTATUS status) {
  return ktest_report(ctx, KtestResult::kFailed, "%s failed: NTSTATUS 0x%08lx", step,
                      static_cast<unsigned long>(status));
}

// Exchanges `msg` from `from` to `to`; returns kPassed or a failure.
KtestResult exchange(Smoke& s, KtestContext& ctx, WSK_SOCKET* from, WSK_SOCKET* to, const char* msg,
                     SIZE_T len, const char* direction) {
  ULONG_PTR sent = 0;
  NTSTATUS status = send_all(s, from, msg, len, &sent);
  if (!NT_SUCCESS(status)) {
    return ktest_report(ctx, KtestResult::kFailed, "WskSend (%s) failed: NTSTATUS 0x%08lx",
                        direction, static_cast<unsigned long>(status));
  }
  if (sent != len) {
    return ktest_report(ctx, KtestResult::kFailed, "WskSend (%s) sent %lu of %lu bytes", direction,
                        static_cast<unsigned long>(sent), static_cast<unsigned long>(len));
  }
  SIZE_T received = 0;
  status = receive_exactly(s, to, len, &received);
  if (!NT_SUCCESS(status)) {
    return ktest_report(ctx, KtestResult::kFailed,
                        "WskReceive (%s) failed after %lu of %lu bytes: NTSTATUS 0x%08lx",
                        direction, static_cast<unsigned long>(received),
                        static_cast<unsigned long>(len), static_cast<unsigned long>(status));
  }
  if (!same_bytes(s.recv_buf.data, msg, len)) {
    return ktest_report(ctx, KtestResult::kFailed, "WskReceive (%s) data mismatch: got \"%.*s\"",
                        direction, static_cast<int>(len), s.recv_buf.data);
  }
  return KtestResult::kPassed;
}

KtestResult run(Smoke& s, KtestContext& ctx) {
  s.op = op_create();
  s.accept_op = op_create();
  if (s.op == nullptr || s.accept_op == nullptr || !buffer_create(s.send_buf) ||
      !buffer_create(s.recv_buf)) {
    return fail(ctx, "allocating IRPs/MDLs", STATUS_INSUFFICIENT_RESOURCES);
  }

  // 1. Attach to WSK.
  s.client_npi.ClientContext = &s;
  s.client_npi.Dispatch = &kClientDispatch;
  NTSTATUS status = WskRegister(&s.client_npi, &s.registration);
  if (!NT_SUCCESS(status)) {
    return fail(ctx, "WskRegister", status);
  }
  s.registered = true;
  status = WskCaptureProviderNPI(&s.registration, kCaptureNpiTimeoutMs, &s.provider);
  if (!NT_SUCCESS(status)) {
    return fail(ctx, "WskCaptureProviderNPI", status);
  }
  s.captured = true;

  // 2. Listening socket on 127.0.0.1:<fixed port> (binding a listening socket
  //    also starts listening).
  status = create_socket(s, WSK_FLAG_LISTEN_SOCKET, &kListenDispatch, &s.listener);
  if (!NT_SUCCESS(status)) {
    return fail(ctx, "WskSocket(listen)", status);
  }
  LARGE_INTEGER ticks;
  KeQueryTickCount(&ticks);  // spreads concurrent runs over the port range
  const auto start = static_cast<USHORT>(static_cast<ULONGLONG>(ticks.QuadPart) % kPortSpan);
  for (int attempt = 0; attempt < kBindAttempts; ++attempt) {
    const auto port = static_cast<USHORT>(kPortBase + (start + attempt * 7) % kPortSpan);
    s.listen_addr = ipv4(127, 0, 0, 1, port);
    status = op_wait(s.op, listen_dispatch(s.listener)
                               ->WskBind(s.listener, reinterpret_cast<SOCKADDR*>(&s.listen_addr), 0,
                                         op_irp(s.op)));
    if (status != STATUS_ADDRESS_ALREADY_ASSOCIATED) {
      break;
    }
  }
  if (!NT_SUCCESS(status)) {
    return fail(ctx, "WskBind(listen, 127.0.0.1)", status);
  }

  // 3. Connection socket, bound to the wildcard address (WSK requires a
  //    connection socket to be bound before WskConnect).
  status = create_socket(s, WSK_FLAG_CONNECTION_SOCKET, &kConnectionDispatch, &s.client);
  if (!NT_SUCCESS(status)) {
    return fail(ctx, "WskSocket(connection)", status);
  }
  SOCKADDR_IN any = ipv4(0, 0, 0, 0, 0);
  status = op_wait(s.op, connection_dispatch(s.client)->WskBind(
                             s.client, reinterpret_cast<SOCKADDR*>(&any), 0, op_irp(s.op)));
  if (!NT_SUCCESS(status)) {
    return fail(ctx, "WskBind(connection, 0.0.0.0:0)", status);
  }

  // 4. Accept (left pending) + connect, then wait for the accept.
  const NTSTATUS accept_call =
      listen_dispatch(s.listener)
          ->WskAccept(s.listener, 0, &s, &kConnectionDispatch,
                      reinterpret_cast<SOCKADDR*>(&s.accept_local),
                      reinterpret_cast<SOCKADDR*>(&s.accept_remote), op_irp(s.accept_op));
  s.accept_issued = true;
  if (!NT_SUCCESS(accept_call)) {
    return fail(ctx, "WskAccept", accept_call);
  }
  status =
      op_wait(s.op, connection_dispatch(s.client)->WskConnect(
                        s.client, reinterpret_cast<SOCKADDR*>(&s.listen_addr), 0, op_irp(s.op)));
  if (!NT_SUCCESS(status)) {
    return fail(ctx, "WskConnect", status);
  }
  status = op_wait(s.accept_op, accept_call);
  if (!NT_SUCCESS(status)) {
    return fail(ctx, "WskAccept completion", status);
  }
  s.server = reinterpret_cast<WSK_SOCKET*>(s.accept_op->irp->IoStatus.Information);
  if (s.server == nullptr) {
    return fail(ctx, "WskAccept returned no socket", STATUS_UNSUCCESSFUL);
  }

  // 5. Data both ways.
  KtestResult r = exchange(s, ctx, s.client, s.server, kClientMessage, sizeof(kClientMessage) - 1,
                           "client->server");
  if (r != KtestResult::kPassed) {
    return r;
  }
  r = exchange(s, ctx, s.server, s.client, kServerMessage, sizeof(kServerMessage) - 1,
               "server->client");
  if (r != KtestResult::kPassed) {
    return r;
  }

  // 6. Close all three sockets; each close must succeed.
  if (!NT_SUCCESS(status = close_socket(s, s.server))) {
    return fail(ctx, "WskCloseSocket(accepted)", status);
  }
  if (!NT_SUCCESS(status = close_socket(s, s.client))) {
    return fail(ctx, "WskCloseSocket(connection)", status);
  }
  if (!NT_SUCCESS(status = close_socket(s, s.listener))) {
    return fail(ctx, "WskCloseSocket(listen)", status);
  }
  return KtestResult::kPassed;
}

// Releases whatever run() got to, on success and failure paths alike.
void cleanup(Smoke& s) {
  if (s.op != nullptr && !s.op->leaked) {
    close_socket(s, s.server);
    close_socket(s, s.client);
    close_socket(s, s.listener);  // also cancels a still-pending accept
  }
  if (s.accept_issued && !s.accept_op->leaked && s.listener == nullptr) {
    // Wait out an accept that closing the listener cancelled (returns at once
    // if it already completed: the event stays signalled).
    op_wait(s.accept_op, STATUS_PENDING);
  }
  if (s.captured) {
    WskReleaseProviderNPI(&s.registration);
  }
  if (s.registered) {
    WskDeregister(&s.registration);
  }
  buffer_destroy(s.send_buf);
  buffer_destroy(s.recv_buf);
  op_destroy(s.op);
  op_destroy(s.accept_op);
}

}  // namespace

KtestResult wsk_smoke_loopback_tcp(KtestContext& ctx) {
  auto* s = new (std::nothrow) Smoke{};
  if (s == nullptr) {
    return fail(ctx, "allocating test state", STATUS_INSUFFICIENT_RESOURCES);
  }
  const KtestResult result = run(*s, ctx);
  cleanup(*s);
  delete s;
  return result;
}

}  // namespace xwsk::ktest
