// SPDX-License-Identifier: MIT
// Fault tests that need threads or the checked build (ctest label `fault`, one binary per
// user-space backend): two threads racing one idle request into a call, a release from
// another thread before the receive event has returned Pending, a stale handle after close
// (checked build: InvalidHandle, never another socket), and a sweep of bad input over every API
// entry with the live counters back to zero at the end.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "xwsk/xwsk.h"

namespace {

using xwsk::AddressFamily;
using xwsk::Protocol;
using xwsk::SocketType;
using xwsk::Status;

#if defined(XWSK_CHECKED)
constexpr bool kChecked = true;
#else
constexpr bool kChecked = false;
#endif

/// A request whose completions are counted and can be waited for.
struct Op {
  xwsk::Request req{};
  std::mutex mu;
  std::condition_variable cv;
  uint32_t completions = 0;
  Status last = Status::Success;

  Op() { EXPECT_EQ(Status::Success, xwsk::request_init(&req, &Op::done, this)); }
  ~Op() { xwsk::request_free(&req); }
  static void done(xwsk::Request* r, void* ctx) {
    Op* op = static_cast<Op*>(ctx);
    std::lock_guard<std::mutex> g(op->mu);
    op->last = r->status;
    ++op->completions;
    op->cv.notify_all();
  }
  /// As done, without reading the request: for a test whose other thread may hand the request
  /// to a new call while this routine still runs (the request is idle once it was completed).
  static void count_only(xwsk::Request*, void* ctx) {
    Op* op = static_cast<Op*>(ctx);
    std::lock_guard<std::mutex> g(op->mu);
    ++op->completions;
    op->cv.notify_all();
  }
  /// Waits until @p n completions were counted (10 s at most).
  bool wait_for(uint32_t n) {
    std::unique_lock<std::mutex> g(mu);
    return cv.wait_for(g, std::chrono::seconds(10), [&] { return completions >= n; });
  }
  uint32_t count() {
    std::lock_guard<std::mutex> g(mu);
    return completions;
  }
  /// Waits for the call that returned @p ret (the first call of this Op); returns the final
  /// status. An inline result already ran the routine.
  Status finish(Status ret) {
    if (ret == Status::Pending) {
      EXPECT_TRUE(wait_for(1)) << "no completion in 10 s";
    }
    return ret == Status::Pending ? req.status : ret;
  }
};

struct Client {
  xwsk::Registration reg{};
  xwsk::Client* client = nullptr;
  Client() {
    static const xwsk::ClientDispatch kDispatch = {xwsk::kWskVersion, 0, nullptr};
    xwsk::ClientNpi npi{nullptr, &kDispatch};
    EXPECT_EQ(Status::Success, xwsk::register_client(&npi, &reg));
    xwsk::ProviderNpi p{};
    EXPECT_EQ(Status::Success, xwsk::capture_provider(&reg, xwsk::kNoWait, &p));
    client = p.client;
  }
  ~Client() {
    xwsk::release_provider(&reg);
    xwsk::deregister_client(&reg);
  }
  xwsk::Socket* socket(uint32_t category, SocketType type) {
    Op op;
    Status st = op.finish(xwsk::socket(client, AddressFamily::Inet, type, Protocol::Default,
                                       category, nullptr, nullptr, &op.req));
    EXPECT_EQ(Status::Success, st);
    return st == Status::Success ? reinterpret_cast<xwsk::Socket*>(op.req.information) : nullptr;
  }
  xwsk::SockAddr bind(xwsk::Socket* s) {
    Op op;
    xwsk::SockAddr a = xwsk::ipv4_loopback(0);
    EXPECT_EQ(Status::Success, op.finish(xwsk::bind(s, &a, 0, &op.req)));
    xwsk::SockAddr out{};
    Op q;
    EXPECT_EQ(Status::Success, q.finish(xwsk::get_local_address(s, &out, &q.req)));
    return out;
  }
  void close(xwsk::Socket* s) {
    Op op;
    EXPECT_EQ(Status::Success, op.finish(xwsk::close_socket(s, &op.req)));
  }
};

uint16_t port_of(const xwsk::SockAddr& a) {
  char text[64];
  xwsk::format_address(a, text, sizeof text);
  const char* colon = strrchr(text, ':');
  return static_cast<uint16_t>(atoi(colon + 1));
}

/// Runs @p a and @p b on two threads released at the same instant.
template <typename A, typename B>
void at_once(A a, B b) {
  std::atomic<int> ready{0};
  std::thread t1([&] {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    a();
  });
  std::thread t2([&] {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    b();
  });
  t1.join();
  t2.join();
}

int plain_udp_to(uint16_t port, sockaddr_in* to) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  *to = sockaddr_in{};
  to->sin_family = AF_INET;
  to->sin_port = htons(port);
  to->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return fd;
}

