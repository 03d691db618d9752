// SPDX-License-Identifier: MIT
/// @file tcp.cpp
/// @brief Stream sockets over uv_tcp_t: the xwsk::backend entry points (socket_connect,
/// accept, inspect_complete, connect, connect_ex, send, receive, disconnect,
/// release_data_indications, at the end of the file), their run functions and all of their
/// logic: bind, listen, accept (with conditional accept), connect, send (uv_try_write, then
/// uv_write over the request's own segments), receive (read straight into the first pending
/// receive's buffer), the stream events, disconnect and close.
///
/// Every function here but the entry points runs on the client's loop thread.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"

namespace xwsk::uv {

using detail::op_state;

namespace {

constexpr unsigned kMaxTryBufs = 16;   ///< uv_buf_t per uv_try_write (stack array)
constexpr unsigned kMaxWriteBufs = 4;  ///< uv_write copies up to 4 bufs without allocating

void on_close(uv_handle_t* h) {
  Socket* s = sock_of(h);
  s->handle_closed = true;
  s->in_close_cb = true;
  if (Request* r = s->abort_req) {
    s->abort_req = nullptr;
    detail::complete(r, Status::Success, 0);
  }
  // Also a close_socket issued from the abortive disconnect's completion routine just now.
  complete_close_request(s);
  s->in_close_cb = false;
  socket_maybe_free(s);
}

/// Closes the handle; with @p reset an established connection is reset (RST) rather than
/// closed gracefully.
void close_handle(Socket* s, bool reset) {
  if (!s->handle_open) return;
  s->handle_open = false;
  s->reading = false;
  if (reset && uv_tcp_close_reset(&s->h.tcp, on_close) == 0) return;
  uv_close(&s->h.handle, on_close);
}

/// Internal close of a socket no client holds (rejected or never handed out).
void close_internal(Socket* s) {
  set_phase(s, Phase::Closing);
  set_phase(s, Phase::Closed);
  close_handle(s, true);
}

void start_sends(Socket* s);
// The run functions the send queue tells requests apart by (send, disconnect).
Status send_run(Request* req);
Status disconnect_run(Request* req);

/// The request's stream operation state.
StreamIo* io_of(Request* req) {
  return op_state<StreamIo>(req);
}

// ---- receive side ------------------------------------------------------------------------------

void complete_receive(Socket* s, Status st) {
  Request* r = s->receives.pop();
  detail::complete(r, st, io_of(r)->cur.done);
}

/// Hands buffered indication data to the receive event while the client takes it.
void indicate_buffered(Socket* s) {
  const ConnectionDispatch* cd = detail::connection_dispatch(&s->base);
  while (s->ind_len != 0 && s->receives.empty() && !s->ev_paused && !s->in_event && !closing(s) &&
         !s->retained.load(std::memory_order_acquire) && event_on(s, kEventReceive) &&
         cd != nullptr && cd->receive != nullptr) {
    s->data_ind.next = nullptr;
    s->data_ind.buffer = Buf{&s->ind_seg, s->ind_off, s->ind_len};
    size_t n = s->ind_len;
    size_t accepted = n;
    s->in_event = true;
    hold_begin(s);
    Status st = cd->receive(s->base.context, 0, &s->data_ind, n, &accepted);
    s->in_event = false;
    if (hold_end(s, st)) {
      s->ind_len = 0;  // the client has it now
    } else if (st == Status::DataNotAccepted) {
      s->ev_paused = true;
    } else if (accepted < n) {
      s->ind_off += accepted;
      s->ind_len -= accepted;
      s->ev_paused = true;
    } else {
      s->ind_len = 0;
    }
  }
}

void indicate_disconnect(Socket* s, uint32_t flags) {
  if (s->disconnect_indicated || closing(s)) return;
  const ConnectionDispatch* cd = detail::connection_dispatch(&s->base);
  if (!event_on(s, kEventDisconnect) || cd == nullptr || cd->disconnect == nullptr) return;
  s->disconnect_indicated = true;
  s->in_event = true;
  cd->disconnect(s->base.context, flags);
  s->in_event = false;
}

/// The send backlog event: the ideal backlog is the socket's send buffer size (SO_SNDBUF), as
/// in the POSIX backend; indicated once the event is on and the socket connected, then again
/// whenever it changed (looked at after SetOption(SO_SNDBUF) and after send requests complete).
void indicate_backlog(Socket* s) {
  if ((s->backlog_indicated && !s->backlog_check) || s->phase != Phase::Connected || s->in_event) {
    return;
  }
  const ConnectionDispatch* cd = detail::connection_dispatch(&s->base);
  if (!event_on(s, kEventSendBacklog) || cd == nullptr || cd->send_backlog == nullptr) return;
  s->backlog_check = false;
  int sndbuf = 0;
  if (uv_send_buffer_size(&s->h.handle, &sndbuf) != 0) sndbuf = 0;
  const size_t ideal = static_cast<size_t>(sndbuf > 0 ? sndbuf : 0);
  if (s->backlog_indicated && ideal == s->backlog_last) return;
  s->backlog_indicated = true;
  s->backlog_last = ideal;
  s->in_event = true;
  cd->send_backlog(s->base.context, ideal);
  s->in_event = false;
}

void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  (void)suggested;
  Socket* s = sock_of(h);
  Request* head = s->receives.head;
  if (head != nullptr && (io_of(head)->flags & kFlagDrain) == 0) {
    size_t len = 0;
    char* p = io_of(head)->cur.chunk(&len);
    *buf = uv_buf_init(p, static_cast<unsigned>(len));
    return;
  }
  bool taker = head != nullptr || (event_on(s, kEventReceive) && !s->ev_paused) ||
               event_on(s, kEventDisconnect);
  if (taker && s->ind_len == 0 && !s->retained.load(std::memory_order_acquire)) {
    // The receive event's data, a DRAIN's discarded bytes, or data read ahead (and kept
    // for the next receive) to notice the disconnect the disconnect event reports.
    char* p = indication_buffer(s);
    *buf = uv_buf_init(p, p != nullptr ? static_cast<unsigned>(s->ind_size) : 0);
    return;
  }
  // Nobody takes data now: UV_ENOBUFS follows and reading stops (see tcp_update).
  *buf = uv_buf_init(nullptr, 0);
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  Socket* s = sock_of(stream);
  if (closing(s)) return;
  if (nread > 0) {
    Request* head = s->receives.head;
    if (head == nullptr) {
      // Data for the receive event.
      s->ind_off = 0;
      s->ind_len = static_cast<size_t>(nread);
      indicate_buffered(s);
    } else if (buf->base == s->ind_data && (io_of(head)->flags & kFlagDrain) != 0) {
      // Drained: discarded (a DRAIN receive completes with 0 bytes at the peer's FIN).
    } else {
      StreamIo* op = io_of(head);
      op->cur.advance(static_cast<size_t>(nread));
      if ((op->flags & kFlagWaitAll) == 0 || op->cur.left == 0) {
        complete_receive(s, Status::Success);
      }
    }
  } else if (nread == UV_EOF) {
    s->receive_closed = true;
    while (!s->receives.empty() && !closing(s))
      complete_receive(s, Status::Success);
  } else if (nread == UV_ENOBUFS) {
    // Data arrived that nobody takes: stop reading until someone does.
    uv_read_stop(&s->h.stream);
    s->reading = false;
  } else if (nread < 0) {
    s->error = from_uv(static_cast<int>(nread));
    // A receive that already holds data completes with it; the error goes to the others.
    while (!s->receives.empty() && !closing(s)) {
      bool has_data = io_of(s->receives.head)->cur.done != 0;
      complete_receive(s, has_data ? Status::Success : s->error);
    }
    if (!closing(s)) indicate_disconnect(s, kFlagAbortive);
  }
  if (!closing(s)) tcp_update(s);
}

// ---- send side ---------------------------------------------------------------------------------

void finish_send_head(Socket* s, Status st) {
  Request* r = s->sends.pop();
  if (event_on(s, kEventSendBacklog)) s->backlog_check = true;  // see the end of start_sends
  if (s->nodelay_on != s->nodelay_client && s->kind == HandleKind::Tcp && s->handle_open) {
    // A kFlagNoDelay send is over: the client's TCP_NODELAY comes back.
    if (uv_tcp_nodelay(&s->h.tcp, s->nodelay_client ? 1 : 0) == 0) {
      s->nodelay_on = s->nodelay_client;
    }
  }
  detail::complete(r, st, io_of(r)->cur.done);
}

void on_shutdown(uv_shutdown_t* req, int status) {
  Socket* s = sock_of(req->handle);
  s->write_active = false;
  s->send_closed = true;
  Status st = status == 0 ? Status::Success
              : status == UV_ECANCELED
                  ? (closing(s) ? Status::Cancelled : Status::ConnectionAborted)
                  : from_uv(status);
  finish_send_head(s, st);
  if (!closing(s)) start_sends(s);
}

/// The status a failed connect completes with, for connect() and socket_connect() alike. A reset
/// before the connect completed means the listener refused the connection (for example its
/// accept event returned RequestNotAccepted), as on the posix backend.
Status connect_status(int status) {
  if (status == UV_ECANCELED) return Status::Cancelled;
  if (status == UV_ECONNRESET) return Status::ConnectionRefused;
  return from_uv(status);
}

void on_write(uv_write_t* req, int status) {
  Socket* s = sock_of(req->handle);
  s->write_active = false;
  Request* head = s->sends.head;
  if (status < 0) {
    Status st = status == UV_ECANCELED
                    ? (closing(s) ? Status::Cancelled : Status::ConnectionAborted)
                    : from_uv(status);
    finish_send_head(s, st);
  } else {
    StreamIo* op = io_of(head);
    op->cur.advance(s->write_bytes);
    if (closing(s) || !s->handle_open) {
      // libuv reports a write that finished before the handle closed with status 0, not
      // UV_ECANCELED: end the send here, or nothing would complete it.
      finish_send_head(s, op->cur.left == 0 ? Status::Success
                          : closing(s)      ? Status::Cancelled
                                            : Status::ConnectionAborted);
      return;
    }
  }
  if (!closing(s) && s->handle_open) start_sends(s);
}

/// Status for a send that cannot proceed, or Success when the socket can send.
Status send_state(const Socket* s) {
  if (s->phase == Phase::Aborted) return Status::ConnectionAborted;
  if (s->error != Status::Success) return s->error;
  if (s->send_closed) return Status::InvalidDeviceState;
  if (s->phase != Phase::Connected) return Status::InvalidDeviceState;
  return Status::Success;
}

/// Writes what the kernel takes of @p cur at once (uv_try_write). Returns 0 when all of it is
/// written or the socket would block (@p bufs / @p n then hold the next pieces, for uv_write),
/// else the libuv error.
int try_write(Socket* s, Cursor* cur, uv_buf_t* bufs, unsigned* n) {
  while (cur->left != 0) {
    *n = cur->fill(bufs, kMaxTryBufs);
    int r = uv_try_write(&s->h.stream, bufs, *n);
    if (r <= 0) return r == UV_EAGAIN ? 0 : r;
    cur->advance(static_cast<size_t>(r));
  }
  return 0;
}

/// Progresses the send queue: uv_try_write first, then one uv_write at a time.
void start_sends(Socket* s) {
  if (s->phase == Phase::Connecting) return;  // queued behind the connect
  while (!s->write_active && !s->sends.empty() && !closing(s)) {
    Request* head = s->sends.head;
    StreamIo* op = io_of(head);
    Status ok = send_state(s);
    if (ok != Status::Success) {
      finish_send_head(s, ok);
      continue;
    }
    Cursor& cur = op->cur;
    if (head->priv.run == &send_run && (op->flags & kFlagNoDelay) != 0 && !s->nodelay_on) {
      // WSK_FLAG_NODELAY: this send goes out with TCP_NODELAY on (which also pushes what is
      // queued); finish_send_head() restores the client's setting.
      if (uv_tcp_nodelay(&s->h.tcp, 1) == 0) s->nodelay_on = true;
    }
    uv_buf_t bufs[kMaxTryBufs];
    unsigned n = 0;
    int r = try_write(s, &cur, bufs, &n);
    if (r == 0 && cur.left != 0) {
      // Backpressure: hand the request's own segments to libuv (zero copy).
      if (n > kMaxWriteBufs) n = kMaxWriteBufs;
      size_t bytes = 0;
      for (unsigned i = 0; i < n; ++i)
        bytes += bufs[i].len;
      s->write_bytes = bytes;
      s->write_active = true;
      r = uv_write(&s->r.tcp.w, &s->h.stream, bufs, n, on_write);
      if (r == 0) continue;  // on_write goes on from here
      s->write_active = false;
    }
    if (r != 0) {
      finish_send_head(s, from_uv(r));
      continue;
    }
    if (head->priv.run == &disconnect_run) {
      s->write_active = true;
      r = uv_shutdown(&s->r.tcp.sd, &s->h.stream, on_shutdown);
      if (r != 0) {
        s->write_active = false;
        finish_send_head(s, from_uv(r));
      }
      continue;
    }
    finish_send_head(s, Status::Success);
  }
  if (s->backlog_check && !closing(s) && s->handle_open) indicate_backlog(s);
}

// ---- accept side -------------------------------------------------------------------------------

/// Creates the connection socket for the connection libuv holds on @p lsn; null on failure.
Socket* take_connection(Socket* lsn, void* context, const void* dispatch) {
  Client* c = lsn->base.client;
  Socket* conn = socket_alloc(c);
  if (conn == nullptr) return nullptr;
  conn->kind = HandleKind::Tcp;
  uv_tcp_init(&c->loop, &conn->h.tcp);
  conn->h.handle.data = conn;
  conn->handle_open = true;
  int r = uv_accept(&lsn->h.stream, &conn->h.stream);
  lsn->accept_ready = false;
  detail::init_socket_base(&conn->base, c, lsn->base.family, SocketType::Stream, Protocol::Tcp,
                           kConnectionSocket, context, dispatch);
  link_socket(conn);
  if (r != 0) {
    close_internal(conn);
    return nullptr;
  }
  set_phase(conn, Phase::Connected);
  conn->nodelay_client = conn->nodelay_on = lsn->nodelay_client;  // the host copies TCP_NODELAY
  return conn;
}

void fill_addresses(Socket* conn, SockAddr* local, SockAddr* remote) {
  sockaddr_storage ss;
  int len = sizeof(ss);
  if (local != nullptr) {
    memset(local, 0, sizeof(*local));
    if (uv_tcp_getsockname(&conn->h.tcp, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      from_native(reinterpret_cast<sockaddr*>(&ss), local);
    }
  }
  len = sizeof(ss);
  if (remote != nullptr) {
    memset(remote, 0, sizeof(*remote));
    if (uv_tcp_getpeername(&conn->h.tcp, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      from_native(reinterpret_cast<sockaddr*>(&ss), remote);
    }
  }
}

/// Applies the static event callbacks to an accepted socket once its dispatch is known.
void apply_static_events(Socket* conn) {
  conn->base.event_mask.store(detail::static_event_mask(&conn->base), std::memory_order_release);
}

/// Hands one ready connection to a conditional-accept decision, an accept request, or the
/// accept event.
bool serve_one(Socket* lsn, Socket* ready) {
  if (!lsn->accepts.empty()) {
    Request* r = lsn->accepts.pop();
    AcceptIo* op = op_state<AcceptIo>(r);
    Socket* conn = ready;
    if (conn == nullptr) {
      conn = take_connection(lsn, op->context, op->dispatch);
      if (conn == nullptr) {
        detail::complete(r, Status::InsufficientResources, 0);
        return true;
      }
    } else {
      conn->base.context = op->context;
      conn->base.dispatch = op->dispatch;
      apply_static_events(conn);
    }
    fill_addresses(conn, op->local, op->remote);
    detail::complete(r, Status::Success, reinterpret_cast<uintptr_t>(conn));
    if (!closing(conn)) tcp_update(conn);
    return true;
  }
  const ListenDispatch* ld = detail::listen_dispatch(&lsn->base);
  if (!event_on(lsn, kEventAccept) || ld == nullptr || ld->accept == nullptr) return false;
  Socket* conn = ready != nullptr ? ready : take_connection(lsn, nullptr, nullptr);
  if (conn == nullptr) return true;
  SockAddr local{}, remote{};
  fill_addresses(conn, &local, &remote);
  void* ctx = nullptr;
  const ConnectionDispatch* disp = nullptr;
  lsn->in_event = true;
  Status st = ld->accept(lsn->base.context, 0, &local, &remote, conn, &ctx, &disp);
  lsn->in_event = false;
  if (st == Status::Success) {
    conn->base.context = ctx;
    conn->base.dispatch = disp;
    // Connection events enabled on the listening socket are inherited (WSK).
    conn->base.event_mask.store(detail::inherited_event_mask(&lsn->base, &conn->base),
                                std::memory_order_release);
    tcp_update(conn);
  } else {
    close_internal(conn);
  }
  return true;
}

void serve_accepts(Socket* lsn) {
  while (!closing(lsn)) {
    // Connections decided Accept by conditional accept come first, in arrival order.
    Pended** pp = &lsn->pended;
    while (*pp != nullptr && !(*pp)->accepted)
      pp = &(*pp)->next;
    if (*pp != nullptr) {
      Pended* p = *pp;
      Socket* conn = p->conn;
      if (!lsn->accepts.empty() || event_on(lsn, kEventAccept)) {
        *pp = p->next;
        detail::release(p, detail::kTagMisc);
        conn->listener = nullptr;
        if (!serve_one(lsn, conn)) close_internal(conn);
        continue;
      }
      return;
    }
    if (!lsn->accept_ready || lsn->conditional) return;
    if (!serve_one(lsn, nullptr)) return;
  }
}

void abort_pended(Socket* lsn, Pended* p);

/// Conditional accept: a pended connection is not read before the decision, so a peer that
/// leaves is noticed by peeking at the pended connections every kPendPollMs (the abort event).
constexpr uint64_t kPendPollMs = 20;

/// Peeks at the connections pended on @p c's listeners. Aborts the first whose peer left and
/// returns true; otherwise returns false, with @p waiting set when some are still undecided.
bool abort_first_gone(Client* c, bool* waiting) {
  *waiting = false;
  for (Socket* lsn = c->sockets; lsn != nullptr; lsn = lsn->next) {
    if (closing(lsn)) continue;
    for (Pended* p = lsn->pended; p != nullptr; p = p->next) {
      if (p->accepted) continue;
      char byte;
      ssize_t n = ::recv(socket_fd(p->conn), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        abort_pended(lsn, p);
        return true;
      }
      *waiting = true;
    }
  }
  return false;
}

void on_pend_timer(uv_timer_t* t) {
  Client* c = static_cast<Client*>(t->data);
  // abort_pended() runs the listener's abort callback, which may call back into xwsk: close
  // sockets (one whose handle is already closed is freed at once; closing a listener frees its
  // pended records) or complete other inspections. So nothing read before a callback (the next
  // socket, the next record) is used after it: the scan starts over. Each pass that aborts
  // removes one record and the callbacks add none, so this ends.
  bool waiting = false;
  while (abort_first_gone(c, &waiting)) {
  }
  if (!waiting) uv_timer_stop(t);
}

void pended_watch(Client* c) {
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&c->pend_timer))) {
    uv_timer_start(&c->pend_timer, on_pend_timer, kPendPollMs, kPendPollMs);
  }
}

