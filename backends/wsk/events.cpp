// SPDX-License-Identifier: MIT
// events.cpp: the const WSK client dispatch tables of every socket, made of trampolines that
// translate a WSK event into the xwsk dispatch the client gave for that socket.
//
// Rules for every trampoline here:
//  - IRQL <= DISPATCH_LEVEL (the provider may call at DISPATCH_LEVEL); nothing waits;
//  - nothing allocates: what the translation needs is preallocated in the Socket (indication
//    and segment shadows, accept spares; limits in backend.h). Past a limit the event is
//    declined the way WSK lets a client decline it (DATA_NOT_ACCEPTED, REQUEST_NOT_ACCEPTED);
//  - no backend lock is held while the client's callback runs.
// Wine 8.0 never calls any of these (WskControlSocket, and so SO_WSK_EVENT_CALLBACK, is a stub).
#include "backend.h"

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

// Where one event's translation goes: the socket's own shadows, or an overflow block.
struct Shadows {
  DataIndication* data;
  DatagramIndication* datagrams;
  SockAddr* from;
  Segment* segments;
  int max_segments;
};

// An overflow block holds its shadows from kOverflowHeader bytes in (every shadow type needs at
// most pointer alignment; the allocator's blocks are 16-aligned).
constexpr size_t kOverflowHeader = 16;

// MDLs a WSK_BUF covers (offset + length bytes into its chain).
int count_mdls(const WSK_BUF& b) {
  int n = 0;
  size_t need = b.Offset + b.Length;
  for (MDL* m = b.Mdl; m != nullptr; m = m->Next) {
    ++n;
    if (m->ByteCount >= need) break;
    need -= m->ByteCount;
  }
  return n;
}

template <typename T>
T* carve(unsigned char** p, int count) {
  static_assert(alignof(T) <= kOverflowHeader, "overflow shadows are at most 16-aligned");
  T* first = reinterpret_cast<T*>(*p);
  *p += sizeof(T) * static_cast<size_t>(count);
  return first;
}

// Chooses the shadows for an event with @p n indications over @p segs MDLs: the socket's own
// when they fit and no kept list holds them, else a new overflow block (non-paged pool, IRQL <=
// DISPATCH_LEVEL), returned in *block. False when the block cannot be had.
bool choose_shadows(Socket* s, int n, int segs, Shadows* out, void** block_out) {
  *block_out = nullptr;
  if (n <= kMaxEventIndications && segs <= kMaxEventSegments &&
      !s->shadows_held.exchange(true, std::memory_order_acq_rel)) {
    *out = Shadows{s->data, s->datagrams, s->datagram_from, s->segments, kMaxEventSegments};
    return true;
  }
  const size_t bytes = kOverflowHeader +
                       static_cast<size_t>(n) * (sizeof(DataIndication) +
                                                 sizeof(DatagramIndication) + sizeof(SockAddr)) +
                       static_cast<size_t>(segs) * sizeof(Segment);
  auto* block = static_cast<unsigned char*>(detail::alloc(bytes, detail::kTagBuffer));
  if (block == nullptr) return false;
  unsigned char* p = block + kOverflowHeader;
  // Pointer-aligned shadows first, SockAddr (4-aligned, 28 bytes) last, so that every array
  // stays aligned whatever n is.
  out->data = carve<DataIndication>(&p, n);
  out->datagrams = carve<DatagramIndication>(&p, n);
  out->segments = carve<Segment>(&p, segs);
  out->from = carve<SockAddr>(&p, n);
  out->max_segments = segs;
  *block_out = block;
  return true;
}

// Gives shadows back: the overflow block, or the socket's own.
void free_shadows(Socket* s, void* block) {
  if (block != nullptr) {
    detail::release(block, detail::kTagBuffer);
  } else {
    s->shadows_held.store(false, std::memory_order_release);
  }
}

