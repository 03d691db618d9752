// SPDX-License-Identifier: MIT
// The table of conformance cases, built from cases.def (no static constructors: it also runs in
// a kernel driver, where none are run).
#include "cases.h"

namespace xt {
namespace {
const Case kCases[] = {
#define XT_CASE(name) {#name, &name},
#include "cases.def"
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
