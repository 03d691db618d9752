// SPDX-License-Identifier: MIT
/// @file tcp.cpp
/// @brief Stream sockets: connect, accept (with emulated conditional accept), send, receive,
/// disconnect, socket_connect, and the receive / disconnect / send-backlog / accept events.
///
/// Each operation is its API entry (namespace backend, at the end), its run function (what the
/// loop runs: `send_run`, ...) and its attempt (the system calls: `send_attempt`, ...), all in
/// this file: backend::send -> submit -> send_run -> run_or_queue -> send_attempt -> send(2)
/// -> detail::complete.
///
/// Conditional accept is emulated: user space cannot look at a connection request before the
/// handshake completes, so with SO_CONDITIONAL_ACCEPT the connection is accepted at the OS
/// level, then the inspect event decides: Accept hands it to an accept request or the accept
/// event, Reject resets it, Pend holds it until inspect_complete(). A held connection the peer
/// drops (FIN or RST) raises the abort event.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"

namespace xwsk::posix {

using detail::complete;
using detail::op_state;

namespace {

/// Copies up to @p n bytes from @p src into @p buf starting @p skip bytes in.
size_t copy_into(const Buf& buf, size_t skip, const uint8_t* src, size_t n) {
  iovec iov[kMaxIov];
  size_t copied = 0;
  while (copied < n && skip < buf.length) {
    size_t bytes = 0;
    int cnt = build_iov(buf, skip, iov, kMaxIov, &bytes);
    if (cnt == 0) break;
    for (int i = 0; i < cnt && copied < n; ++i) {
      size_t len = iov[i].iov_len;
      if (len > n - copied) len = n - copied;
      memcpy(iov[i].iov_base, src + copied, len);
      copied += len;
      skip += len;
    }
  }
  return copied;
}

const ConnectionDispatch* conn_dispatch(const Socket* s) {
  return detail::connection_dispatch(&s->base);
}

bool event_on(const Socket* s, uint32_t bit) {
  return (s->base.event_mask.load(std::memory_order_acquire) & bit) != 0;
}

// ---- receive ------------------------------------------------------------------------------

/// A short read emptied the receive queue: any later arrival raises a new readiness event, so
/// the next read can wait for it. Not when the engine already reported the peer's FIN or an
/// error: that edge is consumed, and the end of stream is still to be read.
void drained(Socket* s) {
  if (!s->rdhup && !s->hup) s->readable = false;
}

/// What a read that returned no data (@p n <= 0) means for the stream.
enum class ReadEnd {
  Retry,  ///< EINTR: read again
  Stop,   ///< end of stream (receive_closed) or an error (Socket::error): nothing more to read
  Wait,   ///< EAGAIN: readable cleared, wait for the next readiness
};
ReadEnd read_ended(Socket* s, ssize_t n) {
  if (n == 0) {
    s->receive_closed = true;
    return ReadEnd::Stop;
  }
  if (errno == EINTR) return ReadEnd::Retry;
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    s->readable = false;
    return ReadEnd::Wait;
  }
  s->error = status_from_errno(errno);
  return ReadEnd::Stop;
}

/// Reads into @p iov: from the engine's buffers when it moves the stream's data (io_uring),
/// else from the descriptor (one segment: recv, which skips readv's iovec import).
ssize_t stream_read(Socket* s, const iovec* iov, int cnt) {
  if (const StreamEngine* es = engine_streams(s)) return es->readv(s, iov, cnt);
  return cnt == 1 ? ::recv(s->fd, iov[0].iov_base, iov[0].iov_len, 0) : ::readv(s->fd, iov, cnt);
}

Outcome receive_attempt(Socket* s, Request* r) {
  StreamIo* io = op_state<StreamIo>(r);
  const bool drain = (io->flags & kFlagDrain) != 0;
  const bool waitall = (io->flags & kFlagWaitAll) != 0;
  // The kernel may be writing into this request's segment: only tcp_received() (or quiesce,
  // at abort and close) ends that, whatever happened to the connection meanwhile.
  if (s->recv_inflight) return kWait;
  if (s->phase == Phase::Aborted) return finished(Status::ConnectionAborted, 0);
  // Data an event left behind comes first.
  if (s->ind_len > 0) {
    if (drain) {
      s->ind_len = 0;
    } else {
      size_t n = copy_into(io->buf, io->done, s->ind_buf + s->ind_off, s->ind_len);
      io->done += n;
      s->ind_off += n;
      s->ind_len -= n;
      if (n > 0 && (!waitall || io->done == io->buf.length)) {
        return finished(Status::Success, io->done);
      }
    }
  }
  if (!drain && io->buf.length == 0) return finished(Status::Success, 0);
  const StreamEngine* es = engine_streams(s);
  for (;;) {
    // (An engine's receive into this request's segment may have filled it: tcp_received.)
    if (!drain && io->done > 0 && (!waitall || io->done == io->buf.length)) {
      return finished(Status::Success, io->done);
    }
    if (s->receive_closed) return finished(Status::Success, drain ? 0 : io->done);
    if (s->error != Status::Success) {
      if (!drain && io->done > 0) return finished(Status::Success, io->done);
      return finished(s->error, 0);
    }
    if (s->recv_inflight) return kWait;  // tcp_received() runs the queue again
    if (!s->readable && es == nullptr) return kWait;
    static thread_local uint8_t scratch[16 * 1024];
    iovec iov[kMaxIov];
    size_t asked = sizeof(scratch);
    int cnt = 1;
    iov[0] = iovec{scratch, sizeof(scratch)};
    if (!drain) cnt = build_iov(io->buf, io->done, iov, kMaxIov, &asked);
    const ssize_t n = stream_read(s, iov, cnt);
    if (n < 0 && es != nullptr && errno == EAGAIN) {
      // Nothing received yet: the kernel receives straight into the caller's segment when the
      // engine is not receiving into its own buffers (one segment a submission).
      if (!drain && es->receive(s, iov[0].iov_base, iov[0].iov_len)) {
        s->recv_inflight = true;
        return kWait;
      }
    }
    if (n > 0) {
      // (An engine's short copy says nothing of what it holds: it is asked again.)
      if (static_cast<size_t>(n) < asked && es == nullptr) drained(s);
      if (drain) continue;
      io->done += static_cast<size_t>(n);
      if (!waitall || io->done == io->buf.length) return finished(Status::Success, io->done);
      continue;
    }
    // End of stream or an error: the checks at the top of the loop finish the request.
    if (read_ended(s, n) == ReadEnd::Wait) return kWait;
  }
}

// ---- send ---------------------------------------------------------------------------------

void set_nodelay(Socket* s, bool on) {
  int v = on ? 1 : 0;
  if (setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) == 0) s->nodelay_on = on;
}

