/* SPDX-License-Identifier: MIT */
/**
 * @file wsk.h
 * @brief umwsk: the Winsock Kernel (WSK) interface for WSK clients built on Linux against the
 * user-mode WSK provider (libxwsk_umwsk).
 *
 * Written for xwsk from Microsoft's published WSK reference (the wsk.h structures, callback
 * types and functions, their parameters and IRQL rules) and the WSK programming guide (control
 * codes, socket options, ioctls). Names, member order and values are Windows'; the sizes are
 * those of LP64 Linux with ULONG 32 bits and SIZE_T 64 bits (ntdef.h). The five functions and
 * NPI_WSK_INTERFACE_ID are exported by libxwsk_umwsk with C linkage.
 *
 * Include order as with the WDK: ntddk.h (or wdm.h), then wsk.h. This header pulls in wdm.h,
 * ws2def.h and ws2ipdef.h itself.
 */
#ifndef _WSK_
#define _WSK_

#include <wdm.h>
#include <ws2def.h>
#include <ws2ipdef.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NTAPI
#define NTAPI
#endif
#ifndef WSKAPI
#define WSKAPI NTAPI
#endif
/** Marks the functions and data exported by libxwsk_umwsk (C linkage from the block above). */
#ifndef UMWSK_PROVIDER_API
#define UMWSK_PROVIDER_API __attribute__((visibility("default")))
#endif

/* ---- NPI identifiers (netioddk.h on Windows) ----------------------------------------------- */

#ifndef _NPIID_DEFINED_
#define _NPIID_DEFINED_
typedef GUID NPIID;
typedef NPIID* PNPIID;
#endif

/** The WSK NPI identifier {2227E803-8D8B-11D4-ABAD-009027719E09} (WSK_EVENT_CALLBACK_CONTROL). */
extern UMWSK_PROVIDER_API const NPIID NPI_WSK_INTERFACE_ID;

/* ---- versions ------------------------------------------------------------------------------- */

#define MAKE_WSK_VERSION(Mj, Mn) ((USHORT)((Mj) << 8) | (USHORT)((Mn)&0xff))
#define WSK_MAJOR_VERSION(V) ((UCHAR)((V) >> 8))
#define WSK_MINOR_VERSION(V) ((UCHAR)(V))

/** WskCaptureProviderNPI WaitTimeout values (milliseconds otherwise). */
#define WSK_NO_WAIT 0
#define WSK_INFINITE_WAIT 0xffffffff

/* ---- flags ---------------------------------------------------------------------------------- */

/* WskSocket Flags: the socket category. */
#define WSK_FLAG_BASIC_SOCKET 0x00000000
#define WSK_FLAG_LISTEN_SOCKET 0x00000001
#define WSK_FLAG_CONNECTION_SOCKET 0x00000002
#define WSK_FLAG_DATAGRAM_SOCKET 0x00000004
#define WSK_FLAG_STREAM_SOCKET 0x00000008

/* Event callback Flags. */
#define WSK_FLAG_AT_DISPATCH_LEVEL 0x00000008
#define WSK_FLAG_RELEASE_ASAP 0x00000002
#define WSK_FLAG_ENTIRE_MESSAGE 0x00000004

/* WskDisconnect Flags, and WskDisconnectEvent Flags (the peer reset the connection). */
#define WSK_FLAG_ABORTIVE 0x00000001

/* WskSend Flags. */
#define WSK_FLAG_NODELAY 0x00000002
/* WskReceive Flags. */
#define WSK_FLAG_WAITALL 0x00000002
#define WSK_FLAG_DRAIN 0x00000004

/* ---- event masks (SO_WSK_EVENT_CALLBACK, WSK_SET_STATIC_EVENT_CALLBACKS) -------------------- */

