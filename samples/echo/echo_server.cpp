// SPDX-License-Identifier: MIT
// The echo server. See echo_server.h for the design; the rules every object here follows:
//  - one pump per object (a connection, the listener, the UDP socket) decides what to issue
//    under a short lock and issues it outside the lock; only the pump calls into a socket, so a
//    close never races another call on the same socket (WSK requires that of its clients);
//  - a completion routine records its result under the lock, runs the pump (which returns at
//    once if another thread is pumping: that thread will see the result) and drops its
//    reference; it never waits;
//  - memory is allocated before it is needed (a connection is prepared before the accept that
//    will use it completes) and freed when the last reference goes.
#include "echo_server.h"

#include <atomic>
#include <new>

namespace echo {

using xwsk::Status;

namespace {

/// Statuses after which a socket will never complete another request normally.
bool socket_gone(Status st) {
  return st == Status::Cancelled || st == Status::FileClosed || st == Status::InvalidHandle ||
         st == Status::InvalidDeviceState || st == Status::InvalidDeviceRequest;
}

constexpr uint32_t kMaxConsecutiveFailures = 100;

/// Connections that must have gone before housekeeping() gives memory back.
constexpr uint32_t kTrimAfter = 64;

/// A shortage that passes (out of descriptors, memory or buffers): the slot keeps accepting.
bool resource_shortage(Status st) {
  return st == Status::InsufficientResources || st == Status::NoMemory;
}

/// Rate limit without a clock (the same code runs in the kernel): the 1st, 2nd, 4th, 8th, ...
/// failure of a streak is logged.
bool worth_logging(uint32_t failures) {
  return (failures & (failures - 1)) == 0;
}

}  // namespace

// =============================================================================================
// Connection
// =============================================================================================

struct Server::Connection {
  Server* server = nullptr;
  xwsk::Socket* socket = nullptr;
  Connection* next = nullptr;
  Connection* prev = nullptr;
  bool linked = false;
  std::atomic<uint32_t> refs{0};

  SpinLock lock;
  bool pumping = false;
  uint8_t* data = nullptr;
  xwsk::Segment seg{};
  size_t chunk = 0;
  size_t len[2] = {0, 0};   // bytes received into chunk i and not yet sent back
  size_t sent[2] = {0, 0};  // of those, bytes already sent
  int recv_idx = 0;
  int send_idx = 0;
  xwsk::Request recv_req{}, send_req{}, disc_req{}, close_req{};
  int requests_ready = 0;
  xwsk::Buf recv_buf{}, send_buf{};
  bool recv_busy = false, send_busy = false, disc_busy = false;
  bool recv_ran = false, send_ran = false, disc_ran = false, close_ran = false;
  bool disc_issued = false, close_issued = false;
  bool eof = false;           // the peer sent FIN
  bool failed = false;        // an error: close at once
  bool shutdown = false;      // the server is stopping, or over its connection limit
  bool disconnected = false;  // our graceful disconnect completed
  bool graceful = false;
  bool reset = false;
  uint64_t bytes_in = 0, bytes_out = 0;

  static void on_recv(xwsk::Request* req, void* context);
  static void on_send(xwsk::Request* req, void* context);
  static void on_disconnect(xwsk::Request* req, void* context);
  static void on_closed(xwsk::Request* req, void* context);

  bool init(Server* s, size_t chunk_size);
  void add_ref() { refs.fetch_add(1, std::memory_order_relaxed); }
  bool try_ref() {
    uint32_t n = refs.load(std::memory_order_relaxed);
    while (n != 0) {
      if (refs.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) return true;
    }
    return false;
  }
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }
  void destroy();
  void pump();
  // After issuing a call that returned @p r: any status but Pending means it was rejected,
  // and unless its completion already ran, none will come: clear @p busy, set @p outcome
  // (what the pump does next) and give back the reference taken for the call.
  void settle(Status r, const bool& ran, bool* busy, bool* outcome) {
    if (r == Status::Pending) return;
    Guard g(lock);
    if (ran) return;
    *busy = false;
    *outcome = true;
    refs.fetch_sub(1, std::memory_order_relaxed);
  }
};

