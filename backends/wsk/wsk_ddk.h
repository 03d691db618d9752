// SPDX-License-Identifier: MIT
// wsk_ddk.h: the ONE header in xwsk that includes the Windows DDK and WSK.
//
// Backend-private: only backends/wsk/*.cpp and tests/kernel/* (kernel side)
// include it. Public headers (sdk/include/xwsk) must never include it.
//
// Three builds are supported, from one source:
//  - Real WDK (MSVC / clang-cl): <ntddk.h> + <wsk.h>, already C++-safe.
//  - Linux user space over umwsk (umwsk/include: WDK-compatible headers written in this
//    project, a kernel runtime and a WSK provider; see docs/wsk-on-linux.md). Selected by
//    XWSK_UMWSK, which the umwsk headers' CMake target defines. Like the WDK's, these headers
//    are C++-safe; nothing here works around them.
//  - mingw-w64 + Wine 8's DDK headers (the tested build here, see
//    cmake/mingw-w64-wine-driver.cmake and backends/wsk/NOTES.md).
//    Two quirks of Wine's headers are handled here and nowhere else:
//      1. They are not wrapped in extern "C" for C++: ntoskrnl functions
//         would get C++-mangled names and fail to link. We wrap them.
//      2. ddk/wdm.h contains an implicit ULONG -> enum conversion that is an
//         error in C++. The toolchain passes -fpermissive (and includes the
//         Wine headers with -isystem, which also silences the warning).
//      3. In C++11 and later Wine makes WCHAR char16_t unless
//         WINE_UNICODE_NATIVE is defined, so L"..." literals (wchar_t, 16-bit
//         on mingw) would not convert to PCWSTR. We define WINE_UNICODE_NATIVE
//         so WCHAR is wchar_t, as in the real WDK.
//
// After the DDK, wsk_missing.h adds the WSK declarations Wine's ddk/wsk.h
// lacks (guarded, so it is a no-op against the real WDK's wsk.h).
#ifndef XWSK_BACKENDS_WSK_WSK_DDK_H_
#define XWSK_BACKENDS_WSK_WSK_DDK_H_

#if defined(_MSC_VER) && !defined(__MINGW32__)
// Real WDK.
#include <ntddk.h>
#include <ws2ipdef.h>
#include <wsk.h>
#define XWSK_DDK_IS_WINE 0
#elif defined(XWSK_UMWSK)
// umwsk on Linux: the same include set as the WDK.
#include <ntddk.h>
#include <ws2ipdef.h>
#include <wsk.h>
#define XWSK_DDK_IS_WINE 0
#else
// mingw-w64 + Wine DDK headers (same include sequence as Wine's own
// dlls/ntoskrnl.exe/tests/driver.c).
#ifndef WINE_UNICODE_NATIVE
#define WINE_UNICODE_NATIVE 1
#endif
// The order of these includes matters: keep clang-format from sorting them.
// clang-format off
#include <stdarg.h>
extern "C" {
#include <ntstatus.h>
#define WIN32_NO_STATUS
#include <windef.h>
#include <winbase.h>
#include <winternl.h>
#include <winioctl.h>
#include <ddk/ntddk.h>
#include <ddk/wdm.h>
#include <ddk/wsk.h>
#include <ws2ipdef.h>
}
// clang-format on
#define XWSK_DDK_IS_WINE 1
// Wine's windef.h/winsock headers define these as macros; they collide with
// ordinary C++ identifiers (std::min, member functions named interface...).
#undef min
#undef max
#undef interface
#endif

#include "wsk_missing.h"

namespace xwsk::kernel {

// Pool type for every allocation: non-executable non-paged pool where the
// DDK knows it (Windows 8+), plain non-paged pool on Wine's DDK.
#if XWSK_DDK_IS_WINE
inline constexpr POOL_TYPE kNonPagedPool = NonPagedPool;
#else
inline constexpr POOL_TYPE kNonPagedPool = NonPagedPoolNx;
#endif

}  // namespace xwsk::kernel

#endif  // XWSK_BACKENDS_WSK_WSK_DDK_H_
