// SPDX-License-Identifier: MIT
// bench-blast-xwsk-<backend>: xwsk as the UDP *client* (bench-method: "also run xwsk as the
// client against E"). It blasts fixed-size datagrams at a sink server for a bounded time, either
//  - send_to: one datagram per request, with a window of W requests kept in flight, or
//  - send_messages: one BufList of B datagrams per request (W requests in flight),
// and prints one bench-load-style JSON object (kind "udp_blast"), so bench/run.py reads it like a
// bench-load result. The server (E in sink mode) counts what it received in the window between
// the two SIGUSR1 this client sends it (--server-pid).
//
// Nothing is allocated per operation: every request, Buf and BufList element is set up before the
// first send and reused. Each completion routine re-posts its request (on the backend's thread,
// as a driver does); inline completions are re-posted by a trampoline, not by recursion.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "echo_sync.h"
#include "xwsk/xwsk.h"

namespace {

using xwsk::Status;

constexpr int kMaxWindow = 256;
constexpr int kMaxBatch = 64;
constexpr size_t kMaxSize = 1472;

struct Slot {
  xwsk::Request req{};
  Slot* next = nullptr;
  xwsk::BufList list[kMaxBatch]{};
};

Slot g_slots[kMaxWindow];
unsigned char g_payload[kMaxSize];
xwsk::Segment g_seg{};
xwsk::Buf g_buf{};
xwsk::Socket* g_sock = nullptr;
xwsk::SockAddr g_remote{};
bool g_batched = false;
int g_batch = 1;
uintptr_t g_size = 64;

// Counters (written by whichever thread completes; relaxed atomics are enough).
std::atomic<uint64_t> g_sent{0};         // datagrams reported sent by completed requests
std::atomic<uint64_t> g_send_errors{0};  // requests completed with an error status
std::atomic<int> g_in_flight{0};         // posted, completion not yet run
std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_api_failures{0};  // calls that rejected their arguments
std::atomic<int> g_first_failure{0};

// Re-posting happens in the completion routine, so after the first window the sends are issued
// on the backend's own thread, as a driver re-issues its IRP from its completion routine (a call
// from another thread is handed to the backend thread: a lock, a wake-up and a context switch
// per request). A completion that runs inline inside a send call would recurse; instead it is
// queued on this thread's list and the outermost routine (the "driver") re-posts it.
thread_local bool t_driving = false;
thread_local Slot* t_ready = nullptr;

void post(Slot* s) {
  g_in_flight.fetch_add(1, std::memory_order_relaxed);
  Status st = g_batched
                  ? xwsk::send_messages(g_sock, &s->list[0], 0, &g_remote, 0, nullptr, &s->req)
                  : xwsk::send_to(g_sock, &g_buf, 0, &g_remote, 0, nullptr, &s->req);
  // Pending, or completed inline (the routine ran, with any status, and queued the slot on
  // t_ready). Anything else: the call rejected its arguments and the routine never runs.
  if (st == Status::Pending || st == Status::Success || t_ready == s) return;
  g_in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (g_api_failures.fetch_add(1, std::memory_order_relaxed) == 0)
    g_first_failure.store(static_cast<int>(st), std::memory_order_relaxed);
}

void on_done(xwsk::Request* req, void* ctx) {
  Slot* s = static_cast<Slot*>(ctx);
  if (req->status == Status::Success) {
    // Information = bytes sent; every datagram has the same size.
    g_sent.fetch_add(req->information / g_size, std::memory_order_relaxed);
  } else {
    g_send_errors.fetch_add(1, std::memory_order_relaxed);
  }
  g_in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (g_stop.load(std::memory_order_relaxed)) return;
  s->next = t_ready;
  t_ready = s;
  if (t_driving) return;  // completed inline: the driver below re-posts it
  t_driving = true;
  while (t_ready != nullptr && !g_stop.load(std::memory_order_relaxed)) {
    Slot* r = t_ready;
    t_ready = r->next;
    post(r);
  }
  t_ready = nullptr;
  t_driving = false;
}

double now_s() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

long long cpu_us() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

int usage(const char* msg) {
  std::fprintf(stderr,
               "bench-blast-xwsk: %s\nusage: bench-blast-xwsk --port P [--host 127.0.0.1] "
               "[--method send_to|send_messages] [--size 64] [--window 32] [--batch 32] "
               "[--warmup 0.5] [--measure 2] [--cpu N] [--server-pid PID] [--case NAME]\n",
               msg);
  return 2;
}

}  // namespace

