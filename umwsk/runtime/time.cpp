// SPDX-License-Identifier: MIT
// time.cpp: system time (1601 epoch), interrupt time, ticks, performance counter, processors.
#include <sched.h>
#include <unistd.h>

#include "rt_internal.h"

namespace {

LONGLONG ts_to_100ns(const struct timespec& ts) {
  return static_cast<LONGLONG>(ts.tv_sec) * 10000000LL + ts.tv_nsec / 100;
}

constexpr ULONG kTimeIncrement = 156250;  // 15.625 ms in 100 ns units

}  // namespace

LONGLONG umwsk_system_time_100ns() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts_to_100ns(ts) + kUmwskEpochDelta100ns;
}

LONGLONG umwsk_monotonic_100ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts_to_100ns(ts);
}

struct timespec umwsk_deadline_from_timeout(LONGLONG timeout_100ns) {
  LONGLONG relative = 0;
  if (timeout_100ns < 0) {
    relative = -timeout_100ns;
  } else {
    relative = timeout_100ns - umwsk_system_time_100ns();
    if (relative < 0) {
      relative = 0;
    }
  }
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  // Cap at about 100 years so the arithmetic cannot overflow.
  const LONGLONG cap = 100LL * 365 * 24 * 3600 * 10000000LL;
  if (relative > cap) {
    relative = cap;
  }
  LONGLONG ns = static_cast<LONGLONG>(now.tv_nsec) + (relative % 10000000LL) * 100;
  struct timespec deadline;
  deadline.tv_sec = now.tv_sec + static_cast<time_t>(relative / 10000000LL) +
                    static_cast<time_t>(ns / 1000000000LL);
  deadline.tv_nsec = static_cast<long>(ns % 1000000000LL);
  return deadline;
}

void KeQuerySystemTime(PLARGE_INTEGER CurrentTime) {
  CurrentTime->QuadPart = umwsk_system_time_100ns();
}

void KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime) {
  CurrentTime->QuadPart = umwsk_system_time_100ns();
}

ULONGLONG KeQueryInterruptTime(void) {
  return static_cast<ULONGLONG>(umwsk_monotonic_100ns());
}

ULONGLONG KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp) {
  const auto t = static_cast<ULONGLONG>(umwsk_monotonic_100ns());
  if (QpcTimeStamp != nullptr) {
    *QpcTimeStamp = t;
  }
  return t;
}

ULONGLONG KeQueryUnbiasedInterruptTime(void) {
  return static_cast<ULONGLONG>(umwsk_monotonic_100ns());
}

void KeQueryTickCount(PLARGE_INTEGER CurrentCount) {
  CurrentCount->QuadPart = umwsk_monotonic_100ns() / kTimeIncrement;
}

ULONG KeQueryTimeIncrement(void) {
  return kTimeIncrement;
}

LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency) {
  if (PerformanceFrequency != nullptr) {
    PerformanceFrequency->QuadPart = 10000000;
  }
  LARGE_INTEGER v;
  v.QuadPart = umwsk_monotonic_100ns();
  return v;
}

void KeStallExecutionProcessor(ULONG MicroSeconds) {
  const LONGLONG end = umwsk_monotonic_100ns() + static_cast<LONGLONG>(MicroSeconds) * 10;
  while (umwsk_monotonic_100ns() < end) {
    YieldProcessor();
  }
}

void ExSystemTimeToLocalTime(PLARGE_INTEGER SystemTime, PLARGE_INTEGER LocalTime) {
  const time_t now = time(nullptr);
  struct tm local;
  localtime_r(&now, &local);
  LocalTime->QuadPart = SystemTime->QuadPart + static_cast<LONGLONG>(local.tm_gmtoff) * 10000000LL;
}

void ExLocalTimeToSystemTime(PLARGE_INTEGER LocalTime, PLARGE_INTEGER SystemTime) {
  const time_t now = time(nullptr);
  struct tm local;
  localtime_r(&now, &local);
  SystemTime->QuadPart = LocalTime->QuadPart - static_cast<LONGLONG>(local.tm_gmtoff) * 10000000LL;
}

void RtlTimeToTimeFields(PLARGE_INTEGER Time, PTIME_FIELDS TimeFields) {
  const LONGLONG t = Time->QuadPart - kUmwskEpochDelta100ns;
  LONGLONG secs = t / 10000000LL;
  LONGLONG rem = t % 10000000LL;
  if (rem < 0) {
    rem += 10000000LL;
    secs -= 1;
  }
  const auto tt = static_cast<time_t>(secs);
  struct tm f;
  gmtime_r(&tt, &f);
  TimeFields->Year = static_cast<SHORT>(f.tm_year + 1900);
  TimeFields->Month = static_cast<SHORT>(f.tm_mon + 1);
  TimeFields->Day = static_cast<SHORT>(f.tm_mday);
  TimeFields->Hour = static_cast<SHORT>(f.tm_hour);
  TimeFields->Minute = static_cast<SHORT>(f.tm_min);
  TimeFields->Second = static_cast<SHORT>(f.tm_sec);
  TimeFields->Milliseconds = static_cast<SHORT>(rem / 10000);
  TimeFields->Weekday = static_cast<SHORT>(f.tm_wday);
}

// ---- processors ---------------------------------------------------------------------------------

namespace {

ULONG online_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) {
    return 1;
  }
  return n > MAXIMUM_PROCESSORS ? MAXIMUM_PROCESSORS : static_cast<ULONG>(n);
}

}  // namespace

ULONG KeGetCurrentProcessorNumber(void) {
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<ULONG>(cpu) % MAXIMUM_PROCESSORS;
}

ULONG KeGetCurrentProcessorIndex(void) {
  return KeGetCurrentProcessorNumber();
}

ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber) {
  const ULONG n = KeGetCurrentProcessorNumber();
  if (ProcNumber != nullptr) {
    ProcNumber->Group = 0;
    ProcNumber->Number = static_cast<UCHAR>(n);
    ProcNumber->Reserved = 0;
  }
  return n;
}

ULONG KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors) {
  const ULONG n = online_cpus();
  if (ActiveProcessors != nullptr) {
    *ActiveProcessors =
        n >= 64 ? ~static_cast<KAFFINITY>(0) : ((static_cast<KAFFINITY>(1) << n) - 1);
  }
  return n;
}

ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber) {
  return (GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS) ? online_cpus() : 0;
}

ULONG KeQueryMaximumProcessorCount(void) {
  const long n = sysconf(_SC_NPROCESSORS_CONF);
  if (n < 1) {
    return 1;
  }
  return n > MAXIMUM_PROCESSORS ? MAXIMUM_PROCESSORS : static_cast<ULONG>(n);
}

ULONG KeQueryMaximumProcessorCountEx(USHORT GroupNumber) {
  return (GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS) ? KeQueryMaximumProcessorCount()
                                                                   : 0;
}

USHORT KeQueryActiveGroupCount(void) {
  return 1;
}
