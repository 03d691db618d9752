// SPDX-License-Identifier: MIT
// The table of kernel test cases, in run order.
#include "ktest_registry.h"

namespace xwsk::ktest {

constinit const KtestCase g_ktest_cases[] = {
    {"wsk.smoke.loopback_tcp", &wsk_smoke_loopback_tcp},
    {"wsk.convert", &wsk_convert},
};

constinit const ULONG g_ktest_case_count = sizeof(g_ktest_cases) / sizeof(g_ktest_cases[0]);

}  // namespace xwsk::ktest