/// Conditional accept: the connection is accepted at the OS level and inspected.
void inspect_connection(Socket* lsn) {
  Socket* conn = take_connection(lsn, nullptr, nullptr);
  if (conn == nullptr) return;
  const ListenDispatch* ld = detail::listen_dispatch(&lsn->base);
  SockAddr local{}, remote{};
  fill_addresses(conn, &local, &remote);
  InspectAction action = InspectAction::Accept;
  InspectId id{reinterpret_cast<uintptr_t>(lsn), ++lsn->next_serial};
  if (ld != nullptr && ld->inspect != nullptr) {
    lsn->in_event = true;
    action = ld->inspect(lsn->base.context, &local, &remote, &id);
    lsn->in_event = false;
  }
  if (action == InspectAction::Reject) {
    close_internal(conn);
    return;
  }
  auto* p = static_cast<Pended*>(detail::alloc(sizeof(Pended), detail::kTagMisc));
  if (p == nullptr) {
    close_internal(conn);
    return;
  }
  p->next = nullptr;
  p->conn = conn;
  p->serial = id.serial_number;
  p->accepted = action == InspectAction::Accept;
  conn->listener = lsn;
  Pended** tail = &lsn->pended;
  while (*tail != nullptr)
    tail = &(*tail)->next;
  *tail = p;
  if (!p->accepted) pended_watch(lsn->base.client);
}

