/* SPDX-License-Identifier: MIT */
/* ntdef.h (umwsk): the base types and macros of the Windows Driver Kit, for a WSK client built
 * on Linux (LP64) over the umwsk runtime. Written from Microsoft's documentation.
 *
 * Sizes are Windows' (LLP64): ULONG and LONG are 32 bits, ULONG_PTR, SIZE_T and pointers 64.
 * Differences from the WDK, each for a reason:
 *  - WCHAR is wchar_t, which is 32 bits on Linux (so that L"..." literals work unchanged);
 *    UNICODE_STRING.Length still counts bytes, so a string holds at most 16383 characters.
 *  - NTAPI, FASTCALL and the other calling-convention macros are empty (one convention here).
 *  - Exported routines are declared extern "C" with default visibility (NTKERNELAPI, NTSYSAPI).
 *  - Structured exception handling does not exist: __try runs its block, an __except block never
 *    runs, a __finally block runs after a normal exit of the __try block (not after __leave, return
 *    or goto out of it). Routines that raise an exception on Windows report a verifier violation.
 *  - -Wmultichar is turned off for the including translation unit under clang (pool tags are
 *    'abcd'); under GCC pass -Wno-multichar.
 */
#ifndef _NTDEF_
#define _NTDEF_
#define UMWSK_NTDEF_H_ 1
#pragma GCC system_header

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "sal.h"

/* Pool tags are written as multi-character constants ('abcd') throughout Windows driver code,
 * which MSVC accepts silently. Clang honours this pragma for the including translation unit;
 * GCC warns from its preprocessor regardless, so compile such code with -Wno-multichar. */
#pragma GCC diagnostic ignored "-Wmultichar"

#if !defined(__x86_64__) && !defined(__aarch64__) && !defined(__riscv)
#error "umwsk: only LP64 Linux targets are supported"
#endif
#ifndef _WIN64
#define _WIN64 1
#endif
#if defined(__x86_64__) && !defined(_AMD64_)
#define _AMD64_ 1
#endif
#if defined(__aarch64__) && !defined(_ARM64_)
#define _ARM64_ 1
#endif
#ifndef _KERNEL_MODE
#define _KERNEL_MODE 1
#endif
#ifndef NTDDI_VERSION
#define NTDDI_WIN10 0x0A000000
#define NTDDI_WIN10_VB 0x0A000008
#define NTDDI_WIN10_FE 0x0A00000B
#define NTDDI_VERSION NTDDI_WIN10_FE
#endif
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00
#endif
#ifndef WINVER
#define WINVER 0x0A00
#endif
#ifndef DBG
#define DBG 1 /* checked: ASSERT and KdPrint are active (define DBG=0 to turn them off) */
#endif

