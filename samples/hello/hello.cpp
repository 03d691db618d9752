// SPDX-License-Identifier: MIT
// xwsk-hello: the first xwsk program to read. One TCP conversation, in WSK's order: register,
// resolve, connect, send, receive, disconnect, close, deregister. Every operation takes a
// caller-owned xwsk::Request (the IRP's role) whose completion routine runs exactly once. Here
// the main thread simply waits for each completion; a driver's data path would issue the next
// request from the routine instead (samples/echo shows how).
//
//   xwsk-hello-posix [HOST [PORT]]      default: localhost 7000, e.g. against
//                                       xwsk-echo-posix server --bind 127.0.0.1:7000
// Exit status: 0 the line came back as sent, 1 a step failed (its status printed), 2 bad usage.
#include <stdio.h>
#include <string.h>

#include <chrono>
#include <semaphore>

#include "xwsk/xwsk.h"

using xwsk::Status;

namespace {

/// A request and a semaphore its completion routine releases.
struct Call {
  xwsk::Request req{};
  std::binary_semaphore done{0};
  static void routine(xwsk::Request*, void* self) { static_cast<Call*>(self)->done.release(); }
};
Call op, closer;  // closer: for closing a socket while `op` is still pending on it

/// Returns the final status of the call that returned @p ret, and prints it. Pending: the
/// routine runs later, so wait. Anything else: the call finished already (it completed at once,
/// its routine has run) or rejected its arguments (its routine never runs). A socket operation
/// with no completion within 10 s is cancelled by closing the socket; *s is then null.
Status finish(Status ret, const char* step, xwsk::Socket** s = nullptr) {
  Status st = ret;
  if (ret != Status::Pending) {
    (void)op.done.try_acquire();
  } else if (s == nullptr || op.done.try_acquire_for(std::chrono::seconds(10))) {
    if (s == nullptr) op.done.acquire();  // the resolver has timeouts of its own
    st = op.req.status;
  } else {
    fprintf(stderr, "xwsk-hello: %s: no completion within 10 s: closing the socket\n", step);
    if (xwsk::close_socket(*s, &closer.req) == Status::Pending) {
      closer.done.acquire();
    } else {
      (void)closer.done.try_acquire();
    }
    op.done.acquire();  // closing completes what was pending with Cancelled
    st = op.req.status;
    *s = nullptr;
  }
  fprintf(st == Status::Success ? stdout : stderr, "xwsk-hello: %s: %s\n", step,
          xwsk::status_name(st));
  return st;
}

bool valid_port(const char* p) {
  long v = 0;
  for (const char* c = p; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9' || (v = v * 10 + (*c - '0')) > 65535) return false;
  }
  return *p != '\0' && v > 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    printf("usage: %s [HOST [PORT]]  (default: localhost 7000; backend %s)\n", argv[0],
           xwsk::backend_name());
    return 0;
  }
  const char* host = argc > 1 ? argv[1] : "localhost";
  const char* port = argc > 2 ? argv[2] : "7000";
  const char* bad = argc > 3             ? "too many arguments"
                    : *host == '\0'      ? "HOST is empty"
                    : strlen(host) > 253 ? "HOST is longer than 253 characters"
                    : !valid_port(port)  ? "PORT must be a number in 1..65535"
                                         : nullptr;
  if (bad != nullptr) {
    fprintf(stderr, "xwsk-hello: error: %s\nusage: %s [HOST [PORT]]\n", bad, argv[0]);
    return 2;
  }

  // Register with the provider (WskRegister) and capture it (WskCaptureProviderNPI).
  static const xwsk::ClientDispatch kDispatch = {xwsk::kWskVersion, 0, nullptr};
  const xwsk::ClientNpi npi = {nullptr, &kDispatch};
  xwsk::Registration registration{};
  xwsk::ProviderNpi provider{};
  if (finish(xwsk::register_client(&npi, &registration), "register_client") != Status::Success)
    return 1;
  bool ok = finish(xwsk::capture_provider(&registration, 10000, &provider), "capture_provider") ==
            Status::Success;
  const bool op_ready = ok && xwsk::request_init(&op.req, Call::routine, &op) == Status::Success;
  const bool closer_ready =
      op_ready && xwsk::request_init(&closer.req, Call::routine, &closer) == Status::Success;
  ok = ok && closer_ready;

