// SPDX-License-Identifier: MIT
/// @file types.h
/// @brief Addresses, buffers, flags and constants of the xwsk API (the WSK vocabulary).
///
/// Numeric values follow Windows (AF_INET6 is 23 here on every platform, SOL_SOCKET is 0xffff),
/// so that code written against xwsk means the same thing in the kernel and in user space. The
/// user-space backends translate them to the host's values in one place.
#ifndef XWSK_TYPES_H_
#define XWSK_TYPES_H_

#include <stddef.h>
#include <stdint.h>

#include "xwsk/status.h"

namespace xwsk {

// ---------------------------------------------------------------------------------------------
// Address family, socket type, protocol (the three WskSocket selectors)
// ---------------------------------------------------------------------------------------------

/// Address family, Windows numbering (AF_INET = 2, AF_INET6 = 23).
enum class AddressFamily : uint16_t { Unspecified = 0, Inet = 2, Inet6 = 23 };

/// Socket type (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW).
enum class SocketType : uint16_t { Stream = 1, Datagram = 2, Raw = 3 };

/// IP protocol numbers (IPPROTO_*). Any value is accepted by the API; these are named.
enum class Protocol : uint16_t { Default = 0, Icmp = 1, Tcp = 6, Udp = 17, IcmpV6 = 58 };

// ---------------------------------------------------------------------------------------------
// Socket categories (WSK_FLAG_*_SOCKET)
// ---------------------------------------------------------------------------------------------

/// WskSocket Flags: exactly one category. Values are WSK's.
enum SocketCategory : uint32_t {
  kBasicSocket = 0x00000000,       ///< WSK_FLAG_BASIC_SOCKET
  kListenSocket = 0x00000001,      ///< WSK_FLAG_LISTEN_SOCKET
  kConnectionSocket = 0x00000002,  ///< WSK_FLAG_CONNECTION_SOCKET
  kDatagramSocket = 0x00000004,    ///< WSK_FLAG_DATAGRAM_SOCKET
  kStreamSocket = 0x00000008,      ///< WSK_FLAG_STREAM_SOCKET (listen or connect, decided later)
};

// ---------------------------------------------------------------------------------------------
// Operation flags. Values are WSK's; each flag is valid only where its comment says.
// ---------------------------------------------------------------------------------------------

/// receive: complete only when the buffer is full, the peer disconnects or an error occurs.
constexpr uint32_t kFlagWaitAll = 0x00000002;  // WSK_FLAG_WAITALL
/// receive: discard everything received until the peer disconnects.
constexpr uint32_t kFlagDrain = 0x00000004;  // WSK_FLAG_DRAIN
/// send: send at once, do not coalesce (Nagle off for this send).
constexpr uint32_t kFlagNoDelay = 0x00000002;  // WSK_FLAG_NODELAY
/// disconnect: abortive (RST) instead of graceful (FIN).
constexpr uint32_t kFlagAbortive = 0x00000001;  // WSK_FLAG_ABORTIVE
/// event callbacks (indication flags): the callback runs at DISPATCH_LEVEL. Never set by the
/// user-space backends (their callbacks do not run at DISPATCH_LEVEL; without the flag WSK
/// promises only IRQL <= DISPATCH_LEVEL).
constexpr uint32_t kFlagAtDispatchLevel = 0x00000008;  // WSK_FLAG_AT_DISPATCH_LEVEL
/// receive event only: the data is a whole message / the last part of one (for TCP: a segment
/// had the push bit). The receive_from event has no such flag in WSK. Not set by the user-space
/// backends (the host does not expose the push bit).
constexpr uint32_t kFlagEntireMessage = 0x00000004;  // WSK_FLAG_ENTIRE_MESSAGE
/// receive event only: the provider wants the data back soon (do not retain it).
constexpr uint32_t kFlagReleaseAsap = 0x00000002;  // WSK_FLAG_RELEASE_ASAP
/// receive_from event: the datagrams were broadcast / multicast (MSG_BCAST / MSG_MCAST).
constexpr uint32_t kMsgBcast = 0x0400;
/// receive_from event: the datagrams were multicast (MSG_MCAST); see kMsgBcast.
constexpr uint32_t kMsgMcast = 0x0800;

/// receive_from control flag: the datagram was truncated (MSG_TRUNC).
constexpr uint32_t kMsgTrunc = 0x0100;

// ---------------------------------------------------------------------------------------------
// Event masks (WSK_EVENT_*) for SO_WSK_EVENT_CALLBACK and WSK_SET_STATIC_EVENT_CALLBACKS
// ---------------------------------------------------------------------------------------------

constexpr uint32_t kEventReceiveFrom = 0x00000100;  ///< WSK_EVENT_RECEIVE_FROM (datagram)
constexpr uint32_t kEventAccept = 0x00000200;       ///< WSK_EVENT_ACCEPT (listen, stream)
constexpr uint32_t kEventSendBacklog = 0x00000010;  ///< WSK_EVENT_SEND_BACKLOG (connection)
constexpr uint32_t kEventReceive = 0x00000040;      ///< WSK_EVENT_RECEIVE (connection)
constexpr uint32_t kEventDisconnect = 0x00000080;   ///< WSK_EVENT_DISCONNECT (connection)
constexpr uint32_t kEventDisable = 0x80000000;      ///< WSK_EVENT_DISABLE (with exactly one event)

// ---------------------------------------------------------------------------------------------
// Socket options and ioctls (control_socket). Levels and names use Windows values.
// ---------------------------------------------------------------------------------------------

/// WSK_CONTROL_SOCKET_TYPE.
enum class ControlType : uint32_t { SetOption = 0, GetOption = 1, Ioctl = 2 };

constexpr uint32_t kSolSocket = 0xffff;  ///< SOL_SOCKET
constexpr uint32_t kIpProtoIp = 0;       ///< IPPROTO_IP (option level)
constexpr uint32_t kIpProtoIpv6 = 41;    ///< IPPROTO_IPV6 (option level)
constexpr uint32_t kIpProtoTcp = 6;      ///< IPPROTO_TCP (option level)
constexpr uint32_t kIpProtoUdp = 17;     ///< IPPROTO_UDP (option level)

constexpr uint32_t kSoReuseAddr = 0x0004;  ///< SO_REUSEADDR (ULONG)
constexpr uint32_t kSoKeepAlive = 0x0008;  ///< SO_KEEPALIVE (ULONG)
constexpr uint32_t kSoBroadcast = 0x0020;  ///< SO_BROADCAST (ULONG)
constexpr uint32_t kSoLinger = 0x0080;     ///< SO_LINGER (Linger)
constexpr uint32_t kSoSndBuf = 0x1001;     ///< SO_SNDBUF (ULONG)
constexpr uint32_t kSoRcvBuf = 0x1002;     ///< SO_RCVBUF (ULONG)
constexpr uint32_t kSoType = 0x1008;       ///< SO_TYPE (ULONG, get)
constexpr uint32_t kSoExclusiveAddrUse = static_cast<uint32_t>(~kSoReuseAddr);  ///< (ULONG)
constexpr uint32_t kSoConditionalAccept = 0x3002;  ///< SO_CONDITIONAL_ACCEPT (ULONG, listen)
constexpr uint32_t kSoWskEventCallback = 0x4002;   ///< SO_WSK_EVENT_CALLBACK (WSK_SO_BASE + 2)
constexpr uint32_t kTcpNoDelay = 0x0001;           ///< TCP_NODELAY (ULONG)
constexpr uint32_t kIpv6V6Only = 27;               ///< IPV6_V6ONLY (ULONG)
constexpr uint32_t kIpTtl = 4;                     ///< IP_TTL (ULONG)

constexpr uint32_t kFionRead = 0x4004667F;  ///< FIONREAD ioctl: bytes readable now (ULONG out)

/// SO_LINGER payload (Windows LINGER: two USHORTs).
struct Linger {
  uint16_t onoff;           ///< l_onoff: non-zero to linger on close.
  uint16_t linger_seconds;  ///< l_linger: how long to linger, in seconds.
};

/// WSK_EVENT_CALLBACK_CONTROL: the payload of SO_WSK_EVENT_CALLBACK and of the client-level
/// WSK_SET_STATIC_EVENT_CALLBACKS. @p npi_id is accepted and ignored by user-space backends
/// (the WSK backend passes &NPI_WSK_INTERFACE_ID when it is null).
struct EventCallbackControl {
  const void* npi_id;   ///< NpiId: &NPI_WSK_INTERFACE_ID, or null (see above).
  uint32_t event_mask;  ///< EventMask: kEvent* values, with kEventDisable to disable one.
};

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

/// A socket address (IPv4 or IPv6), the same bytes on every platform. Port and addresses are in
/// network byte order, as in SOCKADDR_IN/SOCKADDR_IN6; use the helpers to build and read them.
struct SockAddr {
  uint16_t family;    ///< AddressFamily value.
  uint16_t port_be;   ///< Port, network byte order.
  uint32_t flowinfo;  ///< IPv6 flow info (0 for IPv4).
  uint8_t addr[16];   ///< IPv4 uses addr[0..3]; IPv6 uses all 16 bytes.
  uint32_t scope_id;  ///< IPv6 scope (interface index); 0 for IPv4.

