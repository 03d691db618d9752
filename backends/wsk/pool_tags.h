// SPDX-License-Identifier: MIT
// xwsk kernel pool tags: the one table of every tag the WSK backend and the
// kernel test driver allocate with. Add new tags here, never inline.
//
// A tag is four ASCII characters. xwsk_pool_tag("Xwk0") stores them so that
// pool-inspection tools (!poolused, poolmon) display "Xwk0" as written.
#ifndef XWSK_BACKENDS_WSK_POOL_TAGS_H_
#define XWSK_BACKENDS_WSK_POOL_TAGS_H_

#include "wsk_ddk.h"

namespace xwsk::kernel {

constexpr ULONG xwsk_pool_tag(const char (&tag)[5]) {
  return static_cast<ULONG>(static_cast<unsigned char>(tag[0])) |
         static_cast<ULONG>(static_cast<unsigned char>(tag[1])) << 8 |
         static_cast<ULONG>(static_cast<unsigned char>(tag[2])) << 16 |
         static_cast<ULONG>(static_cast<unsigned char>(tag[3])) << 24;
}

// Global operator new/delete (kernel_rt.cpp).
inline constexpr ULONG kPoolTagNew = xwsk_pool_tag("XwkN");
// Over-aligned operator new (alignment > 16).
inline constexpr ULONG kPoolTagNewAligned = xwsk_pool_tag("XwkA");
// Kernel test driver (tests/kernel): IRP contexts, buffers, messages.
inline constexpr ULONG kPoolTagKtest = xwsk_pool_tag("XwkT");

}  // namespace xwsk::kernel

#endif  // XWSK_BACKENDS_WSK_POOL_TAGS_H_
