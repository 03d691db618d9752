// SPDX-License-Identifier: MIT
// libFuzzer target: Buf over arbitrary segment chains, on real loopback sockets.
//
// Each input builds up to 8 segments over a fixed arena (honest memory: a segment never claims
// bytes it does not own; a null data pointer with a non-zero length is allowed, it is a bad
// argument), links them in any way (null, forward, backward, onto itself: loops included),
// picks a Buf (start, offset, length, absurd values included) and uses it for send() and
// receive() on a connected TCP socket and send_to() on a UDP socket, with plain POSIX sockets as
// the peers. Checks:
//  - a Buf over a chain that ends (no segment walked twice, no null segment with a length) and
//    holds its bytes is accepted, and exactly its bytes travel (send, send_to: what the peer
//    reads; receive: what lands in the arena, in walk order);
//  - any other Buf (a chain that loops back on itself, even past the Buf's last byte; a null
//    segment; an offset or a length past the end; absurd sizes) is rejected with
//    InvalidParameter and no completion: never a hang (libFuzzer's -timeout) or a crash;
//  - every accepted request completes exactly once; the counters are zero after each input.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"

namespace {

using fuzz::die;
using fuzz::die_status;
using xwsk::Status;

constexpr int kSegments = 8;
constexpr size_t kArena = 256;
constexpr uint32_t kWaitMs = 5000;

struct Chain {
  uint8_t arena[kSegments][kArena];
  xwsk::Segment seg[kSegments];
  xwsk::Buf buf;
};

enum class Verdict { Valid, Invalid };

// The reference judgement of @p c's Buf, walking the whole chain from its start (a chain that
// loops back on itself, or that holds a segment with null data and a non-zero length, is bad
// even past the Buf's last byte: WSK's MDL chains end, and xwsk checks the whole chain). A valid
// Buf's bytes are appended to @p out.
constexpr size_t kOutCap = 8192;
constexpr size_t kSmallLength = 4096;  // lengths are either <= this or absurd (>= 2^32)

Verdict judge(const Chain& c, uint8_t* out, size_t* out_len) {
  const xwsk::Buf& b = c.buf;
  *out_len = 0;
  bool seen[kSegments] = {};
  for (const xwsk::Segment* s = b.segment; s != nullptr; s = s->next) {
    size_t idx = static_cast<size_t>(s - c.seg);
    if (seen[idx]) return Verdict::Invalid;  // loops back
    seen[idx] = true;
    if (s->data == nullptr && s->length != 0) return Verdict::Invalid;
  }
  if (b.length == 0) return Verdict::Valid;
  size_t need = b.length;
  bool first = true;
  for (const xwsk::Segment* s = b.segment; s != nullptr && need != 0; s = s->next) {
    size_t avail = s->length;
    size_t from = 0;
    if (first) {
      if (b.offset > avail) return Verdict::Invalid;
      avail -= b.offset;
      from = b.offset;
      first = false;
    }
    size_t take = avail < need ? avail : need;
    if (take != 0) memcpy(out + *out_len, static_cast<const uint8_t*>(s->data) + from, take);
    *out_len += take;
    need -= take;
  }
  return need == 0 ? Verdict::Valid : Verdict::Invalid;
}

// The input's layout (so that a regression input can be written by hand): 1 byte segment count
// (1 + b % 8); per segment (all 8): offset into its arena row (b % 256), length
// (b % (257 - offset)), kind (b % 16: 0 null data, 1 empty, 2 overlaps the previous row, else
// plain), link (b % 8: 0 end, 1-4 the next segment or the end for the last one of the count,
// 5-7 then one byte: segment b % count, itself included); then 1 byte start (b % 16 == 0: a null
// chain), 1 byte shape, the offset (shape % 8 == 0: 8 bytes, else 2 bytes % 257), the length (shape
// % 8 in 1..2: 8 bytes with bit 32 set, else 2 bytes % 4097). Multi-byte values are little-endian.
void build(fuzz::Input& in, Chain* c) {
  for (int i = 0; i < kSegments; ++i) {
    for (size_t j = 0; j < kArena; ++j)
      c->arena[i][j] = static_cast<uint8_t>(i * 37 + j * 11 + 1);
  }
  int n = 1 + in.u8() % kSegments;
  for (int i = 0; i < kSegments; ++i) {
    xwsk::Segment& s = c->seg[i];
    size_t off = in.u8() % kArena;
    size_t len = in.u8() % (kArena - off + 1);
    void* data = c->arena[i] + off;
    uint8_t kind = in.u8();
    if (kind % 16 == 0) data = nullptr;                   // null data (bad when len != 0)
    if (kind % 16 == 1) len = 0;                          // empty segment
    if (kind % 16 == 2 && i > 0) data = c->arena[i - 1];  // overlaps the previous one
    if (xwsk::segment_init(&s, data, data == nullptr ? 0 : len) != Status::Success) {
      die("segment_init refused honest memory");
    }
    if (data == nullptr) s.length = len;  // a bad segment segment_init would not build
    // Links: the next one, the end, or any segment (backwards and onto itself: loops).
    uint8_t link = in.u8();
    if (link % 8 == 0 || (link % 8 <= 4 && i + 1 >= n)) {
      s.next = nullptr;
    } else if (link % 8 <= 4) {
      s.next = &c->seg[i + 1];
    } else {
      s.next = &c->seg[in.u8() % n];
    }
  }
  c->buf.segment = in.u8() % 16 == 0 ? nullptr : &c->seg[0];
  uint8_t shape = in.u8();
  c->buf.offset = shape % 8 == 0 ? static_cast<size_t>(in.u64()) : in.u16() % (kArena + 1);
  c->buf.length = shape % 8 == 1 || shape % 8 == 2
                      ? static_cast<size_t>(in.u64() | (uint64_t{1} << 32))
                      : in.u16() % (kSmallLength + 1);
}

void free_chain(Chain* c) {
  for (xwsk::Segment& s : c->seg)
    xwsk::segment_free(&s);
}

// Reads exactly @p n bytes from @p fd (non-blocking, bounded wait) into @p out.
void read_exact(int fd, uint8_t* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kWaitMs) != 1) die("the peer did not receive every byte sent");
    ssize_t r = recv(fd, out + got, n - got, 0);
    if (r <= 0) die("the peer's connection ended early");
    got += static_cast<size_t>(r);
  }
}

