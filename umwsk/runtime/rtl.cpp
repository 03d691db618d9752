// SPDX-License-Identifier: MIT
// rtl.cpp: Rtl memory and string helpers, random numbers, version, MmGetSystemRoutineAddress.
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include <type_traits>

#include "rt_internal.h"

SIZE_T RtlCompareMemory(const void* Source1, const void* Source2, SIZE_T Length) {
  const auto* a = static_cast<const unsigned char*>(Source1);
  const auto* b = static_cast<const unsigned char*>(Source2);
  SIZE_T i = 0;
  while (i < Length && a[i] == b[i]) {
    ++i;
  }
  return i;
}

// ---- counted strings ----------------------------------------------------------------------------

namespace {

size_t text_length(const char* s) {
  return strlen(s);
}

size_t text_length(PCWSTR s) {
  return wcslen(s);
}

// RtlInit{Unicode,Ansi}String: the counted string over the NUL-terminated text, its length in
// bytes cut to max_bytes (as Windows: what a USHORT length can describe).
template <typename S, typename C>
void init_counted(S* d, const C* text, size_t max_bytes) {
  if (text == nullptr) {
    d->Length = 0;
    d->MaximumLength = 0;
    d->Buffer = nullptr;
    return;
  }
  size_t bytes = text_length(text) * sizeof(C);
  if (bytes > max_bytes) {
    bytes = max_bytes;
  }
  d->Length = static_cast<USHORT>(bytes);
  d->MaximumLength = static_cast<USHORT>(bytes + sizeof(C));
  d->Buffer = const_cast<C*>(text);
}

// RtlCopy{Unicode,}String: as much as fits (whole characters), NUL-terminated when there is room.
template <typename S>
void copy_counted(S* d, const S* s) {
  using C = std::remove_pointer_t<decltype(d->Buffer)>;
  if (s == nullptr) {
    d->Length = 0;
    return;
  }
  USHORT n = s->Length;
  if (n > d->MaximumLength) {
    n = d->MaximumLength;
  }
  n = static_cast<USHORT>(n - n % sizeof(C));
  memmove(d->Buffer, s->Buffer, n);
  d->Length = n;
  if (n + sizeof(C) <= d->MaximumLength) {
    d->Buffer[n / sizeof(C)] = 0;
  }
}

}  // namespace

void RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString) {
  init_counted(DestinationString, SourceString, UNICODE_STRING_MAX_BYTES - sizeof(WCHAR));
}

NTSTATUS RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString) {
  if (SourceString != nullptr &&
      wcslen(SourceString) * sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR)) {
    return STATUS_NAME_TOO_LONG;
  }
  RtlInitUnicodeString(DestinationString, SourceString);
  return STATUS_SUCCESS;
}

void RtlInitString(PSTRING DestinationString, PCSZ SourceString) {
  init_counted(DestinationString, SourceString, MAXUSHORT - 1);
}

void RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString) {
  RtlInitString(DestinationString, SourceString);
}

void RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
  copy_counted(DestinationString, SourceString);
}

void RtlCopyString(PSTRING DestinationString, const STRING* SourceString) {
  copy_counted(DestinationString, SourceString);
}

namespace {

template <typename C, typename Fold>
LONG compare_counted(const C* a, size_t na, const C* b, size_t nb, bool fold, Fold f) {
  const size_t n = na < nb ? na : nb;
  for (size_t i = 0; i < n; ++i) {
    auto ca = static_cast<LONG>(fold ? f(a[i]) : a[i]);
    auto cb = static_cast<LONG>(fold ? f(b[i]) : b[i]);
    if (ca != cb) {
      return ca - cb;
    }
  }
  return static_cast<LONG>(na) - static_cast<LONG>(nb);
}

WCHAR upcase_w(WCHAR c) {
  return static_cast<WCHAR>(towupper(static_cast<wint_t>(c)));
}

CHAR upcase_a(CHAR c) {
  return (c >= 'a' && c <= 'z') ? static_cast<CHAR>(c - 'a' + 'A') : c;
}

}  // namespace

LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                             BOOLEAN CaseInSensitive) {
  return compare_counted(String1->Buffer, String1->Length / sizeof(WCHAR), String2->Buffer,
                         String2->Length / sizeof(WCHAR), CaseInSensitive != FALSE, upcase_w);
}

BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                              BOOLEAN CaseInSensitive) {
  if (String1->Length != String2->Length) {
    return FALSE;
  }
  return RtlCompareUnicodeString(String1, String2, CaseInSensitive) == 0 ? TRUE : FALSE;
}

BOOLEAN RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                               BOOLEAN CaseInSensitive) {
  if (String1->Length > String2->Length) {
    return FALSE;
  }
  return compare_counted(String1->Buffer, String1->Length / sizeof(WCHAR), String2->Buffer,
                         String1->Length / sizeof(WCHAR), CaseInSensitive != FALSE, upcase_w) == 0
             ? TRUE
             : FALSE;
}

LONG RtlCompareString(const STRING* String1, const STRING* String2, BOOLEAN CaseInSensitive) {
  return compare_counted(reinterpret_cast<const unsigned char*>(String1->Buffer), String1->Length,
                         reinterpret_cast<const unsigned char*>(String2->Buffer), String2->Length,
                         CaseInSensitive != FALSE, [](unsigned char c) {
                           return static_cast<unsigned char>(upcase_a(static_cast<CHAR>(c)));
                         });
}

BOOLEAN RtlEqualString(const STRING* String1, const STRING* String2, BOOLEAN CaseInSensitive) {
  if (String1->Length != String2->Length) {
    return FALSE;
  }
  return RtlCompareString(String1, String2, CaseInSensitive) == 0 ? TRUE : FALSE;
}

NTSTATUS RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source) {
  if (Source == nullptr || Source->Length == 0) {
    return STATUS_SUCCESS;
  }
  const size_t total = static_cast<size_t>(Destination->Length) + Source->Length;
  if (total > Destination->MaximumLength) {
    return STATUS_BUFFER_TOO_SMALL;
  }
  memmove(reinterpret_cast<char*>(Destination->Buffer) + Destination->Length, Source->Buffer,
          Source->Length);
  Destination->Length = static_cast<USHORT>(total);
  if (total + sizeof(WCHAR) <= Destination->MaximumLength) {
    Destination->Buffer[total / sizeof(WCHAR)] = 0;
  }
  return STATUS_SUCCESS;
}

NTSTATUS RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source) {
  if (Source == nullptr) {
    return STATUS_SUCCESS;
  }
  UNICODE_STRING s;
  RtlInitUnicodeString(&s, Source);
  return RtlAppendUnicodeStringToString(Destination, &s);
}

NTSTATUS RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString, PCUNICODE_STRING SourceString,
                                      BOOLEAN AllocateDestinationString) {
  umwsk_check_irql_max(PASSIVE_LEVEL, __builtin_return_address(0), SourceString,
                       "RtlUnicodeStringToAnsiString");
  const size_t chars = SourceString->Length / sizeof(WCHAR);
  if (chars > MAXUSHORT - 1) {
    return STATUS_INVALID_PARAMETER_2;
  }
  if (AllocateDestinationString) {
    auto* buf = static_cast<PCHAR>(umwsk_pool_alloc(PagedPool, chars + 1, kUmwskStringTag, false,
                                                    __builtin_return_address(0)));
    if (buf == nullptr) {
      return STATUS_NO_MEMORY;
    }
    DestinationString->Buffer = buf;
    DestinationString->MaximumLength = static_cast<USHORT>(chars + 1);
  } else if (DestinationString->MaximumLength < chars + 1) {
    // Windows converts what fits and reports the overflow.
    const size_t fit =
        DestinationString->MaximumLength == 0 ? 0 : DestinationString->MaximumLength - 1u;
    for (size_t i = 0; i < fit; ++i) {
      const WCHAR c = SourceString->Buffer[i];
      DestinationString->Buffer[i] = c < 0x80 ? static_cast<CHAR>(c) : '?';
    }
    if (DestinationString->MaximumLength != 0) {
      DestinationString->Buffer[fit] = 0;
    }
    DestinationString->Length = static_cast<USHORT>(fit);
    return STATUS_BUFFER_OVERFLOW;
  }
  for (size_t i = 0; i < chars; ++i) {
    const WCHAR c = SourceString->Buffer[i];
    DestinationString->Buffer[i] = c < 0x80 ? static_cast<CHAR>(c) : '?';
  }
  DestinationString->Buffer[chars] = 0;
  DestinationString->Length = static_cast<USHORT>(chars);
  return STATUS_SUCCESS;
}

NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString, PCANSI_STRING SourceString,
                                      BOOLEAN AllocateDestinationString) {
  umwsk_check_irql_max(PASSIVE_LEVEL, __builtin_return_address(0), SourceString,
                       "RtlAnsiStringToUnicodeString");
  const size_t chars = SourceString->Length;
  const size_t bytes = (chars + 1) * sizeof(WCHAR);
  if (bytes > UNICODE_STRING_MAX_BYTES) {
    return STATUS_INVALID_PARAMETER_2;
  }
  if (AllocateDestinationString) {
    auto* buf = static_cast<PWCH>(
        umwsk_pool_alloc(PagedPool, bytes, kUmwskStringTag, false, __builtin_return_address(0)));
    if (buf == nullptr) {
      return STATUS_NO_MEMORY;
    }
    DestinationString->Buffer = buf;
    DestinationString->MaximumLength = static_cast<USHORT>(bytes);
  } else if (DestinationString->MaximumLength < bytes) {
    return STATUS_BUFFER_OVERFLOW;
  }
  for (size_t i = 0; i < chars; ++i) {
    DestinationString->Buffer[i] =
        static_cast<WCHAR>(static_cast<unsigned char>(SourceString->Buffer[i]));
  }
  DestinationString->Buffer[chars] = 0;
  DestinationString->Length = static_cast<USHORT>(chars * sizeof(WCHAR));
  return STATUS_SUCCESS;
}

namespace {

// RtlFree{Ansi,Unicode}String: the buffer an Rtl*To*String allocated, and the string emptied.
template <typename S>
void free_counted(S* s, const void* caller) {
  if (s != nullptr && s->Buffer != nullptr) {
    umwsk_pool_free(s->Buffer, kUmwskStringTag, true, caller);
    s->Buffer = nullptr;
    s->Length = 0;
    s->MaximumLength = 0;
  }
}

}  // namespace

void RtlFreeAnsiString(PANSI_STRING AnsiString) {
  umwsk_check_irql_max(PASSIVE_LEVEL, __builtin_return_address(0), AnsiString, "RtlFreeAnsiString");
  free_counted(AnsiString, __builtin_return_address(0));
}

void RtlFreeUnicodeString(PUNICODE_STRING UnicodeString) {
  free_counted(UnicodeString, __builtin_return_address(0));
}

WCHAR RtlUpcaseUnicodeChar(WCHAR SourceCharacter) {
  return upcase_w(SourceCharacter);
}

WCHAR RtlDowncaseUnicodeChar(WCHAR SourceCharacter) {
  return static_cast<WCHAR>(towlower(static_cast<wint_t>(SourceCharacter)));
}

NTSTATUS RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String) {
  if (Base == 0) {
    Base = 10;
  }
  if (Base != 2 && Base != 8 && Base != 10 && Base != 16) {
    return STATUS_INVALID_PARAMETER;
  }
  char digits[40];
  int n = 0;
  do {
    const ULONG d = Value % Base;
    digits[n++] = static_cast<char>(d < 10 ? '0' + d : 'A' + d - 10);
    Value /= Base;
  } while (Value != 0);
  const size_t bytes = static_cast<size_t>(n) * sizeof(WCHAR);
  if (bytes > String->MaximumLength) {
    return STATUS_BUFFER_OVERFLOW;
  }
  for (int i = 0; i < n; ++i) {
    String->Buffer[i] = static_cast<WCHAR>(digits[n - 1 - i]);
  }
  String->Length = static_cast<USHORT>(bytes);
  if (bytes + sizeof(WCHAR) <= String->MaximumLength) {
    String->Buffer[n] = 0;
  }
  return STATUS_SUCCESS;
}

