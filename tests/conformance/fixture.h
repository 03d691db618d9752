// SPDX-License-Identifier: MIT
// Helpers the conformance bodies share: a registered client with tracked sockets, requests and
// buffers that are all torn down (and checked) at the end of the case, and the setup sequences
// the cases repeat (a connected TCP pair, a UDP pair, one datagram a->b, a listener, connects,
// accepts and receives started now and waited for later). Kernel-compatible: the big state lives
// on the heap (kernel stacks are small), nothing throws, nothing allocates but Env's pools and
// buffers. Helpers return false after failing the case through xt's checks; the body wraps each
// call in XT_DO, which adds the case's name and the calling line to the failure. Every check a
// helper makes counts as the body's (Context::checks).
#ifndef XWSK_TESTS_CONFORMANCE_FIXTURE_H_
#define XWSK_TESTS_CONFORMANCE_FIXTURE_H_

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "xt.h"
#include "xwsk/xwsk.h"

namespace xt {

constexpr uint32_t kTimeoutMs = 10000;

/// A request a body issues and waits on. Its completion routine counts completions (the
/// contract says exactly one per accepted call) and signals an event.
struct Op {
  xwsk::Request req;
  Event done;
  std::atomic<uint32_t> completions{0};
  bool initialized = false;

  /// Waits for the completion of a call that returned @p ret. An inline result (not Pending)
  /// must already have run the routine with the same status. Fails @p t on a timeout or on a
  /// second completion. On success status()/info() are final.
  /// Unless @p traced is false, the final status goes into the case's completion trace
  /// (Context::trace): leave out attempts whose outcome depends on the machine (a port in use).
  bool finish(Context& t, xwsk::Status ret, uint32_t timeout_ms = kTimeoutMs, bool traced = true);
  /// For a status WSK decides synchronously: the call returned exactly @p expected (not
  /// Pending), its routine already ran once with it, and information is 0.
  bool returned(Context& t, xwsk::Status ret, xwsk::Status expected);
  /// True if the routine has run since the last rearm().
  bool completed() const { return completions.load(std::memory_order_acquire) != 0; }
  /// Prepares the request for its next call.
  void rearm();
  /// finish(), then the final status must be @p want.
  bool expect(Context& t, xwsk::Status ret, xwsk::Status want, uint32_t timeout_ms = kTimeoutMs);
  xwsk::Status status() const { return req.status; }
  uintptr_t info() const { return req.information; }
};

/// The raw arguments of a socket() call, for the cases that try combinations WSK rejects.
struct SocketArgs {
  uint16_t family;
  uint16_t type;
  uint16_t protocol;
  uint32_t category;
};

/// A request a body started and waits for later: its Op, what the call returned, and the Buf the
/// call was given (it lives here for as long as the request may use it).
struct Started {
  Op* op = nullptr;
  xwsk::Status ret = xwsk::Status::Unsuccessful;
  xwsk::Buf buf{};
  /// Op::finish with the returned status.
  bool finish(Context& t, uint32_t timeout_ms = kTimeoutMs) {
    return op->finish(t, ret, timeout_ms);
  }
  /// Op::expect with the returned status: finishes, then the final status must be @p want.
  bool expect(Context& t, xwsk::Status want) { return op->expect(t, ret, want); }
  bool completed() const { return op->completed(); }
  xwsk::Status status() const { return op->status(); }
  uintptr_t info() const { return op->info(); }
};

/// A connected TCP pair over loopback (Env::tcp_pair).
struct TcpPair {
  xwsk::Socket* cli = nullptr;  ///< connection socket, bound and connected
  xwsk::Socket* srv = nullptr;  ///< the connection the listener accepted
};

/// Two datagram sockets bound to loopback (Env::udp_pair), and their addresses.
struct UdpPair {
  xwsk::Socket* a = nullptr;
  xwsk::Socket* b = nullptr;
  xwsk::SockAddr aa{};
  xwsk::SockAddr ba{};
};

/// A data buffer described by one segment (non-paged heap memory in the kernel).
struct Buffer {
  uint8_t* data = nullptr;
  size_t size = 0;
  xwsk::Segment seg{};
  xwsk::Buf buf(size_t offset, size_t length) { return xwsk::Buf{&seg, offset, length}; }
  xwsk::Buf all() { return xwsk::Buf{&seg, 0, size}; }
  /// Fills with a pattern that depends on @p seed and the byte index.
  void fill(uint32_t seed);
  /// True when bytes [0, n) hold the pattern fill(seed) wrote at [offset, offset + n).
  bool matches(uint32_t seed, size_t offset, size_t n) const;
};

uint8_t pattern_byte(uint32_t seed, size_t index);

/// The loopback address of @p family with @p port.
xwsk::SockAddr loopback(xwsk::AddressFamily family, uint16_t port);

/// Skips @p t (returns false) when @p f is IPv6 and the backend has no kCapIpv6.
bool require_family(Context& t, xwsk::AddressFamily f);

/// The wildcard address of @p family with @p port.
xwsk::SockAddr any_address(xwsk::AddressFamily family, uint16_t port);

/// Copies the bytes a Buf describes (segment chain, offset into the first segment) to @p dst,
/// at most @p cap bytes. Returns the number copied.
size_t copy_from_buf(const xwsk::Buf& b, uint8_t* dst, size_t cap);

/// Copies @p n bytes from @p src into the bytes a Buf describes. Returns the number copied.
size_t copy_to_buf(const xwsk::Buf& b, const uint8_t* src, size_t n);

/// True when the C strings @p a and @p b are equal (no C library in the kernel).
bool str_eq(const char* a, const char* b);

/// Waits until @p cond(arg) is true, polling every few milliseconds, for at most @p timeout_ms.
/// For states a backend reaches asynchronously (bytes arriving, counters settling).
bool wait_until(bool (*cond)(void* arg), void* arg, uint32_t timeout_ms = kTimeoutMs);

/// Connection dispatch and context that record events, for the event cases.
struct EventLog {
  std::atomic<uint32_t> receive_calls{0};
  std::atomic<uint32_t> disconnect_calls{0};
  std::atomic<uint32_t> disconnect_flags{0};
  std::atomic<uint32_t> accept_calls{0};
  std::atomic<uint32_t> receive_from_calls{0};
  std::atomic<uint32_t> backlog_calls{0};
  std::atomic<uint64_t> backlog_ideal{0};  // the last ideal backlog indicated
  std::atomic<uint32_t> flags_seen{0};     // OR of the indication flags of every event
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint32_t> in_callback{0};  // serial delivery check
  std::atomic<uint32_t> overlap{0};      // set if two callbacks of one socket overlapped
  std::atomic<uint32_t> order_error{0};  // e.g. a receive after the disconnect
  Event any;                             // set on every event
  Event disconnected;                    // set on the disconnect event
};

/// The per-case environment: registration, provider capture, tracked sockets, ops, buffers.
class Env {
 public:
  Env() = default;
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  /// Registers a client and captures the provider.
  bool open(Context& t);
  xwsk::Client* client() const { return client_; }

