// SPDX-License-Identifier: MIT
/// @file loop_uring.cpp
/// @brief The io_uring engine (liburing): one ring per client loop.
///
/// - Readiness comes from one multishot poll per socket (IORING_POLL_ADD_MULTI) for
///   POLLIN | POLLOUT | POLLRDHUP (datagram sockets leave POLLOUT out and arm a one-shot POLLOUT
///   poll only while a send waits, as the epoll engine does): every wake-up of the socket posts a
///   completion with the socket's current mask, which is what the rest of the backend expects of
///   an edge-triggered engine (engine_level_triggered() is false, as for epoll).
/// - Submissions are batched per loop turn: engine_add / engine_update only fill submission
///   entries; engine_wait submits them and waits in one io_uring_enter
///   (io_uring_submit_and_wait). The one exception is engine_remove: the poll holds a reference
///   to the socket's file, so its removal is submitted at once, before the descriptor is
///   closed (a closed listener must free its port, a reset must go out at close).
/// - Other threads wake the loop through an eventfd the ring reads (one read in flight), so the
///   loop thread makes no read system call for it.
/// - Completions name their socket through a slot table with a generation per slot: a
///   completion that arrives after its socket was removed (the final completion of a cancelled
///   poll) finds another generation and is dropped; socket memory is never referenced by it.
/// - The ring is created by engine_create on the registering thread, disabled
///   (IORING_SETUP_R_DISABLED), and enabled by the loop thread on its first turn, so it can be
///   IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN (completion work runs only when the
///   loop enters the kernel) where the kernel has them.
///
/// ## Fallback
/// Whether io_uring is usable is probed once per process (the first client or the first
/// backend_name()): a small ring is created and a multishot poll is armed and completed on an
/// eventfd. If that fails (io_uring_disabled sysctl, a seccomp filter, an old kernel, no
/// memory), or XWSK_URING=0 is set in the environment, one line on stderr says so and why, and
/// every client of the process runs on the epoll engine (uring_epoll.cpp); backend_name() then
/// reports "posix-epoll". Once io_uring was found usable, a client whose ring cannot be created
/// fails its registration with the mapped status instead (backend_name() stays true).
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <new>

#include "backend.h"
#include "uring.h"

