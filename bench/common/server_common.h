// Shared plumbing for the bench-server-* peers: command line, binding TCP+UDP on one port,
// and the stats line format. Nothing here runs per message.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace bench {

enum class Mode { kEcho, kSink };

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  Mode mode = Mode::kEcho;
};

// Counters every server keeps; printed as one JSON line on SIGUSR1 and on exit.
struct Counters {
  uint64_t tcp_accepts = 0;
  uint64_t tcp_rx_bytes = 0;
  uint64_t tcp_tx_bytes = 0;
  uint64_t tcp_reads = 0;
  uint64_t udp_rx = 0;
  uint64_t udp_tx = 0;
  uint64_t udp_drops = 0;       // echo replies that could not be sent (socket buffer full)
  uint64_t heap_fallbacks = 0;  // per-operation heap allocations (must stay 0)
};

[[noreturn]] inline void Die(const char* what) {
  std::fprintf(stderr, "fatal: %s: %s\n", what, std::strerror(errno));
  std::exit(2);
}

inline void Usage(const char* prog) {
  std::fprintf(stderr, "usage: %s [--host 127.0.0.1] [--port 0] [--mode echo|sink]\n", prog);
  std::exit(2);
}

inline ServerOptions ParseServerArgs(int argc, char** argv) {
  ServerOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage(argv[0]);
      return argv[++i];
    };
    if (a == "--host") {
      o.host = next();
    } else if (a == "--port") {
      o.port = std::atoi(next().c_str());
    } else if (a == "--mode") {
      std::string m = next();
      if (m == "echo") {
        o.mode = Mode::kEcho;
      } else if (m == "sink") {
        o.mode = Mode::kSink;
      } else {
        Usage(argv[0]);
      }
    } else {
      Usage(argv[0]);
    }
  }
  return o;
}

inline void RaiseNoFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Blocks SIGUSR1, SIGTERM and SIGINT and returns a signalfd (with `flags`) that reads them.
inline int SignalFd(int flags) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int fd = signalfd(-1, &set, flags);
  if (fd < 0) Die("signalfd");
  return fd;
}

inline void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct BoundPair {
  int tcp_fd = -1;  // listening, non-blocking
  int udp_fd = -1;  // bound, non-blocking
  int port = 0;
};

// Binds a TCP listener and a UDP socket to the same port. With port 0 the kernel picks the
// TCP port and the UDP socket follows it (retrying if that UDP port is taken).
inline BoundPair BindPair(const ServerOptions& o) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr) != 1) {
    std::fprintf(stderr, "fatal: bad --host %s (IPv4 literal expected)\n", o.host.c_str());
    std::exit(2);
  }
  for (int attempt = 0; attempt < 50; ++attempt) {
    BoundPair p;
    p.tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p.tcp_fd < 0) Die("socket");
    int one = 1;
    setsockopt(p.tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sa.sin_port = htons(static_cast<uint16_t>(o.port));
    if (bind(p.tcp_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) Die("bind tcp");
    socklen_t len = sizeof sa;
    getsockname(p.tcp_fd, reinterpret_cast<sockaddr*>(&sa), &len);
    p.port = ntohs(sa.sin_port);
    p.udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p.udp_fd < 0) Die("socket");
    int rcv = 4 << 20;  // absorb blasts; the kernel caps this at net.core.rmem_max
    setsockopt(p.udp_fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    if (bind(p.udp_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      if (o.port == 0 && errno == EADDRINUSE) {
        close(p.tcp_fd);
        close(p.udp_fd);
        sa.sin_port = 0;
        continue;
      }
      Die("bind udp");
    }
    if (listen(p.tcp_fd, 4096) != 0) Die("listen");
    return p;
  }
  std::fprintf(stderr, "fatal: no port free for both TCP and UDP\n");
  std::exit(2);
}

inline void PrintListening(const ServerOptions& o, int port) {
  std::printf("listening on %s:%d\n", o.host.c_str(), port);
  std::fflush(stdout);
}

inline uint64_t TvMicros(const timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1000000u + static_cast<uint64_t>(tv.tv_usec);
}

// One JSON line on stdout; `reason` is "usr1" or "exit".
inline void PrintStats(const char* server, const char* reason, uint64_t seq, const Counters& c) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf(
      "{\"stats\":{\"server\":\"%s\",\"reason\":\"%s\",\"seq\":%llu,\"user_us\":%llu,"
      "\"sys_us\":%llu,\"tcp_accepts\":%llu,\"tcp_rx_bytes\":%llu,\"tcp_tx_bytes\":%llu,"
      "\"tcp_reads\":%llu,\"udp_rx\":%llu,\"udp_tx\":%llu,\"udp_drops\":%llu,"
      "\"heap_fallbacks\":%llu}}\n",
      server, reason, static_cast<unsigned long long>(seq),
      static_cast<unsigned long long>(TvMicros(ru.ru_utime)),
      static_cast<unsigned long long>(TvMicros(ru.ru_stime)),
      static_cast<unsigned long long>(c.tcp_accepts),
      static_cast<unsigned long long>(c.tcp_rx_bytes),
      static_cast<unsigned long long>(c.tcp_tx_bytes), static_cast<unsigned long long>(c.tcp_reads),
      static_cast<unsigned long long>(c.udp_rx), static_cast<unsigned long long>(c.udp_tx),
      static_cast<unsigned long long>(c.udp_drops),
      static_cast<unsigned long long>(c.heap_fallbacks));
  std::fflush(stdout);
}

