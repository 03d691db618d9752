// SPDX-License-Identifier: MIT
/// @file backend.h
/// @brief Internal declarations of the libuv backend (backends/uv): the Client and Socket
/// objects, the per-request operation state, and the functions the backend's files share.
///
/// Model: every registered client owns one libuv loop running on its own thread. Calls made on
/// that thread (from completion routines and event callbacks) run at once and may complete
/// inline; calls from any other thread are queued (an intrusive MPSC list through
/// Request::priv.next, guarded by a small mutex) and the loop is woken with uv_async_send.
/// Completion routines and event callbacks run on the loop thread with no lock held.
#ifndef XWSK_BACKENDS_UV_UV_BACKEND_H_
#define XWSK_BACKENDS_UV_UV_BACKEND_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <type_traits>

#include "block_cache.h"
#include "core.h"
#include "host_sockaddr.h"
#include "req_queue.h"
#include "xwsk/xwsk.h"

namespace xwsk {
namespace uv {

/// Closed sockets a client keeps for reuse, so connection churn does not reach the allocator.
constexpr uint32_t kSocketCacheSize = 64;
/// Idle stream indication buffers a client keeps (16 x 64 KiB at most).
constexpr uint32_t kBufferPoolSize = 16;

/// An operation's own function (Request::priv.run): runs the request on the loop thread.
using RunFn = Status (*)(Request* req);

/// Calls completing inline may nest this deep before further calls wait for the next turn of
/// the loop (bounds the stack when completion routines chain calls).
constexpr int kMaxInlineDepth = 16;

/// A position in a Buf's segment chain: the bytes still to transfer.
struct Cursor {
  Segment* seg;  ///< current segment
  size_t off;    ///< offset in the current segment
  size_t left;   ///< bytes still to transfer
  size_t done;   ///< bytes transferred so far

