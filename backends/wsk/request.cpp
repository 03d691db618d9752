// SPDX-License-Identifier: MIT
// request.cpp: requests (one IRP each), segments (one MDL each) and the one IRP completion
// routine that turns a provider completion into detail::complete().
//
// Inline completion. A WSK provider may complete the IRP before its function returns (Wine's
// netio does so for bind, close and for data already there). The xwsk contract wants the final
// status returned in that case. OpState::phase settles who completes the request:
//   begin_op()            phase = kCalling
//   completion routine    exchange(kDone): if it was kCalling, only record status/information
//                         (the caller is still inside the provider call), else complete;
//   end_op()              exchange(kReturned): if it was kDone, complete now and return the
//                         final status, else return Pending (the routine will complete).
// Both sides are lock-free and run at IRQL <= DISPATCH_LEVEL.
#include "backend.h"

namespace xwsk::wsk {

// Implemented in client.cpp (name resolution results) and socket.cpp (socket objects).
Status finish_address_info(OpState* op, Status st);
Status finish_name_info(OpState* op, Status st);
uintptr_t finish_control_client(OpState* op, Status st, uintptr_t info);

namespace {

enum Phase : uint32_t { kCalling = 0, kReturned = 1, kDone = 2 };

NTSTATUS WINAPI on_irp_complete(DEVICE_OBJECT* device, IRP* irp, void* context);

void arm_irp(IRP* irp, Request* req) {
  IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
  IoSetCompletionRoutine(irp, on_irp_complete, req, TRUE, TRUE, TRUE);
}

void finish(Request* req, Status st, uintptr_t info) {
  OpState* op = op_of(req);
  op->status = st;
  op->info = info;
  if (op->phase.exchange(kDone, std::memory_order_acq_rel) == kCalling) return;
  detail::complete(req, st, info);
}

ULONG mdl_bytes(const MDL* mdl) {
  return mdl->ByteCount;
}

// Advances a WSK_BUF by @p n bytes (WAITALL emulation), following the MDL chain.
void advance(WSK_BUF* b, size_t n) {
  size_t off = static_cast<size_t>(b->Offset) + n;
  MDL* mdl = b->Mdl;
  while (mdl != nullptr && off >= mdl_bytes(mdl) && mdl->Next != nullptr) {
    off -= mdl_bytes(mdl);
    mdl = mdl->Next;
  }
  b->Mdl = mdl;
  b->Offset = static_cast<ULONG>(off);
  b->Length -= n;
}

// WAITALL emulation for providers that ignore WSK_FLAG_WAITALL (Wine 8): a piece that leaves
// the buffer short re-issues the receive for the rest on the same IRP. Returns true if it did.
bool continue_waitall(Request* req, OpState* op, Status st, uintptr_t info) {
  if (provider_profile() != ProviderProfile::kWine8 || (op->flags & kFlagWaitAll) == 0 ||
      st != Status::Success || info == 0 || info >= op->buf.Length) {
    return false;
  }
  Socket* s = op->socket;
  if (s->base.closing.load(std::memory_order_acquire) != 0) return false;
  op->u.done += info;
  advance(&op->buf, info);
  arm_irp(op->irp, req);
  const auto* d = static_cast<const WSK_PROVIDER_CONNECTION_DISPATCH*>(s->wsk->Dispatch);
  d->WskReceive(s->wsk, &op->buf, native_op_flags(op->flags), op->irp);
  return true;
}

uint32_t xwsk_control_flags(ULONG native) {
  uint32_t x = 0;
  if ((native & MSG_TRUNC) != 0) x |= kMsgTrunc;
  return x;
}

// The completion routine of every request's IRP. IRQL <= DISPATCH_LEVEL; never waits. Returns
// STATUS_MORE_PROCESSING_REQUIRED: the IRP belongs to the request, not to the I/O manager.
NTSTATUS WINAPI on_irp_complete(DEVICE_OBJECT* device, IRP* irp, void* context) {
  (void)device;
  auto* req = static_cast<Request*>(context);
  OpState* op = op_of(req);
  auto st = static_cast<Status>(irp->IoStatus.Status);
  uintptr_t info = irp->IoStatus.Information;
  Socket* listener = nullptr;  // Wine 8: the listener whose next queued accept is issued below
  Request* next_accept = nullptr;
  switch (op->kind) {
    case OpKind::kPlain:
      break;
    case OpKind::kBind:
      // The WSK guide's address-sharing table reports an address in use as
      // STATUS_ADDRESS_ALREADY_EXISTS; Wine (and the transport, for WSAEADDRINUSE) report
      // STATUS_ADDRESS_ALREADY_ASSOCIATED. xwsk pins the latter on every backend (xwsk.h, bind).
      if (st == Status::AddressAlreadyExists) st = Status::AddressAlreadyAssociated;
      break;
    case OpKind::kSocket:
    case OpKind::kAccept: {
      if (op->kind == OpKind::kAccept) {
        op->socket->acceptor_is_accepted.store(nt_success(st) && info != 0 ? 1 : 0,
                                               std::memory_order_release);
        op->socket->accepts_pending.fetch_sub(1, std::memory_order_acq_rel);
        if (provider_profile() == ProviderProfile::kWine8) {
          // Wine 8's netio has one accept slot per listener: the next queued accept goes to
          // the provider only now (wine_close.cpp), after this request's completion below.
          listener = op->socket;
          next_accept = wine_accept_next(listener);
        }
      }
      Socket* s = op->created;
      op->created = nullptr;
      if (nt_success(st) && info != 0) {
        detail::SocketBase& b = s->base;
        socket_attach(s, reinterpret_cast<WSK_SOCKET*>(info), b.client, b.family, b.type,
                      b.protocol, b.category, b.context, b.dispatch);
        info = reinterpret_cast<uintptr_t>(s);
        if (op->kind == OpKind::kAccept) {
          if (op->out0 != nullptr) from_native(&op->addr[0].sa, static_cast<SockAddr*>(op->out0));
          if (op->out1 != nullptr) from_native(&op->addr[1].sa, static_cast<SockAddr*>(op->out1));
        }
      } else {
        socket_free_unused(s);
        if (nt_success(st)) st = Status::Unsuccessful;  // success without a socket
        info = 0;
      }
      break;
    }
    case OpKind::kReceive:
      if (continue_waitall(req, op, st, info)) return STATUS_MORE_PROCESSING_REQUIRED;
      info += op->u.done;
      break;
    case OpKind::kReceiveFrom:
      if (op->out0 != nullptr && nt_success(st)) {
        from_native(&op->addr[0].sa, static_cast<SockAddr*>(op->out0));
      }
      if (op->out1 != nullptr) *static_cast<size_t*>(op->out1) = op->u.ctl.control_length;
      if (op->out2 != nullptr) {
        *static_cast<uint32_t*>(op->out2) = xwsk_control_flags(op->u.ctl.control_flags);
      }
      break;
    case OpKind::kAddress:
      if (nt_success(st) && !from_native(&op->addr[0].sa, static_cast<SockAddr*>(op->out0))) {
        st = Status::InvalidAddress;
      }
      break;
    case OpKind::kAddressInfo:
      st = finish_address_info(op, st);
      info = 0;
      break;
    case OpKind::kNameInfo:
      st = finish_name_info(op, st);
      info = 0;
      break;
    case OpKind::kClose:
      finish_close(op->socket);
      break;
    case OpKind::kListen:
      if (nt_success(st)) op->socket->base.listening = true;
      break;
    case OpKind::kSendMessages: {
      // The WSK_BUF_LIST array is followed by one MdlCut per element (send_messages), given
      // back in reverse order so that elements sharing segments leave them as they were.
      auto* list = static_cast<WSK_BUF_LIST*>(op->u.ctx);
      size_t n = 0;
      for (WSK_BUF_LIST* e = list; e != nullptr; e = e->Next)
        ++n;
      const auto* cuts = reinterpret_cast<const MdlCut*>(list + n);
      while (n > 0)
        restore_mdl_cut(cuts[--n]);
      detail::release(op->u.ctx, detail::kTagBuffer);
      break;
    }
    case OpKind::kControlSocket:
      if (op->out0 != nullptr) *static_cast<size_t*>(op->out0) = info;
      break;
    case OpKind::kControlClient:
      info = finish_control_client(op, st, info);
      break;
  }
  if (op->kind == OpKind::kPlain || op->kind == OpKind::kReceive ||
      op->kind == OpKind::kReceiveFrom) {
    // The provider is done with the buffer: the MDL that ended it gets its Next back (before
    // finish(), which reuses the storage and lets the caller reuse the request).
    restore_mdl_cut(MdlCut{op->cut_mdl, op->cut_next});
    op->cut_mdl = nullptr;
  }
  finish(req, st, info);
  if (next_accept != nullptr) wine_accept_issue(listener, next_accept);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

}  // namespace

IRP* begin_op(Request* req, OpKind kind, Socket* s) {
  OpState* op = op_of(req);
  op->phase.store(kCalling, std::memory_order_relaxed);
  op->kind = kind;
  op->status = Status::Pending;
  op->flags = 0;
  op->info = 0;
  op->socket = s;
  op->created = nullptr;
  op->out0 = op->out1 = op->out2 = nullptr;
  op->u.done = 0;
  op->buf = WSK_BUF{};
  arm_irp(op->irp, req);
  return op->irp;
}

Status end_op(Request* req) {
  OpState* op = op_of(req);
  if (op->phase.exchange(kReturned, std::memory_order_acq_rel) == kDone) {
    return detail::complete(req, op->status, op->info);
  }
  return Status::Pending;
}

Status complete_now(Request* req, Status st, uintptr_t info) {
  return detail::complete(req, st, info);
}

void make_wsk_buf(const Buf* buf, WSK_BUF* out, MdlCut* cut) {
  *out = WSK_BUF{};
  *cut = MdlCut{};
  if (buf == nullptr) return;
  out->Offset = static_cast<ULONG>(buf->offset);
  out->Length = buf->length;
  Segment* seg = buf->segment;
  out->Mdl = seg != nullptr ? static_cast<MDL*>(seg->native) : nullptr;
  // Link the MDLs of the segments the Buf covers, mirroring seg->next (the chain of segments
  // is the caller's and fixed). A link is written only when it differs, so once a chain has
  // been used, requests over it only read it, however many are in flight.
  size_t need = buf->offset + buf->length;
  while (seg != nullptr && seg->native != nullptr) {
    auto* mdl = static_cast<MDL*>(seg->native);
    Segment* next = seg->next;
    if (seg->length >= need || next == nullptr || next->native == nullptr) {
      // WSK bounds the chain by Offset + Length, but Wine 8's netio rejects a chain that runs
      // past the Buf: under that profile only, the chain ends here for the call and gets its
      // Next back when the IRP completes (restore_mdl_cut). Two requests in flight over one
      // chain that end in different segments would cut each other's, so nowhere else.
      if (provider_profile() == ProviderProfile::kWine8 && mdl->Next != nullptr) {
        cut->mdl = mdl;
        cut->next = mdl->Next;
        mdl->Next = nullptr;
      }
      break;
    }
    auto* want = static_cast<MDL*>(next->native);
    if (mdl->Next != want) mdl->Next = want;
    need -= seg->length;
    seg = next;
  }
}

void make_op_buf(OpState* op, const Buf* buf) {
  MdlCut cut;
  make_wsk_buf(buf, &op->buf, &cut);
  op->cut_mdl = cut.mdl;
  op->cut_next = cut.next;
}

void restore_mdl_cut(const MdlCut& cut) {
  if (cut.mdl != nullptr) cut.mdl->Next = cut.next;
}

}  // namespace xwsk::wsk

namespace xwsk::backend {

using namespace xwsk::wsk;

// ---- requests -----------------------------------------------------------------------------------

/// IoAllocateIrp: one stack location (the completion routine's). PASSIVE_LEVEL..DISPATCH_LEVEL.
_IRQL_requires_max_(DISPATCH_LEVEL) Status request_init(Request* req) {
  OpState* op = op_of(req);
  op->irp = IoAllocateIrp(1, FALSE);
  if (op->irp == nullptr) return Status::InsufficientResources;
  op->phase.store(kReturned, std::memory_order_relaxed);
  return Status::Success;
}

_IRQL_requires_max_(DISPATCH_LEVEL) void request_free(Request* req) {
  OpState* op = op_of(req);
  if (op->irp != nullptr) IoFreeIrp(op->irp);
  op->irp = nullptr;
}

// ---- segments (MDLs)
// ------------------------------------------------------------------------------

/// IoAllocateMdl + MmBuildMdlForNonPagedPool: @p data must be non-paged. IRQL <= DISPATCH_LEVEL.
/// (Wine 8's MmBuildMdlForNonPagedPool is a stub; its netio only reads the MDL's address.)
_IRQL_requires_max_(DISPATCH_LEVEL) Status segment_init(Segment* seg, void* data, size_t length) {
  if (length == 0) return Status::Success;                    // WSK takes a null MDL for zero bytes
  if (length > 0xffffffffu) return Status::InvalidParameter;  // one MDL describes < 4 GiB
  MDL* mdl = IoAllocateMdl(data, static_cast<ULONG>(length), FALSE, FALSE, nullptr);
  if (mdl == nullptr) return Status::InsufficientResources;
  MmBuildMdlForNonPagedPool(mdl);
  mdl->Next = nullptr;
  seg->native = mdl;
  return Status::Success;
}

_IRQL_requires_max_(DISPATCH_LEVEL) void segment_free(Segment* seg) {
  if (seg->native != nullptr) IoFreeMdl(static_cast<MDL*>(seg->native));
  seg->native = nullptr;
}

}  // namespace xwsk::backend
