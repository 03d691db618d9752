// SPDX-License-Identifier: MIT
/// @file udp.cpp
/// @brief Datagram sockets over uv_udp_t: the xwsk::backend entry points (send_to,
/// send_messages, receive_from, release_datagram_indications, at the end of the file; for a raw
/// socket they pick raw.cpp's run functions), their run functions and logic: bind, send_to
/// (uv_udp_try_send, then uv_udp_send), send_messages (UDP GSO or sendmmsg on the native fd:
/// libuv 1.44 has no batched send), receive_from (straight into the request's buffer when it is
/// contiguous), the receive_from event, close.
///
/// Every function here but the entry points runs on the client's loop thread.
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "backend.h"
#include "udp_gso.h"

namespace xwsk::uv {

using detail::op_state;

namespace {

constexpr unsigned kMaxBufs = kMaxDatagramPieces;  ///< uv_buf_t per datagram on the fast paths
constexpr unsigned kBatch = 32;                    ///< datagrams per sendmmsg call
constexpr unsigned kIovPerMsg = 8;                 ///< segments per datagram in a sendmmsg batch
constexpr unsigned kSlots = 20;      ///< datagrams per recvmmsg (libuv reads at most 20)
constexpr size_t kSlot = 64 * 1024;  ///< libuv's per-datagram chunk with UV_UDP_RECVMMSG

void on_close(uv_handle_t* h) {
  Socket* s = sock_of(h);
  s->handle_closed = true;
  complete_close_request(s);
  socket_maybe_free(s);
}

void start_sends(Socket* s);

void finish_head(Socket* s, Status st) {
  Request* r = s->sends.pop();
  DatagramIo* op = op_state<DatagramIo>(r);
  detail::complete(r, st, op->total);
}

void on_send(uv_udp_send_t* req, int status) {
  Socket* s = sock_of(reinterpret_cast<uv_handle_t*>(req->handle));
  s->write_active = false;
  Request* head = s->sends.head;
  DatagramIo* op = op_state<DatagramIo>(head);
  if (status < 0) {
    finish_head(s, status == UV_ECANCELED ? Status::Cancelled : from_uv(status));
  } else {
    op->total += op->cur.left;
    op->started = false;
    if (op->messages) {
      op->list = op->list->next;
      // A datagram sent just before the close: the rest of the batch will not go.
      if (closing(s) || !s->handle_open) finish_head(s, Status::Cancelled);
    } else {
      finish_head(s, Status::Success);
    }
  }
  if (!closing(s) && s->handle_open) start_sends(s);
}

/// The slow path: one uv_udp_send at a time, in request order.
void start_sends(Socket* s) {
  while (!s->write_active && !s->sends.empty() && !closing(s)) {
    Request* head = s->sends.head;
    DatagramIo* op = op_state<DatagramIo>(head);
    DatagramIo& a = *op;
    if (a.messages && !a.started) {
      if (a.list == nullptr) {
        finish_head(s, Status::Success);
        continue;
      }
      a.cur.init(a.list->buffer);
      a.started = true;
    }
    uv_buf_t bufs[kMaxBufs];
    unsigned n = a.cur.fill(bufs, kMaxBufs);
    if (n == 0) bufs[n++] = uv_buf_init(nullptr, 0);  // an empty datagram: one empty buf
    sockaddr_storage ss;
    to_native(a.remote, &ss);
    s->write_active = true;
    int r = uv_udp_send(&s->r.us, &s->h.udp, bufs, n, reinterpret_cast<sockaddr*>(&ss), on_send);
    if (r != 0) {
      s->write_active = false;
      finish_head(s, from_uv(r));
    }
  }
}

enum class Gso { kSent, kWait, kNo, kFailed };

/// One UDP GSO send of the head of a.list (udp_gso.h: every datagram but the last of the same
/// size): kSent, kWait (would block), kNo (GSO does not apply, or the kernel refused it: then
/// no_gso is set and the datagrams go by sendmmsg), kFailed (errno says why).
Gso send_gso(Socket* s, int fd, sockaddr_storage* ss, socklen_t slen, BufList** list,
             size_t* total) {
  size_t seg = 0;
  uint32_t k = hostnet::gso_plan(*list, &seg);
  if (k < 2) return Gso::kNo;
  iovec iov[hostnet::kGsoMaxSegments * kIovPerMsg];
  unsigned used = 0;
  size_t bytes = 0;
  uint32_t taken = 0;
  for (BufList* e = *list; taken < k; e = e->next, ++taken) {
    Cursor c;
    c.init(e->buffer);
    uv_buf_t bufs[kIovPerMsg + 1];
    unsigned n = c.fill(bufs, kIovPerMsg + 1);
    if (n > kIovPerMsg) break;  // a long chain: sendmmsg or the slow path sends it
    for (unsigned i = 0; i < n; ++i)
      iov[used + i] = iovec{bufs[i].base, bufs[i].len};
    used += n;
    bytes += c.left;
  }
  if (taken < 2) return Gso::kNo;
  msghdr m{};
  m.msg_name = ss;
  m.msg_namelen = slen;
  m.msg_iov = iov;
  m.msg_iovlen = used;
  hostnet::GsoControl ctl;
  hostnet::gso_set_segment(&m, &ctl, seg);
  ssize_t r;
  do {
    r = ::sendmsg(fd, &m, 0);
  } while (r < 0 && errno == EINTR);
  if (r >= 0) {
    *total += bytes;
    for (uint32_t i = 0; i < taken; ++i)
      *list = (*list)->next;
    return Gso::kSent;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) return Gso::kWait;
  if (!hostnet::gso_refused(errno)) return Gso::kFailed;
  s->no_gso = true;  // this call and the later ones go by sendmmsg
  return Gso::kNo;
}

/// send_messages fast path: UDP GSO where the datagrams allow it, else as many datagrams per
/// sendmmsg as the kernel takes. Returns false when the socket would block (the rest goes
/// through the slow path), true when done (the request completed, with *st).
bool send_batch(Socket* s, Request* req, Status* st) {
  DatagramIo& a = *op_state<DatagramIo>(req);
  int fd = socket_fd(s);
  sockaddr_storage ss;
  socklen_t slen = to_native(a.remote, &ss);
  while (a.list != nullptr) {
    if (!s->no_gso) {
      Gso g = send_gso(s, fd, &ss, slen, &a.list, &a.total);
      if (g == Gso::kSent) continue;
      if (g == Gso::kWait) return false;
      if (g == Gso::kFailed) {
        *st = detail::complete(req, from_errno(errno), a.total);
        return true;
      }
    }
    mmsghdr msgs[kBatch];
    iovec iov[kBatch * kIovPerMsg];
    size_t lens[kBatch];
    unsigned k = 0;
    BufList* e = a.list;
    for (; e != nullptr && k < kBatch; e = e->next) {
      Cursor c;
      c.init(e->buffer);
      uv_buf_t bufs[kIovPerMsg + 1];
      unsigned n = c.fill(bufs, kIovPerMsg + 1);
      if (n > kIovPerMsg) break;  // a long chain: the slow path sends it
      for (unsigned i = 0; i < n; ++i) {
        iov[k * kIovPerMsg + i] = iovec{bufs[i].base, bufs[i].len};
      }
      memset(&msgs[k], 0, sizeof(msgs[k]));
      msgs[k].msg_hdr.msg_name = &ss;
      msgs[k].msg_hdr.msg_namelen = slen;
      msgs[k].msg_hdr.msg_iov = &iov[k * kIovPerMsg];
      msgs[k].msg_hdr.msg_iovlen = n;
      lens[k] = c.left;
      ++k;
    }
    if (k == 0) return false;
    int sent;
    do {
      sent = ::sendmmsg(fd, msgs, k, 0);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      *st = detail::complete(req, from_errno(errno), a.total);
      return true;
    }
    for (int i = 0; i < sent; ++i) {
      a.total += lens[i];
      a.list = a.list->next;
    }
    if (static_cast<unsigned>(sent) < k) return false;
  }
  *st = detail::complete(req, Status::Success, a.total);
  return true;
}

/// The receive buffer of a datagram socket (allocated on first use, one per socket): kSlots
/// 64 KiB slots for a recvmmsg batch (UV_UDP_RECVMMSG) that the receive_from event gets as one
/// DatagramIndication list, and one more slot for receive_from requests, so that a retained
/// batch never blocks them.
struct UdpRx {
  Segment seg;  ///< covers batch; each indication is an offset into it
  DatagramIndication ind[kSlots];
  SockAddr from[kSlots];
  unsigned count;  ///< datagrams collected in the current batch
  char* batch;     ///< kSlots x kSlot for the event (allocated when first needed)
  alignas(16) char request_slot[kSlot];
};

/// The receive state of @p s, allocated on first use (the event's batch buffer separately,
/// only once the receive_from event is used: 1.25 MiB).
UdpRx* rx_of(Socket* s, bool batch) {
  if (s->udp_rx == nullptr) {
    void* mem = detail::alloc(sizeof(UdpRx), detail::kTagBuffer);
    if (mem == nullptr) return nullptr;
    auto* rx = static_cast<UdpRx*>(mem);
    rx->seg = Segment{nullptr, nullptr, 0, nullptr};
    rx->count = 0;
    rx->batch = nullptr;
    s->udp_rx = rx;
  }
  auto* rx = static_cast<UdpRx*>(s->udp_rx);
  if (batch && rx->batch == nullptr) {
    rx->batch = static_cast<char*>(detail::alloc(kSlots * kSlot, detail::kTagBuffer));
    if (rx->batch == nullptr) return nullptr;
    rx->seg = Segment{nullptr, rx->batch, kSlots * kSlot, nullptr};
  }
  return rx;
}

char* request_slot(UdpRx* rx) {
  return rx->request_slot;
}

void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  (void)suggested;
  Socket* s = sock_of(h);
  *buf = uv_buf_init(nullptr, 0);
  if (s->receives.head != nullptr) {
    // One slot: recvmmsg then reads one datagram, which is copied into the request's buffer
    // (with UV_UDP_RECVMMSG set, libuv needs 64 KiB per datagram, more than most requests).
    UdpRx* rx = rx_of(s, false);
    if (rx != nullptr) *buf = uv_buf_init(request_slot(rx), kSlot);
  } else if (event_on(s, kEventReceiveFrom) && !s->retained.load(std::memory_order_acquire)) {
    UdpRx* rx = rx_of(s, true);
    if (rx != nullptr) *buf = uv_buf_init(rx->batch, kSlots * kSlot);
  }
  // Else nobody takes datagrams: UV_ENOBUFS follows and receiving stops.
}

/// Hands the collected batch to the receive_from event as one list.
void indicate_batch(Socket* s, UdpRx* rx) {
  unsigned n = rx->count;
  rx->count = 0;
  const auto* dd = static_cast<const DatagramDispatch*>(s->base.dispatch);
  if (n == 0 || dd == nullptr || dd->receive_from == nullptr || !event_on(s, kEventReceiveFrom)) {
    return;
  }
  for (unsigned i = 0; i < n; ++i)
    rx->ind[i].next = i + 1 < n ? &rx->ind[i + 1] : nullptr;
  s->in_event = true;
  hold_begin(s);
  Status st = dd->receive_from(s->base.context, 0, &rx->ind[0]);
  s->in_event = false;
  if (hold_end(s, st)) {
    // Retained until release_datagram_indications().
  } else if (st == Status::DataNotAccepted) {
    // WSK: the event stays disabled until SO_WSK_EVENT_CALLBACK enables it again; the
    // refused datagrams are dropped and later ones wait for receive_from().
    disable_refused_event(s);
  }
}

/// Completes the first receive_from request with a datagram read into the request slot.
void complete_receive(Socket* s, Request* head, const char* data, size_t n, const sockaddr* addr,
                      bool trunc) {
  DatagramIo& a = *op_state<DatagramIo>(head);
  size_t copied = 0;
  while (copied < n && a.cur.left != 0) {
    size_t len = 0;
    char* p = a.cur.chunk(&len);
    size_t k = n - copied < len ? n - copied : len;
    memcpy(p, data + copied, k);
    a.cur.advance(k);
    copied += k;
  }
  if (copied < n) trunc = true;
  if (a.from != nullptr) from_native(addr, a.from);
  if (a.control_length != nullptr) *a.control_length = 0;
  if (a.control_flags != nullptr) *a.control_flags = trunc ? kMsgTrunc : 0;
  s->receives.pop();
  detail::complete(head, trunc ? Status::BufferOverflow : Status::Success, a.cur.done);
}

void on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
             unsigned flags) {
  Socket* s = sock_of(reinterpret_cast<uv_handle_t*>(h));
  if (closing(s)) return;
  UdpRx* rx = static_cast<UdpRx*>(s->udp_rx);
  if ((flags & UV_UDP_MMSG_FREE) != 0) {
    // The end of a recvmmsg batch: one event for all of it.
    if (rx != nullptr && rx->count != 0) indicate_batch(s, rx);
  } else if (nread == UV_ENOBUFS) {
    uv_udp_recv_stop(&s->h.udp);  // nobody takes datagrams now
    s->reading = false;
  } else if (nread < 0) {
    if (Request* r = s->receives.pop()) detail::complete(r, from_uv(static_cast<int>(nread)), 0);
  } else if (addr != nullptr && rx != nullptr) {
    size_t n = static_cast<size_t>(nread);
    bool trunc = (flags & UV_UDP_PARTIAL) != 0;
    if (buf->base == request_slot(rx)) {
      if (Request* head = s->receives.head) complete_receive(s, head, buf->base, n, addr, trunc);
    } else if (rx->count < kSlots) {
      unsigned i = rx->count++;
      from_native(addr, &rx->from[i]);
      DatagramIndication& d = rx->ind[i];
      d.next = nullptr;
      d.buffer = Buf{&rx->seg, static_cast<size_t>(buf->base - rx->batch), n};
      d.control_info = nullptr;
      d.control_info_length = 0;
      d.remote_address = &rx->from[i];
      // Without recvmmsg each datagram comes alone: indicate it at once.
      if ((flags & UV_UDP_MMSG_CHUNK) == 0) indicate_batch(s, rx);
    }
  }
  if (!closing(s)) udp_update(s);
}

}  // namespace