bool Server::Connection::init(Server* s, size_t chunk_size) {
  server = s;
  chunk = chunk_size;
  data = new (std::nothrow) uint8_t[2 * chunk];
  if (data == nullptr) return false;
  if (xwsk::segment_init(&seg, data, 2 * chunk) != Status::Success) return false;
  struct {
    xwsk::Request* req;
    xwsk::CompletionRoutine routine;
  } reqs[] = {{&recv_req, on_recv},
              {&send_req, on_send},
              {&disc_req, on_disconnect},
              {&close_req, on_closed}};
  for (auto& r : reqs) {
    if (xwsk::request_init(r.req, r.routine, this) != Status::Success) return false;
    ++requests_ready;
  }
  return true;
}

void Server::Connection::destroy() {
  Server* s = server;
  if (linked) {
    Guard g(s->lock_);
    if (prev != nullptr) prev->next = next;
    if (next != nullptr) next->prev = prev;
    if (s->connections_ == this) s->connections_ = next;
    s->stats_.active--;
    s->closed_since_trim_++;  // see housekeeping()
    s->stats_.tcp_bytes_in += bytes_in;
    s->stats_.tcp_bytes_out += bytes_out;
    if (graceful) {
      s->stats_.connections_graceful++;
    } else if (reset) {
      s->stats_.connections_reset++;
    }
  }
  xwsk::Request* reqs[] = {&recv_req, &send_req, &disc_req, &close_req};
  for (int i = 0; i < requests_ready; ++i)
    xwsk::request_free(reqs[i]);
  xwsk::segment_free(&seg);
  delete[] data;
  delete this;
  s->release_work();
}

void Server::Connection::on_recv(xwsk::Request* req, void* context) {
  Connection* c = static_cast<Connection*>(context);
  {
    Guard g(c->lock);
    c->recv_ran = true;
    c->recv_busy = false;
    size_t n = req->information;
    if (req->status == Status::Success && n > 0) {
      c->len[c->recv_idx] = n;
      c->sent[c->recv_idx] = 0;
      c->recv_idx ^= 1;
      c->bytes_in += n;
    } else if (req->status == Status::Success) {
      c->eof = true;  // FIN: send what is pending, then disconnect gracefully
    } else {
      c->failed = true;
      if (req->status != Status::Cancelled) c->reset = true;
    }
  }
  c->pump();
  c->release();
}

void Server::Connection::on_send(xwsk::Request* req, void* context) {
  Connection* c = static_cast<Connection*>(context);
  {
    Guard g(c->lock);
    c->send_ran = true;
    c->send_busy = false;
    int i = c->send_idx;
    size_t want = c->len[i] - c->sent[i];
    size_t n = req->information;
    if (req->status == Status::Success && n > 0 && n <= want) {
      c->sent[i] += n;
      c->bytes_out += n;
      if (c->sent[i] == c->len[i]) {
        c->len[i] = 0;
        c->sent[i] = 0;
        c->send_idx ^= 1;
      }
    } else {
      c->failed = true;
      if (req->status != Status::Cancelled) c->reset = true;
    }
  }
  c->pump();
  c->release();
}

void Server::Connection::on_disconnect(xwsk::Request* req, void* context) {
  Connection* c = static_cast<Connection*>(context);
  {
    Guard g(c->lock);
    c->disc_ran = true;
    c->disc_busy = false;
    c->disconnected = true;
    c->graceful = req->status == Status::Success;
    if (!c->graceful && req->status != Status::Cancelled) c->reset = true;
  }
  c->pump();
  c->release();
}

void Server::Connection::on_closed(xwsk::Request* req, void* context) {
  (void)req;
  Connection* c = static_cast<Connection*>(context);
  {
    Guard g(c->lock);
    c->close_ran = true;
  }
  c->release();  // the reference the open socket held
}

