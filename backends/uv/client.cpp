// SPDX-License-Identifier: MIT
/// @file client.cpp
/// @brief The client (registration) and its loop thread, the submission queue, run_or_submit
/// (how an operation's run function reaches the loop), kicks, and the backend's facts.
#include <stdlib.h>
#include <string.h>
#include <chrono>

#include <new>

#include "backend.h"

namespace xwsk::uv {

namespace {

/// The client whose loop runs on this thread (null elsewhere).
thread_local const Client* t_loop_client = nullptr;

/// Processes the sockets kicked from other threads. Each is unlinked under the lock just
/// before it is processed, so a kick arriving meanwhile either finds it still listed (its
/// flags are merged) or relists it for the next turn, and a socket freed by an earlier one's
/// callbacks is never reached (socket_maybe_free unlinks it).
void run_kicks(Client* c) {
  for (;;) {
    Socket* s;
    {
      std::lock_guard<std::mutex> lock(c->mu);
      s = c->kicks_running;
      if (s == nullptr) return;
      c->kicks_running = s->kick_next;
      s->kick_next = nullptr;
      s->kicked = false;
    }
    uint32_t flags = s->kick_flags.exchange(0, std::memory_order_acq_rel);
    if (closing(s) || !s->handle_open) continue;
    if ((flags & (kKickRelease | kKickEvents)) != 0) socket_update(s);
  }
}

/// Runs a request on the loop thread: its own function, unless close_socket has started on its
/// socket (then it completes Cancelled).
Status run_request(Request* req) {
  Socket* s = req->priv.socket;
  if (s != nullptr && closing(s)) return detail::complete(req, Status::Cancelled, 0);
  return req->priv.run(req);
}

void on_wakeup(uv_async_t* async) {
  Client* c = static_cast<Client*>(async->data);
  ReqQueue q;
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    q = c->submissions;
    c->submissions = ReqQueue{};
    c->kicks_running = c->kicks;  // still marked kicked until processed
    c->kicks = nullptr;
    stopping = c->stopping;
  }
  // Calls the loop thread deferred (past the inline depth) first, in their order; a call the
  // loop thread makes meanwhile still finds `deferred` non-zero and follows them.
  ReqQueue later = c->later;
  c->later = ReqQueue{};
  while (Request* r = later.pop()) {
    --c->deferred;
    run_request(r);
  }
  while (Request* r = q.pop())
    run_request(r);
  run_kicks(c);
  if (stopping) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->wakeup), nullptr);
    // Every socket is gone; close whatever handle might remain so that uv_run returns.
    uv_walk(
        &c->loop,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
  }
}

void loop_main(Client* c) {
  t_loop_client = c;
  uv_run(&c->loop, UV_RUN_DEFAULT);
  uv_loop_close(&c->loop);
  t_loop_client = nullptr;
}

/// Hands @p req to the loop thread from another thread; returns Pending.
Status submit(Client* c, Request* req) {
  {
    std::lock_guard<std::mutex> lock(c->mu);
    c->submissions.push(req);
  }
  uv_async_send(&c->wakeup);
  return Status::Pending;
}

}  // namespace

void notify_idle(Client* c) {
  std::lock_guard<std::mutex> lock(c->idle_mu);
  c->idle_cv.notify_all();
}

void on_wakeup_entry(uv_async_t* async) {
  on_wakeup(async);
}
void loop_entry(Client* c) {
  loop_main(c);
}

void client_op_done(Client* c) {
  c->client_ops.fetch_sub(1, std::memory_order_acq_rel);
  notify_idle(c);
}

// ---- run_or_submit, kicks -------------------------------------------------------------------

bool on_loop(const Client* c) {
  return t_loop_client == c;
}

