// SPDX-License-Identifier: MIT
// verifier.cpp: the one place where broken rules are reported (umwsk_rule_violation), bug checks,
// fail-fast, assertions and the verifier's mode and counts (umwsk.h).
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_internal.h"

namespace {

struct RuleCount {
  const char* rule;  // interned: compared by content, stored as given (rules are literals)
  LONG64 count;
};
constexpr int kMaxRules = 256;
pthread_mutex_t g_rules_lock = PTHREAD_MUTEX_INITIALIZER;
RuleCount g_rules[kMaxRules];
int g_rule_count = 0;
LONG64 g_total = 0;
const char* g_last_rule = "";

std::atomic<int> g_mode{-1};  // -1: not read from the environment yet

UMWSK_VERIFIER_MODE mode() {
  int m = g_mode.load(std::memory_order_acquire);
  if (m < 0) {
    const char* env = getenv("UMWSK_VERIFIER");
    const int from_env =
        (env != nullptr && strcmp(env, "report") == 0) ? UmwskVerifierReport : UmwskVerifierStop;
    int expected = -1;
    g_mode.compare_exchange_strong(expected, from_env, std::memory_order_acq_rel);
    m = g_mode.load(std::memory_order_acquire);
  }
  return static_cast<UMWSK_VERIFIER_MODE>(m);
}

void count_rule(const char* rule) {
  pthread_mutex_lock(&g_rules_lock);
  g_total++;
  g_last_rule = rule;
  int i = 0;
  for (; i < g_rule_count; ++i) {
    if (strcmp(g_rules[i].rule, rule) == 0) {
      break;
    }
  }
  if (i == g_rule_count && g_rule_count < kMaxRules) {
    g_rules[g_rule_count].rule = rule;
    g_rules[g_rule_count].count = 0;
    g_rule_count++;
  }
  if (i < g_rule_count) {
    g_rules[i].count++;
  }
  pthread_mutex_unlock(&g_rules_lock);
}

void vreport(const char* kind, const void* caller, const char* rule, const void* object,
             const char* fmt, va_list ap) {
  char message[1024];
  vsnprintf(message, sizeof message, fmt, ap);
  char head[1400];
  snprintf(head, sizeof head,
           "umwsk verifier: %s %s\n  object: %p\n  what:   %s\n  thread: %lu at IRQL %u\n", kind,
           rule, object, message,
           static_cast<unsigned long>(reinterpret_cast<ULONG_PTR>(PsGetCurrentThreadId())),
           static_cast<unsigned>(umwsk_irql()));
  fputs(head, stderr);
  umwsk_print_caller_and_stack(caller);
  fflush(stderr);
}

}  // namespace

void umwsk_print_caller_and_stack(const void* caller) {
  Dl_info info;
  memset(&info, 0, sizeof info);
  // The return address points after the call; look up the byte before it.
  // (No pointer arithmetic on a null caller: UBSan reports it.)
  const void* lookup =
      reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(caller) - (caller != nullptr));
  if (caller != nullptr && dladdr(lookup, &info) != 0) {
    const char* sym = info.dli_sname != nullptr ? info.dli_sname : "?";
    const char* base = info.dli_saddr != nullptr ? static_cast<const char*>(info.dli_saddr)
                                                 : static_cast<const char*>(info.dli_fbase);
    const char* module = info.dli_fname != nullptr ? info.dli_fname : "?";
    const auto offset = static_cast<unsigned long>(static_cast<const char*>(caller) - base);
    if (info.dli_sname != nullptr) {
      fprintf(stderr, "  caller: %s+0x%lx (%s) [%p]\n", sym, offset, module, caller);
    } else {
      // No dynamic symbol (a static function, or an executable linked without -rdynamic).
      fprintf(stderr, "  caller: %s+0x%lx [%p] (addr2line -f -C -e %s 0x%lx)\n", module, offset,
              caller, module, offset);
    }
  } else {
    fprintf(stderr, "  caller: [%p]\n", caller);
  }
  void* frames[48];
  const int n = backtrace(frames, 48);
  fputs("  backtrace:\n", stderr);
  fflush(stderr);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
}

void umwsk_rule_violation_at(const void* caller, const char* rule, const void* object,
                             const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const bool report = mode() == UmwskVerifierReport;
  vreport(report ? "rule (reported, continuing)" : "rule", caller, rule, object, fmt, ap);
  va_end(ap);
  count_rule(rule);
  if (!report) {
    fputs("umwsk verifier: stopping (set UMWSK_VERIFIER=report to count and continue)\n", stderr);
    abort();
  }
}

