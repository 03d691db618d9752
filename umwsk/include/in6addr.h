/* SPDX-License-Identifier: MIT */
/**
 * @file in6addr.h
 * @brief umwsk: IN6_ADDR with Windows' layout (16 bytes, network byte order), written for xwsk
 * from Microsoft's published documentation.
 */
#ifndef _IN6ADDR_
#define _IN6ADDR_

#include <ntdef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct in6_addr {
  union {
    UCHAR Byte[16];
    USHORT Word[8];
  } u;
} IN6_ADDR, *PIN6_ADDR, *LPIN6_ADDR;

#define in_addr6 in6_addr

#define _S6_un u
#define _S6_u8 Byte
#define s6_addr _S6_un._S6_u8
#define s6_bytes u.Byte
#define s6_words u.Word

/* Initializers, as on Windows. */
#define IN6ADDR_ANY_INIT \
  {                      \
    {                    \
      { 0 }              \
    }                    \
  }
#define IN6ADDR_LOOPBACK_INIT                            \
  {                                                      \
    {                                                    \
      { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } \
    }                                                    \
  }

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* _IN6ADDR_ */
