// SPDX-License-Identifier: MIT
// convert.cpp: socket addresses (SOCKADDR_IN / SOCKADDR_IN6 <-> xwsk::SockAddr).
// Pure computation: any IRQL, no allocation. (Strings: backends/common/utf.h.)
#include "provider.h"

namespace umwsk::provider {

bool sockaddr_in(const SOCKADDR* sa, xwsk::SockAddr* out) {
  if (sa == nullptr) return false;
  *out = xwsk::SockAddr{};
  out->family = sa->sa_family;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const SOCKADDR_IN*>(sa);
    out->port_be = in->sin_port;
    RtlCopyMemory(out->addr, &in->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const SOCKADDR_IN6*>(sa);
    out->port_be = in6->sin6_port;
    out->flowinfo = in6->sin6_flowinfo;
    RtlCopyMemory(out->addr, &in6->sin6_addr, 16);
    out->scope_id = in6->sin6_scope_id;
  }
  return true;
}

size_t sockaddr_out(const xwsk::SockAddr& a, SOCKADDR* out) {
  if (a.family == AF_INET) {
    auto* in = reinterpret_cast<SOCKADDR_IN*>(out);
    RtlZeroMemory(in, sizeof(*in));
    in->sin_family = AF_INET;
    in->sin_port = a.port_be;
    RtlCopyMemory(&in->sin_addr, a.addr, 4);
    return sizeof(*in);
  }
  if (a.family == AF_INET6) {
    auto* in6 = reinterpret_cast<SOCKADDR_IN6*>(out);
    RtlZeroMemory(in6, sizeof(*in6));
    in6->sin6_family = AF_INET6;
    in6->sin6_port = a.port_be;
    in6->sin6_flowinfo = a.flowinfo;
    RtlCopyMemory(&in6->sin6_addr, a.addr, 16);
    in6->sin6_scope_id = a.scope_id;
    return sizeof(*in6);
  }
  return 0;
}

}  // namespace umwsk::provider
