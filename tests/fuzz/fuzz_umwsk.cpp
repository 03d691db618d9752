// SPDX-License-Identifier: MIT
#include "fuzz_umwsk.h"

#include <stdio.h>

#include <umwsk.h>

namespace fuzz {

namespace {
const char* const kNames[UmCounters::kCount] = {
    "Irps",          "Mdls",    "PoolAllocations",     "PoolBytes",     "WorkItems",
    "SystemThreads", "Sockets", "RetainedIndications", "Registrations", "Captures"};
}

namespace {
constexpr ULONG tag_of(const char (&t)[5]) {
  return static_cast<ULONG>(static_cast<unsigned char>(t[0])) |
         (static_cast<ULONG>(static_cast<unsigned char>(t[1])) << 8) |
         (static_cast<ULONG>(static_cast<unsigned char>(t[2])) << 16) |
         (static_cast<ULONG>(static_cast<unsigned char>(t[3])) << 24);
}
// The provider keeps the blocks of closed sockets and released indication lists in a quarantine
// (a ring of 256 per kind, emptied at the last WskDeregister) so that a late use is reported,
// not a use of freed memory: those pool blocks stay allocated after their objects are gone.
constexpr ULONG kQuarantined[] = {tag_of("WkSo"), tag_of("WkIn")};
}  // namespace

UmCounters um_counters() {
  UMWSK_COUNTERS c{};
  UmwskQueryCounters(&c);
  for (ULONG tag : kQuarantined) {
    ULONG_PTR blocks = 0, bytes = 0;
    UmwskQueryPoolTag(tag, &blocks, &bytes);
    c.PoolAllocations -= static_cast<LONG>(blocks);
    c.PoolBytes -= static_cast<LONG64>(bytes);
  }
  UmCounters r{{c.Irps, c.Mdls, c.PoolAllocations, c.PoolBytes, c.WorkItems, c.SystemThreads,
                c.Sockets, c.RetainedIndications, c.Registrations, c.Captures}};
  return r;
}

namespace {
void print_tag(ULONG tag, ULONG_PTR allocations, ULONG_PTR bytes, PVOID) {
  CHAR text[5];
  UmwskFormatPoolTag(tag, text);
  fprintf(stderr, "fuzz:   pool tag '%s': %lu blocks, %lu bytes\n", text,
          static_cast<unsigned long>(allocations), static_cast<unsigned long>(bytes));
}
}  // namespace

bool um_counters_differ(const char* what, const UmCounters& then, const UmCounters& now) {
  bool differ = false;
  for (int i = 0; i < UmCounters::kCount; ++i) {
    if (then.v[i] == now.v[i]) continue;
    fprintf(stderr, "fuzz: %s: umwsk %s %lld -> %lld\n", what, kNames[i], then.v[i], now.v[i]);
    differ = true;
  }
  if (differ) UmwskForEachPoolTag(print_tag, nullptr);
  return differ;
}

}  // namespace fuzz
