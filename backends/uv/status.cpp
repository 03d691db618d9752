// SPDX-License-Identifier: MIT
/// @file status.cpp
/// @brief libuv error codes to Status, through the one table the user-space backends share
/// (backends/common/status_map.h).
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "backend.h"
#include "status_map.h"

namespace xwsk::uv {

namespace {

// libuv's own getaddrinfo codes and the EAI_* each stands for; the status is the common table's.
struct EaiCode {
  int uv;
  int eai;
};
constexpr EaiCode kEai[] = {
    {UV_EAI_ADDRFAMILY, EAI_ADDRFAMILY}, {UV_EAI_AGAIN, EAI_AGAIN},
    {UV_EAI_BADFLAGS, EAI_BADFLAGS},     {UV_EAI_FAIL, EAI_FAIL},
    {UV_EAI_FAMILY, EAI_FAMILY},         {UV_EAI_MEMORY, EAI_MEMORY},
    {UV_EAI_NODATA, EAI_NODATA},         {UV_EAI_NONAME, EAI_NONAME},
    {UV_EAI_OVERFLOW, EAI_OVERFLOW},     {UV_EAI_SERVICE, EAI_SERVICE},
    {UV_EAI_SOCKTYPE, EAI_SOCKTYPE},     {UV_EAI_CANCELED, EAI_CANCELED},
};

}  // namespace

Status from_uv(int uv_error) {
  if (uv_error >= 0) return Status::Success;
  for (const EaiCode& e : kEai) {
    if (e.uv == uv_error) return hostnet::status_from_eai(e.eai, 0);
  }
  // Every other UV_E* code is the negated errno on POSIX hosts (libuv's uv-errno.h), so the
  // common errno table decides; libuv-only codes (UV_EOF, UV_ECHARSET...) are Unsuccessful.
  return hostnet::status_from_errno(-uv_error);
}

Status from_errno(int err) {
  return hostnet::status_from_errno(err);
}

}  // namespace xwsk::uv
