/* SPDX-License-Identifier: MIT */
/* ntddk.h (umwsk): the WDK's ntddk.h for a driver built on Linux over the umwsk runtime. Everything
 * a non-PnP driver uses is in wdm.h here; this header includes it so that sources written for
 * either header build unchanged. */
#ifndef _NTDDK_
#define _NTDDK_
#pragma GCC system_header

#include "wdm.h"

#endif /* _NTDDK_ */
