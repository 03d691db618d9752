// SPDX-License-Identifier: MIT
/// @file host_sockaddr.h
/// @brief User-space backends: the one place xwsk addresses (Windows family numbers, the
/// SockAddr layout) meet the host's sockaddr_in / sockaddr_in6. Shared by posix and uv.
#ifndef XWSK_BACKENDS_COMMON_HOST_SOCKADDR_H_
#define XWSK_BACKENDS_COMMON_HOST_SOCKADDR_H_

#include <stdint.h>
#include <sys/socket.h>

#include "xwsk/types.h"

namespace xwsk::hostnet {

/// AddressFamily -> AF_INET / AF_INET6 (AF_UNSPEC when unknown).
int native_family(AddressFamily f);
/// AF_INET / AF_INET6 -> AddressFamily value (0 when unknown).
int32_t xwsk_family(int af);
/// SockAddr -> sockaddr_in / sockaddr_in6 in @p out. Returns the length, 0 for an unknown family.
socklen_t to_native(const SockAddr& in, sockaddr_storage* out);
/// sockaddr of @p len bytes -> SockAddr. False for an unknown family or a short length.
bool from_native(const sockaddr* in, socklen_t len, SockAddr* out);
/// The same for a sockaddr held in a full sockaddr_storage (the length is its family's).
inline bool from_native(const sockaddr* in, SockAddr* out) {
  return from_native(in, static_cast<socklen_t>(sizeof(sockaddr_storage)), out);
}

}  // namespace xwsk::hostnet

#endif  // XWSK_BACKENDS_COMMON_HOST_SOCKADDR_H_