void Server::Connection::pump() {
  {
    Guard g(lock);
    if (pumping) return;  // the pumping thread will see whatever changed
    pumping = true;
  }
  for (;;) {
    bool do_recv = false, do_send = false, do_disc = false, do_close = false;
    {
      Guard g(lock);
      if (!close_issued) {
        if (failed || shutdown || disconnected) {
          close_issued = true;
          close_ran = false;
          do_close = true;
        } else {
          if (!recv_busy && !eof && len[recv_idx] == 0) {
            // Backpressure: only receive into an empty chunk.
            recv_busy = true;
            recv_ran = false;
            recv_buf = xwsk::Buf{&seg, static_cast<size_t>(recv_idx) * chunk, chunk};
            add_ref();
            do_recv = true;
          }
          int i = send_idx;
          if (!send_busy && len[i] > sent[i]) {
            send_busy = true;
            send_ran = false;
            send_buf = xwsk::Buf{&seg, static_cast<size_t>(i) * chunk + sent[i], len[i] - sent[i]};
            add_ref();
            do_send = true;
          }
          if (eof && !recv_busy && !send_busy && len[0] == 0 && len[1] == 0 && !disc_issued) {
            disc_issued = true;
            if (server->disconnect_supported_) {
              disc_busy = true;
              disc_ran = false;
              add_ref();
              do_disc = true;
            } else {
              // A provider without disconnect (Wine 8's netio.sys, whose close sends a FIN):
              // everything was echoed after the peer's FIN, so the close ends it gracefully.
              disconnected = true;
              graceful = true;
              close_issued = true;
              close_ran = false;
              do_close = true;
            }
          }
        }
      }
      if (!do_recv && !do_send && !do_disc && !do_close) {
        pumping = false;
        return;
      }
    }
    if (do_close) {
      // Cancels whatever is pending (a send to a peer that stopped reading, a receive); a
      // connection that was not disconnected gracefully is reset, as in WSK.
      Status r = xwsk::close_socket(socket, &close_req);
      if (r != Status::Pending) {
        bool ran;
        {
          Guard g(lock);
          ran = close_ran;
        }
        if (!ran) {
          log_error("xwsk-echo: close_socket rejected: %s\n", xwsk::status_name(r));
          release();  // give up the socket's reference; the caller still holds one
        }
      }
      continue;
    }
    if (do_recv) {
      settle(xwsk::receive(socket, &recv_buf, 0, &recv_req), recv_ran, &recv_busy, &failed);
    }
    if (do_send) {
      settle(xwsk::send(socket, &send_buf, 0, &send_req), send_ran, &send_busy, &failed);
    }
    if (do_disc) {
      // A rejected disconnect counts as done: the pump closes instead.
      settle(xwsk::disconnect(socket, nullptr, 0, &disc_req), disc_ran, &disc_busy, &disconnected);
    }
  }
}

// =============================================================================================
// Listener: a pipeline of accept requests
// =============================================================================================

struct Server::AcceptSlot {
  Server* server = nullptr;
  xwsk::Request req{};
  bool req_ready = false;
  Connection* prepared = nullptr;  // the connection the next accepted socket gets
  enum State { kIdle, kBusy, kDone, kProcessing, kDead } state = kIdle;
  bool ran = false;
  Status result = Status::Success;
  xwsk::Socket* accepted = nullptr;
  uint32_t failures = 0;
};

struct Server::UdpSlot {
  Server* server = nullptr;
  xwsk::Request req{};
  bool req_ready = false;
  uint8_t* data = nullptr;
  size_t size = 0;
  xwsk::Segment seg{};
  xwsk::Buf buf{};
  xwsk::SockAddr remote{};
  uint32_t control_flags = 0;
  enum State { kIdle, kReceiving, kReceived, kSending, kSent, kDead } state = kIdle;
  bool ran = false;
  Status result = Status::Success;
  size_t bytes = 0;
  uint32_t failures = 0;
};

Server::Connection* Server::prepare_connection() {
  Connection* c = new (std::nothrow) Connection();
  if (c == nullptr) return nullptr;
  add_work();  // released by destroy()
  if (!c->init(this, config_.chunk_size)) {
    c->destroy();
    return nullptr;
  }
  return c;
}

void Server::start_connection(Connection* c, xwsk::Socket* s) {
  c->socket = s;
  c->refs.store(2, std::memory_order_relaxed);  // the socket's, and ours for the pump below
  {
    Guard g(lock_);
    c->linked = true;
    c->next = connections_;
    c->prev = nullptr;
    if (connections_ != nullptr) connections_->prev = c;
    connections_ = c;
    stats_.connections++;
    stats_.active++;
    if (stats_.active > stats_.peak_active) stats_.peak_active = stats_.active;
    if (stopping_) {
      c->shutdown = true;
    } else if (stats_.active > config_.max_connections) {
      c->shutdown = true;
      stats_.connections_rejected++;
    }
  }
  c->pump();
  c->release();
}