#define WSK_EVENT_RECEIVE_FROM 0x00000100 /* datagram sockets */
#define WSK_EVENT_ACCEPT 0x00000200       /* listening sockets */
#define WSK_EVENT_SEND_BACKLOG 0x00000010 /* connection-oriented sockets */
#define WSK_EVENT_RECEIVE 0x00000040      /* connection-oriented sockets */
#define WSK_EVENT_DISCONNECT 0x00000080   /* connection-oriented sockets */
#define WSK_EVENT_DISABLE 0x80000000      /* with exactly one of the above */

/* ---- WSK socket options (SOL_SOCKET level) and ioctls --------------------------------------- */

#define SO_WSK_SECURITY (WSK_SO_BASE + 1)
#define SO_WSK_EVENT_CALLBACK (WSK_SO_BASE + 2)

#define SIO_WSK_SET_REMOTE_ADDRESS _WSAIOW(IOC_WSK, 0x1)
#define SIO_WSK_REGISTER_EXTENSION _WSAIORW(IOC_WSK, 0x2)
#define SIO_WSK_QUERY_IDEAL_SEND_BACKLOG _WSAIOR(IOC_WSK, 0x3)
#define SIO_WSK_QUERY_RECEIVE_BACKLOG _WSAIOR(IOC_WSK, 0x4)
#define SIO_WSK_QUERY_INSPECT_ID _WSAIOR(IOC_WSK, 0x5)
#define SIO_WSK_SET_SENDTO_ADDRESS _WSAIOW(IOC_WSK, 0x6)
#define SIO_WSK_SET_TCP_SILENT_MODE _WSAIO(IOC_WSK, 0x7)

/* ---- WskControlClient control codes --------------------------------------------------------- */

#define WSK_TRANSPORT_LIST_QUERY 2
#define WSK_TRANSPORT_LIST_CHANGE 3
#define WSK_CACHE_SD 4
#define WSK_RELEASE_SD 5
#define WSK_TDI_DEVICENAME_MAPPING 6
#define WSK_SET_STATIC_EVENT_CALLBACKS 7
#define WSK_TDI_BEHAVIOR 8
#define WSK_TDI_BEHAVIOR_BYPASS_TDI 0x00000001

/* ---- objects -------------------------------------------------------------------------------- */

/** WSK_CLIENT: the provider's opaque handle of a registered client. */
typedef VOID WSK_CLIENT, *PWSK_CLIENT;

/** WSK_SOCKET: the socket object; Dispatch points to the provider table of its category. */
typedef struct _WSK_SOCKET {
  const VOID* Dispatch;
} WSK_SOCKET, *PWSK_SOCKET;

/** WSK_BUF: Length bytes starting Offset bytes into the first MDL of the chain. */
typedef struct _WSK_BUF {
  PMDL Mdl;
  ULONG Offset;
  SIZE_T Length;
} WSK_BUF, *PWSK_BUF;

/** WSK_BUF_LIST: one datagram per element (WskSendMessages). */
typedef struct _WSK_BUF_LIST {
  struct _WSK_BUF_LIST* Next;
  WSK_BUF Buffer;
} WSK_BUF_LIST, *PWSK_BUF_LIST;

/** WSK_DATA_INDICATION: received stream data (WskReceiveEvent). */
typedef struct _WSK_DATA_INDICATION {
  struct _WSK_DATA_INDICATION* Next;
  WSK_BUF Buffer;
} WSK_DATA_INDICATION, *PWSK_DATA_INDICATION;

/** WSK_DATAGRAM_INDICATION: one received datagram (WskReceiveFromEvent). */
typedef struct _WSK_DATAGRAM_INDICATION {
  struct _WSK_DATAGRAM_INDICATION* Next;
  WSK_BUF Buffer;
  PCMSGHDR ControlInfo;
  ULONG ControlInfoLength;
  PSOCKADDR RemoteAddress;
} WSK_DATAGRAM_INDICATION, *PWSK_DATAGRAM_INDICATION;

