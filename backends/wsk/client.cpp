// SPDX-License-Identifier: MIT
// client.cpp: backend facts (name, capabilities, provider profile), the default allocator,
// registration (WskRegister / WskCaptureProviderNPI / WskReleaseProviderNPI / WskDeregister)
// and the client-level operations of WSK_PROVIDER_DISPATCH.
#include <new>

#include "backend.h"

namespace xwsk::wsk {

// ---- provider profile and capabilities ----------------------------------------------------------

namespace {

ProviderProfile g_profile = ProviderProfile::kWindows;

constexpr uint32_t kAllCaps = kCapIpv6 | kCapUdp | kCapRaw | kCapEvents | kCapStreamCategory |
                              kCapBasicCategory | kCapDisconnect | kCapAddressQueries |
                              kCapSocketConnect | kCapConnectEx | kCapControlClient | kCapNameInfo |
                              kCapConditionalAccept | kCapControlSocket | kCapChainedBuffers |
                              kCapSendMessages | kCapAbortiveClose;

// What Wine 8.0's netio.sys (dlls/netio.sys/netio.c) serves: WskSocket for the listen and
// connection categories, bind/listen, accept, connect, send, receive, close, over IPv4, and
// WskGetAddressInfo/WskFreeAddressInfo. Nothing else.
constexpr uint32_t kWine8Caps = 0;

struct CapReason {
  Capability cap;
  const char* reason;
};

// Why each capability is missing from Wine 8.0's provider (checked against its source).
constexpr CapReason kWine8Reasons[] = {
    {kCapIpv6,
     "Wine 8.0 netio.sys: WskBind and WskConnect pass sizeof(SOCKADDR) (16 bytes) to bind() and "
     "ConnectEx(), so SOCKADDR_IN6 addresses cannot be used"},
    {kCapUdp,
     "Wine 8.0 netio.sys: WskSocket implements only WSK_FLAG_LISTEN_SOCKET and "
     "WSK_FLAG_CONNECTION_SOCKET; datagram sockets complete with STATUS_NOT_IMPLEMENTED"},
    {kCapRaw,
     "Wine 8.0 netio.sys: WskSocket implements only the listen and connection categories (no "
     "datagram or basic sockets for raw protocols)"},
    {kCapEvents,
     "Wine 8.0 netio.sys: WskControlSocket is a stub (STATUS_NOT_IMPLEMENTED), so no "
     "SO_WSK_EVENT_CALLBACK: no event callback is ever invoked"},
    {kCapStreamCategory,
     "Wine 8.0 netio.sys: WskSocket does not implement WSK_FLAG_STREAM_SOCKET "
     "(STATUS_NOT_IMPLEMENTED) and has no WskListen"},
    {kCapBasicCategory,
     "Wine 8.0 netio.sys: WskSocket does not implement WSK_FLAG_BASIC_SOCKET "
     "(STATUS_NOT_IMPLEMENTED)"},
    {kCapDisconnect,
     "Wine 8.0 netio.sys: WskDisconnect is a stub (returns STATUS_NOT_IMPLEMENTED, never "
     "completes the IRP)"},
    {kCapAddressQueries,
     "Wine 8.0 netio.sys: WskGetLocalAddress and WskGetRemoteAddress are stubs (return "
     "STATUS_NOT_IMPLEMENTED, never complete the IRP)"},
    {kCapSocketConnect,
     "Wine 8.0 netio.sys: WskSocketConnect is a stub (returns STATUS_NOT_IMPLEMENTED, never "
     "completes the IRP)"},
    {kCapConnectEx,
     "Wine 8.0 netio.sys: WskConnectEx is a stub (returns STATUS_NOT_IMPLEMENTED, never "
     "completes the IRP)"},
    {kCapControlClient, "Wine 8.0 netio.sys: WskControlClient is a stub (STATUS_NOT_IMPLEMENTED)"},
    {kCapNameInfo,
     "Wine 8.0 netio.sys: WskGetNameInfo is a stub (returns STATUS_NOT_IMPLEMENTED, never "
     "completes the IRP)"},
    {kCapConditionalAccept,
     "Wine 8.0 netio.sys: WskInspectComplete and WskControlSocket (SO_CONDITIONAL_ACCEPT) are "
     "stubs"},
    {kCapControlSocket,
     "Wine 8.0 netio.sys: WskControlSocket is a stub (STATUS_NOT_IMPLEMENTED): no socket options "
     "or ioctls"},
    {kCapChainedBuffers,
     "Wine 8.0 netio.sys: WskSend/WskReceive complete a WSK_BUF whose MDL is chained "
     "(MDL->Next) with STATUS_UNSUCCESSFUL"},
    {kCapAbortiveClose,
     "Wine 8.0 netio.sys: WskCloseSocket calls closesocket(), which closes gracefully (FIN); "
     "with WskControlSocket (SO_LINGER) and WskDisconnect stubbed, a close cannot reset"},
    {kCapSendMessages,
     "Wine 8.0 netio.sys: no datagram sockets (WSK_FLAG_DATAGRAM_SOCKET is not implemented), so "
     "no WskSendMessages"},
};

}  // namespace

void set_provider_profile(ProviderProfile profile) {
  g_profile = profile;
}
ProviderProfile provider_profile() {
  return g_profile;
}
const char* provider_profile_name(ProviderProfile profile) {
  return profile == ProviderProfile::kWine8 ? "wine-8" : "windows";
}

bool provider_lacks(Capability cap) {
  return g_profile == ProviderProfile::kWine8 && (kWine8Caps & cap) == 0;
}

// ---- name resolution contexts
// ----------------------------------------------------------------------

namespace {

/// One WskGetAddressInfo call: the UNICODE_STRING inputs, the hints and the provider's result,
/// which is freed (WskFreeAddressInfo, PASSIVE_LEVEL) by free_address_info().
struct AddrInfoCall {
  AddrInfoCall* next_orphan;
  Client* client;
  AddrInfo** out;
  ADDRINFOEXW* result;
  ADDRINFOEXW hints;
  UNICODE_STRING node;
  UNICODE_STRING service;
  size_t bytes;
  WCHAR text[1];
};

/// The xwsk result list: one block, the nodes first, then the addresses, then the names.
struct AddrInfoBlock {
  AddrInfoCall* call;
  AddrInfo nodes[1];
};

AddrInfoBlock* block_of(AddrInfo* head) {
  return reinterpret_cast<AddrInfoBlock*>(reinterpret_cast<char*>(head) -
                                          offsetof(AddrInfoBlock, nodes));
}

/// One WskGetNameInfo call.
struct NameInfoCall {
  NativeAddr addr;
  UNICODE_STRING node;
  UNICODE_STRING service;
  char* node_out;
  size_t node_size;
  char* service_out;
  size_t service_size;
  WCHAR text[1];
};

size_t wide_length(const WCHAR* w) {
  size_t n = 0;
  if (w != nullptr) {
    while (w[n] != 0)
      ++n;
  }
  return n;
}

void release_call(AddrInfoCall* call) {
  detail::release(call, detail::kTagAddrInfo);
}

void copy_transports(const WSK_TRANSPORT* in, size_t n, Transport* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i].version = in[i].Version;
    out[i].socket_type = in[i].SocketType;
    out[i].protocol = in[i].Protocol;
    out[i].address_family = static_cast<uint16_t>(xwsk_family(in[i].AddressFamily));
    RtlCopyMemory(out[i].provider_id, &in[i].ProviderId, sizeof(out[i].provider_id));
  }
}

}  // namespace