void on_connection(uv_stream_t* server, int status) {
  Socket* lsn = sock_of(server);
  if (status < 0 || closing(lsn)) return;
  lsn->accept_ready = true;
  if (lsn->conditional) {
    inspect_connection(lsn);
  }
  serve_accepts(lsn);
}

void abort_pended(Socket* lsn, Pended* p) {
  Pended** pp = &lsn->pended;
  while (*pp != nullptr && *pp != p)
    pp = &(*pp)->next;
  if (*pp == nullptr) return;
  *pp = p->next;
  InspectId id{reinterpret_cast<uintptr_t>(lsn), p->serial};
  Socket* conn = p->conn;
  detail::release(p, detail::kTagMisc);
  close_internal(conn);
  const ListenDispatch* ld = detail::listen_dispatch(&lsn->base);
  if (ld != nullptr && ld->abort != nullptr && !closing(lsn)) {
    lsn->in_event = true;
    ld->abort(lsn->base.context, &id);
    lsn->in_event = false;
  }
}

// ---- connect -----------------------------------------------------------------------------------

void on_connect(uv_connect_t* req, int status) {
  Socket* s = sock_of(req->handle);
  Request* r = s->connect_req;
  s->connect_req = nullptr;
  if (status < 0) {
    // Cancelled by close_socket (the socket is Closing), or failed: back to Bound.
    if (!closing(s)) set_phase(s, Phase::Bound);
    // A reset before the connect completed: the listener refused the connection (for
    // example its accept event returned RequestNotAccepted).
    Status st = connect_status(status);
    detail::complete(r, st, 0);
    // Requests queued behind the connect fail with it.
    if (!closing(s)) {
      fail_queue(&s->sends, st);
      fail_queue(&s->receives, st);
    }
    return;
  }
  set_phase(s, Phase::Connected);
  StreamIo* op = io_of(r);
  if (op->cur.left != 0) {
    // connect_ex: the request becomes a send of its data (its cursor); it completes with the
    // bytes sent.
    r->priv.run = &send_run;
    op->flags = 0;
    r->priv.next = s->sends.head;  // before anything queued behind the connect
    s->sends.head = r;
    if (s->sends.tail == nullptr) s->sends.tail = r;
    start_sends(s);
  } else {
    detail::complete(r, Status::Success, 0);
    if (!closing(s)) start_sends(s);
  }
  if (!closing(s)) tcp_update(s);
}