void Server::on_accept(xwsk::Request* req, void* context) {
  AcceptSlot* slot = static_cast<AcceptSlot*>(context);
  Server* s = slot->server;
  {
    Guard g(s->lock_);
    slot->ran = true;
    slot->state = AcceptSlot::kDone;
    slot->result = req->status;
    slot->accepted = req->status == Status::Success
                         ? reinterpret_cast<xwsk::Socket*>(req->information)
                         : nullptr;
  }
  s->pump_accepts();
  s->release_work();
}

void Server::housekeeping() {
  {
    Guard g(lock_);
    // A burst of closes, or closes that stopped coming since the last call (so the last ones
    // of a burst are not left out).
    uint32_t closed = closed_since_trim_;
    bool settled = closed != 0 && closed == closed_at_last_check_;
    closed_at_last_check_ = closed;
    if (closed < kTrimAfter && !settled) return;
    closed_since_trim_ = 0;
    closed_at_last_check_ = 0;
  }
  return_free_memory();
}

void Server::on_close(xwsk::Request* req, void* context) {
  (void)req;
  static_cast<Server*>(context)->release_work();
}

void Server::pump_accepts() {
  {
    Guard g(lock_);
    if (accept_pumping_) return;
    accept_pumping_ = true;
  }
  for (;;) {
    AcceptSlot* slot = nullptr;
    enum { kNone, kProcess, kIssue, kKill, kCloseListener } act = kNone;
    {
      Guard g(lock_);
      if (stopping_ && listener_ != nullptr && !listener_closed_) {
        listener_closed_ = true;
        work_++;
        act = kCloseListener;
      }
      for (uint32_t i = 0; act == kNone && i < accept_count_; ++i) {
        AcceptSlot* a = &accept_slots_[i];
        if (a->state == AcceptSlot::kDone) {
          a->state = AcceptSlot::kProcessing;
          slot = a;
          act = kProcess;
        } else if (a->state == AcceptSlot::kIdle) {
          slot = a;
          if (stopping_ || a->prepared == nullptr || listener_closed_) {
            if (!stopping_ && !listener_closed_) {
              log_error("xwsk-echo: out of memory for a connection: accept slot retired\n");
            }
            a->state = AcceptSlot::kDead;
            act = kKill;
          } else {
            a->state = AcceptSlot::kBusy;
            a->ran = false;
            work_++;
            act = kIssue;
          }
        }
      }
      if (act == kNone) {
        accept_pumping_ = false;
        return;
      }
    }
    switch (act) {
      case kCloseListener:
        // Only the pump calls the listener, so no accept() is in progress: safe to close.
        close_async(listener_, &listener_close_);
        break;
      case kProcess:
        if (slot->result == Status::Success && slot->accepted != nullptr) {
          Connection* c = slot->prepared;
          slot->prepared = prepare_connection();
          slot->failures = 0;
          start_connection(c, slot->accepted);
          Guard g(lock_);
          slot->state = AcceptSlot::kIdle;
        } else {
          // A shortage never retires the slot (the next accept waits for resources to return);
          // any other failure does after kMaxConsecutiveFailures in a row. Either way it is said.
          uint32_t failures = ++slot->failures;
          bool shortage = resource_shortage(slot->result);
          bool gone = socket_gone(slot->result);
          bool dead = gone || (!shortage && failures > kMaxConsecutiveFailures);
          {
            Guard g(lock_);
            if (slot->result != Status::Cancelled) stats_.accept_errors++;
            slot->state = dead ? AcceptSlot::kDead : AcceptSlot::kIdle;
          }
          if (dead) act = kKill;
          if (dead && !gone) {
            log_error("xwsk-echo: accept failed %u times in a row (%s): accept slot retired\n",
                      failures, xwsk::status_name(slot->result));
          } else if (!gone && worth_logging(failures)) {
            log_error("xwsk-echo: accept failed (%s, %u in a row): still accepting\n",
                      xwsk::status_name(slot->result), failures);
          }
        }
        if (act == kKill && slot->prepared != nullptr) {
          slot->prepared->destroy();
          slot->prepared = nullptr;
        }
        break;
      case kKill:
        if (slot->prepared != nullptr) {
          slot->prepared->destroy();
          slot->prepared = nullptr;
        }
        break;
      case kIssue: {
        Status r = xwsk::accept(listener_, 0, nullptr, nullptr, nullptr, nullptr, &slot->req);
        if (r != Status::Pending) {
          bool rejected;
          {
            Guard g(lock_);
            rejected = !slot->ran;
            if (rejected) {
              // No completion will come: retire the slot.
              slot->state = AcceptSlot::kDead;
              stats_.accept_errors++;
            }
          }
          if (rejected) {
            log_error("xwsk-echo: accept rejected: %s\n", xwsk::status_name(r));
            if (slot->prepared != nullptr) slot->prepared->destroy();
            slot->prepared = nullptr;
            release_work();
          }
        }
        break;
      }
      case kNone:
        break;
    }
  }
}

