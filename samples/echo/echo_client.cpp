// SPDX-License-Identifier: MIT
// The echo client. Same rules as the server (echo_server.cpp): one pump per object issues the
// requests, completion routines record results under a short lock and never wait, every
// in-flight request holds a reference, and the main thread waits for the last one to go.
#include "echo_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <new>

namespace echo {

using xwsk::Status;

namespace {

constexpr size_t kTcpChunk = 64 * 1024;
constexpr uint32_t kCloseTimeoutMs = 10000;
constexpr uint32_t kMagic = 0x43455758;  // "XWEC", little-endian on the wire

void set_error(ClientReport* r, Status st, const char* fmt, ...) {
  if (r->error[0] != '\0') return;  // keep the first
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->error, sizeof(r->error), fmt, ap);
  va_end(ap);
  r->status = st;
  r->ok = false;
}

uint32_t remaining_ms(uint64_t deadline_ns) {
  uint64_t now = now_ns();
  if (now >= deadline_ns) return 0;
  uint64_t ms = (deadline_ns - now) / 1000000u;
  return ms > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(ms);
}

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

/// Counts live objects of a run; the last release sets the event the main thread waits on.
struct Finish {
  SpinLock lock;
  uint32_t live = 0;
  Event all_done;
  void add() {
    Guard g(lock);
    ++live;
  }
  void done() {
    bool fire;
    {
      Guard g(lock);
      fire = --live == 0;
    }
    if (fire) all_done.set();
  }
};

// The close completion of a TcpConn or a UdpRun: notes that it ran (a close_socket that
// returns without pending looks at close_ran) and gives up the socket's reference.
template <class Conn>
void on_closed(xwsk::Request* req, void* context) {
  (void)req;
  Conn* c = static_cast<Conn*>(context);
  {
    Guard g(c->lock);
    c->close_ran = true;
  }
  c->release();
}

// =============================================================================================
// TCP
// =============================================================================================

struct TcpConn {
  Finish* finish = nullptr;
  uint32_t index = 0;
  xwsk::Socket* socket = nullptr;
  uint64_t seed = 0;
  uint64_t total = 0;
  std::atomic<uint32_t> refs{0};

  SpinLock lock;
  bool pumping = false;
  uint8_t* sdata = nullptr;
  uint8_t* rdata = nullptr;
  xwsk::Segment sseg{}, rseg{};
  xwsk::Buf sbuf{}, rbuf{};
  xwsk::Request connect_req{}, send_req{}, recv_req{}, disc_req{}, close_req{};
  int requests_ready = 0;
  Event connected;
  bool send_busy = false, recv_busy = false, disc_busy = false;
  bool send_ran = false, recv_ran = false, disc_ran = false, close_ran = false;
  bool disc_issued = false, close_issued = false;
  bool eof = false, failed = false, abort = false, disconnected = false;
  uint64_t send_off = 0, recv_off = 0;
  size_t send_len = 0;
  uint64_t fnv_sent = kFnvBasis, fnv_received = kFnvBasis;
  Status error_status = Status::Success;
  char error[160] = {};

  bool init(Finish* f, uint32_t i, uint64_t s, uint64_t bytes);
  void free_resources();
  void fail(Status st, const char* fmt, ...) {
    // Under lock.
    if (!failed) {
      failed = true;
      error_status = st;
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(error, sizeof(error), fmt, ap);
      va_end(ap);
    }
  }
  bool try_ref() {
    uint32_t n = refs.load(std::memory_order_relaxed);
    while (n != 0) {
      if (refs.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) return true;
    }
    return false;
  }
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) finish->done();
  }
  // After issuing @p call, which returned @p r: any status but Pending means it was rejected,
  // and unless its completion already ran, none will come: clear @p busy, fail the
  // connection and give back the reference taken for the call.
  void settle(const char* call, Status r, const bool& ran, bool* busy) {
    if (r == Status::Pending) return;
    Guard g(lock);
    if (ran) return;
    *busy = false;
    fail(r, "%s rejected: %s", call, xwsk::status_name(r));
    refs.fetch_sub(1, std::memory_order_relaxed);
  }
  void pump();

  static void on_connect(xwsk::Request* req, void* context);
  static void on_send(xwsk::Request* req, void* context);
  static void on_recv(xwsk::Request* req, void* context);
  static void on_disconnect(xwsk::Request* req, void* context);
};

