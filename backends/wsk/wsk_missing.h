// SPDX-License-Identifier: MIT
// wsk_missing.h: WSK declarations that Wine 8's ddk/wsk.h lacks.
//
// Included only by wsk_ddk.h, after the DDK. Names and meanings follow the
// WSK reference: Microsoft's WSK DDI pages and the WSK guide (the page's file
// name is cited on each item). Those pages give names, not numeric values; the
// values are the ones in the Windows Driver Kit's wsk.h / ws2def.h.
//
// Guarding, so this also compiles against the real WDK:
//  - macros: each one under its own #ifndef;
//  - types and functions (cannot be tested with #ifndef): under
//    XWSK_WSK_H_IS_WINE, true when Wine's ddk/wsk.h (include guard _INC_WSK)
//    was included and the WDK's wsk.h (include guard _WSK_) was not.
#ifndef XWSK_BACKENDS_WSK_WSK_MISSING_H_
#define XWSK_BACKENDS_WSK_WSK_MISSING_H_

#if defined(_INC_WSK) && !defined(_WSK_)
#define XWSK_WSK_H_IS_WINE 1
#else
#define XWSK_WSK_H_IS_WINE 0
#endif

// ---------------------------------------------------------------------------
// Constants (macros, individually guarded)
// ---------------------------------------------------------------------------

// Version helpers. Ref: ns-wsk-_wsk_provider_characteristics.md
#ifndef WSK_MAJOR_VERSION
#define WSK_MAJOR_VERSION(V) ((UCHAR)((V) >> 8))
#endif
#ifndef WSK_MINOR_VERSION
#define WSK_MINOR_VERSION(V) ((UCHAR)(V))
#endif

// Event-callback flags. Ref: nc-wsk-pfn_wsk_receive_event.md,
// nc-wsk-pfn_wsk_accept_event.md, nc-wsk-pfn_wsk_disconnect_event.md
#ifndef WSK_FLAG_AT_DISPATCH_LEVEL
#define WSK_FLAG_AT_DISPATCH_LEVEL 0x00000008
#endif
#ifndef WSK_FLAG_RELEASE_ASAP
#define WSK_FLAG_RELEASE_ASAP 0x00000002
#endif
#ifndef WSK_FLAG_ENTIRE_MESSAGE
#define WSK_FLAG_ENTIRE_MESSAGE 0x00000004
#endif
#ifndef WSK_FLAG_ABORTIVE
#define WSK_FLAG_ABORTIVE 0x00000001  // also WskDisconnect. Ref: nc-wsk-pfn_wsk_disconnect.md
#endif

// Send flags. Ref: nc-wsk-pfn_wsk_send.md
#ifndef WSK_FLAG_NODELAY
#define WSK_FLAG_NODELAY 0x00000002
#endif
// Receive flags. Ref: nc-wsk-pfn_wsk_receive.md
#ifndef WSK_FLAG_WAITALL
#define WSK_FLAG_WAITALL 0x00000002
#endif
#ifndef WSK_FLAG_DRAIN
#define WSK_FLAG_DRAIN 0x00000004
#endif

// Socket category flags (Wine has these; kept for completeness).
// Ref: nc-wsk-pfn_wsk_socket.md, wsk-guide/winsock-kernel-socket-categories.md
#ifndef WSK_FLAG_BASIC_SOCKET
#define WSK_FLAG_BASIC_SOCKET 0x00000000
#endif
#ifndef WSK_FLAG_LISTEN_SOCKET
#define WSK_FLAG_LISTEN_SOCKET 0x00000001
#endif
#ifndef WSK_FLAG_CONNECTION_SOCKET
#define WSK_FLAG_CONNECTION_SOCKET 0x00000002
#endif
#ifndef WSK_FLAG_DATAGRAM_SOCKET
#define WSK_FLAG_DATAGRAM_SOCKET 0x00000004
#endif
#ifndef WSK_FLAG_STREAM_SOCKET
#define WSK_FLAG_STREAM_SOCKET 0x00000008
#endif

// WskControlClient control codes. Ref: nc-wsk-pfn_wsk_control_client.md,
// wsk-guide/wsk-client-control-operations.md and the per-code pages there.
#ifndef WSK_TRANSPORT_LIST_QUERY
#define WSK_TRANSPORT_LIST_QUERY 2
#endif
#ifndef WSK_TRANSPORT_LIST_CHANGE
#define WSK_TRANSPORT_LIST_CHANGE 3
#endif
#ifndef WSK_CACHE_SD
#define WSK_CACHE_SD 4
#endif
#ifndef WSK_RELEASE_SD
#define WSK_RELEASE_SD 5
#endif
#ifndef WSK_TDI_DEVICENAME_MAPPING
#define WSK_TDI_DEVICENAME_MAPPING 6
#endif
#ifndef WSK_SET_STATIC_EVENT_CALLBACKS
#define WSK_SET_STATIC_EVENT_CALLBACKS 7
#endif
#ifndef WSK_TDI_BEHAVIOR
#define WSK_TDI_BEHAVIOR 8
#endif
#ifndef WSK_TDI_BEHAVIOR_BYPASS_TDI
#define WSK_TDI_BEHAVIOR_BYPASS_TDI 0x00000001
#endif