/** WSK_INSPECT_ID: identifies an incoming connection under conditional accept. */
typedef struct _WSK_INSPECT_ID {
  ULONG_PTR Key;
  ULONG SerialNumber;
} WSK_INSPECT_ID, *PWSK_INSPECT_ID;

typedef enum {
  WskInspectReject,
  WskInspectAccept,
  WskInspectPend,
  WskInspectMax
} WSK_INSPECT_ACTION,
    *PWSK_INSPECT_ACTION;

/** WSK_EVENT_CALLBACK_CONTROL: SO_WSK_EVENT_CALLBACK / WSK_SET_STATIC_EVENT_CALLBACKS input. */
typedef struct _WSK_EVENT_CALLBACK_CONTROL {
  PNPIID NpiId;
  ULONG EventMask;
} WSK_EVENT_CALLBACK_CONTROL, *PWSK_EVENT_CALLBACK_CONTROL;

typedef struct _WSK_EXTENSION_CONTROL_IN {
  PNPIID NpiId;
  PVOID ClientContext;
  const VOID* ClientDispatch;
} WSK_EXTENSION_CONTROL_IN, *PWSK_EXTENSION_CONTROL_IN;

typedef struct _WSK_EXTENSION_CONTROL_OUT {
  PVOID ProviderContext;
  const VOID* ProviderDispatch;
} WSK_EXTENSION_CONTROL_OUT, *PWSK_EXTENSION_CONTROL_OUT;

typedef enum {
  WskSetOption,
  WskGetOption,
  WskIoctl,
  WskControlMax
} WSK_CONTROL_SOCKET_TYPE,
    *PWSK_CONTROL_SOCKET_TYPE;

/** WSK_TRANSPORT: one element of the WSK_TRANSPORT_LIST_QUERY output. */
typedef struct _WSK_TRANSPORT {
  USHORT Version;
  USHORT SocketType;
  ULONG Protocol;
  ADDRESS_FAMILY AddressFamily;
  GUID ProviderId;
} WSK_TRANSPORT, *PWSK_TRANSPORT;

typedef struct _WSK_PROVIDER_CHARACTERISTICS {
  USHORT HighestVersion;
  USHORT LowestVersion;
} WSK_PROVIDER_CHARACTERISTICS, *PWSK_PROVIDER_CHARACTERISTICS;

typedef struct _WSK_TDI_MAP {
  USHORT SocketType;
  ADDRESS_FAMILY AddressFamily;
  ULONG Protocol;
  PCWSTR TdiDeviceName;
} WSK_TDI_MAP, *PWSK_TDI_MAP;

typedef struct _WSK_TDI_MAP_INFO {
  const ULONG ElementCount;
  const WSK_TDI_MAP* Map;
} WSK_TDI_MAP_INFO, *PWSK_TDI_MAP_INFO;

/** WSK_REGISTRATION: caller-owned, reserved for the provider. */
typedef struct _WSK_REGISTRATION {
  ULONGLONG ReservedRegistrationState;
  PVOID ReservedRegistrationContext;
  KSPIN_LOCK ReservedRegistrationLock;
} WSK_REGISTRATION, *PWSK_REGISTRATION;

/* ---- client event callbacks ----------------------------------------------------------------- */

typedef NTSTATUS(WSKAPI* PFN_WSK_CLIENT_EVENT)(PVOID ClientContext, ULONG EventType,
                                               PVOID Information, SIZE_T InformationLength);

typedef struct _WSK_CLIENT_CONNECTION_DISPATCH WSK_CLIENT_CONNECTION_DISPATCH,
    *PWSK_CLIENT_CONNECTION_DISPATCH;

typedef NTSTATUS(WSKAPI* PFN_WSK_ACCEPT_EVENT)(
    PVOID SocketContext, ULONG Flags, PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress,
    PWSK_SOCKET AcceptSocket, PVOID* AcceptSocketContext,
    const WSK_CLIENT_CONNECTION_DISPATCH** AcceptSocketDispatch);

