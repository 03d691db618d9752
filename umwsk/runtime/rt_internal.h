// SPDX-License-Identifier: MIT
// rt_internal.h: what the umwsk runtime files (and the provider) share inside libxwsk_umwsk.so.
// Nothing here is exported: the library is built with hidden visibility, and only the WDK routines
// (declared NTKERNELAPI etc. in the public headers) and the Umwsk* routines of umwsk.h are visible.
#ifndef UMWSK_RUNTIME_RT_INTERNAL_H_
#define UMWSK_RUNTIME_RT_INTERNAL_H_

#ifndef NOMINMAX
#define NOMINMAX 1
#endif

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <atomic>

#include "ntddk.h"
#include "umwsk.h"

// ---- counters
// ------------------------------------------------------------------------------------ Live-object
// counts reported by UmwskQueryCounters (pool counts are kept by pool.cpp).
enum UMWSK_RT_COUNTER {
  UmwskRtIrps,
  UmwskRtMdls,
  UmwskRtWorkItems,
  UmwskRtSystemThreads,
  UmwskRtSockets,
  UmwskRtRetainedIndications,
  UmwskRtRegistrations,
  UmwskRtCaptures,
  UmwskRtCounterMax
};
// Adds delta to a counter (any IRQL, any thread).
void UmwskRtCount(UMWSK_RT_COUNTER which, LONG delta);
LONG UmwskRtCounterValue(UMWSK_RT_COUNTER which);

// ---- verifier
// ------------------------------------------------------------------------------------ Reports a
// broken rule: prints the rule, the object, the message, the caller (symbol via dladdr) and a
// backtrace; counts it; aborts unless the verifier mode is Report (UMWSK_VERIFIER=report). Returns
// only in Report mode. `caller` is the return address into the code that called the runtime
// routine; the macro below records it from the exported routine that detects the problem. Rule
// names are "area.what" in lower case (irql.wait_above_apc_level, irp.complete_twice, ...).
void umwsk_rule_violation_at(const void* caller, const char* rule, const void* object,
                             const char* fmt, ...) __attribute__((format(printf, 4, 5)));
#define umwsk_rule_violation(rule, object, ...) \
  umwsk_rule_violation_at(__builtin_return_address(0), (rule), (object), __VA_ARGS__)
// As above, then aborts in every mode (bug checks, fail-fast).
[[noreturn]] void umwsk_fatal_at(const void* caller, const char* what, const void* object,
                                 const char* fmt, ...) __attribute__((format(printf, 4, 5)));
// Prints "caller: symbol+off (module)" and a backtrace to stderr.
void umwsk_print_caller_and_stack(const void* caller);

// ---- IRP ownership (for the provider)
// ------------------------------------------------------------- The provider marks an IRP it
// accepted (`who` names the operation, a string literal); the mark is cleared when
// IofCompleteRequest starts. Freeing or reusing a marked IRP is a violation (irp.free_while_owned,
// irp.reuse_while_owned), and so is marking it again (irp.resubmitted_while_owned: returns false,
// the caller must then fail the call). `caller` is the client's return address
// (umwsk_rule_violation_at style).
bool umwsk_irp_take(PIRP irp, const char* who, const void* caller);
// The operation that owns the IRP, or nullptr.
const char* umwsk_irp_owner(PIRP irp);

// ---- IRQL and per-thread state ------------------------------------------------------------------
struct UmwskThreadState {
  KIRQL irql = PASSIVE_LEVEL;
  int spin_locks_held = 0;
  int critical_region = 0;
  int guarded_region = 0;
  struct _KTHREAD* thread = nullptr;  // this thread's object (lazily made for foreign threads)
};
UmwskThreadState& umwsk_thread_state();
// IRQL of the current thread, and a raw set (no checks) for runtime threads starting work.
inline KIRQL umwsk_irql() {
  return umwsk_thread_state().irql;
}
void umwsk_set_irql(KIRQL irql);
// Reports irql.passive_routine_above_passive (or irql.above_apc_level_routine when max_irql is
// APC_LEVEL) when the current IRQL is above max_irql; `routine` names the WDK routine.
void umwsk_check_irql_max(KIRQL max_irql, const void* caller, const void* object,
                          const char* routine);

// Raw spin lock operations on a KSPIN_LOCK (no IRQL change); recursion is a violation.
void umwsk_spin_acquire(PKSPIN_LOCK lock, const void* caller);
void umwsk_spin_release(PKSPIN_LOCK lock, const void* caller);
bool umwsk_spin_held_by_me(PKSPIN_LOCK lock);

