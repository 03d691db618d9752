/* SPDX-License-Identifier: MIT */
/* umwsk_wpp.h: WPP software tracing without the Windows trace tools. A driver keeps its usual
 * WPP source: it defines WPP_CONTROL_GUIDS (WPP_DEFINE_CONTROL_GUID / WPP_DEFINE_BIT) and includes
 * its generated "file.tmh". On Linux the build makes each .tmh a one-line file that includes this
 * header (or the source includes it itself), and the WPP calls become:
 *  - WPP_INIT_TRACING(DriverObject, RegistryPath), WPP_CLEANUP(DriverObject): nothing;
 *  - DoTraceMessage(Flag, "fmt", ...) and TraceEvents(Level, Flag, "fmt", ...): one log line on
 *    stderr, "[wpp] <Flag> <file>:<line> <message>", at or below UMWSK_WPP_LEVEL (environment,
 *    default 4 = TRACE_LEVEL_INFORMATION; DoTraceMessage counts as information).
 * The message format is DbgPrint's (see wdm.h) plus the WPP extensions %!FUNC!, %!FILE!, %!LINE!
 * (no argument), %!STATUS! and %!HRESULT! (an NTSTATUS/HRESULT argument, printed by name when
 * known), %!bool! (an int), %!GUID! (a GUID*), %!IPADDR! (a ULONG in network order), %!PORT! (a
 * USHORT in network order); an unknown %!X! is printed as is and takes no argument. Other WPP
 * configuration functions (begin_wpp config ... end_wpp) are not generated: define them in terms of
 * TraceEvents for the Linux build. */
#ifndef UMWSK_WPP_H_
#define UMWSK_WPP_H_
#pragma GCC system_header

#include "wdm.h"

EXTERN_C_START

#define TRACE_LEVEL_NONE 0
#define TRACE_LEVEL_CRITICAL 1
#define TRACE_LEVEL_FATAL 1
#define TRACE_LEVEL_ERROR 2
#define TRACE_LEVEL_WARNING 3
#define TRACE_LEVEL_INFORMATION 4
#define TRACE_LEVEL_VERBOSE 5
#define TRACE_LEVEL_RESERVED6 6
#define TRACE_LEVEL_RESERVED7 7
#define TRACE_LEVEL_RESERVED8 8
#define TRACE_LEVEL_RESERVED9 9

/* The pieces of WPP_CONTROL_GUIDS: accepted and ignored (the flags are printed by name). A
 * driver's trace.h may define its own WPP_*_ENABLED helpers: those below give way to them. */
#define WPP_DEFINE_CONTROL_GUID(Name, Guid, Bits)
#define WPP_DEFINE_BIT(Name)
FORCEINLINE void UmwskWppIgnore(int Unused, ...) {
  (void)Unused;
}
#define WPP_INIT_TRACING(...) UmwskWppIgnore(0, __VA_ARGS__)
#define WPP_CLEANUP(...) UmwskWppIgnore(0, __VA_ARGS__)
#define WPP_SYSTEMCONTROL(...) UmwskWppIgnore(0, __VA_ARGS__)
#ifndef WPP_LEVEL_ENABLED
#define WPP_LEVEL_ENABLED(Flag) (TRUE)
#endif
#ifndef WPP_LEVEL_FLAGS_ENABLED
#define WPP_LEVEL_FLAGS_ENABLED(Level, Flags) (TRUE)
#endif
#ifndef WPP_FLAG_ENABLED
#define WPP_FLAG_ENABLED(Flag) (TRUE)
#endif

UMWSK_EXTERN_C UMWSK_EXPORT void UmwskTraceMessage(ULONG Level, PCSTR Flag, PCSTR File, ULONG Line,
                                                   PCSTR Function, PCSTR Format, ...);
#define DoTraceMessage(Flag, ...) \
  UmwskTraceMessage(TRACE_LEVEL_INFORMATION, #Flag, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define TraceEvents(Level, Flag, ...) \
  UmwskTraceMessage((Level), #Flag, __FILE__, __LINE__, __func__, __VA_ARGS__)

EXTERN_C_END

#endif /* UMWSK_WPP_H_ */