void expect_counters_zero() {
  xwsk::Counters c = xwsk::counters();
  EXPECT_EQ(0u, c.registrations);
  EXPECT_EQ(0u, c.sockets);
  EXPECT_EQ(0u, c.requests_in_flight);
  EXPECT_EQ(0u, c.allocations);
  EXPECT_EQ(0u, c.retained_indications);
}

// One idle request handed to receive_from by two threads at once: exactly one call accepts it
// (Pending: no datagram is waiting) and the other gets DeviceBusy; one completion follows.
TEST(fault, acceptance_race_receive_from) {
  {
    Client cl;
    xwsk::Socket* s = cl.socket(xwsk::kDatagramSocket, SocketType::Datagram);
    ASSERT_NE(nullptr, s);
    xwsk::SockAddr local = cl.bind(s);
    sockaddr_in to;
    int fd = plain_udp_to(port_of(local), &to);
    ASSERT_GE(fd, 0);
    uint8_t data[64];
    xwsk::Segment seg{};
    ASSERT_EQ(Status::Success, xwsk::segment_init(&seg, data, sizeof data));
    xwsk::Buf buf{&seg, 0, sizeof data};
    Op op;
    const uint32_t kRounds = 300;
    for (uint32_t i = 0; i < kRounds; ++i) {
      Status r1 = Status::Success, r2 = Status::Success;
      auto call = [&](Status* out) {
        *out = xwsk::receive_from(s, &buf, 0, nullptr, nullptr, nullptr, nullptr, &op.req);
      };
      at_once([&] { call(&r1); }, [&] { call(&r2); });
      bool one_each = (r1 == Status::Pending && r2 == Status::DeviceBusy) ||
                      (r1 == Status::DeviceBusy && r2 == Status::Pending);
      ASSERT_TRUE(one_each) << "round " << i << ": " << xwsk::status_name(r1) << ", "
                            << xwsk::status_name(r2);
      ASSERT_EQ(1, sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to));
      ASSERT_TRUE(op.wait_for(i + 1)) << "round " << i << ": no completion";
      ASSERT_EQ(i + 1, op.count()) << "round " << i << ": completed twice";
      ASSERT_EQ(Status::Success, op.last);
    }
    ::close(fd);
    cl.close(s);
    xwsk::segment_free(&seg);
  }
  expect_counters_zero();
}

// The same race on send_to (which may complete before the other thread tries, so both may be
// accepted one after the other): every accepted call completes exactly once, none crashes.
TEST(fault, acceptance_race_send_to) {
  {
    Client cl;
    xwsk::Socket* s = cl.socket(xwsk::kDatagramSocket, SocketType::Datagram);
    ASSERT_NE(nullptr, s);
    xwsk::SockAddr local = cl.bind(s);
    (void)local;
    sockaddr_in sink_addr;
    int sink = plain_udp_to(0, &sink_addr);
    ASSERT_GE(sink, 0);
    ASSERT_EQ(0, ::bind(sink, reinterpret_cast<sockaddr*>(&sink_addr), sizeof sink_addr));
    socklen_t len = sizeof sink_addr;
    ASSERT_EQ(0, getsockname(sink, reinterpret_cast<sockaddr*>(&sink_addr), &len));
    xwsk::SockAddr to = xwsk::ipv4_loopback(ntohs(sink_addr.sin_port));
    uint8_t data[32] = {1};
    xwsk::Segment seg{};
    ASSERT_EQ(Status::Success, xwsk::segment_init(&seg, data, sizeof data));
    xwsk::Buf buf{&seg, 0, sizeof data};
    Op op;
    // The losing thread may take the request as soon as the winner's call completed, while the
    // completion routine still runs: the routine must not read the request then.
    ASSERT_EQ(Status::Success, xwsk::request_set_completion(&op.req, &Op::count_only, &op));
    uint32_t accepted = 0, busy = 0;
    for (uint32_t i = 0; i < 500; ++i) {
      Status r1 = Status::Success, r2 = Status::Success;
      auto call = [&](Status* out) { *out = xwsk::send_to(s, &buf, 0, &to, 0, nullptr, &op.req); };
      at_once([&] { call(&r1); }, [&] { call(&r2); });
      for (Status r : {r1, r2}) {
        ASSERT_TRUE(r == Status::Pending || r == Status::Success || r == Status::DeviceBusy)
            << xwsk::status_name(r);
        if (r == Status::DeviceBusy) {
          ++busy;
        } else {
          ++accepted;
        }
      }
      ASSERT_NE(Status::DeviceBusy, r1 == Status::DeviceBusy ? r2 : r1);  // one accepted
      ASSERT_TRUE(op.wait_for(accepted)) << "round " << i;
      ASSERT_EQ(accepted, op.count()) << "round " << i << ": a completion too many";
    }
    printf("send_to race: %u calls accepted, %u DeviceBusy, %u completions\n", accepted, busy,
           op.count());
    ::close(sink);
    cl.close(s);
    xwsk::segment_free(&seg);
  }
  expect_counters_zero();
}