namespace xwsk::posix {
namespace {

// ---- process-wide mode ------------------------------------------------------------------------

enum Mode : int { kModeUnknown = 0, kModeUring = 1, kModeEpoll = 2 };

std::atomic<int> g_mode{kModeUnknown};
pthread_once_t g_probe_once = PTHREAD_ONCE_INIT;
/// The setup flags the probe found the kernel accepts (SINGLE_ISSUER / DEFER_TASKRUN when it has
/// them), always with R_DISABLED (the loop thread enables the ring).
unsigned g_setup_flags = 0;
/// IOSQE_CQE_SKIP_SUCCESS is known (5.17): poll removals post no completion when they succeed.
bool g_cqe_skip = false;

constexpr unsigned kSqEntries = 256;
constexpr unsigned kCqEntries = 4096;

/// user_data: bits 0-7 the kind, 8-31 the slot's generation, 32-63 the slot index.
enum Kind : uint64_t {
  kKindIgnore = 0,  ///< poll removals: their own completion carries nothing
  kKindWake = 1,    ///< the eventfd read
  kKindPoll = 2,    ///< a socket's multishot poll
  kKindPollOut = 3  ///< a datagram socket's one-shot POLLOUT poll
};

constexpr uint64_t tag(uint32_t index, uint32_t gen, Kind kind) {
  return (static_cast<uint64_t>(index) << 32) | (static_cast<uint64_t>(gen & 0xffffffu) << 8) |
         static_cast<uint64_t>(kind);
}

struct Slot {
  Socket* socket;  ///< null when free
  uint32_t gen;
  int32_t next_free;
  bool poll_armed;  ///< the multishot poll is in the kernel
  bool out_armed;   ///< the one-shot POLLOUT poll is in the kernel
  bool arm_later;   ///< no submission entry was free: engine_wait arms the poll(s)
};

/// IORING_REGISTER_ENABLE_RINGS. liburing 2.3 declares io_uring_enable_rings() but Debian's
/// build does not export it, so the register call is made directly.
int enable_rings(io_uring* ring) {
  long r = syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  return r < 0 ? -errno : 0;
}

int env_disabled() {
  const char* v = getenv("XWSK_URING");
  return v != nullptr && strcmp(v, "0") == 0;
}

/// A functional probe: creates a ring with the setup flags this engine wants (dropping those the
/// kernel refuses), then arms a multishot poll on a signalled eventfd and checks that it
/// completes and stays armed. Fills @p why on failure.
bool probe_ring(char* why, size_t why_size) {
  const unsigned wanted[] = {
      IORING_SETUP_R_DISABLED | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_R_DISABLED | IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_R_DISABLED};
  io_uring ring;
  int ret = -EINVAL;
  unsigned flags = 0;
  for (unsigned f : wanted) {
    io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = f | IORING_SETUP_CQSIZE;
    p.cq_entries = 8;
    ret = io_uring_queue_init_params(4, &ring, &p);
    if (ret == 0) {
      flags = f;
      g_cqe_skip = (p.features & IORING_FEAT_CQE_SKIP) != 0;
      if ((p.features & IORING_FEAT_EXT_ARG) == 0 || (p.features & IORING_FEAT_NODROP) == 0) {
        io_uring_queue_exit(&ring);
        snprintf(why, why_size, "the kernel's io_uring lacks IORING_FEAT_EXT_ARG/NODROP (< 5.11)");
        return false;
      }
      break;
    }
    if (ret != -EINVAL) break;  // EINVAL: a flag this kernel does not know; try fewer
  }
  if (ret != 0) {
    const char* hint = "";
    if (ret == -EPERM || ret == -EACCES) {
      hint = " (kernel.io_uring_disabled, or a seccomp filter)";
    } else if (ret == -ENOSYS) {
      hint = " (no io_uring in this kernel, or a seccomp filter)";
    }
    snprintf(why, why_size, "io_uring_queue_init: %s%s", strerror(-ret), hint);
    return false;
  }
  bool ok = false;
  int efd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    snprintf(why, why_size, "eventfd: %s", strerror(errno));
  } else if ((ret = enable_rings(&ring)) != 0) {
    snprintf(why, why_size, "IORING_REGISTER_ENABLE_RINGS: %s", strerror(-ret));
  } else {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_poll_multishot(sqe, efd, POLLIN);
    sqe->user_data = 1;
    io_uring_cqe* cqe = nullptr;
    ret = io_uring_submit_and_wait(&ring, 1);
    if (ret >= 0) ret = io_uring_peek_cqe(&ring, &cqe);
    if (ret < 0 || cqe == nullptr) {
      snprintf(why, why_size, "a poll on the ring did not complete: %s", strerror(-ret));
    } else if (cqe->res < 0) {
      snprintf(why, why_size, "poll: %s", strerror(-cqe->res));
    } else if ((cqe->flags & IORING_CQE_F_MORE) == 0) {
      snprintf(why, why_size, "the kernel has no multishot poll (< 5.13)");
    } else {
      ok = true;
    }
  }
  io_uring_queue_exit(&ring);
  if (efd >= 0) close(efd);
  if (ok) g_setup_flags = flags;
  return ok;
}

void probe() {
  char why[200];
  int mode = kModeUring;
  if (env_disabled()) {
    snprintf(why, sizeof(why), "XWSK_URING=0 in the environment");
    mode = kModeEpoll;
  } else if (!probe_ring(why, sizeof(why))) {
    mode = kModeEpoll;
  }
  if (mode == kModeEpoll) {
    fprintf(stderr, "xwsk: io_uring not used (%s): running on the epoll engine (posix-epoll)\n",
            why);
    fflush(stderr);
  }
  g_mode.store(mode, std::memory_order_release);
}

bool uring_mode() {
  int m = g_mode.load(std::memory_order_acquire);
  if (m == kModeUnknown) {
    pthread_once(&g_probe_once, probe);
    m = g_mode.load(std::memory_order_acquire);
  }
  return m == kModeUring;
}

}  // namespace

// ---- the engine ---------------------------------------------------------------------------------

