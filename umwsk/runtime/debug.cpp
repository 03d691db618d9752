// SPDX-License-Identifier: MIT
// debug.cpp: the Windows-convention formatter behind DbgPrint(Ex), the ntstrsafe printf routines
// and WPP trace lines, and the output itself (stderr, one write per message).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string_view>

#include "rt_internal.h"  // first: it defines NOMINMAX before the WDK headers
//
#include "ntstrsafe.h"
#include "umwsk_wpp.h"

namespace {

struct Out {
  char* buf;
  size_t cap;
  size_t len;  // length of the full result (may exceed cap)
  void put(const char* s, size_t n) {
    if (len + 1 < cap) {
      const size_t room = cap - 1 - len;
      memcpy(buf + len, s, n < room ? n : room);
    }
    len += n;
  }
  void putc(char c) { put(&c, 1); }
  void finish() {
    if (cap > 0) {
      buf[len < cap ? len : cap - 1] = 0;
    }
  }
};

// UTF-8 of a wide string (at most max_chars characters; -1 = until NUL).
void put_wide(Out& o, const WCHAR* s, long max_chars, char* tmp, size_t tmp_cap, size_t* used) {
  size_t n = 0;
  for (long i = 0; (max_chars < 0 || i < max_chars) && s[i] != 0; ++i) {
    const auto c = static_cast<uint32_t>(s[i]);
    char b[4];
    size_t k = 0;
    if (c < 0x80) {
      b[k++] = static_cast<char>(c);
    } else if (c < 0x800) {
      b[k++] = static_cast<char>(0xC0 | (c >> 6));
      b[k++] = static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      b[k++] = static_cast<char>(0xE0 | (c >> 12));
      b[k++] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      b[k++] = static_cast<char>(0x80 | (c & 0x3F));
    } else {
      b[k++] = static_cast<char>(0xF0 | ((c >> 18) & 0x07));
      b[k++] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      b[k++] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      b[k++] = static_cast<char>(0x80 | (c & 0x3F));
    }
    if (n + k < tmp_cap) {
      memcpy(tmp + n, b, k);
      n += k;
    }
  }
  tmp[n] = 0;
  *used = n;
  (void)o;
}

// Prints one already-fetched argument with a C spec built from the parsed pieces.
template <typename T>
void emit(Out& o, const char* spec, T value) {
  char tmp[512];
  const int n = snprintf(tmp, sizeof tmp, spec, value);
  if (n > 0) {
    o.put(tmp, static_cast<size_t>(n) < sizeof tmp ? static_cast<size_t>(n) : sizeof tmp - 1);
  }
}

void emit_string(Out& o, const char* flags_width, bool has_prec, int prec, const char* s,
                 size_t slen) {
  // Apply width and precision (in bytes) as %s would, via snprintf with explicit precision.
  char spec[64];
  snprintf(spec, sizeof spec, "%%%s.*s", flags_width);
  const int p = has_prec ? (prec < static_cast<int>(slen) ? prec : static_cast<int>(slen))
                         : static_cast<int>(slen);
  char tmp[1024];
  const int n = snprintf(tmp, sizeof tmp, spec, p, s);
  if (n > 0) {
    o.put(tmp, static_cast<size_t>(n) < sizeof tmp ? static_cast<size_t>(n) : sizeof tmp - 1);
  }
}

const char* basename_of(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

}  // namespace

// clang-format off
#define UMWSK_STATUS_NAMES(X) \
  X(STATUS_SUCCESS) \
  X(STATUS_PENDING) \
  X(STATUS_TIMEOUT) \
  X(STATUS_ALERTED) \
  X(STATUS_USER_APC) \
  X(STATUS_DEVICE_BUSY) \
  X(STATUS_BUFFER_OVERFLOW) \
  X(STATUS_UNSUCCESSFUL) \
  X(STATUS_INVALID_HANDLE) \
  X(STATUS_INVALID_PARAMETER) \
  X(STATUS_INVALID_DEVICE_REQUEST) \
  X(STATUS_MORE_PROCESSING_REQUIRED) \
  X(STATUS_NO_MEMORY) \
  X(STATUS_BUFFER_TOO_SMALL) \
  X(STATUS_OBJECT_TYPE_MISMATCH) \
  X(STATUS_OBJECT_NAME_NOT_FOUND) \
  X(STATUS_OBJECT_NAME_COLLISION) \
  X(STATUS_DEVICE_NOT_READY) \
  X(STATUS_IO_TIMEOUT) \
  X(STATUS_NOT_SUPPORTED) \
  X(STATUS_CANCELLED) \
  X(STATUS_FILE_CLOSED) \
  X(STATUS_INVALID_DEVICE_STATE) \
  X(STATUS_INVALID_BUFFER_SIZE) \
  X(STATUS_INVALID_ADDRESS_COMPONENT) \
  X(STATUS_ADDRESS_ALREADY_EXISTS) \
  X(STATUS_CONNECTION_DISCONNECTED) \
  X(STATUS_CONNECTION_RESET) \
  X(STATUS_NOT_FOUND) \
  X(STATUS_CONNECTION_REFUSED) \
  X(STATUS_GRACEFUL_DISCONNECT) \
  X(STATUS_ADDRESS_NOT_ASSOCIATED) \
  X(STATUS_CONNECTION_INVALID) \
  X(STATUS_CONNECTION_ACTIVE) \
  X(STATUS_NETWORK_UNREACHABLE) \
  X(STATUS_HOST_UNREACHABLE) \
  X(STATUS_PROTOCOL_UNREACHABLE) \
  X(STATUS_PORT_UNREACHABLE) \
  X(STATUS_REQUEST_ABORTED) \
  X(STATUS_CONNECTION_ABORTED) \
  X(STATUS_REQUEST_NOT_ACCEPTED) \
  X(STATUS_HOST_DOWN) \
  X(STATUS_NO_MATCH) \
  X(STATUS_NOINTERFACE) \
  X(STATUS_FILE_FORCED_CLOSED) \
  X(STATUS_NO_SUCH_DEVICE) \
  X(STATUS_NAME_TOO_LONG) \
  X(STATUS_MUTANT_NOT_OWNED)
// clang-format on

const char* umwsk_status_name(NTSTATUS status) {
#define UMWSK_STATUS_CASE_(name) \
  if (status == (name)) return #name;
  UMWSK_STATUS_NAMES(UMWSK_STATUS_CASE_)
#undef UMWSK_STATUS_CASE_
  return nullptr;
}

size_t umwsk_vformat(char* out, size_t cap, const char* fmt, va_list ap,
                     const UmwskWppContext* wpp) {
  Out o{out, cap, 0};
  va_list args;
  va_copy(args, ap);
  for (const char* p = fmt; *p != 0;) {
    if (*p != '%') {
      const char* q = strchr(p, '%');
      const size_t n = q != nullptr ? static_cast<size_t>(q - p) : strlen(p);
      o.put(p, n);
      p += n;
      continue;
    }
    const char* start = p++;
    if (*p == '%') {
      o.putc('%');
      ++p;
      continue;
    }
    if (wpp != nullptr && *p == '!') {
      const char* end = strchr(p + 1, '!');
      if (end != nullptr) {
        const std::string_view name(p + 1, static_cast<size_t>(end - p - 1));
        p = end + 1;
        char tmp[128];
        if (name == "FUNC") {
          o.put(wpp->func, strlen(wpp->func));
        } else if (name == "FILE") {
          const char* b = basename_of(wpp->file);
          o.put(b, strlen(b));
        } else if (name == "LINE") {
          const int n = snprintf(tmp, sizeof tmp, "%u", wpp->line);
          o.put(tmp, static_cast<size_t>(n));
        } else if (name == "STATUS" || name == "HRESULT" || name == "WINERROR") {
          const auto v = static_cast<NTSTATUS>(va_arg(args, int));
          const char* sn = umwsk_status_name(v);
          const int n = sn != nullptr
                            ? snprintf(tmp, sizeof tmp, "%s(0x%08X)", sn, static_cast<unsigned>(v))
                            : snprintf(tmp, sizeof tmp, "0x%08X", static_cast<unsigned>(v));
          o.put(tmp, static_cast<size_t>(n));
        } else if (name == "bool" || name == "BOOLEAN") {
          const int v = va_arg(args, int);
          o.put(v ? "TRUE" : "FALSE", v ? 4 : 5);
        } else if (name == "GUID") {
          const auto* g = va_arg(args, const GUID*);
          const int n =
              g == nullptr
                  ? snprintf(tmp, sizeof tmp, "(null)")
                  : snprintf(tmp, sizeof tmp, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                             g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2],
                             g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
          o.put(tmp, static_cast<size_t>(n));
        } else if (name == "IPADDR") {
          const auto v = static_cast<ULONG>(va_arg(args, unsigned));
          const auto* b = reinterpret_cast<const unsigned char*>(&v);
          const int n = snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
          o.put(tmp, static_cast<size_t>(n));
        } else if (name == "PORT") {
          const auto v = static_cast<USHORT>(va_arg(args, unsigned));
          const int n =
              snprintf(tmp, sizeof tmp, "%u", static_cast<unsigned>(RtlUshortByteSwap(v)));
          o.put(tmp, static_cast<size_t>(n));
        } else {
          o.put(start, static_cast<size_t>(p - start));
        }
        continue;
      }
    }
    // flags, width, precision
    char flags_width[32];
    size_t fw = 0;
    while (*p != 0 && strchr("-+ #0", *p) != nullptr && fw < 8) {
      flags_width[fw++] = *p++;
    }
    if (*p == '*') {
      const int w = va_arg(args, int);
      fw += static_cast<size_t>(snprintf(flags_width + fw, sizeof flags_width - fw, "%d", w));
      ++p;
    } else {
      while (*p >= '0' && *p <= '9' && fw < 20) {
        flags_width[fw++] = *p++;
      }
    }
    flags_width[fw] = 0;
    bool has_prec = false;
    int prec = 0;
    if (*p == '.') {
      has_prec = true;
      ++p;
      if (*p == '*') {
        prec = va_arg(args, int);
        ++p;
      } else {
        while (*p >= '0' && *p <= '9') {
          prec = prec * 10 + (*p++ - '0');
        }
      }
    }
    // length: Windows meanings
    enum { kInt, kShort, kChar, kLong32, kInt64, kWide } len = kInt;
    if (p[0] == 'I' && p[1] == '6' && p[2] == '4') {
      len = kInt64;
      p += 3;
    } else if (p[0] == 'I' && p[1] == '3' && p[2] == '2') {
      len = kLong32;
      p += 3;
    } else if (*p == 'I' || *p == 'z' || *p == 't' || *p == 'j') {
      len = kInt64;
      ++p;
    } else if (p[0] == 'l' && p[1] == 'l') {
      len = kInt64;
      p += 2;
    } else if (p[0] == 'h' && p[1] == 'h') {
      len = kChar;
      p += 2;
    } else if (*p == 'l') {
      len = kLong32;  // also "wide" for c/s
      ++p;
    } else if (*p == 'h') {
      len = kShort;
      ++p;
    } else if (*p == 'w') {
      len = kWide;
      ++p;
    } else if (*p == 'q' || *p == 'L') {
      len = kInt64;
      ++p;
    }
    const char conv = *p;
    if (conv == 0) {
      o.put(start, static_cast<size_t>(p - start));
      break;
    }
    ++p;
    char spec[64];
    char prec_text[16] = "";
    if (has_prec) {
      snprintf(prec_text, sizeof prec_text, ".%d", prec);
    }
    switch (conv) {
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        if (len == kInt64) {
          snprintf(spec, sizeof spec, "%%%s%sll%c", flags_width, prec_text, conv);
          emit(o, spec, va_arg(args, long long));
        } else {
          const char* mod = len == kShort ? "h" : (len == kChar ? "hh" : "");
          snprintf(spec, sizeof spec, "%%%s%s%s%c", flags_width, prec_text, mod, conv);
          emit(o, spec, va_arg(args, int));
        }
        break;
      }
      case 'p': {
        snprintf(spec, sizeof spec, "%%%sp", flags_width);
        emit(o, spec, va_arg(args, void*));
        break;
      }
      case 'c':
      case 'C': {
        const int v = va_arg(args, int);
        const bool wide =
            (conv == 'c' && (len == kLong32 || len == kWide)) || (conv == 'C' && len != kShort);
        char tmp[8];
        size_t n = 0;
        if (wide) {
          const WCHAR w[2] = {static_cast<WCHAR>(v), 0};
          put_wide(o, w, 1, tmp, sizeof tmp, &n);
        } else {
          tmp[0] = static_cast<char>(v);
          n = 1;
        }
        emit_string(o, flags_width, false, 0, tmp, n);
        break;
      }
      case 's':
      case 'S': {
        const bool wide =
            (conv == 's' && (len == kLong32 || len == kWide)) || (conv == 'S' && len != kShort);
        if (wide) {
          const auto* ws = va_arg(args, const WCHAR*);
          if (ws == nullptr) {
            emit_string(o, flags_width, has_prec, prec, "(null)", 6);
          } else {
            char tmp[1024];
            size_t n = 0;
            put_wide(o, ws, has_prec ? prec : -1, tmp, sizeof tmp, &n);
            emit_string(o, flags_width, false, 0, tmp, n);
          }
        } else {
          const char* s = va_arg(args, const char*);
          if (s == nullptr) {
            s = "(null)";
          }
          emit_string(o, flags_width, has_prec, prec, s, strlen(s));
        }
        break;
      }
      case 'Z': {
        if (len == kWide) {
          const auto* us = va_arg(args, const UNICODE_STRING*);
          if (us == nullptr || us->Buffer == nullptr) {
            emit_string(o, flags_width, false, 0, "(null)", 6);
          } else {
            char tmp[1024];
            size_t n = 0;
            put_wide(o, us->Buffer, static_cast<long>(us->Length / sizeof(WCHAR)), tmp, sizeof tmp,
                     &n);
            emit_string(o, flags_width, false, 0, tmp, n);
          }
        } else {
          const auto* as = va_arg(args, const ANSI_STRING*);
          if (as == nullptr || as->Buffer == nullptr) {
            emit_string(o, flags_width, false, 0, "(null)", 6);
          } else {
            emit_string(o, flags_width, true, as->Length, as->Buffer,
                        strnlen(as->Buffer, as->Length));
          }
        }
        break;
      }
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
      case 'a':
      case 'A': {
        snprintf(spec, sizeof spec, "%%%s%s%c", flags_width, prec_text, conv);
        emit(o, spec, va_arg(args, double));
        break;
      }
      case 'n':
        (void)va_arg(args, void*);  // not supported (never written)
        break;
      default:
        o.put(start, static_cast<size_t>(p - start));
        break;
    }
  }
  va_end(args);
  o.finish();
  return o.len;
}