int set_int(int fd, int level, int name, int v) {
  return setsockopt(fd, level, name, &v, sizeof(v)) == 0 ? 0 : -errno;
}

}  // namespace

// ---- public (backend-internal) entry points -----------------------------------------------------

Status tcp_open(Socket* s) {
  int af = native_family(s->base.family);
  int fd = ::socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return from_errno(errno);
  if (af == AF_INET6) set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  Client* c = s->base.client;
  uv_tcp_init(&c->loop, &s->h.tcp);
  s->h.handle.data = s;
  int r = uv_tcp_open(&s->h.tcp, fd);
  if (r != 0) {
    // Not expected for a fresh socket. The handle is initialized, so it must be closed; the
    // memory is released in its close callback, not by the caller.
    ::close(fd);
    s->free_on_close = true;
    uv_close(&s->h.handle, [](uv_handle_t* h) { socket_discard(static_cast<Socket*>(h->data)); });
    return from_uv(r);
  }
  s->handle_open = true;
  return Status::Success;
}

Status tcp_bind(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Open) return wrong_phase(req);
  sockaddr_storage ss;
  socklen_t len = to_native(op_state<AddressIo>(req)->addr, &ss);
  int fd = socket_fd(s);
  // Exclusive address use (WSK's default) unless the client set SO_REUSEADDR: the fd was
  // created without SO_REUSEADDR (uv_tcp_bind would set it, and defer EADDRINUSE to listen or
  // connect), so a conflict is reported by this BIND request.
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return detail::complete(req, from_errno(errno), 0);
  }
  set_phase(s, Phase::Bound);
  if (s->base.category == kListenSocket) {
    int r = uv_listen(&s->h.stream, SOMAXCONN, on_connection);
    if (r != 0) return detail::complete(req, from_uv(r), 0);
    set_phase(s, Phase::Listening);
  }
  return detail::complete(req, Status::Success, 0);
}

