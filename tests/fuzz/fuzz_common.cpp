// SPDX-License-Identifier: MIT
#include "fuzz_common.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

namespace fuzz {

void Input::bytes(void* out, size_t n) {
  auto* o = static_cast<uint8_t*>(out);
  for (size_t i = 0; i < n; ++i)
    o[i] = u8();
}

void die(const char* what) {
  fprintf(stderr, "fuzz: %s\n", what);
  abort();
}

void die_errno(const char* what) {
  int err = errno;
  fprintf(stderr, "fuzz: %s: %s (errno %d)\n", what, strerror(err), err);
  abort();
}

void die_status(const char* what, xwsk::Status st) {
  fprintf(stderr, "fuzz: %s (status 0x%08x)\n", what, static_cast<unsigned>(st));
  abort();
}

void sleep_ms(uint32_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

namespace {
uint64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void on_complete(xwsk::Request* req, void* context) {
  auto* t = static_cast<Tracked*>(context);
  if (req != &t->req) die("completion routine got another request");
  if (t->calls.fetch_add(1, std::memory_order_acq_rel) != 0) {
    die("a request completed twice");
  }
  if (!t->in_use.load(std::memory_order_acquire)) die("a rejected request completed");
  t->status = req->status;
  t->information = req->information;
  if (t->after != nullptr) t->after(t);
  t->in_use.store(false, std::memory_order_release);
}
}  // namespace

void Tracked::init() {
  xwsk::Status st = xwsk::request_init(&req, on_complete, this);
  if (st != xwsk::Status::Success) die_status("request_init", st);
}

void Tracked::fini() {
  if (!done()) die("request_free on a request still in flight");
  xwsk::Status st = xwsk::request_free(&req);
  if (st != xwsk::Status::Success) die_status("request_free", st);
}

// Call protocol: before the call the harness sets in_use = true and calls = 0 (arm()), so that
// a routine that runs inline during the call sees it in use. After the call: Pending means the
// routine runs later; another status with the routine run means an inline completion (its
// status must be the returned one); another status without the routine means a rejection.
bool Tracked::settle(xwsk::Status returned) {
  if (returned == xwsk::Status::Pending) return true;
  if (calls.load(std::memory_order_acquire) != 0) {
    // Completed inline: the routine has run on this thread before the call returned.
    if (status != returned)
      die_status("inline completion status differs from the return", returned);
    return true;
  }
  // Rejected: the routine must never run. A routine running on another thread right now would
  // mean the call was accepted yet returned something other than Pending.
  in_use.store(false, std::memory_order_release);
  return false;
}

// Waits for @p t: yields first (completions on loopback take microseconds), then naps.
bool wait_done(const Tracked& t, uint64_t deadline) {
  for (int spin = 0; !t.done(); ++spin) {
    if (spin < 200) {
      sched_yield();
      continue;
    }
    if (now_ms() > deadline) return false;
    timespec ts{0, 50000};
    nanosleep(&ts, nullptr);
  }
  return true;
}

void Tracked::wait(uint32_t ms) {
  if (!wait_done(*this, now_ms() + ms)) die("a request did not complete in time");
}

void wait_all(Tracked* t, size_t n, uint32_t ms) {
  uint64_t deadline = now_ms() + ms;
  for (size_t i = 0; i < n; ++i) {
    if (!wait_done(t[i], deadline)) die("requests still pending after every socket was closed");
  }
}

namespace {
const xwsk::ClientDispatch kDispatch = {xwsk::kWskVersion, 0, nullptr};
}

Session::Session() {
  xwsk::Counters c = xwsk::counters();
  if (c.registrations != 0 || c.sockets != 0 || c.requests_in_flight != 0 || c.allocations != 0 ||
      c.retained_indications != 0) {
    die("counters not zero at the start of an input");
  }
  xwsk::ClientNpi npi{nullptr, &kDispatch};
  xwsk::Status st = xwsk::register_client(&npi, &reg_);
  if (st != xwsk::Status::Success) die_status("register_client", st);
  st = xwsk::capture_provider(&reg_, xwsk::kInfiniteWait, &npi_);
  if (st != xwsk::Status::Success) die_status("capture_provider", st);
}

void Session::finish() {
  if (finished_) return;
  finished_ = true;
  xwsk::release_provider(&reg_);
  xwsk::deregister_client(&reg_);
}

Session::~Session() {
  finish();
  xwsk::Counters c = xwsk::counters();
  if (c.registrations != 0 || c.sockets != 0 || c.requests_in_flight != 0 || c.allocations != 0 ||
      c.retained_indications != 0) {
    fprintf(stderr,
            "fuzz: counters not back to zero: registrations %u sockets %u requests %u "
            "allocations %u retained %u\n",
            c.registrations, c.sockets, c.requests_in_flight, c.allocations,
            c.retained_indications);
    abort();
  }
}

}  // namespace fuzz
