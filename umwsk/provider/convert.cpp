// SPDX-License-Identifier: MIT
// convert.cpp: socket addresses (SOCKADDR_IN / SOCKADDR_IN6 <-> xwsk::SockAddr).
// Pure computation: any IRQL, no allocation. (Strings: backends/common/utf.h.)
#include "provider.h"

#include "../../backends/common/sockaddr_forms.h"

namespace umwsk::provider {

namespace {
using WinForms = xwsk::addr::SockaddrForms<SOCKADDR_IN, SOCKADDR_IN6, AF_INET, AF_INET6>;
}  // namespace

bool sockaddr_in(const SOCKADDR* sa, xwsk::SockAddr* out) {
  if (sa == nullptr) return false;
  // Another family is passed on in SockAddr::family: the operation refuses it with its status.
  if (!WinForms::read(sa, sizeof(SOCKADDR_IN6), out)) out->family = sa->sa_family;
  return true;
}

size_t sockaddr_out(const xwsk::SockAddr& a, SOCKADDR* out) {
  return WinForms::write(a, out);
}

}  // namespace umwsk::provider
