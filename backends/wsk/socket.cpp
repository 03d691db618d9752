// SPDX-License-Identifier: MIT
// socket.cpp: socket objects and the socket-level operations of the provider dispatch tables
// (WSK_PROVIDER_{BASIC,LISTEN,CONNECTION,DATAGRAM,STREAM}_DISPATCH).
//
// Every operation: begin_op() (IoReuseIrp + IoSetCompletionRoutine on the request's IRP), copy
// what the provider reads into the op state (addresses, the WSK_BUF), call the provider through
// the socket's dispatch table, end_op(). Nothing waits; IRQL is given per function (the WSK
// limit of the provider function, unless the backend allocates: then PASSIVE_LEVEL).
#include <new>

#include "backend.h"

namespace xwsk::wsk {

// ---- socket objects
// ------------------------------------------------------------------------------

Socket* socket_alloc() {
  void* mem = detail::alloc(sizeof(Socket), detail::kTagSocket);
  if (mem == nullptr) return nullptr;
  auto* s = new (mem) Socket();
  KeInitializeSpinLock(&s->accept_lock);
  return s;
}

Status issue_accept(Socket* s, Request* req) {
  OpState* op = op_of(req);
  s->accepts_pending.fetch_add(1, std::memory_order_acq_rel);
  s->acceptor_is_accepted.store(0, std::memory_order_release);
  const auto* cd =
      static_cast<const WSK_CLIENT_CONNECTION_DISPATCH*>(client_dispatch_for(kConnectionSocket));
  PFN_WSK_ACCEPT fn =
      s->base.category == kStreamSocket
          ? static_cast<const WSK_PROVIDER_STREAM_DISPATCH*>(s->wsk->Dispatch)->WskAccept
          : static_cast<const WSK_PROVIDER_LISTEN_DISPATCH*>(s->wsk->Dispatch)->WskAccept;
  fn(s->wsk, native_op_flags(op->flags), op->created, cd, &op->addr[0].sa, &op->addr[1].sa,
     op->irp);
  return end_op(req);
}

namespace {

void free_spares(Socket* s) {
  for (std::atomic<Socket*>& slot : s->accept_spares) {
    Socket* spare = slot.exchange(nullptr, std::memory_order_acq_rel);
    if (spare != nullptr) detail::release(spare, detail::kTagSocket);
  }
}

}  // namespace

void socket_free_unused(Socket* s) {
  free_spares(s);
  detail::release(s, detail::kTagSocket);
}

void socket_attach(Socket* s, WSK_SOCKET* wsk, Client* client, AddressFamily family,
                   SocketType type, Protocol protocol, uint32_t category, void* context,
                   const void* dispatch) {
  s->wsk = wsk;
  detail::init_socket_base(&s->base, client, family, type, protocol, category, context, dispatch);
}

void refill_accept_spares(Socket* s) {
  if (s->base.category != kListenSocket && s->base.category != kStreamSocket) return;
  for (std::atomic<Socket*>& slot : s->accept_spares) {
    if (slot.load(std::memory_order_acquire) != nullptr) continue;
    Socket* spare = socket_alloc();
    if (spare == nullptr) return;
    Socket* expected = nullptr;
    if (!slot.compare_exchange_strong(expected, spare, std::memory_order_acq_rel)) {
      detail::release(spare, detail::kTagSocket);
    }
  }
}

void finish_close(Socket* s) {
  free_spares(s);
  // Indications the client still kept went back to the provider with the close (WskCloseSocket
  // reclaims them); stop counting them, as the user-space backends do.
  give_back_hold(s, nullptr);
  Client* c = s->base.client;
  // The last socket of a client wakes client_destroy(); the spin lock keeps the client alive
  // until KeSetEvent has returned (client_destroy reads the count under the same lock).
  KIRQL irql;
  KeAcquireSpinLock(&c->lock, &irql);
  detail::fini_socket_base(&s->base);
  if (c->base.sockets.load(std::memory_order_acquire) == 0) {
    KeSetEvent(&c->sockets_closed, IO_NO_INCREMENT, FALSE);
  }
  KeReleaseSpinLock(&c->lock, irql);
  s->wsk = nullptr;
  detail::release(s, detail::kTagSocket);
}

}  // namespace xwsk::wsk

