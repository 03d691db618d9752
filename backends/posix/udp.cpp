// SPDX-License-Identifier: MIT
/// @file udp.cpp
/// @brief Datagram sockets: send_to, receive_from, send_messages (UDP GSO, else sendmmsg) and the
/// receive_from event (recvmmsg into per-socket slots, or the datagrams a completion engine
/// received into its buffers, retained until released).
#include <errno.h>
#include <string.h>

#include <new>

#include "backend.h"
#include "udp_gso.h"

namespace xwsk::posix {

using detail::complete;
using detail::op_state;

/// Storage for the receive_from event: one datagram per slot, indicated as a chain. On a
/// completion engine (engine_datagrams) the payloads stay in the engine's buffers (view), and
/// the batch's buffers go back to it (held) once the client no longer holds the batch.
struct DatagramSlots {
  uint8_t data[kDatagramSlots][kDatagramSlotSize];
  Segment seg[kDatagramSlots];
  DatagramIndication ind[kDatagramSlots];
  SockAddr addr[kDatagramSlots];
  sockaddr_storage native[kDatagramSlots];
  iovec iov[kDatagramSlots];
  MMsgHdr msgs[kDatagramSlots];
  DatagramView view[kDatagramSlots];
  uint32_t held;  ///< view[0, held) are engine buffers of the last batch, not yet given back