namespace {

template <typename C>
NTSTATUS parse_integer(const C* s, size_t n, ULONG base, PULONG value) {
  size_t i = 0;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) {
    ++i;
  }
  bool negative = false;
  if (i < n && (s[i] == '-' || s[i] == '+')) {
    negative = s[i] == '-';
    ++i;
  }
  if (base == 0) {
    base = 10;
    if (i + 1 < n && s[i] == '0') {
      const C c = s[i + 1];
      if (c == 'x' || c == 'X') {
        base = 16;
        i += 2;
      } else if (c == 'o' || c == 'O') {
        base = 8;
        i += 2;
      } else if (c == 'b' || c == 'B') {
        base = 2;
        i += 2;
      }
    }
  } else if (base != 2 && base != 8 && base != 10 && base != 16) {
    return STATUS_INVALID_PARAMETER;
  }
  ULONG v = 0;
  for (; i < n; ++i) {
    const C c = s[i];
    ULONG d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<ULONG>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<ULONG>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<ULONG>(c - 'A' + 10);
    } else {
      break;
    }
    if (d >= base) {
      break;
    }
    v = v * base + d;
  }
  *value = negative ? static_cast<ULONG>(0u - v) : v;
  return STATUS_SUCCESS;
}

}  // namespace

NTSTATUS RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value) {
  return parse_integer(String->Buffer, String->Length / sizeof(WCHAR), Base, Value);
}

NTSTATUS RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value) {
  return parse_integer(String, strlen(String), Base, Value);
}

// ---- random: a Lehmer generator (multiplier 48271, modulus 2^31 - 1) ----------------------------

ULONG RtlRandomEx(PULONG Seed) {
  ULONG s = *Seed % 0x7fffffffu;
  if (s == 0) {
    s = 1;
  }
  const auto next = static_cast<ULONG>((static_cast<ULONGLONG>(s) * 48271u) % 0x7fffffffu);
  *Seed = next;
  return next;  // in [1, MAXLONG)
}

ULONG RtlRandom(PULONG Seed) {
  return RtlRandomEx(Seed);
}

// ---- version ------------------------------------------------------------------------------------

NTSTATUS RtlGetVersion(PRTL_OSVERSIONINFOW lpVersionInformation) {
  if (lpVersionInformation == nullptr ||
      lpVersionInformation->dwOSVersionInfoSize < sizeof(RTL_OSVERSIONINFOW)) {
    return STATUS_INVALID_PARAMETER;
  }
  lpVersionInformation->dwMajorVersion = 10;
  lpVersionInformation->dwMinorVersion = 0;
  lpVersionInformation->dwBuildNumber = 19041;
  lpVersionInformation->dwPlatformId = 2;  // VER_PLATFORM_WIN32_NT
  lpVersionInformation->szCSDVersion[0] = 0;
  return STATUS_SUCCESS;
}

BOOLEAN RtlIsNtDdiVersionAvailable(ULONG Version) {
  return Version <= NTDDI_WIN10_VB ? TRUE : FALSE;
}

// ---- routine lookup -----------------------------------------------------------------------------

PVOID MmGetSystemRoutineAddress(PUNICODE_STRING SystemRoutineName) {
  umwsk_check_irql_max(PASSIVE_LEVEL, __builtin_return_address(0), SystemRoutineName,
                       "MmGetSystemRoutineAddress");
  if (SystemRoutineName == nullptr || SystemRoutineName->Buffer == nullptr) {
    return nullptr;
  }
  char name[256];
  const size_t chars = SystemRoutineName->Length / sizeof(WCHAR);
  if (chars >= sizeof name) {
    return nullptr;
  }
  for (size_t i = 0; i < chars; ++i) {
    const WCHAR c = SystemRoutineName->Buffer[i];
    if (c >= 0x80 || c == 0) {
      return nullptr;
    }
    name[i] = static_cast<char>(c);
  }
  name[chars] = 0;
  // Only this library's exports count as "system routines".
  Dl_info self;
  if (dladdr(reinterpret_cast<void*>(&MmGetSystemRoutineAddress), &self) == 0 ||
      self.dli_fname == nullptr) {
    return nullptr;
  }
  void* lib = dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD);
  if (lib == nullptr) {
    return nullptr;
  }
  void* sym = dlsym(lib, name);
  dlclose(lib);
  return sym;
}
