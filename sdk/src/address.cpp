// SPDX-License-Identifier: MIT
// Numeric address parsing and formatting, written without the C library so that it runs in the
// kernel at any IRQL.
#include "xwsk/types.h"

namespace xwsk {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a decimal number in [0, max] from [p, end); returns the end of the digits or null.
const char* parse_decimal(const char* p, const char* end, uint32_t max, uint32_t* out) {
  if (p == end || *p < '0' || *p > '9') return nullptr;
  uint32_t v = 0;
  int digits = 0;
  while (p != end && *p >= '0' && *p <= '9') {
    v = v * 10 + static_cast<uint32_t>(*p - '0');
    if (v > max || ++digits > 5) return nullptr;
    ++p;
  }
  *out = v;
  return p;
}

// Strict four-part dotted decimal, as RtlIpv4StringToAddress with Strict = TRUE: an octet with a
// leading zero ("01") would be octal in the lenient form, so strict mode rejects it (and so does
// inet_pton); a lone "0" is fine.
bool parse_ipv4(const char* p, const char* end, uint8_t out[4]) {
  for (int i = 0; i < 4; ++i) {
    uint32_t octet = 0;
    const char* q = parse_decimal(p, end, 255, &octet);
    if (q == nullptr || q - p > 3) return false;
    if (*p == '0' && q - p > 1) return false;
    out[i] = static_cast<uint8_t>(octet);
    p = q;
    if (i < 3) {
      if (p == end || *p != '.') return false;
      ++p;
    }
  }
  return p == end;
}

bool parse_ipv6(const char* p, const char* end, uint8_t out[16]) {
  uint16_t groups[8] = {};
  int count = 0;
  int gap = -1;  // index where "::" stands
  if (p != end && *p == ':') {
    if (end - p < 2 || p[1] != ':') return false;
    gap = 0;
    p += 2;
  }
  while (p != end) {
    if (count == 8) return false;
    // An embedded IPv4 tail ("::ffff:1.2.3.4").
    const char* dot = p;
    while (dot != end && *dot != ':' && *dot != '.')
      ++dot;
    if (dot != end && *dot == '.') {
      if (count > 6) return false;
      uint8_t v4[4];
      if (!parse_ipv4(p, end, v4)) return false;
      groups[count++] = static_cast<uint16_t>((v4[0] << 8) | v4[1]);
      groups[count++] = static_cast<uint16_t>((v4[2] << 8) | v4[3]);
      p = end;
      break;
    }
    uint32_t g = 0;
    int digits = 0;
    while (p != end && hex_value(*p) >= 0) {
      g = (g << 4) | static_cast<uint32_t>(hex_value(*p));
      if (++digits > 4) return false;
      ++p;
    }
    if (digits == 0) return false;
    groups[count++] = static_cast<uint16_t>(g);
    if (p == end) break;
    if (*p != ':') return false;
    ++p;
    if (p != end && *p == ':') {
      if (gap >= 0) return false;
      gap = count;
      ++p;
    } else if (p == end) {
      return false;  // trailing single ':'
    }
  }
  if (gap < 0 && count != 8) return false;
  if (gap >= 0 && count == 8) return false;
  int tail = gap < 0 ? 0 : count - gap;
  int o = 0;
  for (int i = 0; i < count - tail; ++i, ++o) {
    out[2 * o] = static_cast<uint8_t>(groups[i] >> 8);
    out[2 * o + 1] = static_cast<uint8_t>(groups[i]);
  }
  for (; o < 8 - tail; ++o)
    out[2 * o] = out[2 * o + 1] = 0;
  for (int i = count - tail; i < count; ++i, ++o) {
    out[2 * o] = static_cast<uint8_t>(groups[i] >> 8);
    out[2 * o + 1] = static_cast<uint8_t>(groups[i]);
  }
  return true;
}

size_t length_of(const char* s, size_t max) {
  size_t n = 0;
  while (n < max && s[n] != '\0')
    ++n;
  return n;
}

// Appends text; returns false when out of room (one byte is always kept for the NUL).
struct Writer {
  char* buf;
  size_t size;
  size_t len;
  bool ok;
  void put(char c) {
    if (len + 1 >= size) {
      ok = false;
      return;
    }
    buf[len++] = c;
  }
  void dec(uint32_t v) {
    char tmp[10];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0)
      put(tmp[--n]);
  }
  void hex(uint32_t v) {
    static const char kDigits[] = "0123456789abcdef";
    char tmp[4];
    int n = 0;
    do {
      tmp[n++] = kDigits[v & 0xf];
      v >>= 4;
    } while (v != 0);
    while (n > 0)
      put(tmp[--n]);
  }
};

}  // namespace