// =============================================================================================
// UDP: slots looping receive_from -> send_to
// =============================================================================================

void Server::on_udp(xwsk::Request* req, void* context) {
  UdpSlot* slot = static_cast<UdpSlot*>(context);
  Server* s = slot->server;
  {
    Guard g(s->lock_);
    slot->ran = true;
    slot->result = req->status;
    slot->bytes = req->information;
    slot->state = slot->state == UdpSlot::kReceiving ? UdpSlot::kReceived : UdpSlot::kSent;
  }
  s->pump_udp();
  s->release_work();
}

void Server::pump_udp() {
  {
    Guard g(lock_);
    if (udp_pumping_) return;
    udp_pumping_ = true;
  }
  for (;;) {
    UdpSlot* slot = nullptr;
    enum { kNone, kReceive, kSend, kCloseUdp } act = kNone;
    {
      Guard g(lock_);
      if (stopping_ && udp_ != nullptr && !udp_closed_) {
        udp_closed_ = true;
        work_++;
        act = kCloseUdp;
      }
      for (uint32_t i = 0; act == kNone && i < udp_count_; ++i) {
        UdpSlot* u = &udp_slots_[i];
        switch (u->state) {
          case UdpSlot::kReceived:
            if (u->result == Status::Success && !udp_closed_) {
              u->failures = 0;
              u->state = UdpSlot::kSending;
              u->buf = xwsk::Buf{&u->seg, 0, u->bytes};
              u->ran = false;
              work_++;
              slot = u;
              act = kSend;
            } else if (u->result == Status::BufferOverflow) {
              stats_.datagrams_dropped++;  // longer than a slot: truncated, not echoed
              u->state = UdpSlot::kIdle;
            } else if (socket_gone(u->result) || udp_closed_ ||
                       ++u->failures > kMaxConsecutiveFailures) {
              u->state = UdpSlot::kDead;
            } else {
              // e.g. a port-unreachable report for an earlier echo: keep serving.
              stats_.udp_errors++;
              u->state = UdpSlot::kIdle;
            }
            break;
          case UdpSlot::kSent:
            if (u->result == Status::Success) {
              stats_.datagrams++;
              stats_.udp_bytes += u->bytes;
              u->state = UdpSlot::kIdle;
            } else if (socket_gone(u->result)) {
              u->state = UdpSlot::kDead;
            } else {
              stats_.datagrams_dropped++;
              stats_.udp_errors++;
              u->state = UdpSlot::kIdle;
            }
            break;
          case UdpSlot::kIdle:
            if (stopping_ || udp_closed_) {
              u->state = UdpSlot::kDead;
            } else {
              u->state = UdpSlot::kReceiving;
              u->buf = xwsk::Buf{&u->seg, 0, u->size};
              u->control_flags = 0;
              u->ran = false;
              work_++;
              slot = u;
              act = kReceive;
            }
            break;
          default:
            break;
        }
      }
      if (act == kNone) {
        udp_pumping_ = false;
        return;
      }
    }
    Status r = Status::Pending;
    if (act == kCloseUdp) {
      close_async(udp_, &udp_close_);
      continue;
    }
    if (act == kReceive) {
      r = xwsk::receive_from(udp_, &slot->buf, 0, &slot->remote, nullptr, nullptr,
                             &slot->control_flags, &slot->req);
    } else {
      r = xwsk::send_to(udp_, &slot->buf, 0, &slot->remote, 0, nullptr, &slot->req);
    }
    if (r != Status::Pending) {
      bool rejected;
      {
        Guard g(lock_);
        rejected = !slot->ran;
        if (rejected) {
          slot->state = UdpSlot::kDead;
          stats_.udp_errors++;
        }
      }
      if (rejected) {
        log_error("xwsk-echo: %s rejected: %s\n", act == kReceive ? "receive_from" : "send_to",
                  xwsk::status_name(r));
        release_work();
      }
    }
  }
}

