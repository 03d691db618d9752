// SPDX-License-Identifier: MIT
/// @file engine.cpp
/// @brief The POSIX backend's one selection point: the engine its clients run. Each library
/// is built with the engines it links (XWSK_POSIX_ENGINE: 1 epoll, 2 poll, 3 io_uring, which
/// also links the epoll engine as its run-time fallback); nothing else in the backend knows
/// which engine runs.
#include "backend.h"

#ifndef XWSK_POSIX_ENGINE
#error "XWSK_POSIX_ENGINE must be set by the build (backends/posix/CMakeLists.txt)"
#endif

namespace xwsk::posix {

const EngineOps* engine_select() {
#if XWSK_POSIX_ENGINE == 3
  // Probed once per process; when io_uring cannot be used the library says why on stderr.
  return uring_usable() ? &kUringEngine : &kEpollEngine;
#elif XWSK_POSIX_ENGINE == 2
  return &kPollEngine;
#else
  return &kEpollEngine;
#endif
}

}  // namespace xwsk::posix