typedef WSK_INSPECT_ACTION(WSKAPI* PFN_WSK_INSPECT_EVENT)(PVOID SocketContext,
                                                          PSOCKADDR LocalAddress,
                                                          PSOCKADDR RemoteAddress,
                                                          PWSK_INSPECT_ID InspectID);

typedef NTSTATUS(WSKAPI* PFN_WSK_ABORT_EVENT)(PVOID SocketContext, PWSK_INSPECT_ID InspectID);

typedef NTSTATUS(WSKAPI* PFN_WSK_RECEIVE_FROM_EVENT)(PVOID SocketContext, ULONG Flags,
                                                     PWSK_DATAGRAM_INDICATION DataIndication);

typedef NTSTATUS(WSKAPI* PFN_WSK_RECEIVE_EVENT)(PVOID SocketContext, ULONG Flags,
                                                PWSK_DATA_INDICATION DataIndication,
                                                SIZE_T BytesIndicated, SIZE_T* BytesAccepted);

typedef NTSTATUS(WSKAPI* PFN_WSK_DISCONNECT_EVENT)(PVOID SocketContext, ULONG Flags);

typedef NTSTATUS(WSKAPI* PFN_WSK_SEND_BACKLOG_EVENT)(PVOID SocketContext, SIZE_T IdealBacklogSize);

/* ---- client dispatch tables ----------------------------------------------------------------- */

typedef struct _WSK_CLIENT_DISPATCH {
  USHORT Version;
  USHORT Reserved;
  PFN_WSK_CLIENT_EVENT WskClientEvent;
} WSK_CLIENT_DISPATCH, *PWSK_CLIENT_DISPATCH;

typedef struct _WSK_CLIENT_LISTEN_DISPATCH {
  PFN_WSK_ACCEPT_EVENT WskAcceptEvent;
  PFN_WSK_INSPECT_EVENT WskInspectEvent;
  PFN_WSK_ABORT_EVENT WskAbortEvent;
} WSK_CLIENT_LISTEN_DISPATCH, *PWSK_CLIENT_LISTEN_DISPATCH;

typedef struct _WSK_CLIENT_DATAGRAM_DISPATCH {
  PFN_WSK_RECEIVE_FROM_EVENT WskReceiveFromEvent;
} WSK_CLIENT_DATAGRAM_DISPATCH, *PWSK_CLIENT_DATAGRAM_DISPATCH;

struct _WSK_CLIENT_CONNECTION_DISPATCH {
  PFN_WSK_RECEIVE_EVENT WskReceiveEvent;
  PFN_WSK_DISCONNECT_EVENT WskDisconnectEvent;
  PFN_WSK_SEND_BACKLOG_EVENT WskSendBacklogEvent;
};

typedef struct _WSK_CLIENT_STREAM_DISPATCH {
  const WSK_CLIENT_LISTEN_DISPATCH* Listen;
  const WSK_CLIENT_CONNECTION_DISPATCH* Connect;
} WSK_CLIENT_STREAM_DISPATCH, *PWSK_CLIENT_STREAM_DISPATCH;

typedef struct _WSK_CLIENT_NPI {
  PVOID ClientContext;
  const WSK_CLIENT_DISPATCH* Dispatch;
} WSK_CLIENT_NPI, *PWSK_CLIENT_NPI;

/* ---- provider functions (WSK_PROVIDER_DISPATCH) --------------------------------------------- */

