// SPDX-License-Identifier: MIT
/// @file client.cpp
/// @brief Clients: the event-loop thread, the submission queue, client-level control,
/// backend facts (name, capabilities) and the allocator/request/segment hooks.
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <new>

#include "backend.h"

namespace xwsk::posix {
namespace {

/// The client whose loop runs on this thread (null on every other thread).
thread_local Client* t_loop = nullptr;

/// Takes everything queued for the loop and runs it. Returns the stop flag seen.
bool drain(Client* c) {
  pthread_mutex_lock(&c->mu);
  Request* list = c->submissions.head;
  c->submissions = ReqQueue{};
  Socket* kicks = c->kicks;
  c->kicks = nullptr;
  // The loop is awake until it commits to sleep (may_sleep): what other threads queue meanwhile
  // is seen there, so they need not signal it.
  c->wake_pending = true;
  bool stop = c->stop;
  pthread_mutex_unlock(&c->mu);
  while (list != nullptr) {
    Request* next = list->priv.next;
    list->priv.next = nullptr;
    list->priv.run(list);  // the operation's own function
    list = next;
  }
  while (kicks != nullptr) {
    Socket* next = kicks->kick_next;
    kicks->kick_next = nullptr;
    kicks->kick_queued.store(false, std::memory_order_release);
    socket_process(kicks);
    kicks = next;
  }
  return stop;
}

/// Runs the sockets that yielded in an earlier turn (those of this turn wait for the next).
void run_yielded(Client* c) {
  while (Socket* s = c->yield_head) {
    if (s->yield_turn == c->turn) break;
    unyield(s);
    socket_process(s);
  }
}

uint64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

/// How long the engine may wait: not at all while sockets yielded or a starved listener may
/// retry now, until the starved listeners' retry time, else without a bound.
int wait_timeout(Client* c) {
  if (c->yield_head != nullptr) return 0;
  if (c->starved == nullptr) return -1;
  if (c->fd_released) return 0;
  uint64_t now = now_ms();
  if (now >= c->starved_retry_ms) return 0;
  return static_cast<int>(c->starved_retry_ms - now);
}

/// Starved listeners try to accept again when their backoff ran out or a descriptor of the
/// client was closed. Those still short go back on the list (starve), with a longer backoff.
void run_starved(Client* c) {
  if (c->starved == nullptr) return;
  if (!c->fd_released && now_ms() < c->starved_retry_ms) return;
  c->fd_released = false;
  Socket* list = c->starved;
  c->starved = nullptr;
  while (list != nullptr) {
    Socket* s = list;
    list = s->starved_next;
    s->starved_next = nullptr;
    s->starved = false;
    s->readable = true;  // the connections still wait in the listen queue; no new edge comes
    socket_process(s);
  }
}

/// Before the loop blocks in the engine: false when something was queued since drain (it runs
/// in the next turn, without a wait); else other threads must signal from now on. So a thread
/// that submits while the loop is awake makes no system call to wake it.
bool may_sleep(Client* c) {
  pthread_mutex_lock(&c->mu);
  bool idle = c->submissions.head == nullptr && c->kicks == nullptr && !c->stop;
  if (idle) c->wake_pending = false;
  pthread_mutex_unlock(&c->mu);
  return idle;
}

void* loop_main(void* arg) {
  Client* c = static_cast<Client*>(arg);
  t_loop = c;
  block_sigpipe_if_needed();  // every socket call of the backend runs on this thread
  for (;;) {
    ++c->turn;
    bool stop = drain(c);
    free_zombies(c);
    if (stop) break;
    int timeout = wait_timeout(c);
    if (timeout != 0 && !may_sleep(c)) timeout = 0;
    engine_wait(c, timeout);
    run_yielded(c);
    run_starved(c);
    free_zombies(c);
  }
  t_loop = nullptr;
  return nullptr;
}

void wake(Client* c, bool needed) {
  if (needed) engine_wake(c);
}

}  // namespace

Status submit(Client* c, Request* req, RunFn run) {
  // Set on both paths: an attempt may ask what kind of request it serves (a disconnect or a
  // send in the send queue) by comparing run functions.
  req->priv.run = run;
  if (t_loop == c) return run(req);
  pthread_mutex_lock(&c->mu);
  c->submissions.push(req);
  bool need = !c->wake_pending;
  c->wake_pending = true;
  pthread_mutex_unlock(&c->mu);
  wake(c, need);
  return Status::Pending;
}

void kick(Socket* s) {
  Client* c = s->client;
  if (t_loop == c) {
    socket_process(s);
    return;
  }
  pthread_mutex_lock(&c->mu);
  // Set and linked under the same lock that free_zombies() takes to unlink, so a socket is never
  // seen as queued before it is on the list.
  if (s->kick_queued.exchange(true, std::memory_order_acq_rel)) {
    pthread_mutex_unlock(&c->mu);
    return;
  }
  s->kick_next = c->kicks;
  c->kicks = s;
  bool need = !c->wake_pending;
  c->wake_pending = true;
  pthread_mutex_unlock(&c->mu);
  wake(c, need);
}

void yield_read(Socket* s) {
  if (engine_level_triggered(s->client) && !s->rdhup && !s->hup) {
    s->readable = false;
    return;
  }
  // Already queued from an earlier turn: it just read, so the next read waits a turn again
  // (without this, the engine's event and the yield list would both read it in one turn and
  // the second read would mostly find nothing: one wasted recv per message on a busy stream).
  unyield(s);
  Client* c = s->client;
  s->yield_queued = true;
  s->yield_turn = c->turn;
  s->yield_next = nullptr;
  s->yield_prev = c->yield_tail;
  if (c->yield_tail != nullptr) {
    c->yield_tail->yield_next = s;
  } else {
    c->yield_head = s;
  }
  c->yield_tail = s;
}

void unyield(Socket* s) {
  if (!s->yield_queued) return;
  Client* c = s->client;
  if (s->yield_prev != nullptr) {
    s->yield_prev->yield_next = s->yield_next;
  } else {
    c->yield_head = s->yield_next;
  }
  if (s->yield_next != nullptr) {
    s->yield_next->yield_prev = s->yield_prev;
  } else {
    c->yield_tail = s->yield_prev;
  }
  s->yield_next = nullptr;
  s->yield_prev = nullptr;
  s->yield_queued = false;
}

void starve(Socket* s) {
  s->readable = false;
  if (s->starved) return;
  Client* c = s->client;
  if (c->starved == nullptr) {
    // The first listener of a round sets the retry time; each round that fails again doubles
    // the backoff, up to kAcceptRetryMaxMs.
    uint32_t backoff = c->starved_backoff_ms != 0 ? c->starved_backoff_ms : kAcceptRetryMinMs;
    c->starved_retry_ms = now_ms() + backoff;
    c->starved_backoff_ms = backoff * 2 < kAcceptRetryMaxMs ? backoff * 2 : kAcceptRetryMaxMs;
  }
  s->starved = true;
  s->starved_next = c->starved;
  c->starved = s;
}

void unstarve(Socket* s) {
  if (!s->starved) return;
  for (Socket** link = &s->client->starved; *link != nullptr; link = &(*link)->starved_next) {
    if (*link == s) {
      *link = s->starved_next;
      break;
    }
  }
  s->starved_next = nullptr;
  s->starved = false;
}

void fd_released(Client* c) {
  if (c->starved != nullptr) c->fd_released = true;
}

void accept_recovered(Client* c) {
  c->starved_backoff_ms = 0;
}

void free_socket_cache(Client* c) {
  c->socket_cache.clear([](void* block) { detail::release(block, detail::kTagSocket); });
  c->buffer_pool.clear([](void* block) { detail::release(block, detail::kTagBuffer); });
}

uint8_t* buffer_get(Client* c) {
  if (void* block = c->buffer_pool.take()) return static_cast<uint8_t*>(block);
  return static_cast<uint8_t*>(detail::alloc(kIndicationBufferSize, detail::kTagBuffer));
}

void buffer_put(Client* c, uint8_t* buf) {
  if (!c->buffer_pool.put(buf)) detail::release(buf, detail::kTagBuffer);
}

namespace {
/// Gives the socket's indication buffer back where it came from: the engine (io_uring's
/// received buffers) or the client's pool.
void drop_indication_buffer(Socket* s) {
  if (s->ind_engine) {
    engine_streams(s)->give_back(s->client, s->ind_buf);
    s->ind_engine = false;
  } else {
    buffer_put(s->client, s->ind_buf);
  }
  s->ind_buf = nullptr;
}
}  // namespace

void indication_buffer_done(Socket* s) {
  if (s->ind_buf == nullptr || s->ind_len != 0 || s->retained.load(std::memory_order_acquire)) {
    return;
  }
  drop_indication_buffer(s);
}

void bury(Socket* s) {
  Client* c = s->client;
  s->zombie_next = c->zombies;
  c->zombies = s;
}

void free_zombies(Client* c) {
  Socket* z = c->zombies;
  if (z == nullptr) return;
  c->zombies = nullptr;
  pthread_mutex_lock(&c->mu);
  // A socket may still be on the kick list (a release raced with its close): unlink it.
  for (Socket* s = z; s != nullptr; s = s->zombie_next) {
    if (!s->kick_queued.load(std::memory_order_acquire)) continue;
    for (Socket** link = &c->kicks; *link != nullptr; link = &(*link)->kick_next) {
      if (*link == s) {
        *link = s->kick_next;
        break;
      }
    }
  }
  pthread_mutex_unlock(&c->mu);
  while (z != nullptr) {
    Socket* next = z->zombie_next;
    udp_free_slots(z);
    // A buffer still held at close (retained or partly left) goes back to the pool or engine.
    if (z->ind_buf != nullptr) drop_indication_buffer(z);
    detail::fini_socket_base(&z->base);
    z->~Socket();
    // Kept for reuse unless the cache is full or the build is checked (quarantine).
    if (detail::kChecked || !c->socket_cache.put(z)) {
      detail::release_socket_memory(z, detail::kTagSocket);
    }
    z = next;
  }
  // Memory goes back as connections go: no more idle objects than the client has live sockets.
  uint32_t live = c->base.sockets.load(std::memory_order_acquire);
  c->socket_cache.trim(live, [](void* block) { detail::release(block, detail::kTagSocket); });
  c->buffer_pool.trim(live, [](void* block) { detail::release(block, detail::kTagBuffer); });
  pthread_mutex_lock(&c->mu);
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

namespace {

/// Probes, once, what the host allows: IPv6 loopback, raw sockets.
struct HostFacts {
  bool ipv6;
  bool raw;
};

HostFacts probe_host() {
  HostFacts f{false, false};
  int fd = socket_nb(AF_INET6, SOCK_STREAM, 0);
  if (fd >= 0) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    f.ipv6 = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
  }
  fd = socket_nb(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (fd >= 0) {
    f.raw = true;
    ::close(fd);
  }
  return f;
}

const HostFacts& host() {
  static const HostFacts facts = probe_host();
  return facts;
}

}  // namespace
}  // namespace xwsk::posix

namespace xwsk::backend {

using namespace posix;

const char* name() {
  return engine_name();
}

uint32_t capabilities() {
  uint32_t caps = kCapUdp | kCapEvents | kCapStreamCategory | kCapBasicCategory | kCapDisconnect |
                  kCapAddressQueries | kCapSocketConnect | kCapConnectEx | kCapControlClient |
                  kCapNameInfo | kCapConditionalAccept | kCapControlSocket | kCapChainedBuffers |
                  kCapSendMessages | kCapAbortiveClose;
  if (host().ipv6) caps |= kCapIpv6;
  if (host().raw) caps |= kCapRaw;
  return caps;
}

const char* capability_reason(Capability cap) {
  switch (cap) {
    case kCapIpv6:
      return "the host has no IPv6 loopback (::1 cannot be bound)";
    case kCapRaw:
      return "raw sockets need CAP_NET_RAW, which this process does not have";
    case kCapConditionalAccept:
      return "";
    default:
      return "not supported by the POSIX backend";
  }
}

Status client_create(const ClientNpi* npi, Client** out) {
  (void)npi;
  void* mem = detail::alloc(sizeof(Client), detail::kTagClient);
  if (mem == nullptr) return Status::InsufficientResources;
  memset(mem, 0, sizeof(Client));
  Client* c = new (mem) Client;
  pthread_mutex_init(&c->mu, nullptr);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&c->cv, &ca);
  pthread_cond_init(&c->resolver_cv, nullptr);
  pthread_condattr_destroy(&ca);
  Status st = engine_create(c);
  if (st == Status::Success) {
    if (pthread_create(&c->thread, nullptr, loop_main, c) == 0) {
      *out = c;
      return Status::Success;
    }
    engine_destroy(c);
    st = Status::InsufficientResources;
  }
  pthread_cond_destroy(&c->resolver_cv);
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
  c->~Client();
  detail::release(c, detail::kTagClient);
  return st;
}

void client_destroy(Client* c) {
  // WskDeregister semantics: wait until every capture is released and every socket closed.
  pthread_mutex_lock(&c->mu);
  while (c->base.sockets.load(std::memory_order_acquire) != 0 ||
         c->base.captures.load(std::memory_order_acquire) != 0) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 20 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec += 1;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->cv, &c->mu, &ts);
  }
  pthread_mutex_unlock(&c->mu);
  resolver_stop(c);  // finishes queued lookups; their completions go through the loop
  pthread_mutex_lock(&c->mu);
  c->stop = true;
  bool need = !c->wake_pending;
  c->wake_pending = true;
  pthread_mutex_unlock(&c->mu);
  if (need) engine_wake(c);
  pthread_join(c->thread, nullptr);
  posix::free_socket_cache(c);
  engine_destroy(c);
  pthread_cond_destroy(&c->resolver_cv);
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
  c->base.magic = detail::kDeadMagic;
  c->~Client();
  detail::release(c, detail::kTagClient);
}

}  // namespace xwsk::backend