Status send_run(Request* req);
Status disconnect_run(Request* req);

/// One attempt at the bytes of a send, of connect_ex's data, or of a graceful disconnect's
/// final data followed by its FIN (the three share the send queue, in order). A send with
/// kFlagNoDelay (WSK_FLAG_NODELAY) runs with TCP_NODELAY on: turning it on pushes what is
/// queued and this send's segments go out without waiting for outstanding ACKs. When the send
/// is over, the client's own setting comes back.
Outcome send_attempt(Socket* s, Request* r) {
  StreamIo* io = op_state<StreamIo>(r);
  const bool is_send = r->priv.run == &send_run;
  const bool is_disconnect = r->priv.run == &disconnect_run;
  // The kernel may be reading this request's segment: only tcp_sent() (or quiesce, at abort
  // and close) ends that, whatever happened to the connection meanwhile.
  if (s->send_inflight) return kWait;
  Outcome o = finished(Status::Success, 0);
  if (s->phase == Phase::Aborted) {
    o = finished(Status::ConnectionAborted, 0);
  } else if (s->error != Status::Success) {
    o = finished(s->error, 0);
  } else if (s->send_closed) {
    o = finished(Status::InvalidDeviceState, 0);
  }
  const bool nodelay = is_send && (io->flags & kFlagNoDelay) != 0 && o.status == Status::Success;
  if (nodelay && !s->nodelay_on) set_nodelay(s, true);
  const size_t len = (is_send || io->has_data) ? io->buf.length : 0;
  const StreamEngine* es = engine_streams(s);
  while (o.status == Status::Success && io->done < len) {
    if (s->send_inflight) return kWait;  // tcp_sent() runs the queue again
    iovec iov[kMaxIov];
    size_t bytes = 0;
    int cnt = build_iov(io->buf, io->done, iov, kMaxIov, &bytes);
    // A completion engine sends from the caller's segments, all of them in one submission.
    if (es != nullptr && es->send(s, iov, cnt, kSendFlags)) {
      s->send_inflight = true;
      return kWait;
    }
    if (!s->writable) return kWait;
    ssize_t n;
    if (cnt == 1) {
      // One segment (the common case): send, which skips sendmsg's msghdr and iovec import.
      n = ::send(s->fd, iov[0].iov_base, iov[0].iov_len, kSendFlags);
    } else {
      msghdr m{};
      m.msg_iov = iov;
      m.msg_iovlen = static_cast<size_t>(cnt);
      n = ::sendmsg(s->fd, &m, kSendFlags);
    }
    if (n >= 0) {
      io->done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      s->writable = false;
      return kWait;
    }
    s->error = status_from_errno(errno);
    o = finished(s->error, 0);
    break;
  }
  if (o.status == Status::Success) {
    if (!is_disconnect) {
      o.info = io->done;
    } else if (::shutdown(s->fd, SHUT_WR) != 0) {
      o = finished(status_from_errno(errno), 0);
    } else {
      s->send_closed = true;
    }
  }
  if (nodelay && s->nodelay_on != s->nodelay_client) set_nodelay(s, s->nodelay_client);
  if (event_on(s, kEventSendBacklog)) {
    s->backlog_check = true;  // deliver_backlog() looks at SO_SNDBUF in the next pass
    s->again = true;
  }
  return o;
}

