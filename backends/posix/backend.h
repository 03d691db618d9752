// SPDX-License-Identifier: MIT
/// @file backend.h
/// @brief The POSIX backend's internal interface: the Client and Socket objects, the
/// per-operation state, the socket lifecycle phases and the event-loop engine contract.
///
/// ## Threading model
/// Every registered client owns one event-loop thread. All socket state is read and written on
/// that thread only, so sockets need no mutex. A call made on the loop thread runs at once (the
/// system call is tried and the request completed inline when it finishes); a call from any
/// other thread is handed over through the client's submission queue and the loop is woken,
/// which calls the request's own run function (Request::priv.run).
/// Completion routines and event callbacks run on the loop thread with no backend lock held.
///
/// ## Engines
/// Each engine is one file (loop_epoll.cpp, loop_poll.cpp, loop_uring.cpp) that defines one
/// table of functions (EngineOps); engine.cpp is the one place that picks the table a library
/// runs (the io_uring library has the epoll engine too, for hosts where io_uring is unusable),
/// and each client keeps it (Client::ops). The rest of the backend calls the engine_* wrappers
/// declared at the end of this file and is shared. The readiness engines (epoll, poll) report
/// readiness and tcp.cpp makes the system calls; the io_uring engine also moves a connected
/// stream's data itself (engine_streams(): receives into its provided buffers, sends by
/// submission), so the data of an echo costs no system call of its own.
///
/// ## Re-entrancy
/// Socket::busy counts the dispatch depth of a socket. An I/O operation issued on it from one of
/// its own completion routines or callbacks runs inline while the depth is below
/// kMaxInlineDepth and nothing is queued before it; otherwise it is queued and picked up by the
/// dispatch pass that is already running (Socket::again). Memory of a closed
/// socket is freed only at the end of the loop iteration (Client::zombies), after every
/// routine that could still reference it has returned.
#ifndef XWSK_BACKENDS_POSIX_INTERNAL_H_
#define XWSK_BACKENDS_POSIX_INTERNAL_H_

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <type_traits>

#include "block_cache.h"
#include "compat.h"
#include "core.h"
#include "host_sockaddr.h"
#include "req_queue.h"
#include "status_map.h"
#include "xwsk/xwsk.h"

