// SPDX-License-Identifier: MIT
/// @file host_sockaddr.cpp
/// @brief SockAddr <-> sockaddr_in / sockaddr_in6 (see host_sockaddr.h).
#include "host_sockaddr.h"

#include <netinet/in.h>
#include <string.h>

#include "sockaddr_forms.h"

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

namespace {
using HostForms = addr::SockaddrForms<sockaddr_in, sockaddr_in6, AF_INET, AF_INET6>;
}  // namespace

socklen_t to_native(const SockAddr& in, sockaddr_storage* out) {
  memset(out, 0, sizeof(*out));
  return static_cast<socklen_t>(HostForms::write(in, out));
}

bool from_native(const sockaddr* in, socklen_t len, SockAddr* out) {
  return HostForms::read(in, static_cast<size_t>(len), out);
}

}  // namespace hostnet
}  // namespace xwsk
