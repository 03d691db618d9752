// SPDX-License-Identifier: MIT
// socket.cpp: provider socket objects, the provider dispatch tables of the five categories,
// WskSocket, WskSocketConnect, WskCloseSocket, WskBind, WskListen and the address queries.
#include "provider.h"

namespace umwsk::provider {

// ---- the tables ---------------------------------------------------------------------------------

namespace {

constexpr WSK_PROVIDER_BASIC_DISPATCH kBasic = {wsk_control_socket, wsk_close_socket};

constexpr WSK_PROVIDER_LISTEN_DISPATCH kListen = {kBasic, wsk_bind, wsk_accept,
                                                  wsk_inspect_complete, wsk_get_local_address};

constexpr WSK_PROVIDER_DATAGRAM_DISPATCH kDatagram = {kBasic,
                                                      wsk_bind,
                                                      wsk_send_to,
                                                      wsk_receive_from,
                                                      wsk_release_datagrams,
                                                      wsk_get_local_address,
                                                      wsk_send_messages};

constexpr WSK_PROVIDER_CONNECTION_DISPATCH kConnection = {
    kBasic,      wsk_bind,      wsk_connect,    wsk_get_local_address, wsk_get_remote_address,
    wsk_send,    wsk_receive,   wsk_disconnect, wsk_release_data,      wsk_connect_ex,
    wsk_send_ex, wsk_receive_ex};

constexpr WSK_PROVIDER_STREAM_DISPATCH kStream = {kBasic,
                                                  wsk_bind,
                                                  wsk_accept,
                                                  wsk_connect,
                                                  wsk_listen,
                                                  wsk_send,
                                                  wsk_receive,
                                                  wsk_disconnect,
                                                  wsk_release_data,
                                                  wsk_get_local_address,
                                                  wsk_get_remote_address,
                                                  wsk_connect_ex,
                                                  wsk_send_ex,
                                                  wsk_receive_ex};

bool valid_category(ULONG flags) {
  return flags == WSK_FLAG_BASIC_SOCKET || flags == WSK_FLAG_LISTEN_SOCKET ||
         flags == WSK_FLAG_CONNECTION_SOCKET || flags == WSK_FLAG_DATAGRAM_SOCKET ||
         flags == WSK_FLAG_STREAM_SOCKET;
}

}  // namespace

const void* provider_dispatch_for(ULONG category) {
  return for_category(category, &kListen, &kConnection, &kDatagram, &kStream, &kBasic);
}

// ---- objects ------------------------------------------------------------------------------------

namespace {

// The quarantine: a ring of freed objects per tag (a spin on an atomic flag guards it: held for a
// few instructions, any IRQL).
constexpr size_t kQuarantine = 256;

struct Ring {
  std::atomic_flag busy = ATOMIC_FLAG_INIT;
  void* slot[kQuarantine] = {};
  size_t next = 0;
};

Ring g_sockets_ring;
Ring g_blocks_ring;

Ring& ring_for(ULONG tag) {
  return tag == kTagSocket ? g_sockets_ring : g_blocks_ring;
}

void* ring_swap(Ring& r, void* p) {
  while (r.busy.test_and_set(std::memory_order_acquire)) {
  }
  void* old = r.slot[r.next];
  r.slot[r.next] = p;
  r.next = (r.next + 1) % kQuarantine;
  r.busy.clear(std::memory_order_release);
  return old;
}

}  // namespace

void quarantine(void* p, ULONG tag) {
  pool_free(ring_swap(ring_for(tag), p), tag);
}

void quarantine_flush() {
  for (size_t i = 0; i < kQuarantine; ++i) {
    pool_free(ring_swap(g_sockets_ring, nullptr), kTagSocket);
    pool_free(ring_swap(g_blocks_ring, nullptr), kTagIndication);
  }
}

namespace {
std::atomic<uint64_t> g_socket_serial{0};
}  // namespace

ProviderSocket* socket_new(Registration* reg, ULONG category, PVOID context,
                           const void* client_dispatch) {
  auto* s = static_cast<ProviderSocket*>(pool_alloc(sizeof(ProviderSocket), kTagSocket));
  if (s == nullptr) return nullptr;
  s->wsk.Dispatch = provider_dispatch_for(category);
  s->magic = kSocketMagic;
  s->category = category;
  s->reg = reg;
  s->xs = nullptr;
  s->context = context;
  s->client_dispatch.store(client_dispatch, std::memory_order_release);
  s->dispatch_pending.store(false, std::memory_order_relaxed);
  KeInitializeSpinLock(&s->lock);
  s->retained = nullptr;
  s->chaos_id = g_socket_serial.fetch_add(1, std::memory_order_relaxed) + 1;
  s->chaos_ops.store(0, std::memory_order_relaxed);
  reg->sockets.fetch_add(1, std::memory_order_acq_rel);
  count(Counter::Sockets, 1);
  return s;
}

void socket_delete(ProviderSocket* s) {
  if (s == nullptr) return;
  release_all_indications(s);
  Registration* reg = s->reg;
  s->magic = kDeadMagic;
  quarantine(s, kTagSocket);
  count(Counter::Sockets, -1);
  if (reg->sockets.fetch_sub(1, std::memory_order_acq_rel) == 1) registration_changed(reg);
}

const WSK_CLIENT_LISTEN_DISPATCH* client_listen_dispatch(const ProviderSocket* s) {
  const void* d = s->client_dispatch.load(std::memory_order_acquire);
  if (d == nullptr) return nullptr;
  if (s->category == WSK_FLAG_LISTEN_SOCKET)
    return static_cast<const WSK_CLIENT_LISTEN_DISPATCH*>(d);
  if (s->category == WSK_FLAG_STREAM_SOCKET) {
    return static_cast<const WSK_CLIENT_STREAM_DISPATCH*>(d)->Listen;
  }
  return nullptr;
}

const WSK_CLIENT_CONNECTION_DISPATCH* client_connection_dispatch(const ProviderSocket* s) {
  const void* d = s->client_dispatch.load(std::memory_order_acquire);
  if (d == nullptr) return nullptr;
  if (s->category == WSK_FLAG_CONNECTION_SOCKET) {
    return static_cast<const WSK_CLIENT_CONNECTION_DISPATCH*>(d);
  }
  if (s->category == WSK_FLAG_STREAM_SOCKET) {
    return static_cast<const WSK_CLIENT_STREAM_DISPATCH*>(d)->Connect;
  }
  return nullptr;
}

const WSK_CLIENT_DATAGRAM_DISPATCH* client_datagram_dispatch(const ProviderSocket* s) {
  if (s->category != WSK_FLAG_DATAGRAM_SOCKET) return nullptr;
  return static_cast<const WSK_CLIENT_DATAGRAM_DISPATCH*>(
      s->client_dispatch.load(std::memory_order_acquire));
}

// ---- creation -----------------------------------------------------------------------------------

/// Completion of WskSocket, WskSocketConnect and WskAccept: the new socket gets its xwsk
/// Socket and becomes the information, or goes away.
void finish_create(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info) {
  auto* s = static_cast<ProviderSocket*>(op->a);
  op->a = nullptr;
  if (xwsk::nt_success(xst) && info != 0) {
    s->xs = reinterpret_cast<xwsk::Socket*>(info);
    irp->IoStatus.Information = reinterpret_cast<ULONG_PTR>(&s->wsk);
    if (op->kind == OpKind::Accept && op->b != nullptr) finish_address(irp, op, xst, info);
    irp->IoStatus.Information = reinterpret_cast<ULONG_PTR>(&s->wsk);
  } else {
    irp->IoStatus.Information = 0;
    socket_delete(s);
  }
  if (op->b != nullptr) {
    pool_free(op->b, kTagOp);
    op->b = nullptr;
  }
}

namespace {

/// WskSocket and WskSocketConnect: the client's call counted, the IRP taken, the arguments
/// checked (@p valid), the provider socket of @p category made; then @p create makes the xwsk call
/// with the registration, the socket and the request.
template <typename Create>
NTSTATUS create_socket(PWSK_CLIENT client, PIRP irp, bool valid, ULONG category, PVOID context,
                       const void* dispatch, Create create) {
  const auto [reg, status] = client_call(client, irp);
  if (reg == nullptr) return status;
  CallScope call(reg);
  IrpOp* op = op_begin(irp, OpKind::CreateSocket);
  if (!valid) return op_fail(irp, STATUS_INVALID_PARAMETER);
  ProviderSocket* s = socket_new(reg, category, context, dispatch);
  if (s == nullptr) return op_fail(irp, STATUS_INSUFFICIENT_RESOURCES);
  op->a = s;
  return op_end(irp, create(reg, s, &op->req));
}

}  // namespace

NTSTATUS WSKAPI wsk_socket(PWSK_CLIENT Client, ADDRESS_FAMILY AddressFamily, USHORT SocketType,
                           ULONG Protocol, ULONG Flags, PVOID SocketContext, const VOID* Dispatch,
                           PEPROCESS OwningProcess, PETHREAD OwningThread,
                           PSECURITY_DESCRIPTOR SecurityDescriptor, PIRP Irp) {
  (void)OwningProcess;
  (void)OwningThread;
  (void)SecurityDescriptor;
  const bool valid = valid_category(Flags) && Protocol <= 0xffff;
  return create_socket(Client, Irp, valid, Flags, SocketContext, Dispatch,
                       [&](Registration* reg, ProviderSocket* s, xwsk::Request* req) {
                         return xwsk::socket(reg->xclient,
                                             static_cast<xwsk::AddressFamily>(AddressFamily),
                                             static_cast<xwsk::SocketType>(SocketType),
                                             static_cast<xwsk::Protocol>(Protocol), Flags, s,
                                             xwsk_dispatch_for(Flags), req);
                       });
}

NTSTATUS WSKAPI wsk_socket_connect(PWSK_CLIENT Client, USHORT SocketType, ULONG Protocol,
                                   PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress, ULONG Flags,
                                   PVOID SocketContext,
                                   const WSK_CLIENT_CONNECTION_DISPATCH* Dispatch,
                                   PEPROCESS OwningProcess, PETHREAD OwningThread,
                                   PSECURITY_DESCRIPTOR SecurityDescriptor, PIRP Irp) {
  (void)OwningProcess;
  (void)OwningThread;
  (void)SecurityDescriptor;
  xwsk::SockAddr local{}, remote{};
  const bool valid = sockaddr_in(LocalAddress, &local) && sockaddr_in(RemoteAddress, &remote) &&
                     Protocol <= 0xffff;
  return create_socket(Client, Irp, valid, WSK_FLAG_CONNECTION_SOCKET, SocketContext, Dispatch,
                       [&](Registration* reg, ProviderSocket* s, xwsk::Request* req) {
                         return xwsk::socket_connect(
                             reg->xclient, static_cast<xwsk::SocketType>(SocketType),
                             static_cast<xwsk::Protocol>(Protocol), &local, &remote, Flags, s,
                             &kXwskConnectionEvents, req);
                       });
}

// ---- close --------------------------------------------------------------------------------------

/// Completion of WskCloseSocket: once xwsk has closed the socket (every pending request was
/// cancelled before this one completes), the provider socket goes away.
void finish_close(PIRP irp, IrpOp* op, xwsk::Status xst) {
  (void)irp;
  auto* s = static_cast<ProviderSocket*>(op->a);
  op->a = nullptr;
  if (xst == xwsk::Status::Success) socket_delete(s);
}

NTSTATUS WSKAPI wsk_close_socket(PWSK_SOCKET Socket, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::Close);
  if (op == nullptr) return status;
  op->a = s;
  return op_end(Irp, xwsk::close_socket(s->xs, &op->req));
}

