// bench-load: the one load generator used against every contender.
//
// Single thread, epoll, pinned to the CPU given by --cpu. Each case runs a warm-up, then a
// measurement window; at both window edges it sends SIGUSR1 to --server-pid so the server
// prints its counters and CPU time (see README.md). Every echoed byte is compared with what
// was sent: the stream at offset o of connection k is Pattern()[(o + k * 977) % kPeriod].
// Prints one JSON object per case on stdout; exits 1 if any case saw an error.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Case table: the single source of truth, also printed by --list for the runner.

enum class Kind { kEcho, kPump, kChurn, kChurnUnderFlood, kUdpPingPong, kUdpBlast };
// kBatched: UDP GSO of as many segments as fit (else sendmmsg); kGso32: UDP GSO of 32 (else
// sendmmsg), the batch of xwsk's send_messages blast.
enum class Send { kSingle, kMmsg, kBatched, kGso32 };

struct CaseDef {
  const char* name;
  Kind kind;
  const char* server_mode;  // "echo" or "sink"
  int conns;
  size_t size;  // message / block / write / datagram size in bytes
  int depth;    // messages in flight per connection (echo cases)
  Send send;
  const char* metric;  // what the headline rate counts
  const char* what;
};

constexpr CaseDef kCases[] = {
    {"tcp_pingpong_1", Kind::kEcho, "echo", 1, 64, 1, Send::kSingle, "msg/s",
     "1 connection, 64 B, one in flight"},
    {"tcp_echo_c50_64", Kind::kEcho, "echo", 50, 64, 1, Send::kSingle, "msg/s",
     "50 connections, 64 B, one in flight each"},
    {"tcp_echo_c1000_64", Kind::kEcho, "echo", 1000, 64, 1, Send::kSingle, "msg/s",
     "1000 connections, 64 B, one in flight each"},
    {"tcp_echo_pipelined_c10_d16_64", Kind::kEcho, "echo", 10, 64, 16, Send::kSingle, "msg/s",
     "10 connections x 16 in flight, 64 B"},
    {"tcp_block_pingpong_c100_16k", Kind::kEcho, "echo", 100, 16384, 1, Send::kSingle, "msg/s",
     "100 connections, 16 KiB blocks, one in flight each"},
    {"tcp_pump_1_64k", Kind::kPump, "sink", 1, 65536, 0, Send::kSingle, "Gbit/s",
     "1 connection, 64 KiB writes into a sink"},
    {"tcp_pump_100_8k", Kind::kPump, "sink", 100, 8192, 0, Send::kSingle, "Gbit/s",
     "100 connections, 8 KiB writes into a sink"},
    {"tcp_churn_c100", Kind::kChurn, "echo", 100, 2, 1, Send::kSingle, "conn/s",
     "100 in parallel: connect, 2 B echoed, close, repeat"},
    {"tcp_churn_udp_flood_c10", Kind::kChurnUnderFlood, "echo", 10, 2, 1, Send::kMmsg, "conn/s",
     "10 in parallel: connect, 2 B echoed, close, while 64 B datagrams flood the same server "
     "(sendmmsg x32 from a second thread): connect + echo latency under a flood"},
    {"udp_pingpong_64", Kind::kUdpPingPong, "echo", 1, 64, 1, Send::kSingle, "msg/s",
     "64 B datagram round trips"},
    {"udp_blast_64_single", Kind::kUdpBlast, "sink", 1, 64, 0, Send::kSingle, "pkt/s",
     "64 B datagrams, one send per datagram"},
    {"udp_blast_64_batched", Kind::kUdpBlast, "sink", 1, 64, 0, Send::kBatched, "pkt/s",
     "64 B datagrams, UDP GSO (sendmmsg x32 if no GSO)"},
    {"udp_blast_1200_single", Kind::kUdpBlast, "sink", 1, 1200, 0, Send::kSingle, "pkt/s",
     "1200 B datagrams, one send per datagram"},
    {"udp_blast_1200_batched", Kind::kUdpBlast, "sink", 1, 1200, 0, Send::kBatched, "pkt/s",
     "1200 B datagrams, UDP GSO (sendmmsg x32 if no GSO)"},
    {"udp_blast_64_mmsg", Kind::kUdpBlast, "sink", 1, 64, 0, Send::kMmsg, "pkt/s",
     "64 B datagrams, sendmmsg x32"},
    {"udp_blast_1200_mmsg", Kind::kUdpBlast, "sink", 1, 1200, 0, Send::kMmsg, "pkt/s",
     "1200 B datagrams, sendmmsg x32"},
    {"udp_blast_64_gso32", Kind::kUdpBlast, "sink", 1, 64, 0, Send::kGso32, "pkt/s",
     "64 B datagrams, UDP GSO x32 (sendmmsg x32 if no GSO)"},
    {"udp_blast_1200_gso32", Kind::kUdpBlast, "sink", 1, 1200, 0, Send::kGso32, "pkt/s",
     "1200 B datagrams, UDP GSO x32 (sendmmsg x32 if no GSO)"},
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::vector<std::string> cases;
  double warmup = 0.5;
  double measure = 2.0;
  int cpu = -1;
  pid_t server_pid = 0;
};