Status tcp_listen(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Bound) return wrong_phase(req);
  int r = uv_listen(&s->h.stream, SOMAXCONN, on_connection);
  if (r != 0) return detail::complete(req, from_uv(r), 0);
  set_phase(s, Phase::Listening);
  s->base.listening = true;
  return detail::complete(req, Status::Success, 0);
}

namespace {

Status accept_run(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Listening) return wrong_phase(req);
  // Pending even if it completes below: the completion routine may already have reused it.
  s->accepts.push(req);
  serve_accepts(s);
  return Status::Pending;
}

Status connect_run(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Bound) return wrong_phase(req);  // unbound, or not idle
  sockaddr_storage ss;
  to_native(io_of(req)->remote, &ss);
  s->connect_req = req;
  set_phase(s, Phase::Connecting);
  int r = uv_tcp_connect(&s->r.tcp.c, &s->h.tcp, reinterpret_cast<sockaddr*>(&ss), on_connect);
  if (r != 0) {
    s->connect_req = nullptr;
    set_phase(s, Phase::Bound);
    return detail::complete(req, from_uv(r), 0);
  }
  return Status::Pending;
}

Status send_run(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase == Phase::Connecting) {
    s->sends.push(req);  // sent once connected, or failed with the connect's status
    return Status::Pending;
  }
  Status ok = send_state(s);
  if (ok != Status::Success) return detail::complete(req, ok, 0);
  if (s->sends.empty() && !s->write_active) {
    // Fast path: write at once; complete inline if the kernel took everything.
    Cursor& cur = io_of(req)->cur;
    uv_buf_t bufs[kMaxTryBufs];
    unsigned n = 0;
    int r = try_write(s, &cur, bufs, &n);
    if (r != 0) return detail::complete(req, from_uv(r), cur.done);
    if (cur.left == 0) return detail::complete(req, Status::Success, cur.done);
  }
  s->sends.push(req);
  start_sends(s);
  return Status::Pending;
}