// ---- bind, listen, addresses --------------------------------------------------------------------

NTSTATUS WSKAPI wsk_bind(PWSK_SOCKET Socket, PSOCKADDR LocalAddress, ULONG Flags, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::Plain);
  if (op == nullptr) return status;
  xwsk::SockAddr local{};
  if (!sockaddr_in(LocalAddress, &local)) return op_fail(Irp, STATUS_INVALID_PARAMETER);
  return op_end(Irp, xwsk::bind(s->xs, &local, Flags, &op->req));
}

NTSTATUS WSKAPI wsk_listen(PWSK_SOCKET Socket, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::Plain);
  if (op == nullptr) return status;
  return op_end(Irp, xwsk::listen(s->xs, &op->req));
}

namespace {

/// Converted outputs of the address queries and of WskAccept.
struct AddressOut {
  xwsk::SockAddr local;
  xwsk::SockAddr remote;
  PSOCKADDR local_out;
  PSOCKADDR remote_out;
};

NTSTATUS address_query(PWSK_SOCKET Socket, PSOCKADDR Address, PIRP Irp, bool remote) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::AddressOut);
  if (op == nullptr) return status;
  if (Address == nullptr) return op_fail(Irp, STATUS_INVALID_PARAMETER);
  auto* out = static_cast<AddressOut*>(pool_alloc(sizeof(AddressOut), kTagOp));
  if (out == nullptr) return op_fail(Irp, STATUS_INSUFFICIENT_RESOURCES);
  op->b = out;
  xwsk::Status st;
  if (remote) {
    out->remote_out = Address;
    st = xwsk::get_remote_address(s->xs, &out->remote, &op->req);
  } else {
    out->local_out = Address;
    st = xwsk::get_local_address(s->xs, &out->local, &op->req);
  }
  return op_end(Irp, st);
}

}  // namespace

