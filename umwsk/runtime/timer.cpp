// SPDX-License-Identifier: MIT
// timer.cpp: KTIMER and KDPC. One runtime thread expires timers (in deadline order) and runs
// DPCs (in queue order) at DISPATCH_LEVEL. Lock order: g_timer_lock, then the dispatcher lock.
#include "rt_internal.h"

namespace {

pthread_mutex_t g_timer_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_timer_cond;                   // timers or DPCs to process (CLOCK_MONOTONIC)
pthread_cond_t g_dpc_done_cond;                // a DPC finished (KeFlushQueuedDpcs)
LIST_ENTRY g_timers = {&g_timers, &g_timers};  // armed timers, earliest first
PKDPC g_dpc_head = nullptr;
PKDPC g_dpc_tail = nullptr;
ULONGLONG g_dpc_queued_total = 0;  // DPCs ever queued
ULONGLONG g_dpc_done_total = 0;    // DPCs ever finished or removed
pthread_once_t g_once = PTHREAD_ONCE_INIT;
const void* const kQueuedMark = &g_dpc_head;

constexpr UCHAR kDpcType = 19;  // DpcObject

struct timespec ts_from_100ns(LONGLONG t) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(t / 10000000LL);
  ts.tv_nsec = static_cast<long>((t % 10000000LL) * 100);
  return ts;
}

// g_timer_lock held.
void insert_timer(PKTIMER timer) {
  PLIST_ENTRY e = g_timers.Flink;
  for (; e != &g_timers; e = e->Flink) {
    PKTIMER t = CONTAINING_RECORD(e, KTIMER, TimerListEntry);
    if (t->DueTime.QuadPart > timer->DueTime.QuadPart) {
      break;
    }
  }
  // Insert before e.
  timer->TimerListEntry.Flink = e;
  timer->TimerListEntry.Blink = e->Blink;
  e->Blink->Flink = &timer->TimerListEntry;
  e->Blink = &timer->TimerListEntry;
}

bool timer_armed(PKTIMER timer) {
  return timer->TimerListEntry.Flink != nullptr;
}

// g_timer_lock held.
bool queue_dpc(PKDPC dpc, PVOID a1, PVOID a2) {
  if (dpc->DpcData != nullptr) {
    return false;
  }
  dpc->SystemArgument1 = a1;
  dpc->SystemArgument2 = a2;
  dpc->DpcData = const_cast<void*>(kQueuedMark);
  dpc->DpcListEntry.Next = nullptr;
  if (g_dpc_tail != nullptr) {
    g_dpc_tail->DpcListEntry.Next = &dpc->DpcListEntry;
  } else {
    g_dpc_head = dpc;
  }
  g_dpc_tail = dpc;
  g_dpc_queued_total++;
  pthread_cond_broadcast(&g_timer_cond);
  return true;
}

void* timer_thread(void*) {
  UmwskThreadState& st = umwsk_thread_state();
  pthread_mutex_lock(&g_timer_lock);
  for (;;) {
    // Run queued DPCs first.
    if (g_dpc_head != nullptr) {
      PKDPC dpc = g_dpc_head;
      g_dpc_head = dpc->DpcListEntry.Next != nullptr
                       ? CONTAINING_RECORD(dpc->DpcListEntry.Next, KDPC, DpcListEntry)
                       : nullptr;
      if (g_dpc_head == nullptr) {
        g_dpc_tail = nullptr;
      }
      dpc->DpcListEntry.Next = nullptr;
      PKDEFERRED_ROUTINE routine = dpc->DeferredRoutine;
      PVOID context = dpc->DeferredContext;
      PVOID a1 = dpc->SystemArgument1;
      PVOID a2 = dpc->SystemArgument2;
      dpc->DpcData = nullptr;  // may be queued again from now on (also by its own routine)
      pthread_mutex_unlock(&g_timer_lock);
      st.irql = DISPATCH_LEVEL;
      routine(dpc, context, a1, a2);
      if (st.irql != DISPATCH_LEVEL || st.spin_locks_held != 0) {
        umwsk_rule_violation_at(reinterpret_cast<const void*>(routine),
                                "irql.dpc_returned_changed_irql", dpc,
                                "a DPC routine returned at IRQL %u holding %d spin lock(s)",
                                static_cast<unsigned>(st.irql), st.spin_locks_held);
      }
      st.irql = PASSIVE_LEVEL;
      pthread_mutex_lock(&g_timer_lock);
      g_dpc_done_total++;
      pthread_cond_broadcast(&g_dpc_done_cond);
      continue;
    }
    if (IsListEmpty(&g_timers)) {
      pthread_cond_wait(&g_timer_cond, &g_timer_lock);
      continue;
    }
    PKTIMER first = CONTAINING_RECORD(g_timers.Flink, KTIMER, TimerListEntry);
    const LONGLONG now = umwsk_monotonic_100ns();
    if (static_cast<LONGLONG>(first->DueTime.QuadPart) > now) {
      const struct timespec deadline =
          ts_from_100ns(static_cast<LONGLONG>(first->DueTime.QuadPart));
      pthread_cond_timedwait(&g_timer_cond, &g_timer_lock, &deadline);
      continue;
    }
    RemoveEntryList(&first->TimerListEntry);
    first->TimerListEntry.Flink = first->TimerListEntry.Blink = nullptr;
    if (first->Period != 0) {
      first->DueTime.QuadPart = static_cast<ULONGLONG>(now) + first->Period * 10000ULL;
      insert_timer(first);
    }
    umwsk_dispatcher_set_state(&first->Header, 1);
    if (first->Dpc != nullptr) {
      queue_dpc(first->Dpc, nullptr, nullptr);
    }
  }
  return nullptr;
}