// A receive event that hands its list to another thread, which releases it before the event
// has returned Pending (the event waits for that release to return), as a client that is itself
// a provider does: umwsk's provider, over posix-epoll, releases a list as soon as its own client
// did, while its event is still on its way back. The release must not be lost: the next data is
// indicated, and no indication stays counted. Streams and datagrams, 20 rounds each.
struct EarlyRelease {
  xwsk::Socket* s = nullptr;
  bool datagram = false;
  std::mutex mu;
  std::condition_variable cv;
  size_t units = 0;  // bytes (stream) or datagrams
  /// Releases @p list on another thread and waits for that release to return.
  void release_elsewhere(void* list) {
    Status st = Status::Unsuccessful;
    std::thread t([&] {
      st = datagram
               ? xwsk::release_datagram_indications(s, static_cast<xwsk::DatagramIndication*>(list))
               : xwsk::release_data_indications(s, static_cast<xwsk::DataIndication*>(list));
    });
    t.join();
    EXPECT_EQ(Status::Success, st);
  }
  void add(size_t n) {
    std::lock_guard<std::mutex> g(mu);
    units += n;
    cv.notify_all();
  }
  bool wait_units(size_t n) {
    std::unique_lock<std::mutex> g(mu);
    return cv.wait_for(g, std::chrono::seconds(5), [&] { return units >= n; });
  }
  size_t count() {
    std::lock_guard<std::mutex> g(mu);
    return units;
  }
};

Status early_receive(void* ctx, uint32_t, xwsk::DataIndication* data, size_t bytes, size_t*) {
  auto* e = static_cast<EarlyRelease*>(ctx);
  if (data == nullptr) return Status::Success;
  e->release_elsewhere(data);
  e->add(bytes);
  return Status::Pending;
}

Status early_receive_from(void* ctx, uint32_t, xwsk::DatagramIndication* list) {
  auto* e = static_cast<EarlyRelease*>(ctx);
  if (list == nullptr) return Status::Success;
  size_t n = 0;
  for (xwsk::DatagramIndication* d = list; d != nullptr; d = d->next)
    ++n;
  e->release_elsewhere(list);
  e->add(n);
  return Status::Pending;
}

void enable_event(xwsk::Socket* s, uint32_t event) {
  xwsk::EventCallbackControl ec{nullptr, event};
  EXPECT_EQ(Status::Success,
            xwsk::control_socket(s, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                                 xwsk::kSolSocket, sizeof ec, &ec, 0, nullptr, nullptr, nullptr));
}