  /// Starts at the beginning of @p buf (the offset applies to the first segment only).
  void init(const Buf& buf);
  /// A cursor over @p buf, or an empty one for null.
  static Cursor of(const Buf* buf) {
    Cursor c{nullptr, 0, 0, 0};
    if (buf != nullptr) c.init(*buf);
    return c;
  }
  /// The next contiguous piece (null/0 when done).
  char* chunk(size_t* len) const;
  /// Marks @p n bytes transferred.
  void advance(size_t n);
  /// Fills up to @p max uv_buf_t from the cursor without moving it; returns the count.
  unsigned fill(uv_buf_t* bufs, unsigned max) const;
};

inline void Cursor::init(const Buf& buf) {
  seg = buf.segment;
  off = buf.offset;
  left = buf.length;
  done = 0;
  while (seg != nullptr && left != 0 && off >= seg->length) {
    off -= seg->length;
    seg = seg->next;
  }
}

inline char* Cursor::chunk(size_t* len) const {
  if (left == 0 || seg == nullptr) {
    *len = 0;
    return nullptr;
  }
  size_t n = seg->length - off;
  *len = n < left ? n : left;
  return static_cast<char*>(seg->data) + off;
}

inline void Cursor::advance(size_t n) {
  done += n;
  left -= n;
  while (n != 0 && seg != nullptr) {
    size_t avail = seg->length - off;
    if (n < avail) {
      off += n;
      n = 0;
    } else {
      n -= avail;
      seg = seg->next;
      off = 0;
    }
  }
  while (left != 0 && seg != nullptr && off >= seg->length) {
    seg = seg->next;
    off = 0;
  }
}

inline unsigned Cursor::fill(uv_buf_t* bufs, unsigned max) const {
  unsigned n = 0;
  size_t remaining = left;
  const Segment* s = seg;
  size_t o = off;
  while (n < max && remaining != 0 && s != nullptr) {
    size_t len = s->length - o;
    if (len > remaining) len = remaining;
    if (len != 0) {
      bufs[n] = uv_buf_init(static_cast<char*>(s->data) + o, static_cast<unsigned>(len));
      ++n;
      remaining -= len;
    }
    s = s->next;
    o = 0;
  }
  return n;
}

// ---- per-operation state (Request::priv.backend, detail::op_state<T>) -------------------------
// One struct per kind of operation, the same names in every backend. No allocation per
// operation: the libuv request objects a stream or datagram socket needs (uv_write_t,
// uv_connect_t, uv_shutdown_t, uv_udp_send_t) are larger than the request's 160-byte area next
// to these arguments, so each socket holds one of them (one is in flight at a time).

/// socket, socket_connect (client-level: the client is kept here, priv.socket is null).
struct SocketIo {
  Client* client{};
  void* context{};
  const void* dispatch{};  ///< socket: any dispatch; socket_connect: a ConnectionDispatch
  uint32_t category{};
  uint32_t flags{};  ///< socket_connect
  AddressFamily family{};
  SocketType type{};
  Protocol protocol{};
  SockAddr local{};   ///< socket_connect
  SockAddr remote{};  ///< socket_connect
};

/// send, receive, disconnect (final data), connect and connect_ex (the data it sends once
/// connected: the request then continues as a send).
struct StreamIo {
  Cursor cur{};  ///< the bytes still to send / the buffer space still to fill
  uint32_t flags{};
  SockAddr remote{};  ///< connect
};

/// accept
struct AcceptIo {
  uint32_t flags{};
  void* context{};
  const ConnectionDispatch* dispatch{};
  SockAddr* local{};
  SockAddr* remote{};
};

/// send_to, send_messages, receive_from (datagram and raw sockets).
struct DatagramIo {
  Cursor cur{};       ///< send: the datagram being sent; receive_from: the buffer
  BufList* list{};    ///< send_messages: the next element to send
  size_t total{};     ///< send_messages: bytes of the datagrams already sent
  SockAddr remote{};  ///< send: the destination
  SockAddr* from{};   ///< receive_from: where the sender's address goes
  size_t* control_length{};
  uint32_t* control_flags{};
  bool messages{};    ///< a send_messages request (else send_to / receive_from)
  bool has_remote{};  ///< send: a destination was given
  bool started{};     ///< send_messages: cur holds the current datagram
};

/// bind, get_local_address / get_remote_address, inspect_complete.
struct AddressIo {
  SockAddr addr{};  ///< bind
  uint32_t flags{};
  SockAddr* out{};  ///< address queries
  InspectId id{};   ///< inspect_complete
  InspectAction action{};
};

/// control_socket
struct ControlIo {
  ControlType type{};
  uint32_t code{};
  uint32_t level{};
  size_t input_size{};
  const void* input{};
  size_t output_size{};
  void* output{};
  size_t* output_size_returned{};
};

/// get_address_info, get_name_info (client-level).
struct ResolveIo {
  Client* client{};
  const char* node{};  ///< get_address_info
  const char* service{};
  uint32_t name_space{};
  uint32_t flags{};  ///< get_name_info
  const AddrInfo* hints{};
  AddrInfo** result{};
  SockAddr address{};  ///< get_name_info
  char* node_out{};
  size_t node_size{};
  char* service_out{};
  size_t service_size{};
};

using hostnet::ReqQueue;  // backends/common/req_queue.h

/// What kind of libuv handle a socket owns: uv_tcp_t, uv_udp_t, or (raw sockets, which libuv
/// has no handle for) uv_poll_t over a native fd.
enum class HandleKind : uint8_t { Tcp, Udp, Raw };

/// The socket lifecycle (loop thread only; the transitions: the table at the top of socket.cpp,
/// made by set_phase()). Aborted: an abortive disconnect reset the connection; the socket
/// waits for close_socket. Closing: close_socket (or an internal close) started; Closed: the
/// close is complete and the socket is freed once libuv closed its handle.
enum class Phase : uint8_t {
  Open,
  Bound,
  Listening,
  Connecting,
  Connected,
  Aborted,
  Closing,
  Closed
};

/// A connection kept back by conditional accept (SO_CONDITIONAL_ACCEPT) while the inspect
/// decision is pending.
struct Pended {
  Pended* next;
  Socket* conn;  ///< the accepted-at-OS-level connection (not yet handed out)
  uint32_t serial;
  bool accepted;  ///< Accept decided; waits for an accept request or event
};

}  // namespace uv

/// The client: one libuv loop on its own thread.
struct Client {
  detail::ClientBase base;  // must stay first
  uv_loop_t loop;
  uv_async_t wakeup;
  uv_timer_t pend_timer;  ///< watches connections pended by conditional accept
  std::thread thread;
  std::mutex mu;             ///< guards the submission and kick queues
  uv::ReqQueue submissions;  ///< requests handed over from other threads
  Socket* kicks;             ///< sockets whose state changed from another thread
  Socket* kicks_running;     ///< (mu) the kicked sockets being processed now
  bool stopping;             ///< (mu) client_destroy asked the loop to stop
  std::mutex idle_mu;        ///< with idle_cv: client_destroy waits for sockets and ops
  std::condition_variable idle_cv;
  std::atomic<uint32_t> client_ops;  ///< resolver operations in flight
  Socket* sockets;                   ///< every live socket (loop thread)
  /// Closed sockets kept for reuse (loop thread).
  hostnet::BlockCache<uv::kSocketCacheSize> socket_cache;
  /// Idle stream indication buffers (at most uv::kBufferPoolSize, loop thread). A TCP socket
  /// borrows one only while libuv reads into it or the data is indicated, held or left.
  hostnet::BlockCache<uv::kBufferPoolSize> buffer_pool;
  int inline_depth;  ///< nesting of inline runs (loop thread)
  /// Loop-thread calls past the inline depth, run at the loop's next turn (loop thread).
  uv::ReqQueue later;
  uint32_t deferred;  ///< calls in `later` or taken from it and not yet run (loop thread)
};

/// A socket: one libuv handle (uv_tcp_t, uv_udp_t, or uv_poll_t for a raw socket's native fd)
/// plus the queues of its pending requests.
struct Socket {
  detail::SocketBase base;  // must stay first
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_udp_t udp;
    uv_poll_t poll;  ///< raw sockets: a native fd watched by uv_poll
  } h;
  int raw_fd;       ///< raw sockets: the native fd (uv_poll does not own it)
  int poll_events;  ///< raw sockets: the UV_READABLE / UV_WRITABLE being watched
  uv::HandleKind kind;
  uv::Phase phase;      ///< the lifecycle (set_phase)
  bool send_closed;     ///< our FIN is sent (graceful disconnect)
  bool receive_closed;  ///< the peer's FIN was read (EOF)
  bool handle_open;     ///< the uv handle has not been closed yet
  bool handle_closed;   ///< its close callback ran
  bool free_on_close;   ///< creation failed after the handle was initialized
  bool in_close_cb;     ///< the handle's close callback is running
  bool reading;         ///< uv_read_start / uv_udp_recv_start active
  bool disconnect_indicated;
  bool backlog_indicated;
  bool backlog_check;          ///< the ideal send backlog may have changed: re-read SO_SNDBUF
  size_t backlog_last;         ///< the ideal backlog last indicated
  bool ev_paused;              ///< receive event paused after a partial / not-accepted indication
  std::atomic<bool> retained;  ///< the indication buffer is held by the client (Pending)
  bool in_event;               ///< an event callback of this socket is running
  bool conditional;            ///< SO_CONDITIONAL_ACCEPT
  bool reuse_addr;             ///< SO_REUSEADDR was set by the client
  bool exclusive_addr;         ///< SO_EXCLUSIVEADDRUSE was set (WSK: off by default)
  bool nodelay_client;         ///< TCP_NODELAY as the client set it
  bool nodelay_on;             ///< TCP_NODELAY now (on while a kFlagNoDelay send runs)
  Status error;                ///< sticky error (reset) for new receives, Success if none
  Request* close_req;
  Request* abort_req;  ///< abortive disconnect waiting for the handle's close callback
  bool accept_ready;   ///< libuv holds an incoming connection for uv_accept
  Socket* next;        ///< Client::sockets
  Socket* prev;
  Socket* kick_next;                 ///< Client::kicks
  std::atomic<uint32_t> kick_flags;  ///< kKick* bits set from other threads
  bool kicked;                       ///< (Client::mu) on the kick list
  Socket* listener;                  ///< accepted but not yet handed out: the listening socket