bool TcpConn::init(Finish* f, uint32_t i, uint64_t s, uint64_t bytes) {
  finish = f;
  index = i;
  seed = s;
  total = bytes;
  sdata = new (std::nothrow) uint8_t[kTcpChunk];
  rdata = new (std::nothrow) uint8_t[kTcpChunk];
  if (sdata == nullptr || rdata == nullptr) return false;
  if (xwsk::segment_init(&sseg, sdata, kTcpChunk) != Status::Success) return false;
  if (xwsk::segment_init(&rseg, rdata, kTcpChunk) != Status::Success) return false;
  struct {
    xwsk::Request* req;
    xwsk::CompletionRoutine routine;
  } reqs[] = {{&connect_req, on_connect},
              {&send_req, on_send},
              {&recv_req, on_recv},
              {&disc_req, on_disconnect},
              {&close_req, on_closed<TcpConn>}};
  for (auto& r : reqs) {
    if (xwsk::request_init(r.req, r.routine, this) != Status::Success) return false;
    ++requests_ready;
  }
  return true;
}

void TcpConn::free_resources() {
  xwsk::Request* reqs[] = {&connect_req, &send_req, &recv_req, &disc_req, &close_req};
  for (int i = 0; i < requests_ready; ++i)
    xwsk::request_free(reqs[i]);
  requests_ready = 0;
  xwsk::segment_free(&sseg);
  xwsk::segment_free(&rseg);
  delete[] sdata;
  delete[] rdata;
  sdata = rdata = nullptr;
}

void TcpConn::on_connect(xwsk::Request* req, void* context) {
  (void)req;
  static_cast<TcpConn*>(context)->connected.set();
}

void TcpConn::on_send(xwsk::Request* req, void* context) {
  TcpConn* c = static_cast<TcpConn*>(context);
  {
    Guard g(c->lock);
    c->send_ran = true;
    c->send_busy = false;
    if (req->status == Status::Success && req->information == c->send_len) {
      c->send_off += c->send_len;
    } else if (req->status == Status::Success) {
      c->fail(Status::Unsuccessful, "send completed %zu of %zu bytes",
              static_cast<size_t>(req->information), c->send_len);
    } else {
      c->fail(req->status, "send: %s", xwsk::status_name(req->status));
    }
  }
  c->pump();
  c->release();
}

void TcpConn::on_recv(xwsk::Request* req, void* context) {
  TcpConn* c = static_cast<TcpConn*>(context);
  // The buffer is ours until the next receive, which only the pump issues after we set
  // recv_busy = false: verify it before taking the lock.
  size_t n = req->information;
  Status st = req->status;
  bool match = true;
  size_t bad = 0;
  uint64_t at = c->recv_off;  // only this routine advances recv_off
  if (st == Status::Success && n > 0 && at + n <= c->total) {
    match = pattern_check(c->seed, at, c->rdata, n, &bad);
  }
  {
    Guard g(c->lock);
    c->recv_ran = true;
    c->recv_busy = false;
    if (st == Status::Success && n > 0) {
      if (at + n > c->total) {
        c->fail(Status::Unsuccessful, "received %llu bytes, more than the %llu sent",
                static_cast<unsigned long long>(at + n), static_cast<unsigned long long>(c->total));
      } else if (!match) {
        c->fail(Status::Unsuccessful, "echoed data differs from what was sent at offset %llu",
                static_cast<unsigned long long>(at + bad));
      } else {
        c->fnv_received = fnv1a64(c->fnv_received, c->rdata, n);
        c->recv_off += n;
      }
    } else if (st == Status::Success) {
      c->eof = true;
      if (c->recv_off != c->total) {
        c->fail(Status::ConnectionDisconnected,
                "the server closed the connection after %llu of %llu bytes",
                static_cast<unsigned long long>(c->recv_off),
                static_cast<unsigned long long>(c->total));
      }
    } else {
      c->fail(st, "receive: %s", xwsk::status_name(st));
    }
  }
  c->pump();
  c->release();
}

void TcpConn::on_disconnect(xwsk::Request* req, void* context) {
  TcpConn* c = static_cast<TcpConn*>(context);
  {
    Guard g(c->lock);
    c->disc_ran = true;
    c->disc_busy = false;
    if (req->status != Status::Success) {
      c->fail(req->status, "disconnect: %s", xwsk::status_name(req->status));
    }
  }
  c->pump();
  c->release();
}