// ---- events -------------------------------------------------------------------------------

/// The disconnect event, once, after every byte was handed over.
void maybe_indicate_disconnect(Socket* s) {
  if (s->disconnect_indicated || !event_on(s, kEventDisconnect)) return;
  const ConnectionDispatch* cd = conn_dispatch(s);
  if (cd == nullptr || cd->disconnect == nullptr) return;
  if (s->ind_len != 0 || s->retained.load(std::memory_order_acquire)) return;
  bool graceful = s->receive_closed;
  bool reset = s->error != Status::Success;
  if (!graceful && !reset && !event_on(s, kEventReceive) && (s->rdhup || s->hup)) {
    // Nobody reads the data: learn how the peer left without consuming it.
    if (s->hup) {
      int err = 0;
      socklen_t len = sizeof(err);
      if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
        s->error = status_from_errno(err);
        reset = true;
      }
    }
    graceful = !reset && s->rdhup;
  }
  if (!graceful && !reset) return;
  s->disconnect_indicated = true;
  cd->disconnect(s->base.context, reset ? kFlagAbortive : 0);
}

/// Reads into the indication buffer and offers the data to the receive event while no
/// receive request is waiting.
void indicate_receives(Socket* s) {
  const ConnectionDispatch* cd = conn_dispatch(s);
  if (cd == nullptr || cd->receive == nullptr) return;
  const StreamEngine* es = engine_streams(s);
  uint32_t full_reads = 0;
  while (s->phase == Phase::Connected && s->recv_q.empty() && event_on(s, kEventReceive) &&
         s->ind_len == 0 && !s->retained.load(std::memory_order_acquire) && !s->receive_closed &&
         s->error == Status::Success && s->readable) {
    ssize_t n;
    bool full = false;
    if (es != nullptr) {
      // The engine received the data into a buffer of its own: indicate that buffer.
      indication_buffer_done(s);  // the one before, consumed: back to the engine
      uint8_t* data = nullptr;
      n = es->take(s, &data);
      if (n > 0) {
        s->ind_buf = data;
        s->ind_engine = true;
      }
    } else {
      if (s->ind_buf == nullptr) {
        s->ind_buf = buffer_get(s->client);
        if (s->ind_buf == nullptr) {
          yield_read(s);  // out of memory: the data waits in the stack; try again next turn
          break;
        }
      }
      n = ::recv(s->fd, s->ind_buf, kIndicationBufferSize, 0);
      full = n == static_cast<ssize_t>(kIndicationBufferSize);
      if (n > 0 && !full) drained(s);
    }
    if (n > 0) {
      size_t len = static_cast<size_t>(n);
      s->ind_seg = Segment{nullptr, s->ind_buf, len, nullptr};
      s->ind = DataIndication{nullptr, Buf{&s->ind_seg, 0, len}};
      size_t accepted = len;
      // The indication counts as retained from before the event runs, so that a release from
      // another thread that comes before this thread is back from the event finds it: the
      // client may hand the list to another thread inside the event, and a client that is
      // itself a provider (umwsk's) releases as soon as its own client did, while its event is
      // still returning Pending here. Not Pending: the hold is taken back (a release already
      // took it if it came first).
      s->retained.store(true, std::memory_order_release);
      detail::g_counters.retained_indications.fetch_add(1, std::memory_order_relaxed);
      s->in_indication = true;
      Status r = cd->receive(s->base.context, 0, &s->ind, len, &accepted);
      s->in_indication = false;
      if (r != Status::Pending && s->retained.exchange(false, std::memory_order_acq_rel)) {
        detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
      }
      if (is_closed(s)) return;
      if (r == Status::Pending) {
        // Kept (or released meanwhile: then the loop goes on with the next data).
      } else if (r == Status::DataNotAccepted) {
        s->ind_off = 0;
        s->ind_len = len;
      } else if (accepted < len) {
        s->ind_off = accepted;
        s->ind_len = len - accepted;
      }
      if (full && ++full_reads == kMaxFullReadsPerTurn) {
        yield_read(s);  // 1 MiB this turn: read the rest in the next one, after the others
        break;
      }
      continue;
    }
    if (read_ended(s, n) != ReadEnd::Retry) break;
  }
}

/// An engine's transfers in flight end before the requests they serve complete (streams and
/// datagram sockets: tcp_cancel_all runs at every close).
void quiesce(Socket* s) {
  if (const StreamEngine* es = engine_streams(s)) {
    es->quiesce(s);
  } else if (const DatagramEngine* de = engine_datagrams(s)) {
    de->quiesce(s);
  }
}