void umwsk_write_prefixed(const char* prefix, const char* text) {
  static std::atomic<bool> at_line_start{true};
  const size_t plen = strlen(prefix);
  size_t cap = strlen(text) * 2 + plen + 16;
  char stack_buf[2048];
  char* buf = cap <= sizeof stack_buf ? stack_buf : static_cast<char*>(malloc(cap));
  if (buf == nullptr) {
    return;
  }
  size_t n = 0;
  bool bol = at_line_start.load(std::memory_order_relaxed);
  for (const char* t = text; *t != 0; ++t) {
    if (bol) {
      if (n + plen + 2 > cap) {
        break;
      }
      memcpy(buf + n, prefix, plen);
      n += plen;
      bol = false;
    }
    if (n + 2 > cap) {
      break;
    }
    buf[n++] = *t;
    if (*t == '\n') {
      bol = true;
    }
  }
  at_line_start.store(bol, std::memory_order_relaxed);
  size_t off = 0;
  while (off < n) {
    const ssize_t w = write(STDERR_FILENO, buf + off, n - off);
    if (w <= 0) {
      break;
    }
    off += static_cast<size_t>(w);
  }
  if (buf != stack_buf) {
    free(buf);
  }
}

// ---- DbgPrint -----------------------------------------------------------------------------------