/* ---- linkage, calling conventions and declaration specifiers ---- */
#ifdef __cplusplus
#define EXTERN_C extern "C"
#define EXTERN_C_START extern "C" {
#define EXTERN_C_END }
#define UMWSK_EXTERN_C extern "C"
#else
#define EXTERN_C extern
#define EXTERN_C_START
#define EXTERN_C_END
#define UMWSK_EXTERN_C extern
#endif
#define UMWSK_EXPORT __attribute__((visibility("default")))
/* Routines exported by the umwsk runtime (libxwsk_umwsk.so). */
#define NTKERNELAPI UMWSK_EXTERN_C UMWSK_EXPORT
#define NTSYSAPI UMWSK_EXTERN_C UMWSK_EXPORT
#define NTHALAPI UMWSK_EXTERN_C UMWSK_EXPORT
#define NTSYSCALLAPI UMWSK_EXTERN_C UMWSK_EXPORT
#define NTSTRSAFEDDI UMWSK_EXTERN_C UMWSK_EXPORT NTSTATUS
#define NTAPI
#define NTAPI_INLINE
#define WINAPI
#define APIENTRY
#define CALLBACK
#define FASTCALL
#define STDCALL
#define __stdcall
#define __cdecl
#define __fastcall
#define _cdecl
#define IN
#define OUT
#define OPTIONAL
#define CONST const
#define UNALIGNED
#define UNALIGNED64
#define RESTRICTED_POINTER
#define NTKRNLVISTAAPI
#define NTKRNLVISTAAPI_INLINE
#ifndef __forceinline
#define __forceinline inline __attribute__((always_inline))
#endif
#ifndef __inline
#define __inline inline
#endif
#ifdef __cplusplus
#define FORCEINLINE inline __attribute__((always_inline))
#else
#define FORCEINLINE static inline __attribute__((always_inline, unused))
#endif
#define DECLSPEC_ALIGN(x) __attribute__((aligned(x)))
#define DECLSPEC_CACHEALIGN DECLSPEC_ALIGN(64)
#define DECLSPEC_NOINLINE __attribute__((noinline))
#define DECLSPEC_NORETURN __attribute__((noreturn))
#define DECLSPEC_NOTHROW
#define DECLSPEC_IMPORT
#define DECLSPEC_EXPORT UMWSK_EXPORT
#define DECLSPEC_SELECTANY __attribute__((weak))
#define DECLSPEC_DEPRECATED_DDK
#define DECLSPEC_DEPRECATED_DDK_WINXP
#define DECLSPEC_NOVTABLE
#define DECLSPEC_GUARDNOCF
#define DECLSPEC_GUARD_SUPPRESS
#define POINTER_ALIGNMENT DECLSPEC_ALIGN(8)
#define MEMORY_ALLOCATION_ALIGNMENT 16
#define SYSTEM_CACHE_ALIGNMENT_SIZE 64
#define ANYSIZE_ARRAY 1
#define PRAGMA_DEPRECATED_DDK 0

/* ---- structured exception handling stand-ins (see the header comment) ---- */
#ifndef UMWSK_NO_SEH_MACROS
// clang-format off
#define __try if (1)
#define __except(filter) else if (0)
#define __finally if (1)
#define __leave
#define GetExceptionCode() ((NTSTATUS)0)
#define GetExceptionInformation() ((void*)0)
#define EXCEPTION_EXECUTE_HANDLER 1
#define EXCEPTION_CONTINUE_SEARCH 0
#define EXCEPTION_CONTINUE_EXECUTION (-1)
// clang-format on
#endif

/* ---- base types (basetsd.h and ntdef.h) ---- */
#define VOID void
typedef void* PVOID;
typedef void* PVOID64;
typedef char CHAR;
typedef short SHORT;
typedef int32_t LONG;
typedef int INT;
typedef unsigned int UINT;
typedef unsigned char UCHAR;
typedef unsigned short USHORT;
typedef uint32_t ULONG;
typedef signed char SCHAR;
typedef char CCHAR;
typedef short CSHORT;
typedef ULONG CLONG;
typedef double DOUBLE;
typedef unsigned char BOOLEAN;
typedef BOOLEAN* PBOOLEAN;
typedef ULONG LOGICAL;
typedef ULONG* PLOGICAL;
typedef unsigned char BYTE;
typedef unsigned short WORD;
typedef uint32_t DWORD;
typedef int BOOL;
typedef wchar_t WCHAR;

typedef int8_t INT8;
typedef uint8_t UINT8;
typedef int16_t INT16;
typedef uint16_t UINT16;
typedef int32_t INT32;
typedef uint32_t UINT32;
typedef int64_t INT64;
typedef uint64_t UINT64;
typedef int32_t LONG32;
typedef uint32_t ULONG32;
typedef uint32_t DWORD32;
typedef int64_t LONG64;
typedef uint64_t ULONG64;
typedef uint64_t DWORD64;
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef uint64_t DWORDLONG;
typedef int64_t INT_PTR;
typedef uint64_t UINT_PTR;
typedef int64_t LONG_PTR;
typedef uint64_t ULONG_PTR;
typedef uint64_t DWORD_PTR;
typedef int32_t HALF_PTR;
typedef uint32_t UHALF_PTR;
typedef ULONG_PTR SIZE_T;
typedef LONG_PTR SSIZE_T;
typedef ULONG_PTR KAFFINITY;

