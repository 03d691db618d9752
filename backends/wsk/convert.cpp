// SPDX-License-Identifier: MIT
// convert.cpp: the one place where xwsk values become WSK/DDK values and back: socket
// addresses, selectors, flags, event masks, options, ioctls, control codes, strings. xwsk uses
// the Windows numbering, so most values coincide; they are still mapped name by name, so a
// value that differs (or a DDK that renumbers) is caught here and nowhere else.
//
// Everything in this file is pure computation: any IRQL, no allocation.
#include "../common/sockaddr_forms.h"
#include "backend.h"

namespace xwsk::wsk {

// ---- addresses ---------------------------------------------------------------------------------

namespace {
using WinForms = addr::SockaddrForms<SOCKADDR_IN, SOCKADDR_IN6, AF_INET, AF_INET6>;
}  // namespace

bool to_native(const SockAddr& a, NativeAddr* out) {
  RtlZeroMemory(out, sizeof(*out));
  return WinForms::write(a, out) != 0;
}

bool from_native(const SOCKADDR* sa, SockAddr* out) {
  if (sa == nullptr || out == nullptr) return false;
  // The caller's SOCKADDR is as long as its family's form (WSK hands out whole addresses).
  return WinForms::read(sa, sizeof(SOCKADDR_IN6), out);
}

// ---- selectors
// -----------------------------------------------------------------------------------

ADDRESS_FAMILY native_family(AddressFamily f) {
  static_assert(AF_UNSPEC == 0, "SockaddrForms::native_family answers 0 for AF_UNSPEC");
  return static_cast<ADDRESS_FAMILY>(WinForms::native_family(f));
}

int32_t xwsk_family(int native) {
  return WinForms::xwsk_family(native, native);
}

USHORT native_socket_type(SocketType t) {
  switch (t) {
    case SocketType::Stream:
      return SOCK_STREAM;
    case SocketType::Datagram:
      return SOCK_DGRAM;
    case SocketType::Raw:
      return SOCK_RAW;
  }
  return static_cast<USHORT>(t);
}

ULONG native_protocol(Protocol p) {
  switch (p) {
    case Protocol::Tcp:
      return IPPROTO_TCP;
    case Protocol::Udp:
      return IPPROTO_UDP;
    case Protocol::Icmp:
      return IPPROTO_ICMP;
    case Protocol::IcmpV6:
      return IPPROTO_ICMPV6;
    case Protocol::Default:
      return 0;
  }
  return static_cast<ULONG>(p);  // any protocol number is valid (raw sockets)
}

ULONG native_category(uint32_t category) {
  switch (category) {
    case kListenSocket:
      return WSK_FLAG_LISTEN_SOCKET;
    case kConnectionSocket:
      return WSK_FLAG_CONNECTION_SOCKET;
    case kDatagramSocket:
      return WSK_FLAG_DATAGRAM_SOCKET;
    case kStreamSocket:
      return WSK_FLAG_STREAM_SOCKET;
    default:
      return WSK_FLAG_BASIC_SOCKET;
  }
}

// ---- flags
// -----------------------------------------------------------------------------------------

ULONG native_op_flags(uint32_t flags) {
  // The same bit means different things per operation (WAITALL and NODELAY are both 2), so the
  // mapping is bit by bit; each xwsk bit has one WSK bit of the same meaning.
  ULONG n = 0;
  if ((flags & kFlagAbortive) != 0) n |= WSK_FLAG_ABORTIVE;
  if ((flags & kFlagWaitAll) != 0) n |= WSK_FLAG_WAITALL;  // == WSK_FLAG_NODELAY for send
  if ((flags & kFlagDrain) != 0) n |= WSK_FLAG_DRAIN;
  static_assert(kFlagNoDelay == kFlagWaitAll && WSK_FLAG_NODELAY == WSK_FLAG_WAITALL,
                "send NODELAY and receive WAITALL share a bit in both vocabularies");
  return n;
}

uint32_t xwsk_event_flags(ULONG flags) {
  uint32_t x = 0;
  if ((flags & WSK_FLAG_AT_DISPATCH_LEVEL) != 0) x |= kFlagAtDispatchLevel;
  if ((flags & WSK_FLAG_ENTIRE_MESSAGE) != 0) x |= kFlagEntireMessage;
  if ((flags & WSK_FLAG_RELEASE_ASAP) != 0) x |= kFlagReleaseAsap;
  if ((flags & WSK_FLAG_ABORTIVE) != 0) x |= kFlagAbortive;
  return x;
}

ULONG native_event_mask(uint32_t mask) {
  ULONG n = 0;
  if ((mask & kEventReceiveFrom) != 0) n |= WSK_EVENT_RECEIVE_FROM;
  if ((mask & kEventAccept) != 0) n |= WSK_EVENT_ACCEPT;
  if ((mask & kEventSendBacklog) != 0) n |= WSK_EVENT_SEND_BACKLOG;
  if ((mask & kEventReceive) != 0) n |= WSK_EVENT_RECEIVE;
  if ((mask & kEventDisconnect) != 0) n |= WSK_EVENT_DISCONNECT;
  if ((mask & kEventDisable) != 0) n |= WSK_EVENT_DISABLE;
  return n;
}

// ---- options, ioctls, control codes
// ----------------------------------------------------------------

namespace {

struct OptionName {
  uint32_t level;
  uint32_t name;
  ULONG native_level;
  ULONG native_name;
};

const OptionName kOptions[] = {
    {kSolSocket, kSoReuseAddr, SOL_SOCKET, SO_REUSEADDR},
    {kSolSocket, kSoKeepAlive, SOL_SOCKET, SO_KEEPALIVE},
    {kSolSocket, kSoBroadcast, SOL_SOCKET, SO_BROADCAST},
    {kSolSocket, kSoLinger, SOL_SOCKET, SO_LINGER},
    {kSolSocket, kSoSndBuf, SOL_SOCKET, SO_SNDBUF},
    {kSolSocket, kSoRcvBuf, SOL_SOCKET, SO_RCVBUF},
    {kSolSocket, kSoType, SOL_SOCKET, SO_TYPE},
    {kSolSocket, kSoExclusiveAddrUse, SOL_SOCKET, static_cast<ULONG>(SO_EXCLUSIVEADDRUSE)},
    {kSolSocket, kSoConditionalAccept, SOL_SOCKET, SO_CONDITIONAL_ACCEPT},
    {kSolSocket, kSoWskEventCallback, SOL_SOCKET, SO_WSK_EVENT_CALLBACK},
    {kIpProtoTcp, kTcpNoDelay, IPPROTO_TCP, TCP_NODELAY},
    {kIpProtoIpv6, kIpv6V6Only, IPPROTO_IPV6, IPV6_V6ONLY},
    {kIpProtoIp, kIpTtl, IPPROTO_IP, IP_TTL},
};

}  // namespace

bool native_option(uint32_t level, uint32_t name, ULONG* native_level, ULONG* native_name) {
  for (const OptionName& o : kOptions) {
    if (o.level == level && o.name == name) {
      *native_level = o.native_level;
      *native_name = o.native_name;
      return true;
    }
  }
  *native_level = level;
  *native_name = name;
  return false;
}

ULONG native_ioctl(uint32_t code) {
  if (code == kFionRead) return static_cast<ULONG>(FIONREAD);
  return code;  // SIO_* values are the same numbers on every side
}

ULONG native_control_client(uint32_t code) {
  switch (code) {
    case kTransportListQuery:
      return WSK_TRANSPORT_LIST_QUERY;
    case kTransportListChange:
      return WSK_TRANSPORT_LIST_CHANGE;
    case kCacheSd:
      return WSK_CACHE_SD;
    case kReleaseSd:
      return WSK_RELEASE_SD;
    case kTdiDeviceNameMapping:
      return WSK_TDI_DEVICENAME_MAPPING;
    case kSetStaticEventCallbacks:
      return WSK_SET_STATIC_EVENT_CALLBACKS;
    case kTdiBehavior:
      return WSK_TDI_BEHAVIOR;
    default:
      return code;
  }
}

WSK_CONTROL_SOCKET_TYPE native_control_type(ControlType t) {
  switch (t) {
    case ControlType::SetOption:
      return WskSetOption;
    case ControlType::GetOption:
      return WskGetOption;
    case ControlType::Ioctl:
      return WskIoctl;
  }
  return WskIoctl;
}

WSK_INSPECT_ACTION native_inspect_action(InspectAction a) {
  return a == InspectAction::Accept ? WskInspectAccept : WskInspectReject;
}

InspectAction xwsk_inspect_action(WSK_INSPECT_ACTION a) {
  switch (static_cast<int>(a)) {
    case 1:  // WskInspectAccept
      return InspectAction::Accept;
    case 2:  // WskInspectPend (not in Wine's enum)
      return InspectAction::Pend;
    default:
      return InspectAction::Reject;
  }
}

}  // namespace xwsk::wsk