/// Completion of WskGetAddressInfo (IRQL <= DISPATCH_LEVEL): converts the ADDRINFOEXW list into
/// one xwsk block (allocated from non-paged pool, legal at DISPATCH_LEVEL). The provider's list
/// stays until free_address_info() (WskFreeAddressInfo needs PASSIVE_LEVEL); when conversion
/// fails it is parked on the client and freed by client_destroy().
Status finish_address_info(OpState* op, Status st) {
  auto* call = static_cast<AddrInfoCall*>(op->u.ctx);
  Client* c = call->client;
  *call->out = nullptr;
  if (!nt_success(st) || call->result == nullptr) {
    if (call->result == nullptr) {
      release_call(call);
    } else {
      // Park it (pushed lock-free; popped at PASSIVE_LEVEL in client_destroy).
      std::atomic<void*>& head = c->orphans;
      void* old = head.load(std::memory_order_acquire);
      do {
        call->next_orphan = static_cast<AddrInfoCall*>(old);
      } while (!head.compare_exchange_weak(old, call, std::memory_order_acq_rel));
    }
    return nt_success(st) ? Status::NotFound : st;
  }
  size_t count = 0;
  size_t names = 0;
  for (ADDRINFOEXW* a = call->result; a != nullptr; a = a->ai_next) {
    ++count;
    if (a->ai_canonname != nullptr) names += wide_length(a->ai_canonname) * 3 + 1;
  }
  const size_t size =
      offsetof(AddrInfoBlock, nodes) + count * (sizeof(AddrInfo) + sizeof(SockAddr)) + names;
  auto* block = static_cast<AddrInfoBlock*>(detail::alloc(size, detail::kTagAddrInfo));
  if (block == nullptr) {
    std::atomic<void*>& head = c->orphans;
    void* old = head.load(std::memory_order_acquire);
    do {
      call->next_orphan = static_cast<AddrInfoCall*>(old);
    } while (!head.compare_exchange_weak(old, call, std::memory_order_acq_rel));
    return Status::InsufficientResources;
  }
  block->call = call;
  auto* addrs = reinterpret_cast<SockAddr*>(block->nodes + count);
  char* text = reinterpret_cast<char*>(addrs + count);
  size_t i = 0;
  for (ADDRINFOEXW* a = call->result; a != nullptr; a = a->ai_next, ++i) {
    AddrInfo& n = block->nodes[i];
    n.flags = a->ai_flags;
    n.family = xwsk_family(a->ai_family);
    n.socktype = a->ai_socktype;
    n.protocol = a->ai_protocol;
    n.addr =
        from_native(reinterpret_cast<const SOCKADDR*>(a->ai_addr), &addrs[i]) ? &addrs[i] : nullptr;
    n.canonical_name = nullptr;
    if (a->ai_canonname != nullptr) {
      const size_t wl = wide_length(a->ai_canonname);
      const int len = wide_to_utf8(a->ai_canonname, wl, text, wl * 3 + 1);
      if (len >= 0) {
        n.canonical_name = text;
        text += len + 1;
      }
    }
    n.next = i + 1 < count ? &block->nodes[i + 1] : nullptr;
  }
  *call->out = block->nodes;
  return Status::Success;
}