typedef NTSTATUS(WSKAPI* PFN_WSK_SOCKET)(PWSK_CLIENT Client, ADDRESS_FAMILY AddressFamily,
                                         USHORT SocketType, ULONG Protocol, ULONG Flags,
                                         PVOID SocketContext, const VOID* Dispatch,
                                         PEPROCESS OwningProcess, PETHREAD OwningThread,
                                         PSECURITY_DESCRIPTOR SecurityDescriptor, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_SOCKET_CONNECT)(PWSK_CLIENT Client, USHORT SocketType,
                                                 ULONG Protocol, PSOCKADDR LocalAddress,
                                                 PSOCKADDR RemoteAddress, ULONG Flags,
                                                 PVOID SocketContext,
                                                 const WSK_CLIENT_CONNECTION_DISPATCH* Dispatch,
                                                 PEPROCESS OwningProcess, PETHREAD OwningThread,
                                                 PSECURITY_DESCRIPTOR SecurityDescriptor, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_CONTROL_CLIENT)(PWSK_CLIENT Client, ULONG ControlCode,
                                                 SIZE_T InputSize, PVOID InputBuffer,
                                                 SIZE_T OutputSize, PVOID OutputBuffer,
                                                 SIZE_T* OutputSizeReturned, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_GET_ADDRESS_INFO)(PWSK_CLIENT Client, PUNICODE_STRING NodeName,
                                                   PUNICODE_STRING ServiceName, ULONG NameSpace,
                                                   GUID* Provider, PADDRINFOEXW Hints,
                                                   PADDRINFOEXW* Result, PEPROCESS OwningProcess,
                                                   PETHREAD OwningThread, PIRP Irp);

typedef VOID(WSKAPI* PFN_WSK_FREE_ADDRESS_INFO)(PWSK_CLIENT Client, PADDRINFOEXW AddrInfo);

typedef NTSTATUS(WSKAPI* PFN_WSK_GET_NAME_INFO)(PWSK_CLIENT Client, PSOCKADDR SockAddr,
                                                ULONG SockAddrLength, PUNICODE_STRING NodeName,
                                                PUNICODE_STRING ServiceName, ULONG Flags,
                                                PEPROCESS OwningProcess, PETHREAD OwningThread,
                                                PIRP Irp);

/* ---- socket functions ----------------------------------------------------------------------- */

typedef NTSTATUS(WSKAPI* PFN_WSK_CONTROL_SOCKET)(PWSK_SOCKET Socket,
                                                 WSK_CONTROL_SOCKET_TYPE RequestType,
                                                 ULONG ControlCode, ULONG Level, SIZE_T InputSize,
                                                 PVOID InputBuffer, SIZE_T OutputSize,
                                                 PVOID OutputBuffer, SIZE_T* OutputSizeReturned,
                                                 PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_CLOSE_SOCKET)(PWSK_SOCKET Socket, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_BIND)(PWSK_SOCKET Socket, PSOCKADDR LocalAddress, ULONG Flags,
                                       PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_LISTEN)(PWSK_SOCKET Socket, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_ACCEPT)(PWSK_SOCKET ListenSocket, ULONG Flags,
                                         PVOID AcceptSocketContext,
                                         const WSK_CLIENT_CONNECTION_DISPATCH* AcceptSocketDispatch,
                                         PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_INSPECT_COMPLETE)(PWSK_SOCKET ListenSocket,
                                                   PWSK_INSPECT_ID InspectID,
                                                   WSK_INSPECT_ACTION Action, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_GET_LOCAL_ADDRESS)(PWSK_SOCKET Socket, PSOCKADDR LocalAddress,
                                                    PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_GET_REMOTE_ADDRESS)(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress,
                                                     PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_CONNECT)(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress, ULONG Flags,
                                          PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_CONNECT_EX)(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress,
                                             PWSK_BUF Buffer, ULONG Flags, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_SEND)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_RECEIVE)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                                          PIRP Irp);