  /// Points every header at its slot once; recvmmsg then only changes msg_len, msg_flags and
  /// msg_namelen, which reset_names restores for the headers a call used.
  void init() {
    held = 0;
    for (uint32_t i = 0; i < kDatagramSlots; ++i) {
      iov[i] = iovec{data[i], kDatagramSlotSize};
      memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_name = &native[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(native[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  void reset_names(int used) {
    for (int i = 0; i < used; ++i)
      msgs[i].msg_hdr.msg_namelen = sizeof(native[i]);
  }
};

namespace {

/// Messages per sendmmsg call and iovecs shared by them.
constexpr int kBatch = 64;
constexpr int kBatchIov = 256;

/// The send with the engine is over (udp_sent): kFinished-style outcome in *out, or false when
/// it is to be made again (a signal, or the kernel asked to retry).
bool ring_send_result(DatagramIo* io, Outcome* out) {
  io->ring_done = false;
  const int32_t res = io->ring_res;
  if (res == -EINTR || res == -EAGAIN) return false;
  *out = res >= 0 ? finished(Status::Success, static_cast<uintptr_t>(res))
                  : finished(status_from_errno(-res), 0);
  return true;
}

Outcome send_to_attempt(Socket* s, Request* r) {
  DatagramIo* io = op_state<DatagramIo>(r);
  const DatagramEngine* de = engine_datagrams(s);
  for (;;) {
    // The kernel may be reading this request's segments: only udp_sent() (or quiesce, at
    // close) ends that.
    if (s->send_inflight) return kWait;
    Outcome out = kWait;
    if (io->ring_done && ring_send_result(io, &out)) return out;
    iovec iov[kMaxIov];
    size_t bytes = 0;
    msghdr m{};
    sockaddr_storage ss;
    if (io->has_addr) {
      m.msg_name = &ss;
      m.msg_namelen = to_native(io->addr, &ss);
    }
    int cnt = build_iov(io->buf, 0, iov, kMaxIov, &bytes);
    if (bytes < io->buf.length) return finished(Status::InvalidParameter, 0);  // > kMaxIov
    m.msg_iov = iov;
    m.msg_iovlen = static_cast<size_t>(cnt);
    // A completion engine sends it from the caller's segments, and waits for room itself, when
    // nothing waits behind it (a request and its reply: the send rides the loop's next
    // io_uring_enter). A queue behind it goes out with system calls in this pass: the engine
    // sends one request of a socket at a time, so it would send one datagram a loop turn.
    const bool alone =
        s->send_q.head == nullptr || (s->send_q.head == r && r->priv.next == nullptr);
    if (de != nullptr && alone && de->send(s, &m, kSendFlags)) {
      s->send_inflight = true;
      return kWait;
    }
    if (!s->writable) return kWait;
    ssize_t n;
    if (cnt == 1) {
      // One segment: sendto, which skips sendmsg's msghdr and iovec import.
      n = ::sendto(s->fd, iov[0].iov_base, iov[0].iov_len, kSendFlags,
                   static_cast<sockaddr*>(m.msg_name), m.msg_namelen);
    } else {
      n = ::sendmsg(s->fd, &m, kSendFlags);
    }
    if (n >= 0) return finished(Status::Success, static_cast<uintptr_t>(n));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      s->writable = false;
      return kWait;
    }
    return finished(status_from_errno(errno), 0);
  }
}

/// UDP GSO applies to UDP sockets only: another datagram protocol (ICMP, raw) would ignore
/// the UDP_SEGMENT message and send the whole payload as one datagram.
bool gso_allowed(const Socket* s) {
  return !s->no_gso && s->base.type == SocketType::Datagram &&
         (s->base.protocol == Protocol::Udp || s->base.protocol == Protocol::Default);
}

/// One GSO send of the head of io->list (hostnet::gso_plan): kDone when it went, kWait when
/// the socket would block, kRetry when GSO does not apply or the kernel refused it (then
/// no_gso is set and the caller sends datagram by datagram), kFinished when the request
/// failed (*out says how).
enum class GsoResult { kDone, kWait, kRetry, kFinished };

GsoResult send_messages_gso(Socket* s, DatagramIo* io, sockaddr_storage* ss, socklen_t sl,
                            Outcome* out) {
  if (io->ring_done) {
    // The engine's GSO send of the head ended (udp_sent).
    io->ring_done = false;
    const int32_t res = io->ring_res;
    if (res >= 0) {
      io->done += io->ring_bytes;
      for (uint32_t i = 0; i < io->ring_count; ++i)
        io->list = io->list->next;
      return GsoResult::kDone;
    }
    if (res == -EINTR || res == -EAGAIN) return GsoResult::kDone;  // made again
    if (hostnet::gso_refused(-res)) {
      s->no_gso = true;
      return GsoResult::kRetry;
    }
    *out = finished(status_from_errno(-res), io->done);
    return GsoResult::kFinished;
  }
  size_t seg = 0;
  uint32_t k = hostnet::gso_plan(io->list, &seg);
  if (k < 2) return GsoResult::kRetry;
  iovec iov[kBatchIov];
  int used = 0;
  size_t total = 0;
  uint32_t taken = 0;
  for (BufList* e = io->list; taken < k; e = e->next, ++taken) {
    size_t bytes = 0;
    int n = build_iov(e->buffer, 0, iov + used, kBatchIov - used, &bytes);
    if (bytes < e->buffer.length) break;  // out of iovecs: the next send takes the rest
    used += n;
    total += bytes;
  }
  if (taken < 2) return GsoResult::kRetry;
  msghdr m{};
  if (io->has_addr) {
    m.msg_name = ss;
    m.msg_namelen = sl;
  }
  m.msg_iov = iov;
  m.msg_iovlen = static_cast<size_t>(used);
  hostnet::GsoControl ctl;
  hostnet::gso_set_segment(&m, &ctl, seg);
  // A completion engine sends the whole batch as one submission, from the caller's segments.
  if (const DatagramEngine* de = engine_datagrams(s);
      de != nullptr && de->send(s, &m, kSendFlags)) {
    io->ring_bytes = total;
    io->ring_count = taken;
    s->send_inflight = true;
    return GsoResult::kWait;
  }
  if (!s->writable) return GsoResult::kWait;
  for (;;) {
    ssize_t n = ::sendmsg(s->fd, &m, kSendFlags);
    if (n >= 0) {
      io->done += total;
      for (uint32_t i = 0; i < taken; ++i)
        io->list = io->list->next;
      return GsoResult::kDone;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      s->writable = false;
      return GsoResult::kWait;
    }
    if (hostnet::gso_refused(errno)) {
      s->no_gso = true;  // this call and the later ones go datagram by datagram
      return GsoResult::kRetry;
    }
    *out = finished(status_from_errno(errno), io->done);
    return GsoResult::kFinished;
  }
}

Outcome send_messages_attempt(Socket* s, Request* r) {
  DatagramIo* io = op_state<DatagramIo>(r);
  sockaddr_storage ss;
  socklen_t sl = io->has_addr ? to_native(io->addr, &ss) : 0;
  while (io->list != nullptr) {
    // The kernel may be reading this request's segments: only udp_sent() (or quiesce) ends
    // that; the result is taken by send_messages_gso.
    if (s->send_inflight) return kWait;
    if (gso_allowed(s) || io->ring_done) {
      Outcome out = kWait;
      GsoResult g = send_messages_gso(s, io, &ss, sl, &out);
      if (g == GsoResult::kDone) continue;
      if (g == GsoResult::kWait) return kWait;
      if (g == GsoResult::kFinished) return out;
    }
    if (!s->writable) return kWait;
    MMsgHdr msgs[kBatch];
    iovec iov[kBatchIov];
    int count = 0;
    int used = 0;
    for (BufList* e = io->list; e != nullptr && count < kBatch; e = e->next) {
      size_t bytes = 0;
      int n = build_iov(e->buffer, 0, iov + used, kBatchIov - used, &bytes);
      if (bytes < e->buffer.length) {
        if (count == 0) return finished(Status::InvalidParameter, io->done);  // chain too long
        break;  // the next call takes it
      }
      memset(&msgs[count], 0, sizeof(msgs[count]));
      msgs[count].msg_hdr.msg_iov = iov + used;
      msgs[count].msg_hdr.msg_iovlen = static_cast<size_t>(n);
      if (io->has_addr) {
        msgs[count].msg_hdr.msg_name = &ss;
        msgs[count].msg_hdr.msg_namelen = sl;
      }
      used += n;
      ++count;
    }
    int sent = send_mmsg(s->fd, msgs, static_cast<unsigned>(count), kSendFlags);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->writable = false;
        return kWait;
      }
      return finished(status_from_errno(errno), io->done);
    }
    for (int i = 0; i < sent; ++i) {
      io->done += msgs[i].msg_len;
      io->list = io->list->next;
    }
  }
  return finished(Status::Success, io->done);
}

/// A socket reads at most one batch (kDatagramSlots) per loop turn for receive_from requests,
/// as the event path does: a client that re-issues its receive from the completion routine
/// would otherwise read a flood for ever in one dispatch pass and starve the other sockets.
bool datagram_budget_spent(Socket* s) {
  Client* c = s->client;
  if (s->dgram_turn != c->turn) {
    s->dgram_turn = c->turn;
    s->dgram_reads = 0;
  }
  if (s->dgram_reads < kDatagramSlots) return false;
  yield_read(s);  // runs again in the next turn, after the other ready sockets
  return true;
}

Outcome receive_from_attempt(Socket* s, Request* r) {
  DatagramIo* io = op_state<DatagramIo>(r);
  const DatagramEngine* de = engine_datagrams(s);
  for (;;) {
    // A completion engine says itself whether it holds a datagram (EAGAIN when not).
    if ((de == nullptr && !s->readable) || datagram_budget_spent(s)) return kWait;
    iovec iov[kMaxIov];
    size_t bytes = 0;
    msghdr m{};
    sockaddr_storage ss;
    m.msg_name = &ss;
    m.msg_namelen = sizeof(ss);
    m.msg_iov = iov;
    m.msg_iovlen = static_cast<size_t>(build_iov(io->buf, 0, iov, kMaxIov, &bytes));
    ssize_t n = de != nullptr ? de->recvmsg(s, &m) : ::recvmsg(s->fd, &m, 0);
    if (n >= 0) {
      ++s->dgram_reads;
      if (io->remote_out != nullptr)
        from_native(reinterpret_cast<sockaddr*>(&ss), m.msg_namelen, io->remote_out);
      if (io->control_length != nullptr) *io->control_length = 0;
      bool trunc = (m.msg_flags & MSG_TRUNC) != 0;
      if (io->control_flags != nullptr) *io->control_flags = trunc ? kMsgTrunc : 0;
      return finished(trunc ? Status::BufferOverflow : Status::Success, static_cast<uintptr_t>(n));
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      s->readable = false;
      return kWait;
    }
    return finished(status_from_errno(errno), 0);
  }
}

Status send_messages_run(Request* req);

/// send_to and send_messages share the send queue, in order.
Outcome send_attempt(Socket* s, Request* r) {
  return r->priv.run == &send_messages_run ? send_messages_attempt(s, r) : send_to_attempt(s, r);
}

/// Reads a batch with recvmmsg into the slots: how many, or -1 with errno.
int read_batch(Socket* s, DatagramSlots* d) {
  int n = recv_mmsg(s->fd, d->msgs, kDatagramSlots, MSG_DONTWAIT);
  for (int i = 0; i < n; ++i) {
    d->view[i] = DatagramView{d->data[i], d->msgs[i].msg_len, d->msgs[i].msg_hdr.msg_namelen,
                              (d->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0};
  }
  // The kernel shrank msg_namelen of the headers it filled; restore it for the next call
  // (view[i] keeps the lengths; the client holds the datagrams, not the headers).
  if (n > 0) d->reset_names(n);
  return n;
}

/// Gives the engine buffers of the last batch back, once the client holds none of it.
void give_back_batch(Socket* s, DatagramSlots* d) {
  if (d->held == 0 || s->dgram_retained.load(std::memory_order_acquire) != 0) return;
  const DatagramEngine* de = engine_datagrams(s);
  for (uint32_t i = 0; i < d->held; ++i)
    de->give_back(s->client, d->view[i].data);
  d->held = 0;
}

/// Reads a batch of datagrams and offers them to the receive_from event.
void indicate_datagrams(Socket* s) {
  const DatagramDispatch* dd = static_cast<const DatagramDispatch*>(s->base.dispatch);
  if (dd == nullptr || dd->receive_from == nullptr || s->dgram == nullptr) return;
  DatagramSlots* d = s->dgram;
  const DatagramEngine* de = engine_datagrams(s);
  while (!is_closed(s) && s->recv_q.empty() &&
         (s->base.event_mask.load(std::memory_order_acquire) & kEventReceiveFrom) != 0 &&
         s->dgram_retained.load(std::memory_order_acquire) == 0 && (de != nullptr || s->readable)) {
    int n = de != nullptr ? de->take(s, d->view, d->native, kDatagramSlots) : read_batch(s, d);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->readable = false;
        break;
      }
      if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) {
        continue;  // a pending ICMP error was consumed by this call; try again
      }
      // Anything else (ENOMEM, ENOBUFS, ...) would repeat: stop until the next readiness.
      s->readable = false;
      break;
    }
    if (n == 0) break;
    if (de != nullptr) d->held = static_cast<uint32_t>(n);
    // Fewer than asked: the queue was empty at that moment; new datagrams raise a new event.
    const bool full = static_cast<uint32_t>(n) == kDatagramSlots;
    if (!full) s->readable = false;
    for (int i = 0; i < n; ++i) {
      const DatagramView& v = d->view[i];
      d->seg[i] = Segment{nullptr, v.data, v.len, nullptr};
      from_native(reinterpret_cast<sockaddr*>(&d->native[i]), v.namelen, &d->addr[i]);
      d->ind[i] = DatagramIndication{i + 1 < n ? &d->ind[i + 1] : nullptr,
                                     Buf{&d->seg[i], 0, v.len}, nullptr, 0, &d->addr[i]};
    }
    // Held from before the event runs, as a stream's indication is (indicate_receives): a
    // release from another thread that overtakes the event's return Pending is not lost. Not
    // Pending: the hold is taken back (what a release already took stays taken).
    s->dgram_retained.fetch_add(static_cast<uint32_t>(n), std::memory_order_acq_rel);
    detail::g_counters.retained_indications.fetch_add(static_cast<uint32_t>(n),
                                                      std::memory_order_relaxed);
    Status r = dd->receive_from(s->base.context, 0, &d->ind[0]);
    if (r != Status::Pending) {
      uint32_t cur = s->dgram_retained.load(std::memory_order_acquire);
      uint32_t take = 0;
      do {
        take = cur < static_cast<uint32_t>(n) ? cur : static_cast<uint32_t>(n);
      } while (
          !s->dgram_retained.compare_exchange_weak(cur, cur - take, std::memory_order_acq_rel));
      if (take != 0) {
        detail::g_counters.retained_indications.fetch_sub(take, std::memory_order_relaxed);
      }
    }
    if (is_closed(s)) return;
    if (r == Status::DataNotAccepted) {
      // WSK: an event enabled with SO_WSK_EVENT_CALLBACK is disabled until re-enabled; a
      // static one stays. The datagrams were already read from the host stack: dropped.
      uint32_t statics = s->client->base.static_event_mask.load(std::memory_order_acquire);
      if ((statics & kEventReceiveFrom) == 0) {
        s->base.event_mask.fetch_and(~kEventReceiveFrom, std::memory_order_acq_rel);
      }
    }
    give_back_batch(s, d);  // not retained (or released meanwhile): the buffers go back now
    if (full) {
      yield_read(s);  // a full batch: more may be waiting, read it in the next turn
      break;
    }
  }
}

}  // namespace

void udp_process(Socket* s) {
  // A batch the client released goes back to the engine even while receive_from requests
  // keep the event from running.
  if (s->dgram != nullptr) give_back_batch(s, s->dgram);
  run_queue(s, &s->send_q, send_attempt);
  if (!is_closed(s)) run_queue(s, &s->recv_q, receive_from_attempt);
  if (!is_closed(s) && s->recv_q.empty()) indicate_datagrams(s);
}

bool udp_alloc_slots(Socket* s) {
  // Same discipline as ensure_event_buffers: allocate outside the lock, install under it.
  Client* c = s->client;
  pthread_mutex_lock(&c->mu);
  bool have = s->dgram != nullptr;
  pthread_mutex_unlock(&c->mu);
  if (have) return true;
  void* mem = detail::alloc(sizeof(DatagramSlots), detail::kTagBuffer);
  if (mem == nullptr) return false;
  DatagramSlots* slots = new (mem) DatagramSlots;
  slots->init();
  pthread_mutex_lock(&c->mu);
  if (s->dgram == nullptr) {
    s->dgram = slots;
    slots = nullptr;
  }
  pthread_mutex_unlock(&c->mu);
  if (slots != nullptr) {
    slots->~DatagramSlots();
    detail::release(slots, detail::kTagBuffer);
  }
  return true;
}

void udp_free_slots(Socket* s) {
  if (s->dgram == nullptr) return;
  s->dgram->~DatagramSlots();
  detail::release(s->dgram, detail::kTagBuffer);
  s->dgram = nullptr;
}

void udp_sent(Socket* s, ssize_t res) {
  if (!s->send_inflight) return;  // quiesced: its request completed already
  s->send_inflight = false;
  if (is_closed(s)) return;
  if (Request* r = s->send_q.head) {
    DatagramIo* io = op_state<DatagramIo>(r);
    io->ring_res = static_cast<int32_t>(res);
    io->ring_done = true;
  }
  socket_process(s);  // the request completes, or goes on
}

void udp_reclaim(Socket* s) {
  uint32_t n = s->dgram_retained.exchange(0, std::memory_order_acq_rel);
  if (n != 0) detail::g_counters.retained_indications.fetch_sub(n, std::memory_order_relaxed);
  if (s->dgram != nullptr) give_back_batch(s, s->dgram);  // the engine's buffers, if any
}

// ---- operations (run functions, loop thread) ------------------------------------------------

namespace {

Status send_to_run(Request* req) {
  Socket* s = req->priv.socket;
  return run_or_queue(s, &s->send_q, req, send_attempt);
}

Status send_messages_run(Request* req) {
  Socket* s = req->priv.socket;
  return run_or_queue(s, &s->send_q, req, send_attempt);
}

Status receive_from_run(Request* req) {
  Socket* s = req->priv.socket;
  return run_or_queue(s, &s->recv_q, req, receive_from_attempt);
}

}  // namespace
}  // namespace xwsk::posix