void TcpConn::pump() {
  {
    Guard g(lock);
    if (pumping) return;
    pumping = true;
  }
  for (;;) {
    bool do_send = false, do_recv = false, do_disc = false, do_close = false;
    {
      Guard g(lock);
      if (!close_issued) {
        bool all_back = eof && !send_busy && !disc_busy;
        if (failed || abort || all_back) {
          close_issued = true;
          close_ran = false;
          do_close = true;
        } else {
          if (!recv_busy && !eof) {
            recv_busy = true;
            recv_ran = false;
            rbuf = xwsk::Buf{&rseg, 0, kTcpChunk};
            refs.fetch_add(1, std::memory_order_relaxed);
            do_recv = true;
          }
          if (!send_busy && send_off < total) {
            uint64_t left = total - send_off;
            send_len = left < kTcpChunk ? static_cast<size_t>(left) : kTcpChunk;
            send_busy = true;
            send_ran = false;
            sbuf = xwsk::Buf{&sseg, 0, send_len};
            refs.fetch_add(1, std::memory_order_relaxed);
            do_send = true;
          }
          if (!send_busy && send_off == total && !disc_issued) {
            disc_issued = true;
            disc_busy = true;
            disc_ran = false;
            refs.fetch_add(1, std::memory_order_relaxed);
            do_disc = true;
          }
        }
      }
      if (!do_send && !do_recv && !do_disc && !do_close) {
        pumping = false;
        return;
      }
    }
    if (do_close) {
      Status r = xwsk::close_socket(socket, &close_req);
      if (r != Status::Pending) {
        bool ran;
        {
          Guard g(lock);
          ran = close_ran;
        }
        if (!ran) {
          fprintf(stderr, "xwsk-echo: close_socket rejected: %s\n", xwsk::status_name(r));
          refs.fetch_sub(1, std::memory_order_relaxed);  // the caller still holds one
        }
      }
      continue;
    }
    if (do_send) {
      // The send buffer is ours (no send in flight): fill it outside the lock.
      pattern_fill(seed, send_off, sdata, send_len);
      fnv_sent = fnv1a64(fnv_sent, sdata, send_len);
      settle("send", xwsk::send(socket, &sbuf, 0, &send_req), send_ran, &send_busy);
    }
    if (do_recv) {
      settle("receive", xwsk::receive(socket, &rbuf, 0, &recv_req), recv_ran, &recv_busy);
    }
    if (do_disc) {
      settle("disconnect", xwsk::disconnect(socket, nullptr, 0, &disc_req), disc_ran, &disc_busy);
    }
  }
}