/** Reserved members of the connection and stream tables (not implemented: never called). */
typedef NTSTATUS(WSKAPI* PFN_WSK_SEND_EX)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                                          ULONG ControlInfoLength, PCMSGHDR ControlInfo, PIRP Irp);
typedef NTSTATUS(WSKAPI* PFN_WSK_RECEIVE_EX)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                                             PULONG ControlInfoLength, PCMSGHDR ControlInfo,
                                             PULONG ControlFlags, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_DISCONNECT)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                                             PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_RELEASE_DATA_INDICATION_LIST)(PWSK_SOCKET Socket,
                                                               PWSK_DATA_INDICATION DataIndication);

typedef NTSTATUS(WSKAPI* PFN_WSK_SEND_TO)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                                          PSOCKADDR RemoteAddress, ULONG ControlInfoLength,
                                          PCMSGHDR ControlInfo, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_RECEIVE_FROM)(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                                               PSOCKADDR RemoteAddress, PULONG ControlLength,
                                               PCMSGHDR ControlInfo, PULONG ControlFlags, PIRP Irp);

typedef NTSTATUS(WSKAPI* PFN_WSK_RELEASE_DATAGRAM_INDICATION_LIST)(
    PWSK_SOCKET Socket, PWSK_DATAGRAM_INDICATION DatagramIndication);

typedef NTSTATUS(WSKAPI* PFN_WSK_SEND_MESSAGES)(PWSK_SOCKET Socket, PWSK_BUF_LIST BufferList,
                                                ULONG Flags, PSOCKADDR RemoteAddress,
                                                ULONG ControlInfoLength, PCMSGHDR ControlInfo,
                                                PIRP Irp);

/* ---- provider dispatch tables --------------------------------------------------------------- */

typedef struct _WSK_PROVIDER_DISPATCH {
  USHORT Version;
  USHORT Reserved;
  PFN_WSK_SOCKET WskSocket;
  PFN_WSK_SOCKET_CONNECT WskSocketConnect;
  PFN_WSK_CONTROL_CLIENT WskControlClient;
  PFN_WSK_GET_ADDRESS_INFO WskGetAddressInfo;
  PFN_WSK_FREE_ADDRESS_INFO WskFreeAddressInfo;
  PFN_WSK_GET_NAME_INFO WskGetNameInfo;
} WSK_PROVIDER_DISPATCH, *PWSK_PROVIDER_DISPATCH;

typedef struct _WSK_PROVIDER_BASIC_DISPATCH {
  PFN_WSK_CONTROL_SOCKET WskControlSocket;
  PFN_WSK_CLOSE_SOCKET WskCloseSocket;
} WSK_PROVIDER_BASIC_DISPATCH, *PWSK_PROVIDER_BASIC_DISPATCH;

/* The category tables begin with the basic table: C++ names it Basic (C has it unnamed on
 * Windows; here it is named Basic in both, since C11 anonymous members need the tag). */
typedef struct _WSK_PROVIDER_LISTEN_DISPATCH {
  WSK_PROVIDER_BASIC_DISPATCH Basic;
  PFN_WSK_BIND WskBind;
  PFN_WSK_ACCEPT WskAccept;
  PFN_WSK_INSPECT_COMPLETE WskInspectComplete;
  PFN_WSK_GET_LOCAL_ADDRESS WskGetLocalAddress;
} WSK_PROVIDER_LISTEN_DISPATCH, *PWSK_PROVIDER_LISTEN_DISPATCH;

typedef struct _WSK_PROVIDER_DATAGRAM_DISPATCH {
  WSK_PROVIDER_BASIC_DISPATCH Basic;
  PFN_WSK_BIND WskBind;
  PFN_WSK_SEND_TO WskSendTo;
  PFN_WSK_RECEIVE_FROM WskReceiveFrom;
  PFN_WSK_RELEASE_DATAGRAM_INDICATION_LIST WskRelease;
  PFN_WSK_GET_LOCAL_ADDRESS WskGetLocalAddress;
  PFN_WSK_SEND_MESSAGES WskSendMessages;
} WSK_PROVIDER_DATAGRAM_DISPATCH, *PWSK_PROVIDER_DATAGRAM_DISPATCH;

