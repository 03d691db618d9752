// SPDX-License-Identifier: MIT
// dispatcher.cpp: dispatcher objects (events, semaphores, mutexes, threads) and waits.
//
// One process-wide mutex guards every dispatcher object's state. A waiting thread links one wait
// block per object into the objects' WaitListHead and sleeps on its own condition variable
// (CLOCK_MONOTONIC); a signal wakes every waiter of the object, and each re-checks under the lock,
// so a synchronization event or a semaphore is consumed by exactly one waiter.
#include <errno.h>

#include "rt_internal.h"

namespace {

pthread_mutex_t g_disp = PTHREAD_MUTEX_INITIALIZER;

// Ke*ReadState*: the signal state, read under the dispatcher lock.
LONG read_state(const DISPATCHER_HEADER* header) {
  pthread_mutex_lock(&g_disp);
  const LONG state = header->SignalState;
  pthread_mutex_unlock(&g_disp);
  return state;
}

struct Waiter {
  pthread_cond_t cond;
};

struct WaitBlock {
  LIST_ENTRY entry;
  Waiter* waiter;
  DISPATCHER_HEADER* object;
  bool pulsed;  // satisfied by KePulseEvent
};

bool known_type(const DISPATCHER_HEADER* h) {
  switch (h->Type) {
    case UMWSK_EVENT_NOTIFICATION_OBJECT:
    case UMWSK_EVENT_SYNCHRONIZATION_OBJECT:
    case UMWSK_MUTANT_OBJECT:
    case UMWSK_SEMAPHORE_OBJECT:
    case UMWSK_THREAD_OBJECT:
    case UMWSK_TIMER_NOTIFICATION_OBJECT:
    case UMWSK_TIMER_SYNCHRONIZATION_OBJECT:
      return h->WaitListHead.Flink != nullptr && h->WaitListHead.Blink != nullptr;
    default:
      return false;
  }
}

bool signaled(const DISPATCHER_HEADER* h, _KTHREAD* me) {
  if (h->Type == UMWSK_MUTANT_OBJECT) {
    return h->SignalState > 0 ||
           reinterpret_cast<const KMUTANT*>(h)->OwnerThread == reinterpret_cast<PKTHREAD>(me);
  }
  return h->SignalState > 0;
}

void consume(DISPATCHER_HEADER* h, _KTHREAD* me) {
  switch (h->Type) {
    case UMWSK_EVENT_SYNCHRONIZATION_OBJECT:
    case UMWSK_TIMER_SYNCHRONIZATION_OBJECT:
      h->SignalState = 0;
      break;
    case UMWSK_SEMAPHORE_OBJECT:
      h->SignalState--;
      break;
    case UMWSK_MUTANT_OBJECT:
      h->SignalState--;
      reinterpret_cast<KMUTANT*>(h)->OwnerThread = reinterpret_cast<PKTHREAD>(me);
      break;
    default:
      break;
  }
}

// Wakes the waiters of h (g_disp held).
void wake_waiters(DISPATCHER_HEADER* h) {
  for (PLIST_ENTRY e = h->WaitListHead.Flink; e != &h->WaitListHead; e = e->Flink) {
    WaitBlock* wb = CONTAINING_RECORD(e, WaitBlock, entry);
    pthread_cond_signal(&wb->waiter->cond);
  }
}

int timespec_cmp(const struct timespec& a, const struct timespec& b) {
  if (a.tv_sec != b.tv_sec) {
    return a.tv_sec < b.tv_sec ? -1 : 1;
  }
  if (a.tv_nsec != b.tv_nsec) {
    return a.tv_nsec < b.tv_nsec ? -1 : 1;
  }
  return 0;
}

void check_wait_irql(const void* caller, const void* object, const PLARGE_INTEGER timeout,
                     const char* routine) {
  const KIRQL irql = umwsk_irql();
  const bool zero = timeout != nullptr && timeout->QuadPart == 0;
  if (irql > DISPATCH_LEVEL || (irql > APC_LEVEL && !zero)) {
    umwsk_rule_violation_at(caller, "irql.wait_above_apc_level", object,
                            "%s with %s timeout at IRQL %u (a wait that can block requires "
                            "IRQL <= APC_LEVEL; a zero timeout allows DISPATCH_LEVEL)",
                            routine, timeout == nullptr ? "an infinite" : "a non-zero",
                            static_cast<unsigned>(irql));
  }
}

NTSTATUS wait_objects(ULONG count, DISPATCHER_HEADER** objects, WAIT_TYPE type,
                      PLARGE_INTEGER timeout, const void* caller) {
  _KTHREAD* me = umwsk_current_thread();
  struct timespec deadline = {0, 0};
  const bool timed = timeout != nullptr;
  const bool poll = timed && timeout->QuadPart == 0;
  if (timed && !poll) {
    deadline = umwsk_deadline_from_timeout(timeout->QuadPart);
  }
  WaitBlock blocks[MAXIMUM_WAIT_OBJECTS];
  Waiter waiter;
  bool linked = false;
  NTSTATUS result = STATUS_TIMEOUT;

  pthread_mutex_lock(&g_disp);
  for (ULONG i = 0; i < count; ++i) {
    if (!known_type(objects[i])) {
      pthread_mutex_unlock(&g_disp);
      umwsk_rule_violation_at(caller, "wait.bad_object", objects[i],
                              "waiting on an object that is not an initialized dispatcher object "
                              "(type %u)",
                              static_cast<unsigned>(objects[i]->Type));
      return STATUS_INVALID_PARAMETER;
    }
  }
  for (;;) {
    if (type == WaitAny) {
      bool done = false;
      for (ULONG i = 0; i < count; ++i) {
        if (signaled(objects[i], me) || (linked && blocks[i].pulsed)) {
          if (!(linked && blocks[i].pulsed)) {
            consume(objects[i], me);
          }
          result = static_cast<NTSTATUS>(STATUS_WAIT_0 + i);
          done = true;
          break;
        }
      }
      if (done) {
        break;
      }
    } else {
      bool all = true;
      for (ULONG i = 0; i < count && all; ++i) {
        all = signaled(objects[i], me);
      }
      if (all) {
        for (ULONG i = 0; i < count; ++i) {
          consume(objects[i], me);
        }
        result = STATUS_SUCCESS;
        break;
      }
    }
    if (poll) {
      result = STATUS_TIMEOUT;
      break;
    }
    if (timed) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (timespec_cmp(now, deadline) >= 0) {
        result = STATUS_TIMEOUT;
        break;
      }
    }
    if (!linked) {
      pthread_condattr_t attr;
      pthread_condattr_init(&attr);
      pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
      pthread_cond_init(&waiter.cond, &attr);
      pthread_condattr_destroy(&attr);
      for (ULONG i = 0; i < count; ++i) {
        blocks[i].waiter = &waiter;
        blocks[i].object = objects[i];
        blocks[i].pulsed = false;
        InsertTailList(&objects[i]->WaitListHead, &blocks[i].entry);
      }
      linked = true;
      continue;  // re-check once linked (nothing can change while we hold the lock, but cheap)
    }
    if (timed) {
      const int rc = pthread_cond_timedwait(&waiter.cond, &g_disp, &deadline);
      (void)rc;  // ETIMEDOUT is re-checked above against the clock
    } else {
      pthread_cond_wait(&waiter.cond, &g_disp);
    }
  }
  if (linked) {
    for (ULONG i = 0; i < count; ++i) {
      RemoveEntryList(&blocks[i].entry);
    }
  }
  pthread_mutex_unlock(&g_disp);
  if (linked) {
    pthread_cond_destroy(&waiter.cond);
  }
  return result;
}

}  // namespace