namespace {

ULONG dbg_threshold() {
  static std::atomic<int> threshold{-1};
  int t = threshold.load(std::memory_order_relaxed);
  if (t < 0) {
    const char* env = getenv("UMWSK_DBGPRINT_LEVEL");
    t = env != nullptr ? atoi(env) : DPFLTR_INFO_LEVEL;
    if (t < 0) {
      t = 0;
    }
    if (t > 31) {
      t = 31;
    }
    threshold.store(t, std::memory_order_relaxed);
  }
  return static_cast<ULONG>(t);
}

bool dbg_enabled(ULONG level) {
  const ULONG t = dbg_threshold();
  if (level <= 31) {
    return level <= t;
  }
  const ULONG mask = level & ~static_cast<ULONG>(DPFLTR_MASK);
  const ULONG allowed = t >= 31 ? 0xffffffffu : ((1u << (t + 1)) - 1);
  return (mask & allowed) != 0;
}

void dbg_vprint(const char* prefix, const char* fmt, va_list ap) {
  char text[4096];
  umwsk_vformat(text, sizeof text, fmt, ap, nullptr);
  umwsk_write_prefixed(prefix, text);
}

}  // namespace

ULONG DbgPrint(PCSTR Format, ...) {
  va_list ap;
  va_start(ap, Format);
  dbg_vprint("[kd] ", Format, ap);
  va_end(ap);
  return STATUS_SUCCESS;
}

