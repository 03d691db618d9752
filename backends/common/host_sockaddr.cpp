// SPDX-License-Identifier: MIT
/// @file host_sockaddr.cpp
/// @brief SockAddr <-> sockaddr_in / sockaddr_in6 (see host_sockaddr.h).
#include "host_sockaddr.h"

#include <netinet/in.h>
#include <string.h>

#include "sockaddr_forms.h"

namespace xwsk::hostnet {

namespace {
using HostForms = addr::SockaddrForms<sockaddr_in, sockaddr_in6, AF_INET, AF_INET6>;
static_assert(AF_UNSPEC == 0, "SockaddrForms::native_family answers 0 for AF_UNSPEC");
}  // namespace

int native_family(AddressFamily f) {
  return HostForms::native_family(f);
}

int32_t xwsk_family(int af) {
  return HostForms::xwsk_family(af, 0);
}

socklen_t to_native(const SockAddr& in, sockaddr_storage* out) {
  memset(out, 0, sizeof(*out));
  return static_cast<socklen_t>(HostForms::write(in, out));
}

bool from_native(const sockaddr* in, socklen_t len, SockAddr* out) {
  return HostForms::read(in, static_cast<size_t>(len), out);
}

}  // namespace xwsk::hostnet
