// bench-server-libuv: peer "U", idiomatic fast libuv (Debian 1.44), one loop, one thread.
//
// Each connection owns a fixed 64 KiB read buffer handed out by alloc_cb and one
// preallocated uv_write_t. Echo tries uv_try_write first; only the unsent tail goes through
// uv_write, with reading stopped until it completes (so the buffer stays valid and the
// client feels back-pressure). Connection objects come from a free list, so after warm-up
// nothing is allocated. UDP uses UV_UDP_RECVMMSG with one static multi-datagram buffer and
// echoes with uv_udp_try_send.
#include <uv.h>

#include <csignal>
#include <memory>
#include <vector>

#include "common/server_common.h"

namespace {

using bench::Mode;

struct Conn {
  uv_tcp_t tcp;  // first member: a uv_handle_t* to it is a Conn*
  uv_write_t write_req;
  Conn* next_free = nullptr;
  char buf[bench::kReadSize];
};

// libuv 1.44 reads at most 20 datagrams per recvmmsg, each slot 64 KiB.
constexpr size_t kUdpSlots = 20;

struct State {
  bench::ServerOptions opts;
  bench::Counters c;
  uint64_t seq = 0;
  uv_loop_t* loop = nullptr;
  uv_tcp_t listener;
  uv_udp_t udp;
  uv_signal_t sig_usr1, sig_term, sig_int;
  Conn* free_list = nullptr;
  std::unique_ptr<char[]> udp_buf = std::make_unique<char[]>(kUdpSlots * bench::kUdpMaxDatagram);
};

State* g = nullptr;

Conn* NewConn() {
  if (g->free_list != nullptr) {
    Conn* c = g->free_list;
    g->free_list = c->next_free;
    return c;
  }
  return new Conn;  // grows the pool once per concurrent connection, never per operation
}

void OnClosed(uv_handle_t* h) {
  Conn* c = reinterpret_cast<Conn*>(h);
  c->next_free = g->free_list;
  g->free_list = c;
}

void OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  Conn* c = reinterpret_cast<Conn*>(h);
  *buf = uv_buf_init(c->buf, sizeof c->buf);
}

void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);

void OnWritten(uv_write_t* req, int status) {
  Conn* c = static_cast<Conn*>(req->data);
  if (status < 0) {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), OnClosed);
    }
    return;
  }
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
}

void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  Conn* c = reinterpret_cast<Conn*>(s);
  if (nread < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(s), OnClosed);
    return;
  }
  if (nread == 0) return;
  ++g->c.tcp_reads;
  g->c.tcp_rx_bytes += static_cast<uint64_t>(nread);
  if (g->opts.mode == Mode::kSink) return;
  uv_buf_t out = uv_buf_init(buf->base, static_cast<unsigned>(nread));
  int w = uv_try_write(s, &out, 1);
  if (w == UV_EAGAIN) {
    w = 0;
  } else if (w < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(s), OnClosed);
    return;
  }
  g->c.tcp_tx_bytes += static_cast<uint64_t>(w);
  if (w < nread) {
    uv_read_stop(s);
    uv_buf_t rest = uv_buf_init(buf->base + w, static_cast<unsigned>(nread - w));
    c->write_req.data = c;
    g->c.tcp_tx_bytes += rest.len;  // counted when queued; libuv writes it all or fails
    if (uv_write(&c->write_req, s, &rest, 1, OnWritten) != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(s), OnClosed);
    }
  }
}

void OnConnection(uv_stream_t* server, int status) {
  if (status < 0) return;
  Conn* c = NewConn();
  uv_tcp_init(g->loop, &c->tcp);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), OnClosed);
    return;
  }
  ++g->c.tcp_accepts;
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
}

void OnUdpAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(g->udp_buf.get(), static_cast<unsigned>(kUdpSlots * bench::kUdpMaxDatagram));
}

void OnUdpRecv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned) {
  if (nread < 0 || addr == nullptr) return;  // error, "drained", or the UV_UDP_MMSG_FREE call
  ++g->c.udp_rx;
  if (g->opts.mode == Mode::kSink) return;
  uv_buf_t out = uv_buf_init(buf->base, static_cast<unsigned>(nread));
  if (uv_udp_try_send(h, &out, 1, addr) >= 0) {
    ++g->c.udp_tx;
  } else {
    ++g->c.udp_drops;
  }
}

void CloseAll(uv_handle_t* h, void*) {
  if (!uv_is_closing(h)) uv_close(h, nullptr);
}

void OnSignal(uv_signal_t*, int signum) {
  if (signum == SIGUSR1) {
    bench::PrintStats("libuv", "usr1", ++g->seq, g->c);
    return;
  }
  bench::PrintStats("libuv", "exit", ++g->seq, g->c);
  uv_stop(g->loop);
}

void Check(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "fatal: %s: %s\n", what, uv_strerror(rc));
    std::exit(2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  State state;
  g = &state;
  bench::BoundPair bound = bench::StartServer(argc, argv, &state.opts);
  state.loop = uv_default_loop();

  Check(uv_tcp_init(state.loop, &state.listener), "uv_tcp_init");
  Check(uv_tcp_open(&state.listener, bound.tcp_fd), "uv_tcp_open");
  Check(uv_listen(reinterpret_cast<uv_stream_t*>(&state.listener), 4096, OnConnection),
        "uv_listen");

  Check(uv_udp_init_ex(state.loop, &state.udp, AF_UNSPEC | UV_UDP_RECVMMSG), "uv_udp_init_ex");
  Check(uv_udp_open(&state.udp, bound.udp_fd), "uv_udp_open");
  Check(uv_udp_recv_start(&state.udp, OnUdpAlloc, OnUdpRecv), "uv_udp_recv_start");

  uv_signal_init(state.loop, &state.sig_usr1);
  uv_signal_start(&state.sig_usr1, OnSignal, SIGUSR1);
  uv_signal_init(state.loop, &state.sig_term);
  uv_signal_start(&state.sig_term, OnSignal, SIGTERM);
  uv_signal_init(state.loop, &state.sig_int);
  uv_signal_start(&state.sig_int, OnSignal, SIGINT);

  bench::PrintListening(state.opts, bound.port);
  uv_run(state.loop, UV_RUN_DEFAULT);
  uv_walk(state.loop, CloseAll, nullptr);
  uv_run(state.loop, UV_RUN_DEFAULT);
  return 0;
}