void cancel_queue(ReqQueue* q, Status status) {
  while (Request* r = q->pop())
    complete(r, status, 0);
}

// ---- connect ------------------------------------------------------------------------------

Status socket_connect_run(Request* req);

/// Ends the connect phase of @p r with @p st. Returns the status @p r completed with, or
/// Pending when it goes on (connect_ex data).
Status connect_done(Socket* s, Request* r, Status st) {
  const bool socket_connect = r->priv.run == &socket_connect_run;
  if (st != Status::Success) {
    if (s->phase == Phase::Connecting) set_phase(s, Phase::Bound);  // it may connect again
    // Requests queued behind the connect fail with it.
    cancel_queue(&s->send_q, st);
    cancel_queue(&s->recv_q, st);
    if (socket_connect) {
      // WskSocketConnect: the socket never reached the client; destroy it, then complete.
      socket_destroy(s, false);
    }
    return complete(r, st, 0);
  }
  set_phase(s, Phase::Connected);
  s->writable = true;
  s->hup = false;  // the hang-up an unconnected socket reports is stale now
  s->rdhup = false;
  if (!socket_connect) {
    StreamIo* io = op_state<StreamIo>(r);
    if (io->has_data && io->buf.length > 0) {
      // connect_ex: the data goes out before anything queued after the connect.
      s->send_q.push_front(r);
      s->again = true;
      return Status::Pending;
    }
  }
  s->again = true;  // sends queued while connecting, send backlog event
  uintptr_t info = socket_connect ? reinterpret_cast<uintptr_t>(s) : 0;
  return complete(r, Status::Success, info);
}

/// Starts a nonblocking connect of @p s to @p remote for @p r (already validated). Returns
/// the final status when @p r completed, else Pending.
Status start_connect(Socket* s, Request* r, const SockAddr& remote) {
  sockaddr_storage ss;
  socklen_t len = to_native(remote, &ss);
  for (;;) {
    if (::connect(s->fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
      return connect_done(s, r, Status::Success);
    }
    if (errno == EINTR) continue;
    break;
  }
  if (errno == EINPROGRESS) {
    set_phase(s, Phase::Connecting);
    s->writable = false;
    s->connect_req = r;
    return Status::Pending;
  }
  return connect_done(s, r, status_from_errno(errno));
}

// ---- accept -------------------------------------------------------------------------------

const ListenDispatch* lsn_dispatch(const Socket* s) {
  return detail::listen_dispatch(&s->base);
}

/// The local address of an accepted connection, looked up on first use (getsockname is a
/// system call most accept paths do not need).
const SockAddr* local_of(Socket* conn) {
  if (!conn->local_known) {
    sockaddr_storage la;
    socklen_t ll = sizeof(la);
    if (getsockname(conn->fd, reinterpret_cast<sockaddr*>(&la), &ll) == 0) {
      from_native(reinterpret_cast<sockaddr*>(&la), ll, &conn->local_addr);
    }
    conn->local_known = true;
  }
  return &conn->local_addr;
}

/// Gives @p conn to the client: its context and dispatch, static events.
void hand_over(Socket* conn, void* context, const ConnectionDispatch* dispatch) {
  conn->listener = nullptr;
  conn->pending_inspect = false;
  conn->base.context = context;
  conn->base.dispatch = dispatch;
  apply_static_events(conn);
}

/// A connection the listener @p s may hand out: to the oldest accept request, else to the
/// accept event, else it waits on the ready list (conditional accept only).
void deliver(Socket* s, Socket* conn) {
  if (Request* r = s->recv_q.pop()) {
    AcceptIo* st = op_state<AcceptIo>(r);
    hand_over(conn, st->context, st->dispatch);
    if (st->local != nullptr) *st->local = *local_of(conn);
    if (st->remote != nullptr) *st->remote = conn->remote_addr;
    complete(r, Status::Success, reinterpret_cast<uintptr_t>(conn));
    socket_process(conn);
    return;
  }
  const ListenDispatch* ld = lsn_dispatch(s);
  if (event_on(s, kEventAccept) && ld != nullptr && ld->accept != nullptr) {
    hand_over(conn, nullptr, nullptr);
    void* ctx = nullptr;
    const ConnectionDispatch* cd = nullptr;
    Status r = ld->accept(s->base.context, 0, local_of(conn), &conn->remote_addr, conn, &ctx, &cd);
    if (is_closed(conn)) return;  // the client closed it from the callback
    if (r == Status::Success) {
      conn->base.context = ctx;
      conn->base.dispatch = cd;
      // Static events, plus the connection events enabled on the listener (WSK).
      uint32_t mask = detail::inherited_event_mask(&s->base, &conn->base);
      if (!ensure_event_buffers(conn, mask)) mask &= ~kEventReceive;
      conn->base.event_mask.store(mask, std::memory_order_release);
      socket_process(conn);
    } else {
      socket_destroy(conn, true);
    }
    return;
  }
  conn->listener = s;
  conn->conn_next = nullptr;
  if (s->ready_tail != nullptr) {
    s->ready_tail->conn_next = conn;
  } else {
    s->ready_head = conn;
  }
  s->ready_tail = conn;
}

bool wants_connections(const Socket* s) {
  return !s->recv_q.empty() || event_on(s, kEventAccept) || s->conditional;
}

/// An accept of the listener @p s failed with @p err. Returns true when trying again at once
/// makes sense (a connection that went away meanwhile, a signal).
bool accept_failed(Socket* s, int err) {
  switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
      return true;
    case EAGAIN:
      s->readable = false;
      return false;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      // Out of descriptors or memory: the accept requests stay pending and the connection
      // waits in the listen queue. The listener retries after a bounded backoff, or at once
      // when this client closes a descriptor (starve), instead of spinning or failing.
      starve(s);
      return false;
    default: {
      // Any other error: fail the oldest accept request rather than spin. Edge-triggered,
      // `readable` stays set (no new edge would come for it), so the next accept request
      // retries at once; level-triggered, poll reports the listener again.
      Status st = status_from_errno(err);
      if (engine_level_triggered(s->client)) s->readable = false;
      if (Request* r = s->recv_q.pop()) complete(r, st, 0);
      return false;
    }
  }
}

