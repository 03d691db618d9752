// SPDX-License-Identifier: MIT
#include "fuzz_connect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace fuzz {

namespace {

uint64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// Waits until the non-blocking connect on @p fd has finished (poll again after a signal);
// returns its result (0 or an errno value), ETIMEDOUT past @p deadline.
int finish_connect(int fd, uint64_t deadline) {
  for (;;) {
    const uint64_t now = now_ms();
    if (now > deadline) return ETIMEDOUT;
    pollfd p{fd, POLLOUT, 0};
    const int n = ::poll(&p, 1, static_cast<int>(deadline - now) + 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) continue;  // the deadline check above ends it
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }
}

}  // namespace

int connect_loopback(bool v6, uint16_t port, uint32_t ms) {
  const uint64_t deadline = now_ms() + ms;
  for (;;) {
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc;
    if (v6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(port);
      a.sin6_addr = in6addr_loopback;
      rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    int err = rc == 0 ? 0 : errno;
    // EINPROGRESS, or EINTR (a signal during the call): the connection goes on; wait for it.
    if (err == EINPROGRESS || err == EINTR) err = finish_connect(fd, deadline);
    if (err == 0) {
      const int fl = fcntl(fd, F_GETFL);
      if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        err = errno;
        ::close(fd);
        errno = err;
        return -1;
      }
      return fd;
    }
    ::close(fd);
    // No connection was made: a new socket may try again (nothing waits in the listener's queue).
    if ((err != EADDRNOTAVAIL && err != EAGAIN) || now_ms() > deadline) {
      errno = err;
      return -1;
    }
    timespec pause{0, 10 * 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
}

}  // namespace fuzz
