// bench-server-uring: the raw io_uring peer "R" (liburing 2.3), one thread, written to the
// same rules as E: fixed buffers, nothing allocated per operation.
//
// What it uses, each because it takes system calls or copies off the per-message path:
// - one io_uring_submit_and_wait per loop turn: every SQE prepared while handling a batch of
//   completions goes in with the next wait (batched submission);
// - IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN (completion work runs only when
//   the loop waits; dropped if the kernel refuses them), and a CQ ring 4x the SQ ring;
// - a multishot accept into the registered (fixed) file table: no accept4 per connection
//   and no descriptor in the process table; TCP_NODELAY is set once on the listener, which
//   Linux copies into every accepted socket (E sets it per connection);
// - a multishot recv per connection from a provided buffer ring (kBufs x kBufSize): a
//   message costs one CQE and no SQE; the echo is sent straight from the ring buffer
//   (IOSQE_FIXED_FILE send, MSG_WAITALL), which goes back to the ring when the send
//   completes (returns batched per turn);
// - one send in flight per connection (later data queue behind it by buffer id, so the
//   echo stays in order), a close_direct when the peer is gone;
// - UDP as E does it (a multishot poll; then, once per turn, recvmmsg/sendmmsg x64), and the
//   signalfd read
//   through the ring.
// If the ring runs out of buffers, a connection's multishot recv ends with ENOBUFS; it is
// re-armed once buffers come back.
#include <liburing.h>
#include <poll.h>
#include <sys/signalfd.h>

#include <csignal>
#include <memory>
#include <vector>

#include "common/server_common.h"

namespace {

using bench::Counters;
using bench::Mode;

constexpr unsigned kEntries = 4096;  // SQ ring; the CQ ring is 4x
#ifndef R_BUFS                       // for trying other sizes: -DR_BUFS=... -DR_BUFSIZE=...
#define R_BUFS 256
#define R_BUFSIZE (64 * 1024)
#endif
constexpr unsigned kBufs = R_BUFS;        // provided buffers (power of two)
constexpr unsigned kBufSize = R_BUFSIZE;  // each
// Buffers lie kBufSize + one cache line apart: at a power-of-two stride every buffer's first
// line would fall into the same cache set, and small messages rotating through the ring would
// evict each other (measured: _copy_to_iter 6.4% of R's samples on tcp_echo_c50_64, E 2.1%).
#ifndef R_STRIDE
#define R_STRIDE (R_BUFSIZE + 64)
#endif
constexpr size_t kBufStride = R_STRIDE;
constexpr unsigned kGroup = 1;
constexpr uint16_t kNone = 0xffff;

enum Op : uint64_t { kAccept = 1, kRecv, kSend, kClose, kSignal, kUdpPoll };

uint64_t Tag(Op op, uint32_t idx, uint16_t bid = 0) {
  return (static_cast<uint64_t>(op) << 56) | (static_cast<uint64_t>(bid) << 32) | idx;
}

struct Conn {
  bool open = false;
  bool recv_armed = false;
  bool sending = false;
  bool closing = false;     // the peer is gone; close once the send in flight completes
  bool starved = false;     // recv ended with ENOBUFS; re-arm when buffers come back
  uint16_t q_head = kNone;  // buffers waiting to be sent, in order (linked by next_)
  uint16_t q_tail = kNone;
  uint32_t send_off = 0;  // bytes of the head buffer already sent
};

class Server {
 public:
  Server(const bench::ServerOptions& opts, bench::BoundPair bound)
      : opts_(opts), listen_fd_(bound.tcp_fd), udp_fd_(bound.udp_fd) {
    io_uring_params p{};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = kEntries * 4;
    int r = io_uring_queue_init_params(kEntries, &ring_, &p);
    if (r < 0) {
      p = io_uring_params{};
      p.flags = IORING_SETUP_CQSIZE;
      p.cq_entries = kEntries * 4;
      r = io_uring_queue_init_params(kEntries, &ring_, &p);
    }
    if (r < 0) {
      errno = -r;
      bench::Die("io_uring_queue_init_params");
    }
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    nfiles_ = static_cast<unsigned>(std::min<rlim_t>(rl.rlim_cur, 65536));
    r = io_uring_register_files_sparse(&ring_, nfiles_);
    if (r < 0) {
      errno = -r;
      bench::Die("io_uring_register_files_sparse");
    }
    conns_.resize(nfiles_);
    starved_.reserve(nfiles_);
    // The provided buffer ring: page-aligned ring memory, then the buffers themselves.
    size_t ring_bytes = kBufs * sizeof(io_uring_buf);
    void* mem = nullptr;
    if (posix_memalign(&mem, 4096, ring_bytes) != 0) bench::Die("posix_memalign");
    br_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(br_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(br_);
    reg.ring_entries = kBufs;
    reg.bgid = kGroup;
    r = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (r < 0) {
      errno = -r;
      bench::Die("io_uring_register_buf_ring");
    }
    bufs_ = std::make_unique<char[]>(static_cast<size_t>(kBufs) * kBufStride);
    next_.assign(kBufs, kNone);
    len_.assign(kBufs, 0);
    for (unsigned i = 0; i < kBufs; ++i)
      io_uring_buf_ring_add(br_, Buf(static_cast<uint16_t>(i)), kBufSize, static_cast<uint16_t>(i),
                            io_uring_buf_ring_mask(kBufs), static_cast<int>(i));
    io_uring_buf_ring_advance(br_, kBufs);

    sig_fd_ = bench::SignalFd(SFD_CLOEXEC);
    bench::SetNoDelay(listen_fd_);  // inherited by every accepted socket
    ArmAccept();
    ArmSignal();
    ArmUdp();
  }

  int Run() {
    while (!stop_) {
      ReturnBuffers();
      int r =
          udp_more_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit_and_wait(&ring_, 1);
      if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
        errno = -r;
        bench::Die("io_uring_submit_and_wait");
      }
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        Handle(cqe);
        ++seen;
      }
      io_uring_cq_advance(&ring_, seen);
      if (udp_more_) {  // once per turn, however many poll completions came
        udp_more_ = false;
        Udp();
      }
    }
    bench::PrintStats("uring", "exit", ++seq_, c_);
    return 0;
  }

