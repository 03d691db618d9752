// SPDX-License-Identifier: MIT
/// @file control.cpp
/// @brief control_socket (socket options and ioctls, run on the loop thread) and
/// control_client (transport list, static event callbacks).
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>

#include "backend.h"

namespace xwsk::posix {

using detail::complete;
using detail::op_state;

// ---- options and ioctls -------------------------------------------------------------------

namespace {

/// Maps (level, name) of a plain ULONG option to the native pair. False when not one.
bool native_ulong_option(uint32_t level, uint32_t code, int* nlevel, int* nname) {
  if (level == kSolSocket) {
    *nlevel = SOL_SOCKET;
    switch (code) {
      case kSoReuseAddr:
        *nname = SO_REUSEADDR;
        return true;
      case kSoKeepAlive:
        *nname = SO_KEEPALIVE;
        return true;
      case kSoBroadcast:
        *nname = SO_BROADCAST;
        return true;
      case kSoSndBuf:
        *nname = SO_SNDBUF;
        return true;
      case kSoRcvBuf:
        *nname = SO_RCVBUF;
        return true;
      default:
        return false;
    }
  }
  if (level == kIpProtoTcp && code == kTcpNoDelay) {
    *nlevel = IPPROTO_TCP;
    *nname = TCP_NODELAY;
    return true;
  }
  if (level == kIpProtoIpv6 && code == kIpv6V6Only) {
    *nlevel = IPPROTO_IPV6;
    *nname = IPV6_V6ONLY;
    return true;
  }
  if (level == kIpProtoIp && code == kIpTtl) {
    *nlevel = IPPROTO_IP;
    *nname = IP_TTL;
    return true;
  }
  return false;
}

struct ControlResult {
  Status status;
  size_t written;
};

ControlResult put_ulong(const ControlIo* st, uint32_t v) {
  if (st->output == nullptr || st->output_size < sizeof(uint32_t)) {
    return {Status::BufferTooSmall, 0};
  }
  memcpy(st->output, &v, sizeof(v));
  return {Status::Success, sizeof(v)};
}

bool get_ulong_input(const ControlIo* st, uint32_t* v) {
  if (st->input == nullptr || st->input_size < sizeof(uint32_t)) return false;
  memcpy(v, st->input, sizeof(*v));
  return true;
}

ControlResult set_option(Socket* s, const ControlIo* st) {
  int nlevel = 0;
  int nname = 0;
  uint32_t v = 0;
  if (st->level == kSolSocket && st->code == kSoLinger) {
    if (st->input == nullptr || st->input_size < sizeof(Linger)) {
      return {Status::InvalidParameter, 0};
    }
    Linger l;
    memcpy(&l, st->input, sizeof(l));
    linger nl{l.onoff != 0 ? 1 : 0, static_cast<int>(l.linger_seconds)};
    if (setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &nl, sizeof(nl)) != 0) {
      return {status_from_errno(errno), 0};
    }
    return {Status::Success, 0};
  }
  if (st->level == kSolSocket && st->code == kSoExclusiveAddrUse) {
    if (!get_ulong_input(st, &v)) return {Status::InvalidParameter, 0};
    if (s->phase != Phase::Open) return {Status::InvalidDeviceState, 0};  // bound
    int reuse = 0;
    if (v != 0 && setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse)) != 0) {
      return {status_from_errno(errno), 0};
    }
    s->exclusive_addr = v != 0;
    return {Status::Success, 0};
  }
  if (st->level == kSolSocket && st->code == kSoConditionalAccept) {
    if (!get_ulong_input(st, &v)) return {Status::InvalidParameter, 0};
    if (s->base.category != kListenSocket && s->base.category != kStreamSocket) {
      return {Status::InvalidParameter, 0};
    }
    s->conditional = v != 0;
    return {Status::Success, 0};
  }
  if (st->level == kSolSocket && st->code == kSoType) return {Status::InvalidParameter, 0};
  if (!native_ulong_option(st->level, st->code, &nlevel, &nname)) {
    return {Status::NotSupported, 0};
  }
  if (!get_ulong_input(st, &v)) return {Status::InvalidParameter, 0};
  if (nlevel == IPPROTO_IPV6 && s->base.family != AddressFamily::Inet6) {
    return {Status::InvalidParameter, 0};
  }
  int iv = static_cast<int>(v);
  if (setsockopt(s->fd, nlevel, nname, &iv, sizeof(iv)) != 0) {
    return {status_from_errno(errno), 0};
  }
  if (nlevel == IPPROTO_TCP && nname == TCP_NODELAY) {
    // The client's setting: a kFlagNoDelay send turns it on for itself and restores this.
    s->nodelay_client = s->nodelay_on = iv != 0;
  }
  return {Status::Success, 0};
}

