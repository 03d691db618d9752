// SPDX-License-Identifier: MIT
// The GoogleTest front end: every conformance case becomes one test, conformance.<case>, run
// against the backend this binary is linked with. Skips carry the backend's reason; each is also
// printed as one "XWSK-SKIP <backend> <case>: <reason>" line so a run's summary can list them.
// Every run ends with the closing line the kernel runs print: "N passed, N failed, N skipped".
#include <gtest/gtest.h>

#include <cstdio>

#include "xt.h"
#include "xwsk/xwsk.h"

namespace {

class ConformanceCase : public ::testing::Test {
 public:
  explicit ConformanceCase(const xt::Case* c) : case_(c) {}

  void TestBody() override {
    xt::Context t;
    xt::run_case(*case_, t);
    switch (t.result()) {
      case xt::Result::Pass:
        break;
      case xt::Result::Skip:
        std::printf("XWSK-SKIP %s %s: %s\n", xwsk::backend_name(), case_->name, t.message());
        std::fflush(stdout);
        GTEST_SKIP() << t.message();
        break;
      case xt::Result::Fail:
        FAIL() << t.message();
        break;
    }
  }

 private:
  const xt::Case* case_;
};

// The kernel test loader's closing line, so that every front end ends a run the same way.
class ClosingLine : public ::testing::EmptyTestEventListener {
  void OnTestProgramEnd(const ::testing::UnitTest& u) override {
    std::printf("%d passed, %d failed, %d skipped\n", u.successful_test_count(),
                u.failed_test_count(), u.skipped_test_count());
    std::fflush(stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (size_t i = 0; i < xt::case_count(); ++i) {
    const xt::Case* c = &xt::cases()[i];
    ::testing::RegisterTest("conformance", c->name, nullptr, nullptr, __FILE__, __LINE__,
                            [c]() -> ::testing::Test* { return new ConformanceCase(c); });
  }
  ::testing::UnitTest::GetInstance()->listeners().Append(new ClosingLine);
  return RUN_ALL_TESTS();
}
