// SPDX-License-Identifier: MIT
// kernel_rt.cpp: the C++ runtime support a kernel driver built with
// -ffreestanding -fno-exceptions -fno-rtti -nostdlib needs.
//
// What is (and is not) provided:
//  - Global operator new/delete, all standard forms (plain, array, sized,
//    aligned, nothrow), backed by ExAllocatePoolWithTag/ExFreePoolWithTag
//    from non-paged pool with tags from pool_tags.h. Allocation failure
//    returns nullptr from every form: there are no exceptions. Kernel code
//    should write `new (std::nothrow) T` and check the result; the plain form
//    also returns nullptr, and the toolchain passes -fcheck-new so the
//    compiler does not assume otherwise.
//  - std::nothrow (normally in libsupc++, which is not linked).
//  - __cxa_pure_virtual: traps (ud2 -> bug check on Windows, crash under Wine).
//  - No static constructors or destructors ever run: DriverEntry is the raw
//    PE entry point, nothing walks .ctors. Every global/static must therefore
//    be constant-initialized: POD, constexpr or constinit. A global with a
//    dynamic initializer is a bug; the build checks the .sys for a non-empty
//    .ctors section (cmake/XwskKernelTargets.cmake) and fails.
//  - No atexit: deliberately absent. The compiler references atexit only to
//    register destructors of globals/function-local statics, which would never
//    run here; the resulting link error is the guard.
//  - __chkstk: frames over a page call ___chkstk_ms, which comes from libgcc
//    (-lgcc on the link line); ntoskrnl's own __chkstk is not needed.
//    -Wframe-larger-than=2048 keeps frames small anyway (kernel stacks are
//    small).
//  - memcpy/memset/memmove/memcmp/strlen... are imported from ntoskrnl.exe
//    (Wine's and Windows' both export them).
#include <new>

#include "pool_tags.h"
#include "wsk_ddk.h"

namespace std {
// Declared in <new>; defined in libsupc++ normally.
const nothrow_t nothrow{};
}  // namespace std

namespace {

using xwsk::kernel::kNonPagedPool;
using xwsk::kernel::kPoolTagNew;
using xwsk::kernel::kPoolTagNewAligned;

// ExAllocatePoolWithTag returns 16-byte-aligned blocks on x64 (and at least
// 8 on x86); that covers every fundamental alignment.
constexpr std::size_t kPoolAlignment = 2 * sizeof(void*);

void* pool_alloc(std::size_t size) noexcept {
  if (size == 0) {
    size = 1;  // operator new must return a unique non-null pointer
  }
  return ExAllocatePoolWithTag(kNonPagedPool, size, kPoolTagNew);
}

void pool_free(void* p) noexcept {
  if (p != nullptr) {
    ExFreePoolWithTag(p, kPoolTagNew);
  }
}

// Over-aligned blocks: allocate size + align, round up, and keep the pool
// pointer in the word just below the returned address.
void* pool_alloc_aligned(std::size_t size, std::align_val_t al) noexcept {
  const std::size_t align = static_cast<std::size_t>(al);
  if (align <= kPoolAlignment) {
    return pool_alloc(size);
  }
  if (size > ~static_cast<std::size_t>(0) - align - sizeof(void*)) {
    return nullptr;
  }
  void* raw =
      ExAllocatePoolWithTag(kNonPagedPool, size + align + sizeof(void*), kPoolTagNewAligned);
  if (raw == nullptr) {
    return nullptr;
  }
  const auto base = reinterpret_cast<ULONG_PTR>(raw) + sizeof(void*);
  const auto aligned = (base + align - 1) & ~static_cast<ULONG_PTR>(align - 1);
  reinterpret_cast<void**>(aligned)[-1] = raw;
  return reinterpret_cast<void*>(aligned);
}

void pool_free_aligned(void* p, std::align_val_t al) noexcept {
  if (p == nullptr) {
    return;
  }
  if (static_cast<std::size_t>(al) <= kPoolAlignment) {
    pool_free(p);
    return;
  }
  ExFreePoolWithTag(static_cast<void**>(p)[-1], kPoolTagNewAligned);
}

}  // namespace

// clang-format off
void *operator new(std::size_t n) { return pool_alloc(n); }
void *operator new[](std::size_t n) { return pool_alloc(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return pool_alloc(n); }
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return pool_alloc(n); }
void *operator new(std::size_t n, std::align_val_t a) { return pool_alloc_aligned(n, a); }
void *operator new[](std::size_t n, std::align_val_t a) { return pool_alloc_aligned(n, a); }
void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return pool_alloc_aligned(n, a); }
void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return pool_alloc_aligned(n, a); }

void operator delete(void *p) noexcept { pool_free(p); }
void operator delete[](void *p) noexcept { pool_free(p); }
void operator delete(void *p, std::size_t) noexcept { pool_free(p); }
void operator delete[](void *p, std::size_t) noexcept { pool_free(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { pool_free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { pool_free(p); }
void operator delete(void *p, std::align_val_t a) noexcept { pool_free_aligned(p, a); }
void operator delete[](void *p, std::align_val_t a) noexcept { pool_free_aligned(p, a); }
void operator delete(void *p, std::size_t, std::align_val_t a) noexcept { pool_free_aligned(p, a); }
void operator delete[](void *p, std::size_t, std::align_val_t a) noexcept { pool_free_aligned(p, a); }
void operator delete(void *p, std::align_val_t a, const std::nothrow_t &) noexcept { pool_free_aligned(p, a); }
void operator delete[](void *p, std::align_val_t a, const std::nothrow_t &) noexcept { pool_free_aligned(p, a); }
// clang-format on

extern "C" void __cxa_pure_virtual() {
  DbgPrint("xwsk: pure virtual function called\n");
#if defined(_MSC_VER) && !defined(__clang__)
  __fastfail(FAST_FAIL_FATAL_APP_EXIT);
#else
  __builtin_trap();
#endif
}
