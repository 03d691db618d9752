// SPDX-License-Identifier: MIT
// The echo server: TCP and UDP echo on one address, written as a driver would write it.
//
// TCP: a listen socket with a pipeline of accept requests. Each connection owns one fixed
// buffer of two chunks: a receive fills one chunk while a send drains the other, and nothing is
// received while both chunks wait to be sent. A slow reader therefore slows the sender down
// through TCP flow control (backpressure), and memory per connection is fixed. A FIN from the
// peer (a 0-byte receive) lets the pending data go out, then the server disconnects gracefully
// and closes; a reset or any error closes at once.
//
// UDP: a datagram socket with a pool of slots; each slot loops receive_from -> send_to (back
// to the sender) -> receive_from.
//
// Every completion routine only updates state under a short lock and issues the next request;
// none blocks. Each object (connection, listener, UDP slot) is "pumped" by one thread at a time:
// a routine that completes inline (inside the call that issued it) finds the pump running and
// leaves the work to it, so recursion depth stays bounded however fast data arrives.
#ifndef XWSK_SAMPLES_ECHO_ECHO_SERVER_H_
#define XWSK_SAMPLES_ECHO_ECHO_SERVER_H_

#include <stddef.h>
#include <stdint.h>

#include "echo_sync.h"  // kernel-portable: no echo_common.h (user space only)
#include "xwsk/xwsk.h"

namespace echo {

struct ServerConfig {
  xwsk::SockAddr bind{};  ///< Address to serve on (port 0: the system picks one).
  /// IPv6 only: IPV6_V6ONLY off before bind, so the sockets serve IPv4 too (as v4-mapped
  /// addresses), as Microsoft's WSK echo sample does. Off (the default), an IPv6 socket is
  /// IPv6-only, as in WSK: [::]:PORT alone does not serve 0.0.0.0:PORT.
  bool dual_stack = false;
  bool tcp = true;                  ///< Serve TCP echo.
  bool udp = true;                  ///< Serve UDP echo (on the same port as TCP).
  uint32_t max_connections = 1024;  ///< More are accepted and closed at once.
  uint32_t accept_requests = 8;     ///< Accept requests kept pending on the listener.
  size_t chunk_size = 32 * 1024;    ///< Per connection: two chunks of this size.
  uint32_t udp_slots = 16;          ///< Datagrams in flight (receive or echo) at once.
  uint32_t timeout_ms = 10000;      ///< For the synchronous setup calls.
};

struct ServerStats {
  uint64_t connections = 0;           ///< Accepted and served.
  uint64_t connections_rejected = 0;  ///< Over max_connections: closed at once.
  uint64_t connections_reset = 0;     ///< Ended by a reset or an error (not a FIN).
  uint64_t connections_graceful = 0;  ///< Ended by the peer's FIN and our graceful disconnect.
  uint64_t active = 0;                ///< Open now.
  uint64_t peak_active = 0;
  uint64_t tcp_bytes_in = 0;
  uint64_t tcp_bytes_out = 0;
  uint64_t datagrams = 0;          ///< Echoed.
  uint64_t udp_bytes = 0;          ///< Echoed.
  uint64_t datagrams_dropped = 0;  ///< Truncated (longer than a slot) or failed to send.
  uint64_t accept_errors = 0;
  uint64_t udp_errors = 0;
};

class Server {
 public:
  Server();
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Creates, binds and starts the sockets. On failure *what names the failed step, the status
  /// is returned, and everything created so far is closed again.
  xwsk::Status start(xwsk::Client* client, const ServerConfig& config, const char** what);
  /// The address served (with the port the system picked).
  xwsk::SockAddr local() const { return local_; }
  /// Closes the sockets (pending requests complete with Cancelled, open connections are reset)
  /// and waits until every request and connection is gone. Main thread only. Returns false if
  /// the provider did not complete everything within @p timeout_ms (then the memory is leaked
  /// rather than freed under the provider's feet).
  bool stop(uint32_t timeout_ms);
  ServerStats stats();
  /// Gives the memory of the connections that went since the last call back to the system
  /// (return_free_memory), once a burst of them went or the closes stopped coming. Main thread,
  /// now and then (the program calls it every 200 ms): never on a completion path, where it
  /// would cost latency.
  void housekeeping();

  struct Connection;
  struct AcceptSlot;
  struct UdpSlot;

 private:
  friend struct Connection;
  static void on_accept(xwsk::Request* req, void* context);
  static void on_udp(xwsk::Request* req, void* context);
  static void on_close(xwsk::Request* req, void* context);

  void pump_accepts();
  void pump_udp();
  void free_slots();
  Connection* prepare_connection();
  void start_connection(Connection* c, xwsk::Socket* s);
  void add_work();
  void release_work();
  void close_async(xwsk::Socket* s, xwsk::Request* req);

  xwsk::Client* client_ = nullptr;
  ServerConfig config_{};
  xwsk::SockAddr local_{};
  xwsk::Socket* listener_ = nullptr;
  xwsk::Socket* udp_ = nullptr;
  xwsk::Request listener_close_{};
  xwsk::Request udp_close_{};
  bool close_requests_ready_ = false;
  bool disconnect_supported_ = true;  ///< kCapDisconnect: else a FIN is answered by the close

  SpinLock lock_;
  bool started_ = false;
  bool stopping_ = false;
  bool accept_pumping_ = false;
  bool udp_pumping_ = false;
  bool listener_closed_ = false;
  bool udp_closed_ = false;
  uint64_t work_ = 0;  ///< In-flight requests and live connections; stop() waits for 0.
  uint32_t closed_since_trim_ = 0;     ///< Connections gone since memory was last given back.
  uint32_t closed_at_last_check_ = 0;  ///< closed_since_trim_ at the last housekeeping().
  Event quiesced_;
  Connection* connections_ = nullptr;  ///< Live connections (intrusive list).
  AcceptSlot* accept_slots_ = nullptr;
  uint32_t accept_count_ = 0;
  UdpSlot* udp_slots_ = nullptr;
  uint32_t udp_count_ = 0;
  ServerStats stats_{};
};

}  // namespace echo

#endif  // XWSK_SAMPLES_ECHO_ECHO_SERVER_H_
