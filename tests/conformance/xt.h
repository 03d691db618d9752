// SPDX-License-Identifier: MIT
// xt: the tiny assertion layer the conformance bodies are written against. It compiles in user
// space (GoogleTest front end, xt_user.cpp) and inside a kernel driver (tests/kernel), so it uses
// no exceptions, no RTTI, no C library formatting and no allocation. A failed check records a
// message and returns from the body; a skip records its reason and returns.
#ifndef XWSK_TESTS_CONFORMANCE_XT_H_
#define XWSK_TESTS_CONFORMANCE_XT_H_

#include <stddef.h>
#include <stdint.h>

#include "xwsk/xwsk.h"

namespace xt {

enum class Result : uint32_t { Pass = 0, Fail = 1, Skip = 2 };

/// The state of one running case.
class Context {
 public:
  Result result() const { return result_; }
  const char* message() const { return message_; }

  /// Marks the case failed at file:line with @p what (first failure wins).
  void fail(const char* file, int line, const char* what);
  /// Marks the case skipped with @p reason (printed by every front end).
  void skip(const char* reason);
  /// The name of the running case (run_case sets it), for failure messages.
  void set_case(const char* name) { case_ = name; }
  /// After a helper (a fixture) failed: appends where the case body called it,
  /// " [<case> at <file>:<line>]", once (XT_DO calls it; the innermost call site wins).
  void called_from(const char* file, int line);
  /// Appends more detail to the message of a failure or skip.
  Context& add(const char* text);
  Context& add_u64(uint64_t v);
  Context& add_status(xwsk::Status s);

  bool failed() const { return result_ == Result::Fail; }

  /// Counts one evaluated assertion (every XT_CHECK/XT_ENSURE macro calls it, pass or fail).
  void checked() { ++checks_; }
  /// How many assertions the case evaluated: the figure that shows a refactoring of the bodies
  /// kept every check (front ends print it per case).
  uint32_t checks() const { return checks_; }

  /// Records the final status of one request the case waited for (Op::finish), in completion
  /// order: the trace two providers are compared by (tests/umwsk/differential.py). Kept as the
  /// low 16 bits of each NTSTATUS in hex ("0" success, "236" connection refused...), space
  /// separated, plus a count and an FNV-1a hash over every full 32-bit value, so a trace too long
  /// for the text is still compared whole.
  void trace(xwsk::Status s);
  /// "n=<count> h=<hash> <statuses...>" ("n=0" when nothing was recorded).
  const char* trace_text();

 private:
  void put(char c);
  Result result_ = Result::Pass;
  size_t len_ = 0;
  char message_[512] = {};
  uint32_t checks_ = 0;
  const char* case_ = nullptr;
  bool located_ = false;
  uint32_t trace_count_ = 0;
  uint32_t trace_hash_ = 2166136261u;
  size_t trace_len_ = 0;
  char trace_[192] = {};
  char trace_out_[232] = {};
};

/// A one-shot signal a completion routine sets and a test body waits on (PASSIVE_LEVEL in the
/// kernel). Implemented per platform (xt_user.cpp, tests/kernel).
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void set();
  void reset();
  /// True if set within @p timeout_ms.
  bool wait(uint32_t timeout_ms);

 private:
  alignas(16) unsigned char storage_[128];
};

/// A second thread for the cases that need one (a capture released while deregister_client
/// waits). Implemented per platform: std::thread in user space, a system thread in the kernel.
class Thread {
 public:
  Thread() = default;
  ~Thread();  // joins if still running
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;
  /// Starts @p fn(@p arg) on a new thread (PASSIVE_LEVEL). False if no thread could be made.
  bool start(void (*fn)(void* arg), void* arg);
  /// Waits until the thread has finished (PASSIVE_LEVEL). No-op if it was never started.
  void join();

 private:
  void (*fn_)(void*) = nullptr;
  void* arg_ = nullptr;
  bool running_ = false;
  alignas(16) unsigned char storage_[64] = {};
};

/// Sleeps (PASSIVE_LEVEL). Used only to give a peer time to act, never to time a result.
void sleep_ms(uint32_t ms);

