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

bool Op::finish(Context& t, Status ret, uint32_t timeout_ms, bool traced) {
  if (ret != Status::Pending) {
    // Inline completion: the routine has already run, with the returned status.
    XT_ENSURE(t, completed());
    XT_ENSURE_STATUS(t, ret, req.status);
  } else if (!done.wait(timeout_ms)) {
    t.fail(__FILE__, __LINE__, "request did not complete in time");
    return false;
  }
  XT_ENSURE_EQ(t, 1u, completions.load(std::memory_order_acquire));
  if (traced) t.trace(req.status);
  return true;
}

bool Op::returned(Context& t, Status ret, Status expected) {
  XT_ENSURE_STATUS(t, expected, ret);
  if (!finish(t, ret)) return false;
  XT_ENSURE_STATUS(t, expected, req.status);
  XT_ENSURE_EQ(t, 0, req.information);
  return true;
}

bool Op::expect(Context& t, Status ret, Status want, uint32_t timeout_ms) {
  if (!finish(t, ret, timeout_ms)) return false;
  XT_ENSURE_STATUS(t, want, req.status);
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
  for (size_t i = 0; i < size; ++i)
    data[i] = pattern_byte(seed, i);
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

bool require_family(Context& t, AddressFamily f) {
  if (f == AddressFamily::Inet6 && (xwsk::backend_capabilities() & xwsk::kCapIpv6) == 0) {
    t.skip("kCapIpv6: ");
    t.add(xwsk::capability_reason(xwsk::kCapIpv6));
    return false;
  }
  return true;
}

xwsk::SockAddr any_address(AddressFamily family, uint16_t port) {
  return family == AddressFamily::Inet6 ? xwsk::ipv6_any(port) : xwsk::ipv4_any(port);
}

namespace {

// Walks the bytes a Buf describes (its segment chain, from the offset into the first segment), at
// most @p limit of them, handing each contiguous run to @p run(bytes, length, walked so far).
// Returns the number of bytes walked.
template <typename Run>
size_t walk_buf(const xwsk::Buf& b, size_t limit, Run run) {
  size_t skip = b.offset;
  size_t left = b.length < limit ? b.length : limit;
  size_t done = 0;
  for (const xwsk::Segment* seg = b.segment; seg != nullptr && left != 0; seg = seg->next) {
    uint8_t* p = static_cast<uint8_t*>(seg->data);
    size_t avail = seg->length;
    if (skip >= avail) {
      skip -= avail;
      continue;
    }
    p += skip;
    avail -= skip;
    skip = 0;
    size_t n = avail < left ? avail : left;
    run(p, n, done);
    done += n;
    left -= n;
  }
  return done;
}

}  // namespace

size_t copy_from_buf(const xwsk::Buf& b, uint8_t* dst, size_t cap) {
  return walk_buf(b, cap, [dst](const uint8_t* p, size_t n, size_t done) {
    for (size_t i = 0; i < n; ++i)
      dst[done + i] = p[i];
  });
}

size_t copy_to_buf(const xwsk::Buf& b, const uint8_t* src, size_t n) {
  return walk_buf(b, n, [src](uint8_t* p, size_t k, size_t done) {
    for (size_t i = 0; i < k; ++i)
      p[i] = src[done + i];
  });
}

bool str_eq(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

bool wait_until(bool (*cond)(void* arg), void* arg, uint32_t timeout_ms) {
  for (uint32_t waited = 0;; waited += 2) {
    if (cond(arg)) return true;
    if (waited >= timeout_ms) return false;
    sleep_ms(2);
  }
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
  for (size_t i = 0; i < size; ++i)
    b->data[i] = 0;
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

bool Env::bind_loopback(Context& t, xwsk::Socket* s, AddressFamily family, xwsk::SockAddr* bound) {
  bool queries = (xwsk::backend_capabilities() & xwsk::kCapAddressQueries) != 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    uint16_t port = 0;
    if (!queries) port = static_cast<uint16_t>(31000 + (g_port_cursor++ * 37u) % 20000u);
    xwsk::SockAddr addr = loopback(family, port);
    Op* op = this->op(t);
    if (op == nullptr) return false;
    Status r = xwsk::bind(s, &addr, 0, &op->req);
    // A fixed port may be in use on this machine: only the attempt that decides is traced.
    if (!op->finish(t, r, kTimeoutMs, queries)) return false;
    if (!queries && op->status() == Status::AddressAlreadyAssociated) {
      op->rearm();
      continue;
    }
    if (!queries) t.trace(op->status());
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

bool Env::bind(Context& t, xwsk::Socket* s, const xwsk::SockAddr& addr, Status want) {
  Op* o = op(t);
  XT_ENSURE(t, o != nullptr);
  return o->expect(t, xwsk::bind(s, &addr, 0, &o->req), want);
}

bool Env::bind_status(Context& t, xwsk::Socket* s, const xwsk::SockAddr& addr, Status* out) {
  Op* o = op(t);
  XT_ENSURE(t, o != nullptr);
  if (!o->finish(t, xwsk::bind(s, &addr, 0, &o->req))) return false;
  *out = o->status();
  return true;
}

bool Env::listener(Context& t, AddressFamily family, xwsk::Socket** out, xwsk::SockAddr* addr,
                   void* context, const xwsk::ListenDispatch* dispatch) {
  if (!tcp_socket(t, family, xwsk::kListenSocket, out, context, dispatch)) {
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
  if (!tcp_socket(t, family, xwsk::kConnectionSocket, cli, cli_context, cli_dispatch)) {
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

bool Env::unbound_udp_socket(Context& t, AddressFamily family, xwsk::Socket** out) {
  return socket(t, family, xwsk::SocketType::Datagram, xwsk::Protocol::Udp, xwsk::kDatagramSocket,
                nullptr, nullptr, out);
}

bool Env::udp_socket(Context& t, AddressFamily family, xwsk::Socket** out, xwsk::SockAddr* addr,
                     void* context, const xwsk::DatagramDispatch* dispatch) {
  if (!socket(t, family, xwsk::SocketType::Datagram, xwsk::Protocol::Udp, xwsk::kDatagramSocket,
              context, dispatch, out)) {
    return false;
  }
  return bind_loopback(t, *out, family, addr);
}

bool Env::tcp_pair(Context& t, AddressFamily family, TcpPair* p, void* srv_context,
                   const xwsk::ConnectionDispatch* srv_dispatch, void* cli_context,
                   const xwsk::ConnectionDispatch* cli_dispatch) {
  return connected_pair(t, family, &p->cli, &p->srv, srv_context, srv_dispatch, cli_context,
                        cli_dispatch);
}

bool Env::open_tcp_pair(Context& t, AddressFamily family, TcpPair* p, void* srv_context,
                        const xwsk::ConnectionDispatch* srv_dispatch, void* cli_context,
                        const xwsk::ConnectionDispatch* cli_dispatch) {
  return open(t) && tcp_pair(t, family, p, srv_context, srv_dispatch, cli_context, cli_dispatch);
}

bool Env::open_listener(Context& t, AddressFamily family, xwsk::Socket** out, xwsk::SockAddr* addr,
                        void* context, const xwsk::ListenDispatch* dispatch) {
  return open(t) && listener(t, family, out, addr, context, dispatch);
}

bool Env::open_udp_socket(Context& t, AddressFamily family, xwsk::Socket** out,
                          xwsk::SockAddr* addr) {
  return open(t) && udp_socket(t, family, out, addr);
}

bool Env::udp_pair(Context& t, AddressFamily family, UdpPair* p, void* b_context,
                   const xwsk::DatagramDispatch* b_dispatch) {
  return udp_socket(t, family, &p->a, &p->aa) &&
         udp_socket(t, family, &p->b, &p->ba, b_context, b_dispatch);
}

bool Env::send_to(Context& t, xwsk::Socket* s, const xwsk::SockAddr& to, Buffer* b, size_t offset,
                  size_t n) {
  Op* o = op(t);
  XT_ENSURE(t, o != nullptr);
  xwsk::Buf buf = b->buf(offset, n);
  if (!o->expect(t, xwsk::send_to(s, &buf, 0, &to, 0, nullptr, &o->req), Status::Success)) {
    return false;
  }
  XT_ENSURE_EQ(t, n, o->info());
  return true;
}

bool Env::datagram(Context& t, const UdpPair& p, Buffer* b, size_t offset, size_t n) {
  return send_to(t, p.a, p.ba, b, offset, n);
}

bool Env::start_receive_from(Context& t, xwsk::Socket* s, xwsk::Buf buf, Started* out,
                             xwsk::SockAddr* from, uint32_t* control_flags) {
  out->op = op(t);
  XT_ENSURE(t, out->op != nullptr);
  out->buf = buf;
  out->ret =
      xwsk::receive_from(s, &out->buf, 0, from, nullptr, nullptr, control_flags, &out->op->req);
  return true;
}

bool Env::tcp_socket(Context& t, AddressFamily family, uint32_t category, xwsk::Socket** out,
                     void* context, const void* dispatch) {
  return socket(t, family, xwsk::SocketType::Stream, xwsk::Protocol::Tcp, category, context,
                dispatch, out);
}

bool Env::start_connect(Context& t, xwsk::Socket* s, const xwsk::SockAddr& to, Started* out) {
  out->op = op(t);
  XT_ENSURE(t, out->op != nullptr);
  out->ret = xwsk::connect(s, &to, 0, &out->op->req);
  return true;
}

bool Env::start_client(Context& t, AddressFamily family, const xwsk::SockAddr& to,
                       xwsk::Socket** out, Started* connect, uint32_t category) {
  return bound_socket(t, family, category, nullptr, nullptr, out) &&
         start_connect(t, *out, to, connect);
}

bool Env::connect(Context& t, xwsk::Socket* s, const xwsk::SockAddr& to) {
  Op* o = op(t);
  XT_ENSURE(t, o != nullptr);
  return o->expect(t, xwsk::connect(s, &to, 0, &o->req), Status::Success);
}

bool Env::connect_client(Context& t, AddressFamily family, const xwsk::SockAddr& to,
                         xwsk::Socket** out, uint32_t category, void* context,
                         const void* dispatch) {
  return bound_socket(t, family, category, context, dispatch, out) && connect(t, *out, to);
}

bool Env::start_accept(Context& t, xwsk::Socket* lsn, Started* out, void* context,
                       const xwsk::ConnectionDispatch* dispatch, xwsk::SockAddr* local,
                       xwsk::SockAddr* remote) {
  out->op = op(t);
  XT_ENSURE(t, out->op != nullptr);
  out->ret = xwsk::accept(lsn, 0, context, dispatch, local, remote, &out->op->req);
  return true;
}

bool Env::finish_accept(Context& t, Started& acc, xwsk::Socket** out) {
  if (!acc.expect(t, Status::Success)) return false;
  *out = reinterpret_cast<xwsk::Socket*>(acc.info());
  XT_ENSURE(t, *out != nullptr);
  adopt(*out);
  return true;
}

bool Env::start_receive(Context& t, xwsk::Socket* s, xwsk::Buf buf, uint32_t flags, Started* out) {
  out->op = op(t);
  XT_ENSURE(t, out->op != nullptr);
  out->buf = buf;
  out->ret = xwsk::receive(s, &out->buf, flags, &out->op->req);
  return true;
}

bool Env::pending_receive(Context& t, xwsk::Socket* s, size_t size, Started* out) {
  Buffer* b = buffer(t, size);
  XT_ENSURE(t, b != nullptr);
  if (!start_receive(t, s, b->all(), 0, out)) return false;
  XT_ENSURE_STATUS(t, Status::Pending, out->ret);
  return true;
}

bool Env::socket_rejected(Context& t, const SocketArgs& args) {
  Op* o = op(t);
  XT_ENSURE(t, o != nullptr);
  Status r = xwsk::socket(
      client_, static_cast<AddressFamily>(args.family), static_cast<xwsk::SocketType>(args.type),
      static_cast<xwsk::Protocol>(args.protocol), args.category, nullptr, nullptr, &o->req);
  if (!o->finish(t, r)) return false;
  t.checked();
  if (o->status() != Status::InvalidParameter) {
    t.fail(__FILE__, __LINE__, "socket combination not rejected: family ");
    t.add_u64(args.family).add(" type ").add_u64(args.type).add(" protocol ");
    t.add_u64(args.protocol).add(" category ").add_u64(args.category).add(": ");
    t.add_status(o->status());
    return false;
  }
  XT_ENSURE_EQ(t, 0, o->info());
  return true;
}

bool Env::turned_down(Context& t, xwsk::Socket* cli, const Started& c, bool graceful_end) {
  const Status cs = c.status();
  if (cs != Status::Success) {
    if (cs == Status::ConnectionRefused || cs == Status::ConnectionReset ||
        cs == Status::ConnectionAborted) {
      return true;
    }
    t.fail(__FILE__, __LINE__, "connect to a rejecting listener: ");
    t.add_status(cs);
    return false;
  }
  Buffer* b = buffer(t, 16);
  XT_ENSURE(t, b != nullptr);
  Op* r = op(t);
  XT_ENSURE(t, r != nullptr);
  xwsk::Buf rb = b->all();
  if (!r->finish(t, xwsk::receive(cli, &rb, 0, &r->req))) return false;
  const Status rs = r->status();
  const bool ended = rs == Status::ConnectionReset || rs == Status::ConnectionAborted ||
                     (graceful_end && (rs == Status::ConnectionDisconnected ||
                                       (rs == Status::Success && r->info() == 0)));
  if (!ended) {
    t.fail(__FILE__, __LINE__, "turned-down connection still usable: ");
    t.add_status(rs).add(", bytes ").add_u64(r->info());
    return false;
  }
  return true;
}

bool Env::disconnect(Context& t, xwsk::Socket* s, uint32_t flags, xwsk::Buf* data) {
  Op* o = op(t);
  XT_ENSURE(t, o != nullptr);
  return o->expect(t, xwsk::disconnect(s, data, flags, &o->req), Status::Success);
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
  XT_ENSURE_STATUS(
      t, Status::Success,
      xwsk::control_socket(s, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                           xwsk::kSolSocket, sizeof(ctl), &ctl, 0, nullptr, nullptr, nullptr));
  return true;
}

bool Env::disable_event(Context& t, xwsk::Socket* s, uint32_t event) {
  xwsk::EventCallbackControl ctl{nullptr, event | xwsk::kEventDisable};
  XT_ENSURE_STATUS(
      t, Status::Success,
      xwsk::control_socket(s, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                           xwsk::kSolSocket, sizeof(ctl), &ctl, 0, nullptr, nullptr, nullptr));
  return true;
}

bool Env::bound_socket(Context& t, AddressFamily family, uint32_t category, void* context,
                       const void* dispatch, xwsk::Socket** out) {
  if (!tcp_socket(t, family, category, out, context, dispatch)) {
    return false;
  }
  Op* b = op(t);
  if (b == nullptr) return false;
  xwsk::SockAddr any = any_address(family, 0);
  if (!b->finish(t, xwsk::bind(*out, &any, 0, &b->req))) return false;
  XT_ENSURE_STATUS(t, Status::Success, b->status());
  return true;
}

bool Env::set_ulong(Context& t, xwsk::Socket* s, uint32_t level, uint32_t option, uint32_t value) {
  Op* o = op(t);
  if (o == nullptr) return false;
  size_t returned = 99;
  Status r = xwsk::control_socket(s, xwsk::ControlType::SetOption, option, level, sizeof(value),
                                  &value, 0, nullptr, &returned, &o->req);
  if (!o->finish(t, r)) return false;
  XT_ENSURE_STATUS(t, Status::Success, o->status());
  return true;
}

bool Env::get_ulong(Context& t, xwsk::Socket* s, uint32_t level, uint32_t option, uint32_t* value) {
  Op* o = op(t);
  if (o == nullptr) return false;
  size_t returned = 0;
  *value = 0xdeadbeefu;
  Status r = xwsk::control_socket(s, xwsk::ControlType::GetOption, option, level, 0, nullptr,
                                  sizeof(*value), value, &returned, &o->req);
  if (!o->finish(t, r)) return false;
  XT_ENSURE_STATUS(t, Status::Success, o->status());
  XT_ENSURE_EQ(t, sizeof(*value), returned);
  return true;
}

bool Env::local_address(Context& t, xwsk::Socket* s, xwsk::SockAddr* out) {
  Op* o = op(t);
  if (o == nullptr) return false;
  if (!o->finish(t, xwsk::get_local_address(s, out, &o->req))) return false;
  XT_ENSURE_STATUS(t, Status::Success, o->status());
  return true;
}

// ---- logging dispatch ---------------------------------------------------------------------------

CallbackScope::CallbackScope(EventLog* log) : log_(log) {
  if (log_->in_callback.fetch_add(1, std::memory_order_acq_rel) != 0) {
    log_->overlap.store(1, std::memory_order_release);
  }
}

CallbackScope::~CallbackScope() {
  log_->in_callback.fetch_sub(1, std::memory_order_acq_rel);
  log_->any.set();
}

namespace {

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
