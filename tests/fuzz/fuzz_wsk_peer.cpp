// SPDX-License-Identifier: MIT
// libFuzzer target: the peer is the fuzzer. xwsk's WSK backend runs over umwsk's user-mode WSK
// provider (wsk_um); the input plays the remote end with plain loopback sockets, so that every
// way the provider can indicate data (bytes, chunking, FIN, RST, datagrams) reaches a WSK
// client written against the xwsk API.
//
// Once per process: one client, one IPv4 and one IPv6 listen socket (accept requests). Per
// input (byte 0: TCP or UDP, IPv4 or IPv6):
//  - TCP: a plain socket connects; the accepted xwsk socket takes data either through receive
//    and disconnect events (each indication taken or retained and released later, as the input
//    says) or through receive requests (sizes and WAITALL chosen by the input). The input then
//    writes chunks (sizes chosen by it, a position-dependent byte pattern), pauses, half-closes
//    (shutdown: FIN) or resets (SO_LINGER {1, 0} + close: RST).
//  - UDP: an xwsk datagram socket with the receive-from event; a plain UDP socket sends up to 32
//    datagrams of 0 to 1400 bytes (each taken or retained).
// Input layout (so that a case can be written by hand): byte 0 (bit 0 UDP, bit 1 IPv6); TCP:
// salt, mode (bit 0 events, bit 1 WAITALL), 8 bytes of take/retain bits (one per indication,
// cyclic), in request mode the first receive's size byte, then the script, one op byte each
// (op % 8: 0-2 write 1-64 bytes, 3 write 1-16384 (u16), 4 pause 0-3 ms, 5 next receive's size,
// 6 with bits 0x30 FIN, 7 with bits 0x70 RST); UDP: 8 bytes of take/retain bits, salt, then per
// datagram a byte (bit 7: a u16 size follows, else size = byte % 64; bit 6: pause). Receives
// smaller than 4096 bytes are capped at 512 per input (each is a round trip), a WAITALL receive
// without a FIN in the script gets one at the end.
// Checks: the accepted connection is the peer's (its remote port); every byte the peer sent
// arrives in order, exactly once, and before the disconnect
// event / the 0-byte receive (after a FIN: all of it; after a RST: a prefix, and the end is
// reported); every datagram arrives whole, in order, from the peer's address; every accepted
// request completes exactly once; after the input's sockets are closed, xwsk::counters() and
// UmwskQueryCounters() are back to their values before the input. Every wait is bounded
// (5 s); at most 128 KiB per input; loopback only.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mutex>

#include "fuzz_common.h"
#include "fuzz_connect.h"
#include "fuzz_umwsk.h"