typedef struct _WSK_PROVIDER_CONNECTION_DISPATCH {
  WSK_PROVIDER_BASIC_DISPATCH Basic;
  PFN_WSK_BIND WskBind;
  PFN_WSK_CONNECT WskConnect;
  PFN_WSK_GET_LOCAL_ADDRESS WskGetLocalAddress;
  PFN_WSK_GET_REMOTE_ADDRESS WskGetRemoteAddress;
  PFN_WSK_SEND WskSend;
  PFN_WSK_RECEIVE WskReceive;
  PFN_WSK_DISCONNECT WskDisconnect;
  PFN_WSK_RELEASE_DATA_INDICATION_LIST WskRelease;
  PFN_WSK_CONNECT_EX WskConnectEx;
  PFN_WSK_SEND_EX WskSendEx;
  PFN_WSK_RECEIVE_EX WskReceiveEx;
} WSK_PROVIDER_CONNECTION_DISPATCH, *PWSK_PROVIDER_CONNECTION_DISPATCH;

typedef struct _WSK_PROVIDER_STREAM_DISPATCH {
  WSK_PROVIDER_BASIC_DISPATCH Basic;
  PFN_WSK_BIND WskBind;
  PFN_WSK_ACCEPT WskAccept;
  PFN_WSK_CONNECT WskConnect;
  PFN_WSK_LISTEN WskListen;
  PFN_WSK_SEND WskSend;
  PFN_WSK_RECEIVE WskReceive;
  PFN_WSK_DISCONNECT WskDisconnect;
  PFN_WSK_RELEASE_DATA_INDICATION_LIST WskRelease;
  PFN_WSK_GET_LOCAL_ADDRESS WskGetLocalAddress;
  PFN_WSK_GET_REMOTE_ADDRESS WskGetRemoteAddress;
  PFN_WSK_CONNECT_EX WskConnectEx;
  PFN_WSK_SEND_EX WskSendEx;
  PFN_WSK_RECEIVE_EX WskReceiveEx;
} WSK_PROVIDER_STREAM_DISPATCH, *PWSK_PROVIDER_STREAM_DISPATCH;

typedef struct _WSK_PROVIDER_NPI {
  PWSK_CLIENT Client;
  const WSK_PROVIDER_DISPATCH* Dispatch;
} WSK_PROVIDER_NPI, *PWSK_PROVIDER_NPI;

/* ---- registration (exported by libxwsk_umwsk) ----------------------------------------------- */

/** PASSIVE_LEVEL. Registers a WSK client; one WskDeregister per success. */
UMWSK_PROVIDER_API NTSTATUS WSKAPI WskRegister(PWSK_CLIENT_NPI WskClientNpi,
                                               PWSK_REGISTRATION WskRegistration);

/** PASSIVE_LEVEL (<= DISPATCH_LEVEL with WSK_NO_WAIT). One WskReleaseProviderNPI per success. */
UMWSK_PROVIDER_API NTSTATUS WSKAPI WskCaptureProviderNPI(PWSK_REGISTRATION WskRegistration,
                                                         ULONG WaitTimeout,
                                                         PWSK_PROVIDER_NPI WskProviderNpi);

/** <= DISPATCH_LEVEL. */
UMWSK_PROVIDER_API VOID WSKAPI WskReleaseProviderNPI(PWSK_REGISTRATION WskRegistration);

/** <= DISPATCH_LEVEL. */
UMWSK_PROVIDER_API NTSTATUS WSKAPI WskQueryProviderCharacteristics(
    PWSK_REGISTRATION WskRegistration, PWSK_PROVIDER_CHARACTERISTICS WskProviderCharacteristics);

/** PASSIVE_LEVEL. Waits until every capture is released and every socket closed. */
UMWSK_PROVIDER_API VOID WSKAPI WskDeregister(PWSK_REGISTRATION WskRegistration);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* _WSK_ */
