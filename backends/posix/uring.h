// SPDX-License-Identifier: MIT
/// @file uring.h
/// @brief The io_uring library's second engine: loop_epoll.cpp compiled under the names below
/// (uring_epoll.cpp), which loop_uring.cpp runs when io_uring cannot be used (see there).
#ifndef XWSK_BACKENDS_POSIX_URING_H_
#define XWSK_BACKENDS_POSIX_URING_H_

#include "backend.h"

namespace xwsk::posix {

Status epoll_engine_create(Client* c);
void epoll_engine_destroy(Client* c);
void epoll_engine_wake(Client* c);
Status epoll_engine_add(Client* c, Socket* s);
void epoll_engine_remove(Client* c, Socket* s);
void epoll_engine_update(Client* c, Socket* s);
void epoll_engine_wait(Client* c, int timeout_ms);
bool epoll_engine_level_triggered();
const char* epoll_engine_name();
const StreamEngine* epoll_engine_streams(const Socket* s);

}  // namespace xwsk::posix

#endif  // XWSK_BACKENDS_POSIX_URING_H_
