// SPDX-License-Identifier: MIT
// backend.h: internals of the WSK backend (backends/wsk/*.cpp only).
//
// The backend is the xwsk contract (sdk/src/core.h, namespace xwsk::backend) over the real WSK
// client interface:
//   - a Client owns a WSK registration and the captured provider NPI;
//   - a Socket wraps a WSK_SOCKET; it is the WSK socket context of its WSK socket, and the
//     socket's client dispatch is one of the const trampoline tables in events.cpp;
//   - a Request owns one IRP (request_init: IoAllocateIrp), reused for every operation
//     (IoReuseIrp + IoSetCompletionRoutine); OpState below lives in the request's private
//     storage, so an operation allocates nothing;
//   - a Segment owns one MDL (segment_init: IoAllocateMdl + MmBuildMdlForNonPagedPool).
//
// IRQL: every function is annotated. Completion routines and event trampolines run at
// IRQL <= DISPATCH_LEVEL and never wait. The only waiting code is client_destroy() (the
// contract's deregister_client(), PASSIVE_LEVEL, waits for the client's sockets to close).
#ifndef XWSK_BACKENDS_WSK_WSK_BACKEND_H_
#define XWSK_BACKENDS_WSK_WSK_BACKEND_H_

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "../common/utf.h"
#include "core.h"
#include "wsk_ddk.h"
#include "xwsk/xwsk.h"
#include "xwsk_wsk.h"

