// SPDX-License-Identifier: MIT
// datagram.cpp: the datagram operations: WskSendTo, WskReceiveFrom, WskSendMessages and
// WskRelease (datagram indications).
#include "provider.h"

namespace umwsk::provider {

namespace {

/// Converted outputs of WskReceiveFrom.
struct ReceiveFromOut {
  xwsk::SockAddr remote;
  size_t control_length;
  PSOCKADDR remote_out;
  PULONG control_length_out;
};

}  // namespace

NTSTATUS WSKAPI wsk_send_to(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                            PSOCKADDR RemoteAddress, ULONG ControlInfoLength, PCMSGHDR ControlInfo,
                            PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::Plain);
  if (op == nullptr) return status;
  xwsk::Buf buf{};
  xwsk::SockAddr remote{};
  if (!buf_of(Buffer, &buf) || (RemoteAddress != nullptr && !sockaddr_in(RemoteAddress, &remote))) {
    return op_fail(Irp, STATUS_INVALID_PARAMETER);
  }
  return op_end(Irp, xwsk::send_to(s->xs, &buf, Flags, RemoteAddress != nullptr ? &remote : nullptr,
                                   ControlInfoLength, ControlInfo, &op->req));
}

NTSTATUS WSKAPI wsk_receive_from(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                                 PSOCKADDR RemoteAddress, PULONG ControlLength,
                                 PCMSGHDR ControlInfo, PULONG ControlFlags, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::ReceiveFrom);
  if (op == nullptr) return status;
  xwsk::Buf buf{};
  if (!buf_of(Buffer, &buf)) return op_fail(Irp, STATUS_INVALID_PARAMETER);
  auto* out = static_cast<ReceiveFromOut*>(pool_alloc(sizeof(ReceiveFromOut), kTagOp));
  if (out == nullptr) return op_fail(Irp, STATUS_INSUFFICIENT_RESOURCES);
  op->b = out;
  out->remote_out = RemoteAddress;
  out->control_length_out = ControlLength;
  out->control_length = ControlLength != nullptr ? *ControlLength : 0;
  static_assert(sizeof(*ControlFlags) == sizeof(uint32_t), "ULONG is 32 bits");
  return op_end(
      Irp, xwsk::receive_from(s->xs, &buf, Flags, RemoteAddress != nullptr ? &out->remote : nullptr,
                              ControlLength != nullptr ? &out->control_length : nullptr,
                              ControlInfo, reinterpret_cast<uint32_t*>(ControlFlags), &op->req));
}

void finish_receive_from(PIRP irp, IrpOp* op, xwsk::Status xst, uintptr_t info) {
  (void)irp;
  (void)info;
  auto* out = static_cast<ReceiveFromOut*>(op->b);
  if (out == nullptr) return;
  // A truncated datagram (STATUS_BUFFER_OVERFLOW) still has its sender and control data.
  if (xwsk::nt_success(xst) || xst == xwsk::Status::BufferOverflow) {
    if (out->remote_out != nullptr) sockaddr_out(out->remote, out->remote_out);
    if (out->control_length_out != nullptr) {
      *out->control_length_out = static_cast<ULONG>(out->control_length);
    }
  }
  pool_free(out, kTagOp);
  op->b = nullptr;
}

NTSTATUS WSKAPI wsk_send_messages(PWSK_SOCKET Socket, PWSK_BUF_LIST BufferList, ULONG Flags,
                                  PSOCKADDR RemoteAddress, ULONG ControlInfoLength,
                                  PCMSGHDR ControlInfo, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::SendMessages);
  if (op == nullptr) return status;
  xwsk::SockAddr remote{};
  if (BufferList == nullptr || (RemoteAddress != nullptr && !sockaddr_in(RemoteAddress, &remote))) {
    return op_fail(Irp, STATUS_INVALID_PARAMETER);
  }
  size_t n = 0;
  for (PWSK_BUF_LIST e = BufferList; e != nullptr; e = e->Next) {
    if (++n > 1024 * 1024) return op_fail(Irp, STATUS_INVALID_PARAMETER);  // a cycle
  }
  auto* list = static_cast<xwsk::BufList*>(pool_alloc(n * sizeof(xwsk::BufList), kTagOp));
  if (list == nullptr) return op_fail(Irp, STATUS_INSUFFICIENT_RESOURCES);
  op->a = list;
  size_t i = 0;
  for (PWSK_BUF_LIST e = BufferList; e != nullptr; e = e->Next, ++i) {
    if (!buf_of(&e->Buffer, &list[i].buffer)) return op_fail(Irp, STATUS_INVALID_PARAMETER);
    list[i].next = i + 1 < n ? &list[i + 1] : nullptr;
  }
  return op_end(
      Irp, xwsk::send_messages(s->xs, list, Flags, RemoteAddress != nullptr ? &remote : nullptr,
                               ControlInfoLength, ControlInfo, &op->req));
}

NTSTATUS WSKAPI wsk_release_datagrams(PWSK_SOCKET Socket,
                                      PWSK_DATAGRAM_INDICATION DatagramIndication) {
  ProviderSocket* s = socket_of(Socket);
  if (s == nullptr) return STATUS_INVALID_HANDLE;
  return release_indications(s, DatagramIndication, true, __builtin_return_address(0));
}

}  // namespace umwsk::provider
