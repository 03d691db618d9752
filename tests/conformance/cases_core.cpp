// SPDX-License-Identifier: MIT
// Conformance: statuses, addresses, registration, request rules, argument validation.
#include <new>

#include "cases.h"

namespace xt {

void core_status_names(Context& t) {
  XT_CHECK(t, str_eq("STATUS_CONNECTION_REFUSED", xwsk::status_name(Status::ConnectionRefused)));
  XT_CHECK(t, str_eq("STATUS_CANCELLED", xwsk::status_name(Status::Cancelled)));
  XT_CHECK(t, str_eq("STATUS_PENDING", xwsk::status_name(Status::Pending)));
  XT_CHECK_EQ(t, 0xC0000236u, xwsk::status_value(Status::ConnectionRefused));
  XT_CHECK_EQ(t, 0xC0000238u, xwsk::status_value(Status::AddressAlreadyAssociated));
  XT_CHECK(t, str_eq("STATUS_<unknown>", xwsk::status_name(static_cast<Status>(0x12345))));
  XT_CHECK(t, xwsk::nt_success(Status::Pending));
  XT_CHECK(t, !xwsk::nt_success(Status::Cancelled));
}

void core_address_parse_format(Context& t) {
  xwsk::SockAddr a{};
  char text[64];
  XT_CHECK_STATUS(t, Status::Success, xwsk::parse_address("127.0.0.1:8080", &a));
  XT_CHECK_EQ(t, 8080, a.port());
  XT_CHECK(t, a.af() == AddressFamily::Inet);
  XT_CHECK(t, xwsk::format_address(a, text, sizeof(text)) > 0);
  XT_CHECK(t, str_eq("127.0.0.1:8080", text));
  XT_CHECK_STATUS(t, Status::Success, xwsk::parse_address("[::1]:443", &a));
  XT_CHECK(t, a.af() == AddressFamily::Inet6);
  XT_CHECK(t, xwsk::address_equal(a, xwsk::ipv6_loopback(443)));
  XT_CHECK(t, xwsk::format_address(a, text, sizeof(text)) > 0);
  XT_CHECK(t, str_eq("[::1]:443", text));
  XT_CHECK_STATUS(t, Status::Success, xwsk::parse_address("2001:db8::ff00:42:8329", &a));
  XT_CHECK(t, xwsk::format_address(a, text, sizeof(text)) > 0);
  XT_CHECK(t, str_eq("[2001:db8::ff00:42:8329]:0", text));
  XT_CHECK_STATUS(t, Status::Success, xwsk::parse_address("::ffff:10.1.2.3", &a));
  XT_CHECK_EQ(t, 10, a.addr[12]);
  XT_CHECK_EQ(t, 3, a.addr[15]);
  const char* bad[] = {"",        "1.2.3",       "256.1.1.1", "1.2.3.4:",  "1.2.3.4:65536",
                       "[::1",    "[::1]x",      "1:::2",     "1::2::3",   "12345::",
                       "a.b.c.d", "1.2.3.4:80x", "::1:",      "1.2.3.4.5", "[1.2.3.4]:1"};
  for (const char* b : bad) {
    if (xwsk::parse_address(b, &a) != Status::InvalidParameter) {
      t.fail(__FILE__, __LINE__, "accepted a bad address: ");
      t.add(b);
      return;
    }
  }
  // Strict dotted decimal, as RtlIpv4StringToAddress with Strict = TRUE: a leading zero (octal
  // in the lenient form) or a hex octet is rejected; a lone zero octet is plain decimal.
  const char* not_decimal[] = {"01.02.03.04", "1.2.3.010", "00.1.2.3", "::ffff:1.2.3.04",
                               "0x1.2.3.4"};
  for (const char* b : not_decimal) {
    if (xwsk::parse_address(b, &a) != Status::InvalidParameter) {
      t.fail(__FILE__, __LINE__, "accepted a leading zero: ");
      t.add(b);
      return;
    }
  }
  XT_CHECK_STATUS(t, Status::Success, xwsk::parse_address("0.10.0.100:0", &a));
  XT_CHECK(t, xwsk::address_equal(a, xwsk::ipv4(0, 10, 0, 100, 0)));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::parse_address(nullptr, &a));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::parse_address("1.2.3.4", nullptr));
  char tiny[4];
  XT_CHECK_EQ(t, 0, xwsk::format_address(xwsk::ipv4_loopback(1), tiny, sizeof(tiny)));
}

