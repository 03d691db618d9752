// SPDX-License-Identifier: MIT
// The table of conformance cases, built from cases.def (no static constructors: it also runs in
// a kernel driver, where none are run).
#include "cases.h"

namespace xt {
namespace {
// XT_CASE_V4V6(name): the two cases name_v4 and name_v6, one body over both families.
#define XT_CASE(name)
#define XT_CASE_V4V6(name)         \
  void name##_v4(Context& t) {     \
    name(t, AddressFamily::Inet);  \
  }                                \
  void name##_v6(Context& t) {     \
    name(t, AddressFamily::Inet6); \
  }
#include "cases.def"
#undef XT_CASE_V4V6
#undef XT_CASE

const Case kCases[] = {
#define XT_CASE(name) {#name, &name},
#define XT_CASE_V4V6(name) {#name "_v4", &name##_v4}, {#name "_v6", &name##_v6},
#include "cases.def"
#undef XT_CASE_V4V6
#undef XT_CASE
};
}  // namespace

const Case* cases() {
  return kCases;
}
size_t case_count() {
  return sizeof(kCases) / sizeof(kCases[0]);
}

}  // namespace xt
