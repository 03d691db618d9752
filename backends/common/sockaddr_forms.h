// SPDX-License-Identifier: MIT
/// @file sockaddr_forms.h
/// @brief SockAddr to and from the sockaddr_in / sockaddr_in6 forms of one socket API: the
/// host's (posix, uv) or Windows's SOCKADDR_IN / SOCKADDR_IN6 (the WSK backend, the umwsk
/// provider). One implementation for all of them. Header-only and kernel-capable: pure
/// computation, any IRQL, no allocation.
///
/// The forms differ in their types and in the numbers of their families (AF_INET6 is 10 on
/// Linux, 23 on Windows), so both are template parameters; the field names are the same
/// everywhere (sin_family, sin_port, sin_addr, sin6_flowinfo, sin6_addr, sin6_scope_id), and the
/// family is the first field of each form.
#ifndef XWSK_BACKENDS_COMMON_SOCKADDR_FORMS_H_
#define XWSK_BACKENDS_COMMON_SOCKADDR_FORMS_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xwsk/types.h"

namespace xwsk::addr {

template <typename In4, typename In6, int kAf4, int kAf6>
struct SockaddrForms {
  /// Writes @p a as an In4 or In6 at @p out (zeroed first; room for an In6 is the caller's).
  /// Returns the bytes of the form written, 0 for a family other than Inet / Inet6.
  static size_t write(const SockAddr& a, void* out) {
    if (a.af() == AddressFamily::Inet) {
      auto* in = static_cast<In4*>(out);
      memset(in, 0, sizeof(*in));
      in->sin_family = kAf4;
      in->sin_port = a.port_be;  // both in network byte order
      memcpy(&in->sin_addr, a.addr, 4);
      return sizeof(*in);
    }
    if (a.af() == AddressFamily::Inet6) {
      auto* in6 = static_cast<In6*>(out);
      memset(in6, 0, sizeof(*in6));
      in6->sin6_family = kAf6;
      in6->sin6_port = a.port_be;
      in6->sin6_flowinfo = a.flowinfo;
      memcpy(&in6->sin6_addr, a.addr, 16);
      in6->sin6_scope_id = a.scope_id;
      return sizeof(*in6);
    }
    return 0;
  }

  /// Reads the In4 or In6 at @p in, of at most @p len bytes, into @p out (zeroed first).
  /// Returns false for another family or a length too short for the family's form.
  static bool read(const void* in, size_t len, SockAddr* out) {
    memset(out, 0, sizeof(*out));
    if (len < sizeof(uint16_t)) return false;
    const int family = static_cast<const In4*>(in)->sin_family;
    if (family == kAf4 && len >= sizeof(In4)) {
      const auto* in4 = static_cast<const In4*>(in);
      out->family = static_cast<uint16_t>(AddressFamily::Inet);
      out->port_be = in4->sin_port;
      memcpy(out->addr, &in4->sin_addr, 4);
      return true;
    }
    if (family == kAf6 && len >= sizeof(In6)) {
      const auto* in6 = static_cast<const In6*>(in);
      out->family = static_cast<uint16_t>(AddressFamily::Inet6);
      out->port_be = in6->sin6_port;
      out->flowinfo = in6->sin6_flowinfo;
      memcpy(out->addr, &in6->sin6_addr, 16);
      out->scope_id = in6->sin6_scope_id;
      return true;
    }
    return false;
  }

  /// The form's family number of @p f; 0 (AF_UNSPEC on every API) for a family other than
  /// Inet / Inet6.
  static int native_family(AddressFamily f) {
    return f == AddressFamily::Inet ? kAf4 : f == AddressFamily::Inet6 ? kAf6 : 0;
  }

  /// The xwsk family (its number) of the form's family number @p af; @p other for another.
  static int32_t xwsk_family(int af, int32_t other) {
    return af == kAf4   ? static_cast<int32_t>(AddressFamily::Inet)
           : af == kAf6 ? static_cast<int32_t>(AddressFamily::Inet6)
                        : other;
  }
};

}  // namespace xwsk::addr

#endif  // XWSK_BACKENDS_COMMON_SOCKADDR_FORMS_H_