Status udp_open(Socket* s) {
  Client* c = s->base.client;
  // UV_UDP_RECVMMSG: the receive_from event gets up to kSlots datagrams per system call.
  unsigned flags = static_cast<unsigned>(native_family(s->base.family)) | UV_UDP_RECVMMSG;
  int r = uv_udp_init_ex(&c->loop, &s->h.udp, flags);
  if (r != 0) return from_uv(r);
  s->h.handle.data = s;
  s->handle_open = true;
  // IPv6 sockets start IPv6-only, as in WSK; the client may turn it off before bind (dual
  // stack). Set on the descriptor now rather than through uv_udp_bind's UV_UDP_IPV6ONLY, which
  // would turn it back on at bind.
  if (s->base.family == AddressFamily::Inet6) {
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno(&s->h.handle, &fd) == 0) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
  }
  return Status::Success;
}

Status udp_bind(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Open) return wrong_phase(req);
  sockaddr_storage ss;
  to_native(op_state<AddressIo>(req)->addr, &ss);
  unsigned flags = 0;  // IPV6_V6ONLY is the socket's own (udp_open, control_socket)
  if (s->reuse_addr) flags |= UV_UDP_REUSEADDR;  // else exclusive, as in WSK
  int r = uv_udp_bind(&s->h.udp, reinterpret_cast<sockaddr*>(&ss), flags);
  if (r != 0) return detail::complete(req, from_uv(r), 0);
  set_phase(s, Phase::Bound);
  udp_update(s);
  return detail::complete(req, Status::Success, 0);
}