namespace xwsk::backend {

using namespace xwsk::wsk;

namespace {

const WSK_PROVIDER_BASIC_DISPATCH* basic(Socket* s) {
  return static_cast<const WSK_PROVIDER_BASIC_DISPATCH*>(s->wsk->Dispatch);
}
const WSK_PROVIDER_LISTEN_DISPATCH* listen_d(Socket* s) {
  return static_cast<const WSK_PROVIDER_LISTEN_DISPATCH*>(s->wsk->Dispatch);
}
const WSK_PROVIDER_CONNECTION_DISPATCH* conn_d(Socket* s) {
  return static_cast<const WSK_PROVIDER_CONNECTION_DISPATCH*>(s->wsk->Dispatch);
}
const WSK_PROVIDER_DATAGRAM_DISPATCH* dgram_d(Socket* s) {
  return static_cast<const WSK_PROVIDER_DATAGRAM_DISPATCH*>(s->wsk->Dispatch);
}
const WSK_PROVIDER_STREAM_DISPATCH* stream_d(Socket* s) {
  return static_cast<const WSK_PROVIDER_STREAM_DISPATCH*>(s->wsk->Dispatch);
}
bool is_stream(Socket* s) {
  return s->base.category == kStreamSocket;
}

// A provider function that the listen, connection, datagram and stream tables all have, each at
// its own offset (Microsoft's layouts): `pick` reads it from the socket's table. Null for a basic
// socket, which has none of them.
template <typename Pick>
auto any_category_fn(Socket* s, Pick pick) -> decltype(pick(listen_d(s))) {
  switch (s->base.category) {
    case kListenSocket:
      return pick(listen_d(s));
    case kConnectionSocket:
      return pick(conn_d(s));
    case kDatagramSocket:
      return pick(dgram_d(s));
    case kStreamSocket:
      return pick(stream_d(s));
    default:
      return nullptr;
  }
}

}  // namespace

/// WskBind (listen, connection, datagram, stream; basic sockets have no WskBind in WSK).
/// IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    bind(Socket* s, const SockAddr* local, uint32_t flags, Request* req) {
  const PFN_WSK_BIND fn = any_category_fn(s, [](const auto* d) { return d->WskBind; });
  if (fn == nullptr) return complete_now(req, Status::InvalidDeviceRequest, 0);
  IRP* irp = begin_op(req, OpKind::kBind, s);
  OpState* op = op_of(req);
  to_native(*local, &op->addr[0]);
  fn(s->wsk, &op->addr[0].sa, native_op_flags(flags), irp);
  return end_op(req);
}

/// WskListen (stream sockets). IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status listen(Socket* s, Request* req) {
  IRP* irp = begin_op(req, OpKind::kListen, s);
  stream_d(s)->WskListen(s->wsk, irp);
  return end_op(req);
}

/// WskAccept (listen, listening stream). PASSIVE_LEVEL: allocates the accepted Socket object
/// (and tops up the accept-event spares) before handing the IRP to the provider. Under the
/// wine-8 profile a request may instead wait in the listener's accept queue (wine_close.cpp):
/// it is prepared the same way here, so issuing it later (from the completion routine of the
/// previous accept, IRQL <= DISPATCH_LEVEL) allocates nothing.
_IRQL_requires_(PASSIVE_LEVEL) Status
    accept(Socket* s, uint32_t flags, void* accept_socket_context,
           const ConnectionDispatch* dispatch, SockAddr* local, SockAddr* remote, Request* req) {
  refill_accept_spares(s);
  Socket* created = socket_alloc();
  if (created == nullptr) return complete_now(req, Status::InsufficientResources, 0);
  created->base.client = s->base.client;
  created->base.family = s->base.family;
  created->base.type = s->base.type;
  created->base.protocol = s->base.protocol;
  created->base.category = kConnectionSocket;
  created->base.context = accept_socket_context;
  created->base.dispatch = dispatch;
  begin_op(req, OpKind::kAccept, s);
  OpState* op = op_of(req);
  op->created = created;
  op->flags = flags;
  op->out0 = local;
  op->out1 = remote;
  if (provider_profile() == ProviderProfile::kWine8 && wine_accept_defer(s, req)) {
    return Status::Pending;  // queued behind the listener's one accept in the provider
  }
  return issue_accept(s, req);
}

/// WskConnect. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    connect(Socket* s, const SockAddr* remote, uint32_t flags, Request* req) {
  IRP* irp = begin_op(req, OpKind::kPlain, s);
  OpState* op = op_of(req);
  to_native(*remote, &op->addr[0]);
  PFN_WSK_CONNECT fn = is_stream(s) ? stream_d(s)->WskConnect : conn_d(s)->WskConnect;
  fn(s->wsk, &op->addr[0].sa, native_op_flags(flags), irp);
  return end_op(req);
}

