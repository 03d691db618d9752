// SPDX-License-Identifier: MIT
/// @file loop_uring.cpp
/// @brief The io_uring engine (liburing): one ring per client loop.
///
/// - Readiness comes from one multishot poll per socket (IORING_POLL_ADD_MULTI) for
///   POLLIN | POLLOUT | POLLRDHUP (datagram sockets leave POLLOUT out and arm a one-shot POLLOUT
///   poll only while a send waits, as the epoll engine does): every wake-up of the socket posts a
///   completion with the socket's current mask, which is what the rest of the backend expects of
///   an edge-triggered engine (not level_triggered, as epoll).
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
/// - Connected streams move their data through the ring (engine_streams()): a multishot
///   receive fills buffers of one provided buffer ring per client (4096 x kRxBufSize, mapped
///   on the first stream socket, pages touched only as data lands), queued per socket in
///   arrival order; the receive event indicates such a buffer with no copy, and a retained
///   indication keeps it until release_data_indications; receive requests copy out of them. A
///   socket holding kRxCap buffers stops receiving (its multishot receive is cancelled) until
///   it is drained, so a client that does not read leaves the data in the kernel's window, as
///   with the readiness engines. A receive request that finds nothing queued while the event
///   is off has the kernel receive straight into its segment (kKindReceive). Sends are
///   submitted from the caller's segments (a send, or a sendmsg for a chain; MSG_WAITALL so the
///   kernel finishes a short send) and complete through tcp_sent(). An abortive disconnect or a
///   close first cancels a send or direct receive in flight synchronously
///   (IORING_REGISTER_SYNC_CANCEL), so no request completes while the kernel may still use its
///   buffer. Without provided buffer rings and multishot receive (probe_streams: < 6.0),
///   streams use the readiness path.
/// - Datagram sockets too (engine_datagrams()): a multishot recvmsg fills a second buffer ring
///   (kDgBufSize buffers, large enough for any datagram behind its recvmsg header), queued per
///   socket up to kDgCap; the receive_from event indicates them with no copy (udp.cpp gives a
///   batch back once the client holds none of it), receive_from requests copy them out. A
///   send_to, and a send_messages batch sent as UDP GSO, is one sendmsg submission
///   (submit_send), completing through udp_sent().
/// - A listener that wants connections keeps kAccepts accepts on the ring, each with its own
///   peer address buffer, and cancels them when it no longer wants any (accept_done hands the
///   descriptor to tcp_accepted, the same path as accept4's).
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
/// every client of the process runs on the epoll engine (kEpollEngine, loop_epoll.cpp, linked into
/// the same library; engine.cpp picks it); backend_name() then
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <new>

#include "backend.h"

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

/// Stream receive buffers: one provided buffer ring per client (64 MiB of address space).
constexpr unsigned kRxBufsDefault = 4096;  // a power of two
constexpr size_t kRxBufSize = 16 * 1024;
constexpr uint16_t kRxGroup = 1;
/// Received buffers one stream may hold before its receive pauses (see the file comment).
constexpr uint32_t kRxCap = 4;
/// Datagram receive buffers: a second provided buffer ring per client (68 MiB of address
/// space), each buffer large enough for the largest datagram behind its recvmsg header
/// (io_uring_recvmsg_out, then room for a sockaddr_storage), so none is truncated.
constexpr unsigned kDgBufsDefault = 1024;  // a power of two
constexpr size_t kDgBufSize = 68 * 1024;
constexpr uint16_t kDgGroup = 2;
/// Datagrams one socket may hold before its receive pauses: one receive_from event's batch.
constexpr uint32_t kDgCap = kDatagramSlots;
/// Buffers are handed to the kernel kRxBatch at a time, as those it has run low (fewer than
/// kRxLow): the kernel uses its buffers in ring order, so the set of pages ever touched stays
/// the size the load needs instead of growing over the whole ring.
constexpr uint32_t kRxBatch = 64;
constexpr uint32_t kRxLow = 16;
/// Buffers in a client's receive rings: kRxBufsDefault and kDgBufsDefault, or
/// XWSK_URING_RX_BUFS (a power of two, 8 to 32768; the datagram ring takes it when it is
/// smaller than its default; the tests run the suite on small rings so that they run dry).
uint32_t g_rx_bufs = kRxBufsDefault;
uint32_t g_dg_bufs = kDgBufsDefault;
/// The kernel has provided buffer rings and multishot receive (probe_streams).
bool g_streams = false;
void* g_probe_page = nullptr;  ///< probe_streams' page, unmapped after its ring is gone

/// user_data: bits 0-7 the kind, 8-31 the slot's generation, 32-63 the slot index.
enum Kind : uint64_t {
  kKindIgnore = 0,   ///< poll removals: their own completion carries nothing
  kKindWake = 1,     ///< the eventfd read
  kKindPoll = 2,     ///< a socket's multishot poll
  kKindPollOut = 3,  ///< a datagram socket's one-shot POLLOUT poll
  kKindRecv = 4,     ///< a stream's multishot receive into the buffer ring
  kKindSend = 5,     ///< a stream's send (the send queue's head)
  kKindReceive = 6,  ///< a stream's receive into the receive queue's head
  kKindPollIn = 7,   ///< a starved socket's one-shot POLLIN poll (rx_fallback, dg_fallback)
  kKindRecvMsg = 8,  ///< a datagram socket's multishot recvmsg into the datagram ring
  kKindAccept = 9    ///< a listener's accepts: kKindAccept + 0 .. kAccepts - 1
};

/// Accepts a listener keeps on the ring while it wants connections, each with its own peer
/// address buffer (AcceptAddrs).
constexpr uint32_t kAccepts = 4;

/// Where the kernel writes the peer address of each of a listener's accepts.
struct AcceptAddrs {
  sockaddr_storage addr[kAccepts];
  socklen_t len[kAccepts];
};

/// What a sendmsg on the ring reads: copied from the caller's msghdr (submit_send). The
/// segments' bytes stay in the caller's buffers.
constexpr size_t kStageIov = 256;  // udp.cpp's GSO batch
struct SendStage {
  msghdr msg;
  sockaddr_storage name;
  alignas(cmsghdr) uint8_t control[64];  // a UDP_SEGMENT control message
  iovec iov[kStageIov];
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
  // Receive (streams from the stream ring, datagram sockets from the datagram ring): the
  // buffers received and not yet taken, in order, then the end of the stream or an error.
  int32_t rx_head;  ///< buffer id, -1 when none
  int32_t rx_tail;
  uint32_t rx_count;
  int32_t rx_err;       ///< errno that ended the stream, or a datagram socket's error, after
                        ///< the buffers (0: none)
  bool rx_eof;          ///< the peer's FIN, after the buffers (streams)
  bool recv_armed;      ///< the multishot receive is in the kernel
  bool recv_cancelled;  ///< ... and its cancellation was submitted (its cap reached)
  bool recv_starved;    ///< it ended for want of buffers: armed again when one comes back
  bool in_armed;        ///< the one-shot POLLIN poll of a starved socket is in the kernel
  // Listener: the accepts on the ring.
  uint8_t accept_mask;    ///< bit k: accept k is in the kernel
  bool accept_cancelled;  ///< their cancellation was submitted: none armed until all ended
  AcceptAddrs* acc;       ///< allocated on the first accept armed
  SendStage* stage;       ///< allocated on the first send that needs a msghdr (submit_send)
};