void core_registration_rules(Context& t) {
  xwsk::Registration reg{};
  static const xwsk::ClientDispatch kBadVersion = {0x0200, 0, nullptr};
  static const xwsk::ClientDispatch kGood = {xwsk::kWskVersion, 0, nullptr};
  xwsk::ClientNpi npi{nullptr, &kGood};
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::register_client(nullptr, &reg));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::register_client(&npi, nullptr));
  xwsk::ClientNpi no_dispatch{nullptr, nullptr};
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::register_client(&no_dispatch, &reg));
  xwsk::ClientNpi bad_version{nullptr, &kBadVersion};
  XT_CHECK_STATUS(t, Status::NotSupported, xwsk::register_client(&bad_version, &reg));
  xwsk::ProviderNpi provider{};
  XT_CHECK_STATUS(t, Status::InvalidParameter,
                  xwsk::capture_provider(&reg, xwsk::kNoWait, &provider));
  XT_CHECK_STATUS(t, Status::Success, xwsk::register_client(&npi, &reg));
  XT_CHECK_STATUS(t, Status::InvalidParameter,
                  xwsk::capture_provider(&reg, xwsk::kNoWait, nullptr));
  XT_CHECK_STATUS(t, Status::Success, xwsk::capture_provider(&reg, xwsk::kNoWait, &provider));
  XT_CHECK(t, provider.client != nullptr);
  XT_CHECK_EQ(t, xwsk::kWskVersion, provider.version);
  xwsk::release_provider(&reg);
  xwsk::deregister_client(&reg);
  // Deregistered: capture now fails, release and deregister are harmless.
  XT_CHECK_STATUS(t, Status::InvalidParameter,
                  xwsk::capture_provider(&reg, xwsk::kNoWait, &provider));
  xwsk::release_provider(&reg);
  xwsk::deregister_client(&reg);
  xwsk::release_provider(nullptr);
  xwsk::deregister_client(nullptr);
}

void core_request_rules(Context& t) {
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::request_init(nullptr, nullptr, nullptr));
  xwsk::Request req{};
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::request_init(&req, nullptr, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::request_free(nullptr));
  XT_CHECK(t, !xwsk::request_pending(nullptr));

  Env env;
  XT_DO(t, env.open(t));
  // A request that is in flight cannot be used again: DeviceBusy, and it still completes once.
  xwsk::Socket* s = nullptr;
  XT_DO(t, env.tcp_socket(t, AddressFamily::Inet, xwsk::kConnectionSocket, &s));
  xwsk::Socket* peer = nullptr;
  xwsk::Socket* srv = nullptr;
  XT_DO(t, env.connected_pair(t, AddressFamily::Inet, &peer, &srv));
  Buffer* b = env.buffer(t, 16);
  XT_CHECK(t, b != nullptr);
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  // WAITALL over exactly the 4 bytes sent: a stream may deliver them in pieces otherwise.
  xwsk::Buf buf = b->buf(0, 4);
  Status r = xwsk::receive(srv, &buf, xwsk::kFlagWaitAll, &op->req);
  XT_CHECK_STATUS(t, Status::Pending, r);
  XT_CHECK(t, xwsk::request_pending(&op->req));
  XT_CHECK_STATUS(t, Status::DeviceBusy, xwsk::receive(srv, &buf, 0, &op->req));
  XT_CHECK_STATUS(t, Status::DeviceBusy, xwsk::request_free(&op->req));
  XT_CHECK_STATUS(t, Status::DeviceBusy,
                  xwsk::request_set_completion(&op->req, op->req.routine, op->req.context));
  Buffer* out = env.buffer(t, 4);
  XT_CHECK(t, out != nullptr);
  out->fill(7);
  XT_DO(t, env.send_all(t, peer, out, 0, 4));
  XT_DO(t, op->expect(t, r, Status::Success));
  XT_CHECK_EQ(t, 4, op->info());
  XT_CHECK(t, b->matches(7, 0, 4));
  // Reuse after completion.
  op->rearm();
  out->fill(8);
  r = xwsk::receive(srv, &buf, xwsk::kFlagWaitAll, &op->req);
  XT_DO(t, env.send_all(t, peer, out, 0, 4));
  XT_DO(t, op->expect(t, r, Status::Success));
  XT_CHECK(t, b->matches(8, 0, 4));
}

