// SPDX-License-Identifier: MIT
// Conformance: argument validation on every entry (null socket, null request, null address or
// buffer, wrong family), DeviceBusy for a request in flight on every entry, FileClosed once a
// close has begun, and deregistration waiting for the client's sockets.
#include <new>

#include "cases.h"

namespace xt {

void params_null_socket_and_request(Context& t) {
  Env env;
  XT_DO(t, env.open(t));
  xwsk::Socket* s = nullptr;
  XT_DO(t, env.bound_socket(t, AddressFamily::Inet, xwsk::kConnectionSocket, nullptr, nullptr, &s));
  Buffer* b = env.buffer(t, 8);
  XT_CHECK(t, b != nullptr);
  Op* op = env.op(t);
  XT_CHECK(t, op != nullptr);
  op->req.status = Status::Unsuccessful;
  op->req.information = 55;
  xwsk::Buf buf = b->all();
  xwsk::SockAddr a = xwsk::ipv4_loopback(9);
  xwsk::InspectId id{};
  xwsk::BufList one{nullptr, buf};
  xwsk::Request* r = &op->req;
  xwsk::Socket* n = nullptr;
  // Null socket: InvalidHandle.
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::bind(n, &a, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::listen(n, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle,
                  xwsk::accept(n, 0, nullptr, nullptr, nullptr, nullptr, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::connect(n, &a, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::connect_ex(n, &a, nullptr, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::send(n, &buf, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::receive(n, &buf, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::disconnect(n, nullptr, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::send_to(n, &buf, 0, &a, 0, nullptr, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle,
                  xwsk::receive_from(n, &buf, 0, nullptr, nullptr, nullptr, nullptr, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::send_messages(n, &one, 0, &a, 0, nullptr, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::get_local_address(n, &a, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::get_remote_address(n, &a, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle,
                  xwsk::inspect_complete(n, &id, xwsk::InspectAction::Accept, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle,
                  xwsk::control_socket(n, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf,
                                       xwsk::kSolSocket, 0, nullptr, 0, nullptr, nullptr, r));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::close_socket(n, r));
  xwsk::DataIndication di{};
  xwsk::DatagramIndication dgi{};
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::release_data_indications(n, &di));
  XT_CHECK_STATUS(t, Status::InvalidHandle, xwsk::release_datagram_indications(n, &dgi));
  // Null request: InvalidParameter.
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::bind(s, &a, 0, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::connect(s, &a, 0, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::connect_ex(s, &a, nullptr, 0, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(s, &buf, 0, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::receive(s, &buf, 0, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::disconnect(s, nullptr, 0, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::get_local_address(s, &a, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::get_remote_address(s, &a, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::close_socket(s, nullptr));
  XT_CHECK_STATUS(t, Status::InvalidParameter,
                  xwsk::socket(env.client(), AddressFamily::Inet, SocketType::Stream, Protocol::Tcp,
                               xwsk::kConnectionSocket, nullptr, nullptr, nullptr));
  // Null or wrong-family address, null buffer.
  xwsk::SockAddr v6 = xwsk::ipv6_loopback(9);
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::bind(s, nullptr, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::connect(s, nullptr, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::connect(s, &v6, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::connect_ex(s, nullptr, nullptr, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::send(s, nullptr, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::receive(s, nullptr, 0, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::get_local_address(s, nullptr, r));
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::get_remote_address(s, nullptr, r));
  xwsk::Buf long_final = b->buf(4, 5);
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::disconnect(s, &long_final, 0, r));
  // None of those touched the request.
  XT_CHECK(t, !op->completed());
  XT_CHECK_STATUS(t, Status::Unsuccessful, op->req.status);
  XT_CHECK_EQ(t, 55, op->req.information);
}

void params_device_busy(Context& t) {
  Env env;
  TcpPair p;
  XT_DO(t, env.open_tcp_pair(t, AddressFamily::Inet, &p));
  Buffer* b = env.buffer(t, 16);
  XT_CHECK(t, b != nullptr);
  Started op;
  XT_DO(t, env.start_receive(t, p.srv, b->all(), 0, &op));
  XT_CHECK_STATUS(t, Status::Pending, op.ret);
  xwsk::Request* r = &op.op->req;
  xwsk::SockAddr a{};
  // The in-flight request cannot be handed to any other call, on any socket.
  XT_CHECK_STATUS(t, Status::DeviceBusy, xwsk::send(p.cli, &op.buf, 0, r));
  XT_CHECK_STATUS(t, Status::DeviceBusy, xwsk::receive(p.cli, &op.buf, 0, r));
  XT_CHECK_STATUS(t, Status::DeviceBusy, xwsk::disconnect(p.cli, nullptr, 0, r));
  XT_CHECK_STATUS(t, Status::DeviceBusy, xwsk::get_remote_address(p.cli, &a, r));
  XT_CHECK_STATUS(t, Status::DeviceBusy, xwsk::get_local_address(p.cli, &a, r));
  XT_CHECK_STATUS(t, Status::DeviceBusy,
                  xwsk::control_socket(p.cli, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf,
                                       xwsk::kSolSocket, 0, nullptr, 0, nullptr, nullptr, r));
  XT_CHECK_STATUS(t, Status::DeviceBusy, xwsk::close_socket(p.cli, r));
  XT_CHECK_STATUS(t, Status::DeviceBusy,
                  xwsk::socket(env.client(), AddressFamily::Inet, SocketType::Stream, Protocol::Tcp,
                               xwsk::kConnectionSocket, nullptr, nullptr, r));
  xwsk::AddrInfo* list = nullptr;
  XT_CHECK_STATUS(t, Status::DeviceBusy,
                  xwsk::get_address_info(env.client(), "localhost", nullptr, 0, nullptr, &list, r));
  xwsk::SockAddr lo = xwsk::ipv4_loopback(1);
  XT_CHECK_STATUS(t, Status::DeviceBusy,
                  xwsk::socket_connect(env.client(), SocketType::Stream, Protocol::Tcp, &lo, &lo, 0,
                                       nullptr, nullptr, r));
  char node[32];
  XT_CHECK_STATUS(t, Status::DeviceBusy,
                  xwsk::get_name_info(env.client(), &lo, node, sizeof(node), nullptr, 0, 0, r));
  // Still exactly one completion, for the receive.
  XT_CHECK(t, !op.completed());
  Buffer* out = env.buffer(t, 3);
  XT_CHECK(t, out != nullptr);
  out->fill(601);
  XT_DO(t, env.send_all(t, p.cli, out, 0, 3));
  XT_DO(t, op.expect(t, Status::Success));
  XT_CHECK(t, b->matches(601, 0, op.info()));
}

namespace {

// A receive whose completion routine (run because close cancels it, before the close itself
// completes) probes the socket: the close has begun, the handle is still valid.
struct Probe {
  xwsk::Socket* s = nullptr;
  xwsk::Request other{};
  Buffer* b = nullptr;
  Status send_status = Status::Success;
  Status close_status = Status::Success;
  Status events_status = Status::Success;
  Status local_status = Status::Success;
  Status receive_final = Status::Success;
  std::atomic<uint32_t> ran{0};
  Event done;
};

void probe_done(xwsk::Request* req, void* ctx) {
  Probe* p = static_cast<Probe*>(ctx);
  p->receive_final = req->status;
  xwsk::Buf buf = p->b->all();
  p->send_status = xwsk::send(p->s, &buf, 0, &p->other);
  p->close_status = xwsk::close_socket(p->s, &p->other);
  xwsk::SockAddr a{};
  p->local_status = xwsk::get_local_address(p->s, &a, &p->other);
  xwsk::EventCallbackControl ctl{nullptr, xwsk::kEventDisconnect};
  p->events_status =
      xwsk::control_socket(p->s, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                           xwsk::kSolSocket, sizeof(ctl), &ctl, 0, nullptr, nullptr, nullptr);
  p->ran.fetch_add(1, std::memory_order_acq_rel);
  p->done.set();
}

void other_done(xwsk::Request* req, void* ctx) {
  (void)req;
  static_cast<std::atomic<uint32_t>*>(ctx)->fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace

void lifecycle_file_closed(Context& t) {
  Probe* p = new (std::nothrow) Probe();
  XT_CHECK(t, p != nullptr);
  std::atomic<uint32_t> other_completions{0};
  xwsk::Request rq{};
  struct Free {
    Probe* p;
    xwsk::Request* rq;
    bool rq_init = false;
    bool other_init = false;
    ~Free() {
      if (rq_init && !xwsk::request_pending(rq)) xwsk::request_free(rq);
      if (other_init && !xwsk::request_pending(&p->other)) xwsk::request_free(&p->other);
      delete p;
    }
  } guard{p, &rq};
  Env env;
  XT_DO(t, env.open(t));
  xwsk::Socket* cli = nullptr;
  xwsk::Socket* srv = nullptr;
  XT_DO(t, env.connected_pair(t, AddressFamily::Inet, &cli, &srv));
  p->s = srv;
  p->b = env.buffer(t, 8);
  XT_CHECK(t, p->b != nullptr);
  XT_CHECK_STATUS(t, Status::Success, xwsk::request_init(&rq, probe_done, p));
  guard.rq_init = true;
  XT_CHECK_STATUS(t, Status::Success,
                  xwsk::request_init(&p->other, other_done, &other_completions));
  guard.other_init = true;
  xwsk::Buf buf = p->b->all();
  Status rs = xwsk::receive(srv, &buf, 0, &rq);
  XT_CHECK_STATUS(t, Status::Pending, rs);
  // Close: the pending receive completes (Cancelled) before the close does, and while it runs
  // every call on the closing socket is refused with FileClosed, before acceptance.
  XT_DO(t, env.close(t, srv));
  XT_CHECK_EQ(t, 1, p->ran.load());
  XT_CHECK_STATUS(t, Status::Cancelled, p->receive_final);
  XT_CHECK_STATUS(t, Status::FileClosed, p->send_status);
  XT_CHECK_STATUS(t, Status::FileClosed, p->close_status);
  XT_CHECK_STATUS(t, Status::FileClosed, p->local_status);
  XT_CHECK_STATUS(t, Status::FileClosed, p->events_status);
  XT_CHECK_EQ(t, 0, other_completions.load());
}

namespace {

struct Dereg {
  xwsk::Socket* a = nullptr;
  xwsk::Request recv{};
  xwsk::Request close{};
  Buffer* b = nullptr;
  Status recv_status = Status::Success;
  Status close_call = Status::Success;
  std::atomic<uint32_t> closed{0};
};

void dereg_closed(xwsk::Request* req, void* ctx) {
  (void)req;
  static_cast<Dereg*>(ctx)->closed.fetch_add(1, std::memory_order_acq_rel);
}

// The receive ends when the peer resets; its routine closes the socket (the completion path).
void dereg_received(xwsk::Request* req, void* ctx) {
  Dereg* d = static_cast<Dereg*>(ctx);
  d->recv_status = req->status;
  d->close_call = xwsk::close_socket(d->a, &d->close);
}

}  // namespace

void lifecycle_deregister_waits(Context& t) {
  Dereg* d = new (std::nothrow) Dereg();
  XT_CHECK(t, d != nullptr);
  struct Free {
    Dereg* d;
    ~Free() {
      if (!xwsk::request_pending(&d->recv)) xwsk::request_free(&d->recv);
      if (!xwsk::request_pending(&d->close)) xwsk::request_free(&d->close);
      delete d;
    }
  } guard{d};
  XT_CHECK_STATUS(t, Status::Success, xwsk::request_init(&d->recv, dereg_received, d));
  XT_CHECK_STATUS(t, Status::Success, xwsk::request_init(&d->close, dereg_closed, d));
  Env env;
  XT_DO(t, env.open(t));
  // A second client owns socket A, connected to a peer P of the first client.
  static const xwsk::ClientDispatch kDispatch = {xwsk::kWskVersion, 0, nullptr};
  xwsk::ClientNpi npi{nullptr, &kDispatch};
  xwsk::Registration reg{};
  XT_CHECK_STATUS(t, Status::Success, xwsk::register_client(&npi, &reg));
  xwsk::ProviderNpi prov{};
  Status cs = xwsk::capture_provider(&reg, xwsk::kInfiniteWait, &prov);
  if (cs != Status::Success) {
    xwsk::deregister_client(&reg);
    XT_CHECK_STATUS(t, Status::Success, cs);
  }
  bool ok = false;
  do {
    xwsk::Socket* lsn = nullptr;
    xwsk::SockAddr addr{};
    if (!env.listener(t, AddressFamily::Inet, &lsn, &addr)) break;
    Op* acc = env.op(t);
    Op* op = env.op(t);
    if (acc == nullptr || op == nullptr) break;
    Status ra = xwsk::accept(lsn, 0, nullptr, nullptr, nullptr, nullptr, &acc->req);
    Status r = xwsk::socket(prov.client, AddressFamily::Inet, SocketType::Stream, Protocol::Tcp,
                            xwsk::kConnectionSocket, nullptr, nullptr, &op->req);
    if (!op->finish(t, r) || op->status() != Status::Success) break;
    d->a = reinterpret_cast<xwsk::Socket*>(op->info());
    op->rearm();
    xwsk::SockAddr any = xwsk::ipv4_any(0);
    if (!op->finish(t, xwsk::bind(d->a, &any, 0, &op->req)) || op->status() != Status::Success) {
      break;
    }
    op->rearm();
    if (!op->finish(t, xwsk::connect(d->a, &addr, 0, &op->req)) ||
        op->status() != Status::Success) {
      break;
    }
    if (!acc->finish(t, ra) || acc->status() != Status::Success) break;
    xwsk::Socket* peer = reinterpret_cast<xwsk::Socket*>(acc->info());
    env.adopt(peer);
    d->b = env.buffer(t, 8);
    if (d->b == nullptr) break;
    xwsk::Buf buf = d->b->all();
    if (xwsk::receive(d->a, &buf, 0, &d->recv) != Status::Pending) break;
    // Reset the connection; A's receive completes on the backend's own time and closes A.
    if (!env.close(t, peer)) break;
    ok = true;
  } while (false);
  xwsk::release_provider(&reg);
  if (!ok) {
    if (d->a != nullptr && !xwsk::request_pending(&d->recv) && d->closed.load() == 0 &&
        !xwsk::request_pending(&d->close)) {
      Op* c = env.op(t);
      if (c != nullptr) c->finish(t, xwsk::close_socket(d->a, &c->req));
    }
    xwsk::deregister_client(&reg);
    if (!t.failed()) t.fail(__FILE__, __LINE__, "setup failed");
    return;
  }
  // Waits until A is closed (by its own completion path), then returns.
  xwsk::deregister_client(&reg);
  XT_CHECK_EQ(t, 1, d->closed.load());
  // The peer's close is abortive in WSK (ConnectionReset); a provider that cannot reset on
  // close (kCapAbortiveClose missing: Wine) ends the receive gracefully (Success, 0 bytes).
  if ((xwsk::backend_capabilities() & xwsk::kCapAbortiveClose) != 0) {
    XT_CHECK_STATUS(t, Status::ConnectionReset, d->recv_status);
  } else {
    XT_CHECK_STATUS(t, Status::Success, d->recv_status);
  }
  XT_CHECK(t, d->close_call == Status::Pending || d->close_call == Status::Success);
}

namespace {

// The second thread of lifecycle_deregister_waits_for_capture: while deregister_client() waits,
// a capture fails (DeviceNotReady), then the held capture is released.
struct CaptureHolder {
  xwsk::Registration* reg = nullptr;
  Status capture_while_deregistering = Status::Success;
  std::atomic<uint32_t> released{0};
};

void release_later(void* arg) {
  CaptureHolder* h = static_cast<CaptureHolder*>(arg);
  sleep_ms(200);  // deregister_client() is waiting by now (if it returned, the case fails)
  xwsk::ProviderNpi npi{};
  h->capture_while_deregistering = xwsk::capture_provider(h->reg, xwsk::kNoWait, &npi);
  if (h->capture_while_deregistering == Status::Success) xwsk::release_provider(h->reg);
  h->released.store(1, std::memory_order_release);
  xwsk::release_provider(h->reg);
}

}  // namespace

// WskDeregister waits until every captured provider NPI is released: a capture released by
// another thread after deregister_client() began lets it return, and not before.
void lifecycle_deregister_waits_for_capture(Context& t) {
  static const xwsk::ClientDispatch kDispatch = {xwsk::kWskVersion, 0, nullptr};
  xwsk::ClientNpi npi{nullptr, &kDispatch};
  CaptureHolder* h = new (std::nothrow) CaptureHolder();
  XT_CHECK(t, h != nullptr);
  xwsk::Registration* reg = new (std::nothrow) xwsk::Registration();
  if (reg == nullptr) {
    delete h;
    XT_CHECK(t, reg != nullptr);
  }
  struct Free {
    CaptureHolder* h;
    xwsk::Registration* reg;
    ~Free() {
      delete h;
      delete reg;
    }
  } guard{h, reg};
  h->reg = reg;
  XT_CHECK_STATUS(t, Status::Success, xwsk::register_client(&npi, reg));
  xwsk::ProviderNpi prov{};
  Status cs = xwsk::capture_provider(reg, xwsk::kInfiniteWait, &prov);
  if (cs != Status::Success) {
    xwsk::deregister_client(reg);
    XT_CHECK_STATUS(t, Status::Success, cs);
  }
  Thread releaser;
  if (!releaser.start(release_later, h)) {
    xwsk::release_provider(reg);
    xwsk::deregister_client(reg);
    XT_SKIP(t, "no second thread could be started");
  }
  xwsk::deregister_client(reg);  // returns only after the other thread released the capture
  uint32_t released_before_return = h->released.load(std::memory_order_acquire);
  releaser.join();
  XT_CHECK_EQ(t, 1, released_before_return);
  XT_CHECK_STATUS(t, Status::DeviceNotReady, h->capture_while_deregistering);
  // Deregistered: a capture now fails as before.
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::capture_provider(reg, xwsk::kNoWait, &prov));
}

}  // namespace xt

namespace xt {

namespace {

struct CountingAllocator {
  std::atomic<uint32_t> allocs{0};
  std::atomic<uint32_t> frees{0};
  std::atomic<uint32_t> bad_tag{0};
};

void* counting_allocate(size_t size, uint32_t tag, void* context) {
  CountingAllocator* c = static_cast<CountingAllocator*>(context);
  if (tag == 0) c->bad_tag.fetch_add(1, std::memory_order_relaxed);
  void* p = new (std::nothrow) uint8_t[size == 0 ? 1 : size];
  if (p != nullptr) c->allocs.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void counting_release(void* memory, uint32_t tag, void* context) {
  (void)tag;
  CountingAllocator* c = static_cast<CountingAllocator*>(context);
  c->frees.fetch_add(1, std::memory_order_relaxed);
  delete[] static_cast<uint8_t*>(memory);
}

}  // namespace

void core_allocator_hook(Context& t) {
  // The hook may only change while nothing is registered or allocated (memory from the old
  // allocator must not come back through the new one).
  if (xwsk::counters().registrations != 0 || xwsk::counters().allocations != 0) {
    XT_SKIP(t, "a client is registered or xwsk memory is outstanding: cannot swap the allocator");
  }
  CountingAllocator* c = new (std::nothrow) CountingAllocator();
  XT_CHECK(t, c != nullptr);
  struct Free {
    CountingAllocator* c;
    ~Free() {
      xwsk::set_allocator(nullptr);
      delete c;
    }
  } guard{c};
  xwsk::Allocator bad{nullptr, counting_release, c};
  XT_CHECK_STATUS(t, Status::InvalidParameter, xwsk::set_allocator(&bad));
  xwsk::Allocator hook{counting_allocate, counting_release, c};
  XT_CHECK_STATUS(t, Status::Success, xwsk::set_allocator(&hook));
  {
    Env env;
    XT_DO(t, env.open(t));
    // Not while a client is registered.
    XT_CHECK_STATUS(t, Status::InvalidDeviceState, xwsk::set_allocator(nullptr));
    xwsk::Socket* cli = nullptr;
    xwsk::Socket* srv = nullptr;
    XT_DO(t, env.connected_pair(t, AddressFamily::Inet, &cli, &srv));
    Buffer* b = env.buffer(t, 1000);
    XT_CHECK(t, b != nullptr);
    b->fill(801);
    XT_DO(t, env.send_all(t, cli, b, 0, 1000));
    Buffer* in = env.buffer(t, 1000);
    XT_CHECK(t, in != nullptr);
    XT_DO(t, env.receive_exact(t, srv, in, 0, 1000));
    XT_CHECK(t, in->matches(801, 0, 1000));
  }
  // Every allocation went through the hook (the client and its sockets at least), every one
  // was released through it, and each carried a pool tag.
  XT_CHECK(t, c->allocs.load() >= 3);
  XT_CHECK_EQ(t, c->allocs.load(), c->frees.load());
  XT_CHECK_EQ(t, 0, c->bad_tag.load());
  XT_CHECK_STATUS(t, Status::Success, xwsk::set_allocator(nullptr));
}

void params_socket_combinations(Context& t) {
  Env env;
  XT_DO(t, env.open(t));
  // Completed with InvalidParameter after acceptance (WskSocket semantics).
  const SocketArgs bad[] = {
      {0, 1, 6, xwsk::kConnectionSocket},   // AF_UNSPEC
      {2, 3, 1, xwsk::kListenSocket},       // raw listen
      {2, 3, 1, xwsk::kConnectionSocket},   // raw connection
      {2, 3, 1, xwsk::kStreamSocket},       // raw stream category
      {2, 2, 17, xwsk::kConnectionSocket},  // UDP connection category
      {2, 2, 17, xwsk::kStreamSocket},      // UDP stream category
      {2, 1, 6, 0x10},                      // unknown category bit
      {2, 1, 6, 0x6},                       // two categories
      {2, 0, 0, xwsk::kConnectionSocket},   // type 0
  };
  for (const SocketArgs& c : bad)
    XT_DO(t, env.socket_rejected(t, c));
  // Protocol 0 means the type's default (TCP for stream, UDP for datagram).
  xwsk::Socket* s = nullptr;
  XT_DO(t, env.socket(t, AddressFamily::Inet, SocketType::Stream, Protocol::Default,
                      xwsk::kConnectionSocket, nullptr, nullptr, &s));
  XT_DO(t, env.close(t, s));
  if ((xwsk::backend_capabilities() & xwsk::kCapUdp) != 0) {
    XT_DO(t, env.socket(t, AddressFamily::Inet, SocketType::Datagram, Protocol::Default,
                        xwsk::kDatagramSocket, nullptr, nullptr, &s));
    XT_DO(t, env.close(t, s));
  }
}

}  // namespace xt
