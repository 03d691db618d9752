// SPDX-License-Identifier: MIT
// libFuzzer target: parse_address / format_address.
//
// Checks, for any text:
//  - parse_address never crashes, never reads past the NUL (ASan), and accepts an IPv4 host
//    exactly when inet_pton(AF_INET) does (strict dotted decimal: no leading zeros, no hex), with
//    the same bytes; an IPv6 host only when inet_pton(AF_INET6) does, with the same bytes;
//  - what it accepts formats, parses back to an equal address, and formats to the same text (the
//    formatted text is a fixed point);
//  - format_address into every smaller buffer returns 0 with an empty string and never writes
//    past the size given (each buffer is allocated at exactly its size).
// And for any raw SockAddr bytes: format_address either returns 0 or text that parses back to
// the same family, port and address.
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory>

#include "xwsk/xwsk.h"

namespace {

void die(const char* what, const char* text) {
  fprintf(stderr, "fuzz_address: %s: \"%s\"\n", what, text);
  abort();
}

// Formats @p a into buffers of every size below the needed one: each must give 0 and "".
void check_small_buffers(const xwsk::SockAddr& a, size_t needed, const char* text) {
  for (size_t size = 1; size <= needed; ++size) {
    std::unique_ptr<char[]> small(new char[size]);
    memset(small.get(), 'x', size);
    if (xwsk::format_address(a, small.get(), size) != 0 || small[0] != '\0') {
      die("format_address wrote into a buffer too small", text);
    }
  }
  if (xwsk::format_address(a, nullptr, 64) != 0) die("format_address into null", text);
}

void check_round_trip(const xwsk::SockAddr& a, const char* origin) {
  char text[64];
  size_t n = xwsk::format_address(a, text, sizeof text);
  if (n == 0) die("an accepted address does not format", origin);
  if (n != strlen(text)) die("format_address length differs from the text", origin);
  xwsk::SockAddr b{};
  if (xwsk::parse_address(text, &b) != xwsk::Status::Success) {
    die("formatted text does not parse", text);
  }
  if (!xwsk::address_equal(a, b)) die("round trip changed the address", text);
  char again[64];
  if (xwsk::format_address(b, again, sizeof again) != n || strcmp(text, again) != 0) {
    die("formatting is not a fixed point", text);
  }
  check_small_buffers(a, n, text);
}

// The host part of @p text when it has no port and no brackets (else null): what inet_pton
// judges on its own.
void compare_with_inet_pton(const char* text, bool accepted, const xwsk::SockAddr& a) {
  if (strchr(text, '[') != nullptr || strchr(text, ']') != nullptr) return;
  const char* colon = strchr(text, ':');
  if (colon == nullptr) {
    // No colon: xwsk reads IPv4 without a port.
    unsigned char v4[4];
    bool os = inet_pton(AF_INET, text, v4) == 1;
    if (os != accepted)
      die(os ? "rejected what inet_pton(AF_INET) accepts"
             : "accepted what inet_pton(AF_INET) rejects",
          text);
    if (os && memcmp(v4, a.addr, 4) != 0) die("IPv4 bytes differ from inet_pton", text);
  } else if (strchr(colon + 1, ':') != nullptr) {
    // Two or more colons: IPv6 without a port.
    unsigned char v6[16];
    bool os = inet_pton(AF_INET6, text, v6) == 1;
    if (accepted && !os) die("accepted what inet_pton(AF_INET6) rejects", text);
    if (accepted && memcmp(v6, a.addr, 16) != 0) die("IPv6 bytes differ from inet_pton", text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Mode byte: text to parse, or raw SockAddr bytes to format.
  if ((data[0] & 1) == 0) {
    // Exactly size - 1 bytes plus the NUL, so that a read past the end is an ASan report.
    size_t len = size - 1;
    std::unique_ptr<char[]> text(new char[len + 1]);
    memcpy(text.get(), data + 1, len);
    text[len] = '\0';
    xwsk::SockAddr a{};
    xwsk::Status st = xwsk::parse_address(text.get(), &a);
    if (st != xwsk::Status::Success && st != xwsk::Status::InvalidParameter) {
      die("parse_address returned neither Success nor InvalidParameter", text.get());
    }
    bool accepted = st == xwsk::Status::Success;
    if (strlen(text.get()) == len) compare_with_inet_pton(text.get(), accepted, a);
    if (accepted) check_round_trip(a, text.get());
    return 0;
  }
  xwsk::SockAddr raw{};
  memcpy(&raw, data + 1, size - 1 < sizeof raw ? size - 1 : sizeof raw);
  char text[64];
  size_t n = xwsk::format_address(raw, text, sizeof text);
  bool known = raw.af() == xwsk::AddressFamily::Inet || raw.af() == xwsk::AddressFamily::Inet6;
  if (!known) {
    if (n != 0) die("formatted an unknown family", text);
    return 0;
  }
  if (n == 0) die("a known family did not format into 64 bytes", "");
  // Only family, port and address are text; flow info and scope are not.
  xwsk::SockAddr clean{};
  clean.family = raw.family;
  clean.port_be = raw.port_be;
  memcpy(clean.addr, raw.addr, raw.af() == xwsk::AddressFamily::Inet ? 4 : 16);
  check_round_trip(clean, text);
  return 0;
}
