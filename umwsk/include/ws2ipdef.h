/* SPDX-License-Identifier: MIT */
/**
 * @file ws2ipdef.h
 * @brief umwsk: IPv6 addresses and socket addresses, and the IP-level socket options, with
 * Windows' values and layouts on LP64 Linux.
 *
 * Written for xwsk from Microsoft's published documentation (SOCKADDR_IN6, IN6_ADDR, the
 * IPPROTO_IP / IPPROTO_IPV6 socket options). IPV6_V6ONLY is 27 and IP_TTL is 4, as on Windows.
 * SCOPE_ID is reduced to its Value member (the Zone/Level bit fields are not declared).
 */
#ifndef _WS2IPDEF_
#define _WS2IPDEF_

#include <in6addr.h>
#include <ws2def.h>

#ifdef __cplusplus
extern "C" {
#endif

/** SCOPE_ID (Zone:28 / Level:4 on Windows; here only the whole Value). */
typedef struct {
  ULONG Value;
} SCOPE_ID, *PSCOPE_ID;

#define SCOPEID_UNSPECIFIED_INIT \
  { 0 }

/** SOCKADDR_IN6 (28 bytes). Port and address in network byte order. */
typedef struct sockaddr_in6 {
  ADDRESS_FAMILY sin6_family;
  USHORT sin6_port;
  ULONG sin6_flowinfo;
  IN6_ADDR sin6_addr;
  union {
    ULONG sin6_scope_id;
    SCOPE_ID sin6_scope_struct;
  };
} SOCKADDR_IN6_LH, *PSOCKADDR_IN6_LH, SOCKADDR_IN6, *PSOCKADDR_IN6, *LPSOCKADDR_IN6;

typedef union _SOCKADDR_INET {
  SOCKADDR_IN Ipv4;
  SOCKADDR_IN6 Ipv6;
  ADDRESS_FAMILY si_family;
} SOCKADDR_INET, *PSOCKADDR_INET;

/* ---- IPPROTO_IP level options --------------------------------------------------------------- */

#define IP_OPTIONS 1
#define IP_HDRINCL 2
#define IP_TOS 3
#define IP_TTL 4
#define IP_MULTICAST_IF 9
#define IP_MULTICAST_TTL 10
#define IP_MULTICAST_LOOP 11
#define IP_ADD_MEMBERSHIP 12
#define IP_DROP_MEMBERSHIP 13
#define IP_DONTFRAGMENT 14
#define IP_PKTINFO 19
#define IP_RECVTTL 21
#define IP_RECEIVE_BROADCAST 22
#define IP_RECVIF 24
#define IP_RECVDSTADDR 25
#define IP_UNICAST_IF 31
#define IP_RECVTOS 40

/* ---- IPPROTO_IPV6 level options ------------------------------------------------------------- */

#define IPV6_HOPOPTS 1
#define IPV6_HDRINCL 2
#define IPV6_UNICAST_HOPS 4
#define IPV6_MULTICAST_IF 9
#define IPV6_MULTICAST_HOPS 10
#define IPV6_MULTICAST_LOOP 11
#define IPV6_ADD_MEMBERSHIP 12
#define IPV6_JOIN_GROUP IPV6_ADD_MEMBERSHIP
#define IPV6_DROP_MEMBERSHIP 13
#define IPV6_LEAVE_GROUP IPV6_DROP_MEMBERSHIP
#define IPV6_DONTFRAG 14
#define IPV6_PKTINFO 19
#define IPV6_HOPLIMIT 21
#define IPV6_PROTECTION_LEVEL 23
#define IPV6_RECVIF 24
#define IPV6_RECVDSTADDR 25
#define IPV6_CHECKSUM 26
#define IPV6_V6ONLY 27
#define IPV6_UNICAST_IF 31
#define IPV6_RECVTCLASS 40

/** IN_PKTINFO / IN6_PKTINFO (control data of IP_PKTINFO / IPV6_PKTINFO). */
typedef struct in_pktinfo {
  IN_ADDR ipi_addr;
  ULONG ipi_ifindex;
} IN_PKTINFO, *PIN_PKTINFO;

typedef struct in6_pktinfo {
  IN6_ADDR ipi6_addr;
  ULONG ipi6_ifindex;
} IN6_PKTINFO, *PIN6_PKTINFO;

#define INET_ADDRSTRLEN 22
#define INET6_ADDRSTRLEN 65

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* _WS2IPDEF_ */