// ---------------------------------------------------------------------------------------
// Helpers

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

constexpr size_t kPeriod = 65521;  // prime, so shifted or repeated data never lines up
constexpr size_t kMaxChunk = 256 * 1024;

const unsigned char* Pattern() {
  static const std::unique_ptr<unsigned char[]> pat = [] {
    auto p = std::make_unique<unsigned char[]>(kPeriod + kMaxChunk);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < kPeriod; ++i) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      p[i] = static_cast<unsigned char>(x >> 24);
    }
    for (size_t i = kPeriod; i < kPeriod + kMaxChunk; ++i)
      p[i] = p[i - kPeriod];
    return p;
  }();
  return pat.get();
}

const unsigned char* PatternAt(uint64_t offset, int conn) {
  return Pattern() + (offset + static_cast<uint64_t>(conn) * 977u) % kPeriod;
}

sockaddr_in Target(const Options& o) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr) != 1) {
    std::fprintf(stderr, "bad --host %s\n", o.host.c_str());
    std::exit(2);
  }
  return sa;
}

// Runs a cleanup when the scope ends, however the case returns.
template <typename F>
class ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ~ScopeExit() { f_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;

 private:
  F f_;
};

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Collects errors; keeps the first few descriptions.
struct Errors {
  uint64_t count = 0;
  std::vector<std::string> detail;
  void Add(const std::string& what) {
    ++count;
    if (detail.size() < 5) detail.push_back(what);
  }
  void AddErrno(const char* what) { Add(std::string(what) + ": " + std::strerror(errno)); }
};

// Warm-up then measurement window; tells the server at both edges.
class Window {
 public:
  Window(const Options& o, std::function<void()> on_start, std::function<void()> on_end)
      : server_pid_(o.server_pid), on_start_(std::move(on_start)), on_end_(std::move(on_end)) {
    t_start_ = NowNs() + static_cast<uint64_t>(o.warmup * 1e9);
    t_end_ = t_start_ + static_cast<uint64_t>(o.measure * 1e9);
  }
  bool measuring() const { return phase_ == 1; }
  bool done() const { return phase_ == 2; }
  // Advances the phase; returns true once the window has closed.
  bool Tick(uint64_t now) {
    if (phase_ == 0 && now >= t_start_) {
      phase_ = 1;
      Signal();
      real_start_ = NowNs();
      on_start_();
    }
    if (phase_ == 1 && now >= t_end_) {
      phase_ = 2;
      real_end_ = NowNs();
      on_end_();
      Signal();
    }
    return phase_ == 2;
  }
  // Ends the window early (the case stopped before it was over): both edges still happen,
  // so the server still prints its two stats lines.
  void Finish() {
    if (phase_ == 0) t_start_ = 0;
    t_end_ = 0;
    Tick(NowNs());
  }
  int TimeoutMs(uint64_t now) const {
    uint64_t next = phase_ == 0 ? t_start_ : t_end_;
    if (now >= next) return 0;
    return static_cast<int>((next - now) / 1000000u) + 1;
  }
  double seconds() const { return static_cast<double>(real_end_ - real_start_) / 1e9; }

