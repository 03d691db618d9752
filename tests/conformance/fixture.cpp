// SPDX-License-Identifier: MIT
#include "fixture.h"

#include <new>

namespace xt {

using xwsk::AddressFamily;
using xwsk::Status;

namespace {

void op_completion(xwsk::Request* req, void* context) {
  (void)req;
  Op* op = static_cast<Op*>(context);
  op->completions.fetch_add(1, std::memory_order_acq_rel);
  op->done.set();
}

uint32_t g_port_cursor = 0;

}  // namespace

// ---- Op -----------------------------------------------------------------------------------------

bool Op::finish(Context& t, Status ret, uint32_t timeout_ms) {
  if (ret != Status::Pending) {
    // Inline completion: the routine has already run, with the returned status.
    XT_ENSURE(t, completed());
    XT_ENSURE_STATUS(t, ret, req.status);
  } else if (!done.wait(timeout_ms)) {
    t.fail(__FILE__, __LINE__, "request did not complete in time");
    return false;
  }
  XT_ENSURE_EQ(t, 1u, completions.load(std::memory_order_acquire));
  return true;
}

void Op::rearm() {
  completions.store(0, std::memory_order_release);
  done.reset();
}

// ---- Buffer -------------------------------------------------------------------------------------

uint8_t pattern_byte(uint32_t seed, size_t index) {
  uint32_t x = seed * 2654435761u + static_cast<uint32_t>(index) * 40503u;
  x ^= x >> 13;
  return static_cast<uint8_t>(x ^ (x >> 7));
}

void Buffer::fill(uint32_t seed) {
  for (size_t i = 0; i < size; ++i) data[i] = pattern_byte(seed, i);
}

bool Buffer::matches(uint32_t seed, size_t offset, size_t n) const {
  if (n > size) return false;
  for (size_t i = 0; i < n; ++i) {
    if (data[i] != pattern_byte(seed, offset + i)) return false;
  }
  return true;
}

xwsk::SockAddr loopback(AddressFamily family, uint16_t port) {
  return family == AddressFamily::Inet6 ? xwsk::ipv6_loopback(port) : xwsk::ipv4_loopback(port);
}

// ---- Env ----------------------------------------------------------------------------------------

struct Env::State {
  xwsk::Socket* sockets[kMaxSockets] = {};
  Op ops[kMaxOps];
  int ops_used = 0;
  Buffer buffers[kMaxBuffers];
  int buffers_used = 0;
};

bool Env::open(Context& t) {
  t_ = &t;
  state_ = new (std::nothrow) State();
  XT_ENSURE(t, state_ != nullptr);
  for (Op& op : state_->ops) {
    XT_ENSURE_STATUS(t, Status::Success, xwsk::request_init(&op.req, op_completion, &op));
    op.initialized = true;
  }
  static const xwsk::ClientDispatch kDispatch = {xwsk::kWskVersion, 0, nullptr};
  xwsk::ClientNpi npi{this, &kDispatch};
  XT_ENSURE_STATUS(t, Status::Success, xwsk::register_client(&npi, &registration_));
  registered_ = true;
  xwsk::ProviderNpi provider{};
  XT_ENSURE_STATUS(t, Status::Success,
                   xwsk::capture_provider(&registration_, xwsk::kInfiniteWait, &provider));
  captured_ = true;
  XT_ENSURE(t, provider.client != nullptr);
  client_ = provider.client;
  return true;
}

Env::~Env() {
  if (state_ != nullptr) {
    // Close whatever the body left open; pending requests complete with Cancelled.
    for (xwsk::Socket*& s : state_->sockets) {
      if (s == nullptr) continue;
      Op closer;
      if (xwsk::request_init(&closer.req, op_completion, &closer) == Status::Success) {
        Status r = xwsk::close_socket(s, &closer.req);
        if (r == Status::Pending) closer.done.wait(kTimeoutMs);
        xwsk::request_free(&closer.req);
      }
      s = nullptr;
    }
  }
  if (captured_) xwsk::release_provider(&registration_);
  if (registered_) xwsk::deregister_client(&registration_);
  if (state_ == nullptr) return;
  for (Buffer& b : state_->buffers) {
    if (b.data == nullptr) continue;
    xwsk::segment_free(&b.seg);
    delete[] b.data;
  }
  bool leaked = false;
  for (Op& op : state_->ops) {
    if (!op.initialized) continue;
    if (xwsk::request_pending(&op.req)) {
      // A request the provider never completed: a contract violation. Leak the state rather
      // than free memory the provider may still write.
      leaked = true;
      continue;
    }
    xwsk::request_free(&op.req);
  }
  if (leaked) {
    if (t_ != nullptr) t_->fail(__FILE__, __LINE__, "a request was still pending at teardown");
    return;
  }
  delete state_;
}

Op* Env::op(Context& t) {
  if (state_ == nullptr || state_->ops_used == kMaxOps) {
    t.fail(__FILE__, __LINE__, "out of test requests");
    return nullptr;
  }
  return &state_->ops[state_->ops_used++];
}

Buffer* Env::buffer(Context& t, size_t size) {
  if (state_ == nullptr || state_->buffers_used == kMaxBuffers) {
    t.fail(__FILE__, __LINE__, "out of test buffers");
    return nullptr;
  }
  Buffer* b = &state_->buffers[state_->buffers_used];
  b->data = new (std::nothrow) uint8_t[size == 0 ? 1 : size];
  if (b->data == nullptr) {
    t.fail(__FILE__, __LINE__, "out of memory");
    return nullptr;
  }
  b->size = size;
  for (size_t i = 0; i < size; ++i) b->data[i] = 0;
  Status st = xwsk::segment_init(&b->seg, b->data, size);
  if (st != Status::Success) {
    delete[] b->data;
    b->data = nullptr;
    t.fail(__FILE__, __LINE__, "segment_init");
    t.add(": ").add_status(st);
    return nullptr;
  }
  ++state_->buffers_used;
  return b;
}

void Env::adopt(xwsk::Socket* s) {
  if (state_ == nullptr || s == nullptr) return;
  for (xwsk::Socket*& slot : state_->sockets) {
    if (slot == nullptr) {
      slot = s;
      return;
    }
  }
}

void Env::untrack(xwsk::Socket* s) {
  if (state_ == nullptr) return;
  for (xwsk::Socket*& slot : state_->sockets) {
    if (slot == s) slot = nullptr;
  }
}

bool Env::socket(Context& t, AddressFamily family, xwsk::SocketType type, xwsk::Protocol protocol,
                 uint32_t category, void* context, const void* dispatch, xwsk::Socket** out) {
  Op* op = this->op(t);
  if (op == nullptr) return false;
  Status r = xwsk::socket(client_, family, type, protocol, category, context, dispatch, &op->req);
  if (!op->finish(t, r)) return false;
  XT_ENSURE_STATUS(t, Status::Success, op->status());
  *out = reinterpret_cast<xwsk::Socket*>(op->info());
  XT_ENSURE(t, *out != nullptr);
  adopt(*out);
  return true;
}

bool Env::close(Context& t, xwsk::Socket* s) {
  Op* op = this->op(t);
  if (op == nullptr) return false;
  Status r = xwsk::close_socket(s, &op->req);
  if (r != Status::Pending && !op->completed()) {
    // Rejected before acceptance: the socket is still ours.
    t.fail(__FILE__, __LINE__, "close_socket rejected: ");
    t.add_status(r);
    return false;
  }
  untrack(s);
  if (!op->finish(t, r)) return false;
  XT_ENSURE_STATUS(t, Status::Success, op->status());
  return true;
}

bool Env::bind_loopback(Context& t, xwsk::Socket* s, AddressFamily family,
                        xwsk::SockAddr* bound) {
  bool queries = (xwsk::backend_capabilities() & xwsk::kCapAddressQueries) != 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    uint16_t port = 0;
    if (!queries) port = static_cast<uint16_t>(31000 + (g_port_cursor++ * 37u) % 20000u);
    xwsk::SockAddr addr = loopback(family, port);
    Op* op = this->op(t);
    if (op == nullptr) return false;
    Status r = xwsk::bind(s, &addr, 0, &op->req);
    if (!op->finish(t, r)) return false;
    if (!queries && op->status() == Status::AddressAlreadyAssociated) {
      op->rearm();
      continue;
    }
    XT_ENSURE_STATUS(t, Status::Success, op->status());
    if (queries) {
      op->rearm();
      r = xwsk::get_local_address(s, &addr, &op->req);
      if (!op->finish(t, r)) return false;
      XT_ENSURE_STATUS(t, Status::Success, op->status());
      XT_ENSURE(t, addr.port() != 0);
    }
    *bound = addr;
    return true;
  }
  t.fail(__FILE__, __LINE__, "no free loopback port found");
  return false;
}

