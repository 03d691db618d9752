// SPDX-License-Identifier: MIT
// The echo sample: pieces the server, the client and the command line share.
//
// The networking code (echo_server.cpp, echo_client.cpp) is written the way a driver author
// writes against xwsk: caller-owned requests, completion routines that never block, memory
// allocated up front and bounded. It is compiled without exceptions and RTTI, like the core.
// Only main.cpp (the command line) uses exceptions (CLI11 needs them).
#ifndef XWSK_SAMPLES_ECHO_ECHO_COMMON_H_
#define XWSK_SAMPLES_ECHO_ECHO_COMMON_H_

#include <stddef.h>
#include <stdint.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "xwsk/xwsk.h"

namespace echo {

// ---- locks ----------------------------------------------------------------------------------
/// The sample's short lock: the role of a KSPIN_LOCK. Held only for a few instructions, never
/// across an xwsk call (a call may complete inline and run a completion routine that takes the
/// same lock), never while waiting.
class SpinLock {
 public:
  void lock() { mu_.lock(); }
  void unlock() { mu_.unlock(); }

 private:
  std::mutex mu_;
};
using Guard = std::lock_guard<SpinLock>;

/// A notification event (KEVENT). Waiting is for the main thread only (PASSIVE_LEVEL), never a
/// completion routine.
class Event {
 public:
  void set();
  void reset();
  /// True if set within @p timeout_ms.
  bool wait(uint32_t timeout_ms);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

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
  /// not complete within @p timeout_ms the provider is broken, and the program reports @p what
  /// and exits (status 70) rather than free a request the provider still owns.
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
/// Closes @p s and waits for the close to complete.
xwsk::Status close_socket_wait(xwsk::Socket* s, uint32_t timeout_ms);

// ---- data ----------------------------------------------------------------------------------
/// A random, seekable byte stream: byte i of stream @p seed is fixed, so a receiver can check
/// what came back at any offset without keeping a copy of what was sent.
void pattern_fill(uint64_t seed, uint64_t offset, uint8_t* out, size_t n);
/// True when @p data equals pattern bytes [offset, offset + n). *first_bad gets the index of the
/// first mismatch otherwise.
bool pattern_check(uint64_t seed, uint64_t offset, const uint8_t* data, size_t n,
                   size_t* first_bad);

/// FNV-1a, 64 bits, incremental: h = fnv1a64(h, data, n), starting from kFnvBasis.
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;
uint64_t fnv1a64(uint64_t h, const uint8_t* data, size_t n);
/// CRC-32 (IEEE 802.3, as zlib's crc32 and Python's zlib.crc32), incremental from 0.
uint32_t crc32(uint32_t crc, const uint8_t* data, size_t n);
/// A 64-bit mixer (splitmix64's finalizer).
uint64_t mix64(uint64_t x);

/// A fresh random seed (from the OS).
uint64_t random_seed();

/// Monotonic time in nanoseconds.
inline uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

/// "1.2.3.4:80" / "[::1]:80".
struct AddrText {
  char text[64];
};
AddrText to_text(const xwsk::SockAddr& a);

/// The loopback or unspecified address of @p family.
xwsk::SockAddr any_address(xwsk::AddressFamily family);

/// Parses "HOST:PORT" (HOST numeric IPv4, or IPv6 in brackets). @p allow_port_zero: a server
/// may bind port 0 (the system picks one). On failure *error is a message and false returned.
bool parse_host_port(const char* text, bool allow_port_zero, xwsk::SockAddr* out,
                     const char** error);

}  // namespace echo

#endif  // XWSK_SAMPLES_ECHO_ECHO_COMMON_H_
