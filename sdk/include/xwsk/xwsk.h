// SPDX-License-Identifier: MIT
/// @file xwsk.h
/// @brief The xwsk API: the Winsock Kernel (WSK) contract, one-to-one, in C++.
///
/// This is the one public header to include. It declares no backend: the backend is chosen at
/// build time by linking exactly one backend library (xwsk::posix, xwsk::posix_poll, xwsk::uv,
/// or the WSK driver build). See docs/architecture.md and docs/wsk-mapping.md.
///
/// ## The request (the IRP's role)
/// Every operation takes a caller-owned Request. The call returns either Status::Pending or the
/// final status. For every call that *accepted* the request, the completion routine runs exactly
/// once, with request->status and request->information set; it may run before the call returns
/// (on the calling thread) or later (on a backend thread). A call that rejects its arguments
/// before accepting the request returns the error and leaves the request untouched; its
/// completion routine does not run. A request may be reused once its completion routine has run.
///
/// ## Threading (docs/threading.md is the full contract)
/// - Any call may be made from any thread, including from completion routines and event
///   callbacks. No lock of the backend is held while a routine or callback runs.
/// - Event callbacks for one socket are delivered serially, never concurrently.
/// - deregister_client() waits; do not call it from a completion routine or event callback.
///
/// ## Kernel-capable
/// Nothing here throws, uses RTTI or std::function, or allocates except through the allocator
/// hook (set_allocator) or segment_init().
#ifndef XWSK_XWSK_H_
#define XWSK_XWSK_H_

#include <stddef.h>
#include <stdint.h>

#include "xwsk/status.h"
#include "xwsk/types.h"