namespace xwsk {
namespace posix {

struct EngineOps;  // the engine's functions (declared at the end of this file)

/// An operation's own function (Request::priv.run): runs the operation on the loop thread.
/// The API entry of each operation fills its state and hands it to submit() with its run
/// function (asio's perform_func_); there are no operation codes and no central switch.
using RunFn = Status (*)(Request* req);

// ---- per-request operation state (lives in Request::priv.backend, op_state<T>(req)) --------
// The same struct names for the same operations in every backend.

/// Stream I/O: send, receive, connect, connect_ex, disconnect.
struct StreamIo {
  Buf buf;      ///< copy of the caller's Buf (its segments must stay valid)
  size_t done;  ///< bytes transferred so far
  uint32_t flags;
  bool has_data;  ///< connect_ex / disconnect carry data
  SockAddr addr;  ///< connect target
};

/// accept.
struct AcceptIo {
  void* context;
  const ConnectionDispatch* dispatch;
  SockAddr* local;
  SockAddr* remote;
};

/// socket / socket_connect.
struct SocketIo {
  Client* client;
  AddressFamily family;
  SocketType type;
  Protocol protocol;
  uint32_t category;
  void* context;
  const void* dispatch;
  SockAddr local;
  SockAddr remote;
};

/// send_to / receive_from / send_messages.
struct DatagramIo {
  Buf buf;
  BufList* list;  ///< send_messages: next element to send
  size_t done;    ///< send_messages: bytes sent so far
  // A send with the engine (engine_datagrams()->send): what it carries and how it ended.
  size_t ring_bytes;    ///< send_messages: bytes of the GSO send in flight
  uint32_t ring_count;  ///< send_messages: its datagrams
  int32_t ring_res;     ///< its result (bytes, or -errno) once ring_done
  bool ring_done;
  SockAddr addr;  ///< send_to / send_messages target
  bool has_addr;
  SockAddr* remote_out;
  size_t* control_length;
  uint32_t* control_flags;
};

/// bind / get_local_address / get_remote_address / inspect_complete.
struct AddressIo {
  SockAddr addr;
  SockAddr* out;
  InspectId inspect_id;
  InspectAction action;
};

/// control_socket.
struct ControlIo {
  ControlType type;
  uint32_t code;
  uint32_t level;
  size_t input_size;
  const void* input;
  size_t output_size;
  void* output;
  size_t* output_size_returned;
};

/// get_address_info / get_name_info (run on the resolver thread).
struct ResolveIo {
  void (*lookup)(ResolveIo* io);  ///< getaddrinfo or getnameinfo, run on the resolver thread
  const char* node;
  const char* service;
  AddrInfo** result;
  int32_t hint_flags, hint_family, hint_socktype, hint_protocol;
  bool has_hints;
  SockAddr address;  ///< get_name_info
  char* node_out;
  size_t node_size;
  char* service_out;
  size_t service_size;
  uint32_t ni_flags;
  Status status;  ///< result, handed back to the loop (deferred_run completes with it)
  uintptr_t information;
};

/// The socket lifecycle (socket.cpp has the transition table; set_phase() makes every
/// transition and checks it in debug builds). The two directions of a connected stream close
/// on their own: Socket::send_closed (our FIN sent) and Socket::receive_closed (peer FIN read).
enum class Phase : uint8_t {
  Open,        ///< created, not bound
  Bound,       ///< bound (a failed connect comes back here)
  Listening,   ///< listen() done (or bind of a listen-category socket)
  Connecting,  ///< nonblocking connect in progress
  Connected,   ///< connected (connect finished, or handed out by accept)
  Aborted,     ///< abortive disconnect done (RST sent): only close is left
  Closing,     ///< close running: pending requests are being cancelled
  Closed,      ///< descriptor closed; memory freed at the end of the loop iteration
};

// ---- intrusive request FIFO ----------------------------------------------------------------

using hostnet::ReqQueue;  // backends/common/req_queue.h

// ---- readiness flags reported by engines ----------------------------------------------------

constexpr uint32_t kReadyRead = 1;
constexpr uint32_t kReadyWrite = 2;
constexpr uint32_t kReadyRdHup = 4;  ///< peer shut down its sending side (FIN seen)
constexpr uint32_t kReadyError = 8;  ///< error or hang-up

/// Receive-event buffer size (one per stream socket, allocated when events are first enabled).
constexpr size_t kIndicationBufferSize = 64 * 1024;
/// Reads that fill the whole indication buffer a stream socket may make in one loop turn
/// before it yields (libuv's bound is 32): a short read ends the turn's reading, as it means
/// the socket was drained, so a busy stream reads back to back without a wake-up between.
constexpr uint32_t kMaxFullReadsPerTurn = 16;
/// Datagram indication slots (allocated when the receive_from event is first enabled): one
/// recvmmsg batch. 64 x 64 KiB is 4 MiB of address space, but only the pages datagrams land in
/// are ever touched (small datagrams use the first page of each slot).
constexpr uint32_t kDatagramSlots = 64;
constexpr size_t kDatagramSlotSize = 64 * 1024;
/// An operation issued from a completion routine or callback of its own socket runs inline
/// (when nothing is queued before it) up to this dispatch depth; deeper, it is queued and the
/// running dispatch pass picks it up, so recursion stays bounded.
constexpr uint32_t kMaxInlineDepth = 4;
/// Closed socket objects a client keeps for reuse (64 x 496 bytes at most, and no more than
/// the client has live sockets).
constexpr uint32_t kSocketCacheSize = 64;
/// Idle indication buffers a client keeps (16 x 64 KiB at most, and no more than the client
/// has live sockets).
constexpr uint32_t kBufferPoolSize = 16;
/// Bounded iovec arrays on the stack (a longer chain is transferred in several calls).
constexpr int kMaxIov = 64;
/// An accept that fails for lack of descriptors or memory is retried after this backoff
/// (doubling per failed retry up to the maximum), or at once when the client closes a
/// descriptor; the connection waits in the listen queue meanwhile.
constexpr uint32_t kAcceptRetryMinMs = 10;
constexpr uint32_t kAcceptRetryMaxMs = 1000;

struct DatagramSlots;  // udp.cpp

}  // namespace posix

/// The backend's client object. ClientBase first: the core casts between them.
struct Client {
  detail::ClientBase base;
  const posix::EngineOps* ops;  ///< the engine this client runs (engine_select())
  void* engine;                 ///< that engine's own state (its file's type)
  pthread_t thread;