  // Resolve HOST and PORT to TCP addresses (WskGetAddressInfo), then connect to the first
  // address that takes the connection: a connection socket is bound before it connects.
  xwsk::AddrInfo hints{};
  hints.socktype = static_cast<int32_t>(xwsk::SocketType::Stream);
  hints.protocol = static_cast<int32_t>(xwsk::Protocol::Tcp);
  xwsk::AddrInfo* list = nullptr;
  ok = ok && finish(xwsk::get_address_info(provider.client, host, port, 0, &hints, &list, &op.req),
                    "get_address_info") == Status::Success;
  xwsk::Socket* s = nullptr;
  for (const xwsk::AddrInfo* ai = list; ok && s == nullptr && ai != nullptr; ai = ai->next) {
    if (ai->addr == nullptr) continue;
    const xwsk::AddressFamily family = ai->addr->af();
    if (finish(xwsk::socket(provider.client, family, xwsk::SocketType::Stream, xwsk::Protocol::Tcp,
                            xwsk::kConnectionSocket, nullptr, nullptr, &op.req),
               "socket") != Status::Success)
      break;
    s = reinterpret_cast<xwsk::Socket*>(op.req.information);
    const xwsk::SockAddr any =
        family == xwsk::AddressFamily::Inet6 ? xwsk::ipv6_any(0) : xwsk::ipv4_any(0);
    char step[96] = "connect to ";
    xwsk::format_address(*ai->addr, step + 11, sizeof(step) - 11);
    if (finish(xwsk::bind(s, &any, 0, &op.req), "bind", &s) != Status::Success ||
        finish(xwsk::connect(s, ai->addr, 0, &op.req), step, &s) != Status::Success) {
      if (s != nullptr) finish(xwsk::close_socket(s, &op.req), "close_socket");
      s = nullptr;  // try the next address
    }
  }
  xwsk::free_address_info(provider.client, list);  // (WskFreeAddressInfo; null is fine)
  if (ok && s == nullptr)
    fprintf(stderr, "xwsk-hello: no address of %s took the connection\n", host);
  ok = ok && s != nullptr;

  // Send one line and receive its echo (a stream may deliver it in pieces).
  char text[] = "hello, xwsk\n", echo[sizeof(text)] = {};
  const size_t n = sizeof(text) - 1;
  xwsk::Segment out{}, in{};  // Segment: the MDL's role; Buf (WSK_BUF): a range of one
  ok = ok && xwsk::segment_init(&out, text, n) == Status::Success &&
       xwsk::segment_init(&in, echo, n) == Status::Success;
  xwsk::Buf send_buf{&out, 0, n};
  ok = ok && finish(xwsk::send(s, &send_buf, 0, &op.req), "send", &s) == Status::Success;
  for (size_t got = 0; ok && got < n; got += op.req.information) {
    xwsk::Buf recv_buf{&in, got, n - got};
    ok = finish(xwsk::receive(s, &recv_buf, 0, &op.req), "receive", &s) == Status::Success;
    if (ok && op.req.information == 0) {  // 0 bytes: the peer closed its side (FIN)
      fprintf(stderr, "xwsk-hello: the peer closed after %zu of %zu bytes\n", got, n);
      ok = false;
    }
  }
  if (ok && memcmp(text, echo, n) != 0) {
    fprintf(stderr, "xwsk-hello: the reply differs from what was sent: '%s'\n", echo);
    ok = false;
  }
  if (ok) printf("xwsk-hello: sent and received back: %s", text);

  // Disconnect gracefully (FIN), close, and deregister (which waits for every socket to close).
  if (ok)
    ok = finish(xwsk::disconnect(s, nullptr, 0, &op.req), "disconnect", &s) == Status::Success;
  if (s != nullptr) finish(xwsk::close_socket(s, &op.req), "close_socket");
  xwsk::segment_free(&out);
  xwsk::segment_free(&in);
  if (op_ready) xwsk::request_free(&op.req);
  if (closer_ready) xwsk::request_free(&closer.req);
  if (provider.client != nullptr) xwsk::release_provider(&registration);
  xwsk::deregister_client(&registration);
  printf("xwsk-hello: deregistered; %s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