ULONG DbgPrintReturnControlC(PCCH Format, ...) {
  va_list ap;
  va_start(ap, Format);
  dbg_vprint("[kd] ", Format, ap);
  va_end(ap);
  return STATUS_SUCCESS;
}

ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...) {
  (void)ComponentId;
  if (!dbg_enabled(Level)) {
    return STATUS_SUCCESS;
  }
  va_list ap;
  va_start(ap, Format);
  dbg_vprint("[kd] ", Format, ap);
  va_end(ap);
  return STATUS_SUCCESS;
}

ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCCH Format, va_list arglist) {
  (void)ComponentId;
  if (dbg_enabled(Level)) {
    dbg_vprint("[kd] ", Format, arglist);
  }
  return STATUS_SUCCESS;
}

ULONG vDbgPrintExWithPrefix(PCCH Prefix, ULONG ComponentId, ULONG Level, PCCH Format,
                            va_list arglist) {
  (void)ComponentId;
  if (dbg_enabled(Level)) {
    char text[4096];
    const size_t plen = strlen(Prefix);
    const size_t keep = plen < sizeof text - 1 ? plen : sizeof text - 1;
    memcpy(text, Prefix, keep);
    umwsk_vformat(text + keep, sizeof text - keep, Format, arglist, nullptr);
    umwsk_write_prefixed("[kd] ", text);
  }
  return STATUS_SUCCESS;
}

