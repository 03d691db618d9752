// SPDX-License-Identifier: MIT
// thread.cpp: the object manager's part (object headers, references, handles), thread objects,
// system threads (PsCreateSystemThread), work items (IoQueueWorkItem, ExQueueWorkItem) on runtime
// worker threads, and KeExpandKernelStackAndCallout.
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <new>

#include "rt_internal.h"

_OBJECT_TYPE umwsk_thread_type = {"Thread"};
_OBJECT_TYPE umwsk_process_type = {"Process"};
_OBJECT_TYPE umwsk_device_type = {"Device"};
_OBJECT_TYPE umwsk_driver_type = {"Driver"};
_OBJECT_TYPE umwsk_file_type = {"File"};
_OBJECT_TYPE umwsk_event_type = {"Event"};

namespace {
POBJECT_TYPE g_thread_type_ptr = &umwsk_thread_type;
POBJECT_TYPE g_process_type_ptr = &umwsk_process_type;
POBJECT_TYPE g_device_type_ptr = &umwsk_device_type;
POBJECT_TYPE g_file_type_ptr = &umwsk_file_type;
POBJECT_TYPE g_event_type_ptr = &umwsk_event_type;
}  // namespace

POBJECT_TYPE* PsThreadType = &g_thread_type_ptr;
POBJECT_TYPE* PsProcessType = &g_process_type_ptr;
POBJECT_TYPE* IoFileObjectType = &g_file_type_ptr;
POBJECT_TYPE* IoDeviceObjectType = &g_device_type_ptr;
POBJECT_TYPE* ExEventObjectType = &g_event_type_ptr;

// ---- object headers -----------------------------------------------------------------------------

namespace {

constexpr uint64_t kObjectMagic = 0x54434a424f4b5755ULL;  // "UWKOBJCT"
constexpr uint64_t kObjectDead = 0x444145444a424f55ULL;

struct alignas(16) ObjectHeader {
  uint64_t magic;
  _OBJECT_TYPE* type;
  std::atomic<LONG_PTR> refs;
  UmwskObjectDestroy* destroy;
};
static_assert(sizeof(ObjectHeader) == 32, "object header is 32 bytes");

ObjectHeader* header_of(const void* body) {
  return reinterpret_cast<ObjectHeader*>(const_cast<char*>(static_cast<const char*>(body))) - 1;
}

// The process object: static, never freed.
struct {
  ObjectHeader header;
  DISPATCHER_HEADER body;
} g_process = {{kObjectMagic, &umwsk_process_type, {1}, nullptr}, {}};

}  // namespace

PEPROCESS PsInitialSystemProcess = reinterpret_cast<PEPROCESS>(&g_process.body);

void* umwsk_object_create(_OBJECT_TYPE* type, size_t size, UmwskObjectDestroy* destroy) {
  void* mem = nullptr;
  if (posix_memalign(&mem, 16, sizeof(ObjectHeader) + size) != 0) {
    return nullptr;
  }
  memset(mem, 0, sizeof(ObjectHeader) + size);
  auto* h = static_cast<ObjectHeader*>(mem);
  h->magic = kObjectMagic;
  h->type = type;
  h->refs.store(1, std::memory_order_relaxed);
  h->destroy = destroy;
  return h + 1;
}

_OBJECT_TYPE* umwsk_object_type(const void* body) {
  if (body == nullptr || (reinterpret_cast<ULONG_PTR>(body) & 15) != 0) {
    return nullptr;
  }
  const ObjectHeader* h = header_of(body);
  return h->magic == kObjectMagic ? h->type : nullptr;
}

bool umwsk_object_try_reference(void* body) {
  if (umwsk_object_type(body) == nullptr) {
    return false;
  }
  header_of(body)->refs.fetch_add(1, std::memory_order_relaxed);
  return true;
}