/// Completion of WskControlClient with an IRP: transport list conversion, static event mask.
/// IRQL <= DISPATCH_LEVEL. Returns the information (bytes of xwsk output).
uintptr_t finish_control_client(OpState* op, Status st, uintptr_t info) {
  auto* transports = static_cast<WSK_TRANSPORT*>(op->u.ctx);
  if (transports != nullptr) {
    if (nt_success(st)) {
      const size_t n = info / sizeof(WSK_TRANSPORT);
      copy_transports(transports, n, static_cast<Transport*>(op->out1));
      info = n * sizeof(Transport);
    }
    detail::release(transports, detail::kTagMisc);
  }
  if (op->out2 != nullptr && st == Status::Success) {
    static_cast<Client*>(op->out2)->base.static_event_mask.store(op->flags,
                                                                 std::memory_order_release);
  }
  if (op->out0 != nullptr) *static_cast<size_t*>(op->out0) = info;
  return info;
}

/// Completion of WskGetNameInfo: UNICODE_STRINGs -> the caller's UTF-8 buffers.
Status finish_name_info(OpState* op, Status st) {
  auto* call = static_cast<NameInfoCall*>(op->u.ctx);
  if (nt_success(st)) {
    if (call->node_out != nullptr &&
        wide_to_utf8(call->node.Buffer, call->node.Length / sizeof(WCHAR), call->node_out,
                     call->node_size) < 0) {
      st = Status::BufferTooSmall;
    }
    if (call->service_out != nullptr &&
        wide_to_utf8(call->service.Buffer, call->service.Length / sizeof(WCHAR), call->service_out,
                     call->service_size) < 0) {
      st = Status::BufferTooSmall;
    }
  }
  detail::release(call, detail::kTagMisc);
  return st;
}

}  // namespace xwsk::wsk