void run_tcp(xwsk::Client* client, const ClientConfig& cfg, ClientReport* report) {
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(cfg.timeout_ms) * 1000000u;
  const uint32_t n = cfg.connections;
  const uint64_t seed = cfg.seed != 0 ? cfg.seed : random_seed();
  const AddrText remote = to_text(cfg.remote);
  report->connections = n;
  report->per_connection = new (std::nothrow) ConnectionReport[n];
  TcpConn* conns = new (std::nothrow) TcpConn[n];
  Finish* finish = new (std::nothrow) Finish();
  if (conns == nullptr || finish == nullptr || report->per_connection == nullptr) {
    set_error(report, Status::InsufficientResources, "out of memory");
    delete[] conns;
    delete finish;
    return;
  }
  bool ok = true;
  for (uint32_t i = 0; i < n && ok; ++i) {
    uint64_t share = cfg.bytes / n + (i < cfg.bytes % n ? 1 : 0);
    if (!conns[i].init(finish, i, mix64(seed + i), share)) {
      set_error(report, Status::InsufficientResources, "out of memory");
      ok = false;
    }
  }
  // Connect every connection (socket, bind to the wildcard address, connect), concurrently.
  uint32_t created = 0;
  for (uint32_t i = 0; i < n && ok; ++i) {
    TcpConn* c = &conns[i];
    Status st =
        create_socket(client, cfg.remote.af(), xwsk::SocketType::Stream, xwsk::Protocol::Tcp,
                      xwsk::kConnectionSocket, c, nullptr, &c->socket, remaining_ms(deadline) + 1);
    if (st != Status::Success) {
      set_error(report, st, "socket: %s", xwsk::status_name(st));
      ok = false;
      break;
    }
    ++created;
    st = bind_socket(c->socket, any_address(cfg.remote.af()), 10000);
    if (st != Status::Success) {
      set_error(report, st, "bind: %s", xwsk::status_name(st));
      ok = false;
      break;
    }
    Status r = xwsk::connect(c->socket, &cfg.remote, 0, &c->connect_req);
    if (r != Status::Pending && !c->connected.wait(0)) {
      set_error(report, r, "connect to %s rejected: %s", remote.text, xwsk::status_name(r));
      ok = false;
      break;
    }
  }
  for (uint32_t i = 0; i < created && ok; ++i) {
    TcpConn* c = &conns[i];
    if (!c->connected.wait(remaining_ms(deadline))) {
      set_error(report, Status::IoTimeout, "connect to %s timed out", remote.text);
      ok = false;
      break;
    }
    Status st = c->connect_req.status;
    if (st != Status::Success) {
      if (st == Status::ConnectionRefused) {
        set_error(report, st, "connect to %s: connection refused (%s)", remote.text,
                  xwsk::status_name(st));
      } else {
        set_error(report, st, "connect to %s failed: %s", remote.text, xwsk::status_name(st));
      }
      ok = false;
    }
  }
  if (!ok) {
    // Closing cancels a pending connect; its routine runs before the close completes.
    for (uint32_t i = 0; i < created; ++i)
      close_socket_wait(conns[i].socket, kCloseTimeoutMs);
    for (uint32_t i = 0; i < n; ++i)
      conns[i].free_resources();
    delete[] conns;
    delete finish;
    return;
  }

  // Data phase: every connection sends, receives and checks on its own.
  const uint64_t start = now_ns();
  for (uint32_t i = 0; i < n; ++i) {
    finish->add();
    conns[i].refs.store(2, std::memory_order_relaxed);  // the socket's, and ours below
  }
  for (uint32_t i = 0; i < n; ++i) {
    conns[i].pump();
    conns[i].release();
  }
  bool in_time = finish->all_done.wait(remaining_ms(deadline));
  const uint64_t end = now_ns();
  if (!in_time) {
    for (uint32_t i = 0; i < n; ++i) {
      TcpConn* c = &conns[i];
      if (!c->try_ref()) continue;
      {
        Guard g(c->lock);
        c->abort = true;
      }
      c->pump();
      c->release();
    }
    if (!finish->all_done.wait(kCloseTimeoutMs)) {
      fprintf(stderr, "xwsk-echo: fatal: sockets did not close within %u ms\n", kCloseTimeoutMs);
      fflush(stdout);
      _Exit(70);
    }
  }

  report->elapsed_s = static_cast<double>(end - start) / 1e9;
  uint64_t agg_sent = kFnvBasis, agg_received = kFnvBasis;
  bool all_ok = true;
  for (uint32_t i = 0; i < n; ++i) {
    TcpConn* c = &conns[i];
    ConnectionReport& pc = report->per_connection[i];
    pc.bytes = c->total;
    pc.sent = c->send_off;
    pc.received = c->recv_off;
    pc.fnv_sent = c->fnv_sent;
    pc.fnv_received = c->fnv_received;
    pc.ok = !c->failed && c->recv_off == c->total && c->fnv_sent == c->fnv_received;
    report->sent += c->send_off;
    report->received += c->recv_off;
    uint8_t tmp[8];
    put64(tmp, c->fnv_sent);
    agg_sent = fnv1a64(agg_sent, tmp, 8);
    put64(tmp, c->fnv_received);
    agg_received = fnv1a64(agg_received, tmp, 8);
    if (!pc.ok) {
      all_ok = false;
      if (c->failed) {
        set_error(report, c->error_status, "connection %u: %s", i, c->error);
      } else if (!in_time) {
        set_error(report, Status::IoTimeout,
                  "timed out after %.1f s: connection %u echoed %llu of %llu bytes",
                  cfg.timeout_ms / 1000.0, i, static_cast<unsigned long long>(c->recv_off),
                  static_cast<unsigned long long>(c->total));
      } else {
        set_error(report, Status::Unsuccessful, "connection %u: checksum mismatch", i);
      }
    }
  }
  if (!in_time && all_ok) {
    all_ok = false;
    set_error(report, Status::IoTimeout, "timed out after %.1f s", cfg.timeout_ms / 1000.0);
  }
  report->checksum_sent = agg_sent;
  report->checksum_received = agg_received;
  report->ok = all_ok && report->received == cfg.bytes;
  if (!report->ok && report->error[0] == '\0') {
    set_error(report, Status::Unsuccessful, "echoed %llu of %llu bytes",
              static_cast<unsigned long long>(report->received),
              static_cast<unsigned long long>(cfg.bytes));
  }
  for (uint32_t i = 0; i < n; ++i)
    conns[i].free_resources();
  delete[] conns;
  delete finish;
}