namespace xwsk::wsk {

// ---- limits of the event translation (documented in docs/wsk-backend.md) ----------------------

/// Indications one receive / receive_from event translates into the socket's own shadows. A
/// longer WSK indication list gets an overflow block from non-paged pool for that event (and
/// for as long as the client retains it); only when that allocation fails is the list declined
/// with STATUS_DATA_NOT_ACCEPTED. A provider may indicate lists of any length (umwsk's indicates
/// up to 64 datagrams at once), and a decline would disable the event in the provider.
inline constexpr int kMaxEventIndications = 8;
/// MDLs (xwsk Segments) one receive / receive_from event translates into the socket's shadows,
/// over all indications; more take the overflow block too.
inline constexpr int kMaxEventSegments = 16;
/// Indication lists one socket's client may keep at once (receive / receive_from events that
/// returned Pending and were not released yet). WSK lets a provider indicate more data while
/// earlier lists are kept; with all of them in use the next event is declined.
inline constexpr int kMaxHolds = 8;

/// One indication list the client may keep (Pending): the provider's list to give back with
/// WskRelease, the xwsk list head the client must name in release_*_indications(), and the
/// overflow block its shadows live in (null: the socket's own shadows).
struct Hold {
  std::atomic<uint32_t> held;  // 1 from just before the client's callback until given back
  void* native;                // WSK_DATA_INDICATION* or WSK_DATAGRAM_INDICATION*
  const void* head;            // the DataIndication* / DatagramIndication* handed out
  void* block;                 // overflow block, or null
};

/// Spare Socket objects a listening socket keeps for connections taken by its accept event. They
/// are allocated when the socket is created and refilled by every later call on that socket at
/// PASSIVE_LEVEL; when none is left the accept event declines the connection
/// (STATUS_REQUEST_NOT_ACCEPTED: the provider resets it).
inline constexpr int kAcceptSpares = 4;

/// A SOCKADDR big enough for IPv4 and IPv6.
union NativeAddr {
  SOCKADDR sa;
  SOCKADDR_IN in;
  SOCKADDR_IN6 in6;
};

/// The operation a request is carrying (selects the completion translation).
enum class OpKind : uint32_t {
  kPlain = 0,      // status + information as the provider set them
  kBind,           // one status for an address in use (see request.cpp)
  kSocket,         // information is a WSK_SOCKET*: wrap it in op.created
  kAccept,         // same, plus local/remote addresses
  kReceive,        // WAITALL emulation on providers that ignore the flag
  kReceiveFrom,    // remote address, control length and flags
  kAddress,        // local / remote address query
  kAddressInfo,    // ADDRINFOEXW list -> AddrInfo list
  kNameInfo,       // UNICODE_STRINGs -> UTF-8
  kClose,          // the socket object goes away after the provider completes
  kControlSocket,  // output size
  kControlClient,  // output size, transport list, static event mask
  kListen,         // the stream socket is listening once it succeeds
  kSendMessages,   // frees the WSK_BUF_LIST array built for the call
};

/// The MDL link make_wsk_buf() cut for one provider call: the last MDL the Buf covers, and the
/// Next it had before (restored by restore_mdl_cut() when the IRP completes). Null mdl: none.
struct MdlCut {
  MDL* mdl;
  MDL* next;
};

/// Per-request state (inside Request::priv.backend; no allocation per operation).
struct OpState {
  IRP* irp;                     // owned: IoAllocateIrp in request_init
  std::atomic<uint32_t> phase;  // kCalling / kReturned / kDone, see request.cpp
  OpKind kind;
  Status status;   // final status when completed inline
  uint32_t flags;  // the operation's xwsk flags (WAITALL emulation)
  // The request area is full (160 bytes), so the MDL cut of an operation with a WSK_BUF (send,
  // receive, disconnect, connect_ex, send_to, receive_from) shares storage with fields such
  // an operation does not use while it is in flight: `info` is written only at completion,
  // after the cut was restored; `created` is used by socket creation and accept only.
  union {
    uintptr_t info;  // final information when completed inline
    MDL* cut_next;   // in flight: MdlCut::next
  };
  Socket* socket;  // target socket (null for client-level operations)
  union {
    Socket* created;  // preallocated wrapper: socket, socket_connect, accept
    MDL* cut_mdl;     // in flight, operations with a WSK_BUF: MdlCut::mdl
  };
  void* out0;  // client outputs (per kind: SockAddr*, AddrInfo**, size_t*)
  void* out1;
  void* out2;
  union {
    size_t done;  // kReceive: bytes received by earlier pieces
    void* ctx;    // kAddressInfo / kNameInfo: the call's context
    struct {
      ULONG control_length;
      ULONG control_flags;
    } ctl;  // kReceiveFrom
  } u;
  WSK_BUF buf;         // the operation's WSK_BUF (kept for the provider's use)
  NativeAddr addr[2];  // native addresses the provider reads or writes
};
static_assert(sizeof(OpState) <= sizeof(detail::RequestPrivate::backend), "OpState too large");

inline OpState* op_of(Request* req) {
  return detail::op_state<OpState>(req);
}

// ---- the provider profile (client.cpp) ----------------------------------------------------

/// True when the provider is known to lack (stub) @p cap; the request is then completed with
/// STATUS_NOT_IMPLEMENTED by the backend instead of being handed to a stub that never completes.
bool provider_lacks(Capability cap);

// ---- requests (request.cpp) -------------------------------------------------------------------

/// Prepares the request's IRP for one provider call of @p kind. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) IRP* begin_op(Request* req, OpKind kind, Socket* s);
/// After the provider function returned: completes the request now if the IRP already
/// completed during the call (returns the final status), else returns Pending.
_IRQL_requires_max_(DISPATCH_LEVEL) Status end_op(Request* req);
/// Completes without the provider (validation the provider would do, provider gaps).
_IRQL_requires_max_(DISPATCH_LEVEL) Status complete_now(Request* req, Status st, uintptr_t info);

/// Builds a WSK_BUF over an xwsk Buf, linking the segments' MDLs (mdl->Next follows
/// seg->next over the bytes the Buf covers). The last MDL the Buf covers ends the chain
/// (Next = null) for the duration of the provider call: Wine's netio rejects a multi-MDL chain
/// that runs past the Buf. The Next it had is saved in @p cut; the caller hands it back with
/// restore_mdl_cut() once the provider is done with the buffer (the MDLs are the caller's
/// segments', or the provider's own for a Buf from an indication, and outlive the call).
_IRQL_requires_max_(DISPATCH_LEVEL) void make_wsk_buf(const Buf* buf, WSK_BUF* out, MdlCut* cut);
/// make_wsk_buf() for a request's op->buf, keeping the cut in the request (restored by the
/// completion routine).
_IRQL_requires_max_(DISPATCH_LEVEL) void make_op_buf(OpState* op, const Buf* buf);
/// Gives the cut MDL its Next back. IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) void restore_mdl_cut(const MdlCut& cut);

// ---- conversions (convert.cpp): the one place xwsk values become WSK/DDK values ----------

/// xwsk SockAddr -> SOCKADDR_IN / SOCKADDR_IN6. Returns false for an unknown family.
bool to_native(const SockAddr& a, NativeAddr* out);
/// SOCKADDR_IN / SOCKADDR_IN6 -> xwsk SockAddr. Returns false for an unknown family / null.
bool from_native(const SOCKADDR* sa, SockAddr* out);
ADDRESS_FAMILY native_family(AddressFamily f);
/// A DDK family number -> xwsk's (its number); any other number is passed on as it is.
int32_t xwsk_family(int native);
USHORT native_socket_type(SocketType t);
ULONG native_protocol(Protocol p);
ULONG native_category(uint32_t category);
/// Operation flags (send, receive, disconnect, bind, connect, accept).
ULONG native_op_flags(uint32_t flags);
/// Indication flags the provider passes to an event -> xwsk kFlag* values.
uint32_t xwsk_event_flags(ULONG flags);
/// Event masks (WSK_EVENT_*).
ULONG native_event_mask(uint32_t mask);
/// Options and ioctls: false when xwsk has no name for the value (then passed through as is).
bool native_option(uint32_t level, uint32_t name, ULONG* native_level, ULONG* native_name);
ULONG native_ioctl(uint32_t code);
ULONG native_control_client(uint32_t code);
WSK_CONTROL_SOCKET_TYPE native_control_type(ControlType t);
WSK_INSPECT_ACTION native_inspect_action(InspectAction a);
InspectAction xwsk_inspect_action(WSK_INSPECT_ACTION a);
// Strings: UTF-8 <-> WCHAR through backends/common/utf.h (shared with the umwsk provider).
using text::utf8_to_wide;
using text::wide_to_utf8;

// ---- sockets (socket.cpp / events.cpp) ------------------------------------------------

/// Allocates a Socket object (detail::alloc, kTagSocket), not yet counted as a live socket.
_IRQL_requires_max_(DISPATCH_LEVEL) Socket* socket_alloc();
/// Frees a Socket object that never became live (no init_socket_base).
_IRQL_requires_max_(DISPATCH_LEVEL) void socket_free_unused(Socket* s);
/// Makes @p s the live wrapper of @p wsk (init_socket_base). IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) void socket_attach(Socket* s, WSK_SOCKET* wsk, Client* client,
                                                       AddressFamily family, SocketType type,
                                                       Protocol protocol, uint32_t category,
                                                       void* context, const void* dispatch);