typedef CHAR* PCHAR;
typedef CHAR* PCH;
typedef const CHAR* PCCH;
typedef CHAR* PSTR;
typedef CHAR* PSZ;
typedef CHAR* LPSTR;
typedef const CHAR* PCSTR;
typedef const CHAR* PCSZ;
typedef const CHAR* LPCSTR;
typedef CCHAR* PCCHAR;
typedef SHORT* PSHORT;
typedef CSHORT* PCSHORT;
typedef LONG* PLONG;
typedef INT* PINT;
typedef UINT* PUINT;
typedef UCHAR* PUCHAR;
typedef BYTE* PBYTE;
typedef USHORT* PUSHORT;
typedef WORD* PWORD;
typedef ULONG* PULONG;
typedef DWORD* PDWORD;
typedef SCHAR* PSCHAR;
typedef CLONG* PCLONG;
typedef INT8* PINT8;
typedef UINT8* PUINT8;
typedef INT16* PINT16;
typedef UINT16* PUINT16;
typedef INT32* PINT32;
typedef UINT32* PUINT32;
typedef INT64* PINT64;
typedef UINT64* PUINT64;
typedef LONG32* PLONG32;
typedef ULONG32* PULONG32;
typedef LONG64* PLONG64;
typedef ULONG64* PULONG64;
typedef DWORD64* PDWORD64;
typedef LONGLONG* PLONGLONG;
typedef ULONGLONG* PULONGLONG;
typedef INT_PTR* PINT_PTR;
typedef UINT_PTR* PUINT_PTR;
typedef LONG_PTR* PLONG_PTR;
typedef ULONG_PTR* PULONG_PTR;
typedef DWORD_PTR* PDWORD_PTR;
typedef SIZE_T* PSIZE_T;
typedef SSIZE_T* PSSIZE_T;
typedef KAFFINITY* PKAFFINITY;
typedef WCHAR* PWCHAR;
typedef WCHAR* PWCH;
typedef WCHAR* LPWCH;
typedef const WCHAR* PCWCH;
typedef const WCHAR* LPCWCH;
typedef WCHAR* PWSTR;
typedef WCHAR* NWPSTR;
typedef WCHAR* LPWSTR;
typedef const WCHAR* PCWSTR;
typedef const WCHAR* LPCWSTR;
typedef PWSTR* PZPWSTR;
typedef const PWSTR* PCZPWSTR;
typedef const void* PCVOID;
typedef const void* LPCVOID;
typedef void* LPVOID;

typedef void* HANDLE;
typedef HANDLE* PHANDLE;
#define DECLARE_HANDLE(name) \
  struct name##__ {          \
    int unused;              \
  };                         \
  typedef struct name##__* name
typedef LONG NTSTATUS;
typedef NTSTATUS* PNTSTATUS;
typedef LONG HRESULT;
typedef LONG KPRIORITY;
typedef ULONG ACCESS_MASK;
typedef ACCESS_MASK* PACCESS_MASK;
typedef PVOID PSECURITY_DESCRIPTOR;
typedef PVOID PSID;
typedef ULONG_PTR PFN_NUMBER;
typedef PFN_NUMBER* PPFN_NUMBER;
typedef ULONG_PTR KSPIN_LOCK;
typedef KSPIN_LOCK* PKSPIN_LOCK;
typedef ULONG LCID;
typedef USHORT LANGID;
typedef ULONG EXECUTION_STATE;
typedef UCHAR KIRQL;
typedef KIRQL* PKIRQL;
typedef CCHAR KPROCESSOR_MODE;
typedef ULONG64 POOL_FLAGS;

#ifndef FALSE
#define FALSE 0
#endif
#ifndef TRUE
#define TRUE 1
#endif
#ifndef NULL
#ifdef __cplusplus
#define NULL nullptr
#else
#define NULL ((void*)0)
#endif
#endif
#define NULL64 ((void*)0)

