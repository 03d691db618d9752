// SPDX-License-Identifier: MIT
// libFuzzer target: the peer of the WSK-native echo sample is the fuzzer.
//
// samples/wsk-echo/wsk_echo.cpp (a driver written against wsk.h alone) is compiled into this
// program and loaded once per process over umwsk's user-mode WSK provider (DriverEntry with a
// driver object from UmwskCreateDriverObject); its dual-stack listener is found among this
// process's sockets (/proc/self/net/tcp6 matched against /proc/self/fd). Per input the fuzzer is
// the remote end: a plain loopback socket connects over IPv4 or IPv6, sends chunks of
// input-chosen sizes (a position-dependent byte pattern), reads back, pauses, and may half-close
// (FIN) or reset (SO_LINGER {1, 0} + close: RST).
// Checks: what comes back is always a prefix of what was sent; after a FIN all of it comes back
// and then the end of the stream; without FIN or RST all of it comes back too; after the input
// the provider's counters (UmwskQueryCounters: IRPs, MDLs, pool, sockets, ...) return to their
// values with only the listener open (the driver closed the connection and freed what it had).
// At exit DriverUnload runs and every umwsk counter must be zero. Every wait is bounded (5 s);
// at most 128 KiB per input; loopback only.
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_connect.h"
#include "fuzz_umwsk.h"

namespace fuzz {
void echo_load();
void echo_unload();
}  // namespace fuzz

namespace {

[[noreturn]] void die(const char* what) {
  const int e = errno;
  fprintf(stderr, "fuzz: %s (errno %d: %s)\n", what, e, strerror(e));
  abort();
}

void sleep_ms(uint32_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

// The input as a stream of choices; past the end every read gives 0.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

constexpr uint32_t kWaitMs = 5000;
constexpr size_t kMaxBytes = 128 * 1024;

uint64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void nap() {
  timespec ts{0, 50000};
  nanosleep(&ts, nullptr);
}

uint8_t pattern(size_t i, uint8_t salt) {
  return static_cast<uint8_t>((i * 131u) ^ (i >> 8) ^ salt);
}

// True if this process holds the socket with inode @p inode.
bool own_socket(unsigned long inode) {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return false;
  char want[64];
  snprintf(want, sizeof want, "socket:[%lu]", inode);
  bool found = false;
  while (dirent* e = readdir(d)) {
    char path[300], target[64];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    if (strcmp(target, want) == 0) {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

// The port of a listening TCP socket of this process on [::] (0 if none yet).
uint16_t find_listener() {
  FILE* f = fopen("/proc/self/net/tcp6", "r");
  if (f == nullptr) return 0;
  char line[512];
  uint16_t port = 0;
  if (fgets(line, sizeof line, f) == nullptr) line[0] = '\0';  // the header
  while (port == 0 && fgets(line, sizeof line, f) != nullptr) {
    char local[64], remote[64];
    unsigned state = 0, local_port = 0;
    unsigned long inode = 0;
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %63s %x %*s %*s %*s %*u %*u %lu", local, &local_port,
               remote, &state, &inode) != 5) {
      continue;
    }
    if (state == 0x0A && strspn(local, "0") == strlen(local) && own_socket(inode))
      port = static_cast<uint16_t>(local_port);
  }
  fclose(f);
  return port;
}

struct Driver {
  uint16_t port = 0;
  fuzz::UmCounters base{};
};
Driver* g_driver = nullptr;

Driver& driver() {
  if (g_driver != nullptr) return *g_driver;
  auto* d = new Driver;
  fuzz::echo_load();
  atexit(fuzz::echo_unload);
  uint64_t deadline = now_ms() + kWaitMs;
  while ((d->port = find_listener()) == 0) {
    if (now_ms() > deadline) die("wsk_echo opened no [::] listener in 5 s");
    sleep_ms(1);
  }
  // The driver's start thread ends once the listener is open; wait until its counts settle.
  fuzz::UmCounters prev = fuzz::um_counters();
  for (int stable = 0; stable < 20;) {
    sleep_ms(2);
    fuzz::UmCounters now = fuzz::um_counters();
    stable = memcmp(&now, &prev, sizeof now) == 0 ? stable + 1 : 0;
    prev = now;
    if (now_ms() > deadline + kWaitMs) die("umwsk counters never settled after DriverEntry");
  }
  d->base = prev;
  g_driver = d;
  return *d;
}

struct Peer {
  int fd = -1;
  uint8_t salt = 0;
  size_t sent = 0;
  uint8_t back[kMaxBytes];
  size_t got = 0;
  bool eof = false;
  bool reset_seen = false;
};

// Reads what has come back (non-blocking); checks it continues the prefix of what was sent.
void drain(Peer& p) {
  while (!p.eof && !p.reset_seen) {
    uint8_t buf[8192];
    ssize_t k = ::recv(p.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (k == 0) {
      p.eof = true;
      break;
    }
    if (k < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      if (errno == ECONNRESET) {
        p.reset_seen = true;
        break;
      }
      fprintf(stderr, "fuzz: peer recv: %s\n", strerror(errno));
      die("the peer's recv failed");
    }
    size_t n = static_cast<size_t>(k);
    if (p.got + n > p.sent) die("more bytes echoed than sent");
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] != pattern(p.got + i, p.salt)) {
        fprintf(stderr, "fuzz: echoed byte %zu is 0x%02x, sent 0x%02x\n", p.got + i, buf[i],
                pattern(p.got + i, p.salt));
        die("the echo is not a prefix of what was sent");
      }
    }
    p.got += n;
  }
}

void write_chunk(Peer& p, size_t n) {
  if (p.sent + n > kMaxBytes) n = kMaxBytes - p.sent;
  uint8_t chunk[16384];
  for (size_t i = 0; i < n; ++i)
    chunk[i] = pattern(p.sent + i, p.salt);
  size_t off = 0;
  uint64_t deadline = now_ms() + kWaitMs;
  while (off < n) {
    ssize_t k = ::send(p.fd, chunk + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k > 0) {
      off += static_cast<size_t>(k);
      p.sent += static_cast<size_t>(k);
      continue;
    }
    if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      fprintf(stderr, "fuzz: peer send: %s\n", strerror(errno));
      die("the peer's send failed (the echo server closed early)");
    }
    drain(p);
    if (p.eof || p.reset_seen) die("the echo server ended the connection while data was due");
    if (now_ms() > deadline) die("the peer could not write for 5 s (the echo stalled)");
    nap();
  }
}