/// Tops up the accept-event spares of a listening socket (PASSIVE_LEVEL: allocates).
_IRQL_requires_max_(PASSIVE_LEVEL) void refill_accept_spares(Socket* s);
/// Gives back the hold of the list whose head is @p head (release_*_indications), or, with a
/// null @p head, every hold (the close). Returns the provider's list of the one given back, or
/// null when no hold has that head. IRQL <= DISPATCH_LEVEL.
void* give_back_hold(Socket* s, const void* head);

/// Closes the accounting of a socket whose WskCloseSocket completed and frees it (IRQL <=
/// DISPATCH_LEVEL). Wakes client_destroy() when it was the client's last socket.
_IRQL_requires_max_(DISPATCH_LEVEL) void finish_close(Socket* s);
/// Wine 8 (wine_close.cpp): starts / stops the client's close worker (PASSIVE_LEVEL), and
/// queues a close to it (IRQL <= DISPATCH_LEVEL; the request's IRP is already armed).
_IRQL_requires_(PASSIVE_LEVEL) Status wine_worker_start(Client* c);
_IRQL_requires_(PASSIVE_LEVEL) void wine_worker_stop(Client* c);
_IRQL_requires_max_(DISPATCH_LEVEL) void wine_queue_close(Socket* s, Request* req);
/// Hands an accept request prepared by accept() (IRP armed, op->created set) to the provider's
/// WskAccept and returns end_op()'s result (socket.cpp). IRQL <= DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status issue_accept(Socket* s, Request* req);
/// Wine 8 (wine_close.cpp): one WskAccept per listener at a time. wine_accept_defer() queues
/// @p req when one is already in the provider (true: the caller returns Pending);
/// wine_accept_next(), from the accept completion, takes the next queued request to issue (or
/// frees the slot); wine_accept_issue() issues it. IRQL <= DISPATCH_LEVEL; nothing allocates.
_IRQL_requires_max_(DISPATCH_LEVEL) bool wine_accept_defer(Socket* s, Request* req);
_IRQL_requires_max_(DISPATCH_LEVEL) Request* wine_accept_next(Socket* s);
_IRQL_requires_max_(DISPATCH_LEVEL) void wine_accept_issue(Socket* s, Request* req);
/// The const WSK client dispatch table (of trampolines) for a socket category.
const void* client_dispatch_for(uint32_t category);

}  // namespace xwsk::wsk

