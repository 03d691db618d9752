// SPDX-License-Identifier: MIT
/// @file socket.cpp
/// @brief Socket objects and their lifecycle: creation (socket), the Phase state machine,
/// bind, listen, the address queries, set_event_mask and close_socket (each entry point picks
/// the run function of the socket's kind: tcp.cpp, udp.cpp, raw.cpp); socket memory (the
/// per-client cache of closed sockets, the pool of stream indication buffers); the request
/// queues.
///
/// The lifecycle (Socket::phase; every move goes through set_phase(), which checks it against
/// this table in debug builds). Datagram and raw sockets use Open, Bound, Closing and Closed.
///
///   from        event                                              to
///   ----------  -------------------------------------------------  ----------
///   Open        bind (socket_connect: its local bind)              Bound
///   Open        connection accepted (uv_accept)                    Connected
///   Bound       listen, or bind of a listening socket              Listening
///   Bound       connect / connect_ex / socket_connect              Connecting
///   Connecting  connected (uv_connect callback, status 0)          Connected
///   Connecting  connect failed                                     Bound
///   Connected   abortive disconnect (uv_tcp_close_reset)           Aborted
///   any but Closing and Closed:
///               close_socket, or an internal close (a rejected or
///               never handed out connection, a failed
///               socket_connect)                                    Closing
///   Closing     close request completed (or none was issued)       Closed
///
/// The two directions of a connected stream are flags beside the phase: send_closed (our FIN
/// sent: graceful disconnect done) and receive_closed (the peer's FIN read). A socket is freed
/// when it is Closed and libuv's close callback for its handle ran.
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <new>

#include "backend.h"

namespace xwsk::uv {

namespace {

/// Bit @p to set in kLegal[from]: the move from -> to is in the table above.
constexpr uint8_t bit(Phase p) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(p));
}
constexpr uint8_t kToClosing = bit(Phase::Closing);
constexpr uint8_t kLegal[] = {
    /* Open */ static_cast<uint8_t>(bit(Phase::Bound) | bit(Phase::Connected) | kToClosing),
    /* Bound */
    static_cast<uint8_t>(bit(Phase::Listening) | bit(Phase::Connecting) | kToClosing),
    /* Listening */ kToClosing,
    /* Connecting */ static_cast<uint8_t>(bit(Phase::Connected) | bit(Phase::Bound) | kToClosing),
    /* Connected */ static_cast<uint8_t>(bit(Phase::Aborted) | kToClosing),
    /* Aborted */ kToClosing,
    /* Closing */ bit(Phase::Closed),
    /* Closed */ 0,
};
static_assert(sizeof(kLegal) == static_cast<size_t>(Phase::Closed) + 1, "one row per phase");

Status socket_create(Client* c, Request* req) {
  const SocketIo& a = *detail::op_state<SocketIo>(req);
  Socket* s = socket_alloc(c);
  if (s == nullptr) return detail::complete(req, Status::InsufficientResources, 0);
  s->kind = a.type == SocketType::Stream     ? HandleKind::Tcp
            : a.type == SocketType::Datagram ? HandleKind::Udp
                                             : HandleKind::Raw;
  s->base.family = a.family;
  s->base.protocol = a.protocol;
  Status st = s->kind == HandleKind::Tcp   ? tcp_open(s)
              : s->kind == HandleKind::Udp ? udp_open(s)
                                           : raw_open(s);
  if (st != Status::Success) {
    if (!s->free_on_close) socket_discard(s);
    return detail::complete(req, st, 0);
  }
  detail::init_socket_base(&s->base, c, a.family, a.type, a.protocol, a.category, a.context,
                           a.dispatch);
  link_socket(s);
  return detail::complete(req, Status::Success, reinterpret_cast<uintptr_t>(s));
}

Status socket_run(Request* req) {
  Client* c = detail::op_state<SocketIo>(req)->client;
  Status st = socket_create(c, req);
  client_op_done(c);
  return st;
}

}  // namespace

void set_phase(Socket* s, Phase to) {
  assert((kLegal[static_cast<unsigned>(s->phase)] & bit(to)) != 0 && "illegal phase change");
  s->phase = to;
}

// ---- request queues ------------------------------------------------------------------------

void fail_queue(ReqQueue* q, Status st) {
  ReqQueue all = *q;
  *q = ReqQueue{};
  while (Request* r = all.pop())
    detail::complete(r, st, 0);
}

void fail_queue_keep_inflight(Socket* s, Status st) {
  Request* inflight = s->write_active ? s->sends.pop() : nullptr;
  fail_queue(&s->sends, st);
  if (inflight != nullptr) s->sends.push(inflight);
}

/// Re-evaluates what @p s watches after its event mask changed or indications came back.
void socket_update(Socket* s) {
  switch (s->kind) {
    case HandleKind::Tcp:
      tcp_update(s);
      break;
    case HandleKind::Udp:
      udp_update(s);
      break;
    case HandleKind::Raw:
      raw_update(s);
      break;
  }
}