namespace {

LONG_PTR object_reference(PVOID Object, const void* caller) {
  if (umwsk_object_type(Object) == nullptr) {
    umwsk_rule_violation_at(caller, "object.reference_not_object", Object,
                            "ObReferenceObject on memory that is not a kernel object");
    return 0;
  }
  return header_of(Object)->refs.fetch_add(1, std::memory_order_relaxed) + 1;
}

LONG_PTR object_dereference(PVOID Object, const void* caller) {
  if (umwsk_object_type(Object) == nullptr) {
    umwsk_rule_violation_at(caller, "object.dereference_not_object", Object,
                            "ObDereferenceObject on memory that is not a live kernel object "
                            "(never one, or already freed)");
    return 0;
  }
  ObjectHeader* h = header_of(Object);
  const LONG_PTR left = h->refs.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (left < 0) {
    umwsk_rule_violation_at(caller, "object.dereference_too_often", Object,
                            "ObDereferenceObject dropped the reference count below zero");
    return 0;
  }
  if (left == 0 && h != &g_process.header) {
    if (h->destroy != nullptr) {
      h->destroy(Object);
    }
    h->magic = kObjectDead;
    free(h);
  }
  return left;
}

}  // namespace

LONG_PTR ObfReferenceObject(PVOID Object) {
  return object_reference(Object, __builtin_return_address(0));
}

LONG_PTR ObfDereferenceObject(PVOID Object) {
  return object_dereference(Object, __builtin_return_address(0));
}

LONG_PTR ObfReferenceObjectWithTag(PVOID Object, ULONG Tag) {
  (void)Tag;
  return object_reference(Object, __builtin_return_address(0));
}

LONG_PTR ObfDereferenceObjectWithTag(PVOID Object, ULONG Tag) {
  (void)Tag;
  return object_dereference(Object, __builtin_return_address(0));
}

void ObDereferenceObjectDeferDelete(PVOID Object) {
  object_dereference(Object, __builtin_return_address(0));
}

NTSTATUS ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
                                    POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode) {
  (void)DesiredAccess;
  (void)AccessMode;
  _OBJECT_TYPE* type = umwsk_object_type(Object);
  if (type == nullptr) {
    umwsk_rule_violation("object.reference_not_object", Object,
                         "ObReferenceObjectByPointer on memory that is not a kernel object");
    return STATUS_INVALID_PARAMETER;
  }
  if (ObjectType != nullptr && ObjectType != type) {
    return STATUS_OBJECT_TYPE_MISMATCH;
  }
  header_of(Object)->refs.fetch_add(1, std::memory_order_relaxed);
  return STATUS_SUCCESS;
}

// ---- handles: a table of referenced objects; handle = (index + 1) * 4 ---------------------------

namespace {

pthread_mutex_t g_handles_lock = PTHREAD_MUTEX_INITIALIZER;
void** g_handles = nullptr;
size_t g_handles_cap = 0;

HANDLE handle_create(void* object) {
  pthread_mutex_lock(&g_handles_lock);
  size_t i = 0;
  for (; i < g_handles_cap; ++i) {
    if (g_handles[i] == nullptr) {
      break;
    }
  }
  if (i == g_handles_cap) {
    const size_t cap = g_handles_cap == 0 ? 64 : g_handles_cap * 2;
    void** grown = static_cast<void**>(realloc(g_handles, cap * sizeof(void*)));
    if (grown == nullptr) {
      pthread_mutex_unlock(&g_handles_lock);
      return nullptr;
    }
    memset(grown + g_handles_cap, 0, (cap - g_handles_cap) * sizeof(void*));
    g_handles = grown;
    g_handles_cap = cap;
  }
  g_handles[i] = object;
  pthread_mutex_unlock(&g_handles_lock);
  return reinterpret_cast<HANDLE>(static_cast<ULONG_PTR>((i + 1) * 4));
}

size_t handle_index(HANDLE handle) {
  const auto v = reinterpret_cast<ULONG_PTR>(handle);
  if (v == 0 || (v & 3) != 0) {
    return SIZE_MAX;
  }
  return v / 4 - 1;
}

// Removes the handle; returns its object (still referenced by the handle's reference) or null.
void* handle_remove(HANDLE handle) {
  const size_t i = handle_index(handle);
  pthread_mutex_lock(&g_handles_lock);
  void* object = nullptr;
  if (i < g_handles_cap) {
    object = g_handles[i];
    g_handles[i] = nullptr;
  }
  pthread_mutex_unlock(&g_handles_lock);
  return object;
}

// The handle's object with a new reference, or null.
void* handle_reference(HANDLE handle) {
  const size_t i = handle_index(handle);
  pthread_mutex_lock(&g_handles_lock);
  void* object = nullptr;
  if (i < g_handles_cap && g_handles[i] != nullptr) {
    object = g_handles[i];
    header_of(object)->refs.fetch_add(1, std::memory_order_relaxed);
  }
  pthread_mutex_unlock(&g_handles_lock);
  return object;
}

}  // namespace

NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                   PVOID* Object, POBJECT_HANDLE_INFORMATION HandleInformation) {
  umwsk_check_irql_max(PASSIVE_LEVEL, __builtin_return_address(0), Handle,
                       "ObReferenceObjectByHandle");
  (void)AccessMode;
  void* object = nullptr;
  if (Handle == NtCurrentThread()) {
    object = umwsk_current_thread();
    header_of(object)->refs.fetch_add(1, std::memory_order_relaxed);
  } else if (Handle == NtCurrentProcess()) {
    object = &g_process.body;
    g_process.header.refs.fetch_add(1, std::memory_order_relaxed);  // never freed
  } else {
    object = handle_reference(Handle);
  }
  if (object == nullptr) {
    *Object = nullptr;
    return STATUS_INVALID_HANDLE;
  }
  if (ObjectType != nullptr && ObjectType != header_of(object)->type) {
    object_dereference(object, __builtin_return_address(0));
    *Object = nullptr;
    return STATUS_OBJECT_TYPE_MISMATCH;
  }
  if (HandleInformation != nullptr) {
    HandleInformation->HandleAttributes = OBJ_KERNEL_HANDLE;
    HandleInformation->GrantedAccess = DesiredAccess;
  }
  *Object = object;
  return STATUS_SUCCESS;
}

NTSTATUS ObReferenceObjectByHandleWithTag(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                          POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                          ULONG Tag, PVOID* Object,
                                          POBJECT_HANDLE_INFORMATION HandleInformation) {
  (void)Tag;
  return ObReferenceObjectByHandle(Handle, DesiredAccess, ObjectType, AccessMode, Object,
                                   HandleInformation);
}

NTSTATUS ZwClose(HANDLE Handle) {
  umwsk_check_irql_max(PASSIVE_LEVEL, __builtin_return_address(0), Handle, "ZwClose");
  void* object = handle_remove(Handle);
  if (object == nullptr) {
    umwsk_rule_violation("handle.close_invalid", Handle,
                         "ZwClose on a handle that is not open (INVALID_KERNEL_HANDLE on "
                         "Windows)");
    return STATUS_INVALID_HANDLE;
  }
  object_dereference(object, __builtin_return_address(0));
  return STATUS_SUCCESS;
}

NTSTATUS ObCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode) {
  (void)PreviousMode;
  return ZwClose(Handle);
}

// ---- thread objects -----------------------------------------------------------------------------

namespace {

std::atomic<ULONG_PTR> g_next_thread_id{4};
pthread_key_t g_foreign_key;
pthread_once_t g_foreign_once = PTHREAD_ONCE_INIT;

void thread_destroy(void* body) {
  (void)body;
}

_KTHREAD* thread_create(bool system) {
  auto* t = static_cast<_KTHREAD*>(
      umwsk_object_create(&umwsk_thread_type, sizeof(_KTHREAD), thread_destroy));
  if (t == nullptr) {
    return nullptr;
  }
  umwsk_dispatcher_init(&t->Header, UMWSK_THREAD_OBJECT, 0);
  t->id = g_next_thread_id.fetch_add(4, std::memory_order_relaxed);
  t->system = system;
  t->priority = 8;
  return t;
}

// A thread the runtime did not create ends: its object is signalled and released.
void foreign_thread_exit(void* value) {
  auto* t = static_cast<_KTHREAD*>(value);
  umwsk_thread_signal_end(t);
  object_dereference(t, nullptr);
}

void make_foreign_key() {
  pthread_key_create(&g_foreign_key, foreign_thread_exit);
}

}  // namespace

