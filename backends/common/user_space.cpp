// SPDX-License-Identifier: MIT
/// @file user_space.cpp
/// @brief The backend hooks that are the same for every user-space backend (posix, uv): the
/// default allocator (the C heap), requests and segments (nothing to allocate or map: no IRP, no
/// MDL in user space) and the release of get_address_info's results. Compiled into each
/// user-space backend library; a program links exactly one backend.
#include <stdlib.h>

#include "core.h"

namespace xwsk::backend {

namespace {
void* default_allocate(size_t size, uint32_t tag, void* context) {
  (void)tag;
  (void)context;
  return malloc(size);
}
void default_release(void* memory, uint32_t tag, void* context) {
  (void)tag;
  (void)context;
  free(memory);
}
}  // namespace

const Allocator kDefaultAllocator = {default_allocate, default_release, nullptr};

Status request_init(Request* req) {
  (void)req;  // nothing to allocate in user space
  return Status::Success;
}

void request_free(Request* req) {
  (void)req;
}

Status segment_init(Segment* seg, void* data, size_t length) {
  (void)seg;  // the core filled the fields; no MDL in user space
  (void)data;
  (void)length;
  return Status::Success;
}

void segment_free(Segment* seg) {
  (void)seg;
}

void free_address_info(Client* client, AddrInfo* info) {
  (void)client;
  while (info != nullptr) {
    AddrInfo* next = info->next;
    // One block per result: AddrInfo is the first member of the backend's node.
    detail::release(info, detail::kTagAddrInfo);
    info = next;
  }
}

}  // namespace xwsk::backend
