// SPDX-License-Identifier: MIT
// Helpers the fuzz targets share: reading the input as a stream of choices, a bounded wait, a
// registered client per input, and one loopback TCP peer made with plain POSIX sockets.
#ifndef XWSK_TESTS_FUZZ_FUZZ_COMMON_H_
#define XWSK_TESTS_FUZZ_FUZZ_COMMON_H_

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "xwsk/xwsk.h"

namespace fuzz {

/// Reads the fuzz input as a stream of choices; past the end every read gives 0.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return static_cast<uint32_t>(u16()) | (static_cast<uint32_t>(u16()) << 16); }
  uint64_t u64() { return static_cast<uint64_t>(u32()) | (static_cast<uint64_t>(u32()) << 32); }
  /// A value in [0, n) (n > 0).
  uint32_t below(uint32_t n) { return n <= 256 ? u8() % n : u32() % n; }
  bool flag() { return (u8() & 1) != 0; }
  /// Copies up to @p n bytes into @p out (zero-filled past the end of the input).
  void bytes(void* out, size_t n);

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

/// Prints "fuzz: <what>" and aborts (libFuzzer records the input as a crash).
[[noreturn]] void die(const char* what);
[[noreturn]] void die_status(const char* what, xwsk::Status st);
/// Dies naming @p what and errno's text (a host call that failed).
[[noreturn]] void die_errno(const char* what);

/// A request with an exactly-once completion check: the routine counts its calls and dies on
/// the second one. Track accepted() after each call: Pending, or a routine already run.
struct Tracked {
  xwsk::Request req;
  std::atomic<uint32_t> calls{0};
  std::atomic<bool> in_use{false};  ///< accepted and not yet completed
  xwsk::Status status = xwsk::Status::Success;
  uintptr_t information = 0;
  void (*after)(Tracked* t) = nullptr;  ///< optional hook run by the routine (on its thread)
  void* owner = nullptr;

  void init();
  void fini();
  /// Records a call's outcome: returns true when the request was accepted. Dies when a
  /// non-Pending status disagrees with the routine's (an inline completion reports its status).
  bool settle(xwsk::Status returned);
  /// Waits until the routine has run (bounded: dies after @p ms milliseconds).
  void wait(uint32_t ms);
  bool done() const { return !in_use.load(std::memory_order_acquire); }
};

/// Waits until @p t finishes, for @p ms at most, or dies with @p what.
void wait_all(Tracked* t, size_t n, uint32_t ms);

/// A client registered for the duration of one input. finish() releases and deregisters it
/// (waiting for its sockets: the target closes them first); the destructor finishes if need be
/// and then checks that every counter is back to zero (free the requests before).
class Session {
 public:
  Session();
  ~Session();
  void finish();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  xwsk::Client* client() const { return npi_.client; }

 private:
  xwsk::Registration reg_{};
  xwsk::ProviderNpi npi_{};
  bool finished_ = false;
};

/// Sleeps @p ms milliseconds.
void sleep_ms(uint32_t ms);

}  // namespace fuzz

#endif  // XWSK_TESTS_FUZZ_FUZZ_COMMON_H_
