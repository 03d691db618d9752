// SPDX-License-Identifier: MIT
/// @file control.cpp
/// @brief control_socket (options and ioctls: uv_* where libuv has the call, setsockopt on
/// uv_fileno() otherwise) and control_client: entry points, run function, logic.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>

#include "backend.h"

namespace xwsk::uv {

using detail::op_state;

namespace {

/// The result of one control operation before it completes the request.
struct Result {
  Status status;
  size_t bytes;  ///< output bytes
};

Result ok(size_t bytes = 0) {
  return Result{Status::Success, bytes};
}
Result fail(Status st) {
  return Result{st, 0};
}
Result fail_errno() {
  return Result{from_errno(errno), 0};
}

Result put_u32(void* output, size_t output_size, uint32_t v) {
  if (output_size < sizeof(uint32_t)) return fail(Status::BufferTooSmall);
  memcpy(output, &v, sizeof(v));
  return ok(sizeof(v));
}

bool get_u32(const void* input, size_t input_size, uint32_t* v) {
  if (input == nullptr || input_size < sizeof(uint32_t)) return false;
  memcpy(v, input, sizeof(*v));
  return true;
}

/// One socket option mapped to a native int option.
struct IntOption {
  uint32_t level;  ///< xwsk (Windows) level
  uint32_t code;   ///< xwsk (Windows) name
  int native_level;
  int native_name;
  bool tcp_only;
  bool udp_only;
};

constexpr IntOption kIntOptions[] = {
    {kSolSocket, kSoKeepAlive, SOL_SOCKET, SO_KEEPALIVE, true, false},
    {kSolSocket, kSoBroadcast, SOL_SOCKET, SO_BROADCAST, false, true},
    {kSolSocket, kSoSndBuf, SOL_SOCKET, SO_SNDBUF, false, false},
    {kSolSocket, kSoRcvBuf, SOL_SOCKET, SO_RCVBUF, false, false},
    {kIpProtoTcp, kTcpNoDelay, IPPROTO_TCP, TCP_NODELAY, true, false},
    {kIpProtoIpv6, kIpv6V6Only, IPPROTO_IPV6, IPV6_V6ONLY, false, false},
};

Result int_option(Socket* s, const IntOption& o, bool set, const void* input, size_t input_size,
                  void* output, size_t output_size) {
  if ((o.tcp_only && s->kind != HandleKind::Tcp) || (o.udp_only && s->kind == HandleKind::Tcp)) {
    return fail(Status::InvalidParameter);
  }
  if (o.native_level == IPPROTO_IPV6 && s->base.family != AddressFamily::Inet6) {
    return fail(Status::InvalidParameter);
  }
  int fd = socket_fd(s);
  if (set) {
    uint32_t v;
    if (!get_u32(input, input_size, &v)) return fail(Status::InvalidParameter);
    if (o.native_name == IPV6_V6ONLY && s->phase != Phase::Open) {
      return fail(Status::InvalidDeviceState);  // only before bind
    }
    int iv = static_cast<int>(v);
    if (o.native_name == TCP_NODELAY) {
      int r = uv_tcp_nodelay(&s->h.tcp, iv != 0);
      if (r == 0) s->nodelay_client = s->nodelay_on = iv != 0;  // see start_sends
      return r == 0 ? ok() : fail(from_uv(r));
    }
    if (o.native_name == SO_BROADCAST && s->kind == HandleKind::Udp) {
      int r = uv_udp_set_broadcast(&s->h.udp, iv != 0);
      return r == 0 ? ok() : fail(from_uv(r));
    }
    if (setsockopt(fd, o.native_level, o.native_name, &iv, sizeof(iv)) != 0) return fail_errno();
    if (o.native_name == SO_SNDBUF && s->kind == HandleKind::Tcp) {
      // The ideal send backlog is SO_SNDBUF: the send backlog event reports the new one.
      s->backlog_check = true;
      kick(s, kKickEvents);
    }
    return ok();
  }
  int iv = 0;
  socklen_t len = sizeof(iv);
  if (getsockopt(fd, o.native_level, o.native_name, &iv, &len) != 0) return fail_errno();
  if (o.native_name != SO_SNDBUF && o.native_name != SO_RCVBUF) iv = iv != 0 ? 1 : 0;
  return put_u32(output, output_size, static_cast<uint32_t>(iv));
}

}  // namespace

int socket_fd(Socket* s) {
  uv_os_fd_t fd = -1;
  if (!s->handle_open || uv_fileno(&s->h.handle, &fd) != 0) return -1;
  return fd;
}

namespace {

Result option(Socket* s, bool set, uint32_t level, uint32_t code, const void* input,
              size_t input_size, void* output, size_t output_size) {
  if (!s->handle_open) return fail(Status::InvalidDeviceState);
  for (const IntOption& o : kIntOptions) {
    if (o.level == level && o.code == code) {
      return int_option(s, o, set, input, input_size, output, output_size);
    }
  }
  int fd = socket_fd(s);
  uint32_t v = 0;
  if (level == kSolSocket) {
    switch (code) {
      case kSoReuseAddr:
      case kSoExclusiveAddrUse: {
        if (!set) {
          // WSK: neither option is set by default.
          bool on = code == kSoReuseAddr ? s->reuse_addr : s->exclusive_addr;
          return put_u32(output, output_size, on ? 1u : 0u);
        }
        if (!get_u32(input, input_size, &v)) return fail(Status::InvalidParameter);
        if (s->phase != Phase::Open) return fail(Status::InvalidDeviceState);
        bool reuse = code == kSoReuseAddr ? v != 0 : (v == 0 && s->reuse_addr);
        int iv = reuse ? 1 : 0;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &iv, sizeof(iv)) != 0) return fail_errno();
        s->reuse_addr = reuse;
        if (code == kSoExclusiveAddrUse) s->exclusive_addr = v != 0;
        return ok();
      }
      case kSoLinger: {
        if (s->kind != HandleKind::Tcp) return fail(Status::InvalidParameter);
        linger l{};
        if (set) {
          if (input == nullptr || input_size < sizeof(Linger)) {
            return fail(Status::InvalidParameter);
          }
          Linger in;
          memcpy(&in, input, sizeof(in));
          l.l_onoff = in.onoff;
          l.l_linger = in.linger_seconds;
          if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) != 0) return fail_errno();
          return ok();
        }
        socklen_t len = sizeof(l);
        if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) != 0) return fail_errno();
        if (output_size < sizeof(Linger)) return fail(Status::BufferTooSmall);
        Linger out{static_cast<uint16_t>(l.l_onoff), static_cast<uint16_t>(l.l_linger)};
        memcpy(output, &out, sizeof(out));
        return ok(sizeof(out));
      }
      case kSoType:
        if (set) return fail(Status::InvalidParameter);
        return put_u32(output, output_size, static_cast<uint32_t>(s->base.type));
      case kSoConditionalAccept:
        if (s->base.category != kListenSocket && s->base.category != kStreamSocket) {
          return fail(Status::InvalidParameter);
        }
        if (!set) return put_u32(output, output_size, s->conditional ? 1u : 0u);
        if (!get_u32(input, input_size, &v)) return fail(Status::InvalidParameter);
        if (s->phase != Phase::Open) return fail(Status::InvalidDeviceState);  // before bind
        s->conditional = v != 0;
        return ok();
      default:
        return fail(Status::NotSupported);
    }
  }
  if (level == kIpProtoIp && code == kIpTtl) {
    bool v6 = s->base.family == AddressFamily::Inet6;
    int nl = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    int nn = v6 ? IPV6_UNICAST_HOPS : IP_TTL;
    if (set) {
      if (!get_u32(input, input_size, &v)) return fail(Status::InvalidParameter);
      if (s->kind == HandleKind::Udp && !v6) {
        int r = uv_udp_set_ttl(&s->h.udp, static_cast<int>(v));
        return r == 0 ? ok() : fail(from_uv(r));
      }
      int iv = static_cast<int>(v);
      if (setsockopt(fd, nl, nn, &iv, sizeof(iv)) != 0) return fail_errno();
      return ok();
    }
    int iv = 0;
    socklen_t len = sizeof(iv);
    if (getsockopt(fd, nl, nn, &iv, &len) != 0) return fail_errno();
    return put_u32(output, output_size, static_cast<uint32_t>(iv));
  }
  return fail(Status::NotSupported);
}

