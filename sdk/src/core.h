// SPDX-License-Identifier: MIT
// Internal: the contract between the backend-neutral core (sdk/src) and a backend.
//
// The core validates every argument once (api.cpp), marks the request accepted, then calls the
// one backend linked into the program through the functions declared in namespace
// xwsk::backend below. There is no virtual interface: the backend is chosen by which library is
// linked (like libuv's linux.c / kqueue.c). Every backend defines:
//   struct xwsk::Client { detail::ClientBase base; ... };   // base first, standard layout
//   struct xwsk::Socket { detail::SocketBase base; ... };   // base first, standard layout
// and every function in namespace xwsk::backend.
//
// Kernel-capable: no exceptions, no RTTI, no std::function, allocation only via detail::alloc.
#ifndef XWSK_SDK_SRC_CORE_H_
#define XWSK_SDK_SRC_CORE_H_

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "xwsk/xwsk.h"

namespace xwsk {
namespace detail {

// Pool tags ('xwRq' style, stored little-endian as in the kernel). The one table of tags.
constexpr uint32_t make_tag(char a, char b, char c, char d) {
  return static_cast<uint32_t>(static_cast<uint8_t>(a)) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b)) << 8) |
         (static_cast<uint32_t>(static_cast<uint8_t>(c)) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(d)) << 24);
}
constexpr uint32_t kTagClient = make_tag('x', 'w', 'C', 'l');
constexpr uint32_t kTagSocket = make_tag('x', 'w', 'S', 'k');
constexpr uint32_t kTagBuffer = make_tag('x', 'w', 'B', 'f');
constexpr uint32_t kTagAddrInfo = make_tag('x', 'w', 'A', 'i');
constexpr uint32_t kTagMisc = make_tag('x', 'w', 'M', 's');
// Kernel-only tags (backends/wsk, tests/kernel; re-exported by backends/wsk/pool_tags.h).
constexpr uint32_t kTagNew = make_tag('x', 'w', 'N', 'w');         // global operator new
constexpr uint32_t kTagNewAligned = make_tag('x', 'w', 'N', 'a');  // over-aligned operator new
constexpr uint32_t kTagTest = make_tag('x', 'w', 'T', 's');        // kernel test driver

constexpr uint32_t kClientMagic = 0x436b5778;  // "xWkC"
constexpr uint32_t kSocketMagic = 0x536b5778;  // "xWkS"
constexpr uint32_t kDeadMagic = 0xdeadbeef;

/// Per-socket state every backend keeps, read by the core to validate calls.
struct SocketBase {
  uint32_t magic;
  uint32_t category;  // SocketCategory
  AddressFamily family;
  SocketType type;
  Protocol protocol;
  std::atomic<uint32_t> closing;  // set once close_socket() is accepted
  Client* client;
  void* context;
  const void* dispatch;
  std::atomic<uint32_t> event_mask;  // enabled WSK_EVENT_* bits
  bool listening;                    // stream category after listen(), or listen category
  std::atomic<uint32_t> core_state;  // kCoreBound...: what the core saw complete (rules.cpp)
};

/// SocketBase::core_state bits, set by detail::complete() when the operation succeeded. A socket
/// made by socket() starts unbound; one made by accept, the accept event or socket_connect is
/// bound from the start (it has neither bit).
enum CoreState : uint32_t {
  kCoreFresh = 1u << 0,      // created by socket(): unbound and unconnected until ...
  kCoreBound = 1u << 1,      // ... a bind completed with Success
  kCoreConnected = 1u << 2,  // ... a connect or connect_ex completed with Success
};

/// Request::core_op: which completions the core looks at (set after acceptance).
enum CoreOp : uint32_t {
  kCoreOpNone = 0,
  kCoreOpSocket = 1,   // socket(): Success marks the new Socket* (information) fresh
  kCoreOpBind = 2,     // bind(): Success marks priv.socket bound
  kCoreOpConnect = 3,  // connect(), connect_ex(): Success marks priv.socket connected
};

/// True when @p b may be used as a bound socket (see CoreState).
inline bool is_bound(const SocketBase* b) {
  uint32_t st = b->core_state.load(std::memory_order_acquire);
  return (st & kCoreFresh) == 0 || (st & kCoreBound) != 0;
}
/// True when @p b may be used as a connected socket: it came from accept or socket_connect, or
/// a connect completed (later disconnects are the backend's to judge).
inline bool was_connected(const SocketBase* b) {
  uint32_t st = b->core_state.load(std::memory_order_acquire);
  return (st & kCoreFresh) == 0 || (st & kCoreConnected) != 0;
}