/// A received buffer: the bytes [off, len) not yet taken (a datagram's payload), and the next
/// in its socket's queue.
struct RxBuf {
  uint32_t off;
  uint32_t len;
  int32_t next;
};

/// A provided buffer ring: buffers the kernel picks for a multishot receive (rx_setup maps and
/// registers it on the first socket that needs it).
struct BufRing {
  int state;       ///< 0 not tried, 1 ready, -1 unavailable (the readiness path serves)
  uint16_t group;  ///< its buffer group id
  uint32_t count;  ///< buffers (a power of two)
  size_t size;     ///< bytes a buffer
  uint32_t cap;    ///< buffers one socket may hold before its receive pauses
  io_uring_buf_ring* br;
  uint8_t* mem;      ///< count x size
  RxBuf* meta;       ///< one per buffer
  uint32_t starved;  ///< slots waiting for its buffers
  uint32_t avail;    ///< buffers in the ring, not yet used by the kernel
  uint32_t fresh;    ///< buffers [fresh, count) were never handed to the kernel

  bool owns(const uint8_t* p) const { return state > 0 && p >= mem && p < mem + count * size; }
  uint8_t* buffer(uint32_t bid) const { return mem + bid * size; }
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

/// Whether the kernel has what the stream data paths need (engine_streams): provided buffer
/// rings (5.19) and multishot receive (6.0), tried on a socket pair with @p ring. Without them,
/// or with XWSK_URING_STREAMS=0 (the tests' stand-in for such a kernel), streams take the
/// readiness path and the rest of the engine is unchanged.
bool probe_streams(io_uring* ring) {
  constexpr unsigned kEntries = 8;
  constexpr unsigned kSize = 64;
  constexpr uint16_t kGroup = 7;
  constexpr uint64_t kData = 2;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return false;
  // The ring's entries and then the buffers, in one page.
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  bool ok = false;
  if (page != MAP_FAILED) {
    io_uring_buf_ring* br = static_cast<io_uring_buf_ring*>(page);
    uint8_t* bufs = static_cast<uint8_t*>(page) + 1024;
    io_uring_buf_ring_init(br);
    io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = reinterpret_cast<uint64_t>(page);
    reg.ring_entries = kEntries;
    reg.bgid = kGroup;
    if (io_uring_register_buf_ring(ring, &reg, 0) == 0) {
      for (unsigned i = 0; i < kEntries; ++i) {
        io_uring_buf_ring_add(br, bufs + i * kSize, kSize, static_cast<uint16_t>(i),
                              io_uring_buf_ring_mask(kEntries), static_cast<int>(i));
      }
      io_uring_buf_ring_advance(br, kEntries);
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (sqe != nullptr && write(sv[1], "x", 1) == 1) {
        io_uring_prep_recv_multishot(sqe, sv[0], nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = kGroup;
        sqe->user_data = kData;
        io_uring_submit(ring);
        // The receive's completion (the eventfd's poll may post another one first).
        for (int i = 0; i < 4; ++i) {
          io_uring_cqe* cqe = nullptr;
          __kernel_timespec ts{0, 200 * 1000 * 1000};
          if (io_uring_wait_cqe_timeout(ring, &cqe, &ts) != 0 || cqe == nullptr) break;
          const bool mine = cqe->user_data == kData;
          ok = mine && cqe->res == 1 && (cqe->flags & IORING_CQE_F_BUFFER) != 0 &&
               (cqe->flags & IORING_CQE_F_MORE) != 0;
          io_uring_cqe_seen(ring, cqe);
          if (mine) break;
        }
      }
    }
  }
  close(sv[0]);
  close(sv[1]);
  // The ring is destroyed next (io_uring_queue_exit), which cancels the receive and drops the
  // buffer ring's registration: only then is the page unmapped.
  g_probe_page = page;
  return ok;
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
      io_uring_cqe_seen(&ring, cqe);
      const char* v = getenv("XWSK_URING_STREAMS");  // 0: as a kernel without them
      const bool off = v != nullptr && strcmp(v, "0") == 0;
      g_streams = !off && probe_streams(&ring);
      if (!g_streams) {
        fprintf(stderr, "xwsk: io_uring streams on the readiness path (%s)\n",
                off ? "XWSK_URING_STREAMS=0 in the environment"
                    : "no provided buffer rings or multishot receive: kernel < 6.0");
        fflush(stderr);
      }
    }
  }
  io_uring_queue_exit(&ring);
  if (g_probe_page != nullptr && g_probe_page != MAP_FAILED) munmap(g_probe_page, 4096);
  g_probe_page = nullptr;
  if (efd >= 0) close(efd);
  if (ok) g_setup_flags = flags;
  return ok;
}

uint32_t rx_bufs_from_env() {
  const char* v = getenv("XWSK_URING_RX_BUFS");
  if (v == nullptr) return kRxBufsDefault;
  char* end = nullptr;
  unsigned long n = strtoul(v, &end, 10);
  if (end == v || *end != '\0' || n < 8 || n > 32768 || (n & (n - 1)) != 0) {
    fprintf(stderr, "xwsk: XWSK_URING_RX_BUFS=%s ignored (a power of two from 8 to 32768)\n", v);
    return kRxBufsDefault;
  }
  return static_cast<uint32_t>(n);
}

void probe() {
  char why[200];
  int mode = kModeUring;
  g_rx_bufs = rx_bufs_from_env();
  if (g_rx_bufs < kDgBufsDefault) g_dg_bufs = g_rx_bufs;  // smaller only: 68 KiB a buffer
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

}  // namespace

bool uring_usable() {
  int m = g_mode.load(std::memory_order_acquire);
  if (m == kModeUnknown) {
    pthread_once(&g_probe_once, probe);
    m = g_mode.load(std::memory_order_acquire);
  }
  return m == kModeUring;
}

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
  bool arm_later;  ///< some slot has arm_later set, or a starved receive may have buffers
  BufRing rx;      ///< stream receives (set up on the first stream socket)
  BufRing dg;      ///< datagram receives (set up on the first datagram socket)
  /// What a datagram receive asks for besides the payload: room for the sender's address
  /// (msg_namelen) and no ancillary data. The kernel reads it at submission.
  msghdr dg_msg;
};

UringEngine* engine_of(Client* c) {
  return static_cast<UringEngine*>(c->engine);
}

/// A datagram socket (its receives come from the datagram ring).
bool is_dgram(const Socket* s) {
  return s->base.category == kDatagramSocket;
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
    memset(&slots[i], 0, sizeof(Slot));
    slots[i].next_free = i + 1 < cap ? static_cast<int32_t>(i + 1) : e->free_head;
  }
  e->free_head = static_cast<int32_t>(e->slot_capacity);
  e->slots = slots;
  e->slot_capacity = cap;
  return true;
}

