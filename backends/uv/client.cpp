// SPDX-License-Identifier: MIT
/// @file client.cpp
/// @brief The client and its loop thread, the submission queue, request dispatch, socket
/// lifetime, backend facts, and the thin xwsk::backend entry points.
#include <stdlib.h>
#include <string.h>
#include <chrono>

#include <new>

#include "backend.h"

namespace xwsk {
namespace uv {

namespace {

/// The client whose loop runs on this thread (null elsewhere).
thread_local const Client* t_loop_client = nullptr;

/// Re-evaluates what @p s watches after its event mask changed or indications came back.
void update(Socket* s) {
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
    if (s->close_started || !s->handle_open) continue;
    if ((flags & (kKickRelease | kKickEvents)) != 0) update(s);
  }
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
  while (Request* r = q.pop()) {
    if ((r->priv.op & kOpDeferred) != 0) {
      r->priv.op &= ~kOpDeferred;
      --c->deferred;
    }
    dispatch(c, r);
  }
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

void notify_idle(Client* c) {
  std::lock_guard<std::mutex> lock(c->idle_mu);
  c->idle_cv.notify_all();
}

Status socket_run(Client* c, Request* req) {
  OpState* op = op_of(req);
  auto a = op->sock;
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

}  // namespace

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

// ---- Cursor / queues -------------------------------------------------------------------------

void Cursor::init(const Buf& buf) {
  seg = buf.segment;
  off = buf.offset;
  left = buf.length;
  done = 0;
  while (seg != nullptr && left != 0 && off >= seg->length) {
    off -= seg->length;
    seg = seg->next;
  }
}

char* Cursor::chunk(size_t* len) const {
  if (left == 0 || seg == nullptr) {
    *len = 0;
    return nullptr;
  }
  size_t n = seg->length - off;
  *len = n < left ? n : left;
  return static_cast<char*>(seg->data) + off;
}

void Cursor::advance(size_t n) {
  done += n;
  left -= n;
  while (n != 0 && seg != nullptr) {
    size_t avail = seg->length - off;
    if (n < avail) {
      off += n;
      n = 0;
    } else {
      n -= avail;
      seg = seg->next;
      off = 0;
    }
  }
  while (left != 0 && seg != nullptr && off >= seg->length) {
    seg = seg->next;
    off = 0;
  }
}

unsigned Cursor::fill(uv_buf_t* bufs, unsigned max) const {
  unsigned n = 0;
  size_t remaining = left;
  const Segment* s = seg;
  size_t o = off;
  while (n < max && remaining != 0 && s != nullptr) {
    size_t len = s->length - o;
    if (len > remaining) len = remaining;
    if (len != 0) {
      bufs[n] = uv_buf_init(static_cast<char*>(s->data) + o, static_cast<unsigned>(len));
      ++n;
      remaining -= len;
    }
    s = s->next;
    o = 0;
  }
  return n;
}

bool datagrams_fit(Request* req, unsigned max_pieces) {
  auto& a = op_of(req)->send_to;
  uv_buf_t bufs[kMaxDatagramPieces + 1];
  if (max_pieces > kMaxDatagramPieces) max_pieces = kMaxDatagramPieces;
  if (req->priv.op == kOpSendTo) return a.cur.fill(bufs, max_pieces + 1) <= max_pieces;
  for (BufList* e = a.list; e != nullptr; e = e->next) {
    Cursor c;
    c.init(e->buffer);
    if (c.fill(bufs, max_pieces + 1) > max_pieces) return false;
  }
  return true;
}

bool ReqQueue::remove(Request* r) {
  Request* prev = nullptr;
  for (Request* it = head; it != nullptr; prev = it, it = it->priv.next) {
    if (it != r) continue;
    if (prev == nullptr) {
      head = it->priv.next;
    } else {
      prev->priv.next = it->priv.next;
    }
    if (tail == it) tail = prev;
    it->priv.next = nullptr;
    return true;
  }
  return false;
}

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

// ---- loop, submission, dispatch --------------------------------------------------------------

bool on_loop(const Client* c) {
  return t_loop_client == c;
}

Status submit(Client* c, Request* req) {
  {
    std::lock_guard<std::mutex> lock(c->mu);
    c->submissions.push(req);
  }
  uv_async_send(&c->wakeup);
  return Status::Pending;
}

void kick(Socket* s, uint32_t flags) {
  Client* c = s->base.client;
  s->kick_flags.fetch_or(flags, std::memory_order_acq_rel);
  if (on_loop(c)) {
    uint32_t f = s->kick_flags.exchange(0, std::memory_order_acq_rel);
    if (s->close_started || !s->handle_open) return;
    if (f != 0) update(s);
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

Status dispatch(Client* c, Request* req) {
  switch (req->priv.op) {
    case kOpSocket: {
      Status st = socket_run(c, req);
      client_op_done(c);
      return st;
    }
    case kOpSocketConnect: {
      Status st = socket_connect_run(c, req);
      client_op_done(c);
      return st;
    }
    case kOpGetAddrInfo:
      return get_address_info_run(c, req);
    case kOpGetNameInfo:
      return get_name_info_run(c, req);
    default:
      break;
  }
  Socket* s = req->priv.socket;
  if (s == nullptr) return detail::complete(req, Status::InvalidParameter, 0);
  if (s->close_started) return detail::complete(req, Status::Cancelled, 0);
  bool tcp = s->kind == HandleKind::Tcp;
  bool raw = s->kind == HandleKind::Raw;
  switch (req->priv.op) {
    case kOpBind:
      return tcp ? tcp_bind(s, req) : raw ? raw_bind(s, req) : udp_bind(s, req);
    case kOpListen:
      return tcp_listen(s, req);
    case kOpAccept:
      return tcp_accept(s, req);
    case kOpConnect:
      return tcp_connect(s, req);
    case kOpSend:
      return tcp_send(s, req);
    case kOpReceive:
      return tcp_receive(s, req);
    case kOpDisconnect:
      return tcp_disconnect(s, req);
    case kOpSendTo:
    case kOpSendMessages:
      return raw ? raw_send(s, req) : udp_send(s, req);
    case kOpReceiveFrom:
      return raw ? raw_receive(s, req) : udp_receive(s, req);
    case kOpGetLocal:
      return address_query_run(s, req, true);
    case kOpGetRemote:
      return address_query_run(s, req, false);
    case kOpInspectComplete:
      return tcp_inspect_complete(s, req);
    case kOpControlSocket:
      return control_socket_run(s, req);
    case kOpClose:
      return tcp ? tcp_close(s, req) : raw ? raw_close(s, req) : udp_close(s, req);
    default:
      return detail::complete(req, Status::InvalidDeviceRequest, 0);
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
  s->error = Status::Success;
  s->close_done = false;
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
    s->close_done = true;
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
  if (!s->close_done || !s->handle_closed) return;
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

}  // namespace uv

// ---------------------------------------------------------------------------------------------
// xwsk::backend: facts, requests, segments, clients
// ---------------------------------------------------------------------------------------------
namespace backend {

using uv::op_of;

namespace {
void* default_allocate(size_t size, uint32_t, void*) {
  return malloc(size);
}
void default_release(void* p, uint32_t, void*) {
  free(p);
}

constexpr uint32_t kCaps = kCapIpv6 | kCapUdp | kCapEvents | kCapStreamCategory |
                           kCapBasicCategory | kCapDisconnect | kCapAddressQueries |
                           kCapSocketConnect | kCapConnectEx | kCapControlClient | kCapNameInfo |
                           kCapConditionalAccept | kCapControlSocket | kCapChainedBuffers |
                           kCapSendMessages | kCapRaw | kCapAbortiveClose;

/// Runs @p req now when called on the loop thread, else hands it to the loop. Inline runs nest
/// (a completion routine issuing the next call that completes inline, and so on): past
/// kMaxInlineDepth the call is deferred to the loop's next turn instead, and later calls from
/// the loop thread follow it until the deferred ones ran, so that requests keep their order.
Status run_or_submit(Client* c, Request* req, uint32_t op) {
  req->priv.op = op;
  if (!uv::on_loop(c)) return uv::submit(c, req);
  if (c->inline_depth < uv::kMaxInlineDepth && c->deferred == 0) {
    ++c->inline_depth;
    Status st = uv::dispatch(c, req);
    --c->inline_depth;
    return st;
  }
  ++c->deferred;
  req->priv.op |= uv::kOpDeferred;
  return uv::submit(c, req);
}

Status run_or_submit(Socket* s, Request* req, uint32_t op) {
  return run_or_submit(s->base.client, req, op);
}
}  // namespace

const Allocator kDefaultAllocator = {default_allocate, default_release, nullptr};

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

Status request_init(Request* req) {
  (void)req;
  return Status::Success;
}
void request_free(Request* req) {
  (void)req;
}
Status segment_init(Segment* seg, void* data, size_t length) {
  (void)seg;
  (void)data;
  (void)length;
  return Status::Success;
}
void segment_free(Segment* seg) {
  (void)seg;
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

// ---- client-level operations ------------------------------------------------------------------

Status socket(Client* client, AddressFamily family, SocketType type, Protocol protocol,
              uint32_t category, void* socket_context, const void* dispatch, Request* req) {
  auto& a = op_of(req)->sock;
  a.family = family;
  a.type = type;
  a.protocol = protocol;
  a.category = category;
  a.context = socket_context;
  a.dispatch = dispatch;
  // Counted until created, so that deregistration never races a queued creation.
  client->client_ops.fetch_add(1, std::memory_order_acq_rel);
  return run_or_submit(client, req, uv::kOpSocket);
}

Status socket_connect(Client* client, SocketType type, Protocol protocol, const SockAddr* local,
                      const SockAddr* remote, uint32_t flags, void* socket_context,
                      const ConnectionDispatch* dispatch, Request* req) {
  (void)type;
  (void)protocol;
  auto& a = op_of(req)->sock_connect;
  a.local = *local;
  a.remote = *remote;
  a.flags = flags;
  a.context = socket_context;
  a.dispatch = dispatch;
  client->client_ops.fetch_add(1, std::memory_order_acq_rel);
  return run_or_submit(client, req, uv::kOpSocketConnect);
}

Status control_client(Client* client, uint32_t control_code, size_t input_size, const void* input,
                      size_t output_size, void* output, size_t* output_size_returned,
                      Request* req) {
  // Touches no loop state: runs on the calling thread.
  return uv::control_client_run(client, control_code, input_size, input, output_size, output,
                                output_size_returned, req);
}

Status get_address_info(Client* client, const char* node, const char* service, uint32_t name_space,
                        const AddrInfo* hints, AddrInfo** result, Request* req) {
  auto& a = op_of(req)->gai;
  a.node = node;
  a.service = service;
  a.name_space = name_space;
  a.hints = hints;
  a.result = result;
  client->client_ops.fetch_add(1, std::memory_order_acq_rel);
  return run_or_submit(client, req, uv::kOpGetAddrInfo);
}

Status get_name_info(Client* client, const SockAddr* address, char* node, size_t node_size,
                     char* service, size_t service_size, uint32_t flags, Request* req) {
  auto& a = op_of(req)->gni;
  a.address = *address;
  a.node = node;
  a.node_size = node_size;
  a.service = service;
  a.service_size = service_size;
  a.flags = flags;
  client->client_ops.fetch_add(1, std::memory_order_acq_rel);
  return run_or_submit(client, req, uv::kOpGetNameInfo);
}

// ---- socket operations --------------------------------------------------------------------------

Status bind(Socket* s, const SockAddr* local, uint32_t flags, Request* req) {
  auto& a = op_of(req)->bind;
  a.addr = *local;
  a.flags = flags;
  return run_or_submit(s, req, uv::kOpBind);
}

Status listen(Socket* s, Request* req) {
  return run_or_submit(s, req, uv::kOpListen);
}

Status accept(Socket* s, uint32_t flags, void* accept_socket_context,
              const ConnectionDispatch* dispatch, SockAddr* local, SockAddr* remote, Request* req) {
  auto& a = op_of(req)->accept;
  a.flags = flags;
  a.context = accept_socket_context;
  a.dispatch = dispatch;
  a.local = local;
  a.remote = remote;
  return run_or_submit(s, req, uv::kOpAccept);
}

Status connect(Socket* s, const SockAddr* remote, uint32_t flags, Request* req) {
  (void)flags;
  auto& a = op_of(req)->connect;
  a.remote = *remote;
  a.has_data = false;
  a.data = uv::Cursor{nullptr, 0, 0, 0};
  return run_or_submit(s, req, uv::kOpConnect);
}

Status connect_ex(Socket* s, const SockAddr* remote, const Buf* data, uint32_t flags,
                  Request* req) {
  (void)flags;
  auto& a = op_of(req)->connect;
  a.remote = *remote;
  a.has_data = data != nullptr && data->length != 0;
  a.data = uv::Cursor{nullptr, 0, 0, 0};
  if (a.has_data) a.data.init(*data);
  return run_or_submit(s, req, uv::kOpConnect);
}

Status send(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  auto& a = op_of(req)->io;
  a.cur.init(*buf);
  a.flags = flags;
  return run_or_submit(s, req, uv::kOpSend);
}

Status receive(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  auto& a = op_of(req)->io;
  a.cur.init(*buf);
  a.flags = flags;
  return run_or_submit(s, req, uv::kOpReceive);
}

Status disconnect(Socket* s, const Buf* final_data, uint32_t flags, Request* req) {
  auto& a = op_of(req)->io;
  a.cur = uv::Cursor{nullptr, 0, 0, 0};
  if (final_data != nullptr) a.cur.init(*final_data);
  a.flags = flags;
  return run_or_submit(s, req, uv::kOpDisconnect);
}

Status send_to(Socket* s, const Buf* buf, uint32_t flags, const SockAddr* remote,
               size_t control_length, const void* control, Request* req) {
  (void)flags;
  (void)control_length;
  (void)control;
  auto& a = op_of(req)->send_to;
  a.list = nullptr;
  a.cur.init(*buf);
  a.has_remote = remote != nullptr;
  if (remote != nullptr) a.remote = *remote;
  a.total = 0;
  a.started = true;
  return run_or_submit(s, req, uv::kOpSendTo);
}

Status receive_from(Socket* s, const Buf* buf, uint32_t flags, SockAddr* remote,
                    size_t* control_length, void* control, uint32_t* control_flags, Request* req) {
  (void)flags;
  (void)control;
  auto& a = op_of(req)->recv_from;
  a.cur.init(*buf);
  a.remote = remote;
  a.control_length = control_length;
  a.control_flags = control_flags;
  return run_or_submit(s, req, uv::kOpReceiveFrom);
}

Status send_messages(Socket* s, BufList* list, uint32_t flags, const SockAddr* remote,
                     size_t control_length, const void* control, Request* req) {
  (void)flags;
  (void)control_length;
  (void)control;
  auto& a = op_of(req)->send_to;
  a.list = list;
  a.cur = uv::Cursor{nullptr, 0, 0, 0};
  a.has_remote = remote != nullptr;
  if (remote != nullptr) a.remote = *remote;
  a.total = 0;
  a.started = false;
  return run_or_submit(s, req, uv::kOpSendMessages);
}

Status get_local_address(Socket* s, SockAddr* local, Request* req) {
  op_of(req)->query.addr = local;
  return run_or_submit(s, req, uv::kOpGetLocal);
}

Status get_remote_address(Socket* s, SockAddr* remote, Request* req) {
  op_of(req)->query.addr = remote;
  return run_or_submit(s, req, uv::kOpGetRemote);
}

Status release_data_indications(Socket* s, DataIndication* list) {
  if (list != &s->data_ind) return Status::InvalidParameter;
  if (!s->retained.exchange(false, std::memory_order_acq_rel)) return Status::InvalidParameter;
  detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
  uv::kick(s, uv::kKickRelease);
  return Status::Success;
}

Status release_datagram_indications(Socket* s, DatagramIndication* list) {
  (void)list;  // the one list a datagram socket can have retained (its receive buffer's)
  if (!s->retained.exchange(false, std::memory_order_acq_rel)) return Status::InvalidParameter;
  detail::g_counters.retained_indications.fetch_sub(1, std::memory_order_relaxed);
  uv::kick(s, uv::kKickRelease);
  return Status::Success;
}

Status inspect_complete(Socket* s, const InspectId* inspect_id, InspectAction action,
                        Request* req) {
  auto& a = op_of(req)->inspect;
  a.id = *inspect_id;
  a.action = action;
  return run_or_submit(s, req, uv::kOpInspectComplete);
}

Status set_event_mask(Socket* s, uint32_t old_mask, uint32_t new_mask) {
  (void)old_mask;
  s->base.event_mask.store(new_mask, std::memory_order_release);
  uv::kick(s, uv::kKickEvents);
  return Status::Success;
}

Status control_socket(Socket* s, ControlType type, uint32_t control_code, uint32_t level,
                      size_t input_size, const void* input, size_t output_size, void* output,
                      size_t* output_size_returned, Request* req) {
  auto& a = op_of(req)->control;
  a.type = type;
  a.code = control_code;
  a.level = level;
  a.input_size = input_size;
  a.input = input;
  a.output_size = output_size;
  a.output = output;
  a.output_size_returned = output_size_returned;
  return run_or_submit(s, req, uv::kOpControlSocket);
}

Status close_socket(Socket* s, Request* req) {
  return run_or_submit(s, req, uv::kOpClose);
}

}  // namespace backend

}  // namespace xwsk