/// Makes the connection @p fd that the listener @p s accepted at the OS level (peer @p ra) a
/// socket object. Null when out of memory (the connection is reset, the listener starves).
Socket* adopt(Socket* s, int fd, const sockaddr* ra, socklen_t rl) {
  Socket* conn = socket_new(s->client, fd, s->base.family, SocketType::Stream, Protocol::Tcp,
                            kConnectionSocket, nullptr, nullptr);
  if (conn == nullptr) {
    // Out of memory for the socket object: this connection is reset, the rest wait in the
    // listen queue until the backoff runs out (accepting on would reset them all).
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    ::close(fd);
    starve(s);
    return nullptr;
  }
  accept_recovered(s->client);
  set_phase(conn, Phase::Connected);  // accepted: bound and connected at once
  conn->nodelay_client = conn->nodelay_on = s->nodelay_client;  // Linux copies TCP_NODELAY
  conn->writable = true;
  from_native(ra, rl, &conn->remote_addr);
  return conn;
}

/// Accepts one connection at the OS level. Returns null when none (readable cleared) or on a
/// transient error (*retry set).
Socket* accept_one(Socket* s, bool* retry) {
  sockaddr_storage ra;
  socklen_t rl = sizeof(ra);
  int fd = accept_nb(s->fd, reinterpret_cast<sockaddr*>(&ra), &rl);
  if (fd < 0) {
    *retry = accept_failed(s, errno);
    return nullptr;
  }
  *retry = false;
  return adopt(s, fd, reinterpret_cast<sockaddr*>(&ra), rl);
}

void unlink_pended(Socket* s, Socket* conn) {
  for (Socket** link = &s->pended; *link != nullptr; link = &(*link)->conn_next) {
    if (*link == conn) {
      *link = conn->conn_next;
      conn->conn_next = nullptr;
      conn->pending_inspect = false;
      return;
    }
  }
}

/// The connect in progress finished (the socket became writable): complete it.
void finish_connect(Socket* s) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(s->fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) {
      if (errno == ENOTCONN) {
        s->writable = false;  // not yet: wait for the next writability
        return;
      }
      err = errno;
    }
  }
  if (err == EINPROGRESS || err == EALREADY) {
    s->writable = false;
    return;
  }
  Request* r = s->connect_req;
  s->connect_req = nullptr;
  if (r == nullptr) {
    set_phase(s, Phase::Bound);
    return;
  }
  // A reset seen while connecting means the peer refused the connection (a listener that
  // rejected it, possibly after the host completed the handshake): report it as refused.
  Status st = err == 0            ? Status::Success
              : err == ECONNRESET ? Status::ConnectionRefused
                                  : status_from_errno(err);
  connect_done(s, r, st);
}

/// The send backlog event. The ideal backlog reported is the socket's send buffer size
/// (SO_SNDBUF as the host reports it): indicated once the event is on and the socket connected,
/// then again whenever it changed, looked at after a SetOption(SO_SNDBUF) and after each send
/// request completes (the host's autotuning grows it).
void deliver_backlog(Socket* s) {
  if (!event_on(s, kEventSendBacklog)) return;  // (tcp_process saw the socket connected)
  if (s->backlog_indicated && !s->backlog_check) return;
  const ConnectionDispatch* cd = conn_dispatch(s);
  if (cd == nullptr || cd->send_backlog == nullptr) return;
  s->backlog_check = false;
  int sndbuf = 0;
  socklen_t len = sizeof(sndbuf);
  if (getsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0) sndbuf = 0;
  const size_t ideal = static_cast<size_t>(sndbuf > 0 ? sndbuf : 0);
  if (s->backlog_indicated && ideal == s->backlog_last) return;
  s->backlog_indicated = true;
  s->backlog_last = ideal;
  cd->send_backlog(s->base.context, ideal);
}

