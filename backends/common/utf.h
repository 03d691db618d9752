// SPDX-License-Identifier: MIT
/// @file utf.h
/// @brief UTF-8 to and from wide strings (WCHAR), for the WSK backend and the umwsk provider:
/// the one implementation of both. Header-only and kernel-capable: pure computation, any IRQL,
/// no allocation, no library.
///
/// A wide unit is WCHAR: 16 bits in the WDK (UTF-16, so a code point above U+FFFF takes a
/// surrogate pair) and wchar_t, 32 bits, in umwsk on Linux (L"..." literals hold whole code
/// points, while code written for Windows may still store surrogate pairs there). Both forms are
/// read; the form written follows the unit's width. Malformed input (a bad UTF-8 sequence, a
/// lone surrogate, a value above U+10FFFF) and output that does not fit with its terminating
/// zero return -1, so a caller reports bad input instead of passing a mangled name on.
#ifndef XWSK_BACKENDS_COMMON_UTF_H_
#define XWSK_BACKENDS_COMMON_UTF_H_

#include <stddef.h>
#include <stdint.h>

namespace xwsk::text {

/// Converts the zero-terminated UTF-8 string @p in into @p out (@p cap units, the terminating
/// zero included). Returns the units written, not counting the zero, or -1.
template <typename Unit>
int utf8_to_wide(const char* in, Unit* out, size_t cap) {
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
    if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return -1;
    if (sizeof(Unit) == 2 && cp >= 0x10000) {
      if (n + 2 >= cap) return -1;
      cp -= 0x10000;
      out[n++] = static_cast<Unit>(0xd800 | (cp >> 10));
      out[n++] = static_cast<Unit>(0xdc00 | (cp & 0x3ff));
    } else {
      if (n + 1 >= cap) return -1;
      out[n++] = static_cast<Unit>(cp);
    }
  }
  if (n >= cap) return -1;
  out[n] = 0;
  return static_cast<int>(n);
}

/// Converts @p count wide units of @p in (stopping early at a zero unit) into zero-terminated
/// UTF-8 in @p out (@p cap bytes, the zero included). Returns the bytes written, not counting
/// the zero, or -1.
template <typename Unit>
int wide_to_utf8(const Unit* in, size_t count, char* out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < count; ++i) {
    uint32_t cp = static_cast<uint32_t>(in[i]);
    if (cp == 0) break;
    if (cp >= 0xd800 && cp < 0xdc00) {  // a high surrogate: needs its low half
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

}  // namespace xwsk::text

#endif  // XWSK_BACKENDS_COMMON_UTF_H_
