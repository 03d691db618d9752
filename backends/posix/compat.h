// SPDX-License-Identifier: MIT
/// @file compat.h
/// @brief The Linux-only calls the posix backend uses, each with the portable fallback chosen
/// at configure time (backends/posix/CMakeLists.txt defines XWSK_HAVE_<call> = 1 when the host
/// has it; XWSK_POSIX_FALLBACKS=ON defines none, so a Linux build runs every fallback).
///
/// | call | fallback |
/// |---|---|
/// | SOCK_NONBLOCK / SOCK_CLOEXEC on socket() | socket(), then fcntl O_NONBLOCK and FD_CLOEXEC |
/// | accept4 | accept, then the same fcntl calls |
/// | dup3(O_CLOEXEC) | dup2, then FD_CLOEXEC |
/// | eventfd (loop wake-up) | a non-blocking pipe |
/// | MSG_NOSIGNAL | SO_NOSIGPIPE on each socket where the host has it, else SIGPIPE blocked on the
/// |   | loop thread (every socket call of the backend runs there) |
/// | recvmmsg / sendmmsg | one recvmsg / sendmsg per message |
/// | POLLRDHUP (poll engine) | POLLIN and a one-byte MSG_PEEK: a FIN is seen once no data is
/// |   | left unread before it (loop_poll.cpp) |
#ifndef XWSK_BACKENDS_POSIX_COMPAT_H_
#define XWSK_BACKENDS_POSIX_COMPAT_H_

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#if XWSK_HAVE_EVENTFD
#include <sys/eventfd.h>
#endif

namespace xwsk::posix {

/// The send flags of every send call (MSG_NOSIGNAL where the host has it).
#if XWSK_HAVE_MSG_NOSIGNAL
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;
#endif

/// Marks @p fd non-blocking and close-on-exec. False (errno set) on failure.
inline bool fd_nonblock_cloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) return false;
  int fdf = fcntl(fd, F_GETFD);
  return fdf >= 0 && fcntl(fd, F_SETFD, fdf | FD_CLOEXEC) == 0;
}

/// Per-socket SIGPIPE suppression where the host has no MSG_NOSIGNAL but SO_NOSIGPIPE.
inline void fd_nosigpipe(int fd) {
#if !XWSK_HAVE_MSG_NOSIGNAL && defined(SO_NOSIGPIPE)
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#else
  (void)fd;
#endif
}

/// A descriptor fresh from socket() or accept() (-1 passes through): made non-blocking and
/// close-on-exec when the call could not do it itself (@p set_flags), then SIGPIPE-free.
/// Returns it, or -1 with errno kept when a flag cannot be set (the descriptor is closed).
inline int own_fd(int fd, bool set_flags) {
  if (fd < 0) return -1;
  if (set_flags && !fd_nonblock_cloexec(fd)) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  fd_nosigpipe(fd);
  return fd;
}

/// socket() returning a non-blocking, close-on-exec descriptor, or -1 (errno set).
inline int socket_nb(int domain, int type, int protocol) {
#if XWSK_HAVE_SOCK_NONBLOCK
  return own_fd(::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol), false);
#else
  return own_fd(::socket(domain, type, protocol), true);
#endif
}

/// accept() returning a non-blocking, close-on-exec descriptor, or -1 (errno set).
inline int accept_nb(int fd, sockaddr* addr, socklen_t* len) {
#if XWSK_HAVE_ACCEPT4
  return own_fd(::accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC), false);
#else
  return own_fd(::accept(fd, addr, len), true);
#endif
}

/// Makes @p to refer to @p from's file, close-on-exec (dup3 / dup2). -1 on failure.
inline int dup_cloexec(int from, int to) {
#if XWSK_HAVE_DUP3
  return ::dup3(from, to, O_CLOEXEC);
#else
  if (::dup2(from, to) < 0) return -1;
  int fdf = fcntl(to, F_GETFD);
  return fdf >= 0 && fcntl(to, F_SETFD, fdf | FD_CLOEXEC) == 0 ? to : -1;
#endif
}

