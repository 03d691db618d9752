// SPDX-License-Identifier: MIT
// The option rules, in one place (rules.h). Decided by the WSK reference (the WSK socket options
// pages): which sockets each option applies to, and which must be set before bind. The reference
// names no status for a violation; xwsk uses, on every backend:
//   - NotSupported for an option the socket cannot have (the status WSK names for what the
//     transport does not support, and what an unknown option already gets);
//   - InvalidDeviceState for an option set after bind that must be set before (the socket is no
//     longer in the state the option needs, as for connect or listen on an unbound socket).
#include "rules.h"

namespace xwsk {
namespace detail {

namespace {

enum Applies : uint32_t {
  kAnyType = 0,
  kStreamOnly = 1,    // SOCK_STREAM sockets (connection-oriented, listening)
  kDatagramOnly = 2,  // SOCK_DGRAM and SOCK_RAW sockets
};

struct OptionRule {
  uint32_t level;
  uint32_t code;
  Applies applies;
  bool before_bind;  // SetOption only before the socket is bound
  bool listen_only;  // listen category, or a stream socket that is not connected or listening
  bool inet6_only;   // AF_INET6 sockets
};

constexpr OptionRule kRules[] = {
    // SO_KEEPALIVE: "applies only to listening sockets and connection-oriented sockets".
    {kSolSocket, kSoKeepAlive, kStreamOnly, false, false, false},
    // SO_BROADCAST: "applies only to datagram sockets".
    {kSolSocket, kSoBroadcast, kDatagramOnly, false, false, false},
    // SO_REUSEADDR / SO_EXCLUSIVEADDRUSE: "must do so before the socket is bound".
    {kSolSocket, kSoReuseAddr, kAnyType, true, false, false},
    {kSolSocket, kSoExclusiveAddrUse, kAnyType, true, false, false},
    // SO_CONDITIONAL_ACCEPT: "applies only to listening sockets", set "before the listening
    // socket is bound".
    {kSolSocket, kSoConditionalAccept, kStreamOnly, true, true, false},
    // SO_LINGER: a connection-oriented option (Winsock: not for datagram sockets).
    {kSolSocket, kSoLinger, kStreamOnly, false, false, false},
    // TCP_NODELAY: an IPPROTO_TCP option.
    {kIpProtoTcp, kTcpNoDelay, kStreamOnly, false, false, false},
    // IPV6_V6ONLY: AF_INET6 sockets, before bind (Winsock: it cannot change once bound).
    {kIpProtoIpv6, kIpv6V6Only, kAnyType, true, false, true},
};

}  // namespace

Status option_rule(const SocketBase* b, ControlType type, uint32_t level, uint32_t code) {
  if (type != ControlType::SetOption && type != ControlType::GetOption) return Status::Success;
  for (const OptionRule& r : kRules) {
    if (r.level != level || r.code != code) continue;
    const bool stream = b->type == SocketType::Stream;
    if ((r.applies == kStreamOnly && !stream) || (r.applies == kDatagramOnly && stream)) {
      return Status::NotSupported;
    }
    if (r.inet6_only && b->family != AddressFamily::Inet6) return Status::NotSupported;
    if (r.listen_only && b->category != kListenSocket && b->category != kStreamSocket) {
      return Status::NotSupported;
    }
    if (type == ControlType::SetOption && r.before_bind && is_bound(b)) {
      return Status::InvalidDeviceState;
    }
    return Status::Success;
  }
  return Status::Success;
}

}  // namespace detail
}  // namespace xwsk
