// SPDX-License-Identifier: MIT
// libFuzzer target: control_socket and control_client with any type, code, level and size.
//
// Each input: a few control_client calls (known codes and raw ones, static event callbacks
// included, before any socket exists), then one socket of every category on loopback (a
// listening socket, a connection socket connected to a plain POSIX listener, a bound datagram
// socket, a basic socket, a stream socket), then up to 24 control_socket calls: any type (the
// three and raw values), a level and a code from the known lists or raw, input and output
// buffers of any size up to 64 bytes (each allocated at exactly its size, so that xwsk reading or
// writing one byte past it is an ASan report), or null with a size (a bad argument), with or
// without a request and a size-returned pointer. Checks: no crash, no hang; a call either
// rejects (no completion) or completes exactly once; the bytes reported never exceed the output
// size; every socket closes and every counter is zero after each input.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "fuzz_common.h"

namespace {

using fuzz::die;
using fuzz::die_status;
using xwsk::Status;

constexpr uint32_t kWaitMs = 5000;
constexpr int kSockets = 5;
constexpr size_t kMaxSize = 64;

// Event callbacks that take nothing: enabling any event is legal and harmless.
xwsk::Status on_accept(void*, uint32_t, const xwsk::SockAddr*, const xwsk::SockAddr*, xwsk::Socket*,
                       void**, const xwsk::ConnectionDispatch**) {
  return Status::RequestNotAccepted;
}
xwsk::InspectAction on_inspect(void*, const xwsk::SockAddr*, const xwsk::SockAddr*,
                               const xwsk::InspectId*) {
  return xwsk::InspectAction::Accept;
}
xwsk::Status on_abort(void*, const xwsk::InspectId*) {
  return Status::Success;
}
xwsk::Status on_receive(void*, uint32_t, xwsk::DataIndication*, size_t, size_t*) {
  return Status::DataNotAccepted;
}
xwsk::Status on_disconnect(void*, uint32_t) {
  return Status::Success;
}
xwsk::Status on_backlog(void*, size_t) {
  return Status::Success;
}
xwsk::Status on_receive_from(void*, uint32_t, xwsk::DatagramIndication*) {
  return Status::DataNotAccepted;
}
const xwsk::ListenDispatch kListen = {on_accept, on_inspect, on_abort};
const xwsk::ConnectionDispatch kConnection = {on_receive, on_disconnect, on_backlog};
const xwsk::DatagramDispatch kDatagram = {on_receive_from};
const xwsk::StreamDispatch kStream = {&kListen, &kConnection};

const uint32_t kLevels[] = {xwsk::kSolSocket, xwsk::kIpProtoIp, xwsk::kIpProtoIpv6,
                            xwsk::kIpProtoTcp, xwsk::kIpProtoUdp};
const uint32_t kCodes[] = {xwsk::kSoReuseAddr,
                           xwsk::kSoKeepAlive,
                           xwsk::kSoBroadcast,
                           xwsk::kSoLinger,
                           xwsk::kSoSndBuf,
                           xwsk::kSoRcvBuf,
                           xwsk::kSoType,
                           xwsk::kSoExclusiveAddrUse,
                           xwsk::kSoConditionalAccept,
                           xwsk::kSoWskEventCallback,
                           xwsk::kTcpNoDelay,
                           xwsk::kIpv6V6Only,
                           xwsk::kIpTtl,
                           xwsk::kFionRead};
const uint32_t kEvents[] = {xwsk::kEventReceiveFrom, xwsk::kEventAccept, xwsk::kEventSendBacklog,
                            xwsk::kEventReceive, xwsk::kEventDisconnect};
const uint32_t kClientCodes[] = {xwsk::kTransportListQuery, xwsk::kTransportListChange,
                                 xwsk::kSetStaticEventCallbacks};

template <size_t N>
uint32_t pick(fuzz::Input& in, const uint32_t (&known)[N]) {
  uint8_t b = in.u8();
  return b < 224 ? known[b % N] : in.u32();
}

// A buffer of exactly @p size bytes (null when size is 0 or when the input asks for null).
struct Buffer {
  std::unique_ptr<uint8_t[]> bytes;
  size_t size = 0;
  uint8_t* ptr = nullptr;
};

void make_buffer(fuzz::Input& in, Buffer* b, bool is_input) {
  uint8_t shape = in.u8();
  b->size = shape % (kMaxSize + 1);
  if (b->size != 0) {
    b->bytes.reset(new uint8_t[b->size]);
    if (is_input) {
      // An EventCallbackControl often, so that event masks get exercised.
      if ((shape & 0x80) != 0 && b->size >= sizeof(xwsk::EventCallbackControl)) {
        xwsk::EventCallbackControl ec{nullptr, 0};
        uint8_t e = in.u8();
        ec.event_mask = kEvents[e % 5] | ((e & 0x08) != 0 ? kEvents[(e >> 4) % 5] : 0) |
                        ((e & 0x80) != 0 ? xwsk::kEventDisable : 0);
        memset(b->bytes.get(), 0, b->size);
        memcpy(b->bytes.get(), &ec, sizeof ec);
      } else {
        in.bytes(b->bytes.get(), b->size);
      }
    } else {
      memset(b->bytes.get(), 0xcc, b->size);
    }
    b->ptr = b->bytes.get();
  }
  // Null with a size: a bad argument the API must refuse before touching it.
  if ((shape & 0x40) != 0 && (shape & 0x20) != 0) {
    b->ptr = nullptr;
    if (b->size == 0) b->size = 1 + in.u8() % 16;
  }
}

int os_listener(xwsk::SockAddr* at) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket()");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind()");
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  if (::listen(fd, 4) != 0) die("listen()");
  *at = xwsk::ipv4_loopback(ntohs(sa.sin_port));
  return fd;
}

