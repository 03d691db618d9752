// SPDX-License-Identifier: MIT
// The backend-neutral half of every xwsk call: validate the arguments once, accept the request,
// then hand the call to the one backend linked in (namespace xwsk::backend).
#include <atomic>

#include "core.h"
#include "rules.h"
#include "xwsk/xwsk.h"

namespace xwsk {
namespace detail {

LiveCounters g_counters{};

namespace {

const Allocator* g_allocator = &backend::kDefaultAllocator;

// Category bits for the "which categories may call this" masks (basic is 0 in WSK).
constexpr uint32_t kCatBasic = 0x10;
constexpr uint32_t kCatListen = kListenSocket;
constexpr uint32_t kCatConnection = kConnectionSocket;
constexpr uint32_t kCatDatagram = kDatagramSocket;
constexpr uint32_t kCatStreamListening = 0x20;  // stream socket after listen()
constexpr uint32_t kCatStream = kStreamSocket;  // stream socket not (yet) listening
constexpr uint32_t kCatAll =
    kCatBasic | kCatListen | kCatConnection | kCatDatagram | kCatStream | kCatStreamListening;

uint32_t category_bit(const SocketBase* b) {
  switch (b->category) {
    case kBasicSocket:
      return kCatBasic;
    case kStreamSocket:
      return b->listening ? kCatStreamListening : kCatStream;
    default:
      return b->category;
  }
}

uint32_t request_state(const Request* req) {
  return std::atomic_ref<const uint32_t>(req->priv.state).load(std::memory_order_acquire);
}
void set_request_state(Request* req, uint32_t st) {
  std::atomic_ref<uint32_t>(req->priv.state).store(st, std::memory_order_release);
}

// Validation shared by every socket operation. Returns Success when the call may proceed.
Status check_socket(Socket* s, uint32_t categories, Request* req) {
  if (req == nullptr) return Status::InvalidParameter;
  if (s == nullptr) return Status::InvalidHandle;
  SocketBase* b = base_of(s);
  if (b->magic != kSocketMagic) return Status::InvalidHandle;
  if (b->closing.load(std::memory_order_acquire) != 0) return Status::FileClosed;
  if ((category_bit(b) & categories) == 0) return Status::InvalidDeviceRequest;
  if (request_state(req) != kIdle) return Status::DeviceBusy;
  return Status::Success;
}

Status check_client(Client* c, Request* req) {
  if (req == nullptr) return Status::InvalidParameter;
  if (c == nullptr || base_of(c)->magic != kClientMagic) return Status::InvalidHandle;
  if (request_state(req) != kIdle) return Status::DeviceBusy;
  return Status::Success;
}

bool address_ok(const SockAddr* a) {
  return a != nullptr && (a->af() == AddressFamily::Inet || a->af() == AddressFamily::Inet6);
}

bool address_fits_socket(const SockAddr* a, const SocketBase* b) {
  return address_ok(a) && a->af() == b->family;
}

// Takes the request from idle to in flight in one atomic step, so two threads handing the same
// request to xwsk at once cannot both have it accepted: the loser gets DeviceBusy.
[[nodiscard]] bool accept_request(Request* req, Socket* s) {
  uint32_t idle = kIdle;
  if (!std::atomic_ref<uint32_t>(req->priv.state)
           .compare_exchange_strong(idle, kInFlight, std::memory_order_acq_rel)) {
    return false;
  }
  req->status = Status::Pending;
  req->information = 0;
  req->priv.next = nullptr;
  req->priv.run = nullptr;
  req->priv.socket = s;
  g_counters.requests_in_flight.fetch_add(1, std::memory_order_relaxed);
  return true;
}

constexpr uint32_t kConnectionEvents = kEventReceive | kEventDisconnect | kEventSendBacklog;

// The events each category may enable. A listening socket may also enable the connection events:
// they are not raised on it but inherited by the sockets its accept event takes (WSK,
// SO_WSK_EVENT_CALLBACK).
uint32_t events_for(const SocketBase* b) {
  switch (b->category) {
    case kListenSocket:
    case kStreamSocket:
      return kEventAccept | kConnectionEvents;
    case kDatagramSocket:
      return kEventReceiveFrom;
    case kConnectionSocket:
      return kConnectionEvents;
    default:
      return 0;
  }
}

bool accepts_connections(const SocketBase* b) {
  return b->category == kListenSocket || (b->category == kStreamSocket && b->listening);
}

bool has_callback(const SocketBase* b, uint32_t event) {
  const ListenDispatch* l = listen_dispatch(b);
  const ConnectionDispatch* c = connection_dispatch(b);
  switch (event) {
    case kEventAccept:
      return l != nullptr && l->accept != nullptr;
    case kEventReceiveFrom:
      return b->category == kDatagramSocket && b->dispatch != nullptr &&
             static_cast<const DatagramDispatch*>(b->dispatch)->receive_from != nullptr;
    case kEventReceive:
      return c != nullptr && c->receive != nullptr;
    case kEventDisconnect:
      return c != nullptr && c->disconnect != nullptr;
    case kEventSendBacklog:
      return c != nullptr && c->send_backlog != nullptr;
    default:
      return false;
  }
}

bool single_bit(uint32_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// What the core learns from a completion (CoreOp), before the routine sees it.
void note_completion(Request* req, Status status, uintptr_t information) {
  uint32_t op = req->core_op;
  if (op == kCoreOpNone) return;
  req->core_op = kCoreOpNone;
  if (status != Status::Success) return;
  SocketBase* target =
      op == kCoreOpSocket ? reinterpret_cast<SocketBase*>(information) : base_of(req->priv.socket);
  if (target == nullptr) return;
  const uint32_t bit = op == kCoreOpSocket ? kCoreFresh
                       : op == kCoreOpBind ? kCoreBound
                                           : kCoreConnected;
  target->core_state.fetch_or(bit, std::memory_order_acq_rel);
}

// Binds Windows refuses before the transport sees them.
Status decide_bind(const SocketBase* b) {
  // WskBind on a UDP socket of the listen category: STATUS_NOT_IMPLEMENTED, information 0.
  if (b->category == kListenSocket && b->type != SocketType::Stream) {
    return Status::NotImplemented;
  }
  return Status::Success;
}

}  // namespace

void* alloc(size_t size, uint32_t tag) {
  void* p = g_allocator->allocate(size, tag, g_allocator->context);
  if (p != nullptr) g_counters.allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void release(void* memory, uint32_t tag) {
  if (memory == nullptr) return;
  g_counters.allocations.fetch_sub(1, std::memory_order_relaxed);
  g_allocator->release(memory, tag, g_allocator->context);
}

Status complete(Request* req, Status status, uintptr_t information) {
  note_completion(req, status, information);
  req->status = status;
  req->information = information;
  req->priv.socket = nullptr;
  g_counters.requests_in_flight.fetch_sub(1, std::memory_order_relaxed);
  set_request_state(req, kIdle);
  req->routine(req, req->context);
  return status;
}

bool buf_fits(const Buf* buf) {
  if (buf == nullptr) return false;
  // The whole chain is walked, bounded: a chain longer than kMaxChainSegments is refused, and so
  // is one that loops back on itself (it never ends, so it runs past the bound).
  size_t skip = buf->offset;
  size_t need = buf->length;
  bool first = true;
  size_t count = 0;
  for (const Segment* seg = buf->segment; seg != nullptr; seg = seg->next) {
    if (++count > kMaxChainSegments) return false;
    if (seg->data == nullptr && seg->length != 0) return false;
    size_t avail = seg->length;
    if (first) {
      if (skip > avail && need != 0) return false;
      avail -= skip < avail ? skip : avail;
      first = false;
    }
    need -= avail < need ? avail : need;
  }
  return need == 0;
}

const ListenDispatch* listen_dispatch(const SocketBase* b) {
  if (b->dispatch == nullptr) return nullptr;
  if (b->category == kListenSocket) return static_cast<const ListenDispatch*>(b->dispatch);
  if (b->category == kStreamSocket) return static_cast<const StreamDispatch*>(b->dispatch)->listen;
  return nullptr;
}

const ConnectionDispatch* connection_dispatch(const SocketBase* b) {
  if (b->dispatch == nullptr) return nullptr;
  if (b->category == kConnectionSocket) {
    return static_cast<const ConnectionDispatch*>(b->dispatch);
  }
  if (b->category == kStreamSocket) {
    return static_cast<const StreamDispatch*>(b->dispatch)->connection;
  }
  return nullptr;
}

void init_socket_base(SocketBase* b, Client* client, AddressFamily family, SocketType type,
                      Protocol protocol, uint32_t category, void* context, const void* dispatch) {
  b->magic = kSocketMagic;
  b->category = category;
  b->family = family;
  b->type = type;
  b->protocol = protocol;
  b->closing.store(0, std::memory_order_relaxed);
  b->client = client;
  b->context = context;
  b->dispatch = dispatch;
  // A datagram socket of the listen category (Windows creates one) never listens.
  b->listening = category == kListenSocket && type == SocketType::Stream;
  b->core_state.store(0, std::memory_order_relaxed);
  // Static event callbacks (WSK_SET_STATIC_EVENT_CALLBACKS) apply to every new socket whose
  // category and dispatch table can take them.
  ClientBase* cb = base_of(client);
  b->event_mask.store(static_event_mask(b), std::memory_order_release);
  cb->any_socket_created.store(true, std::memory_order_release);
  cb->sockets.fetch_add(1, std::memory_order_acq_rel);
  g_counters.sockets.fetch_add(1, std::memory_order_relaxed);
}

void fini_socket_base(SocketBase* b) {
  b->magic = kDeadMagic;
  base_of(b->client)->sockets.fetch_sub(1, std::memory_order_acq_rel);
  g_counters.sockets.fetch_sub(1, std::memory_order_relaxed);
}

uint32_t static_event_mask(const SocketBase* b) {
  uint32_t mask =
      base_of(b->client)->static_event_mask.load(std::memory_order_acquire) & events_for(b);
  uint32_t enabled = 0;
  for (uint32_t bit = 1; bit != 0 && bit <= mask; bit <<= 1) {
    if ((mask & bit) != 0 && has_callback(b, bit)) enabled |= bit;
  }
  return enabled;
}

uint32_t inherited_event_mask(const SocketBase* listener, const SocketBase* accepted) {
  // Static events apply to the accepted socket now that its dispatch is known; connection events
  // enabled on the listener are inherited when the accept event took the socket.
  uint32_t candidates =
      base_of(accepted->client)->static_event_mask.load(std::memory_order_acquire) &
      events_for(accepted);
  if (accepts_connections(listener)) {
    candidates |= listener->event_mask.load(std::memory_order_acquire) & kConnectionEvents;
  }
  uint32_t mask = accepted->event_mask.load(std::memory_order_acquire);
  for (uint32_t bit = 1; bit != 0 && bit <= candidates; bit <<= 1) {
    if ((candidates & bit) != 0 && has_callback(accepted, bit)) mask |= bit;
  }
  return mask;
}

}  // namespace detail

using namespace detail;

// ---- requests ---------------------------------------------------------------------------------

Status request_init(Request* req, CompletionRoutine routine, void* context) {
  if (req == nullptr || routine == nullptr) return Status::InvalidParameter;
  if (request_state(req) == kInFlight) return Status::DeviceBusy;
  req->status = Status::Success;
  req->information = 0;
  req->routine = routine;
  req->context = context;
  req->priv = RequestPrivate{};
  req->core_op = kCoreOpNone;
  return backend::request_init(req);
}

Status request_set_completion(Request* req, CompletionRoutine routine, void* context) {
  if (req == nullptr || routine == nullptr) return Status::InvalidParameter;
  if (request_state(req) != kIdle) return Status::DeviceBusy;
  req->routine = routine;
  req->context = context;
  return Status::Success;
}

bool request_pending(const Request* req) {
  return req != nullptr && request_state(req) != kIdle;
}

Status request_free(Request* req) {
  if (req == nullptr) return Status::InvalidParameter;
  if (request_state(req) != kIdle) return Status::DeviceBusy;
  backend::request_free(req);
  return Status::Success;
}

// ---- buffers ------------------------------------------------------------------------------------

Status segment_init(Segment* seg, void* data, size_t length) {
  if (seg == nullptr || (data == nullptr && length != 0)) return Status::InvalidParameter;
  seg->next = nullptr;
  seg->data = data;
  seg->length = length;
  seg->native = nullptr;
  return backend::segment_init(seg, data, length);
}

void segment_free(Segment* seg) {
  if (seg == nullptr) return;
  backend::segment_free(seg);
  seg->native = nullptr;
}

// ---- registration -------------------------------------------------------------------------------

namespace {
// reserved[2] seals reserved[0], so a registration that was never zeroed (garbage) is not taken
// for a registered one and its garbage pointer is never followed.
void* registration_seal(Client* c) {
  return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(c) ^ uintptr_t{0x5eA1ed0c});
}
Client* registered_client(const Registration* registration) {
  Client* c = static_cast<Client*>(registration->reserved[0]);
  if (c == nullptr || registration->reserved[2] != registration_seal(c)) return nullptr;
  return base_of(c)->magic == kClientMagic ? c : nullptr;
}
}  // namespace

Status register_client(const ClientNpi* npi, Registration* registration) {
  if (npi == nullptr || registration == nullptr || npi->dispatch == nullptr) {
    return Status::InvalidParameter;
  }
  if ((npi->dispatch->version >> 8) != 1) return Status::NotSupported;
  // WSK: each registration instance needs its own WSK_REGISTRATION. One still registered (its
  // client alive) is refused, so the first client is not orphaned.
  if (registered_client(registration) != nullptr) return Status::InvalidParameter;
  Client* c = nullptr;
  Status st = backend::client_create(npi, &c);
  if (st != Status::Success) return st;
  ClientBase* cb = base_of(c);
  cb->magic = kClientMagic;
  cb->dispatch_copy = *npi->dispatch;
  cb->npi.client_context = npi->client_context;
  cb->npi.dispatch = &cb->dispatch_copy;
  cb->registration = registration;
  cb->captures.store(0, std::memory_order_relaxed);
  cb->sockets.store(0, std::memory_order_relaxed);
  cb->static_event_mask.store(0, std::memory_order_relaxed);
  cb->any_socket_created.store(false, std::memory_order_relaxed);
  cb->deregistering.store(0, std::memory_order_relaxed);
  for (void*& r : registration->reserved)
    r = nullptr;
  registration->reserved[0] = c;
  registration->reserved[2] = registration_seal(c);
  g_counters.registrations.fetch_add(1, std::memory_order_relaxed);
  return Status::Success;
}

namespace {
// Registration::reserved[0] is the client while it is registered; deregister_client() moves it
// to reserved[1] for as long as it waits, so that captures can still be released meanwhile.
// Other threads capture and release while deregister_client() waits: both slots are read and
// written atomically.
void* slot_load(Registration* registration, int i) {
  return std::atomic_ref<void*>(registration->reserved[i]).load(std::memory_order_acquire);
}
void slot_store(Registration* registration, int i, void* v) {
  std::atomic_ref<void*>(registration->reserved[i]).store(v, std::memory_order_release);
}

Client* client_of(Registration* registration, bool deregistering_too) {
  if (registration == nullptr) return nullptr;
  Client* c = static_cast<Client*>(slot_load(registration, 0));
  if (c == nullptr && deregistering_too) c = static_cast<Client*>(slot_load(registration, 1));
  if (c == nullptr || base_of(c)->magic != kClientMagic) return nullptr;
  return c;
}
}  // namespace

Status capture_provider(Registration* registration, uint32_t wait_timeout_ms, ProviderNpi* out) {
  (void)wait_timeout_ms;  // user-space providers are ready as soon as the client is registered
  Client* c = client_of(registration, true);
  if (c == nullptr || out == nullptr) return Status::InvalidParameter;
  // WSK: once WskDeregister was called, captures fail with STATUS_DEVICE_NOT_READY.
  if (base_of(c)->deregistering.load(std::memory_order_acquire) != 0) {
    return Status::DeviceNotReady;
  }
  base_of(c)->captures.fetch_add(1, std::memory_order_acq_rel);
  out->client = c;
  out->version = kWskVersion;
  return Status::Success;
}

void release_provider(Registration* registration) {
  Client* c = client_of(registration, true);
  if (c == nullptr) return;
  std::atomic<uint32_t>& n = base_of(c)->captures;
  uint32_t cur = n.load(std::memory_order_acquire);
  while (cur != 0 && !n.compare_exchange_weak(cur, cur - 1, std::memory_order_acq_rel)) {
  }
}

void deregister_client(Registration* registration) {
  Client* c = client_of(registration, false);
  if (c == nullptr) return;
  base_of(c)->deregistering.store(1, std::memory_order_release);
  slot_store(registration, 1, c);  // release_provider() still finds it while we wait
  slot_store(registration, 0, nullptr);
  slot_store(registration, 2, nullptr);
  backend::client_destroy(c);  // waits for captures and sockets; frees c (magic cleared)
  slot_store(registration, 1, nullptr);
  if (g_counters.registrations.fetch_sub(1, std::memory_order_acq_rel) == 1) quarantine_flush();
}

// ---- client-level operations --------------------------------------------------------------------

Status socket(Client* client, AddressFamily family, SocketType type, Protocol protocol,
              uint32_t category, void* socket_context, const void* dispatch, Request* req) {
  Status st = check_client(client, req);
  if (st != Status::Success) return st;
  if (!accept_request(req, nullptr)) return Status::DeviceBusy;
  bool family_ok = family == AddressFamily::Inet || family == AddressFamily::Inet6;
  bool category_ok = category == kBasicSocket || category == kListenSocket ||
                     category == kConnectionSocket || category == kDatagramSocket ||
                     category == kStreamSocket;
  bool combo_ok = false;
  switch (type) {
    case SocketType::Stream:
      combo_ok = (protocol == Protocol::Tcp || protocol == Protocol::Default) &&
                 category != kDatagramSocket;
      break;
    case SocketType::Datagram:
      // Windows also creates a UDP socket of the listen category (its bind then fails with
      // NotImplemented, see bind()).
      combo_ok =
          (protocol == Protocol::Udp || protocol == Protocol::Default) &&
          (category == kDatagramSocket || category == kBasicSocket || category == kListenSocket);
      break;
    case SocketType::Raw:
      combo_ok = category == kDatagramSocket || category == kBasicSocket;
      break;
  }
  if (!family_ok || !category_ok || !combo_ok) {
    return complete(req, Status::InvalidParameter, 0);
  }
  if (protocol == Protocol::Default) {
    protocol = type == SocketType::Stream     ? Protocol::Tcp
               : type == SocketType::Datagram ? Protocol::Udp
                                              : protocol;
  }
  req->core_op = kCoreOpSocket;
  return backend::socket(client, family, type, protocol, category, socket_context, dispatch, req);
}

Status socket_connect(Client* client, SocketType type, Protocol protocol, const SockAddr* local,
                      const SockAddr* remote, uint32_t flags, void* socket_context,
                      const ConnectionDispatch* dispatch, Request* req) {
  Status st = check_client(client, req);
  if (st != Status::Success) return st;
  if (!address_ok(local) || !address_ok(remote) || local->family != remote->family) {
    return Status::InvalidParameter;
  }
  if (type != SocketType::Stream || (protocol != Protocol::Tcp && protocol != Protocol::Default)) {
    return Status::InvalidParameter;
  }
  if (!accept_request(req, nullptr)) return Status::DeviceBusy;
  return backend::socket_connect(client, type, Protocol::Tcp, local, remote, flags, socket_context,
                                 dispatch, req);
}

Status control_client(Client* client, uint32_t control_code, size_t input_size, const void* input,
                      size_t output_size, void* output, size_t* output_size_returned,
                      Request* req) {
  if (client == nullptr || base_of(client)->magic != kClientMagic) return Status::InvalidHandle;
  if ((input_size != 0 && input == nullptr) || (output_size != 0 && output == nullptr)) {
    return Status::InvalidParameter;
  }
  if (req == nullptr) {
    // WSK allows a null IRP for the codes that complete at once; the status is returned.
    if (control_code == kTransportListChange) return Status::InvalidParameter;
    return backend::control_client(client, control_code, input_size, input, output_size, output,
                                   output_size_returned, nullptr);
  }
  if (request_state(req) != kIdle) return Status::DeviceBusy;
  if (!accept_request(req, nullptr)) return Status::DeviceBusy;
  return backend::control_client(client, control_code, input_size, input, output_size, output,
                                 output_size_returned, req);
}

Status get_address_info(Client* client, const char* node, const char* service, uint32_t name_space,
                        const AddrInfo* hints, AddrInfo** result, Request* req) {
  Status st = check_client(client, req);
  if (st != Status::Success) return st;
  if (result == nullptr || (node == nullptr && service == nullptr)) {
    return Status::InvalidParameter;
  }
  *result = nullptr;
  if (!accept_request(req, nullptr)) return Status::DeviceBusy;
  return backend::get_address_info(client, node, service, name_space, hints, result, req);
}

void free_address_info(Client* client, AddrInfo* info) {
  if (client == nullptr || info == nullptr || base_of(client)->magic != kClientMagic) return;
  backend::free_address_info(client, info);
}

Status get_name_info(Client* client, const SockAddr* address, char* node, size_t node_size,
                     char* service, size_t service_size, uint32_t flags, Request* req) {
  Status st = check_client(client, req);
  if (st != Status::Success) return st;
  if (!address_ok(address) || (node == nullptr && service == nullptr) ||
      (node != nullptr && node_size == 0) || (service != nullptr && service_size == 0)) {
    return Status::InvalidParameter;
  }
  if (!accept_request(req, nullptr)) return Status::DeviceBusy;
  return backend::get_name_info(client, address, node, node_size, service, service_size, flags,
                                req);
}

// ---- socket operations --------------------------------------------------------------------------

namespace {
constexpr uint32_t kConn = kCatConnection | kCatStream;
constexpr uint32_t kLsn = kCatListen | kCatStreamListening;
}  // namespace

Status bind(Socket* s, const SockAddr* local, uint32_t flags, Request* req) {
  // WSK_PROVIDER_BASIC_DISPATCH has no WskBind: a basic socket cannot be bound.
  Status st = check_socket(s, kCatAll & ~(kCatStreamListening | kCatBasic), req);
  if (st != Status::Success) return st;
  if (!address_fits_socket(local, base_of(s))) return Status::InvalidParameter;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  if (Status decided = decide_bind(base_of(s)); decided != Status::Success) {
    return complete(req, decided, 0);
  }
  req->core_op = kCoreOpBind;
  return backend::bind(s, local, flags, req);
}

Status listen(Socket* s, Request* req) {
  Status st = check_socket(s, kCatStream, req);
  if (st != Status::Success) return st;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  if (!is_bound(base_of(s))) return complete(req, Status::InvalidDeviceState, 0);
  return backend::listen(s, req);
}

Status accept(Socket* s, uint32_t flags, void* accept_socket_context,
              const ConnectionDispatch* dispatch, SockAddr* local, SockAddr* remote, Request* req) {
  Status st = check_socket(s, kLsn, req);
  if (st != Status::Success) return st;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  return backend::accept(s, flags, accept_socket_context, dispatch, local, remote, req);
}

Status connect(Socket* s, const SockAddr* remote, uint32_t flags, Request* req) {
  Status st = check_socket(s, kConn, req);
  if (st != Status::Success) return st;
  if (!address_fits_socket(remote, base_of(s))) return Status::InvalidParameter;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  if (!is_bound(base_of(s))) return complete(req, Status::InvalidDeviceState, 0);  // as WSK
  req->core_op = kCoreOpConnect;
  return backend::connect(s, remote, flags, req);
}

Status connect_ex(Socket* s, const SockAddr* remote, const Buf* data, uint32_t flags,
                  Request* req) {
  Status st = check_socket(s, kConn, req);
  if (st != Status::Success) return st;
  if (!address_fits_socket(remote, base_of(s))) return Status::InvalidParameter;
  if (data != nullptr && !buf_fits(data)) return Status::InvalidParameter;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  if (!is_bound(base_of(s))) return complete(req, Status::InvalidDeviceState, 0);  // as WSK
  req->core_op = kCoreOpConnect;
  return backend::connect_ex(s, remote, data, flags, req);
}

Status send(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  Status st = check_socket(s, kConn, req);
  if (st != Status::Success) return st;
  if (!buf_fits(buf)) return Status::InvalidParameter;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  return backend::send(s, buf, flags, req);
}

Status receive(Socket* s, const Buf* buf, uint32_t flags, Request* req) {
  Status st = check_socket(s, kConn, req);
  if (st != Status::Success) return st;
  if (!buf_fits(buf)) return Status::InvalidParameter;
  if ((flags & kFlagWaitAll) != 0 && (flags & kFlagDrain) != 0) return Status::InvalidParameter;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  return backend::receive(s, buf, flags, req);
}

Status disconnect(Socket* s, const Buf* final_data, uint32_t flags, Request* req) {
  Status st = check_socket(s, kConn, req);
  if (st != Status::Success) return st;
  if (final_data != nullptr && !buf_fits(final_data)) return Status::InvalidParameter;
  if (final_data != nullptr && (flags & kFlagAbortive) != 0) return Status::InvalidParameter;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  return backend::disconnect(s, final_data, flags, req);
}

Status send_to(Socket* s, const Buf* buf, uint32_t flags, const SockAddr* remote,
               size_t control_length, const void* control, Request* req) {
  Status st = check_socket(s, kCatDatagram, req);
  if (st != Status::Success) return st;
  if (!buf_fits(buf) || (remote != nullptr && !address_fits_socket(remote, base_of(s))) ||
      (control_length != 0 && control == nullptr)) {
    return Status::InvalidParameter;
  }
  if (!accept_request(req, s)) return Status::DeviceBusy;
  // No fixed remote address can be set (SIO_WSK_SET_REMOTE_ADDRESS is not mapped), so a
  // datagram without a remote address has nowhere to go: the parameter WSK requires is missing.
  if (remote == nullptr) return complete(req, Status::InvalidParameter, 0);
  return backend::send_to(s, buf, flags, remote, control_length, control, req);
}

Status receive_from(Socket* s, const Buf* buf, uint32_t flags, SockAddr* remote,
                    size_t* control_length, void* control, uint32_t* control_flags, Request* req) {
  Status st = check_socket(s, kCatDatagram, req);
  if (st != Status::Success) return st;
  if (!buf_fits(buf) || (control_length != nullptr && *control_length != 0 && control == nullptr)) {
    return Status::InvalidParameter;
  }
  if (!accept_request(req, s)) return Status::DeviceBusy;
  return backend::receive_from(s, buf, flags, remote, control_length, control, control_flags, req);
}

Status send_messages(Socket* s, BufList* list, uint32_t flags, const SockAddr* remote,
                     size_t control_length, const void* control, Request* req) {
  Status st = check_socket(s, kCatDatagram, req);
  if (st != Status::Success) return st;
  if (list == nullptr || (remote != nullptr && !address_fits_socket(remote, base_of(s))) ||
      (control_length != 0 && control == nullptr)) {
    return Status::InvalidParameter;
  }
  size_t datagrams = 0;
  for (BufList* e = list; e != nullptr; e = e->next) {
    if (++datagrams > kMaxChainSegments || !buf_fits(&e->buffer)) return Status::InvalidParameter;
  }
  if (!accept_request(req, s)) return Status::DeviceBusy;
  if (remote == nullptr) return complete(req, Status::InvalidParameter, 0);  // as send_to
  return backend::send_messages(s, list, flags, remote, control_length, control, req);
}

Status get_local_address(Socket* s, SockAddr* local, Request* req) {
  Status st = check_socket(s, kCatAll & ~kCatBasic, req);  // not in the basic dispatch
  if (st != Status::Success) return st;
  if (local == nullptr) return Status::InvalidParameter;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  if (!is_bound(base_of(s))) return complete(req, Status::InvalidDeviceState, 0);  // as WSK
  return backend::get_local_address(s, local, req);
}

Status get_remote_address(Socket* s, SockAddr* remote, Request* req) {
  Status st = check_socket(s, kConn, req);
  if (st != Status::Success) return st;
  if (remote == nullptr) return Status::InvalidParameter;
  if (!accept_request(req, s)) return Status::DeviceBusy;
  // WskGetRemoteAddress: not connected → STATUS_INVALID_DEVICE_STATE, returned by the call.
  if (!was_connected(base_of(s))) return complete(req, Status::InvalidDeviceState, 0);
  return backend::get_remote_address(s, remote, req);
}

Status release_data_indications(Socket* s, DataIndication* list) {
  if (s == nullptr || base_of(s)->magic != kSocketMagic) return Status::InvalidHandle;
  if ((category_bit(base_of(s)) & kConn) == 0) return Status::InvalidDeviceRequest;
  if (list == nullptr) return Status::InvalidParameter;
  return backend::release_data_indications(s, list);
}

Status release_datagram_indications(Socket* s, DatagramIndication* list) {
  if (s == nullptr || base_of(s)->magic != kSocketMagic) return Status::InvalidHandle;
  if ((category_bit(base_of(s)) & kCatDatagram) == 0) return Status::InvalidDeviceRequest;
  if (list == nullptr) return Status::InvalidParameter;
  return backend::release_datagram_indications(s, list);
}

Status inspect_complete(Socket* s, const InspectId* inspect_id, InspectAction action,
                        Request* req) {
  Status st = check_socket(s, kLsn, req);
  if (st != Status::Success) return st;
  if (inspect_id == nullptr ||
      (action != InspectAction::Accept && action != InspectAction::Reject)) {
    return Status::InvalidParameter;
  }
  if (!accept_request(req, s)) return Status::DeviceBusy;
  return backend::inspect_complete(s, inspect_id, action, req);
}

namespace {

Status change_events(Socket* s, size_t input_size, const void* input) {
  SocketBase* b = base_of(s);
  if (input == nullptr || input_size < sizeof(EventCallbackControl)) {
    return Status::InvalidParameter;
  }
  uint32_t mask = static_cast<const EventCallbackControl*>(input)->event_mask;
  uint32_t events = mask & ~kEventDisable;
  uint32_t allowed = events_for(b);
  if (events == 0 || (events & ~allowed) != 0) return Status::InvalidParameter;
  uint32_t static_events =
      base_of(b->client)->static_event_mask.load(std::memory_order_acquire) & allowed;
  uint32_t old_mask = b->event_mask.load(std::memory_order_acquire);
  uint32_t new_mask;
  if ((mask & kEventDisable) != 0) {
    if (!single_bit(events)) return Status::InvalidParameter;  // disable one event at a time
    // Static events, and connection events enabled on a listening socket, stay enabled.
    if ((events & static_events) != 0) return Status::InvalidParameter;
    if (b->category == kListenSocket && (events & kConnectionEvents) != 0) {
      return Status::InvalidParameter;
    }
    new_mask = old_mask & ~events;
  } else {
    for (uint32_t bit = 1; bit != 0 && bit <= events; bit <<= 1) {
      if ((events & bit) == 0) continue;
      // Connection events on a listening socket are checked against the dispatch the accept
      // event hands out, when it does.
      bool inherited = (bit & kConnectionEvents) != 0 && b->category == kListenSocket;
      if (!inherited && !has_callback(b, bit)) return Status::InvalidParameter;
    }
    new_mask = old_mask | events;
  }
  if (new_mask == old_mask) return Status::Success;
  return backend::set_event_mask(s, old_mask, new_mask);
}

}  // namespace

Status control_socket(Socket* s, ControlType type, uint32_t control_code, uint32_t level,
                      size_t input_size, const void* input, size_t output_size, void* output,
                      size_t* output_size_returned, Request* req) {
  bool events =
      type == ControlType::SetOption && level == kSolSocket && control_code == kSoWskEventCallback;
  if (events && req == nullptr) {
    // WSK completes SO_WSK_EVENT_CALLBACK without an IRP.
    if (s == nullptr || base_of(s)->magic != kSocketMagic) return Status::InvalidHandle;
    if (base_of(s)->closing.load(std::memory_order_acquire) != 0) return Status::FileClosed;
    return change_events(s, input_size, input);
  }
  Status st = check_socket(s, kCatAll, req);
  if (st != Status::Success) return st;
  if ((input_size != 0 && input == nullptr) || (output_size != 0 && output == nullptr) ||
      (type != ControlType::SetOption && type != ControlType::GetOption &&
       type != ControlType::Ioctl)) {
    return Status::InvalidParameter;
  }
  if (events) {
    // With a request, SO_WSK_EVENT_CALLBACK completes it with the outcome, whatever it is.
    if (!accept_request(req, s)) return Status::DeviceBusy;
    st = change_events(s, input_size, input);
    if (output_size_returned != nullptr) *output_size_returned = 0;
    return complete(req, st, 0);
  }
  if (!accept_request(req, s)) return Status::DeviceBusy;
  if (Status decided = option_rule(base_of(s), type, level, control_code);
      decided != Status::Success) {
    if (output_size_returned != nullptr) *output_size_returned = 0;
    return complete(req, decided, 0);
  }
  return backend::control_socket(s, type, control_code, level, input_size, input, output_size,
                                 output, output_size_returned, req);
}

Status close_socket(Socket* s, Request* req) {
  Status st = check_socket(s, kCatAll, req);
  if (st != Status::Success) return st;
  uint32_t expected = 0;
  if (!base_of(s)->closing.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    return Status::FileClosed;
  }
  if (!accept_request(req, s)) {
    base_of(s)->closing.store(0, std::memory_order_release);  // not closed: the request was busy
    return Status::DeviceBusy;
  }
  return backend::close_socket(s, req);
}

// ---- facts, allocator, counters -----------------------------------------------------------------

const char* backend_name() {
  return backend::name();
}
uint32_t backend_capabilities() {
  return backend::capabilities();
}
const char* capability_reason(Capability cap) {
  if ((backend::capabilities() & cap) != 0) return "";
  const char* r = backend::capability_reason(cap);
  return r != nullptr ? r : "not supported by this backend";
}

Status set_allocator(const Allocator* allocator) {
  if (g_counters.registrations.load(std::memory_order_acquire) != 0) {
    return Status::InvalidDeviceState;
  }
  if (allocator != nullptr && (allocator->allocate == nullptr || allocator->release == nullptr)) {
    return Status::InvalidParameter;
  }
  g_allocator = allocator != nullptr ? allocator : &backend::kDefaultAllocator;
  return Status::Success;
}

Counters counters() {
  Counters c{};
  c.registrations = g_counters.registrations.load(std::memory_order_relaxed);
  c.sockets = g_counters.sockets.load(std::memory_order_relaxed);
  c.requests_in_flight = g_counters.requests_in_flight.load(std::memory_order_relaxed);
  c.allocations = g_counters.allocations.load(std::memory_order_relaxed);
  c.retained_indications = g_counters.retained_indications.load(std::memory_order_relaxed);
  return c;
}

}  // namespace xwsk
