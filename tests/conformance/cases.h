// SPDX-License-Identifier: MIT
// Declarations of every conformance case (from cases.def) and what case files include.
#ifndef XWSK_TESTS_CONFORMANCE_CASES_H_
#define XWSK_TESTS_CONFORMANCE_CASES_H_

#include "fixture.h"
#include "xt.h"
#include "xwsk/xwsk.h"

namespace xt {
#define XT_CASE(name) void name(Context& t);
#define XT_CASE_V4V6(name) void name(Context& t, ::xwsk::AddressFamily f);
#include "cases.def"
#undef XT_CASE_V4V6
#undef XT_CASE

// What every case file uses.
using xwsk::AddressFamily;
using xwsk::Protocol;
using xwsk::SocketType;
using xwsk::Status;
}  // namespace xt

#endif  // XWSK_TESTS_CONFORMANCE_CASES_H_