// =============================================================================================
// UDP
// =============================================================================================

struct UdpRun;

struct WinSlot {
  UdpRun* run = nullptr;
  xwsk::Request req{};
  bool req_ready = false;
  uint8_t* data = nullptr;
  xwsk::Segment seg{};
  xwsk::Buf buf{};
  uint64_t seq = 0;
  size_t length = 0;  // datagram bytes
  enum State { kFree, kNeedSend, kSending, kWaiting } state = kFree;
  bool acked = false;
  bool ran = false;
  uint64_t sent_at = 0;
  uint32_t tries = 0;
};

struct RecvSlot {
  UdpRun* run = nullptr;
  xwsk::Request req{};
  bool req_ready = false;
  uint8_t* data = nullptr;
  size_t size = 0;
  xwsk::Segment seg{};
  xwsk::Buf buf{};
  xwsk::SockAddr from{};
  uint32_t control_flags = 0;
  bool busy = false;
  bool ran = false;
};

struct UdpRun {
  const ClientConfig* cfg = nullptr;
  xwsk::Socket* socket = nullptr;
  uint64_t seed = 0;
  uint64_t datagrams = 0;
  size_t payload = 0;       // per datagram
  size_t last_payload = 0;  // of the last one
  Finish finish;
  std::atomic<uint32_t> refs{0};

  SpinLock lock;
  bool pumping = false;
  WinSlot* win = nullptr;
  uint32_t win_count = 0;
  RecvSlot* rx = nullptr;
  uint32_t rx_count = 0;
  xwsk::Request close_req{};
  bool close_ready = false;
  bool close_issued = false, close_ran = false;
  bool failed = false, abort = false;
  Status error_status = Status::Success;
  char error[160] = {};
  uint64_t next_seq = 0;
  uint64_t accounted = 0;  // echoed + lost
  uint64_t echoed = 0, lost = 0, retransmits = 0, duplicates = 0, corrupt = 0;
  uint64_t bytes_sent = 0, bytes_echoed = 0;
  uint64_t sum_sent = 0, sum_echoed = 0;
  uint64_t send_errors = 0, receive_errors = 0;
  uint64_t finished_at = 0;

  size_t payload_of(uint64_t seq) const { return seq + 1 == datagrams ? last_payload : payload; }
  void fail(Status st, const char* what) {
    if (!failed) {
      failed = true;
      error_status = st;
      snprintf(error, sizeof(error), "%s: %s", what, xwsk::status_name(st));
    }
  }
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) finish.done();
  }
  void fill(WinSlot* w, uint64_t seq);
  void pump();
  void tick();
  static void on_send(xwsk::Request* req, void* context);
  static void on_recv(xwsk::Request* req, void* context);
};

uint64_t datagram_sum(uint64_t seq, uint32_t crc) {
  return mix64((seq << 32) ^ crc ^ 0x5bd1e995u);
}

void UdpRun::fill(WinSlot* w, uint64_t seq) {
  size_t len = payload_of(seq);
  uint8_t* p = w->data;
  pattern_fill(mix64(seed ^ seq), 0, p + kDatagramHeader, len);
  uint32_t crc = crc32(0, p + kDatagramHeader, len);
  put32(p, kMagic);
  put32(p + 4, static_cast<uint32_t>(len));
  put64(p + 8, seq);
  put32(p + 16, crc);
  put32(p + 20, 0);
  w->seq = seq;
  w->length = kDatagramHeader + len;
  w->acked = false;
  w->tries = 0;
  bytes_sent += len;
  sum_sent += datagram_sum(seq, crc);
}

void UdpRun::on_send(xwsk::Request* req, void* context) {
  WinSlot* w = static_cast<WinSlot*>(context);
  UdpRun* run = w->run;
  {
    Guard g(run->lock);
    w->ran = true;
    if (w->acked) {
      w->state = WinSlot::kFree;  // the echo overtook our send completion
    } else {
      // Sent, or failed for now: either way the retransmission timer takes it from here.
      w->state = WinSlot::kWaiting;
      if (req->status == Status::Cancelled || req->status == Status::FileClosed) {
        run->fail(req->status, "send_to");
      } else if (req->status != Status::Success) {
        run->send_errors++;
      }
    }
  }
  run->pump();
  run->release();
}