/// A connection the listener @p s accepted at the OS level: the inspect event decides first
/// (conditional accept), then it goes to a taker (deliver).
void admit(Socket* s, Socket* conn) {
  const ListenDispatch* ld = lsn_dispatch(s);
  if (s->conditional && ld != nullptr && ld->inspect != nullptr) {
    conn->listener = s;
    conn->inspect_id = InspectId{reinterpret_cast<uintptr_t>(conn), ++s->inspect_serial};
    InspectAction a =
        ld->inspect(s->base.context, local_of(conn), &conn->remote_addr, &conn->inspect_id);
    if (is_closed(s)) {
      socket_destroy(conn, true);
      return;
    }
    if (a == InspectAction::Accept) {
      conn->listener = nullptr;
      deliver(s, conn);
    } else if (a == InspectAction::Pend) {
      conn->pending_inspect = true;
      conn->conn_next = s->pended;
      s->pended = conn;
      engine_update(conn->client, conn);  // watch it for the peer going away
    } else {
      socket_destroy(conn, true);
    }
    return;
  }
  deliver(s, conn);
}

}  // namespace

// ---- the stream passes (loop thread) --------------------------------------------------------

void tcp_process(Socket* s) {
  if (s->phase == Phase::Connecting && s->writable) finish_connect(s);
  if (!was_connected(s)) return;
  deliver_backlog(s);
  if (!is_closed(s)) run_queue(s, &s->send_q, send_attempt);
  if (!is_closed(s)) run_queue(s, &s->recv_q, receive_attempt);
  if (is_closed(s)) return;
  if (s->recv_q.empty() && event_on(s, kEventReceive)) indicate_receives(s);
  if (is_closed(s)) return;
  indication_buffer_done(s);  // consumed, released, or never filled: back to the pool
  if (s->recv_q.empty()) maybe_indicate_disconnect(s);
}

void tcp_process_accepts(Socket* s) {
  const ListenDispatch* ld = lsn_dispatch(s);
  // Connections already accepted (conditional accept) go first.
  while (!is_closed(s) && s->ready_head != nullptr &&
         (!s->recv_q.empty() ||
          (event_on(s, kEventAccept) && ld != nullptr && ld->accept != nullptr))) {
    Socket* conn = s->ready_head;
    s->ready_head = conn->conn_next;
    if (s->ready_head == nullptr) s->ready_tail = nullptr;
    conn->conn_next = nullptr;
    deliver(s, conn);
  }
  while (!is_closed(s) && s->readable && tcp_wants_connections(s)) {
    bool retry = false;
    Socket* conn = accept_one(s, &retry);
    if (conn == nullptr) {
      if (retry) continue;
      break;
    }
    admit(s, conn);
  }
}

void tcp_accepted(Socket* s, int fd, const sockaddr* ra, socklen_t rl) {
  if (is_closed(s)) {
    ::close(fd);
    return;
  }
  socket_enter(s);
  if (Socket* conn = adopt(s, fd, ra, rl)) admit(s, conn);
  socket_leave(s);
}

bool tcp_accept_failed(Socket* s, int err) {
  return accept_failed(s, err);
}

bool tcp_wants_connections(const Socket* s) {
  // With conditional accept, the backlog stays in the kernel while accepted connections wait
  // for a taker (see tcp_process_accepts).
  return wants_connections(s) && !(s->conditional && s->ready_head != nullptr &&
                                   s->recv_q.empty() && !event_on(s, kEventAccept));
}

void tcp_process_pended(Socket* conn) {
  if (!conn->pending_inspect || !(conn->rdhup || conn->hup)) return;
  Socket* s = conn->listener;
  unlink_pended(s, conn);
  InspectId id = conn->inspect_id;
  socket_destroy(conn, true);
  const ListenDispatch* ld = lsn_dispatch(s);
  if (ld != nullptr && ld->abort != nullptr) ld->abort(s->base.context, &id);
}

void tcp_cancel_all(Socket* s, Status status) {
  quiesce(s);
  if (Request* r = s->connect_req) {
    s->connect_req = nullptr;  // the socket is Closing: its phase says the rest
    complete(r, status, 0);
  }
  cancel_queue(&s->recv_q, status);
  cancel_queue(&s->send_q, status);
  while (Socket* conn = s->ready_head) {
    s->ready_head = conn->conn_next;
    socket_destroy(conn, true);
  }
  s->ready_tail = nullptr;
  while (Socket* conn = s->pended) {
    s->pended = conn->conn_next;
    socket_destroy(conn, true);
  }
}

