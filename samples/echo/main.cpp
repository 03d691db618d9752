// SPDX-License-Identifier: MIT
// xwsk-echo: TCP and UDP echo server, checking client and self-demo over xwsk.
//
//   xwsk-echo server --bind HOST:PORT [--bind HOST:PORT ...] [--dual-stack] [--duration SECONDS]
//                    [--json]
//   xwsk-echo client --connect HOST:PORT [--udp] [--bytes N] [--connections C] [--json]
//   xwsk-echo demo [--json]
//
// The command line is user-mode code (CLI11 needs exceptions); the networking it drives
// (echo_server.cpp, echo_client.cpp) is written as a driver would write it.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "echo_client.h"
#include "echo_common.h"
#include "echo_server.h"
#include "xwsk/xwsk.h"

namespace {

using echo::ClientConfig;
using echo::ClientReport;
using echo::Server;
using echo::ServerConfig;
using echo::ServerStats;
using json = nlohmann::json;
using xwsk::Status;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr uint64_t kMaxBytes = 64ull << 30;  // 64 GiB: a run must end in reasonable time
constexpr uint32_t kMaxConnections = 1024;

int usage_error(const std::string& message) {
  fprintf(stderr, "xwsk-echo: error: %s\nRun with --help for usage.\n", message.c_str());
  return kExitUsage;
}

std::string hex64(uint64_t v) {
  char b[24];
  snprintf(b, sizeof(b), "0x%016llx", static_cast<unsigned long long>(v));
  return b;
}

/// "1048576", "64K", "10M", "1G" (binary multiples: K = 1024), also "10MiB", "10MB" (= MiB).
bool parse_bytes(const std::string& text, uint64_t* out, std::string* error) {
  if (text.empty()) {
    *error = "empty byte count";
    return false;
  }
  if (text[0] == '-') {
    *error = "byte count must not be negative: '" + text + "'";
    return false;
  }
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      *error = "byte count too large: '" + text + "'";
      return false;
    }
    v = v * 10 + d;
    ++i;
  }
  if (i == 0) {
    *error = "not a byte count: '" + text + "' (e.g. 1048576, 64K, 10M, 1G)";
    return false;
  }
  std::string suffix = text.substr(i);
  for (char& ch : suffix)
    ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
  uint64_t mult = 1;
  if (suffix.empty() || suffix == "B") {
    mult = 1;
  } else if (suffix == "K" || suffix == "KB" || suffix == "KIB") {
    mult = 1ull << 10;
  } else if (suffix == "M" || suffix == "MB" || suffix == "MIB") {
    mult = 1ull << 20;
  } else if (suffix == "G" || suffix == "GB" || suffix == "GIB") {
    mult = 1ull << 30;
  } else {
    *error = "unknown unit in byte count: '" + text + "' (use K, M or G)";
    return false;
  }
  if (v > kMaxBytes / mult) {
    *error = "byte count too large: '" + text + "' (at most 64G)";
    return false;
  }
  *out = v * mult;
  if (*out == 0) {
    *error = "byte count must be at least 1";
    return false;
  }
  return true;
}

bool parse_address_arg(const std::string& text, bool server, xwsk::SockAddr* out,
                       std::string* error) {
  const char* why = nullptr;
  if (!echo::parse_host_port(text.c_str(), server, out, &why)) {
    *error = "bad address '" + text + "': " + why;
    return false;
  }
  return true;
}

bool parse_seconds(double v, const char* name, double max, uint32_t* ms, std::string* error) {
  if (!(v > 0) || v > max) {
    char b[160];
    snprintf(b, sizeof(b), "%s must be a number of seconds in (0, %.0f]", name, max);
    *error = b;
    return false;
  }
  *ms = static_cast<uint32_t>(v * 1000.0 + 0.5);
  if (*ms == 0) *ms = 1;
  return true;
}

const char* family_name(const xwsk::SockAddr& a) {
  return a.af() == xwsk::AddressFamily::Inet6 ? "IPv6" : "IPv4";
}

// ---- reports -----------------------------------------------------------------------------------

