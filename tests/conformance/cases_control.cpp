// SPDX-License-Identifier: MIT
// Conformance: WskControlSocket (options, ioctls) and WskControlClient (transport list, codes).
#include "cases.h"

namespace xt {

namespace {

struct FionreadArg {
  Context* t;
  Op* op;
  xwsk::Socket* s;
  uint32_t want;
  bool error;
};

bool fionread_reaches(void* a) {
  FionreadArg* f = static_cast<FionreadArg*>(a);
  Op* op = f->op;
  op->rearm();
  uint32_t v = 0;
  size_t returned = 0;
  Status r = xwsk::control_socket(f->s, xwsk::ControlType::Ioctl, xwsk::kFionRead, 0, 0, nullptr,
                                  sizeof(v), &v, &returned, &op->req);
  if (!op->finish(*f->t, r) || op->status() != Status::Success || returned != sizeof(v)) {
    f->error = true;
    return true;
  }
  return v >= f->want;
}

}  // namespace

namespace {

// Sets (or gets) a ULONG option and checks the outcome: Success through the completion, any
// other status returned by the call itself (the core decides the option rules).
bool option_is(Context& t, Env& env, xwsk::Socket* s, xwsk::ControlType type, uint32_t level,
               uint32_t code, uint32_t value, Status expected) {
  Op* op = env.op(t);
  if (op == nullptr) return false;
  uint32_t out = 0;
  size_t returned = 0;
  const bool set = type == xwsk::ControlType::SetOption;
  Status r =
      xwsk::control_socket(s, type, code, level, set ? sizeof(value) : 0, set ? &value : nullptr,
                           set ? 0 : sizeof(out), set ? nullptr : &out, &returned, &op->req);
  if (expected != Status::Success) {
    if (!op->returned(t, r, expected)) {
      t.add(" (option ").add_u64(code).add(" level ").add_u64(level).add(")");
      return false;
    }
    XT_ENSURE_EQ(t, 0, returned);
    return true;
  }
  if (!op->finish(t, r)) return false;
  if (op->status() != Status::Success) {
    t.fail(__FILE__, __LINE__, "option refused: ");
    t.add_u64(code).add(" level ").add_u64(level).add(": ").add_status(op->status());
    return false;
  }
  return true;
}

constexpr xwsk::ControlType kSet = xwsk::ControlType::SetOption;
constexpr xwsk::ControlType kGet = xwsk::ControlType::GetOption;

}  // namespace

// The option rules, the same on every backend (sdk/src/rules.cpp): an option the socket cannot
// have is NotSupported, one that must precede bind is InvalidDeviceState after it, both decided
// by the call.
void control_socket_option_rules(Context& t) {
  XT_REQUIRE_CAP(t, xwsk::kCapControlSocket);
  XT_REQUIRE_CAP(t, xwsk::kCapUdp);
  Env env;
  XT_DO(t, env.open(t));
  const uint32_t sol = xwsk::kSolSocket;
  // A TCP connection socket: no SO_BROADCAST, no IPV6_V6ONLY (AF_INET), no conditional accept.
  xwsk::Socket* tcp = nullptr;
  XT_DO(t, env.tcp_socket(t, AddressFamily::Inet, xwsk::kConnectionSocket, &tcp));
  XT_DO(t, option_is(t, env, tcp, kSet, sol, xwsk::kSoBroadcast, 1, Status::NotSupported));
  XT_DO(t, option_is(t, env, tcp, kGet, sol, xwsk::kSoBroadcast, 0, Status::NotSupported));
  XT_DO(t, option_is(t, env, tcp, kSet, xwsk::kIpProtoIpv6, xwsk::kIpv6V6Only, 1,
                     Status::NotSupported));
  XT_DO(t, option_is(t, env, tcp, kSet, sol, xwsk::kSoConditionalAccept, 1, Status::NotSupported));
  // SO_REUSEADDR and SO_EXCLUSIVEADDRUSE: before bind only.
  XT_DO(t, option_is(t, env, tcp, kSet, sol, xwsk::kSoReuseAddr, 0, Status::Success));
  XT_DO(t, option_is(t, env, tcp, kSet, sol, xwsk::kSoExclusiveAddrUse, 1, Status::Success));
  xwsk::SockAddr bound{};
  XT_DO(t, env.bind_loopback(t, tcp, AddressFamily::Inet, &bound));
  XT_DO(t, option_is(t, env, tcp, kSet, sol, xwsk::kSoReuseAddr, 1, Status::InvalidDeviceState));
  XT_DO(t, option_is(t, env, tcp, kSet, sol, xwsk::kSoExclusiveAddrUse, 1,
                     Status::InvalidDeviceState));
  XT_DO(t, option_is(t, env, tcp, kSet, sol, xwsk::kSoKeepAlive, 1, Status::Success));
  // A UDP socket: no SO_KEEPALIVE, SO_LINGER, TCP_NODELAY or conditional accept; SO_BROADCAST.
  xwsk::Socket* udp = nullptr;
  XT_DO(t, env.unbound_udp_socket(t, AddressFamily::Inet, &udp));
  XT_DO(t, option_is(t, env, udp, kSet, sol, xwsk::kSoKeepAlive, 1, Status::NotSupported));
  XT_DO(t, option_is(t, env, udp, kGet, sol, xwsk::kSoKeepAlive, 0, Status::NotSupported));
  XT_DO(t, option_is(t, env, udp, kSet, xwsk::kIpProtoTcp, xwsk::kTcpNoDelay, 1,
                     Status::NotSupported));
  XT_DO(t, option_is(t, env, udp, kSet, sol, xwsk::kSoConditionalAccept, 1, Status::NotSupported));
  {
    Op* op = env.op(t);
    XT_CHECK(t, op != nullptr);
    xwsk::Linger l{1, 0};
    XT_DO(t, op->returned(t,
                          xwsk::control_socket(udp, kSet, xwsk::kSoLinger, sol, sizeof(l), &l, 0,
                                               nullptr, nullptr, &op->req),
                          Status::NotSupported));
  }
  XT_DO(t, option_is(t, env, udp, kSet, sol, xwsk::kSoBroadcast, 1, Status::Success));
  XT_DO(t, option_is(t, env, udp, kSet, sol, xwsk::kSoReuseAddr, 1, Status::Success));
  XT_DO(t, env.bind_loopback(t, udp, AddressFamily::Inet, &bound));
  XT_DO(t, option_is(t, env, udp, kSet, sol, xwsk::kSoReuseAddr, 0, Status::InvalidDeviceState));
  // A listen socket: conditional accept before bind only.
  xwsk::Socket* lsn = nullptr;
  XT_DO(t, env.tcp_socket(t, AddressFamily::Inet, xwsk::kListenSocket, &lsn));
  XT_DO(t, option_is(t, env, lsn, kSet, sol, xwsk::kSoConditionalAccept, 0, Status::Success));
  XT_DO(t, env.bind_loopback(t, lsn, AddressFamily::Inet, &bound));
  XT_DO(t, option_is(t, env, lsn, kSet, sol, xwsk::kSoConditionalAccept, 1,
                     Status::InvalidDeviceState));
  XT_DO(t, option_is(t, env, lsn, kSet, sol, xwsk::kSoKeepAlive, 1, Status::Success));
  // IPV6_V6ONLY: before bind only.
  if ((xwsk::backend_capabilities() & xwsk::kCapIpv6) == 0) return;
  xwsk::Socket* v6 = nullptr;
  XT_DO(t, env.tcp_socket(t, AddressFamily::Inet6, xwsk::kConnectionSocket, &v6));
  XT_DO(t, option_is(t, env, v6, kSet, xwsk::kIpProtoIpv6, xwsk::kIpv6V6Only, 1, Status::Success));
  XT_DO(t, env.bind_loopback(t, v6, AddressFamily::Inet6, &bound));
  XT_DO(t, option_is(t, env, v6, kSet, xwsk::kIpProtoIpv6, xwsk::kIpv6V6Only, 0,
                     Status::InvalidDeviceState));
}

// SO_LINGER (Windows LINGER: two USHORTs): off by default, reads back what was set; a short
// input is InvalidParameter, a short output BufferTooSmall.
void control_socket_linger(Context& t) {
  XT_REQUIRE_CAP(t, xwsk::kCapControlSocket);
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, AddressFamily::Inet, &p));
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  xwsk::Linger l{7, 7};
  size_t returned = 0;
  XT_DO(t, op->expect(t,
                      xwsk::control_socket(p.cli, kGet, xwsk::kSoLinger, xwsk::kSolSocket, 0,
                                           nullptr, sizeof(l), &l, &returned, &op->req),
                      Status::Success));
  XT_CHECK_EQ(t, sizeof(l), returned);
  XT_CHECK_EQ(t, 0, l.onoff);
  const xwsk::Linger set{1, 5};
  op->rearm();
  XT_DO(t, op->expect(t,
                      xwsk::control_socket(p.cli, kSet, xwsk::kSoLinger, xwsk::kSolSocket,
                                           sizeof(set), &set, 0, nullptr, nullptr, &op->req),
                      Status::Success));
  op->rearm();
  l = xwsk::Linger{0, 0};
  XT_DO(t, op->expect(t,
                      xwsk::control_socket(p.cli, kGet, xwsk::kSoLinger, xwsk::kSolSocket, 0,
                                           nullptr, sizeof(l), &l, &returned, &op->req),
                      Status::Success));
  XT_CHECK_EQ(t, 1, l.onoff);
  XT_CHECK_EQ(t, 5, l.linger_seconds);
  uint16_t half = 1;
  op->rearm();
  XT_DO(t, op->expect(t,
                      xwsk::control_socket(p.cli, kSet, xwsk::kSoLinger, xwsk::kSolSocket,
                                           sizeof(half), &half, 0, nullptr, nullptr, &op->req),
                      Status::InvalidParameter));
  op->rearm();
  XT_DO(t, op->expect(t,
                      xwsk::control_socket(p.cli, kGet, xwsk::kSoLinger, xwsk::kSolSocket, 0,
                                           nullptr, sizeof(half), &half, &returned, &op->req),
                      Status::BufferTooSmall));
}