namespace {
struct PendingProbe {
  std::atomic<uint32_t> ran{0};
  std::atomic<uint32_t> pending_in_routine{2};
  Event done;
};
void probe_pending(xwsk::Request* req, void* ctx) {
  auto* p = static_cast<PendingProbe*>(ctx);
  p->pending_in_routine.store(xwsk::request_pending(req) ? 1u : 0u, std::memory_order_release);
  p->ran.fetch_add(1, std::memory_order_acq_rel);
  p->done.set();
}
}  // namespace

// request_pending(): true from acceptance until the completion routine starts; false inside the
// routine (the request is the caller's again there, as an IRP in its IoCompletion routine), and
// false after a call that rejected the request.
void core_request_pending(Context& t) {
  PendingProbe* p = new (std::nothrow) PendingProbe();
  XT_CHECK(t, p != nullptr);
  xwsk::Request* req = new (std::nothrow) xwsk::Request();
  if (req == nullptr) delete p;
  XT_CHECK(t, req != nullptr);
  struct Free {
    PendingProbe* p;
    xwsk::Request* req;
    bool init = false;
    ~Free() {
      if (init && !xwsk::request_pending(req)) xwsk::request_free(req);
      delete req;
      delete p;
    }
  } guard{p, req};
  XT_CHECK_STATUS(t, Status::Success, xwsk::request_init(req, probe_pending, p));
  guard.init = true;
  XT_CHECK(t, !xwsk::request_pending(req));
  Env env;
  XT_DO(t, env.open(t));
  xwsk::Socket* cli = nullptr;
  xwsk::Socket* srv = nullptr;
  XT_DO(t, env.connected_pair(t, AddressFamily::Inet, &cli, &srv));
  Buffer* b = env.buffer(t, 8);
  XT_CHECK(t, b != nullptr);
  xwsk::Buf buf = b->all();
  // Rejected (null socket): never pending.
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::receive(nullptr, &buf, 0, req));
  XT_CHECK(t, !xwsk::request_pending(req));
  Status r = xwsk::receive(srv, &buf, 0, req);
  XT_CHECK_STATUS(t, Status::Pending, r);
  XT_CHECK(t, xwsk::request_pending(req));
  Buffer* out = env.buffer(t, 8);
  XT_CHECK(t, out != nullptr);
  out->fill(5);
  XT_DO(t, env.send_all(t, cli, out, 0, 8));
  XT_CHECK(t, p->done.wait(kTimeoutMs));
  XT_CHECK_EQ(t, 1, p->ran.load());
  XT_CHECK_EQ(t, 0, p->pending_in_routine.load());
  XT_CHECK(t, !xwsk::request_pending(req));
  XT_CHECK_STATUS(t, Status::Success, req->status);
}

void core_socket_invalid_parameters(Context& t) {
  Env env;
  XT_DO(t, env.open(t));
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  // Null request: InvalidParameter. Null client: InvalidHandle, request untouched.
  XT_CHECK_STATUS(t, Status::InvalidParameter,
                  xwsk::socket(env.client(), AddressFamily::Inet, SocketType::Stream, Protocol::Tcp,
                               xwsk::kConnectionSocket, nullptr, nullptr, nullptr));
  op->req.status = Status::Unsuccessful;
  op->req.information = 77;
  XT_CHECK_STATUS(t, Status::InvalidHandle,
                  xwsk::socket(nullptr, AddressFamily::Inet, SocketType::Stream, Protocol::Tcp,
                               xwsk::kConnectionSocket, nullptr, nullptr, &op->req));
  XT_CHECK(t, !op->completed());
  XT_CHECK_STATUS(t, Status::Unsuccessful, op->req.status);
  XT_CHECK_EQ(t, 77, op->req.information);
  // Accepted, then completed with InvalidParameter: bad family, type/protocol, category.
  const SocketArgs bad[] = {
      {99, 1, 6, xwsk::kConnectionSocket},  // unknown family
      {2, 1, 17, xwsk::kConnectionSocket},  // stream over UDP
      {2, 2, 6, xwsk::kDatagramSocket},     // datagram over TCP
      {2, 1, 6, xwsk::kDatagramSocket},     // datagram category on TCP
      {2, 1, 6, 0x3},                       // two categories
      {23, 9, 6, xwsk::kConnectionSocket},  // unknown type
  };
  for (const SocketArgs& c : bad)
    XT_DO(t, env.socket_rejected(t, c));
}

