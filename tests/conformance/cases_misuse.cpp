// SPDX-License-Identifier: MIT
// Conformance: misuse gets a status, never a hang or a leak. request_init on a request in flight
// (DeviceBusy, the request untouched), segment chains that loop back on themselves or run past
// kMaxChainSegments (InvalidParameter before acceptance), and a second register_client into a
// Registration that still holds a client (InvalidParameter, the first client unharmed).
#include <new>

#include "cases.h"

namespace xt {

void misuse_request_init_in_flight(Context& t) {
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, AddressFamily::Inet, &p));
  Buffer* b = env.buffer(t, 16);
  XT_CHECK(t, b != nullptr);
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  // WAITALL over exactly the 4 bytes sent: a stream may deliver them in pieces otherwise.
  xwsk::Buf buf = b->buf(0, 4);
  Status r = xwsk::receive(p.srv, &buf, xwsk::kFlagWaitAll, &op->req);
  XT_CHECK_STATUS(t, Status::Pending, r);
  xwsk::CompletionRoutine routine = op->req.routine;
  void* context = op->req.context;
  // Re-initializing it now would lose the request the backend holds: refused, untouched.
  XT_CHECK_STATUS(t, Status::DeviceBusy, xwsk::request_init(&op->req, routine, nullptr));
  XT_CHECK(t, xwsk::request_pending(&op->req));
  XT_CHECK(t, op->req.routine == routine);
  XT_CHECK(t, op->req.context == context);
  // It still completes exactly once, with the data.
  Buffer* out = env.buffer(t, 4);
  XT_CHECK(t, out != nullptr);
  out->fill(3);
  XT_DO(t, env.send_all(t, p.cli, out, 0, 4));
  XT_DO(t, op->expect(t, r, Status::Success));
  XT_CHECK_EQ(t, 4, op->info());
  XT_CHECK(t, b->matches(3, 0, 4));
}

namespace {
/// Frees the segments of a case on every way out (XT_CHECK returns early).
struct Segments {
  xwsk::Segment* seg;
  size_t count;
  bool owned;  // seg was allocated with new[]
  ~Segments() {
    for (size_t i = 0; i < count; ++i)
      xwsk::segment_free(&seg[i]);
    if (owned) delete[] seg;
  }
};
}  // namespace

