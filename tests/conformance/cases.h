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

#endif  // XWSK_TESTS_CONFORMANCE_CASES_H_
