// SPDX-License-Identifier: MIT
// Definitions for declarations in wsk_missing.h that need storage.
#include "wsk_ddk.h"

#if XWSK_WSK_H_IS_WINE
// {2227E803-8D8B-11D4-ABAD-009027719E09}: the WSK NPI identifier
// (NPI_WSK_INTERFACE_ID, used by SO_WSK_EVENT_CALLBACK; see wsk_missing.h).
extern "C" const NPIID NPI_WSK_INTERFACE_ID = {
    0x2227E803, 0x8D8B, 0x11D4, {0xAB, 0xAD, 0x00, 0x90, 0x27, 0x71, 0x9E, 0x09}};
#endif
