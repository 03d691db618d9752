// SPDX-License-Identifier: MIT
/// @file socket.cpp
/// @brief Socket objects and the lifecycle state machine shared by every category: creation,
/// bind, listen, address queries, event enabling, close, and the dispatch pass that runs a
/// socket's queues when the engine reports it ready.
///
/// ## The lifecycle (Socket::phase; set_phase() makes every transition)
///
/// | from               | event                                                  | to         |
/// |--------------------|--------------------------------------------------------|------------|
/// | (none)             | socket(), socket_connect(), accept at the OS level     | Open       |
/// | Open               | bind succeeds (socket_connect binds at once)           | Bound      |
/// | Open               | accepted connection (accept_one)                       | Connected  |
/// | Bound              | listen(), or bind of a listen-category socket          | Listening  |
/// | Bound              | connect in progress (EINPROGRESS)                      | Connecting |
/// | Bound              | connect done at once                                   | Connected  |
/// | Connecting         | connect done (writable, SO_ERROR 0)                    | Connected  |
/// | Connecting         | connect failed (the socket may connect again)          | Bound      |
/// | Connected          | abortive disconnect (RST sent)                         | Aborted    |
/// | not Closing/Closed | close(): pending requests are cancelled                | Closing    |
/// | Closing            | close(): descriptor closed                             | Closed     |
/// | not Closed         | socket_destroy (not handed out; socket_connect failed) | Closed     |
///
/// A Connected stream also closes each direction on its own, without a phase of its own:
/// `send_closed` once a graceful disconnect sent our FIN, `receive_closed` once the peer's FIN
/// was read. A Closed socket's memory is freed at the end of the loop iteration (bury).
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <cassert>
#include <new>

#include "backend.h"