 private:
  void Signal() {
    if (server_pid_ > 0) kill(server_pid_, SIGUSR1);
  }
  pid_t server_pid_;
  std::function<void()> on_start_, on_end_;
  uint64_t t_start_, t_end_;
  uint64_t real_start_ = 0, real_end_ = 0;
  int phase_ = 0;
};

// Counts that are snapshotted at the window edges.
struct Tally {
  uint64_t msgs = 0;
  uint64_t bytes = 0;
};

struct Latency {
  std::vector<uint32_t> ns;
  Latency() { ns.reserve(1 << 22); }
  void Add(uint64_t v) {
    if (ns.size() < ns.capacity()) ns.push_back(static_cast<uint32_t>(std::min<uint64_t>(v, ~0u)));
  }
  void Report(json& out) {
    if (ns.empty()) return;
    std::sort(ns.begin(), ns.end());
    auto q = [&](double p) {
      size_t i = std::min(ns.size() - 1, static_cast<size_t>(p * static_cast<double>(ns.size())));
      return static_cast<double>(ns[i]) / 1000.0;
    };
    out["p50_us"] = q(0.50);
    out["p99_us"] = q(0.99);
    out["p999_us"] = q(0.999);
  }
};

// A socket of `type` (SOCK_STREAM or SOCK_DGRAM) connected to `sa` (blocking), or -1.
int ConnectedSocket(int type, const sockaddr_in& sa, Errors& err) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err.AddErrno("socket");
    return -1;
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    err.AddErrno("connect");
    close(fd);
    return -1;
  }
  return fd;
}

int ConnectBlocking(const sockaddr_in& sa, Errors& err) {
  int fd = ConnectedSocket(SOCK_STREAM, sa, err);
  if (fd < 0) return -1;
  SetNoDelay(fd);
  SetNonBlocking(fd);
  return fd;
}

void EpollAdd(int ep, int fd, uint32_t events, uint64_t data) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = data;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

void EpollMod(int ep, int fd, uint32_t events, uint64_t data) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = data;
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

void Finish(json& out, const Window& w, const Tally& a, const Tally& b, const char* metric) {
  double s = w.seconds();
  uint64_t msgs = b.msgs - a.msgs;
  uint64_t bytes = b.bytes - a.bytes;
  out["measure_s"] = s;
  out["messages"] = msgs;
  out["bytes"] = bytes;
  out["msgs_per_s"] = s > 0 ? static_cast<double>(msgs) / s : 0.0;
  out["gbit_per_s"] = s > 0 ? static_cast<double>(bytes) * 8.0 / s / 1e9 : 0.0;
  out["total_messages"] = b.msgs;
  out["total_bytes"] = b.bytes;
  std::string m = metric;
  out["rate"] = m == "Gbit/s" ? out["gbit_per_s"] : out["msgs_per_s"];
}

// ---------------------------------------------------------------------------------------
// TCP request/response echo: conns x depth messages of `size` bytes in flight.

struct EchoConn {
  int fd = -1;
  uint64_t sent = 0;    // stream bytes written
  uint64_t target = 0;  // stream bytes that should be written by now
  uint64_t recvd = 0;   // stream bytes received and verified
  uint64_t t_sent = 0;  // when the in-flight message went out (depth 1)
  bool want_out = false;
};

