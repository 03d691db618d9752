// SPDX-License-Identifier: MIT
/// @file status_map.cpp
/// @brief The one errno / EAI_* to Status table of the user-space backends (status_map.h).
///
/// Decided by the WSK reference where it names the case:
/// - not connected (ENOTCONN), already shut down for sending (ESHUTDOWN), an operation already
///   in progress (EALREADY) -> InvalidDeviceState: WskGetRemoteAddress and WskGetLocalAddress
///   report a socket not in the state an operation needs with STATUS_INVALID_DEVICE_STATE.
/// - an unsupported protocol (EPROTONOSUPPORT), family or type -> InvalidParameter, as
///   WskSocket reports parameters it cannot take; an operation or flag the transport lacks
///   (EOPNOTSUPP, ENOPROTOOPT) -> NotSupported ("a specified flag is not supported by the
///   underlying network transport", WskSend / WskReceive).
/// - a name that cannot be resolved (EAI_NONAME, EAI_NODATA, EAI_FAIL, and EAI_SERVICE for an
///   unknown service) -> NotFound: xwsk's one status for "cannot be resolved" (WskGetAddressInfo
///   names STATUS_NO_MATCH; Windows' provider and Wine's report STATUS_NOT_FOUND, which the WSK
///   backend passes through, so the user-space backends agree with it).
/// And by the nearest WSK meaning elsewhere:
/// - ECANCELED -> Cancelled (STATUS_CANCELLED, what WskCloseSocket completes requests with).
/// - EFAULT -> InvalidParameter (a buffer the transport cannot use).
/// - EAI_OVERFLOW -> BufferTooSmall: the output does not fit and nothing usable was written,
///   as control_socket reports an output buffer that is too small.
/// - EADDRNOTAVAIL -> InvalidAddress; EPIPE -> ConnectionReset (writing after the peer reset);
///   EAGAIN / EINPROGRESS -> Pending (the backends test for these before completing anything).
#include "status_map.h"

#include <errno.h>
#include <netdb.h>

namespace xwsk::hostnet {

namespace {

constexpr StatusRow kErrno[] = {
    {0, Status::Success},
    {EAGAIN, Status::Pending},
#if EWOULDBLOCK != EAGAIN
    {EWOULDBLOCK, Status::Pending},
#endif
    {EINPROGRESS, Status::Pending},
    {EALREADY, Status::InvalidDeviceState},
    {ENOTCONN, Status::InvalidDeviceState},
    {ESHUTDOWN, Status::InvalidDeviceState},
    {ECONNREFUSED, Status::ConnectionRefused},
    {EADDRINUSE, Status::AddressAlreadyAssociated},
    {EADDRNOTAVAIL, Status::InvalidAddress},
    {ECONNRESET, Status::ConnectionReset},
    {EPIPE, Status::ConnectionReset},
    {ECONNABORTED, Status::ConnectionAborted},
    {ECANCELED, Status::Cancelled},
    {ETIMEDOUT, Status::IoTimeout},
    {ENETUNREACH, Status::NetworkUnreachable},
    {ENETDOWN, Status::NetworkUnreachable},
    {EHOSTUNREACH, Status::HostUnreachable},
    {EHOSTDOWN, Status::HostDown},
    {EACCES, Status::AccessDenied},
    {EPERM, Status::AccessDenied},
    {ENOMEM, Status::InsufficientResources},
    {ENOBUFS, Status::InsufficientResources},
    {EMFILE, Status::InsufficientResources},
    {ENFILE, Status::InsufficientResources},
    {EAFNOSUPPORT, Status::InvalidParameter},
    {EPROTONOSUPPORT, Status::InvalidParameter},
    {EPROTOTYPE, Status::InvalidParameter},
    {ESOCKTNOSUPPORT, Status::InvalidParameter},
    {EINVAL, Status::InvalidParameter},
    {EFAULT, Status::InvalidParameter},
    {EDESTADDRREQ, Status::InvalidParameter},
    {EOPNOTSUPP, Status::NotSupported},
#if ENOTSUP != EOPNOTSUPP
    {ENOTSUP, Status::NotSupported},
#endif
    {ENOPROTOOPT, Status::NotSupported},
    {EISCONN, Status::ConnectionActive},
    {EMSGSIZE, Status::InvalidBufferSize},
    {EBADF, Status::InvalidHandle},
    {ENOTSOCK, Status::InvalidHandle},
    {ENOSPC, Status::BufferTooSmall},
};

constexpr StatusRow kEai[] = {
    {0, Status::Success},
    {EAI_NONAME, Status::NotFound},
#ifdef EAI_NODATA
    {EAI_NODATA, Status::NotFound},
#endif
#ifdef EAI_ADDRFAMILY
    {EAI_ADDRFAMILY, Status::NotFound},
#endif
    {EAI_FAIL, Status::NotFound},
    {EAI_SERVICE, Status::NotFound},
    {EAI_AGAIN, Status::IoTimeout},
    {EAI_MEMORY, Status::InsufficientResources},
    {EAI_FAMILY, Status::InvalidParameter},
    {EAI_SOCKTYPE, Status::InvalidParameter},
    {EAI_BADFLAGS, Status::InvalidParameter},
    {EAI_OVERFLOW, Status::BufferTooSmall},
#ifdef EAI_CANCELED
    {EAI_CANCELED, Status::Cancelled},
#endif
};

Status lookup(const StatusRow* rows, size_t n, int code) {
  for (size_t i = 0; i < n; ++i) {
    if (rows[i].code == code) return rows[i].status;
  }
  return Status::Unsuccessful;
}

}  // namespace

Status status_from_errno(int err) {
  return lookup(kErrno, sizeof(kErrno) / sizeof(kErrno[0]), err);
}

Status status_from_eai(int eai, int saved_errno) {
  if (eai == EAI_SYSTEM) return status_from_errno(saved_errno);
  return lookup(kEai, sizeof(kEai) / sizeof(kEai[0]), eai);
}

const StatusRow* errno_rows(size_t* count) {
  *count = sizeof(kErrno) / sizeof(kErrno[0]);
  return kErrno;
}

const StatusRow* eai_rows(size_t* count) {
  *count = sizeof(kEai) / sizeof(kEai[0]);
  return kEai;
}

}  // namespace xwsk::hostnet
