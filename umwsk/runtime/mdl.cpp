// SPDX-License-Identifier: MIT
// mdl.cpp: memory descriptor lists. User-space memory is always mapped, so "locking" and
// "mapping" only track state (MDL_PAGES_LOCKED, MDL_MAPPED_TO_SYSTEM_VA...) and fill the page
// array with virtual page numbers; the verifier uses that state.
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

namespace {

constexpr uint64_t kMdlMagic = 0x4c444d4b53574d55ULL;  // "UMWSKMDL"
constexpr uint64_t kMdlFreed = 0x44455246444d4b53ULL;

// IoAllocateMdl's MDLs have a 16-byte prefix: a magic value (so IoFreeMdl can check its input).
struct alignas(16) MdlPrefix {
  uint64_t magic;
  uint64_t reserved;
};

void fill_pfns(PMDL mdl) {
  const SIZE_T pages = ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(mdl), mdl->ByteCount);
  const SIZE_T room = (static_cast<SIZE_T>(static_cast<USHORT>(mdl->Size)) > sizeof(MDL))
                          ? (static_cast<USHORT>(mdl->Size) - sizeof(MDL)) / sizeof(PFN_NUMBER)
                          : 0;
  PPFN_NUMBER pfn = MmGetMdlPfnArray(mdl);
  const auto first = reinterpret_cast<ULONG_PTR>(mdl->StartVa) >> PAGE_SHIFT;
  for (SIZE_T i = 0; i < pages && i < room; ++i) {
    pfn[i] = first + i;
  }
}

}  // namespace

SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length) {
  return sizeof(MDL) + ADDRESS_AND_SIZE_TO_SPAN_PAGES(Base, Length) * sizeof(PFN_NUMBER);
}

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota,
                   PIRP Irp) {
  (void)ChargeQuota;
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation("irql.mdl_allocation", VirtualAddress,
                         "IoAllocateMdl at IRQL %u (must be <= DISPATCH_LEVEL)",
                         static_cast<unsigned>(umwsk_irql()));
  }
  if (Length > 0xFFFFFFFFu - PAGE_SIZE) {
    return nullptr;
  }
  const SIZE_T size = MmSizeOfMdl(VirtualAddress, Length);
  void* mem = nullptr;
  if (posix_memalign(&mem, 16, sizeof(MdlPrefix) + size) != 0) {
    return nullptr;
  }
  auto* prefix = static_cast<MdlPrefix*>(mem);
  prefix->magic = kMdlMagic;
  prefix->reserved = 0;
  auto* mdl = reinterpret_cast<PMDL>(prefix + 1);
  memset(mdl, 0, sizeof(MDL));
  MmInitializeMdl(mdl, VirtualAddress, Length);
  // MmInitializeMdl's CSHORT Size wraps for very large buffers; keep the largest value it can hold.
  mdl->Size = static_cast<CSHORT>(size > 0x7ff0 ? 0x7ff0 : size);
  mdl->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
  mdl->Process = nullptr;
  mdl->MappedSystemVa = nullptr;
  if (Irp != nullptr) {
    if (!SecondaryBuffer) {
      Irp->MdlAddress = mdl;
    } else {
      PMDL* link = &Irp->MdlAddress;
      while (*link != nullptr) {
        link = &(*link)->Next;
      }
      *link = mdl;
    }
  }
  UmwskRtCount(UmwskRtMdls, 1);
  return mdl;
}

void IoFreeMdl(PMDL Mdl) {
  if (Mdl == nullptr) {
    umwsk_rule_violation("mdl.free_null", nullptr, "IoFreeMdl(NULL)");
    return;
  }
  auto* prefix = reinterpret_cast<MdlPrefix*>(Mdl) - 1;
  if (prefix->magic != kMdlMagic) {
    umwsk_rule_violation("mdl.free_not_allocated", Mdl,
                         prefix->magic == kMdlFreed
                             ? "IoFreeMdl on an MDL that was already freed"
                             : "IoFreeMdl on an MDL that IoAllocateMdl did not return");
    return;
  }
  if (Mdl->MdlFlags & MDL_PAGES_LOCKED) {
    umwsk_rule_violation("mdl.free_locked", Mdl,
                         "IoFreeMdl on an MDL whose pages are still locked (call MmUnlockPages "
                         "first)");
  }
  prefix->magic = kMdlFreed;
  memset(Mdl, 0xDD, sizeof(MDL));
  free(prefix);
  UmwskRtCount(UmwskRtMdls, -1);
}

void IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length) {
  auto* src_va = static_cast<char*>(MmGetMdlVirtualAddress(SourceMdl));
  auto* va = static_cast<char*>(VirtualAddress);
  if (va < src_va || va > src_va + SourceMdl->ByteCount) {
    umwsk_rule_violation("mdl.partial_out_of_range", TargetMdl,
                         "IoBuildPartialMdl: the address is outside the source MDL's buffer");
    return;
  }
  if ((SourceMdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL |
                              MDL_MAPPED_TO_SYSTEM_VA | MDL_IO_SPACE)) == 0) {
    umwsk_rule_violation("mdl.partial_source_not_locked", SourceMdl,
                         "IoBuildPartialMdl from an MDL whose pages are not locked "
                         "(MmProbeAndLockPages or MmBuildMdlForNonPagedPool first)");
  }
  const auto offset = static_cast<ULONG>(va - src_va);
  if (Length == 0) {
    Length = SourceMdl->ByteCount - offset;
  }
  if (Length > SourceMdl->ByteCount - offset) {
    umwsk_rule_violation("mdl.partial_out_of_range", TargetMdl,
                         "IoBuildPartialMdl: %u bytes at offset %u run past the source MDL's %u",
                         Length, offset, SourceMdl->ByteCount);
    return;
  }
  const CSHORT target_size = TargetMdl->Size;
  const SIZE_T need = MmSizeOfMdl(VirtualAddress, Length);
  if (target_size != 0 && static_cast<SIZE_T>(static_cast<USHORT>(target_size)) < need &&
      need <= 0x7ff0) {
    umwsk_rule_violation("mdl.partial_target_too_small", TargetMdl,
                         "IoBuildPartialMdl: the target MDL (Size %d) cannot describe %u bytes",
                         static_cast<int>(target_size), Length);
    return;
  }
  TargetMdl->Next = nullptr;
  TargetMdl->StartVa = PAGE_ALIGN(VirtualAddress);
  TargetMdl->ByteOffset = BYTE_OFFSET(VirtualAddress);
  TargetMdl->ByteCount = Length;
  TargetMdl->Process = SourceMdl->Process;
  CSHORT flags =
      static_cast<CSHORT>((TargetMdl->MdlFlags & MDL_ALLOCATED_FIXED_SIZE) | MDL_PARTIAL);
  if (SourceMdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL) {
    flags = static_cast<CSHORT>(flags | MDL_SOURCE_IS_NONPAGED_POOL);
    TargetMdl->MappedSystemVa = static_cast<char*>(SourceMdl->MappedSystemVa) + offset;
  } else if (SourceMdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) {
    flags = static_cast<CSHORT>(flags | MDL_PARENT_MAPPED_SYSTEM_VA);
    TargetMdl->MappedSystemVa = static_cast<char*>(SourceMdl->MappedSystemVa) + offset;
  } else {
    TargetMdl->MappedSystemVa = nullptr;
  }
  if (SourceMdl->MdlFlags & MDL_IO_SPACE) {
    flags = static_cast<CSHORT>(flags | MDL_IO_SPACE);
  }
  TargetMdl->MdlFlags = flags;
  fill_pfns(TargetMdl);
}

void MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList) {
  PMDL mdl = MemoryDescriptorList;
  if (mdl->MdlFlags &
      (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL | MDL_MAPPED_TO_SYSTEM_VA)) {
    umwsk_rule_violation("mdl.build_nonpaged_on_prepared_mdl", mdl,
                         "MmBuildMdlForNonPagedPool on an MDL that is already locked, mapped or "
                         "partial (flags 0x%x)",
                         static_cast<unsigned>(static_cast<USHORT>(mdl->MdlFlags)));
  }
  mdl->MappedSystemVa = MmGetMdlVirtualAddress(mdl);
  mdl->MdlFlags = static_cast<CSHORT>(mdl->MdlFlags | MDL_SOURCE_IS_NONPAGED_POOL);
  fill_pfns(mdl);
}