/// WskConnectEx. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    connect_ex(Socket* s, const SockAddr* remote, const Buf* data, uint32_t flags, Request* req) {
  if (provider_lacks(kCapConnectEx)) return complete_now(req, Status::NotImplemented, 0);
  IRP* irp = begin_op(req, OpKind::kPlain, s);
  OpState* op = op_of(req);
  to_native(*remote, &op->addr[0]);
  make_op_buf(op, data);
  PFN_WSK_CONNECT_EX fn = is_stream(s) ? stream_d(s)->WskConnectEx : conn_d(s)->WskConnectEx;
  fn(s->wsk, &op->addr[0].sa, data != nullptr ? &op->buf : nullptr, native_op_flags(flags), irp);
  return end_op(req);
}

/// WskSend. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    send(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  IRP* irp = begin_op(req, OpKind::kPlain, s);
  OpState* op = op_of(req);
  make_op_buf(op, buf);
  PFN_WSK_SEND fn = is_stream(s) ? stream_d(s)->WskSend : conn_d(s)->WskSend;
  fn(s->wsk, &op->buf, native_op_flags(flags), irp);
  return end_op(req);
}

/// WskReceive. IRQL <= DISPATCH_LEVEL. On Wine 8 (flags ignored by the provider) WAITALL is
/// emulated by the completion routine (request.cpp).
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    receive(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  IRP* irp = begin_op(req, OpKind::kReceive, s);
  OpState* op = op_of(req);
  op->flags = flags;
  make_op_buf(op, buf);
  PFN_WSK_RECEIVE fn = is_stream(s) ? stream_d(s)->WskReceive : conn_d(s)->WskReceive;
  fn(s->wsk, &op->buf, native_op_flags(flags), irp);
  return end_op(req);
}

/// WskDisconnect. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    disconnect(Socket* s, const Buf* final_data, uint32_t flags, Request* req) {
  if (provider_lacks(kCapDisconnect)) return complete_now(req, Status::NotImplemented, 0);
  IRP* irp = begin_op(req, OpKind::kPlain, s);
  OpState* op = op_of(req);
  make_op_buf(op, final_data);
  PFN_WSK_DISCONNECT fn = is_stream(s) ? stream_d(s)->WskDisconnect : conn_d(s)->WskDisconnect;
  fn(s->wsk, final_data != nullptr ? &op->buf : nullptr, native_op_flags(flags), irp);
  return end_op(req);
}

/// WskSendTo. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    send_to(Socket* s, const Buf* buf, uint32_t flags, const SockAddr* remote,
            size_t control_length, const void* control, Request* req) {
  IRP* irp = begin_op(req, OpKind::kPlain, s);
  OpState* op = op_of(req);
  make_op_buf(op, buf);
  if (remote != nullptr) to_native(*remote, &op->addr[0]);
  dgram_d(s)->WskSendTo(
      s->wsk, &op->buf, native_op_flags(flags), remote != nullptr ? &op->addr[0].sa : nullptr,
      static_cast<ULONG>(control_length), static_cast<CMSGHDR*>(const_cast<void*>(control)), irp);
  return end_op(req);
}

/// WskReceiveFrom. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    receive_from(Socket* s, const Buf* buf, uint32_t flags, SockAddr* remote,
                 size_t* control_length, void* control, uint32_t* control_flags, Request* req) {
  IRP* irp = begin_op(req, OpKind::kReceiveFrom, s);
  OpState* op = op_of(req);
  make_op_buf(op, buf);
  op->out0 = remote;
  op->out1 = control_length;
  op->out2 = control_flags;
  op->u.ctl.control_length = control_length != nullptr ? static_cast<ULONG>(*control_length) : 0;
  op->u.ctl.control_flags = 0;
  dgram_d(s)->WskReceiveFrom(s->wsk, &op->buf, native_op_flags(flags),
                             remote != nullptr ? &op->addr[0].sa : nullptr,
                             control_length != nullptr ? &op->u.ctl.control_length : nullptr,
                             static_cast<CMSGHDR*>(control), &op->u.ctl.control_flags, irp);
  return end_op(req);
}