Status receive_run(Request* req) {
  Socket* s = req->priv.socket;
  StreamIo* op = io_of(req);
  s->ev_paused = false;  // a receive resumes the receive event (WskReceiveEvent contract)
  if (s->receives.empty() && s->ind_len != 0 && !s->in_event) {
    // Data buffered from a partial or refused indication is received first.
    size_t take = 0;
    if ((op->flags & kFlagDrain) != 0) {
      take = s->ind_len;
    } else {
      while (op->cur.left != 0 && s->ind_len != 0) {
        size_t len = 0;
        char* p = op->cur.chunk(&len);
        size_t n = len < s->ind_len ? len : s->ind_len;
        memcpy(p, s->ind_data + s->ind_off, n);
        op->cur.advance(n);
        s->ind_off += n;
        s->ind_len -= n;
        take += n;
      }
    }
    if ((op->flags & kFlagDrain) != 0) {
      s->ind_len = 0;
    }
    if (take != 0 && (op->flags & (kFlagWaitAll | kFlagDrain)) == 0) {
      Status st = detail::complete(req, Status::Success, op->cur.done);
      tcp_update(s);
      return st;
    }
  }
  if (op->cur.left == 0 && (op->flags & kFlagDrain) == 0) {
    Status st = detail::complete(req, Status::Success, op->cur.done);
    tcp_update(s);
    return st;
  }
  if (s->error != Status::Success) return detail::complete(req, s->error, op->cur.done);
  if (s->phase == Phase::Aborted) return detail::complete(req, Status::ConnectionAborted, 0);
  if (s->receive_closed) return detail::complete(req, Status::Success, op->cur.done);
  if (s->phase != Phase::Connected && s->phase != Phase::Connecting) return wrong_phase(req);
  s->receives.push(req);
  tcp_update(s);
  return Status::Pending;
}