void misuse_looping_chain(Context& t) {
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, AddressFamily::Inet, &p));
  // The datagram checks need a datagram socket (not every provider has them: kCapUdp).
  const bool have_udp = (xwsk::backend_capabilities() & xwsk::kCapUdp) != 0;
  xwsk::Socket* udp = nullptr;
  xwsk::SockAddr udp_addr = xwsk::ipv4_loopback(9);
  if (have_udp) XT_DO(t, env.udp_socket(t, AddressFamily::Inet, &udp, &udp_addr));
  Buffer* b = env.buffer(t, 64);
  XT_CHECK(t, b != nullptr);
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  xwsk::Request* r = &op->req;
  // seg[0] -> seg[1] -> seg[0] over the buffer, and an empty seg[2] pointing at itself.
  xwsk::Segment seg[3] = {};
  Segments guard{seg, 0, false};
  XT_CHECK_STATUS(t, Status::Success, xwsk::segment_init(&seg[0], b->data, 32));
  guard.count = 1;
  XT_CHECK_STATUS(t, Status::Success, xwsk::segment_init(&seg[1], b->data + 32, 32));
  guard.count = 2;
  XT_CHECK_STATUS(t, Status::Success, xwsk::segment_init(&seg[2], b->data, 0));
  guard.count = 3;
  seg[0].next = &seg[1];
  seg[1].next = &seg[0];
  seg[2].next = &seg[2];
  xwsk::Buf loop2{&seg[0], 0, 100};      // needs more than one turn around the loop
  xwsk::Buf loop2_fits{&seg[0], 0, 16};  // the bytes fit before the loop; the chain never ends
  xwsk::Buf loop1{&seg[2], 0, 1};        // no byte is ever found
  xwsk::Buf loop1_empty{&seg[2], 0, 0};
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(p.cli, &loop2, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(p.cli, &loop2_fits, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(p.cli, &loop1, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(p.cli, &loop1_empty, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::receive(p.srv, &loop2, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::connect_ex(p.cli, &udp_addr, &loop1, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::disconnect(p.cli, &loop2, 0, r));
  if (have_udp) {
    XT_CHECK_STATUS(t, Status::InvalidParameter,
                    xwsk::send_to(udp, &loop2, 0, &udp_addr, 0, nullptr, r));
    XT_CHECK_STATUS(t, Status::InvalidParameter,
                    xwsk::receive_from(udp, &loop1, 0, nullptr, nullptr, nullptr, nullptr, r));
    // A BufList that loops back on itself (each element a valid datagram).
    xwsk::BufList e1{nullptr, b->buf(0, 4)};
    xwsk::BufList e2{&e1, b->buf(4, 4)};
    e1.next = &e2;
    XT_CHECK_STATUS(t, Status::InvalidParameter,
                    xwsk::send_messages(udp, &e1, 0, &udp_addr, 0, nullptr, r));
  }
  XT_CHECK(t, !op->completed());
  XT_CHECK(t, !xwsk::request_pending(r));
  // A chain one segment longer than the bound: refused; cut to the bound: accepted.
  const size_t n = xwsk::kMaxChainSegments + 1;
  xwsk::Segment* chain = new (std::nothrow) xwsk::Segment[n];
  XT_CHECK(t, chain != nullptr);
  Segments chain_guard{chain, 0, true};
  for (size_t i = 0; i < n; ++i) {
    XT_CHECK_STATUS(t, Status::Success, xwsk::segment_init(&chain[i], b->data + (i % 64), 1));
    chain_guard.count = i + 1;
    if (i > 0) chain[i - 1].next = &chain[i];
  }
  xwsk::Buf over{&chain[0], 0, 1};
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(p.cli, &over, 0, r));
  chain[n - 2].next = nullptr;  // kMaxChainSegments segments
  Status st = xwsk::send(p.cli, &over, 0, r);
  XT_CHECK(t, st != Status::InvalidParameter);
  XT_DO(t, op->expect(t, st, Status::Success));
  XT_CHECK_EQ(t, 1, op->info());
}

void misuse_register_twice(Context& t) {
  static const xwsk::ClientDispatch kDispatch = {xwsk::kWskVersion, 0, nullptr};
  xwsk::ClientNpi npi{nullptr, &kDispatch};
  xwsk::Registration reg{};
  XT_CHECK_STATUS(t, Status::Success, xwsk::register_client(&npi, &reg));
  xwsk::ProviderNpi first{};
  XT_CHECK_STATUS(t, Status::Success, xwsk::capture_provider(&reg, xwsk::kNoWait, &first));
  xwsk::release_provider(&reg);
  // WSK wants a different WSK_REGISTRATION per registration instance.
  const uint32_t registered = xwsk::counters().registrations;
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::register_client(&npi, &reg));
  XT_CHECK_EQ(t, registered, xwsk::counters().registrations);
  // The first client is still the registered one, and deregistering it releases everything.
  xwsk::ProviderNpi again{};
  XT_CHECK_STATUS(t, Status::Success, xwsk::capture_provider(&reg, xwsk::kNoWait, &again));
  XT_CHECK(t, again.client == first.client);
  xwsk::release_provider(&reg);
  xwsk::deregister_client(&reg);
  XT_CHECK_EQ(t, registered - 1, xwsk::counters().registrations);
  // Deregistered, the same Registration may be used again.
  XT_CHECK_STATUS(t, Status::Success, xwsk::register_client(&npi, &reg));
  xwsk::deregister_client(&reg);
  XT_CHECK_EQ(t, registered - 1, xwsk::counters().registrations);
}

}  // namespace xt