void start_thread() {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&g_timer_cond, &attr);
  pthread_condattr_destroy(&attr);
  pthread_cond_init(&g_dpc_done_cond, nullptr);
  pthread_attr_t tattr;
  pthread_attr_init(&tattr);
  pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
  pthread_t tid;
  if (pthread_create(&tid, &tattr, timer_thread, nullptr) != 0) {
    umwsk_fatal_at(nullptr, "runtime.thread_creation", nullptr,
                   "cannot start the timer/DPC thread");
  }
  pthread_attr_destroy(&tattr);
}

void ensure_started() {
  pthread_once(&g_once, start_thread);
}

void check_dispatch(const void* caller, const void* object, const char* routine) {
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.timer_above_dispatch_level", object,
                            "%s at IRQL %u (must be <= DISPATCH_LEVEL)", routine,
                            static_cast<unsigned>(umwsk_irql()));
  }
}

}  // namespace

// ---- DPCs
// ------------------------------------------------------------------------------------------

void KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext) {
  Dpc->Type = kDpcType;
  Dpc->Importance = MediumImportance;
  Dpc->Number = 0;
  Dpc->DpcListEntry.Next = nullptr;
  Dpc->ProcessorHistory = 0;
  Dpc->DeferredRoutine = DeferredRoutine;
  Dpc->DeferredContext = DeferredContext;
  Dpc->SystemArgument1 = nullptr;
  Dpc->SystemArgument2 = nullptr;
  Dpc->DpcData = nullptr;
}

void KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                             PVOID DeferredContext) {
  KeInitializeDpc(Dpc, DeferredRoutine, DeferredContext);
}

BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2) {
  if (Dpc->Type != kDpcType || Dpc->DeferredRoutine == nullptr) {
    umwsk_rule_violation("dpc.not_initialized", Dpc,
                         "KeInsertQueueDpc on a DPC that KeInitializeDpc did not initialize");
    return FALSE;
  }
  ensure_started();
  pthread_mutex_lock(&g_timer_lock);
  const bool queued = queue_dpc(Dpc, SystemArgument1, SystemArgument2);
  pthread_mutex_unlock(&g_timer_lock);
  return queued ? TRUE : FALSE;
}

BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc) {
  ensure_started();
  pthread_mutex_lock(&g_timer_lock);
  bool removed = false;
  if (Dpc->DpcData != nullptr) {
    PKDPC prev = nullptr;
    for (PKDPC d = g_dpc_head; d != nullptr;
         prev = d, d = d->DpcListEntry.Next != nullptr
                           ? CONTAINING_RECORD(d->DpcListEntry.Next, KDPC, DpcListEntry)
                           : nullptr) {
      if (d == Dpc) {
        PKDPC next = d->DpcListEntry.Next != nullptr
                         ? CONTAINING_RECORD(d->DpcListEntry.Next, KDPC, DpcListEntry)
                         : nullptr;
        if (prev != nullptr) {
          prev->DpcListEntry.Next = d->DpcListEntry.Next;
        } else {
          g_dpc_head = next;
        }
        if (g_dpc_tail == d) {
          g_dpc_tail = prev;
        }
        d->DpcListEntry.Next = nullptr;
        d->DpcData = nullptr;
        g_dpc_done_total++;
        pthread_cond_broadcast(&g_dpc_done_cond);
        removed = true;
        break;
      }
    }
  }
  pthread_mutex_unlock(&g_timer_lock);
  return removed ? TRUE : FALSE;
}