bool Env::listener(Context& t, AddressFamily family, xwsk::Socket** out, xwsk::SockAddr* addr,
                   void* context, const xwsk::ListenDispatch* dispatch) {
  if (!socket(t, family, xwsk::SocketType::Stream, xwsk::Protocol::Tcp, xwsk::kListenSocket,
              context, dispatch, out)) {
    return false;
  }
  return bind_loopback(t, *out, family, addr);
}

bool Env::connected_pair(Context& t, AddressFamily family, xwsk::Socket** cli, xwsk::Socket** srv,
                         void* srv_context, const xwsk::ConnectionDispatch* srv_dispatch,
                         void* cli_context, const xwsk::ConnectionDispatch* cli_dispatch) {
  xwsk::Socket* lsn = nullptr;
  xwsk::SockAddr addr{};
  if (!listener(t, family, &lsn, &addr)) return false;
  Op* acc = op(t);
  if (acc == nullptr) return false;
  Status ra = xwsk::accept(lsn, 0, srv_context, srv_dispatch, nullptr, nullptr, &acc->req);
  if (ra != Status::Pending && !acc->completed()) {
    t.fail(__FILE__, __LINE__, "accept rejected: ");
    t.add_status(ra);
    return false;
  }
  if (!socket(t, family, xwsk::SocketType::Stream, xwsk::Protocol::Tcp, xwsk::kConnectionSocket,
              cli_context, cli_dispatch, cli)) {
    return false;
  }
  Op* b = op(t);
  if (b == nullptr) return false;
  xwsk::SockAddr any = family == AddressFamily::Inet6 ? xwsk::ipv6_any(0) : xwsk::ipv4_any(0);
  Status r = xwsk::bind(*cli, &any, 0, &b->req);
  if (!b->finish(t, r)) return false;
  XT_ENSURE_STATUS(t, Status::Success, b->status());
  Op* c = op(t);
  if (c == nullptr) return false;
  r = xwsk::connect(*cli, &addr, 0, &c->req);
  if (!c->finish(t, r)) return false;
  XT_ENSURE_STATUS(t, Status::Success, c->status());
  if (!acc->finish(t, ra)) return false;
  XT_ENSURE_STATUS(t, Status::Success, acc->status());
  *srv = reinterpret_cast<xwsk::Socket*>(acc->info());
  XT_ENSURE(t, *srv != nullptr);
  adopt(*srv);
  return close(t, lsn);
}