  /// The port in host byte order.
  constexpr uint16_t port() const {
    return static_cast<uint16_t>(((port_be & 0xff) << 8) | (port_be >> 8));
  }
  /// Sets the port from host byte order.
  constexpr void set_port(uint16_t p) {
    port_be = static_cast<uint16_t>(((p & 0xff) << 8) | (p >> 8));
  }
  /// The address family as an AddressFamily.
  constexpr AddressFamily af() const { return static_cast<AddressFamily>(family); }
};

/// a.b.c.d:port
constexpr SockAddr ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  SockAddr s{static_cast<uint16_t>(AddressFamily::Inet), 0, 0, {a, b, c, d}, 0};
  s.set_port(port);
  return s;
}
/// 127.0.0.1:port
constexpr SockAddr ipv4_loopback(uint16_t port) {
  return ipv4(127, 0, 0, 1, port);
}
/// 0.0.0.0:port
constexpr SockAddr ipv4_any(uint16_t port) {
  return ipv4(0, 0, 0, 0, port);
}
/// The IPv6 loopback address, [::1]:port.
constexpr SockAddr ipv6_loopback(uint16_t port) {
  SockAddr s{static_cast<uint16_t>(AddressFamily::Inet6), 0, 0, {}, 0};
  s.addr[15] = 1;
  s.set_port(port);
  return s;
}
/// The IPv6 wildcard address, [::]:port.
constexpr SockAddr ipv6_any(uint16_t port) {
  SockAddr s{static_cast<uint16_t>(AddressFamily::Inet6), 0, 0, {}, 0};
  s.set_port(port);
  return s;
}

