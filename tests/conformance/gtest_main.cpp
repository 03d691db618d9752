// SPDX-License-Identifier: MIT
// The GoogleTest front end: every conformance case becomes one test, conformance.<case>, run
// against the backend this binary is linked with. Skips carry the backend's reason; each is also
// printed as one "XWSK-SKIP <backend> <case>: <reason>" line so a run's summary can list them.
// Every case also prints its completion trace ("XWSK-TRACE") and the number of checks its body
// evaluated ("XWSK-CHECKS <backend> <case>: N").
// Every run ends with the closing line the kernel runs print: "N passed, N failed, N skipped".
#include <gtest/gtest.h>

#include <cstdio>

#include "xt.h"
#include "xwsk/xwsk.h"

#if defined(XWSK_UMWSK)
// The WSK backend over umwsk's provider: the kernel runtime's own counters (IRPs, MDLs, pool,
// provider sockets, retained indications...) must come back too, as in a driver's unload.
#include <ntddk.h>
#include <stdlib.h>
#include <string.h>

#include "umwsk.h"
#include "xwsk_wsk.h"
#endif

namespace {

class ConformanceCase : public ::testing::Test {
 public:
  explicit ConformanceCase(const xt::Case* c) : case_(c) {}

  void TestBody() override {
    xt::Context t;
#if defined(XWSK_UMWSK)
    UMWSK_COUNTERS before;
    UmwskQueryCounters(&before);
#endif
    xt::run_case(*case_, t);
#if defined(XWSK_UMWSK)
    if (t.result() != xt::Result::Fail) check_runtime(before, t);
#endif
    // The completion trace, for comparing providers (tests/umwsk/differential.py).
    std::printf("XWSK-TRACE %s %s: %s\n", xwsk::backend_name(), case_->name, t.trace_text());
    // How many assertions the body evaluated (compared across a refactoring of the bodies).
    std::printf("XWSK-CHECKS %s %s: %u\n", xwsk::backend_name(), case_->name,
                static_cast<unsigned>(t.checks()));
    std::fflush(stdout);
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

#if defined(XWSK_UMWSK)
  // Waits up to 2 s for the runtime's counters to return to @p before (a provider frees its
  // socket objects after the close completed), then fails @p t with what is left.
  static void check_runtime(const UMWSK_COUNTERS& before, xt::Context& t) {
    UMWSK_COUNTERS now;
    for (int i = 0; i < 400; ++i) {
      UmwskQueryCounters(&now);
      if (now.Irps == before.Irps && now.Mdls == before.Mdls &&
          now.PoolAllocations == before.PoolAllocations && now.Sockets == before.Sockets &&
          now.RetainedIndications == before.RetainedIndications &&
          now.Registrations == before.Registrations && now.Captures == before.Captures) {
        return;
      }
      xt::sleep_ms(5);
    }
    t.fail(__FILE__, __LINE__, "the kernel runtime has objects left:");
    t.add(" IRPs ").add_u64(static_cast<uint64_t>(now.Irps - before.Irps));
    t.add(", MDLs ").add_u64(static_cast<uint64_t>(now.Mdls - before.Mdls));
    t.add(", pool allocations ")
        .add_u64(static_cast<uint64_t>(now.PoolAllocations - before.PoolAllocations));
    t.add(", provider sockets ").add_u64(static_cast<uint64_t>(now.Sockets - before.Sockets));
    t.add(", retained indications ")
        .add_u64(static_cast<uint64_t>(now.RetainedIndications - before.RetainedIndications));
    t.add(", registrations ")
        .add_u64(static_cast<uint64_t>(now.Registrations - before.Registrations));
    t.add(", captures ").add_u64(static_cast<uint64_t>(now.Captures - before.Captures));
  }
#endif
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
#if defined(XWSK_UMWSK)
  // XWSK_PROVIDER_PROFILE=wine-8: the WSK backend behaves as it does over Wine's netio.sys (the
  // same capabilities and workarounds), so that the two providers can be compared case by case
  // (tests/umwsk/differential.py).
  const char* profile = getenv("XWSK_PROVIDER_PROFILE");
  if (profile != nullptr && strcmp(profile, "wine-8") == 0) {
    xwsk::wsk::set_provider_profile(xwsk::wsk::ProviderProfile::kWine8);
  }
#endif
  for (size_t i = 0; i < xt::case_count(); ++i) {
    const xt::Case* c = &xt::cases()[i];
    ::testing::RegisterTest("conformance", c->name, nullptr, nullptr, __FILE__, __LINE__,
                            [c]() -> ::testing::Test* { return new ConformanceCase(c); });
  }
  ::testing::UnitTest::GetInstance()->listeners().Append(new ClosingLine);
  return RUN_ALL_TESTS();
}