  // Submission queue (any thread -> loop thread), guarded by mu.
  pthread_mutex_t mu;
  pthread_cond_t cv;  ///< signalled when a socket is freed (client_destroy waits on it)
  posix::ReqQueue submissions;
  Socket* kicks;  ///< sockets with pending cross-thread notifications
  /// No need to signal the loop: a wake-up is in flight, or the loop is awake and looks at
  /// the queues before it sleeps (drain sets it, may_sleep clears it).
  bool wake_pending;
  bool stop;

  // Loop-thread state.
  Socket* zombies;  ///< closed sockets whose memory is freed at the end of the iteration
  /// Sockets that stopped reading with data possibly left (a read filled the whole buffer):
  /// run again after the next non-blocking readiness check (see yield_read).
  Socket* yield_head;
  Socket* yield_tail;
  uint64_t turn;  ///< loop iterations; a yielded socket runs in the turn after it yielded
  /// Listeners whose accept failed for lack of descriptors or memory (see starve()): retried
  /// at starved_retry_ms (monotonic), or at once when a descriptor of this client is closed.
  Socket* starved;
  uint64_t starved_retry_ms;
  uint32_t starved_backoff_ms;  ///< next backoff; 0 = kAcceptRetryMinMs
  bool fd_released;             ///< a descriptor of this client was closed since the last retry
  /// Closed sockets kept for reuse, so a connection costs no heap traffic (kSocketCacheSize
  /// at most; freed at deregistration).
  hostnet::BlockCache<posix::kSocketCacheSize> socket_cache;
  /// Idle receive-event buffers (kBufferPoolSize at most; freed at deregistration). A stream
  /// socket borrows one only while an indication is read, held by the client or partly left.
  hostnet::BlockCache<posix::kBufferPoolSize> buffer_pool;

  // Resolver thread (started lazily), guarded by mu.
  pthread_t resolver;
  bool resolver_started;
  bool resolver_stop;
  pthread_cond_t resolver_cv;
  posix::ReqQueue resolves;
};

/// The backend's socket object. SocketBase first: the core casts between them.
struct Socket {
  detail::SocketBase base;
  Client* client;
  int fd;

  // State (loop thread only).
  posix::Phase phase;   ///< the lifecycle state (set_phase() only)
  bool send_closed;     ///< graceful disconnect done (our FIN sent)
  bool receive_closed;  ///< the peer's FIN read (end of stream)
  bool nodelay_client;  ///< TCP_NODELAY as the client set it (control_socket)
  bool nodelay_on;      ///< TCP_NODELAY as the fd has it now (on during a kFlagNoDelay send)
  bool rdhup_quiet;     ///< poll engine without POLLRDHUP: unread data hides the FIN (compat.h)
  bool readable;        ///< engine said readable and no EAGAIN since
  bool writable;        ///< engine said writable and no EAGAIN since
  bool no_gso;          ///< send_messages: the kernel refused UDP GSO here (udp_gso.h)
  bool rdhup;           ///< peer half-close seen by the engine
  bool hup;             ///< error / hang-up seen by the engine
  bool conditional;     ///< SO_CONDITIONAL_ACCEPT (listen sockets)
  bool exclusive_addr;  ///< SO_EXCLUSIVEADDRUSE set by the client (WSK: off by default)
  bool disconnect_indicated;
  bool send_inflight;  ///< the send queue's head is with the engine (engine_streams()->send,
                       ///< engine_datagrams()->send)
  bool recv_inflight;  ///< the receive queue's head is with the engine (->receive)
  bool ind_engine;     ///< ind_buf is an engine buffer (engine_streams()->take), not the pool's
  bool backlog_indicated;
  bool backlog_check;   ///< the ideal send backlog may have changed: re-read SO_SNDBUF
  size_t backlog_last;  ///< the ideal backlog last indicated
  bool local_known;     ///< local_addr is filled (accepted connections)
  Status error;         ///< sticky transport error (Success when none)
  uint32_t busy;        ///< dispatch depth (re-entrancy guard)
  bool in_indication;   ///< inside the receive event: receive() calls queue (ordering)
  bool again;           ///< work arrived during dispatch: run another pass

