// SPDX-License-Identifier: MIT
// irp.cpp: one IRP per WSK operation, carrying the xwsk::Request of the operation in its
// XwskProvider area; WSK_BUFs as xwsk::Bufs over the MDLs' segments; IRQL scopes; pool.
//
// Who completes the IRP. xwsk runs the request's completion routine either inside the xwsk call
// (inline, on the xwsk loop thread) or later on the loop thread. IrpOp::phase settles it:
//   op_begin()          phase = kCalling
//   xwsk completion     sets IoStatus; exchange(kDone): if it was kCalling, the submitter is
//                       still inside the WSK function and completes the IRP on return; if it was
//                       kReturned, the routine completes it now (raised to DISPATCH_LEVEL when
//                       it came from the loop thread below that)
//   op_end()            phase kDone: complete now, return the final status; the xwsk call
//                       returned an error and phase is still kCalling: xwsk rejected the request
//                       before taking it (no completion will run), so the IRP is completed here
//                       with that status, as WSK requires; else IoMarkIrpPending, then
//                       exchange(kReturned): if the completion ran meanwhile, complete now. The
//                       function returns STATUS_PENDING.
// Either way the IRP completes exactly once, and the client's completion routine runs through
// IoCompleteRequest (which walks the stack as Windows does).
#include "provider.h"