Status parse_address(const char* text, SockAddr* out) {
  if (text == nullptr || out == nullptr) return Status::InvalidParameter;
  size_t n = length_of(text, 128);
  if (n == 0 || n == 128) return Status::InvalidParameter;
  const char* p = text;
  const char* end = text + n;
  SockAddr a{};
  const char* host_begin = p;
  const char* host_end = end;
  const char* port_text = nullptr;
  if (*p == '[') {
    const char* close = p + 1;
    while (close != end && *close != ']')
      ++close;
    if (close == end) return Status::InvalidParameter;
    host_begin = p + 1;
    host_end = close;
    if (close + 1 != end) {
      if (close[1] != ':') return Status::InvalidParameter;
      port_text = close + 2;
    }
    a.family = static_cast<uint16_t>(AddressFamily::Inet6);
    if (!parse_ipv6(host_begin, host_end, a.addr)) return Status::InvalidParameter;
  } else {
    int colons = 0;
    const char* last_colon = nullptr;
    for (const char* q = p; q != end; ++q) {
      if (*q == ':') {
        ++colons;
        last_colon = q;
      }
    }
    if (colons == 0 || colons == 1) {
      if (colons == 1) {
        host_end = last_colon;
        port_text = last_colon + 1;
      }
      a.family = static_cast<uint16_t>(AddressFamily::Inet);
      if (!parse_ipv4(host_begin, host_end, a.addr)) return Status::InvalidParameter;
    } else {
      a.family = static_cast<uint16_t>(AddressFamily::Inet6);
      if (!parse_ipv6(host_begin, host_end, a.addr)) return Status::InvalidParameter;
    }
  }
  if (port_text != nullptr) {
    uint32_t port = 0;
    const char* q = parse_decimal(port_text, end, 65535, &port);
    if (q == nullptr || q != end) return Status::InvalidParameter;
    a.set_port(static_cast<uint16_t>(port));
  }
  *out = a;
  return Status::Success;
}

size_t format_address(const SockAddr& addr, char* buf, size_t size) {
  if (buf == nullptr || size == 0) return 0;
  Writer w{buf, size, 0, true};
  if (addr.af() == AddressFamily::Inet) {
    for (int i = 0; i < 4; ++i) {
      if (i != 0) w.put('.');
      w.dec(addr.addr[i]);
    }
  } else if (addr.af() == AddressFamily::Inet6) {
    uint16_t g[8];
    for (int i = 0; i < 8; ++i)
      g[i] = static_cast<uint16_t>((addr.addr[2 * i] << 8) | addr.addr[2 * i + 1]);
    // The longest run of two or more zero groups becomes "::" (RFC 5952).
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
      if (g[i] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && g[j] == 0)
        ++j;
      if (j - i > best_len && j - i >= 2) {
        best = i;
        best_len = j - i;
      }
      i = j;
    }
    w.put('[');
    for (int i = 0; i < 8; ++i) {
      if (i == best) {
        w.put(':');
        w.put(':');
        i += best_len - 1;
        continue;
      }
      if (i != 0 && i != best + best_len) w.put(':');
      w.hex(g[i]);
    }
    w.put(']');
  } else {
    buf[0] = '\0';
    return 0;
  }
  w.put(':');
  w.dec(addr.port());
  if (!w.ok) {
    buf[0] = '\0';
    return 0;
  }
  buf[w.len] = '\0';
  return w.len;
}

bool address_equal(const SockAddr& a, const SockAddr& b) {
  if (a.family != b.family || a.port_be != b.port_be) return false;
  size_t n = a.af() == AddressFamily::Inet ? 4 : a.af() == AddressFamily::Inet6 ? 16 : 0;
  for (size_t i = 0; i < n; ++i) {
    if (a.addr[i] != b.addr[i]) return false;
  }
  return a.af() != AddressFamily::Inet6 || a.scope_id == b.scope_id;
}

}  // namespace xwsk
