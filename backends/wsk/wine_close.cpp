// SPDX-License-Identifier: MIT
// wine_close.cpp: WskCloseSocket on Wine 8.0's netio.sys (provider profile wine-8 only).
//
// Two defects of Wine 8.0's wsk_close_socket() (dlls/netio.sys/netio.c) break ordinary WSK use,
// and the backend works around both here, for the wine-8 profile only:
//
//  1. It waits for the socket's thread-pool callbacks (WaitForThreadpoolWaitCallbacks) while
//     holding the socket; a close issued from a completion routine of that socket (legal in WSK,
//     and what xwsk clients do) runs inside such a callback and deadlocks. So every close is
//     handed to a per-client worker thread (PASSIVE_LEVEL) that calls WskCloseSocket. The
//     Socket object carries the queue link: queuing allocates nothing.
//
//  2. Closing a listening socket closes the SOCKET of the connection it accepted last (the
//     provider keeps the accepted socket in its accept context and closes "the acceptor" on
//     close). Before closing a listener whose last accept succeeded, the worker posts one more
//     WskAccept on its own IRP, so the provider's "acceptor" is a fresh, unconnected socket; the
//     close then cancels that accept and closes the fresh socket instead.
//
//  3. A listening socket has ONE accept context (acceptor SOCKET, address pointers, client
//     context): a second pending WskAccept overwrites the first one's, and the first completion
//     then hands out the wrong socket (its receives fail with STATUS_OBJECT_TYPE_MISMATCH). So
//     at most one WskAccept per listener is in the provider; further accept() requests wait in
//     the socket's FIFO (Request::priv.next, under Socket::accept_lock; accept() already
//     allocated their Socket objects) and the accept completion issues the next one. The close
//     worker completes the queued ones with STATUS_CANCELLED before it calls WskCloseSocket.
//
// The worker is the only code in the backend that waits besides client_destroy(); it runs at
// PASSIVE_LEVEL in its own system thread.
#include "backend.h"