/// One registered conformance case.
struct Case {
  const char* name;
  void (*body)(Context& t);
};

/// The table of every case (tests/conformance/registry.cpp), and its length.
const Case* cases();
size_t case_count();

/// Runs one case and then checks that it left nothing open or pending (xwsk::counters() back to
/// where they were). Front ends call this, never the body directly.
void run_case(const Case& c, Context& t);

}  // namespace xt

#define XT_STR2_(x) #x
#define XT_STR_(x) XT_STR2_(x)

// The checks, each given how a failure returns (from a case body, or from a helper that returns
// bool): they count the check, then fail and return when it does not hold.
#define XT_FROM_BODY_ return
#define XT_FROM_HELPER_ return false

#define XT_TRUE_(t, cond, text, ret)      \
  do {                                    \
    (t).checked();                        \
    if (!(cond)) {                        \
      (t).fail(__FILE__, __LINE__, text); \
      ret;                                \
    }                                     \
  } while (0)

#define XT_STATUS_(t, exp, act, ret)                                            \
  do {                                                                          \
    ::xwsk::Status xt_e_ = (exp), xt_a_ = (act);                                \
    (t).checked();                                                              \
    if (xt_e_ != xt_a_) {                                                       \
      (t).fail(__FILE__, __LINE__, "status");                                   \
      (t).add(": expected ").add_status(xt_e_).add(", got ").add_status(xt_a_); \
      ret;                                                                      \
    }                                                                           \
  } while (0)

#define XT_EQ_(t, exp, act, text, ret)                                               \
  do {                                                                               \
    uint64_t xt_e_ = static_cast<uint64_t>(exp), xt_a_ = static_cast<uint64_t>(act); \
    (t).checked();                                                                   \
    if (xt_e_ != xt_a_) {                                                            \
      (t).fail(__FILE__, __LINE__, text);                                            \
      (t).add(": expected ").add_u64(xt_e_).add(", got ").add_u64(xt_a_);            \
      ret;                                                                           \
    }                                                                                \
  } while (0)

/// Fails and returns from a void body when @p cond is false.
#define XT_CHECK(t, cond) XT_TRUE_(t, cond, #cond, XT_FROM_BODY_)
/// Like XT_CHECK, for helpers that return bool.
#define XT_ENSURE(t, cond) XT_TRUE_(t, cond, #cond, XT_FROM_HELPER_)

/// Fails and returns when status @p act is not @p exp (prints both names).
#define XT_CHECK_STATUS(t, exp, act) XT_STATUS_(t, exp, act, XT_FROM_BODY_)
#define XT_ENSURE_STATUS(t, exp, act) XT_STATUS_(t, exp, act, XT_FROM_HELPER_)

/// Fails and returns when integers differ (prints both).
#define XT_CHECK_EQ(t, exp, act) XT_EQ_(t, exp, act, #act, XT_FROM_BODY_)
#define XT_ENSURE_EQ(t, exp, act) XT_EQ_(t, exp, act, #act, XT_FROM_HELPER_)

/// Skips the case (and returns) with @p reason.
#define XT_SKIP(t, reason) \
  do {                     \
    (t).skip(reason);      \
    return;                \
  } while (0)

/// Skips the case unless the backend has capability @p cap; the reason is the backend's.
#define XT_REQUIRE_CAP(t, cap)                           \
  do {                                                   \
    if ((::xwsk::backend_capabilities() & (cap)) == 0) { \
      (t).skip(#cap ": ");                               \
      (t).add(::xwsk::capability_reason(cap));           \
      return;                                            \
    }                                                    \
  } while (0)

/// Returns from the body if a helper failed (helpers return bool); a failure message then names
/// the case and this call site as well as the helper's own file and line.
#define XT_DO(t, expr)                     \
  do {                                     \
    if (!(expr)) {                         \
      (t).called_from(__FILE__, __LINE__); \
      return;                              \
    }                                      \
  } while (0)

#endif  // XWSK_TESTS_CONFORMANCE_XT_H_
