// SPDX-License-Identifier: MIT
/// @file socket.cpp
/// @brief Socket objects and the per-socket state machine shared by every category: creation,
/// bind, listen, address queries, options, event enabling, close.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <new>

#include "backend.h"

namespace xwsk {
namespace posix {

using detail::complete;
using detail::op_state;

// ---- helpers ------------------------------------------------------------------------------

int build_iov(const Buf& buf, size_t skip, iovec* iov, int max, size_t* bytes) {
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

namespace {

/// Creates a nonblocking, close-on-exec fd; IPv6 sockets are v6-only (the Windows default).
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
    return;
  }
  if (is_datagram(s)) {
    udp_process_sends(s);
    if (!s->closed) udp_process_receives(s);
    return;
  }
  if (s->base.listening) {
    tcp_process_accepts(s);
    return;
  }
  if (s->connecting && s->writable) tcp_finish_connect(s);
  if (s->closed || !is_stream_connection(s) || !s->connected) return;
  tcp_deliver_backlog(s);
  if (!s->closed) tcp_process_sends(s);
  if (!s->closed) tcp_process_receives(s);
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

void socket_destroy(Socket* s, bool abortive) {
  if (s->closed) return;
  s->closed = true;
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

void socket_enter(Socket* s) {
  ++s->busy;
}

void socket_leave(Socket* s) {
  if (--s->busy != 0 || s->closed) return;
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
  if (s->closed) return;
  if (s->busy != 0) {
    s->again = true;
    return;
  }
  ++s->busy;
  do {
    s->again = false;
    process_once(s);
  } while (s->again && !s->closed);
  --s->busy;
  if (!s->closed) engine_update(s->client, s);
}

void socket_ready(Socket* s, uint32_t flags) {
  if (s->closed) return;
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
  if (s->closed) return 0;
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
  } else if (s->connecting) {
    want_write = true;
  } else if (s->connected && !s->aborted) {
    bool alive = !s->eof && s->error == Status::Success;
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
  if (s->connected && !s->aborted && !s->rdhup && !s->hup && s->listener == nullptr &&
      (mask & kEventDisconnect) != 0 && !s->disconnect_indicated) {
    m |= kReadyRdHup;
  }
  if (want_read && !s->readable) m |= kReadyRead;
  if (want_write && !s->writable) m |= kReadyWrite;
  return m;
}

// ---- client-level: socket creation --------------------------------------------------------

Status op_socket(Request* req) {
  SocketState* st = op_state<SocketState>(req);
  int fd = -1;
  Status r = create_fd(st->family, st->type, st->protocol, &fd);
  if (r != Status::Success) return complete(req, r, 0);
  Socket* s = socket_new(st->client, fd, st->family, st->type, st->protocol, st->category,
                         st->context, st->dispatch);
  if (s == nullptr) {
    ::close(fd);
    return complete(req, Status::InsufficientResources, 0);
  }
  return complete(req, Status::Success, reinterpret_cast<uintptr_t>(s));
}

// ---- bind / listen ------------------------------------------------------------------------

Status op_bind(Socket* s, Request* req) {
  SimpleState* st = op_state<SimpleState>(req);
  if (s->bound) return complete(req, Status::InvalidDeviceState, 0);
  sockaddr_storage ss;
  socklen_t len = to_native(st->addr, &ss);
  if (::bind(s->fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return complete(req, status_from_errno(errno), 0);
  }
  s->bound = true;
  if (s->base.category == kListenSocket) {
    // WSK: binding a listen socket also starts listening.
    if (::listen(s->fd, SOMAXCONN) != 0) return complete(req, status_from_errno(errno), 0);
    socket_process(s);  // accept events may already be enabled
  }
  return complete(req, Status::Success, 0);
}

Status op_listen(Socket* s, Request* req) {
  if (!s->bound || s->connected || s->connecting) {
    return complete(req, Status::InvalidDeviceState, 0);
  }
  if (::listen(s->fd, SOMAXCONN) != 0) return complete(req, status_from_errno(errno), 0);
  s->base.listening = true;
  socket_process(s);
  return complete(req, Status::Success, 0);
}

// ---- addresses ----------------------------------------------------------------------------

Status op_local_address(Socket* s, Request* req) {
  SimpleState* st = op_state<SimpleState>(req);
  if (!s->bound) return complete(req, Status::InvalidDeviceState, 0);
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(s->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return complete(req, status_from_errno(errno), 0);
  }
  if (!from_native(reinterpret_cast<sockaddr*>(&ss), len, st->out)) {
    return complete(req, Status::InvalidDeviceState, 0);
  }
  return complete(req, Status::Success, 0);
}

Status op_remote_address(Socket* s, Request* req) {
  SimpleState* st = op_state<SimpleState>(req);
  if (!s->connected || s->aborted) return complete(req, Status::InvalidDeviceState, 0);
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getpeername(s->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    Status e = errno == ENOTCONN ? Status::InvalidDeviceState : status_from_errno(errno);
    return complete(req, e, 0);
  }
  if (!from_native(reinterpret_cast<sockaddr*>(&ss), len, st->out)) {
    return complete(req, Status::InvalidDeviceState, 0);
  }
  return complete(req, Status::Success, 0);
}

// ---- options and ioctls -------------------------------------------------------------------

namespace {

/// Maps (level, name) of a plain ULONG option to the native pair. False when not one.
bool native_ulong_option(uint32_t level, uint32_t code, int* nlevel, int* nname) {
  if (level == kSolSocket) {
    *nlevel = SOL_SOCKET;
    switch (code) {
      case kSoReuseAddr:
        *nname = SO_REUSEADDR;
        return true;
      case kSoKeepAlive:
        *nname = SO_KEEPALIVE;
        return true;
      case kSoBroadcast:
        *nname = SO_BROADCAST;
        return true;
      case kSoSndBuf:
        *nname = SO_SNDBUF;
        return true;
      case kSoRcvBuf:
        *nname = SO_RCVBUF;
        return true;
      default:
        return false;
    }
  }
  if (level == kIpProtoTcp && code == kTcpNoDelay) {
    *nlevel = IPPROTO_TCP;
    *nname = TCP_NODELAY;
    return true;
  }
  if (level == kIpProtoIpv6 && code == kIpv6V6Only) {
    *nlevel = IPPROTO_IPV6;
    *nname = IPV6_V6ONLY;
    return true;
  }
  if (level == kIpProtoIp && code == kIpTtl) {
    *nlevel = IPPROTO_IP;
    *nname = IP_TTL;
    return true;
  }
  return false;
}

struct ControlResult {
  Status status;
  size_t written;
};

ControlResult put_ulong(const ControlState* st, uint32_t v) {
  if (st->output == nullptr || st->output_size < sizeof(uint32_t)) {
    return {Status::BufferTooSmall, 0};
  }
  memcpy(st->output, &v, sizeof(v));
  return {Status::Success, sizeof(v)};
}

bool get_ulong_input(const ControlState* st, uint32_t* v) {
  if (st->input == nullptr || st->input_size < sizeof(uint32_t)) return false;
  memcpy(v, st->input, sizeof(*v));
  return true;
}

ControlResult set_option(Socket* s, const ControlState* st) {
  int nlevel = 0;
  int nname = 0;
  uint32_t v = 0;
  if (st->level == kSolSocket && st->code == kSoLinger) {
    if (st->input == nullptr || st->input_size < sizeof(Linger)) {
      return {Status::InvalidParameter, 0};
    }
    Linger l;
    memcpy(&l, st->input, sizeof(l));
    linger nl{l.onoff != 0 ? 1 : 0, static_cast<int>(l.linger_seconds)};
    if (setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &nl, sizeof(nl)) != 0) {
      return {status_from_errno(errno), 0};
    }
    return {Status::Success, 0};
  }
  if (st->level == kSolSocket && st->code == kSoExclusiveAddrUse) {
    if (!get_ulong_input(st, &v)) return {Status::InvalidParameter, 0};
    if (s->bound) return {Status::InvalidDeviceState, 0};
    int reuse = 0;
    if (v != 0 && setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse)) != 0) {
      return {status_from_errno(errno), 0};
    }
    s->exclusive_addr = v != 0;
    return {Status::Success, 0};
  }
  if (st->level == kSolSocket && st->code == kSoConditionalAccept) {
    if (!get_ulong_input(st, &v)) return {Status::InvalidParameter, 0};
    if (s->base.category != kListenSocket && s->base.category != kStreamSocket) {
      return {Status::InvalidParameter, 0};
    }
    s->conditional = v != 0;
    return {Status::Success, 0};
  }
  if (st->level == kSolSocket && st->code == kSoType) return {Status::InvalidParameter, 0};
  if (!native_ulong_option(st->level, st->code, &nlevel, &nname)) {
    return {Status::NotSupported, 0};
  }
  if (!get_ulong_input(st, &v)) return {Status::InvalidParameter, 0};
  if (nlevel == IPPROTO_IPV6 && s->base.family != AddressFamily::Inet6) {
    return {Status::InvalidParameter, 0};
  }
  int iv = static_cast<int>(v);
  if (setsockopt(s->fd, nlevel, nname, &iv, sizeof(iv)) != 0) {
    return {status_from_errno(errno), 0};
  }
  if (nlevel == IPPROTO_TCP && nname == TCP_NODELAY) {
    // The client's setting: a kFlagNoDelay send turns it on for itself and restores this.
    s->nodelay_client = s->nodelay_on = iv != 0;
  }
  return {Status::Success, 0};
}

ControlResult get_option(Socket* s, const ControlState* st) {
  int nlevel = 0;
  int nname = 0;
  if (st->level == kSolSocket && st->code == kSoLinger) {
    if (st->output == nullptr || st->output_size < sizeof(Linger)) {
      return {Status::BufferTooSmall, 0};
    }
    linger nl{};
    socklen_t len = sizeof(nl);
    if (getsockopt(s->fd, SOL_SOCKET, SO_LINGER, &nl, &len) != 0) {
      return {status_from_errno(errno), 0};
    }
    Linger l{static_cast<uint16_t>(nl.l_onoff != 0 ? 1 : 0), static_cast<uint16_t>(nl.l_linger)};
    memcpy(st->output, &l, sizeof(l));
    return {Status::Success, sizeof(l)};
  }
  if (st->level == kSolSocket && st->code == kSoType) {
    return put_ulong(st, static_cast<uint32_t>(s->base.type));
  }
  if (st->level == kSolSocket && st->code == kSoConditionalAccept) {
    return put_ulong(st, s->conditional ? 1u : 0u);
  }
  if (st->level == kSolSocket && st->code == kSoExclusiveAddrUse) {
    // WSK: neither SO_EXCLUSIVEADDRUSE nor SO_REUSEADDR is set by default (the default is
    // still exclusive use: a second bind of the address fails).
    return put_ulong(st, s->exclusive_addr ? 1u : 0u);
  }
  if (!native_ulong_option(st->level, st->code, &nlevel, &nname)) {
    return {Status::NotSupported, 0};
  }
  if (st->output == nullptr || st->output_size < sizeof(uint32_t)) {
    return {Status::BufferTooSmall, 0};
  }
  int iv = 0;
  socklen_t len = sizeof(iv);
  if (getsockopt(s->fd, nlevel, nname, &iv, &len) != 0) return {status_from_errno(errno), 0};
  return put_ulong(st, static_cast<uint32_t>(iv));
}

}  // namespace

Status op_control_socket(Socket* s, Request* req) {
  ControlState* st = op_state<ControlState>(req);
  ControlResult r{Status::NotSupported, 0};
  switch (st->type) {
    case ControlType::SetOption:
      r = set_option(s, st);
      break;
    case ControlType::GetOption:
      r = get_option(s, st);
      break;
    case ControlType::Ioctl:
      if (st->code == kFionRead) {
        int avail = 0;
        if (ioctl(s->fd, FIONREAD, &avail) != 0) {
          r = {status_from_errno(errno), 0};
          break;
        }
        uint64_t total = static_cast<uint64_t>(avail > 0 ? avail : 0) + s->ind_len;
        r = put_ulong(st, total > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(total));
      }
      break;
  }
  if (st->output_size_returned != nullptr) *st->output_size_returned = r.written;
  const bool backlog = st->type == ControlType::SetOption && st->level == kSolSocket &&
                       st->code == kSoSndBuf && r.status == Status::Success;
  Status done = complete(req, r.status, r.written);
  if (backlog && !s->closed) {
    s->backlog_check = true;  // the ideal send backlog is SO_SNDBUF: indicate the new one
    socket_process(s);
  }
  return done;
}

// ---- close --------------------------------------------------------------------------------

Status op_close(Socket* s, Request* req) {
  s->closed = true;  // stops any dispatch pass running below us
  tcp_cancel_all(s, Status::Cancelled);
  // WSK resets a connection that was not disconnected when its socket is closed.
  bool abortive = s->base.type == SocketType::Stream && s->connected && !s->shut_wr && !s->aborted;
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
  Status r = complete(req, Status::Success, 0);
  bury(s);  // freed at the end of the loop iteration, after every routine returned
  return r;
}

}  // namespace posix

// ---- entry points (any thread) --------------------------------------------------------------

namespace backend {

using namespace posix;

Status socket(Client* client, AddressFamily family, SocketType type, Protocol protocol,
              uint32_t category, void* socket_context, const void* dispatch, Request* req) {
  SocketState* st = detail::op_state<SocketState>(req);
  st->client = client;
  st->family = family;
  st->type = type;
  st->protocol = protocol;
  st->category = category;
  st->context = socket_context;
  st->dispatch = dispatch;
  req->priv.op = kOpSocket;
  return submit(client, req);
}

Status bind(Socket* s, const SockAddr* local, uint32_t flags, Request* req) {
  (void)flags;
  SimpleState* st = detail::op_state<SimpleState>(req);
  st->addr = *local;
  req->priv.op = kOpBind;
  return submit(s->client, req);
}

Status listen(Socket* s, Request* req) {
  req->priv.op = kOpListen;
  return submit(s->client, req);
}

Status get_local_address(Socket* s, SockAddr* local, Request* req) {
  detail::op_state<SimpleState>(req)->out = local;
  req->priv.op = kOpLocalAddress;
  return submit(s->client, req);
}

Status get_remote_address(Socket* s, SockAddr* remote, Request* req) {
  detail::op_state<SimpleState>(req)->out = remote;
  req->priv.op = kOpRemoteAddress;
  return submit(s->client, req);
}

Status control_socket(Socket* s, ControlType type, uint32_t control_code, uint32_t level,
                      size_t input_size, const void* input, size_t output_size, void* output,
                      size_t* output_size_returned, Request* req) {
  ControlState* st = detail::op_state<ControlState>(req);
  st->type = type;
  st->code = control_code;
  st->level = level;
  st->input_size = input_size;
  st->input = input;
  st->output_size = output_size;
  st->output = output;
  st->output_size_returned = output_size_returned;
  req->priv.op = kOpControlSocket;
  return submit(s->client, req);
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
  req->priv.op = kOpClose;
  return submit(s->client, req);
}

}  // namespace backend
}  // namespace xwsk
