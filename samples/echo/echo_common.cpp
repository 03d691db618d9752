// SPDX-License-Identifier: MIT
#include "echo_common.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <random>

namespace echo {

using xwsk::Status;

// ---- data ----------------------------------------------------------------------------------

uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

namespace {
inline uint64_t pattern_word(uint64_t seed, uint64_t index) {
  return mix64(seed + (index + 1) * 0x9e3779b97f4a7c15ull);
}
}  // namespace

void pattern_fill(uint64_t seed, uint64_t offset, uint8_t* out, size_t n) {
  size_t i = 0;
  // Leading partial word.
  while (i < n && ((offset + i) & 7) != 0) {
    uint64_t o = offset + i;
    out[i] = static_cast<uint8_t>(pattern_word(seed, o >> 3) >> ((o & 7) * 8));
    ++i;
  }
  // Whole words (little-endian byte order, independent of the host).
  while (n - i >= 8) {
    uint64_t w = pattern_word(seed, (offset + i) >> 3);
    for (int b = 0; b < 8; ++b)
      out[i + b] = static_cast<uint8_t>(w >> (b * 8));
    i += 8;
  }
  while (i < n) {
    uint64_t o = offset + i;
    out[i] = static_cast<uint8_t>(pattern_word(seed, o >> 3) >> ((o & 7) * 8));
    ++i;
  }
}

bool pattern_check(uint64_t seed, uint64_t offset, const uint8_t* data, size_t n,
                   size_t* first_bad) {
  uint8_t expect[4096];
  size_t done = 0;
  while (done < n) {
    size_t k = n - done < sizeof(expect) ? n - done : sizeof(expect);
    pattern_fill(seed, offset + done, expect, k);
    if (memcmp(expect, data + done, k) != 0) {
      for (size_t j = 0; j < k; ++j) {
        if (expect[j] != data[done + j]) {
          if (first_bad != nullptr) *first_bad = done + j;
          return false;
        }
      }
    }
    done += k;
  }
  return true;
}

uint64_t fnv1a64(uint64_t h, const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

namespace {
struct CrcTable {
  uint32_t t[256];
  constexpr CrcTable() : t() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
  }
};
constexpr CrcTable kCrcTable;
}  // namespace

uint32_t crc32(uint32_t crc, const uint8_t* data, size_t n) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i)
    crc = kCrcTable.t[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint64_t random_seed() {
  std::random_device rd;
  uint64_t s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return s ^ now_ns();
}

AddrText to_text(const xwsk::SockAddr& a) {
  AddrText t{};
  if (xwsk::format_address(a, t.text, sizeof(t.text)) == 0) snprintf(t.text, sizeof(t.text), "?");
  return t;
}

xwsk::SockAddr any_address(xwsk::AddressFamily family) {
  return family == xwsk::AddressFamily::Inet6 ? xwsk::ipv6_any(0) : xwsk::ipv4_any(0);
}

bool parse_host_port(const char* text, bool allow_port_zero, xwsk::SockAddr* out,
                     const char** error) {
  size_t n = strlen(text);
  if (n == 0) {
    *error = "empty address (expected HOST:PORT, e.g. 127.0.0.1:7000 or [::1]:7000)";
    return false;
  }
  // Find the port: after "]:" for IPv6, after the only ':' for IPv4.
  const char* port = nullptr;
  if (text[0] == '[') {
    const char* close = strchr(text, ']');
    if (close == nullptr) {
      *error = "missing ']' in IPv6 address (expected [ADDR]:PORT)";
      return false;
    }
    if (close[1] != ':') {
      *error = "missing port (expected [ADDR]:PORT)";
      return false;
    }
    port = close + 2;
  } else {
    const char* colon = strchr(text, ':');
    if (colon == nullptr) {
      *error = "missing port (expected HOST:PORT, e.g. 127.0.0.1:7000)";
      return false;
    }
    if (strchr(colon + 1, ':') != nullptr) {
      *error = "IPv6 addresses need brackets (expected [ADDR]:PORT, e.g. [::1]:7000)";
      return false;
    }
    port = colon + 1;
  }
  if (*port == '\0') {
    *error = "missing port after ':'";
    return false;
  }
  uint64_t value = 0;
  for (const char* p = port; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') {
      *error = "port is not a number";
      return false;
    }
    value = value * 10 + static_cast<uint64_t>(*p - '0');
    if (value > 65535) {
      *error = "port out of range (0..65535)";
      return false;
    }
  }
  if (value == 0 && !allow_port_zero) {
    *error = "port 0 is not a valid destination (1..65535)";
    return false;
  }
  xwsk::SockAddr a{};
  if (xwsk::parse_address(text, &a) != Status::Success) {
    *error = "not a numeric IPv4 or IPv6 address (names are not resolved)";
    return false;
  }
  *out = a;
  return true;
}

}  // namespace echo