namespace xwsk::wsk {

namespace {

NTSTATUS WINAPI worker_irp_done(DEVICE_OBJECT* device, IRP* irp, void* context) {
  (void)device;
  (void)irp;
  KeSetEvent(static_cast<KEVENT*>(context), IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

IRP* arm_worker_irp(Client* c) {
  IoReuseIrp(c->worker_irp, STATUS_UNSUCCESSFUL);
  IoSetCompletionRoutine(c->worker_irp, worker_irp_done, &c->worker_irp_done, TRUE, TRUE, TRUE);
  return c->worker_irp;
}

/// WAITS (PASSIVE_LEVEL, worker thread): the worker's own IRP.
NTSTATUS wait_worker_irp(Client* c) {
  KeWaitForSingleObject(&c->worker_irp_done, Executive, KernelMode, FALSE, nullptr);
  return c->worker_irp->IoStatus.Status;
}

/// Workaround 3 at close (PASSIVE_LEVEL, worker thread): stops issuing queued accepts, waits
/// until a deferred WskAccept that already started has returned, and completes the queued
/// accepts with STATUS_CANCELLED, oldest first.
void cancel_queued_accepts(Socket* s) {
  KIRQL irql;
  KeAcquireSpinLock(&s->accept_lock, &irql);
  s->accept_closed = true;
  Request* list = s->accept_head;
  s->accept_head = s->accept_tail = nullptr;
  KeReleaseSpinLock(&s->accept_lock, irql);
  while (s->accept_issuing.load(std::memory_order_acquire) != 0) {
    LARGE_INTEGER interval;
    interval.QuadPart = -10000;  // 1 ms
    KeDelayExecutionThread(KernelMode, FALSE, &interval);
  }
  while (list != nullptr) {
    Request* req = list;
    list = req->priv.next;
    OpState* op = op_of(req);
    socket_free_unused(op->created);  // never reached the provider
    op->created = nullptr;
    complete_now(req, Status::Cancelled, 0);
  }
}

/// Closes one queued socket (PASSIVE_LEVEL, worker thread).
void close_one(Client* c, Socket* s) {
  cancel_queued_accepts(s);
  Request* req = s->close_request;
  IRP* irp = op_of(req)->irp;
  const bool dummy_accept = s->base.category == kListenSocket &&
                            s->accepts_pending.load(std::memory_order_acquire) == 0 &&
                            s->acceptor_is_accepted.load(std::memory_order_acquire) != 0;
  const auto* ld = static_cast<const WSK_PROVIDER_LISTEN_DISPATCH*>(s->wsk->Dispatch);
  WSK_SOCKET* wsk = s->wsk;
  if (dummy_accept) {
    // Workaround 2: make the provider's acceptor a fresh socket (the accept stays pending).
    ld->WskAccept(wsk, 0, nullptr, nullptr, nullptr, nullptr, arm_worker_irp(c));
  }
  // The close completes through the request's completion routine, which frees s: do not
  // touch s after this call.
  ld->Basic.WskCloseSocket(wsk, irp);
  if (dummy_accept) {
    // Cancelled by the close; if a connection slipped in first, close what it returned.
    const NTSTATUS st = wait_worker_irp(c);
    auto* extra = reinterpret_cast<WSK_SOCKET*>(c->worker_irp->IoStatus.Information);
    if (NT_SUCCESS(st) && extra != nullptr) {
      static_cast<const WSK_PROVIDER_BASIC_DISPATCH*>(extra->Dispatch)
          ->WskCloseSocket(extra, arm_worker_irp(c));
      wait_worker_irp(c);
    }
  }
}

/// The worker thread (PASSIVE_LEVEL): waits for work, closes queued sockets, exits on stop.
void WINAPI worker_main(void* context) {
  auto* c = static_cast<Client*>(context);
  for (;;) {
    KeWaitForSingleObject(&c->worker_wake, Executive, KernelMode, FALSE, nullptr);
    Socket* list = c->close_queue.exchange(nullptr, std::memory_order_acq_rel);
    while (list != nullptr) {
      Socket* next = list->close_next;
      close_one(c, list);
      list = next;
    }
    if (c->worker_stop.load(std::memory_order_acquire) != 0 &&
        c->close_queue.load(std::memory_order_acquire) == nullptr) {
      break;
    }
  }
  KeSetEvent(&c->worker_exited, IO_NO_INCREMENT, FALSE);
  PsTerminateSystemThread(STATUS_SUCCESS);
}

}  // namespace

Status wine_worker_start(Client* c) {
  c->worker_irp = IoAllocateIrp(1, FALSE);
  if (c->worker_irp == nullptr) return Status::InsufficientResources;
  KeInitializeEvent(&c->worker_wake, SynchronizationEvent, FALSE);
  KeInitializeEvent(&c->worker_exited, NotificationEvent, FALSE);
  KeInitializeEvent(&c->worker_irp_done, SynchronizationEvent, FALSE);
  c->close_queue.store(nullptr, std::memory_order_relaxed);
  c->worker_stop.store(0, std::memory_order_relaxed);
  HANDLE thread = nullptr;
  const NTSTATUS st =
      PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, worker_main, c);
  if (!NT_SUCCESS(st)) {
    IoFreeIrp(c->worker_irp);
    c->worker_irp = nullptr;
    return static_cast<Status>(st);
  }
  ZwClose(thread);
  c->worker_running = true;
  return Status::Success;
}

/// WAITS (PASSIVE_LEVEL): until the worker has drained its queue and exited.
void wine_worker_stop(Client* c) {
  c->worker_stop.store(1, std::memory_order_release);
  KeSetEvent(&c->worker_wake, IO_NO_INCREMENT, FALSE);
  KeWaitForSingleObject(&c->worker_exited, Executive, KernelMode, FALSE, nullptr);
  IoFreeIrp(c->worker_irp);
  c->worker_irp = nullptr;
  c->worker_running = false;
}

bool wine_accept_defer(Socket* s, Request* req) {
  KIRQL irql;
  KeAcquireSpinLock(&s->accept_lock, &irql);
  const bool defer = s->accept_busy && !s->accept_closed;
  if (defer) {
    req->priv.next = nullptr;
    if (s->accept_tail != nullptr) {
      s->accept_tail->priv.next = req;
    } else {
      s->accept_head = req;
    }
    s->accept_tail = req;
  } else {
    s->accept_busy = true;  // the caller issues it now
  }
  KeReleaseSpinLock(&s->accept_lock, irql);
  return defer;
}

Request* wine_accept_next(Socket* s) {
  KIRQL irql;
  KeAcquireSpinLock(&s->accept_lock, &irql);
  Request* next = nullptr;
  // Once close_socket() began, queued accepts stay queued: the close worker cancels them.
  if (!s->accept_closed && s->base.closing.load(std::memory_order_acquire) == 0) {
    next = s->accept_head;
  }
  if (next != nullptr) {
    s->accept_head = next->priv.next;
    if (s->accept_head == nullptr) s->accept_tail = nullptr;
    next->priv.next = nullptr;
    // Counted under the lock: the close worker waits for it before WskCloseSocket, which also
    // keeps s alive until wine_accept_issue() is done with it.
    s->accept_issuing.fetch_add(1, std::memory_order_acq_rel);
  } else {
    s->accept_busy = false;
  }
  KeReleaseSpinLock(&s->accept_lock, irql);
  return next;
}

void wine_accept_issue(Socket* s, Request* req) {
  // An inline completion runs the completion routine here (and may issue the next accept in
  // turn); end_op() in issue_accept() then completes the request.
  issue_accept(s, req);
  s->accept_issuing.fetch_sub(1, std::memory_order_acq_rel);
}

void wine_queue_close(Socket* s, Request* req) {
  Client* c = s->base.client;
  s->close_request = req;
  Socket* head = c->close_queue.load(std::memory_order_acquire);
  do {
    s->close_next = head;
  } while (!c->close_queue.compare_exchange_weak(head, s, std::memory_order_acq_rel));
  KeSetEvent(&c->worker_wake, IO_NO_INCREMENT, FALSE);
}

}  // namespace xwsk::wsk