// Reads until @p done() holds (bounded).
template <typename Done>
void read_until(Peer& p, const char* what, Done done) {
  uint64_t deadline = now_ms() + kWaitMs;
  for (;;) {
    drain(p);
    if (done()) return;
    if (p.reset_seen) die("the echo server reset the connection");
    if (p.eof) break;
    if (now_ms() > deadline) break;
    nap();
  }
  fprintf(stderr, "fuzz: sent %zu, echoed %zu%s\n", p.sent, p.got, p.eof ? ", then EOF" : "");
  die(what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Driver& d = driver();
  Input in(data, size);
  auto* p = new Peer;
  uint8_t kind = in.u8();
  p->salt = in.u8();
  bool v6 = (kind & 1) != 0;
  // fuzz_connect.h: a connect that a signal (libFuzzer's timer) interrupts is waited for, not
  // given up; EADDRNOTAVAIL/EAGAIN (loopback's ephemeral ports in TIME_WAIT) are retried.
  p->fd = fuzz::connect_loopback(v6, d.port, kWaitMs);
  if (p->fd < 0) die("connect to wsk_echo");

  bool fin = false, reset = false;
  for (int step = 0; step < 48 && !in.empty() && !fin && !reset; ++step) {
    uint8_t op = in.u8();
    switch (op % 8) {
      case 0:
      case 1:
      case 2:
        write_chunk(*p, 1 + in.u8() % 64);
        break;
      case 3:
        write_chunk(*p, 1 + in.u16() % 16384);
        break;
      case 4:
        sleep_ms(in.u8() % 4);
        drain(*p);
        break;
      case 5:
        drain(*p);
        break;
      case 6:
        if ((op & 0x30) == 0x30) {
          fin = true;
          if (::shutdown(p->fd, SHUT_WR) != 0) die("shutdown");
        }
        break;
      case 7:
        if ((op & 0x70) == 0x70) {
          reset = true;
          linger l{1, 0};
          setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        break;
    }
  }
  if (fin) {
    // Everything comes back, then the end of the stream.
    read_until(*p, "after a FIN, the echo did not return every byte and then EOF",
               [&] { return p->eof && p->got == p->sent; });
  } else if (!reset) {
    read_until(*p, "the echo did not return every byte", [&] { return p->got == p->sent; });
  } else {
    drain(*p);
  }
  ::close(p->fd);  // with SO_LINGER {1, 0}: RST
  delete p;

  // The driver closes its side; its IRPs, MDLs, buffers and the socket go back.
  uint64_t deadline = now_ms() + kWaitMs;
  for (;;) {
    fuzz::UmCounters now = fuzz::um_counters();
    if (memcmp(&now, &d.base, sizeof now) == 0) break;
    if (now_ms() > deadline) {
      fuzz::um_counters_differ("5 s after the connection closed", d.base, now);
      die("umwsk counters not back to their values with only the listener open");
    }
    nap();
  }
  return 0;
}
