// SPDX-License-Identifier: MIT
// pool.cpp: tagged pool allocations with per-tag live counts, and lookaside lists.
//
// Each block has a 32-byte header in front (magic, tag, size, offset to the raw allocation), so a
// free can check the tag and catch double frees and foreign pointers. Live allocations and bytes
// are counted per tag in an open-addressing table.
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

POOL_TYPE ExDefaultNonPagedPoolType = NonPagedPool;
ULONG ExDefaultMdlProtection = 0;

namespace {

constexpr uint32_t kLiveMagic = 0x4c4f4f50;   // "POOL"
constexpr uint32_t kFreedMagic = 0x45455246;  // "FREE"
constexpr ULONG kProtectedPool = 0x80000000;

struct alignas(16) PoolHeader {
  uint32_t magic;
  ULONG tag;
  uint64_t size;
  uint32_t offset;  // from the raw allocation to the block
  uint32_t pool_type;
  uint64_t reserved;
};
static_assert(sizeof(PoolHeader) == 32, "pool header is 32 bytes");

struct TagStats {
  ULONG tag;  // 0 = empty slot
  LONG64 allocations;
  LONG64 bytes;
};
constexpr size_t kTagSlots = 4096;
pthread_mutex_t g_pool_lock = PTHREAD_MUTEX_INITIALIZER;
TagStats g_tags[kTagSlots];
size_t g_tags_used = 0;
LONG64 g_total_allocations = 0;
LONG64 g_total_bytes = 0;

// g_pool_lock held. Returns the slot of tag, creating it, or nullptr if the table is full.
TagStats* tag_slot(ULONG tag) {
  size_t i = (static_cast<size_t>(tag) * 2654435761u) % kTagSlots;
  for (size_t n = 0; n < kTagSlots; ++n, i = (i + 1) % kTagSlots) {
    if (g_tags[i].tag == tag) {
      return &g_tags[i];
    }
    if (g_tags[i].tag == 0) {
      if (g_tags_used + 1 >= kTagSlots) {
        return nullptr;
      }
      g_tags[i].tag = tag;
      g_tags_used++;
      return &g_tags[i];
    }
  }
  return nullptr;
}

void account(ULONG tag, LONG64 allocations, LONG64 bytes) {
  pthread_mutex_lock(&g_pool_lock);
  TagStats* s = tag_slot(tag & ~kProtectedPool);
  if (s != nullptr) {
    s->allocations += allocations;
    s->bytes += bytes;
  }
  g_total_allocations += allocations;
  g_total_bytes += bytes;
  pthread_mutex_unlock(&g_pool_lock);
}

bool is_paged(POOL_TYPE type) {
  return (static_cast<int>(type) & 1) != 0;  // PagedPool, PagedPoolCacheAligned, ...Session
}

bool is_cache_aligned(POOL_TYPE type) {
  return (static_cast<int>(type) & 4) != 0;
}

POOL_TYPE type_from_flags(POOL_FLAGS flags) {
  if (flags & POOL_FLAG_PAGED) {
    return (flags & POOL_FLAG_CACHE_ALIGNED) ? PagedPoolCacheAligned : PagedPool;
  }
  return (flags & POOL_FLAG_CACHE_ALIGNED) ? NonPagedPoolNxCacheAligned : NonPagedPoolNx;
}

}  // namespace