// =============================================================================================
// Server
// =============================================================================================

Server::Server() = default;

Server::~Server() {
  // stop() frees everything once quiescent; if it was never started there is nothing to free.
}

void Server::add_work() {
  Guard g(lock_);
  work_++;
}

void Server::release_work() {
  bool fire;
  {
    Guard g(lock_);
    fire = --work_ == 0 && stopping_;
  }
  // Set after the lock is dropped: the waiter may destroy the server as soon as it wakes.
  if (fire) quiesced_.set();
}

void Server::close_async(xwsk::Socket* s, xwsk::Request* req) {
  // The caller counted this request in work_; the routine releases it.
  Status r = xwsk::close_socket(s, req);
  if (r != Status::Pending && r != Status::Success) {
    log_error("xwsk-echo: close_socket: %s\n", xwsk::status_name(r));
    if (!nt_success(r)) release_work();
  }
}

Status Server::start(xwsk::Client* client, const ServerConfig& config, const char** what) {
  client_ = client;
  config_ = config;
  const uint32_t tmo = config.timeout_ms;
  const xwsk::AddressFamily family = config.bind.af();
  const bool dual_stack = config.dual_stack && family == xwsk::AddressFamily::Inet6;
  Status st = Status::Success;
  auto fail = [&](const char* step, Status s) {
    *what = step;
    st = s;
  };

  if (xwsk::request_init(&listener_close_, on_close, this) != Status::Success ||
      xwsk::request_init(&udp_close_, on_close, this) != Status::Success) {
    *what = "request_init";
    return Status::InsufficientResources;
  }
  close_requests_ready_ = true;
  local_ = config.bind;
  disconnect_supported_ = (xwsk::backend_capabilities() & xwsk::kCapDisconnect) != 0;

  if (config.tcp) {
    st = create_socket(client, family, xwsk::SocketType::Stream, xwsk::Protocol::Tcp,
                       xwsk::kListenSocket, this, nullptr, &listener_, tmo);
    if (st != Status::Success) {
      listener_ = nullptr;
      fail("socket(listen)", st);
    } else if (dual_stack && (st = set_option(listener_, xwsk::kIpProtoIpv6, xwsk::kIpv6V6Only, 0,
                                              tmo)) != Status::Success) {
      fail("IPV6_V6ONLY off (tcp)", st);
    } else if ((st = bind_socket(listener_, config.bind, tmo)) != Status::Success) {
      fail("bind(tcp)", st);
    } else if ((xwsk::backend_capabilities() & xwsk::kCapAddressQueries) != 0 &&
               (st = local_address(listener_, &local_, tmo)) != Status::Success) {
      fail("get_local_address(tcp)", st);
    }
  }
  if (st == Status::Success && config.udp) {
    xwsk::SockAddr at = config.bind;
    at.set_port(local_.port());  // the same port as TCP
    st = create_socket(client, family, xwsk::SocketType::Datagram, xwsk::Protocol::Udp,
                       xwsk::kDatagramSocket, this, nullptr, &udp_, tmo);
    if (st != Status::Success) {
      udp_ = nullptr;
      fail("socket(udp)", st);
    } else if (dual_stack && (st = set_option(udp_, xwsk::kIpProtoIpv6, xwsk::kIpv6V6Only, 0,
                                              tmo)) != Status::Success) {
      fail("IPV6_V6ONLY off (udp)", st);
    } else if ((st = bind_socket(udp_, at, tmo)) != Status::Success) {
      fail("bind(udp)", st);
    } else if (!config.tcp && (xwsk::backend_capabilities() & xwsk::kCapAddressQueries) != 0 &&
               (st = local_address(udp_, &local_, tmo)) != Status::Success) {
      fail("get_local_address(udp)", st);
    }
  }
  if (st == Status::Success && listener_ != nullptr) {
    accept_slots_ = new (std::nothrow) AcceptSlot[config.accept_requests];
    if (accept_slots_ == nullptr) {
      fail("allocate accept slots", Status::InsufficientResources);
    } else {
      accept_count_ = config.accept_requests;
      for (uint32_t i = 0; i < accept_count_; ++i) {
        AcceptSlot* a = &accept_slots_[i];
        a->server = this;
        a->req_ready = xwsk::request_init(&a->req, on_accept, a) == Status::Success;
        if (a->req_ready) a->prepared = prepare_connection();
        if (!a->req_ready || a->prepared == nullptr) {
          fail("allocate accept slots", Status::InsufficientResources);
          break;
        }
      }
    }
  }
  if (st == Status::Success && udp_ != nullptr) {
    udp_slots_ = new (std::nothrow) UdpSlot[config.udp_slots];
    if (udp_slots_ == nullptr) {
      fail("allocate udp slots", Status::InsufficientResources);
    } else {
      udp_count_ = config.udp_slots;
      for (uint32_t i = 0; i < udp_count_; ++i) {
        UdpSlot* u = &udp_slots_[i];
        u->server = this;
        u->size = 65536;
        u->data = new (std::nothrow) uint8_t[u->size];
        if (u->data == nullptr ||
            xwsk::segment_init(&u->seg, u->data, u->size) != Status::Success ||
            !(u->req_ready = xwsk::request_init(&u->req, on_udp, u) == Status::Success)) {
          fail("allocate udp slots", Status::InsufficientResources);
          break;
        }
      }
    }
  }
  if (st != Status::Success) {
    // Nothing has been issued yet: close synchronously and free.
    if (listener_ != nullptr) close_socket_wait(listener_, tmo);
    if (udp_ != nullptr) close_socket_wait(udp_, tmo);
    listener_ = nullptr;
    udp_ = nullptr;
    {
      Guard g(lock_);
      stopping_ = true;
    }
    free_slots();
    return st;
  }
  started_ = true;
  pump_accepts();
  pump_udp();
  return Status::Success;
}