namespace xwsk {

/// WSK_CLIENT on the xwsk side: the registration with the WSK subsystem.
struct Client {
  detail::ClientBase base;
  WSK_CLIENT_NPI wsk_npi;  // must outlive the registration (the provider keeps it)
  WSK_REGISTRATION registration;
  WSK_PROVIDER_NPI provider;
  KEVENT sockets_closed;       // SynchronizationEvent, set when base.sockets drops to 0
  KSPIN_LOCK lock;             // orders "last socket freed" against client_destroy()
  std::atomic<void*> orphans;  // name-resolution results to free at PASSIVE_LEVEL
  bool captured;
  // Wine 8 only (wine_close.cpp): the close worker thread and its queue.
  std::atomic<Socket*> close_queue;
  std::atomic<uint32_t> worker_stop;
  KEVENT worker_wake;      // SynchronizationEvent: work queued or stop
  KEVENT worker_exited;    // NotificationEvent
  KEVENT worker_irp_done;  // SynchronizationEvent: the worker's own IRP completed
  IRP* worker_irp;         // the worker's own IRP (dummy accept)
  bool worker_running;
};
static_assert(offsetof(Client, base) == 0, "ClientBase must come first");

/// WSK_SOCKET on the xwsk side. Also the WSK socket context of its WSK socket.
struct Socket {
  detail::SocketBase base;
  WSK_SOCKET* wsk;  // the provider's socket
  // Event translation state: used only by the event trampolines (events.cpp), which the
  // provider calls serially per socket; in_event catches a provider that does not.
  std::atomic<uint32_t> in_event;
  wsk::Hold holds[wsk::kMaxHolds];  // lists the client keeps (events.cpp)
  std::atomic<bool> shadows_held;   // the shadows below belong to a hold
  DataIndication data[wsk::kMaxEventIndications];
  DatagramIndication datagrams[wsk::kMaxEventIndications];
  SockAddr datagram_from[wsk::kMaxEventIndications];
  Segment segments[wsk::kMaxEventSegments];
  std::atomic<Socket*> accept_spares[wsk::kAcceptSpares];
  // Wine 8 only (wine_close.cpp): deferred close and the listener's acceptor workaround.
  Socket* close_next;                          // close queue link
  Request* close_request;                      // the close_socket() request being deferred
  std::atomic<uint32_t> accepts_pending;       // WskAccept IRPs outstanding on this listener
  std::atomic<uint32_t> acceptor_is_accepted;  // last accept succeeded, none posted since
  // Wine 8 only (wine_close.cpp): accepts serialized per listener (netio has one accept slot).
  KSPIN_LOCK accept_lock;  // guards the four fields below
  Request* accept_head;    // accepts waiting for the slot (FIFO, priv.next)
  Request* accept_tail;
  bool accept_busy;                      // one WskAccept is in the provider
  bool accept_closed;                    // the close worker took the queue: issue no more
  std::atomic<uint32_t> accept_issuing;  // deferred WskAccept calls still inside the provider
};
static_assert(offsetof(Socket, base) == 0, "SocketBase must come first");

}  // namespace xwsk

#endif  // XWSK_BACKENDS_WSK_WSK_BACKEND_H_