/// Runs @p req now when called on the loop thread, else hands it to the loop. Inline runs nest
/// (a completion routine issuing the next call that completes inline, and so on): past
/// kMaxInlineDepth the call is deferred to the loop's next turn instead (Client::later), and
/// later calls from the loop thread follow it until the deferred ones ran, so that requests
/// keep their order.
Status run_or_submit(Client* c, Request* req, RunFn run) {
  req->priv.run = run;  // also while it runs: a queue compares it (what kind of request)
  if (!on_loop(c)) return submit(c, req);
  if (c->inline_depth < kMaxInlineDepth && c->deferred == 0) {
    ++c->inline_depth;
    Status st = run_request(req);  // Cancelled if the socket is closing
    --c->inline_depth;
    return st;
  }
  ++c->deferred;
  c->later.push(req);
  uv_async_send(&c->wakeup);
  return Status::Pending;
}

void kick(Socket* s, uint32_t flags) {
  Client* c = s->base.client;
  s->kick_flags.fetch_or(flags, std::memory_order_acq_rel);
  if (on_loop(c)) {
    uint32_t f = s->kick_flags.exchange(0, std::memory_order_acq_rel);
    if (closing(s) || !s->handle_open) return;
    if (f != 0) socket_update(s);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(c->mu);
    if (!s->kicked) {
      s->kicked = true;
      s->kick_next = c->kicks;
      c->kicks = s;
    }
  }
  uv_async_send(&c->wakeup);
}

}  // namespace xwsk::uv

// ---------------------------------------------------------------------------------------------
// xwsk::backend: facts, requests, segments, clients
// ---------------------------------------------------------------------------------------------
namespace xwsk::backend {

namespace {

constexpr uint32_t kCaps = kCapIpv6 | kCapUdp | kCapEvents | kCapStreamCategory |
                           kCapBasicCategory | kCapDisconnect | kCapAddressQueries |
                           kCapSocketConnect | kCapConnectEx | kCapControlClient | kCapNameInfo |
                           kCapConditionalAccept | kCapControlSocket | kCapChainedBuffers |
                           kCapSendMessages | kCapRaw | kCapAbortiveClose;

}  // namespace

const char* name() {
  return "uv";
}
uint32_t capabilities() {
  return kCaps;
}
const char* capability_reason(Capability cap) {
  (void)cap;  // every capability is present
  return "not supported by the uv backend";
}

Status client_create(const ClientNpi* npi, Client** out) {
  (void)npi;
  void* mem = detail::alloc(sizeof(Client), detail::kTagClient);
  if (mem == nullptr) return Status::InsufficientResources;
  Client* c = new (mem) Client;
  c->kicks = nullptr;
  c->kicks_running = nullptr;
  c->stopping = false;
  c->client_ops.store(0, std::memory_order_relaxed);
  c->sockets = nullptr;
  c->socket_cache = {};
  c->buffer_pool = {};
  c->inline_depth = 0;
  c->deferred = 0;
  if (uv_loop_init(&c->loop) != 0) {
    c->~Client();
    detail::release(mem, detail::kTagClient);
    return Status::InsufficientResources;
  }
  uv_async_init(&c->loop, &c->wakeup, uv::on_wakeup_entry);
  c->wakeup.data = c;
  uv_timer_init(&c->loop, &c->pend_timer);
  c->pend_timer.data = c;
  c->thread = std::thread(uv::loop_entry, c);
  *out = c;
  return Status::Success;
}

void client_destroy(Client* c) {
  {
    // WskDeregister: every socket closed and every capture released. Sockets and client
    // operations notify idle_cv; release_provider() notifies nobody, hence the 20 ms re-check.
    std::unique_lock<std::mutex> lock(c->idle_mu);
    while (c->base.sockets.load(std::memory_order_acquire) != 0 ||
           c->client_ops.load(std::memory_order_acquire) != 0 ||
           c->base.captures.load(std::memory_order_acquire) != 0) {
      c->idle_cv.wait_for(lock, std::chrono::milliseconds(20));
    }
  }
  {
    std::lock_guard<std::mutex> lock(c->mu);
    c->stopping = true;
  }
  uv_async_send(&c->wakeup);
  c->thread.join();
  uv::free_socket_cache(c);
  c->base.magic = detail::kDeadMagic;
  c->~Client();
  detail::release(c, detail::kTagClient);
}

}  // namespace xwsk::backend