json client_json(const ClientConfig& cfg, const ClientReport& r) {
  json j;
  j["mode"] = r.udp ? "udp" : "tcp";
  j["backend"] = xwsk::backend_name();
  j["remote"] = echo::to_text(cfg.remote).text;
  j["family"] = family_name(cfg.remote);
  j["ok"] = r.ok;
  j["bytes"] = r.bytes;
  j["sent"] = r.sent;
  j["received"] = r.received;
  j["elapsed_s"] = r.elapsed_s;
  j["mb_per_s"] = r.mb_per_s;
  if (r.udp) {
    j["checksum"] = {{"algorithm", "sum of mix64(seq, crc32(payload))"},
                     {"sent", hex64(r.checksum_sent)},
                     {"received", hex64(r.checksum_received)}};
    j["datagram_size"] = r.datagram_size;
    j["datagrams"] = r.datagrams;
    j["datagrams_echoed"] = r.datagrams_echoed;
    j["retransmits"] = r.retransmits;
    j["lost"] = r.lost;
    j["duplicates"] = r.duplicates;
    j["corrupt"] = r.corrupt;
  } else {
    j["checksum"] = {{"algorithm", "fnv1a64 over the per-connection fnv1a64"},
                     {"sent", hex64(r.checksum_sent)},
                     {"received", hex64(r.checksum_received)}};
    j["connections"] = r.connections;
    json per = json::array();
    for (uint32_t i = 0; r.per_connection != nullptr && i < r.connections; ++i) {
      const echo::ConnectionReport& c = r.per_connection[i];
      per.push_back({{"bytes", c.bytes},
                     {"sent", c.sent},
                     {"received", c.received},
                     {"fnv1a64_sent", hex64(c.fnv_sent)},
                     {"fnv1a64_received", hex64(c.fnv_received)},
                     {"ok", c.ok}});
    }
    j["per_connection"] = per;
  }
  if (!r.ok) {
    j["error"] = r.error;
    j["status"] = xwsk::status_name(r.status);
  }
  return j;
}

void print_client_text(const ClientConfig& cfg, const ClientReport& r, const char* indent) {
  const echo::AddrText remote = echo::to_text(cfg.remote);
  if (r.udp) {
    printf(
        "%sudp %s: %llu bytes in %llu datagrams of %zu bytes, %llu echoed in %.3f s "
        "(%.1f MB/s); retransmits %llu, lost %llu, duplicates %llu, corrupt %llu; "
        "crc32 sum sent %s received %s: %s\n",
        indent, remote.text, static_cast<unsigned long long>(r.bytes),
        static_cast<unsigned long long>(r.datagrams), r.datagram_size,
        static_cast<unsigned long long>(r.received), r.elapsed_s, r.mb_per_s,
        static_cast<unsigned long long>(r.retransmits), static_cast<unsigned long long>(r.lost),
        static_cast<unsigned long long>(r.duplicates), static_cast<unsigned long long>(r.corrupt),
        hex64(r.checksum_sent).c_str(), hex64(r.checksum_received).c_str(), r.ok ? "OK" : "FAILED");
  } else {
    printf(
        "%stcp %s: %llu bytes over %u connection%s, %llu echoed in %.3f s (%.1f MB/s); "
        "fnv1a64 sent %s received %s: %s\n",
        indent, remote.text, static_cast<unsigned long long>(r.bytes), r.connections,
        r.connections == 1 ? "" : "s", static_cast<unsigned long long>(r.received), r.elapsed_s,
        r.mb_per_s, hex64(r.checksum_sent).c_str(), hex64(r.checksum_received).c_str(),
        r.ok ? "OK" : "FAILED");
  }
  if (!r.ok) printf("%s  error: %s\n", indent, r.error);
  fflush(stdout);
}

json server_json(const std::vector<std::string>& addresses, const ServerStats& s, double seconds) {
  return json{{"event", "summary"},
              {"backend", xwsk::backend_name()},
              {"address", addresses.empty() ? std::string() : addresses[0]},
              {"addresses", addresses},
              {"duration_s", seconds},
              {"connections", s.connections},
              {"connections_graceful", s.connections_graceful},
              {"connections_reset", s.connections_reset},
              {"connections_rejected", s.connections_rejected},
              {"peak_connections", s.peak_active},
              {"tcp_bytes_in", s.tcp_bytes_in},
              {"tcp_bytes_out", s.tcp_bytes_out},
              {"datagrams", s.datagrams},
              {"udp_bytes", s.udp_bytes},
              {"datagrams_dropped", s.datagrams_dropped},
              {"accept_errors", s.accept_errors},
              {"udp_errors", s.udp_errors}};
}

