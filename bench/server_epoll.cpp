// bench-server-epoll: the near-limit baseline "E". Raw level-triggered epoll, one thread.
//
// Level-triggered because for small messages it needs the fewest system calls: one read per
// readiness report (a short read means the socket is drained), no extra read that ends in
// EAGAIN as edge-triggered would need. TCP echo writes straight from the shared read buffer;
// only a partial write copies the rest into the connection's own buffer (allocated once per
// descriptor slot and reused) and switches the interest to EPOLLOUT until it is drained.
// UDP uses recvmmsg/sendmmsg in batches of 64 (see Udp() for when it loops).
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <csignal>
#include <memory>
#include <vector>

#include "common/server_common.h"

namespace {

using bench::Counters;
using bench::Mode;

struct Conn {
  bool open = false;
  bool out_mode = false;  // waiting for EPOLLOUT to flush `pending`
  uint32_t pending_off = 0;
  uint32_t pending_len = 0;
  std::unique_ptr<char[]> pending;  // kReadSize bytes, allocated on first partial write
};

class Server {
 public:
  Server(const bench::ServerOptions& opts, bench::BoundPair bound)
      : opts_(opts), listen_fd_(bound.tcp_fd), udp_fd_(bound.udp_fd) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) bench::Die("epoll_create1");
    sig_fd_ = bench::SignalFd(SFD_NONBLOCK | SFD_CLOEXEC);
    Add(listen_fd_, EPOLLIN);
    Add(udp_fd_, EPOLLIN);
    Add(sig_fd_, EPOLLIN);
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    conns_.resize(static_cast<size_t>(rl.rlim_cur));
  }

  int Run() {
    epoll_event events[512];
    while (!stop_) {
      int n = epoll_wait(ep_, events, 512, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        bench::Die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        int fd = static_cast<int>(events[i].data.u64);
        uint32_t ev = events[i].events;
        if (fd == listen_fd_) {
          Accept();
        } else if (fd == udp_fd_) {
          Udp();
        } else if (fd == sig_fd_) {
          Signal();
        } else if (conns_[static_cast<size_t>(fd)].out_mode) {
          Flush(fd);
        } else if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          Read(fd);
        }
      }
    }
    bench::PrintStats("epoll", "exit", ++seq_, c_);
    return 0;
  }

 private:
  void Add(int fd, uint32_t ev) {
    epoll_event e{};
    e.events = ev;
    e.data.u64 = static_cast<uint64_t>(fd);
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &e) != 0) bench::Die("epoll_ctl add");
  }
  void Mod(int fd, uint32_t ev) {
    epoll_event e{};
    e.events = ev;
    e.data.u64 = static_cast<uint64_t>(fd);
    epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &e);
  }

  void Accept() {
    for (int i = 0; i < 64; ++i) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a transient error: level-triggered will retry
      if (static_cast<size_t>(fd) >= conns_.size()) {
        close(fd);
        continue;
      }
      bench::SetNoDelay(fd);
      Conn& c = conns_[static_cast<size_t>(fd)];
      c.open = true;
      c.out_mode = false;
      c.pending_off = c.pending_len = 0;
      ++c_.tcp_accepts;
      Add(fd, EPOLLIN);
    }
  }

  void Close(int fd) {
    conns_[static_cast<size_t>(fd)].open = false;
    close(fd);  // also removes it from the epoll set
  }

  void Read(int fd) {
    ssize_t n = read(fd, rbuf_.get(), bench::kReadSize);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      Close(fd);
      return;
    }
    ++c_.tcp_reads;
    c_.tcp_rx_bytes += static_cast<uint64_t>(n);
    if (opts_.mode == Mode::kSink) return;
    ssize_t w = write(fd, rbuf_.get(), static_cast<size_t>(n));
    if (w < 0) {
      if (errno != EAGAIN) {
        Close(fd);
        return;
      }
      w = 0;
    }
    c_.tcp_tx_bytes += static_cast<uint64_t>(w);
    if (w < n) {
      Conn& c = conns_[static_cast<size_t>(fd)];
      if (!c.pending) c.pending = std::make_unique<char[]>(bench::kReadSize);  // once per slot
      c.pending_off = 0;
      c.pending_len = static_cast<uint32_t>(n - w);
      std::memcpy(c.pending.get(), rbuf_.get() + w, c.pending_len);
      c.out_mode = true;
      Mod(fd, EPOLLOUT);  // stop reading until the echo is flushed: natural back-pressure
    }
  }

  void Flush(int fd) {
    Conn& c = conns_[static_cast<size_t>(fd)];
    ssize_t w = write(fd, c.pending.get() + c.pending_off, c.pending_len - c.pending_off);
    if (w < 0) {
      if (errno == EAGAIN) return;
      Close(fd);
      return;
    }
    c_.tcp_tx_bytes += static_cast<uint64_t>(w);
    c.pending_off += static_cast<uint32_t>(w);
    if (c.pending_off == c.pending_len) {
      c.out_mode = false;
      Mod(fd, EPOLLIN);
    }
  }

  // Echo mode: one recvmmsg per readiness (a short batch means drained), then one sendmmsg.
  // Sink mode: keep calling recvmmsg until EAGAIN (at most 16 batches). The extra call costs
  // one syscall but catches datagrams that arrived meanwhile, so the blasting sender wakes
  // this thread far less often: measured +40% datagrams/s and -10% CPU per datagram for
  // single sends on the 2-vCPU VM.
  void Udp() {
    for (int round = 0; round < 16; ++round) {
      int n = udp_.Round(udp_fd_, opts_.mode, c_);
      if (n <= 0) return;
      if (opts_.mode == Mode::kSink) continue;
      if (n < bench::kUdpBatch) return;
    }
  }

  void Signal() {
    signalfd_siginfo si;
    while (read(sig_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      if (si.ssi_signo == SIGUSR1) {
        bench::PrintStats("epoll", "usr1", ++seq_, c_);
      } else {
        stop_ = true;
      }
    }
  }

  bench::ServerOptions opts_;
  int listen_fd_;
  int udp_fd_;
  int ep_ = -1;
  int sig_fd_ = -1;
  bool stop_ = false;
  uint64_t seq_ = 0;
  Counters c_;
  std::vector<Conn> conns_;
  std::unique_ptr<char[]> rbuf_ = std::make_unique<char[]>(bench::kReadSize);
  bench::UdpBatch udp_;
};

}  // namespace

int main(int argc, char** argv) {
  return bench::ServeMain<Server>(argc, argv);
}