  /// A fresh Op from the pool (64 per case); null (and @p t failed) when exhausted.
  Op* op(Context& t);
  /// A buffer of @p size bytes, tracked.
  Buffer* buffer(Context& t, size_t size);

  /// Creates a socket and tracks it (closed at teardown if the body does not close it).
  bool socket(Context& t, xwsk::AddressFamily family, xwsk::SocketType type,
              xwsk::Protocol protocol, uint32_t category, void* context, const void* dispatch,
              xwsk::Socket** out);
  /// Tracks a socket the body obtained another way (accept, socket_connect).
  void adopt(xwsk::Socket* s);
  /// Closes @p s now, waits, and untracks it.
  bool close(Context& t, xwsk::Socket* s);
  void untrack(xwsk::Socket* s);

  /// Binds @p s to the loopback of @p family. Uses port 0 and get_local_address where the
  /// backend has address queries, else tries ports from a private range. *bound gets the
  /// address with its port.
  bool bind_loopback(Context& t, xwsk::Socket* s, xwsk::AddressFamily family,
                     xwsk::SockAddr* bound);
  /// Binds @p s to @p addr and waits: the final status must be @p want.
  bool bind(Context& t, xwsk::Socket* s, const xwsk::SockAddr& addr, xwsk::Status want);
  /// Binds @p s to @p addr and waits; *out gets the final status (for outcomes the case pins
  /// only loosely).
  bool bind_status(Context& t, xwsk::Socket* s, const xwsk::SockAddr& addr, xwsk::Status* out);
  /// A listen-category socket bound to loopback (listening, WSK semantics).
  bool listener(Context& t, xwsk::AddressFamily family, xwsk::Socket** out, xwsk::SockAddr* addr,
                void* context = nullptr, const xwsk::ListenDispatch* dispatch = nullptr);
  /// A connected pair over loopback: @p cli (connection socket, connected) and @p srv
  /// (accepted). The listener is closed before returning.
  bool connected_pair(Context& t, xwsk::AddressFamily family, xwsk::Socket** cli,
                      xwsk::Socket** srv, void* srv_context = nullptr,
                      const xwsk::ConnectionDispatch* srv_dispatch = nullptr,
                      void* cli_context = nullptr,
                      const xwsk::ConnectionDispatch* cli_dispatch = nullptr);
  /// open() and listener(): the setup of the cases that connect to a listener themselves.
  bool open_listener(Context& t, xwsk::AddressFamily family, xwsk::Socket** out,
                     xwsk::SockAddr* addr, void* context = nullptr,
                     const xwsk::ListenDispatch* dispatch = nullptr);
  /// connected_pair() into @p p (the listener is closed before returning).
  bool tcp_pair(Context& t, xwsk::AddressFamily family, TcpPair* p, void* srv_context = nullptr,
                const xwsk::ConnectionDispatch* srv_dispatch = nullptr, void* cli_context = nullptr,
                const xwsk::ConnectionDispatch* cli_dispatch = nullptr);
  /// open() and tcp_pair(): the setup of most stream cases.
  bool open_tcp_pair(Context& t, xwsk::AddressFamily family, TcpPair* p,
                     void* srv_context = nullptr,
                     const xwsk::ConnectionDispatch* srv_dispatch = nullptr,
                     void* cli_context = nullptr,
                     const xwsk::ConnectionDispatch* cli_dispatch = nullptr);
  /// A UDP socket of the datagram category, not bound.
  bool unbound_udp_socket(Context& t, xwsk::AddressFamily family, xwsk::Socket** out);
  /// A datagram socket bound to loopback.
  bool udp_socket(Context& t, xwsk::AddressFamily family, xwsk::Socket** out, xwsk::SockAddr* addr,
                  void* context = nullptr, const xwsk::DatagramDispatch* dispatch = nullptr);
  /// open() and udp_socket().
  bool open_udp_socket(Context& t, xwsk::AddressFamily family, xwsk::Socket** out,
                       xwsk::SockAddr* addr);
  /// Two datagram sockets bound to loopback; @p b_context and @p b_dispatch go to the second.
  bool udp_pair(Context& t, xwsk::AddressFamily family, UdpPair* p, void* b_context = nullptr,
                const xwsk::DatagramDispatch* b_dispatch = nullptr);
  /// Sends [offset, offset + n) of @p b from @p s to @p to (send_to) and waits: Success, n bytes.
  bool send_to(Context& t, xwsk::Socket* s, const xwsk::SockAddr& to, Buffer* b, size_t offset,
               size_t n);
  /// Sends one datagram, [offset, offset + n) of @p b, from p.a to p.b (send_to, checked).
  bool datagram(Context& t, const UdpPair& p, Buffer* b, size_t offset, size_t n);
  /// Starts a receive_from into @p buf on @p s (not waited for); @p from and @p control_flags as
  /// receive_from takes them.
  bool start_receive_from(Context& t, xwsk::Socket* s, xwsk::Buf buf, Started* out,
                          xwsk::SockAddr* from = nullptr, uint32_t* control_flags = nullptr);