_KTHREAD* umwsk_current_thread() {
  UmwskThreadState& st = umwsk_thread_state();
  if (st.thread == nullptr) {
    _KTHREAD* t = thread_create(false);
    if (t == nullptr) {
      umwsk_fatal_at(__builtin_return_address(0), "runtime.out_of_memory", nullptr,
                     "cannot allocate a thread object");
    }
    pthread_once(&g_foreign_once, make_foreign_key);
    pthread_setspecific(g_foreign_key, t);
    st.thread = t;
  }
  return st.thread;
}

HANDLE PsGetCurrentThreadId(void) {
  return reinterpret_cast<HANDLE>(umwsk_current_thread()->id);
}

HANDLE PsGetCurrentProcessId(void) {
  return reinterpret_cast<HANDLE>(static_cast<ULONG_PTR>(getpid()));
}

PETHREAD PsGetCurrentThread(void) {
  return reinterpret_cast<PETHREAD>(umwsk_current_thread());
}

PKTHREAD KeGetCurrentThread(void) {
  return reinterpret_cast<PKTHREAD>(umwsk_current_thread());
}

PEPROCESS PsGetCurrentProcess(void) {
  return reinterpret_cast<PEPROCESS>(&g_process.body);
}

PEPROCESS IoGetCurrentProcess(void) {
  return reinterpret_cast<PEPROCESS>(&g_process.body);
}

HANDLE PsGetThreadId(PETHREAD Thread) {
  return reinterpret_cast<HANDLE>(reinterpret_cast<_KTHREAD*>(Thread)->id);
}

HANDLE PsGetProcessId(PEPROCESS Process) {
  (void)Process;
  return PsGetCurrentProcessId();
}

BOOLEAN PsIsSystemThread(PETHREAD Thread) {
  return reinterpret_cast<_KTHREAD*>(Thread)->system ? TRUE : FALSE;
}

BOOLEAN PsIsThreadTerminating(PETHREAD Thread) {
  return __atomic_load_n(&reinterpret_cast<_KTHREAD*>(Thread)->Header.SignalState,
                         __ATOMIC_ACQUIRE) != 0
             ? TRUE
             : FALSE;
}

KPRIORITY KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority) {
  auto* t = reinterpret_cast<_KTHREAD*>(Thread);
  const KPRIORITY old = t->priority;
  t->priority = Priority;
  return old;
}

KPRIORITY KeQueryPriorityThread(PKTHREAD Thread) {
  return reinterpret_cast<_KTHREAD*>(Thread)->priority;
}

// ---- system threads -----------------------------------------------------------------------------

namespace {

void check_thread_end_state(_KTHREAD* t) {
  UmwskThreadState& st = umwsk_thread_state();
  if (st.irql != PASSIVE_LEVEL || st.spin_locks_held != 0) {
    umwsk_rule_violation_at(reinterpret_cast<const void*>(t->start), "irql.thread_exit_raised", t,
                            "a system thread ended at IRQL %u holding %d spin lock(s)",
                            static_cast<unsigned>(st.irql), st.spin_locks_held);
  }
}

void system_thread_end(_KTHREAD* t) {
  UmwskThreadState& st = umwsk_thread_state();
  st.thread = nullptr;
  UmwskRtCount(UmwskRtSystemThreads, -1);
  umwsk_thread_signal_end(t);
  object_dereference(t, nullptr);  // the running thread's reference
}

void* system_thread_main(void* arg) {
  auto* t = static_cast<_KTHREAD*>(arg);
  UmwskThreadState& st = umwsk_thread_state();
  st.thread = t;
  st.irql = PASSIVE_LEVEL;
  jmp_buf exit_jump;
  t->exit_jump = &exit_jump;
  if (setjmp(exit_jump) == 0) {
    t->start(t->start_context);
    t->exit_status = STATUS_SUCCESS;
  }
  check_thread_end_state(t);
  system_thread_end(t);
  return nullptr;
}

}  // namespace

NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                              PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                              PVOID StartContext) {
  (void)DesiredAccess;
  (void)ObjectAttributes;
  if (umwsk_irql() != PASSIVE_LEVEL) {
    umwsk_rule_violation("irql.create_thread_above_passive", nullptr,
                         "PsCreateSystemThread at IRQL %u (must be PASSIVE_LEVEL)",
                         static_cast<unsigned>(umwsk_irql()));
  }
  if (ThreadHandle == nullptr || StartRoutine == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  if (ProcessHandle != nullptr && ProcessHandle != NtCurrentProcess()) {
    return STATUS_INVALID_HANDLE;
  }
  _KTHREAD* t = thread_create(true);
  if (t == nullptr) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  t->start = StartRoutine;
  t->start_context = StartContext;
  header_of(t)->refs.fetch_add(1, std::memory_order_relaxed);  // handle + running thread
  HANDLE handle = handle_create(t);
  if (handle == nullptr) {
    header_of(t)->refs.store(1, std::memory_order_relaxed);
    object_dereference(t, nullptr);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  UmwskRtCount(UmwskRtSystemThreads, 1);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t tid;
  const int rc = pthread_create(&tid, &attr, system_thread_main, t);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    UmwskRtCount(UmwskRtSystemThreads, -1);
    handle_remove(handle);
    header_of(t)->refs.store(1, std::memory_order_relaxed);
    object_dereference(t, nullptr);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  if (ClientId != nullptr) {
    ClientId->UniqueProcess = PsGetCurrentProcessId();
    ClientId->UniqueThread = reinterpret_cast<HANDLE>(t->id);
  }
  *ThreadHandle = handle;
  return STATUS_SUCCESS;
}

NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus) {
  _KTHREAD* t = umwsk_thread_state().thread;
  if (t == nullptr || !t->system || t->exit_jump == nullptr) {
    umwsk_fatal_at(__builtin_return_address(0), "thread.terminate_not_system_thread", t,
                   "PsTerminateSystemThread called by a thread that PsCreateSystemThread did not "
                   "create");
  }
  t->exit_status = ExitStatus;
  longjmp(*static_cast<jmp_buf*>(t->exit_jump), 1);
}

// ---- the work queue: worker threads at PASSIVE_LEVEL --------------------------------------------

namespace {

constexpr int kMaxWorkers = 64;
pthread_mutex_t g_work_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_work_cond = PTHREAD_COND_INITIALIZER;
LIST_ENTRY g_work_queue = {&g_work_queue, &g_work_queue};
int g_workers = 0;
int g_idle = 0;
int g_queued = 0;

void* worker_main(void*) {
  UmwskThreadState& st = umwsk_thread_state();
  pthread_mutex_lock(&g_work_lock);
  for (;;) {
    while (IsListEmpty(&g_work_queue)) {
      g_idle++;
      pthread_cond_wait(&g_work_cond, &g_work_lock);
      g_idle--;
    }
    PLIST_ENTRY e = RemoveHeadList(&g_work_queue);
    g_queued--;
    pthread_mutex_unlock(&g_work_lock);
    PWORK_QUEUE_ITEM item = CONTAINING_RECORD(e, WORK_QUEUE_ITEM, List);
    item->List.Flink = nullptr;
    PWORKER_THREAD_ROUTINE routine = item->WorkerRoutine;
    st.irql = PASSIVE_LEVEL;
    routine(item->Parameter);
    if (st.irql != PASSIVE_LEVEL || st.spin_locks_held != 0 || st.critical_region != 0 ||
        st.guarded_region != 0) {
      umwsk_rule_violation_at(reinterpret_cast<const void*>(routine),
                              "irql.work_item_returned_raised", nullptr,
                              "a work item returned at IRQL %u with %d spin lock(s) held, "
                              "critical region %d, guarded region %d",
                              static_cast<unsigned>(st.irql), st.spin_locks_held,
                              st.critical_region, st.guarded_region);
      st.irql = PASSIVE_LEVEL;
      st.critical_region = 0;
      st.guarded_region = 0;
    }
    pthread_mutex_lock(&g_work_lock);
  }
  return nullptr;
}

}  // namespace

void umwsk_queue_work(PWORK_QUEUE_ITEM item) {
  pthread_mutex_lock(&g_work_lock);
  InsertTailList(&g_work_queue, &item->List);
  g_queued++;
  if (g_queued > g_idle && g_workers < kMaxWorkers) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t tid;
    if (pthread_create(&tid, &attr, worker_main, nullptr) == 0) {
      g_workers++;
    }
    pthread_attr_destroy(&attr);
  }
  pthread_cond_signal(&g_work_cond);
  pthread_mutex_unlock(&g_work_lock);
}

void ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType) {
  (void)QueueType;
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation("irql.queue_work_above_dispatch_level", WorkItem,
                         "ExQueueWorkItem at IRQL %u", static_cast<unsigned>(umwsk_irql()));
  }
  if (WorkItem->List.Flink != nullptr) {
    umwsk_rule_violation("workitem.queued_twice", WorkItem,
                         "ExQueueWorkItem on an item that is already queued");
    return;
  }
  umwsk_queue_work(WorkItem);
}

// ---- IO_WORKITEM --------------------------------------------------------------------------------

struct _IO_WORKITEM {
  WORK_QUEUE_ITEM item;
  uint64_t magic;
  PVOID io_object;
  PIO_WORKITEM_ROUTINE routine;
  PIO_WORKITEM_ROUTINE_EX routine_ex;
  PVOID context;
  std::atomic<int> state;  // 0 idle, 1 queued
  bool allocated;          // IoAllocateWorkItem (else IoInitializeWorkItem)
};

namespace {

constexpr uint64_t kWorkItemMagic = 0x4d4554494b524f57ULL;  // "WORKITEM"
constexpr uint64_t kWorkItemDead = 0x444145444b524f57ULL;

void io_workitem_run(PVOID parameter) {
  auto* w = static_cast<PIO_WORKITEM>(parameter);
  PVOID io_object = w->io_object;
  PIO_WORKITEM_ROUTINE routine = w->routine;
  PIO_WORKITEM_ROUTINE_EX routine_ex = w->routine_ex;
  PVOID context = w->context;
  const bool referenced = umwsk_object_type(io_object) != nullptr;
  w->state.store(0, std::memory_order_release);  // the routine may free or requeue it
  if (routine_ex != nullptr) {
    routine_ex(io_object, context, w);
  } else {
    routine(static_cast<PDEVICE_OBJECT>(io_object), context);
  }
  if (referenced) {
    object_dereference(io_object, nullptr);
  }
}

bool check_item(PIO_WORKITEM w, const void* caller, const char* routine) {
  if (w == nullptr || w->magic != kWorkItemMagic) {
    umwsk_rule_violation_at(caller, "workitem.not_initialized", w,
                            "%s on a work item that is not allocated/initialized (or was freed)",
                            routine);
    return false;
  }
  return true;
}

void queue_io_workitem(PIO_WORKITEM w, PIO_WORKITEM_ROUTINE routine,
                       PIO_WORKITEM_ROUTINE_EX routine_ex, PVOID context, const void* caller,
                       const char* name) {
  if (!check_item(w, caller, name)) {
    return;
  }
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.queue_work_above_dispatch_level", w, "%s at IRQL %u",
                            name, static_cast<unsigned>(umwsk_irql()));
  }
  int expected = 0;
  if (!w->state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    umwsk_rule_violation_at(caller, "workitem.queued_twice", w,
                            "%s on a work item that is already queued", name);
    return;
  }
  w->routine = routine;
  w->routine_ex = routine_ex;
  w->context = context;
  umwsk_object_try_reference(w->io_object);  // keeps the device (and driver) while queued
  w->item.WorkerRoutine = io_workitem_run;
  w->item.Parameter = w;
  w->item.List.Flink = nullptr;
  umwsk_queue_work(&w->item);
}

void init_item(PIO_WORKITEM w, PVOID io_object, bool allocated) {
  memset(&w->item, 0, sizeof w->item);
  w->magic = kWorkItemMagic;
  w->io_object = io_object;
  w->routine = nullptr;
  w->routine_ex = nullptr;
  w->context = nullptr;
  new (&w->state) std::atomic<int>(0);
  w->allocated = allocated;
  UmwskRtCount(UmwskRtWorkItems, 1);
}

