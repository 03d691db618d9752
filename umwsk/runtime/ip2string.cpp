// SPDX-License-Identifier: MIT
// ip2string.cpp: RtlIpv4/RtlIpv6 address <-> text conversions (ip2string.h). Addresses and ports
// are in network byte order; parsing is written here (no Linux socket headers: their in_addr
// would clash with the Windows one).
#include <stdio.h>
#include <string.h>

#include "rt_internal.h"
//
#include "ip2string.h"

namespace {

void v4_bytes(const IN_ADDR* a, unsigned char b[4]) {
  memcpy(b, a, 4);
}

void v6_bytes(const IN6_ADDR* a, unsigned char b[16]) {
  memcpy(b, a, 16);
}

size_t format_v4(const IN_ADDR* a, char* out, size_t cap) {
  unsigned char b[4];
  v4_bytes(a, b);
  const int n = snprintf(out, cap, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

size_t format_v6(const IN6_ADDR* a, char* out, size_t cap) {
  unsigned char b[16];
  v6_bytes(a, b);
  unsigned w[8];
  for (int i = 0; i < 8; ++i) {
    w[i] = (static_cast<unsigned>(b[2 * i]) << 8) | b[2 * i + 1];
  }
  size_t n = 0;
  auto put = [&](const char* s) {
    const size_t k = strlen(s);
    if (n + k < cap) {
      memcpy(out + n, s, k + 1);
    }
    n += k;
  };
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, not :: or ::1).
  const bool first5_zero = w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0;
  if (first5_zero && (w[5] == 0xffff || (w[5] == 0 && (w[6] != 0 || w[7] > 1)))) {
    char tail[32];
    snprintf(tail, sizeof tail, "%s%u.%u.%u.%u", w[5] == 0xffff ? "::ffff:" : "::", b[12], b[13],
             b[14], b[15]);
    put(tail);
    return n;
  }
  int best = -1;
  int best_len = 0;
  for (int i = 0; i < 8;) {
    if (w[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && w[j] == 0) {
      ++j;
    }
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) {
    best = -1;
  }
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      put("::");
      i += best_len - 1;
      continue;
    }
    char g[8];
    snprintf(g, sizeof g, "%x", w[i]);
    if (i != 0 && !(best >= 0 && i == best + best_len)) {
      put(":");
    }
    put(g);
  }
  if (n < cap) {
    out[n] = 0;
  }
  return n;
}

template <typename C>
bool is_digit(C c) {
  return c >= '0' && c <= '9';
}

template <typename C>
int hex_value(C c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

// Parses IPv4 at s; returns the end or nullptr.
template <typename C>
const C* parse_v4(const C* s, bool strict, unsigned char out[4]) {
  unsigned long parts[4];
  int n = 0;
  const C* p = s;
  for (;;) {
    if (!is_digit(*p)) {
      return nullptr;
    }
    unsigned long v = 0;
    int base = 10;
    if (!strict && *p == '0' && (p[1] == 'x' || p[1] == 'X')) {
      base = 16;
      p += 2;
      if (hex_value(*p) < 0) {
        return nullptr;
      }
    } else if (!strict && *p == '0' && is_digit(p[1])) {
      base = 8;
      ++p;
    }
    int digits = 0;
    for (;; ++p) {
      const int d = hex_value(*p);
      if (d < 0 || d >= base) {
        break;
      }
      v = v * static_cast<unsigned long>(base) + static_cast<unsigned long>(d);
      if (v > 0xffffffffUL) {
        return nullptr;
      }
      ++digits;
    }
    if (strict && (digits == 0 || v > 255)) {
      return nullptr;
    }
    parts[n++] = v;
    if (*p == '.' && n < 4 && is_digit(p[1])) {
      ++p;
      continue;
    }
    break;
  }
  if (strict && n != 4) {
    return nullptr;
  }
  unsigned long value = 0;
  for (int i = 0; i < n - 1; ++i) {
    if (parts[i] > 255) {
      return nullptr;
    }
    value |= parts[i] << (24 - 8 * i);
  }
  const unsigned long last_max = n == 1 ? 0xffffffffUL : (0xffffffffUL >> (8 * (n - 1)));
  if (parts[n - 1] > last_max) {
    return nullptr;
  }
  value |= parts[n - 1];
  out[0] = static_cast<unsigned char>(value >> 24);
  out[1] = static_cast<unsigned char>(value >> 16);
  out[2] = static_cast<unsigned char>(value >> 8);
  out[3] = static_cast<unsigned char>(value);
  return p;
}

// Parses IPv6 at s; returns the end or nullptr.
template <typename C>
const C* parse_v6(const C* s, unsigned char out[16]) {
  unsigned words[8] = {};
  int n = 0;
  int gap = -1;
  const C* p = s;
  if (p[0] == ':' && p[1] == ':') {
    gap = 0;
    p += 2;
  } else if (p[0] == ':') {
    return nullptr;
  }
  while (n < 8) {
    if (hex_value(*p) < 0) {
      break;
    }
    // An embedded IPv4 address ends the text.
    const C* q = p;
    while (is_digit(*q)) {
      ++q;
    }
    if (*q == '.' && n <= 6) {
      unsigned char v4[4];
      const C* end = parse_v4(p, true, v4);
      if (end == nullptr) {
        return nullptr;
      }
      words[n++] = (static_cast<unsigned>(v4[0]) << 8) | v4[1];
      words[n++] = (static_cast<unsigned>(v4[2]) << 8) | v4[3];
      p = end;
      break;
    }
    unsigned v = 0;
    int digits = 0;
    while (hex_value(*p) >= 0 && digits < 5) {
      v = (v << 4) | static_cast<unsigned>(hex_value(*p));
      ++p;
      ++digits;
    }
    if (digits > 4) {
      return nullptr;
    }
    words[n++] = v;
    if (p[0] == ':' && p[1] == ':') {
      if (gap >= 0) {
        return nullptr;
      }
      gap = n;
      p += 2;
      continue;
    }
    if (p[0] == ':' && hex_value(p[1]) >= 0) {
      ++p;
      continue;
    }
    break;
  }
  if (gap < 0 && n != 8) {
    return nullptr;
  }
  if (gap >= 0 && n > 7) {
    return nullptr;
  }
  unsigned full[8] = {};
  if (gap >= 0) {
    for (int i = 0; i < gap; ++i) {
      full[i] = words[i];
    }
    const int tail = n - gap;
    for (int i = 0; i < tail; ++i) {
      full[8 - tail + i] = words[gap + i];
    }
  } else {
    memcpy(full, words, sizeof full);
  }
  for (int i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<unsigned char>(full[i] >> 8);
    out[2 * i + 1] = static_cast<unsigned char>(full[i]);
  }
  return p;
}

template <typename C>
const C* parse_decimal(const C* p, unsigned long max, unsigned long* value) {
  if (!is_digit(*p)) {
    return nullptr;
  }
  unsigned long v = 0;
  while (is_digit(*p)) {
    v = v * 10 + static_cast<unsigned long>(*p - '0');
    if (v > max) {
      return nullptr;
    }
    ++p;
  }
  *value = v;
  return p;
}

// The text and its NUL, as char (A forms) or WCHAR (W forms): the text is ASCII.
template <typename C>
void put_text(const char* text, size_t len, C* out) {
  for (size_t i = 0; i <= len; ++i) {
    out[i] = static_cast<C>(static_cast<unsigned char>(text[i]));
  }
}

// The Ex forms: the text with its NUL when it fits; else the length it needs.
template <typename C>
NTSTATUS copy_out(const char* text, size_t len, C* out, PULONG out_len) {
  if (out_len == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  if (out == nullptr || *out_len < len + 1) {
    *out_len = static_cast<ULONG>(len + 1);
    return STATUS_INVALID_PARAMETER;
  }
  put_text(text, len, out);
  *out_len = static_cast<ULONG>(len + 1);
  return STATUS_SUCCESS;
}

size_t v4_ex_text(const IN_ADDR* a, USHORT port, char* text, size_t cap) {
  size_t n = format_v4(a, text, cap);
  if (port != 0) {
    n += static_cast<size_t>(snprintf(text + n, cap - n, ":%u", RtlUshortByteSwap(port)));
  }
  return n;
}

size_t v6_ex_text(const IN6_ADDR* a, ULONG scope, USHORT port, char* text, size_t cap) {
  size_t n = 0;
  if (port != 0) {
    text[n++] = '[';
  }
  n += format_v6(a, text + n, cap - n);
  if (scope != 0) {
    n += static_cast<size_t>(snprintf(text + n, cap - n, "%%%u", scope));
  }
  if (port != 0) {
    n += static_cast<size_t>(snprintf(text + n, cap - n, "]:%u", RtlUshortByteSwap(port)));
  }
  return n;
}

// A decimal number after `mark` when p stands at `mark` (nullptr when it does not parse); else
// p as it is, and *value untouched.
template <typename C>
const C* parse_marked_decimal(const C* p, char mark, unsigned long max, unsigned long* value) {
  return *p == mark ? parse_decimal(p + 1, max, value) : p;
}

template <typename C>
NTSTATUS v4_ex_parse(const C* s, bool strict, IN_ADDR* address, PUSHORT port) {
  if (s == nullptr || address == nullptr || port == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  unsigned char b[4];
  const C* p = parse_v4(s, strict, b);
  if (p == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  unsigned long pv = 0;
  p = parse_marked_decimal(p, ':', 65535, &pv);
  if (p == nullptr || *p != 0) {
    return STATUS_INVALID_PARAMETER;
  }
  memcpy(address, b, 4);
  *port = RtlUshortByteSwap(static_cast<USHORT>(pv));
  return STATUS_SUCCESS;
}

template <typename C>
NTSTATUS v6_ex_parse(const C* s, IN6_ADDR* address, PULONG scope, PUSHORT port) {
  if (s == nullptr || address == nullptr || scope == nullptr || port == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  const C* p = s;
  const bool bracket = *p == '[';
  if (bracket) {
    ++p;
  }
  unsigned char b[16];
  p = parse_v6(p, b);
  if (p == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  unsigned long sv = 0;
  p = parse_marked_decimal(p, '%', 0xffffffffUL, &sv);
  if (p == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  unsigned long pv = 0;
  if (bracket) {
    if (*p != ']') {
      return STATUS_INVALID_PARAMETER;
    }
    p = parse_marked_decimal(p + 1, ':', 65535, &pv);
    if (p == nullptr) {
      return STATUS_INVALID_PARAMETER;
    }
  }
  if (*p != 0) {
    return STATUS_INVALID_PARAMETER;
  }
  memcpy(address, b, 16);
  *scope = static_cast<ULONG>(sv);
  *port = RtlUshortByteSwap(static_cast<USHORT>(pv));
  return STATUS_SUCCESS;
}

// Rtl*AddressToString: the text into s (Cap characters are the documented room); returns its end.
template <size_t Cap, typename A, typename C>
C* to_string(const A* a, C* s, size_t (*format)(const A*, char*, size_t)) {
  char text[Cap];
  const size_t n = format(a, text, sizeof text);
  put_text(text, n, s);
  return s + n;
}

template <typename C>
NTSTATUS v4_to_string_ex(const IN_ADDR* a, USHORT port, C* out, PULONG out_len) {
  if (a == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  char text[32];
  return copy_out(text, v4_ex_text(a, port, text, sizeof text), out, out_len);
}

template <typename C>
NTSTATUS v6_to_string_ex(const IN6_ADDR* a, ULONG scope, USHORT port, C* out, PULONG out_len) {
  if (a == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  char text[80];
  return copy_out(text, v6_ex_text(a, scope, port, text, sizeof text), out, out_len);
}

// Rtl*StringToAddress: `parse` reads the N address bytes at s and returns the end (nullptr when
// s holds no address); the terminator is the end, or s itself on failure.
template <size_t N, typename C, typename A, typename Parse>
NTSTATUS string_to_address(const C* s, const C** terminator, A* address, Parse parse) {
  unsigned char b[N];
  const C* end = s != nullptr ? parse(s, b) : nullptr;
  if (terminator != nullptr) {
    *terminator = end != nullptr ? end : s;
  }
  if (end == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  memcpy(address, b, N);
  return STATUS_SUCCESS;
}

}  // namespace

PSTR RtlIpv4AddressToStringA(const IN_ADDR* Addr, PSTR S) {
  return to_string<16>(Addr, S, format_v4);
}

PWSTR RtlIpv4AddressToStringW(const IN_ADDR* Addr, PWSTR S) {
  return to_string<16>(Addr, S, format_v4);
}

NTSTATUS RtlIpv4AddressToStringExA(const IN_ADDR* Address, USHORT Port, PSTR AddressString,
                                   PULONG AddressStringLength) {
  return v4_to_string_ex(Address, Port, AddressString, AddressStringLength);
}

NTSTATUS RtlIpv4AddressToStringExW(const IN_ADDR* Address, USHORT Port, PWSTR AddressString,
                                   PULONG AddressStringLength) {
  return v4_to_string_ex(Address, Port, AddressString, AddressStringLength);
}

PSTR RtlIpv6AddressToStringA(const IN6_ADDR* Addr, PSTR S) {
  return to_string<46>(Addr, S, format_v6);
}

PWSTR RtlIpv6AddressToStringW(const IN6_ADDR* Addr, PWSTR S) {
  return to_string<46>(Addr, S, format_v6);
}

NTSTATUS RtlIpv6AddressToStringExA(const IN6_ADDR* Address, ULONG ScopeId, USHORT Port,
                                   PSTR AddressString, PULONG AddressStringLength) {
  return v6_to_string_ex(Address, ScopeId, Port, AddressString, AddressStringLength);
}

NTSTATUS RtlIpv6AddressToStringExW(const IN6_ADDR* Address, ULONG ScopeId, USHORT Port,
                                   PWSTR AddressString, PULONG AddressStringLength) {
  return v6_to_string_ex(Address, ScopeId, Port, AddressString, AddressStringLength);
}

NTSTATUS RtlIpv4StringToAddressA(PCSTR S, BOOLEAN Strict, PCSTR* Terminator, IN_ADDR* Addr) {
  return string_to_address<4>(S, Terminator, Addr, [&](const char* p, unsigned char* b) {
    return parse_v4(p, Strict != FALSE, b);
  });
}

NTSTATUS RtlIpv4StringToAddressW(PCWSTR S, BOOLEAN Strict, PCWSTR* Terminator, IN_ADDR* Addr) {
  return string_to_address<4>(S, Terminator, Addr, [&](const WCHAR* p, unsigned char* b) {
    return parse_v4(p, Strict != FALSE, b);
  });
}

NTSTATUS RtlIpv4StringToAddressExA(PCSTR AddressString, BOOLEAN Strict, IN_ADDR* Address,
                                   PUSHORT Port) {
  return v4_ex_parse(AddressString, Strict != FALSE, Address, Port);
}

NTSTATUS RtlIpv4StringToAddressExW(PCWSTR AddressString, BOOLEAN Strict, IN_ADDR* Address,
                                   PUSHORT Port) {
  return v4_ex_parse(AddressString, Strict != FALSE, Address, Port);
}

NTSTATUS RtlIpv6StringToAddressA(PCSTR S, PCSTR* Terminator, IN6_ADDR* Addr) {
  return string_to_address<16>(S, Terminator, Addr,
                               [](const char* p, unsigned char* b) { return parse_v6(p, b); });
}

NTSTATUS RtlIpv6StringToAddressW(PCWSTR S, PCWSTR* Terminator, IN6_ADDR* Addr) {
  return string_to_address<16>(S, Terminator, Addr,
                               [](const WCHAR* p, unsigned char* b) { return parse_v6(p, b); });
}

NTSTATUS RtlIpv6StringToAddressExA(PCSTR AddressString, IN6_ADDR* Address, PULONG ScopeId,
                                   PUSHORT Port) {
  return v6_ex_parse(AddressString, Address, ScopeId, Port);
}

NTSTATUS RtlIpv6StringToAddressExW(PCWSTR AddressString, IN6_ADDR* Address, PULONG ScopeId,
                                   PUSHORT Port) {
  return v6_ex_parse(AddressString, Address, ScopeId, Port);
}
