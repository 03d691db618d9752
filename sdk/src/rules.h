// SPDX-License-Identifier: MIT
// Internal: the rules the core applies before a backend sees a request, so that every backend
// gives the same status (docs/wsk-mapping.md, "Option rules"). Kernel-capable.
#ifndef XWSK_SDK_SRC_RULES_H_
#define XWSK_SDK_SRC_RULES_H_

#include <stddef.h>
#include <stdint.h>

#include "core.h"

namespace xwsk {
namespace detail {

/// The status control_socket() completes with before the backend sees the call, or Success
/// when the backend handles it: an option the socket's type, category or family cannot have
/// (NotSupported), an option that must be set before bind on a bound socket
/// (InvalidDeviceState). Unknown options and ioctls are left to the backend.
Status option_rule(const SocketBase* b, ControlType type, uint32_t level, uint32_t code);

}  // namespace detail
}  // namespace xwsk

#endif  // XWSK_SDK_SRC_RULES_H_
