// SPDX-License-Identifier: MIT
// wsk_events.cpp: the const WSK client dispatch tables of every socket, made of trampolines that
// translate a WSK event into the xwsk dispatch the client gave for that socket.
//
// Rules for every trampoline here:
//  - IRQL <= DISPATCH_LEVEL (the provider may call at DISPATCH_LEVEL); nothing waits;
//  - nothing allocates: what the translation needs is preallocated in the Socket (indication
//    and segment shadows, accept spares; limits in wsk_backend.h). Past a limit the event is
//    declined the way WSK lets a client decline it (DATA_NOT_ACCEPTED, REQUEST_NOT_ACCEPTED);
//  - no backend lock is held while the client's callback runs.
// Wine 8.0 never calls any of these (WskControlSocket, and so SO_WSK_EVENT_CALLBACK, is a stub).
#include "wsk_backend.h"

namespace xwsk::wsk {

namespace {

// Wine's ddk/wsk.h declares the accept event's context out-parameter as `void *`; the WDK's as
// `PVOID *`. The ABI is the same pointer.
#if XWSK_WSK_H_IS_WINE
using AcceptContextOut = void*;
#else
using AcceptContextOut = PVOID*;
#endif

extern const WSK_CLIENT_CONNECTION_DISPATCH kConnectionEvents;  // defined below

Socket* socket_of(void* context) {
  return static_cast<Socket*>(context);
}

InspectId xwsk_inspect_id(const WSK_INSPECT_ID* id) {
  return InspectId{id->Key, id->SerialNumber};
}

// Takes a spare Socket object of a listening socket (lock-free), or null.
Socket* take_spare(Socket* ls) {
  for (std::atomic<Socket*>& slot : ls->accept_spares) {
    Socket* s = slot.exchange(nullptr, std::memory_order_acq_rel);
    if (s != nullptr) return s;
  }
  return nullptr;
}

// Describes an MDL chain as Segment shadows; returns the first, or null when the shadows run
// out. @p need is offset + length of the WSK_BUF over the chain.
Segment* translate_mdls(Socket* s, MDL* mdl, size_t need, int* used) {
  Segment* first = nullptr;
  Segment* prev = nullptr;
  while (mdl != nullptr) {
    if (*used == kMaxEventSegments) return nullptr;
    Segment* seg = &s->segments[(*used)++];
    seg->next = nullptr;
    seg->data = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
    seg->length = mdl->ByteCount;
    seg->native = mdl;
    if (seg->data == nullptr) return nullptr;
    if (prev != nullptr) prev->next = seg;
    if (first == nullptr) first = seg;
    prev = seg;
    if (seg->length >= need) break;
    need -= seg->length;
    mdl = mdl->Next;
  }
  return first;
}

// Receive / receive_from events: the list is marked retained before the client's callback
// runs, so that a release_*_indications() issued from another thread while the callback is
// still running (it is about to return Pending) finds it. hold_end() gives the hold back when
// the callback returned anything but Pending. The exchange on `retained` decides who gives it
// back (and uncounts it): this event, a release or the close. In_event is still set, so no
// other event of the socket writes the retained_* pointers meanwhile.
void hold_begin(Socket* s) {
  s->retained.store(1, std::memory_order_release);
  detail::g_counters.retained_indications.fetch_add(1, std::memory_order_relaxed);
}

void hold_end(Socket* s, Status st) {
  if (st == Status::Pending) return;
  if (s->retained.exchange(0, std::memory_order_acq_rel) != 0) {
    s->retained_data = nullptr;
    s->retained_datagrams = nullptr;
    detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
  }
}

bool translate_buf(Socket* s, const WSK_BUF& in, Buf* out, int* used) {
  out->offset = in.Offset;
  out->length = in.Length;
  out->segment = nullptr;
  if (in.Mdl == nullptr) return in.Length == 0;
  out->segment = translate_mdls(s, in.Mdl, in.Offset + in.Length, used);
  return out->segment != nullptr;
}

// ---- listen events
// ---------------------------------------------------------------------------------

NTSTATUS WINAPI on_accept(void* socket_context, ULONG flags, SOCKADDR* local_address,
                          SOCKADDR* remote_address, WSK_SOCKET* accept_socket,
                          AcceptContextOut accept_socket_context,
                          const WSK_CLIENT_CONNECTION_DISPATCH** accept_socket_dispatch) {
  Socket* ls = socket_of(socket_context);
  const ListenDispatch* ld = detail::listen_dispatch(&ls->base);
  if (ld == nullptr || ld->accept == nullptr) return STATUS_REQUEST_NOT_ACCEPTED;
  if (accept_socket == nullptr) {
    // The listening socket is closing (WSK: AcceptSocket == NULL).
    ld->accept(ls->base.context, xwsk_event_flags(flags), nullptr, nullptr, nullptr, nullptr,
               nullptr);
    return STATUS_SUCCESS;
  }
  Socket* ns = take_spare(ls);
  if (ns == nullptr) return STATUS_REQUEST_NOT_ACCEPTED;  // spares exhausted (documented)
  SockAddr local{}, remote{};
  from_native(local_address, &local);
  from_native(remote_address, &remote);
  socket_attach(ns, accept_socket, ls->base.client, ls->base.family, ls->base.type,
                ls->base.protocol, kConnectionSocket, nullptr, nullptr);
  void* context = nullptr;
  const ConnectionDispatch* dispatch = nullptr;
  const Status st = ld->accept(ls->base.context, xwsk_event_flags(flags), &local, &remote, ns,
                               &context, &dispatch);
  if (st != Status::Success) {
    finish_close(ns);  // the provider closes the WSK socket itself
    return st == Status::RequestNotAccepted ? STATUS_REQUEST_NOT_ACCEPTED
                                            : static_cast<NTSTATUS>(st);
  }
  ns->base.context = context;
  ns->base.dispatch = dispatch;
  // Static events and the connection events enabled on the listener (the provider enables the
  // latter on the accepted socket itself, WSK semantics).
  ns->base.event_mask.store(detail::inherited_event_mask(&ls->base, &ns->base),
                            std::memory_order_release);
  *reinterpret_cast<void**>(accept_socket_context) = ns;
  *accept_socket_dispatch = &kConnectionEvents;
  return STATUS_SUCCESS;
}

WSK_INSPECT_ACTION WINAPI on_inspect(void* socket_context, SOCKADDR* local_address,
                                     SOCKADDR* remote_address, WSK_INSPECT_ID* inspect_id) {
  Socket* ls = socket_of(socket_context);
  const ListenDispatch* ld = detail::listen_dispatch(&ls->base);
  if (ld == nullptr || ld->inspect == nullptr) return WskInspectAccept;
  SockAddr local{}, remote{};
  from_native(local_address, &local);
  from_native(remote_address, &remote);
  const InspectId id = xwsk_inspect_id(inspect_id);
  const InspectAction a = ld->inspect(ls->base.context, &local, &remote, &id);
  if (a == InspectAction::Pend) return static_cast<WSK_INSPECT_ACTION>(2);  // WskInspectPend
  return native_inspect_action(a);
}

NTSTATUS WINAPI on_abort(void* socket_context, WSK_INSPECT_ID* inspect_id) {
  Socket* ls = socket_of(socket_context);
  const ListenDispatch* ld = detail::listen_dispatch(&ls->base);
  if (ld == nullptr || ld->abort == nullptr) return STATUS_SUCCESS;
  const InspectId id = xwsk_inspect_id(inspect_id);
  return static_cast<NTSTATUS>(ld->abort(ls->base.context, &id));
}

// ---- connection events
// -----------------------------------------------------------------------------

NTSTATUS WINAPI on_receive(void* socket_context, ULONG flags, WSK_DATA_INDICATION* data,
                           SIZE_T bytes_indicated, SIZE_T* bytes_accepted) {
  Socket* s = socket_of(socket_context);
  const ConnectionDispatch* cd = detail::connection_dispatch(&s->base);
  if (cd == nullptr || cd->receive == nullptr) return STATUS_DATA_NOT_ACCEPTED;
  if (data == nullptr) {
    // The socket is no longer usable (WSK: DataIndication == NULL).
    return static_cast<NTSTATUS>(
        cd->receive(s->base.context, xwsk_event_flags(flags), nullptr, 0, nullptr));
  }
  // Shadows busy (a concurrent event, or indications the client still holds): decline; the
  // provider keeps the data for a later receive().
  if (s->in_event.exchange(1, std::memory_order_acq_rel) != 0) return STATUS_DATA_NOT_ACCEPTED;
  if (s->retained.load(std::memory_order_acquire) != 0) {
    s->in_event.store(0, std::memory_order_release);
    return STATUS_DATA_NOT_ACCEPTED;
  }
  int n = 0;
  int segs = 0;
  bool ok = true;
  for (WSK_DATA_INDICATION* d = data; d != nullptr; d = d->Next, ++n) {
    if (n == kMaxEventIndications || !translate_buf(s, d->Buffer, &s->data[n].buffer, &segs)) {
      ok = false;
      break;
    }
    s->data[n].next = nullptr;
    if (n > 0) s->data[n - 1].next = &s->data[n];
  }
  NTSTATUS result = STATUS_DATA_NOT_ACCEPTED;
  if (ok) {
    size_t accepted = 0;
    s->retained_data = data;
    hold_begin(s);
    const Status st = cd->receive(s->base.context, xwsk_event_flags(flags), &s->data[0],
                                  bytes_indicated, &accepted);
    hold_end(s, st);
    if (bytes_accepted != nullptr) *bytes_accepted = accepted;
    result = static_cast<NTSTATUS>(st);
  }
  s->in_event.store(0, std::memory_order_release);
  return result;
}

NTSTATUS WINAPI on_disconnect(void* socket_context, ULONG flags) {
  Socket* s = socket_of(socket_context);
  const ConnectionDispatch* cd = detail::connection_dispatch(&s->base);
  if (cd == nullptr || cd->disconnect == nullptr) return STATUS_SUCCESS;
  return static_cast<NTSTATUS>(cd->disconnect(s->base.context, xwsk_event_flags(flags)));
}

NTSTATUS WINAPI on_send_backlog(void* socket_context, SIZE_T ideal_backlog_size) {
  Socket* s = socket_of(socket_context);
  const ConnectionDispatch* cd = detail::connection_dispatch(&s->base);
  if (cd == nullptr || cd->send_backlog == nullptr) return STATUS_SUCCESS;
  return static_cast<NTSTATUS>(cd->send_backlog(s->base.context, ideal_backlog_size));
}

// ---- datagram events
// -----------------------------------------------------------------------------

NTSTATUS WINAPI on_receive_from(void* socket_context, ULONG flags,
                                WSK_DATAGRAM_INDICATION* datagrams) {
  Socket* s = socket_of(socket_context);
  const auto* dd = static_cast<const DatagramDispatch*>(s->base.dispatch);
  if (dd == nullptr || dd->receive_from == nullptr) return STATUS_DATA_NOT_ACCEPTED;
  if (datagrams == nullptr) {
    return static_cast<NTSTATUS>(
        dd->receive_from(s->base.context, xwsk_event_flags(flags), nullptr));
  }
  if (s->in_event.exchange(1, std::memory_order_acq_rel) != 0) return STATUS_DATA_NOT_ACCEPTED;
  if (s->retained.load(std::memory_order_acquire) != 0) {
    s->in_event.store(0, std::memory_order_release);
    return STATUS_DATA_NOT_ACCEPTED;  // datagrams are dropped, as WSK specifies
  }
  int n = 0;
  int segs = 0;
  bool ok = true;
  for (WSK_DATAGRAM_INDICATION* d = datagrams; d != nullptr; d = d->Next, ++n) {
    if (n == kMaxEventIndications || !translate_buf(s, d->Buffer, &s->datagrams[n].buffer, &segs)) {
      ok = false;
      break;
    }
    DatagramIndication& x = s->datagrams[n];
    x.next = nullptr;
    x.control_info = d->ControlInfo;
    x.control_info_length = d->ControlInfoLength;
    x.remote_address =
        from_native(d->RemoteAddress, &s->datagram_from[n]) ? &s->datagram_from[n] : nullptr;
    if (n > 0) s->datagrams[n - 1].next = &x;
  }
  NTSTATUS result = STATUS_DATA_NOT_ACCEPTED;
  if (ok) {
    s->retained_datagrams = datagrams;
    hold_begin(s);
    const Status st = dd->receive_from(s->base.context, xwsk_event_flags(flags), &s->datagrams[0]);
    hold_end(s, st);
    result = static_cast<NTSTATUS>(st);
  }
  s->in_event.store(0, std::memory_order_release);
  return result;
}

// ---- the tables
// --------------------------------------------------------------------------------------

const WSK_CLIENT_LISTEN_DISPATCH kListenEvents = {on_accept, on_inspect, on_abort};
const WSK_CLIENT_CONNECTION_DISPATCH kConnectionEvents = {on_receive, on_disconnect,
                                                          on_send_backlog};
const WSK_CLIENT_DATAGRAM_DISPATCH kDatagramEvents = {on_receive_from};
const WSK_CLIENT_STREAM_DISPATCH kStreamEvents = {&kListenEvents, &kConnectionEvents};

}  // namespace

const void* client_dispatch_for(uint32_t category) {
  switch (category) {
    case kListenSocket:
      return &kListenEvents;
    case kConnectionSocket:
      return &kConnectionEvents;
    case kDatagramSocket:
      return &kDatagramEvents;
    case kStreamSocket:
      return &kStreamEvents;
    default:
      return nullptr;  // basic sockets have no events
  }
}

}  // namespace xwsk::wsk
