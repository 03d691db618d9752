// SPDX-License-Identifier: MIT
// The GoogleTest front end: every conformance case becomes one test, run against the backend
// this binary is linked with. Skips carry the backend's reason; each is also printed as one
// "XWSK-SKIP <backend> <case>: <reason>" line so a run's summary can list them.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "xt.h"
#include "xwsk/xwsk.h"

namespace {

class Conformance : public ::testing::TestWithParam<size_t> {};

TEST_P(Conformance, Case) {
  const xt::Case& c = xt::cases()[GetParam()];
  xt::Context t;
  xt::run_case(c, t);
  switch (t.result()) {
    case xt::Result::Pass:
      SUCCEED();
      break;
    case xt::Result::Skip:
      std::printf("XWSK-SKIP %s %s: %s\n", xwsk::backend_name(), c.name, t.message());
      std::fflush(stdout);
      GTEST_SKIP() << t.message();
      break;
    case xt::Result::Fail:
      FAIL() << t.message();
      break;
  }
}

std::string CaseName(const ::testing::TestParamInfo<size_t>& info) {
  return xt::cases()[info.param].name;
}

INSTANTIATE_TEST_SUITE_P(Wsk, Conformance, ::testing::Range<size_t>(0, xt::case_count()), CaseName);

}  // namespace
