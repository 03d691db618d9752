// SPDX-License-Identifier: MIT
// convert.cpp: socket addresses (SOCKADDR_IN / SOCKADDR_IN6 <-> xwsk::SockAddr) and strings
// (WCHAR <-> UTF-8). Pure computation: any IRQL, no allocation.
//
// WCHAR is wchar_t, 32 bits on Linux: L"..." literals hold code points, while code written for
// Windows may store UTF-16 code units (surrogate pairs) in it. unicode_to_utf8 accepts both.
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

int unicode_to_utf8(const WCHAR* in, size_t count, char* out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < count; ++i) {
    uint32_t cp = static_cast<uint32_t>(in[i]);
    if (cp == 0) break;
    if (cp >= 0xd800 && cp < 0xdc00) {  // a UTF-16 high surrogate: needs its low half
      if (i + 1 >= count) return -1;
      const uint32_t lo = static_cast<uint32_t>(in[i + 1]);
      if (lo < 0xdc00 || lo >= 0xe000) return -1;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      ++i;
    } else if ((cp >= 0xdc00 && cp < 0xe000) || cp > 0x10ffff) {
      return -1;
    }
    unsigned char b[4];
    size_t k;
    if (cp < 0x80) {
      b[0] = static_cast<unsigned char>(cp);
      k = 1;
    } else if (cp < 0x800) {
      b[0] = static_cast<unsigned char>(0xc0 | (cp >> 6));
      b[1] = static_cast<unsigned char>(0x80 | (cp & 0x3f));
      k = 2;
    } else if (cp < 0x10000) {
      b[0] = static_cast<unsigned char>(0xe0 | (cp >> 12));
      b[1] = static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3f));
      b[2] = static_cast<unsigned char>(0x80 | (cp & 0x3f));
      k = 3;
    } else {
      b[0] = static_cast<unsigned char>(0xf0 | (cp >> 18));
      b[1] = static_cast<unsigned char>(0x80 | ((cp >> 12) & 0x3f));
      b[2] = static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3f));
      b[3] = static_cast<unsigned char>(0x80 | (cp & 0x3f));
      k = 4;
    }
    if (o + k >= cap) return -1;
    for (size_t j = 0; j < k; ++j)
      out[o++] = static_cast<char>(b[j]);
  }
  if (o >= cap) return -1;
  out[o] = '\0';
  return static_cast<int>(o);
}

int utf8_to_unicode(const char* in, WCHAR* out, size_t cap) {
  size_t n = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(in);
  while (*p != 0) {
    uint32_t cp;
    int extra;
    if (*p < 0x80) {
      cp = *p;
      extra = 0;
    } else if ((*p & 0xe0) == 0xc0) {
      cp = *p & 0x1f;
      extra = 1;
    } else if ((*p & 0xf0) == 0xe0) {
      cp = *p & 0x0f;
      extra = 2;
    } else if ((*p & 0xf8) == 0xf0) {
      cp = *p & 0x07;
      extra = 3;
    } else {
      return -1;
    }
    ++p;
    for (int i = 0; i < extra; ++i, ++p) {
      if ((*p & 0xc0) != 0x80) return -1;
      cp = (cp << 6) | (*p & 0x3f);
    }
    if (cp > 0x10ffff || n + 1 >= cap) return -1;
    out[n++] = static_cast<WCHAR>(cp);
  }
  if (n >= cap) return -1;
  out[n] = 0;
  return static_cast<int>(n);
}

}  // namespace umwsk::provider