void UdpRun::on_recv(xwsk::Request* req, void* context) {
  RecvSlot* r = static_cast<RecvSlot*>(context);
  UdpRun* run = r->run;
  Status st = req->status;
  size_t n = req->information;
  // Validate outside the lock: the buffer is ours until the pump reissues this slot.
  bool valid = false;
  uint64_t seq = 0;
  uint32_t crc = 0;
  if (st == Status::Success && n >= kDatagramHeader) {
    const uint8_t* p = r->data;
    seq = get64(p + 8);
    crc = get32(p + 16);
    size_t len = get32(p + 4);
    valid = get32(p) == kMagic && seq < run->datagrams && len == run->payload_of(seq) &&
            n == kDatagramHeader + len && crc32(0, p + kDatagramHeader, len) == crc &&
            pattern_check(mix64(run->seed ^ seq), 0, p + kDatagramHeader, len, nullptr);
  }
  {
    Guard g(run->lock);
    r->ran = true;
    r->busy = false;
    if (st == Status::Success || st == Status::BufferOverflow) {
      WinSlot* w = valid ? &run->win[seq % run->win_count] : nullptr;
      if (!valid) {
        run->corrupt++;
      } else if (w->state == WinSlot::kFree || w->seq != seq || w->acked) {
        run->duplicates++;  // a late echo of a retransmitted datagram
      } else {
        w->acked = true;
        run->echoed++;
        run->accounted++;
        run->bytes_echoed += n - kDatagramHeader;
        run->sum_echoed += datagram_sum(seq, crc);
        if (w->state == WinSlot::kWaiting) w->state = WinSlot::kFree;
      }
    } else if (st == Status::Cancelled || st == Status::FileClosed || st == Status::InvalidHandle) {
      run->fail(st, "receive_from");
    } else {
      // e.g. port unreachable (ICMP) on some stacks: nothing came back this time; the
      // retransmission timer deals with it.
      run->receive_errors++;
    }
    if (run->accounted == run->datagrams && run->finished_at == 0) run->finished_at = now_ns();
  }
  run->pump();
  run->release();
}

void UdpRun::tick() {
  const uint64_t rto = static_cast<uint64_t>(cfg->rto_ms) * 1000000u;
  Guard g(lock);
  // Read the clock under the lock: a send issued by another thread stamps sent_at under it,
  // so no sent_at is later than this.
  const uint64_t now = now_ns();
  for (uint32_t i = 0; i < win_count; ++i) {
    WinSlot* w = &win[i];
    if (w->state != WinSlot::kWaiting || w->acked || now < w->sent_at + rto) continue;
    if (w->tries >= cfg->max_tries) {
      lost++;
      accounted++;
      w->state = WinSlot::kFree;
      if (accounted == datagrams && finished_at == 0) finished_at = now;
    } else {
      retransmits++;
      w->state = WinSlot::kNeedSend;
    }
  }
}