namespace xwsk {

struct Request;
struct Client;  ///< WSK_CLIENT: the provider-side handle of a registered client (opaque).
struct Socket;  ///< WSK_SOCKET: a socket (opaque; only its category's operations apply).

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// Completion routine (IoCompletion). Runs exactly once per accepted call. The request's status
/// and information are final when it runs. It may reuse or free the request.
using CompletionRoutine = void (*)(Request* request, void* context);

namespace detail {
/// Storage the API and the backend use while a request is in flight. Do not touch.
struct RequestPrivate {
  Request* next;   ///< Queue link (owned by the backend while pending).
  Socket* socket;  ///< Target socket, or null for client-level operations.
  /// The operation's own function (backend-private): the backend's loop runs a request handed
  /// over from another thread by calling it, so no central switch knows every operation.
  Status (*run)(Request* req);
  uint32_t state;                          ///< 0 idle, else in flight (owned by the API layer).
  alignas(16) unsigned char backend[160];  ///< Backend-private operation state.
};
}  // namespace detail

/// The caller-owned request: the IRP's role. Initialize it with request_init() before its first
/// use and release it with request_free() after its last completion.
struct Request {
  Status status;  ///< IoStatus.Status: final once the completion routine runs.
  /// Core-private (what the core notes when the request completes); do not touch. It fills the
  /// alignment gap before `information`, so the request is no larger for it on 64-bit targets.
  uint32_t core_op;
  uintptr_t information;        ///< IoStatus.Information: bytes, or a Socket*, per operation.
  CompletionRoutine routine;    ///< Set by request_init() / request_set_completion().
  void* context;                ///< The completion routine's context argument.
  detail::RequestPrivate priv;  ///< API and backend private state; do not touch.
};

/// Prepares @p req (IoAllocateIrp + IoSetCompletionRoutine on the WSK backend). @p routine must
/// not be null. Returns InvalidParameter for a null request or routine, DeviceBusy (request left
/// alone) for a request in flight, InsufficientResources if the backend cannot allocate its IRP.
/// Acceptance is atomic: when two threads hand one idle request to calls at once, exactly one
/// call accepts it and the other returns DeviceBusy.
Status request_init(Request* req, CompletionRoutine routine, void* context);

/// Changes the completion routine of an idle request (IoSetCompletionRoutine on reuse).
/// Returns DeviceBusy if the request is in flight, InvalidParameter for null arguments.
Status request_set_completion(Request* req, CompletionRoutine routine, void* context);

/// True from the moment a call accepted @p req until its completion routine starts. When the
/// routine runs the request is the caller's again (as an IRP is in its IoCompletion routine):
/// request_pending() is false there, and the routine may reuse or free the request.
bool request_pending(const Request* req);

/// Releases what request_init() allocated (IoFreeIrp). The request must be idle; a pending
/// request is left alone and DeviceBusy returned.
Status request_free(Request* req);

// ---------------------------------------------------------------------------------------------
// Client dispatch tables (event callbacks). Plain const structs of function pointers.
// ---------------------------------------------------------------------------------------------

/// WskAcceptEvent. @p accept_socket is null when the listening socket is closing. Return Success
/// to take the socket (set *accept_socket_context and *accept_dispatch) or RequestNotAccepted
/// to have it closed by the provider.
using AcceptEventFn = Status (*)(void* socket_context, uint32_t flags, const SockAddr* local,
                                 const SockAddr* remote, Socket* accept_socket,
                                 void** accept_socket_context,
                                 const struct ConnectionDispatch** accept_dispatch);
/// WskInspectEvent (conditional accept). Return Accept, Reject, or Pend (then inspect_complete).
using InspectEventFn = InspectAction (*)(void* socket_context, const SockAddr* local,
                                         const SockAddr* remote, const InspectId* inspect_id);
/// WskAbortEvent: a pended inspected connection was dropped by the peer.
using AbortEventFn = Status (*)(void* socket_context, const InspectId* inspect_id);
/// WskReceiveEvent. @p data is null when the socket is no longer usable (close it). Return
/// Success (all taken, or *bytes_accepted of them), DataNotAccepted (receive it later with
/// receive()), or Pending (the client keeps @p data and calls release_data_indications()).
using ReceiveEventFn = Status (*)(void* socket_context, uint32_t flags, DataIndication* data,
                                  size_t bytes_indicated, size_t* bytes_accepted);
/// WskDisconnectEvent. @p flags has kFlagAbortive for a reset, none for a graceful FIN.
using DisconnectEventFn = Status (*)(void* socket_context, uint32_t flags);
/// WskSendBacklogEvent: the ideal amount of send data to keep outstanding changed.
using SendBacklogEventFn = Status (*)(void* socket_context, size_t ideal_backlog_size);
/// WskReceiveFromEvent. @p datagrams is null when the socket is no longer usable. Return Success
/// (consumed), Pending (kept; release_datagram_indications()), or DataNotAccepted: the
/// datagrams are not taken, and an event enabled with SO_WSK_EVENT_CALLBACK is disabled until
/// the client enables it again (later datagrams go to receive_from()); a static event
/// (WSK_SET_STATIC_EVENT_CALLBACKS) stays enabled.
using ReceiveFromEventFn = Status (*)(void* socket_context, uint32_t flags,
                                      DatagramIndication* datagrams);
/// WskClientEvent (client-level events; none are raised by the user-space backends).
using ClientEventFn = Status (*)(void* client_context, uint32_t event_type, void* information,
                                 size_t information_length);

/// WSK_CLIENT_LISTEN_DISPATCH.
struct ListenDispatch {
  AcceptEventFn accept;    ///< WskAcceptEvent, or null.
  InspectEventFn inspect;  ///< WskInspectEvent (conditional accept), or null.
  AbortEventFn abort;      ///< WskAbortEvent (conditional accept), or null.
};
/// WSK_CLIENT_DATAGRAM_DISPATCH.
struct DatagramDispatch {
  ReceiveFromEventFn receive_from;  ///< WskReceiveFromEvent, or null.
};
/// WSK_CLIENT_CONNECTION_DISPATCH.
struct ConnectionDispatch {
  ReceiveEventFn receive;           ///< WskReceiveEvent, or null.
  DisconnectEventFn disconnect;     ///< WskDisconnectEvent, or null.
  SendBacklogEventFn send_backlog;  ///< WskSendBacklogEvent, or null.
};
/// WSK_CLIENT_STREAM_DISPATCH: a stream socket becomes a listen or connection socket later.
struct StreamDispatch {
  const ListenDispatch* listen;          ///< Events once the socket listens, or null.
  const ConnectionDispatch* connection;  ///< Events once the socket connects, or null.
};
/// WSK_CLIENT_DISPATCH.
struct ClientDispatch {
  uint16_t version;            ///< MAKE_WSK_VERSION(1, 0) = 0x0100
  uint16_t reserved;           ///< Reserved: zero.
  ClientEventFn client_event;  ///< may be null
};
/// WSK_CLIENT_NPI.
struct ClientNpi {
  void* client_context;            ///< ClientContext: passed to the client-level event callback.
  const ClientDispatch* dispatch;  ///< Dispatch: the client's dispatch table (required).
};

constexpr uint16_t kWskVersion = 0x0100;  ///< MAKE_WSK_VERSION(1, 0)

// ---------------------------------------------------------------------------------------------
// Registration (WskRegister / WskCaptureProviderNPI / WskReleaseProviderNPI / WskDeregister)
// ---------------------------------------------------------------------------------------------

/// WSK_REGISTRATION: caller-owned, opaque; zero it or leave it as register_client() wrote it.
struct Registration {
  void* reserved[4];  ///< The provider's state; do not touch.
};

/// WSK_PROVIDER_NPI: the client handle. The provider's dispatch is the set of functions below.
struct ProviderNpi {
  Client* client;    ///< Client: the handle the client-level operations take.
  uint16_t version;  ///< The WSK version the provider serves (kWskVersion).
};

constexpr uint32_t kInfiniteWait = 0xffffffffu;  ///< WSK_INFINITE_WAIT
constexpr uint32_t kNoWait = 0;                  ///< WSK_NO_WAIT

/// WskRegister. Starts the backend (user space: its event thread). Returns InvalidParameter for
/// null arguments or a null dispatch, or for a @p registration that still holds a registered
/// client (WSK wants a different WSK_REGISTRATION per registration instance; the registered
/// client is left as it was), NotSupported for a version other than 1.x,
/// InsufficientResources when the backend cannot start.
Status register_client(const ClientNpi* npi, Registration* registration);

/// WskCaptureProviderNPI. @p wait_timeout_ms is kNoWait, kInfiniteWait or milliseconds.
/// Returns DeviceNotReady when the provider is not ready within the timeout, InvalidParameter
/// for null arguments or an unregistered @p registration.
Status capture_provider(Registration* registration, uint32_t wait_timeout_ms, ProviderNpi* out);

/// WskReleaseProviderNPI: one call per successful capture.
void release_provider(Registration* registration);

/// WskDeregister: waits (PASSIVE_LEVEL only) until every capture is released and every socket
/// is closed, then stops the backend. Never call it from a completion routine or callback.
/// Captures may be released from other threads while it waits (release_provider() keeps
/// working); capture_provider() returns DeviceNotReady from the moment it began, as in WSK.
void deregister_client(Registration* registration);

// ---------------------------------------------------------------------------------------------
// Client-level operations (WSK_PROVIDER_DISPATCH)
// ---------------------------------------------------------------------------------------------

/// WskSocket. Creates a socket of @p category (SocketCategory). On success the request's
/// information is the Socket*. @p dispatch is the category's table (ListenDispatch,
/// DatagramDispatch, ConnectionDispatch, StreamDispatch) or null for basic sockets or when no
/// event will be enabled. Validation before acceptance: null request → InvalidParameter,
/// null client → InvalidHandle (request untouched). After acceptance, an unknown family, a type
/// and protocol that do not go together, or a category that does not fit the type complete the
/// request with InvalidParameter; a raw socket without privilege completes with AccessDenied.
Status socket(Client* client, AddressFamily family, SocketType type, Protocol protocol,
              uint32_t category, void* socket_context, const void* dispatch, Request* req);

/// WskSocketConnect: a connection socket, bound to @p local and connected to @p remote, in one
/// call. Information is the Socket* on success.
Status socket_connect(Client* client, SocketType type, Protocol protocol, const SockAddr* local,
                      const SockAddr* remote, uint32_t flags, void* socket_context,
                      const ConnectionDispatch* dispatch, Request* req);

/// WskControlClient. Supported: kTransportListQuery (output: Transport[]; information = bytes),
/// kSetStaticEventCallbacks (input: EventCallbackControl; only before the first socket, else
/// InvalidDeviceState). Others: NotSupported. @p req may be null for the codes that complete at
/// once (as in WSK); then the status is returned and *output_size_returned set.
Status control_client(Client* client, uint32_t control_code, size_t input_size, const void* input,
                      size_t output_size, void* output, size_t* output_size_returned, Request* req);

/// WskGetAddressInfo (names are UTF-8). On success *result is a list to free with
/// free_address_info(). Unknown host → NotFound.
Status get_address_info(Client* client, const char* node, const char* service, uint32_t name_space,
                        const AddrInfo* hints, AddrInfo** result, Request* req);

/// WskFreeAddressInfo. Null is allowed.
void free_address_info(Client* client, AddrInfo* info);

/// WskGetNameInfo: host and service names (UTF-8) of @p address.
Status get_name_info(Client* client, const SockAddr* address, char* node, size_t node_size,
                     char* service, size_t service_size, uint32_t flags, Request* req);

// ---------------------------------------------------------------------------------------------
// Socket operations. Each applies to the categories named; on another category the call returns
// InvalidDeviceRequest without accepting the request. A null socket → InvalidHandle, a null
// request → InvalidParameter, a request still in flight → DeviceBusy, a socket whose close has
// begun → FileClosed, a Buf whose length runs past its segments → InvalidParameter.
// ---------------------------------------------------------------------------------------------

/// WskBind (listen, datagram, connection, stream; a basic socket has no WskBind in WSK's basic
/// dispatch table, so InvalidDeviceRequest). Exclusive address use is the default, as in WSK:
/// binding an address and port in use completes with AddressAlreadyAssociated (what Windows'
/// transport and Wine report for WSAEADDRINUSE; the WSK guide's address-sharing table writes the
/// same case as STATUS_ADDRESS_ALREADY_EXISTS, which the WSK backend reports as
/// AddressAlreadyAssociated). For a listen socket this also starts listening (WSK semantics); a
/// stream socket needs listen() afterwards.
Status bind(Socket* s, const SockAddr* local, uint32_t flags, Request* req);

/// WskListen (stream category; the socket must be bound, else InvalidDeviceState).
Status listen(Socket* s, Request* req);

/// WskAccept (listen, stream after listen). Information is the accepted Socket*, a connection
/// socket with @p accept_socket_context and @p dispatch. @p local / @p remote may be null.
Status accept(Socket* s, uint32_t flags, void* accept_socket_context,
              const ConnectionDispatch* dispatch, SockAddr* local, SockAddr* remote, Request* req);

/// WskConnect (connection, stream). Connect on an unbound connection socket →
/// InvalidDeviceState, as in WSK. Refused → ConnectionRefused.
Status connect(Socket* s, const SockAddr* remote, uint32_t flags, Request* req);

/// WskConnectEx: connect, then send @p data (may be null). Information = bytes of @p data sent.
Status connect_ex(Socket* s, const SockAddr* remote, const Buf* data, uint32_t flags, Request* req);

/// WskSend (connection, stream). Completes when all of @p buf is handed to the transport.
/// Information = bytes sent.
Status send(Socket* s, const Buf* buf, uint32_t flags, Request* req);

/// WskReceive (connection, stream). Information = bytes received; 0 with Success means the peer
/// disconnected gracefully. kFlagWaitAll: fill the buffer; kFlagDrain: discard until the peer
/// disconnects (they are mutually exclusive: InvalidParameter).
Status receive(Socket* s, const Buf* buf, uint32_t flags, Request* req);

/// WskDisconnect (connection, stream). Graceful (FIN, after sending @p final_data if not null)
/// or, with kFlagAbortive, abortive (RST; pending sends and receives complete with
/// ConnectionAborted). The socket stays open until close_socket().
Status disconnect(Socket* s, const Buf* final_data, uint32_t flags, Request* req);

/// WskSendTo (datagram). Information = bytes sent. @p remote is required: WSK allows null only
/// on a socket with a fixed remote address (SIO_WSK_SET_REMOTE_ADDRESS), which xwsk does not
/// map, so a null @p remote returns and completes with InvalidParameter.
Status send_to(Socket* s, const Buf* buf, uint32_t flags, const SockAddr* remote,
               size_t control_length, const void* control, Request* req);

/// WskReceiveFrom (datagram). Information = datagram bytes copied. A datagram longer than the
/// buffer completes with BufferOverflow and kMsgTrunc in *control_flags.
Status receive_from(Socket* s, const Buf* buf, uint32_t flags, SockAddr* remote,
                    size_t* control_length, void* control, uint32_t* control_flags, Request* req);

/// WskSendMessages (datagram): every element of @p list is one datagram, sent in as few system
/// calls as the OS allows (sendmmsg). Information = total bytes sent.
Status send_messages(Socket* s, BufList* list, uint32_t flags, const SockAddr* remote,
                     size_t control_length, const void* control, Request* req);

/// WskGetLocalAddress (listen, datagram, connection, stream: InvalidDeviceState if not bound; a
/// basic socket has no WskGetLocalAddress: InvalidDeviceRequest).
Status get_local_address(Socket* s, SockAddr* local, Request* req);

/// WskGetRemoteAddress (connection, stream when connected: else InvalidDeviceState).
Status get_remote_address(Socket* s, SockAddr* remote, Request* req);

/// WskRelease for connection/stream sockets: returns data kept by a receive event that
/// returned Pending. Synchronous, as in WSK. Another thread the event handed the list to may
/// call it before the event has returned Pending (docs/threading.md).
Status release_data_indications(Socket* s, DataIndication* list);

/// WskRelease for datagram sockets: returns datagrams kept by a receive_from event (from
/// another thread, possibly before the event has returned Pending, as above).
Status release_datagram_indications(Socket* s, DatagramIndication* list);

/// WskInspectComplete (listen with SO_CONDITIONAL_ACCEPT): settles a Pend decision.
Status inspect_complete(Socket* s, const InspectId* inspect_id, InspectAction action, Request* req);

/// WskControlSocket (all categories). Options: see types.h (SO_WSK_EVENT_CALLBACK enables or
/// disables events; disabling names exactly one event). @p req may be null for
/// SO_WSK_EVENT_CALLBACK, which then completes at once (as in WSK). Information = bytes output.
/// The option rules hold on every backend and are decided by the call (returned and completed):
/// an option the socket cannot have (SO_KEEPALIVE, SO_LINGER, TCP_NODELAY or
/// SO_CONDITIONAL_ACCEPT on a datagram socket, SO_BROADCAST on a stream socket,
/// SO_CONDITIONAL_ACCEPT on a connection socket, IPV6_V6ONLY on an AF_INET socket) →
/// NotSupported; SO_REUSEADDR, SO_EXCLUSIVEADDRUSE, SO_CONDITIONAL_ACCEPT or IPV6_V6ONLY set
/// after bind → InvalidDeviceState. An AF_INET6 socket starts with IPV6_V6ONLY on (as on
/// Windows).
Status control_socket(Socket* s, ControlType type, uint32_t control_code, uint32_t level,
                      size_t input_size, const void* input, size_t output_size, void* output,
                      size_t* output_size_returned, Request* req);

/// WskCloseSocket (all categories). Every pending request of the socket completes with
/// Cancelled, then this request completes; the socket's memory is released after that. A
/// connected socket that was not disconnected is reset (abortive), as in WSK.
Status close_socket(Socket* s, Request* req);

// ---------------------------------------------------------------------------------------------
// Backend facts, allocator hook, accounting
// ---------------------------------------------------------------------------------------------

/// What this backend (and, for WSK, the provider it runs on) can do. Conformance cases that need
/// a missing capability are skipped with the reason capability_reason() gives.
enum Capability : uint32_t {
  kCapIpv6 = 1u << 0,
  kCapUdp = 1u << 1,
  kCapRaw = 1u << 2,
  kCapEvents = 1u << 3,          ///< SO_WSK_EVENT_CALLBACK
  kCapStreamCategory = 1u << 4,  ///< kStreamSocket + listen()
  kCapBasicCategory = 1u << 5,
  kCapDisconnect = 1u << 6,
  kCapAddressQueries = 1u << 7,  ///< get_local_address / get_remote_address
  kCapSocketConnect = 1u << 8,
  kCapConnectEx = 1u << 9,
  kCapControlClient = 1u << 10,
  kCapNameInfo = 1u << 11,
  kCapConditionalAccept = 1u << 12,
  kCapControlSocket = 1u << 13,   ///< options and ioctls
  kCapChainedBuffers = 1u << 14,  ///< Bufs over more than one segment
  kCapSendMessages = 1u << 15,
  kCapAbortiveClose = 1u << 16,  ///< close_socket of a connected socket resets the peer
};

/// The backend's name ("posix-epoll", "posix-poll", "uv", "wsk"; "wsk-um" for the WSK backend
/// over umwsk's user-mode provider).
const char* backend_name();

/// The capabilities of the backend as it runs now.
uint32_t backend_capabilities();

/// Why a capability is missing (never null; "" when present).
const char* capability_reason(Capability cap);

/// The allocator hook: every allocation xwsk makes goes through it. @p tag is a pool tag
/// (four characters, see tags in docs/architecture.md).
struct Allocator {
  /// Returns @p size bytes for pool tag @p tag, or null when memory is exhausted.
  void* (*allocate)(size_t size, uint32_t tag, void* context);
  /// Releases @p memory that allocate() returned with the same @p tag.
  void (*release)(void* memory, uint32_t tag, void* context);
  void* context;  ///< Passed to allocate() and release().
};

/// Installs @p allocator (null restores the default: malloc/free, or the tagged non-paged pool
/// in the kernel). Only while no client is registered: else InvalidDeviceState.
Status set_allocator(const Allocator* allocator);

/// Live objects, for leak checks (tests assert all zero after teardown).
struct Counters {
  uint32_t registrations;         ///< Registered clients.
  uint32_t sockets;               ///< Sockets not yet released.
  uint32_t requests_in_flight;    ///< Requests accepted whose completion has not yet run.
  uint32_t allocations;           ///< Live allocations made through the allocator hook.
  uint32_t retained_indications;  ///< Indications an event kept (Pending), not yet released.
};

/// A snapshot of the live-object counters (relaxed atomics; exact when quiescent).
Counters counters();

}  // namespace xwsk

#endif  // XWSK_XWSK_H_