  /// A TCP socket of @p category (listen, connection, stream or basic), not bound.
  bool tcp_socket(Context& t, xwsk::AddressFamily family, uint32_t category, xwsk::Socket** out,
                  void* context = nullptr, const void* dispatch = nullptr);
  /// Starts a connect of @p s to @p to (not waited for).
  bool start_connect(Context& t, xwsk::Socket* s, const xwsk::SockAddr& to, Started* out);
  /// A socket of @p category bound to the wildcard address (bound_socket) whose connect to @p to
  /// is started (not waited for).
  bool start_client(Context& t, xwsk::AddressFamily family, const xwsk::SockAddr& to,
                    xwsk::Socket** out, Started* connect,
                    uint32_t category = xwsk::kConnectionSocket);
  /// Connects @p s to @p to and waits: Success.
  bool connect(Context& t, xwsk::Socket* s, const xwsk::SockAddr& to);
  /// A socket of @p category bound to the wildcard address (bound_socket), connected to @p to.
  bool connect_client(Context& t, xwsk::AddressFamily family, const xwsk::SockAddr& to,
                      xwsk::Socket** out, uint32_t category = xwsk::kConnectionSocket,
                      void* context = nullptr, const void* dispatch = nullptr);
  /// Starts an accept on @p lsn (not waited for); the arguments as accept takes them.
  bool start_accept(Context& t, xwsk::Socket* lsn, Started* out, void* context = nullptr,
                    const xwsk::ConnectionDispatch* dispatch = nullptr,
                    xwsk::SockAddr* local = nullptr, xwsk::SockAddr* remote = nullptr);
  /// Waits for an accept start_accept started: Success, a socket, which is tracked.
  bool finish_accept(Context& t, Started& acc, xwsk::Socket** out);
  /// Starts a receive into @p buf on @p s with @p flags (not waited for).
  bool start_receive(Context& t, xwsk::Socket* s, xwsk::Buf buf, uint32_t flags, Started* out);
  /// socket() with @p args is accepted and then completed with InvalidParameter and no socket.
  bool socket_rejected(Context& t, const SocketArgs& args);
  /// Starts a receive into a new buffer of @p size bytes on @p s that finds no data: it must
  /// return Pending (the cases that then reset, abort, cancel or close under it).
  bool pending_receive(Context& t, xwsk::Socket* s, size_t size, Started* out);
  /// For a connection the listening side turned down (conditional accept's Reject, an accept
  /// event's RequestNotAccepted): the finished connect @p c of @p cli never gave a usable
  /// connection. It was refused, reset or aborted, or, where the host completed the handshake
  /// before the decision, a receive on @p cli sees it reset or aborted (with @p graceful_end, a
  /// graceful 0-byte end or ConnectionDisconnected as well).
  bool turned_down(Context& t, xwsk::Socket* cli, const Started& c, bool graceful_end);
  /// Disconnects @p s with @p flags (and final @p data when not null) and waits: Success.
  bool disconnect(Context& t, xwsk::Socket* s, uint32_t flags, xwsk::Buf* data = nullptr);