 private:
  char* Buf(uint16_t bid) { return bufs_.get() + static_cast<size_t>(bid) * kBufStride; }

  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {  // the SQ ring is full: hand it over and take a fresh one
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  void ArmAccept() {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_multishot_accept_direct(sqe, listen_fd_, nullptr, nullptr, 0);
    io_uring_sqe_set_data64(sqe, Tag(kAccept, 0));
  }
  void ArmSignal() {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_read(sqe, sig_fd_, &si_, sizeof si_, 0);
    io_uring_sqe_set_data64(sqe, Tag(kSignal, 0));
  }
  void ArmUdp() {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_poll_multishot(sqe, udp_fd_, POLLIN);
    io_uring_sqe_set_data64(sqe, Tag(kUdpPoll, 0));
  }
  void ArmRecv(uint32_t idx) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_recv_multishot(sqe, static_cast<int>(idx), nullptr, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = kGroup;
    io_uring_sqe_set_data64(sqe, Tag(kRecv, idx));
    conns_[idx].recv_armed = true;
  }
  void ArmSend(uint32_t idx) {
    Conn& c = conns_[idx];
    uint16_t bid = c.q_head;
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_send(sqe, static_cast<int>(idx), Buf(bid) + c.send_off, len_[bid] - c.send_off,
                       MSG_WAITALL | MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, Tag(kSend, idx, bid));
    c.sending = true;
  }
  void Close(uint32_t idx) {
    Conn& c = conns_[idx];
    if (!c.open || c.closing) return;
    c.closing = true;
    if (c.sending || c.recv_armed) return;  // the last completion closes it
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_close_direct(sqe, idx);
    io_uring_sqe_set_data64(sqe, Tag(kClose, idx));
  }
  void MaybeFinishClose(uint32_t idx) {
    Conn& c = conns_[idx];
    if (c.closing && !c.sending && !c.recv_armed) {
      c.closing = false;  // Close() sets it again and submits the close_direct
      Close(idx);
    }
  }

  void Release(uint16_t bid) {
    io_uring_buf_ring_add(br_, Buf(bid), kBufSize, bid, io_uring_buf_ring_mask(kBufs),
                          static_cast<int>(returned_));
    ++returned_;
  }
  void ReturnBuffers() {
    if (returned_ != 0) {
      io_uring_buf_ring_advance(br_, static_cast<int>(returned_));
      in_ring_ += returned_;
      returned_ = 0;
    }
    // The count can be ahead of the kernel (buffers it filled whose CQEs are not reaped yet):
    // then the recv ends with ENOBUFS again and waits for the next return.
    if (in_ring_ == 0) return;
    while (!starved_.empty()) {  // connections whose recv ended for want of a buffer
      uint32_t idx = starved_.back();
      starved_.pop_back();
      Conn& c = conns_[idx];
      c.starved = false;
      if (c.open && !c.closing && !c.recv_armed) ArmRecv(idx);
    }
  }

  void Handle(io_uring_cqe* cqe) {
    uint64_t tag = io_uring_cqe_get_data64(cqe);
    Op op = static_cast<Op>(tag >> 56);
    uint32_t idx = static_cast<uint32_t>(tag);
    bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    int res = cqe->res;
    switch (op) {
      case kAccept:
        if (res >= 0) {
          Conn& c = conns_[static_cast<size_t>(res)];
          c = Conn{};
          c.open = true;
          ++c_.tcp_accepts;
          ArmRecv(static_cast<uint32_t>(res));
        }
        if (!more) ArmAccept();
        break;
      case kRecv:
        OnRecv(idx, res, cqe->flags, more);
        break;
      case kSend:
        OnSend(idx, static_cast<uint16_t>(tag >> 32), res);
        break;
      case kClose:
        conns_[idx].open = false;
        conns_[idx].closing = false;
        break;
      case kSignal:
        if (res == static_cast<int>(sizeof si_)) {
          if (si_.ssi_signo == SIGUSR1) {
            bench::PrintStats("uring", "usr1", ++seq_, c_);
          } else {
            stop_ = true;
          }
        }
        ArmSignal();
        break;
      case kUdpPoll:
        udp_more_ = true;
        if (!more) ArmUdp();
        break;
    }
  }

  void OnRecv(uint32_t idx, int res, uint32_t flags, bool more) {
    Conn& c = conns_[idx];
    if (!more) c.recv_armed = false;
    if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
      uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
      --in_ring_;
      ++c_.tcp_reads;
      c_.tcp_rx_bytes += static_cast<uint64_t>(res);
      if (opts_.mode == Mode::kSink || c.closing) {
        Release(bid);
      } else {
        len_[bid] = static_cast<uint32_t>(res);
        next_[bid] = kNone;
        if (c.q_tail == kNone) {
          c.q_head = c.q_tail = bid;
        } else {
          next_[c.q_tail] = bid;
          c.q_tail = bid;
        }
        if (!c.sending) {
          c.send_off = 0;
          ArmSend(idx);
        }
      }
      if (!more && !c.closing) ArmRecv(idx);  // ended without an error: go on
      return;
    }
    if (res == -ENOBUFS) {
      if (!c.starved) {
        c.starved = true;
        starved_.push_back(idx);
      }
      return;
    }
    if (!more) {  // end of stream or an error
      Close(idx);
      MaybeFinishClose(idx);
    }
  }