void umwsk_fatal_at(const void* caller, const char* what, const void* object, const char* fmt,
                    ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("fatal", caller, what, object, fmt, ap);
  va_end(ap);
  count_rule(what);
  abort();
}

// ---- umwsk.h ------------------------------------------------------------------------------------

UMWSK_VERIFIER_MODE UmwskSetVerifierMode(UMWSK_VERIFIER_MODE Mode) {
  const UMWSK_VERIFIER_MODE old = mode();
  g_mode.store(Mode == UmwskVerifierReport ? UmwskVerifierReport : UmwskVerifierStop,
               std::memory_order_release);
  return old;
}

UMWSK_VERIFIER_MODE UmwskGetVerifierMode(void) {
  return mode();
}

LONG64 UmwskViolationCount(PCSTR Rule) {
  pthread_mutex_lock(&g_rules_lock);
  LONG64 n = 0;
  if (Rule == nullptr) {
    n = g_total;
  } else {
    for (int i = 0; i < g_rule_count; ++i) {
      if (strcmp(g_rules[i].rule, Rule) == 0) {
        n = g_rules[i].count;
      }
    }
  }
  pthread_mutex_unlock(&g_rules_lock);
  return n;
}

PCSTR UmwskLastViolationRule(void) {
  pthread_mutex_lock(&g_rules_lock);
  const char* r = g_last_rule;
  pthread_mutex_unlock(&g_rules_lock);
  return r;
}

void UmwskResetViolations(void) {
  pthread_mutex_lock(&g_rules_lock);
  g_rule_count = 0;
  g_total = 0;
  g_last_rule = "";
  pthread_mutex_unlock(&g_rules_lock);
}

// ---- bug checks, assertions ---------------------------------------------------------------------

void KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1, ULONG_PTR BugCheckParameter2,
                  ULONG_PTR BugCheckParameter3, ULONG_PTR BugCheckParameter4) {
  umwsk_fatal_at(__builtin_return_address(0), "bugcheck", nullptr,
                 "KeBugCheckEx(0x%08X, 0x%lx, 0x%lx, 0x%lx, 0x%lx)", BugCheckCode,
                 static_cast<unsigned long>(BugCheckParameter1),
                 static_cast<unsigned long>(BugCheckParameter2),
                 static_cast<unsigned long>(BugCheckParameter3),
                 static_cast<unsigned long>(BugCheckParameter4));
}

void KeBugCheck(ULONG BugCheckCode) {
  umwsk_fatal_at(__builtin_return_address(0), "bugcheck", nullptr, "KeBugCheck(0x%08X)",
                 BugCheckCode);
}

void RtlFailFast(ULONG Code) {
  umwsk_fatal_at(
      __builtin_return_address(0),
      Code == FAST_FAIL_CORRUPT_LIST_ENTRY ? "list.corrupt_entry" : "fail_fast", nullptr,
      "__fastfail(%u)%s", Code,
      Code == FAST_FAIL_CORRUPT_LIST_ENTRY ? ": a LIST_ENTRY's links are inconsistent" : "");
}

void ExRaiseStatus(NTSTATUS Status) {
  const char* name = umwsk_status_name(Status);
  umwsk_fatal_at(__builtin_return_address(0), "exception.raised", nullptr,
                 "ExRaiseStatus(0x%08X %s): no structured exception handling here",
                 static_cast<unsigned>(Status), name != nullptr ? name : "");
}

void RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber,
               PSTR MutableMessage) {
  umwsk_fatal_at(__builtin_return_address(0), "assertion", nullptr,
                 "Assertion failed: %s%s%s at %s:%u", static_cast<const char*>(VoidFailedAssertion),
                 MutableMessage != nullptr ? " - " : "",
                 MutableMessage != nullptr ? MutableMessage : "",
                 static_cast<const char*>(VoidFileName), LineNumber);
}

void UmwskCheckPagedCode(PCSTR File, ULONG Line) {
  const KIRQL irql = umwsk_irql();
  if (irql > APC_LEVEL) {
    umwsk_rule_violation("irql.paged_code_above_apc_level", nullptr,
                         "PAGED_CODE() at %s:%u runs at IRQL %u (must be <= APC_LEVEL)", File, Line,
                         static_cast<unsigned>(irql));
  }
}

void DbgBreakPoint(void) {
  raise(SIGTRAP);
}

void DbgBreakPointWithStatus(ULONG Status) {
  (void)Status;
  raise(SIGTRAP);
}

BOOLEAN KdRefreshDebuggerNotPresent(void) {
  return TRUE;
}