/// Adds @p b to @p a (the listeners of one server command; peaks add up per listener).
void add_stats(ServerStats* a, const ServerStats& b) {
  a->connections += b.connections;
  a->connections_rejected += b.connections_rejected;
  a->connections_reset += b.connections_reset;
  a->connections_graceful += b.connections_graceful;
  a->active += b.active;
  a->peak_active += b.peak_active;
  a->tcp_bytes_in += b.tcp_bytes_in;
  a->tcp_bytes_out += b.tcp_bytes_out;
  a->datagrams += b.datagrams;
  a->udp_bytes += b.udp_bytes;
  a->datagrams_dropped += b.datagrams_dropped;
  a->accept_errors += b.accept_errors;
  a->udp_errors += b.udp_errors;
}

void print_server_text(const ServerStats& s, double seconds, const char* indent) {
  printf(
      "%sserver: %llu connections (%llu graceful, %llu reset, %llu rejected, peak %llu), "
      "tcp %llu bytes in / %llu out, %llu datagrams (%llu bytes) echoed, %llu dropped, "
      "in %.1f s\n",
      indent, static_cast<unsigned long long>(s.connections),
      static_cast<unsigned long long>(s.connections_graceful),
      static_cast<unsigned long long>(s.connections_reset),
      static_cast<unsigned long long>(s.connections_rejected),
      static_cast<unsigned long long>(s.peak_active),
      static_cast<unsigned long long>(s.tcp_bytes_in),
      static_cast<unsigned long long>(s.tcp_bytes_out),
      static_cast<unsigned long long>(s.datagrams), static_cast<unsigned long long>(s.udp_bytes),
      static_cast<unsigned long long>(s.datagrams_dropped), seconds);
  fflush(stdout);
}

// ---- commands ----------------------------------------------------------------------------------

struct Options {
  std::vector<std::string> binds;
  std::string connect;
  bool dual_stack = false;
  double duration = 0;
  bool json = false;
  bool udp = false;
  std::string bytes;
  long long connections = 1;
  double timeout = 60;
  long long datagram_size = 1200;
  long long window = 64;
  long long max_connections = 1024;
  std::string demo_tcp_bytes = "10M", demo_udp_bytes = "1M";
  long long demo_connections = 4;
};

/// Blocks SIGINT/SIGTERM in every thread (the backends' threads inherit the mask) so the main
/// thread can take them with sigtimedwait.
void block_signals(sigset_t* set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, set, nullptr);
}

int open_provider(echo::Provider* p) {
  Status st = p->open();
  if (st != Status::Success) {
    fprintf(stderr, "xwsk-echo: cannot register with the xwsk provider (%s): %s\n",
            xwsk::backend_name(), xwsk::status_name(st));
    return kExitFailed;
  }
  return kExitOk;
}

/// Stops every server (each waits until its requests are done); false if one did not stop
/// cleanly (then its memory is leaked rather than freed under the provider).
bool stop_servers(std::vector<Server*>* servers, ServerStats* total) {
  bool clean = true;
  for (Server* srv : *servers) {
    if (!srv->stop(15000)) {
      clean = false;
      continue;
    }
    if (total != nullptr) add_stats(total, srv->stats());
    delete srv;
  }
  servers->clear();
  return clean;
}