void UdpRun::pump() {
  {
    Guard g(lock);
    if (pumping) return;
    pumping = true;
  }
  for (;;) {
    WinSlot* send_slot = nullptr;
    RecvSlot* recv_slot = nullptr;
    bool do_close = false;
    {
      Guard g(lock);
      if (!close_issued) {
        if (failed || abort || accounted == datagrams) {
          close_issued = true;
          close_ran = false;
          do_close = true;
        } else {
          for (uint32_t i = 0; i < rx_count; ++i) {
            if (!rx[i].busy) {
              recv_slot = &rx[i];
              recv_slot->busy = true;
              recv_slot->ran = false;
              recv_slot->buf = xwsk::Buf{&recv_slot->seg, 0, recv_slot->size};
              refs.fetch_add(1, std::memory_order_relaxed);
              break;
            }
          }
          for (uint32_t i = 0; i < win_count; ++i) {
            WinSlot* w = &win[i];
            if (w->state == WinSlot::kFree && next_seq < datagrams && next_seq % win_count == i) {
              fill(w, next_seq++);
              w->state = WinSlot::kNeedSend;
            }
            if (w->state == WinSlot::kNeedSend) {
              send_slot = w;
              w->state = WinSlot::kSending;
              w->tries++;
              w->ran = false;
              w->sent_at = now_ns();
              w->buf = xwsk::Buf{&w->seg, 0, w->length};
              refs.fetch_add(1, std::memory_order_relaxed);
              break;
            }
          }
        }
      }
      if (send_slot == nullptr && recv_slot == nullptr && !do_close) {
        pumping = false;
        return;
      }
    }
    if (do_close) {
      Status r = xwsk::close_socket(socket, &close_req);
      if (r != Status::Pending) {
        Guard g(lock);
        if (!close_ran) {
          fprintf(stderr, "xwsk-echo: close_socket rejected: %s\n", xwsk::status_name(r));
          refs.fetch_sub(1, std::memory_order_relaxed);
        }
      }
      continue;
    }
    if (recv_slot != nullptr) {
      Status r = xwsk::receive_from(socket, &recv_slot->buf, 0, &recv_slot->from, nullptr, nullptr,
                                    &recv_slot->control_flags, &recv_slot->req);
      if (r != Status::Pending) {
        Guard g(lock);
        if (!recv_slot->ran) {
          recv_slot->busy = false;
          fail(r, "receive_from rejected");
          refs.fetch_sub(1, std::memory_order_relaxed);
        }
      }
    }
    if (send_slot != nullptr) {
      Status r =
          xwsk::send_to(socket, &send_slot->buf, 0, &cfg->remote, 0, nullptr, &send_slot->req);
      if (r != Status::Pending) {
        Guard g(lock);
        if (!send_slot->ran) {
          send_slot->state = WinSlot::kWaiting;
          fail(r, "send_to rejected");
          refs.fetch_sub(1, std::memory_order_relaxed);
        }
      }
    }
  }
}