ControlResult get_option(Socket* s, const ControlIo* st) {
  int nlevel = 0;
  int nname = 0;
  if (st->level == kSolSocket && st->code == kSoLinger) {
    if (st->output == nullptr || st->output_size < sizeof(Linger)) {
      return {Status::BufferTooSmall, 0};
    }
    linger nl{};
    socklen_t len = sizeof(nl);
    if (getsockopt(s->fd, SOL_SOCKET, SO_LINGER, &nl, &len) != 0) {
      return {status_from_errno(errno), 0};
    }
    Linger l{static_cast<uint16_t>(nl.l_onoff != 0 ? 1 : 0), static_cast<uint16_t>(nl.l_linger)};
    memcpy(st->output, &l, sizeof(l));
    return {Status::Success, sizeof(l)};
  }
  if (st->level == kSolSocket && st->code == kSoType) {
    return put_ulong(st, static_cast<uint32_t>(s->base.type));
  }
  if (st->level == kSolSocket && st->code == kSoConditionalAccept) {
    return put_ulong(st, s->conditional ? 1u : 0u);
  }
  if (st->level == kSolSocket && st->code == kSoExclusiveAddrUse) {
    // WSK: neither SO_EXCLUSIVEADDRUSE nor SO_REUSEADDR is set by default (the default is
    // still exclusive use: a second bind of the address fails).
    return put_ulong(st, s->exclusive_addr ? 1u : 0u);
  }
  if (!native_ulong_option(st->level, st->code, &nlevel, &nname)) {
    return {Status::NotSupported, 0};
  }
  if (st->output == nullptr || st->output_size < sizeof(uint32_t)) {
    return {Status::BufferTooSmall, 0};
  }
  int iv = 0;
  socklen_t len = sizeof(iv);
  if (getsockopt(s->fd, nlevel, nname, &iv, &len) != 0) return {status_from_errno(errno), 0};
  return put_ulong(st, static_cast<uint32_t>(iv));
}

/// control_socket on the loop thread.
Status control_socket_run(Request* req) {
  Socket* s = req->priv.socket;
  ControlIo* st = op_state<ControlIo>(req);
  ControlResult r{Status::NotSupported, 0};
  switch (st->type) {
    case ControlType::SetOption:
      r = set_option(s, st);
      break;
    case ControlType::GetOption:
      r = get_option(s, st);
      break;
    case ControlType::Ioctl:
      if (st->code == kFionRead) {
        int avail = 0;
        if (ioctl(s->fd, FIONREAD, &avail) != 0) {
          r = {status_from_errno(errno), 0};
          break;
        }
        uint64_t total = static_cast<uint64_t>(avail > 0 ? avail : 0) + s->ind_len;
        r = put_ulong(st, total > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(total));
      }
      break;
  }
  if (st->output_size_returned != nullptr) *st->output_size_returned = r.written;
  const bool backlog = st->type == ControlType::SetOption && st->level == kSolSocket &&
                       st->code == kSoSndBuf && r.status == Status::Success;
  Status done = complete(req, r.status, r.written);
  if (backlog && !is_closed(s)) {
    s->backlog_check = true;  // the ideal send backlog is SO_SNDBUF: indicate the new one
    socket_process(s);
  }
  return done;
}

}  // namespace

}  // namespace xwsk::posix

// ---- entry points (any thread) --------------------------------------------------------------

namespace xwsk::backend {

using namespace posix;

Status control_socket(Socket* s, ControlType type, uint32_t control_code, uint32_t level,
                      size_t input_size, const void* input, size_t output_size, void* output,
                      size_t* output_size_returned, Request* req) {
  ControlIo* st = detail::op_state<ControlIo>(req);
  st->type = type;
  st->code = control_code;
  st->level = level;
  st->input_size = input_size;
  st->input = input;
  st->output_size = output_size;
  st->output = output;
  st->output_size_returned = output_size_returned;
  return submit(s->client, req, &control_socket_run);
}

Status control_client(Client* client, uint32_t control_code, size_t input_size, const void* input,
                      size_t output_size, void* output, size_t* output_size_returned,
                      Request* req) {
  Status st = Status::NotSupported;
  size_t info = 0;
  switch (control_code) {
    case kTransportListQuery: {
      const bool v6 = (capabilities() & kCapIpv6) != 0;
      const size_t count = v6 ? 6 : 3;
      const size_t need = count * sizeof(Transport);
      info = need;
      if (output_size < need) {
        st = Status::BufferOverflow;  // WSK: OutputSizeReturned holds the size needed
        break;
      }
      Transport* t = static_cast<Transport*>(output);
      const SocketType types[3] = {SocketType::Stream, SocketType::Datagram, SocketType::Raw};
      const Protocol protos[3] = {Protocol::Tcp, Protocol::Udp, Protocol::Default};
      const AddressFamily fams[2] = {AddressFamily::Inet, AddressFamily::Inet6};
      size_t i = 0;
      for (size_t f = 0; f < (v6 ? 2u : 1u); ++f) {
        for (size_t k = 0; k < 3; ++k) {
          memset(&t[i], 0, sizeof(Transport));
          t[i].version = kWskVersion;
          t[i].socket_type = static_cast<uint16_t>(types[k]);
          t[i].protocol = static_cast<uint32_t>(protos[k]);
          t[i].address_family = static_cast<uint16_t>(fams[f]);
          ++i;
        }
      }
      st = Status::Success;
      break;
    }
    case kSetStaticEventCallbacks: {
      if (input == nullptr || input_size < sizeof(EventCallbackControl)) {
        st = Status::InvalidParameter;
        break;
      }
      if (client->base.any_socket_created.load(std::memory_order_acquire)) {
        st = Status::InvalidDeviceState;
        break;
      }
      uint32_t mask = static_cast<const EventCallbackControl*>(input)->event_mask;
      const uint32_t known =
          kEventReceiveFrom | kEventAccept | kEventSendBacklog | kEventReceive | kEventDisconnect;
      if ((mask & kEventDisable) != 0 || (mask & ~known) != 0) {
        st = Status::InvalidParameter;
        break;
      }
      client->base.static_event_mask.store(mask, std::memory_order_release);
      st = Status::Success;
      break;
    }
    default:
      st = Status::NotSupported;
      break;
  }
  if (output_size_returned != nullptr) *output_size_returned = info;
  if (req == nullptr) return st;
  return detail::complete(req, st, info);
}

}  // namespace xwsk::backend
