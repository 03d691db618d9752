// SPDX-License-Identifier: MIT
/// @file loop_epoll.cpp
/// @brief The epoll engine: every fd is registered once, edge-triggered, for
/// EPOLLIN | EPOLLOUT | EPOLLRDHUP (datagram sockets add EPOLLOUT only while a send waits);
/// sockets keep readiness flags, so no epoll_ctl is made per operation. An eventfd wakes the
/// loop for cross-thread submissions (a pipe where the host has no eventfd: compat.h).
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <new>

#include "backend.h"

namespace xwsk::posix {
namespace {

struct EpollEngine {
  int epfd;
  WakeFd wake;
};

constexpr int kMaxEvents = 256;

EpollEngine* state(const Client* c) {
  return static_cast<EpollEngine*>(c->engine);
}

Status create_engine(Client* c) {
  void* mem = detail::alloc(sizeof(EpollEngine), detail::kTagMisc);
  if (mem == nullptr) return Status::InsufficientResources;
  EpollEngine* e = new (mem) EpollEngine{-1, WakeFd{}};
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  bool woke = wake_open(&e->wake);
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: drained in engine_wait
  ev.data.ptr = nullptr;
  if (e->epfd < 0 || !woke || epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wake.read_fd, &ev) != 0) {
    Status st = status_from_errno(errno);
    if (e->epfd >= 0) close(e->epfd);
    wake_close(&e->wake);
    detail::release(e, detail::kTagMisc);
    return st == Status::Success ? Status::InsufficientResources : st;
  }
  c->engine = e;
  return Status::Success;
}

void destroy_engine(Client* c) {
  EpollEngine* e = state(c);
  if (e == nullptr) return;
  close(e->epfd);
  wake_close(&e->wake);
  detail::release(e, detail::kTagMisc);
  c->engine = nullptr;
}

void wake_loop(Client* c) {
  wake_signal(&state(c)->wake);
}

/// Stream sockets are registered for writability for good: TCP raises EPOLLOUT only after a
/// write found the send buffer full. Datagram sockets raise it every time a sent datagram's
/// memory is released, so they ask for it only while a send waits (see engine_update).
bool lazy_write(const Socket* s) {
  return s->base.type != SocketType::Stream;
}

int control(Client* c, Socket* s, int op, bool want_write) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (want_write ? EPOLLOUT : 0u);
  ev.data.ptr = s;
  s->interest = want_write ? kReadyWrite : 0;  // what is registered, for engine_update
  return epoll_ctl(state(c)->epfd, op, s->fd, &ev);
}

Status add_socket(Client* c, Socket* s) {
  if (control(c, s, EPOLL_CTL_ADD, !lazy_write(s)) != 0) return status_from_errno(errno);
  return Status::Success;
}

void remove_socket(Client* c, Socket* s) {
  // Closing the fd removes it from the epoll set (one system call saved per close). The
  // descriptor-reuse path (abortive disconnect fallback) replaces the file with dup3, which
  // drops the old registration the same way before engine_add registers the new file.
  (void)c;
  (void)s;
}

void update_socket(Client* c, Socket* s) {
  // Edge-triggered: stream sockets never change their registration.
  if (!lazy_write(s)) return;
  bool want = !s->send_q.empty() && !s->writable;
  bool registered = (s->interest & kReadyWrite) != 0;
  // Registered once a send waits; kept until the queue drains (MOD re-arms the edge, so no
  // writability is missed).
  if (want && !registered) {
    control(c, s, EPOLL_CTL_MOD, true);
  } else if (!registered || !s->send_q.empty()) {
    return;
  } else {
    control(c, s, EPOLL_CTL_MOD, false);
  }
}

void wait_events(Client* c, int timeout_ms) {
  EpollEngine* e = state(c);
  epoll_event events[kMaxEvents];
  int n = epoll_wait(e->epfd, events, kMaxEvents, timeout_ms);
  for (int i = 0; i < n; ++i) {
    Socket* s = static_cast<Socket*>(events[i].data.ptr);
    if (s == nullptr) {
      wake_drain(&e->wake);
      continue;
    }
    uint32_t ev = events[i].events;
    uint32_t flags = 0;
    if ((ev & EPOLLIN) != 0) flags |= kReadyRead;
    if ((ev & EPOLLOUT) != 0) flags |= kReadyWrite;
    if ((ev & EPOLLRDHUP) != 0) flags |= kReadyRdHup;
    if ((ev & (EPOLLERR | EPOLLHUP)) != 0) flags |= kReadyError;
    socket_ready(s, flags);
  }
}

}  // namespace

/// Edge-triggered; a readiness engine (no stream functions: tcp.cpp makes the system calls).
const EngineOps kEpollEngine = {"posix-epoll", false,      create_engine, destroy_engine,
                                wake_loop,     add_socket, remove_socket, update_socket,
                                wait_events,   nullptr,    nullptr};

}  // namespace xwsk::posix
