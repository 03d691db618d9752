// SPDX-License-Identifier: MIT
// connection.cpp: the listen and connection-oriented operations: WskAccept,
// WskInspectComplete, WskConnect, WskConnectEx, WskSend, WskReceive, WskDisconnect, WskRelease
// (data indications), and the reserved WskSendEx / WskReceiveEx.
#include "provider.h"

namespace umwsk::provider {

NTSTATUS WSKAPI wsk_accept(PWSK_SOCKET ListenSocket, ULONG Flags, PVOID AcceptSocketContext,
                           const WSK_CLIENT_CONNECTION_DISPATCH* AcceptSocketDispatch,
                           PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress, PIRP Irp) {
  const auto [ls, op, status] = socket_op(ListenSocket, Irp, OpKind::Accept);
  if (op == nullptr) return status;
  ProviderSocket* s =
      socket_new(ls->reg, WSK_FLAG_CONNECTION_SOCKET, AcceptSocketContext, AcceptSocketDispatch);
  if (s == nullptr) return op_fail(Irp, STATUS_INSUFFICIENT_RESOURCES);
  op->a = s;
  xwsk::SockAddr* local = nullptr;
  xwsk::SockAddr* remote = nullptr;
  if (!accept_addresses(op, LocalAddress, RemoteAddress, &local, &remote)) {
    return op_fail(Irp, STATUS_INSUFFICIENT_RESOURCES);
  }
  return op_end(Irp,
                xwsk::accept(ls->xs, Flags, s, &kXwskConnectionEvents, local, remote, &op->req));
}

NTSTATUS WSKAPI wsk_inspect_complete(PWSK_SOCKET ListenSocket, PWSK_INSPECT_ID InspectID,
                                     WSK_INSPECT_ACTION Action, PIRP Irp) {
  const auto [ls, op, status] = socket_op(ListenSocket, Irp, OpKind::Plain);
  if (op == nullptr) return status;
  if (InspectID == nullptr) return op_fail(Irp, STATUS_INVALID_PARAMETER);
  const xwsk::InspectId id{InspectID->Key, InspectID->SerialNumber};
  return op_end(
      Irp, xwsk::inspect_complete(ls->xs, &id, static_cast<xwsk::InspectAction>(Action), &op->req));
}

NTSTATUS WSKAPI wsk_connect(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress, ULONG Flags, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::Plain);
  if (op == nullptr) return status;
  xwsk::SockAddr remote{};
  if (!sockaddr_in(RemoteAddress, &remote)) return op_fail(Irp, STATUS_INVALID_PARAMETER);
  return op_end(Irp, xwsk::connect(s->xs, &remote, Flags, &op->req));
}

NTSTATUS WSKAPI wsk_connect_ex(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress, PWSK_BUF Buffer,
                               ULONG Flags, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::Plain);
  if (op == nullptr) return status;
  xwsk::SockAddr remote{};
  xwsk::Buf buf{};
  if (!sockaddr_in(RemoteAddress, &remote) || (Buffer != nullptr && !buf_of(Buffer, &buf))) {
    return op_fail(Irp, STATUS_INVALID_PARAMETER);
  }
  return op_end(
      Irp, xwsk::connect_ex(s->xs, &remote, Buffer != nullptr ? &buf : nullptr, Flags, &op->req));
}

NTSTATUS WSKAPI wsk_send(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::Plain);
  if (op == nullptr) return status;
  xwsk::Buf buf{};
  if (!buf_of(Buffer, &buf)) return op_fail(Irp, STATUS_INVALID_PARAMETER);
  return op_end(Irp, xwsk::send(s->xs, &buf, Flags, &op->req));
}

NTSTATUS WSKAPI wsk_receive(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::Plain);
  if (op == nullptr) return status;
  xwsk::Buf buf{};
  if (!buf_of(Buffer, &buf)) return op_fail(Irp, STATUS_INVALID_PARAMETER);
  // Chaos mode: a stream receive may complete with fewer bytes than the buffer holds (not with
  // WSK_FLAG_WAITALL or WSK_FLAG_DRAIN, which say otherwise).
  if (chaos_on() && (Flags & (WSK_FLAG_WAITALL | WSK_FLAG_DRAIN)) == 0 && buf.length > 1) {
    const uint64_t stream = s->chaos_stream();
    if (chaos_pick(stream, 31, 3) == 0) {
      const uint32_t cap = buf.length > 0x10000 ? 0x10000u : static_cast<uint32_t>(buf.length);
      buf.length = 1 + chaos_pick(stream, 32, cap);
    }
  }
  return op_end(Irp, xwsk::receive(s->xs, &buf, Flags, &op->req));
}

NTSTATUS WSKAPI wsk_disconnect(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp) {
  const auto [s, op, status] = socket_op(Socket, Irp, OpKind::Plain);
  if (op == nullptr) return status;
  xwsk::Buf buf{};
  if (Buffer != nullptr && !buf_of(Buffer, &buf)) return op_fail(Irp, STATUS_INVALID_PARAMETER);
  return op_end(Irp, xwsk::disconnect(s->xs, Buffer != nullptr ? &buf : nullptr, Flags, &op->req));
}

NTSTATUS WSKAPI wsk_release_data(PWSK_SOCKET Socket, PWSK_DATA_INDICATION DataIndication) {
  ProviderSocket* s = socket_of(Socket);
  if (s == nullptr) return STATUS_INVALID_HANDLE;
  return release_indications(s, DataIndication, false, __builtin_return_address(0));
}

// The reserved members of the connection and stream tables: WSK documents them as reserved for
// system use, so a client never calls them; the provider answers with a status, not a crash.
NTSTATUS WSKAPI wsk_send_ex(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                            ULONG ControlInfoLength, PCMSGHDR ControlInfo, PIRP Irp) {
  (void)Socket;
  (void)Buffer;
  (void)Flags;
  (void)ControlInfoLength;
  (void)ControlInfo;
  return irp_fail(Irp, STATUS_NOT_SUPPORTED);
}

NTSTATUS WSKAPI wsk_receive_ex(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
                               PULONG ControlInfoLength, PCMSGHDR ControlInfo, PULONG ControlFlags,
                               PIRP Irp) {
  (void)Socket;
  (void)Buffer;
  (void)Flags;
  (void)ControlInfoLength;
  (void)ControlInfo;
  (void)ControlFlags;
  return irp_fail(Irp, STATUS_NOT_SUPPORTED);
}

}  // namespace umwsk::provider
