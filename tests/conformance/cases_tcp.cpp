// SPDX-License-Identifier: MIT
// Conformance: TCP over listen and connection sockets (IPv4 and IPv6): connect, accept, send,
// receive, WAITALL, refused, bind conflicts, disconnects, cancel on close.
#include "cases.h"

namespace xt {

void tcp_echo(Context& t, AddressFamily f) {
  if (!require_family(t, f)) return;
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, f, &p));
  const size_t n = 100000;
  Buffer* out = env.buffer(t, n);
  Buffer* in = env.buffer(t, n);
  XT_CHECK(t, out != nullptr && in != nullptr);
  out->fill(42);
  // Receive posted first (pending), then the send; both ways.
  Started rop;
  XT_DO(t, env.start_receive(t, p.srv, in->all(), xwsk::kFlagWaitAll, &rop));
  XT_DO(t, env.send_all(t, p.cli, out, 0, n));
  XT_DO(t, rop.expect(t, Status::Success));
  XT_CHECK_EQ(t, n, rop.info());
  XT_CHECK(t, in->matches(42, 0, n));
  XT_DO(t, env.send_all(t, p.srv, in, 0, n));
  Buffer* back = env.buffer(t, n);
  XT_CHECK(t, back != nullptr);
  XT_DO(t, env.receive_exact(t, p.cli, back, 0, n));
  XT_CHECK(t, back->matches(42, 0, n));
  // Addresses of both ends agree.
  if ((xwsk::backend_capabilities() & xwsk::kCapAddressQueries) != 0) {
    xwsk::SockAddr cl{}, cr{}, sl{}, sr{};
    Op* q = env.op(t);
    XT_CHECK(t, q != nullptr);
    XT_DO(t, q->finish(t, xwsk::get_local_address(p.cli, &cl, &q->req)));
    q->rearm();
    XT_DO(t, q->finish(t, xwsk::get_remote_address(p.cli, &cr, &q->req)));
    q->rearm();
    XT_DO(t, q->finish(t, xwsk::get_local_address(p.srv, &sl, &q->req)));
    q->rearm();
    XT_DO(t, q->expect(t, xwsk::get_remote_address(p.srv, &sr, &q->req), Status::Success));
    XT_CHECK(t, xwsk::address_equal(cl, sr));
    XT_CHECK(t, xwsk::address_equal(cr, sl));
    XT_CHECK(t, cl.af() == f);
  }
}

void tcp_connect_refused(Context& t, AddressFamily f) {
  if (!require_family(t, f)) return;
  Env env;
  // Find a port nobody listens on: bind a listener, note its port, close it.
  xwsk::Socket* lsn = nullptr;
  xwsk::SockAddr addr{};
  XT_DO(t, env.open_listener(t, f, &lsn, &addr));
  XT_DO(t, env.close(t, lsn));
  xwsk::Socket* s = nullptr;
  XT_DO(t, env.tcp_socket(t, f, xwsk::kConnectionSocket, &s));
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  xwsk::SockAddr any = f == AddressFamily::Inet6 ? xwsk::ipv6_any(0) : xwsk::ipv4_any(0);
  XT_DO(t, op->expect(t, xwsk::bind(s, &any, 0, &op->req), Status::Success));
  op->rearm();
  XT_DO(t, op->expect(t, xwsk::connect(s, &addr, 0, &op->req), Status::ConnectionRefused));
}

void tcp_bind_conflict(Context& t, AddressFamily f) {
  if (!require_family(t, f)) return;
  Env env;
  xwsk::Socket* a = nullptr;
  xwsk::SockAddr addr{};
  XT_DO(t, env.open_listener(t, f, &a, &addr));
  // Exclusive address use is the default: a second bind of the same address fails, for
  // listen and connection sockets alike.
  const uint32_t categories[] = {xwsk::kListenSocket, xwsk::kConnectionSocket};
  for (uint32_t category : categories) {
    xwsk::Socket* b = nullptr;
    XT_DO(t, env.tcp_socket(t, f, category, &b));
    XT_DO(t, env.bind(t, b, addr, Status::AddressAlreadyAssociated));
  }
  // A wrong-family address is rejected before the request is accepted.
  xwsk::Socket* c = nullptr;
  XT_DO(t, env.tcp_socket(t, f, xwsk::kListenSocket, &c));
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  xwsk::SockAddr other =
      f == AddressFamily::Inet6 ? xwsk::ipv4_loopback(0) : xwsk::ipv6_loopback(0);
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::bind(c, &other, 0, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::bind(c, nullptr, 0, &op->req));
  XT_CHECK(t, !op->completed());
}

