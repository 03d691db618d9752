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

#include "echo_sync.h"  // SpinLock, Guard, Event (echo_platform.h), SyncRequest, Provider
#include "xwsk/xwsk.h"

namespace echo {

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