bool retire_item(PIO_WORKITEM w, const void* caller, const char* routine) {
  if (!check_item(w, caller, routine)) {
    return false;
  }
  if (w->state.load(std::memory_order_acquire) != 0) {
    umwsk_rule_violation_at(caller, "workitem.free_while_queued", w,
                            "%s on a work item that is still queued", routine);
    return false;
  }
  w->magic = kWorkItemDead;
  UmwskRtCount(UmwskRtWorkItems, -1);
  return true;
}

}  // namespace

PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject) {
  umwsk_check_irql_max(DISPATCH_LEVEL, __builtin_return_address(0), DeviceObject,
                       "IoAllocateWorkItem");
  auto* w = static_cast<PIO_WORKITEM>(malloc(sizeof(IO_WORKITEM)));
  if (w == nullptr) {
    return nullptr;
  }
  init_item(w, DeviceObject, true);
  return w;
}

void IoFreeWorkItem(PIO_WORKITEM IoWorkItem) {
  const void* caller = __builtin_return_address(0);
  if (IoWorkItem != nullptr && IoWorkItem->magic == kWorkItemMagic && !IoWorkItem->allocated) {
    umwsk_rule_violation_at(caller, "workitem.free_not_allocated", IoWorkItem,
                            "IoFreeWorkItem on an item made by IoInitializeWorkItem (use "
                            "IoUninitializeWorkItem)");
    return;
  }
  if (retire_item(IoWorkItem, caller, "IoFreeWorkItem")) {
    free(IoWorkItem);
  }
}

void IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                     WORK_QUEUE_TYPE QueueType, PVOID Context) {
  (void)QueueType;
  queue_io_workitem(IoWorkItem, WorkerRoutine, nullptr, Context, __builtin_return_address(0),
                    "IoQueueWorkItem");
}

void IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                       WORK_QUEUE_TYPE QueueType, PVOID Context) {
  (void)QueueType;
  queue_io_workitem(IoWorkItem, nullptr, WorkerRoutine, Context, __builtin_return_address(0),
                    "IoQueueWorkItemEx");
}

ULONG IoSizeofWorkItem(void) {
  return static_cast<ULONG>(sizeof(IO_WORKITEM));
}

void IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem) {
  init_item(IoWorkItem, IoObject, false);
}

void IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem) {
  retire_item(IoWorkItem, __builtin_return_address(0), "IoUninitializeWorkItem");
}

// ---- stacks -------------------------------------------------------------------------------------

NTSTATUS KeExpandKernelStackAndCallout(PEXPAND_STACK_CALLOUT Callout, PVOID Parameter,
                                       SIZE_T Size) {
  if (Size > MAXIMUM_EXPANSION_SIZE) {
    return STATUS_INVALID_PARAMETER_3;
  }
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation("irql.expand_stack_above_dispatch_level", nullptr,
                         "KeExpandKernelStackAndCallout at IRQL %u",
                         static_cast<unsigned>(umwsk_irql()));
  }
  Callout(Parameter);
  return STATUS_SUCCESS;
}

NTSTATUS KeExpandKernelStackAndCalloutEx(PEXPAND_STACK_CALLOUT Callout, PVOID Parameter,
                                         SIZE_T Size, BOOLEAN Wait, PVOID Context) {
  (void)Wait;
  (void)Context;
  if (Size > MAXIMUM_EXPANSION_SIZE) {
    return STATUS_INVALID_PARAMETER_3;
  }
  Callout(Parameter);
  return STATUS_SUCCESS;
}

SIZE_T IoGetRemainingStackSize(void) {
  pthread_attr_t attr;
  void* base = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) {
    return 0;
  }
  pthread_attr_getstack(&attr, &base, &size);
  pthread_attr_destroy(&attr);
  char here = 0;
  const auto low = reinterpret_cast<ULONG_PTR>(base);
  const auto sp = reinterpret_cast<ULONG_PTR>(&here);
  return sp > low ? sp - low : 0;
}
