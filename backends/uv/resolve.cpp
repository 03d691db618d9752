// SPDX-License-Identifier: MIT
/// @file resolve.cpp
/// @brief get_address_info / get_name_info over uv_getaddrinfo / uv_getnameinfo (libuv's
/// thread pool). The libuv request (uv_getnameinfo_t alone is 1.3 KiB) lives in a small
/// context allocated with detail::alloc(kTagMisc) for the duration of the call; results are
/// converted into an AddrInfo list allocated with detail::alloc(kTagAddrInfo).
#include <netdb.h>
#include <string.h>

#include <new>

#include "backend.h"

namespace xwsk::uv {

using detail::op_state;

namespace {

struct GaiContext {
  uv_getaddrinfo_t uv;
  Request* req;
  Client* client;
};

struct GniContext {
  uv_getnameinfo_t uv;
  Request* req;
  Client* client;
};

/// One list node: the AddrInfo, its address and its canonical name in one allocation.
struct AddrNode {
  AddrInfo info;
  SockAddr addr;
  char name[1];  // canonical name, NUL-terminated (flexible)
};

int32_t xwsk_socktype(int t) {
  return t == SOCK_STREAM ? 1 : t == SOCK_DGRAM ? 2 : t == SOCK_RAW ? 3 : 0;
}

int native_socktype(int32_t t) {
  return t == 1 ? SOCK_STREAM : t == 2 ? SOCK_DGRAM : t == 3 ? SOCK_RAW : 0;
}

/// Converts a native list; null (and *st set) when out of memory.
AddrInfo* convert(const addrinfo* in, Status* st) {
  AddrInfo* head = nullptr;
  AddrInfo** tail = &head;
  for (const addrinfo* a = in; a != nullptr; a = a->ai_next) {
    SockAddr sa{};
    if (a->ai_addr == nullptr || !from_native(a->ai_addr, &sa)) continue;
    size_t name_len = a->ai_canonname != nullptr ? strlen(a->ai_canonname) : 0;
    void* mem = detail::alloc(sizeof(AddrNode) + name_len, detail::kTagAddrInfo);
    if (mem == nullptr) {
      backend::free_address_info(nullptr, head);
      *st = Status::InsufficientResources;
      return nullptr;
    }
    auto* node = new (mem) AddrNode;
    node->addr = sa;
    node->info.flags = a->ai_flags;
    node->info.family = static_cast<int32_t>(sa.family);
    node->info.socktype = xwsk_socktype(a->ai_socktype);
    node->info.protocol = a->ai_protocol;
    node->info.addr = &node->addr;
    node->info.canonical_name = nullptr;
    if (a->ai_canonname != nullptr) {
      memcpy(node->name, a->ai_canonname, name_len + 1);
      node->info.canonical_name = node->name;
    }
    node->info.next = nullptr;
    *tail = &node->info;
    tail = &node->info.next;
  }
  *st = head != nullptr ? Status::Success : Status::NotFound;
  return head;
}

void on_gai(uv_getaddrinfo_t* uv, int status, addrinfo* res) {
  auto* ctx = static_cast<GaiContext*>(uv->data);
  Request* req = ctx->req;
  Client* c = ctx->client;
  detail::release(ctx, detail::kTagMisc);
  Status st = from_uv(status);
  if (status == 0) {
    AddrInfo* list = convert(res, &st);
    *op_state<ResolveIo>(req)->result = list;
  }
  if (res != nullptr) uv_freeaddrinfo(res);
  detail::complete(req, st, 0);
  client_op_done(c);
}

bool copy_out(const char* src, char* dst, size_t size) {
  if (dst == nullptr) return true;
  size_t n = strlen(src);
  if (n + 1 > size) return false;
  memcpy(dst, src, n + 1);
  return true;
}

void on_gni(uv_getnameinfo_t* uv, int status, const char* host, const char* service) {
  auto* ctx = static_cast<GniContext*>(uv->data);
  Request* req = ctx->req;
  Client* c = ctx->client;
  const ResolveIo& a = *op_state<ResolveIo>(req);
  Status st = from_uv(status);
  if (status == 0 && (!copy_out(host, a.node_out, a.node_size) ||
                      !copy_out(service, a.service_out, a.service_size))) {
    st = Status::BufferTooSmall;
  }
  detail::release(ctx, detail::kTagMisc);
  detail::complete(req, st, 0);
  client_op_done(c);
}

/// The call ended before libuv took it: completes @p req with @p st (and @p ctx freed).
Status end_call(Client* c, Request* req, void* ctx, Status st) {
  if (ctx != nullptr) detail::release(ctx, detail::kTagMisc);
  st = detail::complete(req, st, 0);
  client_op_done(c);
  return st;
}

Status get_address_info_run(Request* req) {
  const ResolveIo& a = *op_state<ResolveIo>(req);
  Client* c = a.client;
  void* mem = detail::alloc(sizeof(GaiContext), detail::kTagMisc);
  if (mem == nullptr) return end_call(c, req, nullptr, Status::InsufficientResources);
  auto* ctx = new (mem) GaiContext;
  ctx->uv.data = ctx;
  ctx->req = req;
  ctx->client = c;
  addrinfo hints{};
  const addrinfo* hp = nullptr;
  if (a.hints != nullptr) {
    hints.ai_family = native_family(static_cast<AddressFamily>(a.hints->family));
    hints.ai_socktype = native_socktype(a.hints->socktype);
    hints.ai_protocol = a.hints->protocol;
    hints.ai_flags = ((a.hints->flags & kAiPassive) != 0 ? AI_PASSIVE : 0) |
                     ((a.hints->flags & kAiCanonName) != 0 ? AI_CANONNAME : 0) |
                     ((a.hints->flags & kAiNumericHost) != 0 ? AI_NUMERICHOST : 0);
    hp = &hints;
  }
  int r = uv_getaddrinfo(&c->loop, &ctx->uv, on_gai, a.node, a.service, hp);
  return r != 0 ? end_call(c, req, ctx, from_uv(r)) : Status::Pending;
}

Status get_name_info_run(Request* req) {
  const ResolveIo& a = *op_state<ResolveIo>(req);
  Client* c = a.client;
  void* mem = detail::alloc(sizeof(GniContext), detail::kTagMisc);
  if (mem == nullptr) return end_call(c, req, nullptr, Status::InsufficientResources);
  auto* ctx = new (mem) GniContext;
  ctx->uv.data = ctx;
  ctx->req = req;
  ctx->client = c;
  sockaddr_storage ss;
  to_native(a.address, &ss);
  int flags = ((a.flags & kNiNumericHost) != 0 ? NI_NUMERICHOST : 0) |
              ((a.flags & kNiNumericServ) != 0 ? NI_NUMERICSERV : 0);
  int r = uv_getnameinfo(&c->loop, &ctx->uv, on_gni, reinterpret_cast<sockaddr*>(&ss), flags);
  return r != 0 ? end_call(c, req, ctx, from_uv(r)) : Status::Pending;
}

}  // namespace
}  // namespace xwsk::uv

// ---- xwsk::backend entry points: names ---------------------------------------------------------
namespace xwsk::backend {

using detail::op_state;
using uv::ResolveIo;

Status get_address_info(Client* client, const char* node, const char* service, uint32_t name_space,
                        const AddrInfo* hints, AddrInfo** result, Request* req) {
  *op_state<ResolveIo>(req) = {.client = client,
                               .node = node,
                               .service = service,
                               .name_space = name_space,
                               .hints = hints,
                               .result = result};
  client->client_ops.fetch_add(1, std::memory_order_acq_rel);  // until it completes
  return uv::run_or_submit(client, req, &uv::get_address_info_run);
}

Status get_name_info(Client* client, const SockAddr* address, char* node, size_t node_size,
                     char* service, size_t service_size, uint32_t flags, Request* req) {
  *op_state<ResolveIo>(req) = {.client = client,
                               .flags = flags,
                               .address = *address,
                               .node_out = node,
                               .node_size = node_size,
                               .service_out = service,
                               .service_size = service_size};
  client->client_ops.fetch_add(1, std::memory_order_acq_rel);
  return uv::run_or_submit(client, req, &uv::get_name_info_run);
}

}  // namespace xwsk::backend