short poll_events(const UringEngine* e, const Socket* s) {
  // Stream sockets watch writability for good (TCP raises it only after a write found the send
  // buffer full); datagram sockets raise it for every datagram sent, so they ask only while a
  // send waits (the one-shot POLLOUT poll, engine_update).
  short ev = POLLIN | POLLRDHUP;
  if (s->base.type == SocketType::Stream) {
    ev |= POLLOUT;
    // A connection socket never listens, and its data comes through the engine's receive: its
    // poll is for connect, the peer's FIN and errors, not for every arrival of data.
    if (e->rx.state > 0 && s->base.category == kConnectionSocket) ev &= ~POLLIN;
  } else if (is_dgram(s) && e->dg.state > 0) {
    ev &= ~POLLIN;  // its datagrams come through the engine's recvmsg
  }
  return ev;
}

void arm_poll(UringEngine* e, uint32_t index) {
  Slot& sl = e->slots[index];
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) {
    sl.arm_later = e->arm_later = true;
    return;
  }
  io_uring_prep_poll_multishot(sqe, sl.socket->fd,
                               static_cast<unsigned>(poll_events(e, sl.socket)));
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

/// Cancels an operation (a poll, a receive). IORING_OP_ASYNC_CANCEL, not POLL_REMOVE: a poll whose
/// completion work is pending (armed in this batch and already ready, say) cannot be removed
/// (-EALREADY) and would live on, holding the file; a cancellation marks it, and its pending work
/// ends it.
/// False when no submission entry was free (the kernel refuses submissions): the caller tries
/// again later, or the ring's exit cancels it.
bool cancel_op(UringEngine* e, uint64_t user_data) {
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) return false;
  io_uring_prep_cancel64(sqe, user_data, 0);
  io_uring_sqe_set_data64(sqe, tag(0, 0, kKindIgnore));
  if (g_cqe_skip) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  return true;
}

void arm_wake(UringEngine* e) {
  if (e->wake_armed) return;
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) return;  // tried again next turn (a wake-up may wait for it)
  io_uring_prep_read(sqe, e->wake_fd, &e->wake_value, sizeof(e->wake_value), 0);
  io_uring_sqe_set_data64(sqe, tag(0, 0, kKindWake));
  e->wake_armed = true;
}

// ---- receives: the provided buffer rings ----------------------------------------------------