BOOLEAN DbgQueryDebugFilterState(ULONG ComponentId, ULONG Level) {
  (void)ComponentId;
  return dbg_enabled(Level) ? TRUE : FALSE;
}

// ---- WPP ----------------------------------------------------------------------------------------

void UmwskTraceMessage(ULONG Level, PCSTR Flag, PCSTR File, ULONG Line, PCSTR Function,
                       PCSTR Format, ...) {
  static std::atomic<int> threshold{-1};
  int t = threshold.load(std::memory_order_relaxed);
  if (t < 0) {
    const char* env = getenv("UMWSK_WPP_LEVEL");
    t = env != nullptr ? atoi(env) : TRACE_LEVEL_INFORMATION;
    threshold.store(t < 0 ? 0 : t, std::memory_order_relaxed);
  }
  if (static_cast<int>(Level) > t) {
    return;
  }
  char text[4096];
  const int head = snprintf(text, sizeof text, "%s %s:%u ", Flag, basename_of(File), Line);
  const size_t used = head > 0 ? static_cast<size_t>(head) : 0;
  UmwskWppContext ctx{File, Line, Function};
  va_list ap;
  va_start(ap, Format);
  umwsk_vformat(text + used, sizeof text - used - 1, Format, ap, &ctx);
  va_end(ap);
  const size_t n = strlen(text);
  if (n == 0 || text[n - 1] != '\n') {
    text[n] = '\n';
    text[n + 1] = 0;
  }
  umwsk_write_prefixed("[wpp] ", text);
}

// ---- ntstrsafe ----------------------------------------------------------------------------------

NTSTATUS RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat,
                             va_list argList) {
  if (pszDest == nullptr || cbDest == 0 || cbDest > NTSTRSAFE_MAX_CCH || pszFormat == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  const size_t n = umwsk_vformat(pszDest, cbDest, pszFormat, argList, nullptr);
  return n >= cbDest ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTSTATUS RtlStringCbPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat, ...) {
  va_list ap;
  va_start(ap, pszFormat);
  const NTSTATUS st = RtlStringCbVPrintfA(pszDest, cbDest, pszFormat, ap);
  va_end(ap);
  return st;
}

NTSTATUS RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat,
                              va_list argList) {
  return RtlStringCbVPrintfA(pszDest, cchDest, pszFormat, argList);
}