/// Allocates the address outputs of an accept (null when the client wants none).
bool accept_addresses(IrpOp* op, PSOCKADDR local, PSOCKADDR remote, xwsk::SockAddr** xlocal,
                      xwsk::SockAddr** xremote) {
  *xlocal = nullptr;
  *xremote = nullptr;
  if (local == nullptr && remote == nullptr) return true;
  auto* out = static_cast<AddressOut*>(pool_alloc(sizeof(AddressOut), kTagOp));
  if (out == nullptr) return false;
  op->b = out;
  out->local_out = local;
  out->remote_out = remote;
  if (local != nullptr) *xlocal = &out->local;
  if (remote != nullptr) *xremote = &out->remote;
  return true;
}

/// Writes the converted addresses of a completed query or accept (and frees them for queries).
void finish_address(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info) {
  (void)info;
  auto* out = static_cast<AddressOut*>(op->b);
  if (out == nullptr) return;
  if (xwsk::nt_success(xst)) {
    if (out->local_out != nullptr) sockaddr_out(out->local, out->local_out);
    if (out->remote_out != nullptr) sockaddr_out(out->remote, out->remote_out);
  }
  if (op->kind == OpKind::AddressOut) {
    irp->IoStatus.Information = 0;
    pool_free(out, kTagOp);
    op->b = nullptr;
  }
}

NTSTATUS WSKAPI wsk_get_local_address(PWSK_SOCKET Socket, PSOCKADDR LocalAddress, PIRP Irp) {
  return address_query(Socket, LocalAddress, Irp, false);
}

NTSTATUS WSKAPI wsk_get_remote_address(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress, PIRP Irp) {
  return address_query(Socket, RemoteAddress, Irp, true);
}

}  // namespace umwsk::provider
