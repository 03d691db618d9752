// SPDX-License-Identifier: MIT
// events.cpp: the provider's xwsk dispatch tables. Each trampoline turns an xwsk event into the
// WSK event of the client's dispatch table for that socket:
//  - WskAcceptEvent creates the accepted provider socket (connection category);
//  - WskInspectEvent / WskAbortEvent carry the WSK_INSPECT_ID of conditional accept;
//  - WskReceiveEvent / WskReceiveFromEvent get WSK_DATA_INDICATION / WSK_DATAGRAM_INDICATION
//    lists whose MDLs describe xwsk's indicated segments: one pool block per event (the list,
//    the remote SOCKADDRs) plus one MDL per segment, freed when the event returns, or, when the
//    client returns STATUS_PENDING, when it calls WskRelease (or when the socket closes);
//  - WskDisconnectEvent, WskSendBacklogEvent pass through.
// Events that come from the xwsk loop thread run at DISPATCH_LEVEL (DispatchScope) and carry
// WSK_FLAG_AT_DISPATCH_LEVEL. A client table without the callback gets the answer WSK gives for
// an event the client does not take.
#include "provider.h"

namespace umwsk::provider {

namespace {

constexpr uint32_t kBlockMagic = 0x424b4e49;       // "INKB"
constexpr uint32_t kFreedBlockMagic = 0x464b4e49;  // "INKF": in the quarantine

/// kInEvent: the client's event has the list; kRetained: it returned STATUS_PENDING; kSettled:
/// it returned anything else (the block is being freed); kReleased: WskRelease came. The
/// transitions are exchanges, so an event returning and a WskRelease from another thread agree
/// on which of the two saw the other (and reports a release of a list that was not retained).
enum BlockState : uint32_t { kInEvent = 0, kRetained = 1, kReleased = 2, kSettled = 3 };

}  // namespace

/// One indication list handed to a client, with what describes it. The WSK list starts at
/// `head`; WskRelease finds the block from it.
struct IndicationBlock {
  uint32_t magic;
  bool datagram;
  std::atomic<uint32_t> state;
  ProviderSocket* socket;
  IndicationBlock* prev;  ///< the socket's retained list (under socket->lock)
  IndicationBlock* next;
  void* xlist;                 ///< xwsk::DataIndication* or xwsk::DatagramIndication*
  const void* release_caller;  ///< who called WskRelease while the event was still running
  size_t mdl_count;
  PMDL* mdls;  ///< mdl_count entries, inside the block
  alignas(16) unsigned char head[1];
};

namespace {

IndicationBlock* block_of(const void* head) {
  if (head == nullptr) return nullptr;
  auto* b = reinterpret_cast<IndicationBlock*>(const_cast<unsigned char*>(
      static_cast<const unsigned char*>(head) - offsetof(IndicationBlock, head)));
  return b->magic == kBlockMagic || b->magic == kFreedBlockMagic ? b : nullptr;
}

/// Segments (MDLs) that describe @p buf: those that hold offset + length.
size_t segments_of(const xwsk::Buf& buf) {
  if (buf.length == 0) return 0;
  size_t need = buf.offset + buf.length;
  size_t n = 0;
  for (const xwsk::Segment* s = buf.segment; s != nullptr; s = s->next) {
    ++n;
    if (s->length >= need) break;
    need -= s->length;
  }
  return n;
}

void free_block(IndicationBlock* b) {
  for (size_t i = 0; i < b->mdl_count; ++i) {
    if (b->mdls[i] != nullptr) IoFreeMdl(b->mdls[i]);
  }
  b->mdl_count = 0;
  b->magic = kFreedBlockMagic;
  quarantine(b, kTagIndication);
}

/// WSK_BUF over new MDLs describing @p buf. False when an MDL cannot be allocated.
bool describe(const xwsk::Buf& buf, IndicationBlock* b, WSK_BUF* out) {
  out->Mdl = nullptr;
  out->Offset = 0;
  out->Length = 0;
  if (buf.length == 0) return true;
  size_t need = buf.offset + buf.length;
  PMDL prev = nullptr;
  for (const xwsk::Segment* s = buf.segment; s != nullptr; s = s->next) {
    PMDL m = IoAllocateMdl(s->data, static_cast<ULONG>(s->length), FALSE, FALSE, nullptr);
    if (m == nullptr) return false;
    MmBuildMdlForNonPagedPool(m);
    b->mdls[b->mdl_count++] = m;
    if (prev != nullptr) {
      prev->Next = m;
    } else {
      out->Mdl = m;
    }
    prev = m;
    if (s->length >= need) break;
    need -= s->length;
  }
  out->Offset = static_cast<ULONG>(buf.offset);
  out->Length = buf.length;
  return true;
}

/// A block for @p count list elements of @p elem bytes, @p mdls MDL slots and @p extra bytes.
IndicationBlock* new_block(ProviderSocket* s, bool datagram, size_t count, size_t elem, size_t mdls,
                           size_t extra, unsigned char** extra_out) {
  const size_t list_bytes = (count * elem + 15) & ~static_cast<size_t>(15);
  const size_t mdl_bytes = (mdls * sizeof(PMDL) + 15) & ~static_cast<size_t>(15);
  const size_t size = offsetof(IndicationBlock, head) + list_bytes + mdl_bytes + extra;
  void* mem = pool_alloc(size, kTagIndication);
  if (mem == nullptr) return nullptr;
  auto* b = new (mem) IndicationBlock();
  b->magic = kBlockMagic;
  b->datagram = datagram;
  b->state.store(kInEvent, std::memory_order_relaxed);
  b->socket = s;
  b->mdls = reinterpret_cast<PMDL*>(b->head + list_bytes);
  b->mdl_count = 0;
  *extra_out = b->head + list_bytes + mdl_bytes;
  return b;
}

void retain(ProviderSocket* s, IndicationBlock* b) {
  KIRQL irql;
  KeAcquireSpinLock(&s->lock, &irql);
  b->prev = nullptr;
  b->next = s->retained;
  if (s->retained != nullptr) s->retained->prev = b;
  s->retained = b;
  KeReleaseSpinLock(&s->lock, irql);
  count(Counter::RetainedIndications, 1);
}

/// Unlinks @p b if it is on the socket's list. True if it was.
bool unretain(ProviderSocket* s, IndicationBlock* b) {
  bool found = false;
  KIRQL irql;
  KeAcquireSpinLock(&s->lock, &irql);
  for (IndicationBlock* p = s->retained; p != nullptr; p = p->next) {
    if (p == b) {
      found = true;
      break;
    }
  }
  if (found) {
    if (b->prev != nullptr) b->prev->next = b->next;
    if (b->next != nullptr) b->next->prev = b->prev;
    if (s->retained == b) s->retained = b->next;
  }
  KeReleaseSpinLock(&s->lock, irql);
  if (found) count(Counter::RetainedIndications, -1);
  return found;
}

/// After the client's receive event returned @p st: keep the block (STATUS_PENDING) or free it.
/// After the client's receive event returned @p st: keep the block (STATUS_PENDING) or free it.
/// A WskRelease that came (from another thread) before the event returned STATUS_PENDING left
/// the list to this function: the client is done with the data, so xwsk is told it was all
/// consumed (Success) rather than retained. A WskRelease of a list the event did not retain is
/// reported (wsk.release_not_retained).
xwsk::Status settle(ProviderSocket* s, IndicationBlock* b, NTSTATUS st) {
  if (st == STATUS_PENDING) {
    retain(s, b);
    if (b->state.exchange(kRetained, std::memory_order_acq_rel) == kReleased) {
      if (unretain(s, b)) free_block(b);
      return xwsk::Status::Success;
    }
    return xwsk::Status::Pending;
  }
  if (b->state.exchange(kSettled, std::memory_order_acq_rel) == kReleased) {
    umwsk_rule_violation_at(b->release_caller, "wsk.release_not_retained", b->head,
                            "WskRelease of an indication list the client did not retain "
                            "(its event returned 0x%08x, not STATUS_PENDING)",
                            static_cast<unsigned>(st));
  }
  free_block(b);
  return static_cast<xwsk::Status>(st);
}

/// Verifier: @p st came back from the client's @p callback; @p ok says whether WSK allows it. A
/// status WSK does not allow is reported (wsk.event_bad_status) and replaced by @p fallback.
NTSTATUS checked(NTSTATUS st, bool ok, const void* callback, const char* name, NTSTATUS fallback) {
  if (ok) return st;
  umwsk_rule_violation_at(callback, "wsk.event_bad_status", callback,
                          "%s returned 0x%08x, a status WSK does not allow it to return", name,
                          static_cast<unsigned>(st));
  return fallback;
}

/// WskReceiveEvent / WskReceiveFromEvent: SUCCESS, PENDING or DATA_NOT_ACCEPTED.
NTSTATUS checked_receive(NTSTATUS st, const void* callback, const char* name) {
  return checked(st, st == STATUS_SUCCESS || st == STATUS_PENDING || st == STATUS_DATA_NOT_ACCEPTED,
                 callback, name, STATUS_DATA_NOT_ACCEPTED);
}

/// WskReceiveEvent's BytesAccepted may not exceed BytesIndicated.
SIZE_T checked_accepted(SIZE_T accepted, SIZE_T indicated, const void* callback) {
  if (accepted <= indicated) return accepted;
  umwsk_rule_violation_at(callback, "wsk.receive_event_accepted_too_much", callback,
                          "WskReceiveEvent accepted %zu bytes of %zu indicated",
                          static_cast<size_t>(accepted), static_cast<size_t>(indicated));
  return indicated;
}

template <typename F>
const void* fn(F f) {
  return reinterpret_cast<const void*>(f);
}

// ---- chaos: stream data in several events
// ---------------------------------------------------------

/// Reads the bytes of an xwsk indication list in order.
struct DataCursor {
  xwsk::DataIndication* ind;
  const xwsk::Segment* seg;
  size_t seg_off;   // offset in seg
  size_t ind_left;  // bytes left in ind

