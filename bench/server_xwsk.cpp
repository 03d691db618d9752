// SPDX-License-Identifier: MIT
// bench-server-xwsk-<backend>: the xwsk contender, written the way a driver author writes a
// WSK echo server, so it is the same code a kernel driver would run:
//  - a listen socket with a pool of outstanding accept requests;
//  - each connection's receive event echoes in place: the indication is retained (Pending), the
//    echo is sent straight from it (no copy), and the indication is released when the send
//    completes; in sink mode the event just counts and consumes the data;
//  - a datagram socket's receive_from event echoes each datagram from its indication with a
//    pooled send_to request, and releases the indications when the last send completed.
// Nothing is allocated per operation: connections come from a fixed pool allocated at start.
// The protocol (arguments, stats lines, signals) is bench/README.md's.
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "echo_sync.h"
#include "xwsk/xwsk.h"

namespace {

using xwsk::Status;

constexpr int kMaxConnections = 4096;
constexpr int kAcceptDepth = 64;
constexpr int kUdpSends = 64;

struct Stats {
  std::atomic<uint64_t> tcp_accepts{0};
  std::atomic<uint64_t> tcp_rx_bytes{0};
  std::atomic<uint64_t> tcp_tx_bytes{0};
  std::atomic<uint64_t> tcp_reads{0};
  std::atomic<uint64_t> udp_rx{0};
  std::atomic<uint64_t> udp_tx{0};
  std::atomic<uint64_t> udp_drops{0};
  std::atomic<uint64_t> errors{0};
};
Stats g_stats;
bool g_echo = true;

void add(std::atomic<uint64_t>& c, uint64_t n) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// ---- connections --------------------------------------------------------------------------------

struct Connection {
  xwsk::Socket* socket = nullptr;
  xwsk::Request send_req{};
  xwsk::Request close_req{};
  xwsk::Request opt_req{};               // TCP_NODELAY at accept; its result only counts errors
  xwsk::DataIndication* held = nullptr;  // retained indication being echoed
  xwsk::Buf out{};
  bool in_event = false;   // inside the receive event (an inline send must not release)
  bool send_done = false;  // the send completed while in_event
  bool closing = false;
  Connection* next_free = nullptr;
};

Connection* g_conns = nullptr;
Connection* g_free = nullptr;
std::mutex g_free_mu;  // connections are freed on the loop thread and taken there too; cheap

Connection* conn_get() {
  std::lock_guard<std::mutex> lock(g_free_mu);
  Connection* c = g_free;
  if (c != nullptr) g_free = c->next_free;
  return c;
}

void conn_put(Connection* c) {
  std::lock_guard<std::mutex> lock(g_free_mu);
  c->socket = nullptr;
  c->held = nullptr;
  c->closing = false;
  c->next_free = g_free;
  g_free = c;
}

void conn_close(Connection* c) {
  if (c->closing) return;
  c->closing = true;
  xwsk::close_socket(c->socket, &c->close_req);  // completion returns c to the pool
}

void on_close(xwsk::Request*, void* ctx) {
  conn_put(static_cast<Connection*>(ctx));
}

void on_option(xwsk::Request* req, void*) {
  if (req->status != Status::Success) add(g_stats.errors, 1);
}

void on_send(xwsk::Request* req, void* ctx) {
  Connection* c = static_cast<Connection*>(ctx);
  if (req->status != Status::Success)
    add(g_stats.errors, 1);
  else
    add(g_stats.tcp_tx_bytes, req->information);
  if (c->in_event) {
    c->send_done = true;  // the receive event returns Success instead of retaining
    return;
  }
  xwsk::DataIndication* held = c->held;
  c->held = nullptr;
  xwsk::release_data_indications(c->socket, held);
  if (req->status != Status::Success) conn_close(c);
}

Status on_receive(void* ctx, uint32_t, xwsk::DataIndication* data, size_t bytes, size_t*) {
  Connection* c = static_cast<Connection*>(ctx);
  if (data == nullptr) {
    conn_close(c);
    return Status::Success;
  }
  add(g_stats.tcp_reads, 1);
  add(g_stats.tcp_rx_bytes, bytes);
  if (!g_echo) return Status::Success;
  // One indication at a time (the backend does not indicate again until it is released).
  c->held = data;
  c->out = data->buffer;
  c->in_event = true;
  c->send_done = false;
  Status st = xwsk::send(c->socket, &c->out, 0, &c->send_req);
  c->in_event = false;
  if (st != Status::Pending && c->send_done) {
    c->held = nullptr;
    if (st != Status::Success) conn_close(c);
    return Status::Success;  // echoed inline: nothing retained
  }
  return Status::Pending;  // keep the data until the send completes (on_send releases it)
}

Status on_disconnect(void* ctx, uint32_t) {
  conn_close(static_cast<Connection*>(ctx));
  return Status::Success;
}

const xwsk::ConnectionDispatch kConnectionDispatch = {on_receive, on_disconnect, nullptr};

// ---- accepting
// ------------------------------------------------------------------------------------

struct Acceptor {
  xwsk::Request req{};
  Connection* conn = nullptr;
};
xwsk::Socket* g_listener = nullptr;
Acceptor g_acceptors[kAcceptDepth];
std::atomic<bool> g_stopping{false};

void post_accept(Acceptor* a);

void on_accept(xwsk::Request* req, void* ctx) {
  Acceptor* a = static_cast<Acceptor*>(ctx);
  Connection* c = a->conn;
  a->conn = nullptr;
  if (req->status != Status::Success) {
    if (c != nullptr) conn_put(c);
    if (req->status != Status::Cancelled) add(g_stats.errors, 1);
    return;  // Cancelled: the listener is closing
  }
  c->socket = reinterpret_cast<xwsk::Socket*>(req->information);
  add(g_stats.tcp_accepts, 1);
  static const uint32_t kOne = 1;
  xwsk::control_socket(c->socket, xwsk::ControlType::SetOption, xwsk::kTcpNoDelay,
                       xwsk::kIpProtoTcp, sizeof(kOne), &kOne, 0, nullptr, nullptr, &c->opt_req);
  xwsk::EventCallbackControl ctl{nullptr, xwsk::kEventReceive | xwsk::kEventDisconnect};
  if (xwsk::control_socket(c->socket, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                           xwsk::kSolSocket, sizeof(ctl), &ctl, 0, nullptr, nullptr,
                           nullptr) != Status::Success) {
    add(g_stats.errors, 1);
    conn_close(c);
  }
  if (!g_stopping.load(std::memory_order_relaxed)) post_accept(a);
}

void post_accept(Acceptor* a) {
  Connection* c = conn_get();
  if (c == nullptr) {
    add(g_stats.errors, 1);
    return;
  }
  a->conn = c;
  xwsk::request_set_completion(&c->send_req, on_send, c);
  xwsk::request_set_completion(&c->close_req, on_close, c);
  xwsk::accept(g_listener, 0, c, &kConnectionDispatch, nullptr, nullptr, &a->req);
}

// ---- UDP ----------------------------------------------------------------------------------------

struct UdpSend {
  xwsk::Request req{};
  xwsk::Buf buf{};
  xwsk::SockAddr to{};
};
xwsk::Socket* g_udp = nullptr;
UdpSend g_udp_sends[kUdpSends];
xwsk::DatagramIndication* g_udp_held = nullptr;
int g_udp_outstanding = 0;
bool g_udp_in_event = false;

void on_udp_send(xwsk::Request* req, void*) {
  if (req->status == Status::Success)
    add(g_stats.udp_tx, 1);
  else
    add(g_stats.udp_drops, 1);
  if (--g_udp_outstanding == 0 && !g_udp_in_event && g_udp_held != nullptr) {
    xwsk::DatagramIndication* held = g_udp_held;
    g_udp_held = nullptr;
    xwsk::release_datagram_indications(g_udp, held);
  }
}

Status on_receive_from(void*, uint32_t, xwsk::DatagramIndication* list) {
  if (list == nullptr) return Status::Success;
  int n = 0;
  for (xwsk::DatagramIndication* d = list; d != nullptr; d = d->next)
    ++n;
  add(g_stats.udp_rx, static_cast<uint64_t>(n));
  if (!g_echo) return Status::Success;
  g_udp_in_event = true;
  int i = 0;
  for (xwsk::DatagramIndication* d = list; d != nullptr; d = d->next) {
    if (i == kUdpSends || d->remote_address == nullptr) {
      add(g_stats.udp_drops, 1);
      continue;
    }
    UdpSend* s = &g_udp_sends[i++];
    s->buf = d->buffer;
    s->to = *d->remote_address;
    ++g_udp_outstanding;
    xwsk::send_to(g_udp, &s->buf, 0, &s->to, 0, nullptr, &s->req);
  }
  g_udp_in_event = false;
  if (g_udp_outstanding == 0) return Status::Success;  // every send completed inline
  g_udp_held = list;
  return Status::Pending;
}

const xwsk::DatagramDispatch kDatagramDispatch = {on_receive_from};

// ---- plumbing
// -------------------------------------------------------------------------------------

// A setup failure ends the process at once, as the normal exit does: the OS reclaims the sockets
// (deregistering would wait for sockets this early exit never closes).
[[noreturn]] void fail(const char* what, Status st) {
  std::fprintf(stderr, "bench-server-xwsk: %s: %s\n", what, xwsk::status_name(st));
  std::fflush(stderr);
  std::_Exit(1);
}

void print_stats(const char* reason, int seq) {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  long long user_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
  long long sys_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
  std::printf(
      "{\"stats\":{\"server\":\"xwsk-%s\",\"reason\":\"%s\",\"seq\":%d,\"user_us\":%lld,"
      "\"sys_us\":%lld,\"tcp_accepts\":%llu,\"tcp_rx_bytes\":%llu,\"tcp_tx_bytes\":%llu,"
      "\"tcp_reads\":%llu,\"udp_rx\":%llu,\"udp_tx\":%llu,\"udp_drops\":%llu,"
      "\"errors\":%llu,\"heap_fallbacks\":0}}\n",
      xwsk::backend_name(), reason, seq, user_us, sys_us,
      static_cast<unsigned long long>(g_stats.tcp_accepts.load()),
      static_cast<unsigned long long>(g_stats.tcp_rx_bytes.load()),
      static_cast<unsigned long long>(g_stats.tcp_tx_bytes.load()),
      static_cast<unsigned long long>(g_stats.tcp_reads.load()),
      static_cast<unsigned long long>(g_stats.udp_rx.load()),
      static_cast<unsigned long long>(g_stats.udp_tx.load()),
      static_cast<unsigned long long>(g_stats.udp_drops.load()),
      static_cast<unsigned long long>(g_stats.errors.load()));
  std::fflush(stdout);
}

int usage(const char* msg) {
  std::fprintf(stderr,
               "bench-server-xwsk: %s\nusage: bench-server-xwsk [--host 127.0.0.1] --port P "
               "[--mode echo|sink]\n",
               msg);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  long port = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    if (a == "--host") {
      host = v;
    } else if (a == "--port") {
      char* end = nullptr;
      port = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || port < 0 || port > 65535) return usage("bad --port");
    } else if (a == "--mode") {
      if (v != "echo" && v != "sink") return usage("--mode is echo or sink");
      g_echo = v == "echo";
    } else {
      return usage(("unknown argument " + a).c_str());
    }
  }
  if (port < 0) return usage("--port is required");
  xwsk::SockAddr addr{};
  if (xwsk::parse_address(host.c_str(), &addr) != Status::Success) return usage("bad --host");
  addr.set_port(static_cast<uint16_t>(port));

  // Signals are taken synchronously by the main thread; block them before the loop thread
  // starts so it inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGUSR1);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  g_conns = new Connection[kMaxConnections];
  for (int i = kMaxConnections - 1; i >= 0; --i) {
    xwsk::request_init(&g_conns[i].send_req, on_send, &g_conns[i]);
    xwsk::request_init(&g_conns[i].close_req, on_close, &g_conns[i]);
    xwsk::request_init(&g_conns[i].opt_req, on_option, &g_conns[i]);
    g_conns[i].next_free = g_free;
    g_free = &g_conns[i];
  }

  // Setup waits on each call (the data path never does): the echo sample's helpers.
  constexpr uint32_t kSetupMs = 10000;
  echo::Provider provider;
  Status st = provider.open();
  if (st != Status::Success) fail("register with the provider", st);
  xwsk::Client* client = provider.client();
  st = echo::create_socket(client, addr.af(), xwsk::SocketType::Stream, xwsk::Protocol::Tcp,
                           xwsk::kListenSocket, nullptr, nullptr, &g_listener, kSetupMs);
  if (st != Status::Success) fail("listen socket", st);
  st = echo::bind_socket(g_listener, addr, kSetupMs);
  if (st != Status::Success) fail("bind", st);
  xwsk::SockAddr bound{};
  st = echo::local_address(g_listener, &bound, kSetupMs);
  if (st != Status::Success) fail("local address", st);
  st = echo::create_socket(client, addr.af(), xwsk::SocketType::Datagram, xwsk::Protocol::Udp,
                           xwsk::kDatagramSocket, nullptr, &kDatagramDispatch, &g_udp, kSetupMs);
  if (st != Status::Success) fail("udp socket", st);
  st = echo::bind_socket(g_udp, bound, kSetupMs);
  if (st != Status::Success) fail("udp bind", st);
  for (UdpSend& s : g_udp_sends)
    xwsk::request_init(&s.req, on_udp_send, &s);
  uint32_t big = 4u << 20;
  echo::SyncRequest rcvbuf;
  rcvbuf.finish(
      xwsk::control_socket(g_udp, xwsk::ControlType::SetOption, xwsk::kSoRcvBuf, xwsk::kSolSocket,
                           sizeof(big), &big, 0, nullptr, nullptr, rcvbuf.get()),
      kSetupMs, "SO_RCVBUF");
  xwsk::EventCallbackControl udp_events{nullptr, xwsk::kEventReceiveFrom};
  if (xwsk::control_socket(g_udp, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                           xwsk::kSolSocket, sizeof(udp_events), &udp_events, 0, nullptr, nullptr,
                           nullptr) != Status::Success) {
    std::fprintf(stderr, "bench-server-xwsk: cannot enable receive_from events\n");
    return 1;
  }
  for (Acceptor& a : g_acceptors) {
    xwsk::request_init(&a.req, on_accept, &a);
    post_accept(&a);
  }
  std::printf("listening on 127.0.0.1:%u\n", bound.port());
  std::fflush(stdout);

  int seq = 0;
  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      print_stats("usr1", ++seq);
      continue;
    }
    break;
  }
  print_stats("exit", ++seq);
  std::fflush(stdout);
  // The process exits here; the OS reclaims sockets. (A clean teardown is the echo sample's job;
  // the benchmark's exit must not wait on client connections still open.)
  std::_Exit(0);
}