  // Queues (loop thread only).
  uv::ReqQueue sends;     ///< send / disconnect / send_to / send_messages, in order
  uv::ReqQueue receives;  ///< receive / receive_from
  uv::ReqQueue accepts;
  Request* connect_req;
  bool write_active;   ///< the libuv write / shutdown / datagram send below is in flight
  bool no_gso;         ///< send_messages: the kernel refused UDP GSO here (udp_gso.h)
  size_t write_bytes;  ///< bytes of the head send that the in-flight uv_write carries
  /// The libuv requests (too big to share the request's 160 bytes with the arguments): one
  /// of each per socket, as only one is in flight at a time.
  union {
    struct {
      uv_write_t w;
      uv_connect_t c;
      uv_shutdown_t sd;
    } tcp;
    uv_udp_send_t us;
  } r;

  // Indications (receive event / receive_from event): one buffer per socket.
  char* ind_data;
  size_t ind_size;
  size_t ind_off;  ///< buffered (not yet accepted) bytes start
  size_t ind_len;  ///< buffered bytes
  Segment ind_seg;
  DataIndication data_ind;
  DatagramIndication dgram_ind;
  SockAddr dgram_from;

  void* udp_rx;  ///< datagram sockets: the receive buffer (udp.cpp)

  // Conditional accept.
  uv::Pended* pended;
  uint32_t next_serial;
};