/// Hands the kernel kRxBatch buffers it never had (while any are left).
void rx_add_fresh(BufRing& r) {
  uint32_t n = r.count - r.fresh;
  if (n > kRxBatch) n = kRxBatch;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t bid = r.fresh + i;
    io_uring_buf_ring_add(r.br, r.buffer(bid), static_cast<unsigned>(r.size),
                          static_cast<uint16_t>(bid), io_uring_buf_ring_mask(r.count),
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(r.br, static_cast<int>(n));
  r.fresh += n;
  r.avail += n;
}

/// The kernel used a buffer of the ring (a receive completion carried it).
void rx_used(BufRing& r) {
  if (r.avail > 0) --r.avail;
  if (r.avail < kRxLow && r.fresh < r.count) rx_add_fresh(r);
}

/// Maps and registers a buffer ring (loop thread, the first socket that receives into it).
/// Unavailable (an old kernel, no memory): its sockets use the readiness path for the
/// client's life.
bool rx_setup(UringEngine* e, BufRing& r) {
  if (r.state != 0) return r.state > 0;
  r.state = -1;
  if (!g_streams) return false;
  ensure_enabled(e);  // SINGLE_ISSUER: registration comes from the submitter, after enabling
  const size_t ring_bytes = r.count * sizeof(io_uring_buf);
  const size_t mem_bytes = r.count * r.size;
  void* ring =
      mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* mem = mmap(nullptr, mem_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  void* meta = detail::alloc(r.count * sizeof(RxBuf), detail::kTagMisc);
  int ret = -ENOMEM;
  if (ring != MAP_FAILED && mem != MAP_FAILED && meta != nullptr) {
    r.br = static_cast<io_uring_buf_ring*>(ring);
    io_uring_buf_ring_init(r.br);
    io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = reinterpret_cast<uint64_t>(ring);
    reg.ring_entries = r.count;
    reg.bgid = r.group;
    ret = io_uring_register_buf_ring(&e->ring, &reg, 0);
  }
  if (ret != 0) {
    if (ring != MAP_FAILED) munmap(ring, ring_bytes);
    if (mem != MAP_FAILED) munmap(mem, mem_bytes);
    if (meta != nullptr) detail::release(meta, detail::kTagMisc);
    r.br = nullptr;
    return false;
  }
  r.mem = static_cast<uint8_t*>(mem);
  r.meta = static_cast<RxBuf*>(meta);
  r.state = 1;
  rx_add_fresh(r);
  return true;
}

void rx_teardown(BufRing& r) {
  if (r.state <= 0) return;  // the ring's exit unregistered the buffer ring
  munmap(r.br, r.count * sizeof(io_uring_buf));
  munmap(r.mem, r.count * r.size);
  detail::release(r.meta, detail::kTagMisc);
}

/// Hands buffer @p bid back to the kernel; receives that starved for buffers may go on.
void rx_give_back(UringEngine* e, BufRing& r, uint32_t bid) {
  io_uring_buf_ring_add(r.br, r.buffer(bid), static_cast<unsigned>(r.size),
                        static_cast<uint16_t>(bid), io_uring_buf_ring_mask(r.count), 0);
  io_uring_buf_ring_advance(r.br, 1);
  ++r.avail;
  if (r.starved != 0) e->arm_later = true;  // arm_deferred re-arms them
}

/// Gives back a buffer of either ring, or a pool buffer of a fallback read.
void give_back_any(Client* c, uint8_t* data) {
  UringEngine* e = static_cast<UringEngine*>(c->engine);
  BufRing* r = e->rx.owns(data) ? &e->rx : e->dg.owns(data) ? &e->dg : nullptr;
  if (r == nullptr) {
    buffer_put(c, data);  // a pool buffer of rx_fallback / dg_fallback
    return;
  }
  rx_give_back(e, *r, static_cast<uint32_t>(static_cast<size_t>(data - r->mem) / r->size));
}

/// Takes the first buffer off a socket's queue (not empty); returns its id.
uint32_t rx_pop(BufRing& r, Slot& sl) {
  uint32_t bid = static_cast<uint32_t>(sl.rx_head);
  sl.rx_head = r.meta[bid].next;
  if (sl.rx_head < 0) sl.rx_tail = -1;
  --sl.rx_count;
  return bid;
}

/// Appends buffer @p bid, holding the bytes [off, len), to a socket's queue.
void rx_push(BufRing& r, Slot& sl, uint32_t bid, uint32_t off, uint32_t len) {
  r.meta[bid] = RxBuf{off, len, -1};
  if (sl.rx_tail >= 0) {
    r.meta[sl.rx_tail].next = static_cast<int32_t>(bid);
  } else {
    sl.rx_head = static_cast<int32_t>(bid);
  }
  sl.rx_tail = static_cast<int32_t>(bid);
  ++sl.rx_count;
}

/// Gives back every buffer a socket's queue holds (its socket is going).
void rx_drop_queue(UringEngine* e, BufRing& r, Slot& sl) {
  while (sl.rx_head >= 0)
    rx_give_back(e, r, rx_pop(r, sl));
}

/// The ring a socket receives into.
BufRing& ring_of(UringEngine* e, const Socket* s) {
  return is_dgram(s) ? e->dg : e->rx;
}

/// The kind of a socket's multishot receive.
Kind recv_kind(const Socket* s) {
  return is_dgram(s) ? kKindRecvMsg : kKindRecv;
}

/// The socket wants its stream's data (a receive waits, or the receive event is on), or its
/// datagrams (a receive_from waits, or the receive_from event is on).
bool wants_data(const Socket* s) {
  const uint32_t mask = s->base.event_mask.load(std::memory_order_acquire);
  if (is_dgram(s)) return !s->recv_q.empty() || (mask & kEventReceiveFrom) != 0;
  return s->phase == Phase::Connected && !s->receive_closed && s->error == Status::Success &&
         (!s->recv_q.empty() || (mask & kEventReceive) != 0);
}

/// Arms the multishot receive of a socket that wants data and holds fewer buffers than its
/// ring's cap. A datagram socket's error waits until it was taken (it comes after the
/// datagrams before it), and one that may persist also for the socket's POLLIN poll.
void maybe_arm_recv(UringEngine* e, uint32_t index) {
  Slot& sl = e->slots[index];
  Socket* s = sl.socket;
  const bool dgram = is_dgram(s);
  BufRing& r = ring_of(e, s);
  if (sl.recv_armed || sl.recv_starved || sl.rx_eof || sl.rx_err != 0 || sl.rx_count >= r.cap ||
      s->recv_inflight || (dgram && sl.in_armed) || !wants_data(s)) {
    return;
  }
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) {
    sl.arm_later = e->arm_later = true;
    return;
  }
  if (dgram) {
    io_uring_prep_recvmsg_multishot(sqe, s->fd, &e->dg_msg, 0);
  } else {
    io_uring_prep_recv_multishot(sqe, s->fd, nullptr, 0, 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = r.group;
  io_uring_sqe_set_data64(sqe, tag(index, sl.gen, recv_kind(s)));
  sl.recv_armed = true;
  sl.recv_cancelled = false;
}

/// Keeps kAccepts accepts on the ring while the listener wants connections, and cancels them
/// when it no longer does (the backlog then stays in the kernel, as with the readiness
/// engines; a connection accepted meanwhile waits on the listener's ready list).
void maybe_arm_accepts(UringEngine* e, uint32_t index) {
  Slot& sl = e->slots[index];
  Socket* s = sl.socket;
  if (sl.accept_cancelled) return;  // armed again once the cancelled ones ended
  if (s->starved || is_closed(s) || !tcp_wants_connections(s)) {
    if (sl.accept_mask == 0) return;
    bool all = true;
    for (uint32_t k = 0; k < kAccepts; ++k) {
      if ((sl.accept_mask & (1u << k)) != 0) {
        all = cancel_op(e, tag(index, sl.gen, static_cast<Kind>(kKindAccept + k))) && all;
      }
    }
    sl.accept_cancelled = all;  // else tried again at the next update
    return;
  }
  if (sl.acc == nullptr) {
    sl.acc = static_cast<AcceptAddrs*>(detail::alloc(sizeof(AcceptAddrs), detail::kTagMisc));
    if (sl.acc == nullptr) return;  // the listener's poll and accept4 serve it meanwhile
  }
  for (uint32_t k = 0; k < kAccepts; ++k) {
    if ((sl.accept_mask & (1u << k)) != 0) continue;
    io_uring_sqe* sqe = get_sqe(e);
    if (sqe == nullptr) {
      sl.arm_later = e->arm_later = true;
      return;
    }
    sl.acc->len[k] = sizeof(sl.acc->addr[k]);
    io_uring_prep_accept(sqe, s->fd, reinterpret_cast<sockaddr*>(&sl.acc->addr[k]), &sl.acc->len[k],
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(index, sl.gen, static_cast<Kind>(kKindAccept + k)));
    sl.accept_mask = static_cast<uint8_t>(sl.accept_mask | (1u << k));
  }
}

/// A completion of accept @p k of the listener in slot @p index.
void accept_done(UringEngine* e, uint32_t index, uint32_t k, int32_t res) {
  Slot& sl = e->slots[index];
  Socket* s = sl.socket;
  const uint32_t gen = sl.gen;
  sl.accept_mask = static_cast<uint8_t>(sl.accept_mask & ~(1u << k));
  if (sl.accept_mask == 0) sl.accept_cancelled = false;
  if (res >= 0) {
    // Copied out first: the client's callbacks may close the listener (freeing sl.acc) or add
    // sockets (moving the slot table).
    sockaddr_storage ra = sl.acc->addr[k];
    socklen_t rl = sl.acc->len[k];
    tcp_accepted(s, res, reinterpret_cast<sockaddr*>(&ra), rl);
  } else if (res != -ECANCELED && !tcp_accept_failed(s, -res) && !s->starved && !is_closed(s)) {
    // A failure not worth an immediate retry waits for the listener's backoff, as running out
    // of descriptors does (starve), so an error that persists does not spin the ring.
    starve(s);
  }
  const Slot& now = e->slots[index];
  if (now.socket == s && now.gen == gen) maybe_arm_accepts(e, index);
}

/// Arms the polls and receives that found no free submission entry (see get_sqe), and the
/// receives that starved for buffers.
void arm_deferred(UringEngine* e) {
  if (!e->arm_later) return;
  e->arm_later = false;
  for (uint32_t i = 0; i < e->slot_capacity; ++i) {
    Slot& sl = e->slots[i];
    if (sl.socket == nullptr) continue;
    if (sl.recv_starved) {
      sl.recv_starved = false;
      --ring_of(e, sl.socket).starved;
      maybe_arm_recv(e, i);
    }
    if (!sl.arm_later) continue;
    sl.arm_later = false;
    if (!sl.poll_armed) arm_poll(e, i);
    Socket* s = e->slots[i].socket;
    if (s->base.type != SocketType::Stream && !s->send_q.empty() && !e->slots[i].out_armed) {
      arm_poll_out(e, i);
    }
    if (s->base.type == SocketType::Stream && s->base.listening) {
      maybe_arm_accepts(e, i);
    } else if (ring_of(e, s).state > 0) {
      maybe_arm_recv(e, i);
    }
  }
}

void arm_poll_in(UringEngine* e, uint32_t index);

/// A datagram socket's receive ended on @p err: ICMP errors and resets are consumed by the
/// call that returned them; another may persist, so the receive also waits for the socket's
/// POLLIN poll before it is armed again.
bool consumed_error(int err) {
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == ECONNRESET;
}

/// A completion of a multishot receive (kKindRecv, a stream's; kKindRecvMsg, a datagram
/// socket's recvmsg): a buffer joins the socket's queue, or the stream ended (FIN, error), or
/// the receive stopped (cancelled at its cap, out of buffers, a datagram socket's error).
void recv_done(UringEngine* e, uint32_t index, int32_t res, uint32_t cflags) {
  Slot& sl = e->slots[index];
  Socket* s = sl.socket;
  const bool dgram = is_dgram(s);
  BufRing& r = ring_of(e, s);
  const bool more = (cflags & IORING_CQE_F_MORE) != 0;
  const bool has_buf = (cflags & IORING_CQE_F_BUFFER) != 0;
  const uint32_t bid = cflags >> IORING_CQE_BUFFER_SHIFT;
  if (!more) sl.recv_armed = false;
  if (has_buf) rx_used(r);
  // A datagram's buffer: its recvmsg header, the sender's address, then the payload.
  io_uring_recvmsg_out* out = nullptr;
  if (dgram && res > 0 && has_buf) {
    out = io_uring_recvmsg_validate(r.buffer(bid), res, &e->dg_msg);
    if (out == nullptr) res = -EAGAIN;  // no whole header: nothing to deliver
  }
  bool news = true;
  if (res > 0 && has_buf) {
    uint32_t off = 0;
    if (out != nullptr) {
      off = static_cast<uint32_t>(static_cast<uint8_t*>(io_uring_recvmsg_payload(out, &e->dg_msg)) -
                                  r.buffer(bid));
    }
    rx_push(r, sl, bid, off, static_cast<uint32_t>(res));
    if (sl.rx_count >= r.cap && more && !sl.recv_cancelled) {
      // The socket holds enough: pause (tried again at the next buffer if no entry was free).
      sl.recv_cancelled = cancel_op(e, tag(index, sl.gen, recv_kind(s)));
    }
  } else {
    if (has_buf) rx_give_back(e, r, bid);
    if (res == 0 && !dgram) {
      sl.rx_eof = true;
    } else if (res == -ENOBUFS) {
      // The ring ran dry: more of it, if any is left, and the receive goes on at the next turn
      // (or when a buffer comes back); meanwhile the socket reads for itself (rx_fallback,
      // dg_fallback), so the data that arrived is taken now.
      if (r.avail == 0 && r.fresh < r.count) rx_add_fresh(r);
      if (!sl.recv_starved) {
        sl.recv_starved = true;
        ++r.starved;
      }
      if (r.avail > 0) e->arm_later = true;
    } else if (res == -ECANCELED || res == -EINTR || res == -EAGAIN || res >= 0) {
      news = false;  // nothing ended: it is armed again below (or when the socket drained)
    } else {
      sl.rx_err = -res;
      if (dgram && !consumed_error(-res)) arm_poll_in(e, index);
    }
  }
  if (news) socket_ready(s, kReadyRead);
  // The receive ended with nothing for the socket to do (a cancellation the socket has since
  // drained past): arm it again here, as no pass will. The slot may have been freed or moved.
  const Slot& now = e->slots[index];
  if (!more && now.socket == s && !now.recv_armed && !is_closed(s)) maybe_arm_recv(e, index);
}

Slot* slot_of(const Socket* s) {
  return &engine_of(s->client)->slots[s->engine_index];
}

/// The end of a socket's received data: 0 at the FIN, else -1 with the error or EAGAIN.
ssize_t rx_end(const Slot& sl) {
  if (sl.rx_eof) return 0;
  errno = sl.rx_err != 0 ? sl.rx_err : EAGAIN;
  return -1;
}

void arm_poll_in(UringEngine* e, uint32_t index) {
  Slot& sl = e->slots[index];
  if (sl.in_armed) return;
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) return;  // the next pass of the socket tries again
  io_uring_prep_poll_add(sqe, sl.socket->fd, POLLIN | POLLRDHUP);
  io_uring_sqe_set_data64(sqe, tag(index, sl.gen, kKindPollIn));
  sl.in_armed = true;
}

/// A socket whose receive ran out of ring buffers (the client holds them on other
/// connections, say) does not wait for them: with nothing queued, it reads the descriptor
/// itself, into @p iov, and a one-shot POLLIN poll says when to read again; its multishot
/// receive comes back when buffers do (arm_deferred). So no connection depends on another.
ssize_t rx_fallback(UringEngine* e, uint32_t index, Socket* s, const iovec* iov, int cnt) {
  Slot& sl = e->slots[index];
  ssize_t n;
  do {
    n = cnt == 1 ? ::recv(s->fd, iov[0].iov_base, iov[0].iov_len, 0) : ::readv(s->fd, iov, cnt);
  } while (n < 0 && errno == EINTR);
  if (n > 0) return n;
  if (n == 0) {
    sl.rx_eof = true;
    return 0;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    arm_poll_in(e, index);
    errno = EAGAIN;
    return -1;
  }
  sl.rx_err = errno;
  return -1;
}

/// The fallback applies: nothing queued or on its way, and the ring ran dry for this socket.
bool rx_fallback_due(const Slot& sl) {
  return sl.rx_head < 0 && sl.recv_starved && !sl.recv_armed && !sl.rx_eof && sl.rx_err == 0;
}

/// The slot of a socket the engine holds, or null with errno EAGAIN (it was removed).
Slot* held_slot(Socket* s) {
  if (s->engine_index >= 0) return slot_of(s);
  errno = EAGAIN;
  return nullptr;
}

/// A buffer of the client's pool for a fallback read (give_back_any returns it), or null with
/// errno EAGAIN when memory is short (the data waits in the kernel, tried at the next pass).
uint8_t* fallback_buffer(Client* c) {
  uint8_t* buf = buffer_get(c);
  if (buf == nullptr) errno = EAGAIN;
  return buf;
}

/// Returns the buffer of a fallback read that brought nothing; errno stays the read's.
void fallback_unused(Client* c, uint8_t* buf) {
  int err = errno;
  buffer_put(c, buf);
  errno = err;
}

ssize_t stream_take(Socket* s, uint8_t** data) {
  Slot* slot = held_slot(s);
  if (slot == nullptr) return -1;
  UringEngine* e = engine_of(s->client);
  Slot& sl = *slot;
  if (rx_fallback_due(sl)) {
    uint8_t* buf = fallback_buffer(s->client);
    if (buf == nullptr) return -1;
    iovec one{buf, kIndicationBufferSize};
    ssize_t n = rx_fallback(e, static_cast<uint32_t>(s->engine_index), s, &one, 1);
    if (n > 0) {
      *data = buf;
      return n;
    }
    fallback_unused(s->client, buf);
    return n;
  }
  if (sl.rx_head < 0) return rx_end(sl);
  uint32_t bid = rx_pop(e->rx, sl);
  const RxBuf& b = e->rx.meta[bid];
  *data = e->rx.buffer(bid) + b.off;
  return static_cast<ssize_t>(b.len - b.off);
}

ssize_t stream_readv(Socket* s, const iovec* iov, int cnt) {
  Slot* slot = held_slot(s);
  if (slot == nullptr) return -1;
  UringEngine* e = engine_of(s->client);
  Slot& sl = *slot;
  if (rx_fallback_due(sl))
    return rx_fallback(e, static_cast<uint32_t>(s->engine_index), s, iov, cnt);
  size_t copied = 0;
  size_t at = 0;  // bytes filled in iov[i]
  int i = 0;
  while (i < cnt && sl.rx_head >= 0) {
    uint32_t bid = static_cast<uint32_t>(sl.rx_head);
    RxBuf& b = e->rx.meta[bid];
    size_t n = b.len - b.off;
    if (n > iov[i].iov_len - at) n = iov[i].iov_len - at;
    memcpy(static_cast<uint8_t*>(iov[i].iov_base) + at, e->rx.buffer(bid) + b.off, n);
    b.off += static_cast<uint32_t>(n);
    at += n;
    copied += n;
    if (b.off == b.len) rx_give_back(e, e->rx, rx_pop(e->rx, sl));
    if (at == iov[i].iov_len) {
      ++i;
      at = 0;
    }
  }
  return copied > 0 ? static_cast<ssize_t>(copied) : rx_end(sl);
}

// ---- datagram receives -----------------------------------------------------------------------

/// dg_take / dg_recvmsg of a datagram socket whose ring ran dry (as rx_fallback): recvmsg on
/// the descriptor, and a one-shot POLLIN poll says when to read again.
ssize_t dg_fallback(UringEngine* e, uint32_t index, Socket* s, msghdr* m) {
  ssize_t n;
  do {
    n = ::recvmsg(s->fd, m, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    arm_poll_in(e, index);
    errno = EAGAIN;
  }
  return n;
}

/// Nothing queued: the socket's error in arrival order (taken once), else EAGAIN.
int dg_end(Slot& sl) {
  errno = sl.rx_err != 0 ? sl.rx_err : EAGAIN;
  sl.rx_err = 0;
  return -1;
}

/// The recvmsg header at the start of a datagram's buffer.
io_uring_recvmsg_out* dg_header(const BufRing& r, uint32_t bid) {
  return reinterpret_cast<io_uring_recvmsg_out*>(r.buffer(bid));
}

/// Copies a datagram's sender address out of its buffer: the length the kernel reported.
socklen_t dg_name(io_uring_recvmsg_out* o, void* to, socklen_t room) {
  memcpy(to, io_uring_recvmsg_name(o), o->namelen < room ? o->namelen : room);
  return o->namelen;
}

int dg_take(Socket* s, DatagramView* out, sockaddr_storage* names, int max) {
  Slot* slot = held_slot(s);
  if (slot == nullptr) return -1;
  UringEngine* e = engine_of(s->client);
  Slot& sl = *slot;
  if (rx_fallback_due(sl)) {
    uint8_t* buf = fallback_buffer(s->client);
    if (buf == nullptr) return -1;
    iovec one{buf, kIndicationBufferSize};
    msghdr m{};
    m.msg_name = &names[0];
    m.msg_namelen = sizeof(names[0]);
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    ssize_t n = dg_fallback(e, static_cast<uint32_t>(s->engine_index), s, &m);
    if (n >= 0) {
      out[0] =
          DatagramView{buf, static_cast<size_t>(n), m.msg_namelen, (m.msg_flags & MSG_TRUNC) != 0};
      return 1;
    }
    fallback_unused(s->client, buf);
    return -1;
  }
  BufRing& r = e->dg;
  int n = 0;
  for (; n < max && sl.rx_head >= 0; ++n) {
    uint32_t bid = rx_pop(r, sl);
    const RxBuf& b = r.meta[bid];
    io_uring_recvmsg_out* o = dg_header(r, bid);
    socklen_t nl = dg_name(o, &names[n], sizeof(names[n]));
    out[n] = DatagramView{r.buffer(bid) + b.off, b.len - b.off, nl, (o->flags & MSG_TRUNC) != 0};
  }
  return n > 0 ? n : dg_end(sl);
}

ssize_t dg_recvmsg(Socket* s, msghdr* m) {
  Slot* slot = held_slot(s);
  if (slot == nullptr) return -1;
  UringEngine* e = engine_of(s->client);
  Slot& sl = *slot;
  if (rx_fallback_due(sl)) return dg_fallback(e, static_cast<uint32_t>(s->engine_index), s, m);
  if (sl.rx_head < 0) return dg_end(sl);
  BufRing& r = e->dg;
  uint32_t bid = rx_pop(r, sl);
  const RxBuf& b = r.meta[bid];
  io_uring_recvmsg_out* o = dg_header(r, bid);
  if (m->msg_name != nullptr) m->msg_namelen = dg_name(o, m->msg_name, m->msg_namelen);
  const uint8_t* from = r.buffer(bid) + b.off;
  size_t left = b.len - b.off;
  size_t copied = 0;
  for (size_t i = 0; i < m->msg_iovlen && left > 0; ++i) {
    size_t n = m->msg_iov[i].iov_len < left ? m->msg_iov[i].iov_len : left;
    memcpy(m->msg_iov[i].iov_base, from + copied, n);
    copied += n;
    left -= n;
  }
  m->msg_controllen = 0;
  m->msg_flags = (left > 0 || (o->flags & MSG_TRUNC) != 0) ? MSG_TRUNC : 0;
  rx_give_back(e, r, bid);
  return static_cast<ssize_t>(copied);
}

// ---- stream sends and direct receives -----------------------------------------------------------

/// A submission's length is 32 bits: a longer send or receive moves this much, and the request
/// goes on with the rest (send_attempt / receive_attempt).
constexpr size_t kMaxTransfer = size_t{1} << 30;

/// Submits the send of @p m (kKindSend): one segment with no address or control data as a
/// plain send, anything else as a sendmsg whose header, segments, address and control data
/// are copied to the slot's SendStage, which lives until the socket goes (so the kernel may
/// read it up to the completion). MSG_DONTWAIT is dropped: the ring waits for room itself.
bool submit_send(Socket* s, const msghdr* m, int flags) {
  if (s->engine_index < 0 || m->msg_iovlen > kStageIov ||
      m->msg_namelen > sizeof(sockaddr_storage) || m->msg_controllen > sizeof(SendStage::control)) {
    return false;
  }
  UringEngine* e = engine_of(s->client);
  uint32_t index = static_cast<uint32_t>(s->engine_index);
  Slot& sl = e->slots[index];
  flags &= ~MSG_DONTWAIT;
  const bool plain = m->msg_iovlen == 1 && m->msg_name == nullptr && m->msg_controllen == 0;
  if (!plain && sl.stage == nullptr) {
    sl.stage = static_cast<SendStage*>(detail::alloc(sizeof(SendStage), detail::kTagMisc));
    if (sl.stage == nullptr) return false;
  }
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) return false;
  if (plain) {
    size_t len = m->msg_iov[0].iov_len;
    io_uring_prep_send(sqe, s->fd, m->msg_iov[0].iov_base, len < kMaxTransfer ? len : kMaxTransfer,
                       flags);
  } else {
    // A submission moves at most kMaxTransfer bytes (its result is 32 bits): the segments are
    // cut there, and the request goes on with the rest.
    SendStage* st = e->slots[index].stage;
    st->msg = *m;
    size_t total = 0;
    size_t n = 0;
    for (; n < m->msg_iovlen && total < kMaxTransfer; ++n) {
      st->iov[n] = m->msg_iov[n];
      if (st->iov[n].iov_len > kMaxTransfer - total) st->iov[n].iov_len = kMaxTransfer - total;
      total += st->iov[n].iov_len;
    }
    st->msg.msg_iov = st->iov;
    st->msg.msg_iovlen = n;
    if (m->msg_name != nullptr) {
      memcpy(&st->name, m->msg_name, m->msg_namelen);
      st->msg.msg_name = &st->name;
    }
    if (m->msg_controllen != 0) {
      memcpy(st->control, m->msg_control, m->msg_controllen);
      st->msg.msg_control = st->control;
    }
    io_uring_prep_sendmsg(sqe, s->fd, &st->msg, static_cast<unsigned>(flags));
  }
  io_uring_sqe_set_data64(sqe, tag(index, sl.gen, kKindSend));
  return true;
}

bool stream_send(Socket* s, const iovec* iov, int cnt, int flags) {
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = static_cast<size_t>(cnt);
  return submit_send(s, &m, flags | MSG_WAITALL);
}

bool stream_receive(Socket* s, void* data, size_t len) {
  if (s->engine_index < 0) return false;
  UringEngine* e = engine_of(s->client);
  uint32_t index = static_cast<uint32_t>(s->engine_index);
  const Slot& sl = e->slots[index];
  // Data already in the engine's buffers, or more on its way there, comes first (order).
  if (sl.recv_armed || sl.rx_head >= 0 || sl.rx_eof || sl.rx_err != 0) return false;
  io_uring_sqe* sqe = get_sqe(e);
  if (sqe == nullptr) return false;
  io_uring_prep_recv(sqe, s->fd, data, len < kMaxTransfer ? len : kMaxTransfer, 0);
  io_uring_sqe_set_data64(sqe, tag(index, sl.gen, kKindReceive));
  return true;
}

/// Cancels the operation @p user_data and waits until the kernel let go of it (it may have
/// completed meanwhile: -ENOENT, which is as good). It may still sit in the submission queue:
/// that is submitted first.
void cancel_sync(UringEngine* e, uint64_t user_data) {
  for (int tries = 0; io_uring_sq_ready(&e->ring) > 0 && tries < 64; ++tries) {
    int ret = io_uring_submit(&e->ring);
    if (ret == -EBUSY) io_uring_get_events(&e->ring);  // overflowed completions first
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) break;
  }
  // Still not taken by the kernel (it keeps refusing submissions): it becomes a no-op there,
  // so it never starts on the caller's buffer.
  io_uring_sq& sq = e->ring.sq;
  for (unsigned i = io_uring_smp_load_acquire(sq.khead); i != sq.sqe_tail; ++i) {
    io_uring_sqe* sqe = &sq.sqes[i & sq.ring_mask];
    if (sqe->user_data != user_data) continue;
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, tag(0, 0, kKindIgnore));
  }
  io_uring_sync_cancel_reg reg;
  memset(&reg, 0, sizeof(reg));
  reg.addr = user_data;
  reg.timeout.tv_sec = -1;
  reg.timeout.tv_nsec = -1;
  int ret;
  do {
    ret = io_uring_register_sync_cancel(&e->ring, &reg);
  } while (ret == -EINTR);
}

