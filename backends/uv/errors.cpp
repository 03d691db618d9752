// SPDX-License-Identifier: MIT
/// @file errors.cpp
/// @brief The one libuv-error-to-Status table, and the SockAddr <-> sockaddr conversions.
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "uv_backend.h"

namespace xwsk {
namespace uvb {

namespace {

struct ErrorMap {
  int uv;
  Status status;
};

// libuv error codes (UV_E*) and the NTSTATUS each stands for. The only table of its kind in
// this backend: errno values are first translated by uv_translate_sys_error().
constexpr ErrorMap kErrors[] = {
    {UV_ECONNREFUSED, Status::ConnectionRefused},
    {UV_EADDRINUSE, Status::AddressAlreadyAssociated},
    {UV_EADDRNOTAVAIL, Status::InvalidAddress},
    {UV_ECONNRESET, Status::ConnectionReset},
    {UV_ECONNABORTED, Status::ConnectionAborted},
    {UV_EPIPE, Status::ConnectionReset},
    {UV_ECANCELED, Status::Cancelled},
    {UV_ETIMEDOUT, Status::IoTimeout},
    {UV_ENETUNREACH, Status::NetworkUnreachable},
    {UV_EHOSTUNREACH, Status::HostUnreachable},
    {UV_ENETDOWN, Status::NetworkUnreachable},
    {UV_EHOSTDOWN, Status::HostDown},
    {UV_EACCES, Status::AccessDenied},
    {UV_EPERM, Status::AccessDenied},
    {UV_ENOMEM, Status::InsufficientResources},
    {UV_ENOBUFS, Status::InsufficientResources},
    {UV_EMFILE, Status::InsufficientResources},
    {UV_ENFILE, Status::InsufficientResources},
    {UV_EINVAL, Status::InvalidParameter},
    {UV_EAFNOSUPPORT, Status::InvalidParameter},
    {UV_EPROTONOSUPPORT, Status::NotSupported},
    {UV_ENOTSUP, Status::NotSupported},
    {UV_ENOPROTOOPT, Status::NotSupported},
    {UV_EISCONN, Status::ConnectionActive},
    {UV_EALREADY, Status::DeviceBusy},
    {UV_ENOTCONN, Status::ConnectionInvalid},
    {UV_EMSGSIZE, Status::InvalidBufferSize},
    {UV_EBADF, Status::InvalidHandle},
    {UV_EAI_NONAME, Status::NotFound},
    {UV_EAI_NODATA, Status::NotFound},
    {UV_EAI_AGAIN, Status::IoTimeout},
    {UV_EAI_FAIL, Status::Unsuccessful},
    {UV_EAI_FAMILY, Status::InvalidParameter},
    {UV_EAI_SERVICE, Status::NotFound},
    {UV_EAI_BADFLAGS, Status::InvalidParameter},
    {UV_EAI_MEMORY, Status::InsufficientResources},
    {UV_EAI_OVERFLOW, Status::BufferOverflow},
    {UV_EAI_CANCELED, Status::Cancelled},
    {UV_ENOSPC, Status::BufferTooSmall},
    {UV_ENOTSOCK, Status::InvalidHandle},
};

}  // namespace

Status from_uv(int uv_error) {
  if (uv_error >= 0) return Status::Success;
  for (const ErrorMap& e : kErrors) {
    if (e.uv == uv_error) return e.status;
  }
  return Status::Unsuccessful;
}

Status from_errno(int err) {
  return from_uv(uv_translate_sys_error(err));
}

}  // namespace uvb
}  // namespace xwsk