// ---- socket lifetime ---------------------------------------------------------------------------

namespace {
void attach_indication_buffer(Socket* s, char* buf) {
  s->ind_data = buf;
  s->ind_size = kIndicationSize;
  s->ind_seg.next = nullptr;
  s->ind_seg.data = s->ind_data;
  s->ind_seg.length = s->ind_size;
  s->ind_seg.native = nullptr;
}
}  // namespace

Socket* socket_alloc(Client* c) {
  void* mem = c->socket_cache.take();  // a closed socket from the cache (loop thread)
  if (mem == nullptr) {
    mem = detail::alloc(sizeof(Socket), detail::kTagSocket);
    if (mem == nullptr) return nullptr;
  }
  memset(mem, 0, sizeof(Socket));
  Socket* s = new (mem) Socket;
  s->base.client = c;
  s->phase = Phase::Open;
  s->error = Status::Success;
  s->retained.store(false, std::memory_order_relaxed);
  s->kick_flags.store(0, std::memory_order_relaxed);
  return s;
}

void link_socket(Socket* s) {
  Client* c = s->base.client;
  s->prev = nullptr;
  s->next = c->sockets;
  if (c->sockets != nullptr) c->sockets->prev = s;
  c->sockets = s;
}

void complete_close_request(Socket* s) {
  if (Request* r = s->close_req) {
    s->close_req = nullptr;
    detail::complete(r, Status::Success, 0);
    set_phase(s, Phase::Closed);
  }
}

void hold_begin(Socket* s) {
  s->retained.store(true, std::memory_order_release);
  detail::g_counters.retained_indications.fetch_add(1, std::memory_order_relaxed);
}

bool hold_end(Socket* s, Status st) {
  if (st == Status::Pending) return true;
  if (s->retained.exchange(false, std::memory_order_acq_rel)) {
    detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
  }
  return false;
}

void disable_refused_event(Socket* s) {
  // Static event callbacks (WSK_SET_STATIC_EVENT_CALLBACKS) cannot be disabled: they stay.
  uint32_t statics =
      detail::base_of(s->base.client)->static_event_mask.load(std::memory_order_acquire);
  if ((statics & kEventReceiveFrom) == 0) {
    s->base.event_mask.fetch_and(~kEventReceiveFrom, std::memory_order_acq_rel);
  }
}

namespace {
void buffer_put(Client* c, char* buf) {
  if (!c->buffer_pool.put(buf)) detail::release(buf, detail::kTagBuffer);
}
}  // namespace

char* indication_buffer(Socket* s) {
  if (s->ind_data == nullptr) {
    Client* c = s->base.client;
    char* buf = static_cast<char*>(c->buffer_pool.take());
    if (buf == nullptr) {
      buf = static_cast<char*>(detail::alloc(kIndicationSize, detail::kTagBuffer));
      if (buf == nullptr) return nullptr;
    }
    attach_indication_buffer(s, buf);
  }
  return s->ind_data;
}

void indication_buffer_idle(Socket* s) {
  if (s->kind != HandleKind::Tcp || s->ind_data == nullptr || s->ind_len != 0 ||
      s->retained.load(std::memory_order_acquire)) {
    return;
  }
  buffer_put(s->base.client, s->ind_data);
  s->ind_data = nullptr;
}

void socket_discard(Socket* s) {
  if (s->ind_data != nullptr) detail::release(s->ind_data, detail::kTagBuffer);
  detail::release(s, detail::kTagSocket);
}

void free_socket_cache(Client* c) {
  c->socket_cache.clear([](void* block) { detail::release(block, detail::kTagSocket); });
  c->buffer_pool.clear([](void* block) { detail::release(block, detail::kTagBuffer); });
}

void socket_maybe_free(Socket* s) {
  if (s->phase != Phase::Closed || !s->handle_closed) return;
  Client* c = s->base.client;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    if (s->kicked) {
      for (Socket** list : {&c->kicks, &c->kicks_running}) {
        Socket** pp = list;
        while (*pp != nullptr && *pp != s)
          pp = &(*pp)->kick_next;
        if (*pp == s) *pp = s->kick_next;
      }
      s->kicked = false;
    }
  }
  if (s->retained.exchange(false, std::memory_order_acq_rel)) {
    // The client never released what it kept: the socket is gone, so is the indication.
    detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
  }
  if (s->prev != nullptr) {
    s->prev->next = s->next;
  } else if (c->sockets == s) {
    c->sockets = s->next;
  }
  if (s->next != nullptr) s->next->prev = s->prev;
  if (s->udp_rx != nullptr) udp_free(s);
  detail::fini_socket_base(&s->base);
  if (s->ind_data != nullptr) {
    // Raw sockets own theirs; a stream socket's goes back to the pool (also one still held).
    if (s->kind == HandleKind::Tcp) {
      buffer_put(c, s->ind_data);
    } else {
      detail::release(s->ind_data, detail::kTagBuffer);
    }
  }
  s->~Socket();
  // Kept for socket_alloc (libuv is done with the handle), unless the cache is full or the
  // build is checked (quarantine).
  if (detail::kChecked || !c->socket_cache.put(s)) {
    detail::release_socket_memory(s, detail::kTagSocket);
  }
  // Memory goes back as connections go: no more idle objects than the client has live sockets.
  uint32_t live = c->base.sockets.load(std::memory_order_acquire);
  c->socket_cache.trim(live, [](void* block) { detail::release(block, detail::kTagSocket); });
  c->buffer_pool.trim(live, [](void* block) { detail::release(block, detail::kTagBuffer); });
  notify_idle(c);
}

