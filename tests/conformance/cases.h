// SPDX-License-Identifier: MIT
// Declarations of every conformance case (from cases.def) and what case files include.
#ifndef XWSK_TESTS_CONFORMANCE_CASES_H_
#define XWSK_TESTS_CONFORMANCE_CASES_H_

#include "fixture.h"
#include "xt.h"
#include "xwsk/xwsk.h"

namespace xt {
#define XT_CASE(name) void name(Context& t);
#include "cases.def"
#undef XT_CASE
}  // namespace xt

/// Defines the cases <name>_v4 and <name>_v6 as @p body(t, family) over IPv4 and IPv6.
#define XT_CASES_V4_V6(name, body)         \
  void name##_v4(Context& t) {             \
    body(t, ::xwsk::AddressFamily::Inet);  \
  }                                        \
  void name##_v6(Context& t) {             \
    body(t, ::xwsk::AddressFamily::Inet6); \
  }

#endif  // XWSK_TESTS_CONFORMANCE_CASES_H_
