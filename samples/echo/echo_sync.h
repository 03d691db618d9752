// SPDX-License-Identifier: MIT
// echo_sync.h: the setup/teardown half of the echo sample, shared by the user-space program and
// the kernel driver (samples/echo-driver): provider registration and requests the starting or
// stopping thread issues and waits on (socket, set_option, bind, get_local_address, close). The
// data path never waits. Depends only on xwsk and echo_platform.h.
#ifndef XWSK_SAMPLES_ECHO_ECHO_SYNC_H_
#define XWSK_SAMPLES_ECHO_ECHO_SYNC_H_

#include <stddef.h>
#include <stdint.h>

#include "echo_platform.h"
#include "xwsk/xwsk.h"

namespace echo {

/// A request the main thread issues and waits on (setup and teardown: socket, bind, connect,
/// get_local_address). The data path never waits.
class SyncRequest {
 public:
  SyncRequest();
  ~SyncRequest();
  SyncRequest(const SyncRequest&) = delete;
  SyncRequest& operator=(const SyncRequest&) = delete;

  bool ok() const { return initialized_; }
  xwsk::Request* get() { return &req_; }
  /// Waits for the completion of a call that returned @p ret and returns the final status.
  /// A call that rejected its arguments (no completion) returns @p ret. Only for operations a
  /// provider finishes at once on loopback (socket, bind, get_local_address, close): if one does
  /// not complete within @p timeout_ms the provider is broken: provider_hung() reports @p what
  /// (user space: and exits with status 70) rather than free a request the provider still owns.
  xwsk::Status finish(xwsk::Status ret, uint32_t timeout_ms, const char* what);
  uintptr_t information() const { return req_.information; }

 private:
  static void on_complete(xwsk::Request* req, void* context);
  xwsk::Request req_{};
  Event done_;
  bool initialized_ = false;
};

/// Register + capture, and release + deregister (WskRegister / WskCaptureProviderNPI).
class Provider {
 public:
  Provider() = default;
  ~Provider() { close(); }
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  xwsk::Status open();
  /// Releases the capture and deregisters: waits until every socket is closed.
  void close();
  xwsk::Client* client() const { return client_; }

 private:
  xwsk::Registration registration_{};
  xwsk::Client* client_ = nullptr;
  bool registered_ = false;
  bool captured_ = false;
};

// ---- synchronous helpers for the main thread -------------------------------------------------
/// Creates a socket and waits. On success *out is the socket.
xwsk::Status create_socket(xwsk::Client* client, xwsk::AddressFamily family, xwsk::SocketType type,
                           xwsk::Protocol protocol, uint32_t category, void* context,
                           const void* dispatch, xwsk::Socket** out, uint32_t timeout_ms);
xwsk::Status bind_socket(xwsk::Socket* s, const xwsk::SockAddr& local, uint32_t timeout_ms);
xwsk::Status local_address(xwsk::Socket* s, xwsk::SockAddr* out, uint32_t timeout_ms);
/// Sets a ULONG socket option (control_socket, SetOption) and waits.
xwsk::Status set_option(xwsk::Socket* s, uint32_t level, uint32_t code, uint32_t value,
                        uint32_t timeout_ms);
/// Closes @p s and waits for the close to complete.
xwsk::Status close_socket_wait(xwsk::Socket* s, uint32_t timeout_ms);

}  // namespace echo

#endif  // XWSK_SAMPLES_ECHO_ECHO_SYNC_H_