Result ioctl_op(Socket* s, uint32_t code, void* output, size_t output_size) {
  if (code != kFionRead) return fail(Status::NotSupported);
  if (!s->handle_open) return fail(Status::InvalidDeviceState);
  int n = 0;
  if (::ioctl(socket_fd(s), FIONREAD, &n) != 0) return fail_errno();
  return put_u32(output, output_size, static_cast<uint32_t>(n) + static_cast<uint32_t>(s->ind_len));
}

Status control_socket_run(Request* req) {
  Socket* s = req->priv.socket;
  const ControlIo& a = *op_state<ControlIo>(req);
  Result r;
  switch (a.type) {
    case ControlType::SetOption:
    case ControlType::GetOption:
      r = option(s, a.type == ControlType::SetOption, a.level, a.code, a.input, a.input_size,
                 a.output, a.output_size);
      break;
    case ControlType::Ioctl:
      r = ioctl_op(s, a.code, a.output, a.output_size);
      break;
    default:
      r = fail(Status::InvalidParameter);
      break;
  }
  if (a.output_size_returned != nullptr) *a.output_size_returned = r.bytes;
  return detail::complete(req, r.status, r.bytes);
}

Status control_client_run(Client* c, uint32_t code, size_t input_size, const void* input,
                          size_t output_size, void* output, size_t* output_size_returned,
                          Request* req) {
  Status st = Status::NotSupported;
  size_t bytes = 0;
  size_t reported = 0;
  if (code == kTransportListQuery) {
    static const Transport kList[] = {
        {kWskVersion, static_cast<uint16_t>(SocketType::Stream), 6, 2, {}},
        {kWskVersion, static_cast<uint16_t>(SocketType::Stream), 6, 23, {}},
        {kWskVersion, static_cast<uint16_t>(SocketType::Datagram), 17, 2, {}},
        {kWskVersion, static_cast<uint16_t>(SocketType::Datagram), 17, 23, {}},
    };
    reported = sizeof(kList);
    if (output_size < sizeof(kList)) {
      st = Status::BufferOverflow;  // WSK: the size needed is returned with this status
    } else {
      memcpy(output, kList, sizeof(kList));
      st = Status::Success;
      bytes = sizeof(kList);
    }
  } else if (code == kSetStaticEventCallbacks) {
    EventCallbackControl ctl{};
    constexpr uint32_t kKnown =
        kEventReceiveFrom | kEventAccept | kEventSendBacklog | kEventReceive | kEventDisconnect;
    if (input == nullptr || input_size < sizeof(ctl)) {
      st = Status::InvalidParameter;
    } else {
      memcpy(&ctl, input, sizeof(ctl));
      if (ctl.event_mask == 0 || (ctl.event_mask & ~kKnown) != 0) {
        st = Status::InvalidParameter;
      } else if (c->base.any_socket_created.load(std::memory_order_acquire)) {
        st = Status::InvalidDeviceState;
      } else {
        c->base.static_event_mask.store(ctl.event_mask, std::memory_order_release);
        st = Status::Success;
      }
    }
  }
  if (output_size_returned != nullptr)
    *output_size_returned = st == Status::Success ? bytes : reported;
  if (req == nullptr) return st;
  return detail::complete(req, st, bytes);
}

}  // namespace
}  // namespace xwsk::uv

// ---- xwsk::backend entry points: control ------------------------------------------------------
namespace xwsk::backend {

Status control_socket(Socket* s, ControlType type, uint32_t control_code, uint32_t level,
                      size_t input_size, const void* input, size_t output_size, void* output,
                      size_t* output_size_returned, Request* req) {
  *detail::op_state<uv::ControlIo>(req) = {.type = type,
                                           .code = control_code,
                                           .level = level,
                                           .input_size = input_size,
                                           .input = input,
                                           .output_size = output_size,
                                           .output = output,
                                           .output_size_returned = output_size_returned};
  return uv::run_or_submit(s, req, &uv::control_socket_run);
}

Status control_client(Client* client, uint32_t control_code, size_t input_size, const void* input,
                      size_t output_size, void* output, size_t* output_size_returned,
                      Request* req) {
  // Touches no loop state: runs on the calling thread.
  return uv::control_client_run(client, control_code, input_size, input, output_size, output,
                                output_size_returned, req);
}

}  // namespace xwsk::backend