  posix::ReqQueue recv_q;  ///< receive / receive_from / accept requests
  posix::ReqQueue send_q;  ///< send / connect_ex data / disconnect / send_to / send_messages
  Request* connect_req;    ///< connect, connect_ex or socket_connect in progress

  // Receive event (stream). ind_buf is borrowed from the client's pool (loop thread).
  uint8_t* ind_buf;
  size_t ind_off;  ///< remainder not accepted by the event: [ind_off, ind_off+ind_len)
  size_t ind_len;
  std::atomic<bool> retained;  ///< the client holds the indication (returned Pending)
  Segment ind_seg;
  DataIndication ind;

  // Receive-from event (datagram).
  posix::DatagramSlots* dgram;
  /// receive_from requests served in turn dgram_turn (the per-turn budget, kDatagramSlots).
  uint32_t dgram_reads;
  uint64_t dgram_turn;
  std::atomic<uint32_t> dgram_retained;  ///< datagrams the client holds (returned Pending)

  // Conditional accept / accepted connections not yet handed out (listen sockets).
  Socket* ready_head;  ///< accepted (inspected: Accept) connections waiting for a taker
  Socket* ready_tail;
  Socket* pended;  ///< connections whose inspect returned Pend
  uint32_t inspect_serial;
  Socket* listener;      ///< for an accepted connection not yet handed out
  bool pending_inspect;  ///< on the listener's pended list (inspect returned Pend)
  Socket* conn_next;     ///< link in the listener's ready / pended list
  InspectId inspect_id;
  SockAddr local_addr;  ///< accepted connection: addresses reported to inspect/accept
  SockAddr remote_addr;

  // Cross-thread notifications (guarded by Client::mu for the list link).
  Socket* kick_next;
  std::atomic<bool> kick_queued;

  // Yield list (Client::yield_head), loop thread only.
  Socket* yield_next;
  Socket* yield_prev;
  uint64_t yield_turn;  ///< Client::turn when it yielded
  bool yield_queued;

  // Starved list (Client::starved), loop thread only.
  Socket* starved_next;
  bool starved;

  // Engine bookkeeping.
  int engine_index;
  uint32_t interest;

