// SPDX-License-Identifier: MIT
// ktest_registry.h: the kernel test driver's table of test cases.
//
// A case is a plain function that reports through a KtestContext and returns
// a result; it runs at PASSIVE_LEVEL in the thread that sent
// IOCTL_XWSK_TEST_RUN, so it may block (waiting on events is fine in test
// code; backend code never does this).
//
// Placeholder interface: the shared conformance bodies (tests/conformance/*.h)
// will be registered here through the lead's assertion layer; each row of
// g_ktest_cases is then an adapter around one conformance body.
#ifndef XWSK_TESTS_KERNEL_KTEST_REGISTRY_H_
#define XWSK_TESTS_KERNEL_KTEST_REGISTRY_H_

#include "wsk_ddk.h"

namespace xwsk::ktest {

enum class KtestResult : ULONG { kPassed = 0, kFailed = 1, kSkipped = 2 };

// Where a case writes its failure message or skip reason.
struct KtestContext {
  char* message;
  SIZE_T capacity;  // bytes, including the terminating NUL
};

// printf-style message into ctx (truncated to fit). Returns `result` so a
// case can write `return ktest_report(ctx, KtestResult::kFailed, "...")`.
#if defined(__GNUC__)
#define XWSK_KTEST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define XWSK_KTEST_PRINTF(f, a)
#endif
KtestResult ktest_report(KtestContext& ctx, KtestResult result, const char* format, ...)
    XWSK_KTEST_PRINTF(3, 4);

using KtestFunction = KtestResult (*)(KtestContext& ctx);

struct KtestCase {
  const char* name;
  KtestFunction function;
};

// The registry (ktest_cases.cpp): constant-initialized, no constructors.
extern const KtestCase g_ktest_cases[];
extern const ULONG g_ktest_case_count;

// Cases defined in this directory.
KtestResult wsk_smoke_loopback_tcp(KtestContext& ctx);
KtestResult wsk_convert(KtestContext& ctx);

}  // namespace xwsk::ktest

#endif  // XWSK_TESTS_KERNEL_KTEST_REGISTRY_H_