int cmd_server(const Options& o) {
  std::vector<ServerConfig> configs;
  std::string err;
  bool any_v6 = false;
  for (const std::string& bind : o.binds) {
    ServerConfig cfg;
    if (!parse_address_arg(bind, true, &cfg.bind, &err)) return usage_error(err);
    cfg.dual_stack = o.dual_stack;
    any_v6 = any_v6 || cfg.bind.af() == xwsk::AddressFamily::Inet6;
    configs.push_back(cfg);
  }
  if (o.dual_stack && !any_v6) {
    return usage_error("--dual-stack applies to an IPv6 --bind address (e.g. [::]:7000)");
  }
  uint32_t duration_ms = 0;
  if (o.duration != 0 && !parse_seconds(o.duration, "--duration", 1e7, &duration_ms, &err)) {
    return usage_error(err);
  }
  if (o.max_connections < 1 || o.max_connections > 100000) {
    return usage_error("--max-connections must be in 1..100000");
  }
  sigset_t set;
  block_signals(&set);
  echo::Provider provider;
  if (int rc = open_provider(&provider)) return rc;
  std::vector<Server*> servers;
  std::vector<std::string> addresses;
  for (size_t i = 0; i < configs.size(); ++i) {
    configs[i].max_connections = static_cast<uint32_t>(o.max_connections);
    Server* srv = new Server();
    const char* what = "";
    Status st = srv->start(provider.client(), configs[i], &what);
    if (st != Status::Success) {
      delete srv;  // start() closed what it had opened
      fprintf(stderr, "xwsk-echo: cannot serve on %s: %s failed: %s\n", o.binds[i].c_str(), what,
              xwsk::status_name(st));
      if (stop_servers(&servers, nullptr)) provider.close();
      return kExitFailed;
    }
    servers.push_back(srv);
    const echo::AddrText at = echo::to_text(srv->local());
    const bool dual = configs[i].dual_stack && srv->local().af() == xwsk::AddressFamily::Inet6;
    addresses.push_back(at.text);
    if (o.json) {
      printf("%s\n", json{{"event", "listening"},
                          {"backend", xwsk::backend_name()},
                          {"address", at.text},
                          {"port", srv->local().port()},
                          {"dual_stack", dual},
                          {"tcp", true},
                          {"udp", true}}
                         .dump()
                         .c_str());
    } else {
      printf("xwsk-echo server (%s): serving TCP and UDP echo on %s%s\n", xwsk::backend_name(),
             at.text, dual ? " (dual-stack: IPv4 too)" : "");
    }
  }
  fflush(stdout);

  const uint64_t start = echo::now_ns();
  int sig = 0;
  for (;;) {
    uint32_t step = 200;
    if (duration_ms != 0) {
      uint64_t elapsed_ms = (echo::now_ns() - start) / 1000000u;
      if (elapsed_ms >= duration_ms) break;
      if (duration_ms - elapsed_ms < step) step = static_cast<uint32_t>(duration_ms - elapsed_ms);
    }
    struct timespec ts = {0, static_cast<long>(step) * 1000000L};
    int s = sigtimedwait(&set, nullptr, &ts);
    if (s == SIGINT || s == SIGTERM) {
      sig = s;
      break;
    }
    for (Server* srv : servers)
      srv->housekeeping();
  }
  const double seconds = static_cast<double>(echo::now_ns() - start) / 1e9;
  ServerStats stats;
  if (!stop_servers(&servers, &stats)) return kExitFailed;  // no deregistering under requests
  provider.close();
  if (o.json) {
    json j = server_json(addresses, stats, seconds);
    j["stopped_by"] = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "duration";
    printf("%s\n", j.dump().c_str());
  } else {
    printf("xwsk-echo server: stopped by %s\n", sig == SIGINT    ? "SIGINT"
                                                : sig == SIGTERM ? "SIGTERM"
                                                                 : "--duration");
    print_server_text(stats, seconds, "");
  }
  fflush(stdout);
  return kExitOk;
}

bool make_client_config(const Options& o, ClientConfig* cfg, std::string* err) {
  if (!parse_address_arg(o.connect, false, &cfg->remote, err)) return false;
  cfg->udp = o.udp;
  if (!parse_bytes(o.bytes.empty() ? "1M" : o.bytes, &cfg->bytes, err)) return false;
  if (o.connections < 1 || o.connections > kMaxConnections) {
    *err = "--connections must be in 1.." + std::to_string(kMaxConnections);
    return false;
  }
  if (o.udp && o.connections != 1) {
    *err = "--connections applies to TCP only";
    return false;
  }
  cfg->connections = static_cast<uint32_t>(o.connections);
  if (!parse_seconds(o.timeout, "--timeout", 86400, &cfg->timeout_ms, err)) return false;
  if (o.datagram_size < 64 || o.datagram_size > 65000) {
    *err = "--datagram-size must be in 64..65000";
    return false;
  }
  cfg->datagram_size = static_cast<size_t>(o.datagram_size);
  if (o.window < 1 || o.window > 4096) {
    *err = "--window must be in 1..4096";
    return false;
  }
  cfg->window = static_cast<uint32_t>(o.window);
  return true;
}

int cmd_client(const Options& o) {
  ClientConfig cfg;
  std::string err;
  if (!make_client_config(o, &cfg, &err)) return usage_error(err);
  echo::Provider provider;
  if (int rc = open_provider(&provider)) return rc;
  ClientReport report;
  echo::run_client(provider.client(), cfg, &report);
  provider.close();
  if (o.json) {
    printf("%s\n", client_json(cfg, report).dump().c_str());
  } else {
    print_client_text(cfg, report, "");
  }
  if (!report.ok) fprintf(stderr, "xwsk-echo: %s\n", report.error);
  return report.ok ? kExitOk : kExitFailed;
}