Status disconnect_run(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Connected) return wrong_phase(req);
  if ((io_of(req)->flags & kFlagAbortive) != 0) {
    // Abortive: reset now. Queued sends and receives fail with ConnectionAborted; a write
    // already given to libuv is cancelled by the close and reported the same way.
    set_phase(s, Phase::Aborted);
    fail_queue_keep_inflight(s, Status::ConnectionAborted);
    fail_queue(&s->receives, Status::ConnectionAborted);
    s->abort_req = req;
    close_handle(s, true);
    return Status::Pending;
  }
  if (s->send_closed) return detail::complete(req, Status::Success, 0);  // FIN already sent
  s->sends.push(req);
  start_sends(s);
  return Status::Pending;
}

Status inspect_complete_run(Request* req) {
  Socket* s = req->priv.socket;
  AddressIo* op = op_state<AddressIo>(req);
  Pended* p = s->pended;
  while (p != nullptr && (p->serial != op->id.serial_number || p->accepted ||
                          op->id.key != reinterpret_cast<uintptr_t>(s))) {
    p = p->next;
  }
  if (p == nullptr) return detail::complete(req, Status::InvalidParameter, 0);
  if (op->action == InspectAction::Accept) {
    p->accepted = true;
  } else {
    Pended** pp = &s->pended;
    while (*pp != p)
      pp = &(*pp)->next;
    *pp = p->next;
    Socket* conn = p->conn;
    detail::release(p, detail::kTagMisc);
    close_internal(conn);
  }
  Status st = detail::complete(req, Status::Success, 0);
  if (!closing(s)) serve_accepts(s);
  return st;
}

}  // namespace

void tcp_update(Socket* s) {
  if (closing(s) || !s->handle_open) return;
  if (s->listener != nullptr) return;  // pended by conditional accept: not read yet
  indication_buffer_idle(s);           // consumed, released, or never filled: back to the pool
  if (s->phase == Phase::Listening) {
    serve_accepts(s);
    return;
  }
  indicate_backlog(s);
  if (closing(s)) return;
  indicate_buffered(s);
  if (closing(s)) return;
  bool retained = s->retained.load(std::memory_order_acquire);
  if (s->receive_closed && s->ind_len == 0 && !retained) indicate_disconnect(s, 0);
  if (closing(s)) return;
  bool want = s->phase == Phase::Connected && !s->receive_closed && s->error == Status::Success &&
              (!s->receives.empty() ||
               (event_on(s, kEventReceive) && !s->ev_paused && !retained && s->ind_len == 0) ||
               (event_on(s, kEventDisconnect) && !retained && s->ind_len == 0));
  if (want && !s->reading) {
    if (uv_read_start(&s->h.stream, on_alloc, on_read) == 0) s->reading = true;
  } else if (!want && s->reading &&
             (s->receive_closed || s->error != Status::Success || s->phase != Phase::Connected)) {
    uv_read_stop(&s->h.stream);
    s->reading = false;
  }
  // Otherwise reading stops lazily: only when data arrives that nobody takes (UV_ENOBUFS in
  // on_read). A receive posted again before the next data, the usual request/response
  // pattern, then costs no epoll_ctl calls.
}

Status tcp_close(Request* req) {
  Socket* s = req->priv.socket;
  // A connection closed without a disconnect is reset, as in WSK.
  bool reset = s->phase == Phase::Connected && !s->send_closed;
  // Every pending request completes with Cancelled first; requests libuv holds (an in-flight
  // write, shutdown or connect) are cancelled by uv_close before the close callback runs.
  close_begin(s, req);
  fail_queue(&s->accepts, Status::Cancelled);
  if (s->accept_ready) {
    // The connection libuv holds for uv_accept would be closed gracefully with the listener;
    // like the ones still in the kernel's queue (which the kernel resets) it is reset.
    if (Socket* conn = take_connection(s, nullptr, nullptr)) close_internal(conn);
  }
  while (Pended* p = s->pended) {
    s->pended = p->next;
    Socket* conn = p->conn;
    detail::release(p, detail::kTagMisc);
    close_internal(conn);
  }
  if (s->handle_open) {
    close_handle(s, reset);
    return Status::Pending;
  }
  // The abortive reset's close is under way (or its callback is running): it completes this.
  if (!s->handle_closed || s->in_close_cb) return Status::Pending;
  s->close_req = nullptr;
  Status st = detail::complete(req, Status::Success, 0);
  set_phase(s, Phase::Closed);
  socket_maybe_free(s);
  return st;
}