void expect_nothing_more(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 0) == 1) {
    uint8_t extra[16];
    if (recv(fd, extra, sizeof extra, MSG_DONTWAIT) > 0) die("more bytes arrived than were sent");
  }
}

int os_socket(int type, xwsk::SockAddr* bound) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket()");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind()");
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *bound = xwsk::ipv4_loopback(ntohs(sa.sin_port));
  return fd;
}

// One call with a Buf: checks the verdict against the status. Returns true when accepted.
bool check_call(Status st, fuzz::Tracked& t, Verdict v) {
  bool accepted = t.settle(st);
  if (v == Verdict::Invalid) {
    if (accepted || st != Status::InvalidParameter)
      die_status("an invalid Buf was not rejected", st);
    return false;
  }
  if (!accepted) die_status("a valid Buf was rejected", st);
  t.wait(kWaitMs);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  static Chain c;
  static uint8_t expect[kOutCap];
  static uint8_t got[kOutCap];
  build(in, &c);
  size_t expect_len = 0;
  Verdict v = judge(c, expect, &expect_len);

  int listener = -1, peer = -1, udp_peer = -1;
  {
    fuzz::Session session;
    fuzz::Tracked t[2];
    for (auto& r : t)
      r.init();
    auto arm = [&](fuzz::Tracked& r) {
      r.calls.store(0);
      r.in_use.store(true);
    };

    // TCP: an xwsk connection socket connected to a plain POSIX listener.
    xwsk::SockAddr listen_at{};
    listener = os_socket(SOCK_STREAM, &listen_at);
    if (::listen(listener, 4) != 0) die("listen()");
    arm(t[0]);
    Status st =
        xwsk::socket(session.client(), xwsk::AddressFamily::Inet, xwsk::SocketType::Stream,
                     xwsk::Protocol::Tcp, xwsk::kConnectionSocket, nullptr, nullptr, &t[0].req);
    if (!t[0].settle(st)) die_status("socket() rejected", st);
    t[0].wait(kWaitMs);
    if (t[0].status != Status::Success) die_status("socket() failed", t[0].status);
    auto* tcp = reinterpret_cast<xwsk::Socket*>(t[0].information);
    xwsk::SockAddr any = xwsk::ipv4_loopback(0);
    arm(t[0]);
    if (!t[0].settle(xwsk::bind(tcp, &any, 0, &t[0].req))) die("bind() rejected");
    t[0].wait(kWaitMs);
    arm(t[0]);
    if (!t[0].settle(xwsk::connect(tcp, &listen_at, 0, &t[0].req))) die("connect() rejected");
    t[0].wait(kWaitMs);
    if (t[0].status != Status::Success) die_status("connect() failed", t[0].status);
    peer = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (peer < 0) die("accept()");

    // send: exactly the Buf's bytes reach the peer.
    arm(t[1]);
    if (check_call(xwsk::send(tcp, &c.buf, 0, &t[1].req), t[1], v)) {
      if (t[1].status != Status::Success) die_status("send failed", t[1].status);
      if (t[1].information != c.buf.length) die("send: information is not the Buf's length");
      read_exact(peer, got, expect_len);
      if (memcmp(got, expect, expect_len) != 0) die("send: the bytes differ");
      expect_nothing_more(peer);
    }

    // receive: the peer sends the Buf's length; the bytes land in the arena in walk order.
    if (v == Verdict::Valid && c.buf.length != 0 && c.buf.length <= kSmallLength) {
      static uint8_t wire[kSmallLength];
      for (size_t i = 0; i < c.buf.length; ++i)
        wire[i] = static_cast<uint8_t>(0xa5 ^ (i * 7));
      if (::send(peer, wire, c.buf.length, MSG_NOSIGNAL) != static_cast<ssize_t>(c.buf.length)) {
        die("peer send()");
      }
      arm(t[1]);
      if (check_call(xwsk::receive(tcp, &c.buf, xwsk::kFlagWaitAll, &t[1].req), t[1], v)) {
        if (t[1].status != Status::Success || t[1].information != c.buf.length) {
          die_status("receive with WAITALL did not fill the Buf", t[1].status);
        }
        // Re-walk: every byte of the Buf must now be the wire's, in order (overlapping segments
        // hold what was written last, so compare the walk's last write of each arena byte).
        static uint8_t mark[kSegments][kArena];
        memset(mark, 0, sizeof mark);
        // Replay the scatter on a copy to know the final value of each byte.
        size_t need = c.buf.length, pos = 0;
        bool first = true;
        for (const xwsk::Segment* s = c.buf.segment; s != nullptr && need != 0; s = s->next) {
          size_t from = first ? c.buf.offset : 0;
          first = false;
          size_t take = s->length - from < need ? s->length - from : need;
          for (size_t k = 0; k < take; ++k) {
            auto* p = static_cast<const uint8_t*>(s->data) + from + k;
            size_t seg = static_cast<size_t>((p - &c.arena[0][0]) / kArena);
            size_t at = static_cast<size_t>((p - &c.arena[0][0]) % kArena);
            mark[seg][at] = wire[pos + k];
          }
          pos += take;
          need -= take;
        }
        // Second pass in the same order: a byte must equal its last write.
        need = c.buf.length;
        first = true;
        for (const xwsk::Segment* s = c.buf.segment; s != nullptr && need != 0; s = s->next) {
          size_t from = first ? c.buf.offset : 0;
          first = false;
          size_t take = s->length - from < need ? s->length - from : need;
          for (size_t k = 0; k < take; ++k) {
            auto* p = static_cast<const uint8_t*>(s->data) + from + k;
            size_t seg = static_cast<size_t>((p - &c.arena[0][0]) / kArena);
            size_t at = static_cast<size_t>((p - &c.arena[0][0]) % kArena);
            if (*p != mark[seg][at]) die("receive: a byte landed in the wrong place");
          }
          need -= take;
        }
      }
    }

    // UDP: send_to from an xwsk datagram socket to a plain POSIX socket (the receive above
    // changed the arena: judge again).
    judge(c, expect, &expect_len);
    xwsk::SockAddr udp_at{};
    udp_peer = os_socket(SOCK_DGRAM, &udp_at);
    arm(t[0]);
    st = xwsk::socket(session.client(), xwsk::AddressFamily::Inet, xwsk::SocketType::Datagram,
                      xwsk::Protocol::Udp, xwsk::kDatagramSocket, nullptr, nullptr, &t[0].req);
    if (!t[0].settle(st)) die_status("socket(udp) rejected", st);
    t[0].wait(kWaitMs);
    if (t[0].status != Status::Success) die_status("socket(udp) failed", t[0].status);
    auto* udp = reinterpret_cast<xwsk::Socket*>(t[0].information);
    arm(t[0]);
    if (!t[0].settle(xwsk::bind(udp, &any, 0, &t[0].req))) die("bind(udp) rejected");
    t[0].wait(kWaitMs);
    arm(t[1]);
    if (check_call(xwsk::send_to(udp, &c.buf, 0, &udp_at, 0, nullptr, &t[1].req), t[1], v)) {
      if (t[1].status != Status::Success) die_status("send_to failed", t[1].status);
      size_t n = t[1].information;
      pollfd p{udp_peer, POLLIN, 0};
      if (poll(&p, 1, kWaitMs) != 1) die("the datagram did not arrive");
      ssize_t r = recv(udp_peer, got, sizeof got, 0);
      if (n != c.buf.length || r < 0 || static_cast<size_t>(r) != n) die("send_to: length");
      if (memcmp(got, expect, n) != 0) die("send_to: the bytes differ");
    }

    // Close both; nothing may stay pending.
    arm(t[0]);
    if (!t[0].settle(xwsk::close_socket(tcp, &t[0].req))) die("close_socket rejected");
    t[0].wait(kWaitMs);
    arm(t[0]);
    if (!t[0].settle(xwsk::close_socket(udp, &t[0].req))) die("close_socket(udp) rejected");
    t[0].wait(kWaitMs);
    for (auto& r : t)
      r.fini();
  }
  free_chain(&c);
  close(listener);
  close(peer);
  close(udp_peer);
  return 0;
}