namespace {

Status send_run(Request* req) {
  Socket* s = req->priv.socket;
  DatagramIo& a = *op_state<DatagramIo>(req);
  if (s->phase != Phase::Bound) return wrong_phase(req);
  // No fixed remote address (SIO_WSK_SET_REMOTE_ADDRESS) in this backend.
  if (!a.has_remote) return detail::complete(req, Status::InvalidDeviceState, 0);
  if (!datagrams_fit(req, kMaxBufs)) return detail::complete(req, Status::InvalidParameter, 0);
  if (s->sends.empty() && !s->write_active) {
    if (a.messages) {
      Status st;
      if (send_batch(s, req, &st)) return st;
    } else {
      uv_buf_t bufs[kMaxBufs];
      unsigned n = a.cur.fill(bufs, kMaxBufs);
      sockaddr_storage ss;
      to_native(a.remote, &ss);
      size_t len = 0;
      for (unsigned i = 0; i < n; ++i)
        len += bufs[i].len;
      if (n == 0) {
        // An empty datagram: libuv asserts nbufs > 0, so it goes out on the native fd.
        ssize_t r = ::sendto(socket_fd(s), nullptr, 0, 0, reinterpret_cast<sockaddr*>(&ss),
                             to_native(a.remote, &ss));
        if (r == 0) return detail::complete(req, Status::Success, 0);
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          return detail::complete(req, from_errno(errno), 0);
        }
      } else if (len == a.cur.left) {
        int r = uv_udp_try_send(&s->h.udp, bufs, n, reinterpret_cast<sockaddr*>(&ss));
        if (r >= 0) return detail::complete(req, Status::Success, static_cast<uintptr_t>(r));
        if (r != UV_EAGAIN) return detail::complete(req, from_uv(r), 0);
      }
    }
  }
  s->sends.push(req);
  start_sends(s);
  return Status::Pending;
}