namespace xwsk::backend {

using namespace xwsk::wsk;

// ---- facts
// ---------------------------------------------------------------------------------------

namespace {

void* pool_allocate(size_t size, uint32_t tag, void* context) {
  (void)context;
  return ExAllocatePoolWithTag(kernel::kNonPagedPool, size == 0 ? 1 : size, tag);
}

void pool_release(void* memory, uint32_t tag, void* context) {
  (void)context;
  ExFreePoolWithTag(memory, tag);
}

}  // namespace

/// Non-paged (NonPagedPoolNx on the WDK), tagged with the core's tag. IRQL <= DISPATCH_LEVEL.
const Allocator kDefaultAllocator = {pool_allocate, pool_release, nullptr};

const char* name() {
#if defined(XWSK_UMWSK)
  // Over umwsk's user-mode provider the transport beneath is the POSIX backend's: cases that
  // depend on the transport (not on WSK) take the user-space branch.
  return "wsk-um";
#else
  return "wsk";
#endif
}

uint32_t capabilities() {
  return provider_profile() == ProviderProfile::kWine8 ? kWine8Caps : kAllCaps;
}

const char* capability_reason(Capability cap) {
  if (provider_profile() != ProviderProfile::kWine8) return "";
  for (const CapReason& r : kWine8Reasons) {
    if (r.cap == cap) return r.reason;
  }
  return "Wine 8.0 netio.sys does not implement it";
}

// ---- registration
// ------------------------------------------------------------------------------------

namespace {

/// WskClientEvent trampoline (client-level events). IRQL <= DISPATCH_LEVEL.
NTSTATUS WINAPI client_event(void* context, ULONG event, void* info, SIZE_T length) {
  auto* c = static_cast<Client*>(context);
  const ClientDispatch* d = c->base.npi.dispatch;
  if (d == nullptr || d->client_event == nullptr) return STATUS_SUCCESS;
  return static_cast<NTSTATUS>(d->client_event(c->base.npi.client_context, event, info, length));
}

constexpr WSK_CLIENT_DISPATCH kWskClientDispatch = {MAKE_WSK_VERSION(1, 0), 0, client_event};

}  // namespace

/// WskRegister + WskCaptureProviderNPI(WSK_INFINITE_WAIT). PASSIVE_LEVEL (the capture waits
/// until the provider is ready).
_IRQL_requires_(PASSIVE_LEVEL) Status client_create(const ClientNpi* npi, Client** out) {
  (void)npi;  // the core keeps the xwsk NPI in base.npi; the provider gets ours
  void* mem = detail::alloc(sizeof(Client), detail::kTagClient);
  if (mem == nullptr) return Status::InsufficientResources;
  auto* c = new (mem) Client();
  c->wsk_npi.ClientContext = c;
  c->wsk_npi.Dispatch = &kWskClientDispatch;
  KeInitializeEvent(&c->sockets_closed, SynchronizationEvent, FALSE);
  KeInitializeSpinLock(&c->lock);
  NTSTATUS st = WskRegister(&c->wsk_npi, &c->registration);
  if (!NT_SUCCESS(st)) {
    detail::release(c, detail::kTagClient);
    return static_cast<Status>(st);
  }
  st = WskCaptureProviderNPI(&c->registration, WSK_INFINITE_WAIT, &c->provider);
  if (!NT_SUCCESS(st)) {
    WskDeregister(&c->registration);
    detail::release(c, detail::kTagClient);
    return static_cast<Status>(st);
  }
  c->captured = true;
  if (provider_profile() == ProviderProfile::kWine8) {
    const Status ws = wine_worker_start(c);
    if (ws != Status::Success) {
      WskReleaseProviderNPI(&c->registration);
      WskDeregister(&c->registration);
      detail::release(c, detail::kTagClient);
      return ws;
    }
  }
  *out = c;
  return Status::Success;
}

/// WAITS (PASSIVE_LEVEL only): until every socket of the client has been closed (the close
/// completion frees the socket and signals sockets_closed) and every capture the client took
/// through capture_provider() is released (release_provider() signals nothing: the wait
/// re-reads the count every 20 ms), then releases the provider NPI and deregisters
/// (WskDeregister itself waits for the provider).
_IRQL_requires_(PASSIVE_LEVEL) void client_destroy(Client* c) {
  for (;;) {
    KIRQL irql;
    KeAcquireSpinLock(&c->lock, &irql);
    const uint32_t live = c->base.sockets.load(std::memory_order_acquire);
    KeReleaseSpinLock(&c->lock, irql);
    const uint32_t captures = c->base.captures.load(std::memory_order_acquire);
    if (live == 0 && captures == 0) break;
    LARGE_INTEGER recheck;
    recheck.QuadPart = -20LL * 10 * 1000;  // 20 ms, relative, in 100 ns units
    KeWaitForSingleObject(&c->sockets_closed, Executive, KernelMode, FALSE, &recheck);
  }
  if (c->worker_running) wine_worker_stop(c);
  // Name-resolution results whose conversion failed at DISPATCH_LEVEL.
  auto* orphan = static_cast<AddrInfoCall*>(c->orphans.exchange(nullptr));
  while (orphan != nullptr) {
    AddrInfoCall* next = orphan->next_orphan;
    c->provider.Dispatch->WskFreeAddressInfo(c->provider.Client, orphan->result);
    release_call(orphan);
    orphan = next;
  }
  if (c->captured) WskReleaseProviderNPI(&c->registration);
  WskDeregister(&c->registration);
  c->base.magic = detail::kDeadMagic;
  detail::release(c, detail::kTagClient);
}

// ---- WskSocket / WskSocketConnect
// ------------------------------------------------------------------

namespace {

/// A not-yet-live Socket carrying the creation parameters until the completion attaches it.
Socket* prepare_socket(Client* client, AddressFamily family, SocketType type, Protocol protocol,
                       uint32_t category, void* context, const void* dispatch) {
  Socket* s = socket_alloc();
  if (s == nullptr) return nullptr;
  s->base.client = client;
  s->base.family = family;
  s->base.type = type;
  s->base.protocol = protocol;
  s->base.category = category;
  s->base.context = context;
  s->base.dispatch = dispatch;
  if (category == kListenSocket || category == kStreamSocket) refill_accept_spares(s);
  return s;
}

}  // namespace

/// WskSocket. PASSIVE_LEVEL (allocates the Socket object; WskSocket itself allows DISPATCH).
_IRQL_requires_(PASSIVE_LEVEL) Status
    socket(Client* client, AddressFamily family, SocketType type, Protocol protocol,
           uint32_t category, void* socket_context, const void* dispatch, Request* req) {
  Socket* s = prepare_socket(client, family, type, protocol, category, socket_context, dispatch);
  if (s == nullptr) return complete_now(req, Status::InsufficientResources, 0);
  IRP* irp = begin_op(req, OpKind::kSocket, nullptr);
  op_of(req)->created = s;
  client->provider.Dispatch->WskSocket(client->provider.Client, native_family(family),
                                       native_socket_type(type), native_protocol(protocol),
                                       native_category(category), s, client_dispatch_for(category),
                                       nullptr, nullptr, nullptr, irp);
  return end_op(req);
}

/// WskSocketConnect (bind + connect in one). PASSIVE_LEVEL.
_IRQL_requires_(PASSIVE_LEVEL) Status
    socket_connect(Client* client, SocketType type, Protocol protocol, const SockAddr* local,
                   const SockAddr* remote, uint32_t flags, void* socket_context,
                   const ConnectionDispatch* dispatch, Request* req) {
  if (provider_lacks(kCapSocketConnect)) return complete_now(req, Status::NotImplemented, 0);
  Socket* s = prepare_socket(client, local->af(), type, protocol, kConnectionSocket, socket_context,
                             dispatch);
  if (s == nullptr) return complete_now(req, Status::InsufficientResources, 0);
  IRP* irp = begin_op(req, OpKind::kSocket, nullptr);
  OpState* op = op_of(req);
  op->created = s;
  to_native(*local, &op->addr[0]);
  to_native(*remote, &op->addr[1]);
  client->provider.Dispatch->WskSocketConnect(
      client->provider.Client, native_socket_type(type), native_protocol(protocol), &op->addr[0].sa,
      &op->addr[1].sa, native_op_flags(flags), s,
      static_cast<const WSK_CLIENT_CONNECTION_DISPATCH*>(client_dispatch_for(kConnectionSocket)),
      nullptr, nullptr, nullptr, irp);
  return end_op(req);
}

// ---- WskControlClient
// ---------------------------------------------------------------------------------

/// WskControlClient. IRQL: PASSIVE_LEVEL (some codes allow DISPATCH_LEVEL; the transport list
/// buffer is allocated here).
_IRQL_requires_(PASSIVE_LEVEL) Status
    control_client(Client* client, uint32_t control_code, size_t input_size, const void* input,
                   size_t output_size, void* output, size_t* output_size_returned, Request* req) {
  if (provider_lacks(kCapControlClient)) {
    return req != nullptr ? complete_now(req, Status::NotImplemented, 0) : Status::NotImplemented;
  }
  const ULONG code = native_control_client(control_code);
  WSK_EVENT_CALLBACK_CONTROL events{};
  void* in = const_cast<void*>(input);
  SIZE_T in_size = input_size;
  void* out = output;
  SIZE_T out_size = output_size;
  WSK_TRANSPORT* transports = nullptr;
  size_t transport_count = 0;
  if (control_code == kSetStaticEventCallbacks) {
    if (input == nullptr || input_size < sizeof(EventCallbackControl)) {
      return req != nullptr ? complete_now(req, Status::InvalidParameter, 0)
                            : Status::InvalidParameter;
    }
    if (client->base.any_socket_created.load(std::memory_order_acquire)) {
      return req != nullptr ? complete_now(req, Status::InvalidDeviceState, 0)
                            : Status::InvalidDeviceState;
    }
    const auto* ctl = static_cast<const EventCallbackControl*>(input);
    events.NpiId = const_cast<PNPIID>(
        ctl->npi_id != nullptr ? static_cast<const NPIID*>(ctl->npi_id) : &NPI_WSK_INTERFACE_ID);
    events.EventMask = native_event_mask(ctl->event_mask);
    in = &events;
    in_size = sizeof(events);
  } else if (control_code == kTransportListQuery && output_size != 0) {
    transport_count = output_size / sizeof(Transport);
    transports = static_cast<WSK_TRANSPORT*>(
        detail::alloc(transport_count * sizeof(WSK_TRANSPORT) + 1, detail::kTagMisc));
    if (transports == nullptr) {
      return req != nullptr ? complete_now(req, Status::InsufficientResources, 0)
                            : Status::InsufficientResources;
    }
    out = transports;
    out_size = transport_count * sizeof(WSK_TRANSPORT);
  }
  Status result;
  SIZE_T returned = 0;
  if (req == nullptr) {
    result = static_cast<Status>(client->provider.Dispatch->WskControlClient(
        client->provider.Client, code, in_size, in, out_size, out, &returned, nullptr));
  } else {
    // Outputs are converted by the completion (finish_control_client): the transport list
    // buffer and the static event mask travel in the op state.
    IRP* irp = begin_op(req, OpKind::kControlClient, nullptr);
    OpState* op = op_of(req);
    op->out0 = output_size_returned;
    op->out1 = transports != nullptr ? output : nullptr;
    op->out2 = control_code == kSetStaticEventCallbacks ? client : nullptr;
    op->u.ctx = transports;
    op->flags = control_code == kSetStaticEventCallbacks
                    ? static_cast<const EventCallbackControl*>(input)->event_mask
                    : 0;
    client->provider.Dispatch->WskControlClient(client->provider.Client, code, in_size, in,
                                                out_size, out, nullptr, irp);
    return end_op(req);
  }
  if (nt_success(result) && transports != nullptr) {
    const size_t n = returned / sizeof(WSK_TRANSPORT);
    copy_transports(transports, n, static_cast<Transport*>(output));
    returned = n * sizeof(Transport);
  }
  detail::release(transports, detail::kTagMisc);
  if (output_size_returned != nullptr) *output_size_returned = returned;
  if (control_code == kSetStaticEventCallbacks && result == Status::Success) {
    client->base.static_event_mask.store(
        static_cast<const EventCallbackControl*>(input)->event_mask, std::memory_order_release);
  }
  return result;
}

// ---- WskGetAddressInfo / WskFreeAddressInfo / WskGetNameInfo
// -------------------------------------------

namespace {

/// The UTF-8 @p text (@p len bytes) as a counted WCHAR string at *w, NUL-terminated; *w moves
/// past it. False when the text is not valid UTF-8.
bool unicode_arg(const char* text, size_t len, WCHAR** w, UNICODE_STRING* out) {
  const int n = utf8_to_wide(text, *w, len + 1);
  if (n < 0) return false;
  out->Buffer = *w;
  out->Length = static_cast<USHORT>(n * sizeof(WCHAR));
  out->MaximumLength = static_cast<USHORT>((n + 1) * sizeof(WCHAR));
  *w += n + 1;
  return true;
}

/// strlen, 0 for null.
size_t text_length(const char* text) {
  size_t n = 0;
  if (text != nullptr) {
    while (text[n] != '\0')
      ++n;
  }
  return n;
}

}  // namespace

/// WskGetAddressInfo. PASSIVE_LEVEL (WSK requires it). Allocates the call context (UTF-16
/// names, hints); the result list is one block allocated at completion.
_IRQL_requires_(PASSIVE_LEVEL) Status
    get_address_info(Client* client, const char* node, const char* service, uint32_t name_space,
                     const AddrInfo* hints, AddrInfo** result, Request* req) {
  const size_t node_len = text_length(node);
  const size_t service_len = text_length(service);
  if (node_len > 1024 || service_len > 1024) {
    return complete_now(req, Status::InvalidParameter, 0);
  }
  const size_t wchars = node_len + 1 + service_len + 1;
  const size_t bytes = offsetof(AddrInfoCall, text) + wchars * sizeof(WCHAR);
  auto* call = static_cast<AddrInfoCall*>(detail::alloc(bytes, detail::kTagAddrInfo));
  if (call == nullptr) return complete_now(req, Status::InsufficientResources, 0);
  RtlZeroMemory(call, bytes);
  call->client = client;
  call->out = result;
  call->bytes = bytes;
  WCHAR* w = call->text;
  if ((node != nullptr && !unicode_arg(node, node_len, &w, &call->node)) ||
      (service != nullptr && !unicode_arg(service, service_len, &w, &call->service))) {
    release_call(call);
    return complete_now(req, Status::InvalidParameter, 0);
  }
  UNICODE_STRING* node_arg = node != nullptr ? &call->node : nullptr;
  UNICODE_STRING* service_arg = service != nullptr ? &call->service : nullptr;
  ADDRINFOEXW* hints_arg = nullptr;
  if (hints != nullptr) {
    call->hints.ai_flags = hints->flags;
    call->hints.ai_family =
        hints->family == 0 ? AF_UNSPEC : native_family(static_cast<AddressFamily>(hints->family));
    call->hints.ai_socktype =
        hints->socktype == 0 ? 0 : native_socket_type(static_cast<SocketType>(hints->socktype));
    call->hints.ai_protocol =
        hints->protocol == 0
            ? 0
            : static_cast<int>(native_protocol(static_cast<Protocol>(hints->protocol)));
    hints_arg = &call->hints;
  }
  IRP* irp = begin_op(req, OpKind::kAddressInfo, nullptr);
  op_of(req)->u.ctx = call;
  client->provider.Dispatch->WskGetAddressInfo(client->provider.Client, node_arg, service_arg,
                                               name_space, nullptr, hints_arg, &call->result,
                                               nullptr, nullptr, irp);
  return end_op(req);
}

/// WskFreeAddressInfo. PASSIVE_LEVEL.
_IRQL_requires_(PASSIVE_LEVEL) void free_address_info(Client* client, AddrInfo* info) {
  AddrInfoBlock* block = block_of(info);
  AddrInfoCall* call = block->call;
  if (call->result != nullptr) {
    client->provider.Dispatch->WskFreeAddressInfo(client->provider.Client, call->result);
  }
  release_call(call);
  detail::release(block, detail::kTagAddrInfo);
}

/// WskGetNameInfo. PASSIVE_LEVEL (WSK requires it).
_IRQL_requires_(PASSIVE_LEVEL) Status
    get_name_info(Client* client, const SockAddr* address, char* node, size_t node_size,
                  char* service, size_t service_size, uint32_t flags, Request* req) {
  if (provider_lacks(kCapNameInfo)) return complete_now(req, Status::NotImplemented, 0);
  const size_t node_w = node != nullptr ? (node_size < 1025 ? node_size : 1025) : 0;
  const size_t service_w = service != nullptr ? (service_size < 257 ? service_size : 257) : 0;
  const size_t bytes = offsetof(NameInfoCall, text) + (node_w + service_w + 1) * sizeof(WCHAR);
  auto* call = static_cast<NameInfoCall*>(detail::alloc(bytes, detail::kTagMisc));
  if (call == nullptr) return complete_now(req, Status::InsufficientResources, 0);
  RtlZeroMemory(call, bytes);
  to_native(*address, &call->addr);
  call->node_out = node;
  call->node_size = node_size;
  call->service_out = service;
  call->service_size = service_size;
  UNICODE_STRING* node_arg = nullptr;
  UNICODE_STRING* service_arg = nullptr;
  if (node != nullptr) {
    call->node.Buffer = call->text;
    call->node.MaximumLength = static_cast<USHORT>(node_w * sizeof(WCHAR));
    node_arg = &call->node;
  }
  if (service != nullptr) {
    call->service.Buffer = call->text + node_w;
    call->service.MaximumLength = static_cast<USHORT>(service_w * sizeof(WCHAR));
    service_arg = &call->service;
  }
  ULONG nflags = 0;
  if ((flags & kNiNumericHost) != 0) nflags |= NI_NUMERICHOST;
  if ((flags & kNiNumericServ) != 0) nflags |= NI_NUMERICSERV;
  const ULONG len =
      address->af() == AddressFamily::Inet6 ? sizeof(SOCKADDR_IN6) : sizeof(SOCKADDR_IN);
  IRP* irp = begin_op(req, OpKind::kNameInfo, nullptr);
  op_of(req)->u.ctx = call;
  client->provider.Dispatch->WskGetNameInfo(client->provider.Client, &call->addr.sa, len, node_arg,
                                            service_arg, nflags, nullptr, nullptr, irp);
  return end_op(req);
}

}  // namespace xwsk::backend