void arm(fuzz::Tracked& t) {
  t.calls.store(0);
  t.in_use.store(true);
}

// Runs a call that must be accepted and succeed (set-up steps); returns its information.
template <typename F>
uintptr_t must(fuzz::Tracked& t, const char* what, F call) {
  arm(t);
  Status st = call(&t.req);
  if (!t.settle(st)) die_status(what, st);
  t.wait(kWaitMs);
  if (t.status != Status::Success) die_status(what, t.status);
  return t.information;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  int listener = -1, peer = -1;
  {
    fuzz::Session session;
    xwsk::Client* client = session.client();
    fuzz::Tracked setup;
    setup.init();
    fuzz::Tracked client_req[3];
    for (auto& r : client_req)
      r.init();

    // 1. control_client, before any socket (static event callbacks are legal only then).
    int client_calls = in.u8() % 4;
    for (int i = 0; i < client_calls; ++i) {
      uint32_t code = pick(in, kClientCodes);
      Buffer input, output;
      make_buffer(in, &input, true);
      make_buffer(in, &output, false);
      size_t returned = 0xdead;
      bool with_returned = in.flag();
      bool with_request = in.flag();
      fuzz::Tracked& r = client_req[i];
      if (with_request) arm(r);
      Status st = xwsk::control_client(client, code, input.size, input.ptr, output.size, output.ptr,
                                       with_returned ? &returned : nullptr,
                                       with_request ? &r.req : nullptr);
      if (with_request && r.settle(st) && code != xwsk::kTransportListChange) {
        r.wait(kWaitMs);
        if (r.status == Status::Success && r.information > output.size) {
          die("control_client reported more bytes than the output holds");
        }
      }
      if (st == Status::Success && with_returned && returned > output.size) {
        die("control_client: size returned exceeds the output size");
      }
    }

    // 2. One socket of each category.
    xwsk::SockAddr at{};
    listener = os_listener(&at);
    xwsk::SockAddr any = xwsk::ipv4_loopback(0);
    xwsk::Socket* s[kSockets] = {};
    const uint32_t categories[kSockets] = {xwsk::kListenSocket, xwsk::kConnectionSocket,
                                           xwsk::kDatagramSocket, xwsk::kBasicSocket,
                                           xwsk::kStreamSocket};
    const void* dispatch[kSockets] = {&kListen, &kConnection, &kDatagram, nullptr, &kStream};
    for (int i = 0; i < kSockets; ++i) {
      xwsk::SocketType type = i == 2 ? xwsk::SocketType::Datagram : xwsk::SocketType::Stream;
      s[i] = reinterpret_cast<xwsk::Socket*>(must(setup, "socket", [&](xwsk::Request* req) {
        return xwsk::socket(client, xwsk::AddressFamily::Inet, type, xwsk::Protocol::Default,
                            categories[i], nullptr, dispatch[i], req);
      }));
      if (i != 3) {
        must(setup, "bind", [&](xwsk::Request* req) { return xwsk::bind(s[i], &any, 0, req); });
      }
    }
    must(setup, "connect", [&](xwsk::Request* req) { return xwsk::connect(s[1], &at, 0, req); });
    peer = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (peer < 0) die("accept()");

    // 3. control_socket, any arguments.
    fuzz::Tracked r;
    r.init();
    int calls = in.u8() % 25;
    for (int i = 0; i < calls && !in.empty(); ++i) {
      xwsk::Socket* target = s[in.u8() % kSockets];
      uint8_t t = in.u8();
      auto type = static_cast<xwsk::ControlType>(t < 240 ? t % 3 : in.u32());
      uint32_t level = pick(in, kLevels);
      uint32_t code = pick(in, kCodes);
      Buffer input, output;
      make_buffer(in, &input, true);
      make_buffer(in, &output, false);
      size_t returned = 0xdead;
      bool with_returned = in.flag();
      bool with_request = in.u8() % 8 != 0;
      if (with_request) arm(r);
      Status st = xwsk::control_socket(target, type, code, level, input.size, input.ptr,
                                       output.size, output.ptr, with_returned ? &returned : nullptr,
                                       with_request ? &r.req : nullptr);
      if (with_request) {
        if (r.settle(st)) {
          r.wait(kWaitMs);
          if (r.status == Status::Success && r.information > output.size) {
            die("control_socket reported more bytes than the output holds");
          }
        }
      } else if (st == Status::Pending) {
        die("control_socket without a request returned Pending");
      }
      if (st == Status::Success && with_returned && returned != 0xdead && returned > output.size) {
        die("control_socket: size returned exceeds the output size");
      }
    }

    // 4. Close everything; nothing may stay pending; then deregister.
    for (xwsk::Socket* sock : s) {
      must(setup, "close_socket",
           [&](xwsk::Request* req) { return xwsk::close_socket(sock, req); });
    }
    session.finish();
    fuzz::wait_all(client_req, 3, kWaitMs);
    r.fini();
    setup.fini();
    for (auto& c : client_req)
      c.fini();
  }
  close(listener);
  close(peer);
  return 0;
}