void Server::free_slots() {
  for (uint32_t i = 0; i < accept_count_; ++i) {
    AcceptSlot* a = &accept_slots_[i];
    if (a->prepared != nullptr) a->prepared->destroy();
    a->prepared = nullptr;
    if (a->req_ready) xwsk::request_free(&a->req);
  }
  delete[] accept_slots_;
  accept_slots_ = nullptr;
  accept_count_ = 0;
  for (uint32_t i = 0; i < udp_count_; ++i) {
    UdpSlot* u = &udp_slots_[i];
    if (u->req_ready) xwsk::request_free(&u->req);
    xwsk::segment_free(&u->seg);
    delete[] u->data;
  }
  delete[] udp_slots_;
  udp_slots_ = nullptr;
  udp_count_ = 0;
  if (close_requests_ready_) {
    xwsk::request_free(&listener_close_);
    xwsk::request_free(&udp_close_);
    close_requests_ready_ = false;
  }
}

bool Server::stop(uint32_t timeout_ms) {
  if (!started_) return true;
  Connection** live = nullptr;
  size_t count = 0;
  {
    Guard g(lock_);
    if (stopping_) return true;
    stopping_ = true;
    work_++;  // ours until everything below is issued, so the count cannot touch 0 early
    live = new (std::nothrow) Connection*[stats_.active + 1];
    for (Connection* c = connections_; c != nullptr && live != nullptr; c = c->next) {
      if (c->try_ref()) live[count++] = c;
    }
  }
  // The pumps close the listener and the UDP socket (they are the only callers of those
  // sockets), which cancels the pending accepts and receives.
  pump_accepts();
  pump_udp();
  for (size_t i = 0; i < count; ++i) {
    Connection* c = live[i];
    {
      Guard g(c->lock);
      c->shutdown = true;
    }
    c->pump();
    c->release();
  }
  delete[] live;
  release_work();
  if (!quiesced_.wait(timeout_ms)) {
    log_error(
        "xwsk-echo: the provider did not complete every request within %u ms after the "
        "sockets were closed; leaking the server's memory\n",
        timeout_ms);
    return false;
  }
  free_slots();
  started_ = false;
  return true;
}

ServerStats Server::stats() {
  Guard g(lock_);
  return stats_;
}

}  // namespace echo