void tcp_cancel_on_close(Context& t, AddressFamily f) {
  if (!require_family(t, f)) return;
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, f, &p));
  Buffer* b = env.buffer(t, 64);
  XT_CHECK(t, b != nullptr);
  Op* r1 = env.op(t);
  Op* r2 = env.op(t);
  XT_CHECK(t, r1 != nullptr && r2 != nullptr);
  xwsk::Buf buf1 = b->buf(0, 32);
  xwsk::Buf buf2 = b->buf(32, 32);
  Status s1 = xwsk::receive(p.srv, &buf1, 0, &r1->req);
  Status s2 = xwsk::receive(p.srv, &buf2, 0, &r2->req);
  XT_CHECK_STATUS(t, Status::Pending, s1);
  XT_CHECK_STATUS(t, Status::Pending, s2);
  XT_DO(t, env.close(t, p.srv));
  // Both receives completed, cancelled, before the close did (Env::close waited for it).
  XT_CHECK(t, r1->completed());
  XT_CHECK(t, r2->completed());
  XT_DO(t, r1->finish(t, s1));
  XT_DO(t, r2->finish(t, s2));
  XT_CHECK_STATUS(t, Status::Cancelled, r1->status());
  XT_CHECK_STATUS(t, Status::Cancelled, r2->status());
  // The listener's pending accept is cancelled the same way.
  xwsk::Socket* lsn = nullptr;
  xwsk::SockAddr addr{};
  XT_DO(t, env.listener(t, f, &lsn, &addr));
  Started acc;
  XT_DO(t, env.start_accept(t, lsn, &acc));
  XT_CHECK_STATUS(t, Status::Pending, acc.ret);
  XT_DO(t, env.close(t, lsn));
  XT_DO(t, acc.expect(t, Status::Cancelled));
  XT_CHECK_EQ(t, 0, acc.info());
  // A closed socket's operations fail before acceptance until the close completes (here it
  // has, so the handle is gone and must not be used: nothing more to check).
}

void tcp_disconnect_graceful(Context& t, AddressFamily f) {
  if (!require_family(t, f)) return;
  XT_REQUIRE_CAP(t, xwsk::kCapDisconnect);
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, f, &p));
  Buffer* b = env.buffer(t, 256);
  XT_CHECK(t, b != nullptr);
  b->fill(3);
  xwsk::Buf final_data = b->buf(0, 100);
  XT_DO(t, env.disconnect(t, p.cli, 0, &final_data));
  // The peer sees the final data, then FIN: a receive completes with 0 bytes and Success.
  Buffer* in = env.buffer(t, 256);
  XT_CHECK(t, in != nullptr);
  XT_DO(t, env.receive_exact(t, p.srv, in, 0, 100));
  XT_CHECK(t, in->matches(3, 0, 100));
  Op* r = env.op(t);
  XT_CHECK(t, r != nullptr);
  xwsk::Buf rb = in->all();
  XT_DO(t, r->expect(t, xwsk::receive(p.srv, &rb, 0, &r->req), Status::Success));
  XT_CHECK_EQ(t, 0, r->info());
  // The half-closed side can still send the other way.
  XT_DO(t, env.send_all(t, p.srv, b, 0, 50));
  XT_DO(t, env.receive_exact(t, p.cli, in, 0, 50));
  XT_CHECK(t, in->matches(3, 0, 50));
  // Sending after the own FIN: the socket is not in a state to send (ESHUTDOWN's row of the
  // status table, decided as InvalidDeviceState).
  Op* s = env.op(t);
  XT_CHECK(t, s != nullptr);
  xwsk::Buf more = b->buf(0, 10);
  XT_DO(t, s->expect(t, xwsk::send(p.cli, &more, 0, &s->req), Status::InvalidDeviceState));
}

