// SPDX-License-Identifier: MIT
/// @file resolve.cpp
/// @brief get_address_info / get_name_info. getaddrinfo and getnameinfo block, so they run
/// on a resolver thread the client starts on first use; the result is handed back to the loop
/// thread, which completes the request.
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "backend.h"

namespace xwsk::posix {
namespace {

int native_ni_flags(uint32_t flags) {
  int f = 0;
  if ((flags & 0x01) != 0) f |= NI_NOFQDN;
  if ((flags & kNiNumericHost) != 0) f |= NI_NUMERICHOST;
  if ((flags & 0x04) != 0) f |= NI_NAMEREQD;
  if ((flags & kNiNumericServ) != 0) f |= NI_NUMERICSERV;
  if ((flags & 0x10) != 0) f |= NI_DGRAM;
  return f;
}

/// The socket types an address list names, as (xwsk, native) pairs; 0 for any other.
struct SockTypePair {
  SocketType type;
  int native;
};
constexpr SockTypePair kSockTypes[] = {{SocketType::Stream, SOCK_STREAM},
                                       {SocketType::Datagram, SOCK_DGRAM},
                                       {SocketType::Raw, SOCK_RAW}};

int32_t xwsk_socktype(int t) {
  for (const SockTypePair& p : kSockTypes) {
    if (p.native == t) return static_cast<int32_t>(p.type);
  }
  return 0;
}

int native_socktype(int32_t t) {
  for (const SockTypePair& p : kSockTypes) {
    if (static_cast<int32_t>(p.type) == t) return p.native;
  }
  return 0;
}

/// Converts a native list into an xwsk list (each node one allocation: AddrInfo, SockAddr and
/// the canonical name). Returns null and sets *st when out of memory.
AddrInfo* convert(const addrinfo* in, Status* st) {
  AddrInfo* head = nullptr;
  AddrInfo** tail = &head;
  for (const addrinfo* a = in; a != nullptr; a = a->ai_next) {
    SockAddr addr;
    if (a->ai_addr == nullptr || !from_native(a->ai_addr, a->ai_addrlen, &addr)) continue;
    size_t name_len = a->ai_canonname != nullptr ? strlen(a->ai_canonname) + 1 : 0;
    size_t size = sizeof(AddrInfo) + sizeof(SockAddr) + name_len;
    void* mem = detail::alloc(size, detail::kTagAddrInfo);
    if (mem == nullptr) {
      *st = Status::InsufficientResources;
      backend::free_address_info(nullptr, head);
      return nullptr;
    }
    AddrInfo* node = static_cast<AddrInfo*>(mem);
    SockAddr* sa = reinterpret_cast<SockAddr*>(node + 1);
    *sa = addr;
    node->flags = 0;
    node->family = xwsk_family(a->ai_family);
    node->socktype = xwsk_socktype(a->ai_socktype);
    node->protocol = a->ai_protocol;
    node->addr = sa;
    node->canonical_name = nullptr;
    if (name_len != 0) {
      node->canonical_name = reinterpret_cast<char*>(sa + 1);
      memcpy(node->canonical_name, a->ai_canonname, name_len);
    }
    node->next = nullptr;
    *tail = node;
    tail = &node->next;
  }
  *st = head != nullptr ? Status::Success : Status::NotFound;
  return head;
}

void run_address_info(ResolveIo* st) {
  addrinfo hints{};
  addrinfo* hp = nullptr;
  if (st->has_hints) {
    if ((st->hint_flags & kAiPassive) != 0) hints.ai_flags |= AI_PASSIVE;
    if ((st->hint_flags & kAiCanonName) != 0) hints.ai_flags |= AI_CANONNAME;
    if ((st->hint_flags & kAiNumericHost) != 0) hints.ai_flags |= AI_NUMERICHOST;
    hints.ai_family = st->hint_family == 0
                          ? AF_UNSPEC
                          : native_family(static_cast<AddressFamily>(st->hint_family));
    if (st->hint_family != 0 && hints.ai_family == AF_UNSPEC) {
      st->status = Status::InvalidParameter;
      st->information = 0;
      return;
    }
    hints.ai_socktype = native_socktype(st->hint_socktype);
    hints.ai_protocol = st->hint_protocol;
    hp = &hints;
  }
  addrinfo* res = nullptr;
  int rc = getaddrinfo(st->node, st->service, hp, &res);
  if (rc != 0) {
    st->status = status_from_eai(rc, errno);
    st->information = 0;
    return;
  }
  Status conv = Status::Success;
  AddrInfo* list = convert(res, &conv);
  freeaddrinfo(res);
  *st->result = list;
  st->status = conv;
  st->information = 0;
}

void run_name_info(ResolveIo* st) {
  sockaddr_storage ss;
  socklen_t len = to_native(st->address, &ss);
  int rc = getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, st->node_out,
                       st->node_out != nullptr ? static_cast<socklen_t>(st->node_size) : 0,
                       st->service_out,
                       st->service_out != nullptr ? static_cast<socklen_t>(st->service_size) : 0,
                       native_ni_flags(st->ni_flags));
  st->status = rc == 0 ? Status::Success : status_from_eai(rc, errno);
  st->information = 0;
}

/// The deferred completion: the result was computed on the resolver thread and stored in the
/// op state; the loop completes the request with it (completions run on the loop thread).
Status deferred_run(Request* req) {
  ResolveIo* io = detail::op_state<ResolveIo>(req);
  return detail::complete(req, io->status, io->information);
}

void* resolver_main(void* arg) {
  Client* c = static_cast<Client*>(arg);
  pthread_mutex_lock(&c->mu);
  for (;;) {
    Request* req = c->resolves.pop();
    if (req == nullptr) {
      if (c->resolver_stop) break;
      pthread_cond_wait(&c->resolver_cv, &c->mu);
      continue;
    }
    pthread_mutex_unlock(&c->mu);
    ResolveIo* io = detail::op_state<ResolveIo>(req);
    io->lookup(io);
    submit(c, req, &deferred_run);  // the loop completes it
    pthread_mutex_lock(&c->mu);
  }
  pthread_mutex_unlock(&c->mu);
  return nullptr;
}

/// Queues a lookup for the resolver thread (started on first use).
Status resolver_submit(Client* c, Request* req) {
  pthread_mutex_lock(&c->mu);
  if (!c->resolver_started) {
    if (pthread_create(&c->resolver, nullptr, resolver_main, c) != 0) {
      pthread_mutex_unlock(&c->mu);
      return detail::complete(req, Status::InsufficientResources, 0);
    }
    c->resolver_started = true;
  }
  c->resolves.push(req);
  pthread_cond_signal(&c->resolver_cv);
  pthread_mutex_unlock(&c->mu);
  return Status::Pending;
}

}  // namespace