// ---- time ---------------------------------------------------------------------------------------
constexpr LONGLONG kUmwskEpochDelta100ns = 116444736000000000LL;  // 1601-01-01 to 1970-01-01
LONGLONG umwsk_system_time_100ns();                               // 1601 epoch, realtime
LONGLONG umwsk_monotonic_100ns();                                 // since boot
// The CLOCK_MONOTONIC deadline of a WDK timeout (negative relative / positive absolute).
struct timespec umwsk_deadline_from_timeout(LONGLONG timeout_100ns);

// ---- objects (threads, devices, drivers, the process)
// --------------------------------------------- Runtime objects have a header before their body, as
// on Windows, carrying a reference count.
struct _OBJECT_TYPE {
  const char* name;
};
extern _OBJECT_TYPE umwsk_thread_type, umwsk_process_type, umwsk_device_type, umwsk_driver_type,
    umwsk_file_type, umwsk_event_type;
typedef void UmwskObjectDestroy(void* body);
// Allocates a zeroed object body of `size` bytes (16-byte aligned) with one reference.
void* umwsk_object_create(_OBJECT_TYPE* type, size_t size, UmwskObjectDestroy* destroy);
// The object's type if `body` is a runtime object, else nullptr (no report).
_OBJECT_TYPE* umwsk_object_type(const void* body);
bool umwsk_object_try_reference(void* body);

// Thread objects. DISPATCHER_HEADER first: a thread is waitable (signalled when it ends).
struct _KTHREAD {
  DISPATCHER_HEADER Header;
  ULONG_PTR id;  // PsGetCurrentThreadId value
  bool system;   // made by PsCreateSystemThread
  KPRIORITY priority;
  PKSTART_ROUTINE start;
  PVOID start_context;
  NTSTATUS exit_status;
  void* exit_jump;  // jmp_buf* of a system thread's trampoline
};
struct _KTHREAD* umwsk_current_thread();
// Marks a thread object ended (signals waiters).
void umwsk_thread_signal_end(struct _KTHREAD* thread);

// ---- dispatcher
// ---------------------------------------------------------------------------------- Initializes a
// DISPATCHER_HEADER of the given type and state (for thread objects).
void umwsk_dispatcher_init(DISPATCHER_HEADER* header, UCHAR type, LONG state);
// Sets an object's SignalState under the dispatcher lock, waking its waiters when positive.
void umwsk_dispatcher_set_state(DISPATCHER_HEADER* header, LONG state);

// ---- pool ---------------------------------------------------------------------------------------
void umwsk_pool_totals(LONG* allocations, LONG64* bytes);
PVOID umwsk_pool_alloc(POOL_TYPE type, SIZE_T bytes, ULONG tag, bool zero, const void* caller);
void umwsk_pool_free(PVOID block, ULONG tag, bool check_tag, const void* caller);
// A pool tag from its four characters as written in source ('a','b','c','d' == 'abcd').
constexpr ULONG umwsk_tag(char a, char b, char c, char d) {
  return (static_cast<ULONG>(static_cast<unsigned char>(a)) << 24) |
         (static_cast<ULONG>(static_cast<unsigned char>(b)) << 16) |
         (static_cast<ULONG>(static_cast<unsigned char>(c)) << 8) |
         static_cast<ULONG>(static_cast<unsigned char>(d));
}
constexpr ULONG kUmwskStringTag = umwsk_tag('U', 'm', 'S', 't');

// ---- work queue
// ---------------------------------------------------------------------------------- Queues a
// WORK_QUEUE_ITEM to the runtime's worker threads (PASSIVE_LEVEL).
void umwsk_queue_work(PWORK_QUEUE_ITEM item);

// ---- debug output
// -------------------------------------------------------------------------------- Formats with the
// Windows conventions (see wdm.h, DbgPrint). Returns the length the full result has (like
// vsnprintf); out is always NUL-terminated when cap > 0. With wpp set, %!X! extensions are
// understood (wpp_file/line/func feed %!FILE! %!LINE! %!FUNC!).
struct UmwskWppContext {
  const char* file;
  ULONG line;
  const char* func;
};
size_t umwsk_vformat(char* out, size_t cap, const char* fmt, va_list ap,
                     const UmwskWppContext* wpp);
// Writes text to stderr with `prefix` at the start of each line (one write call).
void umwsk_write_prefixed(const char* prefix, const char* text);
// The NTSTATUS name for known codes, else nullptr.
const char* umwsk_status_name(NTSTATUS status);

#endif  // UMWSK_RUNTIME_RT_INTERNAL_H_