static_assert(std::is_standard_layout_v<Client>, "Client must be standard layout");
static_assert(std::is_standard_layout_v<Socket>, "Socket must be standard layout");
static_assert(offsetof(Client, base) == 0, "ClientBase must be first");
static_assert(offsetof(Socket, base) == 0, "SocketBase must be first");

namespace uv {

constexpr uint32_t kKickEvents = 1;   ///< event mask changed
constexpr uint32_t kKickRelease = 2;  ///< retained indications released

constexpr size_t kIndicationSize = 64 * 1024;

// ---- status.cpp / address conversion ----------------------------------------------------------

/// A libuv error code (negative errno on Unix, or UV_EAI_*) to a Status, through the table
/// the user-space backends share (backends/common/status_map.h).
Status from_uv(int uv_error);
/// errno to Status (the same table).
Status from_errno(int err);
// Address conversion: backends/common/host_sockaddr.h (shared with the posix backend).
using hostnet::from_native;
using hostnet::native_family;
using hostnet::to_native;

// ---- client.cpp ---------------------------------------------------------------------------------

/// The loop thread's body and the wake-up handler (submission queue, deferred calls, kicks).
void loop_entry(Client* c);
void on_wakeup_entry(uv_async_t* async);
/// A client-level operation counted in Client::client_ops (socket creation, resolver) ended;
/// wakes a waiting deregistration.
void client_op_done(Client* c);
/// Wakes a deregistration waiting for the client's sockets and operations to end.
void notify_idle(Client* c);
/// True when the calling thread is @p c's loop thread.
bool on_loop(const Client* c);
/// Runs @p req (its op state filled) with @p run: at once on the loop thread (nested inline
/// runs are bounded, see kMaxInlineDepth), else queued for the loop (returns Pending).
Status run_or_submit(Client* c, Request* req, RunFn run);
inline Status run_or_submit(Socket* s, Request* req, RunFn run) {
  return run_or_submit(s->base.client, req, run);
}
/// Asks the loop to re-examine @p s (kKick* bits), from any thread.
void kick(Socket* s, uint32_t flags);

// ---- socket.cpp ---------------------------------------------------------------------------------

/// Moves @p s to phase @p to; debug builds check the move against the table in socket.cpp.
void set_phase(Socket* s, Phase to);
/// close_socket (or an internal close) started: requests on the socket complete Cancelled.
inline bool closing(const Socket* s) {
  return s->phase >= Phase::Closing;
}
/// Completes @p req with InvalidDeviceState: the call does not fit the socket's phase.
inline Status wrong_phase(Request* req) {
  return detail::complete(req, Status::InvalidDeviceState, 0);
}
/// Allocates a zeroed socket object for @p c (loop thread); link_socket() lists it once it is
/// live.
Socket* socket_alloc(Client* c);
/// Frees a socket that never became live (failed open), with its indication buffer.
void socket_discard(Socket* s);
/// Frees the client's cache of closed sockets (after its loop stopped).
void free_socket_cache(Client* c);
/// Gives a TCP socket's indication buffer back to the pool once nothing in it is left or held.
void indication_buffer_idle(Socket* s);
/// Links a live socket (its base initialized) into its client's list of sockets (loop thread).
void link_socket(Socket* s);
/// The Socket a libuv handle belongs to (handle->data).
inline Socket* sock_of(const uv_handle_t* h) {
  return static_cast<Socket*>(h->data);
}
inline Socket* sock_of(const uv_stream_t* h) {
  return static_cast<Socket*>(h->data);
}
/// True when the client has event @p ev (kEvent*) enabled on @p s.
inline bool event_on(const Socket* s, uint32_t ev) {
  return (s->base.event_mask.load(std::memory_order_acquire) & ev) != 0;
}
/// Frees @p s when its close has completed and its handle is closed (loop thread).
void socket_maybe_free(Socket* s);
/// Re-evaluates what @p s watches after its event mask changed or indications came back.
void socket_update(Socket* s);
/// Completes every request of queue @p q with @p st.
void fail_queue(ReqQueue* q, Status st);
/// Completes @p s's queued sends with @p st, except the head when libuv holds its write
/// (write_active): that one completes from libuv's callback (cancelled by the handle's close).
void fail_queue_keep_inflight(Socket* s, Status st);
/// close_socket's common start: the phase becomes Closing, @p req is kept as the close request,
/// and the queued sends and receives complete Cancelled (a send libuv holds is cancelled by
/// uv_close and completes from its callback).
void close_begin(Socket* s, Request* req);
/// The handle's close callback ran: completes the pending close_socket request, if any.
void complete_close_request(Socket* s);
/// Marks the socket's indication held before its event runs, so that a release arriving from
/// another thread before the callback returned Pending is not lost.
void hold_begin(Socket* s);
/// After the event: anything but Pending gives the indication back. True when retained.
bool hold_end(Socket* s, Status st);
/// release_data_indications / release_datagram_indications: the held indication comes back
/// (InvalidParameter when none is held).
Status release_held(Socket* s);
/// After a receive_from event returned DataNotAccepted: WSK disables the event until
/// SO_WSK_EVENT_CALLBACK enables it again, unless it is a static event callback.
void disable_refused_event(Socket* s);
/// The socket's indication buffer (allocated on first use); null when out of memory.
char* indication_buffer(Socket* s);

// ---- tcp.cpp (stream sockets)
// --------------------------------------------------------------------

Status tcp_open(Socket* s);
/// Run functions of socket.cpp's entry points, for stream sockets.
Status tcp_bind(Request* req);
Status tcp_listen(Request* req);
Status tcp_close(Request* req);
/// Re-evaluates whether @p s should be reading and delivers buffered indications.
void tcp_update(Socket* s);

// ---- udp.cpp (datagram sockets)
// ------------------------------------------------------------------

/// Datagrams are sent with one gather array each: at most this many segments per datagram.
constexpr unsigned kMaxDatagramPieces = 64;  // as the posix backend
/// True when every datagram of a send_to / send_messages request spans at most @p max_pieces
/// segments (a longer chain completes with InvalidParameter; TCP has no such limit).
bool datagrams_fit(Request* req, unsigned max_pieces);
Status udp_open(Socket* s);
Status udp_bind(Request* req);
Status udp_close(Request* req);
void udp_update(Socket* s);
/// Releases the receive buffers of a datagram socket (when the socket is freed).
void udp_free(Socket* s);

// ---- raw.cpp (raw sockets; udp.cpp's datagram entry points pick these run functions) -----------

Status raw_open(Socket* s);
Status raw_bind(Request* req);
Status raw_send(Request* req);
Status raw_receive(Request* req);
Status raw_close(Request* req);
void raw_update(Socket* s);

// ---- control.cpp --------------------------------------------------------------------------------

/// The socket's native fd (uv_fileno), or -1.
int socket_fd(Socket* s);

}  // namespace uv
}  // namespace xwsk

#endif  // XWSK_BACKENDS_UV_UV_BACKEND_H_
