// SPDX-License-Identifier: MIT
// The user-mode WSK provider's live-object counters (UmwskQueryCounters) for the fuzz targets
// over umwsk, without the WDK headers (which do not mix with the POSIX socket headers).
#ifndef XWSK_TESTS_FUZZ_FUZZ_UMWSK_H_
#define XWSK_TESTS_FUZZ_FUZZ_UMWSK_H_

namespace fuzz {

/// UMWSK_COUNTERS as plain numbers, in its field order.
struct UmCounters {
  static constexpr int kCount = 10;
  long long v[kCount];
};

/// A snapshot of UmwskQueryCounters, the pool counts without the provider's quarantined blocks
/// (closed sockets, released indication lists: freed for good only once the ring is full or at
/// the last WskDeregister).
UmCounters um_counters();
/// Prints "fuzz: <what>: <field> <then> -> <now>" for every field that differs; true if any.
bool um_counters_differ(const char* what, const UmCounters& then, const UmCounters& now);

}  // namespace fuzz

#endif  // XWSK_TESTS_FUZZ_FUZZ_UMWSK_H_