namespace xwsk::posix {

using detail::complete;
using detail::op_state;

// ---- the lifecycle ------------------------------------------------------------------------

namespace {

constexpr uint32_t bit(Phase p) {
  return 1u << static_cast<uint32_t>(p);
}

/// The phases each phase may move to (the table above).
constexpr uint32_t kLegal[] = {
    /* Open       */ bit(Phase::Bound) | bit(Phase::Connected) | bit(Phase::Closing) |
        bit(Phase::Closed),
    /* Bound      */ bit(Phase::Listening) | bit(Phase::Connecting) | bit(Phase::Connected) |
        bit(Phase::Closing) | bit(Phase::Closed),
    /* Listening  */ bit(Phase::Closing) | bit(Phase::Closed),
    /* Connecting */ bit(Phase::Bound) | bit(Phase::Connected) | bit(Phase::Closing) |
        bit(Phase::Closed),
    /* Connected  */ bit(Phase::Aborted) | bit(Phase::Closing) | bit(Phase::Closed),
    /* Aborted    */ bit(Phase::Closing) | bit(Phase::Closed),
    /* Closing    */ bit(Phase::Closed),
    /* Closed     */ 0,
};
static_assert(sizeof(kLegal) / sizeof(kLegal[0]) == static_cast<size_t>(Phase::Closed) + 1,
              "one row per phase");

}  // namespace

void set_phase(Socket* s, Phase to) {
  assert((kLegal[static_cast<uint32_t>(s->phase)] & bit(to)) != 0 &&
         "illegal lifecycle transition");
  s->phase = to;
}

Status create_fd(AddressFamily family, SocketType type, Protocol protocol, int* out) {
  int native_type = type == SocketType::Stream     ? SOCK_STREAM
                    : type == SocketType::Datagram ? SOCK_DGRAM
                                                   : SOCK_RAW;
  int fd = socket_nb(native_family(family), native_type, static_cast<int>(protocol));
  if (fd < 0) return status_from_errno(errno);
  if (family == AddressFamily::Inet6) {
    int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  *out = fd;
  return Status::Success;
}

namespace {

bool is_stream_connection(const Socket* s) {
  return s->base.type == SocketType::Stream &&
         (s->base.category == kConnectionSocket || s->base.category == kStreamSocket) &&
         !s->base.listening;
}

bool is_datagram(const Socket* s) {
  return s->base.category == kDatagramSocket;
}

/// One pass of the state machine over every queue of @p s.
void process_once(Socket* s) {
  if (s->listener != nullptr) {
    tcp_process_pended(s);
  } else if (is_datagram(s)) {
    udp_process(s);
  } else if (s->base.listening) {
    tcp_process_accepts(s);
  } else if (is_stream_connection(s)) {
    tcp_process(s);
  }
}

}  // namespace

// ---- object lifetime ----------------------------------------------------------------------

Socket* socket_new(Client* c, int fd, AddressFamily family, SocketType type, Protocol protocol,
                   uint32_t category, void* context, const void* dispatch) {
  // A closed socket from the client's cache (loop thread only), else a new one.
  void* mem = c->socket_cache.take();
  if (mem == nullptr) {
    mem = detail::alloc(sizeof(Socket), detail::kTagSocket);
    if (mem == nullptr) return nullptr;
  }
  memset(mem, 0, sizeof(Socket));
  Socket* s = new (mem) Socket;
  s->client = c;
  s->fd = fd;
  s->error = Status::Success;
  s->engine_index = -1;
  s->writable = type != SocketType::Stream;  // datagrams: optimistic (sendmsg tells otherwise)
  detail::init_socket_base(&s->base, c, family, type, protocol, category, context, dispatch);
  if (!ensure_event_buffers(s, s->base.event_mask.load(std::memory_order_acquire)) ||
      engine_add(c, s) != Status::Success) {
    if (s->ind_buf != nullptr) detail::release(s->ind_buf, detail::kTagBuffer);
    udp_free_slots(s);
    detail::fini_socket_base(&s->base);
    s->~Socket();
    detail::release(s, detail::kTagSocket);
    return nullptr;
  }
  return s;
}

namespace {

/// Takes a closing socket off every list, closes its descriptor (resetting the connection when
/// @p abortive) and hands back the indications it still holds.
void release_fd(Socket* s, bool abortive) {
  unyield(s);
  unstarve(s);
  engine_remove(s->client, s);
  if (abortive) {
    linger l{1, 0};
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  ::close(s->fd);
  s->fd = -1;
  fd_released(s->client);
  tcp_reclaim(s);
  udp_reclaim(s);
}

}  // namespace

void socket_destroy(Socket* s, bool abortive) {
  if (s->phase == Phase::Closed) return;
  set_phase(s, Phase::Closed);
  release_fd(s, abortive);
  bury(s);
}

bool ensure_event_buffers(Socket* s, uint32_t mask) {
  // The receive event needs nothing here: stream sockets borrow an indication buffer from the
  // client's pool on the loop thread, only while they read or the client holds the data.
  if ((mask & kEventReceiveFrom) != 0) return udp_alloc_slots(s);
  return true;
}

void apply_static_events(Socket* s) {
  uint32_t enabled = detail::static_event_mask(&s->base);
  if (!ensure_event_buffers(s, enabled)) enabled &= ~kEventReceive;
  s->base.event_mask.store(enabled, std::memory_order_release);
}

// ---- dispatch -----------------------------------------------------------------------------

void socket_leave(Socket* s) {
  if (--s->busy != 0 || is_closed(s)) return;
  if (s->again) {
    socket_process(s);
  } else {
    engine_update(s->client, s);
  }
}

Status enqueue(Socket* s, ReqQueue* q, Request* req) {
  q->push(req);
  if (s->busy != 0) {
    s->again = true;
  } else {
    engine_update(s->client, s);
  }
  return Status::Pending;
}

void socket_process(Socket* s) {
  if (is_closed(s)) return;
  if (s->busy != 0) {
    s->again = true;
    return;
  }
  ++s->busy;
  do {
    s->again = false;
    process_once(s);
  } while (s->again && !is_closed(s));
  --s->busy;
  if (!is_closed(s)) engine_update(s->client, s);
}

void socket_ready(Socket* s, uint32_t flags) {
  if (is_closed(s)) return;
  if ((flags & kReadyRead) != 0) s->readable = true;
  if ((flags & kReadyWrite) != 0) s->writable = true;
  if ((flags & kReadyRdHup) != 0) {
    s->rdhup = true;
    s->readable = true;
  }
  if ((flags & kReadyError) != 0) {
    s->hup = true;
    s->readable = true;
    s->writable = true;
  }
  socket_process(s);
}

uint32_t socket_interest(const Socket* s) {
  if (is_closed(s)) return 0;
  bool want_read = false;
  bool want_write = false;
  const uint32_t mask = s->base.event_mask.load(std::memory_order_acquire);
  if (s->listener != nullptr) {
    want_read = s->pending_inspect && !s->rdhup && !s->hup;
  } else if (is_datagram(s)) {
    want_read = !s->recv_q.empty() || ((mask & kEventReceiveFrom) != 0 &&
                                       s->dgram_retained.load(std::memory_order_acquire) == 0);
    want_write = !s->send_q.empty();
  } else if (s->base.listening) {
    // A starved listener (out of descriptors) is not polled: it waits for its retry.
    want_read = !s->starved && (!s->recv_q.empty() || (mask & kEventAccept) != 0 || s->conditional);
  } else if (s->phase == Phase::Connecting) {
    want_write = true;
  } else if (s->phase == Phase::Connected) {
    bool alive = !s->receive_closed && s->error == Status::Success;
    want_read =
        alive && (!s->recv_q.empty() ||
                  ((mask & kEventReceive) != 0 && !s->retained.load(std::memory_order_acquire) &&
                   s->ind_len == 0) ||
                  ((mask & kEventDisconnect) != 0 && !s->disconnect_indicated && !s->rdhup));
    want_write = !s->send_q.empty();
  }
  uint32_t m = 0;
  // The disconnect event without a reader: watch for the peer's FIN alone (level-triggered
  // engines), even while unread data keeps the socket readable.
  if (s->phase == Phase::Connected && !s->rdhup && !s->hup && s->listener == nullptr &&
      (mask & kEventDisconnect) != 0 && !s->disconnect_indicated) {
    m |= kReadyRdHup;
  }
  if (want_read && !s->readable) m |= kReadyRead;
  if (want_write && !s->writable) m |= kReadyWrite;
  return m;
}

// ---- operations (run functions, loop thread) ------------------------------------------------

namespace {

Status socket_run(Request* req) {
  SocketIo* io = op_state<SocketIo>(req);
  int fd = -1;
  Status r = create_fd(io->family, io->type, io->protocol, &fd);
  if (r != Status::Success) return complete(req, r, 0);
  Socket* s = socket_new(io->client, fd, io->family, io->type, io->protocol, io->category,
                         io->context, io->dispatch);
  if (s == nullptr) {
    ::close(fd);
    return complete(req, Status::InsufficientResources, 0);
  }
  return complete(req, Status::Success, reinterpret_cast<uintptr_t>(s));
}

Status bind_run(Request* req) {
  Socket* s = req->priv.socket;
  AddressIo* io = op_state<AddressIo>(req);
  if (s->phase != Phase::Open) return complete(req, Status::InvalidDeviceState, 0);
  sockaddr_storage ss;
  socklen_t len = to_native(io->addr, &ss);
  if (::bind(s->fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return complete(req, status_from_errno(errno), 0);
  }
  set_phase(s, Phase::Bound);
  if (s->base.category == kListenSocket) {
    // WSK: binding a listen socket also starts listening.
    if (::listen(s->fd, SOMAXCONN) != 0) return complete(req, status_from_errno(errno), 0);
    set_phase(s, Phase::Listening);
    socket_process(s);  // accept events may already be enabled
  }
  return complete(req, Status::Success, 0);
}

Status listen_run(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Bound && s->phase != Phase::Listening) {
    return complete(req, Status::InvalidDeviceState, 0);
  }
  if (::listen(s->fd, SOMAXCONN) != 0) return complete(req, status_from_errno(errno), 0);
  if (s->phase == Phase::Bound) set_phase(s, Phase::Listening);
  s->base.listening = true;
  socket_process(s);
  return complete(req, Status::Success, 0);
}

/// getsockname / getpeername into the caller's SockAddr.
Status address_query(Request* req, bool local) {
  Socket* s = req->priv.socket;
  AddressIo* io = op_state<AddressIo>(req);
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  int rc = local ? getsockname(s->fd, reinterpret_cast<sockaddr*>(&ss), &len)
                 : getpeername(s->fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) {
    Status e = !local && errno == ENOTCONN ? Status::InvalidDeviceState : status_from_errno(errno);
    return complete(req, e, 0);
  }
  if (!from_native(reinterpret_cast<sockaddr*>(&ss), len, io->out)) {
    return complete(req, Status::InvalidDeviceState, 0);
  }
  return complete(req, Status::Success, 0);
}

Status local_address_run(Request* req) {
  if (req->priv.socket->phase == Phase::Open) return complete(req, Status::InvalidDeviceState, 0);
  return address_query(req, true);
}

Status remote_address_run(Request* req) {
  if (req->priv.socket->phase != Phase::Connected) {
    return complete(req, Status::InvalidDeviceState, 0);
  }
  return address_query(req, false);
}

Status close_run(Request* req) {
  Socket* s = req->priv.socket;
  // WSK resets a connection that was not disconnected when its socket is closed.
  const bool abortive =
      s->base.type == SocketType::Stream && s->phase == Phase::Connected && !s->send_closed;
  set_phase(s, Phase::Closing);  // stops any dispatch pass running below us
  tcp_cancel_all(s, Status::Cancelled);
  release_fd(s, abortive);
  set_phase(s, Phase::Closed);
  Status r = complete(req, Status::Success, 0);
  bury(s);  // freed at the end of the loop iteration, after every routine returned
  return r;
}

}  // namespace
}  // namespace xwsk::posix

// ---- entry points (any thread) --------------------------------------------------------------

namespace xwsk::backend {

using namespace posix;

Status socket(Client* client, AddressFamily family, SocketType type, Protocol protocol,
              uint32_t category, void* socket_context, const void* dispatch, Request* req) {
  *detail::op_state<SocketIo>(req) =
      SocketIo{client, family, type, protocol, category, socket_context, dispatch, {}, {}};
  return submit(client, req, &socket_run);
}

Status bind(Socket* s, const SockAddr* local, uint32_t flags, Request* req) {
  (void)flags;
  detail::op_state<AddressIo>(req)->addr = *local;
  return submit(s->client, req, &bind_run);
}

Status listen(Socket* s, Request* req) {
  return submit(s->client, req, &listen_run);
}

Status get_local_address(Socket* s, SockAddr* local, Request* req) {
  detail::op_state<AddressIo>(req)->out = local;
  return submit(s->client, req, &local_address_run);
}

Status get_remote_address(Socket* s, SockAddr* remote, Request* req) {
  detail::op_state<AddressIo>(req)->out = remote;
  return submit(s->client, req, &remote_address_run);
}

Status set_event_mask(Socket* s, uint32_t old_mask, uint32_t new_mask) {
  (void)old_mask;
  // Buffers are allocated before the bits that use them become visible to the loop.
  if (!ensure_event_buffers(s, new_mask)) return Status::InsufficientResources;
  s->base.event_mask.store(new_mask, std::memory_order_release);
  kick(s);  // start (or stop) reading on the loop; deliver the send backlog event
  return Status::Success;
}

Status close_socket(Socket* s, Request* req) {
  return submit(s->client, req, &close_run);
}

}  // namespace xwsk::backend