// IPV6_V6ONLY: on by default for an AF_INET6 socket, as on Windows (the WSK reference does not
// say; Winsock documents the default as TRUE). Observable: a listener on the IPv6 wildcard
// address does not take IPv4 connections to its port.
void control_socket_v6only_default(Context& t) {
  XT_REQUIRE_CAP(t, xwsk::kCapControlSocket);
  if (!require_family(t, AddressFamily::Inet6)) return;
  Env env;
  XT_DO(t, env.open(t));
  xwsk::Socket* lsn = nullptr;
  XT_DO(t, env.tcp_socket(t, AddressFamily::Inet6, xwsk::kListenSocket, &lsn));
  uint32_t v = 7;
  XT_DO(t, env.get_ulong(t, lsn, xwsk::kIpProtoIpv6, xwsk::kIpv6V6Only, &v));
  XT_CHECK_EQ(t, 1, v);
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  xwsk::SockAddr any = xwsk::ipv6_any(0);
  XT_DO(t, op->expect(t, xwsk::bind(lsn, &any, 0, &op->req), Status::Success));
  xwsk::SockAddr bound{};
  XT_DO(t, env.local_address(t, lsn, &bound));
  XT_CHECK(t, bound.port() != 0);
  // An IPv4 connection to the same port finds nobody listening.
  xwsk::Socket* v4 = nullptr;
  XT_DO(t,
        env.bound_socket(t, AddressFamily::Inet, xwsk::kConnectionSocket, nullptr, nullptr, &v4));
  xwsk::SockAddr target = xwsk::ipv4_loopback(bound.port());
  op->rearm();
  XT_DO(t, op->expect(t, xwsk::connect(v4, &target, 0, &op->req), Status::ConnectionRefused));
}

