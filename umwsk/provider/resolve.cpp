// SPDX-License-Identifier: MIT
// resolve.cpp: WskGetAddressInfo, WskFreeAddressInfo and WskGetNameInfo over xwsk's
// get_address_info / get_name_info: UNICODE_STRING <-> UTF-8, ADDRINFOEXW lists allocated from
// pool (tag "WkAi", one block per list: the nodes, their SOCKADDRs and canonical names).
#include "provider.h"

namespace umwsk::provider {

namespace {

constexpr size_t kMaxName = 1024;  // WCHARs of a node or service name given to the provider

/// One WskGetAddressInfo call in flight.
struct AddressInfoCall {
  Registration* reg;
  PADDRINFOEXW* result_out;
  xwsk::AddrInfo* result;
  xwsk::AddrInfo hints;
  char* node;     // into text, or null
  char* service;  // into text, or null
  char text[1];
};

/// One WskGetNameInfo call in flight.
struct NameInfoCall {
  PUNICODE_STRING node_out;
  PUNICODE_STRING service_out;
  char node[NI_MAXHOST + 1];
  char service[257];
};

size_t utf8_room(const UNICODE_STRING* s) {
  return s == nullptr ? 0 : (s->Length / sizeof(WCHAR)) * 4 + 1;
}

bool utf8_of(const UNICODE_STRING* s, char* out, size_t cap) {
  return wide_to_utf8(s->Buffer, s->Length / sizeof(WCHAR), out, cap) >= 0;
}

int32_t wsk_family(int32_t family) {
  return family;  // xwsk uses AF_INET 2 / AF_INET6 23, as WSK does
}

}  // namespace

NTSTATUS WSKAPI wsk_get_address_info(PWSK_CLIENT Client, PUNICODE_STRING NodeName,
                                     PUNICODE_STRING ServiceName, ULONG NameSpace, GUID* Provider,
                                     PADDRINFOEXW Hints, PADDRINFOEXW* Result,
                                     PEPROCESS OwningProcess, PETHREAD OwningThread, PIRP Irp) {
  (void)Provider;
  (void)OwningProcess;
  (void)OwningThread;
  UMWSK_REQUIRE_PASSIVE("WskGetAddressInfo", Client);
  const auto [reg, status] = client_call(Client, Irp);
  if (reg == nullptr) return status;
  CallScope call(reg);
  IrpOp* op = op_begin(Irp, OpKind::AddressInfo);
  if (Result == nullptr ||
      (NodeName != nullptr && NodeName->Buffer == nullptr && NodeName->Length != 0) ||
      (ServiceName != nullptr && ServiceName->Buffer == nullptr && ServiceName->Length != 0) ||
      (NodeName != nullptr && NodeName->Length / sizeof(WCHAR) > kMaxName) ||
      (ServiceName != nullptr && ServiceName->Length / sizeof(WCHAR) > kMaxName)) {
    return op_fail(Irp, STATUS_INVALID_PARAMETER);
  }
  *Result = nullptr;
  const size_t node_room = utf8_room(NodeName);
  const size_t service_room = utf8_room(ServiceName);
  auto* c = static_cast<AddressInfoCall*>(
      pool_alloc(offsetof(AddressInfoCall, text) + node_room + service_room + 1, kTagOp));
  if (c == nullptr) return op_fail(Irp, STATUS_INSUFFICIENT_RESOURCES);
  op->b = c;
  c->reg = reg;
  c->result_out = Result;
  if (NodeName != nullptr) {
    c->node = c->text;
    if (!utf8_of(NodeName, c->node, node_room)) return op_fail(Irp, STATUS_INVALID_PARAMETER);
  }
  if (ServiceName != nullptr) {
    c->service = c->text + node_room;
    if (!utf8_of(ServiceName, c->service, service_room)) {
      return op_fail(Irp, STATUS_INVALID_PARAMETER);
    }
  }
  if (Hints != nullptr) {
    c->hints.flags = Hints->ai_flags;
    c->hints.family = Hints->ai_family;
    c->hints.socktype = Hints->ai_socktype;
    c->hints.protocol = Hints->ai_protocol;
  }
  return op_end(
      Irp, xwsk::get_address_info(reg->xclient, c->node, c->service, NameSpace,
                                  Hints != nullptr ? &c->hints : nullptr, &c->result, &op->req));
}

namespace {

/// xwsk result list -> one pool block holding the ADDRINFOEXW list. Null when out of memory.
PADDRINFOEXW addrinfo_list(const xwsk::AddrInfo* in) {
  size_t n = 0, names = 0;
  for (const xwsk::AddrInfo* a = in; a != nullptr; a = a->next) {
    ++n;
    if (a->canonical_name != nullptr) {
      size_t len = 0;
      while (a->canonical_name[len] != '\0')
        ++len;
      names += len + 1;  // one WCHAR per byte at most
    }
  }
  if (n == 0) return nullptr;
  const size_t size = n * sizeof(ADDRINFOEXW) + n * sizeof(NativeAddr) + names * sizeof(WCHAR);
  auto* nodes = static_cast<ADDRINFOEXW*>(pool_alloc(size, kTagAddrInfo));
  if (nodes == nullptr) return nullptr;
  auto* addrs = reinterpret_cast<NativeAddr*>(nodes + n);
  auto* text = reinterpret_cast<WCHAR*>(addrs + n);
  WCHAR* const text_end = text + names;
  size_t i = 0;
  for (const xwsk::AddrInfo* a = in; a != nullptr; a = a->next, ++i) {
    ADDRINFOEXW& o = nodes[i];
    o.ai_flags = a->flags;
    o.ai_family = wsk_family(a->family);
    o.ai_socktype = a->socktype;
    o.ai_protocol = a->protocol;
    if (a->addr != nullptr) {
      o.ai_addrlen = sockaddr_out(*a->addr, &addrs[i].sa);
      o.ai_addr = o.ai_addrlen != 0 ? &addrs[i].sa : nullptr;
    }
    if (a->canonical_name != nullptr) {
      const int len = utf8_to_wide(a->canonical_name, text, static_cast<size_t>(text_end - text));
      if (len >= 0) {
        o.ai_canonname = text;
        text += len + 1;
      }
    }
    o.ai_next = i + 1 < n ? &nodes[i + 1] : nullptr;
  }
  return nodes;
}

}  // namespace

VOID WSKAPI wsk_free_address_info(PWSK_CLIENT Client, PADDRINFOEXW AddrInfo) {
  (void)Client;
  UMWSK_REQUIRE_PASSIVE("WskFreeAddressInfo", AddrInfo);
  pool_free(AddrInfo, kTagAddrInfo);
}

NTSTATUS WSKAPI wsk_get_name_info(PWSK_CLIENT Client, PSOCKADDR SockAddr, ULONG SockAddrLength,
                                  PUNICODE_STRING NodeName, PUNICODE_STRING ServiceName,
                                  ULONG Flags, PEPROCESS OwningProcess, PETHREAD OwningThread,
                                  PIRP Irp) {
  (void)OwningProcess;
  (void)OwningThread;
  UMWSK_REQUIRE_PASSIVE("WskGetNameInfo", Client);
  const auto [reg, status] = client_call(Client, Irp);
  if (reg == nullptr) return status;
  CallScope call(reg);
  IrpOp* op = op_begin(Irp, OpKind::NameInfo);
  xwsk::SockAddr addr{};
  const ULONG need = SockAddr == nullptr               ? 0
                     : SockAddr->sa_family == AF_INET6 ? sizeof(SOCKADDR_IN6)
                                                       : sizeof(SOCKADDR_IN);
  if (!sockaddr_in(SockAddr, &addr) || SockAddrLength < need ||
      (NodeName != nullptr && (NodeName->Buffer == nullptr || NodeName->MaximumLength == 0)) ||
      (ServiceName != nullptr &&
       (ServiceName->Buffer == nullptr || ServiceName->MaximumLength == 0))) {
    return op_fail(Irp, STATUS_INVALID_PARAMETER);
  }
  auto* c = static_cast<NameInfoCall*>(pool_alloc(sizeof(NameInfoCall), kTagOp));
  if (c == nullptr) return op_fail(Irp, STATUS_INSUFFICIENT_RESOURCES);
  op->b = c;
  c->node_out = NodeName;
  c->service_out = ServiceName;
  return op_end(
      Irp, xwsk::get_name_info(reg->xclient, &addr, NodeName != nullptr ? c->node : nullptr,
                               NodeName != nullptr ? sizeof(c->node) : 0,
                               ServiceName != nullptr ? c->service : nullptr,
                               ServiceName != nullptr ? sizeof(c->service) : 0, Flags, &op->req));
}

namespace {

/// UTF-8 -> the client's UNICODE_STRING. False if it does not fit.
bool unicode_out(const char* in, PUNICODE_STRING out) {
  const size_t cap = out->MaximumLength / sizeof(WCHAR);
  const int n = utf8_to_wide(in, out->Buffer, cap);
  if (n < 0) return false;
  out->Length = static_cast<USHORT>(n * sizeof(WCHAR));
  return true;
}

}  // namespace

/// Completion of WskGetAddressInfo and WskGetNameInfo.
void finish_resolve(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info) {
  (void)info;
  irp->IoStatus.Information = 0;
  if (op->kind == OpKind::AddressInfo) {
    auto* c = static_cast<AddressInfoCall*>(op->b);
    if (c == nullptr) return;
    if (xwsk::nt_success(xst) && c->result != nullptr) {
      PADDRINFOEXW list = addrinfo_list(c->result);
      if (list == nullptr) {
        irp->IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
      } else {
        *c->result_out = list;
      }
      xwsk::free_address_info(c->reg->xclient, c->result);
    }
    pool_free(c, kTagOp);
    op->b = nullptr;
    return;
  }
  auto* c = static_cast<NameInfoCall*>(op->b);
  if (c == nullptr) return;
  if (xwsk::nt_success(xst)) {
    if ((c->node_out != nullptr && !unicode_out(c->node, c->node_out)) ||
        (c->service_out != nullptr && !unicode_out(c->service, c->service_out))) {
      irp->IoStatus.Status = STATUS_BUFFER_TOO_SMALL;
    }
  }
  pool_free(c, kTagOp);
  op->b = nullptr;
}

}  // namespace umwsk::provider
