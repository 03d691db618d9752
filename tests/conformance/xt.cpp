// SPDX-License-Identifier: MIT
// The platform-neutral part of the xt assertion layer (compiled in user space and in the kernel).
#include "xt.h"

namespace xt {

namespace {
// Only a file's base name: the kernel and user builds see different paths.
const char* base_name(const char* file) {
  const char* base = file;
  for (const char* p = file; *p != '\0'; ++p) {
    if (*p == '/' || *p == '\\') base = p + 1;
  }
  return base;
}
}  // namespace

void Context::put(char c) {
  if (len_ + 1 < sizeof(message_)) {
    message_[len_++] = c;
    message_[len_] = '\0';
  }
}

Context& Context::add(const char* text) {
  if (text == nullptr) text = "(null)";
  while (*text != '\0')
    put(*text++);
  return *this;
}

Context& Context::add_u64(uint64_t v) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0)
    put(tmp[--n]);
  return *this;
}

Context& Context::add_status(xwsk::Status s) {
  add(xwsk::status_name(s)).add(" (0x");
  uint32_t v = xwsk::status_value(s);
  for (int shift = 28; shift >= 0; shift -= 4)
    put("0123456789ABCDEF"[(v >> shift) & 0xf]);
  return add(")");
}

void Context::trace(xwsk::Status s) {
  uint32_t v = xwsk::status_value(s);
  for (int i = 0; i < 4; ++i) {
    trace_hash_ ^= (v >> (8 * i)) & 0xff;
    trace_hash_ *= 16777619u;
  }
  ++trace_count_;
  char tmp[6];
  int n = 0;
  uint32_t low = v & 0xffff;
  do {
    tmp[n++] = "0123456789abcdef"[low & 0xf];
    low >>= 4;
  } while (low != 0);
  if (trace_len_ + static_cast<size_t>(n) + 2 >= sizeof(trace_)) return;  // the hash has it all
  if (trace_len_ > 0) trace_[trace_len_++] = ' ';
  while (n > 0)
    trace_[trace_len_++] = tmp[--n];
  trace_[trace_len_] = '\0';
}

const char* Context::trace_text() {
  size_t k = 0;
  auto put_out = [&](char c) {
    if (k + 1 < sizeof(trace_out_)) trace_out_[k++] = c;
  };
  auto put_u32 = [&](uint32_t v, int base) {
    char tmp[10];
    int n = 0;
    do {
      tmp[n++] = "0123456789abcdef"[v % static_cast<uint32_t>(base)];
      v /= static_cast<uint32_t>(base);
    } while (v != 0);
    while (n > 0)
      put_out(tmp[--n]);
  };
  put_out('n');
  put_out('=');
  put_u32(trace_count_, 10);
  if (trace_count_ != 0) {
    put_out(' ');
    put_out('h');
    put_out('=');
    put_u32(trace_hash_, 16);
    put_out(' ');
    for (size_t i = 0; i < trace_len_; ++i)
      put_out(trace_[i]);
  }
  trace_out_[k] = '\0';
  return trace_out_;
}

void Context::fail(const char* file, int line, const char* what) {
  if (result_ == Result::Fail) return;  // the first failure is the one reported
  result_ = Result::Fail;
  len_ = 0;
  message_[0] = '\0';
  add(base_name(file)).add(":").add_u64(static_cast<uint64_t>(line)).add(": ").add(what);
}

void Context::called_from(const char* file, int line) {
  if (result_ != Result::Fail || located_) return;
  located_ = true;
  add(" [");
  if (case_ != nullptr) add(case_).add(" at ");
  add(base_name(file)).add(":").add_u64(static_cast<uint64_t>(line)).add("]");
}

void Context::skip(const char* reason) {
  if (result_ != Result::Pass) return;
  result_ = Result::Skip;
  len_ = 0;
  message_[0] = '\0';
  add(reason);
}

void run_case(const Case& c, Context& t) {
  xwsk::Counters before = xwsk::counters();
  t.set_case(c.name);
  c.body(t);
  // Teardown contract: nothing left open or pending. Close and deregistration complete before
  // memory is released, so allow the backend a moment to finish freeing.
  xwsk::Counters now = xwsk::counters();
  for (int i = 0; i < 400; ++i) {
    now = xwsk::counters();
    if (now.sockets == before.sockets && now.requests_in_flight == before.requests_in_flight &&
        now.registrations == before.registrations && now.allocations == before.allocations &&
        now.retained_indications == before.retained_indications) {
      return;
    }
    sleep_ms(5);
  }
  if (t.result() == Result::Fail) return;  // keep the first failure's message
  t.fail(__FILE__, __LINE__, "teardown left objects behind:");
  t.add(" sockets ").add_u64(now.sockets - before.sockets);
  t.add(", requests in flight ").add_u64(now.requests_in_flight - before.requests_in_flight);
  t.add(", registrations ").add_u64(now.registrations - before.registrations);
  t.add(", allocations ").add_u64(now.allocations - before.allocations);
  t.add(", retained indications ").add_u64(now.retained_indications - before.retained_indications);
}

}  // namespace xt