void resolver_stop(Client* c) {
  pthread_mutex_lock(&c->mu);
  bool started = c->resolver_started;
  c->resolver_stop = true;
  pthread_cond_signal(&c->resolver_cv);
  pthread_mutex_unlock(&c->mu);
  if (started) pthread_join(c->resolver, nullptr);
}

}  // namespace xwsk::posix

namespace xwsk::backend {

using namespace posix;

Status get_address_info(Client* client, const char* node, const char* service, uint32_t name_space,
                        const AddrInfo* hints, AddrInfo** result, Request* req) {
  (void)name_space;
  ResolveIo* st = detail::op_state<ResolveIo>(req);
  memset(st, 0, sizeof(*st));
  st->node = node;
  st->service = service;
  st->result = result;
  if (hints != nullptr) {
    st->has_hints = true;
    st->hint_flags = hints->flags;
    st->hint_family = hints->family;
    st->hint_socktype = hints->socktype;
    st->hint_protocol = hints->protocol;
  }
  st->lookup = &run_address_info;
  return resolver_submit(client, req);
}

Status get_name_info(Client* client, const SockAddr* address, char* node, size_t node_size,
                     char* service, size_t service_size, uint32_t flags, Request* req) {
  ResolveIo* st = detail::op_state<ResolveIo>(req);
  memset(st, 0, sizeof(*st));
  st->address = *address;
  st->node_out = node;
  st->node_size = node_size;
  st->service_out = service;
  st->service_size = service_size;
  st->ni_flags = flags;
  st->lookup = &run_name_info;
  return resolver_submit(client, req);
}

}  // namespace xwsk::backend