void tcp_sent(Socket* s, ssize_t res) {
  if (!s->send_inflight) return;  // quiesced: its request completed already
  s->send_inflight = false;
  if (is_closed(s)) return;
  if (res >= 0) {
    if (Request* r = s->send_q.head) op_state<StreamIo>(r)->done += static_cast<size_t>(res);
  } else if (res != -EAGAIN && res != -EINTR && s->error == Status::Success) {
    s->error = status_from_errno(static_cast<int>(-res));
  }
  socket_process(s);  // the send goes on, or completes
}

void tcp_received(Socket* s, ssize_t res) {
  if (!s->recv_inflight) return;  // quiesced: its request completed already
  s->recv_inflight = false;
  if (is_closed(s)) return;
  if (res > 0) {
    if (Request* r = s->recv_q.head) op_state<StreamIo>(r)->done += static_cast<size_t>(res);
  } else if (res == 0) {
    s->receive_closed = true;
  } else if (res != -EAGAIN && res != -EINTR && s->error == Status::Success) {
    s->error = status_from_errno(static_cast<int>(-res));
  }
  socket_process(s);  // the receive completes, or goes on (kFlagWaitAll)
}

void tcp_reclaim(Socket* s) {
  if (s->retained.exchange(false, std::memory_order_acq_rel)) {
    detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
  }
  s->ind_len = 0;
}

// ---- operations (run functions, loop thread) ------------------------------------------------

namespace {

Status accept_run(Request* req) {
  Socket* s = req->priv.socket;
  if (s->busy != 0) return enqueue(s, &s->recv_q, req);
  socket_enter(s);
  s->recv_q.push(req);
  s->again = true;  // the pass below hands out a waiting connection or accepts one
  socket_leave(s);
  return Status::Pending;
}

/// connect and connect_ex (connect_ex's data then goes out as the first send).
Status connect_run(Request* req) {
  Socket* s = req->priv.socket;
  // Bound only: not connected, connecting or listening, and bound first (as in WSK).
  if (s->phase != Phase::Bound || s->base.listening) {
    return complete(req, Status::InvalidDeviceState, 0);
  }
  socket_enter(s);
  Status r = start_connect(s, req, op_state<StreamIo>(req)->addr);
  socket_leave(s);
  return r;
}

Status send_run(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase == Phase::Connecting) return enqueue(s, &s->send_q, req);
  if (!was_connected(s)) return complete(req, Status::InvalidDeviceState, 0);
  return run_or_queue(s, &s->send_q, req, send_attempt);
}

Status receive_run(Request* req) {
  Socket* s = req->priv.socket;
  // Inside the receive event, a receive must not overtake the data being indicated (which
  // may stay with the socket if the event does not accept it).
  if (s->phase == Phase::Connecting || s->in_indication) {
    if (s->phase == Phase::Connecting || was_connected(s)) return enqueue(s, &s->recv_q, req);
  }
  if (!was_connected(s)) return complete(req, Status::InvalidDeviceState, 0);
  return run_or_queue(s, &s->recv_q, req, receive_attempt);
}

Status disconnect_run(Request* req) {
  Socket* s = req->priv.socket;
  StreamIo* io = op_state<StreamIo>(req);
  if (s->phase != Phase::Connected) return complete(req, Status::InvalidDeviceState, 0);
  if ((io->flags & kFlagAbortive) == 0) {
    if (s->send_closed) return complete(req, Status::Success, 0);
    return run_or_queue(s, &s->send_q, req, send_attempt);
  }
  // Abortive: RST now. connect(AF_UNSPEC) resets a TCP connection and keeps the fd.
  socket_enter(s);
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  if (::connect(s->fd, &unspec, sizeof(unspec)) != 0) {
    // Fallback: close abortively and keep the descriptor number with a fresh socket.
    int fresh = socket_nb(native_family(s->base.family), SOCK_STREAM, 0);
    linger l{1, 0};
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    engine_remove(s->client, s);
    if (fresh >= 0) {
      dup_cloexec(fresh, s->fd);
      ::close(fresh);
    } else {
      ::shutdown(s->fd, SHUT_RDWR);
    }
    engine_add(s->client, s);
  }
  set_phase(s, Phase::Aborted);
  quiesce(s);
  cancel_queue(&s->send_q, Status::ConnectionAborted);
  cancel_queue(&s->recv_q, Status::ConnectionAborted);
  Status r = complete(req, Status::Success, 0);
  socket_leave(s);
  return r;
}