TEST(fault, release_before_event_returned) {
  constexpr int kRounds = 20;
  {
    Client cl;
    // A stream: an accepted connection with the receive event, a plain TCP peer.
    static const xwsk::ConnectionDispatch kConn = {early_receive, nullptr, nullptr};
    EarlyRelease st;
    xwsk::Socket* lsn = cl.socket(xwsk::kListenSocket, SocketType::Stream);
    ASSERT_NE(nullptr, lsn);
    xwsk::SockAddr la = cl.bind(lsn);
    Op acc;
    Status r = xwsk::accept(lsn, 0, &st, &kConn, nullptr, nullptr, &acc.req);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port_of(la));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(tcp, 0);
    ASSERT_EQ(0, ::connect(tcp, reinterpret_cast<sockaddr*>(&to), sizeof to));
    ASSERT_EQ(Status::Success, acc.finish(r));
    st.s = reinterpret_cast<xwsk::Socket*>(acc.req.information);
    enable_event(st.s, xwsk::kEventReceive);
    // A failure ends the rounds but still closes everything (else deregistering would wait).
    for (int i = 0; i < kRounds; ++i) {
      if (::send(tcp, "0123456789", 10, MSG_NOSIGNAL) != 10) {
        ADD_FAILURE() << "stream round " << i << ": the peer's send failed";
        break;
      }
      if (!st.wait_units(10 * static_cast<size_t>(i + 1))) {
        ADD_FAILURE() << "stream round " << i
                      << ": the data after an early release was never indicated (" << st.count()
                      << " bytes)";
        break;
      }
    }
    ::close(tcp);
    cl.close(st.s);
    cl.close(lsn);

    // Datagrams: a socket with the receive-from event, a plain UDP peer.
    static const xwsk::DatagramDispatch kDgram = {early_receive_from};
    EarlyRelease dg;
    dg.datagram = true;
    Op so;
    ASSERT_EQ(Status::Success,
              so.finish(xwsk::socket(cl.client, AddressFamily::Inet, SocketType::Datagram,
                                     Protocol::Udp, xwsk::kDatagramSocket, &dg, &kDgram, &so.req)));
    dg.s = reinterpret_cast<xwsk::Socket*>(so.req.information);
    xwsk::SockAddr da = cl.bind(dg.s);
    enable_event(dg.s, xwsk::kEventReceiveFrom);
    int udp = plain_udp_to(port_of(da), &to);
    ASSERT_GE(udp, 0);
    for (int i = 0; i < kRounds; ++i) {
      if (sendto(udp, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != 1) {
        ADD_FAILURE() << "datagram round " << i << ": the peer's send failed";
        break;
      }
      if (!dg.wait_units(static_cast<size_t>(i + 1))) {
        ADD_FAILURE() << "datagram round " << i
                      << ": the datagram after an early release was never indicated (" << dg.count()
                      << " datagrams)";
        break;
      }
    }
    EXPECT_EQ(0u, xwsk::counters().retained_indications);
    ::close(udp);
    cl.close(dg.s);
  }
  expect_counters_zero();
}