// WSK socket options (SOL_SOCKET level). WSK_SO_BASE is from ws2def.h.
// Ref: wsk-guide/wsk-socket-options.md, so-wsk-event-callback.md, so-wsk-security.md
#ifndef WSK_SO_BASE
#define WSK_SO_BASE 0x4000
#endif
#ifndef SO_WSK_SECURITY
#define SO_WSK_SECURITY (WSK_SO_BASE + 1)
#endif
#ifndef SO_WSK_EVENT_CALLBACK
#define SO_WSK_EVENT_CALLBACK (WSK_SO_BASE + 2)
#endif

// Event masks for SO_WSK_EVENT_CALLBACK. Ref: wsk-guide/so-wsk-event-callback.md,
// ns-wsk-_wsk_event_callback_control.md
#ifndef WSK_EVENT_RECEIVE_FROM
#define WSK_EVENT_RECEIVE_FROM 0x00000100  // datagram sockets
#endif
#ifndef WSK_EVENT_ACCEPT
#define WSK_EVENT_ACCEPT 0x00000200  // listening sockets
#endif
#ifndef WSK_EVENT_SEND_BACKLOG
#define WSK_EVENT_SEND_BACKLOG 0x00000010  // connection-oriented sockets
#endif
#ifndef WSK_EVENT_RECEIVE
#define WSK_EVENT_RECEIVE 0x00000040  // connection-oriented sockets
#endif
#ifndef WSK_EVENT_DISCONNECT
#define WSK_EVENT_DISCONNECT 0x00000080  // connection-oriented sockets
#endif
#ifndef WSK_EVENT_DISABLE
#define WSK_EVENT_DISABLE 0x80000000
#endif

// WSK socket IOCTLs (WskControlSocket, WskIoctl). IOC_WSK is from ws2def.h.
// Ref: wsk-guide/wsk-socket-ioctl-operations.md and sio-wsk-*.md
#ifndef IOC_WSK
#define IOC_WSK (IOC_WS2 | 0x07000000)
#endif
#ifndef SIO_WSK_SET_REMOTE_ADDRESS
#define SIO_WSK_SET_REMOTE_ADDRESS _WSAIOW(IOC_WSK, 0x1)
#endif
#ifndef SIO_WSK_REGISTER_EXTENSION
#define SIO_WSK_REGISTER_EXTENSION _WSAIORW(IOC_WSK, 0x2)
#endif
#ifndef SIO_WSK_QUERY_IDEAL_SEND_BACKLOG
#define SIO_WSK_QUERY_IDEAL_SEND_BACKLOG _WSAIOR(IOC_WSK, 0x3)
#endif
#ifndef SIO_WSK_QUERY_RECEIVE_BACKLOG
#define SIO_WSK_QUERY_RECEIVE_BACKLOG _WSAIOR(IOC_WSK, 0x4)
#endif
#ifndef SIO_WSK_QUERY_INSPECT_ID
#define SIO_WSK_QUERY_INSPECT_ID _WSAIOR(IOC_WSK, 0x5)
#endif
#ifndef SIO_WSK_SET_SENDTO_ADDRESS
#define SIO_WSK_SET_SENDTO_ADDRESS _WSAIOW(IOC_WSK, 0x6)
#endif
#ifndef SIO_WSK_SET_TCP_SILENT_MODE
#define SIO_WSK_SET_TCP_SILENT_MODE _WSAIO(IOC_WSK, 0x7)
#endif

// getaddrinfo / getnameinfo flags (ws2def.h in the WDK; Wine has them only in
// ws2tcpip.h, which a driver does not include). Ref: nc-wsk-pfn_wsk_get_address_info.md,
// nc-wsk-pfn_wsk_get_name_info.md
#ifndef AI_PASSIVE
#define AI_PASSIVE 0x00000001
#endif
#ifndef AI_CANONNAME
#define AI_CANONNAME 0x00000002
#endif
#ifndef AI_NUMERICHOST
#define AI_NUMERICHOST 0x00000004
#endif
#ifndef NI_NUMERICHOST
#define NI_NUMERICHOST 0x00000002
#endif
#ifndef NI_NUMERICSERV
#define NI_NUMERICSERV 0x00000008
#endif

// WskReceiveFrom control flag: the datagram was truncated (ws2def.h).
// Ref: nc-wsk-pfn_wsk_receive_from.md
#ifndef MSG_TRUNC
#define MSG_TRUNC 0x0100
#endif

// IRQL annotations (sal.h / driverspecs.h in the WDK; absent from Wine's headers).
#ifndef _IRQL_requires_max_
#define _IRQL_requires_max_(irql)
#endif
#ifndef _IRQL_requires_
#define _IRQL_requires_(irql)
#endif
#ifndef PASSIVE_LEVEL
#define PASSIVE_LEVEL 0
#endif
#ifndef DISPATCH_LEVEL
#define DISPATCH_LEVEL 2
#endif