json RunEcho(const Options& o, const CaseDef& c, Errors& err) {
  json out;
  sockaddr_in sa = Target(o);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<EchoConn> conns(static_cast<size_t>(c.conns));
  ScopeExit cleanup([&] {
    for (auto& k : conns) {
      if (k.fd >= 0) close(k.fd);
    }
    close(ep);
  });
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = ConnectBlocking(sa, err);
    if (conns[i].fd < 0) return out;
    EpollAdd(ep, conns[i].fd, EPOLLIN, i);
  }
  auto rbuf = std::make_unique<unsigned char[]>(65536);
  Tally tally, t0, t1;
  Latency lat;
  Window win(
      o, [&] { t0 = tally; }, [&] { t1 = tally; });
  const uint64_t msg = c.size;
  const bool timed = c.depth == 1;

  auto pump = [&](size_t i) -> bool {
    EchoConn& k = conns[i];
    while (k.sent < k.target) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(k.target - k.sent, kMaxChunk));
      ssize_t w = write(k.fd, PatternAt(k.sent, static_cast<int>(i)), n);
      if (w < 0) {
        if (errno == EAGAIN) break;
        err.AddErrno("write");
        return false;
      }
      k.sent += static_cast<uint64_t>(w);
    }
    bool want = k.sent < k.target;
    if (want != k.want_out) {
      k.want_out = want;
      EpollMod(ep, k.fd, want ? (EPOLLIN | EPOLLOUT) : EPOLLIN, i);
    }
    return true;
  };

  uint64_t now = NowNs();
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].target = msg * static_cast<uint64_t>(c.depth);
    conns[i].t_sent = now;
    if (!pump(i)) return out;
  }
  epoll_event events[256];
  std::vector<bool> dead(conns.size(), false);
  size_t live = conns.size();
  while (live > 0) {
    now = NowNs();
    if (win.Tick(now)) break;
    int n = epoll_wait(ep, events, 256, win.TimeoutMs(now));
    if (n < 0 && errno != EINTR) {
      err.AddErrno("epoll_wait");
      break;
    }
    for (int e = 0; e < n; ++e) {
      size_t i = static_cast<size_t>(events[e].data.u64);
      if (dead[i]) continue;
      EchoConn& k = conns[i];
      bool ok = true;
      if (events[e].events & EPOLLOUT) ok = pump(i);
      if (ok && (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        ssize_t r = read(k.fd, rbuf.get(), 65536);
        if (r > 0) {
          uint64_t before = k.recvd / msg;
          if (k.recvd + static_cast<uint64_t>(r) > k.sent) {
            err.Add("received more bytes than were sent");
            ok = false;
          } else if (std::memcmp(rbuf.get(), PatternAt(k.recvd, static_cast<int>(i)),
                                 static_cast<size_t>(r)) != 0) {
            err.Add("echoed bytes differ from the bytes sent");
            ok = false;
          } else {
            k.recvd += static_cast<uint64_t>(r);
            tally.bytes += static_cast<uint64_t>(r);
            uint64_t done = k.recvd / msg - before;
            if (done > 0) {
              tally.msgs += done;
              k.target = (k.recvd / msg + static_cast<uint64_t>(c.depth)) * msg;
              if (timed) {
                uint64_t t = NowNs();
                if (win.measuring()) lat.Add(t - k.t_sent);
                k.t_sent = t;
              }
              ok = pump(i);
            }
          }
        } else if (r == 0) {
          err.Add("server closed a connection");
          ok = false;
        } else if (errno != EAGAIN) {
          err.AddErrno("read");
          ok = false;
        }
      }
      if (!ok) {
        dead[i] = true;
        --live;
        close(k.fd);
        k.fd = -1;
      }
    }
  }
  win.Finish();
  Finish(out, win, t0, t1, c.metric);
  if (timed) lat.Report(out);
  return out;
}

// ---------------------------------------------------------------------------------------
// TCP pump: one-way writes of `size` bytes into a sink, as fast as the stack takes them.

json RunPump(const Options& o, const CaseDef& c, Errors& err) {
  json out;
  sockaddr_in sa = Target(o);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> fds;
  std::vector<uint64_t> offs(static_cast<size_t>(c.conns), 0);
  ScopeExit cleanup([&] {
    for (int fd : fds)
      close(fd);
    close(ep);
  });
  for (int i = 0; i < c.conns; ++i) {
    int fd = ConnectBlocking(sa, err);
    if (fd < 0) return out;
    fds.push_back(fd);
    EpollAdd(ep, fd, EPOLLOUT, static_cast<uint64_t>(i));
  }
  Tally tally, t0, t1;
  Window win(
      o, [&] { t0 = tally; }, [&] { t1 = tally; });
  epoll_event events[256];
  bool failed = false;
  while (!failed) {
    uint64_t now = NowNs();
    if (win.Tick(now)) break;
    int n = epoll_wait(ep, events, 256, win.TimeoutMs(now));
    for (int e = 0; e < n && !failed; ++e) {
      size_t i = static_cast<size_t>(events[e].data.u64);
      if (events[e].events & (EPOLLERR | EPOLLHUP)) {
        err.Add("sink connection failed");
        failed = true;
        break;
      }
      // Level-triggered, a few writes per readiness: a sink on the other CPU can keep a socket
      // writable forever, and the window must still be ticked.
      for (int k = 0; k < 4; ++k) {
        ssize_t w = write(fds[i], PatternAt(offs[i], static_cast<int>(i)), c.size);
        if (w < 0) {
          if (errno != EAGAIN) {
            err.AddErrno("write");
            failed = true;
          }
          break;
        }
        offs[i] += static_cast<uint64_t>(w);
        tally.bytes += static_cast<uint64_t>(w);
        ++tally.msgs;
        if (static_cast<size_t>(w) < c.size) break;
      }
    }
  }
  win.Finish();
  Finish(out, win, t0, t1, c.metric);
  return out;
}