void umwsk_dispatcher_init(DISPATCHER_HEADER* header, UCHAR type, LONG state) {
  header->Lock = 0;
  header->Type = type;
  header->Size = 0;
  header->SignalState = state;
  InitializeListHead(&header->WaitListHead);
}

void umwsk_dispatcher_set_state(DISPATCHER_HEADER* header, LONG state) {
  pthread_mutex_lock(&g_disp);
  header->SignalState = state;
  if (state > 0) {
    wake_waiters(header);
  }
  pthread_mutex_unlock(&g_disp);
}

void umwsk_thread_signal_end(_KTHREAD* thread) {
  pthread_mutex_lock(&g_disp);
  thread->Header.SignalState = 1;
  wake_waiters(&thread->Header);
  pthread_mutex_unlock(&g_disp);
}

// ---- events -------------------------------------------------------------------------------------

void KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State) {
  umwsk_dispatcher_init(&Event->Header,
                        Type == SynchronizationEvent ? UMWSK_EVENT_SYNCHRONIZATION_OBJECT
                                                     : UMWSK_EVENT_NOTIFICATION_OBJECT,
                        State ? 1 : 0);
}

namespace {

bool check_event(PRKEVENT Event, const void* caller, const char* routine) {
  // Waiters link themselves into the wait list under the dispatcher lock: read it under it too.
  pthread_mutex_lock(&g_disp);
  const bool initialized = (Event->Header.Type == UMWSK_EVENT_NOTIFICATION_OBJECT ||
                            Event->Header.Type == UMWSK_EVENT_SYNCHRONIZATION_OBJECT) &&
                           Event->Header.WaitListHead.Flink != nullptr &&
                           Event->Header.WaitListHead.Blink != nullptr;
  pthread_mutex_unlock(&g_disp);
  if (!initialized) {
    umwsk_rule_violation_at(caller, "event.not_initialized", Event,
                            "%s on an object that is not an initialized event", routine);
    return false;  // report mode: leave the memory alone
  }
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.event_above_dispatch_level", Event,
                            "%s at IRQL %u (must be <= DISPATCH_LEVEL)", routine,
                            static_cast<unsigned>(umwsk_irql()));
  }
  return true;
}