Status receive_from_run(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Bound) return wrong_phase(req);
  s->receives.push(req);
  udp_update(s);
  return Status::Pending;
}

}  // namespace

void udp_free(Socket* s) {
  auto* rx = static_cast<UdpRx*>(s->udp_rx);
  if (rx->batch != nullptr) detail::release(rx->batch, detail::kTagBuffer);
  detail::release(rx, detail::kTagBuffer);
  s->udp_rx = nullptr;
}

void udp_update(Socket* s) {
  if (closing(s) || !s->handle_open || s->phase != Phase::Bound) return;
  bool want = !s->receives.empty() ||
              (event_on(s, kEventReceiveFrom) && !s->retained.load(std::memory_order_acquire));
  if (want && !s->reading) {
    if (uv_udp_recv_start(&s->h.udp, on_alloc, on_recv) == 0) s->reading = true;
  }
  // Receiving stops lazily, when a datagram arrives that nobody takes (UV_ENOBUFS).
}

Status udp_close(Request* req) {
  Socket* s = req->priv.socket;
  // Queued requests complete Cancelled now; a send libuv holds is cancelled by uv_close.
  close_begin(s, req);
  s->handle_open = false;
  s->reading = false;
  uv_close(&s->h.handle, on_close);
  return Status::Pending;
}