void tcp_disconnect_abortive(Context& t, AddressFamily f) {
  if (!require_family(t, f)) return;
  XT_REQUIRE_CAP(t, xwsk::kCapDisconnect);
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, f, &p));
  Started r;
  XT_DO(t, env.pending_receive(t, p.srv, 64, &r));
  XT_DO(t, env.disconnect(t, p.cli, xwsk::kFlagAbortive));
  // The peer sees RST: its pending receive fails with ConnectionReset.
  XT_DO(t, r.expect(t, Status::ConnectionReset));
}

void tcp_receive_waitall(Context& t, AddressFamily f) {
  if (!require_family(t, f)) return;
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, f, &p));
  Buffer* out = env.buffer(t, 3000);
  Buffer* in = env.buffer(t, 3000);
  XT_CHECK(t, out != nullptr && in != nullptr);
  out->fill(9);
  Started r;
  XT_DO(t, env.start_receive(t, p.srv, in->all(), xwsk::kFlagWaitAll, &r));
  // Three sends with pauses: WAITALL must not complete on the first piece.
  XT_DO(t, env.send_all(t, p.cli, out, 0, 1000));
  sleep_ms(20);
  XT_CHECK(t, !r.completed());
  XT_DO(t, env.send_all(t, p.cli, out, 1000, 1000));
  sleep_ms(20);
  XT_CHECK(t, !r.completed());
  XT_DO(t, env.send_all(t, p.cli, out, 2000, 1000));
  XT_DO(t, r.expect(t, Status::Success));
  XT_CHECK_EQ(t, 3000, r.info());
  XT_CHECK(t, in->matches(9, 0, 3000));
  // Without WAITALL a receive completes with what has arrived.
  Op* r2 = env.op(t);
  XT_CHECK(t, r2 != nullptr);
  Status rs2 = xwsk::receive(p.srv, &r.buf, 0, &r2->req);
  XT_DO(t, env.send_all(t, p.cli, out, 0, 10));
  XT_DO(t, r2->expect(t, rs2, Status::Success));
  XT_CHECK(t, r2->info() >= 1 && r2->info() <= 10);
}

void udp_echo(Context& t, AddressFamily f) {
  if (!require_family(t, f)) return;
  XT_REQUIRE_CAP(t, xwsk::kCapUdp);
  Env env;
  XT_DO(t, env.open(t));
  UdpPair u;
  XT_DO(t, env.udp_pair(t, f, &u));
  Buffer* out = env.buffer(t, 1200);
  Buffer* in = env.buffer(t, 2000);
  XT_CHECK(t, out != nullptr && in != nullptr);
  out->fill(5);
  xwsk::SockAddr from{};
  uint32_t cflags = 0;
  Started r;
  XT_DO(t, env.start_receive_from(t, u.b, in->all(), &r, &from, &cflags));
  XT_DO(t, env.datagram(t, u, out, 0, 1200));
  XT_DO(t, r.expect(t, Status::Success));
  XT_CHECK_EQ(t, 1200, r.info());
  XT_CHECK(t, in->matches(5, 0, 1200));
  XT_CHECK(t, xwsk::address_equal(from, u.aa));
  // A datagram longer than the buffer: BufferOverflow, truncated, kMsgTrunc.
  Started small;
  XT_DO(t, env.start_receive_from(t, u.b, in->buf(0, 100), &small, &from, &cflags));
  XT_DO(t, env.datagram(t, u, out, 0, 1200));
  XT_DO(t, small.expect(t, Status::BufferOverflow));
  XT_CHECK_EQ(t, 100, small.info());
  XT_CHECK(t, (cflags & xwsk::kMsgTrunc) != 0);
}

}  // namespace xt