namespace umwsk::provider {

static_assert(sizeof(IrpOp) <= sizeof(static_cast<IRP*>(nullptr)->XwskProvider),
              "the xwsk request must fit in IRP::XwskProvider");
static_assert(alignof(IrpOp) <= 16, "IRP::XwskProvider is 16-byte aligned");
static_assert(sizeof(xwsk::Segment) <= sizeof(static_cast<MDL*>(nullptr)->XwskProvider),
              "an xwsk segment must fit in MDL::XwskProvider");

namespace {

enum Phase : uint32_t { kCalling = 0, kReturned = 1, kDone = 2 };

IrpOp* op_of(PIRP irp) {
  return reinterpret_cast<IrpOp*>(irp->XwskProvider);
}

xwsk::Segment* segment_of(PMDL mdl) {
  return reinterpret_cast<xwsk::Segment*>(mdl->XwskProvider);
}

// Turns the xwsk result into the WSK result (per kind) and releases what the operation
// allocated. Runs once per operation: from the xwsk completion, or from op_end when xwsk
// rejected the request.
void finish(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info);

void complete_irp(PIRP irp) {
  IrpOp* op = op_of(irp);
  xwsk::request_free(&op->req);
  op->~IrpOp();
  IoCompleteRequest(irp, IO_NO_INCREMENT);
}

/// Chaos mode: whether this completion goes to the chaos worker (and does, if so).
/// A close completes after the cancelled requests of its socket: while the worker holds IRPs, a
/// close goes behind them (the worker completes in order).
bool chaos_must_defer(PIRP irp) {
  return op_of(irp)->kind == OpKind::Close && chaos_deferred() > 0;
}

bool chaos_deferred_completion(PIRP irp) {
  if (!chaos_on()) return false;
  const uint64_t stream = chaos_next();
  return (chaos_must_defer(irp) || chaos_pick(stream, 1, 3) == 0) && chaos_defer(irp, stream);
}

void on_xwsk_complete(xwsk::Request* req, void* context) {
  auto* irp = static_cast<PIRP>(context);
  IrpOp* op = op_of(irp);
  finish(irp, op, req->status, req->information);
  if (op->phase.exchange(kDone, std::memory_order_acq_rel) == kCalling) return;
  if (chaos_deferred_completion(irp)) return;
  DispatchScope dispatch;
  complete_irp(irp);
}

}  // namespace

IrpOp* op_begin(PIRP irp, OpKind kind) {
  IoSetNextIrpStackLocation(irp);
  auto* op = new (irp->XwskProvider) IrpOp();
  op->kind = kind;
  op->a = nullptr;
  op->b = nullptr;
  op->c = nullptr;
  op->phase.store(kCalling, std::memory_order_relaxed);
  (void)xwsk::request_init(&op->req, on_xwsk_complete, irp);  // cannot fail: routine is set
  irp->IoStatus.Status = STATUS_PENDING;
  irp->IoStatus.Information = 0;
  return op;
}

NTSTATUS op_end(PIRP irp, xwsk::Status xst) {
  IrpOp* op = op_of(irp);
  if (op->phase.load(std::memory_order_acquire) == kDone) {
    // Completed inline. Chaos mode: a provider may pend what it could complete at once.
    if (chaos_on()) {
      const uint64_t stream = chaos_next();
      if (chaos_must_defer(irp) || chaos_pick(stream, 2, 2) == 0) {
        IoMarkIrpPending(irp);
        if (!chaos_defer(irp, stream)) complete_irp(irp);
        return STATUS_PENDING;
      }
    }
    const NTSTATUS st = irp->IoStatus.Status;
    complete_irp(irp);
    return st;
  }
  if (xst != xwsk::Status::Pending) {
    // Rejected by xwsk before it took the request: no completion will run.
    finish(irp, op, xst, 0);
    const NTSTATUS st = irp->IoStatus.Status;
    complete_irp(irp);
    return st;
  }
  IoMarkIrpPending(irp);
  if (op->phase.exchange(kReturned, std::memory_order_acq_rel) == kDone) {
    if (!chaos_deferred_completion(irp)) complete_irp(irp);
  }
  return STATUS_PENDING;
}

void op_complete_deferred(PIRP irp) {
  complete_irp(irp);
}

NTSTATUS op_fail(PIRP irp, NTSTATUS status) {
  return op_end(irp,
                static_cast<xwsk::Status>(status == STATUS_PENDING ? STATUS_UNSUCCESSFUL : status));
}

NTSTATUS irp_fail(PIRP irp, NTSTATUS status) {
  if (irp == nullptr) return status;
  op_begin(irp, OpKind::Plain);
  return op_fail(irp, status);
}

bool buf_of(const WSK_BUF* in, xwsk::Buf* out) {
  if (in == nullptr) return false;
  out->offset = in->Offset;
  out->length = in->Length;
  out->segment = nullptr;
  if (in->Mdl == nullptr) return in->Length == 0;
  size_t need = static_cast<size_t>(in->Offset) + in->Length;
  for (PMDL m = in->Mdl; m != nullptr; m = m->Next) {
    // Written only when they differ: another request in flight over the same MDL (read by the
    // xwsk loop thread) sees the same values, so an unchanged mirror is never written again.
    xwsk::Segment* seg = segment_of(m);
    void* const data = MmGetSystemAddressForMdlSafe(m, NormalPagePriority);
    const size_t length = MmGetMdlByteCount(m);
    xwsk::Segment* const next = m->Next != nullptr ? segment_of(m->Next) : nullptr;
    if (seg->data != data) seg->data = data;
    if (seg->length != length) seg->length = length;
    if (seg->native != m) seg->native = m;
    if (seg->next != next) seg->next = next;
    if (seg->data == nullptr && seg->length != 0) return false;
    if (seg->length >= need) break;
    need -= seg->length;
  }
  out->segment = segment_of(in->Mdl);
  return true;
}

// ---- IRQL ---------------------------------------------------------------------------------------

DispatchScope::DispatchScope() : old_(KeGetCurrentIrql()), raised_(false) {
  if (old_ < DISPATCH_LEVEL) {
    KeRaiseIrql(DISPATCH_LEVEL, &old_);
    raised_ = true;
  }
}

DispatchScope::DispatchScope(uint64_t chaos_stream) : old_(KeGetCurrentIrql()), raised_(false) {
  if (old_ >= DISPATCH_LEVEL) return;
  if (chaos_on()) {
    chaos_delay(chaos_stream, 21);
    if (chaos_pick(chaos_stream, 22, 3) == 0) return;  // this event runs at PASSIVE_LEVEL
  }
  KeRaiseIrql(DISPATCH_LEVEL, &old_);
  raised_ = true;
}

DispatchScope::~DispatchScope() {
  if (raised_) KeLowerIrql(old_);
}

ULONG dispatch_flag() {
  return KeGetCurrentIrql() >= DISPATCH_LEVEL ? WSK_FLAG_AT_DISPATCH_LEVEL : 0;
}

// ---- pool ---------------------------------------------------------------------------------------

void* pool_alloc(size_t size, ULONG tag) {
  void* p = ExAllocatePoolWithTag(NonPagedPoolNx, size == 0 ? 1 : size, tag);
  if (p != nullptr) RtlZeroMemory(p, size);
  return p;
}

void pool_free(void* p, ULONG tag) {
  if (p != nullptr) ExFreePoolWithTag(p, tag);
}

// ---- per-kind results ---------------------------------------------------------------------------

namespace {

void finish(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info) {
  irp->IoStatus.Status = nt(xst);
  irp->IoStatus.Information = info;
  switch (op->kind) {
    case OpKind::Plain:
      break;
    case OpKind::CreateSocket:
    case OpKind::Accept:
      finish_create(irp, op, xst, info);
      break;
    case OpKind::Close:
      finish_close(irp, op, xst);
      break;
    case OpKind::AddressOut:
      finish_address(irp, op, xst, info);
      break;
    case OpKind::ReceiveFrom:
      finish_receive_from(irp, op, xst, info);
      break;
    case OpKind::SendMessages:
      pool_free(op->a, kTagOp);
      op->a = nullptr;
      break;
    case OpKind::TransportList:
    case OpKind::SizeOut:
      finish_control(irp, op, xst, info);
      break;
    case OpKind::AddressInfo:
    case OpKind::NameInfo:
      finish_resolve(irp, op, xst, info);
      break;
  }
}

}  // namespace

}  // namespace umwsk::provider
