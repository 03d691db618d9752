// SPDX-License-Identifier: MIT
/// @file errno_map.cpp
/// @brief The one table translating native errors (errno, EAI_*) to xwsk::Status.
///
/// Choices where WSK has no exact counterpart:
/// - EADDRNOTAVAIL -> InvalidAddress (binding an address the host does not own; Windows
///   reports WSAEADDRNOTAVAIL as STATUS_INVALID_ADDRESS_COMPONENT for some paths, but
///   InvalidAddress is what kernel callers test for).
/// - ENOTCONN -> ConnectionDisconnected (as Wine's netio does).
/// - EOPNOTSUPP -> NotSupported (Wine uses NotImplemented; NotSupported is the xwsk-wide
///   status for "this backend/OS cannot do that").
/// - EPIPE -> ConnectionReset (writing after the peer reset the connection).
#include <errno.h>
#include <netdb.h>

#include "internal.h"

namespace xwsk {
namespace posix {

Status status_from_errno(int err) {
  switch (err) {
    case 0:
      return Status::Success;
    case EAGAIN:
    case EINPROGRESS:
    case EALREADY:
      return Status::Pending;
    case ECONNREFUSED:
      return Status::ConnectionRefused;
    case EADDRINUSE:
      return Status::AddressAlreadyAssociated;
    case ECONNRESET:
    case EPIPE:
      return Status::ConnectionReset;
    case ECONNABORTED:
      return Status::ConnectionAborted;
    case ETIMEDOUT:
      return Status::IoTimeout;
    case ENETUNREACH:
    case ENETDOWN:
      return Status::NetworkUnreachable;
    case EHOSTUNREACH:
      return Status::HostUnreachable;
    case EHOSTDOWN:
      return Status::HostDown;
    case EACCES:
    case EPERM:
      return Status::AccessDenied;
    case ENOMEM:
    case ENOBUFS:
    case EMFILE:
    case ENFILE:
      return Status::InsufficientResources;
    case EADDRNOTAVAIL:
      return Status::InvalidAddress;
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
    case EPROTOTYPE:
    case ESOCKTNOSUPPORT:
    case EINVAL:
    case EFAULT:
    case EDESTADDRREQ:
      return Status::InvalidParameter;
    case EOPNOTSUPP:
      return Status::NotSupported;
    case ENOTCONN:
    case ESHUTDOWN:
      return Status::ConnectionDisconnected;
    case EISCONN:
      return Status::ConnectionActive;
    case EMSGSIZE:
      return Status::InvalidBufferSize;
    case EBADF:
    case ENOTSOCK:
      return Status::InvalidHandle;
    case ENOPROTOOPT:
      return Status::NotSupported;
    default:
      return Status::Unsuccessful;
  }
}

Status status_from_eai(int eai, int saved_errno) {
  switch (eai) {
    case 0:
      return Status::Success;
    case EAI_NONAME:
    case EAI_NODATA:
    case EAI_ADDRFAMILY:
    case EAI_FAIL:
      return Status::NotFound;
    case EAI_AGAIN:
      return Status::IoTimeout;
    case EAI_MEMORY:
      return Status::InsufficientResources;
    case EAI_FAMILY:
    case EAI_SOCKTYPE:
    case EAI_BADFLAGS:
    case EAI_SERVICE:
      return Status::InvalidParameter;
    case EAI_OVERFLOW:
      return Status::BufferTooSmall;
    case EAI_SYSTEM:
      return status_from_errno(saved_errno);
    default:
      return Status::Unsuccessful;
  }
}

}  // namespace posix
}  // namespace xwsk