/// Parses "1.2.3.4", "1.2.3.4:80", "::1", "[::1]:80" (numeric only; no name resolution).
/// IPv4 is strict four-part dotted decimal, as RtlIpv4StringToAddress with Strict = TRUE: an
/// octet with a leading zero ("01.02.03.04", octal in the lenient form) is rejected.
/// A missing port leaves the port 0. Returns InvalidParameter for anything else (never crashes,
/// never allocates, any IRQL).
Status parse_address(const char* text, SockAddr* out);

/// Formats as "1.2.3.4:80" or "[::1]:80" into @p buf (always NUL-terminated when size > 0).
/// Returns the length written without the NUL, or 0 if @p buf is too small or the family is
/// unknown.
size_t format_address(const SockAddr& addr, char* buf, size_t size);

/// True when the families, ports and addresses (and IPv6 scope) are equal.
bool address_equal(const SockAddr& a, const SockAddr& b);

// ---------------------------------------------------------------------------------------------
// Buffers: Segment plays the MDL's role, Buf is WSK_BUF, BufList is WSK_BUF_LIST.
// ---------------------------------------------------------------------------------------------

/// One contiguous piece of memory in a chain (an MDL). Build it with segment_init() so that the
/// kernel backend can describe it with a real MDL; release it with segment_free().
struct Segment {
  Segment* next;  ///< Next segment of the chain, or null (MDL->Next).
  void* data;     ///< Start of the memory (MmGetSystemAddressForMdlSafe).
  size_t length;  ///< Bytes in this segment (MmGetMdlByteCount).
  void* native;   ///< Backend-private: the PMDL on the WSK backend; null in user space.
};

/// The longest segment chain (and the longest BufList) a call accepts. The whole chain from
/// Buf::segment is checked before the request is accepted: a longer chain, or one that loops
/// back on itself (it never ends), gets InvalidParameter instead of a walk without end.
constexpr size_t kMaxChainSegments = 1024;

/// WSK_BUF: @p length bytes starting @p offset bytes into the chain that begins at @p segment.
/// The offset applies to the first segment only, as in WSK. The chain holds at most
/// kMaxChainSegments segments and ends with a null next.
struct Buf {
  Segment* segment;  ///< Mdl: the first segment of the chain.
  size_t offset;     ///< Offset: bytes to skip in the first segment.
  size_t length;     ///< Length: bytes described, from the offset on.
};

/// WSK_BUF_LIST: one datagram per element, for send_messages.
struct BufList {
  BufList* next;  ///< Next datagram, or null.
  Buf buffer;     ///< This datagram's bytes.
};

