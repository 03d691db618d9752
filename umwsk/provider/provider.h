// SPDX-License-Identifier: MIT
// provider.h: the user-mode WSK provider's private declarations (umwsk/provider only).
//
// The provider plays netio's role over the xwsk API, linked to xwsk's posix-epoll backend inside
// libxwsk_umwsk. Every WSK call maps to the xwsk call of the same name:
//  - a WSK registration owns one xwsk client (Registration below);
//  - a provider socket (ProviderSocket) begins with the WSK_SOCKET the client sees; its Dispatch
//    is the const provider table of its category; it holds the xwsk Socket*, the client's
//    socket context and the client's dispatch table of that category;
//  - the IRP's XwskProvider area holds the operation's xwsk::Request (IrpOp), so an operation in
//    flight allocates nothing unless it needs converted outputs;
//  - the MDL's XwskProvider area holds an xwsk::Segment mirroring it (refreshed at each call);
//  - events reach the client through the provider's own xwsk dispatch tables (events.cpp).
//
// Files include only the WDK headers of umwsk/include, the runtime's internal header and the
// xwsk API: no Linux socket header.
#ifndef UMWSK_PROVIDER_PROVIDER_H_
#define UMWSK_PROVIDER_PROVIDER_H_

// The C++ headers come first: ntdef.h defines min() and max() macros, as the WDK does (unless
// NOMINMAX, which the runtime's internal header sets too).
#ifndef NOMINMAX
#define NOMINMAX 1
#endif
#include <stddef.h>
#include <stdint.h>

#include <atomic>
#include <new>

#include "../../backends/common/utf.h"
#include "xwsk/xwsk.h"

// clang-format off
#include <ntddk.h>
#include <wsk.h>
// clang-format on

#include "rt_internal.h"  // counters and umwsk_rule_violation (the verifier)

namespace umwsk::provider {

// ---- pool tags (shown reversed by pool tools, as on Windows) ------------------------------------

constexpr ULONG make_tag(const char (&t)[5]) {
  return static_cast<ULONG>(static_cast<unsigned char>(t[0])) |
         (static_cast<ULONG>(static_cast<unsigned char>(t[1])) << 8) |
         (static_cast<ULONG>(static_cast<unsigned char>(t[2])) << 16) |
         (static_cast<ULONG>(static_cast<unsigned char>(t[3])) << 24);
}

inline constexpr ULONG kTagRegistration = make_tag("WkRg");  ///< Registration
inline constexpr ULONG kTagSocket = make_tag("WkSo");        ///< ProviderSocket
inline constexpr ULONG kTagOp = make_tag("WkOp");            ///< per-operation conversions
inline constexpr ULONG kTagIndication = make_tag("WkIn");    ///< event indication blocks
inline constexpr ULONG kTagAddrInfo = make_tag("WkAi");      ///< ADDRINFOEXW result lists

void* pool_alloc(size_t size, ULONG tag);  // zeroed, non-paged; null on failure
void pool_free(void* p, ULONG tag);        // null allowed

// ---- counters (the runtime's UMWSK_COUNTERS) ----------------------------------------------------

enum class Counter { Sockets, RetainedIndications, Registrations, Captures };
void count(Counter which, int delta);

// ---- IRQL ---------------------------------------------------------------------------------------

/// Verifier: a routine WSK documents as IRQL = PASSIVE_LEVEL called above it
/// (irql.wsk_above_passive), reported with the caller of the function that uses the macro.
#define UMWSK_REQUIRE_PASSIVE(routine, object)                                 \
  do {                                                                         \
    if (KeGetCurrentIrql() != PASSIVE_LEVEL) {                                 \
      umwsk_rule_violation("irql.wsk_above_passive", (object),                 \
                           routine " at IRQL %u (WSK requires PASSIVE_LEVEL)", \
                           static_cast<unsigned>(KeGetCurrentIrql()));         \
    }                                                                          \
  } while (0)

/// Raises to DISPATCH_LEVEL for the scope if the thread is below it (completions and events
/// that come from the xwsk loop thread; inline ones keep the caller's IRQL).
class DispatchScope {
 public:
  DispatchScope();
  /// For event callbacks: in chaos mode, sometimes stays below DISPATCH_LEVEL (after a short
  /// delay at times), as WSK allows.
  explicit DispatchScope(uint64_t chaos_stream);
  ~DispatchScope();
  DispatchScope(const DispatchScope&) = delete;
  DispatchScope& operator=(const DispatchScope&) = delete;