/// Starts a server on the loopback of @p family with a port the system picks, the same for TCP
/// and UDP (retried if another program holds that UDP port).
Status start_loopback_server(xwsk::Client* client, xwsk::AddressFamily family, Server** out,
                             std::string* why) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    ServerConfig cfg;
    cfg.bind =
        family == xwsk::AddressFamily::Inet6 ? xwsk::ipv6_loopback(0) : xwsk::ipv4_loopback(0);
    Server* srv = new Server();
    const char* what = "";
    Status st = srv->start(client, cfg, &what);
    if (st == Status::Success) {
      *out = srv;
      return st;
    }
    delete srv;
    *why = std::string(what) + ": " + xwsk::status_name(st);
    if (st != Status::AddressAlreadyAssociated || strcmp(what, "bind(udp)") != 0) return st;
  }
  return Status::AddressAlreadyAssociated;
}

int cmd_demo(const Options& o) {
  uint64_t tcp_bytes = 0, udp_bytes = 0;
  std::string err;
  if (!parse_bytes(o.demo_tcp_bytes, &tcp_bytes, &err)) return usage_error("--tcp-bytes: " + err);
  if (!parse_bytes(o.demo_udp_bytes, &udp_bytes, &err)) return usage_error("--udp-bytes: " + err);
  if (o.demo_connections < 1 || o.demo_connections > kMaxConnections) {
    return usage_error("--connections must be in 1.." + std::to_string(kMaxConnections));
  }
  uint32_t timeout_ms = 0;
  if (!parse_seconds(o.timeout, "--timeout", 86400, &timeout_ms, &err)) return usage_error(err);

  echo::Provider provider;
  if (int rc = open_provider(&provider)) return rc;
  const uint32_t caps = xwsk::backend_capabilities();
  json doc;
  doc["backend"] = xwsk::backend_name();
  doc["runs"] = json::array();
  if (!o.json) {
    printf(
        "xwsk-echo demo: backend %s; the server and the clients run in this process over "
        "loopback\n",
        xwsk::backend_name());
  }
  bool all_ok = true;
  int families_run = 0;
  for (xwsk::AddressFamily family : {xwsk::AddressFamily::Inet, xwsk::AddressFamily::Inet6}) {
    const bool v6 = family == xwsk::AddressFamily::Inet6;
    const char* fname = v6 ? "IPv6" : "IPv4";
    json run;
    run["family"] = fname;
    if (v6 && (caps & xwsk::kCapIpv6) == 0) {
      run["skipped"] = std::string("backend: ") + xwsk::capability_reason(xwsk::kCapIpv6);
      if (!o.json) printf("%s: skipped (%s)\n", fname, xwsk::capability_reason(xwsk::kCapIpv6));
      doc["runs"].push_back(run);
      continue;
    }
    Server* srv = nullptr;
    std::string why;
    Status st = start_loopback_server(provider.client(), family, &srv, &why);
    if (st != Status::Success) {
      if (v6 && (st == Status::InvalidAddress || st == Status::AddressNotAssociated ||
                 st == Status::NotSupported || st == Status::InvalidAddressComponent)) {
        // No IPv6 loopback on this host: say so, do not pretend.
        run["skipped"] = "no IPv6 loopback: " + why;
        if (!o.json) printf("%s: skipped (no IPv6 loopback: %s)\n", fname, why.c_str());
        doc["runs"].push_back(run);
        continue;
      }
      fprintf(stderr, "xwsk-echo demo: cannot start the %s server: %s\n", fname, why.c_str());
      all_ok = false;
      break;
    }
    ++families_run;
    const echo::AddrText at = echo::to_text(srv->local());
    run["server"] = at.text;
    if (!o.json) printf("%s: serving TCP and UDP echo on %s\n", fname, at.text);
    const uint64_t start = echo::now_ns();
    for (bool udp : {false, true}) {
      ClientConfig cfg;
      cfg.remote = srv->local();
      cfg.udp = udp;
      cfg.bytes = udp ? udp_bytes : tcp_bytes;
      cfg.connections = udp ? 1 : static_cast<uint32_t>(o.demo_connections);
      cfg.timeout_ms = timeout_ms;
      ClientReport report;
      echo::run_client(provider.client(), cfg, &report);
      all_ok = all_ok && report.ok;
      run[udp ? "udp" : "tcp"] = client_json(cfg, report);
      if (!o.json) print_client_text(cfg, report, "  ");
    }
    const double seconds = static_cast<double>(echo::now_ns() - start) / 1e9;
    bool clean = srv->stop(15000);
    ServerStats stats = srv->stats();
    run["server_summary"] = server_json({at.text}, stats, seconds);
    if (!o.json) print_server_text(stats, seconds, "  ");
    if (!clean) {
      all_ok = false;
      fprintf(stderr, "xwsk-echo demo: the %s server did not stop cleanly\n", fname);
      doc["runs"].push_back(run);
      break;  // leak rather than free memory the provider may still use
    }
    delete srv;
    doc["runs"].push_back(run);
  }
  if (families_run == 0) all_ok = false;
  provider.close();
  doc["ok"] = all_ok;
  if (o.json) {
    printf("%s\n", doc.dump(2).c_str());
  } else {
    printf("demo: %s\n", all_ok ? "OK (every byte came back as sent)" : "FAILED");
  }
  fflush(stdout);
  return all_ok ? kExitOk : kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Options o;
  CLI::App app{
      "xwsk-echo: TCP and UDP echo over xwsk (backend: " + std::string(xwsk::backend_name()) + ")"};
  app.require_subcommand(1);

  CLI::App* server = app.add_subcommand("server", "Serve TCP and UDP echo on HOST:PORT");
  server->footer(
      "An IPv6 address is IPv6-only, as in WSK: [::]:PORT alone does not serve IPv4 clients. "
      "Add --dual-stack (IPV6_V6ONLY off, as Microsoft's WSK echo sample does), or give "
      "--bind 0.0.0.0:PORT as well.");
  server
      ->add_option("--bind", o.binds,
                   "HOST:PORT to serve on (port 0: any free port); more than once: one "
                   "listener per address")
      ->required()
      ->allow_extra_args(false);
  server->add_flag("--dual-stack", o.dual_stack,
                   "IPv6 addresses serve IPv4 too (IPV6_V6ONLY off before bind)");
  server->add_option("--duration", o.duration, "Stop after SECONDS (default: SIGINT/SIGTERM)");
  server->add_option(
      "--max-connections", o.max_connections,
      "Connections served at once per address; more are closed at once (default 1024)");
  server->add_flag("--json", o.json, "JSON lines: the listening address, then the summary");

  CLI::App* client = app.add_subcommand("client", "Send random bytes and check the echo");
  client->add_option("--connect", o.connect, "HOST:PORT of the echo server")->required();
  client->add_flag("--udp", o.udp, "Use UDP datagrams instead of TCP");
  client->add_option("--bytes", o.bytes,
                     "Total bytes to send (K, M, G = 2^10, 2^20, 2^30; default 1M); TCP splits "
                     "them evenly over the connections");
  client->add_option("--connections", o.connections, "TCP connections (default 1)");
  client->add_option("--timeout", o.timeout, "Give up after SECONDS (default 60)");
  client->add_option("--datagram-size", o.datagram_size,
                     "UDP datagram size, 24-byte header included (default 1200)");
  client->add_option("--window", o.window, "UDP datagrams outstanding at most (default 64)");
  client->add_flag("--json", o.json, "Print the report as JSON");

  CLI::App* demo = app.add_subcommand(
      "demo", "Serve on loopback and check TCP and UDP echo over IPv4 and IPv6 in-process");
  demo->add_option("--tcp-bytes", o.demo_tcp_bytes, "TCP bytes per family (default 10M)");
  demo->add_option("--udp-bytes", o.demo_udp_bytes, "UDP bytes per family (default 1M)");
  demo->add_option("--connections", o.demo_connections, "TCP connections (default 4)");
  demo->add_option("--timeout", o.timeout, "Per client run, SECONDS (default 60)");
  demo->add_flag("--json", o.json, "Print the report as JSON");

  if (argc > 1 && argv[1][0] != '-' && strcmp(argv[1], "server") != 0 &&
      strcmp(argv[1], "client") != 0 && strcmp(argv[1], "demo") != 0) {
    return usage_error(std::string("unknown command '") + argv[1] +
                       "' (expected server, client or demo)");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fprintf(stderr, "xwsk-echo: error: %s\nRun with --help for usage.\n", e.what());
    return kExitUsage;
  }
  try {
    if (server->parsed()) return cmd_server(o);
    if (client->parsed()) return cmd_client(o);
    if (demo->parsed()) return cmd_demo(o);
  } catch (const std::exception& e) {
    fprintf(stderr, "xwsk-echo: error: %s\n", e.what());
    return kExitFailed;
  }
  return kExitUsage;
}