// IPV6_V6ONLY turned off before bind makes an IPv6 socket bound to [::] dual-stack (what
// Microsoft's WSK echo sample does): an IPv4 connect reaches the TCP listener, and an IPv4
// datagram reaches the UDP socket, from the IPv4-mapped address ::ffff:127.0.0.1.
void control_socket_v6only_off_dual_stack(Context& t) {
  XT_REQUIRE_CAP(t, xwsk::kCapControlSocket);
  XT_REQUIRE_CAP(t, xwsk::kCapUdp);
  if (!require_family(t, AddressFamily::Inet6)) return;
  Env env;
  XT_DO(t, env.open(t));
  const xwsk::SockAddr any = xwsk::ipv6_any(0);
  // TCP.
  xwsk::Socket* lsn = nullptr;
  XT_DO(t, env.tcp_socket(t, AddressFamily::Inet6, xwsk::kListenSocket, &lsn));
  XT_DO(t, env.set_ulong(t, lsn, xwsk::kIpProtoIpv6, xwsk::kIpv6V6Only, 0));
  XT_DO(t, env.bind(t, lsn, any, Status::Success));
  xwsk::SockAddr bound{};
  XT_DO(t, env.local_address(t, lsn, &bound));
  xwsk::Socket* v4 = nullptr;
  XT_DO(t,
        env.bound_socket(t, AddressFamily::Inet, xwsk::kConnectionSocket, nullptr, nullptr, &v4));
  XT_DO(t, env.connect(t, v4, xwsk::ipv4_loopback(bound.port())));
  // UDP.
  xwsk::Socket* u6 = nullptr;
  XT_DO(t, env.unbound_udp_socket(t, AddressFamily::Inet6, &u6));
  XT_DO(t, env.set_ulong(t, u6, xwsk::kIpProtoIpv6, xwsk::kIpv6V6Only, 0));
  XT_DO(t, env.bind(t, u6, any, Status::Success));
  XT_DO(t, env.local_address(t, u6, &bound));
  xwsk::Socket* u4 = nullptr;
  xwsk::SockAddr u4_addr{};
  XT_DO(t, env.udp_socket(t, AddressFamily::Inet, &u4, &u4_addr));
  Buffer* in = env.buffer(t, 64);
  Buffer* out = env.buffer(t, 16);
  XT_CHECK(t, in != nullptr && out != nullptr);
  out->fill(77);
  xwsk::SockAddr from{};
  Started r;
  XT_DO(t, env.start_receive_from(t, u6, in->all(), &r, &from));
  XT_DO(t, env.send_to(t, u4, xwsk::ipv4_loopback(bound.port()), out, 0, 16));
  XT_DO(t, r.expect(t, Status::Success));
  XT_CHECK_EQ(t, 16, r.info());
  XT_CHECK(t, in->matches(77, 0, 16));
  const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  XT_CHECK(t, from.af() == AddressFamily::Inet6);
  for (size_t i = 0; i < 16; ++i)
    XT_CHECK_EQ(t, mapped[i], from.addr[i]);
  XT_CHECK_EQ(t, u4_addr.port(), from.port());
}