// ---------------------------------------------------------------------------
// Types and functions (only when Wine's ddk/wsk.h is the one in use)
// ---------------------------------------------------------------------------
#if XWSK_WSK_H_IS_WINE

#ifdef __cplusplus
extern "C" {
#endif

// NPI identifier (a GUID); netioddk.h in the WDK, absent from Wine.
typedef GUID NPIID;
typedef NPIID* PNPIID;

// The WSK NPI identifier, used in WSK_EVENT_CALLBACK_CONTROL::NpiId.
// Ref: wsk-guide/so-wsk-event-callback.md. The WDK resolves it from netio;
// Wine's netio does not export it, so xwsk defines its own copy in
// backends/wsk (value {2227E803-8D8B-11D4-ABAD-009027719E09}).
extern const NPIID NPI_WSK_INTERFACE_ID;

// Ref: ns-wsk-_wsk_provider_characteristics.md
typedef struct _WSK_PROVIDER_CHARACTERISTICS {
  USHORT HighestVersion;
  USHORT LowestVersion;
} WSK_PROVIDER_CHARACTERISTICS, *PWSK_PROVIDER_CHARACTERISTICS;

// Ref: ns-wsk-_wsk_transport.md (WSK_TRANSPORT_LIST_QUERY output element)
typedef struct _WSK_TRANSPORT {
  USHORT Version;
  USHORT SocketType;
  ULONG Protocol;
  ADDRESS_FAMILY AddressFamily;
  GUID ProviderId;
} WSK_TRANSPORT, *PWSK_TRANSPORT;

// Ref: ns-wsk-_wsk_event_callback_control.md
typedef struct _WSK_EVENT_CALLBACK_CONTROL {
  PNPIID NpiId;
  ULONG EventMask;
} WSK_EVENT_CALLBACK_CONTROL, *PWSK_EVENT_CALLBACK_CONTROL;

// Ref: ns-wsk-_wsk_extension_control_in.md
typedef struct _WSK_EXTENSION_CONTROL_IN {
  PNPIID NpiId;
  PVOID ClientContext;
  const VOID* ClientDispatch;
} WSK_EXTENSION_CONTROL_IN, *PWSK_EXTENSION_CONTROL_IN;

// Ref: ns-wsk-_wsk_extension_control_out.md
typedef struct _WSK_EXTENSION_CONTROL_OUT {
  PVOID ProviderContext;
  const VOID* ProviderDispatch;
} WSK_EXTENSION_CONTROL_OUT, *PWSK_EXTENSION_CONTROL_OUT;

// Ref: ns-wsk-_wsk_tdi_map.md
typedef struct _WSK_TDI_MAP {
  USHORT SocketType;
  ADDRESS_FAMILY AddressFamily;
  ULONG Protocol;
  PCWSTR TdiDeviceName;
} WSK_TDI_MAP, *PWSK_TDI_MAP;

// Ref: ns-wsk-_wsk_tdi_map_info.md
typedef struct _WSK_TDI_MAP_INFO {
  const ULONG ElementCount;
  const WSK_TDI_MAP* Map;
} WSK_TDI_MAP_INFO, *PWSK_TDI_MAP_INFO;

// Ref: nc-wsk-pfn_wsk_receive_from_event.md
typedef NTSTATUS(WINAPI* PFN_WSK_RECEIVE_FROM_EVENT)(PVOID SocketContext, ULONG Flags,
                                                     PWSK_DATAGRAM_INDICATION DataIndication);

// Ref: ns-wsk-_wsk_client_datagram_dispatch.md
typedef struct _WSK_CLIENT_DATAGRAM_DISPATCH {
  PFN_WSK_RECEIVE_FROM_EVENT WskReceiveFromEvent;
} WSK_CLIENT_DATAGRAM_DISPATCH, *PWSK_CLIENT_DATAGRAM_DISPATCH;

// Ref: ns-wsk-_wsk_client_stream_dispatch.md
typedef struct _WSK_CLIENT_STREAM_DISPATCH {
  const WSK_CLIENT_LISTEN_DISPATCH* Listen;
  const WSK_CLIENT_CONNECTION_DISPATCH* Connect;
} WSK_CLIENT_STREAM_DISPATCH, *PWSK_CLIENT_STREAM_DISPATCH;

// Ref: nf-wsk-wskqueryprovidercharacteristics.md.
// Declared only: Wine 8's netio.sys does not export it (calling it from a
// driver makes the driver fail to load under Wine).
NTSTATUS WINAPI WskQueryProviderCharacteristics(
    PWSK_REGISTRATION WskRegistration, PWSK_PROVIDER_CHARACTERISTICS WskProviderCharacteristics);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // XWSK_WSK_H_IS_WINE

#endif  // XWSK_BACKENDS_WSK_WSK_MISSING_H_