  explicit DataCursor(xwsk::DataIndication* d) : ind(d), seg(nullptr), seg_off(0), ind_left(0) {
    load();
  }
  void load() {
    while (ind != nullptr && ind->buffer.length == 0)
      ind = ind->next;
    if (ind == nullptr) return;
    seg = ind->buffer.segment;
    seg_off = ind->buffer.offset;
    ind_left = ind->buffer.length;
  }
  /// Copies up to @p n bytes; returns the count copied.
  size_t copy(unsigned char* out, size_t n) {
    size_t done = 0;
    while (done < n && ind != nullptr && seg != nullptr) {
      if (seg_off >= seg->length) {
        seg = seg->next;
        seg_off = 0;
        continue;
      }
      size_t k = seg->length - seg_off;
      if (k > ind_left) k = ind_left;
      if (k > n - done) k = n - done;
      RtlCopyMemory(out + done, static_cast<const unsigned char*>(seg->data) + seg_off, k);
      done += k;
      seg_off += k;
      ind_left -= k;
      if (ind_left == 0) {
        ind = ind->next;
        load();
      }
    }
    return done;
  }
};

/// Chaos mode: the data of one xwsk indication given to the client in 2..4 WskReceiveEvent
/// calls, each over a private copy, so that whatever the client does with a piece (accept it
/// all or in part, decline it, retain it) is exactly what xwsk is told: the bytes it took.
xwsk::Status receive_in_pieces(ProviderSocket* s, const WSK_CLIENT_CONNECTION_DISPATCH* cd,
                               ULONG wflags, xwsk::DataIndication* data, size_t total,
                               size_t* bytes_accepted, uint64_t stream) {
  const uint32_t pieces = 2 + chaos_pick(stream, 42, 3);
  DataCursor cursor(data);
  size_t consumed = 0;
  for (uint32_t i = 0; i < pieces && consumed < total; ++i) {
    const size_t left = total - consumed;
    size_t n = i + 1 == pieces
                   ? left
                   : 1 + chaos_pick(stream, 43 + i,
                                    static_cast<uint32_t>(left > 0xffffffu ? 0xffffffu : left));
    if (n > left) n = left;
    unsigned char* copy = nullptr;
    IndicationBlock* b = new_block(s, false, 1, sizeof(WSK_DATA_INDICATION), 1, n, &copy);
    if (b == nullptr) break;
    if (cursor.copy(copy, n) != n) {
      free_block(b);
      break;
    }
    b->xlist = nullptr;  // a private copy: nothing to give back to xwsk
    PMDL m = IoAllocateMdl(copy, static_cast<ULONG>(n), FALSE, FALSE, nullptr);
    if (m == nullptr) {
      free_block(b);
      break;
    }
    MmBuildMdlForNonPagedPool(m);
    b->mdls[b->mdl_count++] = m;
    auto* list = reinterpret_cast<WSK_DATA_INDICATION*>(b->head);
    list->Next = nullptr;
    list->Buffer.Mdl = m;
    list->Buffer.Offset = 0;
    list->Buffer.Length = n;
    SIZE_T accepted = n;  // WSK: a client that takes everything need not set BytesAccepted
    const NTSTATUS st = checked_receive(cd->WskReceiveEvent(s->context, wflags, list, n, &accepted),
                                        fn(cd->WskReceiveEvent), "WskReceiveEvent");
    if (st == STATUS_SUCCESS) accepted = checked_accepted(accepted, n, fn(cd->WskReceiveEvent));
    if (st == STATUS_PENDING) {
      settle(s, b, st);  // retained: WskRelease frees the copy
      consumed += n;
      continue;
    }
    free_block(b);
    if (st != STATUS_SUCCESS) break;
    consumed += accepted < n ? accepted : n;
    if (accepted < n) break;  // the client takes the rest with WskReceive, as WSK says
  }
  if (consumed == 0) return xwsk::Status::DataNotAccepted;
  if (bytes_accepted != nullptr) *bytes_accepted = consumed;
  return xwsk::Status::Success;
}

SOCKADDR* native_address(const xwsk::SockAddr* a, NativeAddr* storage) {
  if (a == nullptr || sockaddr_out(*a, &storage->sa) == 0) return nullptr;
  return &storage->sa;
}

ProviderSocket* socket_from(void* context) {
  return static_cast<ProviderSocket*>(context);
}

// ---- listen events ------------------------------------------------------------------------------

xwsk::Status on_accept(void* socket_context, uint32_t flags, const xwsk::SockAddr* local,
                       const xwsk::SockAddr* remote, xwsk::Socket* accept_socket,
                       void** accept_socket_context,
                       const xwsk::ConnectionDispatch** accept_dispatch) {
  ProviderSocket* ls = socket_from(socket_context);
  const WSK_CLIENT_LISTEN_DISPATCH* ld = client_listen_dispatch(ls);
  if (ld == nullptr || ld->WskAcceptEvent == nullptr) return xwsk::Status::RequestNotAccepted;
  DispatchScope dispatch(ls->chaos_stream());
  const ULONG wflags = flags | dispatch_flag();
  if (accept_socket == nullptr) {
    // The listening socket is closing (WSK: AcceptSocket == NULL).
    ld->WskAcceptEvent(ls->context, wflags, nullptr, nullptr, nullptr, nullptr, nullptr);
    return xwsk::Status::Success;
  }
  ProviderSocket* s = socket_new(ls->reg, WSK_FLAG_CONNECTION_SOCKET, nullptr, nullptr);
  if (s == nullptr) return xwsk::Status::RequestNotAccepted;
  s->xs = accept_socket;
  s->dispatch_pending.store(true, std::memory_order_release);
  NativeAddr l{}, r{};
  PVOID context = nullptr;
  const WSK_CLIENT_CONNECTION_DISPATCH* cd = nullptr;
  NTSTATUS st = ld->WskAcceptEvent(ls->context, wflags, native_address(local, &l),
                                   native_address(remote, &r), &s->wsk, &context, &cd);
  st = checked(st, st == STATUS_SUCCESS || st == STATUS_REQUEST_NOT_ACCEPTED,
               fn(ld->WskAcceptEvent), "WskAcceptEvent", STATUS_REQUEST_NOT_ACCEPTED);
  if (st != STATUS_SUCCESS) {
    s->xs = nullptr;
    socket_delete(s);  // xwsk closes the socket it offered
    return xwsk::Status::RequestNotAccepted;
  }
  s->context = context;
  s->client_dispatch.store(cd, std::memory_order_release);
  s->dispatch_pending.store(false, std::memory_order_release);
  *accept_socket_context = s;
  *accept_dispatch = &kXwskConnectionEvents;
  return xwsk::Status::Success;
}

xwsk::InspectAction on_inspect(void* socket_context, const xwsk::SockAddr* local,
                               const xwsk::SockAddr* remote, const xwsk::InspectId* inspect_id) {
  ProviderSocket* ls = socket_from(socket_context);
  const WSK_CLIENT_LISTEN_DISPATCH* ld = client_listen_dispatch(ls);
  if (ld == nullptr || ld->WskInspectEvent == nullptr) return xwsk::InspectAction::Accept;
  DispatchScope dispatch(ls->chaos_stream());
  NativeAddr l{}, r{};
  WSK_INSPECT_ID id{inspect_id->key, inspect_id->serial_number};
  const WSK_INSPECT_ACTION a =
      ld->WskInspectEvent(ls->context, native_address(local, &l), native_address(remote, &r), &id);
  if (a != WskInspectAccept && a != WskInspectReject && a != WskInspectPend) {
    checked(static_cast<NTSTATUS>(a), false, fn(ld->WskInspectEvent), "WskInspectEvent", 0);
  }
  switch (a) {
    case WskInspectAccept:
      return xwsk::InspectAction::Accept;
    case WskInspectPend:
      return xwsk::InspectAction::Pend;
    default:
      return xwsk::InspectAction::Reject;
  }
}

xwsk::Status on_abort(void* socket_context, const xwsk::InspectId* inspect_id) {
  ProviderSocket* ls = socket_from(socket_context);
  const WSK_CLIENT_LISTEN_DISPATCH* ld = client_listen_dispatch(ls);
  if (ld == nullptr || ld->WskAbortEvent == nullptr) return xwsk::Status::Success;
  DispatchScope dispatch(ls->chaos_stream());
  WSK_INSPECT_ID id{inspect_id->key, inspect_id->serial_number};
  const NTSTATUS st = ld->WskAbortEvent(ls->context, &id);
  return static_cast<xwsk::Status>(
      checked(st, st == STATUS_SUCCESS, fn(ld->WskAbortEvent), "WskAbortEvent", STATUS_SUCCESS));
}

// ---- connection events --------------------------------------------------------------------------

xwsk::Status on_receive(void* socket_context, uint32_t flags, xwsk::DataIndication* data,
                        size_t bytes_indicated, size_t* bytes_accepted) {
  ProviderSocket* s = socket_from(socket_context);
  const WSK_CLIENT_CONNECTION_DISPATCH* cd = client_connection_dispatch(s);
  if (cd == nullptr || cd->WskReceiveEvent == nullptr) return xwsk::Status::DataNotAccepted;
  const uint64_t stream = s->chaos_stream();
  DispatchScope dispatch(stream);
  const ULONG wflags = flags | dispatch_flag();
  if (data == nullptr) {
    // The socket can no longer be used (WSK: DataIndication == NULL).
    SIZE_T accepted = 0;
    return static_cast<xwsk::Status>(
        cd->WskReceiveEvent(s->context, wflags, nullptr, 0, &accepted));
  }
  if (chaos_on() && bytes_indicated >= 2 && chaos_pick(stream, 41, 3) == 0) {
    return receive_in_pieces(s, cd, wflags, data, bytes_indicated, bytes_accepted, stream);
  }
  size_t n = 0, mdls = 0;
  for (xwsk::DataIndication* d = data; d != nullptr; d = d->next) {
    ++n;
    mdls += segments_of(d->buffer);
  }
  unsigned char* extra = nullptr;
  IndicationBlock* b = new_block(s, false, n, sizeof(WSK_DATA_INDICATION), mdls, 0, &extra);
  if (b == nullptr) return xwsk::Status::DataNotAccepted;  // xwsk keeps the data for receive()
  b->xlist = data;
  auto* list = reinterpret_cast<WSK_DATA_INDICATION*>(b->head);
  size_t i = 0;
  for (xwsk::DataIndication* d = data; d != nullptr; d = d->next, ++i) {
    if (!describe(d->buffer, b, &list[i].Buffer)) {
      free_block(b);
      return xwsk::Status::DataNotAccepted;
    }
    list[i].Next = i + 1 < n ? &list[i + 1] : nullptr;
  }
  SIZE_T accepted = bytes_indicated;  // set by the client only for a partial take
  const NTSTATUS st =
      checked_receive(cd->WskReceiveEvent(s->context, wflags, list, bytes_indicated, &accepted),
                      fn(cd->WskReceiveEvent), "WskReceiveEvent");
  if (st == STATUS_SUCCESS) {
    accepted = checked_accepted(accepted, bytes_indicated, fn(cd->WskReceiveEvent));
  }
  const xwsk::Status r = settle(s, b, st);
  if (bytes_accepted != nullptr) {
    if (st == STATUS_SUCCESS) *bytes_accepted = accepted;
    if (st == STATUS_PENDING && r == xwsk::Status::Success) *bytes_accepted = bytes_indicated;
  }
  return r;
}

xwsk::Status on_disconnect(void* socket_context, uint32_t flags) {
  ProviderSocket* s = socket_from(socket_context);
  const WSK_CLIENT_CONNECTION_DISPATCH* cd = client_connection_dispatch(s);
  if (cd == nullptr || cd->WskDisconnectEvent == nullptr) return xwsk::Status::Success;
  DispatchScope dispatch(s->chaos_stream());
  const NTSTATUS st = cd->WskDisconnectEvent(s->context, flags | dispatch_flag());
  return static_cast<xwsk::Status>(checked(st, st == STATUS_SUCCESS, fn(cd->WskDisconnectEvent),
                                           "WskDisconnectEvent", STATUS_SUCCESS));
}

xwsk::Status on_send_backlog(void* socket_context, size_t ideal_backlog_size) {
  ProviderSocket* s = socket_from(socket_context);
  const WSK_CLIENT_CONNECTION_DISPATCH* cd = client_connection_dispatch(s);
  if (cd == nullptr || cd->WskSendBacklogEvent == nullptr) return xwsk::Status::Success;
  DispatchScope dispatch(s->chaos_stream());
  const NTSTATUS st = cd->WskSendBacklogEvent(s->context, ideal_backlog_size);
  return static_cast<xwsk::Status>(checked(st, st == STATUS_SUCCESS, fn(cd->WskSendBacklogEvent),
                                           "WskSendBacklogEvent", STATUS_SUCCESS));
}

// ---- datagram events ----------------------------------------------------------------------------

xwsk::Status on_receive_from(void* socket_context, uint32_t flags,
                             xwsk::DatagramIndication* datagrams) {
  ProviderSocket* s = socket_from(socket_context);
  const WSK_CLIENT_DATAGRAM_DISPATCH* dd = client_datagram_dispatch(s);
  if (dd == nullptr || dd->WskReceiveFromEvent == nullptr) return xwsk::Status::DataNotAccepted;
  DispatchScope dispatch(s->chaos_stream());
  const ULONG wflags = flags | dispatch_flag();
  if (datagrams == nullptr) {
    return static_cast<xwsk::Status>(dd->WskReceiveFromEvent(s->context, wflags, nullptr));
  }
  size_t n = 0, mdls = 0;
  for (xwsk::DatagramIndication* d = datagrams; d != nullptr; d = d->next) {
    ++n;
    mdls += segments_of(d->buffer);
  }
  unsigned char* extra = nullptr;
  IndicationBlock* b =
      new_block(s, true, n, sizeof(WSK_DATAGRAM_INDICATION), mdls, n * sizeof(NativeAddr), &extra);
  if (b == nullptr) return xwsk::Status::DataNotAccepted;
  b->xlist = datagrams;
  auto* list = reinterpret_cast<WSK_DATAGRAM_INDICATION*>(b->head);
  auto* addrs = reinterpret_cast<NativeAddr*>(extra);
  size_t i = 0;
  for (xwsk::DatagramIndication* d = datagrams; d != nullptr; d = d->next, ++i) {
    if (!describe(d->buffer, b, &list[i].Buffer)) {
      free_block(b);
      return xwsk::Status::DataNotAccepted;
    }
    list[i].ControlInfo = static_cast<PCMSGHDR>(const_cast<void*>(d->control_info));
    list[i].ControlInfoLength = static_cast<ULONG>(d->control_info_length);
    list[i].RemoteAddress = native_address(d->remote_address, &addrs[i]);
    list[i].Next = i + 1 < n ? &list[i + 1] : nullptr;
  }
  const NTSTATUS st = checked_receive(dd->WskReceiveFromEvent(s->context, wflags, list),
                                      fn(dd->WskReceiveFromEvent), "WskReceiveFromEvent");
  return settle(s, b, st);
}

xwsk::Status on_client_event(void* client_context, uint32_t event_type, void* information,
                             size_t information_length) {
  auto* reg = static_cast<Registration*>(client_context);
  if (reg->client_dispatch == nullptr || reg->client_dispatch->WskClientEvent == nullptr) {
    return xwsk::Status::Success;
  }
  DispatchScope dispatch;
  return static_cast<xwsk::Status>(reg->client_dispatch->WskClientEvent(
      reg->client_context, event_type, information, information_length));
}

const xwsk::ListenDispatch kXwskListenEvents = {on_accept, on_inspect, on_abort};
const xwsk::DatagramDispatch kXwskDatagramEvents = {on_receive_from};

}  // namespace

const xwsk::ConnectionDispatch kXwskConnectionEvents = {on_receive, on_disconnect, on_send_backlog};
const xwsk::ClientDispatch kXwskClientDispatch = {xwsk::kWskVersion, 0, on_client_event};

namespace {
const xwsk::StreamDispatch kXwskStreamEvents = {&kXwskListenEvents, &kXwskConnectionEvents};
}  // namespace

const void* xwsk_dispatch_for(ULONG category) {
  // Basic sockets have no events.
  return for_category(category, &kXwskListenEvents, &kXwskConnectionEvents, &kXwskDatagramEvents,
                      &kXwskStreamEvents, nullptr);
}

// ---- WskRelease ---------------------------------------------------------------------------------

NTSTATUS release_indications(ProviderSocket* s, const void* head, bool datagram,
                             const void* caller) {
  if (head == nullptr) return STATUS_INVALID_PARAMETER;
  IndicationBlock* b = block_of(head);
  if (b == nullptr) {
    umwsk_rule_violation_at(caller, "wsk.release_not_indication", head,
                            "WskRelease of a list the provider did not indicate");
    return STATUS_INVALID_PARAMETER;
  }
  if (b->magic == kFreedBlockMagic) {
    const bool twice = b->state.load(std::memory_order_acquire) == kReleased;
    umwsk_rule_violation_at(caller, twice ? "wsk.release_twice" : "wsk.release_not_retained", head,
                            twice ? "WskRelease of an indication list that was already released"
                                  : "WskRelease of an indication list the client did not retain "
                                    "(its event did not return STATUS_PENDING)");
    return STATUS_INVALID_PARAMETER;
  }
  if (b->socket != s) {
    umwsk_rule_violation_at(caller, "wsk.release_wrong_socket", head,
                            "WskRelease on socket %p of a list indicated on socket %p",
                            static_cast<void*>(s), static_cast<void*>(b->socket));
    return STATUS_INVALID_PARAMETER;
  }
  if (b->datagram != datagram) return STATUS_INVALID_PARAMETER;
  b->release_caller = caller;
  const uint32_t prev = b->state.exchange(kReleased, std::memory_order_acq_rel);
  if (prev == kReleased) {
    umwsk_rule_violation_at(caller, "wsk.release_twice", head,
                            "WskRelease of an indication list that was already released");
    return STATUS_INVALID_PARAMETER;
  }
  // The event has not returned yet: it settles the list (see settle()).
  if (prev == kInEvent) return STATUS_SUCCESS;
  // The event returned something other than STATUS_PENDING just now, and settle() frees the
  // block: the list was not retained.
  if (prev == kSettled) {
    umwsk_rule_violation_at(caller, "wsk.release_not_retained", head,
                            "WskRelease of an indication list the client did not retain "
                            "(its event did not return STATUS_PENDING)");
    return STATUS_INVALID_PARAMETER;
  }
  // A chaos piece is a private copy: nothing goes back to xwsk.
  xwsk::Status st = xwsk::Status::Success;
  if (b->xlist != nullptr) {
    st = datagram
             ? xwsk::release_datagram_indications(s->xs,
                                                  static_cast<xwsk::DatagramIndication*>(b->xlist))
             : xwsk::release_data_indications(s->xs, static_cast<xwsk::DataIndication*>(b->xlist));
  }
  if (unretain(s, b)) free_block(b);
  return nt(st);
}

void release_all_indications(ProviderSocket* s) {
  for (;;) {
    KIRQL irql;
    KeAcquireSpinLock(&s->lock, &irql);
    IndicationBlock* b = s->retained;
    if (b != nullptr) {
      s->retained = b->next;
      if (b->next != nullptr) b->next->prev = nullptr;
    }
    KeReleaseSpinLock(&s->lock, irql);
    if (b == nullptr) return;
    umwsk_rule_violation_at(__builtin_return_address(0), "wsk.close_with_retained_indications",
                            b->head,
                            "socket %p closed while the client still held an indication list "
                            "(WskRelease must come before WskCloseSocket)",
                            static_cast<void*>(s));
    count(Counter::RetainedIndications, -1);
    free_block(b);
  }
}

}  // namespace umwsk::provider
