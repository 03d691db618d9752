// SPDX-License-Identifier: MIT
// Conformance: send_messages batches whose datagrams have one size (all but perhaps the last),
// the shape the user-space backends send as one UDP GSO send on Linux. Whatever the backend
// does underneath, the peer must receive exactly the datagrams of the list: as many, in
// order, each of its own size and bytes, never merged into one.
#include <new>

#include "cases.h"

namespace xt {

namespace {

/// Sends @p n datagrams in one send_messages: n - 1 of @p size bytes, the last of @p last
/// bytes (consecutive slices of one pattern-filled buffer), then receives them one by one on
/// the peer and checks each one's size, bytes and source.
void send_messages_sized(Context& t, AddressFamily f, int n, size_t size, size_t last) {
  Env env;
  XT_DO(t, env.open(t));
  xwsk::Socket* a = nullptr;
  xwsk::Socket* b = nullptr;
  xwsk::SockAddr aa{}, ba{};
  XT_DO(t, env.udp_socket(t, f, &a, &aa));
  XT_DO(t, env.udp_socket(t, f, &b, &ba));
  const size_t total = size * static_cast<size_t>(n - 1) + last;
  Buffer* out = env.buffer(t, total);
  XT_CHECK(t, out != nullptr);
  out->fill(733);
  xwsk::BufList* list = new (std::nothrow) xwsk::BufList[static_cast<size_t>(n)];
  XT_CHECK(t, list != nullptr);
  struct Free {
    xwsk::BufList* l;
    ~Free() { delete[] l; }
  } free_list{list};
  size_t at = 0;
  for (int i = 0; i < n; ++i) {
    const size_t len = i + 1 < n ? size : last;
    list[i].next = i + 1 < n ? &list[i + 1] : nullptr;
    list[i].buffer = out->buf(at, len);
    at += len;
  }
  Op* s = env.op(t);
  XT_CHECK(t, s != nullptr);
  XT_DO(t, s->finish(t, xwsk::send_messages(a, list, 0, &ba, 0, nullptr, &s->req)));
  XT_CHECK_STATUS(t, Status::Success, s->status());
  XT_CHECK_EQ(t, total, s->info());
  // Loopback keeps them all (well below the default receive buffer) and in order. A receive
  // buffer larger than any datagram: a merged datagram would show as a wrong size.
  constexpr size_t kCap = 4096;
  Buffer* in = env.buffer(t, kCap);
  Op* r = env.op(t);
  XT_CHECK(t, in != nullptr && r != nullptr);
  at = 0;
  for (int i = 0; i < n; ++i) {
    const size_t len = i + 1 < n ? size : last;
    xwsk::Buf rb = in->all();
    xwsk::SockAddr from{};
    if (i > 0) r->rearm();
    XT_DO(t,
          r->finish(t, xwsk::receive_from(b, &rb, 0, &from, nullptr, nullptr, nullptr, &r->req)));
    XT_CHECK_STATUS(t, Status::Success, r->status());
    XT_CHECK_EQ(t, len, r->info());
    for (size_t k = 0; k < len; ++k)
      XT_CHECK_EQ(t, pattern_byte(733, at + k), in->data[k]);
    XT_CHECK(t, xwsk::address_equal(from, aa));
    at += len;
  }
}

}  // namespace

/// Three shapes: 32 datagrams, 31 of 1200 bytes and a shorter last one (one GSO send); 100 of
/// 64 bytes (more than one GSO send carries: 64 segments at most); 20 of 900 bytes and a longer
/// last one (not a GSO shape).
void udp_send_messages_sized(Context& t, AddressFamily f) {
  if (!require_family(t, f)) return;
  XT_REQUIRE_CAP(t, xwsk::kCapUdp);
  XT_REQUIRE_CAP(t, xwsk::kCapSendMessages);
  send_messages_sized(t, f, 32, 1200, 700);
  if (t.failed()) return;
  send_messages_sized(t, f, 100, 64, 64);
  if (t.failed()) return;
  send_messages_sized(t, f, 21, 900, 1000);
}

}  // namespace xt