namespace {

Status socket_connect_create(Client* c, Request* req) {
  // WskSocketConnect: socket + bind + connect as one request.
  const SocketIo& a = *op_state<SocketIo>(req);
  Socket* s = socket_alloc(c);
  if (s == nullptr) return detail::complete(req, Status::InsufficientResources, 0);
  s->kind = HandleKind::Tcp;
  s->base.family = a.local.af();
  Status st = tcp_open(s);
  if (st != Status::Success) {
    if (!s->free_on_close) socket_discard(s);
    return detail::complete(req, st, 0);
  }
  detail::init_socket_base(&s->base, c, a.local.af(), SocketType::Stream, Protocol::Tcp,
                           kConnectionSocket, a.context, a.dispatch);
  link_socket(s);
  sockaddr_storage ss;
  socklen_t len = to_native(a.local, &ss);
  int err = 0;
  if (::bind(socket_fd(s), reinterpret_cast<sockaddr*>(&ss), len) != 0) err = errno;
  if (err == 0) {
    if (!closing(s)) set_phase(s, Phase::Bound);
    to_native(a.remote, &ss);
    s->connect_req = req;
    set_phase(s, Phase::Connecting);
    // The request completes from the connect callback with the Socket* as information.
    int r = uv_tcp_connect(&s->r.tcp.c, &s->h.tcp, reinterpret_cast<sockaddr*>(&ss),
                           [](uv_connect_t* cr, int status) {
                             Socket* so = sock_of(cr->handle);
                             Request* rq = so->connect_req;
                             so->connect_req = nullptr;
                             if (status < 0) {
                               set_phase(so, Phase::Closing);
                               set_phase(so, Phase::Closed);
                               close_handle(so, false);
                               detail::complete(rq, connect_status(status), 0);
                               return;
                             }
                             set_phase(so, Phase::Connected);
                             detail::complete(rq, Status::Success, reinterpret_cast<uintptr_t>(so));
                             if (!closing(so)) tcp_update(so);
                           });
    if (r == 0) return Status::Pending;
    s->connect_req = nullptr;
    err = -r;
  }
  set_phase(s, Phase::Closing);
  set_phase(s, Phase::Closed);
  close_handle(s, false);
  return detail::complete(req, from_errno(err), 0);
}

Status socket_connect_run(Request* req) {
  Client* c = op_state<SocketIo>(req)->client;
  Status st = socket_connect_create(c, req);
  client_op_done(c);
  return st;
}

}  // namespace
}  // namespace xwsk::uv

// ---- xwsk::backend entry points: stream sockets ------------------------------------------------
namespace xwsk::backend {

using detail::op_state;
using uv::StreamIo;

Status socket_connect(Client* client, SocketType type, Protocol protocol, const SockAddr* local,
                      const SockAddr* remote, uint32_t flags, void* socket_context,
                      const ConnectionDispatch* dispatch, Request* req) {
  (void)type;
  (void)protocol;
  *op_state<uv::SocketIo>(req) = {.client = client,
                                  .context = socket_context,
                                  .dispatch = dispatch,
                                  .flags = flags,
                                  .local = *local,
                                  .remote = *remote};
  client->client_ops.fetch_add(1, std::memory_order_acq_rel);
  return uv::run_or_submit(client, req, &uv::socket_connect_run);
}

Status accept(Socket* s, uint32_t flags, void* accept_socket_context,
              const ConnectionDispatch* dispatch, SockAddr* local, SockAddr* remote, Request* req) {
  *op_state<uv::AcceptIo>(req) = {.flags = flags,
                                  .context = accept_socket_context,
                                  .dispatch = dispatch,
                                  .local = local,
                                  .remote = remote};
  return uv::run_or_submit(s, req, &uv::accept_run);
}

Status inspect_complete(Socket* s, const InspectId* inspect_id, InspectAction action,
                        Request* req) {
  *op_state<uv::AddressIo>(req) = {.id = *inspect_id, .action = action};
  return uv::run_or_submit(s, req, &uv::inspect_complete_run);
}

Status connect(Socket* s, const SockAddr* remote, uint32_t flags, Request* req) {
  return backend::connect_ex(s, remote, nullptr, flags, req);
}

Status connect_ex(Socket* s, const SockAddr* remote, const Buf* data, uint32_t flags,
                  Request* req) {
  // The data (if any) is sent once connected.
  *op_state<StreamIo>(req) = {.cur = uv::Cursor::of(data), .flags = flags, .remote = *remote};
  return uv::run_or_submit(s, req, &uv::connect_run);
}

Status send(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  *op_state<StreamIo>(req) = {.cur = uv::Cursor::of(buf), .flags = flags};
  return uv::run_or_submit(s, req, &uv::send_run);
}

Status receive(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  *op_state<StreamIo>(req) = {.cur = uv::Cursor::of(buf), .flags = flags};
  return uv::run_or_submit(s, req, &uv::receive_run);
}

Status disconnect(Socket* s, const Buf* final_data, uint32_t flags, Request* req) {
  *op_state<StreamIo>(req) = {.cur = uv::Cursor::of(final_data), .flags = flags};
  return uv::run_or_submit(s, req, &uv::disconnect_run);
}

Status release_data_indications(Socket* s, DataIndication* list) {
  if (list != &s->data_ind) return Status::InvalidParameter;
  return uv::release_held(s);
}

}  // namespace xwsk::backend
