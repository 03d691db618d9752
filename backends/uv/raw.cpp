// SPDX-License-Identifier: MIT
/// @file raw.cpp
/// @brief Raw sockets (SOCK_RAW), which libuv has no handle for: the native fd is watched with
/// uv_poll (the native-handle fallback) and read and written with recvmsg / sendmsg directly
/// into and out of the requests' own segments. Datagram and basic categories.
///
/// Every function here runs on the client's loop thread.
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"

namespace xwsk::uv {

using detail::op_state;

namespace {

constexpr unsigned kMaxIov = kMaxDatagramPieces;

/// iovecs for the bytes a cursor still covers; returns the count.
unsigned to_iov(const Cursor& cur, iovec* iov, unsigned max) {
  uv_buf_t bufs[kMaxIov];
  unsigned n = cur.fill(bufs, max < kMaxIov ? max : kMaxIov);
  for (unsigned i = 0; i < n; ++i)
    iov[i] = iovec{bufs[i].base, bufs[i].len};
  return n;
}

void on_close(uv_handle_t* h) {
  Socket* s = sock_of(h);
  ::close(s->raw_fd);
  s->raw_fd = -1;
  s->handle_closed = true;
  complete_close_request(s);
  socket_maybe_free(s);
}

/// Sends one datagram from @p cur to @p remote. Returns 1 when sent, 0 when the socket would
/// block, or a negative libuv error.
int send_one(Socket* s, const Cursor& cur, const SockAddr& remote) {
  iovec iov[kMaxIov];
  sockaddr_storage ss;
  msghdr msg{};
  msg.msg_name = &ss;
  msg.msg_namelen = to_native(remote, &ss);
  msg.msg_iov = iov;
  msg.msg_iovlen = to_iov(cur, iov, kMaxIov);
  ssize_t r;
  do {
    r = ::sendmsg(s->raw_fd, &msg, 0);
  } while (r < 0 && errno == EINTR);
  if (r >= 0) return 1;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
  return uv_translate_sys_error(errno);
}

/// Progresses the head send request; true when it completed.
bool progress_send(Socket* s, Request* req) {
  DatagramIo& a = *op_state<DatagramIo>(req);
  for (;;) {
    if (a.messages && !a.started) {
      if (a.list == nullptr) {
        detail::complete(req, Status::Success, a.total);
        return true;
      }
      a.cur.init(a.list->buffer);
      a.started = true;
    }
    int r = send_one(s, a.cur, a.remote);
    if (r == 0) return false;
    if (r < 0) {
      detail::complete(req, from_uv(r), a.total);
      return true;
    }
    a.total += a.cur.left;
    if (!a.messages) {
      detail::complete(req, Status::Success, a.total);
      return true;
    }
    a.list = a.list->next;
    a.started = false;
  }
}

void read_ready(Socket* s) {
  while (!closing(s)) {
    Request* head = s->receives.head;
    bool event = head == nullptr && event_on(s, kEventReceiveFrom) &&
                 !s->retained.load(std::memory_order_acquire);
    if (head == nullptr && !event) return;
    iovec iov[kMaxIov];
    sockaddr_storage from;
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = iov;
    if (head != nullptr) {
      msg.msg_iovlen = to_iov(op_state<DatagramIo>(head)->cur, iov, kMaxIov);
    } else {
      char* p = indication_buffer(s);
      if (p == nullptr) return;
      iov[0] = iovec{p, s->ind_size};
      msg.msg_iovlen = 1;
    }
    ssize_t n;
    do {
      n = ::recvmsg(s->raw_fd, &msg, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (head != nullptr) {
        s->receives.pop();
        detail::complete(head, from_errno(errno), 0);
      }
      continue;
    }
    if (head != nullptr) {
      DatagramIo& a = *op_state<DatagramIo>(head);
      bool trunc = (msg.msg_flags & MSG_TRUNC) != 0;
      a.cur.advance(static_cast<size_t>(n));
      if (a.from != nullptr) from_native(reinterpret_cast<sockaddr*>(&from), a.from);
      if (a.control_length != nullptr) *a.control_length = 0;
      if (a.control_flags != nullptr) *a.control_flags = trunc ? kMsgTrunc : 0;
      s->receives.pop();
      detail::complete(head, trunc ? Status::BufferOverflow : Status::Success, a.cur.done);
      continue;
    }
    const auto* dd = static_cast<const DatagramDispatch*>(s->base.dispatch);
    if (dd == nullptr || dd->receive_from == nullptr) return;
    from_native(reinterpret_cast<sockaddr*>(&from), &s->dgram_from);
    s->dgram_ind.next = nullptr;
    s->dgram_ind.buffer = Buf{&s->ind_seg, 0, static_cast<size_t>(n)};
    s->dgram_ind.control_info = nullptr;
    s->dgram_ind.control_info_length = 0;
    s->dgram_ind.remote_address = &s->dgram_from;
    s->in_event = true;
    hold_begin(s);
    Status st = dd->receive_from(s->base.context, 0, &s->dgram_ind);
    s->in_event = false;
    if (hold_end(s, st)) {
      // Retained until release_datagram_indications().
    } else if (st == Status::DataNotAccepted) {
      disable_refused_event(s);
    }
  }
}

void on_poll(uv_poll_t* h, int status, int events) {
  Socket* s = sock_of(reinterpret_cast<uv_handle_t*>(h));
  if (closing(s)) return;
  if (status < 0) {
    Status st = from_uv(status);
    while (Request* r = s->receives.pop())
      detail::complete(r, st, 0);
  } else {
    if ((events & UV_READABLE) != 0) read_ready(s);
    if ((events & UV_WRITABLE) != 0) {
      while (!closing(s) && !s->sends.empty()) {
        Request* head = s->sends.head;
        s->sends.pop();
        if (!progress_send(s, head)) {
          // Would block again: put it back at the front.
          head->priv.next = s->sends.head;
          s->sends.head = head;
          if (s->sends.tail == nullptr) s->sends.tail = head;
          break;
        }
      }
    }
  }
  if (!closing(s)) raw_update(s);
}

}  // namespace

Status raw_open(Socket* s) {
  int af = native_family(s->base.family);
  int fd =
      ::socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, static_cast<int>(s->base.protocol));
  if (fd < 0) return from_errno(errno);  // EPERM / EACCES: AccessDenied
  if (af == AF_INET6) {
    int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  int r = uv_poll_init_socket(&s->base.client->loop, &s->h.poll, fd);
  if (r != 0) {
    ::close(fd);
    return from_uv(r);
  }
  s->h.handle.data = s;
  s->raw_fd = fd;
  s->handle_open = true;
  return Status::Success;
}

Status raw_bind(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Open) return wrong_phase(req);
  sockaddr_storage ss;
  socklen_t len = to_native(op_state<AddressIo>(req)->addr, &ss);
  if (::bind(s->raw_fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return detail::complete(req, from_errno(errno), 0);
  }
  set_phase(s, Phase::Bound);
  raw_update(s);
  return detail::complete(req, Status::Success, 0);
}

Status raw_send(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Bound) return wrong_phase(req);
  DatagramIo& a = *op_state<DatagramIo>(req);
  if (!a.has_remote) return detail::complete(req, Status::InvalidDeviceState, 0);
  if (!datagrams_fit(req, kMaxIov)) return detail::complete(req, Status::InvalidParameter, 0);
  if (s->sends.empty()) {
    // Completes inline when the kernel takes it at once.
    if (!a.messages) {
      int r = send_one(s, a.cur, a.remote);
      if (r == 1) return detail::complete(req, Status::Success, a.cur.left);
      if (r < 0) return detail::complete(req, from_uv(r), 0);
    } else if (progress_send(s, req)) {
      return Status::Pending;  // completed; the routine may have reused the request
    }
  }
  s->sends.push(req);
  raw_update(s);
  return Status::Pending;
}

Status raw_receive(Request* req) {
  Socket* s = req->priv.socket;
  if (s->phase != Phase::Bound) return wrong_phase(req);
  s->receives.push(req);
  raw_update(s);
  return Status::Pending;
}

void raw_update(Socket* s) {
  if (closing(s) || !s->handle_open) return;
  int events = 0;
  if (s->phase == Phase::Bound &&
      (!s->receives.empty() ||
       (event_on(s, kEventReceiveFrom) && !s->retained.load(std::memory_order_acquire)))) {
    events |= UV_READABLE;
  }
  if (!s->sends.empty()) events |= UV_WRITABLE;
  if (events == s->poll_events) return;
  s->poll_events = events;
  if (events == 0) {
    uv_poll_stop(&s->h.poll);
  } else {
    uv_poll_start(&s->h.poll, events, on_poll);
  }
}

Status raw_close(Request* req) {
  Socket* s = req->priv.socket;
  close_begin(s, req);
  s->handle_open = false;
  uv_close(&s->h.handle, on_close);  // stops the poll; the fd is closed in on_close
  return Status::Pending;
}

}  // namespace xwsk::uv
