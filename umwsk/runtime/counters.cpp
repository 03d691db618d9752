// SPDX-License-Identifier: MIT
// counters.cpp: live-object counters (UmwskQueryCounters) for the runtime and the provider.
#include "rt_internal.h"

namespace {
std::atomic<LONG> g_counters[UmwskRtCounterMax];
}  // namespace

void UmwskRtCount(UMWSK_RT_COUNTER which, LONG delta) {
  if (which >= 0 && which < UmwskRtCounterMax) {
    g_counters[which].fetch_add(delta, std::memory_order_relaxed);
  }
}

LONG UmwskRtCounterValue(UMWSK_RT_COUNTER which) {
  if (which >= 0 && which < UmwskRtCounterMax) {
    return g_counters[which].load(std::memory_order_relaxed);
  }
  return 0;
}

void UmwskQueryCounters(PUMWSK_COUNTERS Counters) {
  if (Counters == nullptr) {
    return;
  }
  Counters->Irps = UmwskRtCounterValue(UmwskRtIrps);
  Counters->Mdls = UmwskRtCounterValue(UmwskRtMdls);
  umwsk_pool_totals(&Counters->PoolAllocations, &Counters->PoolBytes);
  Counters->WorkItems = UmwskRtCounterValue(UmwskRtWorkItems);
  Counters->SystemThreads = UmwskRtCounterValue(UmwskRtSystemThreads);
  Counters->Sockets = UmwskRtCounterValue(UmwskRtSockets);
  Counters->RetainedIndications = UmwskRtCounterValue(UmwskRtRetainedIndications);
  Counters->Registrations = UmwskRtCounterValue(UmwskRtRegistrations);
  Counters->Captures = UmwskRtCounterValue(UmwskRtCaptures);
}

BOOLEAN UmwskCountersAreZero(const UMWSK_COUNTERS* Counters) {
  if (Counters == nullptr) {
    return FALSE;
  }
  return Counters->Irps == 0 && Counters->Mdls == 0 && Counters->PoolAllocations == 0 &&
                 Counters->PoolBytes == 0 && Counters->WorkItems == 0 &&
                 Counters->SystemThreads == 0 && Counters->Sockets == 0 &&
                 Counters->RetainedIndications == 0 && Counters->Registrations == 0 &&
                 Counters->Captures == 0
             ? TRUE
             : FALSE;
}