namespace xwsk::backend {

using namespace posix;

namespace {
DatagramIo* datagram_io(Request* req, const Buf* buf, const SockAddr* remote) {
  DatagramIo* io = detail::op_state<DatagramIo>(req);
  memset(io, 0, sizeof(*io));
  if (buf != nullptr) io->buf = *buf;
  if (remote != nullptr) {
    io->addr = *remote;
    io->has_addr = true;
  }
  return io;
}
}  // namespace

Status send_to(Socket* s, const Buf* buf, uint32_t flags, const SockAddr* remote,
               size_t control_length, const void* control, Request* req) {
  (void)flags;
  (void)control_length;  // ancillary data is not passed to the host stack
  (void)control;
  datagram_io(req, buf, remote);
  return submit(s->client, req, &send_to_run);
}

Status receive_from(Socket* s, const Buf* buf, uint32_t flags, SockAddr* remote,
                    size_t* control_length, void* control, uint32_t* control_flags, Request* req) {
  (void)flags;
  (void)control;
  DatagramIo* io = datagram_io(req, buf, nullptr);
  io->remote_out = remote;
  io->control_length = control_length;
  io->control_flags = control_flags;
  return submit(s->client, req, &receive_from_run);
}

Status send_messages(Socket* s, BufList* list, uint32_t flags, const SockAddr* remote,
                     size_t control_length, const void* control, Request* req) {
  (void)flags;
  (void)control_length;
  (void)control;
  DatagramIo* io = datagram_io(req, nullptr, remote);
  io->list = list;
  return submit(s->client, req, &send_messages_run);
}

Status release_datagram_indications(Socket* s, DatagramIndication* list) {
  uint32_t n = 0;
  for (DatagramIndication* d = list; d != nullptr; d = d->next)
    ++n;
  uint32_t cur = s->dgram_retained.load(std::memory_order_acquire);
  uint32_t take = 0;
  do {
    take = n < cur ? n : cur;
  } while (!s->dgram_retained.compare_exchange_weak(cur, cur - take, std::memory_order_acq_rel));
  if (take != 0) {
    detail::g_counters.retained_indications.fetch_sub(take, std::memory_order_relaxed);
  }
  if (cur - take == 0) kick(s);
  return Status::Success;
}

}  // namespace xwsk::backend