// KeSetEvent / KeResetEvent / KeClearEvent: the new signal state, waking the waiters it satisfies
// when @p wake; returns the old state.
LONG swap_state(DISPATCHER_HEADER* header, LONG state, bool wake) {
  pthread_mutex_lock(&g_disp);
  const LONG old = header->SignalState;
  header->SignalState = state;
  if (wake) {
    wake_waiters(header);
  }
  pthread_mutex_unlock(&g_disp);
  return old;
}

}  // namespace

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait) {
  (void)Increment;
  (void)Wait;
  if (!check_event(Event, __builtin_return_address(0), "KeSetEvent")) {
    return 0;
  }
  return swap_state(&Event->Header, 1, true);
}

LONG KeResetEvent(PRKEVENT Event) {
  if (!check_event(Event, __builtin_return_address(0), "KeResetEvent")) {
    return 0;
  }
  return swap_state(&Event->Header, 0, false);
}

void KeClearEvent(PRKEVENT Event) {
  if (!check_event(Event, __builtin_return_address(0), "KeClearEvent")) {
    return;
  }
  swap_state(&Event->Header, 0, false);
}

LONG KeReadStateEvent(PRKEVENT Event) {
  return read_state(&Event->Header);
}

LONG KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait) {
  (void)Increment;
  (void)Wait;
  if (!check_event(Event, __builtin_return_address(0), "KePulseEvent")) {
    return 0;
  }
  pthread_mutex_lock(&g_disp);
  const LONG old = Event->Header.SignalState;
  // Satisfy the current waiters (all of them, or one for a synchronization event), then leave the
  // event not signalled.
  for (PLIST_ENTRY e = Event->Header.WaitListHead.Flink; e != &Event->Header.WaitListHead;
       e = e->Flink) {
    WaitBlock* wb = CONTAINING_RECORD(e, WaitBlock, entry);
    wb->pulsed = true;
    pthread_cond_signal(&wb->waiter->cond);
    if (Event->Header.Type == UMWSK_EVENT_SYNCHRONIZATION_OBJECT) {
      break;
    }
  }
  Event->Header.SignalState = 0;
  pthread_mutex_unlock(&g_disp);
  return old;
}

// ---- semaphores ---------------------------------------------------------------------------------

void KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit) {
  umwsk_dispatcher_init(&Semaphore->Header, UMWSK_SEMAPHORE_OBJECT, Count);
  Semaphore->Limit = Limit;
}

LONG KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                        BOOLEAN Wait) {
  (void)Increment;
  (void)Wait;
  if (Semaphore->Header.Type != UMWSK_SEMAPHORE_OBJECT || !known_type(&Semaphore->Header)) {
    umwsk_rule_violation("semaphore.not_initialized", Semaphore,
                         "KeReleaseSemaphore on an object that is not an initialized semaphore");
    return 0;
  }
  pthread_mutex_lock(&g_disp);
  const LONG old = Semaphore->Header.SignalState;
  if (Adjustment <= 0 || old > Semaphore->Limit - Adjustment) {
    pthread_mutex_unlock(&g_disp);
    umwsk_rule_violation("semaphore.limit_exceeded", Semaphore,
                         "KeReleaseSemaphore(%d) on a count of %d with limit %d "
                         "(STATUS_SEMAPHORE_LIMIT_EXCEEDED is raised on Windows)",
                         Adjustment, old, Semaphore->Limit);
    return old;
  }
  Semaphore->Header.SignalState = old + Adjustment;
  wake_waiters(&Semaphore->Header);
  pthread_mutex_unlock(&g_disp);
  return old;
}

LONG KeReadStateSemaphore(PRKSEMAPHORE Semaphore) {
  return read_state(&Semaphore->Header);
}

// ---- mutexes (SignalState 1 = free; each acquisition by the owner decrements) -------------------

void KeInitializeMutex(PRKMUTEX Mutex, ULONG Level) {
  (void)Level;
  umwsk_dispatcher_init(&Mutex->Header, UMWSK_MUTANT_OBJECT, 1);
  InitializeListHead(&Mutex->MutantListEntry);
  Mutex->OwnerThread = nullptr;
  Mutex->Abandoned = FALSE;
  Mutex->ApcDisable = 1;
}