PVOID umwsk_pool_alloc(POOL_TYPE type, SIZE_T bytes, ULONG tag, bool zero, const void* caller) {
  const KIRQL irql = umwsk_irql();
  if (irql > DISPATCH_LEVEL || (is_paged(type) && irql > APC_LEVEL)) {
    umwsk_rule_violation_at(caller, "irql.pool_allocation", nullptr,
                            "allocating %s pool at IRQL %u (paged pool requires <= APC_LEVEL, "
                            "non-paged <= DISPATCH_LEVEL)",
                            is_paged(type) ? "paged" : "non-paged", static_cast<unsigned>(irql));
  }
  if ((tag & ~kProtectedPool) == 0) {
    umwsk_rule_violation_at(caller, "pool.zero_tag", nullptr, "pool allocation with tag 0");
    return nullptr;
  }
  const size_t align = is_cache_aligned(type) ? 64 : 16;
  const size_t offset = align > sizeof(PoolHeader) ? align : sizeof(PoolHeader);
  if (bytes > (static_cast<SIZE_T>(1) << 40)) {
    return nullptr;  // as Windows fails an impossible request
  }
  void* raw = nullptr;
  if (posix_memalign(&raw, align, offset + (bytes == 0 ? 1 : bytes)) != 0) {
    return nullptr;
  }
  char* block = static_cast<char*>(raw) + offset;
  auto* h = reinterpret_cast<PoolHeader*>(block - sizeof(PoolHeader));
  h->magic = kLiveMagic;
  h->tag = tag;
  h->size = bytes;
  h->offset = static_cast<uint32_t>(offset);
  h->pool_type = static_cast<uint32_t>(type);
  h->reserved = 0;
  memset(block, zero ? 0 : 0xCD, bytes);
  account(tag, 1, static_cast<LONG64>(bytes));
  return block;
}

void umwsk_pool_free(PVOID block, ULONG tag, bool check_tag, const void* caller) {
  if (block == nullptr) {
    umwsk_rule_violation_at(caller, "pool.free_null", nullptr, "freeing a NULL pool block");
    return;
  }
  if (umwsk_irql() > DISPATCH_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.pool_free", block,
                            "freeing pool at IRQL %u (must be <= DISPATCH_LEVEL)",
                            static_cast<unsigned>(umwsk_irql()));
  }
  if ((reinterpret_cast<ULONG_PTR>(block) & 15) != 0) {
    umwsk_rule_violation_at(caller, "pool.free_bad_pointer", block,
                            "freeing a pointer that did not come from the pool");
    return;
  }
  auto* h = reinterpret_cast<PoolHeader*>(static_cast<char*>(block) - sizeof(PoolHeader));
  if (h->magic != kLiveMagic) {
    if (h->magic == kFreedMagic) {
      umwsk_rule_violation_at(caller, "pool.double_free", block, "freeing a pool block twice");
    } else {
      umwsk_rule_violation_at(caller, "pool.free_bad_pointer", block,
                              "freeing a pointer that did not come from the pool");
    }
    return;
  }
  if (check_tag && (h->tag & ~kProtectedPool) != (tag & ~kProtectedPool)) {
    char have[5];
    char want[5];
    UmwskFormatPoolTag(h->tag, have);
    UmwskFormatPoolTag(tag, want);
    umwsk_rule_violation_at(caller, "pool.free_wrong_tag", block,
                            "ExFreePoolWithTag with tag '%s' (0x%08X) on a block allocated with "
                            "tag '%s' (0x%08X) (BAD_POOL_CALLER on Windows)",
                            want, tag, have, h->tag);
    return;
  }
  const uint64_t size = h->size;
  const ULONG real_tag = h->tag;
  h->magic = kFreedMagic;
  memset(block, 0xDD, size);
  account(real_tag, -1, -static_cast<LONG64>(size));
  free(static_cast<char*>(block) - h->offset);
}

void umwsk_pool_totals(LONG* allocations, LONG64* bytes) {
  pthread_mutex_lock(&g_pool_lock);
  *allocations = static_cast<LONG>(g_total_allocations);
  *bytes = g_total_bytes;
  pthread_mutex_unlock(&g_pool_lock);
}

// ---- the WDK routines -------------------------------------------------------------------------

PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag) {
  const void* caller = __builtin_return_address(0);
  const POOL_FLAGS known = POOL_FLAG_USE_QUOTA | POOL_FLAG_UNINITIALIZED | POOL_FLAG_SESSION |
                           POOL_FLAG_CACHE_ALIGNED | POOL_FLAG_RAISE_ON_FAILURE |
                           POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED |
                           POOL_FLAG_SPECIAL_POOL;
  const POOL_FLAGS kinds =
      Flags & (POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED);
  if ((Flags & ~known & (POOL_FLAG_OPTIONAL_START - 1)) != 0 || kinds == 0 ||
      (kinds & (kinds - 1)) != 0) {
    umwsk_rule_violation_at(caller, "pool.bad_flags", nullptr,
                            "ExAllocatePool2 flags 0x%llx: exactly one of POOL_FLAG_NON_PAGED, "
                            "POOL_FLAG_NON_PAGED_EXECUTE, POOL_FLAG_PAGED is required, and no "
                            "unknown required flag",
                            static_cast<unsigned long long>(Flags));
    return nullptr;
  }
  PVOID p = umwsk_pool_alloc(type_from_flags(Flags), NumberOfBytes, Tag,
                             (Flags & POOL_FLAG_UNINITIALIZED) == 0, caller);
  if (p == nullptr && (Flags & POOL_FLAG_RAISE_ON_FAILURE) != 0) {
    ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
  }
  return p;
}

PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
  return umwsk_pool_alloc(PoolType, NumberOfBytes, Tag,
                          (static_cast<int>(PoolType) & POOL_ZERO_ALLOCATION) != 0,
                          __builtin_return_address(0));
}

PVOID ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
  return umwsk_pool_alloc(PoolType, NumberOfBytes, Tag, false, __builtin_return_address(0));
}

PVOID ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                    EX_POOL_PRIORITY Priority) {
  (void)Priority;
  return umwsk_pool_alloc(PoolType, NumberOfBytes, Tag, false, __builtin_return_address(0));
}

PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes) {
  return umwsk_pool_alloc(PoolType, NumberOfBytes, umwsk_tag('e', 'n', 'o', 'N'), false,
                          __builtin_return_address(0));
}

void ExFreePoolWithTag(PVOID P, ULONG Tag) {
  umwsk_pool_free(P, Tag, true, __builtin_return_address(0));
}

void ExFreePool(PVOID P) {
  umwsk_pool_free(P, 0, false, __builtin_return_address(0));
}

void ExInitializeDriverRuntime(ULONG RuntimeFlags) {
  if (RuntimeFlags & DrvRtPoolNxOptIn) {
    ExDefaultNonPagedPoolType = NonPagedPoolNx;
    ExDefaultMdlProtection = MdlMappingNoExecute;
  }
}

// ---- umwsk.h ------------------------------------------------------------------------------------

void UmwskForEachPoolTag(PUMWSK_POOL_TAG_CALLBACK Callback, PVOID Context) {
  if (Callback == nullptr) {
    return;
  }
  pthread_mutex_lock(&g_pool_lock);
  size_t n = 0;
  for (size_t i = 0; i < kTagSlots; ++i) {
    if (g_tags[i].tag != 0 && g_tags[i].allocations != 0) {
      n++;
    }
  }
  auto* snapshot = static_cast<TagStats*>(malloc((n == 0 ? 1 : n) * sizeof(TagStats)));
  size_t k = 0;
  if (snapshot != nullptr) {
    for (size_t i = 0; i < kTagSlots && k < n; ++i) {
      if (g_tags[i].tag != 0 && g_tags[i].allocations != 0) {
        snapshot[k++] = g_tags[i];
      }
    }
  }
  pthread_mutex_unlock(&g_pool_lock);
  for (size_t i = 0; i < k; ++i) {
    Callback(snapshot[i].tag, static_cast<ULONG_PTR>(snapshot[i].allocations),
             static_cast<ULONG_PTR>(snapshot[i].bytes), Context);
  }
  free(snapshot);
}

void UmwskQueryPoolTag(ULONG Tag, ULONG_PTR* Allocations, ULONG_PTR* Bytes) {
  ULONG_PTR a = 0;
  ULONG_PTR b = 0;
  pthread_mutex_lock(&g_pool_lock);
  const ULONG key = Tag & ~kProtectedPool;
  size_t i = (static_cast<size_t>(key) * 2654435761u) % kTagSlots;
  for (size_t n = 0; n < kTagSlots && key != 0; ++n, i = (i + 1) % kTagSlots) {
    if (g_tags[i].tag == key) {
      a = static_cast<ULONG_PTR>(g_tags[i].allocations);
      b = static_cast<ULONG_PTR>(g_tags[i].bytes);
      break;
    }
    if (g_tags[i].tag == 0) {
      break;
    }
  }
  pthread_mutex_unlock(&g_pool_lock);
  if (Allocations != nullptr) {
    *Allocations = a;
  }
  if (Bytes != nullptr) {
    *Bytes = b;
  }
}

