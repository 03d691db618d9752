// SPDX-License-Identifier: MIT
// xwsk kernel pool tags. There is ONE table of tags: sdk/src/core.h (detail::kTag*), used by
// detail::alloc for everything xwsk allocates (clients, sockets, address lists...). This header
// only gives the kernel-only entries of that table the names the kernel runtime and the test
// driver use. Add new tags to core.h, never inline.
//
// A tag is four ASCII characters stored so that pool-inspection tools (!poolused, poolmon)
// display them as written ("xwSk").
#ifndef XWSK_BACKENDS_WSK_POOL_TAGS_H_
#define XWSK_BACKENDS_WSK_POOL_TAGS_H_

#include "core.h"
#include "wsk_ddk.h"

namespace xwsk::kernel {

// Global operator new/delete (kernel_rt.cpp).
inline constexpr ULONG kPoolTagNew = detail::kTagNew;
// Over-aligned operator new (alignment > 16).
inline constexpr ULONG kPoolTagNewAligned = detail::kTagNewAligned;
// Kernel test driver (tests/kernel): IRP contexts, buffers, messages.
inline constexpr ULONG kPoolTagKtest = detail::kTagTest;

}  // namespace xwsk::kernel

#endif  // XWSK_BACKENDS_WSK_POOL_TAGS_H_
