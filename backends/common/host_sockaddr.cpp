// SPDX-License-Identifier: MIT
/// @file host_sockaddr.cpp
/// @brief SockAddr <-> sockaddr_in / sockaddr_in6 (see host_sockaddr.h).
#include "host_sockaddr.h"

#include <netinet/in.h>
#include <string.h>

namespace xwsk {
namespace hostnet {

int native_family(AddressFamily f) {
  switch (f) {
    case AddressFamily::Inet:
      return AF_INET;
    case AddressFamily::Inet6:
      return AF_INET6;
    default:
      return AF_UNSPEC;
  }
}

int32_t xwsk_family(int af) {
  switch (af) {
    case AF_INET:
      return static_cast<int32_t>(AddressFamily::Inet);
    case AF_INET6:
      return static_cast<int32_t>(AddressFamily::Inet6);
    default:
      return 0;
  }
}

socklen_t to_native(const SockAddr& in, sockaddr_storage* out) {
  memset(out, 0, sizeof(*out));
  if (in.af() == AddressFamily::Inet) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = in.port_be;
    memcpy(&sin->sin_addr, in.addr, 4);
    return sizeof(sockaddr_in);
  }
  if (in.af() == AddressFamily::Inet6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = in.port_be;
    sin6->sin6_flowinfo = in.flowinfo;
    memcpy(&sin6->sin6_addr, in.addr, 16);
    sin6->sin6_scope_id = in.scope_id;
    return sizeof(sockaddr_in6);
  }
  return 0;
}

bool from_native(const sockaddr* in, socklen_t len, SockAddr* out) {
  memset(out, 0, sizeof(*out));
  if (in->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(in);
    out->family = static_cast<uint16_t>(AddressFamily::Inet);
    out->port_be = sin->sin_port;
    memcpy(out->addr, &sin->sin_addr, 4);
    return true;
  }
  if (in->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(in);
    out->family = static_cast<uint16_t>(AddressFamily::Inet6);
    out->port_be = sin6->sin6_port;
    out->flowinfo = sin6->sin6_flowinfo;
    memcpy(out->addr, &sin6->sin6_addr, 16);
    out->scope_id = sin6->sin6_scope_id;
    return true;
  }
  return false;
}

}  // namespace hostnet
}  // namespace xwsk
