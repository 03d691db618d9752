// SPDX-License-Identifier: MIT
/// @file loop_poll.cpp
/// @brief The poll engine (portable fallback): one poll() over a pollfd array that is rebuilt
/// only when the socket set or a socket's interest changes. Level-triggered, so a socket asks
/// only for what it is waiting on (socket_interest) and sockets with no interest are left out.
/// An eventfd (a pipe where the host has none) wakes the loop for cross-thread submissions.
/// Without POLLRDHUP (not Linux) a socket that only waits for the peer's FIN asks for POLLIN and
/// peeks one byte: 0 means FIN; data still unread means the FIN, if any, is behind it, so the
/// socket stops asking until it is processed for another reason (a read may take the data).
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <new>

#include "backend.h"

namespace xwsk::posix {

#if XWSK_HAVE_POLLRDHUP
constexpr short kPollRdHup = POLLRDHUP;
#else
constexpr short kPollRdHup = 0;
#endif

namespace {

struct PollEngine {
  WakeFd wake;
  // The live socket set (engine_index is the position in it).
  Socket** sockets;
  size_t count;
  size_t capacity;
  // The snapshot poll() runs on: slot 0 is the wake fd, slot i + 1 is snap[i].
  pollfd* pfds;
  Socket** snap;
  size_t snap_count;
  size_t snap_capacity;
  bool dirty;
};

PollEngine* state(const Client* c) {
  return static_cast<PollEngine*>(c->engine);
}

bool grow(void** array, size_t* capacity, size_t need, size_t elem) {
  if (need <= *capacity) return true;
  size_t cap = *capacity == 0 ? 16 : *capacity;
  while (cap < need)
    cap *= 2;
  void* mem = detail::alloc(cap * elem, detail::kTagMisc);
  if (mem == nullptr) return false;
  if (*array != nullptr) {
    memcpy(mem, *array, *capacity * elem);
    detail::release(*array, detail::kTagMisc);
  }
  *array = mem;
  *capacity = cap;
  return true;
}

/// Rebuilds the pollfd snapshot from the live set.
bool rebuild(PollEngine* e) {
  size_t need = e->count + 1;
  size_t pcap = e->snap_capacity;
  if (need > pcap) {
    void* p = e->pfds;
    size_t c1 = pcap;
    if (!grow(&p, &c1, need, sizeof(pollfd))) return false;
    void* q = e->snap;
    size_t c2 = pcap;
    if (!grow(&q, &c2, need, sizeof(Socket*))) {
      // keep the bigger pollfd array; capacity stays the old one for both
      e->pfds = static_cast<pollfd*>(p);
      return false;
    }
    e->pfds = static_cast<pollfd*>(p);
    e->snap = static_cast<Socket**>(q);
    e->snap_capacity = c1 < c2 ? c1 : c2;
  }
  e->pfds[0] = pollfd{e->wake.read_fd, POLLIN, 0};
  size_t n = 1;
  for (size_t i = 0; i < e->count; ++i) {
    Socket* s = e->sockets[i];
    uint32_t want = s->interest;
    if (want == 0) continue;
    short ev = 0;
    if ((want & kReadyRead) != 0) ev |= POLLIN | kPollRdHup;
    if ((want & kReadyWrite) != 0) ev |= POLLOUT;
    if ((want & kReadyRdHup) != 0) {
      ev |= kPollRdHup != 0 ? kPollRdHup : (s->rdhup_quiet ? 0 : POLLIN);
    }
    e->pfds[n] = pollfd{s->fd, ev, 0};
    e->snap[n - 1] = s;
    ++n;
  }
  e->snap_count = n - 1;
  e->dirty = false;
  return true;
}

Status create_engine(Client* c) {
  void* mem = detail::alloc(sizeof(PollEngine), detail::kTagMisc);
  if (mem == nullptr) return Status::InsufficientResources;
  memset(mem, 0, sizeof(PollEngine));
  PollEngine* e = new (mem) PollEngine;
  if (!wake_open(&e->wake)) {
    Status st = status_from_errno(errno);
    detail::release(e, detail::kTagMisc);
    return st;
  }
  e->dirty = true;
  c->engine = e;
  return Status::Success;
}

void destroy_engine(Client* c) {
  PollEngine* e = state(c);
  if (e == nullptr) return;
  wake_close(&e->wake);
  if (e->sockets != nullptr) detail::release(e->sockets, detail::kTagMisc);
  if (e->pfds != nullptr) detail::release(e->pfds, detail::kTagMisc);
  if (e->snap != nullptr) detail::release(e->snap, detail::kTagMisc);
  detail::release(e, detail::kTagMisc);
  c->engine = nullptr;
}

void wake_loop(Client* c) {
  wake_signal(&state(c)->wake);
}

Status add_socket(Client* c, Socket* s) {
  PollEngine* e = state(c);
  void* arr = e->sockets;
  if (!grow(&arr, &e->capacity, e->count + 1, sizeof(Socket*))) {
    return Status::InsufficientResources;
  }
  e->sockets = static_cast<Socket**>(arr);
  s->engine_index = static_cast<int>(e->count);
  e->sockets[e->count++] = s;
  s->interest = socket_interest(s);
  e->dirty = true;
  return Status::Success;
}

void remove_socket(Client* c, Socket* s) {
  PollEngine* e = state(c);
  if (s->engine_index < 0) return;
  size_t i = static_cast<size_t>(s->engine_index);
  Socket* last = e->sockets[--e->count];
  e->sockets[i] = last;
  last->engine_index = static_cast<int>(i);
  s->engine_index = -1;
  s->interest = 0;
  e->dirty = true;
}

void update_socket(Client* c, Socket* s) {
  uint32_t want = socket_interest(s);
  if (s->rdhup_quiet) {
    // The socket was processed (a read may have taken the data before the FIN): peek again.
    s->rdhup_quiet = false;
    state(c)->dirty = true;
  }
  if (want != s->interest) {
    s->interest = want;
    state(c)->dirty = true;
  }
}

void wait_events(Client* c, int timeout_ms) {
  PollEngine* e = state(c);
  if (e->dirty && !rebuild(e)) {
    // Out of memory for the snapshot: poll the wake fd only, retry on the next turn.
    pollfd wake{e->wake.read_fd, POLLIN, 0};
    poll(&wake, 1, timeout_ms >= 0 && timeout_ms < 10 ? timeout_ms : 10);
    return;
  }
  int n = poll(e->pfds, static_cast<nfds_t>(e->snap_count + 1), timeout_ms);
  if (n <= 0) return;
  if ((e->pfds[0].revents & POLLIN) != 0) {
    wake_drain(&e->wake);
    --n;
  }
  size_t count = e->snap_count;  // sockets added while dispatching are not in this snapshot
  for (size_t i = 0; i < count && n > 0; ++i) {
    short rev = e->pfds[i + 1].revents;
    if (rev == 0) continue;
    --n;
    Socket* s = e->snap[i];
    uint32_t flags = 0;
    if ((rev & POLLIN) != 0) flags |= kReadyRead;
    if ((rev & POLLOUT) != 0) flags |= kReadyWrite;
    if (kPollRdHup != 0 && (rev & kPollRdHup) != 0) flags |= kReadyRdHup;
    if (kPollRdHup == 0 && (rev & POLLIN) != 0 && (s->interest & kReadyRead) == 0 &&
        (s->interest & kReadyRdHup) != 0) {
      // Waiting for the FIN only (no POLLRDHUP): peek whether it is next in the stream.
      char c1;
      ssize_t r = recv(s->fd, &c1, 1, MSG_PEEK | MSG_DONTWAIT);
      if (r == 0) {
        flags = (flags & ~kReadyRead) | kReadyRdHup;
      } else if (r > 0) {
        flags &= ~kReadyRead;
        s->rdhup_quiet = true;  // data first: stop asking until the socket is processed
        e->dirty = true;
        if (flags == 0) continue;  // nothing for the socket: processing it would re-arm this
      }
    }
    if ((rev & (POLLERR | POLLHUP | POLLNVAL)) != 0) flags |= kReadyError;
    socket_ready(s, flags);
  }
}

}  // namespace

/// Level-triggered; a readiness engine (no stream functions: tcp.cpp makes the system calls).
const EngineOps kPollEngine = {"posix-poll", true,       create_engine, destroy_engine,
                               wake_loop,    add_socket, remove_socket, update_socket,
                               wait_events,  nullptr,    nullptr};

}  // namespace xwsk::posix