void UmwskFormatPoolTag(ULONG Tag, CHAR Text[5]) {
  for (int i = 0; i < 4; ++i) {
    const auto c = static_cast<unsigned char>((Tag >> (8 * i)) & 0xff);
    Text[i] = (c >= 0x20 && c < 0x7f) ? static_cast<CHAR>(c) : '.';
  }
  Text[4] = 0;
}

// ---- lookaside lists ----------------------------------------------------------------------------

namespace {

constexpr ULONG kLookasideMagic = 0x73416b4c;  // "LkAs"
constexpr ULONG kFlagEx = 1;
constexpr USHORT kDefaultDepth = 4;
constexpr USHORT kMaxDepth = 256;

void lookaside_init(PGENERAL_LOOKASIDE l, POOL_TYPE type, SIZE_T size, ULONG tag, USHORT depth,
                    ULONG flags) {
  memset(l, 0, sizeof *l);
  InitializeSListHead(&l->ListHead);
  l->Depth = depth == 0 ? kDefaultDepth : (depth > kMaxDepth ? kMaxDepth : depth);
  l->MaximumDepth = kMaxDepth;
  l->Type = type;
  l->Tag = tag;
  l->Size =
      static_cast<ULONG>(size < LOOKASIDE_MINIMUM_BLOCK_SIZE ? LOOKASIDE_MINIMUM_BLOCK_SIZE : size);
  InitializeListHead(&l->ListEntry);
  l->Future[0] = flags;
  l->Future[1] = kLookasideMagic;
}

bool lookaside_check(PGENERAL_LOOKASIDE l, const void* caller, const char* routine) {
  if (l->Future[1] != kLookasideMagic) {
    umwsk_rule_violation_at(caller, "lookaside.not_initialized", l,
                            "%s on a lookaside list that is not initialized (or was deleted)",
                            routine);
    return false;
  }
  return true;
}

PVOID lookaside_alloc_block(PGENERAL_LOOKASIDE l, const void* caller) {
  if (l->Future[0] & kFlagEx) {
    if (l->AllocateEx != nullptr) {
      return l->AllocateEx(l->Type, l->Size, l->Tag, reinterpret_cast<PLOOKASIDE_LIST_EX>(l));
    }
  } else if (l->Allocate != nullptr) {
    return l->Allocate(l->Type, l->Size, l->Tag);
  }
  return umwsk_pool_alloc(l->Type, l->Size, l->Tag, false, caller);
}

void lookaside_free_block(PGENERAL_LOOKASIDE l, PVOID block, const void* caller) {
  if (l->Future[0] & kFlagEx) {
    if (l->FreeEx != nullptr) {
      l->FreeEx(block, reinterpret_cast<PLOOKASIDE_LIST_EX>(l));
      return;
    }
  } else if (l->Free != nullptr) {
    l->Free(block);
    return;
  }
  umwsk_pool_free(block, 0, false, caller);
}

PVOID lookaside_allocate(PGENERAL_LOOKASIDE l, const void* caller, const char* routine) {
  if (!lookaside_check(l, caller, routine)) {
    return nullptr;
  }
  __atomic_add_fetch(&l->TotalAllocates, 1u, __ATOMIC_RELAXED);
  PVOID block = InterlockedPopEntrySList(&l->ListHead);
  if (block == nullptr) {
    __atomic_add_fetch(&l->AllocateMisses, 1u, __ATOMIC_RELAXED);
    block = lookaside_alloc_block(l, caller);
  }
  return block;
}

void lookaside_free(PGENERAL_LOOKASIDE l, PVOID block, const void* caller, const char* routine) {
  if (!lookaside_check(l, caller, routine)) {
    return;
  }
  __atomic_add_fetch(&l->TotalFrees, 1u, __ATOMIC_RELAXED);
  if (QueryDepthSList(&l->ListHead) >= l->Depth) {
    __atomic_add_fetch(&l->FreeMisses, 1u, __ATOMIC_RELAXED);
    lookaside_free_block(l, block, caller);
    return;
  }
  InterlockedPushEntrySList(&l->ListHead, static_cast<PSLIST_ENTRY>(block));
}

void lookaside_flush(PGENERAL_LOOKASIDE l, const void* caller) {
  PSLIST_ENTRY e = InterlockedFlushSList(&l->ListHead);
  while (e != nullptr) {
    PSLIST_ENTRY next = e->Next;
    lookaside_free_block(l, e, caller);
    e = next;
  }
}

void lookaside_delete(PGENERAL_LOOKASIDE l, const void* caller, const char* routine) {
  if (!lookaside_check(l, caller, routine)) {
    return;
  }
  lookaside_flush(l, caller);
  l->Future[1] = 0;
}

void check_paged_irql(const void* l, const void* caller, const char* routine) {
  if (umwsk_irql() > APC_LEVEL) {
    umwsk_rule_violation_at(caller, "irql.pool_allocation", l,
                            "%s at IRQL %u (paged lookaside lists require <= APC_LEVEL)", routine,
                            static_cast<unsigned>(umwsk_irql()));
  }
}

}  // namespace

void ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                     PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag,
                                     USHORT Depth) {
  (void)Flags;
  lookaside_init(&Lookaside->L, ExDefaultNonPagedPoolType, Size, Tag, Depth, 0);
  Lookaside->L.Allocate = Allocate;
  Lookaside->L.Free = Free;
}

void ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) {
  umwsk_check_irql_max(DISPATCH_LEVEL, __builtin_return_address(0), Lookaside,
                       "ExDeleteNPagedLookasideList");
  lookaside_delete(&Lookaside->L, __builtin_return_address(0), "ExDeleteNPagedLookasideList");
}

PVOID ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) {
  return lookaside_allocate(&Lookaside->L, __builtin_return_address(0),
                            "ExAllocateFromNPagedLookasideList");
}

void ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry) {
  lookaside_free(&Lookaside->L, Entry, __builtin_return_address(0), "ExFreeToNPagedLookasideList");
}

void ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
                                    PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag,
                                    USHORT Depth) {
  (void)Flags;
  check_paged_irql(Lookaside, __builtin_return_address(0), "ExInitializePagedLookasideList");
  lookaside_init(&Lookaside->L, PagedPool, Size, Tag, Depth, 0);
  Lookaside->L.Allocate = Allocate;
  Lookaside->L.Free = Free;
}

void ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside) {
  lookaside_delete(&Lookaside->L, __builtin_return_address(0), "ExDeletePagedLookasideList");
}

PVOID ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside) {
  const void* caller = __builtin_return_address(0);
  check_paged_irql(Lookaside, caller, "ExAllocateFromPagedLookasideList");
  return lookaside_allocate(&Lookaside->L, caller, "ExAllocateFromPagedLookasideList");
}

void ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry) {
  const void* caller = __builtin_return_address(0);
  check_paged_irql(Lookaside, caller, "ExFreeToPagedLookasideList");
  lookaside_free(&Lookaside->L, Entry, caller, "ExFreeToPagedLookasideList");
}

NTSTATUS ExInitializeLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PALLOCATE_FUNCTION_EX Allocate,
                                     PFREE_FUNCTION_EX Free, POOL_TYPE PoolType, ULONG Flags,
                                     SIZE_T Size, ULONG Tag, USHORT Depth) {
  (void)Flags;
  if (Lookaside == nullptr) {
    return STATUS_INVALID_PARAMETER_1;
  }
  lookaside_init(&Lookaside->L, PoolType, Size, Tag, Depth, kFlagEx);
  Lookaside->L.AllocateEx = Allocate;
  Lookaside->L.FreeEx = Free;
  return STATUS_SUCCESS;
}

void ExDeleteLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
  lookaside_delete(&Lookaside->L, __builtin_return_address(0), "ExDeleteLookasideListEx");
}

void ExFlushLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
  const void* caller = __builtin_return_address(0);
  if (lookaside_check(&Lookaside->L, caller, "ExFlushLookasideListEx")) {
    lookaside_flush(&Lookaside->L, caller);
  }
}

PVOID ExAllocateFromLookasideListEx(PLOOKASIDE_LIST_EX Lookaside) {
  return lookaside_allocate(&Lookaside->L, __builtin_return_address(0),
                            "ExAllocateFromLookasideListEx");
}

void ExFreeToLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PVOID Entry) {
  lookaside_free(&Lookaside->L, Entry, __builtin_return_address(0), "ExFreeToLookasideListEx");
}