// Describes an MDL chain as Segment shadows; returns the first, or null when the shadows run
// out. @p need is offset + length of the WSK_BUF over the chain.
Segment* translate_mdls(const Shadows& sh, MDL* mdl, size_t need, int* used) {
  Segment* first = nullptr;
  Segment* prev = nullptr;
  while (mdl != nullptr) {
    if (*used == sh.max_segments) return nullptr;
    Segment* seg = &sh.segments[(*used)++];
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

// Receive / receive_from events: the list gets a hold before the client's callback runs, so
// that a release_*_indications() issued from another thread while the callback is still running
// (it is about to return Pending) finds it. hold_end() gives the hold back when the callback
// returned anything but Pending. The exchange on Hold::held decides who gives it back (and
// uncounts it, and frees its shadows): this event, a release or the close.
Hold* hold_begin(Socket* s, void* native, const void* head, void* block) {
  for (Hold& h : s->holds) {
    if (h.held.load(std::memory_order_acquire) != 0) continue;
    h.native = native;
    h.head = head;
    h.block = block;
    h.held.store(1, std::memory_order_release);
    detail::g_counters.retained_indications.fetch_add(1, std::memory_order_relaxed);
    return &h;
  }
  return nullptr;  // every hold in use
}

void hold_end(Socket* s, Hold* h, Status st) {
  if (st == Status::Pending) return;
  void* block = h->block;
  if (h->held.exchange(0, std::memory_order_acq_rel) != 0) {
    detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
    free_shadows(s, block);
  }
}

// True when a hold is free (only the event thread takes holds, so it stays free until then).
bool hold_free(Socket* s) {
  for (Hold& h : s->holds) {
    if (h.held.load(std::memory_order_acquire) == 0) return true;
  }
  return false;
}

// Enters a data event (receive, receive-from) on @p s. False, and the event declines
// (STATUS_DATA_NOT_ACCEPTED), when another one is in (a provider that does not serialize) or
// every hold is in use: the provider keeps the data for a later receive.
bool event_enter(Socket* s) {
  if (s->in_event.exchange(1, std::memory_order_acq_rel) != 0) return false;
  if (!hold_free(s)) {
    s->in_event.store(0, std::memory_order_release);
    return false;
  }
  return true;
}

// choose_shadows for a list of WSK_DATA_INDICATION or WSK_DATAGRAM_INDICATION.
template <typename Indication>
bool shadows_for(Socket* s, Indication* list, Shadows* out, void** block_out) {
  int count = 0;
  int mdls = 0;
  for (Indication* d = list; d != nullptr; d = d->Next) {
    ++count;
    mdls += count_mdls(d->Buffer);
  }
  return choose_shadows(s, count, mdls, out, block_out);
}

bool translate_buf(const Shadows& sh, const WSK_BUF& in, Buf* out, int* used) {
  out->offset = in.Offset;
  out->length = in.Length;
  out->segment = nullptr;
  if (in.Mdl == nullptr) return in.Length == 0;
  out->segment = translate_mdls(sh, in.Mdl, in.Offset + in.Length, used);
  return out->segment != nullptr;
}

// WSK: an event the client declines (STATUS_DATA_NOT_ACCEPTED) that it enabled with
// SO_WSK_EVENT_CALLBACK is disabled by the provider until the client enables it again; a static
// event (WSK_SET_STATIC_EVENT_CALLBACKS) stays enabled. Mirror that in the socket's mask, so
// that enabling it again reaches the provider.
void note_declined(Socket* s, uint32_t event) {
  const uint32_t fixed =
      detail::base_of(s->base.client)->static_event_mask.load(std::memory_order_acquire);
  if ((fixed & event) == 0) s->base.event_mask.fetch_and(~event, std::memory_order_acq_rel);
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
  // The client disabled the event (a provider may still be delivering one it decided on before
  // the disable returned): the connection is not the client's to see; the provider resets it.
  if ((ls->base.event_mask.load(std::memory_order_acquire) & kEventAccept) == 0) {
    return STATUS_REQUEST_NOT_ACCEPTED;
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
  if (!event_enter(s)) return STATUS_DATA_NOT_ACCEPTED;
  Shadows sh{};
  void* block = nullptr;
  bool ok = shadows_for(s, data, &sh, &block);
  int n = 0;
  int segs = 0;
  for (WSK_DATA_INDICATION* d = data; ok && d != nullptr; d = d->Next, ++n) {
    if (!translate_buf(sh, d->Buffer, &sh.data[n].buffer, &segs)) ok = false;
    sh.data[n].next = nullptr;
    if (n > 0) sh.data[n - 1].next = &sh.data[n];
  }
  NTSTATUS result = STATUS_DATA_NOT_ACCEPTED;
  if (ok) {
    // WSK (WskReceiveEvent, BytesAccepted): set only when part of the data is taken; a client
    // that takes it all leaves it alone. So it starts as everything, as xwsk's contract has it.
    size_t accepted = bytes_indicated;
    Hold* h = hold_begin(s, data, &sh.data[0], block);
    const Status st = cd->receive(s->base.context, xwsk_event_flags(flags), &sh.data[0],
                                  bytes_indicated, &accepted);
    hold_end(s, h, st);
    if (bytes_accepted != nullptr) *bytes_accepted = accepted;
    result = static_cast<NTSTATUS>(st);
  } else if (sh.data != nullptr) {
    free_shadows(s, block);
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
  // Declined datagrams are dropped, as WSK specifies.
  if (!event_enter(s)) return STATUS_DATA_NOT_ACCEPTED;
  Shadows sh{};
  void* block = nullptr;
  bool ok = shadows_for(s, datagrams, &sh, &block);
  int n = 0;
  int segs = 0;
  for (WSK_DATAGRAM_INDICATION* d = datagrams; ok && d != nullptr; d = d->Next, ++n) {
    DatagramIndication& x = sh.datagrams[n];
    if (!translate_buf(sh, d->Buffer, &x.buffer, &segs)) ok = false;
    x.next = nullptr;
    x.control_info = d->ControlInfo;
    x.control_info_length = d->ControlInfoLength;
    x.remote_address = from_native(d->RemoteAddress, &sh.from[n]) ? &sh.from[n] : nullptr;
    if (n > 0) sh.datagrams[n - 1].next = &x;
  }
  NTSTATUS result = STATUS_DATA_NOT_ACCEPTED;
  if (ok) {
    Hold* h = hold_begin(s, datagrams, &sh.datagrams[0], block);
    const Status st = dd->receive_from(s->base.context, xwsk_event_flags(flags), &sh.datagrams[0]);
    hold_end(s, h, st);
    if (st == Status::DataNotAccepted) note_declined(s, kEventReceiveFrom);
    result = static_cast<NTSTATUS>(st);
  } else if (sh.datagrams != nullptr) {
    free_shadows(s, block);
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

void* give_back_hold(Socket* s, const void* head) {
  void* native = nullptr;
  for (Hold& h : s->holds) {
    if (h.held.load(std::memory_order_acquire) == 0) continue;
    if (head != nullptr && h.head != head) continue;
    void* list = h.native;
    void* block = h.block;
    if (h.held.exchange(0, std::memory_order_acq_rel) == 0) continue;  // given back meanwhile
    detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
    free_shadows(s, block);
    native = list;
    if (head != nullptr) break;
  }
  return native;
}

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