/// Initializes @p seg to describe @p length bytes at @p data (IoAllocateMdl +
/// MmBuildMdlForNonPagedPool on the WSK backend, where @p data must be non-paged). Allocation is
/// explicit here and nowhere else. Returns InvalidParameter for a null @p seg, or null @p data
/// with non-zero length; InsufficientResources if the MDL cannot be allocated.
Status segment_init(Segment* seg, void* data, size_t length);

/// Releases what segment_init() allocated (IoFreeMdl). Safe on a zeroed or already-freed
/// segment; does not follow @p seg->next.
void segment_free(Segment* seg);

/// A ready-made Buf over one initialized segment.
inline Buf make_buf(Segment* seg, size_t offset, size_t length) {
  return Buf{seg, offset, length};
}

// ---------------------------------------------------------------------------------------------
// Indications (data handed to event callbacks)
// ---------------------------------------------------------------------------------------------

/// WSK_DATA_INDICATION: received stream data handed to the receive event.
struct DataIndication {
  DataIndication* next;  ///< Next indication, or null.
  Buf buffer;            ///< The received bytes.
};

/// WSK_DATAGRAM_INDICATION: a received datagram handed to the receive_from event.
struct DatagramIndication {
  DatagramIndication* next;    ///< Next datagram, or null.
  Buf buffer;                  ///< The datagram's bytes.
  const void* control_info;    ///< Ancillary data (control messages), or null.
  size_t control_info_length;  ///< Bytes at control_info.
  SockAddr* remote_address;    ///< The sender.
};

/// WSK_INSPECT_ID: identifies an incoming connection in conditional-accept mode.
struct InspectId {
  uintptr_t key;           ///< Key: with serial_number, identifies the connection.
  uint32_t serial_number;  ///< SerialNumber: with key, identifies the connection.
};

/// WSK_INSPECT_ACTION: what an inspect event or inspect_complete decides.
enum class InspectAction : uint32_t { Reject = 0, Accept = 1, Pend = 2, Max = 3 };

// ---------------------------------------------------------------------------------------------
// Client-level control codes (control_client) and transports
// ---------------------------------------------------------------------------------------------

constexpr uint32_t kTransportListQuery = 2;       ///< WSK_TRANSPORT_LIST_QUERY
constexpr uint32_t kTransportListChange = 3;      ///< WSK_TRANSPORT_LIST_CHANGE
constexpr uint32_t kCacheSd = 4;                  ///< WSK_CACHE_SD
constexpr uint32_t kReleaseSd = 5;                ///< WSK_RELEASE_SD
constexpr uint32_t kTdiDeviceNameMapping = 6;     ///< WSK_TDI_DEVICENAME_MAPPING
constexpr uint32_t kSetStaticEventCallbacks = 7;  ///< WSK_SET_STATIC_EVENT_CALLBACKS
constexpr uint32_t kTdiBehavior = 8;              ///< WSK_TDI_BEHAVIOR

/// WSK_TRANSPORT: one entry of the transport list.
struct Transport {
  uint16_t version;         ///< Version: the transport's version
  uint16_t socket_type;     ///< SocketType value
  uint32_t protocol;        ///< Protocol value
  uint16_t address_family;  ///< AddressFamily value
  uint8_t provider_id[16];  ///< GUID bytes; zero on user-space backends
};

// ---------------------------------------------------------------------------------------------
// Name resolution (get_address_info / get_name_info)
// ---------------------------------------------------------------------------------------------

/// ADDRINFOEXW, reduced to what is portable. Lists are allocated through the allocator hook and
/// released with free_address_info().
struct AddrInfo {
  int32_t flags;         ///< ai_flags: kAi* values
  int32_t family;        ///< AddressFamily value
  int32_t socktype;      ///< SocketType value, or 0
  int32_t protocol;      ///< Protocol value, or 0
  SockAddr* addr;        ///< ai_addr: the address
  char* canonical_name;  ///< UTF-8, or null
  AddrInfo* next;        ///< ai_next: the next result, or null
};

constexpr int32_t kAiPassive = 0x01;      ///< AI_PASSIVE
constexpr int32_t kAiCanonName = 0x02;    ///< AI_CANONNAME
constexpr int32_t kAiNumericHost = 0x04;  ///< AI_NUMERICHOST

constexpr uint32_t kNiNumericHost = 0x02;  ///< NI_NUMERICHOST
constexpr uint32_t kNiNumericServ = 0x08;  ///< NI_NUMERICSERV

}  // namespace xwsk

#endif  // XWSK_TYPES_H_