namespace {

using fuzz::die;
using fuzz::die_errno;
using fuzz::die_status;
using xwsk::Status;

constexpr uint32_t kWaitMs = 5000;
constexpr size_t kMaxBytes = 128 * 1024;
constexpr size_t kRxSize = 4096;
constexpr int kMaxSmallReceives = 512;
constexpr int kMaxRetained = 64;
constexpr int kMaxDatagrams = 32;
constexpr size_t kMaxDatagram = 1400;
constexpr unsigned kChoiceBits = 64;  // take or retain, per indication, cyclically (8 bytes)

uint64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// The byte at stream position @p i (depends on the position, so that a lost, repeated or
// reordered chunk shows).
uint8_t pattern(size_t i, uint8_t salt) {
  return static_cast<uint8_t>((i * 131u) ^ (i >> 8) ^ salt);
}

void arm(fuzz::Tracked& t) {
  t.calls.store(0);
  t.in_use.store(true);
}

// Issues a call on @p t and waits for its completion; returns the final status.
template <typename Call>
Status sync(fuzz::Tracked& t, Call call) {
  arm(t);
  Status st = call(&t.req);
  if (!t.settle(st)) return st;
  t.wait(kWaitMs);
  return t.status;
}

// Copies the bytes a Buf describes (offset applies to the first segment) to @p out.
size_t copy_buf(const xwsk::Buf& b, uint8_t* out, size_t room) {
  size_t left = b.length, off = b.offset, n = 0;
  for (const xwsk::Segment* s = b.segment; s != nullptr && left > 0; s = s->next) {
    if (off >= s->length) {
      off -= s->length;
      continue;
    }
    size_t take = s->length - off < left ? s->length - off : left;
    if (n + take > room) die("an indication holds more bytes than the peer sent");
    memcpy(out + n, static_cast<const uint8_t*>(s->data) + off, take);
    n += take;
    left -= take;
    off = 0;
  }
  if (left != 0) die("an indication's Buf runs past its segments");
  return n;
}

// Whether the event retains indication @p i (STATUS_PENDING, released later) or takes it.
bool retain(const uint8_t* choices, uint32_t i) {
  i %= kChoiceBits;
  return ((choices[i / 8] >> (i % 8)) & 1) != 0;
}

// ---- one stream connection ------------------------------------------------------------------

struct Conn {
  std::mutex mu;
  xwsk::Socket* s = nullptr;
  bool events = false;
  uint8_t choices[kChoiceBits / 8] = {};
  uint32_t indications = 0;
  uint8_t got[kMaxBytes];
  size_t got_len = 0;
  bool disconnected = false;  // disconnect event, null indication, 0-byte or failed receive
  bool abortive = false;
  size_t got_at_end = 0;
  bool data_after_end = false;
  bool closing = false;
  xwsk::DataIndication* retained[kMaxRetained] = {};
  int n_retained = 0;
};

Status on_receive(void* ctx, uint32_t, xwsk::DataIndication* data, size_t bytes, size_t* accepted) {
  auto* c = static_cast<Conn*>(ctx);
  std::lock_guard<std::mutex> lock(c->mu);
  if (data == nullptr) {  // the connection is no longer usable
    if (!c->disconnected) c->got_at_end = c->got_len;
    c->disconnected = true;
    return Status::Success;
  }
  if (c->disconnected) c->data_after_end = true;
  size_t n = 0;
  for (xwsk::DataIndication* d = data; d != nullptr; d = d->next)
    n += copy_buf(d->buffer, c->got + c->got_len + n, kMaxBytes - c->got_len - n);
  if (n != bytes) die("bytes indicated differ from the bytes in the indication list");
  c->got_len += n;
  if (retain(c->choices, c->indications++) && !c->closing && c->n_retained < kMaxRetained) {
    c->retained[c->n_retained++] = data;
    return Status::Pending;
  }
  if (accepted != nullptr) *accepted = bytes;
  return Status::Success;
}
Status on_disconnect(void* ctx, uint32_t flags) {
  auto* c = static_cast<Conn*>(ctx);
  std::lock_guard<std::mutex> lock(c->mu);
  if (!c->disconnected) c->got_at_end = c->got_len;
  c->disconnected = true;
  c->abortive = (flags & xwsk::kFlagAbortive) != 0;
  return Status::Success;
}
Status on_backlog(void*, size_t) {
  return Status::Success;
}
const xwsk::ConnectionDispatch kConnection = {on_receive, on_disconnect, on_backlog};

// ---- datagrams ------------------------------------------------------------------------------

struct Dgram {
  std::mutex mu;
  uint8_t choices[kChoiceBits / 8] = {};
  uint32_t indications = 0;
  int count = 0;
  size_t len[kMaxDatagrams] = {};
  uint8_t data[kMaxDatagrams][kMaxDatagram];
  xwsk::SockAddr from[kMaxDatagrams] = {};
  bool closing = false;
  xwsk::DatagramIndication* retained[kMaxRetained] = {};
  int n_retained = 0;
};

Status on_receive_from(void* ctx, uint32_t, xwsk::DatagramIndication* list) {
  auto* g = static_cast<Dgram*>(ctx);
  if (list == nullptr) return Status::Success;  // the socket is going away
  std::lock_guard<std::mutex> lock(g->mu);
  for (xwsk::DatagramIndication* d = list; d != nullptr; d = d->next) {
    if (g->count >= kMaxDatagrams) die("more datagrams than the peer sent");
    g->len[g->count] = copy_buf(d->buffer, g->data[g->count], kMaxDatagram);
    if (d->remote_address == nullptr) die("a datagram indication without a remote address");
    g->from[g->count] = *d->remote_address;
    ++g->count;
  }
  if (retain(g->choices, g->indications++) && !g->closing && g->n_retained < kMaxRetained) {
    g->retained[g->n_retained++] = list;
    return Status::Pending;
  }
  return Status::Success;
}
const xwsk::DatagramDispatch kDatagram = {on_receive_from};

// ---- the process-wide client and listeners ----------------------------------------------------

struct World {
  xwsk::Registration reg{};
  xwsk::ProviderNpi npi{};
  xwsk::Socket* listener[2] = {};  // IPv4, IPv6
  uint16_t port[2] = {};
  xwsk::Counters base{};
  fuzz::UmCounters um_base{};
};
World* g_world = nullptr;

const xwsk::ClientDispatch kClientDispatch = {xwsk::kWskVersion, 0, nullptr};

bool same(const xwsk::Counters& a, const xwsk::Counters& b) {
  return a.registrations == b.registrations && a.sockets == b.sockets &&
         a.requests_in_flight == b.requests_in_flight && a.allocations == b.allocations &&
         a.retained_indications == b.retained_indications;
}

World& world() {
  if (g_world != nullptr) return *g_world;
  auto* w = new World;
  xwsk::ClientNpi npi{nullptr, &kClientDispatch};
  Status st = xwsk::register_client(&npi, &w->reg);
  if (st != Status::Success) die_status("register_client", st);
  st = xwsk::capture_provider(&w->reg, xwsk::kInfiniteWait, &w->npi);
  if (st != Status::Success) die_status("capture_provider", st);
  fuzz::Tracked t;
  t.init();
  for (int f = 0; f < 2; ++f) {
    xwsk::AddressFamily fam = f == 0 ? xwsk::AddressFamily::Inet : xwsk::AddressFamily::Inet6;
    st = sync(t, [&](xwsk::Request* r) {
      return xwsk::socket(w->npi.client, fam, xwsk::SocketType::Stream, xwsk::Protocol::Tcp,
                          xwsk::kListenSocket, nullptr, nullptr, r);
    });
    if (st != Status::Success) die_status("listen socket", st);
    w->listener[f] = reinterpret_cast<xwsk::Socket*>(t.information);
    xwsk::SockAddr a = f == 0 ? xwsk::ipv4_loopback(0) : xwsk::ipv6_loopback(0);
    st = sync(t, [&](xwsk::Request* r) { return xwsk::bind(w->listener[f], &a, 0, r); });
    if (st != Status::Success) die_status("bind listener", st);
    xwsk::SockAddr local{};
    st = sync(t,
              [&](xwsk::Request* r) { return xwsk::get_local_address(w->listener[f], &local, r); });
    if (st != Status::Success) die_status("listener address", st);
    w->port[f] = local.port();
  }
  t.fini();
  w->base = xwsk::counters();
  w->um_base = fuzz::um_counters();
  g_world = w;
  return *w;
}

// Every input ends with the counters where they were before it (bounded wait: a close's last
// provider bookkeeping may trail its completion by a moment).
void check_counters(World& w) {
  uint64_t deadline = now_ms() + kWaitMs;
  for (;;) {
    xwsk::Counters c = xwsk::counters();
    fuzz::UmCounters u = fuzz::um_counters();
    bool um_same = true;
    for (int i = 0; i < fuzz::UmCounters::kCount; ++i)
      um_same = um_same && u.v[i] == w.um_base.v[i];
    if (same(c, w.base) && um_same) return;
    if (now_ms() > deadline) {
      fprintf(stderr,
              "fuzz: xwsk counters registrations %u sockets %u requests %u allocations %u "
              "retained %u (before the input: %u %u %u %u %u)\n",
              c.registrations, c.sockets, c.requests_in_flight, c.allocations,
              c.retained_indications, w.base.registrations, w.base.sockets,
              w.base.requests_in_flight, w.base.allocations, w.base.retained_indications);
      fuzz::um_counters_differ("after the input", w.um_base, u);
      die("counters not back to their values before the input");
    }
    fuzz::sleep_ms(1);
  }
}

// ---- the stream scenario --------------------------------------------------------------------

struct Stream {
  Conn c;
  int fd = -1;
  size_t sent = 0;
  uint8_t salt = 0;
  bool fin = false;
  bool reset = false;
  // request mode
  fuzz::Tracked rx;
  bool rx_posted = false;
  uint8_t rx_data[kRxSize];
  xwsk::Segment rx_seg{};
  xwsk::Buf rx_buf{};       // the receive's Buf: left alone while the receive is pending
  size_t rx_next_size = 1;  // the next receive's size
  int small_receives = 0;   // receives of less than kRxSize so far: at most kMaxSmallReceives
  uint32_t rx_flags = 0;
};

// A receive size from a byte: 4096 down to 1 by halves (small ones are slow, so not the default).
// Some of them a little short of a power of two.
size_t rx_size(uint8_t b) {
  size_t n = kRxSize >> (b % 13);
  if (b >= 208 && n > 8) n -= b % 7;
  return n;
}

bool ended(Stream& st) {
  std::lock_guard<std::mutex> lock(st.c.mu);
  return st.c.disconnected;
}

void release_retained(Stream& st) {
  xwsk::DataIndication* list[kMaxRetained];
  int n;
  {
    std::lock_guard<std::mutex> lock(st.c.mu);
    n = st.c.n_retained;
    memcpy(list, st.c.retained, sizeof(list[0]) * static_cast<size_t>(n));
    st.c.n_retained = 0;
  }
  for (int i = 0; i < n; ++i) {
    Status r = xwsk::release_data_indications(st.c.s, list[i]);
    if (r != Status::Success) die_status("release_data_indications", r);
  }
}

// Request mode: takes a finished receive's bytes and posts the next one.
void pump(Stream& st) {
  if (st.c.events) {
    release_retained(st);
    return;
  }
  if (!st.rx.done()) return;
  {
    std::lock_guard<std::mutex> lock(st.c.mu);
    if (st.rx_posted) {
      st.rx_posted = false;
      if (st.c.disconnected) {
        if (st.rx.status == Status::Success && st.rx.information != 0) st.c.data_after_end = true;
        return;
      }
      if (st.rx.status == Status::Success && st.rx.information != 0) {
        size_t n = st.rx.information;
        if (n > st.rx_buf.length) die("a receive reported more bytes than its buffer");
        if (st.c.got_len + n > kMaxBytes) die("received more bytes than the peer sent");
        memcpy(st.c.got + st.c.got_len, st.rx_data, n);
        st.c.got_len += n;
      } else {
        st.c.disconnected = true;
        st.c.got_at_end = st.c.got_len;
        st.c.abortive = st.rx.status != Status::Success;
        return;
      }
    }
    if (st.c.disconnected) return;
  }
  // Each receive is a round trip through the loop thread: small ones only so many times.
  size_t size = st.rx_next_size;
  if (size < kRxSize && st.small_receives++ >= kMaxSmallReceives) size = kRxSize;
  st.rx_buf = xwsk::Buf{&st.rx_seg, 0, size};
  arm(st.rx);
  Status r = xwsk::receive(st.c.s, &st.rx_buf, st.rx_flags, &st.rx.req);
  if (!st.rx.settle(r)) die_status("receive rejected", r);
  st.rx_posted = true;
}

void nap() {
  timespec ts{0, 50000};
  nanosleep(&ts, nullptr);
}

// Waits, pumping, until @p cond holds: dies after 5 s without a byte arriving.
template <typename Cond>
void wait_for(Stream& st, const char* what, Cond cond) {
  uint64_t deadline = now_ms() + kWaitMs;
  size_t seen = 0;
  while (!cond()) {
    pump(st);
    {
      std::lock_guard<std::mutex> lock(st.c.mu);
      if (st.c.got_len != seen) {
        seen = st.c.got_len;
        deadline = now_ms() + kWaitMs;
      }
    }
    if (now_ms() > deadline) die(what);
    nap();
  }
}

void peer_write(Stream& st, size_t n) {
  if (st.sent + n > kMaxBytes) n = kMaxBytes - st.sent;
  uint8_t chunk[16384];
  for (size_t i = 0; i < n; ++i)
    chunk[i] = pattern(st.sent + i, st.salt);
  size_t off = 0;
  uint64_t deadline = now_ms() + kWaitMs;
  while (off < n) {
    ssize_t k = ::send(st.fd, chunk + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k > 0) {
      off += static_cast<size_t>(k);
      continue;
    }
    if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      fprintf(stderr, "fuzz: peer send: %s\n", strerror(errno));
      die("the peer's send failed (the xwsk side never closes first)");
    }
    pump(st);
    if (now_ms() > deadline) die("the peer could not write for 5 s (nobody reads)");
    nap();
  }
  st.sent += n;
}