namespace {

struct UringEngine {
  io_uring ring;
  int wake_fd;          ///< eventfd other threads write to
  uint64_t wake_value;  ///< the ring reads the eventfd's counter into it
  bool wake_armed;      ///< the read is in the kernel
  bool enabled;         ///< the loop thread enabled the ring (first turn)
  Slot* slots;
  uint32_t slot_capacity;
  int32_t free_head;
  bool arm_later;  ///< some slot has arm_later set
};

UringEngine* engine_of(Client* c) {
  return reinterpret_cast<UringEngine*>(c->engine);
}

/// Enables the ring on the loop thread (its submitter task, for SINGLE_ISSUER).
void ensure_enabled(UringEngine* e) {
  if (e->enabled) return;
  e->enabled = true;
  enable_rings(&e->ring);
}

/// A submission entry; when the queue is full, what is queued is submitted first. Null only
/// when the kernel keeps refusing submissions (an old kernel's -EBUSY while its completion queue
/// overflows): the caller then retries from engine_wait, after completions were reaped.
io_uring_sqe* get_sqe(UringEngine* e) {
  ensure_enabled(e);
  io_uring_sqe* sqe = io_uring_get_sqe(&e->ring);
  for (int tries = 0; sqe == nullptr && tries < 8; ++tries) {
    io_uring_submit(&e->ring);
    sqe = io_uring_get_sqe(&e->ring);
  }
  return sqe;
}

bool grow_slots(UringEngine* e) {
  uint32_t cap = e->slot_capacity == 0 ? 64 : e->slot_capacity * 2;
  void* mem = detail::alloc(cap * sizeof(Slot), detail::kTagMisc);
  if (mem == nullptr) return false;
  Slot* slots = static_cast<Slot*>(mem);
  if (e->slots != nullptr) {
    memcpy(slots, e->slots, e->slot_capacity * sizeof(Slot));
    detail::release(e->slots, detail::kTagMisc);
  }
  for (uint32_t i = e->slot_capacity; i < cap; ++i) {
    slots[i] = Slot{nullptr, 0,     i + 1 < cap ? static_cast<int32_t>(i + 1) : e->free_head,
                    false,   false, false};
  }
  e->free_head = static_cast<int32_t>(e->slot_capacity);
  e->slots = slots;
  e->slot_capacity = cap;
  return true;
}

short poll_events(const Socket* s) {
  // Stream sockets watch writability for good (TCP raises it only after a write found the send
  // buffer full); datagram sockets raise it for every datagram sent, so they ask only while a
  // send waits (the one-shot POLLOUT poll, engine_update).
  short ev = POLLIN | POLLRDHUP;
  if (s->base.type == SocketType::Stream) ev |= POLLOUT;
  return ev;
}

void arm_poll(UringEngine* e, uint32_t index) {
  Slot& sl = e->slots[index];
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) {
    sl.arm_later = e->arm_later = true;
    return;
  }
  io_uring_prep_poll_multishot(sqe, sl.socket->fd, static_cast<unsigned>(poll_events(sl.socket)));
  io_uring_sqe_set_data64(sqe, tag(index, sl.gen, kKindPoll));
  sl.poll_armed = true;
}

void arm_poll_out(UringEngine* e, uint32_t index) {
  Slot& sl = e->slots[index];
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) {
    sl.arm_later = e->arm_later = true;
    return;
  }
  io_uring_prep_poll_add(sqe, sl.socket->fd, POLLOUT);
  io_uring_sqe_set_data64(sqe, tag(index, sl.gen, kKindPollOut));
  sl.out_armed = true;
}

/// Cancels a poll. IORING_OP_ASYNC_CANCEL, not POLL_REMOVE: a poll whose completion work is
/// pending (armed in this batch and already ready, say) cannot be removed (-EALREADY) and would
/// live on, holding the file; a cancellation marks it, and its pending work ends it.
void remove_poll(UringEngine* e, uint64_t user_data) {
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) return;  // the kernel refuses submissions: the ring's exit cancels it
  io_uring_prep_cancel64(sqe, user_data, 0);
  io_uring_sqe_set_data64(sqe, tag(0, 0, kKindIgnore));
  if (g_cqe_skip) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void arm_wake(UringEngine* e) {
  if (e->wake_armed) return;
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) return;  // tried again next turn (a wake-up may wait for it)
  io_uring_prep_read(sqe, e->wake_fd, &e->wake_value, sizeof(e->wake_value), 0);
  io_uring_sqe_set_data64(sqe, tag(0, 0, kKindWake));
  e->wake_armed = true;
}