LONG KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait) {
  (void)Wait;
  if (Mutex->Header.Type != UMWSK_MUTANT_OBJECT || !known_type(&Mutex->Header)) {
    umwsk_rule_violation("mutex.not_initialized", Mutex,
                         "KeReleaseMutex on an object that is not an initialized mutex");
    return 0;
  }
  pthread_mutex_lock(&g_disp);
  const LONG old = Mutex->Header.SignalState;
  if (Mutex->OwnerThread != reinterpret_cast<PKTHREAD>(umwsk_current_thread()) || old > 0) {
    pthread_mutex_unlock(&g_disp);
    umwsk_rule_violation("mutex.release_not_owner", Mutex,
                         "KeReleaseMutex by a thread that does not own the mutex "
                         "(STATUS_MUTANT_NOT_OWNED is raised on Windows)");
    return old;
  }
  Mutex->Header.SignalState = old + 1;
  if (Mutex->Header.SignalState == 1) {
    Mutex->OwnerThread = nullptr;
    wake_waiters(&Mutex->Header);
  }
  pthread_mutex_unlock(&g_disp);
  return old;
}

LONG KeReadStateMutex(PRKMUTEX Mutex) {
  return read_state(&Mutex->Header);
}

// ---- waits --------------------------------------------------------------------------------------

NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                               BOOLEAN Alertable, PLARGE_INTEGER Timeout) {
  (void)WaitReason;
  (void)WaitMode;
  (void)Alertable;
  const void* caller = __builtin_return_address(0);
  check_wait_irql(caller, Object, Timeout, "KeWaitForSingleObject");
  if (Object == nullptr) {
    umwsk_rule_violation_at(caller, "wait.bad_object", Object, "KeWaitForSingleObject(NULL)");
    return STATUS_INVALID_PARAMETER;
  }
  auto* h = static_cast<DISPATCHER_HEADER*>(Object);
  return wait_objects(1, &h, WaitAny, Timeout, caller);
}

NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                  KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                  PKWAIT_BLOCK WaitBlockArray) {
  (void)WaitReason;
  (void)WaitMode;
  (void)Alertable;
  const void* caller = __builtin_return_address(0);
  check_wait_irql(caller, Object, Timeout, "KeWaitForMultipleObjects");
  if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS ||
      (Count > THREAD_WAIT_OBJECTS && WaitBlockArray == nullptr) ||
      (WaitType != WaitAny && WaitType != WaitAll)) {
    umwsk_rule_violation_at(caller, "wait.bad_parameters", Object,
                            "KeWaitForMultipleObjects(Count %u, WaitType %d, WaitBlockArray %p): "
                            "Count must be 1..%d, and more than %d objects need a wait block "
                            "array (MAXIMUM_WAIT_OBJECTS_EXCEEDED on Windows)",
                            Count, static_cast<int>(WaitType), static_cast<void*>(WaitBlockArray),
                            MAXIMUM_WAIT_OBJECTS, THREAD_WAIT_OBJECTS);
    return STATUS_INVALID_PARAMETER;
  }
  DISPATCHER_HEADER* objects[MAXIMUM_WAIT_OBJECTS];
  for (ULONG i = 0; i < Count; ++i) {
    if (Object[i] == nullptr) {
      umwsk_rule_violation_at(caller, "wait.bad_object", Object,
                              "KeWaitForMultipleObjects: object %u is NULL", i);
      return STATUS_INVALID_PARAMETER;
    }
    objects[i] = static_cast<DISPATCHER_HEADER*>(Object[i]);
  }
  return wait_objects(Count, objects, WaitType, Timeout, caller);
}

NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                PLARGE_INTEGER Interval) {
  (void)WaitMode;
  (void)Alertable;
  const void* caller = __builtin_return_address(0);
  if (umwsk_irql() > APC_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.wait_above_apc_level", Interval,
                            "KeDelayExecutionThread at IRQL %u (must be <= APC_LEVEL)",
                            static_cast<unsigned>(umwsk_irql()));
  }
  if (Interval == nullptr) {
    umwsk_rule_violation_at(caller, "wait.bad_parameters", nullptr,
                            "KeDelayExecutionThread(Interval NULL)");
    return STATUS_INVALID_PARAMETER;
  }
  if (Interval->QuadPart == 0) {
    sched_yield();
    return STATUS_SUCCESS;
  }
  const struct timespec deadline = umwsk_deadline_from_timeout(Interval->QuadPart);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
  return STATUS_SUCCESS;
}