  void OnSend(uint32_t idx, uint16_t bid, int res) {
    Conn& c = conns_[idx];
    c.sending = false;
    if (res < 0) {
      DropQueue(c);
      Close(idx);
      MaybeFinishClose(idx);
      return;
    }
    c_.tcp_tx_bytes += static_cast<uint64_t>(res);
    c.send_off += static_cast<uint32_t>(res);
    if (c.send_off < len_[bid] && !c.closing) {
      ArmSend(idx);  // a short send: the rest of the same buffer
      return;
    }
    c.q_head = next_[bid];
    if (c.q_head == kNone) c.q_tail = kNone;
    Release(bid);
    c.send_off = 0;
    if (c.closing) {
      DropQueue(c);
      MaybeFinishClose(idx);
    } else if (c.q_head != kNone) {
      ArmSend(idx);
    }
  }

  void DropQueue(Conn& c) {
    for (uint16_t b = c.q_head; b != kNone;) {
      uint16_t n = next_[b];
      Release(b);
      b = n;
    }
    c.q_head = c.q_tail = kNone;
  }

  // As E: echo mode answers each recvmmsg batch with one sendmmsg; at most 16 batches per
  // turn, then the rest is taken in the next turn (udp_more_), after the TCP completions.
  void Udp() {
    for (int round = 0; round < 16; ++round) {
      int n = udp_.Round(udp_fd_, opts_.mode, c_);
      if (n <= 0) return;
      if (n < bench::kUdpBatch) return;  // drained: the next datagram wakes the poll again
    }
    udp_more_ = true;
  }

  bench::ServerOptions opts_;
  int listen_fd_;
  int udp_fd_;
  int sig_fd_ = -1;
  io_uring ring_{};
  unsigned nfiles_ = 0;
  io_uring_buf_ring* br_ = nullptr;
  std::unique_ptr<char[]> bufs_;
  std::vector<uint16_t> next_;
  std::vector<uint32_t> len_;
  unsigned returned_ = 0;     // released since the last advance
  unsigned in_ring_ = kBufs;  // buffers the ring holds, as far as the reaped CQEs tell
  std::vector<uint32_t> starved_;
  bool stop_ = false;
  bool udp_more_ = false;
  uint64_t seq_ = 0;
  Counters c_;
  std::vector<Conn> conns_;
  signalfd_siginfo si_{};
  bench::UdpBatch udp_;
};

}  // namespace

int main(int argc, char** argv) {
  return bench::ServeMain<Server>(argc, argv);
}