Status inspect_complete_run(Request* req) {
  Socket* s = req->priv.socket;
  AddressIo* io = op_state<AddressIo>(req);
  Socket* found = nullptr;
  for (Socket* c = s->pended; c != nullptr; c = c->conn_next) {
    if (reinterpret_cast<uintptr_t>(c) == io->inspect_id.key &&
        c->inspect_id.serial_number == io->inspect_id.serial_number) {
      found = c;
      break;
    }
  }
  if (found == nullptr) return complete(req, Status::InvalidParameter, 0);
  socket_enter(s);
  unlink_pended(s, found);
  if (io->action == InspectAction::Accept) {
    found->listener = nullptr;
    deliver(s, found);
  } else {
    socket_destroy(found, true);
  }
  Status r = complete(req, Status::Success, 0);
  socket_leave(s);
  return r;
}

Status socket_connect_run(Request* req) {
  SocketIo* io = op_state<SocketIo>(req);
  AddressFamily family = io->local.af();
  int fd = -1;
  Status st = create_fd(family, SocketType::Stream, Protocol::Tcp, &fd);
  if (st != Status::Success) return complete(req, st, 0);
  sockaddr_storage ls;
  socklen_t ll = to_native(io->local, &ls);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ls), ll) != 0) {
    Status e = status_from_errno(errno);
    ::close(fd);
    return complete(req, e, 0);
  }
  Socket* s = socket_new(io->client, fd, family, SocketType::Stream, Protocol::Tcp,
                         kConnectionSocket, io->context, io->dispatch);
  if (s == nullptr) {
    ::close(fd);
    return complete(req, Status::InsufficientResources, 0);
  }
  set_phase(s, Phase::Bound);
  SockAddr remote = io->remote;
  socket_enter(s);
  Status r = start_connect(s, req, remote);
  socket_leave(s);
  return r;
}

}  // namespace
}  // namespace xwsk::posix

// ---- entry points (any thread) --------------------------------------------------------------

namespace xwsk::backend {

using namespace posix;

namespace {
void stream_io(Request* req, const Buf* buf, uint32_t flags) {
  StreamIo* io = detail::op_state<StreamIo>(req);
  io->buf = buf != nullptr ? *buf : Buf{nullptr, 0, 0};
  io->has_data = buf != nullptr;
  io->done = 0;
  io->flags = flags;
}
}  // namespace

Status accept(Socket* s, uint32_t flags, void* accept_socket_context,
              const ConnectionDispatch* dispatch, SockAddr* local, SockAddr* remote, Request* req) {
  (void)flags;
  *detail::op_state<AcceptIo>(req) = AcceptIo{accept_socket_context, dispatch, local, remote};
  return submit(s->client, req, &accept_run);
}

Status connect(Socket* s, const SockAddr* remote, uint32_t flags, Request* req) {
  stream_io(req, nullptr, flags);
  detail::op_state<StreamIo>(req)->addr = *remote;
  return submit(s->client, req, &connect_run);
}

Status connect_ex(Socket* s, const SockAddr* remote, const Buf* data, uint32_t flags,
                  Request* req) {
  stream_io(req, data, flags);
  detail::op_state<StreamIo>(req)->addr = *remote;
  return submit(s->client, req, &connect_run);
}

Status send(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  stream_io(req, buf, flags);
  return submit(s->client, req, &send_run);
}

Status receive(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  stream_io(req, buf, flags);
  return submit(s->client, req, &receive_run);
}

Status disconnect(Socket* s, const Buf* final_data, uint32_t flags, Request* req) {
  stream_io(req, final_data, flags);
  return submit(s->client, req, &disconnect_run);
}

Status socket_connect(Client* client, SocketType type, Protocol protocol, const SockAddr* local,
                      const SockAddr* remote, uint32_t flags, void* socket_context,
                      const ConnectionDispatch* dispatch, Request* req) {
  (void)type;
  (void)protocol;
  (void)flags;
  *detail::op_state<SocketIo>(req) = SocketIo{client,
                                              local->af(),
                                              SocketType::Stream,
                                              Protocol::Tcp,
                                              kConnectionSocket,
                                              socket_context,
                                              dispatch,
                                              *local,
                                              *remote};
  return submit(client, req, &socket_connect_run);
}

Status inspect_complete(Socket* s, const InspectId* inspect_id, InspectAction action,
                        Request* req) {
  AddressIo* io = detail::op_state<AddressIo>(req);
  io->inspect_id = *inspect_id;
  io->action = action;
  return submit(s->client, req, &inspect_complete_run);
}

Status release_data_indications(Socket* s, DataIndication* list) {
  // One indication per socket is ever outstanding: the socket's own. It is marked retained from
  // before its event runs (indicate_receives), so a release that overtakes the event's return
  // is not lost.
  (void)list;
  if (s->retained.exchange(false, std::memory_order_acq_rel)) {
    detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
    kick(s);
  }
  return Status::Success;
}

}  // namespace xwsk::backend