/// StreamEngine::quiesce and DatagramEngine::quiesce, and the first step of remove_socket.
void quiesce(Socket* s) {
  if (s->engine_index < 0) return;
  UringEngine* e = engine_of(s->client);
  uint32_t index = static_cast<uint32_t>(s->engine_index);
  // Their completions are ignored from now on (tcp_sent, tcp_received, udp_sent).
  if (s->send_inflight) {
    s->send_inflight = false;
    cancel_sync(e, tag(index, e->slots[index].gen, kKindSend));
  }
  if (s->recv_inflight) {
    s->recv_inflight = false;
    cancel_sync(e, tag(index, e->slots[index].gen, kKindReceive));
  }
  // The connection is being reset or closed: what it received and nobody took is dropped, and
  // it receives no more (on the readiness engines the reset empties the kernel's queue).
  Slot& sl = e->slots[index];
  if (sl.recv_armed && !sl.recv_cancelled) {
    sl.recv_cancelled = cancel_op(e, tag(index, sl.gen, recv_kind(s)));
  }
  BufRing& r = ring_of(e, s);
  if (r.state > 0) rx_drop_queue(e, r, sl);
  sl.rx_eof = true;  // nothing more comes: a read finds the end
}

constexpr StreamEngine kStreams = {stream_readv, stream_take,    give_back_any,
                                   stream_send,  stream_receive, quiesce};