// ---------------------------------------------------------------------------------------
// TCP churn: `conns` slots, each: connect, send 2 bytes, read the echo, close, repeat.

json RunChurn(const Options& o, const CaseDef& c, Errors& err) {
  json out;
  sockaddr_in sa = Target(o);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct Slot {
    int fd = -1;
    bool connected = false;
    uint64_t t0 = 0;
  };
  std::vector<Slot> slots(static_cast<size_t>(c.conns));
  ScopeExit cleanup([&] {
    for (auto& s : slots) {
      if (s.fd >= 0) close(s.fd);
    }
    close(ep);
  });
  uint64_t serial = 0;
  Tally tally, t0, t1;
  Latency lat;
  Window win(
      o, [&] { t0 = tally; }, [&] { t1 = tally; });
  unsigned char payload[2];

  auto send_probe = [&](size_t i) -> bool {
    const unsigned char* p = PatternAt(serial, static_cast<int>(i));
    ssize_t w = write(slots[i].fd, p, 2);
    if (w != 2) {
      err.AddErrno("write");
      return false;
    }
    EpollMod(ep, slots[i].fd, EPOLLIN, i);
    return true;
  };
  const bool spread_sources = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
  uint64_t next_source = 0;
  auto open_slot = [&](size_t i) -> bool {
    Slot& s = slots[i];
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      err.AddErrno("socket");
      return false;
    }
    s.t0 = NowNs();
    if (spread_sources) {
      // Rotate the source over 127.0.0.2-17 so that each source address recycles its
      // ephemeral ports slowly: with one address, ~15k active closes/s keep most of the
      // 28k-port range in TIME_WAIT, and connect() then depends on reusing TIME_WAIT ports
      // (tcp_tw_reuse, >= 1 s old) or fails with EADDRNOTAVAIL.
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl(0x7f000002u + static_cast<uint32_t>(next_source++ % 16));
      int one = 1;
      setsockopt(s.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      if (bind(s.fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
        err.AddErrno("bind");
        close(s.fd);
        s.fd = -1;
        return false;
      }
    }
    int r = connect(s.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    if (r != 0 && errno != EINPROGRESS) {
      err.AddErrno("connect");
      close(s.fd);
      s.fd = -1;
      return false;
    }
    s.connected = r == 0;
    EpollAdd(ep, s.fd, EPOLLOUT, i);
    return true;
  };

  for (size_t i = 0; i < slots.size(); ++i) {
    if (!open_slot(i)) return out;
  }
  epoll_event events[256];
  bool failed = false;
  while (!failed) {
    uint64_t now = NowNs();
    if (win.Tick(now)) break;
    int n = epoll_wait(ep, events, 256, win.TimeoutMs(now));
    for (int e = 0; e < n && !failed; ++e) {
      size_t i = static_cast<size_t>(events[e].data.u64);
      Slot& s = slots[i];
      if (!s.connected) {
        if (events[e].events & (EPOLLERR | EPOLLHUP)) {
          int soerr = 0;
          socklen_t len = sizeof soerr;
          getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
          err.Add(std::string("connect: ") + std::strerror(soerr));
          failed = true;
          break;
        }
        s.connected = true;
        if (!send_probe(i)) failed = true;
        continue;
      }
      ssize_t r = read(s.fd, payload, sizeof payload);
      if (r < 0 && errno == EAGAIN) continue;
      if (r != 2) {
        // a 1-byte split is legal TCP but never happens on loopback for 2 bytes
        err.Add(r == 0 ? "server closed before echoing" : "short or failed churn read");
        failed = true;
        break;
      }
      if (std::memcmp(payload, PatternAt(serial, static_cast<int>(i)), 2) != 0) {
        err.Add("churn echo differs");
        failed = true;
        break;
      }
      close(s.fd);
      s.fd = -1;
      ++tally.msgs;
      tally.bytes += 2;
      uint64_t t = NowNs();
      if (win.measuring()) lat.Add(t - s.t0);
      if (!open_slot(i)) failed = true;
    }
  }
  win.Finish();
  Finish(out, win, t0, t1, c.metric);
  lat.Report(out);
  return out;
}

// ---------------------------------------------------------------------------------------
// UDP

int UdpSocket(const Options& o, Errors& err) {
  return ConnectedSocket(SOCK_DGRAM, Target(o), err);
}

// Datagram `seq` carries seq in its first 8 bytes and pattern bytes after.
void FillDatagram(unsigned char* p, size_t size, uint64_t seq) {
  std::memcpy(p, PatternAt(seq * 8, 0), size);
  if (size >= 8) std::memcpy(p, &seq, 8);
}

json RunUdpPingPong(const Options& o, const CaseDef& c, Errors& err) {
  json out;
  int fd = UdpSocket(o, err);
  if (fd < 0) return out;
  SetNonBlocking(fd);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  EpollAdd(ep, fd, EPOLLIN, 0);
  unsigned char sbuf[2048], rbuf[2048];
  Tally tally, t0, t1;
  Latency lat;
  Window win(
      o, [&] { t0 = tally; }, [&] { t1 = tally; });
  uint64_t seq = 0, timeouts = 0, stale = 0;
  uint64_t t_sent = 0;
  auto send_next = [&]() -> bool {
    ++seq;
    FillDatagram(sbuf, c.size, seq);
    t_sent = NowNs();
    if (send(fd, sbuf, c.size, 0) != static_cast<ssize_t>(c.size)) {
      err.AddErrno("send");
      return false;
    }
    return true;
  };
  bool failed = !send_next();
  epoll_event events[4];
  while (!failed) {
    uint64_t now = NowNs();
    if (win.Tick(now)) break;
    int tmo = std::min(win.TimeoutMs(now), 200);
    int n = epoll_wait(ep, events, 4, tmo);
    if (n == 0) {
      if (NowNs() - t_sent >= 200000000u) {  // lost: count it and move on
        ++timeouts;
        failed = !send_next();
      }
      continue;
    }
    for (;;) {
      ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
      if (r < 0) {
        if (errno != EAGAIN) {
          err.AddErrno("recv");
          failed = true;
        }
        break;
      }
      uint64_t got = 0;
      if (r >= 8) std::memcpy(&got, rbuf, 8);
      if (r == static_cast<ssize_t>(c.size) && got < seq) {
        ++stale;
        continue;
      }
      if (r != static_cast<ssize_t>(c.size) || std::memcmp(rbuf, sbuf, c.size) != 0) {
        err.Add("udp echo differs from the datagram sent");
        failed = true;
        break;
      }
      uint64_t t = NowNs();
      if (win.measuring()) lat.Add(t - t_sent);
      ++tally.msgs;
      tally.bytes += c.size;
      failed = !send_next();
      break;
    }
  }
  win.Finish();
  close(fd);
  close(ep);
  Finish(out, win, t0, t1, c.metric);
  lat.Report(out);
  out["timeouts"] = timeouts;
  out["stale"] = stale;
  return out;
}

json RunUdpBlast(const Options& o, const CaseDef& c, Errors& err) {
  json out;
  int fd = UdpSocket(o, err);
  if (fd < 0) return out;
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  constexpr int kBatch = 32;
  const size_t gso_segments =
      c.send == Send::kGso32 ? size_t{kBatch} : std::min<size_t>(64, 65000 / c.size);
  std::string method = c.send == Send::kSingle ? "send" : "sendmmsg";
  if (c.send == Send::kBatched || c.send == Send::kGso32) {
    int seg = static_cast<int>(c.size);
    if (setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0) method = "gso";
  }
  auto buf = std::make_unique<unsigned char[]>(65536);
  for (size_t i = 0; i + c.size <= 65536; i += c.size)
    FillDatagram(buf.get() + i, c.size, i);
  mmsghdr msgs[kBatch]{};
  iovec iov[kBatch];
  for (int i = 0; i < kBatch; ++i) {
    iov[i].iov_base = buf.get() + static_cast<size_t>(i) * c.size;
    iov[i].iov_len = c.size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  Tally tally, t0, t1;
  Window win(
      o, [&] { t0 = tally; }, [&] { t1 = tally; });
  uint64_t send_errors = 0;
  bool failed = false;
  while (!failed && !win.Tick(NowNs())) {
    for (int round = 0; round < 16; ++round) {
      if (method == "send") {
        for (int i = 0; i < kBatch; ++i) {
          if (send(fd, iov[i].iov_base, c.size, 0) == static_cast<ssize_t>(c.size)) {
            ++tally.msgs;
          } else {
            ++send_errors;
          }
        }
      } else if (method == "sendmmsg") {
        int s = sendmmsg(fd, msgs, kBatch, 0);
        if (s > 0) {
          tally.msgs += static_cast<uint64_t>(s);
        } else {
          ++send_errors;
        }
      } else {
        ssize_t s = send(fd, buf.get(), gso_segments * c.size, 0);
        if (s > 0) {
          tally.msgs += static_cast<uint64_t>(s) / c.size;
        } else {
          ++send_errors;
        }
      }
    }
    if (send_errors > 1000 && tally.msgs == 0) {
      err.AddErrno("udp send");
      failed = true;
    }
  }
  win.Finish();
  tally.bytes = tally.msgs * c.size;
  t0.bytes = t0.msgs * c.size;
  t1.bytes = t1.msgs * c.size;
  close(fd);
  Finish(out, win, t0, t1, c.metric);
  out["send_method"] = method;
  out["send_errors"] = send_errors;
  out["sent"] = out["messages"];
  return out;
}

// The churn case while a second thread floods the same server's UDP port with 64 B datagrams
// (sendmmsg x32, no pacing). The server echoes them back to a socket nobody reads. What is
// measured is the churn's connect + echo latency (p50, p99): a server whose loop is fair keeps
// serving TCP while the flood lasts. The flood stops with the case (bounded by the window).
json RunChurnUnderFlood(const Options& o, const CaseDef& c, Errors& err) {
  int fd = UdpSocket(o, err);
  if (fd < 0) return json::object();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  std::thread flood([&] {
    constexpr int kBatch = 32;
    constexpr size_t kSize = 64;
    unsigned char buf[kBatch * kSize];
    mmsghdr msgs[kBatch]{};
    iovec iov[kBatch];
    for (int i = 0; i < kBatch; ++i) {
      FillDatagram(buf + static_cast<size_t>(i) * kSize, kSize, static_cast<uint64_t>(i));
      iov[i].iov_base = buf + static_cast<size_t>(i) * kSize;
      iov[i].iov_len = kSize;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!stop.load(std::memory_order_relaxed)) {
      int n = sendmmsg(fd, msgs, kBatch, 0);
      if (n > 0) sent.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    }
  });
  json out = RunChurn(o, c, err);
  stop.store(true);
  flood.join();
  close(fd);
  out["flood_sent"] = sent.load();
  return out;
}

// ---------------------------------------------------------------------------------------

const CaseDef* FindCase(const std::string& name) {
  for (const auto& c : kCases) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

// Each kind of case: its name in the results and the function that runs it.
struct KindDef {
  Kind kind;
  const char* name;
  json (*run)(const Options& o, const CaseDef& c, Errors& err);
};

constexpr KindDef kKinds[] = {
    {Kind::kEcho, "tcp_echo", RunEcho},
    {Kind::kPump, "tcp_pump", RunPump},
    {Kind::kChurn, "tcp_churn", RunChurn},
    {Kind::kChurnUnderFlood, "tcp_churn_under_flood", RunChurnUnderFlood},
    {Kind::kUdpPingPong, "udp_pingpong", RunUdpPingPong},
    {Kind::kUdpBlast, "udp_blast", RunUdpBlast},
};
static_assert(std::size(kKinds) == static_cast<size_t>(Kind::kUdpBlast) + 1,
              "one kKinds row per Kind");

const KindDef& KindOf(Kind k) {
  for (const KindDef& d : kKinds) {
    if (d.kind == k) return d;
  }
  std::abort();  // unreachable: the static_assert above keeps kKinds complete
}

const char* KindName(Kind k) {
  return KindOf(k).name;
}

json RunCase(const Options& o, const CaseDef& c) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < static_cast<rlim_t>(c.conns) + 64) {
    // Not a failure of the contender: this machine cannot open that many sockets.
    return {{"case", c.name},
            {"kind", KindName(c.kind)},
            {"server_mode", c.server_mode},
            {"metric", c.metric},
            {"ok", true},
            {"errors", 0},
            {"skipped", "RLIMIT_NOFILE " + std::to_string(lim.rlim_cur) + " < " +
                            std::to_string(c.conns + 64) + " descriptors needed"}};
  }
  Errors err;
  rusage r0{}, r1{};
  getrusage(RUSAGE_SELF, &r0);
  json out = KindOf(c.kind).run(o, c, err);
  getrusage(RUSAGE_SELF, &r1);
  auto us = [](const timeval& t) { return t.tv_sec * 1000000LL + t.tv_usec; };
  if (!out.is_object()) out = json::object();
  if (!out.contains("messages") || out["messages"].get<uint64_t>() == 0) {
    if (err.count == 0) err.Add("no message completed in the measurement window");
  }
  json head = {{"case", c.name},
               {"kind", KindName(c.kind)},
               {"server_mode", c.server_mode},
               {"conns", c.conns},
               {"size", c.size},
               {"depth", c.depth},
               {"metric", c.metric},
               {"warmup_s", o.warmup},
               {"ok", err.count == 0},
               {"errors", err.count},
               {"error_detail", err.detail}};
  head["client_cpu_us"] = (us(r1.ru_utime) - us(r0.ru_utime)) + (us(r1.ru_stime) - us(r0.ru_stime));
  head.update(out);
  return head;
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: bench-load --port P --case NAME[,NAME...] [--host 127.0.0.1]\n"
               "                  [--warmup 0.5] [--measure 2] [--cpu N] [--server-pid PID]\n"
               "       bench-load --list   (case table as JSON lines)\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (a == "--list") {
      for (const auto& c : kCases) {
        json j = {{"case", c.name},
                  {"kind", KindName(c.kind)},
                  {"server_mode", c.server_mode},
                  {"conns", c.conns},
                  {"size", c.size},
                  {"depth", c.depth},
                  {"metric", c.metric},
                  {"what", c.what}};
        std::printf("%s\n", j.dump().c_str());
      }
      return 0;
    } else if (a == "--host") {
      o.host = next();
    } else if (a == "--port") {
      o.port = std::atoi(next().c_str());
    } else if (a == "--case") {
      std::string list = next();
      size_t pos = 0;
      while (pos <= list.size()) {
        size_t comma = list.find(',', pos);
        if (comma == std::string::npos) comma = list.size();
        if (comma > pos) o.cases.push_back(list.substr(pos, comma - pos));
        pos = comma + 1;
      }
    } else if (a == "--warmup") {
      o.warmup = std::atof(next().c_str());
    } else if (a == "--measure") {
      o.measure = std::atof(next().c_str());
    } else if (a == "--cpu") {
      o.cpu = std::atoi(next().c_str());
    } else if (a == "--server-pid") {
      o.server_pid = static_cast<pid_t>(std::atoi(next().c_str()));
    } else {
      Usage();
    }
  }
  if (o.port <= 0 || o.cases.empty()) Usage();
  if (o.warmup < 0 || o.warmup > 30 || o.measure <= 0 || o.measure > 60) {
    std::fprintf(stderr, "warm-up must be 0-30 s and measure 0-60 s\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (o.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) std::perror("sched_setaffinity");
  }
  Pattern();
  bool all_ok = true;
  for (const auto& name : o.cases) {
    const CaseDef* c = FindCase(name);
    if (c == nullptr) {
      std::fprintf(stderr, "unknown case %s (see --list)\n", name.c_str());
      return 2;
    }
    json r = RunCase(o, *c);
    all_ok = all_ok && r["ok"].get<bool>();
    std::printf("%s\n", r.dump().c_str());
    std::fflush(stdout);
  }
  return all_ok ? 0 : 1;
}