// Checked build: a closed socket's handle gets InvalidHandle on every call, and no new socket
// reuses its memory while it is quarantined (unchecked builds reuse it from the cache at once).
TEST(fault, stale_handle_checked) {
  if (!kChecked) {
    printf(
        "XWSK-SKIP fault.stale_handle_checked: needs the checked build (XWSK_CHECKED=ON, "
        "the asan preset)\n");
    GTEST_SKIP() << "needs the checked build (XWSK_CHECKED=ON, the asan preset)";
  }
  {
    Client cl;
    xwsk::Socket* old = cl.socket(xwsk::kDatagramSocket, SocketType::Datagram);
    ASSERT_NE(nullptr, old);
    cl.bind(old);
    cl.close(old);
    xwsk::Socket* fresh[16] = {};
    for (auto& f : fresh) {
      f = cl.socket(xwsk::kDatagramSocket, SocketType::Datagram);
      ASSERT_NE(nullptr, f);
      EXPECT_NE(old, f) << "a new socket reused the closed one's memory";
    }
    Op op;
    uint8_t data[8] = {};
    xwsk::Segment seg{};
    ASSERT_EQ(Status::Success, xwsk::segment_init(&seg, data, sizeof data));
    xwsk::Buf buf{&seg, 0, sizeof data};
    xwsk::SockAddr a = xwsk::ipv4_loopback(9);
    // The backend may hold the object a little after the close completed (FileClosed; uv frees
    // it after libuv's close callback): wait until it is in the quarantine.
    for (int i = 0; i < 200 && xwsk::get_local_address(old, &a, &op.req) == Status::FileClosed;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(Status::InvalidHandle, xwsk::bind(old, &a, 0, &op.req));
    EXPECT_EQ(Status::InvalidHandle, xwsk::send_to(old, &buf, 0, &a, 0, nullptr, &op.req));
    EXPECT_EQ(Status::InvalidHandle,
              xwsk::receive_from(old, &buf, 0, nullptr, nullptr, nullptr, nullptr, &op.req));
    EXPECT_EQ(Status::InvalidHandle, xwsk::get_local_address(old, &a, &op.req));
    EXPECT_EQ(Status::InvalidHandle, xwsk::close_socket(old, &op.req));
    xwsk::EventCallbackControl ev{nullptr, xwsk::kEventReceiveFrom};
    EXPECT_EQ(Status::InvalidHandle,
              xwsk::control_socket(old, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                                   xwsk::kSolSocket, sizeof ev, &ev, 0, nullptr, nullptr, nullptr));
    EXPECT_EQ(0u, op.count());
    for (auto& f : fresh) {
      cl.bind(f);  // the new sockets work
      cl.close(f);
    }
    xwsk::segment_free(&seg);
  }
  expect_counters_zero();
}

// Every API entry with bad input: null handles and arguments, a closed handle (checked build),
// the wrong category, a busy request, a looping chain and absurd sizes. Each gets its status,
// no rejected call runs a completion, and the live counters are back to zero at the end.
TEST(fault, bad_input_sweep) {
  const size_t kHuge = static_cast<size_t>(-1);
  {
    Client cl;
    xwsk::Client* c = cl.client;
    xwsk::Socket* d = cl.socket(xwsk::kDatagramSocket, SocketType::Datagram);
    xwsk::Socket* conn = cl.socket(xwsk::kConnectionSocket, SocketType::Stream);
    xwsk::Socket* lsn = cl.socket(xwsk::kListenSocket, SocketType::Stream);
    xwsk::Socket* basic = cl.socket(xwsk::kBasicSocket, SocketType::Datagram);
    ASSERT_TRUE(d != nullptr && conn != nullptr && lsn != nullptr && basic != nullptr);
    xwsk::SockAddr d_addr = cl.bind(d);
    cl.bind(lsn);
    uint8_t data[64] = {};
    xwsk::Segment seg{};
    ASSERT_EQ(Status::Success, xwsk::segment_init(&seg, data, sizeof data));
    xwsk::Buf buf{&seg, 0, sizeof data};
    xwsk::BufList one{nullptr, buf};
    xwsk::SockAddr a = xwsk::ipv4_loopback(9);
    xwsk::InspectId id{};
    xwsk::DataIndication di{};
    xwsk::DatagramIndication dgi{};
    char node[64], service[16];
    xwsk::AddrInfo* ai = nullptr;
    size_t ret_size = 0;
    Op idle;  // never accepted below: no completion may run on it
    xwsk::Request* r = &idle.req;

    // ---- null ------------------------------------------------------------------------------
    EXPECT_EQ(Status::InvalidParameter, xwsk::request_init(nullptr, &Op::done, nullptr));
    EXPECT_EQ(Status::InvalidParameter, xwsk::request_init(r, nullptr, nullptr));
    EXPECT_EQ(Status::InvalidParameter, xwsk::request_set_completion(nullptr, &Op::done, nullptr));
    EXPECT_EQ(Status::InvalidParameter, xwsk::request_set_completion(r, nullptr, nullptr));
    EXPECT_EQ(Status::InvalidParameter, xwsk::request_free(nullptr));
    EXPECT_FALSE(xwsk::request_pending(nullptr));
    EXPECT_EQ(Status::InvalidParameter, xwsk::segment_init(nullptr, data, 1));
    xwsk::segment_free(nullptr);
    xwsk::SockAddr parsed{};
    EXPECT_EQ(Status::InvalidParameter, xwsk::parse_address(nullptr, &parsed));
    EXPECT_EQ(Status::InvalidParameter, xwsk::parse_address("127.0.0.1:9", nullptr));
    EXPECT_EQ(0u, xwsk::format_address(a, nullptr, 64));
    EXPECT_EQ(0u, xwsk::format_address(a, node, 0));
    EXPECT_NE(nullptr, xwsk::capability_reason(static_cast<xwsk::Capability>(0x80000000u)));
    xwsk::Registration spare{};
    EXPECT_EQ(Status::InvalidParameter, xwsk::register_client(nullptr, &spare));
    EXPECT_EQ(Status::InvalidParameter, xwsk::capture_provider(nullptr, xwsk::kNoWait, nullptr));
    EXPECT_EQ(Status::InvalidParameter, xwsk::capture_provider(&spare, xwsk::kNoWait, nullptr));
    xwsk::release_provider(nullptr);
    xwsk::deregister_client(nullptr);
    xwsk::deregister_client(&spare);
    EXPECT_EQ(Status::InvalidHandle,
              xwsk::socket(nullptr, AddressFamily::Inet, SocketType::Datagram, Protocol::Udp,
                           xwsk::kDatagramSocket, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::socket(c, AddressFamily::Inet, SocketType::Datagram, Protocol::Udp,
                           xwsk::kDatagramSocket, nullptr, nullptr, nullptr));
    EXPECT_EQ(Status::InvalidHandle,
              xwsk::socket_connect(nullptr, SocketType::Stream, Protocol::Tcp, &a, &a, 0, nullptr,
                                   nullptr, r));
    EXPECT_EQ(Status::InvalidParameter, xwsk::socket_connect(c, SocketType::Stream, Protocol::Tcp,
                                                             nullptr, &a, 0, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::control_client(nullptr, xwsk::kTransportListQuery, 0,
                                                          nullptr, 0, nullptr, &ret_size, r));
    EXPECT_EQ(Status::InvalidHandle,
              xwsk::get_address_info(nullptr, "localhost", nullptr, 0, nullptr, &ai, r));
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::get_address_info(c, nullptr, nullptr, 0, nullptr, &ai, r));
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::get_address_info(c, "localhost", nullptr, 0, nullptr, nullptr, r));
    xwsk::free_address_info(nullptr, nullptr);
    xwsk::free_address_info(c, nullptr);
    EXPECT_EQ(Status::InvalidHandle,
              xwsk::get_name_info(nullptr, &a, node, sizeof node, nullptr, 0, 0, r));
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::get_name_info(c, nullptr, node, sizeof node, nullptr, 0, 0, r));
    xwsk::Socket* n = nullptr;
    EXPECT_EQ(Status::InvalidHandle, xwsk::bind(n, &a, 0, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::listen(n, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::accept(n, 0, nullptr, nullptr, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::connect(n, &a, 0, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::connect_ex(n, &a, nullptr, 0, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::send(n, &buf, 0, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::receive(n, &buf, 0, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::disconnect(n, nullptr, 0, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::send_to(n, &buf, 0, &a, 0, nullptr, r));
    EXPECT_EQ(Status::InvalidHandle,
              xwsk::receive_from(n, &buf, 0, nullptr, nullptr, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::send_messages(n, &one, 0, &a, 0, nullptr, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::get_local_address(n, &a, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::get_remote_address(n, &a, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::release_data_indications(n, &di));
    EXPECT_EQ(Status::InvalidHandle, xwsk::release_datagram_indications(n, &dgi));
    EXPECT_EQ(Status::InvalidHandle,
              xwsk::inspect_complete(n, &id, xwsk::InspectAction::Accept, r));
    EXPECT_EQ(Status::InvalidHandle,
              xwsk::control_socket(n, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf,
                                   xwsk::kSolSocket, 0, nullptr, 0, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidHandle, xwsk::close_socket(n, r));
    EXPECT_EQ(Status::InvalidParameter, xwsk::send_to(d, nullptr, 0, &a, 0, nullptr, r));
    EXPECT_EQ(Status::InvalidParameter, xwsk::send_messages(d, nullptr, 0, &a, 0, nullptr, r));
    EXPECT_EQ(Status::InvalidParameter, xwsk::get_local_address(d, nullptr, r));
    EXPECT_EQ(Status::InvalidParameter, xwsk::release_datagram_indications(d, nullptr));
    EXPECT_EQ(Status::InvalidParameter, xwsk::close_socket(d, nullptr));
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::inspect_complete(lsn, nullptr, xwsk::InspectAction::Accept, r));

    // ---- wrong category --------------------------------------------------------------------
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::send(d, &buf, 0, r));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::receive(lsn, &buf, 0, r));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::send_to(conn, &buf, 0, &a, 0, nullptr, r));
    EXPECT_EQ(Status::InvalidDeviceRequest,
              xwsk::receive_from(basic, &buf, 0, nullptr, nullptr, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::send_messages(lsn, &one, 0, &a, 0, nullptr, r));
    EXPECT_EQ(Status::InvalidDeviceRequest,
              xwsk::accept(conn, 0, nullptr, nullptr, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::listen(d, r));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::connect(basic, &a, 0, r));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::bind(basic, &a, 0, r));  // WSK basic dispatch
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::get_local_address(basic, &a, r));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::disconnect(d, nullptr, 0, r));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::get_remote_address(d, &a, r));
    EXPECT_EQ(Status::InvalidDeviceRequest,
              xwsk::inspect_complete(conn, &id, xwsk::InspectAction::Accept, r));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::release_data_indications(d, &di));
    EXPECT_EQ(Status::InvalidDeviceRequest, xwsk::release_datagram_indications(conn, &dgi));

    // ---- looping chain and absurd sizes ----------------------------------------------------
    xwsk::Segment loop{};
    ASSERT_EQ(Status::Success, xwsk::segment_init(&loop, data, 8));
    loop.next = &loop;
    xwsk::Buf looped{&loop, 0, 16};
    EXPECT_EQ(Status::InvalidParameter, xwsk::send(conn, &looped, 0, r));
    EXPECT_EQ(Status::InvalidParameter, xwsk::receive(conn, &looped, 0, r));
    EXPECT_EQ(Status::InvalidParameter, xwsk::send_to(d, &looped, 0, &a, 0, nullptr, r));
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::receive_from(d, &looped, 0, nullptr, nullptr, nullptr, nullptr, r));
    xwsk::Buf huge_len{&seg, 0, kHuge};
    xwsk::Buf huge_off{&seg, kHuge, 1};
    xwsk::Buf past{&seg, 1, sizeof data};
    for (xwsk::Buf* b : {&huge_len, &huge_off, &past}) {
      EXPECT_EQ(Status::InvalidParameter, xwsk::send(conn, b, 0, r));
      EXPECT_EQ(Status::InvalidParameter, xwsk::send_to(d, b, 0, &a, 0, nullptr, r));
      EXPECT_EQ(Status::InvalidParameter,
                xwsk::receive_from(d, b, 0, nullptr, nullptr, nullptr, nullptr, r));
      EXPECT_EQ(Status::InvalidParameter, xwsk::connect_ex(conn, &a, b, 0, r));
    }
    EXPECT_EQ(Status::InvalidParameter, xwsk::segment_init(&loop, nullptr, kHuge));
    EXPECT_EQ(Status::InvalidParameter, xwsk::send_to(d, &buf, 0, &a, kHuge, nullptr, r));
    size_t control_len = kHuge;
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::receive_from(d, &buf, 0, nullptr, &control_len, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::control_socket(d, xwsk::ControlType::SetOption, xwsk::kSoRcvBuf,
                                   xwsk::kSolSocket, kHuge, nullptr, 0, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::control_socket(d, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf,
                                   xwsk::kSolSocket, 0, nullptr, kHuge, nullptr, nullptr, r));
    EXPECT_EQ(Status::InvalidParameter, xwsk::control_client(c, xwsk::kTransportListQuery, kHuge,
                                                             nullptr, 0, nullptr, &ret_size, r));
    EXPECT_EQ(Status::InvalidParameter,
              xwsk::get_name_info(c, &a, node, 0, service, sizeof service, 0, r));
    char long_text[4096];
    memset(long_text, '1', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    EXPECT_EQ(Status::InvalidParameter, xwsk::parse_address(long_text, &parsed));
    static xwsk::BufList list[xwsk::kMaxChainSegments + 1];
    for (size_t i = 0; i <= xwsk::kMaxChainSegments; ++i) {
      list[i] = xwsk::BufList{i < xwsk::kMaxChainSegments ? &list[i + 1] : nullptr,
                              xwsk::Buf{&seg, 0, 1}};
    }
    EXPECT_EQ(Status::InvalidParameter, xwsk::send_messages(d, &list[0], 0, &a, 0, nullptr, r));
    xwsk::segment_free(&loop);

    // ---- busy ------------------------------------------------------------------------------
    Op busy_op;
    xwsk::Request* b = &busy_op.req;
    ASSERT_EQ(Status::Pending,
              xwsk::receive_from(d, &buf, 0, nullptr, nullptr, nullptr, nullptr, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::request_init(b, &Op::done, &busy_op));
    EXPECT_EQ(Status::DeviceBusy, xwsk::request_set_completion(b, &Op::done, &busy_op));
    EXPECT_EQ(Status::DeviceBusy, xwsk::request_free(b));
    EXPECT_EQ(Status::DeviceBusy,
              xwsk::socket(c, AddressFamily::Inet, SocketType::Datagram, Protocol::Udp,
                           xwsk::kDatagramSocket, nullptr, nullptr, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::socket_connect(c, SocketType::Stream, Protocol::Tcp, &a, &a,
                                                       0, nullptr, nullptr, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::control_client(c, xwsk::kTransportListQuery, 0, nullptr, 0,
                                                       nullptr, &ret_size, b));
    EXPECT_EQ(Status::DeviceBusy,
              xwsk::get_address_info(c, "localhost", nullptr, 0, nullptr, &ai, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::get_name_info(c, &a, node, sizeof node, nullptr, 0, 0, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::bind(conn, &a, 0, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::connect(conn, &a, 0, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::connect_ex(conn, &a, nullptr, 0, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::send(conn, &buf, 0, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::receive(conn, &buf, 0, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::disconnect(conn, nullptr, 0, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::get_remote_address(conn, &a, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::accept(lsn, 0, nullptr, nullptr, nullptr, nullptr, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::inspect_complete(lsn, &id, xwsk::InspectAction::Accept, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::send_to(d, &buf, 0, &a, 0, nullptr, b));
    EXPECT_EQ(Status::DeviceBusy,
              xwsk::receive_from(d, &buf, 0, nullptr, nullptr, nullptr, nullptr, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::send_messages(d, &one, 0, &a, 0, nullptr, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::get_local_address(d, &a, b));
    EXPECT_EQ(Status::DeviceBusy,
              xwsk::control_socket(d, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf,
                                   xwsk::kSolSocket, 0, nullptr, 0, nullptr, nullptr, b));
    EXPECT_EQ(Status::DeviceBusy, xwsk::close_socket(basic, b));
    // The busy close did not start a close: the socket still works.
    Op q;
    uint32_t rcvbuf = 0;
    EXPECT_EQ(Status::Success,
              q.finish(xwsk::control_socket(basic, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf,
                                            xwsk::kSolSocket, 0, nullptr, sizeof rcvbuf, &rcvbuf,
                                            nullptr, &q.req)));
    // The busy request still completes exactly once.
    sockaddr_in to;
    int fd = plain_udp_to(port_of(d_addr), &to);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(1, sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to));
    ::close(fd);
    EXPECT_TRUE(busy_op.wait_for(1));
    EXPECT_EQ(1u, busy_op.count());
    EXPECT_EQ(Status::Success, busy_op.last);

    // ---- closed ----------------------------------------------------------------------------
    cl.close(basic);
    if (kChecked) {
      // FileClosed while the backend still holds the object after the close completed (uv frees
      // it after libuv's close callback), InvalidHandle once it is in the quarantine.
      auto stale = [](Status st) {
        return st == Status::InvalidHandle || st == Status::FileClosed;
      };
      EXPECT_PRED1(stale, xwsk::bind(basic, &a, 0, r));
      EXPECT_PRED1(stale, xwsk::send_to(basic, &buf, 0, &a, 0, nullptr, r));
      EXPECT_PRED1(stale, xwsk::get_local_address(basic, &a, r));
      EXPECT_PRED1(stale, xwsk::close_socket(basic, r));
      EXPECT_PRED1(stale,
                   xwsk::control_socket(basic, xwsk::ControlType::GetOption, xwsk::kSoRcvBuf,
                                        xwsk::kSolSocket, 0, nullptr, 0, nullptr, nullptr, r));
    } else {
      printf(
          "bad_input_sweep: the closed-handle part needs the checked build (XWSK_CHECKED); "
          "an unchecked build may have reused the closed socket's memory\n");
    }
    EXPECT_EQ(Status::InvalidDeviceState, xwsk::set_allocator(nullptr));  // clients registered

    EXPECT_EQ(0u, idle.count()) << "a rejected call ran a completion routine";
    EXPECT_FALSE(xwsk::request_pending(r));
    cl.close(d);
    cl.close(conn);
    cl.close(lsn);
    xwsk::segment_free(&seg);
  }
  expect_counters_zero();
}

}  // namespace
