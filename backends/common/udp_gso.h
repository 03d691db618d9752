// SPDX-License-Identifier: MIT
/// @file udp_gso.h
/// @brief User-space backends: send_messages through UDP GSO (Linux UDP_SEGMENT). When every
/// datagram of a send_messages call but the last has the same size and the last is no longer,
/// one sendmsg with a UDP_SEGMENT control message carries up to kGsoMaxSegments of them; the
/// kernel cuts the payload into datagrams of that size, so the peer receives exactly the
/// datagrams of the list. One system call and one trip down the stack instead of one per
/// datagram (sendmmsg still walks the stack once per datagram). Shared by posix and uv.
///
/// Every datagram of a send_messages call goes to the call's one remote address, so only the
/// sizes decide. The caller falls back to sendmmsg for the call, and remembers it for the
/// socket, when the kernel refuses (gso_refused). Elsewhere than Linux, gso_plan is always 0.
#ifndef XWSK_BACKENDS_COMMON_UDP_GSO_H_
#define XWSK_BACKENDS_COMMON_UDP_GSO_H_

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "xwsk/types.h"

#if defined(__linux__)
#include <netinet/in.h>
#include <netinet/udp.h>
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // Linux 4.18
#endif
#define XWSK_HAVE_UDP_GSO 1
#else
#define XWSK_HAVE_UDP_GSO 0
#endif

namespace xwsk::hostnet {

/// At most this many datagrams per GSO send (the kernel's UDP_MAX_SEGMENTS is 64 before 6.5,
/// 128 after) and this many payload bytes in all (an IPv4 datagram's limit: 65535 - 20 - 8).
constexpr uint32_t kGsoMaxSegments = 64;
constexpr size_t kGsoMaxBytes = 65507;

/// How many datagrams from the head of @p list one GSO send takes (0: send them otherwise),
/// and their segment size in @p seg. The whole of @p list must qualify (every element but the
/// last of the same size, the last no longer and not empty); a long list goes out in several
/// GSO sends, each of full-size datagrams except perhaps the last (a last send of a single
/// datagram goes without GSO). At least two datagrams, or there is nothing to gain.
inline uint32_t gso_plan(const BufList* list, size_t* seg) {
#if XWSK_HAVE_UDP_GSO
  if (list == nullptr || list->next == nullptr) return 0;
  const size_t size = list->buffer.length;
  if (size == 0 || size > kGsoMaxBytes / 2) return 0;
  uint32_t n = 0;
  for (const BufList* e = list; e != nullptr; e = e->next, ++n) {
    const size_t len = e->buffer.length;
    if (len == size) continue;
    if (e->next != nullptr || len == 0 || len > size) return 0;  // only the last may differ
  }
  uint32_t k = static_cast<uint32_t>(kGsoMaxBytes / size);
  if (k > kGsoMaxSegments) k = kGsoMaxSegments;
  if (k > n) k = n;
  *seg = size;
  return k;
#else
  (void)list;
  (void)seg;
  return 0;
#endif
}

/// Space for the UDP_SEGMENT control message (aligned for cmsghdr).
struct GsoControl {
  alignas(cmsghdr) unsigned char buf[CMSG_SPACE(sizeof(uint16_t))];
};

/// Points @p m's control data at @p ctl, holding a UDP_SEGMENT of @p seg bytes.
inline void gso_set_segment(msghdr* m, GsoControl* ctl, size_t seg) {
#if XWSK_HAVE_UDP_GSO
  memset(ctl->buf, 0, sizeof(ctl->buf));
  m->msg_control = ctl->buf;
  m->msg_controllen = sizeof(ctl->buf);
  cmsghdr* cm = CMSG_FIRSTHDR(m);
  cm->cmsg_level = IPPROTO_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  const uint16_t s = static_cast<uint16_t>(seg);
  memcpy(CMSG_DATA(cm), &s, sizeof(s));
#else
  (void)m;
  (void)ctl;
  (void)seg;
#endif
}

/// True when a GSO send failed because the kernel, the route or the device does not do GSO
/// for it (the same datagrams may still go one by one): fall back, and do not try again on
/// this socket.
inline bool gso_refused(int err) {
  return err == EINVAL || err == EIO || err == ENOPROTOOPT || err == EOPNOTSUPP || err == EMSGSIZE;
}

}  // namespace xwsk::hostnet

#endif  // XWSK_BACKENDS_COMMON_UDP_GSO_H_