// A setup failure ends the process at once: the OS reclaims the socket (deregistering would wait
// for a socket this early exit never closes).
[[noreturn]] void die(const char* what, const char* detail) {
  std::fprintf(stderr, "bench-blast-xwsk: %s: %s\n", what, detail);
  std::fflush(stderr);
  std::_Exit(1);
}

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", method = "send_to", case_name;
  long port = -1, size = 64, window = -1, batch = 32, cpu = -1, server_pid = 0;
  double warmup = 0.5, measure = 2.0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    char* end = nullptr;
    auto num = [&](long lo, long hi, long* out) {
      *out = std::strtol(v.c_str(), &end, 10);
      return *end == '\0' && *out >= lo && *out <= hi;
    };
    if (a == "--host") {
      host = v;
    } else if (a == "--port") {
      if (!num(1, 65535, &port)) return usage("bad --port");
    } else if (a == "--method") {
      if (v != "send_to" && v != "send_messages") return usage("bad --method");
      method = v;
    } else if (a == "--size") {
      if (!num(1, kMaxSize, &size)) return usage("bad --size");
    } else if (a == "--window") {
      if (!num(1, kMaxWindow, &window)) return usage("bad --window");
    } else if (a == "--batch") {
      if (!num(1, kMaxBatch, &batch)) return usage("bad --batch");
    } else if (a == "--cpu") {
      if (!num(0, 1023, &cpu)) return usage("bad --cpu");
    } else if (a == "--server-pid") {
      if (!num(1, 1L << 30, &server_pid)) return usage("bad --server-pid");
    } else if (a == "--warmup" || a == "--measure") {
      double d = std::strtod(v.c_str(), &end);
      if (*end != '\0' || d < 0 || d > 60) return usage(("bad " + a).c_str());
      (a == "--warmup" ? warmup : measure) = d;
    } else if (a == "--case") {
      case_name = v;
    } else {
      return usage(("unknown argument " + a).c_str());
    }
  }
  if (port < 0) return usage("--port is required");
  if (measure <= 0) return usage("--measure must be > 0");
  g_batched = method == "send_messages";
  g_batch = g_batched ? static_cast<int>(batch) : 1;
  g_size = static_cast<uintptr_t>(size);
  if (window < 0) window = g_batched ? 4 : 32;
  if (case_name.empty()) case_name = "xwsk_client_udp_blast_" + std::to_string(size) + "_" + method;
  if (xwsk::parse_address(host.c_str(), &g_remote) != Status::Success) return usage("bad --host");
  g_remote.set_port(static_cast<uint16_t>(port));

  // Pin before the backend starts its thread, so the whole client shares one CPU.
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<int>(cpu), &set);
    sched_setaffinity(0, sizeof(set), &set);
  }

  // Setup waits on each call (the blast itself never does): the echo sample's helpers.
  constexpr uint32_t kSetupMs = 10000;
  echo::Provider provider;
  Status st = provider.open();
  if (st != Status::Success) die("cannot register with the provider", xwsk::status_name(st));
  st = echo::create_socket(provider.client(), g_remote.af(), xwsk::SocketType::Datagram,
                           xwsk::Protocol::Udp, xwsk::kDatagramSocket, nullptr, nullptr, &g_sock,
                           kSetupMs);
  if (st != Status::Success) die("socket", xwsk::status_name(st));
  xwsk::SockAddr local{};
  xwsk::parse_address(host.c_str(), &local);
  st = echo::bind_socket(g_sock, local, kSetupMs);
  if (st != Status::Success) die("bind", xwsk::status_name(st));

  for (size_t i = 0; i < sizeof(g_payload); ++i)
    g_payload[i] = static_cast<unsigned char>(i * 131 + 7);
  st = xwsk::segment_init(&g_seg, g_payload, static_cast<size_t>(size));
  if (st != Status::Success) die("segment_init", xwsk::status_name(st));
  g_buf = xwsk::make_buf(&g_seg, 0, static_cast<size_t>(size));
  for (int i = 0; i < window; ++i) {
    Slot* s = &g_slots[i];
    xwsk::request_init(&s->req, on_done, s);
    for (int k = 0; k < g_batch; ++k)
      s->list[k] = xwsk::BufList{k + 1 < g_batch ? &s->list[k + 1] : nullptr, g_buf};
  }

  // Start the window of requests; from then on the completion routines keep it full. The main
  // thread only keeps time: SIGUSR1 to the server and snapshots of the counters bracket the
  // measurement window, then it stops the re-posting and waits (bounded) for the drain.
  auto sleep_until = [](double t) {
    for (double d = t - now_s(); d > 0; d = t - now_s()) {
      struct timespec ts = {static_cast<time_t>(d),
                            static_cast<long>((d - static_cast<long>(d)) * 1e9)};
      nanosleep(&ts, nullptr);
    }
  };
  const double t_start = now_s();
  for (int i = 0; i < window; ++i)
    post(&g_slots[i]);
  sleep_until(t_start + warmup);
  if (server_pid > 0) kill(static_cast<pid_t>(server_pid), SIGUSR1);
  const double w0 = now_s();
  const uint64_t sent0 = g_sent.load(std::memory_order_relaxed);
  const long long cpu0 = cpu_us();
  sleep_until(w0 + measure);
  const double w1 = now_s();
  const uint64_t sent1 = g_sent.load(std::memory_order_relaxed);
  const long long cpu1 = cpu_us();
  if (server_pid > 0) kill(static_cast<pid_t>(server_pid), SIGUSR1);
  g_stop.store(true, std::memory_order_relaxed);
  for (double deadline = now_s() + 2.0;
       g_in_flight.load(std::memory_order_relaxed) > 0 && now_s() < deadline;) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, nullptr);
  }
  const int in_flight = g_in_flight.load();
  const bool in_window = true;
  const uint64_t api_failures = g_api_failures.load();
  const Status first_failure = static_cast<Status>(g_first_failure.load());

  const double secs = w1 > w0 ? w1 - w0 : measure;
  const uint64_t msgs = sent1 - sent0;
  const uint64_t total = g_sent.load();
  const uint64_t errs = g_send_errors.load();
  bool ok = in_window && msgs > 0 && api_failures == 0;
  std::string detail;
  if (api_failures != 0)
    detail += std::string("\"") + method + " rejected: " + xwsk::status_name(first_failure) + "\"";
  if (in_window && msgs == 0)
    detail += std::string(detail.empty() ? "" : ",") +
              "\"no message completed in the measurement window\"";
  if (in_flight > 0)
    detail += std::string(detail.empty() ? "" : ",") + "\"requests still in flight at exit\"";
  std::printf(
      "{\"case\":\"%s\",\"kind\":\"udp_blast\",\"server_mode\":\"sink\",\"conns\":1,"
      "\"size\":%ld,\"depth\":%ld,\"metric\":\"pkt/s\",\"warmup_s\":%g,\"ok\":%s,"
      "\"errors\":%llu,\"error_detail\":[%s],\"client_cpu_us\":%lld,\"measure_s\":%.6f,"
      "\"messages\":%llu,\"bytes\":%llu,\"msgs_per_s\":%.1f,\"rate\":%.1f,"
      "\"total_messages\":%llu,\"total_bytes\":%llu,\"send_method\":\"%s\",\"batch\":%d,"
      "\"window\":%ld,\"send_errors\":%llu,\"sent\":%llu,\"client\":\"xwsk-%s\","
      "\"client_cpu_us_per_msg\":%.4f}\n",
      case_name.c_str(), size, window * g_batch, warmup, ok ? "true" : "false",
      static_cast<unsigned long long>(api_failures), detail.c_str(), cpu1 - cpu0, secs,
      static_cast<unsigned long long>(msgs),
      static_cast<unsigned long long>(msgs * static_cast<uint64_t>(size)),
      static_cast<double>(msgs) / secs, static_cast<double>(msgs) / secs,
      static_cast<unsigned long long>(total),
      static_cast<unsigned long long>(total * static_cast<uint64_t>(size)), method.c_str(), g_batch,
      window, static_cast<unsigned long long>(errs), static_cast<unsigned long long>(total),
      xwsk::backend_name(),
      msgs ? static_cast<double>(cpu1 - cpu0) / static_cast<double>(msgs) : 0.0);
  std::fflush(stdout);
  // The process exits here; the OS reclaims the socket (as bench-server-xwsk does).
  std::_Exit(ok ? 0 : 1);
}