  Socket* zombie_next;
};

static_assert(std::is_standard_layout_v<Client>, "Client must be standard layout");
static_assert(std::is_standard_layout_v<Socket>, "Socket must be standard layout");
static_assert(offsetof(Client, base) == 0, "ClientBase must come first");
static_assert(offsetof(Socket, base) == 0, "SocketBase must come first");

namespace posix {

// ---- host errors (backends/common/status_map.h, the table shared with the uv backend) -------

using hostnet::status_from_eai;
using hostnet::status_from_errno;

// ---- addresses (backends/common/host_sockaddr.h, shared with the uv backend) --------------

using hostnet::from_native;
using hostnet::native_family;
using hostnet::to_native;
using hostnet::xwsk_family;

// ---- iovec helper -------------------------------------------------------------------------

/// Describes bytes [skip, buf.length) of @p buf in @p iov (at most @p max entries). Returns the
/// number of entries; *bytes receives the bytes they cover.
inline int build_iov(const Buf& buf, size_t skip, iovec* iov, int max, size_t* bytes) {
  size_t want = buf.length - skip;
  size_t off = buf.offset + skip;
  Segment* seg = buf.segment;
  // Skip whole segments covered by the offset.
  while (seg != nullptr && off >= seg->length && seg->length != 0) {
    off -= seg->length;
    seg = seg->next;
  }
  int n = 0;
  size_t total = 0;
  while (seg != nullptr && want > 0 && n < max) {
    if (seg->length > off) {
      size_t len = seg->length - off;
      if (len > want) len = want;
      iov[n].iov_base = static_cast<uint8_t*>(seg->data) + off;
      iov[n].iov_len = len;
      ++n;
      total += len;
      want -= len;
      off = 0;
    } else {
      off -= seg->length;
    }
    seg = seg->next;
  }
  *bytes = total;
  return n;
}

// ---- client.cpp: the loop ----------------------------------------------------------------

/// Hands @p req (its state filled) to the loop of @p c with its run function @p run: on the
/// loop thread it runs at once, else it is queued and the loop woken, and the loop calls
/// req->priv.run(req). Returns the final status or Pending.
Status submit(Client* c, Request* req, RunFn run);
/// Schedules a pass over @p s on its loop (any thread): used after event-mask changes and
/// releases of retained indications.
void kick(Socket* s);
/// Queues a closed socket for release at the end of the loop iteration.
void bury(Socket* s);
/// Frees the buried sockets, or keeps them for reuse (loop thread).
void free_zombies(Client* c);
/// Frees the reuse cache and the buffer pool (after the loop stopped).
void free_socket_cache(Client* c);
/// An indication buffer from the client's pool, or a new one; null when out of memory.
uint8_t* buffer_get(Client* c);
/// Returns an indication buffer to the pool (or frees it when the pool is full).
void buffer_put(Client* c, uint8_t* buf);
/// Gives the socket's indication buffer back once nothing in it is left or held.
void indication_buffer_done(Socket* s);
/// A read filled the whole buffer, so more data may be waiting. Instead of reading on until
/// EAGAIN (one wasted system call per wake-up on a busy stream, and one socket starving the
/// others), the socket stops here and runs again in the next loop turn, after a non-blocking
/// readiness check. Level-triggered engines simply clear `readable`: poll() reports it again.
void yield_read(Socket* s);
/// Takes a closing socket off the yield list.
void unyield(Socket* s);
/// The listener @p s could not accept for lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM):
/// it stops reading and waits on the client's starved list for the backoff timer or the next
/// descriptor the client closes (loop thread).
void starve(Socket* s);
/// Takes a closing listener off the starved list.
void unstarve(Socket* s);
/// A descriptor of the client was closed: starved listeners retry at once (loop thread).
void fd_released(Client* c);
/// An accept succeeded: the backoff starts again from its minimum.
void accept_recovered(Client* c);

// ---- socket.cpp: socket objects and the lifecycle state machine --------------------------

/// Creates a nonblocking, close-on-exec fd; IPv6 sockets are v6-only (the Windows default).
Status create_fd(AddressFamily family, SocketType type, Protocol protocol, int* out);
/// Creates a socket object around @p fd (takes ownership of @p fd on success) and registers
/// it with the engine. Returns null (fd left open) when out of memory.
Socket* socket_new(Client* c, int fd, AddressFamily family, SocketType type, Protocol protocol,
                   uint32_t category, void* context, const void* dispatch);
/// Closes the fd (abortively when @p abortive) and buries the socket, without completing any
/// request. Used for connections the client never received and failed socket_connect.
void socket_destroy(Socket* s, bool abortive);
/// Moves @p s to phase @p to: the one place the lifecycle changes. Debug builds check the
/// transition against the table in socket.cpp.
void set_phase(Socket* s, Phase to);
/// Close has begun (Closing) or is done (Closed): no more I/O, every pass stops.
inline bool is_closed(const Socket* s) {
  return s->phase >= Phase::Closing;
}
/// A connected stream, possibly reset by an abortive disconnect since.
inline bool was_connected(const Socket* s) {
  return s->phase == Phase::Connected || s->phase == Phase::Aborted;
}
/// Runs the state machine of @p s until no more progress (loop thread). Safe to call while
/// the socket is being dispatched: the running pass repeats instead.
void socket_process(Socket* s);
/// The engine calls this with kReady* flags.
void socket_ready(Socket* s, uint32_t flags);
/// Interest of @p s (kReadyRead, kReadyWrite, kReadyRdHup) for level-triggered engines.
uint32_t socket_interest(const Socket* s);
/// Marks the start / end of an operation executed inline on the loop thread.
inline void socket_enter(Socket* s) {
  ++s->busy;
}
void socket_leave(Socket* s);

/// The result of one attempt at an operation: finished (with status and information) or
/// waiting for readiness.
struct Outcome {
  bool done;
  Status status;
  uintptr_t info;
};
constexpr Outcome kWait{false, Status::Pending, 0};
inline Outcome finished(Status st, uintptr_t info) {
  return Outcome{true, st, info};
}
/// Queues @p req behind the requests already waiting (the dispatch pass will run it).
Status enqueue(Socket* s, ReqQueue* q, Request* req);
/// Runs @p attempt for @p req now if nothing is queued before it and the socket is not being
/// dispatched (nor nested deeper than kMaxInlineDepth); completes it inline when it finishes,
/// else queues it.
template <typename Attempt>
Status run_or_queue(Socket* s, ReqQueue* q, Request* req, Attempt attempt) {
  if (s->busy >= kMaxInlineDepth || !q->empty()) return enqueue(s, q, req);
  socket_enter(s);
  Outcome o = attempt(s, req);
  Status ret = Status::Pending;
  if (o.done) {
    ret = detail::complete(req, o.status, o.info);
  } else {
    q->push(req);
  }
  socket_leave(s);
  return ret;
}
/// Runs the requests queued on @p q in order with @p attempt until one must wait (or the
/// socket closes), completing each that finishes.
template <typename Attempt>
void run_queue(Socket* s, ReqQueue* q, Attempt attempt) {
  while (!is_closed(s)) {
    Request* r = q->head;
    if (r == nullptr) break;
    Outcome o = attempt(s, r);
    if (!o.done) break;
    q->pop();
    detail::complete(r, o.status, o.info);
  }
}

/// Applies the client's static event callbacks to a connection handed to the client.
void apply_static_events(Socket* s);
/// Ensures the indication storage needed by @p mask exists. Returns false when out of memory.
bool ensure_event_buffers(Socket* s, uint32_t mask);

// ---- tcp.cpp: stream passes (loop thread) ---------------------------------------------------

/// One pass over a stream connection: connect completion, the send backlog event, queued
/// sends, queued receives, then the receive and disconnect events.
void tcp_process(Socket* s);
/// One pass over a listener: hands out waiting connections, accepts new ones.
void tcp_process_accepts(Socket* s);
/// The listener @p s wants connections accepted at the OS level now: an accept request
/// waits, the accept event is on, or conditional accept inspects them (and no accepted one
/// waits for a taker).
bool tcp_wants_connections(const Socket* s);
/// An engine accepted @p fd (peer @p ra) for the listener @p s: it is handed out, inspected
/// or parked as the readiness path would (closed when @p s is closing).
void tcp_accepted(Socket* s, int fd, const sockaddr* ra, socklen_t rl);
/// An engine's accept for @p s failed with @p err: starve on EMFILE and the like, fail the
/// oldest accept request on other errors. True when accepting again at once makes sense.
bool tcp_accept_failed(Socket* s, int err);
/// A connection held by conditional accept (inspect returned Pend): the peer left?
void tcp_process_pended(Socket* s);
/// Completes every request of @p s with @p status and resets the connections it holds.
void tcp_cancel_all(Socket* s, Status status);
/// Hands back memory and counters of indications still retained at close.
void tcp_reclaim(Socket* s);
/// The engine's send of the send queue's head finished with @p res (bytes sent, or -errno):
/// the request goes on or completes (engine_streams()->send).
void tcp_sent(Socket* s, ssize_t res);
/// The engine's receive into the receive queue's head finished with @p res (bytes, 0 at the
/// end of the stream, or -errno) (engine_streams()->receive).
void tcp_received(Socket* s, ssize_t res);

// ---- udp.cpp: datagram passes (loop thread) -------------------------------------------------

/// The engine's send of the send queue's head (a send_to, or a GSO send of send_messages)
/// finished with @p res (bytes sent, or -errno): the request goes on or completes
/// (engine_datagrams()->send).
void udp_sent(Socket* s, ssize_t res);

/// One pass over a datagram socket: queued sends, queued receives, the receive_from event.
void udp_process(Socket* s);
void udp_free_slots(Socket* s);
bool udp_alloc_slots(Socket* s);
void udp_reclaim(Socket* s);

// ---- resolve.cpp ---------------------------------------------------------------------------

/// Stops the resolver thread after the lookups queued (their completions go through the loop).
void resolver_stop(Client* c);

// ---- engines (loop_epoll.cpp, loop_poll.cpp, loop_uring.cpp; engine.cpp selects) -------------

struct StreamEngine;
struct DatagramEngine;

/// An engine's functions: one table per engine file.
struct EngineOps {
  const char* name;      ///< "posix-epoll" / "posix-poll" / "posix-uring"
  bool level_triggered;  ///< a socket still readable is reported again (poll)
  /// Creates the engine state of @p c (c->engine). Any thread, before the loop starts.
  Status (*create)(Client* c);
  /// Destroys it after the loop stopped (c->engine may be null: create failed).
  void (*destroy)(Client* c);
  /// Wakes the loop (any thread).
  void (*wake)(Client* c);
  /// Registers / unregisters a socket's fd (loop thread). remove is called before the fd is
  /// closed.
  Status (*add)(Client* c, Socket* s);
  void (*remove)(Client* c, Socket* s);
  /// The socket's interest may have changed (level-triggered engines re-read socket_interest).
  void (*update)(Client* c, Socket* s);
  /// Waits for readiness or a wake-up (at most @p timeout_ms; 0 does not block, -1 waits
  /// without a bound) and dispatches socket_ready() (loop thread).
  void (*wait)(Client* c, int timeout_ms);
  /// The engine's own data transfers for @p s (see StreamEngine), or null; a null member is
  /// a readiness engine, which has none.
  const StreamEngine* (*streams)(const Socket* s);
  /// The engine's own datagram receives for @p s (see DatagramEngine), or null.
  const DatagramEngine* (*datagrams)(const Socket* s);
};

extern const EngineOps kEpollEngine;  ///< loop_epoll.cpp
extern const EngineOps kPollEngine;   ///< loop_poll.cpp
extern const EngineOps kUringEngine;  ///< loop_uring.cpp
/// The io_uring library: whether this process can use io_uring, probed once (the first call
/// says why not on stderr; XWSK_URING=0 forces no).
bool uring_usable();
/// The engine this library runs (engine.cpp: the backend's one selection point).
const EngineOps* engine_select();

inline Status engine_create(Client* c) {
  c->ops = engine_select();
  return c->ops->create(c);
}
inline void engine_destroy(Client* c) {
  c->ops->destroy(c);
}
inline void engine_wake(Client* c) {
  c->ops->wake(c);
}
inline Status engine_add(Client* c, Socket* s) {
  return c->ops->add(c, s);
}
inline void engine_remove(Client* c, Socket* s) {
  c->ops->remove(c, s);
}
inline void engine_update(Client* c, Socket* s) {
  c->ops->update(c, s);
}
inline void engine_wait(Client* c, int timeout_ms) {
  c->ops->wait(c, timeout_ms);
}
inline bool engine_level_triggered(const Client* c) {
  return c->ops->level_triggered;
}
/// What backend_name() reports: the engine that runs ("posix-epoll" when io_uring fell back).
inline const char* engine_name() {
  return engine_select()->name;
}

/// The data transfers of a connected stream, made by a completion engine (loop thread only).
/// tcp.cpp uses them in place of recv / readv / send when engine_streams() returns them; the
/// engine keeps receiving while the socket wants data (a receive request waits, or the receive
/// event is on) and reports what came with socket_ready(kReadyRead).
struct StreamEngine {
  /// As readv(2), from what the engine received: bytes copied, 0 at the end of the stream, or
  /// -1 with errno (EAGAIN: nothing received yet; else the connection's error).
  ssize_t (*readv)(Socket* s, const iovec* iov, int cnt);
  /// The next received buffer whole, with no copy: *data points into the engine's memory and
  /// stays the caller's until give_back. Returns as readv.
  ssize_t (*take)(Socket* s, uint8_t** data);
  /// Gives back a buffer from take (any point inside it; the socket may be gone by then).
  void (*give_back)(Client* c, uint8_t* data);
  /// Submits a send of the segments @p iov[0, cnt) (at most kMaxIov; the kernel finishes a
  /// short send); its completion calls tcp_sent(). False when no submission entry or memory is
  /// free (the caller sends with a system call instead).
  bool (*send)(Socket* s, const iovec* iov, int cnt, int flags);
  /// Submits a receive straight into [data, data + len) (a receive request's segment, with no
  /// copy); its completion calls tcp_received(). False when the engine holds received data or
  /// is receiving into its own buffers (the caller waits for those) or no entry is free.
  bool (*receive)(Socket* s, void* data, size_t len);
  /// Ends the transfers in flight on @p s before its requests complete (abortive disconnect,
  /// close): once it returns, the kernel references no buffer of the client's for @p s, and
  /// the in-flight send's and receive's own completions are ignored (Socket::send_inflight and
  /// recv_inflight are cleared).
  void (*quiesce)(Socket* s);
};
/// The stream engine for @p s, or null: the readiness engines, sockets other than streams, and
/// io_uring without provided buffer rings.
inline const StreamEngine* engine_streams(const Socket* s) {
  const StreamEngine* (*streams)(const Socket*) = s->client->ops->streams;
  return streams != nullptr ? streams(s) : nullptr;
}

/// One datagram a completion engine received: its payload in the engine's memory (the
/// caller's until DatagramEngine::give_back) and how it came.
struct DatagramView {
  uint8_t* data;
  size_t len;
  socklen_t namelen;  ///< of the sender's address, copied to the caller's storage
  bool truncated;     ///< the datagram was longer than the engine's buffer (MSG_TRUNC)
};

/// The receives of a datagram socket, made by a completion engine (loop thread only). udp.cpp
/// uses them in place of recvmmsg / recvmsg when engine_datagrams() returns them; the engine
/// keeps receiving while the socket wants datagrams (a receive_from request waits, or the
/// receive_from event is on) and reports what came with socket_ready(kReadyRead).
struct DatagramEngine {
  /// Up to @p max received datagrams, in order and with no copy; the senders' addresses go to
  /// names[i]. Returns how many, or -1 with errno (EAGAIN: none yet). An error the socket
  /// received in their place (an ICMP error, say) is dropped here: the event has no place
  /// for it.
  int (*take)(Socket* s, DatagramView* out, sockaddr_storage* names, int max);
  /// As recvmsg(2) with no flags, from what the engine received: copies the next datagram
  /// (MSG_TRUNC in msg_flags when it did not fit) and gives its buffer back; -1 with errno
  /// (EAGAIN: none yet; else the error the socket received, in arrival order).
  ssize_t (*recvmsg)(Socket* s, msghdr* m);
  /// Gives back a datagram from take (its data pointer; the socket may be gone by then).
  void (*give_back)(Client* c, uint8_t* data);
  /// Submits @p m as one sendmsg (its address, segments and control data are copied; the
  /// segments' bytes are not); its completion calls udp_sent(). False when no submission
  /// entry or memory is free, or @p m is larger than the engine takes (the caller sends with
  /// a system call instead).
  bool (*send)(Socket* s, const msghdr* m, int flags);
  /// As StreamEngine::quiesce, for the send in flight.
  void (*quiesce)(Socket* s);
};
/// The datagram engine for @p s, or null: the readiness engines, sockets other than datagram
/// ones, and io_uring without provided buffer rings.
inline const DatagramEngine* engine_datagrams(const Socket* s) {
  const DatagramEngine* (*datagrams)(const Socket*) = s->client->ops->datagrams;
  return datagrams != nullptr ? datagrams(s) : nullptr;
}

}  // namespace posix
}  // namespace xwsk

#endif  // XWSK_BACKENDS_POSIX_INTERNAL_H_