void check_prefix(Stream& st, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (st.c.got[i] != pattern(i, st.salt)) {
      fprintf(stderr, "fuzz: byte %zu of %zu received differs (0x%02x, sent 0x%02x)\n", i, n,
              st.c.got[i], pattern(i, st.salt));
      die("bytes received out of order, repeated or corrupted");
    }
  }
}

void run_stream(World& w, fuzz::Input& in, int f) {
  auto* st = new Stream;
  st->salt = in.u8();
  uint8_t mode = in.u8();
  st->c.events = (mode & 1) != 0;
  st->rx_flags = (mode & 2) != 0 ? xwsk::kFlagWaitAll : 0;
  in.bytes(st->c.choices, sizeof st->c.choices);
  st->rx.init();
  fuzz::Tracked t;
  t.init();

  // Accept the peer's connection: the accept request waits, then the peer connects
  // (fuzz_connect.h: a connect that a signal interrupted must not leave a second connection in
  // the listener's queue). The accepted socket's remote address must be the peer's own: one
  // connection too many in the queue would hand every later accept another input's connection.
  xwsk::SockAddr remote{};
  arm(t);
  Status r = xwsk::accept(w.listener[f], 0, &st->c, &kConnection, nullptr, &remote, &t.req);
  if (!t.settle(r)) die_status("accept rejected", r);
  st->fd = fuzz::connect_loopback(f == 1, w.port[f], kWaitMs);
  if (st->fd < 0) die_errno("peer connect");
  t.wait(kWaitMs);
  if (t.status != Status::Success || t.information == 0) die_status("accept", t.status);
  sockaddr_storage me{};
  socklen_t me_len = sizeof me;
  if (::getsockname(st->fd, reinterpret_cast<sockaddr*>(&me), &me_len) != 0) {
    die_errno("peer getsockname");
  }
  const uint16_t my_port = f == 0 ? ntohs(reinterpret_cast<sockaddr_in*>(&me)->sin_port)
                                  : ntohs(reinterpret_cast<sockaddr_in6*>(&me)->sin6_port);
  if (remote.port() != my_port) {
    fprintf(stderr, "fuzz: the peer's port is %u, the accepted connection's remote port %u\n",
            my_port, remote.port());
    die("the accepted connection is not the peer's");
  }
  st->c.s = reinterpret_cast<xwsk::Socket*>(t.information);

  // Events, or receive requests over a buffer of an input-chosen size.
  if (st->c.events) {
    xwsk::EventCallbackControl ec{nullptr, xwsk::kEventReceive | xwsk::kEventDisconnect};
    r = sync(t, [&](xwsk::Request* q) {
      return xwsk::control_socket(st->c.s, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                                  xwsk::kSolSocket, sizeof ec, &ec, 0, nullptr, nullptr, q);
    });
    if (r != Status::Success) die_status("enable receive and disconnect events", r);
  } else {
    r = xwsk::segment_init(&st->rx_seg, st->rx_data, kRxSize);
    if (r != Status::Success) die_status("segment_init", r);
    st->rx_seg.data = st->rx_data;
    st->rx_seg.length = kRxSize;
    st->rx_next_size = rx_size(in.u8());
    pump(*st);
  }

  // The peer's script.
  for (int step = 0; step < 48 && !in.empty() && !st->fin && !st->reset; ++step) {
    uint8_t op = in.u8();
    switch (op % 8) {
      case 0:
      case 1:
      case 2:
        peer_write(*st, 1 + in.u8() % 64);  // small chunks: many indications
        break;
      case 3:
        peer_write(*st, 1 + in.u16() % 16384);
        break;
      case 4:
        fuzz::sleep_ms(in.u8() % 4);
        pump(*st);
        break;
      case 5:
        if (!st->c.events) st->rx_next_size = rx_size(in.u8());  // the next receive's
        break;
      case 6:
        if ((op & 0x30) == 0x30) {
          st->fin = true;
          if (::shutdown(st->fd, SHUT_WR) != 0) die("shutdown");
        }
        break;
      case 7:
        if ((op & 0x70) == 0x70) {
          st->reset = true;
          linger l{1, 0};
          setsockopt(st->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
          ::close(st->fd);
          st->fd = -1;
        }
        break;
    }
  }

  if (!st->fin && !st->reset && !st->c.events && st->rx_flags == xwsk::kFlagWaitAll) {
    // A WAITALL receive completes when its buffer is full or at the end of the stream: end it.
    st->fin = true;
    if (::shutdown(st->fd, SHUT_WR) != 0) die("shutdown");
  }
  if (st->reset) {
    // A RST may cut the stream anywhere; the end is reported all the same.
    wait_for(*st, "no disconnect event or failed receive after the peer's RST",
             [&] { return ended(*st); });
    std::lock_guard<std::mutex> lock(st->c.mu);
    if (st->c.got_len > st->sent) die("more bytes received than sent");
    check_prefix(*st, st->c.got_len);
  } else if (st->fin) {
    wait_for(*st, "no disconnect event or 0-byte receive after the peer's FIN",
             [&] { return ended(*st); });
    std::lock_guard<std::mutex> lock(st->c.mu);
    if (st->c.abortive) die("a FIN reported as an abortive disconnect");
    if (st->c.got_at_end != st->sent || st->c.got_len != st->sent) {
      fprintf(stderr, "fuzz: sent %zu, received %zu (%zu before the end was reported)\n", st->sent,
              st->c.got_len, st->c.got_at_end);
      die("after a FIN, not every byte arrived before the end");
    }
    check_prefix(*st, st->sent);
  } else {
    wait_for(*st, "bytes the peer sent did not all arrive", [&] {
      std::lock_guard<std::mutex> lock(st->c.mu);
      return st->c.got_len >= st->sent;
    });
    std::lock_guard<std::mutex> lock(st->c.mu);
    if (st->c.disconnected) die("a disconnect reported while the peer is still connected");
    if (st->c.got_len != st->sent) die("more bytes received than sent");
    check_prefix(*st, st->sent);
  }
  {
    std::lock_guard<std::mutex> lock(st->c.mu);
    if (st->c.data_after_end) die("data indicated after the end of the stream");
    st->c.closing = true;
  }
  if (st->c.events) release_retained(*st);

  // Close everything: the xwsk socket (cancels a pending receive), then the peer.
  r = sync(t, [&](xwsk::Request* q) { return xwsk::close_socket(st->c.s, q); });
  if (r != Status::Success) die_status("close_socket", r);
  st->rx.wait(kWaitMs);  // a receive still pending completes (cancelled) by the close
  if (st->fd >= 0) ::close(st->fd);
  xwsk::segment_free(&st->rx_seg);
  st->rx.fini();
  t.fini();
  delete st;
}

// ---- the datagram scenario ------------------------------------------------------------------

// Releases what the event retained until @p n datagrams have arrived (bounded).
void wait_datagrams(Dgram* g, xwsk::Socket* s, int n) {
  uint64_t deadline = now_ms() + kWaitMs;
  for (;;) {
    xwsk::DatagramIndication* list[kMaxRetained];
    int k, count;
    {
      std::lock_guard<std::mutex> lock(g->mu);
      k = g->n_retained;
      memcpy(list, g->retained, sizeof(list[0]) * static_cast<size_t>(k));
      g->n_retained = 0;
      count = g->count;
    }
    for (int i = 0; i < k; ++i) {
      Status r = xwsk::release_datagram_indications(s, list[i]);
      if (r != Status::Success) die_status("release_datagram_indications", r);
    }
    if (count >= n) break;
    if (now_ms() > deadline) {
      fprintf(stderr, "fuzz: %d of %d datagrams arrived\n", count, n);
      die("loopback datagrams did not all arrive");
    }
    nap();
  }
}

void run_datagrams(World& w, fuzz::Input& in, int f) {
  auto* g = new Dgram;
  in.bytes(g->choices, sizeof g->choices);
  fuzz::Tracked t;
  t.init();
  xwsk::AddressFamily fam = f == 0 ? xwsk::AddressFamily::Inet : xwsk::AddressFamily::Inet6;
  Status r = sync(t, [&](xwsk::Request* q) {
    return xwsk::socket(w.npi.client, fam, xwsk::SocketType::Datagram, xwsk::Protocol::Udp,
                        xwsk::kDatagramSocket, g, &kDatagram, q);
  });
  if (r != Status::Success) die_status("datagram socket", r);
  auto* s = reinterpret_cast<xwsk::Socket*>(t.information);
  xwsk::SockAddr a = f == 0 ? xwsk::ipv4_loopback(0) : xwsk::ipv6_loopback(0);
  r = sync(t, [&](xwsk::Request* q) { return xwsk::bind(s, &a, 0, q); });
  if (r != Status::Success) die_status("bind datagram socket", r);
  xwsk::SockAddr local{};
  r = sync(t, [&](xwsk::Request* q) { return xwsk::get_local_address(s, &local, q); });
  if (r != Status::Success) die_status("datagram socket address", r);
  xwsk::EventCallbackControl ec{nullptr, xwsk::kEventReceiveFrom};
  r = sync(t, [&](xwsk::Request* q) {
    return xwsk::control_socket(s, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                                xwsk::kSolSocket, sizeof ec, &ec, 0, nullptr, nullptr, q);
  });
  if (r != Status::Success) die_status("enable the receive-from event", r);

  int fd = ::socket(f == 0 ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) die("peer UDP socket");
  sockaddr_storage to{}, me{};
  socklen_t to_len, me_len = sizeof me;
  if (f == 0) {
    auto* p = reinterpret_cast<sockaddr_in*>(&to);
    p->sin_family = AF_INET;
    p->sin_port = htons(local.port());
    p->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to_len = sizeof *p;
  } else {
    auto* p = reinterpret_cast<sockaddr_in6*>(&to);
    p->sin6_family = AF_INET6;
    p->sin6_port = htons(local.port());
    p->sin6_addr = in6addr_loopback;
    to_len = sizeof *p;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), to_len) != 0) die("peer UDP connect");
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&me), &me_len) != 0) die("getsockname");
  uint16_t my_port = f == 0 ? ntohs(reinterpret_cast<sockaddr_in*>(&me)->sin_port)
                            : ntohs(reinterpret_cast<sockaddr_in6*>(&me)->sin6_port);

  size_t sizes[kMaxDatagrams];
  uint8_t salt = in.u8();
  int n = 0;
  for (; n < kMaxDatagrams && !in.empty(); ++n) {
    uint8_t b = in.u8();
    sizes[n] = (b & 0x80) != 0 ? in.u16() % (kMaxDatagram + 1) : b % 64;
    uint8_t buf[kMaxDatagram];
    for (size_t i = 0; i < sizes[n]; ++i)
      buf[i] = pattern(i + static_cast<size_t>(n) * 7, salt);
    if (::send(fd, buf, sizes[n], MSG_NOSIGNAL) != static_cast<ssize_t>(sizes[n]))
      die("peer UDP send");
    if ((b & 0x40) != 0) fuzz::sleep_ms(b % 3);
  }
  wait_datagrams(g, s, n);
  {
    std::lock_guard<std::mutex> lock(g->mu);
    g->closing = true;
    if (g->count != n) die("more datagrams than the peer sent");
    for (int i = 0; i < n; ++i) {
      if (g->len[i] != sizes[i]) {
        fprintf(stderr, "fuzz: datagram %d: %zu bytes, sent %zu\n", i, g->len[i], sizes[i]);
        die("a datagram arrived with another length (or out of order)");
      }
      for (size_t j = 0; j < sizes[i]; ++j) {
        if (g->data[i][j] != pattern(j + static_cast<size_t>(i) * 7, salt))
          die("a datagram's bytes differ from what was sent");
      }
      if (g->from[i].port() != my_port || g->from[i].family != static_cast<uint16_t>(fam))
        die("a datagram's remote address is not the peer's");
    }
  }
  r = sync(t, [&](xwsk::Request* q) { return xwsk::close_socket(s, q); });
  if (r != Status::Success) die_status("close_socket (datagram)", r);
  ::close(fd);
  t.fini();
  delete g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  fuzz::Input in(data, size);
  uint8_t kind = in.u8();
  int f = (kind & 2) != 0 ? 1 : 0;
  if ((kind & 1) == 0) {
    run_stream(w, in, f);
  } else {
    run_datagrams(w, in, f);
  }
  check_counters(w);
  return 0;
}