// SO_EXCLUSIVEADDRUSE: not set by default (WSK: neither it nor SO_REUSEADDR is), reads back once
// set, and then no other socket may bind the address, even one that set SO_REUSEADDR (the WSK
// guide's sharing table; the failure status is not pinned, see FINDINGS.md #2).
void control_socket_exclusiveaddruse(Context& t) {
  XT_REQUIRE_CAP(t, xwsk::kCapControlSocket);
  XT_REQUIRE_CAP(t, xwsk::kCapUdp);
  Env env;
  XT_DO(t, env.open(t));
  xwsk::Socket* a = nullptr;
  XT_DO(t, env.unbound_udp_socket(t, AddressFamily::Inet, &a));
  uint32_t v = 7;
  XT_DO(t, env.get_ulong(t, a, xwsk::kSolSocket, xwsk::kSoExclusiveAddrUse, &v));
  XT_CHECK_EQ(t, 0, v);
  XT_DO(t, env.get_ulong(t, a, xwsk::kSolSocket, xwsk::kSoReuseAddr, &v));
  XT_CHECK_EQ(t, 0, v);
  XT_DO(t, env.set_ulong(t, a, xwsk::kSolSocket, xwsk::kSoExclusiveAddrUse, 1));
  XT_DO(t, env.get_ulong(t, a, xwsk::kSolSocket, xwsk::kSoExclusiveAddrUse, &v));
  XT_CHECK_EQ(t, 1, v);
  xwsk::SockAddr aa{};
  XT_DO(t, env.bind_loopback(t, a, AddressFamily::Inet, &aa));
  xwsk::Socket* b = nullptr;
  XT_DO(t, env.unbound_udp_socket(t, AddressFamily::Inet, &b));
  XT_DO(t, env.set_ulong(t, b, xwsk::kSolSocket, xwsk::kSoReuseAddr, 1));
  Status st = Status::Unsuccessful;
  XT_DO(t, env.bind_status(t, b, aa, &st));
  XT_CHECK(t, !xwsk::nt_success(st));
}