namespace {

Status address_query(Request* req, bool local) {
  Socket* s = req->priv.socket;
  SockAddr* out = detail::op_state<AddressIo>(req)->out;
  sockaddr_storage ss;
  int len = sizeof(ss);
  int r;
  if (!s->handle_open) return wrong_phase(req);
  if (local) {
    if (s->phase == Phase::Open) return wrong_phase(req);
    if (s->kind == HandleKind::Raw) {
      socklen_t slen = sizeof(ss);
      r = getsockname(s->raw_fd, reinterpret_cast<sockaddr*>(&ss), &slen) == 0
              ? 0
              : uv_translate_sys_error(errno);
    } else {
      r = s->kind == HandleKind::Tcp
              ? uv_tcp_getsockname(&s->h.tcp, reinterpret_cast<sockaddr*>(&ss), &len)
              : uv_udp_getsockname(&s->h.udp, reinterpret_cast<sockaddr*>(&ss), &len);
    }
  } else {
    if (s->kind != HandleKind::Tcp || s->phase != Phase::Connected) return wrong_phase(req);
    r = uv_tcp_getpeername(&s->h.tcp, reinterpret_cast<sockaddr*>(&ss), &len);
  }
  if (r != 0) return detail::complete(req, from_uv(r), 0);
  if (!from_native(reinterpret_cast<sockaddr*>(&ss), out)) {
    return detail::complete(req, Status::InvalidAddress, 0);
  }
  return detail::complete(req, Status::Success, sizeof(SockAddr));
}

Status local_address_run(Request* req) {
  return address_query(req, true);
}

Status remote_address_run(Request* req) {
  return address_query(req, false);
}

}  // namespace

void close_begin(Socket* s, Request* req) {
  set_phase(s, Phase::Closing);
  s->close_req = req;
  fail_queue_keep_inflight(s, Status::Cancelled);
  fail_queue(&s->receives, Status::Cancelled);
}

Status release_held(Socket* s) {
  if (!s->retained.exchange(false, std::memory_order_acq_rel)) return Status::InvalidParameter;
  detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
  kick(s, kKickRelease);
  return Status::Success;
}

}  // namespace xwsk::uv

// ---- xwsk::backend entry points: socket objects ----------------------------------------------
namespace xwsk::backend {

using detail::op_state;
using uv::AddressIo;
using uv::HandleKind;

Status socket(Client* client, AddressFamily family, SocketType type, Protocol protocol,
              uint32_t category, void* socket_context, const void* dispatch, Request* req) {
  *op_state<uv::SocketIo>(req) = {.client = client,
                                  .context = socket_context,
                                  .dispatch = dispatch,
                                  .category = category,
                                  .family = family,
                                  .type = type,
                                  .protocol = protocol};
  // Counted until created, so that deregistration never races a queued creation.
  client->client_ops.fetch_add(1, std::memory_order_acq_rel);
  return uv::run_or_submit(client, req, &uv::socket_run);
}

Status bind(Socket* s, const SockAddr* local, uint32_t flags, Request* req) {
  *op_state<AddressIo>(req) = {.addr = *local, .flags = flags};
  return uv::run_or_submit(s, req,
                           s->kind == HandleKind::Tcp   ? &uv::tcp_bind
                           : s->kind == HandleKind::Udp ? &uv::udp_bind
                                                        : &uv::raw_bind);
}

Status listen(Socket* s, Request* req) {
  return uv::run_or_submit(s, req, &uv::tcp_listen);
}

Status get_local_address(Socket* s, SockAddr* local, Request* req) {
  *op_state<AddressIo>(req) = {.out = local};
  return uv::run_or_submit(s, req, &uv::local_address_run);
}

Status get_remote_address(Socket* s, SockAddr* remote, Request* req) {
  *op_state<AddressIo>(req) = {.out = remote};
  return uv::run_or_submit(s, req, &uv::remote_address_run);
}

Status set_event_mask(Socket* s, uint32_t old_mask, uint32_t new_mask) {
  (void)old_mask;
  s->base.event_mask.store(new_mask, std::memory_order_release);
  uv::kick(s, uv::kKickEvents);
  return Status::Success;
}

Status close_socket(Socket* s, Request* req) {
  return uv::run_or_submit(s, req,
                           s->kind == HandleKind::Tcp   ? &uv::tcp_close
                           : s->kind == HandleKind::Udp ? &uv::udp_close
                                                        : &uv::raw_close);
}

}  // namespace xwsk::backend