NTSTATUS RtlStringCchPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat,
                             ...) {
  va_list ap;
  va_start(ap, pszFormat);
  const NTSTATUS st = RtlStringCbVPrintfA(pszDest, cchDest, pszFormat, ap);
  va_end(ap);
  return st;
}

namespace {

size_t bounded_length(const char* s, size_t max) {
  return strnlen(s, max);
}

size_t bounded_length(const WCHAR* s, size_t max) {
  return wcsnlen(s, max);
}

// RtlStringCchLength{A,W}: the length in characters of a string that ends within max of them.
template <typename C>
NTSTATUS length_n(const C* s, size_t max, size_t* length) {
  const bool valid = s != nullptr && max <= NTSTRSAFE_MAX_CCH;
  const size_t n = valid ? bounded_length(s, max) : max;  // max: invalid, or no NUL within max
  if (length != nullptr) {
    *length = n != max ? n : 0;
  }
  return n != max ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

// RtlString*Copy{,N}{A,W}: at most max_src characters of src, cut to what dst (cch characters)
// holds with its NUL.
template <typename C>
NTSTATUS copy_n(C* dst, size_t cch, const C* src, size_t max_src) {
  if (dst == nullptr || cch == 0 || cch > NTSTRSAFE_MAX_CCH || src == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  size_t i = 0;
  for (; i + 1 < cch && i < max_src && src[i] != 0; ++i) {
    dst[i] = src[i];
  }
  dst[i] = 0;
  return (i < max_src && src[i] != 0) ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

}  // namespace

NTSTATUS RtlStringCbLengthA(NTSTRSAFE_PCSTR psz, size_t cbMax, size_t* pcbLength) {
  return length_n(psz, cbMax, pcbLength);
}

NTSTATUS RtlStringCchLengthA(NTSTRSAFE_PCSTR psz, size_t cchMax, size_t* pcchLength) {
  return RtlStringCbLengthA(psz, cchMax, pcchLength);
}

NTSTATUS RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
  return copy_n(pszDest, cbDest, pszSrc, SIZE_MAX);
}

NTSTATUS RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
  return copy_n(pszDest, cchDest, pszSrc, SIZE_MAX);
}

NTSTATUS RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc,
                           size_t cbToCopy) {
  if (cbToCopy > NTSTRSAFE_MAX_CCH) {
    return STATUS_INVALID_PARAMETER;
  }
  return copy_n(pszDest, cbDest, pszSrc, cbToCopy);
}

NTSTATUS RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc,
                            size_t cchToCopy) {
  return RtlStringCbCopyNA(pszDest, cchDest, pszSrc, cchToCopy);
}

NTSTATUS RtlStringCbCatA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
  if (pszDest == nullptr || cbDest == 0 || cbDest > NTSTRSAFE_MAX_CCH) {
    return STATUS_INVALID_PARAMETER;
  }
  const size_t used = strnlen(pszDest, cbDest);
  if (used == cbDest) {
    return STATUS_INVALID_PARAMETER;
  }
  return copy_n(pszDest + used, cbDest - used, pszSrc, SIZE_MAX);
}

NTSTATUS RtlStringCchCatA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
  return RtlStringCbCatA(pszDest, cchDest, pszSrc);
}

NTSTATUS RtlStringCchLengthW(NTSTRSAFE_PCWSTR psz, size_t cchMax, size_t* pcchLength) {
  return length_n(psz, cchMax, pcchLength);
}

NTSTATUS RtlStringCbLengthW(NTSTRSAFE_PCWSTR psz, size_t cbMax, size_t* pcbLength) {
  size_t cch = 0;
  const NTSTATUS st = RtlStringCchLengthW(psz, cbMax / sizeof(WCHAR), &cch);
  if (pcbLength != nullptr) {
    *pcbLength = NT_SUCCESS(st) ? cch * sizeof(WCHAR) : 0;
  }
  return st;
}

NTSTATUS RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc) {
  return copy_n(pszDest, cchDest, pszSrc, SIZE_MAX);
}

NTSTATUS RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc) {
  return RtlStringCchCopyW(pszDest, cbDest / sizeof(WCHAR), pszSrc);
}