bool datagrams_fit(Request* req, unsigned max_pieces) {
  const DatagramIo& a = *op_state<DatagramIo>(req);
  uv_buf_t bufs[kMaxDatagramPieces + 1];
  if (max_pieces > kMaxDatagramPieces) max_pieces = kMaxDatagramPieces;
  if (!a.messages) return a.cur.fill(bufs, max_pieces + 1) <= max_pieces;
  for (BufList* e = a.list; e != nullptr; e = e->next) {
    Cursor c;
    c.init(e->buffer);
    if (c.fill(bufs, max_pieces + 1) > max_pieces) return false;
  }
  return true;
}

}  // namespace xwsk::uv

// ---- xwsk::backend entry points: datagram and raw sockets -------------------------------------
namespace xwsk::backend {

using detail::op_state;
using uv::DatagramIo;

Status send_to(Socket* s, const Buf* buf, uint32_t flags, const SockAddr* remote,
               size_t control_length, const void* control, Request* req) {
  (void)flags;
  (void)control_length;
  (void)control;
  *op_state<DatagramIo>(req) = {.cur = uv::Cursor::of(buf),
                                .remote = remote != nullptr ? *remote : SockAddr{},
                                .has_remote = remote != nullptr,
                                .started = true};
  return uv::run_or_submit(s, req, s->kind == uv::HandleKind::Raw ? &uv::raw_send : &uv::send_run);
}

Status send_messages(Socket* s, BufList* list, uint32_t flags, const SockAddr* remote,
                     size_t control_length, const void* control, Request* req) {
  (void)flags;
  (void)control_length;
  (void)control;
  *op_state<DatagramIo>(req) = {.list = list,
                                .remote = remote != nullptr ? *remote : SockAddr{},
                                .messages = true,
                                .has_remote = remote != nullptr};
  return uv::run_or_submit(s, req, s->kind == uv::HandleKind::Raw ? &uv::raw_send : &uv::send_run);
}

Status receive_from(Socket* s, const Buf* buf, uint32_t flags, SockAddr* remote,
                    size_t* control_length, void* control, uint32_t* control_flags, Request* req) {
  (void)flags;
  (void)control;
  *op_state<DatagramIo>(req) = {.cur = uv::Cursor::of(buf),
                                .from = remote,
                                .control_length = control_length,
                                .control_flags = control_flags};
  return uv::run_or_submit(
      s, req, s->kind == uv::HandleKind::Raw ? &uv::raw_receive : &uv::receive_from_run);
}

Status release_datagram_indications(Socket* s, DatagramIndication* list) {
  (void)list;  // the one list a datagram socket can have retained (its receive buffer's)
  return uv::release_held(s);
}

}  // namespace xwsk::backend