/// Arms the polls that found no free submission entry (see get_sqe).
void arm_deferred(UringEngine* e) {
  if (!e->arm_later) return;
  e->arm_later = false;
  for (uint32_t i = 0; i < e->slot_capacity; ++i) {
    Slot& sl = e->slots[i];
    if (!sl.arm_later || sl.socket == nullptr) continue;
    sl.arm_later = false;
    if (!sl.poll_armed) arm_poll(e, i);
    Socket* s = e->slots[i].socket;
    if (s->base.type != SocketType::Stream && !s->send_q.empty() && !e->slots[i].out_armed) {
      arm_poll_out(e, i);
    }
  }
}

uint32_t ready_flags(int mask) {
  uint32_t flags = 0;
  if ((mask & POLLIN) != 0) flags |= kReadyRead;
  if ((mask & POLLOUT) != 0) flags |= kReadyWrite;
  if ((mask & POLLRDHUP) != 0) flags |= kReadyRdHup;
  if ((mask & (POLLERR | POLLHUP)) != 0) flags |= kReadyError;
  return flags;
}

/// One completion: what it was for, and for whom (stale ones are dropped).
void dispatch(UringEngine* e, uint64_t data, int32_t res, uint32_t cflags) {
  Kind kind = static_cast<Kind>(data & 0xff);
  if (kind == kKindIgnore) return;
  if (kind == kKindWake) {
    e->wake_armed = false;  // re-armed before the next wait; the counter was read (reset)
    return;
  }
  uint32_t index = static_cast<uint32_t>(data >> 32);
  uint32_t gen = static_cast<uint32_t>((data >> 8) & 0xffffffu);
  if (index >= e->slot_capacity) return;
  Slot& sl = e->slots[index];
  if (sl.socket == nullptr || (sl.gen & 0xffffffu) != gen) return;  // removed since
  Socket* s = sl.socket;
  if (kind == kKindPollOut) {
    sl.out_armed = false;
    if (res > 0) socket_ready(s, ready_flags(res));
    return;
  }
  // kKindPoll. Without IORING_CQE_F_MORE the poll ended (a full completion queue, a
  // cancellation not ours): arm it again, so no wake-up is lost.
  bool ended = (cflags & IORING_CQE_F_MORE) == 0;
  if (ended) sl.poll_armed = false;
  if (res > 0) socket_ready(s, ready_flags(res));
  // The socket may have been removed by its own callbacks (engine_remove changed the slot: a
  // closed socket is never armed again), and the slot table may have grown (moved) meanwhile:
  // look the slot up again.
  const Slot& now = e->slots[index];
  if (ended && now.socket == s && (now.gen & 0xffffffu) == gen && !now.poll_armed) {
    arm_poll(e, index);
  }
}

}  // namespace

const char* engine_name() {
  return uring_mode() ? "posix-uring" : epoll_engine_name();
}

Status engine_create(Client* c) {
  if (!uring_mode()) return epoll_engine_create(c);
  void* mem = detail::alloc(sizeof(UringEngine), detail::kTagMisc);
  if (mem == nullptr) return Status::InsufficientResources;
  memset(mem, 0, sizeof(UringEngine));
  UringEngine* e = new (mem) UringEngine;
  e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  e->free_head = -1;
  if (e->wake_fd < 0) {
    Status st = status_from_errno(errno);
    detail::release(e, detail::kTagMisc);
    return st == Status::Success ? Status::InsufficientResources : st;
  }
  io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = g_setup_flags | IORING_SETUP_CQSIZE;
  p.cq_entries = kCqEntries;
  int ret = io_uring_queue_init_params(kSqEntries, &e->ring, &p);
  if (ret != 0) {
    close(e->wake_fd);
    detail::release(e, detail::kTagMisc);
    Status st = status_from_errno(-ret);
    return st == Status::Success ? Status::InsufficientResources : st;
  }
  c->engine = reinterpret_cast<Engine*>(e);
  return Status::Success;
}

void engine_destroy(Client* c) {
  if (c->engine == nullptr) return;
  if (!uring_mode()) {
    epoll_engine_destroy(c);
    return;
  }
  UringEngine* e = engine_of(c);
  io_uring_queue_exit(&e->ring);  // cancels what is left (the wake-up read)
  close(e->wake_fd);
  if (e->slots != nullptr) detail::release(e->slots, detail::kTagMisc);
  e->~UringEngine();
  detail::release(e, detail::kTagMisc);
  c->engine = nullptr;
}