constexpr DatagramEngine kDatagrams = {dg_take, dg_recvmsg, give_back_any, submit_send, quiesce};

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
  Slot* found = index < e->slot_capacity ? &e->slots[index] : nullptr;
  if (found == nullptr || found->socket == nullptr || (found->gen & 0xffffffu) != gen) {
    // Removed since. A receive's buffer still goes back to its ring.
    if ((kind == kKindRecv || kind == kKindRecvMsg) && (cflags & IORING_CQE_F_BUFFER) != 0) {
      BufRing& r = kind == kKindRecv ? e->rx : e->dg;
      rx_used(r);
      rx_give_back(e, r, cflags >> IORING_CQE_BUFFER_SHIFT);
    }
    // An accept that completed as its listener went: nobody takes the connection.
    if (kind >= kKindAccept && kind < kKindAccept + kAccepts && res >= 0) close(res);
    return;
  }
  Slot& sl = *found;
  Socket* s = sl.socket;
  if (kind == kKindRecv || kind == kKindRecvMsg) {
    recv_done(e, index, res, cflags);
    return;
  }
  if (kind == kKindSend) {
    if (is_dgram(s)) {
      udp_sent(s, res);
    } else {
      tcp_sent(s, res);
    }
    return;
  }
  if (kind == kKindReceive) {
    tcp_received(s, res);
    return;
  }
  if (kind >= kKindAccept && kind < kKindAccept + kAccepts) {
    accept_done(e, index, static_cast<uint32_t>(kind - kKindAccept), res);
    return;
  }
  if (kind == kKindPollIn) {
    sl.in_armed = false;
    if (res > 0) socket_ready(s, ready_flags(res));
    return;
  }
  if (kind == kKindPollOut) {
    sl.out_armed = false;
    if (res > 0) socket_ready(s, ready_flags(res));
    return;
  }
  // kKindPoll. Without IORING_CQE_F_MORE the poll ended (a full completion queue, a
  // cancellation not ours): arm it again, so no wake-up is lost.
  bool ended = (cflags & IORING_CQE_F_MORE) == 0;
  if (ended) sl.poll_armed = false;
  uint32_t flags = res > 0 ? ready_flags(res) : 0;
  // A connected stream's data comes through its receive (recv_done), and a listener's
  // connections through its accepts on the ring (accept_done), not through readability.
  if (s->base.type == SocketType::Stream &&
      ((e->rx.state > 0 && s->phase == Phase::Connected) || sl.accept_mask != 0)) {
    flags &= ~kReadyRead;
  }
  if (flags != 0) socket_ready(s, flags);
  // The socket may have been removed by its own callbacks (engine_remove changed the slot: a
  // closed socket is never armed again), and the slot table may have grown (moved) meanwhile:
  // look the slot up again.
  const Slot& now = e->slots[index];
  if (ended && now.socket == s && (now.gen & 0xffffffu) == gen && !now.poll_armed) {
    arm_poll(e, index);
  }
}