/// Per-client state every backend keeps.
struct ClientBase {
  uint32_t magic;
  ClientNpi npi;
  ClientDispatch dispatch_copy;
  Registration* registration;
  std::atomic<uint32_t> captures;
  std::atomic<uint32_t> sockets;            // live sockets of this client
  std::atomic<uint32_t> static_event_mask;  // WSK_SET_STATIC_EVENT_CALLBACKS
  std::atomic<bool> any_socket_created;
  std::atomic<uint32_t> deregistering;  // deregister_client() began: captures now fail
};

// Backends put the base first in a standard-layout struct (they static_assert it), so the
// pointer to the object is the pointer to its base.
inline SocketBase* base_of(Socket* s) {
  return reinterpret_cast<SocketBase*>(s);
}
inline ClientBase* base_of(Client* c) {
  return reinterpret_cast<ClientBase*>(c);
}

// ---- accounting -------------------------------------------------------------------------
struct LiveCounters {
  std::atomic<uint32_t> registrations;
  std::atomic<uint32_t> sockets;
  std::atomic<uint32_t> requests_in_flight;
  std::atomic<uint32_t> allocations;
  std::atomic<uint32_t> retained_indications;
};
extern LiveCounters g_counters;

// ---- allocation (the one hook) ------------------------------------------------------------
void* alloc(size_t size, uint32_t tag);
void release(void* memory, uint32_t tag);

// ---- checked build mode (checked.cpp) ------------------------------------------------------
#if defined(XWSK_CHECKED)
constexpr bool kChecked = true;
#else
constexpr bool kChecked = false;
#endif
/// Backends release a closed socket object's memory through this instead of their reuse cache
/// when kChecked: the memory stays allocated (its magic dead) for the next 256 closes, so a
/// stale handle gets InvalidHandle instead of acting on a new socket. Unchecked: release().
void release_socket_memory(void* memory, uint32_t tag);
/// Releases everything in the quarantine (the core calls it when the last client deregisters,
/// so that the allocator and the counters see every block back).
void quarantine_flush();

// ---- requests -----------------------------------------------------------------------------
// In flight is a 32-bit pattern, not 1, so that request_init() can tell a request in flight
// (DeviceBusy) from the uninitialized memory a new request starts as.
enum RequestState : uint32_t { kIdle = 0, kInFlight = 0x464c5478 /* "xTLF" */ };

/// Completes an accepted request: sets status and information, marks it idle, then runs the
/// completion routine. Returns @p status so a backend can write `return complete(r, st, n);`.
/// The request must not be touched by the caller afterwards.
Status complete(Request* req, Status status, uintptr_t information);

/// Backend-private operation state stored inside the request.
template <typename T>
inline T* op_state(Request* req) {
  static_assert(sizeof(T) <= sizeof(req->priv.backend), "backend op state too large");
  static_assert(alignof(T) <= 16, "backend op state over-aligned");
  return reinterpret_cast<T*>(req->priv.backend);
}

/// The listen / connection dispatch of a socket (resolving StreamDispatch), or null.
const ListenDispatch* listen_dispatch(const SocketBase* b);
const ConnectionDispatch* connection_dispatch(const SocketBase* b);

/// Backends call these when a socket object is created (before its Socket* is handed out) and
/// just before it is freed. init applies the client's static event callbacks and counts it.
void init_socket_base(SocketBase* b, Client* client, AddressFamily family, SocketType type,
                      Protocol protocol, uint32_t category, void* context, const void* dispatch);
void fini_socket_base(SocketBase* b);

/// The client's static event callbacks (WSK_SET_STATIC_EVENT_CALLBACKS) that @p b's category
/// and dispatch table can take: the mask a new socket starts with, and the one a connection
/// handed out by an accept request gets once its dispatch is known. The one place of that
/// policy; backends store the result in b->event_mask.
uint32_t static_event_mask(const SocketBase* b);

/// The event mask a socket taken by the accept event of @p listener starts with, once the
/// event returned Success and set its context and dispatch: the client's static events plus the
/// connection events enabled on the listener (WSK: SO_WSK_EVENT_CALLBACK on a listening socket),
/// each only if @p accepted's dispatch has the callback. Backends store it in
/// accepted->event_mask. Sockets accepted through accept() requests inherit nothing from the
/// listener (their static events were applied at creation, with the dispatch given to accept).
uint32_t inherited_event_mask(const SocketBase* listener, const SocketBase* accepted);

