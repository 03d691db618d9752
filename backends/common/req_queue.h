// SPDX-License-Identifier: MIT
/// @file req_queue.h
/// @brief The intrusive request FIFO of the user-space backends (posix, uv): requests linked
/// through Request::priv.next, so queueing a request allocates nothing.
#ifndef XWSK_BACKENDS_COMMON_REQ_QUEUE_H_
#define XWSK_BACKENDS_COMMON_REQ_QUEUE_H_

#include "xwsk/xwsk.h"

namespace xwsk::hostnet {

/// A FIFO of requests linked through Request::priv.next (owned by the backend while a request
/// is pending). Zero-initialized is empty.
struct ReqQueue {
  Request* head = nullptr;
  Request* tail = nullptr;
  bool empty() const { return head == nullptr; }
  void push(Request* r) {
    r->priv.next = nullptr;
    if (tail != nullptr) {
      tail->priv.next = r;
    } else {
      head = r;
    }
    tail = r;
  }
  void push_front(Request* r) {
    r->priv.next = head;
    head = r;
    if (tail == nullptr) tail = r;
  }
  Request* pop() {
    Request* r = head;
    if (r != nullptr) {
      head = r->priv.next;
      if (head == nullptr) tail = nullptr;
      r->priv.next = nullptr;
    }
    return r;
  }
  /// Removes @p r wherever it is (linear: queues are short). False when it is not queued here.
  bool remove(Request* r) {
    Request* prev = nullptr;
    for (Request* it = head; it != nullptr; prev = it, it = it->priv.next) {
      if (it != r) continue;
      if (prev == nullptr) {
        head = it->priv.next;
      } else {
        prev->priv.next = it->priv.next;
      }
      if (tail == it) tail = prev;
      it->priv.next = nullptr;
      return true;
    }
    return false;
  }
};

}  // namespace xwsk::hostnet

#endif  // XWSK_BACKENDS_COMMON_REQ_QUEUE_H_
