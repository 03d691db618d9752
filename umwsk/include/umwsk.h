/* SPDX-License-Identifier: MIT */
/* umwsk.h: the umwsk runtime's own interface (not part of the WDK): live-object counters, pool
 * usage by tag, the verifier's mode and counts, and what a driver host needs to stand in for the
 * I/O manager (driver objects, device lookup). C ABI; include after wdm.h or ntddk.h. */
#ifndef UMWSK_UMWSK_H_
#define UMWSK_UMWSK_H_
#pragma GCC system_header

#include "wdm.h"

EXTERN_C_START

#define UMWSK_API UMWSK_EXTERN_C UMWSK_EXPORT

/* ---- counters ------------------------------------------------------------------------------- */
/* Live objects, as of the call. Runtime counts: IRPs from IoAllocateIrp/IoBuildDeviceIoControl-
 * Request not yet freed; MDLs from IoAllocateMdl not yet freed; pool blocks and their bytes
 * (lookaside-cached blocks included, runtime-internal strings included); work items allocated or
 * initialized and not yet freed/uninitialized; system threads created and not yet ended.
 * Provider counts (kept by the WSK provider): sockets not yet closed, retained indications not
 * yet released (WskRelease), WSK registrations (WskRegister without WskDeregister), provider NPI
 * captures not yet released. A test's teardown checks that all of them are back to zero. */
typedef struct _UMWSK_COUNTERS {
  LONG Irps;
  LONG Mdls;
  LONG PoolAllocations;
  LONG64 PoolBytes;
  LONG WorkItems;
  LONG SystemThreads;
  LONG Sockets;
  LONG RetainedIndications;
  LONG Registrations;
  LONG Captures;
} UMWSK_COUNTERS, *PUMWSK_COUNTERS;

UMWSK_API void UmwskQueryCounters(PUMWSK_COUNTERS Counters);
/* TRUE when every counter is zero. */
UMWSK_API BOOLEAN UmwskCountersAreZero(const UMWSK_COUNTERS* Counters);

/* Live pool by tag: Callback(Tag, Allocations, Bytes, Context) once for each tag with live
 * blocks, in no particular order, called without runtime locks held (it may allocate). */
typedef void UMWSK_POOL_TAG_CALLBACK(ULONG Tag, ULONG_PTR Allocations, ULONG_PTR Bytes,
                                     PVOID Context);
typedef UMWSK_POOL_TAG_CALLBACK* PUMWSK_POOL_TAG_CALLBACK;
UMWSK_API void UmwskForEachPoolTag(PUMWSK_POOL_TAG_CALLBACK Callback, PVOID Context);
/* Live allocations and bytes of one tag (both 0 if none). */
UMWSK_API void UmwskQueryPoolTag(ULONG Tag, ULONG_PTR* Allocations, ULONG_PTR* Bytes);
/* The four characters of a pool tag in memory order, as Windows tools print it (a tag written
 * 'Abcd' in source prints "dcbA"; one built as 'dcbA' bytes prints "dcbA"), non-printable
 * characters as '.', and a NUL: Text[5]. */
UMWSK_API void UmwskFormatPoolTag(ULONG Tag, CHAR Text[5]);

/* ---- verifier ------------------------------------------------------------------------------- */
/* Every rule violation prints "umwsk verifier: rule <name>" with the object, the calling function
 * and a backtrace, then stops the process (abort) unless the mode is Report, in which it is only
 * counted. The mode starts from the environment: UMWSK_VERIFIER=report selects Report,
 * anything else (or unset) Stop. */
typedef enum _UMWSK_VERIFIER_MODE {
  UmwskVerifierStop = 0,
  UmwskVerifierReport = 1
} UMWSK_VERIFIER_MODE;
UMWSK_API UMWSK_VERIFIER_MODE UmwskSetVerifierMode(UMWSK_VERIFIER_MODE Mode); /* returns the old */
UMWSK_API UMWSK_VERIFIER_MODE UmwskGetVerifierMode(void);
/* Violations counted since start (or the last reset): of one rule, or of all when Rule is NULL. */
UMWSK_API LONG64 UmwskViolationCount(PCSTR Rule);
/* The rule of the most recent violation ("" if none). */
UMWSK_API PCSTR UmwskLastViolationRule(void);
UMWSK_API void UmwskResetViolations(void);

/* ---- driver host support ----------------------------------------------------------------------
 */
/* A DRIVER_OBJECT as the I/O manager makes it before DriverEntry: Type/Size set, DriverExtension
 * allocated, DriverName copied from Name (may be NULL), every MajorFunction set to a routine that
 * completes the IRP with STATUS_INVALID_DEVICE_REQUEST. Free it after DriverUnload with
 * UmwskFreeDriverObject (its devices must have been deleted). */
UMWSK_API PDRIVER_OBJECT UmwskCreateDriverObject(PCWSTR Name);
UMWSK_API void UmwskFreeDriverObject(PDRIVER_OBJECT DriverObject);
/* The device named Name (a device name such as L"\\Device\\x" or a symbolic link such as
 * L"\\DosDevices\\x" / L"\\??\\x", resolved), referenced (ObDereferenceObject when done), or NULL.
 */
UMWSK_API PDEVICE_OBJECT UmwskReferenceDeviceByName(PCWSTR Name);

/* ---- chaos mode (the provider) -------------------------------------------------------------- */
/* Chaos mode: the provider varies what WSK lets it vary (inline or pended completions, data
 * split across events, short receives, delays, PASSIVE or DISPATCH level), every decision a
 * function of the seed. UMWSK_CHAOS_SEED=<n>|random in the environment turns it on at the first
 * WskRegister; this call (before WskRegister) does the same. The seed is printed once. */
UMWSK_API void UmwskSetChaosSeed(BOOLEAN Enable, ULONG64 Seed);
/* TRUE when chaos mode is on; *Seed (may be NULL) gets the seed. */
UMWSK_API BOOLEAN UmwskGetChaosSeed(ULONG64* Seed);

EXTERN_C_END

#endif /* UMWSK_UMWSK_H_ */