bool Env::udp_socket(Context& t, AddressFamily family, xwsk::Socket** out, xwsk::SockAddr* addr,
                     void* context, const xwsk::DatagramDispatch* dispatch) {
  if (!socket(t, family, xwsk::SocketType::Datagram, xwsk::Protocol::Udp, xwsk::kDatagramSocket,
              context, dispatch, out)) {
    return false;
  }
  return bind_loopback(t, *out, family, addr);
}

bool Env::send_all(Context& t, xwsk::Socket* s, Buffer* b, size_t offset, size_t n) {
  Op* op = this->op(t);
  if (op == nullptr) return false;
  xwsk::Buf buf = b->buf(offset, n);
  Status r = xwsk::send(s, &buf, 0, &op->req);
  if (!op->finish(t, r)) return false;
  XT_ENSURE_STATUS(t, Status::Success, op->status());
  XT_ENSURE_EQ(t, n, op->info());
  return true;
}

bool Env::receive_exact(Context& t, xwsk::Socket* s, Buffer* b, size_t offset, size_t n) {
  Op* op = this->op(t);
  if (op == nullptr) return false;
  xwsk::Buf buf = b->buf(offset, n);
  Status r = xwsk::receive(s, &buf, xwsk::kFlagWaitAll, &op->req);
  if (!op->finish(t, r)) return false;
  XT_ENSURE_STATUS(t, Status::Success, op->status());
  XT_ENSURE_EQ(t, n, op->info());
  return true;
}

bool Env::enable_events(Context& t, xwsk::Socket* s, uint32_t mask) {
  xwsk::EventCallbackControl ctl{nullptr, mask};
  XT_ENSURE_STATUS(t, Status::Success,
                   xwsk::control_socket(s, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                                        xwsk::kSolSocket, sizeof(ctl), &ctl, 0, nullptr, nullptr,
                                        nullptr));
  return true;
}

// ---- logging dispatch ---------------------------------------------------------------------------

namespace {

struct CallbackScope {
  explicit CallbackScope(EventLog* log) : log_(log) {
    if (log_->in_callback.fetch_add(1, std::memory_order_acq_rel) != 0) {
      log_->overlap.store(1, std::memory_order_release);
    }
  }
  ~CallbackScope() {
    log_->in_callback.fetch_sub(1, std::memory_order_acq_rel);
    log_->any.set();
  }
  EventLog* log_;
};

Status log_receive(void* ctx, uint32_t flags, xwsk::DataIndication* data, size_t bytes_indicated,
                   size_t* bytes_accepted) {
  (void)flags;
  (void)bytes_accepted;
  EventLog* log = static_cast<EventLog*>(ctx);
  CallbackScope scope(log);
  if (log->disconnect_calls.load(std::memory_order_acquire) != 0 && data != nullptr) {
    log->order_error.store(1, std::memory_order_release);
  }
  log->receive_calls.fetch_add(1, std::memory_order_acq_rel);
  if (data != nullptr) log->bytes.fetch_add(bytes_indicated, std::memory_order_acq_rel);
  return Status::Success;
}

Status log_disconnect(void* ctx, uint32_t flags) {
  EventLog* log = static_cast<EventLog*>(ctx);
  CallbackScope scope(log);
  log->disconnect_flags.store(flags, std::memory_order_release);
  log->disconnect_calls.fetch_add(1, std::memory_order_acq_rel);
  log->disconnected.set();
  return Status::Success;
}

Status log_backlog(void* ctx, size_t ideal) {
  (void)ideal;
  EventLog* log = static_cast<EventLog*>(ctx);
  CallbackScope scope(log);
  log->backlog_calls.fetch_add(1, std::memory_order_acq_rel);
  return Status::Success;
}

}  // namespace

const xwsk::ConnectionDispatch kLoggingConnectionDispatch = {log_receive, log_disconnect,
                                                             log_backlog};

}  // namespace xt