/// Blocks SIGPIPE on the calling thread where no send call can suppress it (loop thread).
inline void block_sigpipe_if_needed() {
#if !XWSK_HAVE_MSG_NOSIGNAL && !defined(SO_NOSIGPIPE)
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
#endif
}

/// The loop's wake-up: an eventfd (one descriptor for both ends) or a non-blocking pipe.
struct WakeFd {
  int read_fd = -1;
  int write_fd = -1;
};

inline bool wake_open(WakeFd* w) {
#if XWSK_HAVE_EVENTFD
  w->read_fd = w->write_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return w->read_fd >= 0;
#else
  int p[2];
  if (::pipe(p) != 0) return false;
  if (!fd_nonblock_cloexec(p[0]) || !fd_nonblock_cloexec(p[1])) {
    int e = errno;
    ::close(p[0]);
    ::close(p[1]);
    errno = e;
    return false;
  }
  w->read_fd = p[0];
  w->write_fd = p[1];
  return true;
#endif
}

inline void wake_close(WakeFd* w) {
  if (w->read_fd >= 0) ::close(w->read_fd);
  if (w->write_fd >= 0 && w->write_fd != w->read_fd) ::close(w->write_fd);
  w->read_fd = w->write_fd = -1;
}

/// Wakes the loop (any thread). A full pipe already means a wake-up is pending.
inline void wake_signal(const WakeFd* w) {
  uint64_t one = 1;
  ssize_t r;
  do {
    r = ::write(w->write_fd, &one, sizeof(one));
  } while (r < 0 && errno == EINTR);
}

/// Consumes pending wake-ups (loop thread).
inline void wake_drain(const WakeFd* w) {
  uint64_t buf[8];
  for (;;) {
    ssize_t r = ::read(w->read_fd, buf, sizeof(buf));
    if (r > 0 && w->read_fd != w->write_fd && static_cast<size_t>(r) == sizeof(buf)) continue;
    if (r < 0 && errno == EINTR) continue;
    return;
  }
}

/// struct mmsghdr where the host has it, an equal-shaped struct elsewhere.
#if defined(__linux__)
using MMsgHdr = ::mmsghdr;
#else
struct MMsgHdr {
  msghdr msg_hdr;
  unsigned int msg_len;
};
#endif

/// The fallback of send_mmsg / recv_mmsg: @p one (sendmsg or recvmsg) per message, until one
/// fails: the number done, or -1 if none was (errno set).
template <typename One>
int each_msg(MMsgHdr* msgs, unsigned n, One one) {
  unsigned i = 0;
  while (i < n) {
    ssize_t r = one(&msgs[i].msg_hdr);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    msgs[i].msg_len = static_cast<unsigned>(r);
    ++i;
  }
  return i > 0 ? static_cast<int>(i) : -1;
}

/// sendmmsg, or one sendmsg per message: the number sent, or -1 if none was (errno set).
inline int send_mmsg(int fd, MMsgHdr* msgs, unsigned n, int flags) {
#if XWSK_HAVE_SENDMMSG
  return ::sendmmsg(fd, msgs, n, flags);
#else
  return each_msg(msgs, n, [fd, flags](msghdr* h) { return ::sendmsg(fd, h, flags); });
#endif
}

/// recvmmsg (non-blocking), or one recvmsg per message: the number received, or -1 if none
/// was (errno set).
inline int recv_mmsg(int fd, MMsgHdr* msgs, unsigned n, int flags) {
#if XWSK_HAVE_RECVMMSG
  return ::recvmmsg(fd, msgs, n, flags, nullptr);
#else
  return each_msg(msgs, n, [fd, flags](msghdr* h) { return ::recvmsg(fd, h, flags); });
#endif
}

}  // namespace xwsk::posix

#endif  // XWSK_BACKENDS_POSIX_COMPAT_H_