  /// Sends [offset, offset + n) of @p b and waits; checks all bytes went.
  bool send_all(Context& t, xwsk::Socket* s, Buffer* b, size_t offset, size_t n);
  /// Receives exactly @p n bytes into @p b at @p offset (WAITALL) and waits.
  bool receive_exact(Context& t, xwsk::Socket* s, Buffer* b, size_t offset, size_t n);
  /// Enables events (SO_WSK_EVENT_CALLBACK) on @p s.
  bool enable_events(Context& t, xwsk::Socket* s, uint32_t mask);
  /// Disables one event (SO_WSK_EVENT_CALLBACK with kEventDisable) on @p s.
  bool disable_event(Context& t, xwsk::Socket* s, uint32_t event);
  /// A socket bound to the wildcard address of @p family, port 0 (connection or stream).
  bool bound_socket(Context& t, xwsk::AddressFamily family, uint32_t category, void* context,
                    const void* dispatch, xwsk::Socket** out);
  /// Sets a ULONG option (control_socket SetOption) and checks Success.
  bool set_ulong(Context& t, xwsk::Socket* s, uint32_t level, uint32_t option, uint32_t value);
  /// Gets a ULONG option (control_socket GetOption) and checks Success and the output size.
  bool get_ulong(Context& t, xwsk::Socket* s, uint32_t level, uint32_t option, uint32_t* value);
  /// The local address of @p s (get_local_address), checked for Success.
  bool local_address(Context& t, xwsk::Socket* s, xwsk::SockAddr* out);

 private:
  static constexpr int kMaxSockets = 64;
  static constexpr int kMaxOps = 64;
  static constexpr int kMaxBuffers = 32;
  struct State;
  Context* t_ = nullptr;
  State* state_ = nullptr;
  xwsk::Registration registration_{};
  xwsk::Client* client_ = nullptr;
  bool registered_ = false;
  bool captured_ = false;
};

/// Marks one event callback of @p log's socket for its duration: records an overlap with
/// another callback of the same socket (serial delivery check) and sets log->any at the end.
class CallbackScope {
 public:
  explicit CallbackScope(EventLog* log);
  ~CallbackScope();
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

 private:
  EventLog* log_;
};

/// Event callbacks that log into an EventLog given as the socket context.
extern const xwsk::ConnectionDispatch kLoggingConnectionDispatch;

}  // namespace xt

#endif  // XWSK_TESTS_CONFORMANCE_FIXTURE_H_