const StreamEngine* streams_of(const Socket* s) {
  if (s->base.type != SocketType::Stream) return nullptr;
  return engine_of(s->client)->rx.state > 0 ? &kStreams : nullptr;
}

const DatagramEngine* datagrams_of(const Socket* s) {
  if (!is_dgram(s)) return nullptr;
  return engine_of(s->client)->dg.state > 0 ? &kDatagrams : nullptr;
}

Status create_engine(Client* c) {
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
  e->rx = BufRing{0, kRxGroup, g_rx_bufs, kRxBufSize, kRxCap, nullptr, nullptr, nullptr, 0, 0, 0};
  e->dg = BufRing{0, kDgGroup, g_dg_bufs, kDgBufSize, kDgCap, nullptr, nullptr, nullptr, 0, 0, 0};
  e->dg_msg.msg_namelen = sizeof(sockaddr_storage);
  c->engine = e;
  return Status::Success;
}

void destroy_engine(Client* c) {
  if (c->engine == nullptr) return;
  UringEngine* e = engine_of(c);
  io_uring_queue_exit(&e->ring);  // cancels what is left (the wake-up read)
  rx_teardown(e->rx);
  rx_teardown(e->dg);
  close(e->wake_fd);
  if (e->slots != nullptr) detail::release(e->slots, detail::kTagMisc);
  e->~UringEngine();
  detail::release(e, detail::kTagMisc);
  c->engine = nullptr;
}

