// SPDX-License-Identifier: MIT
/// @file block_cache.h
/// @brief User-space backends: a bounded LIFO of idle memory blocks of one size (closed socket
/// objects, idle indication buffers), kept per client on its loop thread so that steady churn
/// does not reach the allocator. Shared by posix and uv.
#ifndef XWSK_BACKENDS_COMMON_BLOCK_CACHE_H_
#define XWSK_BACKENDS_COMMON_BLOCK_CACHE_H_

#include <stdint.h>

#include <new>

namespace xwsk::hostnet {

/// At most @p Cap idle blocks, linked through their first bytes (a block must hold a
/// pointer). Not thread-safe: one owner thread. Zero-initialized memory is an empty cache.
template <uint32_t Cap>
struct BlockCache {
  struct Node {
    Node* next;
  };
  Node* head;
  uint32_t count;

  /// An idle block, or null when the cache is empty.
  void* take() {
    Node* n = head;
    if (n == nullptr) return nullptr;
    head = n->next;
    --count;
    n->~Node();
    return n;
  }
  /// Keeps @p block (whose object was destroyed) for reuse. False when the cache is full:
  /// the caller frees it.
  bool put(void* block) {
    if (count >= Cap) return false;
    head = new (block) Node{head};
    ++count;
    return true;
  }
  /// Keeps at most @p keep blocks, handing the others to @p release (memory goes back as
  /// connections go: the backends keep no more idle blocks than the client has live sockets).
  template <typename Release>
  void trim(uint32_t keep, Release release) {
    while (count > keep)
      release(take());
  }
  /// Empties the cache, handing every block to @p release.
  template <typename Release>
  void clear(Release release) {
    while (void* block = take())
      release(block);
  }
};

}  // namespace xwsk::hostnet

#endif  // XWSK_BACKENDS_COMMON_BLOCK_CACHE_H_