/// Sums the bytes a Buf can address: true when offset + length fits in its segment chain, the
/// chain holds at most kMaxChainSegments segments and does not loop back on itself.
bool buf_fits(const Buf* buf);

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// What a backend implements. Each function is called only after the core validated the
// arguments named in xwsk.h; a function taking a Request* receives an accepted (in-flight)
// request and must complete it exactly once (detail::complete), returning Status::Pending if it
// has not completed yet, or the final status it completed with.
// ---------------------------------------------------------------------------------------------
namespace backend {

extern const Allocator kDefaultAllocator;

const char* name();
uint32_t capabilities();
const char* capability_reason(Capability cap);

Status request_init(Request* req);  // after the core set routine/context
void request_free(Request* req);
Status segment_init(Segment* seg, void* data, size_t length);
void segment_free(Segment* seg);

/// Creates and starts a client. The backend allocates it (detail::alloc), fills its ClientBase
/// except magic/npi/registration/counters (the core does those), and starts its machinery.
Status client_create(const ClientNpi* npi, Client** out);
/// Waits until every socket of @p client is closed and base.captures is zero, then stops and
/// frees it. Captures are released by other threads meanwhile (release_provider decrements
/// base.captures and wakes nobody): the wait re-reads the count at least every 20 ms.
void client_destroy(Client* client);

Status socket(Client* client, AddressFamily family, SocketType type, Protocol protocol,
              uint32_t category, void* socket_context, const void* dispatch, Request* req);
Status socket_connect(Client* client, SocketType type, Protocol protocol, const SockAddr* local,
                      const SockAddr* remote, uint32_t flags, void* socket_context,
                      const ConnectionDispatch* dispatch, Request* req);
Status control_client(Client* client, uint32_t control_code, size_t input_size, const void* input,
                      size_t output_size, void* output, size_t* output_size_returned, Request* req);
Status get_address_info(Client* client, const char* node, const char* service, uint32_t name_space,
                        const AddrInfo* hints, AddrInfo** result, Request* req);
void free_address_info(Client* client, AddrInfo* info);
Status get_name_info(Client* client, const SockAddr* address, char* node, size_t node_size,
                     char* service, size_t service_size, uint32_t flags, Request* req);

Status bind(Socket* s, const SockAddr* local, uint32_t flags, Request* req);
Status listen(Socket* s, Request* req);
Status accept(Socket* s, uint32_t flags, void* accept_socket_context,
              const ConnectionDispatch* dispatch, SockAddr* local, SockAddr* remote, Request* req);
Status connect(Socket* s, const SockAddr* remote, uint32_t flags, Request* req);
Status connect_ex(Socket* s, const SockAddr* remote, const Buf* data, uint32_t flags, Request* req);
Status send(Socket* s, const Buf* buf, uint32_t flags, Request* req);
Status receive(Socket* s, const Buf* buf, uint32_t flags, Request* req);
Status disconnect(Socket* s, const Buf* final_data, uint32_t flags, Request* req);
Status send_to(Socket* s, const Buf* buf, uint32_t flags, const SockAddr* remote,
               size_t control_length, const void* control, Request* req);
Status receive_from(Socket* s, const Buf* buf, uint32_t flags, SockAddr* remote,
                    size_t* control_length, void* control, uint32_t* control_flags, Request* req);
Status send_messages(Socket* s, BufList* list, uint32_t flags, const SockAddr* remote,
                     size_t control_length, const void* control, Request* req);
Status get_local_address(Socket* s, SockAddr* local, Request* req);
Status get_remote_address(Socket* s, SockAddr* remote, Request* req);
Status release_data_indications(Socket* s, DataIndication* list);
Status release_datagram_indications(Socket* s, DatagramIndication* list);
Status inspect_complete(Socket* s, const InspectId* inspect_id, InspectAction action, Request* req);
/// Event enable/disable (SO_WSK_EVENT_CALLBACK), already validated against the category and
/// the dispatch table. The backend stores @p new_mask in base.event_mask (on Success) and starts
/// or stops delivering the events that changed.
Status set_event_mask(Socket* s, uint32_t old_mask, uint32_t new_mask);
/// Every other control_socket call (options and ioctls). @p req is never null here.
Status control_socket(Socket* s, ControlType type, uint32_t control_code, uint32_t level,
                      size_t input_size, const void* input, size_t output_size, void* output,
                      size_t* output_size_returned, Request* req);
Status close_socket(Socket* s, Request* req);

}  // namespace backend
}  // namespace xwsk

#endif  // XWSK_SDK_SRC_CORE_H_