void MmProbeAndLockPages(PMDLX MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                         LOCK_OPERATION Operation) {
  (void)AccessMode;
  PMDL mdl = MemoryDescriptorList;
  if (umwsk_irql() > DISPATCH_LEVEL ||
      (umwsk_irql() > APC_LEVEL && (mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL) == 0)) {
    umwsk_rule_violation("irql.probe_and_lock_pages", mdl,
                         "MmProbeAndLockPages at IRQL %u (pageable memory requires <= "
                         "APC_LEVEL)",
                         static_cast<unsigned>(umwsk_irql()));
  }
  if (mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL)) {
    umwsk_rule_violation("mdl.probe_prepared_mdl", mdl,
                         "MmProbeAndLockPages on an MDL that is already locked, built for "
                         "non-paged pool, or partial (flags 0x%x)",
                         static_cast<unsigned>(static_cast<USHORT>(mdl->MdlFlags)));
    return;
  }
  if (mdl->ByteCount != 0 && mdl->StartVa == nullptr && mdl->ByteOffset == 0) {
    umwsk_rule_violation("mdl.probe_invalid_address", mdl,
                         "MmProbeAndLockPages on a NULL buffer (STATUS_ACCESS_VIOLATION is "
                         "raised on Windows)");
    return;
  }
  CSHORT flags = static_cast<CSHORT>(mdl->MdlFlags | MDL_PAGES_LOCKED);
  if (Operation != IoReadAccess) {
    flags = static_cast<CSHORT>(flags | MDL_WRITE_OPERATION);
  }
  mdl->MdlFlags = flags;
  fill_pfns(mdl);
}

void MmUnlockPages(PMDLX MemoryDescriptorList) {
  PMDL mdl = MemoryDescriptorList;
  if ((mdl->MdlFlags & MDL_PAGES_LOCKED) == 0) {
    umwsk_rule_violation("mdl.unlock_not_locked", mdl,
                         "MmUnlockPages on an MDL whose pages are not locked");
    return;
  }
  mdl->MdlFlags = static_cast<CSHORT>(
      mdl->MdlFlags & ~(MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA | MDL_WRITE_OPERATION));
  mdl->MappedSystemVa = nullptr;
}

PVOID MmMapLockedPagesSpecifyCache(PMDLX MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                   MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                   ULONG BugCheckOnFailure, ULONG Priority) {
  (void)AccessMode;
  (void)CacheType;
  (void)RequestedAddress;
  (void)BugCheckOnFailure;
  (void)Priority;
  PMDL mdl = MemoryDescriptorList;
  if ((mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL)) == 0) {
    umwsk_rule_violation("mdl.map_not_locked", mdl,
                         "mapping an MDL whose pages are not locked (MmProbeAndLockPages or "
                         "MmBuildMdlForNonPagedPool first)");
  }
  if (mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) {
    return mdl->MappedSystemVa;
  }
  mdl->MappedSystemVa = MmGetMdlVirtualAddress(mdl);
  mdl->MdlFlags = static_cast<CSHORT>(mdl->MdlFlags |
                                      ((mdl->MdlFlags & MDL_PARTIAL)
                                           ? (MDL_PARTIAL_HAS_BEEN_MAPPED | MDL_MAPPED_TO_SYSTEM_VA)
                                           : MDL_MAPPED_TO_SYSTEM_VA));
  return mdl->MappedSystemVa;
}

PVOID MmMapLockedPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode) {
  return MmMapLockedPagesSpecifyCache(MemoryDescriptorList, AccessMode, MmCached, nullptr, TRUE,
                                      NormalPagePriority);
}

void MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList) {
  (void)BaseAddress;
  PMDL mdl = MemoryDescriptorList;
  if ((mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) == 0) {
    umwsk_rule_violation("mdl.unmap_not_mapped", mdl,
                         "MmUnmapLockedPages on an MDL that is not mapped");
    return;
  }
  mdl->MdlFlags =
      static_cast<CSHORT>(mdl->MdlFlags & ~(MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED));
  mdl->MappedSystemVa = nullptr;
}

BOOLEAN MmIsAddressValid(PVOID VirtualAddress) {
  return VirtualAddress != nullptr ? TRUE : FALSE;
}