constexpr size_t kReadSize = 64 * 1024;
constexpr int kUdpBatch = 64;
constexpr size_t kUdpMaxDatagram = 64 * 1024;

// The recvmmsg/sendmmsg batch of the epoll and io_uring servers: kUdpBatch datagram buffers
// with their iovecs, headers and peer addresses, wired together once.
class UdpBatch {
 public:
  UdpBatch() {
    for (int i = 0; i < kUdpBatch; ++i) {
      iov_[i].iov_base = buf_.get() + static_cast<size_t>(i) * kUdpMaxDatagram;
      iov_[i].iov_len = kUdpMaxDatagram;
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_name = &peers_[i];
    }
  }
  UdpBatch(const UdpBatch&) = delete;
  UdpBatch& operator=(const UdpBatch&) = delete;

  // One recvmmsg on `fd` (non-blocking); in echo mode the datagrams go back to their senders
  // with one sendmmsg (replies the socket buffer cannot take count as drops). Returns what
  // recvmmsg returned: the datagrams received, or <= 0 when none were waiting.
  int Round(int fd, Mode mode, Counters& c) {
    for (int i = 0; i < kUdpBatch; ++i)
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    int n = recvmmsg(fd, msgs_, kUdpBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return n;
    c.udp_rx += static_cast<uint64_t>(n);
    if (mode == Mode::kEcho) {
      for (int i = 0; i < n; ++i)
        iov_[i].iov_len = msgs_[i].msg_len;
      int sent = sendmmsg(fd, msgs_, static_cast<unsigned>(n), MSG_DONTWAIT);
      if (sent < 0) sent = 0;
      c.udp_tx += static_cast<uint64_t>(sent);
      c.udp_drops += static_cast<uint64_t>(n - sent);
      for (int i = 0; i < n; ++i)
        iov_[i].iov_len = kUdpMaxDatagram;
    }
    return n;
  }

 private:
  std::unique_ptr<char[]> buf_ = std::make_unique<char[]>(kUdpBatch * kUdpMaxDatagram);
  mmsghdr msgs_[kUdpBatch]{};
  iovec iov_[kUdpBatch]{};
  sockaddr_in peers_[kUdpBatch]{};
};

// The start of every server's main(): parse the command line into *opts, raise the
// descriptor limit, ignore SIGPIPE, bind the TCP listener and the UDP socket.
inline BoundPair StartServer(int argc, char** argv, ServerOptions* opts) {
  *opts = ParseServerArgs(argc, argv);
  RaiseNoFileLimit();
  signal(SIGPIPE, SIG_IGN);
  return BindPair(*opts);
}

// main() of a server whose constructor takes (options, bound sockets) and whose Run() returns
// the exit code.
template <class Server>
int ServeMain(int argc, char** argv) {
  ServerOptions opts;
  BoundPair bound = StartServer(argc, argv, &opts);
  Server server(opts, bound);
  PrintListening(opts, bound.port);
  return server.Run();
}

}  // namespace bench