 private:
  KIRQL old_;
  bool raised_;
};

/// WSK_FLAG_AT_DISPATCH_LEVEL when the current IRQL is DISPATCH_LEVEL, else 0.
ULONG dispatch_flag();

// ---- registration -------------------------------------------------------------------------------

inline constexpr uint32_t kRegistrationMagic = 0x52574b55;  // "UKWR"
inline constexpr uint32_t kSocketMagic = 0x53574b55;        // "UKWS"
inline constexpr uint32_t kDeadMagic = 0xdeadd00d;

struct Registration {
  uint32_t magic;
  bool version_ok;  ///< client dispatch version 1.x (else captures fail with STATUS_NOINTERFACE)
  bool xwsk_registered;
  std::atomic<uint32_t> deregistering;
  std::atomic<int32_t> captures;
  std::atomic<int32_t> sockets;  ///< live provider sockets (including ones being created)
  std::atomic<int32_t> calls;    ///< WSK_PROVIDER_DISPATCH calls executing now
  PVOID client_context;
  const WSK_CLIENT_DISPATCH* client_dispatch;
  xwsk::Registration xreg;
  xwsk::ClientNpi xnpi;
  xwsk::ClientDispatch xdispatch;
  xwsk::Client* xclient;
  KEVENT idle;  ///< NotificationEvent, set when a count drops to zero while deregistering
};

/// The registration behind a PWSK_CLIENT, or null if it is not one of ours.
Registration* registration_of(PWSK_CLIENT client);

/// Wakes WskDeregister if it is waiting (after a count dropped).
void registration_changed(Registration* reg);

/// Counts a WSK_PROVIDER_DISPATCH call for the duration of a scope (WskDeregister waits for it).
class CallScope {
 public:
  explicit CallScope(Registration* reg);
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  Registration* reg_;
};

extern const WSK_PROVIDER_DISPATCH kProviderDispatch;

// ---- sockets ------------------------------------------------------------------------------------

struct IndicationBlock;

struct ProviderSocket {
  WSK_SOCKET wsk;  ///< first member: the PWSK_SOCKET the client holds
  uint32_t magic;
  ULONG category;  ///< WSK_FLAG_*_SOCKET
  Registration* reg;
  xwsk::Socket* xs;  ///< null until the creating operation completes
  PVOID context;     ///< the client's socket context
  /// WSK_CLIENT_{LISTEN,CONNECTION,DATAGRAM,STREAM}_DISPATCH. Atomic: a socket offered by
  /// WskAcceptEvent gets it when the event returns, while the client may already use it.
  std::atomic<const void*> client_dispatch;
  std::atomic<bool> dispatch_pending;  ///< inside WskAcceptEvent: the table is not known yet
  KSPIN_LOCK lock;                     ///< guards retained
  IndicationBlock* retained;           ///< indications the client kept (STATUS_PENDING), a list
  uint64_t chaos_id;                   ///< creation number (chaos decisions)
  std::atomic<uint32_t> chaos_ops;

