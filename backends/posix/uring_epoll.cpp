// SPDX-License-Identifier: MIT
/// @file uring_epoll.cpp
/// @brief The epoll engine inside the io_uring library, as its run-time fallback: loop_epoll.cpp
/// compiled with its engine_* functions renamed epoll_engine_* (declared in uring.h).
/// loop_uring.cpp defines the engine_* contract and calls these when io_uring is unusable.
/// (The epoll engine's `struct Engine` is the only one defined in this library: the io_uring
/// engine keeps its own state type behind the same Client::engine pointer.)
#include "backend.h"
#include "uring.h"

#define engine_create epoll_engine_create
#define engine_destroy epoll_engine_destroy
#define engine_wake epoll_engine_wake
#define engine_add epoll_engine_add
#define engine_remove epoll_engine_remove
#define engine_update epoll_engine_update
#define engine_wait epoll_engine_wait
#define engine_level_triggered epoll_engine_level_triggered
#define engine_name epoll_engine_name
#define engine_streams epoll_engine_streams

#include "loop_epoll.cpp"