void run_udp(xwsk::Client* client, const ClientConfig& cfg, ClientReport* report) {
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(cfg.timeout_ms) * 1000000u;
  UdpRun* run = new (std::nothrow) UdpRun();
  if (run == nullptr) {
    set_error(report, Status::InsufficientResources, "out of memory");
    return;
  }
  run->cfg = &cfg;
  run->seed = cfg.seed != 0 ? cfg.seed : random_seed();
  run->payload = cfg.datagram_size - kDatagramHeader;
  run->datagrams = (cfg.bytes + run->payload - 1) / run->payload;
  run->last_payload = static_cast<size_t>(cfg.bytes - (run->datagrams - 1) * run->payload);
  report->datagrams = run->datagrams;
  report->datagram_size = cfg.datagram_size;
  uint32_t w = cfg.window;
  if (w > run->datagrams) w = static_cast<uint32_t>(run->datagrams);
  run->win_count = w;
  run->rx_count = w < 8 ? w : 8;
  run->win = new (std::nothrow) WinSlot[run->win_count];
  run->rx = new (std::nothrow) RecvSlot[run->rx_count];
  bool ok = run->win != nullptr && run->rx != nullptr;
  for (uint32_t i = 0; ok && i < run->win_count; ++i) {
    WinSlot* s = &run->win[i];
    s->run = run;
    s->data = new (std::nothrow) uint8_t[cfg.datagram_size];
    ok = s->data != nullptr &&
         xwsk::segment_init(&s->seg, s->data, cfg.datagram_size) == Status::Success &&
         (s->req_ready = xwsk::request_init(&s->req, UdpRun::on_send, s) == Status::Success);
  }
  for (uint32_t i = 0; ok && i < run->rx_count; ++i) {
    RecvSlot* s = &run->rx[i];
    s->size = cfg.datagram_size + 64;  // room to notice a datagram longer than any we sent
    s->run = run;
    s->data = new (std::nothrow) uint8_t[s->size];
    ok = s->data != nullptr && xwsk::segment_init(&s->seg, s->data, s->size) == Status::Success &&
         (s->req_ready = xwsk::request_init(&s->req, UdpRun::on_recv, s) == Status::Success);
  }
  ok = ok && (run->close_ready =
                  xwsk::request_init(&run->close_req, on_closed<UdpRun>, run) == Status::Success);
  if (!ok) set_error(report, Status::InsufficientResources, "out of memory");

  Status st = Status::Success;
  if (ok) {
    st = create_socket(client, cfg.remote.af(), xwsk::SocketType::Datagram, xwsk::Protocol::Udp,
                       xwsk::kDatagramSocket, run, nullptr, &run->socket, 10000);
    if (st != Status::Success) {
      set_error(report, st, "socket(udp): %s", xwsk::status_name(st));
      run->socket = nullptr;
      ok = false;
    }
  }
  if (ok) {
    st = bind_socket(run->socket, any_address(cfg.remote.af()), 10000);
    if (st != Status::Success) {
      set_error(report, st, "bind(udp): %s", xwsk::status_name(st));
      close_socket_wait(run->socket, kCloseTimeoutMs);
      ok = false;
    }
  }
  bool in_time = true;
  uint64_t start = now_ns(), end = start;
  if (ok) {
    run->finish.add();
    run->refs.store(2, std::memory_order_relaxed);  // the socket's, and ours while we tick
    run->pump();
    // The retransmission timer (a periodic timer/DPC in a driver).
    for (;;) {
      if (run->finish.all_done.wait(10)) break;
      if (remaining_ms(deadline) == 0) {
        in_time = false;
        Guard g(run->lock);
        run->abort = true;
      } else {
        run->tick();
      }
      run->pump();
      if (!in_time) break;
      // Stop holding our reference once the close is under way, so the run can finish.
      bool closing;
      {
        Guard g(run->lock);
        closing = run->close_issued;
      }
      if (closing) break;
    }
    end = run->finished_at != 0 ? run->finished_at : now_ns();
    run->release();
    if (!run->finish.all_done.wait(kCloseTimeoutMs)) {
      fprintf(stderr, "xwsk-echo: fatal: the UDP socket did not close within %u ms\n",
              kCloseTimeoutMs);
      fflush(stdout);
      _Exit(70);
    }
  }

  report->elapsed_s = static_cast<double>(end - start) / 1e9;
  report->sent = run->bytes_sent;
  report->received = run->bytes_echoed;
  report->datagrams_echoed = run->echoed;
  report->retransmits = run->retransmits;
  report->lost = run->lost;
  report->duplicates = run->duplicates;
  report->corrupt = run->corrupt;
  report->checksum_sent = run->sum_sent;
  report->checksum_received = run->sum_echoed;
  if (ok) {
    if (run->failed && run->accounted != run->datagrams) {
      set_error(report, run->error_status, "%s", run->error);
    } else if (!in_time) {
      set_error(report, Status::IoTimeout, "timed out after %.1f s: %llu of %llu datagrams echoed",
                cfg.timeout_ms / 1000.0, static_cast<unsigned long long>(run->echoed),
                static_cast<unsigned long long>(run->datagrams));
    } else if (run->lost != 0) {
      set_error(report, Status::Unsuccessful, "%llu of %llu datagrams lost after %u tries each",
                static_cast<unsigned long long>(run->lost),
                static_cast<unsigned long long>(run->datagrams), cfg.max_tries);
    } else if (run->corrupt != 0) {
      set_error(report, Status::Unsuccessful, "%llu corrupt datagrams came back",
                static_cast<unsigned long long>(run->corrupt));
    } else if (run->sum_sent != run->sum_echoed || run->bytes_echoed != cfg.bytes) {
      set_error(report, Status::Unsuccessful, "checksum mismatch");
    } else {
      report->ok = true;
    }
  }
  for (uint32_t i = 0; run->win != nullptr && i < run->win_count; ++i) {
    WinSlot* s = &run->win[i];
    if (s->req_ready) xwsk::request_free(&s->req);
    xwsk::segment_free(&s->seg);
    delete[] s->data;
  }
  for (uint32_t i = 0; run->rx != nullptr && i < run->rx_count; ++i) {
    RecvSlot* s = &run->rx[i];
    if (s->req_ready) xwsk::request_free(&s->req);
    xwsk::segment_free(&s->seg);
    delete[] s->data;
  }
  if (run->close_ready) xwsk::request_free(&run->close_req);
  delete[] run->win;
  delete[] run->rx;
  delete run;
}

}  // namespace

void run_client(xwsk::Client* client, const ClientConfig& config, ClientReport* report) {
  report->udp = config.udp;
  report->bytes = config.bytes;
  if (config.udp) {
    run_udp(client, config, report);
  } else {
    run_tcp(client, config, report);
  }
  if (report->elapsed_s > 0) {
    report->mb_per_s = static_cast<double>(report->received) / 1e6 / report->elapsed_s;
  }
}

}  // namespace echo