  /// A fresh chaos decision stream for this socket: its number and its operation count.
  uint64_t chaos_stream() {
    return (chaos_id << 32) | chaos_ops.fetch_add(1, std::memory_order_relaxed);
  }
};

/// Keeps freed provider objects (sockets, indication blocks) for a while before their memory goes
/// back to the pool, so that a later use finds their dead magic and is reported instead of
/// touching freed memory. Flushed when the last registration goes away.
void quarantine(void* p, ULONG tag);
void quarantine_flush();

/// Allocates a provider socket of @p category (counted on its registration). Null on failure.
ProviderSocket* socket_new(Registration* reg, ULONG category, PVOID context,
                           const void* client_dispatch);
/// Frees a provider socket (and any indications the client never released).
void socket_delete(ProviderSocket* s);
/// The provider socket behind a PWSK_SOCKET, or null. A socket whose close completed is a
/// verifier report (wsk.socket_used_after_close). Always inlined, so that the report names the
/// client code that called the WSK function.
__attribute__((always_inline)) inline ProviderSocket* socket_of(PWSK_SOCKET s) {
  auto* p = reinterpret_cast<ProviderSocket*>(s);
  if (p == nullptr) return nullptr;
  if (p->magic == kDeadMagic) {
    umwsk_rule_violation("wsk.socket_used_after_close", p,
                         "a WSK function was called on a socket whose WskCloseSocket completed");
    return nullptr;
  }
  if (p->magic != kSocketMagic || p->xs == nullptr) return nullptr;
  return p;
}

/// One of five per socket category (WSK_FLAG_*_SOCKET): @p other for a basic socket or any other
/// value.
inline const void* for_category(ULONG category, const void* listen, const void* connection,
                                const void* datagram, const void* stream, const void* other) {
  switch (category) {
    case WSK_FLAG_LISTEN_SOCKET:
      return listen;
    case WSK_FLAG_CONNECTION_SOCKET:
      return connection;
    case WSK_FLAG_DATAGRAM_SOCKET:
      return datagram;
    case WSK_FLAG_STREAM_SOCKET:
      return stream;
    default:
      return other;
  }
}

/// The const provider table of a category (connection for accepted sockets).
const void* provider_dispatch_for(ULONG category);
/// The provider's xwsk event table for a category (events.cpp).
const void* xwsk_dispatch_for(ULONG category);
extern const xwsk::ConnectionDispatch kXwskConnectionEvents;
extern const xwsk::ClientDispatch kXwskClientDispatch;

/// The client's listen / connection / datagram table of a socket, or null.
const WSK_CLIENT_LISTEN_DISPATCH* client_listen_dispatch(const ProviderSocket* s);
const WSK_CLIENT_CONNECTION_DISPATCH* client_connection_dispatch(const ProviderSocket* s);
const WSK_CLIENT_DATAGRAM_DISPATCH* client_datagram_dispatch(const ProviderSocket* s);

// ---- indications (events.cpp) -------------------------------------------------------------------

/// Releases a retained list (WskRelease). STATUS_INVALID_PARAMETER if it is not one.
NTSTATUS release_indications(ProviderSocket* s, const void* head, bool datagram,
                             const void* caller);
/// Frees whatever the client still holds on a socket that is going away.
void release_all_indications(ProviderSocket* s);

// ---- operations (irp.cpp) -----------------------------------------------------------------------

enum class OpKind : uint32_t {
  Plain,
  CreateSocket,   ///< a = ProviderSocket being created; information becomes &a->wsk
  Accept,         ///< a = new ProviderSocket, b = AddressOut pair (optional)
  Close,          ///< a = ProviderSocket closing
  AddressOut,     ///< b = AddressOut
  ReceiveFrom,    ///< b = ReceiveFromOut
  SendMessages,   ///< a = xwsk::BufList array
  TransportList,  ///< a = xwsk::Transport array, b = WSK_TRANSPORT output
  SizeOut,        ///< a = SIZE_T* output, b = OutputSizeReturned; c holds xwsk's ULONG
  AddressInfo,    ///< b = AddressInfoCall
  NameInfo,       ///< b = NameInfoCall
};

/// The provider's state in IRP::XwskProvider while an operation is in flight.
struct IrpOp {
  xwsk::Request req;
  std::atomic<uint32_t> phase;
  OpKind kind;
  void* a;  ///< per kind (OpKind), until the operation finished
  void* b;  ///< per kind; after it finished: the chaos worker's completion choices
  void* c;  ///< per kind; after it finished: the chaos worker's queue link
};

/// Takes @p irp for an operation (IoSetNextIrpStackLocation, request initialized). Never null.
IrpOp* op_begin(PIRP irp, OpKind kind);
/// Settles the return of a provider function after its xwsk call returned @p xst: completes the
/// IRP if the call rejected it or completed it inline, else marks it pending. Returns the status
/// the WSK function returns.
NTSTATUS op_end(PIRP irp, xwsk::Status xst);
/// Completes an IRP taken by op_begin without an xwsk call (argument errors found here).
NTSTATUS op_fail(PIRP irp, NTSTATUS status);
/// Completes an IRP that the provider did not take (no op_begin): for calls with a null
/// argument found before anything was set up. Returns @p status.
NTSTATUS irp_fail(PIRP irp, NTSTATUS status);

/// What a WSK function on a socket that takes an IRP starts with. Either the socket and the IRP
/// taken for an operation of @p kind (op_begin), or op null and the status to return:
/// STATUS_INVALID_PARAMETER for a null IRP (nothing to complete), STATUS_INVALID_HANDLE for a
/// socket that is not one (the IRP completed with it). Always inlined, as socket_of.
struct SocketOp {
  ProviderSocket* s;
  IrpOp* op;
  NTSTATUS status;
};
__attribute__((always_inline)) inline SocketOp socket_op(PWSK_SOCKET socket, PIRP irp,
                                                         OpKind kind) {
  if (irp == nullptr) return {nullptr, nullptr, STATUS_INVALID_PARAMETER};
  ProviderSocket* s = socket_of(socket);
  if (s == nullptr) return {nullptr, nullptr, irp_fail(irp, STATUS_INVALID_HANDLE)};
  return {s, op_begin(irp, kind), STATUS_SUCCESS};
}

/// The same for a WSK function on a client (WSK_PROVIDER_DISPATCH) that takes an IRP: its
/// registration, or null and the status to return. The caller then counts the call (CallScope)
/// and takes the IRP (op_begin).
struct ClientCall {
  Registration* reg;
  NTSTATUS status;
};
inline ClientCall client_call(PWSK_CLIENT client, PIRP irp) {
  if (irp == nullptr) return {nullptr, STATUS_INVALID_PARAMETER};
  Registration* reg = registration_of(client);
  if (reg == nullptr) return {nullptr, irp_fail(irp, STATUS_INVALID_HANDLE)};
  return {reg, STATUS_SUCCESS};
}

/// Per-kind completion work (each in the file of its operation).
void finish_create(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info);
void finish_close(PIRP irp, IrpOp* op, xwsk::Status xst);
void finish_address(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info);
void finish_receive_from(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info);
void finish_control(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info);
void finish_resolve(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info);
/// The address outputs of WskAccept (op->b); false when out of memory.
bool accept_addresses(IrpOp* op, PSOCKADDR local, PSOCKADDR remote, xwsk::SockAddr** xlocal,
                      xwsk::SockAddr** xremote);

/// WSK_BUF -> xwsk::Buf through the MDLs' segments (refreshed from the MDLs). False if the
/// buffer cannot be described (null MDL with a length, unmapped MDL).
bool buf_of(const WSK_BUF* in, xwsk::Buf* out);

// ---- chaos mode (chaos.cpp)
// ------------------------------------------------------------------------

/// True when chaos mode is on (UMWSK_CHAOS_SEED or UmwskSetChaosSeed; the seed is printed once).
bool chaos_on();
/// A choice in [0, range), a pure function of the seed, @p stream and @p what.
uint32_t chaos_pick(uint64_t stream, uint32_t what, uint32_t range);
/// The next value of the provider-wide decision counter (for choices with no socket).
uint64_t chaos_next();
/// Sometimes sleeps a little (below DISPATCH_LEVEL only).
void chaos_delay(uint64_t stream, uint32_t what);
/// Hands a finished IRP to the chaos worker, which completes it later (after a short delay, at
/// PASSIVE_LEVEL or DISPATCH_LEVEL). False when the worker is not running.
bool chaos_defer(PIRP irp, uint64_t stream);
/// IRPs waiting in the chaos worker (WskDeregister waits for them).
int32_t chaos_deferred();
/// Starts (first registration) and stops (last deregistration) the chaos worker.
void chaos_attach();
void chaos_detach();
/// Completes an IRP whose operation finished (the chaos worker's side of op_end).
void op_complete_deferred(PIRP irp);

// ---- conversions (convert.cpp) ------------------------------------------------------------------

/// SOCKADDR (IPv4 or IPv6) -> xwsk. Unknown families keep their value (xwsk rejects them).
/// False for a null address.
bool sockaddr_in(const SOCKADDR* sa, xwsk::SockAddr* out);
/// xwsk -> SOCKADDR_IN or SOCKADDR_IN6 (by family). Returns the bytes written (0: unknown).
size_t sockaddr_out(const xwsk::SockAddr& a, SOCKADDR* out);

union NativeAddr {
  SOCKADDR sa;
  SOCKADDR_IN in;
  SOCKADDR_IN6 in6;
};

// Strings: UTF-8 <-> WCHAR (wchar_t, 32 bits here: code points, or UTF-16 pairs as code written
// for Windows stores them) through backends/common/utf.h, shared with the WSK backend.
using xwsk::text::utf8_to_wide;
using xwsk::text::wide_to_utf8;

// ---- the provider functions (one definition each, in the file of their concept) ----------------

// socket.cpp
NTSTATUS WSKAPI wsk_socket(PWSK_CLIENT Client, ADDRESS_FAMILY AddressFamily, USHORT SocketType,
                           ULONG Protocol, ULONG Flags, PVOID SocketContext, const VOID* Dispatch,
                           PEPROCESS OwningProcess, PETHREAD OwningThread,
                           PSECURITY_DESCRIPTOR SecurityDescriptor, PIRP Irp);
NTSTATUS WSKAPI wsk_socket_connect(PWSK_CLIENT Client, USHORT SocketType, ULONG Protocol,
                                   PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress, ULONG Flags,
                                   PVOID SocketContext,
                                   const WSK_CLIENT_CONNECTION_DISPATCH* Dispatch,
                                   PEPROCESS OwningProcess, PETHREAD OwningThread,
                                   PSECURITY_DESCRIPTOR SecurityDescriptor, PIRP Irp);
NTSTATUS WSKAPI wsk_close_socket(PWSK_SOCKET Socket, PIRP Irp);
NTSTATUS WSKAPI wsk_bind(PWSK_SOCKET Socket, PSOCKADDR LocalAddress, ULONG Flags, PIRP Irp);
NTSTATUS WSKAPI wsk_listen(PWSK_SOCKET Socket, PIRP Irp);
NTSTATUS WSKAPI wsk_get_local_address(PWSK_SOCKET Socket, PSOCKADDR LocalAddress, PIRP Irp);
NTSTATUS WSKAPI wsk_get_remote_address(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress, PIRP Irp);

// connection.cpp
NTSTATUS WSKAPI wsk_accept(PWSK_SOCKET ListenSocket, ULONG Flags, PVOID AcceptSocketContext,
                           const WSK_CLIENT_CONNECTION_DISPATCH* AcceptSocketDispatch,
                           PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress, PIRP Irp);
NTSTATUS WSKAPI wsk_inspect_complete(PWSK_SOCKET ListenSocket, PWSK_INSPECT_ID InspectID,
                                     WSK_INSPECT_ACTION Action, PIRP Irp);
NTSTATUS WSKAPI wsk_connect(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress, ULONG Flags, PIRP Irp);
NTSTATUS WSKAPI wsk_connect_ex(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress, PWSK_BUF Buffer,
                               ULONG Flags, PIRP Irp);
NTSTATUS WSKAPI wsk_send(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp);
NTSTATUS WSKAPI wsk_receive(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp);
NTSTATUS WSKAPI wsk_disconnect(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp);
NTSTATUS WSKAPI wsk_release_data(PWSK_SOCKET Socket, PWSK_DATA_INDICATION DataIndication);
NTSTATUS WSKAPI wsk_send_ex(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                            ULONG ControlInfoLength, PCMSGHDR ControlInfo, PIRP Irp);
NTSTATUS WSKAPI wsk_receive_ex(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                               PULONG ControlInfoLength, PCMSGHDR ControlInfo, PULONG ControlFlags,
                               PIRP Irp);

// datagram.cpp
NTSTATUS WSKAPI wsk_send_to(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                            PSOCKADDR RemoteAddress, ULONG ControlInfoLength, PCMSGHDR ControlInfo,
                            PIRP Irp);
NTSTATUS WSKAPI wsk_receive_from(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                                 PSOCKADDR RemoteAddress, PULONG ControlLength,
                                 PCMSGHDR ControlInfo, PULONG ControlFlags, PIRP Irp);
NTSTATUS WSKAPI wsk_release_datagrams(PWSK_SOCKET Socket,
                                      PWSK_DATAGRAM_INDICATION DatagramIndication);
NTSTATUS WSKAPI wsk_send_messages(PWSK_SOCKET Socket, PWSK_BUF_LIST BufferList, ULONG Flags,
                                  PSOCKADDR RemoteAddress, ULONG ControlInfoLength,
                                  PCMSGHDR ControlInfo, PIRP Irp);

// control.cpp
NTSTATUS WSKAPI wsk_control_socket(PWSK_SOCKET Socket, WSK_CONTROL_SOCKET_TYPE RequestType,
                                   ULONG ControlCode, ULONG Level, SIZE_T InputSize,
                                   PVOID InputBuffer, SIZE_T OutputSize, PVOID OutputBuffer,
                                   SIZE_T* OutputSizeReturned, PIRP Irp);
NTSTATUS WSKAPI wsk_control_client(PWSK_CLIENT Client, ULONG ControlCode, SIZE_T InputSize,
                                   PVOID InputBuffer, SIZE_T OutputSize, PVOID OutputBuffer,
                                   SIZE_T* OutputSizeReturned, PIRP Irp);

// resolve.cpp
NTSTATUS WSKAPI wsk_get_address_info(PWSK_CLIENT Client, PUNICODE_STRING NodeName,
                                     PUNICODE_STRING ServiceName, ULONG NameSpace, GUID* Provider,
                                     PADDRINFOEXW Hints, PADDRINFOEXW* Result,
                                     PEPROCESS OwningProcess, PETHREAD OwningThread, PIRP Irp);
VOID WSKAPI wsk_free_address_info(PWSK_CLIENT Client, PADDRINFOEXW AddrInfo);
NTSTATUS WSKAPI wsk_get_name_info(PWSK_CLIENT Client, PSOCKADDR SockAddr, ULONG SockAddrLength,
                                  PUNICODE_STRING NodeName, PUNICODE_STRING ServiceName,
                                  ULONG Flags, PEPROCESS OwningProcess, PETHREAD OwningThread,
                                  PIRP Irp);

inline NTSTATUS nt(xwsk::Status s) {
  return static_cast<NTSTATUS>(s);
}

}  // namespace umwsk::provider

#endif  // UMWSK_PROVIDER_PROVIDER_H_
