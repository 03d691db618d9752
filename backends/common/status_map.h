// SPDX-License-Identifier: MIT
/// @file status_map.h
/// @brief User-space backends: the one table from host errors (errno, EAI_*) to xwsk::Status.
///
/// posix calls it with errno / getaddrinfo codes; uv with libuv codes, which are the negated
/// errno values on POSIX hosts (UV_EAI_* are libuv's own and are translated to EAI_* first,
/// backends/uv/status.cpp). So one host error means one status on both backends. The rows
/// where the WSK reference speaks are decided by it; the others by the nearest WSK meaning
/// (docs/wsk-mapping.md, "Host errors").
#ifndef XWSK_BACKENDS_COMMON_STATUS_MAP_H_
#define XWSK_BACKENDS_COMMON_STATUS_MAP_H_

#include <stddef.h>

#include "xwsk/status.h"

namespace xwsk::hostnet {

/// One row of a table: a host code and its status.
struct StatusRow {
  int code;
  Status status;
};

/// errno -> Status. 0 is Success; a code not in the table is Unsuccessful.
Status status_from_errno(int err);

/// getaddrinfo / getnameinfo result -> Status. EAI_SYSTEM goes through status_from_errno with
/// @p saved_errno; a code not in the table is Unsuccessful.
Status status_from_eai(int eai, int saved_errno);

/// The tables themselves (for the unit test that checks every row).
const StatusRow* errno_rows(size_t* count);
const StatusRow* eai_rows(size_t* count);

}  // namespace xwsk::hostnet

#endif  // XWSK_BACKENDS_COMMON_STATUS_MAP_H_
