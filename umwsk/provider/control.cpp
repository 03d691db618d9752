// SPDX-License-Identifier: MIT
// control.cpp: WskControlSocket and WskControlClient.
//
// Socket options and ioctls pass through to xwsk, which uses the Windows values. The provider
// itself handles: SO_WSK_EVENT_CALLBACK (WSK_EVENT_CALLBACK_CONTROL converted; the IRP is
// optional), SIO_WSK_QUERY_IDEAL_SEND_BACKLOG (the send buffer size, what xwsk's posix backend
// reports as the ideal backlog) and SIO_WSK_QUERY_RECEIVE_BACKLOG (FIONREAD), both SIZE_T
// outputs. Client level: WSK_TRANSPORT_LIST_QUERY (xwsk::Transport -> WSK_TRANSPORT) and
// WSK_SET_STATIC_EVENT_CALLBACKS.
#include "provider.h"

namespace umwsk::provider {

namespace {

/// False when @p bit is an event of the socket's category whose callback the client's dispatch
/// table (or the table itself) lacks: enabling it fails with STATUS_INVALID_PARAMETER. Bits that
/// do not belong to the category are left to xwsk, which rejects them; connection events on a
/// listening socket are for the sockets it will accept (checked when they exist).
bool client_has_callback(const ProviderSocket* s, ULONG bit) {
  // A socket inside its WskAcceptEvent has no table yet: xwsk decides (it checks the provider's).
  if (s->dispatch_pending.load(std::memory_order_acquire)) return true;
  const bool listens =
      s->category == WSK_FLAG_LISTEN_SOCKET || s->category == WSK_FLAG_STREAM_SOCKET;
  const bool connects =
      s->category == WSK_FLAG_CONNECTION_SOCKET || s->category == WSK_FLAG_STREAM_SOCKET;
  switch (bit) {
    case WSK_EVENT_ACCEPT: {
      if (!listens) return true;
      const WSK_CLIENT_LISTEN_DISPATCH* d = client_listen_dispatch(s);
      return d != nullptr && d->WskAcceptEvent != nullptr;
    }
    case WSK_EVENT_RECEIVE_FROM: {
      if (s->category != WSK_FLAG_DATAGRAM_SOCKET) return true;
      const WSK_CLIENT_DATAGRAM_DISPATCH* d = client_datagram_dispatch(s);
      return d != nullptr && d->WskReceiveFromEvent != nullptr;
    }
    case WSK_EVENT_RECEIVE:
    case WSK_EVENT_DISCONNECT:
    case WSK_EVENT_SEND_BACKLOG: {
      if (!connects) return true;
      const WSK_CLIENT_CONNECTION_DISPATCH* d = client_connection_dispatch(s);
      if (d == nullptr) return s->category == WSK_FLAG_STREAM_SOCKET;  // may still listen
      if (bit == WSK_EVENT_RECEIVE) return d->WskReceiveEvent != nullptr;
      if (bit == WSK_EVENT_DISCONNECT) return d->WskDisconnectEvent != nullptr;
      return d->WskSendBacklogEvent != nullptr;
    }
    default:
      return true;
  }
}

bool event_control_in(const ProviderSocket* s, SIZE_T size, const void* in,
                      xwsk::EventCallbackControl* out) {
  if (in == nullptr || size < sizeof(WSK_EVENT_CALLBACK_CONTROL)) return false;
  const auto* c = static_cast<const WSK_EVENT_CALLBACK_CONTROL*>(in);
  out->npi_id = c->NpiId;
  out->event_mask = c->EventMask;
  if (s != nullptr && (c->EventMask & WSK_EVENT_DISABLE) == 0) {
    for (ULONG bit = 1; bit != 0 && bit <= c->EventMask; bit <<= 1) {
      if ((c->EventMask & bit) != 0 && !client_has_callback(s, bit)) return false;
    }
  }
  return true;
}

/// WSK_TRANSPORT_LIST_QUERY's output: @p count xwsk transports as WSK_TRANSPORT.
void transports_out(const xwsk::Transport* from, size_t count, WSK_TRANSPORT* out) {
  for (size_t i = 0; i < count; ++i) {
    RtlZeroMemory(&out[i], sizeof(out[i]));
    out[i].Version = from[i].version;
    out[i].SocketType = from[i].socket_type;
    out[i].Protocol = from[i].protocol;
    out[i].AddressFamily = from[i].address_family;
    RtlCopyMemory(&out[i].ProviderId, from[i].provider_id, sizeof(out[i].ProviderId));
  }
}

/// A control call whose IRP is optional: without one, xwsk settles it at once and its status is
/// returned; with one, the IRP is taken for it. @p call makes the xwsk call with the request.
template <typename Call>
NTSTATUS optional_irp(PIRP irp, Call call) {
  if (irp == nullptr) return nt(call(nullptr));
  IrpOp* op = op_begin(irp, OpKind::Plain);
  return op_end(irp, call(&op->req));
}

}  // namespace

NTSTATUS WSKAPI wsk_control_socket(PWSK_SOCKET Socket, WSK_CONTROL_SOCKET_TYPE RequestType,
                                   ULONG ControlCode, ULONG Level, SIZE_T InputSize,
                                   PVOID InputBuffer, SIZE_T OutputSize, PVOID OutputBuffer,
                                   SIZE_T* OutputSizeReturned, PIRP Irp) {
  ProviderSocket* s = socket_of(Socket);
  if (s == nullptr) return irp_fail(Irp, STATUS_INVALID_HANDLE);
  const auto type = static_cast<xwsk::ControlType>(RequestType);
  // SO_WSK_EVENT_CALLBACK: the IRP is optional; xwsk settles it at once either way.
  if (RequestType == WskSetOption && Level == SOL_SOCKET && ControlCode == SO_WSK_EVENT_CALLBACK) {
    xwsk::EventCallbackControl ctl{};
    if (!event_control_in(s, InputSize, InputBuffer, &ctl)) {
      return irp_fail(Irp, STATUS_INVALID_PARAMETER);
    }
    return optional_irp(Irp, [&](xwsk::Request* req) {
      return xwsk::control_socket(s->xs, type, ControlCode, Level, sizeof(ctl), &ctl, 0, nullptr,
                                  nullptr, req);
    });
  }
  if (Irp == nullptr) return STATUS_INVALID_PARAMETER;  // every other operation needs an IRP
  // SIZE_T backlog queries, answered from the ULONG that xwsk gives.
  if (RequestType == WskIoctl && (ControlCode == SIO_WSK_QUERY_IDEAL_SEND_BACKLOG ||
                                  ControlCode == SIO_WSK_QUERY_RECEIVE_BACKLOG)) {
    IrpOp* op = op_begin(Irp, OpKind::SizeOut);
    if (OutputBuffer == nullptr || OutputSize < sizeof(SIZE_T)) {
      return op_fail(Irp, STATUS_BUFFER_TOO_SMALL);
    }
    op->a = OutputBuffer;
    op->b = OutputSizeReturned;
    const bool send = ControlCode == SIO_WSK_QUERY_IDEAL_SEND_BACKLOG;
    return op_end(Irp, xwsk::control_socket(
                           s->xs, send ? xwsk::ControlType::GetOption : xwsk::ControlType::Ioctl,
                           send ? SO_SNDBUF : FIONREAD, send ? SOL_SOCKET : 0, 0, nullptr,
                           sizeof(uint32_t), &op->c, nullptr, &op->req));
  }
  IrpOp* op = op_begin(Irp, OpKind::Plain);
  return op_end(Irp, xwsk::control_socket(s->xs, type, ControlCode, Level, InputSize, InputBuffer,
                                          OutputSize, OutputBuffer, OutputSizeReturned, &op->req));
}

NTSTATUS WSKAPI wsk_control_client(PWSK_CLIENT Client, ULONG ControlCode, SIZE_T InputSize,
                                   PVOID InputBuffer, SIZE_T OutputSize, PVOID OutputBuffer,
                                   SIZE_T* OutputSizeReturned, PIRP Irp) {
  Registration* reg = registration_of(Client);
  if (reg == nullptr) return irp_fail(Irp, STATUS_INVALID_HANDLE);
  CallScope call(reg);
  if (ControlCode == WSK_SET_STATIC_EVENT_CALLBACKS) {
    xwsk::EventCallbackControl ctl{};
    if (!event_control_in(nullptr, InputSize, InputBuffer, &ctl)) {
      return irp_fail(Irp, STATUS_INVALID_PARAMETER);
    }
    return optional_irp(Irp, [&](xwsk::Request* req) {
      return xwsk::control_client(reg->xclient, ControlCode, sizeof(ctl), &ctl, 0, nullptr, nullptr,
                                  req);
    });
  }
  if (ControlCode == WSK_TRANSPORT_LIST_QUERY) {
    if (OutputSize != 0 && OutputBuffer == nullptr) return irp_fail(Irp, STATUS_INVALID_PARAMETER);
    const size_t n = OutputSize / sizeof(WSK_TRANSPORT);
    auto* tmp = static_cast<xwsk::Transport*>(pool_alloc(n * sizeof(xwsk::Transport), kTagOp));
    if (tmp == nullptr) return irp_fail(Irp, STATUS_INSUFFICIENT_RESOURCES);
    if (Irp == nullptr) {
      size_t returned = 0;
      const xwsk::Status st =
          xwsk::control_client(reg->xclient, ControlCode, 0, nullptr, n * sizeof(xwsk::Transport),
                               n != 0 ? tmp : nullptr, &returned, nullptr);
      const size_t got = returned / sizeof(xwsk::Transport);
      if (st == xwsk::Status::Success) {
        transports_out(tmp, got < n ? got : n, static_cast<WSK_TRANSPORT*>(OutputBuffer));
      }
      if (OutputSizeReturned != nullptr) *OutputSizeReturned = got * sizeof(WSK_TRANSPORT);
      pool_free(tmp, kTagOp);
      return nt(st);
    }
    IrpOp* op = op_begin(Irp, OpKind::TransportList);
    op->a = tmp;
    op->b = OutputBuffer;
    op->c = OutputSizeReturned;
    return op_end(Irp, xwsk::control_client(reg->xclient, ControlCode, 0, nullptr,
                                            n * sizeof(xwsk::Transport), n != 0 ? tmp : nullptr,
                                            nullptr, &op->req));
  }
  return optional_irp(Irp, [&](xwsk::Request* req) {
    return xwsk::control_client(reg->xclient, ControlCode, InputSize, InputBuffer, OutputSize,
                                OutputBuffer, OutputSizeReturned, req);
  });
}

/// Completion of the converted control operations.
void finish_control(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info) {
  if (op->kind == OpKind::SizeOut) {
    if (xwsk::nt_success(xst)) {
      uint32_t v = 0;
      RtlCopyMemory(&v, &op->c, sizeof(v));
      const SIZE_T size = v;
      RtlCopyMemory(op->a, &size, sizeof(size));
      irp->IoStatus.Information = sizeof(SIZE_T);
      if (op->b != nullptr) *static_cast<SIZE_T*>(op->b) = sizeof(SIZE_T);
    } else {
      irp->IoStatus.Information = 0;
    }
    return;
  }
  if (op->kind == OpKind::TransportList) {
    auto* tmp = static_cast<xwsk::Transport*>(op->a);
    auto* out = static_cast<WSK_TRANSPORT*>(op->b);
    const size_t got = info / sizeof(xwsk::Transport);
    if (xst == xwsk::Status::Success && out != nullptr) transports_out(tmp, got, out);
    // Success: bytes written; STATUS_BUFFER_OVERFLOW: bytes needed.
    irp->IoStatus.Information = got * sizeof(WSK_TRANSPORT);
    if (op->c != nullptr) *static_cast<SIZE_T*>(op->c) = irp->IoStatus.Information;
    pool_free(tmp, kTagOp);
    op->a = nullptr;
  }
}

}  // namespace umwsk::provider