void control_socket_options(Context& t) {
  XT_REQUIRE_CAP(t, xwsk::kCapControlSocket);
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, AddressFamily::Inet, &p));
  uint32_t v = 0;
  // SO_RCVBUF: what is set is at least what is read back (hosts may round up, Linux doubles).
  XT_DO(t, env.set_ulong(t, p.cli, xwsk::kSolSocket, xwsk::kSoRcvBuf, 65536));
  XT_DO(t, env.get_ulong(t, p.cli, xwsk::kSolSocket, xwsk::kSoRcvBuf, &v));
  XT_CHECK(t, v >= 65536);
  XT_DO(t, env.get_ulong(t, p.cli, xwsk::kSolSocket, xwsk::kSoSndBuf, &v));
  XT_CHECK(t, v > 0);
  // TCP_NODELAY and SO_KEEPALIVE: booleans, read back non-zero once set, zero once cleared.
  XT_DO(t, env.set_ulong(t, p.cli, xwsk::kIpProtoTcp, xwsk::kTcpNoDelay, 1));
  XT_DO(t, env.get_ulong(t, p.cli, xwsk::kIpProtoTcp, xwsk::kTcpNoDelay, &v));
  XT_CHECK(t, v != 0);
  XT_DO(t, env.set_ulong(t, p.cli, xwsk::kIpProtoTcp, xwsk::kTcpNoDelay, 0));
  XT_DO(t, env.get_ulong(t, p.cli, xwsk::kIpProtoTcp, xwsk::kTcpNoDelay, &v));
  XT_CHECK_EQ(t, 0, v);
  XT_DO(t, env.set_ulong(t, p.cli, xwsk::kSolSocket, xwsk::kSoKeepAlive, 1));
  XT_DO(t, env.get_ulong(t, p.cli, xwsk::kSolSocket, xwsk::kSoKeepAlive, &v));
  XT_CHECK(t, v != 0);
  // SO_TYPE reads the socket type (Windows numbering).
  XT_DO(t, env.get_ulong(t, p.cli, xwsk::kSolSocket, xwsk::kSoType, &v));
  XT_CHECK_EQ(t, static_cast<uint32_t>(SocketType::Stream), v);
  // An unknown option: NotSupported (accepted, completed).
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  uint32_t in = 1;
  size_t returned = 0;
  Status r = xwsk::control_socket(p.cli, xwsk::ControlType::SetOption, 0x7777, xwsk::kSolSocket,
                                  sizeof(in), &in, 0, nullptr, &returned, &op->req);
  XT_DO(t, op->expect(t, r, Status::NotSupported));
  op->rearm();
  r = xwsk::control_socket(p.cli, xwsk::ControlType::GetOption, 0x7777, 0x7777, 0, nullptr,
                           sizeof(v), &v, &returned, &op->req);
  XT_DO(t, op->expect(t, r, Status::NotSupported));
  // Output too small for a ULONG option: BufferTooSmall.
  op->rearm();
  uint16_t small = 0;
  r = xwsk::control_socket(p.cli, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf, xwsk::kSolSocket,
                           0, nullptr, sizeof(small), &small, &returned, &op->req);
  XT_DO(t, op->expect(t, r, Status::BufferTooSmall));
  // Input too small for a ULONG option: not Success.
  op->rearm();
  r = xwsk::control_socket(p.cli, xwsk::ControlType::SetOption, xwsk::kSoRcvBuf, xwsk::kSolSocket,
                           sizeof(small), &small, 0, nullptr, &returned, &op->req);
  XT_DO(t, op->finish(t, r));
  XT_CHECK(t, !xwsk::nt_success(op->status()));
  // Argument checks before acceptance.
  op->rearm();
  XT_CHECK_STATUS(
      t, Status::InvalidParameter,
      xwsk::control_socket(p.cli, xwsk::ControlType::SetOption, xwsk::kSoRcvBuf, xwsk::kSolSocket,
                           4, nullptr, 0, nullptr, &returned, &op->req));
  XT_CHECK_STATUS(
      t, Status::InvalidParameter,
      xwsk::control_socket(p.cli, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf, xwsk::kSolSocket,
                           0, nullptr, 4, nullptr, &returned, &op->req));
  XT_CHECK_STATUS(
      t, Status::InvalidParameter,
      xwsk::control_socket(p.cli, static_cast<xwsk::ControlType>(9), xwsk::kSoRcvBuf,
                           xwsk::kSolSocket, 0, nullptr, 0, nullptr, &returned, &op->req));
  XT_CHECK_STATUS(
      t, Status::InvalidParameter,
      xwsk::control_socket(p.cli, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf, xwsk::kSolSocket,
                           0, nullptr, sizeof(v), &v, &returned, nullptr));
  XT_CHECK_STATUS(
      t, Status::InvalidHandle,
      xwsk::control_socket(nullptr, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf, xwsk::kSolSocket,
                           0, nullptr, sizeof(v), &v, &returned, &op->req));
  XT_CHECK(t, !op->completed());
  // FIONREAD: bytes readable now. 0 before, 10 once the peer's 10 bytes arrived.
  Buffer* b = env.buffer(t, 10);
  XT_CHECK(t, b != nullptr);
  b->fill(401);
  XT_DO(t, env.send_all(t, p.cli, b, 0, 10));
  Op* fop = env.op(t);
  XT_CHECK(t, fop != nullptr);
  FionreadArg arg{&t, fop, p.srv, 10, false};
  XT_CHECK(t, wait_until(fionread_reaches, &arg, 5000));
  XT_CHECK(t, !arg.error);
  XT_CHECK(t, !t.failed());
  Buffer* rb = env.buffer(t, 10);
  XT_CHECK(t, rb != nullptr);
  XT_DO(t, env.receive_exact(t, p.srv, rb, 0, 10));
  XT_CHECK(t, rb->matches(401, 0, 10));
}