void engine_wake(Client* c) {
  if (!uring_mode()) {
    epoll_engine_wake(c);
    return;
  }
  uint64_t one = 1;
  ssize_t n;
  do {
    n = write(engine_of(c)->wake_fd, &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  // EAGAIN: the counter is at its maximum, so a wake-up is pending anyway.
}

Status engine_add(Client* c, Socket* s) {
  if (!uring_mode()) return epoll_engine_add(c, s);
  UringEngine* e = engine_of(c);
  if (e->free_head < 0 && !grow_slots(e)) return Status::InsufficientResources;
  uint32_t index = static_cast<uint32_t>(e->free_head);
  Slot& sl = e->slots[index];
  e->free_head = sl.next_free;
  sl.socket = s;
  sl.next_free = -1;
  sl.poll_armed = false;
  sl.out_armed = false;
  sl.arm_later = false;
  s->engine_index = static_cast<int>(index);
  arm_poll(e, index);
  return Status::Success;
}

void engine_remove(Client* c, Socket* s) {
  if (!uring_mode()) {
    epoll_engine_remove(c, s);
    return;
  }
  UringEngine* e = engine_of(c);
  if (s->engine_index < 0) return;
  uint32_t index = static_cast<uint32_t>(s->engine_index);
  Slot& sl = e->slots[index];
  if (sl.poll_armed) remove_poll(e, tag(index, sl.gen, kKindPoll));
  if (sl.out_armed) remove_poll(e, tag(index, sl.gen, kKindPollOut));
  bool submit = sl.poll_armed || sl.out_armed;
  ++sl.gen;  // completions still in flight for this socket are stale from now on
  sl.socket = nullptr;
  sl.poll_armed = false;
  sl.out_armed = false;
  sl.arm_later = false;
  sl.next_free = e->free_head;
  e->free_head = static_cast<int32_t>(index);
  s->engine_index = -1;
  // The polls hold the file: drop them before the caller closes the descriptor (so a listener's
  // port is free and a linger reset goes out at close). get_events runs deferred task work.
  // A signal or a transient shortage is retried a few times; past that the cancellation stays
  // queued and goes with the next turn's submission (the file then lives until then).
  for (int tries = 0; submit && tries < 4; ++tries) {
    int ret = io_uring_submit_and_get_events(&e->ring);
    if (ret >= 0 || (ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)) break;
  }
}

void engine_update(Client* c, Socket* s) {
  if (!uring_mode()) {
    epoll_engine_update(c, s);
    return;
  }
  if (s->base.type == SocketType::Stream || s->engine_index < 0) return;
  UringEngine* e = engine_of(c);
  uint32_t index = static_cast<uint32_t>(s->engine_index);
  // A one-shot POLLOUT poll while a send waits; if the queue drained meanwhile, its completion
  // only marks the socket writable.
  if (!s->send_q.empty() && !s->writable && !e->slots[index].out_armed) arm_poll_out(e, index);
}

bool engine_level_triggered() {
  return false;  // multishot poll: one completion per wake-up, as epoll's edge-triggered mode
}

void engine_wait(Client* c, int timeout_ms) {
  if (!uring_mode()) {
    epoll_engine_wait(c, timeout_ms);
    return;
  }
  UringEngine* e = engine_of(c);
  ensure_enabled(e);
  arm_deferred(e);
  arm_wake(e);
  if (timeout_ms == 0) {
    io_uring_submit_and_get_events(&e->ring);
  } else if (timeout_ms < 0) {
    io_uring_submit_and_wait(&e->ring, 1);
  } else {
    __kernel_timespec ts;
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&e->ring, &cqe, 1, &ts, nullptr);
  }
  // Completions are copied out and the queue advanced before any is dispatched: dispatching
  // may submit (and, with deferred task work, post more completions).
  constexpr unsigned kBatch = 256;
  for (int round = 0; round < 4; ++round) {
    io_uring_cqe* cqes[kBatch];
    unsigned n = io_uring_peek_batch_cqe(&e->ring, cqes, kBatch);
    if (n == 0) break;
    uint64_t data[kBatch];
    int32_t res[kBatch];
    uint32_t flags[kBatch];
    for (unsigned i = 0; i < n; ++i) {
      data[i] = cqes[i]->user_data;
      res[i] = cqes[i]->res;
      flags[i] = cqes[i]->flags;
    }
    io_uring_cq_advance(&e->ring, n);
    for (unsigned i = 0; i < n; ++i)
      dispatch(e, data[i], res[i], flags[i]);
    if (n < kBatch) break;
  }
}

}  // namespace xwsk::posix