/// WskSendMessages. PASSIVE_LEVEL: the one operation that allocates (the WSK_BUF_LIST array
/// for the batch, tag kTagBuffer, freed by the completion).
_IRQL_requires_(PASSIVE_LEVEL) Status
    send_messages(Socket* s, BufList* list, uint32_t flags, const SockAddr* remote,
                  size_t control_length, const void* control, Request* req) {
  size_t n = 0;
  for (BufList* e = list; e != nullptr; e = e->next)
    ++n;
  // The WSK_BUF_LIST array, then each element's MdlCut (restored by the completion routine).
  static_assert(sizeof(WSK_BUF_LIST) % alignof(MdlCut) == 0, "MdlCut alignment");
  auto* native = static_cast<WSK_BUF_LIST*>(
      detail::alloc(n * (sizeof(WSK_BUF_LIST) + sizeof(MdlCut)), detail::kTagBuffer));
  if (native == nullptr) return complete_now(req, Status::InsufficientResources, 0);
  auto* cuts = reinterpret_cast<MdlCut*>(native + n);
  size_t i = 0;
  for (BufList* e = list; e != nullptr; e = e->next, ++i) {
    make_wsk_buf(&e->buffer, &native[i].Buffer, &cuts[i]);
    native[i].Next = i + 1 < n ? &native[i + 1] : nullptr;
  }
  IRP* irp = begin_op(req, OpKind::kSendMessages, s);
  OpState* op = op_of(req);
  op->u.ctx = native;
  if (remote != nullptr) to_native(*remote, &op->addr[0]);
  dgram_d(s)->WskSendMessages(
      s->wsk, native, native_op_flags(flags), remote != nullptr ? &op->addr[0].sa : nullptr,
      static_cast<ULONG>(control_length), static_cast<CMSGHDR*>(const_cast<void*>(control)), irp);
  return end_op(req);
}

/// WskGetLocalAddress. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    get_local_address(Socket* s, SockAddr* local, Request* req) {
  if (provider_lacks(kCapAddressQueries)) return complete_now(req, Status::NotImplemented, 0);
  const PFN_WSK_GET_LOCAL_ADDRESS fn =
      any_category_fn(s, [](const auto* d) { return d->WskGetLocalAddress; });
  if (fn == nullptr) return complete_now(req, Status::InvalidDeviceRequest, 0);
  IRP* irp = begin_op(req, OpKind::kAddress, s);
  OpState* op = op_of(req);
  op->out0 = local;
  fn(s->wsk, &op->addr[0].sa, irp);
  return end_op(req);
}

/// WskGetRemoteAddress. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    get_remote_address(Socket* s, SockAddr* remote, Request* req) {
  if (provider_lacks(kCapAddressQueries)) return complete_now(req, Status::NotImplemented, 0);
  IRP* irp = begin_op(req, OpKind::kAddress, s);
  OpState* op = op_of(req);
  op->out0 = remote;
  PFN_WSK_GET_REMOTE_ADDRESS fn =
      is_stream(s) ? stream_d(s)->WskGetRemoteAddress : conn_d(s)->WskGetRemoteAddress;
  fn(s->wsk, &op->addr[0].sa, irp);
  return end_op(req);
}

/// WskRelease (connection, stream): returns the indications a receive event kept (Pending).
/// IRQL <= DISPATCH_LEVEL; synchronous.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    release_data_indications(Socket* s, DataIndication* list) {
  // Only a list a receive event handed out and the client kept: the hold it has settles who
  // gives it back (this release, the event if its callback did not return Pending after all,
  // or the close).
  auto* native = static_cast<WSK_DATA_INDICATION*>(wsk::give_back_hold(s, list));
  if (native == nullptr) return Status::InvalidParameter;
  PFN_WSK_RELEASE_DATA_INDICATION_LIST fn =
      is_stream(s) ? stream_d(s)->WskRelease : conn_d(s)->WskRelease;
  return static_cast<Status>(fn(s->wsk, native));
}

/// WskRelease (datagram). IRQL <= DISPATCH_LEVEL; synchronous.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    release_datagram_indications(Socket* s, DatagramIndication* list) {
  auto* native = static_cast<WSK_DATAGRAM_INDICATION*>(wsk::give_back_hold(s, list));
  if (native == nullptr) return Status::InvalidParameter;
  return static_cast<Status>(dgram_d(s)->WskRelease(s->wsk, native));
}