void control_socket_udp_options(Context& t) {
  XT_REQUIRE_CAP(t, xwsk::kCapControlSocket);
  XT_REQUIRE_CAP(t, xwsk::kCapUdp);
  Env env;
  xwsk::Socket* u = nullptr;
  xwsk::SockAddr ua{};
  XT_DO(t, env.open_udp_socket(t, AddressFamily::Inet, &u, &ua));
  uint32_t v = 0;
  XT_DO(t, env.set_ulong(t, u, xwsk::kSolSocket, xwsk::kSoBroadcast, 1));
  XT_DO(t, env.get_ulong(t, u, xwsk::kSolSocket, xwsk::kSoBroadcast, &v));
  XT_CHECK(t, v != 0);
  XT_DO(t, env.get_ulong(t, u, xwsk::kSolSocket, xwsk::kSoType, &v));
  XT_CHECK_EQ(t, static_cast<uint32_t>(SocketType::Datagram), v);
  XT_DO(t, env.set_ulong(t, u, xwsk::kIpProtoIp, xwsk::kIpTtl, 17));
  XT_DO(t, env.get_ulong(t, u, xwsk::kIpProtoIp, xwsk::kIpTtl, &v));
  XT_CHECK_EQ(t, 17, v);
}

void control_client_transports(Context& t) {
  XT_REQUIRE_CAP(t, xwsk::kCapControlClient);
  Env env;
  XT_DO(t, env.open(t));
  // WSK_TRANSPORT_LIST_QUERY takes no IRP. A zero-size output asks for the size:
  // BufferOverflow and the required size.
  size_t need = 0;
  XT_CHECK_STATUS(t, Status::BufferOverflow,
                  xwsk::control_client(env.client(), xwsk::kTransportListQuery, 0, nullptr, 0,
                                       nullptr, &need, nullptr));
  XT_CHECK(t, need >= sizeof(xwsk::Transport));
  XT_CHECK_EQ(t, 0, need % sizeof(xwsk::Transport));
  xwsk::Transport list[32] = {};
  XT_CHECK(t, need <= sizeof(list));
  size_t got = 0;
  XT_CHECK_STATUS(t, Status::Success,
                  xwsk::control_client(env.client(), xwsk::kTransportListQuery, 0, nullptr,
                                       sizeof(list), list, &got, nullptr));
  XT_CHECK_EQ(t, need, got);
  bool tcp4 = false;
  bool udp4 = false;
  for (size_t i = 0; i < got / sizeof(xwsk::Transport); ++i) {
    const xwsk::Transport& tr = list[i];
    if (tr.address_family == static_cast<uint16_t>(AddressFamily::Inet) &&
        tr.socket_type == static_cast<uint16_t>(SocketType::Stream) &&
        tr.protocol == static_cast<uint32_t>(Protocol::Tcp)) {
      tcp4 = true;
    }
    if (tr.address_family == static_cast<uint16_t>(AddressFamily::Inet) &&
        tr.socket_type == static_cast<uint16_t>(SocketType::Datagram) &&
        tr.protocol == static_cast<uint32_t>(Protocol::Udp)) {
      udp4 = true;
    }
  }
  XT_CHECK(t, tcp4);
  XT_CHECK(t, udp4 || (xwsk::backend_capabilities() & xwsk::kCapUdp) == 0);
  // Unknown code: NotSupported. Null client: InvalidHandle. Size without buffer:
  // InvalidParameter. WSK_TRANSPORT_LIST_CHANGE needs an IRP.
  XT_CHECK_STATUS(
      t, Status::NotSupported,
      xwsk::control_client(env.client(), 0x7777, 0, nullptr, 0, nullptr, &got, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidHandle,
                  xwsk::control_client(nullptr, xwsk::kTransportListQuery, 0, nullptr, sizeof(list),
                                       list, &got, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter,
                  xwsk::control_client(env.client(), xwsk::kTransportListQuery, 0, nullptr,
                                       sizeof(list), nullptr, &got, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter,
                  xwsk::control_client(env.client(), xwsk::kTransportListChange, 0, nullptr, 0,
                                       nullptr, &got, nullptr));
  // Static event callbacks with a bad input size.
  uint32_t tiny = 0;
  XT_CHECK(t,
           !xwsk::nt_success(xwsk::control_client(env.client(), xwsk::kSetStaticEventCallbacks,
                                                  sizeof(tiny), &tiny, 0, nullptr, &got, nullptr)));
}

}  // namespace xt