// As Windows has it: WskSocket(AF_INET, SOCK_DGRAM, IPPROTO_UDP, WSK_FLAG_LISTEN_SOCKET)
// succeeds; its bind returns and completes with NotImplemented (information 0); it closes.
void core_socket_udp_listen(Context& t) {
  XT_REQUIRE_CAP(t, xwsk::kCapUdp);
  Env env;
  XT_DO(t, env.open(t));
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  xwsk::Socket* udp_listen = nullptr;
  XT_DO(t, env.socket(t, AddressFamily::Inet, SocketType::Datagram, Protocol::Udp,
                      xwsk::kListenSocket, nullptr, nullptr, &udp_listen));
  op->rearm();
  xwsk::SockAddr any = xwsk::ipv4_any(0);
  XT_DO(t, op->returned(t, xwsk::bind(udp_listen, &any, 0, &op->req), Status::NotImplemented));
  XT_DO(t, env.close(t, udp_listen));
}

void core_wrong_category(Context& t) {
  Env env;
  xwsk::Socket* lsn = nullptr;
  xwsk::SockAddr addr{};
  XT_DO(t, env.open_listener(t, AddressFamily::Inet, &lsn, &addr));
  xwsk::Socket* conn = nullptr;
  XT_DO(t, env.tcp_socket(t, AddressFamily::Inet, xwsk::kConnectionSocket, &conn));
  Buffer* b = env.buffer(t, 8);
  XT_CHECK(t, b != nullptr);
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  xwsk::Buf buf = b->all();
  xwsk::SockAddr remote = addr;
  // Connection operations on a listen socket, listen operations on a connection socket,
  // datagram operations on both: InvalidDeviceRequest, request untouched.
  XT_CHECK_STATUS(t, Status::InvalidDeviceRequest, xwsk::send(lsn, &buf, 0, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidDeviceRequest, xwsk::receive(lsn, &buf, 0, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidDeviceRequest, xwsk::connect(lsn, &remote, 0, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidDeviceRequest,
                  xwsk::accept(conn, 0, nullptr, nullptr, nullptr, nullptr, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidDeviceRequest,
                  xwsk::send_to(conn, &buf, 0, &remote, 0, nullptr, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidDeviceRequest,
                  xwsk::receive_from(lsn, &buf, 0, nullptr, nullptr, nullptr, nullptr, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidDeviceRequest, xwsk::listen(conn, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidDeviceRequest, xwsk::listen(lsn, &op->req));
  XT_CHECK(t, !op->completed());
  // Null socket and null request.
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::send(nullptr, &buf, 0, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(conn, &buf, 0, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::close_socket(nullptr, &op->req));
  XT_CHECK(t, !op->completed());
}

void core_buffer_validation(Context& t) {
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, AddressFamily::Inet, &p));
  Buffer* b = env.buffer(t, 16);
  XT_CHECK(t, b != nullptr);
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  xwsk::Buf too_long = b->buf(0, 17);
  xwsk::Buf past_end = b->buf(10, 7);
  xwsk::Buf no_segment{nullptr, 0, 4};
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(p.cli, &too_long, 0, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(p.cli, &past_end, 0, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::receive(p.cli, &too_long, 0, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(p.cli, &no_segment, 0, &op->req));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(p.cli, nullptr, 0, &op->req));
  xwsk::Buf ok = b->all();
  XT_CHECK_STATUS(t, Status::InvalidParameter,
                  xwsk::receive(p.cli, &ok, xwsk::kFlagWaitAll | xwsk::kFlagDrain, &op->req));
  XT_CHECK(t, !op->completed());
  // segment_init argument checks.
  xwsk::Segment seg{};
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::segment_init(nullptr, b->data, 1));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::segment_init(&seg, nullptr, 1));
  xwsk::segment_free(nullptr);
}

}  // namespace xt