/// WskInspectComplete. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status
    inspect_complete(Socket* s, const InspectId* inspect_id, InspectAction action, Request* req) {
  if (provider_lacks(kCapConditionalAccept)) return complete_now(req, Status::NotImplemented, 0);
  // WskInspectComplete exists only in the listen dispatch; a stream socket's dispatch has no
  // such member in WSK, so conditional accept is a listen-socket feature.
  if (is_stream(s)) return complete_now(req, Status::InvalidDeviceRequest, 0);
  IRP* irp = begin_op(req, OpKind::kPlain, s);
  OpState* op = op_of(req);
  static_assert(sizeof(WSK_INSPECT_ID) <= sizeof(NativeAddr), "inspect id storage");
  auto* id = reinterpret_cast<WSK_INSPECT_ID*>(&op->addr[0]);
  id->Key = inspect_id->key;
  id->SerialNumber = inspect_id->serial_number;
  listen_d(s)->WskInspectComplete(s->wsk, id, native_inspect_action(action), irp);
  return end_op(req);
}

/// SO_WSK_EVENT_CALLBACK without an IRP (completes at once, as in WSK). PASSIVE_LEVEL when
/// enabling accept events (tops up the accept spares), else IRQL <= DISPATCH_LEVEL.
_IRQL_requires_(PASSIVE_LEVEL) Status
    set_event_mask(Socket* s, uint32_t old_mask, uint32_t new_mask) {
  if (provider_lacks(kCapEvents)) return Status::NotImplemented;
  const uint32_t enable = new_mask & ~old_mask;
  const uint32_t disable = old_mask & ~new_mask;
  if ((enable & kEventAccept) != 0) refill_accept_spares(s);
  WSK_EVENT_CALLBACK_CONTROL ctl{};
  ctl.NpiId = const_cast<PNPIID>(&NPI_WSK_INTERFACE_ID);
  NTSTATUS st = STATUS_SUCCESS;
  if (enable != 0) {
    // Store first: an enabled event may be raised before WskControlSocket returns.
    s->base.event_mask.store(old_mask | enable, std::memory_order_release);
    ctl.EventMask = native_event_mask(enable);
    st = basic(s)->WskControlSocket(s->wsk, WskSetOption, SO_WSK_EVENT_CALLBACK, SOL_SOCKET,
                                    sizeof(ctl), &ctl, 0, nullptr, nullptr, nullptr);
    if (!NT_SUCCESS(st)) {
      s->base.event_mask.store(old_mask, std::memory_order_release);
      return static_cast<Status>(st);
    }
  }
  if (disable != 0) {
    ctl.EventMask = native_event_mask(disable | kEventDisable);
    st = basic(s)->WskControlSocket(s->wsk, WskSetOption, SO_WSK_EVENT_CALLBACK, SOL_SOCKET,
                                    sizeof(ctl), &ctl, 0, nullptr, nullptr, nullptr);
    if (!NT_SUCCESS(st)) return static_cast<Status>(st);
  }
  s->base.event_mask.store(new_mask, std::memory_order_release);
  return Status::Success;
}

/// WskControlSocket: options and ioctls (xwsk names mapped in convert.cpp). PASSIVE_LEVEL
/// (WSK allows DISPATCH_LEVEL for some codes only; the accept spares are topped up here).
_IRQL_requires_(PASSIVE_LEVEL) Status
    control_socket(Socket* s, ControlType type, uint32_t control_code, uint32_t level,
                   size_t input_size, const void* input, size_t output_size, void* output,
                   size_t* output_size_returned, Request* req) {
  if (provider_lacks(kCapControlSocket)) return complete_now(req, Status::NotImplemented, 0);
  refill_accept_spares(s);
  ULONG native_level = level;
  ULONG native_code = control_code;
  if (type == ControlType::Ioctl) {
    native_code = native_ioctl(control_code);
  } else {
    native_option(level, control_code, &native_level, &native_code);
  }
  IRP* irp = begin_op(req, OpKind::kControlSocket, s);
  OpState* op = op_of(req);
  op->out0 = output_size_returned;
  basic(s)->WskControlSocket(s->wsk, native_control_type(type), native_code, native_level,
                             input_size, const_cast<void*>(input), output_size, output, nullptr,
                             irp);  // with an IRP: IoStatus.Information
  return end_op(req);
}

/// WskCloseSocket. IRQL <= DISPATCH_LEVEL. The provider completes the socket's pending IRPs
/// with STATUS_CANCELLED first; the completion then frees the Socket object (finish_close).
_IRQL_requires_max_(DISPATCH_LEVEL) Status close_socket(Socket* s, Request* req) {
  IRP* irp = begin_op(req, OpKind::kClose, s);
  if (provider_profile() == ProviderProfile::kWine8) {
    wine_queue_close(s, req);  // see wine_close.cpp
    return end_op(req);
  }
  basic(s)->WskCloseSocket(s->wsk, irp);
  return end_op(req);
}

}  // namespace xwsk::backend