void wake_loop(Client* c) {
  uint64_t one = 1;
  ssize_t n;
  do {
    n = write(engine_of(c)->wake_fd, &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  // EAGAIN: the counter is at its maximum, so a wake-up is pending anyway.
}

Status add_socket(Client* c, Socket* s) {
  UringEngine* e = engine_of(c);
  if (e->free_head < 0 && !grow_slots(e)) return Status::InsufficientResources;
  uint32_t index = static_cast<uint32_t>(e->free_head);
  Slot& sl = e->slots[index];
  e->free_head = sl.next_free;
  uint32_t gen = sl.gen;
  memset(&sl, 0, sizeof(sl));
  sl.socket = s;
  sl.gen = gen;
  sl.next_free = -1;
  sl.rx_head = sl.rx_tail = -1;
  s->engine_index = static_cast<int>(index);
  if (s->base.type == SocketType::Stream || is_dgram(s)) rx_setup(e, ring_of(e, s));
  arm_poll(e, index);
  // A static receive_from event is on from the start: no later update may come before data.
  if (is_dgram(s) && e->dg.state > 0) maybe_arm_recv(e, index);
  return Status::Success;
}

void remove_socket(Client* c, Socket* s) {
  UringEngine* e = engine_of(c);
  if (s->engine_index < 0) return;
  uint32_t index = static_cast<uint32_t>(s->engine_index);
  // A send or receive in flight ends before the descriptor closes; the multishot receive is
  // cancelled and what it queued goes back to the ring.
  quiesce(s);
  Slot& sl = e->slots[index];
  if (sl.poll_armed) cancel_op(e, tag(index, sl.gen, kKindPoll));
  if (sl.out_armed) cancel_op(e, tag(index, sl.gen, kKindPollOut));
  if (sl.in_armed) cancel_op(e, tag(index, sl.gen, kKindPollIn));
  // The kernel writes an accept's peer address into sl.acc: each accept is over before it goes.
  for (uint32_t k = 0; k < kAccepts; ++k) {
    if ((sl.accept_mask & (1u << k)) != 0) {
      cancel_sync(e, tag(index, sl.gen, static_cast<Kind>(kKindAccept + k)));
    }
  }
  if (sl.acc != nullptr) detail::release(sl.acc, detail::kTagMisc);
  sl.acc = nullptr;
  // quiesce ended the send in flight: the kernel no longer reads the stage.
  if (sl.stage != nullptr) detail::release(sl.stage, detail::kTagMisc);
  sl.stage = nullptr;
  sl.accept_mask = 0;
  sl.accept_cancelled = false;
  bool submit = sl.poll_armed || sl.out_armed || sl.recv_armed || sl.in_armed;
  if (sl.recv_starved) --ring_of(e, s).starved;
  ++sl.gen;  // completions still in flight for this socket are stale from now on
  sl.socket = nullptr;
  sl.poll_armed = false;
  sl.out_armed = false;
  sl.arm_later = false;
  sl.recv_armed = sl.recv_cancelled = sl.recv_starved = sl.in_armed = false;
  sl.rx_eof = false;
  sl.rx_err = 0;
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

void update_socket(Client* c, Socket* s) {
  if (s->engine_index < 0) return;
  UringEngine* e = engine_of(c);
  uint32_t index = static_cast<uint32_t>(s->engine_index);
  if (s->base.type == SocketType::Stream) {
    if (s->base.listening) {
      maybe_arm_accepts(e, index);  // wants connections now, or no longer
    } else if (e->rx.state > 0) {
      maybe_arm_recv(e, index);  // wants data now, or drained below kRxCap
    }
    return;
  }
  if (is_dgram(s) && e->dg.state > 0) maybe_arm_recv(e, index);  // as for streams
  // A one-shot POLLOUT poll while a send waits; if the queue drained meanwhile, its completion
  // only marks the socket writable.
  if (!s->send_q.empty() && !s->writable && !e->slots[index].out_armed) arm_poll_out(e, index);
}

void wait_events(Client* c, int timeout_ms) {
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

}  // namespace

/// Edge-triggered: a multishot poll posts one completion per wake-up, as epoll's edge mode.
const EngineOps kUringEngine = {"posix-uring", false,      create_engine, destroy_engine,
                                wake_loop,     add_socket, remove_socket, update_socket,
                                wait_events,   streams_of, datagrams_of};

}  // namespace xwsk::posix