void KeFlushQueuedDpcs(void) {
  if (umwsk_irql() != PASSIVE_LEVEL) {
    umwsk_rule_violation("irql.flush_dpcs_above_passive", nullptr,
                         "KeFlushQueuedDpcs at IRQL %u (must be PASSIVE_LEVEL)",
                         static_cast<unsigned>(umwsk_irql()));
  }
  ensure_started();
  pthread_mutex_lock(&g_timer_lock);
  const ULONGLONG target = g_dpc_queued_total;
  while (g_dpc_done_total < target) {
    pthread_cond_wait(&g_dpc_done_cond, &g_timer_lock);
  }
  pthread_mutex_unlock(&g_timer_lock);
}

void KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance) {
  Dpc->Importance = static_cast<UCHAR>(Importance);
}

void KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number) {
  Dpc->Number = static_cast<USHORT>(Number);
}

// ---- timers
// ------------------------------------------------------------------------------------------

void KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type) {
  umwsk_dispatcher_init(&Timer->Header,
                        Type == SynchronizationTimer ? UMWSK_TIMER_SYNCHRONIZATION_OBJECT
                                                     : UMWSK_TIMER_NOTIFICATION_OBJECT,
                        0);
  Timer->DueTime.QuadPart = 0;
  Timer->TimerListEntry.Flink = Timer->TimerListEntry.Blink = nullptr;
  Timer->Dpc = nullptr;
  Timer->Processor = 0;
  Timer->Period = 0;
}

void KeInitializeTimer(PKTIMER Timer) {
  KeInitializeTimerEx(Timer, NotificationTimer);
}

BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc) {
  const void* caller = __builtin_return_address(0);
  check_dispatch(caller, Timer, "KeSetTimer");
  if (Timer->Header.Type != UMWSK_TIMER_NOTIFICATION_OBJECT &&
      Timer->Header.Type != UMWSK_TIMER_SYNCHRONIZATION_OBJECT) {
    umwsk_rule_violation_at(caller, "timer.not_initialized", Timer,
                            "KeSetTimer on a timer that KeInitializeTimer did not initialize");
    return FALSE;
  }
  if (Period < 0) {
    umwsk_rule_violation_at(caller, "timer.bad_period", Timer, "KeSetTimerEx with Period %d",
                            Period);
    return FALSE;
  }
  ensure_started();
  const struct timespec deadline = umwsk_deadline_from_timeout(DueTime.QuadPart);
  const LONGLONG due = static_cast<LONGLONG>(deadline.tv_sec) * 10000000LL + deadline.tv_nsec / 100;
  pthread_mutex_lock(&g_timer_lock);
  const bool was_armed = timer_armed(Timer);
  if (was_armed) {
    RemoveEntryList(&Timer->TimerListEntry);
  }
  umwsk_dispatcher_set_state(&Timer->Header, 0);
  Timer->DueTime.QuadPart = static_cast<ULONGLONG>(due);
  Timer->Period = static_cast<ULONG>(Period);
  Timer->Dpc = Dpc;
  insert_timer(Timer);
  pthread_cond_broadcast(&g_timer_cond);
  pthread_mutex_unlock(&g_timer_lock);
  return was_armed ? TRUE : FALSE;
}

BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc) {
  return KeSetTimerEx(Timer, DueTime, 0, Dpc);
}

BOOLEAN KeCancelTimer(PKTIMER Timer) {
  check_dispatch(__builtin_return_address(0), Timer, "KeCancelTimer");
  pthread_mutex_lock(&g_timer_lock);
  const bool was_armed = timer_armed(Timer);
  if (was_armed) {
    RemoveEntryList(&Timer->TimerListEntry);
    Timer->TimerListEntry.Flink = Timer->TimerListEntry.Blink = nullptr;
  }
  pthread_mutex_unlock(&g_timer_lock);
  return was_armed ? TRUE : FALSE;
}

BOOLEAN KeReadStateTimer(PKTIMER Timer) {
  return __atomic_load_n(&Timer->Header.SignalState, __ATOMIC_ACQUIRE) > 0 ? TRUE : FALSE;
}