#define MINCHAR 0x80
#define MAXCHAR 0x7f
#define MINSHORT 0x8000
#define MAXSHORT 0x7fff
#define MINLONG 0x80000000
#define MAXLONG 0x7fffffff
#define MAXUCHAR 0xff
#define MAXUSHORT 0xffff
#define MAXULONG 0xffffffff
#define MAXLONGLONG (0x7fffffffffffffffLL)
#define MAXULONGLONG (0xffffffffffffffffULL)
#define MAXULONG_PTR (~((ULONG_PTR)0))
#define MAXLONG_PTR ((LONG_PTR)(MAXULONG_PTR >> 1))
#define MINLONG_PTR (~MAXLONG_PTR)
#define MAXSIZE_T ((SIZE_T) ~((SIZE_T)0))
#define MAXSSIZE_T ((SSIZE_T)(MAXSIZE_T >> 1))
#define MAXDWORD 0xffffffff
#define MAX_NATURAL_ALIGNMENT sizeof(ULONGLONG)

typedef union _LARGE_INTEGER {
  struct {
    ULONG LowPart;
    LONG HighPart;
  };
  struct {
    ULONG LowPart;
    LONG HighPart;
  } u;
  LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;
typedef union _ULARGE_INTEGER {
  struct {
    ULONG LowPart;
    ULONG HighPart;
  };
  struct {
    ULONG LowPart;
    ULONG HighPart;
  } u;
  ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;
typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;
typedef struct _LUID {
  ULONG LowPart;
  LONG HighPart;
} LUID, *PLUID;

/* ---- status helpers ---- */
#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)
#define NT_INFORMATION(Status) ((((ULONG)(Status)) >> 30) == 1)
#define NT_WARNING(Status) ((((ULONG)(Status)) >> 30) == 2)
#define NT_ERROR(Status) ((((ULONG)(Status)) >> 30) == 3)
#define NT_FACILITY(Status) ((((ULONG)(Status)) >> 16) & 0xfff)
#define APPLICATION_ERROR_MASK 0x20000000
#define ERROR_SEVERITY_SUCCESS 0x00000000
#define ERROR_SEVERITY_INFORMATIONAL 0x40000000
#define ERROR_SEVERITY_WARNING 0x80000000
#define ERROR_SEVERITY_ERROR 0xC0000000

/* ---- structure and array helpers ---- */
#define FIELD_OFFSET(type, field) ((LONG)offsetof(type, field))
#define UFIELD_OFFSET(type, field) ((ULONG)offsetof(type, field))
#define RTL_FIELD_SIZE(type, field) (sizeof(((type*)0)->field))
#define RTL_SIZEOF_THROUGH_FIELD(type, field) \
  (FIELD_OFFSET(type, field) + RTL_FIELD_SIZE(type, field))
#define RTL_CONTAINS_FIELD(Struct, Size, Field) \
  ((((PCHAR)(&(Struct)->Field)) + sizeof((Struct)->Field)) <= (((PCHAR)(Struct)) + (Size)))
#define RTL_NUMBER_OF_V1(A) (sizeof(A) / sizeof((A)[0]))
#define RTL_NUMBER_OF_V2(A) RTL_NUMBER_OF_V1(A)
#define RTL_NUMBER_OF(A) RTL_NUMBER_OF_V1(A)
#define ARRAYSIZE(A) RTL_NUMBER_OF_V2(A)
#define _ARRAYSIZE(A) RTL_NUMBER_OF_V1(A)
#define RTL_NUMBER_OF_FIELD(type, field) (RTL_NUMBER_OF(RTL_FIELD_TYPE(type, field)))
#define RTL_FIELD_TYPE(type, field) (((type*)0)->field)
#define RTL_PADDING_BETWEEN_FIELDS(T, F1, F2)                                \
  ((FIELD_OFFSET(T, F2) > FIELD_OFFSET(T, F1))                               \
       ? (FIELD_OFFSET(T, F2) - FIELD_OFFSET(T, F1) - RTL_FIELD_SIZE(T, F1)) \
       : (FIELD_OFFSET(T, F1) - FIELD_OFFSET(T, F2) - RTL_FIELD_SIZE(T, F2)))
/* offsetof, not the WDK's &((type*)0)->field: clang's UndefinedBehaviorSanitizer reports that
 * as a member access within a null pointer. */
#define CONTAINING_RECORD(address, type, field) \
  ((type*)((PCHAR)(address) - (ULONG_PTR)offsetof(type, field)))
#define ARGUMENT_PRESENT(ArgumentPointer) ((CHAR*)((ULONG_PTR)(ArgumentPointer)) != (CHAR*)NULL)
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#define DBG_UNREFERENCED_PARAMETER(P) ((void)(P))
#define DBG_UNREFERENCED_LOCAL_VARIABLE(V) ((void)(V))
#define UNUSED_PARAMETER(P) ((void)(P))
#ifdef __cplusplus
#define C_ASSERT(e) static_assert((e), #e)
#else
#define C_ASSERT(e) _Static_assert((e), #e)
#endif
#define ALIGN_DOWN_BY(length, alignment) ((ULONG_PTR)(length) & ~((ULONG_PTR)(alignment)-1))
#define ALIGN_UP_BY(length, alignment) \
  (ALIGN_DOWN_BY(((ULONG_PTR)(length) + (alignment)-1), alignment))
#define ALIGN_DOWN_POINTER_BY(address, alignment) ((PVOID)ALIGN_DOWN_BY(address, alignment))
#define ALIGN_UP_POINTER_BY(address, alignment) ((PVOID)ALIGN_UP_BY(address, alignment))
#define ALIGN_DOWN(length, type) ALIGN_DOWN_BY(length, sizeof(type))
#define ALIGN_UP(length, type) ALIGN_UP_BY(length, sizeof(type))
#define ALIGN_DOWN_POINTER(address, type) ALIGN_DOWN_POINTER_BY(address, sizeof(type))
#define ALIGN_UP_POINTER(address, type) ALIGN_UP_POINTER_BY(address, sizeof(type))
#define Int32x32To64(a, b) (((LONGLONG)((LONG)(a))) * ((LONGLONG)((LONG)(b))))
#define UInt32x32To64(a, b) (((ULONGLONG)((ULONG)(a))) * ((ULONGLONG)((ULONG)(b))))
#define Int64ShllMod32(a, b) (((ULONGLONG)(a)) << (b))
#define Int64ShraMod32(a, b) (((LONGLONG)(a)) >> (b))
#define Int64ShrlMod32(a, b) (((ULONGLONG)(a)) >> (b))
#ifndef NOMINMAX
#ifndef min
#define min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef max
#define max(a, b) (((a) > (b)) ? (a) : (b))
#endif
#endif
#define LOBYTE(w) ((UCHAR)(((ULONG_PTR)(w)) & 0xff))
#define HIBYTE(w) ((UCHAR)((((ULONG_PTR)(w)) >> 8) & 0xff))
#define LOWORD(l) ((USHORT)(((ULONG_PTR)(l)) & 0xffff))
#define HIWORD(l) ((USHORT)((((ULONG_PTR)(l)) >> 16) & 0xffff))

/* Pointer and handle conversions (basetsd.h). */
#define HandleToULong(h) ((ULONG)(ULONG_PTR)(h))
#define HandleToUlong(h) HandleToULong(h)
#define HandleToLong(h) ((LONG)(LONG_PTR)(h))
#define ULongToHandle(ul) ((HANDLE)(ULONG_PTR)(ul))
#define UlongToHandle(ul) ULongToHandle(ul)
#define LongToHandle(h) ((HANDLE)(LONG_PTR)(h))
#define PtrToUlong(p) ((ULONG)(ULONG_PTR)(p))
#define PtrToUint(p) ((UINT)(UINT_PTR)(p))
#define PtrToUshort(p) ((unsigned short)(ULONG_PTR)(p))
#define PtrToLong(p) ((LONG)(LONG_PTR)(p))
#define PtrToInt(p) ((INT)(INT_PTR)(p))
#define PtrToShort(p) ((short)(LONG_PTR)(p))
#define UlongToPtr(ul) ((PVOID)(ULONG_PTR)(ul))
#define ULongToPtr(ul) UlongToPtr(ul)
#define UintToPtr(ui) ((PVOID)(UINT_PTR)(ui))
#define LongToPtr(l) ((PVOID)(LONG_PTR)(l))
#define IntToPtr(i) ((PVOID)(INT_PTR)(i))
#define PtrToPtr64(p) ((void*)(p))
#define Ptr64ToPtr(p) ((void*)(p))

/* ---- lists ---- */
typedef struct _LIST_ENTRY {
  struct _LIST_ENTRY* Flink;
  struct _LIST_ENTRY* Blink;
} LIST_ENTRY, *PLIST_ENTRY, *PRLIST_ENTRY;
typedef struct _SINGLE_LIST_ENTRY {
  struct _SINGLE_LIST_ENTRY* Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;
typedef struct LIST_ENTRY32 {
  ULONG Flink;
  ULONG Blink;
} LIST_ENTRY32, *PLIST_ENTRY32;
typedef struct LIST_ENTRY64 {
  ULONGLONG Flink;
  ULONGLONG Blink;
} LIST_ENTRY64, *PLIST_ENTRY64;

/* ---- strings ---- */
typedef struct _STRING {
  USHORT Length;        /* bytes, without a terminating NUL */
  USHORT MaximumLength; /* bytes */
  PCHAR Buffer;
} STRING, *PSTRING, ANSI_STRING, *PANSI_STRING, OEM_STRING, *POEM_STRING;
typedef const STRING* PCSTRING;
typedef const ANSI_STRING* PCANSI_STRING;
typedef const OEM_STRING* PCOEM_STRING;
typedef struct _UNICODE_STRING {
  USHORT Length;        /* bytes (sizeof(WCHAR) per character; 4 here), without a NUL */
  USHORT MaximumLength; /* bytes */
  PWCH Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING* PCUNICODE_STRING;
#define UNICODE_NULL ((WCHAR)0)
#define ANSI_NULL ((CHAR)0)
#define UNICODE_STRING_MAX_BYTES ((USHORT)65534)
#define UNICODE_STRING_MAX_CHARS (UNICODE_STRING_MAX_BYTES / sizeof(WCHAR))

/* RTL_CONSTANT_STRING(L"x") or ("x"): an initializer for UNICODE_STRING or STRING. */
#ifdef __cplusplus
#define RTL_CONSTANT_STRING(s) \
  { (USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), UmwskConstStringBuffer(s) }
#else
#define RTL_CONSTANT_STRING(s) \
  { (USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), (void*)(s) }
#endif
#ifdef __cplusplus
/* The Buffer of RTL_CONSTANT_STRING: non-const, as in the WDK (the string must not be written). */
inline PWCH UmwskConstStringBuffer(const WCHAR* s) {
  return const_cast<PWCH>(s);
}
inline PCHAR UmwskConstStringBuffer(const CHAR* s) {
  return const_cast<PCHAR>(s);
}
#endif
#define DECLARE_CONST_UNICODE_STRING(_var, _string)                                                \
  const WCHAR _var##_buffer[] = _string;                                                           \
  const UNICODE_STRING _var = {(USHORT)(sizeof(_string) - sizeof(WCHAR)), (USHORT)sizeof(_string), \
                               (PWCH)_var##_buffer}
#define DECLARE_GLOBAL_CONST_UNICODE_STRING(_var, _str) \
  extern const DECLSPEC_SELECTANY UNICODE_STRING _var = RTL_CONSTANT_STRING(_str)
#define DECLARE_UNICODE_STRING_SIZE(_var, _size) \
  WCHAR _var##_buffer[_size];                    \
  UNICODE_STRING _var = {0, (USHORT)((_size) * sizeof(WCHAR)), _var##_buffer}

/* ---- GUID ---- */
#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
  ULONG Data1;
  USHORT Data2;
  USHORT Data3;
  UCHAR Data4[8];
} GUID;
#endif
typedef GUID* LPGUID;
typedef GUID* PGUID;
typedef const GUID* LPCGUID;
typedef const GUID* PCGUID;
#ifdef __cplusplus
#define REFGUID const GUID&
#else
#define REFGUID const GUID*
#endif
#ifdef INITGUID
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
  EXTERN_C const GUID DECLSPEC_SELECTANY name = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) EXTERN_C const GUID name
#endif
#ifdef __cplusplus
inline int IsEqualGUID(REFGUID a, REFGUID b) {
  return memcmp(&a, &b, sizeof(GUID)) == 0;
}
inline int InlineIsEqualGUID(REFGUID a, REFGUID b) {
  return memcmp(&a, &b, sizeof(GUID)) == 0;
}
#else
#define IsEqualGUID(a, b) (memcmp((a), (b), sizeof(GUID)) == 0)
#define InlineIsEqualGUID(a, b) IsEqualGUID(a, b)
#endif

/* ---- object attributes ---- */
#define OBJ_INHERIT 0x00000002L
#define OBJ_PERMANENT 0x00000010L
#define OBJ_EXCLUSIVE 0x00000020L
#define OBJ_CASE_INSENSITIVE 0x00000040L
#define OBJ_OPENIF 0x00000080L
#define OBJ_OPENLINK 0x00000100L
#define OBJ_KERNEL_HANDLE 0x00000200L
#define OBJ_FORCE_ACCESS_CHECK 0x00000400L
#define OBJ_VALID_ATTRIBUTES 0x000007F2L
typedef struct _OBJECT_ATTRIBUTES {
  ULONG Length;
  HANDLE RootDirectory;
  PUNICODE_STRING ObjectName;
  ULONG Attributes;
  PVOID SecurityDescriptor;
  PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
typedef const OBJECT_ATTRIBUTES* PCOBJECT_ATTRIBUTES;
#define InitializeObjectAttributes(p, n, a, r, s) \
  do {                                            \
    (p)->Length = sizeof(OBJECT_ATTRIBUTES);      \
    (p)->RootDirectory = (r);                     \
    (p)->Attributes = (a);                        \
    (p)->ObjectName = (n);                        \
    (p)->SecurityDescriptor = (s);                \
    (p)->SecurityQualityOfService = NULL;         \
  } while (0)
#define RTL_CONSTANT_OBJECT_ATTRIBUTES(n, a) \
  { sizeof(OBJECT_ATTRIBUTES), NULL, (PUNICODE_STRING)(n), (a), NULL, NULL }

/* ---- miscellaneous enums ---- */
typedef enum _EVENT_TYPE { NotificationEvent, SynchronizationEvent } EVENT_TYPE;
typedef enum _TIMER_TYPE { NotificationTimer, SynchronizationTimer } TIMER_TYPE;
typedef enum _WAIT_TYPE { WaitAll, WaitAny, WaitNotification, WaitDequeue, WaitDpc } WAIT_TYPE;
typedef enum _NT_PRODUCT_TYPE {
  NtProductWinNt = 1,
  NtProductLanManNt,
  NtProductServer
} NT_PRODUCT_TYPE;

typedef struct _PROCESSOR_NUMBER {
  USHORT Group;
  UCHAR Number;
  UCHAR Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;
typedef struct _GROUP_AFFINITY {
  KAFFINITY Mask;
  USHORT Group;
  USHORT Reserved[3];
} GROUP_AFFINITY, *PGROUP_AFFINITY;

C_ASSERT(sizeof(ULONG) == 4);
C_ASSERT(sizeof(LONG) == 4);
C_ASSERT(sizeof(ULONG_PTR) == sizeof(void*));
C_ASSERT(sizeof(LARGE_INTEGER) == 8);
C_ASSERT(sizeof(UNICODE_STRING) == 16);
C_ASSERT(sizeof(GUID) == 16);

#endif /* _NTDEF_ */
